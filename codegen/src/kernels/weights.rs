//! Where the float convolution and matrix kernels read their weights from: plain `f32` arrays,
//! or weights stored in fewer bits and decoded as they are read (`--quantize int8-weights`,
//! `--quantize fp16`, and the shared values of `--cluster K`), so that a layer's flash shrinks
//! while it still computes in float and needs no scratch memory for decoded weights.
//!
//! A kernel takes any [`Weights`] and asks for one weight ([`Weights::at`]) or for a run of
//! them ([`Weights::within_channel`], [`Weights::across_channels`]); each kernel knows which
//! output channel a weight belongs to, which is what a per-channel scale needs. Decoding is
//! exact: an int8 weight is `q as f32 * scale` and a float16 widens to `f32` without rounding,
//! so the products are those of a float layer whose weights hold the decoded values (which is
//! what the compiler's IR and reference evaluator hold).

/// A kernel's view of a layer's weights, by flat index in the layer's weight layout.
pub trait Weights: Copy {
    /// Weight `index`, which belongs to output channel `channel`.
    fn at(self, index: usize, channel: usize) -> f32;

    /// The `len` weights from `start`, all of output channel `channel`.
    fn within_channel(
        self,
        start: usize,
        len: usize,
        channel: usize,
    ) -> impl Iterator<Item = f32>;

    /// The `len` weights from `start`, one for each output channel from `first_channel` on.
    fn across_channels(
        self,
        start: usize,
        len: usize,
        first_channel: usize,
    ) -> impl Iterator<Item = f32>;
}

impl Weights for &[f32] {
    #[inline(always)]
    fn at(self, index: usize, _channel: usize) -> f32 {
        self[index]
    }

    #[inline(always)]
    fn within_channel(
        self,
        start: usize,
        len: usize,
        _channel: usize,
    ) -> impl Iterator<Item = f32> {
        self[start..start + len].iter().copied()
    }

    /// Plain weights have no per-channel scale: a run across channels reads as one within.
    #[inline(always)]
    fn across_channels(
        self,
        start: usize,
        len: usize,
        first_channel: usize,
    ) -> impl Iterator<Item = f32> {
        self.within_channel(start, len, first_channel)
    }
}

/// Constant weights are static arrays; this spares every call site a conversion to a slice.
impl<const N: usize> Weights for &[f32; N] {
    #[inline(always)]
    fn at(self, index: usize, channel: usize) -> f32 {
        self.as_slice().at(index, channel)
    }

    #[inline(always)]
    fn within_channel(
        self,
        start: usize,
        len: usize,
        channel: usize,
    ) -> impl Iterator<Item = f32> {
        self.as_slice().within_channel(start, len, channel)
    }

    #[inline(always)]
    fn across_channels(
        self,
        start: usize,
        len: usize,
        first_channel: usize,
    ) -> impl Iterator<Item = f32> {
        self.as_slice().across_channels(start, len, first_channel)
    }
}

/// Weights stored as int8 integers with one scale per output channel (or a single scale for
/// all): weight `i` of channel `c` is `values[i] as f32 * scales[c]`.
#[derive(Clone, Copy, Debug)]
pub struct Int8<'a> {
    pub values: &'a [i8],
    /// One scale per output channel, or one for every channel.
    pub scales: &'a [f32],
}

impl Int8<'_> {
    #[inline(always)]
    fn scale(&self, channel: usize) -> f32 {
        if self.scales.len() == 1 {
            self.scales[0]
        } else {
            self.scales[channel]
        }
    }
}

impl Weights for Int8<'_> {
    #[inline(always)]
    fn at(self, index: usize, channel: usize) -> f32 {
        self.values[index] as f32 * self.scale(channel)
    }

    #[inline(always)]
    fn within_channel(
        self,
        start: usize,
        len: usize,
        channel: usize,
    ) -> impl Iterator<Item = f32> {
        let scale = self.scale(channel);
        self.values[start..start + len]
            .iter()
            .map(move |&q| q as f32 * scale)
    }

    #[inline(always)]
    fn across_channels(
        self,
        start: usize,
        len: usize,
        first_channel: usize,
    ) -> impl Iterator<Item = f32> {
        let values = &self.values[start..start + len];
        // A single scale repeats; per-channel scales run alongside the weights.
        let (scales, step) = if self.scales.len() == 1 {
            (self.scales, 0)
        } else {
            (&self.scales[first_channel..first_channel + len], 1)
        };
        values
            .iter()
            .enumerate()
            .map(move |(j, &q)| q as f32 * scales[j * step])
    }
}

/// Weights stored as IEEE 754 half precision bit patterns.
#[derive(Clone, Copy, Debug)]
pub struct F16<'a> {
    pub bits: &'a [u16],
}

impl Weights for F16<'_> {
    #[inline(always)]
    fn at(self, index: usize, _channel: usize) -> f32 {
        f16_to_f32(self.bits[index])
    }

    #[inline(always)]
    fn within_channel(
        self,
        start: usize,
        len: usize,
        _channel: usize,
    ) -> impl Iterator<Item = f32> {
        self.bits[start..start + len].iter().map(|&h| f16_to_f32(h))
    }

    /// Float16 weights have no per-channel scale either.
    #[inline(always)]
    fn across_channels(
        self,
        start: usize,
        len: usize,
        first_channel: usize,
    ) -> impl Iterator<Item = f32> {
        self.within_channel(start, len, first_channel)
    }
}

/// Weights shared among a few values (`--cluster K`): weight `i` of channel `c` is
/// `values[j] * scales[c]` with `j` its [index](codebook_index), or `values[j]` itself when
/// `scales` is empty; one scale serves every channel.
#[derive(Clone, Copy, Debug)]
pub struct Codebook<'a> {
    pub values: &'a [f32],
    pub scales: &'a [f32],
    pub indices: &'a [u8],
}

impl Codebook<'_> {
    #[inline(always)]
    fn value(&self, index: usize, channel: usize) -> f32 {
        let v = self.values[codebook_index(self.indices, self.values.len(), index)];
        match self.scales.len() {
            0 => v,
            1 => v * self.scales[0],
            _ => v * self.scales[channel],
        }
    }
}

impl Weights for Codebook<'_> {
    #[inline(always)]
    fn at(self, index: usize, channel: usize) -> f32 {
        self.value(index, channel)
    }

    #[inline(always)]
    fn within_channel(
        self,
        start: usize,
        len: usize,
        channel: usize,
    ) -> impl Iterator<Item = f32> {
        (start..start + len).map(move |i| self.value(i, channel))
    }

    #[inline(always)]
    fn across_channels(
        self,
        start: usize,
        len: usize,
        first_channel: usize,
    ) -> impl Iterator<Item = f32> {
        (0..len).map(move |j| self.value(start + j, first_channel + j))
    }
}

/// Index `i` of a codebook of `count` values: 4 bits when `count ≤ 16`, two per byte (index
/// `2j` in the low nibble of byte `j`), else one byte each.
#[inline(always)]
pub fn codebook_index(indices: &[u8], count: usize, i: usize) -> usize {
    if count <= 16 {
        ((indices[i / 2] >> ((i % 2) * 4)) & 0xF) as usize
    } else {
        indices[i] as usize
    }
}

/// IEEE 754 half precision to single precision (exact: every float16 is an `f32`).
#[inline(always)]
pub fn f16_to_f32(bits: u16) -> f32 {
    let sign = ((bits >> 15) as u32) << 31;
    let exponent = ((bits >> 10) & 0x1f) as u32;
    let mantissa = (bits & 0x3ff) as u32;
    let magnitude = match exponent {
        // Zero or subnormal: mantissa × 2^-24, exact in f32.
        0 => (mantissa as f32 * (1.0 / 16_777_216.0)).to_bits(),
        // Infinity or NaN keeps its payload.
        0x1f => 0xff << 23 | mantissa << 13,
        e => (e + 127 - 15) << 23 | mantissa << 13,
    };
    f32::from_bits(sign | magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::elementwise::{f16_from_f64, f16_to_f64};
    use crate::kernels::test_support::floats;

    #[test]
    fn every_float16_widens_exactly() {
        for h in 0..=u16::MAX {
            let wide = f16_to_f32(h);
            let reference = f16_to_f64(h);
            if reference.is_nan() {
                assert!(wide.is_nan(), "{h:#06x}");
            } else {
                assert_eq!(wide as f64, reference, "{h:#06x}");
                assert_eq!(wide.is_sign_negative(), reference.is_sign_negative());
                assert_eq!(f16_from_f64(wide as f64), h, "{h:#06x} round trip");
            }
        }
    }

    #[test]
    fn int8_weights_decode_by_channel() {
        let values = [1i8, -2, 3, 127, -127, 0];
        let scales = [0.5f32, 0.25, 2.0];
        let w = Int8 {
            values: &values,
            scales: &scales,
        };
        // Channel c owns values 2c and 2c + 1 when read within channels ...
        let within: Vec<f32> = (0..3).flat_map(|c| w.within_channel(2 * c, 2, c)).collect();
        assert_eq!(within, [0.5, -1.0, 0.75, 31.75, -254.0, 0.0]);
        // ... and value j of a run across channels belongs to channel first + j.
        let across: Vec<f32> = w.across_channels(3, 3, 0).collect();
        assert_eq!(across, [63.5, -31.75, 0.0]);
        assert_eq!(w.at(4, 2), -254.0);
        let single = Int8 {
            values: &values,
            scales: &[0.5],
        };
        let across: Vec<f32> = single.across_channels(0, 3, 0).collect();
        assert_eq!(across, [0.5, -1.0, 1.5]);
    }

    /// Weights of `channels` output channels of `per_channel` values each, as int8 with one
    /// scale per channel (the scales returned) and as float16.
    fn stored(
        channels: usize,
        per_channel: usize,
        seed: u64,
    ) -> (Vec<i8>, Vec<f32>, Vec<u16>) {
        let n = channels * per_channel;
        let integers: Vec<i8> = floats(seed, n).iter().map(|v| (v * 127.0) as i8).collect();
        let scales: Vec<f32> = (0..channels).map(|c| 0.01 * (c + 1) as f32).collect();
        let halves: Vec<u16> = floats(seed + 1, n)
            .iter()
            .map(|&v| f16_from_f64(v as f64))
            .collect();
        (integers, scales, halves)
    }

    /// The float kernels give, bit for bit, with stored weights what they give with the decoded
    /// weights in an `f32` array: decoding is exact and the loops are the same.
    #[test]
    fn kernels_compute_the_same_on_stored_and_decoded_weights() {
        use crate::kernels::activation::Activation;
        use crate::kernels::{conv, gemm, nhwc};
        for (c_in, c_out, k, stride, pad, groups) in [
            (3, 4, 3, 1, 1, 1),
            (4, 6, 1, 1, 0, 1),
            (4, 4, 3, 2, 1, 4),
            (6, 4, 2, 1, 0, 2),
        ] {
            let (h, w) = (5, 6);
            let out = |n: usize| (n + 2 * pad - k) / stride + 1;
            let (h_out, w_out) = (out(h), out(w));
            let per_channel = c_in / groups * k * k;
            let (integers, scales, halves) = stored(c_out, per_channel, c_in as u64);
            let int8 = Int8 {
                values: &integers,
                scales: &scales,
            };
            let f16 = F16 { bits: &halves };
            // Shared weights: nine values, each weight's index from the int8 integers.
            let shared = [-1.5f32, -0.75, -0.25, 0.0, 0.125, 0.5, 1.0, 2.0, 3.5];
            let codebook_indices: Vec<u8> = integers
                .iter()
                .map(|&q| q.unsigned_abs() % 9)
                .collect::<Vec<u8>>()
                .chunks(2)
                .map(|pair| pair[0] | pair.get(1).map_or(0, |h| h << 4))
                .collect();
            let codebook = Codebook {
                values: &shared,
                scales: &scales,
                indices: &codebook_indices,
            };
            let decode = |w: &dyn Fn(usize, usize) -> f32| -> Vec<f32> {
                (0..c_out * per_channel)
                    .map(|i| w(i, i / per_channel))
                    .collect()
            };
            let x = floats(7, c_in * h * w);
            let bias = floats(9, c_out);
            let p = conv::Conv2d {
                batch: 1,
                c_in,
                h_in: h,
                w_in: w,
                c_out,
                h_out,
                w_out,
                k_h: k,
                k_w: k,
                stride_h: stride,
                stride_w: stride,
                dilation_h: 1,
                dilation_w: 1,
                pad_top: pad,
                pad_left: pad,
                groups,
                activation: Activation::Relu,
            };
            let window = nhwc::Window {
                batch: 1,
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
            };
            // Both layouts' outputs of the convolution with weights `w`.
            let run = |w: &dyn Fn(&mut [f32], bool)| {
                let mut outputs = [
                    vec![0f32; c_out * h_out * w_out],
                    vec![0f32; c_out * h_out * w_out],
                ];
                w(&mut outputs[0], false);
                w(&mut outputs[1], true);
                outputs
            };
            fn convolve(
                (p, window): (conv::Conv2d, nhwc::Window),
                x: &[f32],
                w: impl Weights,
                bias: &[f32],
                y: &mut [f32],
                channels_last: bool,
            ) {
                if channels_last {
                    nhwc::conv_f32(window, Activation::None, x, w, bias, y)
                } else {
                    conv::conv2d(p, x, w, bias, y)
                }
            }
            let shape = (p, window);
            let decoded_int8 = decode(&|i, c| int8.at(i, c));
            let decoded_f16 = decode(&|i, c| f16.at(i, c));
            assert_eq!(
                run(&|y, last| convolve(shape, &x, int8, &bias, y, last)),
                run(&|y, last| convolve(
                    shape,
                    &x,
                    decoded_int8.as_slice(),
                    &bias,
                    y,
                    last
                )),
                "int8, c_in {c_in}, k {k}"
            );
            let decoded_codebook = decode(&|i, c| codebook.at(i, c));
            assert_eq!(
                run(&|y, last| convolve(shape, &x, codebook, &bias, y, last)),
                run(&|y, last| convolve(
                    shape,
                    &x,
                    decoded_codebook.as_slice(),
                    &bias,
                    y,
                    last
                )),
                "codebook, c_in {c_in}, k {k}"
            );
            assert_eq!(
                run(&|y, last| convolve(shape, &x, f16, &bias, y, last)),
                run(&|y, last| convolve(shape, &x, decoded_f16.as_slice(), &bias, y, last)),
                "f16, c_in {c_in}, k {k}"
            );
        }

        // Gemm: B is [k, n] and its output channels are its columns.
        let (m, k, n) = (3, 7, 5);
        let (integers, _, _) = stored(1, k * n, 3);
        let scales: Vec<f32> = (0..n).map(|j| 0.01 * (j + 1) as f32).collect();
        let int8 = Int8 {
            values: &integers,
            scales: &scales,
        };
        let decoded: Vec<f32> = (0..k * n).map(|i| int8.at(i, i % n)).collect();
        let a = floats(5, m * k);
        let c = floats(6, n);
        let p = gemm::Gemm {
            m,
            k,
            n,
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: false,
            bias: gemm::Bias::Row,
            activation: Activation::None,
        };
        let (mut y1, mut y2) = (vec![0f32; m * n], vec![0f32; m * n]);
        gemm::gemm(p, &a, int8, &c, &mut y1);
        gemm::gemm(p, &a, decoded.as_slice(), &c, &mut y2);
        assert_eq!(y1, y2);
        // Shared weights of more than 16 values take a byte per index; without scales, each
        // weight is its value.
        let shared: Vec<f32> = (0..20).map(|v| v as f32 * 0.25 - 2.0).collect();
        let indices: Vec<u8> = integers.iter().map(|&q| q.unsigned_abs() % 20).collect();
        let codebook = Codebook {
            values: &shared,
            scales: &[],
            indices: &indices,
        };
        let decoded: Vec<f32> = (0..k * n).map(|i| shared[indices[i] as usize]).collect();
        gemm::gemm(p, &a, codebook, &c, &mut y1);
        gemm::gemm(p, &a, decoded.as_slice(), &c, &mut y2);
        assert_eq!(y1, y2);
    }

    #[test]
    fn codebook_weights_decode_by_index_and_channel() {
        // Indices 1, 2, 0, 3 (two per byte, low nibble first) into four values.
        let values = [0.5f32, -1.0, 2.0, 0.0];
        let indices = [0x21u8, 0x30];
        let scaled = Codebook {
            values: &values,
            scales: &[1.0, 0.5],
            indices: &indices,
        };
        let across: Vec<f32> = scaled.across_channels(0, 2, 0).collect();
        assert_eq!(across, [-1.0, 1.0]);
        let within: Vec<f32> = scaled.within_channel(2, 2, 1).collect();
        assert_eq!(within, [0.25, 0.0]);
        let one_scale = Codebook {
            values: &values,
            scales: &[4.0],
            indices: &indices,
        };
        assert_eq!(one_scale.at(2, 1), 2.0);
    }

    #[test]
    fn plain_weights_are_read_as_they_are() {
        let values = [1.5f32, -2.0, 3.25];
        assert_eq!(values.as_slice().at(1, 7), -2.0);
        let run: Vec<f32> = (&values).within_channel(1, 2, 0).collect();
        assert_eq!(run, [-2.0, 3.25]);
        let f16 = F16 {
            bits: &[0x3c00, 0xc000, 0x3555],
        };
        let run: Vec<f32> = f16.across_channels(0, 3, 0).collect();
        assert_eq!(run, [1.0, -2.0, f16_to_f32(0x3555)]);
    }
}
