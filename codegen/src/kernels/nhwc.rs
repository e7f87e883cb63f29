//! Channels-last (NHWC) convolution and pooling, float and int8: the layout of TFLite models,
//! kept as it is so that no transposes run.
//!
//! Convolution weights are `[c_out, k_h, k_w, c_in / groups]` (a depthwise convolution is
//! `groups = c_in` with `c_out / groups` outputs per input channel). For each output pixel and
//! each kernel tap inside the image, the inner loops run over contiguous channels of both the
//! input pixel and the weights. Taps outside the image are skipped (TFLite's padding never
//! reads a value; for int8 that is the same as padding with the input zero point).
//!
//! The int8 kernels are TFLite's integer arithmetic: `acc = Σ (x − z_x) · w + bias` in `i32`,
//! requantized per output channel with [`super::quant::requantize`]. `conv_i8_int4_weights`
//! is the same convolution reading 4-bit weights packed two per byte
//! (`--quantize int4-weights`).

use super::activation::Activation;
use super::math::round_half_away_from_zero;
use super::quant::{int4_at, requantize, requantize_once, requantize_rounded};
use super::weights::Weights;

/// The geometry of one channels-last convolution or pooling window.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub batch: usize,
    pub h_in: usize,
    pub w_in: usize,
    pub c_in: usize,
    pub h_out: usize,
    pub w_out: usize,
    pub c_out: usize,
    pub k_h: usize,
    pub k_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub dilation_h: usize,
    pub dilation_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub groups: usize,
}

impl Window {
    /// The input row of output row `oy` and kernel row `ky`, if inside the image.
    #[inline(always)]
    pub fn row(&self, oy: usize, ky: usize) -> Option<usize> {
        (oy * self.stride_h + ky * self.dilation_h)
            .checked_sub(self.pad_top)
            .filter(|&y| y < self.h_in)
    }

    /// The input column of output column `ox` and kernel column `kx`, if inside the image.
    #[inline(always)]
    pub fn col(&self, ox: usize, kx: usize) -> Option<usize> {
        (ox * self.stride_w + kx * self.dilation_w)
            .checked_sub(self.pad_left)
            .filter(|&x| x < self.w_in)
    }
}

/// The quantization of an int8 convolution: input zero point, per-channel requantization, and
/// the output zero point and clamp range.
#[derive(Clone, Copy, Debug)]
pub struct ConvQuant<'a> {
    pub input_zero_point: i32,
    pub multipliers: &'a [i32],
    pub shifts: &'a [i32],
    pub output_zero_point: i32,
    pub output_min: i32,
    pub output_max: i32,
    /// Round the rescaled accumulator once ([`requantize_once`]) rather than twice as TFLite's
    /// reference kernels do ([`requantize`]).
    pub single_rounding: bool,
    /// Requantize with [`requantize_rounded`], which gives the same value in one multiply-add,
    /// with these two terms.
    pub one_multiply: bool,
    pub rounding_base: i64,
    pub negative_rounding: i64,
}

impl ConvQuant<'_> {
    /// [`ConvQuant::output`] of four accumulators, of output channels `oc`: the four at once
    /// where there is a fast path for the one-multiply requantization
    /// ([`super::simd::requantize_rounded_4`]).
    #[inline(always)]
    pub fn outputs_4(&self, acc: [i32; 4], oc: [usize; 4]) -> [i8; 4] {
        if self.one_multiply {
            let c = if self.multipliers.len() == 1 {
                [0; 4]
            } else {
                oc
            };
            let (m, s) = (self.multipliers, self.shifts);
            // Written out rather than with `array::map`, which the compiler may leave a call.
            let fast = super::simd::requantize_rounded_4(
                acc,
                [m[c[0]], m[c[1]], m[c[2]], m[c[3]]],
                [s[c[0]], s[c[1]], s[c[2]], s[c[3]]],
                self.output_zero_point,
                self.rounding_base,
                self.negative_rounding,
                self.output_min,
                self.output_max,
            );
            if let Some(r) = fast {
                return [r[0] as i8, r[1] as i8, r[2] as i8, r[3] as i8];
            }
        }
        [
            self.output(acc[0], oc[0]),
            self.output(acc[1], oc[1]),
            self.output(acc[2], oc[2]),
            self.output(acc[3], oc[3]),
        ]
    }

    /// Output channel `oc`'s accumulator requantized to int8 (one multiplier and shift serve
    /// every channel when there is one of each).
    #[inline(always)]
    pub fn output(&self, acc: i32, oc: usize) -> i8 {
        let oc = if self.multipliers.len() == 1 { 0 } else { oc };
        if self.one_multiply {
            return requantize_rounded(
                acc,
                self.multipliers[oc],
                self.shifts[oc],
                self.output_zero_point,
                self.rounding_base,
                self.negative_rounding,
                self.output_min,
                self.output_max,
            ) as i8;
        }
        let requantize = if self.single_rounding {
            requantize_once
        } else {
            requantize
        };
        requantize(
            acc,
            self.multipliers[oc],
            self.shifts[oc],
            self.output_zero_point,
            self.output_min,
            self.output_max,
        ) as i8
    }
}

/// Float channels-last convolution: `y = activation(conv(x, w) + bias)`, the weights read
/// through [`Weights`] (plain, or stored as int8 or float16).
#[inline(always)]
pub fn conv_f32(
    p: Window,
    act: Activation,
    x: &[f32],
    w: impl Weights,
    bias: &[f32],
    y: &mut [f32],
) {
    let (cin_g, cout_g) = (p.c_in / p.groups, p.c_out / p.groups);
    let taps = p.k_h * p.k_w * cin_g;
    for n in 0..p.batch {
        for oy in 0..p.h_out {
            for ox in 0..p.w_out {
                let out =
                    &mut y[((n * p.h_out + oy) * p.w_out + ox) * p.c_out..][..p.c_out];
                for (oc, o) in out.iter_mut().enumerate() {
                    let first = (oc / cout_g) * cin_g;
                    let mut acc = if bias.is_empty() { 0.0 } else { bias[oc] };
                    for ky in 0..p.k_h {
                        let Some(iy) = p.row(oy, ky) else { continue };
                        for kx in 0..p.k_w {
                            let Some(ix) = p.col(ox, kx) else { continue };
                            let pixel = &x
                                [((n * p.h_in + iy) * p.w_in + ix) * p.c_in + first..]
                                [..cin_g];
                            let wk = w.within_channel(
                                oc * taps + (ky * p.k_w + kx) * cin_g,
                                cin_g,
                                oc,
                            );
                            let mut sum = 0f32;
                            for (a, b) in pixel.iter().zip(wk) {
                                sum += a * b;
                            }
                            acc += sum;
                        }
                    }
                    *o = act.apply(acc);
                }
            }
        }
    }
}

/// Int8 channels-last convolution with per-channel requantization; `bias` is empty or `i32`
/// per output channel.
#[inline(always)]
pub fn conv_i8(p: Window, q: ConvQuant, x: &[i8], w: &[i8], bias: &[i32], y: &mut [i8]) {
    let taps = p.k_h * p.k_w * (p.c_in / p.groups);
    conv_i8_by(p, q, x, bias, y, |oc, tap, pixel, offset| {
        let wk = &w[oc * taps + tap..][..pixel.len()];
        let mut acc = 0i32;
        for (&a, &b) in pixel.iter().zip(wk) {
            acc += (a as i32 + offset) * b as i32;
        }
        acc
    });
}

/// [`conv_i8`] for a depthwise convolution with one output per input channel (`groups = c_in =
/// c_out`), its weights laid out `[k_h, k_w, c]` so that the inner loop runs over contiguous
/// channels of both the input pixel and the weights (with one input channel per group,
/// [`conv_i8`]'s inner loop has one element), and the input zero point folded into `bias` at
/// compile time (`bias[c] − z_x · Σ w[c]`) as in [`conv_i8_folded`]: a tap outside the image
/// reads `zero_pixel`, `c` copies of `z_x`. The sums are [`conv_i8`]'s.
#[inline(always)]
pub fn depthwise_i8(
    p: Window,
    q: ConvQuant,
    x: &[i8],
    w: &[i8],
    bias: &[i32],
    zero_pixel: &[i8],
    y: &mut [i8],
) {
    let c = p.c_in;
    channels_inner_by(p, q, bias, y, |acc, pixel, tap, c0| {
        let pixel = match pixel {
            Some(pixel) => &x[pixel * c + c0..][..acc.len()],
            None => &zero_pixel[c0..][..acc.len()],
        };
        let wk = &w[tap * c + c0..][..acc.len()];
        for ((a, &v), &wv) in acc.iter_mut().zip(pixel).zip(wk) {
            *a += v as i32 * wv as i32;
        }
    });
}

/// [`conv_i8`] for a convolution of one group, with the input zero point folded into `bias` at
/// compile time (`bias[oc] − z_x · Σ w[oc]`): the products are of the int8 values as they are,
/// so the inner loop is a plain int8 dot product, which compilers vectorise and a Cortex-M4
/// runs two products at a time (SMLAD). A tap outside the image reads `zero_pixel`, `c_in`
/// copies of `z_x`, whose products cancel the folded term there: the sums are [`conv_i8`]'s.
/// The output pixels (in row-major order, across rows) and the output channels are taken two
/// by two, so that each input and weight value loaded serves two products.
///
/// `patches` is work space from the caller (the layer function's stack, sized by the back end
/// for this layer): when the kernel has more than one tap and `patches` holds two patches
/// (`2 · k_h · k_w · c_in` bytes), the input patches of the two output pixels are copied there
/// first (a kernel row at a time where it lies inside the image, taps outside the image as
/// `zero_pixel`), and each output channel is one dot product rather than one per tap. An empty
/// `patches` takes the per-tap loop.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn conv_i8_folded(
    p: Window,
    q: ConvQuant,
    x: &[i8],
    w: &[i8],
    bias: &[i32],
    zero_pixel: &[i8],
    patches: &mut [i8],
    y: &mut [i8],
) {
    let (c_in, c_out) = (p.c_in, p.c_out);
    let (plane, per_channel) = (p.h_out * p.w_out, p.k_h * p.k_w * c_in);
    let image_len = p.h_in * p.w_in * c_in;
    let patched = p.k_h * p.k_w > 1 && per_channel > 0 && patches.len() >= 2 * per_channel;
    for n in 0..p.batch {
        let image = &x[n * image_len..][..image_len];
        let out = &mut y[n * plane * c_out..][..plane * c_out];
        for first in (0..plane).step_by(2) {
            // The second pixel of the pair; the last pixel of an odd plane pairs with itself.
            let second = (first + 1).min(plane - 1);
            let (oy, ox) = (first / p.w_out, first % p.w_out);
            let (oy1, ox1) = (second / p.w_out, second % p.w_out);
            let pixel = |oy, ox, ky, kx| tap_pixel(p, image, zero_pixel, oy, ox, ky, kx);
            if patched {
                let (a, b) = patches[..2 * per_channel].split_at_mut(per_channel);
                copy_patch(p, image, zero_pixel, oy, ox, a);
                copy_patch(p, image, zero_pixel, oy1, ox1, b);
                // The patches stay in memory, read back by the dot products: otherwise LLVM
                // may assemble narrow pixels (a first layer's 3 channels) straight into vector
                // registers, byte by byte, which stalls.
                core::hint::black_box(&mut *patches);
            }
            // Four output channels at a time where each output channel is one dot product (a
            // patch, or a kernel of one tap), then two.
            let mut quads = 0;
            if patched || p.k_h * p.k_w == 1 {
                let (a, b) = if patched {
                    patches[..2 * per_channel].split_at(per_channel)
                } else {
                    (pixel(oy, ox, 0, 0), pixel(oy1, ox1, 0, 0))
                };
                quads = c_out - c_out % 4;
                for oc in (0..quads).step_by(4) {
                    let ws =
                        [0, 1, 2, 3].map(|j| &w[(oc + j) * per_channel..][..per_channel]);
                    let b4 = [bias[oc], bias[oc + 1], bias[oc + 2], bias[oc + 3]];
                    let mut acc = [b4[0], b4[1], b4[2], b4[3], b4[0], b4[1], b4[2], b4[3]];
                    dot_2x4(&mut acc, a, b, ws);
                    let channels = [oc, oc + 1, oc + 2, oc + 3];
                    let ra = q.outputs_4([acc[0], acc[1], acc[2], acc[3]], channels);
                    let rb = q.outputs_4([acc[4], acc[5], acc[6], acc[7]], channels);
                    out[first * c_out + oc..][..4].copy_from_slice(&ra);
                    out[second * c_out + oc..][..4].copy_from_slice(&rb);
                }
            }
            for oc in (quads..c_out).step_by(2) {
                let oc1 = (oc + 1).min(c_out - 1);
                let mut acc = [bias[oc], bias[oc1], bias[oc], bias[oc1]];
                if patched {
                    dot_2x2(
                        &mut acc,
                        &patches[..per_channel],
                        &patches[per_channel..][..per_channel],
                        &w[oc * per_channel..][..per_channel],
                        &w[oc1 * per_channel..][..per_channel],
                    );
                } else {
                    for ky in 0..p.k_h {
                        for kx in 0..p.k_w {
                            let tap = (ky * p.k_w + kx) * c_in;
                            dot_2x2(
                                &mut acc,
                                pixel(oy, ox, ky, kx),
                                pixel(oy1, ox1, ky, kx),
                                &w[oc * per_channel + tap..][..c_in],
                                &w[oc1 * per_channel + tap..][..c_in],
                            );
                        }
                    }
                }
                let r = q.outputs_4(acc, [oc, oc1, oc, oc1]);
                out[first * c_out + oc] = r[0];
                out[first * c_out + oc1] = r[1];
                out[second * c_out + oc] = r[2];
                out[second * c_out + oc1] = r[3];
            }
        }
    }
}

/// The input pixel of output pixel `(oy, ox)` under kernel tap `(ky, kx)`, or `zero_pixel`
/// when the tap falls outside the image.
#[inline(always)]
fn tap_pixel<'a>(
    p: Window,
    image: &'a [i8],
    zero_pixel: &'a [i8],
    oy: usize,
    ox: usize,
    ky: usize,
    kx: usize,
) -> &'a [i8] {
    match (p.row(oy, ky), p.col(ox, kx)) {
        (Some(iy), Some(ix)) => &image[(iy * p.w_in + ix) * p.c_in..][..p.c_in],
        _ => zero_pixel,
    }
}

/// The input patch of output pixel `(oy, ox)`, `[k_h, k_w, c_in]`, copied to `dst`: a kernel
/// row at a time where the row's taps are contiguous and inside the image (one copy of
/// `k_w · c_in` bytes rather than `k_w` short ones), else tap by tap with `zero_pixel` outside.
#[inline(always)]
fn copy_patch(
    p: Window,
    image: &[i8],
    zero_pixel: &[i8],
    oy: usize,
    ox: usize,
    dst: &mut [i8],
) {
    let (c_in, row) = (p.c_in, p.k_w * p.c_in);
    for (ky, dst) in dst.chunks_exact_mut(row).enumerate() {
        let iy = p.row(oy, ky);
        let left = (ox * p.stride_w).checked_sub(p.pad_left);
        match (iy, left) {
            (Some(iy), Some(ix)) if p.dilation_w == 1 && ix + p.k_w <= p.w_in => {
                dst.copy_from_slice(&image[(iy * p.w_in + ix) * c_in..][..row]);
            }
            _ => {
                for (kx, tap) in dst.chunks_exact_mut(c_in).enumerate() {
                    tap.copy_from_slice(tap_pixel(p, image, zero_pixel, oy, ox, ky, kx));
                }
            }
        }
    }
}

/// Adds to `acc` the eight dot products of two input pixels `a`, `b` with the weights `w` of
/// four output channels: `[a·w0, …, a·w3, b·w0, …, b·w3]` ([`super::simd::dot_2x4`] with AVX2,
/// whose eight sums cost fewer horizontal additions than two blocks of two channels).
#[inline(always)]
fn dot_2x4(acc: &mut [i32; 8], a: &[i8], b: &[i8], w: [&[i8]; 4]) {
    if super::simd::dot_2x4(acc, a, b, w) {
        return;
    }
    let mut low = [acc[0], acc[1], acc[4], acc[5]];
    let mut high = [acc[2], acc[3], acc[6], acc[7]];
    dot_2x2(&mut low, a, b, w[0], w[1]);
    dot_2x2(&mut high, a, b, w[2], w[3]);
    *acc = [
        low[0], low[1], high[0], high[1], low[2], low[3], high[2], high[3],
    ];
}

/// Adds to `acc` the four dot products of two input pixels `a`, `b` with the weights of two
/// output channels `u`, `v`: `[a·u, a·v, b·u, b·v]` ([`super::simd::dot_2x2`] with AVX2).
#[inline(always)]
fn dot_2x2(acc: &mut [i32; 4], a: &[i8], b: &[i8], u: &[i8], v: &[i8]) {
    if super::simd::dot_2x2(acc, a, b, u, v) {
        return;
    }
    let mut sums = [0i32; 4];
    for (((&a, &b), &u), &v) in a.iter().zip(b).zip(u).zip(v) {
        let (a, b, u, v) = (a as i32, b as i32, u as i32, v as i32);
        sums[0] += a * u;
        sums[1] += a * v;
        sums[2] += b * u;
        sums[3] += b * v;
    }
    for (a, s) in acc.iter_mut().zip(sums) {
        *a += s;
    }
}

/// The loops of the depthwise convolution, which runs over contiguous channels: for each output
/// pixel, blocks of up to 64 output channels starting at `c0`, their accumulators set to the
/// bias, `add(acc, pixel, tap, c0)` for each kernel tap (`pixel` the index of the input pixel,
/// `None` for a tap outside the image; `tap` the index of the tap), and the accumulators
/// requantized.
#[inline(always)]
fn channels_inner_by(
    p: Window,
    q: ConvQuant,
    bias: &[i32],
    y: &mut [i8],
    mut add: impl FnMut(&mut [i32], Option<usize>, usize, usize),
) {
    const BLOCK: usize = 64;
    let mut acc = [0i32; BLOCK];
    for n in 0..p.batch {
        for oy in 0..p.h_out {
            for ox in 0..p.w_out {
                let mut c0 = 0;
                while c0 < p.c_out {
                    let width = (p.c_out - c0).min(BLOCK);
                    let acc = &mut acc[..width];
                    for (j, a) in acc.iter_mut().enumerate() {
                        *a = if bias.is_empty() { 0 } else { bias[c0 + j] };
                    }
                    for ky in 0..p.k_h {
                        let iy = p.row(oy, ky);
                        for kx in 0..p.k_w {
                            let pixel = match (iy, p.col(ox, kx)) {
                                (Some(iy), Some(ix)) => {
                                    Some((n * p.h_in + iy) * p.w_in + ix)
                                }
                                _ => None,
                            };
                            add(acc, pixel, ky * p.k_w + kx, c0);
                        }
                    }
                    let out = &mut y[((n * p.h_out + oy) * p.w_out + ox) * p.c_out + c0..]
                        [..width];
                    for (j, (o, &a)) in out.iter_mut().zip(acc.iter()).enumerate() {
                        *o = q.output(a, c0 + j);
                    }
                    c0 += width;
                }
            }
        }
    }
}

/// [`conv_i8`] with 4-bit weights (`--quantize int4-weights`): the `k_h · k_w · c_in / groups`
/// weights of each output channel, in the order of [`conv_i8`]'s, packed two per byte
/// ([`int4_at`]), each channel starting on a byte boundary. The arithmetic is that of int8
/// weights; only the loads differ.
#[inline(always)]
pub fn conv_i8_int4_weights(
    p: Window,
    q: ConvQuant,
    x: &[i8],
    w: &[u8],
    bias: &[i32],
    y: &mut [i8],
) {
    let row_bytes = (p.k_h * p.k_w * (p.c_in / p.groups)).div_ceil(2);
    conv_i8_by(p, q, x, bias, y, |oc, tap, pixel, offset| {
        let weights = &w[oc * row_bytes..(oc + 1) * row_bytes];
        let mut acc = 0i32;
        for (i, &a) in pixel.iter().enumerate() {
            acc += (a as i32 + offset) * int4_at(weights, tap + i);
        }
        acc
    });
}

/// [`conv_i8`] with weights shared among at most 256 int8 values (`--cluster K`): weight `i`
/// (in [`conv_i8`]'s order) is `codebook[j]` with `j` its
/// [`codebook_index`](super::weights::codebook_index).
#[inline(always)]
pub fn conv_i8_codebook(
    p: Window,
    q: ConvQuant,
    x: &[i8],
    codebook: &[i8],
    indices: &[u8],
    bias: &[i32],
    y: &mut [i8],
) {
    let taps = p.k_h * p.k_w * (p.c_in / p.groups);
    conv_i8_by(p, q, x, bias, y, |oc, tap, pixel, offset| {
        let first = oc * taps + tap;
        let mut acc = 0i32;
        for (i, &a) in pixel.iter().enumerate() {
            let j = super::weights::codebook_index(indices, codebook.len(), first + i);
            acc += (a as i32 + offset) * codebook[j] as i32;
        }
        acc
    });
}

/// The loops of the int8 convolutions: for each output value, the bias plus
/// `dot(oc, tap, pixel, input_offset)` over the kernel taps inside the image (`tap` the index
/// of the tap's first weight within channel `oc`'s, `pixel` the input channels of its group),
/// requantized.
#[inline(always)]
fn conv_i8_by(
    p: Window,
    q: ConvQuant,
    x: &[i8],
    bias: &[i32],
    y: &mut [i8],
    dot: impl Fn(usize, usize, &[i8], i32) -> i32,
) {
    let (cin_g, cout_g) = (p.c_in / p.groups, p.c_out / p.groups);
    let input_offset = -q.input_zero_point;
    for n in 0..p.batch {
        for oy in 0..p.h_out {
            for ox in 0..p.w_out {
                let out =
                    &mut y[((n * p.h_out + oy) * p.w_out + ox) * p.c_out..][..p.c_out];
                for (oc, o) in out.iter_mut().enumerate() {
                    let first = (oc / cout_g) * cin_g;
                    let mut acc: i32 = if bias.is_empty() { 0 } else { bias[oc] };
                    for ky in 0..p.k_h {
                        let Some(iy) = p.row(oy, ky) else { continue };
                        for kx in 0..p.k_w {
                            let Some(ix) = p.col(ox, kx) else { continue };
                            let pixel = &x
                                [((n * p.h_in + iy) * p.w_in + ix) * p.c_in + first..]
                                [..cin_g];
                            acc += dot(oc, (ky * p.k_w + kx) * cin_g, pixel, input_offset);
                        }
                    }
                    *o = q.output(acc, oc);
                }
            }
        }
    }
}

/// A "hybrid" (dynamic-range quantized) channels-last convolution, as TFLite runs a float
/// convolution whose weights are stored as int8 with one scale: each image of the batch is
/// quantized on the fly, symmetrically, with `scale = max|x| / 127`, to integers in
/// `[-127, 127]` (rounded half away from zero); the products are summed in `i32` and the sum
/// scaled back to float with `scale · weight_scale` (one `f32` product, as TFLite computes it)
/// before the float bias and activation.
///
/// The input is quantized as it is read rather than into a scratch buffer, so the layer needs
/// no memory beyond its input and output.
#[inline(always)]
pub fn conv_hybrid(
    p: Window,
    act: Activation,
    weight_scale: f32,
    x: &[f32],
    w: &[i8],
    bias: &[f32],
    y: &mut [f32],
) {
    let (cin_g, cout_g) = (p.c_in / p.groups, p.c_out / p.groups);
    let taps = p.k_h * p.k_w * cin_g;
    let image_len = p.h_in * p.w_in * p.c_in;
    for n in 0..p.batch {
        let image = &x[n * image_len..][..image_len];
        let range = image.iter().fold(0f32, |m, v| m.max(v.abs()));
        // An all-zero image quantizes to zeros whatever the factor; TFLite's scale is then 1.
        let (scale, inverse) = if range == 0.0 {
            (1.0, 0.0)
        } else {
            (range / 127.0, 127.0 / range)
        };
        let output_scale = scale * weight_scale;
        let quantize = |v: f32| -> i32 {
            (round_half_away_from_zero(v * inverse) as i32).clamp(-127, 127)
        };
        for oy in 0..p.h_out {
            for ox in 0..p.w_out {
                let out =
                    &mut y[((n * p.h_out + oy) * p.w_out + ox) * p.c_out..][..p.c_out];
                for (oc, o) in out.iter_mut().enumerate() {
                    let first = (oc / cout_g) * cin_g;
                    let weights = &w[oc * taps..(oc + 1) * taps];
                    let mut acc: i32 = 0;
                    for ky in 0..p.k_h {
                        let Some(iy) = p.row(oy, ky) else { continue };
                        for kx in 0..p.k_w {
                            let Some(ix) = p.col(ox, kx) else { continue };
                            let pixel =
                                &image[(iy * p.w_in + ix) * p.c_in + first..][..cin_g];
                            let wk = &weights[(ky * p.k_w + kx) * cin_g..][..cin_g];
                            for (&a, &b) in pixel.iter().zip(wk) {
                                acc += quantize(a) * b as i32;
                            }
                        }
                    }
                    let b = if bias.is_empty() { 0.0 } else { bias[oc] };
                    *o = act.apply(acc as f32 * output_scale + b);
                }
            }
        }
    }
}

/// Float channels-last average (over the window positions inside the image) or max pooling.
#[inline(always)]
pub fn pool_f32(p: Window, max: bool, act: Activation, x: &[f32], y: &mut [f32]) {
    for n in 0..p.batch {
        for oy in 0..p.h_out {
            for ox in 0..p.w_out {
                let out = &mut y[((n * p.h_out + oy) * p.w_out + ox) * p.c_in..][..p.c_in];
                out.fill(if max { f32::NEG_INFINITY } else { 0.0 });
                let mut count = 0usize;
                for ky in 0..p.k_h {
                    let Some(iy) = p.row(oy, ky) else { continue };
                    for kx in 0..p.k_w {
                        let Some(ix) = p.col(ox, kx) else { continue };
                        count += 1;
                        let pixel =
                            &x[((n * p.h_in + iy) * p.w_in + ix) * p.c_in..][..p.c_in];
                        for (o, &v) in out.iter_mut().zip(pixel) {
                            *o = if max { o.max(v) } else { *o + v };
                        }
                    }
                }
                let divisor = if max { 1.0 } else { count.max(1) as f32 };
                for o in out.iter_mut() {
                    *o = act.apply(*o / divisor);
                }
            }
        }
    }
}

/// Int8 channels-last pooling (input and output share one quantization): the max, or the sum
/// over the window positions inside the image divided with rounding half away from zero;
/// then clamped to `[min, max]`.
#[inline(always)]
pub fn pool_i8(p: Window, max: bool, min_out: i32, max_out: i32, x: &[i8], y: &mut [i8]) {
    let mut acc = [0i32; 64];
    for n in 0..p.batch {
        for oy in 0..p.h_out {
            for ox in 0..p.w_out {
                // Channels in blocks of 64, accumulated in i32.
                let mut c0 = 0;
                while c0 < p.c_in {
                    let width = (p.c_in - c0).min(acc.len());
                    let acc = &mut acc[..width];
                    acc.fill(if max { i32::MIN } else { 0 });
                    let mut count = 0i32;
                    for ky in 0..p.k_h {
                        let Some(iy) = p.row(oy, ky) else { continue };
                        for kx in 0..p.k_w {
                            let Some(ix) = p.col(ox, kx) else { continue };
                            count += 1;
                            let pixel = &x
                                [((n * p.h_in + iy) * p.w_in + ix) * p.c_in + c0..]
                                [..width];
                            for (a, &v) in acc.iter_mut().zip(pixel) {
                                *a = if max {
                                    (*a).max(v as i32)
                                } else {
                                    *a + v as i32
                                };
                            }
                        }
                    }
                    let out = &mut y[((n * p.h_out + oy) * p.w_out + ox) * p.c_in + c0..]
                        [..width];
                    for (o, &a) in out.iter_mut().zip(acc.iter()) {
                        let v = if max || count == 0 {
                            a
                        } else if a > 0 {
                            (a + count / 2) / count
                        } else {
                            (a - count / 2) / count
                        };
                        *o = v.clamp(min_out, max_out) as i8;
                    }
                    c0 += width;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::op::{ConvAttrs, PoolAttrs};
    use crate::ir::{Graph, Node, Op, Quantization, Tensor, TensorData, TensorId};
    use crate::kernels::test_support::{assert_close, floats};
    use proptest::prelude::*;

    /// Runs one node of the reference evaluator on channels-last inputs.
    fn evaluate(
        op: Op,
        inputs: Vec<(Vec<usize>, TensorData, Option<Quantization>)>,
        out: (Vec<usize>, Option<Quantization>),
        dtype: crate::ir::DType,
    ) -> TensorData {
        let mut g = Graph::default();
        let ids: Vec<TensorId> = inputs
            .iter()
            .enumerate()
            .map(|(i, (shape, data, quant))| {
                g.add_tensor(Tensor {
                    name: format!("in{i}"),
                    dtype: data.dtype(),
                    shape: Some(shape.clone()),
                    data: None,
                    quant: quant.clone(),
                    storage: None,
                })
            })
            .collect();
        let y = g.add_tensor(Tensor {
            name: "y".into(),
            dtype,
            shape: Some(out.0.clone()),
            data: None,
            quant: out.1,
            storage: None,
        });
        let node = Node {
            name: "n".into(),
            op,
            inputs: ids,
            params: vec![],
            outputs: vec![y],
        };
        let values: Vec<Value> = inputs
            .into_iter()
            .map(|(shape, data, _)| Value::new(shape, data))
            .collect();
        let refs: Vec<&Value> = values.iter().collect();
        crate::eval::eval_node(&g, &node, &refs)
            .unwrap()
            .remove(0)
            .data
    }

    #[allow(clippy::too_many_arguments)]
    fn window(
        n: usize,
        h: usize,
        w: usize,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        groups: usize,
    ) -> (Window, usize, usize) {
        let h_out = (h + 2 * pad - k) / stride + 1;
        let w_out = (w + 2 * pad - k) / stride + 1;
        (
            Window {
                batch: n,
                h_in: h,
                w_in: w,
                c_in,
                h_out,
                w_out,
                c_out,
                k_h: k,
                k_w: k,
                stride_h: stride,
                stride_w: stride,
                dilation_h: 1,
                dilation_w: 1,
                pad_top: pad,
                pad_left: pad,
                groups,
            },
            h_out,
            w_out,
        )
    }

    /// The evaluator's output of an int8 channels-last convolution (input parameters
    /// (0.05, 3), output `(output_scale, -7)`) of `x`, `wt` and `bias` with shapes `[x, w, y]`,
    /// and the kernel's per-channel multipliers and shifts for it.
    fn int8_conv_case(
        attrs: ConvAttrs,
        [x_shape, w_shape, y_shape]: [Vec<usize>; 3],
        (x, wt, bias): (&[i8], &[i8], &[i32]),
        wq: &Quantization,
        output_scale: f32,
    ) -> (TensorData, Vec<i32>, Vec<i32>) {
        let c_out = w_shape[0];
        let xq = Quantization::per_tensor(0.05, 3);
        let yq = Quantization::per_tensor(output_scale, -7);
        let expected = evaluate(
            Op::Conv(attrs),
            vec![
                (x_shape, TensorData::I8(x.to_vec()), Some(xq)),
                (w_shape, TensorData::I8(wt.to_vec()), Some(wq.clone())),
                (vec![c_out], TensorData::I32(bias.to_vec()), None),
            ],
            (y_shape, Some(yq)),
            crate::ir::DType::I8,
        );
        let (multipliers, shifts) =
            crate::quant::channel_multipliers(0.05, wq, output_scale, c_out);
        (expected, multipliers, shifts)
    }

    /// The kernel's quantization for [`int8_conv_case`].
    fn conv_quant<'a>(
        multipliers: &'a [i32],
        shifts: &'a [i32],
        single_rounding: bool,
    ) -> ConvQuant<'a> {
        ConvQuant {
            input_zero_point: 3,
            multipliers,
            shifts,
            output_zero_point: -7,
            output_min: -128,
            output_max: 127,
            single_rounding,
            one_multiply: false,
            rounding_base: 0,
            negative_rounding: 0,
        }
    }

    /// `bias[oc] − zx · Σ w[oc]` for the kernels with the input zero point folded in.
    fn folded_bias(bias: &[i32], w: &[i8], c_out: usize, zx: i32) -> Vec<i32> {
        let per = w.len() / c_out;
        (0..c_out)
            .map(|oc| {
                let sum: i32 = w[oc * per..][..per].iter().map(|&v| v as i32).sum();
                bias.get(oc).copied().unwrap_or(0) - zx * sum
            })
            .collect()
    }

    fn bytes(seed: u64, n: usize) -> Vec<i8> {
        floats(seed, n).iter().map(|v| (v * 127.0) as i8).collect()
    }

    /// A convolution without input channels (a hostile model's) gives the requantized bias,
    /// as `conv_i8` does: the one-group kernel has no patch to copy.
    #[test]
    fn a_convolution_without_input_channels_gives_the_bias() {
        let (p, h_out, w_out) = window(1, 3, 3, 0, 2, 3, 1, 1, 1);
        let (multipliers, shifts) = ([1 << 30, 1 << 30], [-2, -3]);
        let q = conv_quant(&multipliers, &shifts, false);
        let bias = [300, -300];
        let mut expected = vec![0i8; h_out * w_out * 2];
        conv_i8(p, q, &[], &[], &bias, &mut expected);
        let mut y = vec![0i8; expected.len()];
        conv_i8_folded(p, q, &[], &[], &bias, &[], &mut [], &mut y);
        assert_eq!(y, expected);
    }

    proptest! {
        #[test]
        fn conv_matches_the_evaluator(
            h in 1..7usize, w in 1..7usize, groups in 1..3usize, cin_g in 1..4usize,
            cout_g in 1..4usize, k in 1..4usize, stride in 1..3usize, pad in 0..2usize,
            seed in any::<u64>(), quantized in any::<bool>(),
        ) {
            prop_assume!(h + 2 * pad >= k && w + 2 * pad >= k);
            let (c_in, c_out) = (groups * cin_g, groups * cout_g);
            let (p, h_out, w_out) = window(1, h, w, c_in, c_out, k, stride, pad, groups);
            let attrs = ConvAttrs {
                kernel_shape: vec![k, k],
                strides: vec![stride, stride],
                dilations: vec![1, 1],
                pads: vec![pad, pad, pad, pad],
                group: groups,
                channels_last: true,
                ..Default::default()
            };
            let x_shape = vec![1, h, w, c_in];
            let w_shape = vec![c_out, k, k, cin_g];
            let y_shape = vec![1, h_out, w_out, c_out];
            if quantized {
                let (x, wt) = (bytes(seed, h * w * c_in), bytes(seed ^ 1, c_out * k * k * cin_g));
                let bias: Vec<i32> = bytes(seed ^ 2, c_out).iter().map(|&b| b as i32 * 50).collect();
                let wq = Quantization {
                    scale: (0..c_out).map(|c| 0.01 + 0.002 * c as f32).collect(),
                    zero_point: vec![0; c_out],
                    axis: 0,
                    int4: false,
                };
                let shapes = [x_shape, w_shape, y_shape.clone()];
                let (expected, multipliers, shifts) =
                    int8_conv_case(attrs, shapes, (&x, &wt, &bias), &wq, 0.08);
                let q = conv_quant(&multipliers, &shifts, false);
                let mut y = vec![0i8; y_shape.iter().product()];
                conv_i8(p, q, &x, &wt, &bias, &mut y);
                prop_assert_eq!(TensorData::I8(y), expected);
            } else {
                let (x, wt) = (floats(seed, h * w * c_in), floats(seed ^ 1, c_out * k * k * cin_g));
                let bias = floats(seed ^ 2, c_out);
                let expected = evaluate(
                    Op::Conv(attrs),
                    vec![
                        (x_shape, TensorData::F32(x.clone()), None),
                        (w_shape, TensorData::F32(wt.clone()), None),
                        (vec![c_out], TensorData::F32(bias.clone()), None),
                    ],
                    (y_shape.clone(), None),
                    crate::ir::DType::F32,
                );
                let mut y = vec![0f32; y_shape.iter().product()];
                conv_f32(p, Activation::None, &x, wt.as_slice(), &bias, &mut y);
                assert_close(&y, expected.as_f32().unwrap(), 1e-5);
            }
        }

        /// The depthwise kernel on weights laid out `[k_h, k_w, c]` gives [`conv_i8`]'s bytes on
        /// the same weights laid out `[c, k_h, k_w, 1]`; more than 64 channels take two blocks.
        #[test]
        fn depthwise_gives_the_convolutions_bytes(
            h in 1..7usize, w in 1..7usize, c in prop_oneof![1..9usize, 60..70usize],
            k in 1..4usize, stride in 1..3usize, pad in 0..2usize, seed in any::<u64>(),
            single_rounding in any::<bool>(), with_bias in any::<bool>(), zx in -128..128i32,
        ) {
            prop_assume!(h + 2 * pad >= k && w + 2 * pad >= k);
            let (p, h_out, w_out) = window(1, h, w, c, c, k, stride, pad, c);
            let x = bytes(seed, h * w * c);
            let wt = bytes(seed ^ 1, c * k * k);
            let bias: Vec<i32> = if with_bias {
                bytes(seed ^ 2, c).iter().map(|&b| b as i32 * 50).collect()
            } else {
                Vec::new()
            };
            let multipliers: Vec<i32> = (0..c).map(|i| (1 << 30) + i as i32 * 7919).collect();
            let shifts: Vec<i32> = (0..c).map(|i| -7 - (i % 3) as i32).collect();
            let q = ConvQuant {
                input_zero_point: zx,
                ..conv_quant(&multipliers, &shifts, single_rounding)
            };
            let mut expected = vec![0i8; h_out * w_out * c];
            conv_i8(p, q, &x, &wt, &bias, &mut expected);
            let hwc: Vec<i8> = (0..k * k * c).map(|i| wt[(i % c) * k * k + i / c]).collect();
            let folded = folded_bias(&bias, &wt, c, zx);
            let mut y = vec![0i8; expected.len()];
            depthwise_i8(p, q, &x, &hwc, &folded, &vec![zx as i8; c], &mut y);
            prop_assert_eq!(y, expected);
        }

        /// 4-bit weights, packed per output channel, of ordinary and depthwise convolutions;
        /// `k_h · k_w · c_in / groups` is odd as often as even, so half-used last bytes and taps
        /// that start in the middle of a byte are both exercised.
        #[test]
        fn conv_with_int4_weights_matches_the_evaluator(
            h in 1..7usize, w in 1..7usize, depthwise in any::<bool>(), c in 1..5usize,
            cin_g in 1..4usize, cout_g in 1..3usize, k in 1..4usize, stride in 1..3usize,
            pad in 0..2usize, seed in any::<u64>(), single_rounding in any::<bool>(),
        ) {
            prop_assume!(h + 2 * pad >= k && w + 2 * pad >= k);
            // Depthwise: one input channel per group; otherwise one group.
            let (groups, cin_g) = if depthwise { (c, 1) } else { (1, cin_g) };
            let (c_in, c_out) = (groups * cin_g, groups * cout_g);
            let (p, h_out, w_out) = window(1, h, w, c_in, c_out, k, stride, pad, groups);
            let attrs = ConvAttrs {
                kernel_shape: vec![k, k],
                strides: vec![stride, stride],
                dilations: vec![1, 1],
                pads: vec![pad, pad, pad, pad],
                group: groups,
                channels_last: true,
                ..Default::default()
            };
            let taps = k * k * cin_g;
            let x = bytes(seed, h * w * c_in);
            let wt: Vec<i8> = bytes(seed ^ 1, c_out * taps).iter().map(|&v| v >> 4).collect();
            let bias: Vec<i32> = bytes(seed ^ 2, c_out).iter().map(|&b| b as i32 * 50).collect();
            let wq = Quantization {
                scale: (0..c_out).map(|c| 0.1 + 0.02 * c as f32).collect(),
                zero_point: vec![0; c_out],
                axis: 0,
                int4: true,
            };
            let y_shape = vec![1, h_out, w_out, c_out];
            let shapes = [vec![1, h, w, c_in], vec![c_out, k, k, cin_g], y_shape.clone()];
            let (expected, multipliers, shifts) =
                int8_conv_case(attrs, shapes, (&x, &wt, &bias), &wq, 0.3);
            let q = conv_quant(&multipliers, &shifts, single_rounding);
            let packed = crate::quant::pack_int4_rows(&wt, taps);
            prop_assert_eq!(packed.len(), c_out * taps.div_ceil(2));
            let mut y = vec![0i8; y_shape.iter().product()];
            conv_i8_int4_weights(p, q, &x, &packed, &bias, &mut y);
            // The same weights as a codebook of their (at most 16) values give the same bytes.
            let mut values = wt.clone();
            values.sort_unstable();
            values.dedup();
            let indices: Vec<usize> =
                wt.iter().map(|w| values.binary_search(w).unwrap_or(0)).collect();
            let indices = crate::backend::lower::sparse::pack_indices(&indices, values.len());
            let mut shared = vec![0i8; y.len()];
            conv_i8_codebook(p, q, &x, &values, &indices, &bias, &mut shared);
            prop_assert_eq!(&shared, &y);
            // The evaluator rounds as TFLite does; single rounding is checked against the int8
            // kernel on the same values.
            if single_rounding {
                let mut z = vec![0i8; y.len()];
                conv_i8(p, q, &x, &wt, &bias, &mut z);
                prop_assert_eq!(y, z);
            } else {
                prop_assert_eq!(TensorData::I8(y), expected);
            }
        }

        #[test]
        fn hybrid_conv_matches_the_evaluator(
            h in 1..7usize, w in 1..7usize, c_in in 1..5usize, c_out in 1..4usize,
            k in 1..4usize, stride in 1..3usize, pad in 0..2usize, seed in any::<u64>(),
            zero_input in any::<bool>(),
        ) {
            prop_assume!(h + 2 * pad >= k && w + 2 * pad >= k);
            let (p, h_out, w_out) = window(1, h, w, c_in, c_out, k, stride, pad, 1);
            let attrs = ConvAttrs {
                kernel_shape: vec![k, k],
                strides: vec![stride, stride],
                dilations: vec![1, 1],
                pads: vec![pad, pad, pad, pad],
                channels_last: true,
                activation: crate::ir::Activation::Relu,
                ..Default::default()
            };
            let x: Vec<f32> = if zero_input {
                vec![0.0; h * w * c_in]
            } else {
                floats(seed, h * w * c_in).iter().map(|v| v * 3.0).collect()
            };
            let wt = bytes(seed ^ 1, c_out * k * k * c_in);
            let bias = floats(seed ^ 2, c_out);
            let y_shape = vec![1, h_out, w_out, c_out];
            let expected = evaluate(
                Op::Conv(attrs),
                vec![
                    (vec![1, h, w, c_in], TensorData::F32(x.clone()), None),
                    (vec![c_out, k, k, c_in], TensorData::I8(wt.clone()), Some(Quantization::per_tensor(0.013, 0))),
                    (vec![c_out], TensorData::F32(bias.clone()), None),
                ],
                (y_shape.clone(), None),
                crate::ir::DType::F32,
            );
            let mut y = vec![0f32; y_shape.iter().product()];
            conv_hybrid(p, Activation::Relu, 0.013, &x, &wt, &bias, &mut y);
            prop_assert_eq!(TensorData::F32(y), expected);
        }

        #[test]
        fn pooling_matches_the_evaluator(
            h in 1..7usize, w in 1..7usize, c in 1..70usize, k in 1..4usize,
            stride in 1..3usize, pad in 0..2usize, max in any::<bool>(), seed in any::<u64>(),
            quantized in any::<bool>(),
        ) {
            prop_assume!(h + 2 * pad >= k && w + 2 * pad >= k && pad < k);
            let (p, h_out, w_out) = window(1, h, w, c, c, k, stride, pad, 1);
            let attrs = PoolAttrs {
                kernel_shape: vec![k, k],
                strides: vec![stride, stride],
                dilations: vec![1, 1],
                pads: vec![pad, pad, pad, pad],
                channels_last: true,
                ..Default::default()
            };
            let op = if max { Op::MaxPool(attrs) } else { Op::AveragePool(attrs) };
            let (x_shape, y_shape) = (vec![1, h, w, c], vec![1, h_out, w_out, c]);
            if quantized {
                let x = bytes(seed, h * w * c);
                let q = Quantization::per_tensor(0.1, 5);
                let expected = evaluate(op, vec![(x_shape, TensorData::I8(x.clone()), Some(q.clone()))], (y_shape.clone(), Some(q)), crate::ir::DType::I8);
                let mut y = vec![0i8; y_shape.iter().product()];
                pool_i8(p, max, -128, 127, &x, &mut y);
                prop_assert_eq!(TensorData::I8(y), expected);
            } else {
                let x = floats(seed, h * w * c);
                let expected = evaluate(op, vec![(x_shape, TensorData::F32(x.clone()), None)], (y_shape.clone(), None), crate::ir::DType::F32);
                let mut y = vec![0f32; y_shape.iter().product()];
                pool_f32(p, max, Activation::None, &x, &mut y);
                assert_close(&y, expected.as_f32().unwrap(), 1e-6);
            }
        }
    }
}
