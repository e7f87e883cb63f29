//! Element-wise ops on every element type, as the ONNX operator definitions state them.
//!
//! Float tensors (`f32`, `f64`) compute each value in `f64` with `std`'s functions and round
//! once to the tensor's type; for the basic arithmetic that double rounding gives exactly the
//! `f32` result. Integer tensors compute in `i64` with wrapping arithmetic and convert back with
//! the wrapping conversion C and ONNX runtimes use; bool tensors take the logical ops.

use crate::eval::Value;
use crate::ir::op::{BinaryFn, CompareFn, UnaryFn};
use crate::ir::shape::broadcast_strides;
use crate::ir::{DType, TensorData, strides_of};

type R<T> = Result<T, String>;

/// For each output element, the offset of the corresponding element of every operand.
fn broadcast_offsets(shapes: &[&[usize]], out_shape: &[usize]) -> Vec<Vec<usize>> {
    let strides: Vec<Vec<usize>> = shapes
        .iter()
        .map(|s| broadcast_strides(s, out_shape))
        .collect();
    let out_strides = strides_of(out_shape);
    let n: usize = out_shape.iter().product();
    (0..n)
        .map(|i| {
            strides
                .iter()
                .map(|st| {
                    (0..out_shape.len())
                        .map(|d| (i / out_strides[d]) % out_shape[d] * st[d])
                        .sum()
                })
                .collect()
        })
        .collect()
}

/// The error function, by the series of its Taylor expansion for small arguments and the
/// continued fraction of `erfc` for large ones (both to full `f64` precision).
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    let value = if a < 2.5 {
        // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
        let (mut term, mut sum, mut n) = (a, a, 0.0f64);
        while term.abs() > 1e-17 * sum.abs() {
            n += 1.0;
            term *= -a * a / n;
            sum += term / (2.0 * n + 1.0);
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else if a < 27.0 {
        // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
        let mut f = 0.0f64;
        for k in (1..120).rev() {
            f = (k as f64 / 2.0) / (a + f);
        }
        1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + f)
    } else {
        1.0
    };
    value.copysign(x)
}

/// One value of a float unary function.
pub fn unary_f64(f: UnaryFn, x: f64) -> f64 {
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let softplus = |v: f64| {
        if v > 30.0 { v } else { v.exp().ln_1p() }
    };
    match f {
        UnaryFn::Relu => x.max(0.0),
        UnaryFn::LeakyRelu(alpha) => {
            if x < 0.0 {
                alpha as f64 * x
            } else {
                x
            }
        }
        // NaN stays NaN (f64::max and min would drop it).
        UnaryFn::Clip(min, max) => {
            if x < min as f64 {
                min as f64
            } else if x > max as f64 {
                max as f64
            } else {
                x
            }
        }
        UnaryFn::Sigmoid => sigmoid(x),
        UnaryFn::HardSigmoid(alpha, beta) => {
            (alpha as f64 * x + beta as f64).clamp(0.0, 1.0)
        }
        UnaryFn::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
        UnaryFn::Tanh => x.tanh(),
        UnaryFn::Abs => x.abs(),
        UnaryFn::Neg => -x,
        UnaryFn::Sign => {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        }
        UnaryFn::Sqrt => x.sqrt(),
        UnaryFn::Exp => x.exp(),
        UnaryFn::Log => x.ln(),
        UnaryFn::Sin => x.sin(),
        UnaryFn::Cos => x.cos(),
        UnaryFn::Tan => x.tan(),
        UnaryFn::Asin => x.asin(),
        UnaryFn::Acos => x.acos(),
        UnaryFn::Atan => x.atan(),
        UnaryFn::Sinh => x.sinh(),
        UnaryFn::Cosh => x.cosh(),
        UnaryFn::Asinh => x.asinh(),
        UnaryFn::Acosh => x.acosh(),
        UnaryFn::Atanh => x.atanh(),
        UnaryFn::Erf => erf(x),
        UnaryFn::Floor => x.floor(),
        UnaryFn::Ceil => x.ceil(),
        UnaryFn::Round => x.round_ties_even(),
        UnaryFn::Reciprocal => 1.0 / x,
        UnaryFn::Softplus => softplus(x),
        UnaryFn::Softsign => x / (1.0 + x.abs()),
        UnaryFn::Mish => x * softplus(x).tanh(),
        UnaryFn::Elu(alpha) => {
            if x < 0.0 {
                alpha as f64 * x.exp_m1()
            } else {
                x
            }
        }
        UnaryFn::Celu(alpha) => {
            let a = alpha as f64;
            x.max(0.0) + (a * (x / a).exp_m1()).min(0.0)
        }
        UnaryFn::Selu(alpha, gamma) => {
            gamma as f64
                * if x <= 0.0 {
                    alpha as f64 * x.exp_m1()
                } else {
                    x
                }
        }
        UnaryFn::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
        UnaryFn::GeluTanh => {
            let c = (2.0 / std::f64::consts::PI).sqrt();
            0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
        }
        UnaryFn::Not => (x == 0.0) as u8 as f64,
    }
}

/// One value of an integer unary function (only those with `takes_integers`).
fn unary_i64(f: UnaryFn, x: i64) -> R<i64> {
    Ok(match f {
        UnaryFn::Relu => x.max(0),
        UnaryFn::Clip(min, max) => {
            // Bounds of integer clips are whole numbers; compare in f64 so that huge bounds
            // (the defaults are infinite) need no special case.
            let v = x as f64;
            if v < min as f64 {
                min as i64
            } else if v > max as f64 {
                max as i64
            } else {
                x
            }
        }
        UnaryFn::Abs => x.wrapping_abs(),
        UnaryFn::Neg => x.wrapping_neg(),
        UnaryFn::Sign => x.signum(),
        other => return Err(format!("{other:?} is not defined on integers")),
    })
}

/// A one-input element-wise function.
pub fn unary(f: UnaryFn, x: &Value) -> R<TensorData> {
    let dtype = x.data.dtype();
    match dtype {
        DType::F32 => {
            let xs = x.data.as_f32().expect("f32");
            Ok(TensorData::F32(
                xs.iter().map(|&v| unary_f64(f, v as f64) as f32).collect(),
            ))
        }
        DType::F64 => Ok(TensorData::F64(
            x.data
                .to_f64_vec()
                .into_iter()
                .map(|v| unary_f64(f, v))
                .collect(),
        )),
        DType::Bool if f == UnaryFn::Not => {
            let TensorData::Bool(v) = &x.data else {
                unreachable!("bool")
            };
            Ok(TensorData::Bool(v.iter().map(|b| !b).collect()))
        }
        DType::Bool => Err(format!("{f:?} is not defined on bool")),
        _ => {
            let ints = x.data.to_i64_vec().expect("integers");
            let out = ints
                .into_iter()
                .map(|v| unary_i64(f, v))
                .collect::<R<Vec<_>>>()?;
            Ok(TensorData::I64(out).cast(dtype))
        }
    }
}

fn binary_f64(f: BinaryFn, p: f64, q: f64) -> f64 {
    match f {
        BinaryFn::Add => p + q,
        BinaryFn::Sub => p - q,
        BinaryFn::Mul => p * q,
        BinaryFn::Div => p / q,
        BinaryFn::PRelu => {
            if p < 0.0 {
                p * q
            } else {
                p
            }
        }
        BinaryFn::Pow => p.powf(q),
        // ONNX Max and Min propagate NaN.
        BinaryFn::Max => {
            if p.is_nan() || q.is_nan() {
                f64::NAN
            } else {
                p.max(q)
            }
        }
        BinaryFn::Min => {
            if p.is_nan() || q.is_nan() {
                f64::NAN
            } else {
                p.min(q)
            }
        }
        BinaryFn::Fmod => p % q,
        BinaryFn::Mod => {
            let r = p % q;
            if r != 0.0 && (r < 0.0) != (q < 0.0) {
                r + q
            } else {
                r
            }
        }
        BinaryFn::And | BinaryFn::Or | BinaryFn::Xor => {
            unreachable!("logical ops take bool")
        }
    }
}

fn binary_i64(f: BinaryFn, p: i64, q: i64) -> R<i64> {
    Ok(match f {
        BinaryFn::Add => p.wrapping_add(q),
        BinaryFn::Sub => p.wrapping_sub(q),
        BinaryFn::Mul => p.wrapping_mul(q),
        BinaryFn::Div => {
            if q == 0 {
                return Err("integer division by zero".into());
            }
            p.wrapping_div(q)
        }
        BinaryFn::PRelu => {
            if p < 0 {
                p.wrapping_mul(q)
            } else {
                p
            }
        }
        BinaryFn::Pow => {
            if q < 0 {
                // x^-n is 1/x^n truncated: 1 or -1 for |x| = 1, else 0 (x = 0 has no value;
                // it gives 0 as onnxruntime does).
                match p {
                    1 => 1,
                    -1 => {
                        if q % 2 == 0 {
                            1
                        } else {
                            -1
                        }
                    }
                    _ => 0,
                }
            } else {
                p.wrapping_pow(q.min(u32::MAX as i64) as u32)
            }
        }
        BinaryFn::Max => p.max(q),
        BinaryFn::Min => p.min(q),
        BinaryFn::Fmod | BinaryFn::Mod => {
            if q == 0 {
                return Err("integer modulo by zero".into());
            }
            let r = p.wrapping_rem(q);
            if f == BinaryFn::Mod && r != 0 && (r < 0) != (q < 0) {
                r + q
            } else {
                r
            }
        }
        BinaryFn::And | BinaryFn::Or | BinaryFn::Xor => {
            unreachable!("logical ops take bool")
        }
    })
}

/// A two-input element-wise function with broadcasting; both inputs have one type.
pub fn binary(f: BinaryFn, a: &Value, b: &Value, out_shape: &[usize]) -> R<TensorData> {
    let dtype = a.data.dtype();
    if b.data.dtype() != dtype {
        return Err(format!(
            "{f:?} of {} and {} is not supported",
            dtype,
            b.data.dtype()
        ));
    }
    let offsets = broadcast_offsets(&[&a.shape, &b.shape], out_shape);
    match (&a.data, &b.data) {
        (TensorData::Bool(x), TensorData::Bool(y)) => {
            let g = |p: bool, q: bool| match f {
                BinaryFn::And => Ok(p && q),
                BinaryFn::Or => Ok(p || q),
                BinaryFn::Xor => Ok(p != q),
                BinaryFn::Max => Ok(p || q),
                BinaryFn::Min => Ok(p && q),
                other => Err(format!("{other:?} is not defined on bool")),
            };
            Ok(TensorData::Bool(
                offsets
                    .iter()
                    .map(|o| g(x[o[0]], y[o[1]]))
                    .collect::<R<Vec<_>>>()?,
            ))
        }
        _ if dtype.is_float() => {
            let (x, y) = (a.data.to_f64_vec(), b.data.to_f64_vec());
            let out: Vec<f64> = offsets
                .iter()
                .map(|o| binary_f64(f, x[o[0]], y[o[1]]))
                .collect();
            Ok(TensorData::F64(out).cast(dtype))
        }
        _ => {
            let (x, y) = (
                a.data.to_i64_vec().expect("integers"),
                b.data.to_i64_vec().expect("integers"),
            );
            let out = offsets
                .iter()
                .map(|o| binary_i64(f, x[o[0]], y[o[1]]))
                .collect::<R<Vec<_>>>()?;
            Ok(TensorData::I64(out).cast(dtype))
        }
    }
}

/// A comparison with broadcasting; the result is bool.
pub fn compare(f: CompareFn, a: &Value, b: &Value, out_shape: &[usize]) -> R<TensorData> {
    let offsets = broadcast_offsets(&[&a.shape, &b.shape], out_shape);
    let test = |o: std::cmp::Ordering| match f {
        CompareFn::Equal => o.is_eq(),
        CompareFn::Less => o.is_lt(),
        CompareFn::LessOrEqual => o.is_le(),
        CompareFn::Greater => o.is_gt(),
        CompareFn::GreaterOrEqual => o.is_ge(),
    };
    let out: Vec<bool> = if a.data.dtype().is_float() {
        let (x, y) = (a.data.to_f64_vec(), b.data.to_f64_vec());
        // Every comparison with NaN is false.
        offsets
            .iter()
            .map(|o| x[o[0]].partial_cmp(&y[o[1]]).is_some_and(test))
            .collect()
    } else if a.data.dtype() == DType::U64 {
        let (TensorData::U64(x), TensorData::U64(y)) = (&a.data, &b.data) else {
            return Err("the inputs of a comparison must have one type".into());
        };
        offsets
            .iter()
            .map(|o| test(x[o[0]].cmp(&y[o[1]])))
            .collect()
    } else {
        let (x, y) = (
            a.data.to_i64_vec().ok_or("integers expected")?,
            b.data.to_i64_vec().ok_or("integers expected")?,
        );
        offsets
            .iter()
            .map(|o| test(x[o[0]].cmp(&y[o[1]])))
            .collect()
    };
    Ok(TensorData::Bool(out))
}

/// `Where(condition, x, y)` with broadcasting.
pub fn select(c: &Value, x: &Value, y: &Value, out_shape: &[usize]) -> R<TensorData> {
    let TensorData::Bool(cond) = &c.data else {
        return Err("the condition of Where must be bool".into());
    };
    let offsets = broadcast_offsets(&[&c.shape, &x.shape, &y.shape], out_shape);
    // Pick from the concatenation [x, y]: index i of x, or x's length plus index i of y.
    let n_x = x.data.len();
    let picks: Vec<usize> = offsets
        .iter()
        .map(|o| if cond[o[0]] { o[1] } else { n_x + o[2] })
        .collect();
    let flat = |v: &Value| Value::new(vec![v.data.len()], v.data.clone());
    let joined =
        crate::eval::layout::concat(&[&flat(x), &flat(y)], 0, &[n_x + y.data.len()])?;
    Ok(crate::map_data!(&joined, v => picks.iter().map(|&i| v[i]).collect()))
}
