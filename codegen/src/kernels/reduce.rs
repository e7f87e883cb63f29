//! Reductions over any set of axes (`ReduceSum`, `ReduceMean`, `ReduceMax`, ...) and the
//! cumulative sum along one axis, on every element type.
//!
//! A reduction walks its input once, in memory order, over an iteration space of up to
//! [`MAX_RANK`] axes (the back end merges adjacent axes that are all reduced or all kept). Each
//! input element is combined into the output element at `sum(index[d] * y_strides[d])`, where
//! the strides of reduced axes are 0; a last pass finishes the values that need it (the mean's
//! division, the square root of `L2`, the logarithm of `LogSum`). The arithmetic is that of the
//! [`Number`] trait: wrapping on integers, a truncating integer mean, logical on bool.

use super::elementwise::{BinaryOp, Number, Unary};

/// Axes of the iteration space.
pub const MAX_RANK: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReduceOp {
    Sum,
    Mean,
    /// A NaN anywhere gives NaN.
    Max,
    Min,
    Prod,
    /// `sum(|x|)`.
    L1,
    /// `sqrt(sum(x²))`.
    L2,
    /// `ln(sum(x))`.
    LogSum,
    /// `ln(sum(e^x))`, accumulated as `ln(e^a + e^b)` pair by pair, which cannot overflow.
    LogSumExp,
    /// `sum(x²)`.
    SumSquare,
}

/// The smallest and largest value of an element type: where `Max` and `Min` start.
pub trait Bounded: Number {
    const LOWEST: Self;
    const HIGHEST: Self;
}

impl Bounded for f32 {
    const LOWEST: f32 = f32::NEG_INFINITY;
    const HIGHEST: f32 = f32::INFINITY;
}

impl Bounded for f64 {
    const LOWEST: f64 = f64::NEG_INFINITY;
    const HIGHEST: f64 = f64::INFINITY;
}

impl Bounded for bool {
    const LOWEST: bool = false;
    const HIGHEST: bool = true;
}

macro_rules! bounded_integer {
    ($($t:ty),*) => {$(
        impl Bounded for $t {
            const LOWEST: $t = <$t>::MIN;
            const HIGHEST: $t = <$t>::MAX;
        }
    )*};
}

bounded_integer!(i8, u8, i16, u16, i32, u32, i64, u64);

/// A reduction. `shape` is the input's iteration space (leading axes padded with 1),
/// `y_strides` the output's stride along each of its axes (0 where reduced), `count` the
/// number of input elements per output element.
#[derive(Clone, Copy, Debug)]
pub struct Reduce {
    pub op: ReduceOp,
    pub shape: [usize; MAX_RANK],
    pub y_strides: [usize; MAX_RANK],
    pub count: usize,
}

/// `ln(e^a + e^b)` as `max + ln(1 + e^(min - max))`; `a` is `LOWEST` before the first term.
#[inline(always)]
fn log_add_exp<T: Bounded>(a: T, b: T) -> T {
    if a == T::LOWEST {
        return b;
    }
    let (hi, lo) = (
        T::binary(BinaryOp::Max, a, b),
        T::binary(BinaryOp::Min, a, b),
    );
    let one = T::from_i64(1);
    // Equal infinities would give inf - inf; equal values give hi + ln 2 all the same.
    let gap = if hi == lo {
        T::from_i64(0)
    } else {
        T::binary(BinaryOp::Sub, lo, hi)
    };
    let tail = T::unary(
        Unary::Log,
        T::binary(BinaryOp::Add, one, T::unary(Unary::Exp, gap)),
    );
    T::binary(BinaryOp::Add, hi, tail)
}

/// The accumulator after one more input value.
#[inline(always)]
fn combine<T: Bounded>(op: ReduceOp, acc: T, v: T) -> T {
    let add = |a, b| T::binary(BinaryOp::Add, a, b);
    match op {
        ReduceOp::Sum | ReduceOp::Mean | ReduceOp::LogSum => add(acc, v),
        ReduceOp::Max => T::binary(BinaryOp::Max, acc, v),
        ReduceOp::Min => T::binary(BinaryOp::Min, acc, v),
        ReduceOp::Prod => T::binary(BinaryOp::Mul, acc, v),
        ReduceOp::L1 => add(acc, T::unary(Unary::Abs, v)),
        ReduceOp::L2 | ReduceOp::SumSquare => add(acc, T::binary(BinaryOp::Mul, v, v)),
        ReduceOp::LogSumExp => log_add_exp(acc, v),
    }
}

/// `y[o] = op over the x that reduce to o`.
#[inline(always)]
pub fn reduce<T: Bounded>(p: Reduce, x: &[T], y: &mut [T]) {
    let start = match p.op {
        ReduceOp::Max | ReduceOp::LogSumExp => T::LOWEST,
        ReduceOp::Min => T::HIGHEST,
        ReduceOp::Prod => T::from_i64(1),
        _ => T::from_i64(0),
    };
    y.fill(start);
    let [n0, n1, n2, n3, n4, n5] = p.shape;
    let s = p.y_strides;
    let mut at = 0;
    for i0 in 0..n0 {
        for i1 in 0..n1 {
            for i2 in 0..n2 {
                for i3 in 0..n3 {
                    for i4 in 0..n4 {
                        let base =
                            i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3] + i4 * s[4];
                        let row = &x[at..at + n5];
                        at += n5;
                        if s[5] == 0 {
                            // The innermost axis is reduced: one output element.
                            let mut acc = y[base];
                            for &v in row {
                                acc = combine(p.op, acc, v);
                            }
                            y[base] = acc;
                        } else {
                            for (k, &v) in row.iter().enumerate() {
                                let o = base + k * s[5];
                                y[o] = combine(p.op, y[o], v);
                            }
                        }
                    }
                }
            }
        }
    }
    match p.op {
        ReduceOp::Mean => {
            let n = T::from_i64(p.count as i64);
            for v in y.iter_mut() {
                *v = T::binary(BinaryOp::Div, *v, n);
            }
        }
        ReduceOp::L2 => {
            for v in y.iter_mut() {
                *v = T::unary(Unary::Sqrt, *v);
            }
        }
        ReduceOp::LogSum => {
            for v in y.iter_mut() {
                *v = T::unary(Unary::Log, *v);
            }
        }
        _ => {}
    }
}

/// The cumulative sum along the middle axis of an `[outer, len, inner]` view.
#[derive(Clone, Copy, Debug)]
pub struct CumSum {
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
    /// Leave each element out of its own sum.
    pub exclusive: bool,
    /// Sum from the end of the axis.
    pub reverse: bool,
}

/// Each row of the axis is the previous row of the output plus one row of the input (the
/// previous input row when exclusive, this one otherwise).
#[inline(always)]
pub fn cumsum<T: Number>(p: CumSum, x: &[T], y: &mut [T]) {
    let row = |o: usize, step: usize| {
        let k = if p.reverse { p.len - 1 - step } else { step };
        (o * p.len + k) * p.inner
    };
    for o in 0..p.outer {
        for step in 0..p.len {
            let here = row(o, step);
            if step == 0 {
                for i in 0..p.inner {
                    y[here + i] = if p.exclusive {
                        T::from_i64(0)
                    } else {
                        x[here + i]
                    };
                }
                continue;
            }
            let before = row(o, step - 1);
            let term = if p.exclusive { before } else { here };
            for i in 0..p.inner {
                y[here + i] = T::binary(BinaryOp::Add, y[before + i], x[term + i]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::op::ReduceFn;
    use crate::ir::{TensorData, strides_of};
    use crate::kernels::test_support::{assert_close, floats};
    use proptest::prelude::*;

    /// The kernel's parameters for reducing `axes` of `shape`, as the back end builds them
    /// (without merging axes, which the back end does and the kernel does not need).
    fn params(op: ReduceOp, shape: &[usize], axes: &[usize]) -> Reduce {
        let kept: Vec<usize> = shape
            .iter()
            .enumerate()
            .map(|(d, &n)| if axes.contains(&d) { 1 } else { n })
            .collect();
        let out_strides = strides_of(&kept);
        let mut p = Reduce {
            op,
            shape: [1; MAX_RANK],
            y_strides: [0; MAX_RANK],
            count: axes.iter().map(|&d| shape[d]).product(),
        };
        let pad = MAX_RANK - shape.len();
        for d in 0..shape.len() {
            p.shape[pad + d] = shape[d];
            p.y_strides[pad + d] = if axes.contains(&d) { 0 } else { out_strides[d] };
        }
        p
    }

    const OPS: [(ReduceOp, ReduceFn); 10] = [
        (ReduceOp::Sum, ReduceFn::Sum),
        (ReduceOp::Mean, ReduceFn::Mean),
        (ReduceOp::Max, ReduceFn::Max),
        (ReduceOp::Min, ReduceFn::Min),
        (ReduceOp::Prod, ReduceFn::Prod),
        (ReduceOp::L1, ReduceFn::L1),
        (ReduceOp::L2, ReduceFn::L2),
        (ReduceOp::LogSum, ReduceFn::LogSum),
        (ReduceOp::LogSumExp, ReduceFn::LogSumExp),
        (ReduceOp::SumSquare, ReduceFn::SumSquare),
    ];

    /// Shapes of rank 1 to 5 with sizes up to 4, now and then 0 (an empty tensor, and an
    /// empty set to reduce when the 0 is on a reduced axis), and axes to reduce.
    fn shape_and_axes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        let size = prop_oneof![9 => 1..5usize, 1 => Just(0usize)];
        prop::collection::vec(size, 1..6).prop_flat_map(|shape| {
            let rank = shape.len();
            (Just(shape), prop::collection::vec(any::<bool>(), rank)).prop_map(
                |(shape, mask)| {
                    let axes = (0..shape.len()).filter(|&d| mask[d]).collect();
                    (shape, axes)
                },
            )
        })
    }

    #[test]
    fn reductions_over_an_empty_set_give_the_identity() {
        // [2, 0, 4] reduced over axis 1: eight output elements, each over no values.
        let p = |op| params(op, &[2, 0, 4], &[1]);
        let expected = [
            (ReduceOp::Sum, 0.0),
            (ReduceOp::Max, f32::NEG_INFINITY),
            (ReduceOp::Min, f32::INFINITY),
            (ReduceOp::Prod, 1.0),
            (ReduceOp::L1, 0.0),
            (ReduceOp::L2, 0.0),
            (ReduceOp::LogSum, f32::NEG_INFINITY),
            (ReduceOp::LogSumExp, f32::NEG_INFINITY),
            (ReduceOp::SumSquare, 0.0),
        ];
        for (op, value) in expected {
            let mut y = [f32::NAN; 8];
            reduce(p(op), &[], &mut y);
            assert_eq!(y, [value; 8], "{op:?}");
        }
        let mut y = [0i16; 8];
        reduce(p(ReduceOp::Max), &[], &mut y);
        assert_eq!(y, [i16::MIN; 8]);
        reduce(p(ReduceOp::Min), &[], &mut y);
        assert_eq!(y, [i16::MAX; 8]);
        let mut y = [true; 8];
        reduce(p(ReduceOp::Max), &[], &mut y);
        assert_eq!(y, [false; 8]);
        // A 0 on a kept axis: no output elements, nothing to do.
        reduce(params(ReduceOp::Sum, &[2, 0, 4], &[2]), &[], &mut [0f32; 0]);
    }

    proptest! {
        #[test]
        fn float_reductions_match_the_reference((shape, axes) in shape_and_axes(), which in 0..10usize, seed in any::<u64>()) {
            let (op, f) = OPS[which];
            let n: usize = shape.iter().product();
            // Positive sums for LogSum; factors of at most 1 keep products in range.
            let x: Vec<f32> = floats(seed, n).iter().map(|&v| match f {
                ReduceFn::LogSum => v.abs() + 0.1,
                ReduceFn::Prod => v,
                _ => v * 2.0,
            }).collect();
            let TensorData::F32(expected) = crate::eval::reduce::reduce(f, &Value::f32(shape.clone(), x.clone()), &axes).unwrap() else { unreachable!() };
            let mut y = vec![f32::NAN; expected.len()];
            reduce(params(op, &shape, &axes), &x, &mut y);
            assert_close(&y, &expected, 1e-4);
            // f64 too.
            let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let TensorData::F64(expected) = crate::eval::reduce::reduce(f, &Value::new(shape.clone(), TensorData::F64(x64.clone())), &axes).unwrap() else { unreachable!() };
            let mut y = vec![f64::NAN; expected.len()];
            reduce(params(op, &shape, &axes), &x64, &mut y);
            for (a, e) in y.iter().zip(&expected) {
                let same = a == e || (a.is_nan() && e.is_nan());
                prop_assert!(same || (a - e).abs() <= 1e-5 * e.abs().max(1.0), "{a} vs {e}");
            }
        }

        #[test]
        fn integer_and_bool_reductions_match_the_reference((shape, axes) in shape_and_axes(), which in 0..6usize, values in prop::collection::vec(any::<i32>(), 1024)) {
            let (op, f) = [OPS[0], OPS[1], OPS[2], OPS[3], OPS[4], OPS[9]][which];
            let n: usize = shape.iter().product();
            let x: Vec<i32> = values[..n].to_vec();
            let expected = crate::eval::reduce::reduce(f, &Value::new(shape.clone(), TensorData::I32(x.clone())), &axes).unwrap();
            let mut y = vec![0i32; expected.len()];
            reduce(params(op, &shape, &axes), &x, &mut y);
            prop_assert_eq!(TensorData::I32(y), expected);
            if matches!(op, ReduceOp::Max | ReduceOp::Min) {
                let b: Vec<bool> = x.iter().map(|v| v % 3 == 0).collect();
                let expected = crate::eval::reduce::reduce(f, &Value::new(shape.clone(), TensorData::Bool(b.clone())), &axes).unwrap();
                let mut y = vec![false; expected.len()];
                reduce(params(op, &shape, &axes), &b, &mut y);
                prop_assert_eq!(TensorData::Bool(y), expected);
            }
        }

        #[test]
        fn cumsum_matches_the_reference(outer in 1..4usize, len in 1..8usize, inner in 1..4usize, exclusive in any::<bool>(), reverse in any::<bool>(), seed in any::<u64>()) {
            let x = floats(seed, outer * len * inner);
            let TensorData::F32(expected) = crate::eval::reduce::cumsum(&Value::f32(vec![outer, len, inner], x.clone()), 1, exclusive, reverse).unwrap() else { unreachable!() };
            let mut y = vec![f32::NAN; x.len()];
            cumsum(CumSum { outer, len, inner, exclusive, reverse }, &x, &mut y);
            assert_close(&y, &expected, 1e-5);
            let xi: Vec<i64> = x.iter().map(|v| (v * 1000.0) as i64).collect();
            let expected = crate::eval::reduce::cumsum(&Value::new(vec![outer, len, inner], TensorData::I64(xi.clone())), 1, exclusive, reverse).unwrap();
            let mut y = vec![0i64; xi.len()];
            cumsum(CumSum { outer, len, inner, exclusive, reverse }, &xi, &mut y);
            prop_assert_eq!(TensorData::I64(y), expected);
        }
    }
}
