//! Reductions over a contiguous block of axes, seen as `[outer, len, inner]`.

#[derive(Clone, Copy, Debug)]
pub struct Reduce {
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
}

/// `y[o, i] = mean over k of x[o, k, i]`.
#[inline(always)]
pub fn mean(p: Reduce, x: &[f32], y: &mut [f32]) {
    let scale = 1.0 / p.len as f32;
    for o in 0..p.outer {
        let out = &mut y[o * p.inner..(o + 1) * p.inner];
        out.fill(0.0);
        for k in 0..p.len {
            let row = &x[(o * p.len + k) * p.inner..][..p.inner];
            for (acc, &v) in out.iter_mut().zip(row) {
                *acc += v;
            }
        }
        for v in out.iter_mut() {
            *v *= scale;
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
        fn mean_matches_the_reference(outer in 1..4usize, len in 1..30usize, inner in 1..5usize, seed in any::<u64>()) {
            let x = floats(seed, outer * len * inner);
            let expected = crate::eval::nn::reduce_mean(&Value::f32(vec![outer, len, inner], x.clone()), &[1]).unwrap();
            let mut y = vec![f32::NAN; outer * inner];
            mean(Reduce { outer, len, inner }, &x, &mut y);
            assert_close(&y, &expected, 1e-5);
        }
    }
}
