//! Softmax and log-softmax over one axis of an `[outer, len, inner]` view, in float32 or
//! float64.

use super::{math, math64};
use core::ops::{Add, Div, Mul, Sub};

#[derive(Clone, Copy, Debug)]
pub struct Softmax {
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
    /// Log-softmax: `x - max - ln(sum(exp(x - max)))`.
    pub log: bool,
    /// Inverse temperature: the softmax of `beta · x` (1 for ONNX models).
    pub beta: f32,
}

/// A float type softmax computes on, with the functions of its math library.
pub trait SoftmaxElement:
    Copy
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    const NEG_INFINITY: Self;
    fn from_f32(v: f32) -> Self;
    fn max(self, other: Self) -> Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
}

impl SoftmaxElement for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        f32::max(self, other)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        math::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        math::ln(self)
    }
}

impl SoftmaxElement for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        v as f64
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        f64::max(self, other)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        math64::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        math64::ln(self)
    }
}

/// Subtracting the maximum first keeps `exp` from overflowing; the result is the same.
#[inline(always)]
pub fn softmax<T: SoftmaxElement>(p: Softmax, x: &[T], y: &mut [T]) {
    let beta = T::from_f32(p.beta);
    for o in 0..p.outer {
        for i in 0..p.inner {
            let at = |k: usize| (o * p.len + k) * p.inner + i;
            let mut max = T::NEG_INFINITY;
            for k in 0..p.len {
                max = max.max(x[at(k)]);
            }
            let mut sum = T::ZERO;
            for k in 0..p.len {
                let e = ((x[at(k)] - max) * beta).exp();
                sum = sum + e;
                if !p.log {
                    y[at(k)] = e;
                }
            }
            if p.log {
                let log_sum = sum.ln();
                for k in 0..p.len {
                    y[at(k)] = (x[at(k)] - max) * beta - log_sum;
                }
            } else {
                let scale = T::ONE / sum;
                for k in 0..p.len {
                    y[at(k)] = y[at(k)] * scale;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::kernels::test_support::{assert_close, floats};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn softmax_matches_the_reference(outer in 1..4usize, len in 1..20usize, inner in 1..4usize, log in any::<bool>(), scale in 0.1f32..30.0, seed in any::<u64>()) {
            let x: Vec<f32> = floats(seed, outer * len * inner).iter().map(|v| v * scale).collect();
            let expected = crate::eval::nn::softmax(&Value::f32(vec![outer, len, inner], x.clone()), 1, false, log).unwrap();
            let mut y = vec![f32::NAN; x.len()];
            softmax(Softmax { outer, len, inner, log, beta: 1.0 }, &x, &mut y);
            assert_close(&y, &expected, 2e-6);
        }

        #[test]
        fn float64_softmax_matches_the_reference(outer in 1..4usize, len in 1..20usize, inner in 1..4usize, log in any::<bool>(), scale in 0.1f64..30.0, seed in any::<u64>()) {
            let x: Vec<f64> = floats(seed, outer * len * inner).iter().map(|&v| v as f64 * scale).collect();
            let value = Value::new(vec![outer, len, inner], crate::ir::TensorData::F64(x.clone()));
            let expected = crate::eval::nn::softmax_f64(&value, 1, false, log).unwrap();
            let mut y = vec![f64::NAN; x.len()];
            softmax(Softmax { outer, len, inner, log, beta: 1.0 }, &x, &mut y);
            for (got, want) in y.iter().zip(&expected) {
                prop_assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0), "{got} vs {want}");
            }
        }
    }
}
