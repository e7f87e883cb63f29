//! Single-precision math functions for generated `#![no_std]` code.
//!
//! `core` has no `exp`, `ln`, `tanh`, `sqrt`, `floor`, ... on stable Rust, and generated
//! model code must not depend on `std` or on any crate, so the kernels that need them
//! (activations, softmax, normalisation, rounding casts) call the functions in this file
//! instead. The file is embedded as source text into generated code and is also compiled
//! and tested as a module of the compiler, so it only uses `core`, has no `unsafe`, and has
//! no lookup tables.
//!
//! Everything is computed in `f32` arithmetic (plus a few integer operations on the bit
//! patterns): the targets include microcontrollers whose FPU has no double precision, where
//! an `f64` step would be a slow software routine. Two exceptions: the argument reduction of
//! `sin`, `cos` and `tan` for `|x| >= pi/4` is exact 128-bit integer arithmetic, and `pow`
//! works in `f64` (see their docs for why).
//!
//! Accuracy, measured against the `f64` functions of `std` rounded to `f32` (for `erf`, a
//! test-only `f64` series), over all 2^32 inputs (the `#[ignore]`d tests `exhaustive` and
//! `exhaustive_onnx_functions`, run in release mode); an "ulp" here is the
//! distance between two `f32` values counted in representable values, so subnormal results
//! are held to the same standard as normal ones:
//!
//! | function | measured max error | bound the tests enforce | notes |
//! | --- | --- | --- | --- |
//! | [`exp`] | 1 ulp | 2 ulp | subnormal results right, 0 below -103.97 |
//! | [`ln`] | 1 ulp | 2 ulp | subnormal inputs right; `ln(0) = -inf` |
//! | [`tanh`] | 1 ulp | 3 ulp | exactly odd; saturates to ±1 |
//! | [`sigmoid`] | 2 ulp | 3 ulp | whole range, subnormal results included |
//! | [`sqrt`] | 0 ulp | 0 ulp | correctly rounded |
//! | [`floor`], [`ceil`] | exact | exact | |
//! | [`round_half_to_even`], [`round_half_away_from_zero`] | exact | exact | |
//! | [`sin`], [`cos`] | 1 ulp | 2 ulp | every finite `x`: exact reduction mod `pi/2` |
//! | [`tan`] | 3 ulp | 4 ulp | every finite `x` |
//! | [`asin`], [`acos`] | 1 ulp | 2 ulp | NaN outside [-1, 1] |
//! | [`atan`] | 2 ulp | 3 ulp | `atan(±inf) = ±pi/2` |
//! | [`erf`] | 2 ulp | 2 ulp | relative, also where `erf` is tiny (the 2 ulp are at 3.5e-38); ±1 from 3.93 |
//! | [`pow`] | ≤ 1 ulp (1.2 million grid points, proptest) | 1 ulp | C99 special cases; computed in `f64` |
//!
//! `pow` has two arguments, so it is checked on a grid and with proptest instead of
//! exhaustively. The `f64` counterparts of these functions are in `math64`, under the same
//! names.
//!
//! NaN inputs give NaN everywhere (except `pow(NaN, 0) = pow(1, NaN) = 1`, as in C99). The functions are written to have few branches on the
//! common path, because they run in loops over activations (sigmoid, tanh, softmax).
//!
//! The polynomial coefficients are minimax fits made with a small Remez-exchange script
//! (numpy, 80-bit `longdouble`; for `sin`, `cos`, `atan`, `asin` and `erf` a discrete
//! Remez exchange in `f64` against numpy's `longdouble` functions and Python's `math.erf`),
//! weighted for relative error (absolute for the `erfc` part of `erf`), then rounded to
//! `f32`; each constant is written with the shortest decimal that gives the same `f32`. The
//! bits of `2/pi` and `pi/2` come from Machin's formula in exact integer arithmetic.

use core::f32::consts::LOG2_E;

/// `ln(2)` split in two for Cody-Waite range reduction. `LN2_HI` (0x3f317200) has only 16
/// significant bits, so `k * LN2_HI` is exact for every `|k| < 256` that [`exp`] and [`ln`]
/// use, and `LN2_HI + LN2_LO` equals `ln(2)` to about 2^-43.
const LN2_HI: f32 = 0.693_145_75;
/// `ln(2) - LN2_HI`, 0x35bfbe8e.
const LN2_LO: f32 = 1.428_606_8e-6;

/// 1.5 * 2^23: adding it to a float of magnitude below 2^22 leaves that float rounded to
/// the nearest integer (ties to even) in the low mantissa bits, without a float-to-int
/// conversion.
const ROUND_SHIFT: f32 = 12_582_912.0;

/// 2^23: every `f32` of at least this magnitude is an integer.
const TWO_POW_23: f32 = 8_388_608.0;

/// `2^k` for `-126 <= k <= 127`, built from the bit pattern (other `k` give a meaningless
/// value, without panicking).
#[inline]
fn pow2(k: i32) -> f32 {
    f32::from_bits((k.wrapping_add(127) as u32) << 23)
}

/// `e^x`.
///
/// Range reduction: `x = n ln2 + r` with `n = round(x / ln2)` and `|r| <= ln2 / 2`,
/// computed Cody-Waite style (`x - n LN2_HI` is exact by Sterbenz' lemma), so
/// `e^x = 2^n e^r`. `e^r = 1 + r + r^2 Q(r)` where `Q` is a degree-4 minimax fit to
/// `(e^r - 1 - r) / r^2` on [-0.35, 0.35] (relative error of `e^r` below 2^-28). Adding
/// `1 + r` last keeps the rounding error of the polynomial small against the result.
///
/// The scaling by `2^n` is done as two multiplications, by `2^n1` and `2^(n - n1)` with
/// `n1 = floor(n / 2)`: both factors are normal floats, the first product is exact, so the
/// second is the only rounding. This gives correctly rounded subnormal results (gradual
/// underflow) and lets `n = 128` (results just below `f32::MAX`) through, without a branch.
#[inline]
pub fn exp(x: f32) -> f32 {
    // Beyond these bounds the result is +inf or 0 anyway; clamping keeps n in [-150, 128].
    // `clamp` leaves a NaN as it is.
    let x = x.clamp(-104.0, 89.0);
    let t = x * LOG2_E + ROUND_SHIFT;
    let nf = t - ROUND_SHIFT;
    // n is in the low mantissa bits of t; reading it from the bits (rather than
    // `nf as i32`, a saturating conversion) lets loops of exp vectorise. For a NaN input n
    // is meaningless, but the result is NaN whatever the scale factors are, and the
    // wrapping arithmetic cannot panic.
    let n = t.to_bits().wrapping_sub(ROUND_SHIFT.to_bits()) as i32;
    let r = (x - nf * LN2_HI) - nf * LN2_LO;
    const C2: f32 = 0.499_999_94; // 0x3efffffe
    const C3: f32 = 0.166_665_15; // 0x3e2aaa45
    const C4: f32 = 0.041_668_456; // 0x3d2aac8b
    const C5: f32 = 0.008_369_41; // 0x3c091fda
    const C6: f32 = 0.001_381_316_1; // 0x3ab50d47
    let q = C2 + r * (C3 + r * (C4 + r * (C5 + r * C6)));
    let p = 1.0 + (r + r * r * q);
    let n1 = n >> 1;
    p * pow2(n1) * pow2(n.wrapping_sub(n1))
}

/// Natural logarithm.
///
/// Range reduction: `x = 2^k m` with `m` in [sqrt(2)/2, sqrt(2)) (found with integer
/// operations on the bit pattern), so `ln x = k ln2 + ln(1 + f)` with `f = m - 1` in
/// [-0.293, 0.415], exact. With `s = f / (2 + f)` (|s| <= 0.1716),
/// `ln(1 + f) = 2 atanh(s) = 2s + s R(s^2)`, rewritten as `f - f^2/2 + s (f^2/2 + R)` so
/// that the dominant term `f` is exact and the rounding errors fall on terms that are small
/// against the result, which keeps `ln` accurate near 1. `R(z) = z (L1 + L2 z + L3 z^2)` is
/// a minimax fit to `(2 atanh(s) - 2 s) / s` (relative error of `ln(1 + f)` below 2^-30).
#[inline]
pub fn ln(x: f32) -> f32 {
    let mut bits = x.to_bits();
    let mut k: i32 = 0;
    // One unsigned comparison catches zero, subnormals, negatives, infinity and NaN.
    if bits.wrapping_sub(0x0080_0000) >= 0x7f00_0000 {
        if bits << 1 == 0 {
            return f32::NEG_INFINITY; // ln(±0)
        }
        if bits >= 0x7f80_0000 {
            // +inf and NaN are returned as they are; negative numbers (sign bit set) give
            // NaN.
            return if bits <= 0x7fff_ffff { x } else { f32::NAN };
        }
        // A positive subnormal: scale by 2^25 to make it normal.
        bits = (x * 33_554_432.0).to_bits();
        k = -25;
    }
    // Adding (1.0 - sqrt(2)/2) in bit-pattern terms carries into the exponent exactly when
    // the mantissa of x is at least that of sqrt(2); the mantissa is then rebuilt below
    // with the exponent of [sqrt(2)/2, 1) or [1, sqrt(2)) as appropriate.
    const SQRT_HALF_BITS: u32 = 0x3f35_04f3;
    bits = bits.wrapping_add(0x3f80_0000 - SQRT_HALF_BITS);
    k += (bits >> 23) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) + SQRT_HALF_BITS);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    const L1: f32 = 0.666_667_76; // 0x3f2aaabd
    const L2: f32 = 0.399_775_36; // 0x3eccaf5b
    const L3: f32 = 0.298_718_63; // 0x3e98f1a6
    let r = z * (L1 + z * (L2 + z * L3));
    let hfsq = 0.5 * f * f;
    let kf = k as f32;
    kf * LN2_HI - ((hfsq - (s * (hfsq + r) + kf * LN2_LO)) - f)
}

/// Hyperbolic tangent.
///
/// For `|x| < 0.625` an odd polynomial `x + x^3 P(x^2)`, `P` a degree-4 minimax fit to
/// `(tanh x - x) / x^3` (relative error below 2^-27); this avoids the cancellation that
/// `1 - 2 / (e^2x + 1)` suffers near 0. Above, `1 - 2 / (e^(2|x|) + 1)`, which rounds to 1
/// from about `|x| = 9` on and stays 1 when `e^(2|x|)` overflows. Both branches are
/// computed so that the choice compiles to a select. The sign is copied from `x`, so
/// `tanh(-x) == -tanh(x)` exactly.
#[inline]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = a * a;
    const T1: f32 = -0.333_332_8; // 0xbeaaaa99
    const T2: f32 = 0.133_314_42; // 0x3e088393
    const T3: f32 = -0.053_739_715; // 0xbd5c1e2d
    const T4: f32 = 0.020_639_088; // 0x3ca9134e
    const T5: f32 = -0.005_704_987_3; // 0xbbbaf0e7
    let small = a + a * z * (T1 + z * (T2 + z * (T3 + z * (T4 + z * T5))));
    let large = 1.0 - 2.0 / (exp(a + a) + 1.0);
    let t = if a < 0.625 { small } else { large };
    t.copysign(x)
}

/// The logistic function `1 / (1 + e^-x)`.
///
/// With `e = e^-|x|` (never overflows), the result is `1 / (1 + e)` for `x >= 0` and
/// `e / (1 + e)` for `x < 0`; the second form keeps full relative accuracy for very
/// negative `x`, down to subnormal results, where `1 - 1 / (1 + e)` would cancel. Only the
/// numerator depends on the sign, so there is one division and no branch.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    let e = exp(-x.abs());
    let numerator = if x < 0.0 { e } else { 1.0 };
    numerator / (1.0 + e)
}

/// Square root, correctly rounded.
///
/// `x = m 2^e` with an integer mantissa `m`; `M = m 2^j` (j = 23 or 24, so that `e - j` is
/// even) lies in [2^46, 2^48) and `sqrt(x) = sqrt(M) 2^((e - j) / 2)` with `sqrt(M)` in
/// [2^23, 2^24): the 24-bit result mantissa is the integer nearest to `sqrt(M)`. It is
/// estimated with the usual bit-pattern guess for `1/sqrt`, Newton steps in `f32`, and
/// checked and corrected with exact 64-bit integer arithmetic (products of 25-bit numbers),
/// so there is no `f64`, no division and no loop.
#[inline]
pub fn sqrt(x: f32) -> f32 {
    let bits = x.to_bits();
    let (m, e) = if bits.wrapping_sub(0x0080_0000) < 0x7f00_0000 {
        // Positive normal.
        (
            (bits & 0x007f_ffff) | 0x0080_0000,
            (bits >> 23) as i32 - 150,
        )
    } else if bits << 1 == 0 || bits == 0x7f80_0000 || x.is_nan() {
        return x; // ±0, +inf, NaN
    } else if bits > 0x7fff_ffff {
        return f32::NAN; // negative
    } else {
        // Positive subnormal: shift the mantissa up to a normal one.
        let shift = bits.leading_zeros() - 8;
        (bits << shift, -149 - shift as i32)
    };
    let j = 23 + ((e - 23) & 1);
    let big = i64::from(m) << j;
    let a = big as f32;
    // 1/sqrt(a) to about 5e-6 relative: bit-pattern guess (3.4% off) and two Newton steps.
    let mut y = f32::from_bits(0x5f37_59df - (a.to_bits() >> 1));
    y *= 1.5 - 0.5 * a * y * y;
    y *= 1.5 - 0.5 * a * y * y;
    // a * y is within about 80 of sqrt(big); one more Newton step, on the exact integer
    // residual, gets within 1e-3, so the rounded estimate is the nearest integer to
    // sqrt(big) or next to it.
    let s = (a * y) as i64;
    let refined = s as f32 + (big - s * s) as f32 * (0.5 * y);
    let mut root = (refined + 0.5) as i64;
    // Exact correction: root is the nearest integer iff root^2 - root < big <= root^2 +
    // root (sqrt(big) is never exactly halfway, as (r + 1/2)^2 is not an integer).
    let d = big - root * root;
    root += i64::from(d > root) - i64::from(d <= -root);
    // `root` is in [2^23, 2^24]; its implicit bit lands in the exponent field, and a
    // round-up to 2^24 carries into it.
    let exponent = ((e - j) / 2 + 149) as u32;
    f32::from_bits((exponent << 23) + root as u32)
}

/// Truncation toward zero for `|x| < 2^23` (exact there).
#[inline]
fn trunc_small(x: f32) -> f32 {
    (x as i32) as f32
}

/// The largest integer not greater than `x`. Keeps the sign of zero
/// (`floor(-0.0) == -0.0`).
#[inline]
pub fn floor(x: f32) -> f32 {
    if x.abs() < TWO_POW_23 {
        let t = trunc_small(x);
        let f = if t > x { t - 1.0 } else { t };
        // A rounded value has the sign of x or is zero; copying the sign fixes the zero
        // cases.
        f.copysign(x)
    } else {
        x // already an integer, infinite or NaN
    }
}

/// The smallest integer not less than `x`. Keeps the sign of zero (`ceil(-0.5) == -0.0`).
#[inline]
pub fn ceil(x: f32) -> f32 {
    if x.abs() < TWO_POW_23 {
        let t = trunc_small(x);
        let c = if t < x { t + 1.0 } else { t };
        c.copysign(x)
    } else {
        x
    }
}

/// Rounds to the nearest integer, ties to even (`2.5 -> 2`, `3.5 -> 4`), like ONNX `Round`
/// and IEEE `roundTiesToEven`.
#[inline]
pub fn round_half_to_even(x: f32) -> f32 {
    let a = x.abs();
    if a < TWO_POW_23 {
        // a + 2^23 lies in [2^23, 2^24) where the spacing of floats is 1, so the addition
        // itself rounds to an integer, ties to even; subtracting 2^23 again is exact.
        ((a + TWO_POW_23) - TWO_POW_23).copysign(x)
    } else {
        x
    }
}

/// Rounds to the nearest integer, ties away from zero (`2.5 -> 3`, `-2.5 -> -3`), like C
/// `roundf`.
#[inline]
pub fn round_half_away_from_zero(x: f32) -> f32 {
    let a = x.abs();
    if a < TWO_POW_23 {
        let t = trunc_small(a);
        // a - t is exact (the fraction of a float below 2^23 is representable).
        let r = if a - t >= 0.5 { t + 1.0 } else { t };
        r.copysign(x)
    } else {
        x
    }
}

/// `pi/2` split in two: `PIO2_HI` is the `f32` nearest to `pi/2` (0x3fc90fdb) and
/// `PIO2_LO` (0xb33bbd2e) the `f32` nearest to `pi/2 - PIO2_HI`.
const PIO2_HI: f32 = core::f32::consts::FRAC_PI_2;
const PIO2_LO: f32 = -4.371_139e-8;
/// `pi/4` split the same way (0x3f490fdb, 0xb2bbbd2e).
const PIO4_HI: f32 = core::f32::consts::FRAC_PI_4;
const PIO4_LO: f32 = -2.185_569_4e-8;
/// `pi` split the same way (0x40490fdb, 0xb3bbbd2e).
const PI_HI: f32 = core::f32::consts::PI;
const PI_LO: f32 = -8.742_278e-8;

/// `|x| = n pi/2 + r` for a finite `|x| >= pi/4`: returns `n mod 4` and `r` (in
/// [-pi/4, pi/4]) as an unevaluated sum `r_hi + r_lo`, `r_hi` correctly rounded.
///
/// The reduction is exact integer arithmetic, so it is right for every `f32` (the largest
/// one included): `|x| = m 2^e` with a 24-bit integer `m`, and `|x| 2/pi mod 4` only depends
/// on the bits of `2/pi` from weight `2^(1-e)` down (higher ones add multiples of 4). 104 of
/// them, taken from a 256-bit
/// constant, make the product `m * window` fit in a `u128` and leave an error below `2^-78`
/// in `|x| 2/pi`, far below the `2^-29` by which an `f32` can come closest to a multiple of
/// `pi/2`. The fraction is then multiplied by `pi/2` in 64-bit fixed point.
#[inline]
fn rem_pio2(a: f32) -> (u32, f32, f32) {
    // floor(2/pi 2^256), in two halves (computed from Machin's formula for pi).
    const TWO_OVER_PI_HI: u128 = 0xa2f9_836e_4e44_1529_fc27_57d1_f534_ddc0;
    const TWO_OVER_PI_LO: u128 = 0xdb62_9599_3c43_9041_fe51_63ab_debb_c561;
    // round(pi/2 2^62).
    const PIO2_Q62: u128 = 0x6487_ed51_10b4_611a;
    const WINDOW_MASK: u128 = (1 << 104) - 1;
    const FRACTION_MASK: u128 = (1 << 102) - 1;
    let bits = a.to_bits();
    let m = u128::from((bits & 0x007f_ffff) | 0x0080_0000);
    // a = m 2^e with e in [-24, 104] for pi/4 <= a <= f32::MAX; the window is
    // floor(2/pi 2^(e + 102)) mod 2^104, i.e. the 256-bit constant shifted right by
    // 154 - e, which is in [50, 178]. Wrapping shifts cannot panic.
    let shift = 304u32.wrapping_sub(bits >> 23);
    let shifted = if shift >= 128 {
        TWO_OVER_PI_HI.wrapping_shr(shift.wrapping_sub(128))
    } else {
        TWO_OVER_PI_LO.wrapping_shr(shift)
            | TWO_OVER_PI_HI.wrapping_shl(128u32.wrapping_sub(shift))
    };
    let window = shifted & WINDOW_MASK;
    // a 2/pi mod 4, in units of 2^-102; rounding to the nearest integer n, the bits from
    // 2^102 up are n mod 4 (the wrapping add drops multiples of 2^26 only).
    let y = m.wrapping_mul(window).wrapping_add(1 << 101);
    let quadrant = ((y >> 102) & 3) as u32;
    let fraction = (y & FRACTION_MASK).wrapping_sub(1 << 101) as i128; // in [-2^101, 2^101)
    let magnitude = fraction.unsigned_abs();
    if magnitude == 0 {
        return (quadrant, 0.0, 0.0);
    }
    // magnitude <= 2^101, so at least 26 leading zeros; normalise to 64 bits and multiply
    // by pi/2: r = magnitude 2^-102 pi/2 = product 2^(-100 - zeros).
    let zeros = magnitude.leading_zeros();
    let top = magnitude.wrapping_shl(zeros) >> 64;
    let product = top * PIO2_Q62; // in [2^125, 2^127)
    let hi = product as f32;
    let lo = (product as i128).wrapping_sub(hi as i128) as f32;
    // 2^-126 times product is in [0.5, 2), exact; 2^(26 - zeros) is in [2^-101, 1].
    let scale = pow2(26i32.wrapping_sub(zeros as i32));
    let r_hi = hi * pow2(-126) * scale;
    let r_lo = lo * pow2(-126) * scale;
    if fraction < 0 {
        (quadrant, -r_hi, -r_lo)
    } else {
        (quadrant, r_hi, r_lo)
    }
}

/// `sin(r + r_lo)` for `|r| <= pi/4`, `|r_lo|` below half an ulp of `r`: `r + r^3 S(r^2)`
/// with `S` a degree-2 minimax fit to `(sin r - r) / r^3` (relative error below 2^-27).
#[inline]
fn sin_kernel(r: f32, r_lo: f32) -> f32 {
    const S0: f32 = -0.166_666_55; // 0xbe2aaaa3
    const S1: f32 = 0.008_332_16; // 0x3c08839d
    const S2: f32 = -0.000_195_152_82; // 0xb94ca1f0
    let z = r * r;
    r + (r * z * (S0 + z * (S1 + z * S2)) + r_lo * (1.0 - 0.5 * z))
}

/// `cos(r + r_lo)` for `|r| <= pi/4`: `1 - r^2/2 + r^4 C(r^2)` with `C` a degree-2 minimax
/// fit to `(cos r - 1 + r^2/2) / r^4` (relative error below 2^-33). `1 - r^2/2` is
/// rounded first and its rounding error added back with the small terms.
#[inline]
fn cos_kernel(r: f32, r_lo: f32) -> f32 {
    const C0: f32 = 0.041_666_646; // 0x3d2aaaa5
    const C1: f32 = -0.001_388_731_6; // 0xbab6061a
    const C2: f32 = 2.443_315_7e-5; // 0x37ccf5ce
    let z = r * r;
    let hz = 0.5 * z;
    let w = 1.0 - hz;
    w + (((1.0 - w) - hz) + (z * z * (C0 + z * (C1 + z * C2)) - r * r_lo))
}

/// Sine.
///
/// `|x| < pi/4` goes straight to the polynomial (so `sin(-0) = -0` and tiny or subnormal
/// `x` give `x`); larger `|x|` are reduced to `n pi/2 + r` by exact integer arithmetic (see
/// `rem_pio2`), which is right for every finite `f32`, so there is no accuracy cliff at
/// large arguments. Infinities and NaN give NaN. Measured error: see the module doc.
#[inline]
pub fn sin(x: f32) -> f32 {
    let a = x.abs();
    if a < PIO4_HI {
        // Below 2^-12, sin x rounds to x; returning it keeps the sign of -0.
        return if a < 2.441_406_3e-4 {
            x
        } else {
            sin_kernel(x, 0.0)
        };
    }
    if !a.is_finite() {
        return f32::NAN;
    }
    let (quadrant, r, r_lo) = rem_pio2(a);
    let v = match quadrant {
        0 => sin_kernel(r, r_lo),
        1 => cos_kernel(r, r_lo),
        2 => -sin_kernel(r, r_lo),
        _ => -cos_kernel(r, r_lo),
    };
    if x < 0.0 {
        return -v;
    }
    v
}

/// Cosine, with the argument reduction of [`sin`]. Infinities and NaN give NaN.
#[inline]
pub fn cos(x: f32) -> f32 {
    let a = x.abs();
    if a < PIO4_HI {
        return cos_kernel(a, 0.0);
    }
    if !a.is_finite() {
        return f32::NAN;
    }
    let (quadrant, r, r_lo) = rem_pio2(a);
    match quadrant {
        0 => cos_kernel(r, r_lo),
        1 => -sin_kernel(r, r_lo),
        2 => -cos_kernel(r, r_lo),
        _ => sin_kernel(r, r_lo),
    }
}

/// Tangent: the quotient of the sine and cosine kernels on the reduced argument of [`sin`]
/// (`-cos r / sin r` in odd quadrants, so that the poles are approached through an
/// accurate small `sin r`). Exactly odd; infinities and NaN give NaN. An `f32` never comes
/// close enough to a pole for the result to overflow.
#[inline]
pub fn tan(x: f32) -> f32 {
    let a = x.abs();
    let t = if a < PIO4_HI {
        sin_kernel(a, 0.0) / cos_kernel(a, 0.0)
    } else if !a.is_finite() {
        return f32::NAN;
    } else {
        let (quadrant, r, r_lo) = rem_pio2(a);
        if quadrant & 1 == 0 {
            sin_kernel(r, r_lo) / cos_kernel(r, r_lo)
        } else {
            -cos_kernel(r, r_lo) / sin_kernel(r, r_lo)
        }
    };
    if x < 0.0 {
        -t
    } else if x == 0.0 {
        x // keeps -0
    } else {
        t
    }
}

/// `atan(t)` for `|t| <= tan(pi/8)`: `t + t^3 A(t^2)`, `A` a degree-4 minimax fit to
/// `(atan t - t) / t^3` (relative error below 2^-30).
#[inline]
fn atan_kernel(t: f32) -> f32 {
    const A0: f32 = -0.333_333_16; // 0xbeaaaaa5
    const A1: f32 = 0.199_984_71; // 0x3e4cc8cb
    const A2: f32 = -0.142_435_22; // 0xbe11da8a
    const A3: f32 = 0.105_937_27; // 0x3dd8f5a4
    const A4: f32 = -0.060_779_91; // 0xbd78f45b
    let z = t * t;
    t + t * z * (A0 + z * (A1 + z * (A2 + z * (A3 + z * A4))))
}

/// Arc tangent, in [-pi/2, pi/2].
///
/// Range reduction on `a = |x|` with the addition theorem: up to `tan(pi/8)` directly,
/// up to `tan(3pi/8)` as `pi/4 + atan((a - 1) / (a + 1))`, beyond as
/// `pi/2 + atan(-1/a)` (which also gives `pi/2` for `a = inf`); the offsets are added in
/// two parts so that their rounding error does not add to that of the result. Exactly odd.
#[inline]
pub fn atan(x: f32) -> f32 {
    const TAN_PI_8: f32 = 0.414_213_57; // 0x3ed413cd
    const TAN_3PI_8: f32 = 2.414_213_7; // 0x401a827a
    let a = x.abs();
    let v = if a <= TAN_PI_8 {
        atan_kernel(a)
    } else if a <= TAN_3PI_8 {
        PIO4_HI + (PIO4_LO + atan_kernel((a - 1.0) / (a + 1.0)))
    } else {
        // Also taken by NaN, which stays NaN.
        PIO2_HI + (PIO2_LO + atan_kernel(-1.0 / a))
    };
    v.copysign(x)
}

/// `asin(s) - s` for `0 <= s <= 1/2`, given `z = s^2`: `s^3 B(s^2)`, `B` a degree-5
/// minimax fit to `(asin s - s) / s^3` (relative error of `asin` below 2^-31).
#[inline]
fn asin_tail(s: f32, z: f32) -> f32 {
    const B0: f32 = 0.166_666_6; // 0x3e2aaaa6
    const B1: f32 = 0.075_005_04; // 0x3d999c3e
    const B2: f32 = 0.044_516_955; // 0x3d365769
    const B3: f32 = 0.031_807_724; // 0x3d0248d1
    const B4: f32 = 0.014_438_586; // 0x3c6c8fd2
    const B5: f32 = 0.037_516_48; // 0x3d19aae1
    s * z * (B0 + z * (B1 + z * (B2 + z * (B3 + z * (B4 + z * B5)))))
}

/// `sqrt(z)` as an unevaluated sum `hi + lo`, `hi` with 12 significant bits so that
/// `hi * hi` is exact, and `lo = (z - hi^2) / (sqrt(z) + hi)`: `hi + lo` is `sqrt(z)` to
/// about 2^-35 relative. `z = 0` gives `(0, 0)`.
#[inline]
fn sqrt_split(z: f32) -> (f32, f32) {
    let s = sqrt(z);
    let hi = f32::from_bits(s.to_bits() & 0xffff_f000);
    let lo = if s > 0.0 {
        (z - hi * hi) / (s + hi)
    } else {
        0.0
    };
    (hi, lo)
}

/// Arc sine, in [-pi/2, pi/2]; NaN outside [-1, 1].
///
/// `|x| <= 1/2`: `x + x^3 B(x^2)`. Above, `asin(a) = pi/2 - 2 asin(s)` with
/// `s = sqrt((1 - a) / 2)` (exact up to the square root, as `1 - a` is exact for
/// `a >= 1/2`), and `s` split in a 12-bit head and a tail so that `pi/2 - 2 s` is computed
/// without a rounding error that would be large against the result. Exactly odd.
#[inline]
pub fn asin(x: f32) -> f32 {
    let a = x.abs();
    if a <= 0.5 {
        return x + asin_tail(x, x * x);
    }
    // |x| > 1 makes z negative and the square root NaN; a NaN x stays NaN.
    let z = (1.0 - a) * 0.5;
    let s = sqrt(z);
    let (hi, lo) = sqrt_split(z);
    let v = (PIO2_HI - 2.0 * hi) + (PIO2_LO - 2.0 * (lo + asin_tail(s, z)));
    v.copysign(x)
}

/// Arc cosine, in [0, pi]; NaN outside [-1, 1].
///
/// `|x| <= 1/2`: `pi/2 - asin(x)`, with `pi/2` in two parts. `x > 1/2`: `2 asin(s)` and
/// `x < -1/2`: `pi - 2 asin(s)`, with `s = sqrt((1 - |x|) / 2)` as in [`asin`], which keeps
/// full relative accuracy near `acos(1) = 0`.
#[inline]
pub fn acos(x: f32) -> f32 {
    let a = x.abs();
    if a <= 0.5 {
        return PIO2_HI - (x + (asin_tail(x, x * x) - PIO2_LO));
    }
    let z = (1.0 - a) * 0.5;
    let s = sqrt(z);
    if x > 0.0 {
        let (hi, lo) = sqrt_split(z);
        2.0 * (hi + (lo + asin_tail(s, z)))
    } else {
        // Also taken by NaN, which stays NaN.
        PI_HI - (2.0 * (s + asin_tail(s, z)) - PI_LO)
    }
}

/// The error function, exactly odd.
///
/// `|x| < 1`: `x E(x^2)`, summed as `x + x (E(x^2) - 1)`, `E` a degree-6 minimax fit to `erf(x) / x` (relative error below
/// 2^-29). `1 <= |x| < 3.93`: `1 - e^(-x^2) H(1/|x|)`, `H` a degree-9 minimax fit to
/// `erfc(x) e^(x^2)` in the variable `1/x`, weighted for the absolute error of `erf` (below
/// 2^-36). From 3.93 on, `erfc(x) < 2^-25` and `erf` rounds to ±1.
#[inline]
pub fn erf(x: f32) -> f32 {
    // The fit lands one ulp below 2/sqrt(pi) (0x3f906ebb), the Taylor coefficient.
    #[allow(clippy::approx_constant)]
    const E0: f32 = 1.128_379_1; // 0x3f906eba
    const E1: f32 = -0.376_126_26; // 0xbec0939f
    const E2: f32 = 0.112_835_854; // 0x3de7167c
    const E3: f32 = -0.026_853_813; // 0xbcdbfc87
    const E4: f32 = 0.005_188_328; // 0x3baa02d9
    const E5: f32 = -0.000_801_019_37; // 0xba51fb80
    const E6: f32 = 7.853_861_5e-5; // 0x38a4b519
    const H0: f32 = 0.000_555_150_5; // 0x3a118785
    const H1: f32 = 0.555_195_9; // 0x3f0e2152
    const H2: f32 = 0.064_111_39; // 0x3d834cd5
    const H3: f32 = -0.541_886_57; // 0xbf0ab914
    const H4: f32 = 0.630_899_7; // 0x3f2182a5
    const H5: f32 = -0.396_028_85; // 0xbecac44b
    const H6: f32 = 0.122_839_53; // 0x3dfb934b
    const H7: f32 = 0.003_617_832_2; // 0x3b6d1927
    const H8: f32 = -0.015_121_548; // 0xbc77c05e
    const H9: f32 = 0.003_400_951_2; // 0x3b5ee27e
    let a = x.abs();
    if a < 1.0 {
        let z = x * x;
        let mut p = E6;
        p = E5 + z * p;
        p = E4 + z * p;
        p = E3 + z * p;
        p = E2 + z * p;
        p = E1 + z * p;
        // x + x (E0 - 1 + ...) rather than x E(z): the last rounding is then that of an
        // addition of a small correction to the exact x.
        p = (E0 - 1.0) + z * p;
        x + x * p
    } else if a < 3.93 {
        let u = 1.0 / a;
        let mut h = H9;
        h = H8 + u * h;
        h = H7 + u * h;
        h = H6 + u * h;
        h = H5 + u * h;
        h = H4 + u * h;
        h = H3 + u * h;
        h = H2 + u * h;
        h = H1 + u * h;
        h = H0 + u * h;
        (1.0 - exp(-(a * a)) * h).copysign(x)
    } else if a.is_nan() {
        x
    } else {
        1.0f32.copysign(x)
    }
}

/// `log2(a)` in `f64` for a positive finite `a` (subnormals included), with a relative
/// error of a few 2^-53: `a = 2^k m` with `m` in [sqrt(2)/2, sqrt(2)), and
/// `ln m = 2 atanh(s)`, `s = (m - 1) / (m + 1)`, `|s| <= 0.1716`, summed as the Taylor
/// series `2 (s + s^3/3 + ... + s^23/23)` (truncation error below 2^-60).
#[inline]
fn log2_wide(a: f32) -> f64 {
    let mut bits = a.to_bits();
    let mut k: i32 = 0;
    if bits < 0x0080_0000 {
        bits = (a * 33_554_432.0).to_bits(); // 2^25: subnormal to normal
        k = -25;
    }
    const SQRT_HALF_BITS: u32 = 0x3f35_04f3;
    bits = bits.wrapping_add(0x3f80_0000 - SQRT_HALF_BITS);
    k += (bits >> 23) as i32 - 127;
    let m = f64::from(f32::from_bits((bits & 0x007f_ffff) + SQRT_HALF_BITS));
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    // Horner's rule from the s^22/23 term down; the divisions are constant-folded.
    let mut series = 1.0 / 23.0;
    series = 1.0 / 21.0 + z * series;
    series = 1.0 / 19.0 + z * series;
    series = 1.0 / 17.0 + z * series;
    series = 1.0 / 15.0 + z * series;
    series = 1.0 / 13.0 + z * series;
    series = 1.0 / 11.0 + z * series;
    series = 1.0 / 9.0 + z * series;
    series = 1.0 / 7.0 + z * series;
    series = 1.0 / 5.0 + z * series;
    series = 1.0 / 3.0 + z * series;
    series = 1.0 + z * series;
    f64::from(k) + 2.0 * s * series * core::f64::consts::LOG2_E
}

/// `2^t` in `f64` for `-152 <= t <= 130`, with a relative error of a few 2^-53:
/// `t = n + r`, `|r| <= 1/2`, and `2^r = e^(r ln 2)` summed as the Taylor series to degree
/// 13 (truncation error below 2^-56); `2^n` is built from its bit pattern.
#[inline]
fn exp2_wide(t: f64) -> f64 {
    // 1.5 * 2^52: adding it rounds |t| < 2^51 to an integer, ties to even.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    let n = (t + SHIFT) - SHIFT;
    let w = (t - n) * core::f64::consts::LN_2;
    // Horner's rule from the w^13/13! term down; the divisions are constant-folded.
    let mut sum = 1.0 / 6_227_020_800.0;
    sum = 1.0 / 479_001_600.0 + w * sum;
    sum = 1.0 / 39_916_800.0 + w * sum;
    sum = 1.0 / 3_628_800.0 + w * sum;
    sum = 1.0 / 362_880.0 + w * sum;
    sum = 1.0 / 40_320.0 + w * sum;
    sum = 1.0 / 5_040.0 + w * sum;
    sum = 1.0 / 720.0 + w * sum;
    sum = 1.0 / 120.0 + w * sum;
    sum = 1.0 / 24.0 + w * sum;
    sum = 1.0 / 6.0 + w * sum;
    sum = 1.0 / 2.0 + w * sum;
    sum = 1.0 + w * sum;
    sum = 1.0 + w * sum;
    // n is in [-152, 130]: 2^n is a normal f64.
    sum * f64::from_bits(((n as i64).wrapping_add(1023) as u64) << 52)
}

/// Whether `y` is an integer, and whether it is an odd one.
#[inline]
fn integer_parity(y: f32) -> (bool, bool) {
    if y.abs() >= TWO_POW_23 {
        // An integer; only values below 2^24 can be odd. Infinities count as even
        // integers for the special cases of `pow`; NaN is handled before.
        (true, y.abs() < 16_777_216.0 && y.to_bits() & 1 == 1)
    } else {
        let t = trunc_small(y);
        (t == y, t == y && (y as i32) & 1 == 1)
    }
}

/// `x` raised to the power `y`, with the special cases of C99 `powf` (Annex F.9.4.4):
/// `pow(x, ±0) = 1` and `pow(1, y) = 1` even for NaN, `pow(-1, ±inf) = 1`, `pow(±0, y)`
/// is `±inf` / `+inf` for negative odd-integer / other negative `y` and `±0` / `+0` for
/// positive ones, a negative finite `x` with a non-integer finite `y` gives NaN, and a
/// negative `x` with an integer `y` gives `(-1)^y |x|^y`.
///
/// Method: `|x|^y = 2^(y log2 |x|)`, evaluated in `f64` (`log2_wide`, `exp2_wide`), then
/// rounded once to `f32`. This is the one function here that uses `f64` arithmetic: an
/// `f32` result within 1 ulp needs `y log2 |x|` to about 2^-32 absolute over a range of
/// ±150, which `f32` arithmetic could only give with double-`f32` arithmetic throughout.
/// On targets without a double-precision FPU it is a software routine. The error of the
/// `f64` result is below 2^-44 relative, so the `f32` result is the correctly rounded one
/// except in rare near-halfway cases, where it is 1 ulp off; overflow gives `inf` and
/// underflow gradual subnormals and then 0, like the correctly rounded result.
#[inline]
pub fn pow(x: f32, y: f32) -> f32 {
    if y == 0.0 || x == 1.0 {
        return 1.0;
    }
    if x.is_nan() || y.is_nan() {
        return f32::NAN;
    }
    let (is_integer, is_odd) = integer_parity(y);
    let a = x.abs();
    if y.is_infinite() {
        return if a == 1.0 {
            1.0
        } else if (a < 1.0) == (y < 0.0) {
            f32::INFINITY
        } else {
            0.0
        };
    }
    if x < 0.0 && x.is_finite() && !is_integer {
        return f32::NAN;
    }
    // From here on the sign of the result is that of x for odd y, else +.
    // 0^y is inf for negative y and 0 for positive y; inf^y the other way round.
    let limit = if (y < 0.0) == (a == 0.0) {
        f32::INFINITY
    } else {
        0.0
    };
    let magnitude = if a == 0.0 || a.is_infinite() {
        limit
    } else {
        let t = (f64::from(y) * log2_wide(a)).clamp(-152.0, 130.0);
        exp2_wide(t) as f32
    };
    if is_odd {
        magnitude.copysign(x)
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    // The tests use std and proptest; code generation embeds the file only up to the
    // `#[cfg(test)]` line above.
    extern crate std;

    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// Distance between two floats in representable values (0 when both are NaN, `u64::MAX`
    /// when only one is). +0 and -0 are the same point.
    fn ulps(a: f32, b: f32) -> u64 {
        match (a.is_nan(), b.is_nan()) {
            (true, true) => return 0,
            (false, false) => {}
            _ => return u64::MAX,
        }
        let key = |v: f32| {
            let bits = i64::from(v.to_bits());
            if bits & 0x8000_0000 != 0 {
                -(bits & 0x7fff_ffff)
            } else {
                bits
            }
        };
        (key(a) - key(b)).unsigned_abs()
    }

    fn ref_exp(x: f32) -> f32 {
        f64::from(x).exp() as f32
    }
    fn ref_ln(x: f32) -> f32 {
        f64::from(x).ln() as f32
    }
    fn ref_tanh(x: f32) -> f32 {
        f64::from(x).tanh() as f32
    }
    fn ref_sigmoid(x: f32) -> f32 {
        let x = f64::from(x);
        let y = if x < 0.0 {
            let e = x.exp();
            e / (1.0 + e)
        } else {
            1.0 / (1.0 + (-x).exp())
        };
        y as f32
    }
    fn ref_sqrt(x: f32) -> f32 {
        // An f64 square root rounded to f32 is correctly rounded (53 >= 2 * 24 + 2).
        f64::from(x).sqrt() as f32
    }

    fn ref_sin(x: f32) -> f32 {
        f64::from(x).sin() as f32
    }
    fn ref_cos(x: f32) -> f32 {
        f64::from(x).cos() as f32
    }
    fn ref_tan(x: f32) -> f32 {
        f64::from(x).tan() as f32
    }
    fn ref_asin(x: f32) -> f32 {
        f64::from(x).asin() as f32
    }
    fn ref_acos(x: f32) -> f32 {
        f64::from(x).acos() as f32
    }
    fn ref_atan(x: f32) -> f32 {
        f64::from(x).atan() as f32
    }
    fn ref_erf(x: f32) -> f32 {
        erf_f64(f64::from(x)) as f32
    }

    /// `erf` in `f64` for the tests (std has none): the Taylor series below 2 (its
    /// largest term is about 10, so it loses 4 of 53 bits), the continued fraction of
    /// `erfc` above. `erf_reference_is_consistent` checks the two against each other.
    fn erf_f64(x: f64) -> f64 {
        let a = x.abs();
        let v = if a < 2.0 {
            erf_series(a)
        } else if a < 6.0 {
            1.0 - erfc_continued_fraction(a)
        } else {
            1.0
        };
        if x.is_nan() { x } else { v.copysign(x) }
    }
    fn erf_series(a: f64) -> f64 {
        let z = a * a;
        let (mut term, mut sum, mut n) = (a, a, 0.0);
        while term.abs() > 1e-40 * sum.abs().max(1e-300) {
            n += 1.0;
            term *= -z / n;
            sum += term / (2.0 * n + 1.0);
        }
        sum * 2.0 / core::f64::consts::PI.sqrt()
    }
    fn erfc_continued_fraction(a: f64) -> f64 {
        let mut k = a;
        for i in (1..200).rev() {
            k = a + f64::from(i) / 2.0 / k;
        }
        (-a * a).exp() / (core::f64::consts::PI.sqrt() * k)
    }

    type Fun = fn(f32) -> f32;

    /// The approximate functions, their references and the error bound the tests enforce:
    /// the guaranteed bound, with a margin over the measured maximum (see the module doc),
    /// so that a different libm behind the `f64` references cannot make the tests flaky.
    const APPROX: [(&str, Fun, Fun, u64); 5] = [
        ("exp", exp, ref_exp, 2),
        ("ln", ln, ref_ln, 2),
        ("tanh", tanh, ref_tanh, 3),
        ("sigmoid", sigmoid, ref_sigmoid, 3),
        ("sqrt", sqrt, ref_sqrt, 0),
    ];

    /// The functions the ONNX element-wise operators added, with their references and the
    /// bounds the tests enforce (a margin over the measured maxima of the module doc). They
    /// are slower than the activations, so the debug-mode sweeps take a sparser sample.
    const APPROX_ONNX: [(&str, Fun, Fun, u64); 7] = [
        ("sin", sin, ref_sin, 2),
        ("cos", cos, ref_cos, 2),
        ("tan", tan, ref_tan, 4),
        ("asin", asin, ref_asin, 2),
        ("acos", acos, ref_acos, 2),
        ("atan", atan, ref_atan, 3),
        ("erf", erf, ref_erf, 2),
    ];

    /// The rounding functions and their std counterparts; these must match bit for bit.
    const EXACT: [(&str, Fun, Fun); 4] = [
        ("floor", floor, f32::floor),
        ("ceil", ceil, f32::ceil),
        (
            "round_half_to_even",
            round_half_to_even,
            f32::round_ties_even,
        ),
        (
            "round_half_away_from_zero",
            round_half_away_from_zero,
            f32::round,
        ),
    ];

    fn same_bits(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// Largest error of `f` against `reference` over the given bit patterns, and where it
    /// occurs.
    fn max_error(f: Fun, reference: Fun, bits: impl Iterator<Item = u32>) -> (u64, f32) {
        let mut worst = (0, 0.0);
        for b in bits {
            let x = f32::from_bits(b);
            let d = ulps(f(x), reference(x));
            if d > worst.0 {
                worst = (d, x);
            }
        }
        worst
    }

    fn special_values() -> Vec<f32> {
        let mut v = std::vec![
            0.0,
            1.0,
            2.0,
            0.5,
            f32::INFINITY,
            f32::NAN,
            f32::MAX,
            f32::MIN_POSITIVE,
            f32::from_bits(1),
            f32::from_bits(0x007f_ffff),
            f32::EPSILON,
            core::f32::consts::LN_2,
            88.0,
            88.72283,  // largest x with finite exp
            88.722_84, // exp overflows
            -87.33654, // exp near the smallest normal
            -87.33655,
            -103.27893, // exp near the smallest subnormal
            -103.972_08,
            -103.972_09,
            -104.0,
            -200.0,
            9.0,
            9.1,
            0.625,
            0.624_999_94,
            1e-20,
            1e-40,
            8_388_607.5,
            8_388_608.0,
            4_194_304.5,
            0.499_999_97,
            1.5,
            2.5,
        ];
        let negated: Vec<f32> = v.iter().map(|x| -x).collect();
        v.extend(negated);
        v
    }

    #[test]
    fn special_values_are_exact() {
        let inf = f32::INFINITY;
        let checks: &[(&str, Fun, f32, f32)] = &[
            ("exp", exp, -inf, 0.0),
            ("exp", exp, inf, inf),
            ("exp", exp, 0.0, 1.0),
            ("exp", exp, -0.0, 1.0),
            ("exp", exp, 100.0, inf),
            ("exp", exp, -200.0, 0.0),
            ("exp", exp, -103.0, ref_exp(-103.0)),
            ("ln", ln, 0.0, -inf),
            ("ln", ln, -0.0, -inf),
            ("ln", ln, 1.0, 0.0),
            ("ln", ln, inf, inf),
            ("ln", ln, -1.0, f32::NAN),
            ("ln", ln, -inf, f32::NAN),
            ("ln", ln, f32::from_bits(1), ref_ln(f32::from_bits(1))),
            ("tanh", tanh, 0.0, 0.0),
            ("tanh", tanh, -0.0, -0.0),
            ("tanh", tanh, inf, 1.0),
            ("tanh", tanh, -inf, -1.0),
            ("tanh", tanh, 20.0, 1.0),
            ("tanh", tanh, -1e-40, -1e-40),
            ("sigmoid", sigmoid, 0.0, 0.5),
            ("sigmoid", sigmoid, -0.0, 0.5),
            ("sigmoid", sigmoid, inf, 1.0),
            ("sigmoid", sigmoid, -inf, 0.0),
            ("sigmoid", sigmoid, 1000.0, 1.0),
            ("sigmoid", sigmoid, -1000.0, 0.0),
            ("sqrt", sqrt, 0.0, 0.0),
            ("sqrt", sqrt, -0.0, -0.0),
            ("sqrt", sqrt, inf, inf),
            ("sqrt", sqrt, -inf, f32::NAN),
            ("sqrt", sqrt, -1.0, f32::NAN),
            ("sqrt", sqrt, -1e-40, f32::NAN),
            ("sqrt", sqrt, 4.0, 2.0),
            ("sqrt", sqrt, 2.0, core::f32::consts::SQRT_2),
            ("sqrt", sqrt, f32::from_bits(1), ref_sqrt(f32::from_bits(1))),
            ("floor", floor, -0.0, -0.0),
            ("floor", floor, -0.5, -1.0),
            ("floor", floor, 0.5, 0.0),
            ("ceil", ceil, -0.5, -0.0),
            ("ceil", ceil, 0.5, 1.0),
            ("round_half_to_even", round_half_to_even, 2.5, 2.0),
            ("round_half_to_even", round_half_to_even, 3.5, 4.0),
            ("round_half_to_even", round_half_to_even, -0.5, -0.0),
            ("round_half_to_even", round_half_to_even, 0.499_999_97, 0.0),
            (
                "round_half_away_from_zero",
                round_half_away_from_zero,
                2.5,
                3.0,
            ),
            (
                "round_half_away_from_zero",
                round_half_away_from_zero,
                -2.5,
                -3.0,
            ),
            (
                "round_half_away_from_zero",
                round_half_away_from_zero,
                -0.4,
                -0.0,
            ),
            (
                "round_half_away_from_zero",
                round_half_away_from_zero,
                0.499_999_97,
                0.0,
            ),
        ];
        for &(name, f, x, want) in checks {
            let got = f(x);
            assert!(
                same_bits(got, want),
                "{name}({x:e}) = {got:e}, want {want:e}"
            );
        }
        for name_fn in [exp, ln, tanh, sigmoid, sqrt, floor, ceil] {
            assert!(name_fn(f32::NAN).is_nan());
            assert!(name_fn(-f32::NAN).is_nan());
        }
        for (name, f, reference, bound) in APPROX {
            for x in special_values() {
                let d = ulps(f(x), reference(x));
                assert!(
                    d <= bound,
                    "{name}({x:e}): {} vs {}, {d} ulp",
                    f(x),
                    reference(x)
                );
            }
        }
        for (name, f, reference) in EXACT {
            for x in special_values() {
                assert!(same_bits(f(x), reference(x)), "{name}({x:e})");
            }
        }
    }

    /// Every 331st bit pattern (about 13 million values, both signs, all exponents, NaNs
    /// and subnormals included).
    fn sweep() -> impl Iterator<Item = u32> {
        (0..=u32::MAX).step_by(331)
    }

    #[test]
    fn dense_sweep_within_bounds() {
        for (name, f, reference, bound) in APPROX {
            let (err, at) = max_error(f, reference, sweep());
            assert!(
                err <= bound,
                "{name}: {err} ulp at {at:e} (bits {:#010x})",
                at.to_bits()
            );
        }
    }

    #[test]
    fn dense_sweep_rounding_is_exact() {
        for (name, f, reference) in EXACT {
            for b in sweep() {
                let x = f32::from_bits(b);
                assert!(same_bits(f(x), reference(x)), "{name}({x:e})");
            }
        }
    }

    #[test]
    fn tanh_is_odd_and_bounded() {
        for b in (0..0x7f80_0000u32).step_by(97) {
            let x = f32::from_bits(b);
            let t = tanh(x);
            assert_eq!(tanh(-x).to_bits(), (-t).to_bits(), "tanh({x:e})");
            assert!((0.0..=1.0).contains(&t), "tanh({x:e}) = {t}");
        }
    }

    #[test]
    fn sigmoid_is_monotonic_and_bounded() {
        let mut prev = 0.0f32;
        let mut x = -110.0f32;
        while x < 20.0 {
            let s = sigmoid(x);
            assert!((0.0..=1.0).contains(&s) && s >= prev, "sigmoid({x})");
            prev = s;
            x += 1.0 / 64.0;
        }
    }

    /// Every value with magnitude in [0.25, 2), where the polynomials of exp, ln and tanh
    /// do their work and tanh switches method: all 50 million of them, not a sample.
    #[test]
    fn all_values_near_one() {
        let ranges = [
            // [0.25, 2): the tanh switch, ln near 1, exp with a small reduced argument
            (0x3e80_0000u32, 0x4000_0000u32),
            (0xbe80_0000, 0xc000_0000), // (-2, -0.25]
        ];
        for (name, f, reference, bound) in APPROX {
            for (lo, hi) in ranges {
                let (err, at) = max_error(f, reference, lo..hi);
                assert!(err <= bound, "{name}: {err} ulp at {at:e}");
            }
        }
    }

    proptest! {
        #[test]
        fn approx_functions_within_bounds(x in proptest::num::f32::ANY) {
            for (name, f, reference, bound) in APPROX {
                let d = ulps(f(x), reference(x));
                prop_assert!(d <= bound, "{}({:e}) = {:e}, want {:e} ({} ulp)",
                    name, x, f(x), reference(x), d);
            }
        }

        #[test]
        fn approx_functions_within_bounds_in_activation_range(x in -120.0f32..120.0) {
            for (name, f, reference, bound) in APPROX {
                let d = ulps(f(x), reference(x));
                prop_assert!(d <= bound, "{}({:e}) ({} ulp)", name, x, d);
            }
        }

        #[test]
        fn rounding_matches_std(x in proptest::num::f32::ANY) {
            for (name, f, reference) in EXACT {
                prop_assert!(same_bits(f(x), reference(x)), "{}({:e})", name, x);
            }
        }

        #[test]
        fn rounding_matches_std_near_halves(
            n in -20_000_000i32..20_000_000,
            frac in 0u8..8,
        ) {
            let x = n as f32 + f32::from(frac) * 0.125;
            for (name, f, reference) in EXACT {
                prop_assert!(same_bits(f(x), reference(x)), "{}({:e})", name, x);
            }
        }
    }

    #[test]
    fn onnx_functions_special_values() {
        let inf = f32::INFINITY;
        let nan = f32::NAN;
        let tiny = f32::from_bits(1);
        let checks: &[(&str, Fun, f32, f32)] = &[
            ("sin", sin, 0.0, 0.0),
            ("sin", sin, -0.0, -0.0),
            ("sin", sin, tiny, tiny),
            ("sin", sin, -1e-40, -1e-40),
            ("sin", sin, inf, nan),
            ("sin", sin, -inf, nan),
            ("cos", cos, 0.0, 1.0),
            ("cos", cos, -0.0, 1.0),
            ("cos", cos, tiny, 1.0),
            ("cos", cos, inf, nan),
            ("tan", tan, 0.0, 0.0),
            ("tan", tan, -0.0, -0.0),
            ("tan", tan, -1e-40, -1e-40),
            ("tan", tan, -inf, nan),
            ("asin", asin, 0.0, 0.0),
            ("asin", asin, -0.0, -0.0),
            ("asin", asin, 1.0, PIO2_HI),
            ("asin", asin, -1.0, -PIO2_HI),
            ("asin", asin, 1e-40, 1e-40),
            ("asin", asin, 1.000_000_1, nan),
            ("asin", asin, -inf, nan),
            ("acos", acos, 1.0, 0.0),
            ("acos", acos, -1.0, PI_HI),
            ("acos", acos, 0.0, PIO2_HI),
            ("acos", acos, -0.0, PIO2_HI),
            ("acos", acos, -1.000_000_1, nan),
            ("acos", acos, inf, nan),
            ("atan", atan, 0.0, 0.0),
            ("atan", atan, -0.0, -0.0),
            ("atan", atan, 1e-40, 1e-40),
            ("atan", atan, 1.0, PIO4_HI),
            ("atan", atan, inf, PIO2_HI),
            ("atan", atan, -inf, -PIO2_HI),
            ("atan", atan, f32::MAX, PIO2_HI),
            ("erf", erf, 0.0, 0.0),
            ("erf", erf, -0.0, -0.0),
            ("erf", erf, inf, 1.0),
            ("erf", erf, -inf, -1.0),
            ("erf", erf, 4.0, 1.0),
            ("erf", erf, -1e-40, ref_erf(-1e-40)),
            ("erf", erf, tiny, ref_erf(tiny)),
        ];
        for &(name, f, x, want) in checks {
            let got = f(x);
            assert!(
                same_bits(got, want),
                "{name}({x:e}) = {got:e}, want {want:e}"
            );
        }
        for (name, f, reference, bound) in APPROX_ONNX {
            assert!(f(f32::NAN).is_nan() && f(-f32::NAN).is_nan(), "{name}(NaN)");
            for x in special_values() {
                let d = ulps(f(x), reference(x));
                assert!(
                    d <= bound,
                    "{name}({x:e}): {} vs {}, {d} ulp",
                    f(x),
                    reference(x)
                );
            }
        }
    }

    #[test]
    fn erf_reference_is_consistent() {
        // The series and the continued fraction agree where they meet, and the reference
        // has the known value erf(1) = 0.8427007929497149.
        assert!((erf_f64(1.0) - 0.842_700_792_949_714_9).abs() < 1e-15);
        let mut x = 2.0;
        while x < 2.5 {
            let d = erf_series(x) - (1.0 - erfc_continued_fraction(x));
            assert!(d.abs() < 1e-14, "erf({x}): {d:e}");
            x += 1.0 / 128.0;
        }
    }

    /// Every 8191st bit pattern (half a million values over all exponents, NaNs and
    /// subnormals included).
    #[test]
    fn onnx_functions_sparse_sweep_within_bounds() {
        for (name, f, reference, bound) in APPROX_ONNX {
            let (err, at) = max_error(f, reference, (0..=u32::MAX).step_by(8191));
            assert!(
                err <= bound,
                "{name}: {err} ulp at {at:e} (bits {:#010x})",
                at.to_bits()
            );
        }
    }

    /// Every 31st value with magnitude in [2^-4, 8), where the polynomials and the
    /// switches between them are (about 700 000 values).
    #[test]
    fn onnx_functions_dense_where_the_methods_switch() {
        for (name, f, reference, bound) in APPROX_ONNX {
            for (lo, hi) in [(0x3d80_0000u32, 0x4100_0000u32), (0xbd80_0000, 0xc100_0000)] {
                let (err, at) = max_error(f, reference, (lo..hi).step_by(31));
                assert!(err <= bound, "{name}: {err} ulp at {at:e}");
            }
        }
    }

    #[test]
    fn sin_and_cos_are_bounded_for_every_magnitude() {
        // Every 4099th positive finite value, up to f32::MAX: results stay in [-1, 1] and
        // sin^2 + cos^2 stays 1.
        for b in (0x3f00_0000u32..0x7f80_0000).step_by(4099) {
            let x = f32::from_bits(b);
            let (s, c) = (sin(x), cos(x));
            assert!(s.abs() <= 1.0 && c.abs() <= 1.0, "sin/cos({x:e})");
            assert!((s * s + c * c - 1.0).abs() < 1e-6, "sin^2 + cos^2 at {x:e}");
            assert_eq!(sin(-x).to_bits(), (-s).to_bits(), "sin(-{x:e})");
            assert_eq!(cos(-x).to_bits(), c.to_bits(), "cos(-{x:e})");
        }
    }

    /// `pow` against `f64::powf` rounded to `f32` (correctly rounded as far as a 2^-44
    /// error can tell), with the bound it enforces.
    const POW_BOUND: u64 = 1;

    fn ref_pow(x: f32, y: f32) -> f32 {
        f64::from(x).powf(f64::from(y)) as f32
    }

    #[test]
    fn pow_special_cases() {
        let inf = f32::INFINITY;
        let nan = f32::NAN;
        let cases: &[(f32, f32, f32)] = &[
            (nan, 0.0, 1.0),
            (nan, -0.0, 1.0),
            (1.0, nan, 1.0),
            (1.0, inf, 1.0),
            (-1.0, inf, 1.0),
            (-1.0, -inf, 1.0),
            (nan, 1.0, nan),
            (2.0, nan, nan),
            (0.0, -1.0, inf),
            (-0.0, -1.0, -inf),
            (-0.0, -2.0, inf),
            (-0.0, -0.5, inf),
            (0.0, -inf, inf),
            (-0.0, 3.0, -0.0),
            (-0.0, 2.0, 0.0),
            (-0.0, 0.5, 0.0),
            (0.5, inf, 0.0),
            (0.5, -inf, inf),
            (2.0, inf, inf),
            (2.0, -inf, 0.0),
            (-inf, -3.0, -0.0),
            (-inf, -2.0, 0.0),
            (-inf, 3.0, -inf),
            (-inf, 2.0, inf),
            (-inf, 0.5, inf),
            (inf, -0.5, 0.0),
            (inf, 0.5, inf),
            (-2.0, 0.5, nan),
            (-2.0, 3.0, -8.0),
            (-2.0, 2.0, 4.0),
            (-2.0, -1.0, -0.5),
            (-8.0, 1.0 / 3.0, nan),
            (2.0, 10.0, 1024.0),
            (2.0, -149.0, f32::from_bits(1)),
            (2.0, -150.0, 0.0),
            (2.0, 128.0, inf),
            (2.0, 127.0, 1.701_411_8e38),
            (4.0, 0.5, 2.0),
            (-1.0, 16_777_217.0, 1.0), // rounds to 2^24, an even integer
            (-1.0, 8_388_609.0, -1.0),
            (10.0, -2.0, 0.01),
        ];
        for &(x, y, want) in cases {
            let got = pow(x, y);
            assert!(
                same_bits(got, want),
                "pow({x:e}, {y:e}) = {got:e}, want {want:e}"
            );
            assert!(
                same_bits(ref_pow(x, y), want),
                "reference pow({x:e}, {y:e})"
            );
        }
    }

    #[test]
    fn pow_dense_grid_within_bound() {
        // Bases over all magnitudes (every 65537th positive pattern, about 32 000) times
        // a set of exponents that covers integers, halves, small and large values.
        let exponents = [
            -150.5, -40.0, -3.0, -2.5, -1.0, -0.5, -1e-3, 1e-7, 0.3, 0.5, 1.0, 1.5, 2.0,
            3.0, 7.25, 31.0, 100.0, 1000.0,
        ];
        let mut worst = (0, 0.0, 0.0);
        for b in (1u32..0x7f80_0000).step_by(65_537) {
            let x = f32::from_bits(b);
            for y in exponents {
                for x in [x, -x] {
                    let d = ulps(pow(x, y), ref_pow(x, y));
                    if d > worst.0 {
                        worst = (d, x, y);
                    }
                }
            }
        }
        assert!(worst.0 <= POW_BOUND, "pow: {worst:?}");
    }

    proptest! {
        #[test]
        fn onnx_functions_within_bounds(x in proptest::num::f32::ANY) {
            for (name, f, reference, bound) in APPROX_ONNX {
                let d = ulps(f(x), reference(x));
                prop_assert!(d <= bound, "{}({:e}) = {:e}, want {:e} ({} ulp)",
                    name, x, f(x), reference(x), d);
            }
        }

        #[test]
        fn trig_within_bounds_up_to_1e5(x in -1e5f32..1e5) {
            for (name, f, reference, bound) in APPROX_ONNX {
                let d = ulps(f(x), reference(x));
                prop_assert!(d <= bound, "{}({:e}) ({} ulp)", name, x, d);
            }
        }

        #[test]
        fn pow_within_bound(x in proptest::num::f32::ANY, y in proptest::num::f32::ANY) {
            let d = ulps(pow(x, y), ref_pow(x, y));
            prop_assert!(d <= POW_BOUND, "pow({:e}, {:e}) = {:e}, want {:e}",
                x, y, pow(x, y), ref_pow(x, y));
        }

        #[test]
        fn pow_within_bound_moderate(x in -100f32..100.0, y in -30f32..30.0) {
            let d = ulps(pow(x, y), ref_pow(x, y));
            prop_assert!(d <= POW_BOUND, "pow({:e}, {:e}) = {:e}, want {:e}",
                x, y, pow(x, y), ref_pow(x, y));
        }

        #[test]
        fn pow_negative_base_integer_exponent(x in -30f32..0.0, n in -40i32..40) {
            #[allow(clippy::cast_precision_loss)]
            let y = n as f32;
            let d = ulps(pow(x, y), ref_pow(x, y));
            prop_assert!(d <= POW_BOUND, "pow({:e}, {}) ({} ulp)", x, n, d);
        }
    }

    /// All 2^32 inputs of the activation and rounding functions, on all cores (about 9
    /// minutes on 2 cores in release mode):
    /// `cargo test --release -p edgegen --lib kernels::math -- --ignored exhaustive --nocapture`.
    #[test]
    #[ignore]
    fn exhaustive() {
        check_all_inputs(&APPROX, &EXACT);
    }

    /// All 2^32 inputs of the functions of the ONNX element-wise operators (about 8 minutes
    /// on 2 cores in release mode); a separate test so that either set can be rerun alone.
    #[test]
    #[ignore]
    fn exhaustive_onnx_functions() {
        check_all_inputs(&APPROX_ONNX, &[]);
    }

    fn check_all_inputs(
        approx: &[(&'static str, Fun, Fun, u64)],
        exact: &[(&'static str, Fun, Fun)],
    ) {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
        let chunk = (1u64 << 32).div_ceil(threads);
        let mut failures = Vec::new();
        for &(name, f, reference, bound) in approx {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    std::thread::spawn(move || {
                        let lo = t * chunk;
                        let hi = ((t + 1) * chunk).min(1 << 32);
                        max_error(f, reference, (lo..hi).map(|b| b as u32))
                    })
                })
                .collect();
            let (err, at) = handles
                .into_iter()
                .map(|h| h.join().expect("worker thread"))
                .max_by_key(|r| r.0)
                .expect("at least one thread");
            std::eprintln!(
                "{name}: max {err} ulp (at {at:e}, bits {:#010x})",
                at.to_bits()
            );
            if err > bound {
                failures.push(name);
            }
        }
        for &(name, f, reference) in exact {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    std::thread::spawn(move || {
                        let lo = t * chunk;
                        let hi = ((t + 1) * chunk).min(1 << 32);
                        (lo..hi)
                            .map(|b| f32::from_bits(b as u32))
                            .all(|x| same_bits(f(x), reference(x)))
                    })
                })
                .collect();
            let ok = handles
                .into_iter()
                .all(|h| h.join().expect("worker thread"));
            std::eprintln!("{name}: {}", if ok { "exact" } else { "MISMATCH" });
            if !ok {
                failures.push(name);
            }
        }
        assert!(failures.is_empty(), "out of bounds: {failures:?}");
    }
}
