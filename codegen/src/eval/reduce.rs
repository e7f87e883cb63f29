//! Reductions and the ops that select along an axis, as the ONNX operator definitions state
//! them: `Reduce*`, `ArgMax`/`ArgMin`, `Hardmax`, `CumSum` and `TopK`.
//!
//! Float tensors compute in `f64` and round once to the tensor's type; integer tensors compute
//! in `i64` with wrapping arithmetic and wrap back to their width (which gives the result of
//! computing in the narrow type, as ONNX runtimes do); bool tensors take `ReduceMax` ("any")
//! and `ReduceMin` ("all"). Every element is found from its definition: for each output
//! element, the list of input elements it depends on.

use crate::eval::Value;
use crate::ir::op::ReduceFn;
use crate::ir::{DType, TensorData, strides_of};

type R<T> = Result<T, String>;

/// `(outer, len, inner)`: the sizes before, at and after `axis` (or, with `to_end`, the axes
/// from `axis` on taken as one).
pub fn lanes(shape: &[usize], axis: usize, to_end: bool) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    if to_end {
        (outer, shape[axis..].iter().product(), 1)
    } else {
        (outer, shape[axis], shape[axis + 1..].iter().product())
    }
}

/// For each output element (the input with the reduced `axes` dropped, in row-major order), the
/// flat indices of the input elements that reduce to it, in ascending order.
fn groups(shape: &[usize], axes: &[usize]) -> Vec<Vec<usize>> {
    let kept: Vec<usize> = shape
        .iter()
        .enumerate()
        .map(|(d, &n)| if axes.contains(&d) { 1 } else { n })
        .collect();
    let in_strides = strides_of(shape);
    let out_strides = strides_of(&kept);
    let mut out = vec![Vec::new(); kept.iter().product()];
    for i in 0..shape.iter().product() {
        let o: usize = (0..shape.len())
            .filter(|d| !axes.contains(d))
            .map(|d| (i / in_strides[d]) % shape[d] * out_strides[d])
            .sum();
        out[o].push(i);
    }
    out
}

/// One float reduction of `v`. Over no values it is the identity of the reduction, as the
/// ONNX operator definitions state: 0 for the sums (so -inf for the logarithms of sums), 1 for
/// the product, -inf for `Max` and +inf for `Min`; the mean is 0 / 0, NaN, as in numpy.
fn reduce_f64(f: ReduceFn, v: &[f64]) -> f64 {
    let sum = |g: fn(f64) -> f64| v.iter().map(|&x| g(x)).sum::<f64>();
    // NaN propagates through Max and Min, as in numpy's reductions.
    let extreme = |pick: fn(f64, f64) -> f64, start: f64| {
        if v.iter().any(|x| x.is_nan()) {
            f64::NAN
        } else {
            v.iter().copied().fold(start, pick)
        }
    };
    match f {
        ReduceFn::Sum => sum(|x| x),
        ReduceFn::Mean => sum(|x| x) / v.len() as f64,
        ReduceFn::Max => extreme(f64::max, f64::NEG_INFINITY),
        ReduceFn::Min => extreme(f64::min, f64::INFINITY),
        ReduceFn::Prod => v.iter().product(),
        ReduceFn::L1 => sum(f64::abs),
        ReduceFn::L2 => sum(|x| x * x).sqrt(),
        ReduceFn::LogSum => sum(|x| x).ln(),
        ReduceFn::SumSquare => sum(|x| x * x),
        ReduceFn::LogSumExp => {
            // ln(sum(e^x)) = m + ln(sum(e^(x - m))) for the largest m, which cannot overflow.
            let m = extreme(f64::max, f64::NEG_INFINITY);
            if m.is_finite() {
                m + v.iter().map(|&x| (x - m).exp()).sum::<f64>().ln()
            } else {
                sum(f64::exp).ln()
            }
        }
    }
}

/// One integer reduction of `v` of type `dtype`, wrapping; the mean truncates toward zero.
/// Over no values `Max` gives the type's minimum and `Min` its maximum, as ONNX states (the
/// mean, undefined there, is 0, as the kernel's division by a count of 0 gives).
fn reduce_i64(f: ReduceFn, v: &[i64], dtype: DType) -> R<i64> {
    let (lowest, highest) = dtype.integer_range();
    let sum = |g: fn(i64) -> i64| v.iter().fold(0i64, |acc, &x| acc.wrapping_add(g(x)));
    Ok(match f {
        ReduceFn::Sum => sum(|x| x),
        ReduceFn::Mean => sum(|x| x) / v.len() as i64,
        ReduceFn::Max => v.iter().copied().fold(lowest, i64::max),
        ReduceFn::Min => v.iter().copied().fold(highest, i64::min),
        ReduceFn::Prod => v.iter().fold(1i64, |acc, &x| acc.wrapping_mul(x)),
        ReduceFn::L1 => sum(i64::wrapping_abs),
        ReduceFn::SumSquare => sum(|x| x.wrapping_mul(x)),
        ReduceFn::L2 | ReduceFn::LogSum | ReduceFn::LogSumExp => {
            return Err(format!("{f:?} is not supported on integers"));
        }
    })
}

/// A reduction over `axes` (sorted, distinct; empty reduces each element on its own). The
/// result is in the order of the output whether or not `keepdims` drops the reduced axes.
pub fn reduce(f: ReduceFn, x: &Value, axes: &[usize]) -> R<TensorData> {
    let groups = groups(&x.shape, axes);
    let dtype = x.data.dtype();
    match &x.data {
        TensorData::Bool(v) => {
            let any = match f {
                ReduceFn::Max => true,
                ReduceFn::Min => false,
                other => return Err(format!("{other:?} is not defined on bool")),
            };
            Ok(TensorData::Bool(
                groups
                    .iter()
                    .map(|g| {
                        if any {
                            g.iter().any(|&i| v[i])
                        } else {
                            g.iter().all(|&i| v[i])
                        }
                    })
                    .collect(),
            ))
        }
        _ if dtype.is_float() => {
            let v = x.data.to_f64_vec();
            let out = groups
                .iter()
                .map(|g| reduce_f64(f, &g.iter().map(|&i| v[i]).collect::<Vec<_>>()))
                .collect();
            Ok(TensorData::F64(out).cast(dtype))
        }
        TensorData::U64(_) => Err("reductions of uint64 are not supported".into()),
        _ => {
            let v = x.data.to_i64_vec().expect("integers");
            // The mean divides the sum as it is in the tensor's own width (wrapped), as
            // numpy's mean with the input's dtype does.
            let wrap = |n: i64| {
                TensorData::I64(vec![n])
                    .cast(dtype)
                    .to_i64_vec()
                    .expect("int")[0]
            };
            let out = groups
                .iter()
                .map(|g| {
                    let values: Vec<i64> = g.iter().map(|&i| v[i]).collect();
                    if f == ReduceFn::Mean {
                        let sum = wrap(reduce_i64(ReduceFn::Sum, &values, dtype)?);
                        Ok(sum.checked_div(values.len() as i64).unwrap_or(0))
                    } else {
                        reduce_i64(f, &values, dtype)
                    }
                })
                .collect::<R<Vec<_>>>()?;
            Ok(TensorData::I64(out).cast(dtype))
        }
    }
}

/// The values of a tensor as something totally ordered for selection: floats as `f64`,
/// integers as `i128` (which holds every `u64` too); NaN compares above every number and equal
/// to itself, which is where sorting puts it.
fn ordered(data: &TensorData) -> R<Vec<Ordered>> {
    Ok(match data {
        TensorData::Bool(_) => return Err("selection needs numbers, not bool".into()),
        TensorData::F32(_) | TensorData::F64(_) => {
            data.to_f64_vec().into_iter().map(Ordered::Float).collect()
        }
        TensorData::U64(v) => v.iter().map(|&x| Ordered::Int(x as i128)).collect(),
        other => other
            .to_i64_vec()
            .expect("integers")
            .into_iter()
            .map(|x| Ordered::Int(x as i128))
            .collect(),
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Ordered {
    Float(f64),
    Int(i128),
}

impl Ordered {
    fn cmp(self, other: Ordered) -> std::cmp::Ordering {
        match (self, other) {
            (Ordered::Float(a), Ordered::Float(b)) => match (a.is_nan(), b.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                (false, false) => a.partial_cmp(&b).expect("not NaN"),
            },
            (Ordered::Int(a), Ordered::Int(b)) => a.cmp(&b),
            _ => unreachable!("one tensor has one type"),
        }
    }
}

/// `ArgMax` (`max`) or `ArgMin` along `axis`: the index of the extreme value, the first of
/// equal ones or, with `select_last`, the last. The output (`i64`) has the order of the input
/// with `axis` dropped.
pub fn arg_extreme(x: &Value, axis: usize, max: bool, select_last: bool) -> R<TensorData> {
    let v = ordered(&x.data)?;
    let (outer, len, inner) = lanes(&x.shape, axis, false);
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| v[(o * len + k) * inner + i];
            let mut best = 0;
            for k in 1..len {
                let c = at(k).cmp(at(best));
                let c = if max { c } else { c.reverse() };
                if c.is_gt() || (select_last && c.is_eq()) {
                    best = k;
                }
            }
            out.push(best as i64);
        }
    }
    Ok(TensorData::I64(out))
}

/// `Hardmax`: 1 at the first largest value along `axis` (or over the axes from `axis` on, with
/// `coerce_2d`), 0 elsewhere.
pub fn hardmax(x: &Value, axis: usize, coerce_2d: bool) -> R<TensorData> {
    let (outer, len, inner) = lanes(&x.shape, axis, coerce_2d);
    let lane_shape = vec![outer, len, inner];
    let index = arg_extreme(&Value::new(lane_shape, x.data.clone()), 1, true, false)?;
    let index = index.to_i64_vec().expect("indices");
    let out: Vec<f64> = (0..outer * len * inner)
        .map(|n| {
            let (o, k, i) = (n / (len * inner), n / inner % len, n % inner);
            if index[o * inner + i] == k as i64 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    Ok(TensorData::F64(out).cast(x.data.dtype()))
}

/// `CumSum` along `axis`: each output is the sum of the elements up to it (from the end with
/// `reverse`), itself included unless `exclusive`.
pub fn cumsum(x: &Value, axis: usize, exclusive: bool, reverse: bool) -> R<TensorData> {
    let (outer, len, inner) = lanes(&x.shape, axis, false);
    let dtype = x.data.dtype();
    // The indices along the axis that element `k` sums.
    let terms = |k: usize| -> Vec<usize> {
        (0..len)
            .filter(|&j| match (reverse, exclusive) {
                (false, false) => j <= k,
                (false, true) => j < k,
                (true, false) => j >= k,
                (true, true) => j > k,
            })
            .collect()
    };
    let flat = |o: usize, k: usize, i: usize| (o * len + k) * inner + i;
    let order: Vec<(usize, usize, usize)> = (0..outer * len * inner)
        .map(|n| (n / (len * inner), n / inner % len, n % inner))
        .collect();
    if dtype.is_float() {
        let v = x.data.to_f64_vec();
        let out = order
            .iter()
            .map(|&(o, k, i)| terms(k).iter().map(|&j| v[flat(o, j, i)]).sum())
            .collect();
        Ok(TensorData::F64(out).cast(dtype))
    } else if dtype.is_integer() && dtype != DType::U64 {
        let v = x.data.to_i64_vec().expect("integers");
        let out = order
            .iter()
            .map(|&(o, k, i)| {
                terms(k)
                    .iter()
                    .fold(0i64, |acc, &j| acc.wrapping_add(v[flat(o, j, i)]))
            })
            .collect();
        Ok(TensorData::I64(out).cast(dtype))
    } else {
        Err(format!("CumSum of {dtype} is not supported"))
    }
}

/// `TopK`: along `axis`, the `k` largest (or smallest) values in order and their indices
/// (`i64`); equal values come by ascending index, as the ONNX definition asks.
pub fn top_k(
    x: &Value,
    axis: usize,
    k: usize,
    largest: bool,
) -> R<(TensorData, TensorData)> {
    let v = ordered(&x.data)?;
    let (outer, len, inner) = lanes(&x.shape, axis, false);
    let mut picks = vec![0usize; outer * k * inner];
    for o in 0..outer {
        for i in 0..inner {
            let flat = |j: usize| (o * len + j) * inner + i;
            let mut lane: Vec<usize> = (0..len).collect();
            // A stable sort keeps equal values in index order.
            lane.sort_by(|&a, &b| {
                let c = v[flat(a)].cmp(v[flat(b)]);
                if largest { c.reverse() } else { c }
            });
            for (r, &j) in lane.iter().take(k).enumerate() {
                picks[(o * k + r) * inner + i] = j;
            }
        }
    }
    let sources: Vec<usize> = (0..picks.len())
        .map(|n| {
            let (o, i) = (n / (k * inner), n % inner);
            (o * len + picks[n]) * inner + i
        })
        .collect();
    let values = crate::map_data!(&x.data, d => sources.iter().map(|&s| d[s]).collect());
    let indices = TensorData::I64(picks.iter().map(|&j| j as i64).collect());
    Ok((values, indices))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(shape: &[usize], v: &[f32]) -> Value {
        Value::f32(shape.to_vec(), v.to_vec())
    }

    #[test]
    fn reductions_follow_the_definitions() {
        let x = f32s(&[2, 3], &[1.0, -2.0, 3.0, 4.0, 5.0, -6.0]);
        let check = |f, axes: &[usize], expected: &[f32]| {
            let TensorData::F32(y) = reduce(f, &x, axes).unwrap() else {
                panic!("f32")
            };
            for (a, e) in y.iter().zip(expected) {
                let same = (a - e).abs() < 1e-5 || (a.is_nan() && e.is_nan());
                assert!(same, "{f:?}: {y:?} vs {expected:?}");
            }
        };
        check(ReduceFn::Sum, &[1], &[2.0, 3.0]);
        check(ReduceFn::Mean, &[0], &[2.5, 1.5, -1.5]);
        check(ReduceFn::Max, &[0, 1], &[5.0]);
        check(ReduceFn::Min, &[1], &[-2.0, -6.0]);
        check(ReduceFn::Prod, &[1], &[-6.0, -120.0]);
        check(ReduceFn::L1, &[1], &[6.0, 15.0]);
        check(
            ReduceFn::L2,
            &[0],
            &[17f32.sqrt(), 29f32.sqrt(), 45f32.sqrt()],
        );
        check(ReduceFn::SumSquare, &[1], &[14.0, 77.0]);
        check(
            ReduceFn::LogSum,
            &[0],
            &[5f32.ln(), 3f32.ln(), (-3f32).ln()],
        );
        let lse = |v: &[f32]| v.iter().map(|x| x.exp()).sum::<f32>().ln();
        check(
            ReduceFn::LogSumExp,
            &[1],
            &[lse(&[1.0, -2.0, 3.0]), lse(&[4.0, 5.0, -6.0])],
        );
        // No axes: each element reduces on its own.
        check(ReduceFn::SumSquare, &[], &[1.0, 4.0, 9.0, 16.0, 25.0, 36.0]);
        // A large LogSumExp does not overflow.
        let big = Value::new(vec![2], TensorData::F64(vec![1000.0, 1000.0]));
        let TensorData::F64(y) = reduce(ReduceFn::LogSumExp, &big, &[0]).unwrap() else {
            panic!("f64")
        };
        assert!((y[0] - (1000.0 + 2f64.ln())).abs() < 1e-9);
    }

    #[test]
    fn reductions_over_an_empty_set_give_the_identity() {
        // [2, 0, 3] reduced over axis 1: six output elements, each over no values.
        let x = f32s(&[2, 0, 3], &[]);
        let all = |v: f32| TensorData::F32(vec![v; 6]);
        let float_cases = [
            (ReduceFn::Sum, 0.0),
            (ReduceFn::Max, f32::NEG_INFINITY),
            (ReduceFn::Min, f32::INFINITY),
            (ReduceFn::Prod, 1.0),
            (ReduceFn::L1, 0.0),
            (ReduceFn::L2, 0.0),
            (ReduceFn::LogSum, f32::NEG_INFINITY),
            (ReduceFn::LogSumExp, f32::NEG_INFINITY),
            (ReduceFn::SumSquare, 0.0),
        ];
        for (f, value) in float_cases {
            assert_eq!(reduce(f, &x, &[1]).unwrap(), all(value), "{f:?}");
        }
        let TensorData::F32(mean) = reduce(ReduceFn::Mean, &x, &[1]).unwrap() else {
            panic!("f32")
        };
        assert!(mean.iter().all(|m| m.is_nan()), "{mean:?}");
        // Integers: the type's own extremes, not those of i64.
        let x = Value::new(vec![2, 0], TensorData::U8(vec![]));
        assert_eq!(
            reduce(ReduceFn::Max, &x, &[1]).unwrap(),
            TensorData::U8(vec![0, 0])
        );
        assert_eq!(
            reduce(ReduceFn::Min, &x, &[1]).unwrap(),
            TensorData::U8(vec![255, 255])
        );
        let x = Value::new(vec![0, 2], TensorData::I32(vec![]));
        assert_eq!(
            reduce(ReduceFn::Max, &x, &[0]).unwrap(),
            TensorData::I32(vec![i32::MIN; 2])
        );
        assert_eq!(
            reduce(ReduceFn::Mean, &x, &[0]).unwrap(),
            TensorData::I32(vec![0; 2])
        );
        assert_eq!(
            reduce(ReduceFn::Prod, &x, &[0]).unwrap(),
            TensorData::I32(vec![1; 2])
        );
        // bool: "any" of nothing is false, "all" of nothing is true.
        let b = Value::new(vec![0, 2], TensorData::Bool(vec![]));
        assert_eq!(
            reduce(ReduceFn::Max, &b, &[0]).unwrap(),
            TensorData::Bool(vec![false; 2])
        );
        assert_eq!(
            reduce(ReduceFn::Min, &b, &[0]).unwrap(),
            TensorData::Bool(vec![true; 2])
        );
        // A 0 on a kept axis leaves no output elements.
        let x = f32s(&[2, 0, 3], &[]);
        assert_eq!(
            reduce(ReduceFn::Max, &x, &[2]).unwrap(),
            TensorData::F32(vec![])
        );
    }

    #[test]
    fn integer_and_bool_reductions() {
        let x = Value::new(vec![2, 2], TensorData::I32(vec![i32::MAX, 1, -7, 2]));
        assert_eq!(
            reduce(ReduceFn::Sum, &x, &[1]).unwrap(),
            TensorData::I32(vec![i32::MIN, -5])
        );
        assert_eq!(
            reduce(ReduceFn::Mean, &x, &[0]).unwrap(),
            TensorData::I32(vec![(i32::MAX as i64 - 7) as i32 / 2, 1])
        );
        assert!(reduce(ReduceFn::L2, &x, &[0]).is_err());
        let b = Value::new(
            vec![2, 2],
            TensorData::Bool(vec![true, false, false, false]),
        );
        assert_eq!(
            reduce(ReduceFn::Max, &b, &[1]).unwrap(),
            TensorData::Bool(vec![true, false])
        );
        assert_eq!(
            reduce(ReduceFn::Min, &b, &[0]).unwrap(),
            TensorData::Bool(vec![false, false])
        );
    }

    #[test]
    fn arg_extremes_break_ties_by_index() {
        let x = f32s(&[2, 3], &[1.0, 5.0, 5.0, -1.0, -1.0, 0.0]);
        let idx = |max, last, axis| arg_extreme(&x, axis, max, last).unwrap();
        assert_eq!(idx(true, false, 1), TensorData::I64(vec![1, 2]));
        assert_eq!(idx(true, true, 1), TensorData::I64(vec![2, 2]));
        assert_eq!(idx(false, false, 1), TensorData::I64(vec![0, 0]));
        assert_eq!(idx(false, true, 1), TensorData::I64(vec![0, 1]));
        assert_eq!(idx(true, false, 0), TensorData::I64(vec![0, 0, 0]));
    }

    #[test]
    fn hardmax_marks_the_first_largest() {
        let x = f32s(&[2, 2], &[3.0, 3.0, 1.0, 2.0]);
        assert_eq!(
            hardmax(&x, 1, false).unwrap(),
            TensorData::F32(vec![1.0, 0.0, 0.0, 1.0])
        );
        assert_eq!(
            hardmax(&x, 0, true).unwrap(),
            TensorData::F32(vec![1.0, 0.0, 0.0, 0.0])
        );
    }

    #[test]
    fn cumsum_in_every_direction() {
        let x = Value::new(vec![4], TensorData::I32(vec![1, 2, 3, 4]));
        let c = |e, r| cumsum(&x, 0, e, r).unwrap();
        assert_eq!(c(false, false), TensorData::I32(vec![1, 3, 6, 10]));
        assert_eq!(c(true, false), TensorData::I32(vec![0, 1, 3, 6]));
        assert_eq!(c(false, true), TensorData::I32(vec![10, 9, 7, 4]));
        assert_eq!(c(true, true), TensorData::I32(vec![9, 7, 4, 0]));
    }

    #[test]
    fn top_k_orders_ties_by_index() {
        let x = Value::new(vec![2, 3], TensorData::I64(vec![1, 3, 3, 2, 2, 9]));
        let (v, i) = top_k(&x, 1, 2, true).unwrap();
        assert_eq!(v, TensorData::I64(vec![3, 3, 9, 2]));
        assert_eq!(i, TensorData::I64(vec![1, 2, 2, 0]));
        let (v, i) = top_k(&x, 0, 1, false).unwrap();
        assert_eq!(v, TensorData::I64(vec![1, 2, 3]));
        assert_eq!(i, TensorData::I64(vec![0, 1, 0]));
    }
}
