//! Matrix products: `Gemm` (a dense layer, with bias and fused activation) and batched `MatMul`
//! with broadcast batch dimensions.
//!
//! Both walk `y` row by row and add `a[i][p] * b[p][..]` for each `p`: the innermost loop runs
//! over a contiguous row of `b` and of `y`, which vectorises. The back end stores constant `B`
//! of a `Gemm` as `[k, n]` whatever the model's `transB`, so the transposed path only runs when
//! `B` is computed at run time. `gemm` reads `B` through [`Weights`], so a constant `B` may be
//! stored as int8 or float16 (`--quantize int8-weights`, `fp16`): its output channels are its
//! columns, `n`.

use super::activation::Activation;
use super::weights::Weights;

/// How `C` of a `Gemm` is laid out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bias {
    None,
    /// One value added everywhere.
    Scalar,
    /// `n` values added to every row.
    Row,
    /// `m` values, one per row.
    Column,
    /// `m * n` values.
    Full,
}

/// `y[m, n] = activation(alpha * A' * B' + beta * C)`.
#[derive(Clone, Copy, Debug)]
pub struct Gemm {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub alpha: f32,
    pub beta: f32,
    /// `a` is stored `[k, m]`.
    pub trans_a: bool,
    /// `b` is stored `[n, k]`.
    pub trans_b: bool,
    pub bias: Bias,
    pub activation: Activation,
}

/// Sets row `i` of `y` to `beta * C` as `p.bias` lays `C` out (zero without a bias): where
/// every row's sum starts, here and in the sparse kernels of [`super::sparse`].
#[inline(always)]
pub fn fill_bias(p: Gemm, c: &[f32], i: usize, row: &mut [f32]) {
    let n = p.n;
    match p.bias {
        Bias::None => row.fill(0.0),
        Bias::Scalar => row.fill(p.beta * c[0]),
        Bias::Column => row.fill(p.beta * c[i]),
        Bias::Row => {
            for (o, &v) in row.iter_mut().zip(&c[..n]) {
                *o = p.beta * v;
            }
        }
        Bias::Full => {
            for (o, &v) in row.iter_mut().zip(&c[i * n..(i + 1) * n]) {
                *o = p.beta * v;
            }
        }
    }
}

#[inline(always)]
pub fn gemm(p: Gemm, a: &[f32], b: impl Weights, c: &[f32], y: &mut [f32]) {
    let (m, k, n) = (p.m, p.k, p.n);
    let a = &a[..m * k];
    for i in 0..m {
        let row = &mut y[i * n..(i + 1) * n];
        fill_bias(p, c, i, row);
        if p.trans_b {
            for (j, o) in row.iter_mut().enumerate() {
                let mut acc = 0.0;
                for q in 0..k {
                    let av = if p.trans_a {
                        a[q * m + i]
                    } else {
                        a[i * k + q]
                    };
                    acc += av * b.at(j * k + q, j);
                }
                *o += p.alpha * acc;
            }
        } else {
            for q in 0..k {
                let av = p.alpha
                    * if p.trans_a {
                        a[q * m + i]
                    } else {
                        a[i * k + q]
                    };
                for (o, bv) in row.iter_mut().zip(b.across_channels(q * n, n, 0)) {
                    *o += av * bv;
                }
            }
        }
        p.activation.apply_all(row);
    }
}

/// The float `Gemm` (`a` not transposed) of a layer whose constant `B` is read row by row of
/// its outputs: `row_dot(j, x, acc)` adds the products of output `j`'s weights with the row `x`
/// of `a` to `acc` (which starts as the bias) in increasing `k`, as [`gemm`] adds them, and
/// returns the sum. The sparse kernels ([`super::sparse`]) and unrolled layers (whose
/// `row_dot` has the weights as constants) share these loops, so bias and activation are
/// [`gemm`]'s own.
#[inline(always)]
pub fn gemm_by_rows(
    p: Gemm,
    a: &[f32],
    c: &[f32],
    y: &mut [f32],
    mut row_dot: impl FnMut(usize, &[f32], f32) -> f32,
) {
    let (m, k, n) = (p.m, p.k, p.n);
    for i in 0..m {
        let row = &mut y[i * n..(i + 1) * n];
        fill_bias(p, c, i, row);
        let x = &a[i * k..(i + 1) * k];
        for (j, o) in row.iter_mut().enumerate() {
            *o = row_dot(j, x, *o);
        }
        p.activation.apply_all(row);
    }
}

/// An element type `MatMul` computes on: float32 and float64, and the integer types ONNX allows
/// (int32, int64, uint32, uint64) with wrapping arithmetic.
pub trait MatMulElement: Copy {
    const ZERO: Self;
    /// `acc + a · b`, rounded twice for floats (no fused multiply-add).
    fn multiply_add(acc: Self, a: Self, b: Self) -> Self;
}

macro_rules! float_matmul_element {
    ($($t:ty),*) => {$(
        impl MatMulElement for $t {
            const ZERO: Self = 0.0;
            #[inline(always)]
            fn multiply_add(acc: Self, a: Self, b: Self) -> Self {
                acc + a * b
            }
        }
    )*};
}

macro_rules! integer_matmul_element {
    ($($t:ty),*) => {$(
        impl MatMulElement for $t {
            const ZERO: Self = 0;
            #[inline(always)]
            fn multiply_add(acc: Self, a: Self, b: Self) -> Self {
                acc.wrapping_add(a.wrapping_mul(b))
            }
        }
    )*};
}

float_matmul_element!(f32, f64);
integer_matmul_element!(i32, i64, u32, u64);

/// Batched `y[.., m, n] = a[.., m, k] * b[.., k, n]`; the batch offsets of `a` and `b` are given
/// per batch axis in elements (0 where the operand is broadcast).
#[derive(Clone, Copy, Debug)]
pub struct MatMul {
    pub batch: [usize; 4],
    pub a_strides: [usize; 4],
    pub b_strides: [usize; 4],
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

#[inline(always)]
pub fn matmul<T: MatMulElement>(p: MatMul, a: &[T], b: &[T], y: &mut [T]) {
    let (m, k, n) = (p.m, p.k, p.n);
    let mut out = 0;
    for i0 in 0..p.batch[0] {
        for i1 in 0..p.batch[1] {
            for i2 in 0..p.batch[2] {
                for i3 in 0..p.batch[3] {
                    let ao = i0 * p.a_strides[0]
                        + i1 * p.a_strides[1]
                        + i2 * p.a_strides[2]
                        + i3 * p.a_strides[3];
                    let bo = i0 * p.b_strides[0]
                        + i1 * p.b_strides[1]
                        + i2 * p.b_strides[2]
                        + i3 * p.b_strides[3];
                    let (am, bm) = (&a[ao..ao + m * k], &b[bo..bo + k * n]);
                    for i in 0..m {
                        let row = &mut y[out + i * n..out + (i + 1) * n];
                        row.fill(T::ZERO);
                        for q in 0..k {
                            let av = am[i * k + q];
                            for (o, &bv) in row.iter_mut().zip(&bm[q * n..(q + 1) * n]) {
                                *o = T::multiply_add(*o, av, bv);
                            }
                        }
                    }
                    out += m * n;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::op::GemmAttrs;
    use crate::ir::shape::{broadcast_shapes, broadcast_strides};
    use crate::kernels::test_support::{assert_close, floats};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn gemm_matches_the_reference(
            m in 1..5usize, k in 1..9usize, n in 1..7usize, trans_a in any::<bool>(), trans_b in any::<bool>(),
            bias in 0..5usize, alpha in prop_oneof![Just(1.0f32), -2.0f32..2.0], beta in prop_oneof![Just(1.0f32), -2.0f32..2.0],
            relu in any::<bool>(), seed in any::<u64>(),
        ) {
            let a = floats(seed, m * k);
            let b = floats(seed ^ 1, k * n);
            let (c_shape, kind) = match bias {
                0 => (vec![], Bias::None),
                1 => (vec![n], Bias::Row),
                2 => (vec![], Bias::Scalar),
                3 => (vec![m, 1], Bias::Column),
                _ => (vec![m, n], Bias::Full),
            };
            let c = floats(seed ^ 2, c_shape.iter().product::<usize>());
            let c = if bias == 0 { vec![] } else { c };
            let activation = if relu { crate::ir::Activation::Relu } else { crate::ir::Activation::None };
            let attrs = GemmAttrs { alpha, beta, trans_a, trans_b, activation };
            let a_shape = if trans_a { vec![k, m] } else { vec![m, k] };
            let b_shape = if trans_b { vec![n, k] } else { vec![k, n] };
            let c_value = (bias > 0).then(|| Value::f32(c_shape.clone(), c.clone()));
            let expected = crate::eval::nn::gemm(&attrs, &Value::f32(a_shape, a.clone()), &Value::f32(b_shape, b.clone()),
                c_value.as_ref(), &[m, n]).unwrap();
            let mut y = vec![f32::NAN; m * n];
            let p = Gemm { m, k, n, alpha, beta, trans_a, trans_b, bias: kind,
                activation: if relu { Activation::Relu } else { Activation::None } };
            gemm(p, &a, b.as_slice(), &c, &mut y);
            assert_close(&y, &expected, 1e-5);
        }

        #[test]
        fn batched_matmul_matches_the_reference(
            a_batch in prop::collection::vec(1..3usize, 0..3), b_mask in prop::collection::vec(any::<bool>(), 3),
            m in 1..4usize, k in 1..5usize, n in 1..4usize, seed in any::<u64>(),
        ) {
            let b_batch: Vec<usize> = a_batch.iter().zip(&b_mask).map(|(&d, &keep)| if keep { d } else { 1 }).collect();
            let batch = broadcast_shapes(&a_batch, &b_batch).unwrap();
            let a_shape: Vec<usize> = a_batch.iter().copied().chain([m, k]).collect();
            let b_shape: Vec<usize> = b_batch.iter().copied().chain([k, n]).collect();
            let out_shape: Vec<usize> = batch.iter().copied().chain([m, n]).collect();
            let a = floats(seed, a_shape.iter().product());
            let b = floats(seed ^ 3, b_shape.iter().product());
            let crate::ir::TensorData::F32(expected) = crate::eval::nn::matmul(&Value::f32(a_shape, a.clone()), &Value::f32(b_shape, b.clone()), &out_shape).unwrap() else { unreachable!() };
            let pad4 = |v: &[usize], fill: usize| { let mut o = [fill; 4]; o[4 - v.len()..].copy_from_slice(v); o };
            let a_st: Vec<usize> = broadcast_strides(&a_batch, &batch).iter().map(|s| s * m * k).collect();
            let b_st: Vec<usize> = broadcast_strides(&b_batch, &batch).iter().map(|s| s * k * n).collect();
            let p = MatMul { batch: pad4(&batch, 1), a_strides: pad4(&a_st, 0), b_strides: pad4(&b_st, 0), m, k, n };
            let mut y = vec![f32::NAN; expected.len()];
            matmul(p, &a, &b, &mut y);
            assert_close(&y, &expected, 1e-5);
        }
    }

    /// One `[m, k] × [k, n]` product, no batch axes.
    fn plain(m: usize, k: usize, n: usize) -> MatMul {
        MatMul {
            batch: [1; 4],
            a_strides: [0; 4],
            b_strides: [0; 4],
            m,
            k,
            n,
        }
    }

    #[test]
    fn matmul_computes_float64_like_the_reference() {
        let a: Vec<f64> = (0..6).map(|i| 0.1 + i as f64 / 3.0).collect();
        let b: Vec<f64> = (0..12).map(|i| 1.0 - i as f64 / 7.0).collect();
        let expected = crate::eval::nn::matmul(
            &Value::new(vec![2, 3], crate::ir::TensorData::F64(a.clone())),
            &Value::new(vec![3, 4], crate::ir::TensorData::F64(b.clone())),
            &[2, 4],
        )
        .unwrap();
        let mut y = vec![f64::NAN; 8];
        matmul(plain(2, 3, 4), &a, &b, &mut y);
        assert_eq!(crate::ir::TensorData::F64(y), expected);
    }

    #[test]
    fn matmul_on_integers_wraps_like_the_reference() {
        use crate::ir::TensorData;
        let a = vec![i32::MAX, 2, -3, 4];
        let b = vec![2, 1, 5, -7];
        let mut y = vec![0i32; 4];
        matmul(plain(2, 2, 2), &a, &b, &mut y);
        let expected = crate::eval::nn::matmul(
            &Value::new(vec![2, 2], TensorData::I32(a)),
            &Value::new(vec![2, 2], TensorData::I32(b)),
            &[2, 2],
        )
        .unwrap();
        assert_eq!(TensorData::I32(y.clone()), expected);
        assert_eq!(
            y,
            [
                i32::MAX.wrapping_mul(2).wrapping_add(10),
                i32::MAX - 14,
                14,
                -31
            ]
        );
        let (a, b) = (vec![u64::MAX, 3], vec![2u64, 4]);
        let mut y = vec![0u64; 1];
        matmul(plain(1, 2, 1), &a, &b, &mut y);
        let expected = crate::eval::nn::matmul(
            &Value::new(vec![1, 2], TensorData::U64(a)),
            &Value::new(vec![2, 1], TensorData::U64(b)),
            &[1, 1],
        )
        .unwrap();
        assert_eq!(TensorData::U64(y.clone()), expected);
        assert_eq!(y, [u64::MAX.wrapping_mul(2).wrapping_add(12)]);
    }
}
