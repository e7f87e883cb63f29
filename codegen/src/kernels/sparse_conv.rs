//! The int8 channels-last convolution with its weights stored without their zeros, in the two
//! sparse formats of [`super::sparse`] (its module doc describes them): the weight matrix is
//! `[c_out, k_h · k_w · c_in / groups]`, one row per output channel in
//! [`super::nhwc::conv_i8`]'s order, so a pruned convolution (`--prune`) stores and multiplies
//! only its non-zero weights. For each output pixel the kernel walks the output channels' rows in
//! turn, turns each stored weight's position into its kernel tap and input channel, and skips
//! the taps outside the image; the accumulation is in `i32` and the requantization
//! [`super::nhwc::ConvQuant::output`]'s, so the output bytes are the dense kernel's.
//!
//! A pointwise convolution whose output pixel `i` reads input pixel `i` (1 × 1 kernel, stride 1,
//! no padding, one group) has its own loops, [`pointwise_i8_runs`] and
//! [`pointwise_i8_bitmask`]: the walk through the weights, which the general loops repeat for
//! every output pixel, serves a block of pixels at a time (here up to 32, their inputs
//! transposed on the stack; four in registers in the C twin), and the input zero point is
//! folded into the bias at compile time, so each stored weight costs plain products. On VWW's
//! sparse layers this took the Cortex-M4 from about 30 instructions per multiply-accumulate to
//! 4–6.

// Paths rather than `use` lists that mix cases: rustfmt's 2021 and 2024 editions sort those
// differently, and generated code must be clean under both.
use super::nhwc::ConvQuant;
use super::nhwc::Window;

/// Where the taps of one output pixel of a channels-last int8 convolution read the input:
/// image `n`, output position `(oy, ox)`, the first input channel `first` of the output
/// channel's group, and the input offset (minus the input zero point).
#[derive(Clone, Copy)]
struct PixelTaps<'a> {
    p: Window,
    x: &'a [i8],
    n: usize,
    oy: usize,
    ox: usize,
    first: usize,
    offset: i32,
}

impl PixelTaps<'_> {
    /// The offset input under weight `position` of an output channel's `k_h · k_w · c_in /
    /// groups` weights (in [`super::nhwc::conv_i8`]'s order), or `None` for a tap outside the
    /// image.
    #[inline(always)]
    fn at(&self, position: usize) -> Option<i32> {
        let p = &self.p;
        let cin_g = p.c_in / p.groups;
        // A pointwise convolution (the common sparse one) has one tap: no division.
        let (ky, kx, channel) = if p.k_h == 1 && p.k_w == 1 {
            (0, 0, position)
        } else {
            let tap = position / cin_g;
            (tap / p.k_w, tap % p.k_w, position % cin_g)
        };
        let iy = p.row(self.oy, ky)?;
        let ix = p.col(self.ox, kx)?;
        let pixel = ((self.n * p.h_in + iy) * p.w_in + ix) * p.c_in;
        Some(self.x[pixel + self.first + channel] as i32 + self.offset)
    }
}

/// How a sparse format walks the stored weights of one output channel after another, without
/// closures (so that the whole walk inlines into a layer): after `restart` at each output pixel,
/// `start_row(row, k)` for each row in turn, then `next` gives each stored weight of the row as
/// `(position in the row, entry)`.
trait Walk {
    fn restart(&mut self);
    fn start_row(&mut self, row: usize, k: usize);
    fn next(&mut self) -> Option<(usize, usize)>;
}

/// The [runs](super::sparse#runs) of `entries` stored weights, and where the walk is.
struct Runs<'a> {
    runs: &'a [u8],
    entries: usize,
    entry: usize,
    /// The flat position just after the previous entry, and the current row's bounds.
    position: usize,
    row_start: usize,
    row_end: usize,
}

impl<'a> Runs<'a> {
    /// The walk through `entries` stored weights and their `runs`.
    fn new(runs: &'a [u8], entries: usize) -> Self {
        Runs {
            runs,
            entries,
            entry: 0,
            position: 0,
            row_start: 0,
            row_end: 0,
        }
    }
}

impl Walk for Runs<'_> {
    #[inline(always)]
    fn restart(&mut self) {
        self.entry = 0;
        self.position = 0;
    }

    #[inline(always)]
    fn start_row(&mut self, row: usize, k: usize) {
        self.row_start = row * k;
        self.row_end = (row + 1) * k;
    }

    #[inline(always)]
    fn next(&mut self) -> Option<(usize, usize)> {
        if self.entry >= self.entries {
            return None;
        }
        let position = self.position + super::sparse::run_at(self.runs, self.entry);
        if position >= self.row_end {
            return None;
        }
        let entry = self.entry;
        self.position = position + 1;
        self.entry += 1;
        Some((position - self.row_start, entry))
    }
}

/// A [bitmask](super::sparse#bitmask), and where the walk is: the entry the next set bit
/// stands for, the byte being read and its bits not yet visited.
struct Mask<'a> {
    mask: &'a [u8],
    entry: usize,
    byte: usize,
    bits: u8,
    row_start: usize,
    row_end: usize,
}

impl<'a> Mask<'a> {
    /// The walk through the stored weights of `mask`.
    fn new(mask: &'a [u8]) -> Self {
        Mask {
            mask,
            entry: 0,
            byte: 0,
            bits: 0,
            row_start: 0,
            row_end: 0,
        }
    }
}

impl Walk for Mask<'_> {
    #[inline(always)]
    fn restart(&mut self) {
        self.entry = 0;
    }

    #[inline(always)]
    fn start_row(&mut self, row: usize, k: usize) {
        let row_bytes = k.div_ceil(8);
        self.row_start = row * row_bytes;
        self.row_end = (row + 1) * row_bytes;
        self.byte = self.row_start;
        self.bits = if self.byte < self.row_end {
            self.mask[self.byte]
        } else {
            0
        };
    }

    #[inline(always)]
    fn next(&mut self) -> Option<(usize, usize)> {
        while self.bits == 0 {
            self.byte += 1;
            if self.byte >= self.row_end {
                return None;
            }
            self.bits = self.mask[self.byte];
        }
        let position =
            (self.byte - self.row_start) * 8 + self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        let entry = self.entry;
        self.entry += 1;
        Some((position, entry))
    }
}

/// The loops of the sparse int8 convolutions: for each output value, the bias plus the
/// products of the stored weights `walk` finds in its output channel's row (`values[entry]`)
/// with the inputs under them, requantized.
#[inline(always)]
fn conv_i8_sparse(
    p: Window,
    q: ConvQuant,
    x: &[i8],
    values: &[i8],
    bias: &[i32],
    y: &mut [i8],
    mut walk: impl Walk,
) {
    let (cin_g, cout_g) = (p.c_in / p.groups, p.c_out / p.groups);
    let per_channel = p.k_h * p.k_w * cin_g;
    for n in 0..p.batch {
        for oy in 0..p.h_out {
            for ox in 0..p.w_out {
                walk.restart();
                let out =
                    &mut y[((n * p.h_out + oy) * p.w_out + ox) * p.c_out..][..p.c_out];
                for (oc, o) in out.iter_mut().enumerate() {
                    let taps = PixelTaps {
                        p,
                        x,
                        n,
                        oy,
                        ox,
                        first: (oc / cout_g) * cin_g,
                        offset: -q.input_zero_point,
                    };
                    let mut acc = if bias.is_empty() { 0 } else { bias[oc] };
                    walk.start_row(oc, per_channel);
                    while let Some((position, t)) = walk.next() {
                        if let Some(a) = taps.at(position) {
                            acc += a * values[t] as i32;
                        }
                    }
                    *o = q.output(acc, oc);
                }
            }
        }
    }
}

/// [`super::nhwc::conv_i8`] with run-coded weights: `values` are the entries of the
/// `[c_out, k_h · k_w · c_in / groups]` weight matrix (zero fillers included), `runs` their runs
/// of zeros; only the stored weights are multiplied, and taps outside the image skipped.
#[inline(always)]
pub fn conv_i8_runs(
    p: Window,
    q: ConvQuant,
    x: &[i8],
    values: &[i8],
    runs: &[u8],
    bias: &[i32],
    y: &mut [i8],
) {
    let walk = Runs::new(runs, values.len());
    conv_i8_sparse(p, q, x, values, bias, y, walk);
}

/// [`super::nhwc::conv_i8`] with the weights that are not zero as `values`, in row order, and
/// a bitmask of where they are in each output channel's weights.
#[inline(always)]
pub fn conv_i8_bitmask(
    p: Window,
    q: ConvQuant,
    x: &[i8],
    values: &[i8],
    mask: &[u8],
    bias: &[i32],
    y: &mut [i8],
) {
    let walk = Mask::new(mask);
    conv_i8_sparse(p, q, x, values, bias, y, walk);
}

/// The most output pixels a sparse pointwise convolution takes at a time, and the bytes of its
/// stack buffer for their inputs, transposed.
const POINTWISE_PIXELS: usize = 32;
const POINTWISE_BLOCK_BYTES: usize = 2048;

/// The loops of the sparse pointwise convolutions: output pixel `i` reads input pixel `i` (a
/// 1 × 1 kernel, stride 1, no padding, one group), so the layer is a product of the `[pixels,
/// c_in]` input with the sparse `[c_out, c_in]` weights. `bias` has the input zero point folded
/// in (`bias − z_x · Σ w`), which leaves plain products of the stored weights with the inputs.
///
/// The pixels go in blocks of up to [`POINTWISE_PIXELS`] (as many as
/// [`POINTWISE_BLOCK_BYTES`] of inputs allow, in blocks of equal size, give or take one),
/// their inputs first transposed to `[c_in, pixels]` on the stack: `walk` then decodes each
/// stored weight once per block, and its products with the block's inputs of its channel are
/// one contiguous multiply-add. (The C twin, written for the Cortex-M4, keeps four pixels in
/// registers instead.) Inputs wider than the buffer take the general loops.
#[inline(always)]
fn pointwise_i8_sparse(
    p: Window,
    q: ConvQuant,
    x: &[i8],
    values: &[i8],
    bias: &[i32],
    y: &mut [i8],
    mut walk: impl Walk,
) {
    let (k, c_out) = (p.c_in, p.c_out);
    if k > POINTWISE_BLOCK_BYTES {
        // Too wide for the buffer: the general loops, the zero point being in the bias.
        let q = ConvQuant {
            input_zero_point: 0,
            ..q
        };
        return conv_i8_sparse(p, q, x, values, bias, y, walk);
    }
    let pixels = p.batch * p.h_out * p.w_out;
    let most = (POINTWISE_BLOCK_BYTES / k.max(1)).clamp(1, POINTWISE_PIXELS);
    let block = pixels.div_ceil(pixels.div_ceil(most).max(1)).max(1);
    let mut columns = [0i8; POINTWISE_BLOCK_BYTES];
    let mut acc = [0i32; POINTWISE_PIXELS];
    let mut first = 0;
    while first < pixels {
        let n = block.min(pixels - first);
        // Input channel c of the block's pixels at columns[c * n..][..n].
        for (j, pixel) in x[first * k..][..n * k].chunks_exact(k).enumerate() {
            for (c, &v) in pixel.iter().enumerate() {
                columns[c * n + j] = v;
            }
        }
        let acc = &mut acc[..n];
        walk.restart();
        for (oc, &b) in bias[..c_out].iter().enumerate() {
            acc.fill(b);
            walk.start_row(oc, k);
            while let Some((column, t)) = walk.next() {
                let w = values[t] as i32;
                for (a, &v) in acc.iter_mut().zip(&columns[column * n..][..n]) {
                    *a += w * v as i32;
                }
            }
            for (j, &a) in acc.iter().enumerate() {
                y[(first + j) * c_out + oc] = q.output(a, oc);
            }
        }
        first += n;
    }
}

/// [`conv_i8_runs`] for a pointwise convolution whose output pixel `i` reads input pixel `i`,
/// with the input zero point folded into `bias` ([`pointwise_i8_sparse`]).
#[inline(always)]
pub fn pointwise_i8_runs(
    p: Window,
    q: ConvQuant,
    x: &[i8],
    values: &[i8],
    runs: &[u8],
    bias: &[i32],
    y: &mut [i8],
) {
    let walk = Runs::new(runs, values.len());
    pointwise_i8_sparse(p, q, x, values, bias, y, walk);
}

/// [`conv_i8_bitmask`] for a pointwise convolution whose output pixel `i` reads input pixel
/// `i`, with the input zero point folded into `bias` ([`pointwise_i8_sparse`]).
#[inline(always)]
pub fn pointwise_i8_bitmask(
    p: Window,
    q: ConvQuant,
    x: &[i8],
    values: &[i8],
    mask: &[u8],
    bias: &[i32],
    y: &mut [i8],
) {
    let walk = Mask::new(mask);
    pointwise_i8_sparse(p, q, x, values, bias, y, walk);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::lower::sparse::{WeightFormat, encode};
    use crate::kernels::nhwc::conv_i8;
    use crate::kernels::test_support::floats;
    use proptest::prelude::*;

    fn bytes(seed: u64, n: usize) -> Vec<i8> {
        floats(seed, n).iter().map(|v| (v * 127.0) as i8).collect()
    }

    proptest! {
        /// Ordinary and depthwise convolutions with strides, padding and dilation, weights of any
        /// density (whole channels empty too), in both formats: the dense kernel's bytes.
        #[test]
        fn sparse_convolutions_give_the_dense_kernels_bytes(
            h in 1..7usize, w in 1..7usize, depthwise in any::<bool>(), c in 1..5usize,
            cin_g in 1..5usize, cout_g in 1..4usize, k in 1..4usize, stride in 1..3usize,
            dilation in 1..3usize, pad in 0..3usize, density in 0..=100u32, seed in any::<u64>(),
            runs in any::<bool>(), single_rounding in any::<bool>(), with_bias in any::<bool>(),
        ) {
            let span = (k - 1) * dilation + 1;
            prop_assume!(h + 2 * pad >= span && w + 2 * pad >= span);
            let (groups, cin_g) = if depthwise { (c, 1) } else { (1, cin_g) };
            let (c_in, c_out) = (groups * cin_g, groups * cout_g);
            let (h_out, w_out) = ((h + 2 * pad - span) / stride + 1, (w + 2 * pad - span) / stride + 1);
            let p = Window {
                batch: 1, h_in: h, w_in: w, c_in, h_out, w_out, c_out, k_h: k, k_w: k,
                stride_h: stride, stride_w: stride, dilation_h: dilation, dilation_w: dilation,
                pad_top: pad, pad_left: pad, groups,
            };
            let per_channel = k * k * cin_g;
            let keep = floats(seed ^ 3, c_out * per_channel);
            let wt: Vec<i8> = bytes(seed ^ 1, c_out * per_channel)
                .iter()
                .zip(&keep)
                .map(|(&v, &r)| if (r.abs() * 100.0) as u32 >= density { 0 } else { v })
                .collect();
            let x = bytes(seed, h * w * c_in);
            let bias: Vec<i32> = if with_bias {
                (0..c_out as i32).map(|j| j * 97 - 200).collect()
            } else {
                Vec::new()
            };
            let multipliers: Vec<i32> = (0..c_out as i32).map(|j| 1_500_000_000 - j * 1_000_000).collect();
            let shifts: Vec<i32> = (0..c_out as i32).map(|j| -7 - j % 3).collect();
            let q = ConvQuant {
                input_zero_point: 3, multipliers: &multipliers, shifts: &shifts,
                output_zero_point: -7, output_min: -128, output_max: 127, single_rounding,
                one_multiply: false, rounding_base: 0, negative_rounding: 0,
            };
            let mut dense = vec![0i8; h_out * w_out * c_out];
            conv_i8(p, q, &x, &wt, &bias, &mut dense);
            let format = if runs { WeightFormat::Runs } else { WeightFormat::Bitmask };
            let encoded = encode(format, c_out, per_channel, |i| wt[i] == 0);
            let values: Vec<i8> = encoded.positions.iter().map(|&i| wt[i]).collect();
            let mut sparse = vec![0i8; dense.len()];
            if runs {
                conv_i8_runs(p, q, &x, &values, &encoded.index, &bias, &mut sparse);
            } else {
                conv_i8_bitmask(p, q, &x, &values, &encoded.index, &bias, &mut sparse);
            }
            prop_assert_eq!(sparse, dense);
        }

        /// Pointwise convolutions of every pixel count (whole blocks and the rest, blocks of
        /// fewer pixels for wide inputs), weights of any density, in both formats, with the
        /// input zero point folded into the bias: the dense kernel's bytes.
        #[test]
        fn sparse_pointwise_convolutions_give_the_dense_kernels_bytes(
            h in 1..9usize, w in 1..9usize, c_in in prop_oneof![1..300usize, 2045..2052usize],
            c_out in 1..6usize,
            density in 0..=100u32, seed in any::<u64>(), runs in any::<bool>(),
            zx in -128..128i32, with_bias in any::<bool>(),
        ) {
            let p = Window {
                batch: 1, h_in: h, w_in: w, c_in, h_out: h, w_out: w, c_out, k_h: 1, k_w: 1,
                stride_h: 1, stride_w: 1, dilation_h: 1, dilation_w: 1, pad_top: 0,
                pad_left: 0, groups: 1,
            };
            let keep = floats(seed ^ 3, c_out * c_in);
            let wt: Vec<i8> = bytes(seed ^ 1, c_out * c_in)
                .iter()
                .zip(&keep)
                .map(|(&v, &r)| if (r.abs() * 100.0) as u32 >= density { 0 } else { v })
                .collect();
            let x = bytes(seed, h * w * c_in);
            let bias: Vec<i32> = if with_bias {
                (0..c_out as i32).map(|j| j * 97 - 200).collect()
            } else {
                Vec::new()
            };
            let folded: Vec<i32> = (0..c_out)
                .map(|oc| {
                    let sum: i32 = wt[oc * c_in..][..c_in].iter().map(|&v| v as i32).sum();
                    bias.get(oc).copied().unwrap_or(0) - zx * sum
                })
                .collect();
            let multipliers: Vec<i32> = (0..c_out as i32).map(|j| 1_500_000_000 - j * 1_000_000).collect();
            let shifts: Vec<i32> = (0..c_out as i32).map(|j| -7 - j % 3).collect();
            let q = ConvQuant {
                input_zero_point: zx, multipliers: &multipliers, shifts: &shifts,
                output_zero_point: -7, output_min: -128, output_max: 127, single_rounding: false,
                one_multiply: false, rounding_base: 0, negative_rounding: 0,
            };
            let mut dense = vec![0i8; h * w * c_out];
            conv_i8(p, q, &x, &wt, &bias, &mut dense);
            let format = if runs { WeightFormat::Runs } else { WeightFormat::Bitmask };
            let encoded = encode(format, c_out, c_in, |i| wt[i] == 0);
            let values: Vec<i8> = encoded.positions.iter().map(|&i| wt[i]).collect();
            let mut sparse = vec![0i8; dense.len()];
            if runs {
                pointwise_i8_runs(p, q, &x, &values, &encoded.index, &folded, &mut sparse);
            } else {
                pointwise_i8_bitmask(p, q, &x, &values, &encoded.index, &folded, &mut sparse);
            }
            prop_assert_eq!(sparse, dense);
        }
    }
}
