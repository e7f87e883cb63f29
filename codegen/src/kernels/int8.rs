//! Int8 kernels of the element-wise and dense ops of TFLite int8 models: the fully connected
//! layer, `Add`/`Sub`/`Mul` (with broadcasting), `Softmax`, the activations (`Relu`/`Clip`,
//! `LeakyRelu`, `PRelu`, `HardSwish`, and `Sigmoid`/`Tanh` through a 256-entry table),
//! `Quantize`/`Dequantize`, `ReduceMean`, and the byte moves of int8 `Concat` and `Pad`; each
//! with the exact arithmetic of TFLite's reference kernels (see [`super::quant`]). Convolution
//! and pooling are in [`super::nhwc`].
//!
//! Each element-wise op has a parameter struct whose `apply` is the arithmetic of one element;
//! the reference evaluator calls the same `apply` (it is the specification, written once), and
//! the kernels add the loops: broadcasting, in-place variants. Every parameter is computed at
//! compile time by the compiler's `quant` module.

use super::nhwc::ConvQuant;
use super::quant::{
    exp_on_negative_values, int4_at, multiply_by_quantized_multiplier, reciprocal,
    requantize, requantize_fast, rescale_shifted, round_half_away, rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul, saturating_rounding_multiply_by_pot,
};

/// Axes of the broadcast iteration space of the binary int8 kernels.
pub const MAX_RANK: usize = 6;

/// An int8 fully connected layer (TFLite `FULLY_CONNECTED`): `y[m, n]` from `a[m, k]` and
/// weights `b[n, k]`, requantized in double precision as TFLite's reference kernel does.
#[derive(Clone, Copy, Debug)]
pub struct FullyConnectedI8 {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// The input's and the output's scales, from which with each weight scale the kernel
    /// derives the output channel's rescaling factor ([`fully_connected_scale`]).
    pub input_scale: f32,
    pub output_scale: f32,
    pub input_zero_point: i32,
    /// Subtracted from every weight (0 for per-channel weights, whose zero points TFLite
    /// ignores).
    pub weight_zero_point: i32,
    pub output_zero_point: i32,
    pub output_min: i32,
    pub output_max: i32,
}

/// The factor that rescales output channel `n`'s accumulator of an int8 fully connected layer,
/// `s_in · s_w[n] / s_out` in double precision as TFLite computes it. The kernel derives it
/// from the three `f32` scales rather than storing it: the same operations give the same
/// `f64`, and flash holds four bytes per channel instead of eight.
#[inline(always)]
pub fn fully_connected_scale(
    input_scale: f32,
    weight_scale: f32,
    output_scale: f32,
) -> f64 {
    input_scale as f64 * weight_scale as f64 / output_scale as f64
}

/// `y = clamp(round((Σ (a − z_a)(b − z_b) + bias) · scale[n]) + z_y)`, with `scale[n]` from
/// [`fully_connected_scale`]; `bias` is empty or `n` values, `weight_scales` has `n` values or
/// one for all.
#[inline(always)]
pub fn fully_connected_i8(
    p: FullyConnectedI8,
    a: &[i8],
    b: &[i8],
    bias: &[i32],
    weight_scales: &[f32],
    y: &mut [i8],
) {
    fully_connected_by(p, a, bias, weight_scales, y, |j, row| {
        let weights = &b[j * p.k..(j + 1) * p.k];
        let mut acc = 0i32;
        for (&x, &w) in row.iter().zip(weights) {
            acc += (x as i32 - p.input_zero_point) * (w as i32 - p.weight_zero_point);
        }
        acc
    });
}

/// The loops of the int8 fully connected layers: for each output `j` of each row of `a`, the
/// bias plus `dot(j, row)`, rescaled by channel `j`'s factor and rounded. `dot` is called for
/// `j = 0, 1, ..., n - 1` in turn for each row of `a`, so a sparse kernel
/// ([`super::sparse`]) can walk its weights as it goes.
#[inline(always)]
pub fn fully_connected_by(
    p: FullyConnectedI8,
    a: &[i8],
    bias: &[i32],
    weight_scales: &[f32],
    y: &mut [i8],
    mut dot: impl FnMut(usize, &[i8]) -> i32,
) {
    for i in 0..p.m {
        let row = &a[i * p.k..(i + 1) * p.k];
        for j in 0..p.n {
            let bias = if bias.is_empty() { 0 } else { bias[j] };
            let acc = bias + dot(j, row);
            let weight_scale = weight_scales[if weight_scales.len() == 1 { 0 } else { j }];
            let scale = fully_connected_scale(p.input_scale, weight_scale, p.output_scale);
            let scaled =
                round_half_away(acc as f64 * scale).saturating_add(p.output_zero_point);
            y[i * p.n + j] = scaled.clamp(p.output_min, p.output_max) as i8;
        }
    }
}

/// [`fully_connected_i8`] for weights of zero point 0, with the input zero point folded into
/// `bias` at compile time (`bias[j] − z_a · Σ b[j]`), so that the inner loop is a plain int8
/// dot product (two outputs at a time, each input value loaded once for both; with AVX2,
/// [`super::simd::dot_1x2`]), and requantized
/// in integers by `q` ([`ConvQuant::output`]), which the compiler checked gives the
/// double-precision result on every accumulator the layer can reach
/// (`quant::fully_connected_multipliers`).
#[inline(always)]
pub fn fully_connected_folded(
    p: FullyConnectedI8,
    q: ConvQuant,
    a: &[i8],
    b: &[i8],
    bias: &[i32],
    y: &mut [i8],
) {
    for i in 0..p.m {
        let row = &a[i * p.k..][..p.k];
        let out = &mut y[i * p.n..][..p.n];
        for j in (0..p.n).step_by(2) {
            // The last output of an odd count pairs with itself.
            let j1 = (j + 1).min(p.n - 1);
            let (u, v) = (&b[j * p.k..][..p.k], &b[j1 * p.k..][..p.k]);
            let mut s = [bias[j], bias[j1]];
            if !super::simd::dot_1x2(&mut s, row, u, v) {
                for ((&x, &u), &v) in row.iter().zip(u).zip(v) {
                    s[0] += x as i32 * u as i32;
                    s[1] += x as i32 * v as i32;
                }
            }
            out[j] = q.output(s[0], j);
            out[j1] = q.output(s[1], j1);
        }
    }
}

/// [`fully_connected_i8`] with 4-bit weights (`--quantize int4-weights`): row `j` of `b` holds
/// the `k` weights of output `j` packed two per byte ([`int4_at`]), `k.div_ceil(2)` bytes. The
/// arithmetic is that of int8 weights; only the loads differ.
#[inline(always)]
pub fn fully_connected_i8_int4_weights(
    p: FullyConnectedI8,
    a: &[i8],
    b: &[u8],
    bias: &[i32],
    weight_scales: &[f32],
    y: &mut [i8],
) {
    let row_bytes = p.k.div_ceil(2);
    fully_connected_by(p, a, bias, weight_scales, y, |j, row| {
        let weights = &b[j * row_bytes..(j + 1) * row_bytes];
        let mut acc = 0i32;
        for (t, &x) in row.iter().enumerate() {
            acc += (x as i32 - p.input_zero_point)
                * (int4_at(weights, t) - p.weight_zero_point);
        }
        acc
    });
}

/// The int8 `Add`/`Sub` of TFLite on two tensors of the same shape: each input is offset by its
/// zero point, shifted left by `left_shift` bits and rescaled to a common scale, the two are
/// summed (or subtracted) and the result requantized to the output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AddI8 {
    pub subtract: bool,
    pub left_shift: i32,
    pub a_offset: i32,
    pub a_multiplier: i32,
    pub a_shift: i32,
    pub b_offset: i32,
    pub b_multiplier: i32,
    pub b_shift: i32,
    pub output_multiplier: i32,
    pub output_shift: i32,
    pub output_zero_point: i32,
    pub output_min: i32,
    pub output_max: i32,
}

impl AddI8 {
    /// TFLite's arithmetic, each rescaling in one multiply where that is the same
    /// ([`rescale_shifted`], [`requantize_fast`]).
    #[inline(always)]
    fn apply(&self, a: i8, b: i8) -> i8 {
        let a = rescale_shifted(
            a as i32 + self.a_offset,
            self.left_shift,
            self.a_multiplier,
            self.a_shift,
        );
        let b = rescale_shifted(
            b as i32 + self.b_offset,
            self.left_shift,
            self.b_multiplier,
            self.b_shift,
        );
        let sum = if self.subtract { a - b } else { a + b };
        requantize_fast(
            sum,
            self.output_multiplier,
            self.output_shift,
            self.output_zero_point,
            self.output_min,
            self.output_max,
        ) as i8
    }
}

#[inline(always)]
pub fn add_i8(p: AddI8, a: &[i8], b: &[i8], y: &mut [i8]) {
    for ((o, &x), &z) in y.iter_mut().zip(a).zip(b) {
        *o = p.apply(x, z);
    }
}

/// [`add_i8`] writing over its first input.
#[inline(always)]
pub fn add_i8_in_place(p: AddI8, y: &mut [i8], b: &[i8]) {
    for (o, &z) in y.iter_mut().zip(b) {
        *o = p.apply(*o, z);
    }
}

/// The int8 softmax over rows of `len` values. TFLite requires the output scale 1/256 and zero
/// point −128; other output parameters (those of an ONNX model) rescale the probability.
#[derive(Clone, Copy, Debug)]
pub struct SoftmaxI8 {
    pub rows: usize,
    pub len: usize,
    /// `beta · s_in · 2^26` as a Q31 multiplier and a left shift (at least 0).
    pub input_multiplier: i32,
    pub input_left_shift: i32,
    /// Differences from the row's maximum below this contribute nothing (their exponential
    /// underflows the fixed-point format).
    pub diff_min: i32,
    /// Whether the output is not TFLite's (1/256, −128): each probability is then multiplied by
    /// `1 / (256 · s_out)`, given as `output_multiplier · 2^(output_shift − 31)`, rounded once,
    /// and offset by `output_zero_point`.
    pub rescale: bool,
    pub output_multiplier: i32,
    pub output_shift: i32,
    pub output_zero_point: i32,
}

impl SoftmaxI8 {
    /// The output of probability `q · 2^−(exponent + 8)`, `q` in `0..=2^31`.
    #[inline(always)]
    fn output(&self, q: i32, exponent: i32) -> i8 {
        if !self.rescale {
            return (rounding_divide_by_pot(q, exponent) - 128).clamp(-128, 127) as i8;
        }
        let total = exponent + 31 - self.output_shift;
        let product = q as i64 * self.output_multiplier as i64;
        let scaled = if total > 62 {
            0
        } else if total <= 0 {
            i32::MAX as i64
        } else {
            (product + (1i64 << (total - 1))) >> total
        };
        (scaled + self.output_zero_point as i64).clamp(-128, 127) as i8
    }
}

/// Integer bits of the scaled differences and of the sum of exponentials.
const SCALED_DIFF_INTEGER_BITS: i32 = 5;
const ACCUMULATION_INTEGER_BITS: i32 = 12;

/// `exp(beta · s_in · (x − max))` with 0 integer bits, for a difference `diff >= diff_min`.
#[inline(always)]
fn exp_of_difference(p: &SoftmaxI8, diff: i32) -> i32 {
    let scaled = saturating_rounding_doubling_high_mul(
        diff.wrapping_mul(1 << p.input_left_shift),
        p.input_multiplier,
    );
    exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS)
}

/// TFLite's reference int8 softmax, step for step: the exponentials of the differences from the
/// row maximum in fixed point, their sum with 12 integer bits, its reciprocal, and each
/// exponential times the reciprocal rounded to 8 bits.
#[inline(always)]
pub fn softmax_i8(p: SoftmaxI8, x: &[i8], y: &mut [i8]) {
    for r in 0..p.rows {
        let row = &x[r * p.len..(r + 1) * p.len];
        let out = &mut y[r * p.len..(r + 1) * p.len];
        let max = row.iter().copied().max().unwrap_or(0) as i32;
        let mut sum: i32 = 0;
        for &v in row {
            let diff = v as i32 - max;
            if diff >= p.diff_min {
                let e = exp_of_difference(&p, diff);
                sum = sum.wrapping_add(saturating_rounding_multiply_by_pot(
                    e,
                    -ACCUMULATION_INTEGER_BITS,
                ));
            }
        }
        let (scale, bits_over_unit) = reciprocal(sum, ACCUMULATION_INTEGER_BITS);
        let exponent = bits_over_unit + 31 - 8;
        for (o, &v) in out.iter_mut().zip(row) {
            let diff = v as i32 - max;
            *o = if diff >= p.diff_min {
                let e = exp_of_difference(&p, diff);
                p.output(saturating_rounding_doubling_high_mul(scale, e), exponent)
            } else {
                p.output(0, exponent)
            };
        }
    }
}

/// The iteration space of a binary op with broadcasting: the output's shape (leading axes
/// padded with 1) and each operand's stride along each axis, in elements (0 where it is
/// broadcast). The back end merges adjacent axes first, so most ops have one or two.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Broadcast {
    pub shape: [usize; MAX_RANK],
    pub a_strides: [usize; MAX_RANK],
    pub b_strides: [usize; MAX_RANK],
}

/// Calls `visit(out, a, b)` with the element offsets of every output element, in order.
#[inline(always)]
fn for_each_pair(s: &Broadcast, mut visit: impl FnMut(usize, usize, usize)) {
    let [n0, n1, n2, n3, n4, n5] = s.shape;
    let (sa, sb) = (s.a_strides, s.b_strides);
    let mut out = 0;
    for i0 in 0..n0 {
        for i1 in 0..n1 {
            for i2 in 0..n2 {
                for i3 in 0..n3 {
                    for i4 in 0..n4 {
                        let a =
                            i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3] + i4 * sa[4];
                        let b =
                            i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3] + i4 * sb[4];
                        for i5 in 0..n5 {
                            visit(out, a + i5 * sa[5], b + i5 * sb[5]);
                            out += 1;
                        }
                    }
                }
            }
        }
    }
}

/// [`add_i8`] with broadcasting.
#[inline(always)]
pub fn add_i8_broadcast(p: AddI8, s: Broadcast, a: &[i8], b: &[i8], y: &mut [i8]) {
    for_each_pair(&s, |o, i, j| y[o] = p.apply(a[i], b[j]));
}

/// [`add_i8_broadcast`] writing over its first input (which has the output's shape).
#[inline(always)]
pub fn add_i8_broadcast_in_place(p: AddI8, s: Broadcast, y: &mut [i8], b: &[i8]) {
    for_each_pair(&s, |o, _, j| y[o] = p.apply(y[o], b[j]));
}

/// The int8 `Mul` of TFLite: `(a − z_a)(b − z_b)` requantized with one multiplier (which may
/// exceed one: a positive shift).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MulI8 {
    pub a_offset: i32,
    pub b_offset: i32,
    pub multiplier: i32,
    pub shift: i32,
    pub output_zero_point: i32,
    pub output_min: i32,
    pub output_max: i32,
}

impl MulI8 {
    #[inline(always)]
    pub fn apply(&self, a: i8, b: i8) -> i8 {
        let product = (a as i32 + self.a_offset) * (b as i32 + self.b_offset);
        requantize(
            product,
            self.multiplier,
            self.shift,
            self.output_zero_point,
            self.output_min,
            self.output_max,
        ) as i8
    }
}

/// `y = a · b` with broadcasting.
#[inline(always)]
pub fn mul_i8(p: MulI8, s: Broadcast, a: &[i8], b: &[i8], y: &mut [i8]) {
    for_each_pair(&s, |o, i, j| y[o] = p.apply(a[i], b[j]));
}

/// [`mul_i8`] writing over its first input (which has the output's shape).
#[inline(always)]
pub fn mul_i8_in_place(p: MulI8, s: Broadcast, y: &mut [i8], b: &[i8]) {
    for_each_pair(&s, |o, _, j| y[o] = p.apply(y[o], b[j]));
}

/// Requantization of each element to another scale and zero point, clamped to
/// `[output_min, output_max]`: TFLite's int8 `QUANTIZE` (int8 to int8, full range) and `RELU`,
/// `RELU6`, `RELU_N1_TO_1` (the clamp is the activation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RequantizeI8 {
    pub input_zero_point: i32,
    pub multiplier: i32,
    pub shift: i32,
    pub output_zero_point: i32,
    pub output_min: i32,
    pub output_max: i32,
}

impl RequantizeI8 {
    #[inline(always)]
    pub fn apply(&self, x: i8) -> i8 {
        requantize(
            x as i32 - self.input_zero_point,
            self.multiplier,
            self.shift,
            self.output_zero_point,
            self.output_min,
            self.output_max,
        ) as i8
    }
}

#[inline(always)]
pub fn requantize_i8(p: RequantizeI8, x: &[i8], y: &mut [i8]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = p.apply(v);
    }
}

#[inline(always)]
pub fn requantize_i8_in_place(p: RequantizeI8, y: &mut [i8]) {
    for o in y.iter_mut() {
        *o = p.apply(*o);
    }
}

/// The int8 leaky ReLU of TFLite: non-negative inputs (after the zero point) are rescaled by
/// `s_in / s_out`, negative ones by `alpha · s_in / s_out`; a negative `alpha` has its
/// multiplier negated and the product's sign flipped, since a Q31 multiplier is positive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyReluI8 {
    pub input_zero_point: i32,
    pub identity_multiplier: i32,
    pub identity_shift: i32,
    pub alpha_multiplier: i32,
    pub alpha_shift: i32,
    pub output_zero_point: i32,
}

impl LeakyReluI8 {
    #[inline(always)]
    pub fn apply(&self, x: i8) -> i8 {
        let v = x as i32 - self.input_zero_point;
        let scaled = if v >= 0 {
            multiply_by_quantized_multiplier(
                v,
                self.identity_multiplier,
                self.identity_shift,
            )
        } else if self.alpha_multiplier < 0 {
            -multiply_by_quantized_multiplier(v, -self.alpha_multiplier, self.alpha_shift)
        } else {
            multiply_by_quantized_multiplier(v, self.alpha_multiplier, self.alpha_shift)
        };
        (scaled + self.output_zero_point).clamp(-128, 127) as i8
    }
}

#[inline(always)]
pub fn leaky_relu_i8(p: LeakyReluI8, x: &[i8], y: &mut [i8]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = p.apply(v);
    }
}

#[inline(always)]
pub fn leaky_relu_i8_in_place(p: LeakyReluI8, y: &mut [i8]) {
    for o in y.iter_mut() {
        *o = p.apply(*o);
    }
}

/// The int8 PReLU of TFLite: non-negative inputs are rescaled by `s_in / s_out`, negative ones
/// multiplied by their (int8, broadcast) slope and rescaled by `s_in · s_alpha / s_out`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PReluI8 {
    pub input_zero_point: i32,
    pub alpha_zero_point: i32,
    pub identity_multiplier: i32,
    pub identity_shift: i32,
    pub alpha_multiplier: i32,
    pub alpha_shift: i32,
    pub output_zero_point: i32,
}

impl PReluI8 {
    #[inline(always)]
    pub fn apply(&self, x: i8, alpha: i8) -> i8 {
        let v = x as i32 - self.input_zero_point;
        let scaled = if v >= 0 {
            multiply_by_quantized_multiplier(
                v,
                self.identity_multiplier,
                self.identity_shift,
            )
        } else {
            multiply_by_quantized_multiplier(
                v * (alpha as i32 - self.alpha_zero_point),
                self.alpha_multiplier,
                self.alpha_shift,
            )
        };
        (scaled + self.output_zero_point).clamp(-128, 127) as i8
    }
}

/// `y = prelu(x, alpha)`, the slope broadcast to `x`'s shape.
#[inline(always)]
pub fn prelu_i8(p: PReluI8, s: Broadcast, x: &[i8], alpha: &[i8], y: &mut [i8]) {
    for_each_pair(&s, |o, i, j| y[o] = p.apply(x[i], alpha[j]));
}

#[inline(always)]
pub fn prelu_i8_in_place(p: PReluI8, s: Broadcast, y: &mut [i8], alpha: &[i8]) {
    for_each_pair(&s, |o, _, j| y[o] = p.apply(y[o], alpha[j]));
}

/// `a · b / 2^15` rounded to nearest (ties towards +∞), saturated: the 16-bit
/// `SaturatingRoundingDoublingHighMul` of gemmlowp.
#[inline(always)]
fn saturating_rounding_doubling_high_mul_i16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    let product = a as i32 * b as i32;
    let nudge = if product >= 0 { 1 << 14 } else { 1 - (1 << 14) };
    ((product + nudge) / (1 << 15)) as i16
}

/// `a · b / 2^15` truncated towards zero, saturated (gemmlowp's `SaturatingDoublingHighMul`).
#[inline(always)]
fn saturating_doubling_high_mul_i16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    ((a as i32 * b as i32) / (1 << 15)) as i16
}

/// `v · 2^exponent` saturated to 16 bits.
#[inline(always)]
fn saturating_left_shift_i16(v: i16, exponent: i32) -> i16 {
    (v as i32 * (1 << exponent)).clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

/// The int8 hard swish of TFLite, `x · relu6(x + 3) / 6`, in 16-bit fixed point: the input
/// (times 128) is rescaled once to the output scale and once to a "reluish" value in
/// `[-3, 3]` with scale 3/2^15, which is mapped to `[0, 1]` and multiplies the former.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HardSwishI8 {
    pub input_zero_point: i32,
    pub output_zero_point: i32,
    /// `s_in / 128 / s_out` as a Q15 multiplier and a shift (at most 0).
    pub output_multiplier: i16,
    pub output_shift: i32,
    /// `s_in / 128 / (3 / 2^15)` as a Q15 multiplier and a shift.
    pub reluish_multiplier: i16,
    pub reluish_shift: i32,
}

impl HardSwishI8 {
    #[inline(always)]
    pub fn apply(&self, x: i8) -> i8 {
        let input = (x as i32 - self.input_zero_point) as i16;
        let high_resolution = input.wrapping_mul(128);
        let preshift_output = saturating_rounding_doubling_high_mul_i16(
            high_resolution,
            self.output_multiplier,
        );
        let mut reluish = high_resolution;
        if self.reluish_shift > 0 {
            reluish = saturating_left_shift_i16(reluish, self.reluish_shift - 1);
        }
        reluish =
            saturating_rounding_doubling_high_mul_i16(reluish, self.reluish_multiplier);
        if self.reluish_shift > 0 {
            reluish = saturating_left_shift_i16(reluish, 1);
        }
        if self.reluish_shift < 0 {
            reluish = rounding_divide_by_pot(reluish as i32, -self.reluish_shift) as i16;
        }
        // From [-1, 1] in Q15 to [0, 1].
        let reluish = ((reluish as i32 + (1 << 15)) >> 1) as i16;
        let preshift = saturating_doubling_high_mul_i16(reluish, preshift_output);
        let output = (rounding_divide_by_pot(preshift as i32, -self.output_shift)
            + self.output_zero_point) as i16;
        (output as i32).clamp(-128, 127) as i8
    }
}

#[inline(always)]
pub fn hard_swish_i8(p: HardSwishI8, x: &[i8], y: &mut [i8]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = p.apply(v);
    }
}

#[inline(always)]
pub fn hard_swish_i8_in_place(p: HardSwishI8, y: &mut [i8]) {
    for o in y.iter_mut() {
        *o = p.apply(*o);
    }
}

/// `y = table[x]`: any function of one int8 value (TFLite's int8 `LOGISTIC` and `TANH`),
/// tabulated at compile time. The table is indexed by `x + 128`.
#[inline(always)]
pub fn lookup_i8(table: &[i8], x: &[i8], y: &mut [i8]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = table[(v as i32 + 128) as usize];
    }
}

#[inline(always)]
pub fn lookup_i8_in_place(table: &[i8], y: &mut [i8]) {
    for o in y.iter_mut() {
        *o = table[(*o as i32 + 128) as usize];
    }
}

/// Float to int8 (TFLite's `QUANTIZE`): `round(x / scale) + zero_point`, rounded half away from
/// zero and saturated to int8.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantizeI8 {
    pub scale: f32,
    pub zero_point: i32,
}

impl QuantizeI8 {
    #[inline(always)]
    pub fn apply(&self, x: f32) -> i8 {
        let t = x / self.scale;
        // TFLite converts with a C cast, which on x86 gives i32::MIN for NaN and for quotients
        // outside the i32 range (then adds the zero point with wrapping); the same here, so
        // that huge inputs give the interpreter's bytes.
        let rounded = if (-2_147_483_648.0..2_147_483_648.0).contains(&t) {
            round_half_away(t as f64)
        } else {
            i32::MIN
        };
        rounded.wrapping_add(self.zero_point).clamp(-128, 127) as i8
    }
}

#[inline(always)]
pub fn quantize_i8(p: QuantizeI8, x: &[f32], y: &mut [i8]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = p.apply(v);
    }
}

/// Int8 to float (TFLite's `DEQUANTIZE`): `scale · (q − zero_point)`. The single-precision
/// product of two exact values is TFLite's double product rounded to float.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DequantizeI8 {
    pub scale: f32,
    pub zero_point: i32,
}

impl DequantizeI8 {
    #[inline(always)]
    pub fn apply(&self, q: i8) -> f32 {
        self.scale * (q as i32 - self.zero_point) as f32
    }
}

#[inline(always)]
pub fn dequantize_i8(p: DequantizeI8, x: &[i8], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = p.apply(v);
    }
}

/// The int8 mean of TFLite over `len` values of stride `inner`, for each of `outer · inner`
/// outputs: the raw sum less `len` zero points, rescaled by `s_in / (s_out · len)` (the
/// division by `len` folded into the multiplier at compile time).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanI8 {
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
    pub input_zero_point: i32,
    pub multiplier: i32,
    pub shift: i32,
    pub output_zero_point: i32,
    /// Round the rescaled sum once rather than twice (see `nhwc::ConvQuant`).
    pub single_rounding: bool,
}

impl MeanI8 {
    /// The output of the raw sum of `len` inputs.
    #[inline(always)]
    pub fn apply(&self, sum: i32) -> i8 {
        let acc = sum.wrapping_sub(self.input_zero_point.wrapping_mul(self.len as i32));
        let requantize = if self.single_rounding {
            super::quant::requantize_once
        } else {
            requantize
        };
        requantize(
            acc,
            self.multiplier,
            self.shift,
            self.output_zero_point,
            -128,
            127,
        ) as i8
    }
}

#[inline(always)]
pub fn mean_i8(p: MeanI8, x: &[i8], y: &mut [i8]) {
    for o in 0..p.outer {
        for i in 0..p.inner {
            let mut sum: i32 = 0;
            for k in 0..p.len {
                sum = sum.wrapping_add(x[(o * p.len + k) * p.inner + i] as i32);
            }
            y[o * p.inner + i] = p.apply(sum);
        }
    }
}

/// Constant padding of an int8 tensor of up to [`MAX_RANK`] axes (leading axes padded with
/// 1): the input bytes unchanged, `value` around them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PadI8 {
    pub in_shape: [usize; MAX_RANK],
    pub out_shape: [usize; MAX_RANK],
    pub pads_begin: [usize; MAX_RANK],
    pub value: i8,
}

#[inline(always)]
pub fn pad_i8(p: PadI8, x: &[i8], y: &mut [i8]) {
    for o in y.iter_mut() {
        *o = p.value;
    }
    let [n0, n1, n2, n3, n4, n5] = p.in_shape;
    let (b, s) = (p.pads_begin, p.out_shape);
    let mut src = 0;
    for i0 in 0..n0 {
        for i1 in 0..n1 {
            for i2 in 0..n2 {
                for i3 in 0..n3 {
                    for i4 in 0..n4 {
                        let row = (((((i0 + b[0]) * s[1] + i1 + b[1]) * s[2] + i2 + b[2])
                            * s[3]
                            + i3
                            + b[3])
                            * s[4]
                            + i4
                            + b[4])
                            * s[5]
                            + b[5];
                        y[row..row + n5].copy_from_slice(&x[src..src + n5]);
                        src += n5;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::eval::int8::{self as reference, Operand};
    use crate::ir::{Activation, DType, Quantization, TensorData};
    use crate::kernels::test_support::floats;
    use proptest::prelude::*;

    fn bytes(seed: u64, n: usize) -> Vec<i8> {
        floats(seed, n).iter().map(|v| (v * 127.0) as i8).collect()
    }

    /// The uncoalesced iteration space of `a` and `b` broadcast to `out` (rank at most 6).
    fn broadcast(a: &[usize], b: &[usize], out: &[usize]) -> Broadcast {
        let pad = |v: Vec<usize>, fill: usize| {
            let mut full = vec![fill; MAX_RANK - v.len()];
            full.extend(v);
            <[usize; MAX_RANK]>::try_from(full).unwrap()
        };
        Broadcast {
            shape: pad(out.to_vec(), 1),
            a_strides: pad(crate::ir::shape::broadcast_strides(a, out), 0),
            b_strides: pad(crate::ir::shape::broadcast_strides(b, out), 0),
        }
    }

    /// Two shapes that broadcast: `out` with some axes of each operand set to 1.
    fn broadcast_shapes(
        dims: &[usize],
        a_ones: u8,
        b_ones: u8,
    ) -> (Vec<usize>, Vec<usize>) {
        let ones = |mask: u8| -> Vec<usize> {
            dims.iter()
                .enumerate()
                .map(|(d, &n)| if mask >> d & 1 == 1 { 1 } else { n })
                .collect()
        };
        (ones(a_ones), ones(b_ones))
    }

    #[test]
    fn quantize_rounds_ties_away_and_wraps_huge_values_like_tflite_on_x86() {
        let p = QuantizeI8 {
            scale: 0.5,
            zero_point: 0,
        };
        let q: Vec<i8> = [0.25, -0.25, 0.75, 63.0, 64.0, -70.0]
            .iter()
            .map(|&v| p.apply(v))
            .collect();
        assert_eq!(q, [1, -1, 2, 126, 127, -128]);
        // Quotients outside the i32 range (and NaN) become i32::MIN before the zero point is
        // added with wrapping: -128 with a non-negative zero point, 127 with a negative one.
        assert_eq!(p.apply(1e12), -128);
        let p = QuantizeI8 {
            scale: 0.5,
            zero_point: -61,
        };
        assert_eq!([p.apply(1e12), p.apply(-1e12), p.apply(f32::NAN)], [127; 3]);
    }

    /// The evaluator's output of an int8 fully connected layer `[m, k] × [n, k]ᵀ` with input
    /// parameters (0.04, -5), weights `wq` and output (0.2, 9), and the kernel's parameters.
    fn fully_connected_case(
        (m, k, n): (usize, usize, usize),
        a: &[i8],
        b: &[i8],
        bias: &[i32],
        wq: &Quantization,
        relu: bool,
    ) -> (FullyConnectedI8, TensorData) {
        let (xq, yq) = (
            Quantization::per_tensor(0.04, -5),
            Quantization::per_tensor(0.2, 9),
        );
        let act = if relu {
            Activation::Relu
        } else {
            Activation::None
        };
        let av = Value::new(vec![m, k], TensorData::I8(a.to_vec()));
        let bv = Value::new(vec![n, k], TensorData::I8(b.to_vec()));
        let bias_value = Value::new(vec![n], TensorData::I32(bias.to_vec()));
        let expected = reference::fully_connected(
            Operand {
                value: &av,
                quant: &xq,
            },
            Operand {
                value: &bv,
                quant: wq,
            },
            Some(&bias_value),
            &yq,
            &[m, n],
            act,
        )
        .unwrap();
        let (min, max) = crate::quant::activation_range(act, 0.2, 9, DType::I8).unwrap();
        let p = FullyConnectedI8 {
            m,
            k,
            n,
            input_scale: 0.04,
            output_scale: 0.2,
            input_zero_point: -5,
            weight_zero_point: 0,
            output_zero_point: 9,
            output_min: min,
            output_max: max,
        };
        (p, expected)
    }

    proptest! {
        #[test]
        fn fully_connected_matches_the_evaluator(
            m in 1..4usize, k in 1..40usize, n in 1..9usize, seed in any::<u64>(),
            per_channel in any::<bool>(), relu in any::<bool>(),
        ) {
            let (a, b) = (bytes(seed, m * k), bytes(seed ^ 1, n * k));
            let bias: Vec<i32> = bytes(seed ^ 2, n).iter().map(|&v| v as i32 * 37).collect();
            let wq = if per_channel {
                Quantization { scale: (0..n).map(|j| 0.01 + 0.003 * j as f32).collect(), zero_point: vec![0; n], axis: 0, int4: false }
            } else {
                Quantization::per_tensor(0.02, 0)
            };
            let (p, expected) = fully_connected_case((m, k, n), &a, &b, &bias, &wq, relu);
            let mut y = vec![0i8; m * n];
            fully_connected_i8(p, &a, &b, &bias, &wq.scale, &mut y);
            prop_assert_eq!(TensorData::I8(y), expected);
        }

        /// 4-bit weights packed per output row; odd `k` leaves the last byte of each row half
        /// used.
        #[test]
        fn fully_connected_with_int4_weights_matches_the_evaluator(
            m in 1..4usize, k in 1..40usize, n in 1..9usize, seed in any::<u64>(),
            relu in any::<bool>(),
        ) {
            let a = bytes(seed, m * k);
            let b: Vec<i8> = bytes(seed ^ 1, n * k).iter().map(|&v| v >> 4).collect();
            let bias: Vec<i32> = bytes(seed ^ 2, n).iter().map(|&v| v as i32 * 37).collect();
            let wq = Quantization {
                scale: (0..n).map(|j| 0.1 + 0.03 * j as f32).collect(),
                zero_point: vec![0; n],
                axis: 0,
                int4: true,
            };
            let (p, expected) = fully_connected_case((m, k, n), &a, &b, &bias, &wq, relu);
            let packed = crate::quant::pack_int4_rows(&b, k);
            prop_assert_eq!(packed.len(), n * k.div_ceil(2));
            let mut y = vec![0i8; m * n];
            fully_connected_i8_int4_weights(p, &a, &packed, &bias, &wq.scale, &mut y);
            prop_assert_eq!(TensorData::I8(y), expected);
        }

        #[test]
        fn add_matches_the_evaluator(
            len in 1..50usize, seed in any::<u64>(), subtract in any::<bool>(),
            sa in 0.01f32..1.0, sb in 0.01f32..1.0, sy in 0.02f32..2.0,
        ) {
            let (a, b) = (bytes(seed, len), bytes(seed ^ 1, len));
            let (qa, qb, qy) = (Quantization::per_tensor(sa, 3), Quantization::per_tensor(sb, -20), Quantization::per_tensor(sy, 1));
            let (av, bv) = (Value::new(vec![len], TensorData::I8(a.clone())), Value::new(vec![len], TensorData::I8(b.clone())));
            let expected = reference::add(
                Operand { value: &av, quant: &qa }, Operand { value: &bv, quant: &qb },
                &qy, &[len], subtract, Activation::None,
            ).unwrap();
            let p = crate::quant::add_params((sa, 3), (sb, -20), (sy, 1), subtract, (-128, 127));
            let mut y = vec![0i8; len];
            add_i8(p, &a, &b, &mut y);
            prop_assert_eq!(TensorData::I8(y.clone()), expected);
            let mut z = a.clone();
            add_i8_in_place(p, &mut z, &b);
            prop_assert_eq!(z, y);
        }

        #[test]
        fn broadcast_binary_ops_match_the_evaluator(
            dims in proptest::collection::vec(1..5usize, 1..5), a_ones in any::<u8>(),
            b_ones in any::<u8>(), seed in any::<u64>(), sa in 0.01f32..1.0, sb in 0.01f32..1.0,
            sy in 0.005f32..2.0, za in -128..128i32, zb in -128..128i32, zy in -128..128i32,
        ) {
            let (a_shape, b_shape) = broadcast_shapes(&dims, a_ones, b_ones);
            let s = broadcast(&a_shape, &b_shape, &dims);
            let a = bytes(seed, a_shape.iter().product());
            let b = bytes(seed ^ 1, b_shape.iter().product());
            let (qa, qb, qy) = (
                Quantization::per_tensor(sa, za),
                Quantization::per_tensor(sb, zb),
                Quantization::per_tensor(sy, zy),
            );
            let av = Value::new(a_shape.clone(), TensorData::I8(a.clone()));
            let bv = Value::new(b_shape.clone(), TensorData::I8(b.clone()));
            let (oa, ob) = (Operand { value: &av, quant: &qa }, Operand { value: &bv, quant: &qb });
            let n: usize = dims.iter().product();
            let in_place_a = (a_shape == dims).then(|| a.clone());

            let expected = reference::mul(oa, ob, &qy, &dims, Activation::None).unwrap();
            let p = crate::quant::mul_params((sa, za), (sb, zb), (sy, zy), (-128, 127));
            let mut y = vec![0i8; n];
            mul_i8(p, s, &a, &b, &mut y);
            prop_assert_eq!(TensorData::I8(y.clone()), expected);
            if let Some(mut z) = in_place_a.clone() {
                mul_i8_in_place(p, s, &mut z, &b);
                prop_assert_eq!(&z, &y);
            }

            // 2 · max(s_a, s_b) / (2^20 · s_y) must stay below one for TFLite's Add.
            if 2.0 * sa.max(sb) < sy * (1 << 20) as f32 {
                let expected = reference::add(oa, ob, &qy, &dims, false, Activation::None).unwrap();
                let p = crate::quant::add_params((sa, za), (sb, zb), (sy, zy), false, (-128, 127));
                let mut y = vec![0i8; n];
                add_i8_broadcast(p, s, &a, &b, &mut y);
                prop_assert_eq!(TensorData::I8(y.clone()), expected);
                if let Some(mut z) = in_place_a.clone() {
                    add_i8_broadcast_in_place(p, s, &mut z, &b);
                    prop_assert_eq!(&z, &y);
                }
            }

            // PRelu broadcasts its slope to the input's shape.
            let s = broadcast(&dims, &b_shape, &dims);
            let x = bytes(seed ^ 2, n);
            let xv = Value::new(dims.clone(), TensorData::I8(x.clone()));
            let expected = reference::prelu(Operand { value: &xv, quant: &qa }, ob, &qy).unwrap();
            let p = crate::quant::prelu_params((sa, za), (sb, zb), (sy, zy));
            let mut y = vec![0i8; n];
            prelu_i8(p, s, &x, &b, &mut y);
            prop_assert_eq!(TensorData::I8(y.clone()), expected);
            let mut z = x.clone();
            prelu_i8_in_place(p, s, &mut z, &b);
            prop_assert_eq!(z, y);
        }

        #[test]
        fn mean_matches_the_evaluator(
            dims in proptest::collection::vec(1..7usize, 1..5), first in 0..4usize,
            count in 1..4usize, seed in any::<u64>(), sx in 0.005f32..0.5, sy in 0.005f32..0.5,
            zx in -128..128i32, zy in -128..128i32,
        ) {
            let rank = dims.len();
            let first = first.min(rank - 1);
            let axes: Vec<usize> = (first..(first + count).min(rank)).collect();
            let x = bytes(seed, dims.iter().product());
            let (qx, qy) = (Quantization::per_tensor(sx, zx), Quantization::per_tensor(sy, zy));
            let xv = Value::new(dims.clone(), TensorData::I8(x.clone()));
            let outer: usize = dims[..axes[0]].iter().product();
            let len: usize = axes.iter().map(|&d| dims[d]).product();
            let inner: usize = dims[axes[axes.len() - 1] + 1..].iter().product();
            for rounding in [crate::ir::Rounding::Double, crate::ir::Rounding::Single] {
                let x_operand = Operand { value: &xv, quant: &qx };
                let expected = reference::mean(x_operand, &qy, &axes, rounding).unwrap();
                let single = rounding == crate::ir::Rounding::Single;
                let p = crate::quant::mean_params((sx, zx), (sy, zy), (outer, len, inner), single);
                let mut y = vec![0i8; outer * inner];
                mean_i8(p, &x, &mut y);
                prop_assert_eq!(TensorData::I8(y), expected);
            }
        }

        #[test]
        fn element_wise_kernels_match_apply_and_run_in_place(
            len in 1..300usize, seed in any::<u64>(), sx in 0.002f32..0.3, sy in 0.002f32..0.3,
            zx in -128..128i32, zy in -128..128i32, alpha in -2.0f32..2.0,
        ) {
            let x = bytes(seed, len);
            let check = |y: &[i8], z: &[i8], f: &dyn Fn(i8) -> i8| {
                let expected: Vec<i8> = x.iter().map(|&v| f(v)).collect();
                y == expected.as_slice() && z == expected.as_slice()
            };
            let (mut y, mut z) = (vec![0i8; len], x.clone());
            let p = crate::quant::requantize_params((sx, zx), (sy, zy));
            requantize_i8(p, &x, &mut y);
            requantize_i8_in_place(p, &mut z);
            prop_assert!(check(&y, &z, &|v| p.apply(v)));
            let (mut y, mut z) = (vec![0i8; len], x.clone());
            let p = crate::quant::leaky_relu_params((sx, zx), alpha, (sy, zy));
            leaky_relu_i8(p, &x, &mut y);
            leaky_relu_i8_in_place(p, &mut z);
            prop_assert!(check(&y, &z, &|v| p.apply(v)));
            if let Ok(p) = crate::quant::hard_swish_params((sx, zx), (sy, zy)) {
                let (mut y, mut z) = (vec![0i8; len], x.clone());
                hard_swish_i8(p, &x, &mut y);
                hard_swish_i8_in_place(p, &mut z);
                prop_assert!(check(&y, &z, &|v| p.apply(v)));
            }
            let table = crate::quant::tanh_table((sx, zx), (sy, zy));
            let (mut y, mut z) = (vec![0i8; len], x.clone());
            lookup_i8(&table, &x, &mut y);
            lookup_i8_in_place(&table, &mut z);
            prop_assert!(check(&y, &z, &|v| table[(v as i32 + 128) as usize]));
        }

        /// The int8 activations stay within one or two steps of the float functions they
        /// approximate (a check of the fixed-point arithmetic independent of TFLite).
        #[test]
        fn int8_activations_approximate_the_float_functions(
            sx in 0.005f32..0.1, sy in 0.01f32..0.1, zx in -100..100i32, zy in -100..100i32,
            alpha in -1.5f32..1.5,
        ) {
            let quantized = |q: i32, z: i32, s: f32| (q - z) as f32 * s;
            let (hard_swish, leaky) = (
                crate::quant::hard_swish_params((sx, zx), (sy, zy)).unwrap(),
                crate::quant::leaky_relu_params((sx, zx), alpha, (sy, zy)),
            );
            for v in -128..=127i8 {
                let real = quantized(v as i32, zx, sx);
                let within = |q: i8, exact: f32, steps: f32| {
                    let clamped = exact.clamp(quantized(-128, zy, sy), quantized(127, zy, sy));
                    (quantized(q as i32, zy, sy) - clamped).abs() <= steps * sy
                };
                let hs = real * (real + 3.0).clamp(0.0, 6.0) / 6.0;
                prop_assert!(within(hard_swish.apply(v), hs, 2.0), "hard swish of {}", real);
                let lr = if real >= 0.0 { real } else { alpha * real };
                prop_assert!(within(leaky.apply(v), lr, 1.0), "leaky relu of {}", real);
            }
        }
    }
}
