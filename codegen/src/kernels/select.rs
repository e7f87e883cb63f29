//! Selection along one axis of an `[outer, len, inner]` view, on every numeric element type:
//! `ArgMax`/`ArgMin`, `Hardmax` and `TopK`.
//!
//! Values are compared in one total order: numbers as usual, NaN above every number and equal
//! to itself (where sorting puts it). Of equal values the first wins, as ONNX asks (`ArgMax`
//! may ask for the last). `TopK` needs no scratch memory: its `r`-th pick is the best element
//! after the `(r - 1)`-th in the order (value, then index), found by a scan of the lane, so a
//! lane costs `k · len` comparisons; its two outputs are two calls, one writing the values and
//! one the indices.

use super::elementwise::Number;

/// The axis to select along, as the sizes before, along and after it.
#[derive(Clone, Copy, Debug)]
pub struct Lanes {
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
}

/// Whether `a` is above `b` in the total order (NaN above every number).
#[inline(always)]
fn above<T: PartialOrd + Copy>(a: T, b: T) -> bool {
    let (a_nan, b_nan) = (a.partial_cmp(&a).is_none(), b.partial_cmp(&b).is_none());
    match (a_nan, b_nan) {
        (true, false) => true,
        (_, true) => false,
        (false, false) => a > b,
    }
}

/// The index along the axis of the largest (`max`) or smallest value of one lane: the first of
/// equal ones, or the last with `select_last`.
#[inline(always)]
fn extreme<T: PartialOrd + Copy>(
    lane: impl Fn(usize) -> T,
    len: usize,
    max: bool,
    select_last: bool,
) -> usize {
    let mut best = 0;
    for k in 1..len {
        let (v, b) = (lane(k), lane(best));
        let (better, worse) = if max {
            (above(v, b), above(b, v))
        } else {
            (above(b, v), above(v, b))
        };
        if better || (select_last && !worse) {
            best = k;
        }
    }
    best
}

/// `ArgMax` (`max`) or `ArgMin`.
#[derive(Clone, Copy, Debug)]
pub struct ArgExtreme {
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
    pub max: bool,
    pub select_last: bool,
}

/// `y[o, i] = the index k of the extreme x[o, k, i]`.
#[inline(always)]
pub fn arg_extreme<T: PartialOrd + Copy>(p: ArgExtreme, x: &[T], y: &mut [i64]) {
    let (outer, len, inner) = (p.outer, p.len, p.inner);
    for o in 0..outer {
        for i in 0..inner {
            let lane = |k: usize| x[(o * len + k) * inner + i];
            y[o * inner + i] = extreme(lane, len, p.max, p.select_last) as i64;
        }
    }
}

/// `Hardmax`: 1 at the first largest value of each lane, 0 elsewhere.
#[inline(always)]
pub fn hardmax<T: Number>(p: Lanes, x: &[T], y: &mut [T]) {
    let Lanes { outer, len, inner } = p;
    y.fill(T::from_i64(0));
    for o in 0..outer {
        for i in 0..inner {
            let lane = |k: usize| x[(o * len + k) * inner + i];
            let k = extreme(lane, len, true, false);
            y[(o * len + k) * inner + i] = T::from_i64(1);
        }
    }
}

/// `TopK`: the output is `[outer, k, inner]`.
#[derive(Clone, Copy, Debug)]
pub struct TopK {
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
    pub k: usize,
    /// The largest values, else the smallest.
    pub largest: bool,
}

/// Calls `visit(output offset, index along the axis, input offset)` for each pick, in order.
#[inline(always)]
fn top_k_each<T: PartialOrd + Copy>(
    p: TopK,
    x: &[T],
    mut visit: impl FnMut(usize, usize, usize),
) {
    let (outer, len, inner) = (p.outer, p.len, p.inner);
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * len + k) * inner + i;
            // Whether element a comes before element b in the output: a better value, or an
            // equal value at a smaller index.
            let before = |a: usize, b: usize| {
                let (va, vb) = (x[at(a)], x[at(b)]);
                let (better, worse) = if p.largest {
                    (above(va, vb), above(vb, va))
                } else {
                    (above(vb, va), above(va, vb))
                };
                better || (!worse && a < b)
            };
            let mut previous: Option<usize> = None;
            for r in 0..p.k {
                let mut best: Option<usize> = None;
                for j in 0..len {
                    let after_previous = previous.is_none_or(|q| before(q, j));
                    if after_previous && best.is_none_or(|b| before(j, b)) {
                        best = Some(j);
                    }
                }
                // k <= len, so a pick is always left.
                let j = best.unwrap_or(0);
                visit((o * p.k + r) * inner + i, j, at(j));
                previous = Some(j);
            }
        }
    }
}

/// The `k` values of each lane, in order.
#[inline(always)]
pub fn top_k_values<T: PartialOrd + Copy>(p: TopK, x: &[T], y: &mut [T]) {
    top_k_each(p, x, |out, _, src| y[out] = x[src]);
}

/// The indices along the axis of the `k` values of each lane, in order.
#[inline(always)]
pub fn top_k_indices<T: PartialOrd + Copy>(p: TopK, x: &[T], y: &mut [i64]) {
    top_k_each(p, x, |out, k, _| y[out] = k as i64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::TensorData;
    use proptest::prelude::*;

    /// Small integers as floats, so that ties are common.
    fn values(seed: &[u8]) -> Vec<f32> {
        seed.iter().map(|&b| (b % 7) as f32 - 3.0).collect()
    }

    proptest! {
        #[test]
        fn arg_extreme_matches_the_reference(outer in 1..4usize, len in 1..8usize, inner in 1..4usize, max in any::<bool>(), select_last in any::<bool>(), seed in prop::collection::vec(any::<u8>(), 128), nan in any::<bool>()) {
            let mut x = values(&seed[..outer * len * inner]);
            if nan {
                let at = seed[100] as usize % x.len();
                x[at] = f32::NAN;
            }
            let expected = crate::eval::reduce::arg_extreme(&Value::f32(vec![outer, len, inner], x.clone()), 1, max, select_last).unwrap();
            let mut y = vec![-1i64; outer * inner];
            arg_extreme(ArgExtreme { outer, len, inner, max, select_last }, &x, &mut y);
            prop_assert_eq!(TensorData::I64(y), expected);
        }

        #[test]
        fn hardmax_matches_the_reference(outer in 1..4usize, len in 1..8usize, inner in 1..4usize, seed in prop::collection::vec(any::<u8>(), 128)) {
            let x = values(&seed[..outer * len * inner]);
            let expected = crate::eval::reduce::hardmax(&Value::f32(vec![outer, len, inner], x.clone()), 1, false).unwrap();
            let mut y = vec![f32::NAN; x.len()];
            hardmax(Lanes { outer, len, inner }, &x, &mut y);
            prop_assert_eq!(TensorData::F32(y), expected);
        }

        #[test]
        fn top_k_matches_the_reference(outer in 1..4usize, len in 1..8usize, inner in 1..4usize, k_seed in any::<usize>(), largest in any::<bool>(), seed in prop::collection::vec(any::<u8>(), 128), nan in any::<bool>()) {
            let k = k_seed % (len + 1);
            let mut x = values(&seed[..outer * len * inner]);
            if nan {
                let at = seed[100] as usize % x.len();
                x[at] = f32::NAN;
            }
            let (values, indices) = crate::eval::reduce::top_k(&Value::f32(vec![outer, len, inner], x.clone()), 1, k, largest).unwrap();
            let p = TopK { outer, len, inner, k, largest };
            let mut v = vec![0.0f32; outer * k * inner];
            let mut i = vec![-1i64; outer * k * inner];
            top_k_values(p, &x, &mut v);
            top_k_indices(p, &x, &mut i);
            // Compare bits: NaN equals NaN here.
            let bits = |d: &[f32]| d.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let TensorData::F32(expected) = values else { unreachable!() };
            prop_assert_eq!(bits(&v), bits(&expected));
            prop_assert_eq!(TensorData::I64(i.clone()), indices);
            // Integers of another width.
            let xi: Vec<u64> = seed[..outer * len * inner].iter().map(|&b| (b % 5) as u64).collect();
            let (values, indices) = crate::eval::reduce::top_k(&Value::new(vec![outer, len, inner], TensorData::U64(xi.clone())), 1, k, largest).unwrap();
            let mut v = vec![0u64; outer * k * inner];
            top_k_values(p, &xi, &mut v);
            top_k_indices(p, &xi, &mut i);
            prop_assert_eq!(TensorData::U64(v), values);
            prop_assert_eq!(TensorData::I64(i), indices);
        }
    }
}
