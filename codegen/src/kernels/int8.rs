//! Int8 kernels of the element-wise and dense ops of TFLite int8 models: the fully connected
//! layer, `Add`/`Sub` and `Softmax`, each with the exact arithmetic of TFLite's reference
//! kernels (see [`super::quant`]). Convolution and pooling are in [`super::nhwc`].

use super::quant::{
    exp_on_negative_values, multiply_by_quantized_multiplier, reciprocal, requantize,
    round_half_away, rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
    saturating_rounding_multiply_by_pot,
};

/// An int8 fully connected layer (TFLite `FULLY_CONNECTED`): `y[m, n]` from `a[m, k]` and
/// weights `b[n, k]`, requantized in double precision as TFLite's reference kernel does.
#[derive(Clone, Copy, Debug)]
pub struct FullyConnectedI8 {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub input_zero_point: i32,
    /// Subtracted from every weight (0 for per-channel weights, whose zero points TFLite
    /// ignores).
    pub weight_zero_point: i32,
    pub output_zero_point: i32,
    pub output_min: i32,
    pub output_max: i32,
}

/// `y = clamp(round((Σ (a − z_a)(b − z_b) + bias) · scale[n]) + z_y)`; `bias` is empty or `n`
/// values, `scales` has `n` values.
#[inline(always)]
pub fn fully_connected_i8(
    p: FullyConnectedI8,
    a: &[i8],
    b: &[i8],
    bias: &[i32],
    scales: &[f64],
    y: &mut [i8],
) {
    for i in 0..p.m {
        let row = &a[i * p.k..(i + 1) * p.k];
        for j in 0..p.n {
            let weights = &b[j * p.k..(j + 1) * p.k];
            let mut acc: i32 = if bias.is_empty() { 0 } else { bias[j] };
            for (&x, &w) in row.iter().zip(weights) {
                acc += (x as i32 - p.input_zero_point) * (w as i32 - p.weight_zero_point);
            }
            let scaled =
                round_half_away(acc as f64 * scales[j]).saturating_add(p.output_zero_point);
            y[i * p.n + j] = scaled.clamp(p.output_min, p.output_max) as i8;
        }
    }
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
    #[inline(always)]
    fn apply(&self, a: i8, b: i8) -> i8 {
        let a = multiply_by_quantized_multiplier(
            (a as i32 + self.a_offset) << self.left_shift,
            self.a_multiplier,
            self.a_shift,
        );
        let b = multiply_by_quantized_multiplier(
            (b as i32 + self.b_offset) << self.left_shift,
            self.b_multiplier,
            self.b_shift,
        );
        let sum = if self.subtract { a - b } else { a + b };
        requantize(
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

/// The int8 softmax over rows of `len` values. The output is quantized with scale 1/256 and
/// zero point −128, as TFLite requires.
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
                let unsaturated = rounding_divide_by_pot(
                    saturating_rounding_doubling_high_mul(scale, e),
                    exponent,
                );
                (unsaturated - 128).clamp(-128, 127) as i8
            } else {
                -128
            };
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

    proptest! {
        #[test]
        fn fully_connected_matches_the_evaluator(
            m in 1..4usize, k in 1..40usize, n in 1..9usize, seed in any::<u64>(),
            per_channel in any::<bool>(), relu in any::<bool>(),
        ) {
            let (a, b) = (bytes(seed, m * k), bytes(seed ^ 1, n * k));
            let bias: Vec<i32> = bytes(seed ^ 2, n).iter().map(|&v| v as i32 * 37).collect();
            let (xq, yq) = (Quantization::per_tensor(0.04, -5), Quantization::per_tensor(0.2, 9));
            let wq = if per_channel {
                Quantization { scale: (0..n).map(|j| 0.01 + 0.003 * j as f32).collect(), zero_point: vec![0; n], axis: 0 }
            } else {
                Quantization::per_tensor(0.02, 0)
            };
            let act = if relu { Activation::Relu } else { Activation::None };
            let (av, bv) = (Value::new(vec![m, k], TensorData::I8(a.clone())), Value::new(vec![n, k], TensorData::I8(b.clone())));
            let bias_value = Value::new(vec![n], TensorData::I32(bias.clone()));
            let expected = reference::fully_connected(
                Operand { value: &av, quant: &xq }, Operand { value: &bv, quant: &wq },
                Some(&bias_value), &yq, &[m, n], act,
            ).unwrap();
            let (min, max) = crate::quant::activation_range(act, 0.2, 9, DType::I8).unwrap();
            let scales = crate::quant::fully_connected_scales(0.04, &wq, 0.2, n);
            let p = FullyConnectedI8 { m, k, n, input_zero_point: -5, weight_zero_point: 0, output_zero_point: 9, output_min: min, output_max: max };
            let mut y = vec![0i8; m * n];
            fully_connected_i8(p, &a, &b, &bias, &scales, &mut y);
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
    }
}
