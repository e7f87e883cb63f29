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
//! an `f64` step would be a slow software routine.
//!
//! Accuracy, measured against the `f64` functions of `std` rounded to `f32`, over all 2^32
//! inputs (the `#[ignore]`d test `exhaustive`, run in release mode); an "ulp" here is the
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
//!
//! NaN inputs give NaN everywhere. The functions are written to have few branches on the
//! common path, because they run in loops over activations (sigmoid, tanh, softmax).
//!
//! The polynomial coefficients are minimax fits made with a small Remez-exchange script
//! (numpy, 80-bit `longdouble`), weighted for relative error, then rounded to `f32`; each
//! constant is written with the shortest decimal that gives the same `f32`.

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

    /// All 2^32 inputs of every function, on all cores (about 9 minutes on 2 cores in
    /// release mode): `cargo test --release -- --ignored exhaustive --nocapture`.
    #[test]
    #[ignore]
    fn exhaustive() {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
        let chunk = (1u64 << 32).div_ceil(threads);
        let mut failures = Vec::new();
        for (name, f, reference, bound) in APPROX {
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
        for (name, f, reference) in EXACT {
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
