//! Element-wise kernels on every element type: binary ops with broadcasting, comparisons,
//! `Where`, one-input functions (activations included) and casts; per-channel affine maps.
//!
//! Broadcasting is described by an iteration space of up to [`MAX_RANK`] axes and the stride of
//! each operand along each axis (0 where it is broadcast). The back end merges adjacent axes
//! first, so most ops become one or two axes; the innermost loop is specialised for the stride
//! patterns that vectorise (both contiguous, or one operand constant along it).
//!
//! The [`Number`] trait says what each op means on each element type, as ONNX defines it:
//! IEEE arithmetic on floats; wrapping arithmetic on integers, with division truncating toward
//! zero (a division by zero gives 0 rather than a panic: ONNX leaves it undefined); logical
//! ops on bool. A kernel monomorphised for one type keeps only that type's arms.

use super::activation::Activation;
use super::math;
use super::math64;

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
    Pow,
    /// Maximum and minimum; a NaN operand gives NaN.
    Max,
    Min,
    /// Remainder with the sign of the divisor (Python's `%`).
    Mod,
    /// Remainder with the sign of the dividend (C's `fmod`).
    Fmod,
    And,
    Or,
    Xor,
}

/// One-input element-wise functions.
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
    Abs,
    Neg,
    /// -1, 0 or 1 (a float zero keeps its sign, NaN stays NaN).
    Sign,
    Sqrt,
    Exp,
    Log,
    Floor,
    Ceil,
    /// Half to even.
    Round,
    Reciprocal,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `x * tanh(softplus(x))`.
    Mish,
    /// `x` if `x >= 0`, else `alpha * (e^x - 1)`.
    Elu(f32),
    /// `max(0, x) + min(0, alpha * (e^(x / alpha) - 1))`.
    Celu(f32),
    /// `gamma * (x if x > 0 else alpha * (e^x - 1))`.
    Selu(f32, f32),
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Asinh,
    Acosh,
    Atanh,
    Erf,
    /// `x/2 * (1 + erf(x / sqrt(2)))`.
    Gelu,
    /// `x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`.
    GeluTanh,
    /// Logical negation (bool).
    Not,
}

/// Comparisons; the result is bool, and every comparison with NaN is false.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CompareOp {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// An element type of generated code and the arithmetic defined on it.
pub trait Number: Copy + PartialOrd {
    /// Whether the type is `f32` or `f64` (casts go through `f64` from floats, `i64` from
    /// integers).
    const FLOAT: bool;
    fn binary(op: BinaryOp, a: Self, b: Self) -> Self;
    fn unary(op: Unary, x: Self) -> Self;
    fn activate(self, activation: Activation) -> Self;
    fn to_f64(self) -> f64;
    fn to_i64(self) -> i64;
    /// Rust's `as` conversion: floats to integers truncate toward zero and saturate.
    fn from_f64(v: f64) -> Self;
    /// Rust's `as` conversion: integers wrap to the target width.
    fn from_i64(v: i64) -> Self;
}

/// `x` or NaN when either operand is NaN (`f32::max` would return the other operand).
#[inline(always)]
fn nan_or<T: PartialOrd + Copy>(a: T, b: T, x: T) -> T {
    if a.partial_cmp(&a).is_none() {
        a
    } else if b.partial_cmp(&b).is_none() {
        b
    } else {
        x
    }
}

/// The hyperbolic functions and their inverses in single precision, computed in double
/// precision with `math64` and rounded once: a few operations on `f64` keep every cancellation
/// (`e^x - e^-x` near 0, `ln(1 + t)` for small `t`) far below `f32`'s precision. Below 2^-12 in
/// magnitude `sinh`, `asinh` and `atanh` are `x` to within half an ulp of `f32`.
mod hyperbolic {
    use super::math64;

    const TINY: f64 = 1.0 / 4096.0;

    #[inline]
    fn with_sign(x: f32, magnitude: f64) -> f32 {
        let m = magnitude as f32;
        if x < 0.0 {
            return -m;
        }
        m
    }

    pub fn sinh(x: f32) -> f32 {
        let a = (x as f64).abs();
        if a < TINY {
            return x;
        }
        // From 2^-12 up, the cancellation in e^a - e^-a costs at most 2^12 f64 ulps, 2^-40
        // relative, far below f32's precision.
        let e = math64::exp(a);
        with_sign(x, 0.5 * (e - 1.0 / e))
    }

    pub fn cosh(x: f32) -> f32 {
        let e = math64::exp((x as f64).abs());
        (0.5 * (e + 1.0 / e)) as f32
    }

    pub fn asinh(x: f32) -> f32 {
        let a = (x as f64).abs();
        if a < TINY {
            return x;
        }
        with_sign(x, math64::ln(a + math64::sqrt(a * a + 1.0)))
    }

    pub fn acosh(x: f32) -> f32 {
        let a = x as f64;
        // NaN below 1 (the square root of a negative number), like the definition.
        math64::ln(a + math64::sqrt(a * a - 1.0)) as f32
    }

    pub fn atanh(x: f32) -> f32 {
        let a = (x as f64).abs();
        if a < TINY {
            return x;
        }
        // +inf at 1, NaN above (the logarithm of a negative number).
        with_sign(x, 0.5 * math64::ln((1.0 + a) / (1.0 - a)))
    }
}

impl Number for f32 {
    const FLOAT: bool = true;
    #[inline(always)]
    fn binary(op: BinaryOp, a: f32, b: f32) -> f32 {
        match op {
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
            BinaryOp::Pow => math::pow(a, b),
            BinaryOp::Max => nan_or(a, b, if a >= b { a } else { b }),
            BinaryOp::Min => nan_or(a, b, if a <= b { a } else { b }),
            BinaryOp::Fmod => a % b,
            BinaryOp::Mod => {
                let r = a % b;
                if r != 0.0 && (r < 0.0) != (b < 0.0) {
                    r + b
                } else {
                    r
                }
            }
            BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => a,
        }
    }
    #[inline(always)]
    fn unary(op: Unary, x: f32) -> f32 {
        let softplus = |v: f32| {
            if v > 20.0 {
                v
            } else {
                math::ln(1.0 + math::exp(v))
            }
        };
        match op {
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
            Unary::Abs => f32::from_bits(x.to_bits() & 0x7fff_ffff),
            Unary::Neg => -x,
            Unary::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    x
                }
            }
            Unary::Sqrt => math::sqrt(x),
            Unary::Exp => math::exp(x),
            Unary::Log => math::ln(x),
            Unary::Floor => math::floor(x),
            Unary::Ceil => math::ceil(x),
            Unary::Round => math::round_half_to_even(x),
            Unary::Reciprocal => 1.0 / x,
            Unary::Softplus => softplus(x),
            Unary::Softsign => x / (1.0 + f32::from_bits(x.to_bits() & 0x7fff_ffff)),
            Unary::Mish => x * math::tanh(softplus(x)),
            Unary::Elu(alpha) => {
                if x < 0.0 {
                    alpha * (math::exp(x) - 1.0)
                } else {
                    x
                }
            }
            Unary::Celu(alpha) => {
                x.max(0.0) + (alpha * (math::exp(x / alpha) - 1.0)).min(0.0)
            }
            Unary::Selu(alpha, gamma) => {
                if x > 0.0 {
                    gamma * x
                } else {
                    gamma * alpha * (math::exp(x) - 1.0)
                }
            }
            Unary::Sin => math::sin(x),
            Unary::Cos => math::cos(x),
            Unary::Tan => math::tan(x),
            Unary::Asin => math::asin(x),
            Unary::Acos => math::acos(x),
            Unary::Atan => math::atan(x),
            Unary::Sinh => hyperbolic::sinh(x),
            Unary::Cosh => hyperbolic::cosh(x),
            Unary::Asinh => hyperbolic::asinh(x),
            Unary::Acosh => hyperbolic::acosh(x),
            Unary::Atanh => hyperbolic::atanh(x),
            Unary::Erf => math::erf(x),
            Unary::Gelu => {
                0.5 * x * (1.0 + math::erf(x * core::f32::consts::FRAC_1_SQRT_2))
            }
            Unary::GeluTanh => {
                // sqrt(2 / pi)
                const K: f32 = 0.797_884_6;
                0.5 * x * (1.0 + math::tanh(K * (x + 0.044_715 * x * x * x)))
            }
            Unary::Not => x,
        }
    }
    #[inline(always)]
    fn activate(self, activation: Activation) -> f32 {
        activation.apply(self)
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self as i64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> f32 {
        v as f32
    }
    #[inline(always)]
    fn from_i64(v: i64) -> f32 {
        v as f32
    }
}

impl Number for f64 {
    const FLOAT: bool = true;
    #[inline(always)]
    fn binary(op: BinaryOp, a: f64, b: f64) -> f64 {
        match op {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Max => nan_or(a, b, if a >= b { a } else { b }),
            BinaryOp::Min => nan_or(a, b, if a <= b { a } else { b }),
            BinaryOp::Fmod => a % b,
            BinaryOp::Mod => {
                let r = a % b;
                if r != 0.0 && (r < 0.0) != (b < 0.0) {
                    r + b
                } else {
                    r
                }
            }
            // The rest in single precision, the precision of the math library.
            op => f32::binary(op, a as f32, b as f32) as f64,
        }
    }
    #[inline(always)]
    fn unary(op: Unary, x: f64) -> f64 {
        match op {
            Unary::Relu => x.max(0.0),
            Unary::Abs => f64::from_bits(x.to_bits() & 0x7fff_ffff_ffff_ffff),
            Unary::Neg => -x,
            Unary::Reciprocal => 1.0 / x,
            Unary::Clip(min, max) => x.max(min as f64).min(max as f64),
            Unary::Sqrt => math64::sqrt(x),
            Unary::Exp => math64::exp(x),
            Unary::Log => math64::ln(x),
            Unary::Tanh => math64::tanh(x),
            Unary::Sigmoid => math64::sigmoid(x),
            Unary::Floor => math64::floor(x),
            Unary::Ceil => math64::ceil(x),
            Unary::Round => math64::round_half_to_even(x),
            Unary::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    x
                }
            }
            // The rest in single precision: `math64` has no trigonometric, hyperbolic or
            // error function yet.
            op => f32::unary(op, x as f32) as f64,
        }
    }
    #[inline(always)]
    fn activate(self, activation: Activation) -> f64 {
        match activation {
            Activation::None => self,
            other => other.apply(self as f32) as f64,
        }
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self as i64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> f64 {
        v
    }
    #[inline(always)]
    fn from_i64(v: i64) -> f64 {
        v as f64
    }
}

/// The integer types: wrapping arithmetic, truncating division.
macro_rules! integer_number {
    ($($t:ty),*) => {$(
        impl Number for $t {
            const FLOAT: bool = false;
            #[inline(always)]
            fn binary(op: BinaryOp, a: $t, b: $t) -> $t {
                match op {
                    BinaryOp::Add => a.wrapping_add(b),
                    BinaryOp::Sub => a.wrapping_sub(b),
                    BinaryOp::Mul => a.wrapping_mul(b),
                    BinaryOp::Div => a.checked_div(b).unwrap_or(0),
                    BinaryOp::PRelu => {
                        if a < (0 as $t) {
                            a.wrapping_mul(b)
                        } else {
                            a
                        }
                    }
                    BinaryOp::Pow => integer_pow(a as i64, b as i64) as $t,
                    BinaryOp::Max => {
                        if a >= b {
                            a
                        } else {
                            b
                        }
                    }
                    BinaryOp::Min => {
                        if a <= b {
                            a
                        } else {
                            b
                        }
                    }
                    BinaryOp::Fmod => a.checked_rem(b).unwrap_or(0),
                    BinaryOp::Mod => {
                        let r = a.checked_rem(b).unwrap_or(0);
                        if r != 0 && (r < (0 as $t)) != (b < (0 as $t)) {
                            r.wrapping_add(b)
                        } else {
                            r
                        }
                    }
                    BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => a,
                }
            }
            #[inline(always)]
            fn unary(op: Unary, x: $t) -> $t {
                match op {
                    Unary::Relu => {
                        if x < (0 as $t) {
                            0
                        } else {
                            x
                        }
                    }
                    Unary::Clip(min, max) => {
                        let v = x as f64;
                        if v < min as f64 {
                            min as $t
                        } else if v > max as f64 {
                            max as $t
                        } else {
                            x
                        }
                    }
                    Unary::Abs => {
                        if x < (0 as $t) {
                            (0 as $t).wrapping_sub(x)
                        } else {
                            x
                        }
                    }
                    Unary::Neg => (0 as $t).wrapping_sub(x),
                    Unary::Sign => {
                        if x > (0 as $t) {
                            1
                        } else if x < (0 as $t) {
                            (0 as $t).wrapping_sub(1)
                        } else {
                            0
                        }
                    }
                    _ => x,
                }
            }
            #[inline(always)]
            fn activate(self, activation: Activation) -> $t {
                match activation {
                    Activation::None => self,
                    Activation::Relu => Self::unary(Unary::Relu, self),
                    Activation::Clip(min, max) => Self::unary(Unary::Clip(min, max), self),
                    Activation::LeakyRelu(_) => self,
                }
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn from_f64(v: f64) -> $t {
                v as $t
            }
            #[inline(always)]
            fn from_i64(v: i64) -> $t {
                v as $t
            }
        }
    )*};
}

integer_number!(i8, u8, i16, u16, i32, u32, i64, u64);

/// `a^b` on integers: repeated squaring with wrapping; a negative exponent gives the
/// truncated reciprocal (1 or -1 for a base of 1 or -1, else 0).
#[inline(always)]
fn integer_pow(a: i64, b: i64) -> i64 {
    if b < 0 {
        return match a {
            1 => 1,
            -1 => {
                if b % 2 == 0 {
                    1
                } else {
                    -1
                }
            }
            _ => 0,
        };
    }
    let (mut base, mut e, mut acc) = (a, b, 1i64);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        e >>= 1;
    }
    acc
}

impl Number for bool {
    const FLOAT: bool = false;
    #[inline(always)]
    fn binary(op: BinaryOp, a: bool, b: bool) -> bool {
        match op {
            BinaryOp::And | BinaryOp::Min | BinaryOp::Mul => a & b,
            BinaryOp::Or | BinaryOp::Max | BinaryOp::Add => a | b,
            BinaryOp::Xor => a ^ b,
            _ => a,
        }
    }
    #[inline(always)]
    fn unary(op: Unary, x: bool) -> bool {
        match op {
            Unary::Not => !x,
            _ => x,
        }
    }
    #[inline(always)]
    fn activate(self, _: Activation) -> bool {
        self
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self as i64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> bool {
        v != 0.0
    }
    #[inline(always)]
    fn from_i64(v: i64) -> bool {
        v != 0
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
fn run<A: Copy, B: Copy, Y>(
    (sa, sb): (usize, usize),
    out: &mut [Y],
    a: &[A],
    ao: usize,
    b: &[B],
    bo: usize,
    f: impl Fn(A, B) -> Y,
) {
    let n = out.len();
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
fn for_each_run<const K: usize>(
    shape: [usize; MAX_RANK],
    strides: [[usize; MAX_RANK]; K],
    mut visit: impl FnMut(usize, [usize; K]),
) {
    let [n0, n1, n2, n3, n4, n5] = shape;
    let mut out = 0;
    for i0 in 0..n0 {
        for i1 in 0..n1 {
            for i2 in 0..n2 {
                for i3 in 0..n3 {
                    for i4 in 0..n4 {
                        let mut offsets = [0; K];
                        for (o, s) in offsets.iter_mut().zip(&strides) {
                            *o = i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3] + i4 * s[4];
                        }
                        visit(out, offsets);
                        out += n5;
                    }
                }
            }
        }
    }
}

/// `y = activation(op(a, b))` with broadcasting.
#[inline(always)]
pub fn binary<T: Number>(p: Binary, a: &[T], b: &[T], y: &mut [T]) {
    let n = p.shape[MAX_RANK - 1];
    let inner = (p.a_strides[MAX_RANK - 1], p.b_strides[MAX_RANK - 1]);
    let f = |x: T, v: T| T::binary(p.op, x, v).activate(p.activation);
    for_each_run(p.shape, [p.a_strides, p.b_strides], |out, [ao, bo]| {
        run(inner, &mut y[out..out + n], a, ao, b, bo, f)
    });
}

/// `a = activation(op(a, b))`, where `a` has the output's shape (its strides are contiguous).
#[inline(always)]
pub fn binary_in_place<T: Number>(p: Binary, a: &mut [T], b: &[T]) {
    let n = p.shape[MAX_RANK - 1];
    let sb = p.b_strides[MAX_RANK - 1];
    let f = |x: T, v: T| T::binary(p.op, x, v).activate(p.activation);
    for_each_run(p.shape, [p.b_strides], |out, [bo]| {
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

/// A broadcast comparison (strides as in [`Binary`]).
#[derive(Clone, Copy, Debug)]
pub struct Compare {
    pub op: CompareOp,
    pub shape: [usize; MAX_RANK],
    pub a_strides: [usize; MAX_RANK],
    pub b_strides: [usize; MAX_RANK],
}

/// `y = a op b` with broadcasting.
#[inline(always)]
pub fn compare<T: Number>(p: Compare, a: &[T], b: &[T], y: &mut [bool]) {
    let n = p.shape[MAX_RANK - 1];
    let inner = (p.a_strides[MAX_RANK - 1], p.b_strides[MAX_RANK - 1]);
    let f = |x: T, v: T| match p.op {
        CompareOp::Equal => x == v,
        CompareOp::Less => x < v,
        CompareOp::LessOrEqual => x <= v,
        CompareOp::Greater => x > v,
        CompareOp::GreaterOrEqual => x >= v,
    };
    for_each_run(p.shape, [p.a_strides, p.b_strides], |out, [ao, bo]| {
        run(inner, &mut y[out..out + n], a, ao, b, bo, f)
    });
}

/// `Where`: `y = condition ? a : b` with broadcasting of all three.
#[derive(Clone, Copy, Debug)]
pub struct Select {
    pub shape: [usize; MAX_RANK],
    pub condition_strides: [usize; MAX_RANK],
    pub a_strides: [usize; MAX_RANK],
    pub b_strides: [usize; MAX_RANK],
}

#[inline(always)]
pub fn select<T: Copy>(p: Select, condition: &[bool], a: &[T], b: &[T], y: &mut [T]) {
    let n = p.shape[MAX_RANK - 1];
    let (sc, sa, sb) = (
        p.condition_strides[MAX_RANK - 1],
        p.a_strides[MAX_RANK - 1],
        p.b_strides[MAX_RANK - 1],
    );
    let strides = [p.condition_strides, p.a_strides, p.b_strides];
    for_each_run(p.shape, strides, |out, [co, ao, bo]| {
        for (i, o) in y[out..out + n].iter_mut().enumerate() {
            *o = if condition[co + i * sc] {
                a[ao + i * sa]
            } else {
                b[bo + i * sb]
            };
        }
    });
}

#[inline(always)]
pub fn unary<T: Number>(op: Unary, x: &[T], y: &mut [T]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = T::unary(op, v);
    }
}

#[inline(always)]
pub fn unary_in_place<T: Number>(op: Unary, y: &mut [T]) {
    for v in y.iter_mut() {
        *v = T::unary(op, *v);
    }
}

/// Converts every element, as ONNX `Cast` does between numeric types: floats to integers
/// truncate toward zero (saturating), integers to narrower integers wrap, anything to bool is
/// "not zero".
#[inline(always)]
pub fn cast<A: Number, B: Number>(x: &[A], y: &mut [B]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = if A::FLOAT {
            B::from_f64(v.to_f64())
        } else {
            B::from_i64(v.to_i64())
        };
    }
}

/// The value of a float16 bit pattern (exact: every float16 is an `f64`).
#[inline]
pub fn f16_to_f64(h: u16) -> f64 {
    let exponent = ((h >> 10) & 0x1f) as i64;
    let mantissa = (h & 0x3ff) as f64;
    let magnitude = match exponent {
        // Subnormal: mantissa * 2^-24.
        0 => mantissa * (1.0 / 16_777_216.0),
        31 if mantissa == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        // (1024 + mantissa) * 2^(exponent - 25), the power of two built from its bits.
        _ => (1024.0 + mantissa) * f64::from_bits(((exponent - 25 + 1023) as u64) << 52),
    };
    if h & 0x8000 != 0 {
        return -magnitude;
    }
    magnitude
}

/// The float16 nearest to `v` (ties to even), as its bit pattern: infinity beyond the largest
/// float16 (65504) and its rounding margin, subnormals below 2^-14, NaN kept.
#[inline]
pub fn f16_from_f64(v: f64) -> u16 {
    let sign = ((v.to_bits() >> 48) & 0x8000) as u16;
    let a = f64::from_bits(v.to_bits() & 0x7fff_ffff_ffff_ffff);
    if a.is_nan() {
        return sign | 0x7e00;
    }
    if a >= 65520.0 {
        return sign | 0x7c00;
    }
    // q counts units of the float16 spacing at a's magnitude; scaling by a power of two is
    // exact, so q is exact too and only the final rounding to an integer loses anything.
    let (base, q) = if a < 1.0 / 16384.0 {
        // Subnormal (or zero): units of 2^-24 from 0.
        (0u16, a * 16_777_216.0)
    } else {
        // 2^e <= a < 2^(e + 1) with -14 <= e <= 15: units of 2^(e - 10) above 2^e.
        let e = ((a.to_bits() >> 52) as i64) - 1023;
        let unit = f64::from_bits(((e - 10 + 1023) as u64) << 52);
        (((e + 15) as u16) << 10, a / unit - 1024.0)
    };
    let whole = q as u16;
    let rest = q - whole as f64;
    let rounded = if rest > 0.5 || (rest == 0.5 && whole & 1 == 1) {
        whole + 1
    } else {
        whole
    };
    // A carry out of the mantissa moves to the next exponent, which is the right result.
    sign | (base + rounded)
}

/// `Cast` from float16 (bit patterns) to any type.
#[inline(always)]
pub fn cast_from_f16<B: Number>(x: &[u16], y: &mut [B]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = B::from_f64(f16_to_f64(v));
    }
}

/// `Cast` from any type to float16 (bit patterns), rounding to nearest even.
#[inline(always)]
pub fn cast_to_f16<A: Number>(x: &[A], y: &mut [u16]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = if A::FLOAT {
            f16_from_f64(v.to_f64())
        } else {
            f16_from_f64(v.to_i64() as f64)
        };
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

    /// Relative error in units of `f32` epsilon, against a reference computed in `f64`.
    fn rel_err(got: f32, want: f64) -> f64 {
        if want.is_nan() {
            return if got.is_nan() { 0.0 } else { f64::INFINITY };
        }
        if want.is_infinite() || (want.abs() > f32::MAX as f64) {
            return if got as f64 == want || got.is_infinite() {
                0.0
            } else {
                f64::INFINITY
            };
        }
        ((got as f64 - want) / want.abs().max(f32::MIN_POSITIVE as f64)).abs()
            / f32::EPSILON as f64
    }

    /// Inputs from every exponent, both signs, and special values.
    fn spread() -> Vec<f32> {
        let mut xs = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        let mut bits: u32 = 0x2f00_0000;
        while bits < 0x4300_0000 {
            xs.push(f32::from_bits(bits));
            xs.push(-f32::from_bits(bits));
            bits += 0x0001_3579;
        }
        xs
    }

    #[test]
    fn float16_conversions_round_trip_and_round_to_nearest_even() {
        for h in 0..=u16::MAX {
            let v = f16_to_f64(h);
            if v.is_nan() {
                assert!(f16_from_f64(v) & 0x7c00 == 0x7c00 && f16_from_f64(v) & 0x3ff != 0);
                continue;
            }
            assert_eq!(f16_from_f64(v), h, "{h:#06x} = {v:e}");
            // Halfway to the next float16 up rounds to the even one of the two.
            let next = f16_to_f64(h.wrapping_add(1));
            if h & 0x7fff < 0x7bff && next.is_finite() {
                let mid = (v + next) / 2.0;
                let even = if h & 1 == 0 { h } else { h + 1 };
                assert_eq!(f16_from_f64(mid), even, "halfway above {h:#06x}");
                // Just above halfway rounds up, just below rounds down.
                let above = f64::from_bits(mid.abs().to_bits() + 1).copysign(mid);
                let below = f64::from_bits(mid.abs().to_bits() - 1).copysign(mid);
                let (up, down) = if v.abs() < next.abs() {
                    (h + 1, h)
                } else {
                    (h, h + 1)
                };
                assert_eq!(f16_from_f64(above), up, "above the middle above {h:#06x}");
                assert_eq!(f16_from_f64(below), down, "below the middle above {h:#06x}");
            }
        }
        assert_eq!(f16_from_f64(65519.99), 0x7bff);
        assert_eq!(f16_from_f64(65520.0), 0x7c00);
        assert_eq!(f16_from_f64(-1e300), 0xfc00);
        assert_eq!(f16_from_f64(1e-30), 0);
    }

    #[test]
    fn hyperbolic_functions_are_within_one_ulp() {
        type Case = (Unary, fn(f64) -> f64);
        let cases: [Case; 5] = [
            (Unary::Sinh, f64::sinh),
            (Unary::Cosh, f64::cosh),
            (Unary::Asinh, f64::asinh),
            (Unary::Acosh, f64::acosh),
            (Unary::Atanh, f64::atanh),
        ];
        for (op, reference) in cases {
            for x in spread() {
                let got = f32::unary(op, x);
                let want = reference(x as f64);
                // Rounding the f64 result once costs half an ulp; the f64 evaluation a few
                // f64 ulps, invisible at f32 precision.
                assert!(
                    rel_err(got, want) <= 1.0,
                    "{op:?}({x:e}) = {got:e}, want {want:e}"
                );
            }
        }
    }

    #[test]
    fn trigonometric_and_error_functions_are_wired_to_math() {
        for x in spread() {
            assert_eq!(f32::unary(Unary::Sin, x).to_bits(), math::sin(x).to_bits());
            assert_eq!(f32::unary(Unary::Cos, x).to_bits(), math::cos(x).to_bits());
            assert_eq!(f32::unary(Unary::Tan, x).to_bits(), math::tan(x).to_bits());
            assert_eq!(
                f32::unary(Unary::Asin, x).to_bits(),
                math::asin(x).to_bits()
            );
            assert_eq!(
                f32::unary(Unary::Acos, x).to_bits(),
                math::acos(x).to_bits()
            );
            assert_eq!(
                f32::unary(Unary::Atan, x).to_bits(),
                math::atan(x).to_bits()
            );
            assert_eq!(f32::unary(Unary::Erf, x).to_bits(), math::erf(x).to_bits());
        }
    }

    #[test]
    fn gelu_matches_its_definition() {
        // Reference values from the definitions in f64; erf(x / sqrt 2) = 2 Phi(x) - 1, with the
        // standard normal CDF Phi computed by numeric integration (Simpson, 20 000 steps).
        let phi = |x: f64| {
            let n = 20_000;
            let (a, b) = (-12.0f64, x);
            let h = (b - a) / n as f64;
            let f = |t: f64| (-t * t / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let mut sum = f(a) + f(b);
            for i in 1..n {
                sum += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
            }
            sum * h / 3.0
        };
        for x in [
            -6.0f32, -3.0, -1.5, -0.5, -1e-3, 0.0, 1e-3, 0.25, 1.0, 2.5, 4.0, 10.0,
        ] {
            let exact = x as f64 * phi(x as f64);
            let tanh_form = 0.5
                * x as f64
                * (1.0
                    + ((2.0 / std::f64::consts::PI).sqrt()
                        * (x as f64 + 0.044715 * (x as f64).powi(3)))
                    .tanh());
            for (op, want) in [(Unary::Gelu, exact), (Unary::GeluTanh, tanh_form)] {
                let got = f32::unary(op, x) as f64;
                assert!(
                    (got - want).abs() <= 1e-6 + 1e-5 * want.abs(),
                    "{op:?}({x}) = {got}, want {want}"
                );
            }
        }
    }

    #[test]
    fn double_precision_functions_use_math64() {
        for x in [-700.5f64, -3.25, -1e-9, 0.0, 1e-9, 0.3, 2.0, 37.5, 700.25] {
            assert_eq!(f64::unary(Unary::Exp, x), math64::exp(x));
            assert_eq!(f64::unary(Unary::Tanh, x), math64::tanh(x));
            assert_eq!(f64::unary(Unary::Sigmoid, x), math64::sigmoid(x));
            assert_eq!(f64::unary(Unary::Floor, x), math64::floor(x));
            let a = x.abs();
            assert_eq!(f64::unary(Unary::Log, a), math64::ln(a));
            assert_eq!(f64::unary(Unary::Sqrt, a), math64::sqrt(a));
        }
        // A double keeps digits a float would lose.
        let x = 1.0 + 1e-12;
        assert!((f64::unary(Unary::Log, x) - (x - 1.0)).abs() < 1e-23);
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
