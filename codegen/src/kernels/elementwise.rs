//! Element-wise kernels: binary ops with broadcasting, activations, per-channel affine maps.
//!
//! Broadcasting is described by an iteration space of up to [`MAX_RANK`] axes and the stride of
//! each operand along each axis (0 where it is broadcast). The back end merges adjacent axes
//! first, so most ops become one or two axes; the innermost loop is specialised for the stride
//! patterns that vectorise (both contiguous, or one operand constant along it).

use super::activation::Activation;
use super::math;

/// Axes of the broadcast iteration space.
pub const MAX_RANK: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `a` if `a >= 0`, else `a * b` (`b` is the slope).
    PRelu,
}

impl BinaryOp {
    #[inline(always)]
    pub fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::PRelu => {
                if a < 0.0 {
                    a * b
                } else {
                    a
                }
            }
        }
    }
}

/// A broadcast binary op. `shape` is the output's iteration space (leading axes padded with 1);
/// strides are in elements.
#[derive(Clone, Copy, Debug)]
pub struct Binary {
    pub op: BinaryOp,
    pub shape: [usize; MAX_RANK],
    pub a_strides: [usize; MAX_RANK],
    pub b_strides: [usize; MAX_RANK],
    pub activation: Activation,
}

/// One run of the innermost axis: `out[i] = f(a[ao + i * sa], b[bo + i * sb])`.
#[inline(always)]
fn run(p: &Binary, out: &mut [f32], a: &[f32], ao: usize, b: &[f32], bo: usize) {
    let (sa, sb, n) = (
        p.a_strides[MAX_RANK - 1],
        p.b_strides[MAX_RANK - 1],
        out.len(),
    );
    let f = |x: f32, y: f32| p.activation.apply(p.op.apply(x, y));
    match (sa, sb) {
        (1, 1) => {
            for ((o, &x), &y) in out.iter_mut().zip(&a[ao..ao + n]).zip(&b[bo..bo + n]) {
                *o = f(x, y);
            }
        }
        (1, 0) => {
            let y = b[bo];
            for (o, &x) in out.iter_mut().zip(&a[ao..ao + n]) {
                *o = f(x, y);
            }
        }
        (0, 1) => {
            let x = a[ao];
            for (o, &y) in out.iter_mut().zip(&b[bo..bo + n]) {
                *o = f(x, y);
            }
        }
        _ => {
            for (i, o) in out.iter_mut().enumerate() {
                *o = f(a[ao + i * sa], b[bo + i * sb]);
            }
        }
    }
}

/// Visits every innermost run of the iteration space with the operands' base offsets.
#[inline(always)]
fn for_each_run(p: &Binary, mut visit: impl FnMut(usize, usize, usize)) {
    let [n0, n1, n2, n3, n4, _] = p.shape;
    let (sa, sb) = (p.a_strides, p.b_strides);
    let mut out = 0;
    for i0 in 0..n0 {
        for i1 in 0..n1 {
            for i2 in 0..n2 {
                for i3 in 0..n3 {
                    for i4 in 0..n4 {
                        let ao =
                            i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3] + i4 * sa[4];
                        let bo =
                            i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3] + i4 * sb[4];
                        visit(out, ao, bo);
                        out += p.shape[MAX_RANK - 1];
                    }
                }
            }
        }
    }
}

/// `y = activation(op(a, b))` with broadcasting.
#[inline(always)]
pub fn binary(p: Binary, a: &[f32], b: &[f32], y: &mut [f32]) {
    let n = p.shape[MAX_RANK - 1];
    for_each_run(&p, |out, ao, bo| {
        run(&p, &mut y[out..out + n], a, ao, b, bo)
    });
}

/// `a = activation(op(a, b))`, where `a` has the output's shape (its strides are contiguous).
#[inline(always)]
pub fn binary_in_place(p: Binary, a: &mut [f32], b: &[f32]) {
    let n = p.shape[MAX_RANK - 1];
    let sb = p.b_strides[MAX_RANK - 1];
    let f = |x: f32, y: f32| p.activation.apply(p.op.apply(x, y));
    for_each_run(&p, |out, _, bo| {
        let row = &mut a[out..out + n];
        if sb == 0 {
            let y = b[bo];
            for x in row.iter_mut() {
                *x = f(*x, y);
            }
        } else {
            for (i, x) in row.iter_mut().enumerate() {
                *x = f(*x, b[bo + i * sb]);
            }
        }
    });
}

/// Activations and other one-input element-wise functions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
    Relu,
    LeakyRelu(f32),
    Clip(f32, f32),
    Sigmoid,
    /// `clamp(alpha * x + beta, 0, 1)`.
    HardSigmoid(f32, f32),
    /// `x * clamp(x / 6 + 1 / 2, 0, 1)`.
    HardSwish,
    Tanh,
}

impl Unary {
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Unary::Relu => x.max(0.0),
            Unary::LeakyRelu(alpha) => {
                if x < 0.0 {
                    alpha * x
                } else {
                    x
                }
            }
            Unary::Clip(min, max) => x.max(min).min(max),
            Unary::Sigmoid => math::sigmoid(x),
            Unary::HardSigmoid(alpha, beta) => (alpha * x + beta).clamp(0.0, 1.0),
            Unary::HardSwish => x * (x * (1.0 / 6.0) + 0.5).clamp(0.0, 1.0),
            Unary::Tanh => math::tanh(x),
        }
    }
}

#[inline(always)]
pub fn unary(op: Unary, x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = op.apply(v);
    }
}

#[inline(always)]
pub fn unary_in_place(op: Unary, y: &mut [f32]) {
    for v in y.iter_mut() {
        *v = op.apply(*v);
    }
}

/// `y = x * scale[c] + shift[c]` for channel `c` of an `[outer, channels, inner]` tensor
/// (inference batch normalisation, with `scale` and `shift` computed at compile time).
#[derive(Clone, Copy, Debug)]
pub struct ChannelAffine {
    pub outer: usize,
    pub channels: usize,
    pub inner: usize,
}

#[inline(always)]
pub fn channel_affine(
    p: ChannelAffine,
    x: &[f32],
    scale: &[f32],
    shift: &[f32],
    y: &mut [f32],
) {
    for o in 0..p.outer {
        for c in 0..p.channels {
            let base = (o * p.channels + c) * p.inner;
            let (s, t) = (scale[c], shift[c]);
            for (out, &v) in y[base..base + p.inner]
                .iter_mut()
                .zip(&x[base..base + p.inner])
            {
                *out = v * s + t;
            }
        }
    }
}

#[inline(always)]
pub fn channel_affine_in_place(
    p: ChannelAffine,
    y: &mut [f32],
    scale: &[f32],
    shift: &[f32],
) {
    for o in 0..p.outer {
        for c in 0..p.channels {
            let base = (o * p.channels + c) * p.inner;
            let (s, t) = (scale[c], shift[c]);
            for v in y[base..base + p.inner].iter_mut() {
                *v = *v * s + t;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::op::{BinaryAttrs, ClipAttrs, HardSigmoidAttrs, LeakyReluAttrs};
    use crate::ir::shape::{broadcast_shapes, broadcast_strides};
    use crate::ir::{Op, TensorData};
    use crate::kernels::test_support::{assert_close, floats};
    use proptest::prelude::*;

    /// Pads a shape (or strides) at the front to MAX_RANK entries.
    fn pad6(v: &[usize], fill: usize) -> [usize; MAX_RANK] {
        let mut out = [fill; MAX_RANK];
        out[MAX_RANK - v.len()..].copy_from_slice(v);
        out
    }

    fn shape() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(1..4usize, 0..5)
    }

    /// Makes `b` broadcast-compatible with `a` by replacing some of its axes with 1 and dropping
    /// some leading axes.
    fn broadcastable(a: Vec<usize>, mask: Vec<bool>, drop: usize) -> Vec<usize> {
        let b: Vec<usize> = a
            .iter()
            .zip(mask)
            .map(|(&d, keep)| if keep { d } else { 1 })
            .collect();
        b[drop.min(b.len())..].to_vec()
    }

    proptest! {
        #[test]
        fn binary_broadcasting_matches_the_reference(
            a_shape in shape(), mask in prop::collection::vec(any::<bool>(), 5), drop in 0..3usize,
            swap in any::<bool>(), op in 0..5usize, seed in any::<u64>(), in_place in any::<bool>(),
        ) {
            let mut b_shape = broadcastable(a_shape.clone(), mask[..a_shape.len()].to_vec(), drop);
            let mut a_shape = a_shape;
            if swap && op != 4 && !in_place {
                std::mem::swap(&mut a_shape, &mut b_shape);
            }
            let out_shape = broadcast_shapes(&a_shape, &b_shape).unwrap();
            let (ir_op, kernel_op) = [
                (Op::Add(BinaryAttrs::default()), BinaryOp::Add),
                (Op::Sub(BinaryAttrs::default()), BinaryOp::Sub),
                (Op::Mul(BinaryAttrs::default()), BinaryOp::Mul),
                (Op::Div(BinaryAttrs::default()), BinaryOp::Div),
                (Op::PRelu, BinaryOp::PRelu),
            ][op].clone();
            let a = floats(seed, a_shape.iter().product());
            let b: Vec<f32> = floats(seed ^ 7, b_shape.iter().product()).iter().map(|v| if op == 3 { v + 2.0 } else { *v }).collect();
            let expected = crate::eval::nn::binary(&ir_op, &Value::f32(a_shape.clone(), a.clone()), &Value::f32(b_shape.clone(), b.clone()), &out_shape).unwrap();
            let TensorData::F32(expected) = expected else { unreachable!() };
            let p = Binary {
                op: kernel_op,
                shape: pad6(&out_shape, 1),
                a_strides: pad6(&broadcast_strides(&a_shape, &out_shape), 0),
                b_strides: pad6(&broadcast_strides(&b_shape, &out_shape), 0),
                activation: Activation::None,
            };
            if in_place && a_shape == out_shape {
                let mut y = a.clone();
                binary_in_place(p, &mut y, &b);
                assert_close(&y, &expected, 1e-6);
            } else {
                let mut y = vec![f32::NAN; expected.len()];
                binary(p, &a, &b, &mut y);
                assert_close(&y, &expected, 1e-6);
            }
        }

        #[test]
        fn unary_ops_match_the_reference(x in prop::collection::vec(-20.0f32..20.0, 1..64), which in 0..7usize) {
            let (ir_op, op) = [
                (Op::Relu, Unary::Relu),
                (Op::LeakyRelu(LeakyReluAttrs { alpha: 0.1 }), Unary::LeakyRelu(0.1)),
                (Op::Clip(ClipAttrs { min: -1.0, max: 6.0 }), Unary::Clip(-1.0, 6.0)),
                (Op::Sigmoid, Unary::Sigmoid),
                (Op::HardSigmoid(HardSigmoidAttrs { alpha: 0.25, beta: 0.4 }), Unary::HardSigmoid(0.25, 0.4)),
                (Op::HardSwish, Unary::HardSwish),
                (Op::Tanh, Unary::Tanh),
            ][which].clone();
            let expected = crate::eval::nn::unary(&ir_op, &Value::f32(vec![x.len()], x.clone())).unwrap();
            let mut y = vec![0.0; x.len()];
            unary(op, &x, &mut y);
            assert_close(&y, &expected, 1e-6);
            let mut z = x.clone();
            unary_in_place(op, &mut z);
            assert_eq!(y, z);
        }
    }
}
