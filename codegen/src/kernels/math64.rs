//! Double-precision math functions for generated `#![no_std]` code: the `f64` counterparts
//! of [`super::math`], with the same names (`math64::exp` is the `f64` `exp`), for models
//! with `float64` tensors.
//!
//! Like `math`, the file is embedded as source into generated code, so it only uses
//! `core`, has no `unsafe` and no lookup tables, and it does not depend on `math`. Unlike
//! `math`, it computes in `f64` throughout (the targets that run `float64` models have, or
//! emulate, double precision).
//!
//! The polynomials are truncated Taylor series whose coefficients are written as the exact
//! rational expressions they are (`1.0 / 720.0`), which the compiler rounds to the nearest
//! `f64`: on the small reduced ranges used here a Taylor series a few terms longer than a
//! minimax fit reaches the same accuracy, and its constants need no fitting script. Each
//! truncation error is stated below 2^-56, out of reach of the rounding errors.
//!
//! Accuracy, measured against `std`'s `f64` functions (the tests `sampled_within_bounds`,
//! 2 million inputs spread over every exponent and both signs, and
//! `dense_where_the_methods_switch`, 1 million in [2^-10, 64) and its negative, as 2^64
//! inputs cannot be tried); "ulp" counts representable `f64` values:
//!
//! | function | measured max error | bound the tests enforce | notes |
//! | --- | --- | --- | --- |
//! | [`exp`] | 1 ulp | 2 ulp | subnormal results, overflow to inf |
//! | [`expm1`] | 2 ulp | 3 ulp | accurate near 0 |
//! | [`ln`] | 1 ulp | 2 ulp | subnormal inputs; `ln(0) = -inf` |
//! | [`tanh`] | 3 ulp | 4 ulp | exactly odd; from `expm1` |
//! | [`sigmoid`] | 2 ulp | 3 ulp | whole range |
//! | [`sqrt`] | 0 ulp | 0 ulp | correctly rounded |
//! | [`floor`], [`ceil`] | exact | exact | |
//! | [`round_half_to_even`], [`round_half_away_from_zero`] | exact | exact | |
//!
//! NaN inputs give NaN everywhere.
//!
//! Not here yet: the `f64` trigonometric, inverse trigonometric, hyperbolic, `erf` and
//! `pow` functions that `math` has for `f32`.

use core::f64::consts::LOG2_E;

/// `ln(2)` split for Cody-Waite range reduction: `LN2_HI` (0x3fe62e42fee00000) has 32
/// significant bits, so `k * LN2_HI` is exact for every `|k| < 2^21`, and `LN2_LO`
/// (0x3dea39ef35793c76) is the `f64` nearest to `ln(2) - LN2_HI` (computed from the series
/// `ln 2 = sum 1 / (k 2^k)` in exact integer arithmetic).
const LN2_HI: f64 = 0.693_147_180_369_123_8;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

/// 1.5 * 2^52: adding it to an `f64` of magnitude below 2^51 rounds it to an integer (ties
/// to even), which is left in the low mantissa bits.
const ROUND_SHIFT: f64 = 6_755_399_441_055_744.0;

/// 2^52: every `f64` of at least this magnitude is an integer.
const TWO_POW_52: f64 = 4_503_599_627_370_496.0;

/// `2^k` for `-1022 <= k <= 1023`, from the bit pattern (other `k` give a meaningless value,
/// without panicking).
#[inline]
fn pow2(k: i64) -> f64 {
    f64::from_bits((k.wrapping_add(1023) as u64) << 52)
}

/// `x = n ln2 + r` with `|r| <= ln2 / 2` (slightly more after rounding), for `x` clamped to
/// a range where `|n| <= 1100`: returns `n` and `r`. `x - n LN2_HI` is exact.
#[inline]
fn reduce_ln2(x: f64) -> (i64, f64) {
    let t = x * LOG2_E + ROUND_SHIFT;
    let nf = t - ROUND_SHIFT;
    // n is in the low mantissa bits of t (wrapping: meaningless but harmless for NaN).
    let n = t.to_bits().wrapping_sub(ROUND_SHIFT.to_bits()) as i64;
    (n, (x - nf * LN2_HI) - nf * LN2_LO)
}

/// `(e^r - 1 - r) / r^2` for `|r| <= 0.35`: the Taylor series to the term `r^12 / 14!`
/// (truncation error below 2^-58 relative to `e^r - 1`).
#[inline]
fn expm1_tail(r: f64) -> f64 {
    // Horner's rule from the r^12/14! term down; the divisions are constant-folded.
    let mut t = 1.0 / 87_178_291_200.0;
    t = 1.0 / 6_227_020_800.0 + r * t;
    t = 1.0 / 479_001_600.0 + r * t;
    t = 1.0 / 39_916_800.0 + r * t;
    t = 1.0 / 3_628_800.0 + r * t;
    t = 1.0 / 362_880.0 + r * t;
    t = 1.0 / 40_320.0 + r * t;
    t = 1.0 / 5_040.0 + r * t;
    t = 1.0 / 720.0 + r * t;
    t = 1.0 / 120.0 + r * t;
    t = 1.0 / 24.0 + r * t;
    t = 1.0 / 6.0 + r * t;
    1.0 / 2.0 + r * t
}

/// `e^x`.
///
/// `x = n ln2 + r` (Cody-Waite), `e^r = 1 + (r + r^2 T(r))` with `T` the Taylor series of
/// `expm1_tail`, and the scaling by `2^n` done as two exact-or-once-rounded multiplications
/// by normal powers of two, which gives correctly rounded subnormal results.
#[inline]
pub fn exp(x: f64) -> f64 {
    // Beyond these bounds the result is inf or 0 anyway; `clamp` leaves NaN as it is.
    let x = x.clamp(-746.0, 710.0);
    let (n, r) = reduce_ln2(x);
    let p = 1.0 + (r + r * r * expm1_tail(r));
    let n1 = n >> 1;
    p * pow2(n1) * pow2(n.wrapping_sub(n1))
}

/// `e^x - 1`, accurate for small `|x|` (where `exp(x) - 1` cancels).
///
/// `|x| <= ln2 / 2`: `x + x^2 T(x)` directly. Otherwise `x = n ln2 + r` and
/// `e^x - 1 = 2^n (e^r - 1) + (2^n - 1)`, where `2^n - 1` is exact for the `n` used; for
/// `x > 40` the `- 1` no longer matters and [`exp`] is used, for `x < -40` the result
/// rounds to -1.
#[inline]
pub fn expm1(x: f64) -> f64 {
    if x.abs() <= 0.346 {
        // x == 0 returns x itself, keeping the sign of -0.
        return if x == 0.0 {
            x
        } else {
            x + x * x * expm1_tail(x)
        };
    }
    if x > 40.0 {
        return exp(x);
    }
    if x < -40.0 {
        return -1.0;
    }
    if x.is_nan() {
        return x;
    }
    let (n, r) = reduce_ln2(x);
    let scale = pow2(n);
    scale * (r + r * r * expm1_tail(r)) + (scale - 1.0)
}

/// Natural logarithm.
///
/// `x = 2^k m` with `m` in [sqrt(2)/2, sqrt(2)) (from the bit pattern; subnormals are
/// scaled by 2^54 first), `f = m - 1`, `s = f / (2 + f)`, and
/// `ln(1 + f) = f - f^2/2 + s (f^2/2 + R)` with `R = 2 (s^2/3 + s^4/5 + ... + s^22/23)`
/// (the Taylor series of `2 atanh(s) / s - 2`, truncation error below 2^-60), arranged so
/// that the exact term `f` is added last; `k ln 2` is added in two parts.
#[inline]
pub fn ln(x: f64) -> f64 {
    let mut bits = x.to_bits();
    let mut k: i64 = 0;
    // One unsigned comparison catches zero, subnormals, negatives, infinity and NaN.
    if bits.wrapping_sub(0x0010_0000_0000_0000) >= 0x7fe0_0000_0000_0000 {
        if bits << 1 == 0 {
            return f64::NEG_INFINITY;
        }
        if bits >= 0x7ff0_0000_0000_0000 {
            return if bits <= 0x7fff_ffff_ffff_ffff {
                x
            } else {
                f64::NAN
            };
        }
        bits = (x * 18_014_398_509_481_984.0).to_bits(); // 2^54
        k = -54;
    }
    const SQRT_HALF_BITS: u64 = 0x3fe6_a09e_667f_3bcd;
    bits = bits.wrapping_add(0x3ff0_0000_0000_0000 - SQRT_HALF_BITS);
    k += (bits >> 52) as i64 - 1023;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) + SQRT_HALF_BITS);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    // Horner's rule from the s^22 term down; the divisions are constant-folded.
    let mut r = 2.0 / 23.0;
    r = 2.0 / 21.0 + z * r;
    r = 2.0 / 19.0 + z * r;
    r = 2.0 / 17.0 + z * r;
    r = 2.0 / 15.0 + z * r;
    r = 2.0 / 13.0 + z * r;
    r = 2.0 / 11.0 + z * r;
    r = 2.0 / 9.0 + z * r;
    r = 2.0 / 7.0 + z * r;
    r = 2.0 / 5.0 + z * r;
    r = 2.0 / 3.0 + z * r;
    r *= z;
    let hfsq = 0.5 * f * f;
    let kf = k as f64;
    kf * LN2_HI - ((hfsq - (s * (hfsq + r) + kf * LN2_LO)) - f)
}

/// Hyperbolic tangent: `e / (e + 2)` with `e = expm1(2|x|)`, which is accurate down to the
/// smallest `x` (no cancellation), and 1 from `|x| = 22` on. Exactly odd.
#[inline]
pub fn tanh(x: f64) -> f64 {
    let a = x.abs();
    let t = if a < 22.0 {
        let e = expm1(a + a);
        e / (e + 2.0)
    } else if a.is_nan() {
        a
    } else {
        1.0
    };
    t.copysign(x)
}

/// The logistic function `1 / (1 + e^-x)`, as `1 / (1 + e)` for `x >= 0` and
/// `e / (1 + e)` for `x < 0` with `e = e^-|x|`, which keeps full relative accuracy down to
/// subnormal results.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    let e = exp(-x.abs());
    let numerator = if x < 0.0 { e } else { 1.0 };
    numerator / (1.0 + e)
}

/// Square root, correctly rounded.
///
/// As in `math::sqrt`: `x = m 2^e`, `M = m 2^j` in [2^104, 2^106) with `e - j` even, the
/// 53-bit result mantissa is the integer nearest to `sqrt(M)`, estimated with `f64` Newton
/// steps from a bit-pattern guess and corrected with exact 128-bit integer arithmetic.
#[inline]
pub fn sqrt(x: f64) -> f64 {
    let bits = x.to_bits();
    let (m, e) = if bits.wrapping_sub(0x0010_0000_0000_0000) < 0x7fe0_0000_0000_0000 {
        (
            (bits & 0x000f_ffff_ffff_ffff) | 0x0010_0000_0000_0000,
            (bits >> 52) as i64 - 1075,
        )
    } else if bits << 1 == 0 || bits == 0x7ff0_0000_0000_0000 || x.is_nan() {
        return x; // ±0, +inf, NaN
    } else if bits > 0x7fff_ffff_ffff_ffff {
        return f64::NAN; // negative
    } else {
        let shift = bits.leading_zeros() - 11;
        (bits << shift, -1074 - i64::from(shift))
    };
    let j = 52 + ((e - 52) & 1);
    let big = i128::from(m) << j;
    let a = big as f64;
    // 1/sqrt(a): a bit-pattern guess (3.5% off) and four Newton steps (to about 1e-16).
    let mut y = f64::from_bits(0x5fe6_eb50_c7b5_37a9 - (a.to_bits() >> 1));
    y *= 1.5 - 0.5 * a * y * y;
    y *= 1.5 - 0.5 * a * y * y;
    y *= 1.5 - 0.5 * a * y * y;
    y *= 1.5 - 0.5 * a * y * y;
    // a * y is within a few units of sqrt(big) (which is below 2^53); one Newton step on
    // the exact integer residual makes the rounded estimate the nearest integer or next
    // to it.
    let s = (a * y) as i128;
    let refined = s as f64 + (big - s * s) as f64 * (0.5 * y);
    let mut root = (refined + 0.5) as i128;
    let d = big - root * root;
    root += i128::from(d > root) - i128::from(d <= -root);
    // root is in [2^52, 2^53]; its implicit bit lands in the exponent field.
    let exponent = ((e - j) / 2 + 1074) as u64;
    f64::from_bits((exponent << 52) + root as u64)
}

/// Truncation toward zero for `|x| < 2^52` (exact there).
#[inline]
fn trunc_small(x: f64) -> f64 {
    (x as i64) as f64
}

/// The largest integer not greater than `x`; keeps the sign of zero.
#[inline]
pub fn floor(x: f64) -> f64 {
    if x.abs() < TWO_POW_52 {
        let t = trunc_small(x);
        let f = if t > x { t - 1.0 } else { t };
        f.copysign(x)
    } else {
        x // already an integer, infinite or NaN
    }
}

/// The smallest integer not less than `x`; keeps the sign of zero (`ceil(-0.5) == -0.0`).
#[inline]
pub fn ceil(x: f64) -> f64 {
    if x.abs() < TWO_POW_52 {
        let t = trunc_small(x);
        let c = if t < x { t + 1.0 } else { t };
        c.copysign(x)
    } else {
        x
    }
}

/// Rounds to the nearest integer, ties to even, like ONNX `Round`.
#[inline]
pub fn round_half_to_even(x: f64) -> f64 {
    let a = x.abs();
    if a < TWO_POW_52 {
        // In [2^52, 2^53) the spacing of f64 is 1, so the addition rounds, ties to even.
        ((a + TWO_POW_52) - TWO_POW_52).copysign(x)
    } else {
        x
    }
}

/// Rounds to the nearest integer, ties away from zero, like C `round`.
#[inline]
pub fn round_half_away_from_zero(x: f64) -> f64 {
    let a = x.abs();
    if a < TWO_POW_52 {
        let t = trunc_small(a);
        let r = if a - t >= 0.5 { t + 1.0 } else { t };
        r.copysign(x)
    } else {
        x
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

    /// Distance between two `f64` in representable values (0 when both are NaN, `u64::MAX`
    /// when only one is); +0 and -0 are the same point.
    fn ulps(a: f64, b: f64) -> u64 {
        match (a.is_nan(), b.is_nan()) {
            (true, true) => return 0,
            (false, false) => {}
            _ => return u64::MAX,
        }
        let key = |v: f64| {
            let bits = i128::from(v.to_bits());
            if bits & (1 << 63) != 0 {
                -(bits & 0x7fff_ffff_ffff_ffff)
            } else {
                bits
            }
        };
        u64::try_from((key(a) - key(b)).unsigned_abs()).unwrap_or(u64::MAX)
    }

    fn same_bits(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    fn ref_sigmoid(x: f64) -> f64 {
        // The reference in higher effective precision than sigmoid's own formula: for
        // x < 0, e / (1 + e) with std's exp; for x >= 0, 1 / (1 + e^-x).
        if x < 0.0 {
            let e = x.exp();
            e / (1.0 + e)
        } else {
            1.0 / (1.0 + (-x).exp())
        }
    }

    type Fun = fn(f64) -> f64;

    const APPROX: [(&str, Fun, Fun, u64); 6] = [
        ("exp", exp, f64::exp, 2),
        ("expm1", expm1, f64::exp_m1, 3),
        ("ln", ln, f64::ln, 2),
        ("tanh", tanh, f64::tanh, 4),
        ("sigmoid", sigmoid, ref_sigmoid, 3),
        ("sqrt", sqrt, f64::sqrt, 0),
    ];

    const EXACT: [(&str, Fun, Fun); 4] = [
        ("floor", floor, f64::floor),
        ("ceil", ceil, f64::ceil),
        (
            "round_half_to_even",
            round_half_to_even,
            f64::round_ties_even,
        ),
        (
            "round_half_away_from_zero",
            round_half_away_from_zero,
            f64::round,
        ),
    ];

    fn special_values() -> Vec<f64> {
        let mut v = std::vec![
            0.0,
            1.0,
            0.5,
            2.0,
            f64::INFINITY,
            f64::NAN,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::from_bits(1),
            f64::from_bits(0x000f_ffff_ffff_ffff),
            f64::EPSILON,
            1e-300,
            core::f64::consts::LN_2,
            0.346,
            0.347,
            22.0,
            40.0,
            40.1,
            709.782_712_893_383_9, // largest x with finite exp
            709.782_712_893_384,
            -708.396_418_532_264_1, // exp near the smallest normal
            -744.440_071_921_381,   // exp near the smallest subnormal
            -745.133_219_101_941_1,
            -745.2,
            -746.0,
            -800.0,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            0.499_999_999_999_999_94,
            1.5,
            2.5,
        ];
        let negated: Vec<f64> = v.iter().map(|x| -x).collect();
        v.extend(negated);
        v
    }

    #[test]
    fn special_values_within_bounds() {
        let inf = f64::INFINITY;
        let checks: &[(&str, Fun, f64, f64)] = &[
            ("exp", exp, -inf, 0.0),
            ("exp", exp, inf, inf),
            ("exp", exp, 0.0, 1.0),
            ("exp", exp, 1000.0, inf),
            ("exp", exp, -1000.0, 0.0),
            ("expm1", expm1, -0.0, -0.0),
            ("expm1", expm1, -inf, -1.0),
            ("expm1", expm1, inf, inf),
            ("ln", ln, 0.0, -inf),
            ("ln", ln, -0.0, -inf),
            ("ln", ln, 1.0, 0.0),
            ("ln", ln, inf, inf),
            ("ln", ln, -1.0, f64::NAN),
            ("tanh", tanh, -0.0, -0.0),
            ("tanh", tanh, inf, 1.0),
            ("tanh", tanh, -inf, -1.0),
            ("tanh", tanh, -1e-310, -1e-310),
            ("sigmoid", sigmoid, 0.0, 0.5),
            ("sigmoid", sigmoid, inf, 1.0),
            ("sigmoid", sigmoid, -inf, 0.0),
            ("sqrt", sqrt, -0.0, -0.0),
            ("sqrt", sqrt, inf, inf),
            ("sqrt", sqrt, -1e-310, f64::NAN),
            ("sqrt", sqrt, 4.0, 2.0),
            ("floor", floor, -0.0, -0.0),
            ("ceil", ceil, -0.5, -0.0),
            ("round_half_to_even", round_half_to_even, 2.5, 2.0),
            ("round_half_to_even", round_half_to_even, -0.5, -0.0),
            (
                "round_half_away_from_zero",
                round_half_away_from_zero,
                -2.5,
                -3.0,
            ),
        ];
        for &(name, f, x, want) in checks {
            let got = f(x);
            assert!(
                same_bits(got, want),
                "{name}({x:e}) = {got:e}, want {want:e}"
            );
        }
        for (name, f, reference, bound) in APPROX {
            assert!(f(f64::NAN).is_nan(), "{name}(NaN)");
            for x in special_values() {
                let d = ulps(f(x), reference(x));
                assert!(
                    d <= bound,
                    "{name}({x:e}): {:e} vs {:e}, {d} ulp",
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

    /// A deterministic sample of bit patterns: every exponent, with 2000 pseudo-random
    /// mantissas each (about 8 million values over both signs, NaNs and subnormals).
    fn sample() -> impl Iterator<Item = u64> {
        let mut state = 0x1234_5678_9abc_def0u64;
        (0..4096u64).flat_map(move |sign_exponent| {
            (0..2000).map(move |i: u64| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(i | 1);
                (sign_exponent << 52) | (state >> 12)
            })
        })
    }

    fn max_error(f: Fun, reference: Fun, bits: impl Iterator<Item = u64>) -> (u64, f64) {
        let mut worst = (0, 0.0);
        for b in bits {
            let x = f64::from_bits(b);
            let d = ulps(f(x), reference(x));
            if d > worst.0 {
                worst = (d, x);
            }
        }
        worst
    }

    #[test]
    fn sampled_within_bounds() {
        for (name, f, reference, bound) in APPROX {
            let (err, at) = max_error(f, reference, sample().step_by(4));
            std::eprintln!("{name}: max {err} ulp at {at:e}");
            assert!(
                err <= bound,
                "{name}: {err} ulp at {at:e} (bits {:#018x})",
                at.to_bits()
            );
        }
    }

    #[test]
    fn dense_where_the_methods_switch() {
        // [2^-10, 64) and its negative, where the series and the switches are.
        for (name, f, reference, bound) in APPROX {
            for (lo, hi) in [
                (0x3f50_0000_0000_0000u64, 0x4050_0000_0000_0000u64),
                (0xbf50_0000_0000_0000, 0xc050_0000_0000_0000),
            ] {
                // About 260 000 values per range.
                let (err, at) =
                    max_error(f, reference, (lo..hi).step_by(0x0000_0040_0000_0001));
                std::eprintln!("{name}: max {err} ulp at {at:e}");
                assert!(err <= bound, "{name}: {err} ulp at {at:e}");
            }
        }
    }

    #[test]
    fn rounding_is_exact_on_the_sample() {
        for (name, f, reference) in EXACT {
            for b in sample().step_by(4) {
                let x = f64::from_bits(b);
                assert!(same_bits(f(x), reference(x)), "{name}({x:e})");
            }
        }
    }

    proptest! {
        #[test]
        fn approx_functions_within_bounds(x in proptest::num::f64::ANY) {
            for (name, f, reference, bound) in APPROX {
                let d = ulps(f(x), reference(x));
                prop_assert!(d <= bound, "{}({:e}) = {:e}, want {:e} ({} ulp)",
                    name, x, f(x), reference(x), d);
            }
        }

        #[test]
        fn approx_functions_within_bounds_moderate(x in -750.0f64..750.0) {
            for (name, f, reference, bound) in APPROX {
                let d = ulps(f(x), reference(x));
                prop_assert!(d <= bound, "{}({:e}) ({} ulp)", name, x, d);
            }
        }

        #[test]
        fn rounding_matches_std(x in proptest::num::f64::ANY) {
            for (name, f, reference) in EXACT {
                prop_assert!(same_bits(f(x), reference(x)), "{}({:e})", name, x);
            }
        }

        #[test]
        fn rounding_matches_std_near_halves(n in -1i64 << 53..1i64 << 53, frac in 0u8..8) {
            let x = n as f64 + f64::from(frac) * 0.125;
            for (name, f, reference) in EXACT {
                prop_assert!(same_bits(f(x), reference(x)), "{}({:e})", name, x);
            }
        }
    }
}
