//! Softmax and log-softmax over one axis of an `[outer, len, inner]` view.

use super::math;

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

/// Subtracting the maximum first keeps `exp` from overflowing; the result is the same.
#[inline(always)]
pub fn softmax(p: Softmax, x: &[f32], y: &mut [f32]) {
    for o in 0..p.outer {
        for i in 0..p.inner {
            let at = |k: usize| (o * p.len + k) * p.inner + i;
            let mut max = f32::NEG_INFINITY;
            for k in 0..p.len {
                max = max.max(x[at(k)]);
            }
            let mut sum = 0.0;
            for k in 0..p.len {
                let e = math::exp((x[at(k)] - max) * p.beta);
                sum += e;
                if !p.log {
                    y[at(k)] = e;
                }
            }
            if p.log {
                let log_sum = math::ln(sum);
                for k in 0..p.len {
                    y[at(k)] = (x[at(k)] - max) * p.beta - log_sum;
                }
            } else {
                let scale = 1.0 / sum;
                for k in 0..p.len {
                    y[at(k)] *= scale;
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
    }
}
