//! Compile-time quantization arithmetic: the integer parameters of quantized ops, derived from
//! the scales and zero points of their tensors exactly as TFLite derives them when it prepares
//! a model (same float/double types, same rounding), so that the kernels' integer arithmetic
//! gives the same bytes.
//!
//! Both the reference evaluator and the back ends call these functions: parameters are computed
//! once, at compile time, and stored as constants in the generated code (never at start-up).
//! The run-time half of the arithmetic is in [`crate::kernels::quant`].

use crate::ir::{Activation, DType, Quantization};
use crate::kernels::int8::{
    AddI8, HardSwishI8, LeakyReluI8, MeanI8, MulI8, PReluI8, RequantizeI8,
};

/// A real multiplier as a Q31 significand and a power-of-two exponent (TFLite's
/// `QuantizeMultiplier`): `real ≈ multiplier · 2^(shift − 31)`, `multiplier` in `[2^30, 2^31)`.
///
/// The significand is `round(frexp(real).0 · 2^31)` with ties away from zero; a significand
/// that rounds up to `2^31` is halved and the exponent raised. Multipliers below `2^-31` (which
/// would shift every bit out) become zero.
pub fn quantize_multiplier(real: f64) -> (i32, i32) {
    if real == 0.0 || !real.is_finite() {
        return (0, 0);
    }
    let (fraction, mut shift) = frexp(real);
    let mut q = (fraction * (1u64 << 31) as f64).round() as i64;
    if q == 1i64 << 31 {
        q /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    (q as i32, shift)
}

/// `(fraction, exponent)` with `x = fraction · 2^exponent` and `|fraction|` in `[0.5, 1)`.
fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    if exponent == 0 {
        // Subnormal: scale into the normal range first.
        let (f, e) = frexp(x * 2f64.powi(64));
        return (f, e - 64);
    }
    let fraction = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (fraction, exponent - 1022)
}

/// The per-tensor scale and zero point of a quantized tensor.
pub fn single(q: Option<&Quantization>, what: &str) -> Result<(f32, i32), String> {
    q.and_then(Quantization::single)
        .ok_or_else(|| format!("{what} needs per-tensor quantization parameters"))
}

/// The range `[min, max]` of quantized outputs a fused activation leaves, as TFLite's
/// `CalculateActivationRangeQuantized`: bounds are quantized with `zero_point + round(bound /
/// scale)` in single precision (ties away from zero) and intersected with the type's range.
pub fn activation_range(
    activation: Activation,
    scale: f32,
    zero_point: i32,
    dtype: DType,
) -> Result<(i32, i32), String> {
    let (type_min, type_max) = dtype.integer_range();
    let (type_min, type_max) = (type_min as i32, type_max as i32);
    // A tiny scale makes `x / scale` infinite, which `as` saturates to `i64::MAX`; the sum
    // saturates too, and the clamp below takes it to the type's range.
    let quantize =
        |x: f32| -> i64 { (zero_point as i64).saturating_add((x / scale).round() as i64) };
    let clamp = |v: i64| v.clamp(type_min as i64, type_max as i64) as i32;
    match activation {
        Activation::None => Ok((type_min, type_max)),
        Activation::Relu => Ok((clamp(quantize(0.0)), type_max)),
        Activation::Clip { min, max } => {
            let low = if min == f32::NEG_INFINITY {
                type_min
            } else {
                clamp(quantize(min))
            };
            let high = if max == f32::INFINITY {
                type_max
            } else {
                clamp(quantize(max))
            };
            Ok((low, high))
        }
        Activation::LeakyRelu { .. } => {
            Err("a fused LeakyRelu is not supported on quantized tensors".into())
        }
    }
}

/// Requantization of a convolution or fully connected layer: one `(multiplier, shift)` per
/// output channel, from `s_in · s_w[c] / s_out` in double precision (TFLite's
/// `PopulateConvolutionQuantizationParams`). Per-tensor weights give the same pair for every
/// channel.
pub fn channel_multipliers(
    input_scale: f32,
    weight: &Quantization,
    output_scale: f32,
    channels: usize,
) -> (Vec<i32>, Vec<i32>) {
    (0..channels)
        .map(|c| {
            let w = weight.scale[if weight.is_per_axis() { c } else { 0 }];
            quantize_multiplier(input_scale as f64 * w as f64 / output_scale as f64)
        })
        .unzip()
}

/// The constants of [`requantize_rounded`](crate::kernels::quant::requantize_rounded) for
/// per-channel `(multiplier, shift)` pairs: the rounding term's base and the term added for
/// negative accumulators. `None` unless every multiplier is positive and every shift in
/// `-22..=-2`, where the 64-bit sum cannot overflow and the zero point's term is one shift of a
/// word; such layers keep the two-step requantization.
pub fn requantize_roundings(
    multipliers: &[i32],
    shifts: &[i32],
    zero_point: i32,
    single_rounding: bool,
) -> Option<(i64, i64)> {
    let usable = multipliers.iter().all(|&m| m > 0)
        && shifts.iter().all(|&s| (-22..=-2).contains(&s))
        && (-256..=255).contains(&zero_point)
        && multipliers.len() == shifts.len();
    if !usable {
        return None;
    }
    Some(if single_rounding {
        (0, 0)
    } else {
        (1 << 30, -(1 << 31))
    })
}

/// The `(multiplier, shift)` of each channel that [`requantize_roundings`] cannot take (a
/// shift below −22 or in −1..=0, or a multiplier that is not positive) replaced, where the
/// channel's output is one value `c` over every accumulator it can reach (`acc_ranges`,
/// inclusive, one per channel), by a pair that gives `c` with the one-multiply requantization,
/// so that the layer can take it. Such channels have a tiny scale: TFLite's converter gives a
/// channel of zero weights a weight scale near 10^−9 and a bias near ±2^30, hence a shift of
/// −26 or less.
///
/// - `(2^30, −22)` where it gives `c` over the whole range;
/// - otherwise, for a channel of zero weights (a range of one accumulator) when
///   `may_set_accumulator`, `(2^30, −2)` (a scale of 1/8), and the returned `(channel, acc)`
///   asks the caller to make that channel's accumulator `8 · (c − zero_point)` instead (its
///   folded bias, which is the whole accumulator of a channel of zero weights).
///
/// TFLite's requantization without a left shift and the one-multiply one are both monotonic in
/// the accumulator, so equal values at the two ends of the range are the value throughout.
/// Channels whose output varies, or whose range does not fit in `i32`, stay as they are.
pub fn settle_constant_channels(
    multipliers: &mut [i32],
    shifts: &mut [i32],
    acc_ranges: &[(i64, i64)],
    zero_point: i32,
    (min, max): (i32, i32),
    single_rounding: bool,
    may_set_accumulator: bool,
) -> Vec<(usize, i32)> {
    use crate::kernels::quant::{requantize, requantize_once, requantize_rounded};
    const WIDE: (i32, i32) = (1 << 30, -22);
    const EIGHTH: (i32, i32) = (1 << 30, -2);
    let mut accumulators = Vec::new();
    let Some((base, negative)) =
        requantize_roundings(&[WIDE.0], &[WIDE.1], zero_point, single_rounding)
    else {
        return accumulators;
    };
    let new = |acc: i32, (multiplier, shift): (i32, i32)| {
        requantize_rounded(acc, multiplier, shift, zero_point, base, negative, min, max)
    };
    let channels = multipliers
        .iter_mut()
        .zip(shifts.iter_mut())
        .zip(acc_ranges);
    for (channel, ((multiplier, shift), &(lo, hi))) in channels.enumerate() {
        let usable =
            requantize_roundings(&[*multiplier], &[*shift], zero_point, single_rounding);
        // A left shift may wrap the accumulator: monotonic only without one.
        if usable.is_some() || *shift > 0 {
            continue;
        }
        let (Ok(lo), Ok(hi)) = (i32::try_from(lo), i32::try_from(hi)) else {
            continue;
        };
        let old = |acc: i32| {
            if single_rounding {
                requantize_once(acc, *multiplier, *shift, zero_point, min, max)
            } else {
                requantize(acc, *multiplier, *shift, zero_point, min, max)
            }
        };
        let c = old(lo);
        if lo > hi || old(hi) != c {
            continue;
        }
        if new(lo, WIDE) == c && new(hi, WIDE) == c {
            (*multiplier, *shift) = WIDE;
        } else if lo == hi && may_set_accumulator {
            let acc = 8 * (c - zero_point);
            if new(acc, EIGHTH) == c {
                (*multiplier, *shift) = EIGHTH;
                accumulators.push((channel, acc));
            }
        }
    }
    accumulators
}

/// The one-multiply requantization ([`requantize_rounded`](crate::kernels::quant::requantize_rounded))
/// of a quantized fully connected layer, in place of TFLite's double-precision `round(acc ·
/// scale)` (half away from zero, [`fully_connected_scales`]): per output channel a Q31
/// multiplier and a shift such that `multiplier · 2^(shift − 31)` is the scale, with no
/// rounding base and `−1` added for negative accumulators (ties away from zero). `acc_ranges` are the accumulators each channel can reach.
///
/// The integer result is the double one wherever the two step functions agree around each
/// step: both are monotonic and, with a scale below one half, step by one, so the channel is
/// checked by computing both, exactly as the kernels do, on the accumulators around every step
/// inside the output range `[min, max]` (those of the exact and of the integer factor). `None`
/// when a scale is not below one half, or a step is off by more than the few accumulators
/// checked: the layer keeps the double-precision requantization.
pub fn fully_connected_multipliers(
    scales: &[f64],
    zero_point: i32,
    min: i32,
    max: i32,
    acc_ranges: &[(i64, i64)],
) -> Option<(Vec<i32>, Vec<i32>)> {
    use crate::kernels::quant::{requantize_rounded, round_half_away};
    const NEGATIVE: i64 = -1;
    let mut out = (Vec::new(), Vec::new());
    for (&scale, &(lo, hi)) in scales.iter().zip(acc_ranges) {
        if !(scale > 0.0 && scale < 0.5) || lo < i32::MIN as i64 || hi > i32::MAX as i64 {
            return None;
        }
        let (multiplier, shift) = quantize_multiplier(scale);
        if !(-22..=-2).contains(&shift) || multiplier <= 0 {
            return None;
        }
        let total = 31 - shift;
        let exact = |acc: i32| {
            round_half_away(acc as f64 * scale)
                .saturating_add(zero_point)
                .clamp(min, max)
        };
        let fixed = |acc: i32| {
            requantize_rounded(acc, multiplier, shift, zero_point, 0, NEGATIVE, min, max)
        };
        let factor = multiplier as f64 / 2f64.powi(total);
        for v in (min - zero_point - 1)..=(max - zero_point) {
            let half = v as f64 + 0.5;
            let (a, b) = (half / scale, half / factor);
            let (from, to) = (a.min(b).floor() as i64 - 2, a.max(b).ceil() as i64 + 2);
            if to < lo || from > hi {
                continue;
            }
            if to - from > 64 {
                return None;
            }
            let (from, to) = (from.max(lo), to.min(hi));
            if (from..=to).any(|acc| exact(acc as i32) != fixed(acc as i32)) {
                return None;
            }
        }
        out.0.push(multiplier);
        out.1.push(shift);
    }
    Some(out)
}

/// The double-precision output scales of a quantized fully connected layer, one per output
/// channel: `s_in · s_w[c] / s_out`. TFLite's reference `FULLY_CONNECTED` kernel (since LiteRT
/// 2.x) requantizes with `round(acc · scale)` in double precision instead of the fixed-point
/// multiplier, so the generated code does the same to give the same bytes (computing each
/// factor from the `f32` scales at run time with the same function).
pub fn fully_connected_scales(
    input_scale: f32,
    weight: &Quantization,
    output_scale: f32,
    channels: usize,
) -> Vec<f64> {
    (0..channels)
        .map(|c| {
            let w = weight.scale[if weight.is_per_axis() { c } else { 0 }];
            crate::kernels::int8::fully_connected_scale(input_scale, w, output_scale)
        })
        .collect()
}

/// The kernel parameters of a quantized element-wise `Add`/`Sub` (TFLite's int8 scheme) from
/// the three tensors' per-tensor `(scale, zero_point)` and the output clamp range: both inputs
/// are shifted left by 20 bits, rescaled to twice the larger input scale, summed, and the sum
/// rescaled to the output.
pub fn add_params(
    a: (f32, i32),
    b: (f32, i32),
    y: (f32, i32),
    subtract: bool,
    (output_min, output_max): (i32, i32),
) -> AddI8 {
    let left_shift = 20;
    // 2 · max(s_a, s_b) is exact in single precision; the quotients are taken in double.
    let twice_max = (2.0 * a.0.max(b.0)) as f64;
    let (a_multiplier, a_shift) = quantize_multiplier(a.0 as f64 / twice_max);
    let (b_multiplier, b_shift) = quantize_multiplier(b.0 as f64 / twice_max);
    let (output_multiplier, output_shift) =
        quantize_multiplier(twice_max / ((1i64 << left_shift) as f32 * y.0) as f64);
    AddI8 {
        subtract,
        left_shift,
        a_offset: -a.1,
        a_multiplier,
        a_shift,
        b_offset: -b.1,
        b_multiplier,
        b_shift,
        output_multiplier,
        output_shift,
        output_zero_point: y.1,
        output_min,
        output_max,
    }
}

/// The parameters of the int8 softmax (TFLite's `PreprocessSoftmaxScaling` and
/// `CalculateInputRadius` with 5 integer bits): `(input_multiplier, input_left_shift,
/// diff_min)`.
pub fn softmax_params(beta: f32, input_scale: f32) -> (i32, i32, i32) {
    const INTEGER_BITS: i32 = 5;
    let real = (beta as f64 * input_scale as f64 * (1u64 << (31 - INTEGER_BITS)) as f64)
        .min(((1u64 << 31) - 1) as f64);
    let (multiplier, shift) = quantize_multiplier(real);
    let radius = ((1u64 << INTEGER_BITS) - 1) as f64 * (1u64 << (31 - INTEGER_BITS)) as f64
        / (1u64 << shift.max(0)) as f64;
    (multiplier, shift, -(radius.floor() as i32))
}

/// The output parameters of the int8 softmax (`rescale`, multiplier, shift, zero point) for
/// output quantization `y`: none for TFLite's (1/256, −128), else `1 / (256 · s_y)` as a Q31
/// multiplier and shift.
pub fn softmax_output(y: (f32, i32)) -> (bool, i32, i32, i32) {
    if y == (1.0 / 256.0, -128) {
        return (false, 0, 0, -128);
    }
    let (multiplier, shift) = quantize_multiplier(1.0 / (256.0 * y.0 as f64));
    (true, multiplier, shift, y.1)
}

/// The kernel parameters of a quantized `Mul`: one multiplier for `s_a · s_b / s_y`, which
/// TFLite computes in single precision (unlike the other ops' double-precision ratios).
pub fn mul_params(
    a: (f32, i32),
    b: (f32, i32),
    y: (f32, i32),
    (output_min, output_max): (i32, i32),
) -> MulI8 {
    let (multiplier, shift) = quantize_multiplier((a.0 * b.0 / y.0) as f64);
    MulI8 {
        a_offset: -a.1,
        b_offset: -b.1,
        multiplier,
        shift,
        output_zero_point: y.1,
        output_min,
        output_max,
    }
}

/// Requantization from `x` to `y` over the full int8 range (TFLite's int8-to-int8 `QUANTIZE`):
/// the ratio of the scales in double precision.
pub fn requantize_params(x: (f32, i32), y: (f32, i32)) -> RequantizeI8 {
    let (multiplier, shift) = quantize_multiplier(x.0 as f64 / y.0 as f64);
    RequantizeI8 {
        input_zero_point: x.1,
        multiplier,
        shift,
        output_zero_point: y.1,
        output_min: -128,
        output_max: 127,
    }
}

/// A quantized `Relu` or `Clip` (TFLite's `RELU`, `RELU6`, `RELU_N1_TO_1`): requantization
/// with the ratio of the scales in single precision, clamped to the bounds quantized as for a
/// fused activation ([`activation_range`]).
pub fn relu_params(
    x: (f32, i32),
    y: (f32, i32),
    min: f32,
    max: f32,
) -> Result<RequantizeI8, String> {
    let (multiplier, shift) = quantize_multiplier((x.0 / y.0) as f64);
    let (output_min, output_max) =
        activation_range(Activation::Clip { min, max }, y.0, y.1, DType::I8)?;
    Ok(RequantizeI8 {
        input_zero_point: x.1,
        multiplier,
        shift,
        output_zero_point: y.1,
        output_min,
        output_max,
    })
}

/// A quantized `LeakyRelu`: `s_in / s_out` and `s_in · alpha / s_out`, both in single
/// precision (the latter may be negative).
pub fn leaky_relu_params(x: (f32, i32), alpha: f32, y: (f32, i32)) -> LeakyReluI8 {
    let (identity_multiplier, identity_shift) = quantize_multiplier((x.0 / y.0) as f64);
    let (alpha_multiplier, alpha_shift) = quantize_multiplier((x.0 * alpha / y.0) as f64);
    LeakyReluI8 {
        input_zero_point: x.1,
        identity_multiplier,
        identity_shift,
        alpha_multiplier,
        alpha_shift,
        output_zero_point: y.1,
    }
}

/// A quantized `PRelu` with an int8 slope `alpha`: `s_in / s_out` and `s_in · s_alpha /
/// s_out`, in single precision.
pub fn prelu_params(x: (f32, i32), alpha: (f32, i32), y: (f32, i32)) -> PReluI8 {
    let (identity_multiplier, identity_shift) = quantize_multiplier((x.0 / y.0) as f64);
    let (alpha_multiplier, alpha_shift) = quantize_multiplier((x.0 * alpha.0 / y.0) as f64);
    PReluI8 {
        input_zero_point: x.1,
        alpha_zero_point: alpha.1,
        identity_multiplier,
        identity_shift,
        alpha_multiplier,
        alpha_shift,
        output_zero_point: y.1,
    }
}

/// A Q31 multiplier rounded to Q15 (TFLite's `DownScaleInt32ToInt16Multiplier`).
fn downscale_to_q15(multiplier: i32) -> i16 {
    if multiplier >= i32::MAX - (1 << 15) {
        return i16::MAX;
    }
    ((multiplier + (1 << 15)) >> 16) as i16
}

/// A quantized `HardSwish` (TFLite's `HardSwishPrepare`, all in single precision). Fails when
/// the output scale is so much smaller than the input's that the output multiplier exceeds
/// one, which TFLite refuses too.
pub fn hard_swish_params(x: (f32, i32), y: (f32, i32)) -> Result<HardSwishI8, String> {
    let high_resolution_scale = (1.0f32 / 128.0) * x.0;
    let reluish_scale = 3.0f32 / 32768.0;
    let (output_multiplier, output_shift) =
        quantize_multiplier((high_resolution_scale / y.0) as f64);
    if output_shift > 0 {
        return Err(format!(
            "a quantized HardSwish needs an output scale of at least 1/128 of the input's \
             ({} and {})",
            y.0, x.0
        ));
    }
    let (reluish_multiplier, reluish_shift) =
        quantize_multiplier((high_resolution_scale / reluish_scale) as f64);
    Ok(HardSwishI8 {
        input_zero_point: x.1,
        output_zero_point: y.1,
        output_multiplier: downscale_to_q15(output_multiplier),
        output_shift,
        reluish_multiplier: downscale_to_q15(reluish_multiplier),
        reluish_shift,
    })
}

/// The 256 outputs of an int8 op that computes `f` on the dequantized input, indexed by
/// `x + 128` (TFLite's `LUTPopulate` for int8 `LOGISTIC` and `TANH`): every step in single
/// precision, the result rounded half away from zero, offset and saturated.
pub fn lookup_table(x: (f32, i32), y: (f32, i32), f: impl Fn(f32) -> f32) -> Vec<i8> {
    let inverse_scale = 1.0f32 / y.0;
    (-128i32..=127)
        .map(|v| {
            let real = x.0 * (v - x.1) as f32;
            let rounded = (f(real) * inverse_scale).round();
            ((rounded + y.1 as f32) as i32).clamp(-128, 127) as i8
        })
        .collect()
}

/// The logistic function as TFLite's int8 table computes it: `1 / (1 + exp(−x))` in single
/// precision, with the platform's `expf`.
pub fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The table of a quantized `Sigmoid`. TFLite's converter gives it the output scale 1/256 (zero
/// point -128); the table serves any output quantization, such as the 1/255 of onnxruntime's
/// quantized models.
pub fn sigmoid_table(x: (f32, i32), y: (f32, i32)) -> Vec<i8> {
    lookup_table(x, y, sigmoid_f32)
}

/// The table of a quantized `Tanh` (single-precision `tanhf`).
pub fn tanh_table(x: (f32, i32), y: (f32, i32)) -> Vec<i8> {
    lookup_table(x, y, f32::tanh)
}

/// A quantized mean over `len` values (TFLite's `QuantizedMeanOrSum`): the multiplier of
/// `s_in / s_out` (double precision) divided by `len` in integers, after a left shift by up to
/// `floor(log2(len))` bits that the shift takes back, so that the quotient keeps its precision.
pub fn mean_params(
    x: (f32, i32),
    y: (f32, i32),
    (outer, len, inner): (usize, usize, usize),
    single_rounding: bool,
) -> MeanI8 {
    let (multiplier, shift) = quantize_multiplier(x.0 as f64 / y.0 as f64);
    let log2 = (usize::BITS - 1 - len.max(1).leading_zeros()) as i32;
    // TFLite would shift by a negative amount for a multiplier below 2^-31; none is left.
    let extra = log2.min(32).min(31 + shift).max(0);
    let divided = (((multiplier as i64) << extra) / len.max(1) as i64) as i32;
    MeanI8 {
        outer,
        len,
        inner,
        input_zero_point: x.1,
        multiplier: divided,
        shift: shift - extra,
        output_zero_point: y.1,
        single_rounding,
    }
}

/// 4-bit integers (one per `i8`, in `[-8, 7]`) packed two per byte, as generated code stores
/// the weights of `--quantize int4-weights`: the values come in rows of `row_len` (one row per
/// output channel), each row starts on a byte boundary, value `2j` of a row is the low nibble of
/// its byte `j` and value `2j + 1` the high nibble; a row of odd length ends with an unused high
/// nibble, left zero. Padding each row costs at most half a byte per output channel and lets a
/// kernel find a row by multiplication alone. [`crate::kernels::quant::int4_at`] reads them.
pub fn pack_int4_rows(values: &[i8], row_len: usize) -> Vec<u8> {
    if row_len == 0 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(values.len().div_ceil(row_len) * row_len.div_ceil(2));
    for row in values.chunks(row_len) {
        for pair in row.chunks(2) {
            let low = pair[0] as u8 & 0x0f;
            let high = pair.get(1).map_or(0, |&v| v as u8 & 0x0f);
            out.push(low | high << 4);
        }
    }
    out
}

/// The bytes [`pack_int4_rows`] makes of `values` values in rows of `row_len`.
pub fn packed_int4_len(values: usize, row_len: usize) -> usize {
    if row_len == 0 {
        0
    } else {
        values.div_ceil(row_len) * row_len.div_ceil(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_multipliers() {
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        assert_eq!(quantize_multiplier(0.0), (0, 0));
        assert_eq!(quantize_multiplier(1e-12), (0, 0));
        // A fraction that rounds up to 2^31 is renormalised.
        assert_eq!(quantize_multiplier(1.0 - 1e-12), (1 << 30, 1));
    }

    #[test]
    fn relu6_range_is_quantized_like_tflite() {
        let (lo, hi) = activation_range(
            Activation::Clip { min: 0.0, max: 6.0 },
            0.0235,
            -128,
            DType::I8,
        )
        .unwrap();
        assert_eq!((lo, hi), (-128, 127));
        let (lo, hi) = activation_range(Activation::Relu, 0.1, 5, DType::I8).unwrap();
        assert_eq!((lo, hi), (5, 127));
    }

    /// Channels of a tiny scale, as VWW's zero-weight channels have, are given pairs the
    /// one-multiply requantization takes; channels whose output varies, or that it already
    /// takes, or that shift left, keep theirs; a channel of zero weights is given an
    /// accumulator only when the caller may set one.
    #[test]
    fn constant_channels_take_the_one_multiply_requantization() {
        use crate::kernels::quant::{requantize, requantize_rounded};
        let old = [
            (1_320_764_593, -27),
            (1_171_292_447, -26),
            (1_404_029_393, -27),
            (1 << 30, -23),
            (1 << 30, -10),
            (1 << 30, 3),
        ];
        let ranges = [
            ((1 << 30) - 64, (1 << 30) - 64),
            (-(1 << 30), -(1 << 30)),
            (-500_000, 500_000),
            (-(1 << 30), 1 << 30),
            (-5, 5),
            (0, 0),
        ];
        let settle = |may_set| {
            let (mut m, mut s): (Vec<i32>, Vec<i32>) = old.iter().copied().unzip();
            let set = settle_constant_channels(
                &mut m,
                &mut s,
                &ranges,
                -128,
                (-128, 127),
                false,
                may_set,
            );
            (m.into_iter().zip(s).collect::<Vec<_>>(), set)
        };
        let (pairs, set) = settle(true);
        let (wide, eighth) = ((1 << 30, -22), (1 << 30, -2));
        assert_eq!(pairs, [eighth, wide, wide, old[3], old[4], old[5]]);
        assert_eq!(set, [(0, 40)]);
        let (pairs, set) = settle(false);
        assert_eq!(pairs, [old[0], wide, wide, old[3], old[4], old[5]]);
        assert!(set.is_empty());
        // The values are the old ones: the zero-weight channel's from its new accumulator.
        let (base, negative) = (1 << 30, -(1 << 31));
        let before = |c: usize, acc: i64| {
            requantize(acc as i32, old[c].0, old[c].1, -128, -128, 127)
        };
        let after = |(m, s): (i32, i32), acc: i32| {
            requantize_rounded(acc, m, s, -128, base, negative, -128, 127)
        };
        assert_eq!(before(0, ranges[0].0), -123);
        assert_eq!(after(eighth, 40), -123);
        for c in [1, 2] {
            for acc in [ranges[c].0, ranges[c].1, 0] {
                let acc = acc.clamp(ranges[c].0, ranges[c].1);
                assert_eq!(
                    after(wide, acc as i32),
                    before(c, acc),
                    "channel {c} at {acc}"
                );
            }
        }
    }

    proptest! {
        /// The one-multiply requantization gives the two-step one's value for every
        /// accumulator, multiplier, shift, zero point and rounding it accepts, including the
        /// extreme accumulators and the smallest multiplier.
        #[test]
        fn rounded_requantization_is_the_two_step_one(
            acc in prop_oneof![any::<i32>(), -70_000..70_000i32, Just(i32::MIN), Just(-1i32)],
            multiplier in prop_oneof![(1i32 << 30)..=i32::MAX, Just(1i32 << 30), Just(i32::MAX)],
            shift in -22..=-2i32, zero_point in -256..=255i32, single in any::<bool>(),
        ) {
            use crate::kernels::quant::{requantize, requantize_once, requantize_rounded};
            let (base, negative) =
                requantize_roundings(&[multiplier], &[shift], zero_point, single).unwrap();
            let (min, max) = (i32::MIN, i32::MAX);
            let expected = if single {
                requantize_once(acc, multiplier, shift, zero_point, min, max)
            } else {
                requantize(acc, multiplier, shift, zero_point, min, max)
            };
            let fast =
                requantize_rounded(acc, multiplier, shift, zero_point, base, negative, min, max);
            prop_assert_eq!(fast, expected);
        }

        /// A settled channel gives its old value at every accumulator of its range (sampled
        /// across it), or from the accumulator it is given when its range is one value.
        #[test]
        fn settled_channels_keep_their_values(
            multiplier in (1i32 << 30)..=i32::MAX, shift in -31..=-20i32,
            lo in -(1i64 << 31)..(1i64 << 31), width in prop_oneof![Just(0i64), 0..2_000_000i64, 0..(1i64 << 27)],
            zero_point in -128..=127i32, relu in any::<bool>(), single in any::<bool>(),
            may_set in any::<bool>(),
        ) {
            use crate::kernels::quant::{requantize, requantize_once, requantize_rounded};
            let (min, max) = (if relu { zero_point } else { -128 }, 127);
            let range = (lo, lo + width);
            let (mut m, mut s) = ([multiplier], [shift]);
            let set = settle_constant_channels(
                &mut m, &mut s, &[range], zero_point, (min, max), single, may_set,
            );
            let old = |acc: i32| if single {
                requantize_once(acc, multiplier, shift, zero_point, min, max)
            } else {
                requantize(acc, multiplier, shift, zero_point, min, max)
            };
            if (m[0], s[0]) == (multiplier, shift) {
                prop_assert!(set.is_empty());
            } else {
                let (base, negative) =
                    requantize_roundings(&m, &s, zero_point, single).unwrap();
                let new = |acc: i32| {
                    requantize_rounded(acc, m[0], s[0], zero_point, base, negative, min, max)
                };
                if let [(0, acc)] = set[..] {
                    prop_assert!(may_set && width == 0);
                    prop_assert_eq!(new(acc), old(lo as i32));
                } else {
                    prop_assert!(set.is_empty());
                    for i in 0..=64 {
                        let acc = (lo + width * i / 64) as i32;
                        prop_assert_eq!(new(acc), old(acc), "at {}", acc);
                    }
                }
            }
        }

        #[test]
        fn multiplier_represents_the_real_value(real in 1e-9f64..1e3) {
            let (m, shift) = quantize_multiplier(real);
            prop_assert!((1 << 30..=i32::MAX).contains(&m), "{m}");
            let back = m as f64 * 2f64.powi(shift - 31);
            prop_assert!(((back - real) / real).abs() <= 2f64.powi(-30));
        }

        #[test]
        fn frexp_splits_exactly(x in proptest::num::f64::POSITIVE | proptest::num::f64::SUBNORMAL) {
            prop_assume!(x > 0.0);
            let (f, e) = frexp(x);
            prop_assert!((0.5..1.0).contains(&f));
            // In two steps: 2^e alone underflows for subnormal x.
            prop_assert_eq!(f * 2f64.powi(e / 2) * 2f64.powi(e - e / 2), x);
        }
    }
}
