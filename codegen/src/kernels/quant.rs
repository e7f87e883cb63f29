//! Fixed-point helpers of integer-only requantization (the TFLite int8 scheme, after Jacob et
//! al. 2018 and gemmlowp).
//!
//! A real multiplier `M` (for a convolution, `s_in · s_w / s_out`) is stored at compile time as
//! a Q31 `multiplier` in `[2^30, 2^31)` and a power-of-two `shift`: `M ≈ multiplier · 2^(shift -
//! 31)`. At run time an `i32` accumulator is scaled with two roundings, exactly as TFLite's
//! reference kernels do in their default build (not the `TFLITE_SINGLE_ROUNDING` variant):
//! 1. a saturating rounding doubling high multiply: `a · b / 2^31` rounded to nearest with ties
//!    towards +∞ (gemmlowp's nudge-and-truncate gives exactly that), with the one overflow case
//!    (`i32::MIN · i32::MIN`) saturated;
//! 2. a rounding right shift that rounds half away from zero.
//!
//! Matching those two roundings bit for bit is what makes generated code give the same bytes
//! as the TFLite interpreter; a single rounding would differ by one on some values.

/// `a · b / 2^31` rounded to nearest, ties towards +∞, saturated (gemmlowp's
/// `SaturatingRoundingDoublingHighMul`).
#[inline(always)]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let product = a as i64 * b as i64;
    let nudge: i64 = if product >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Division truncates toward zero; with the nudge that is round-to-nearest, ties up.
    ((product + nudge) / (1i64 << 31)) as i32
}

/// `round(x / 2^exponent)`, half away from zero (gemmlowp's `RoundingDivideByPOT`), for
/// `exponent` in `0..=31`.
#[inline(always)]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> exponent) + (remainder > threshold) as i32
}

/// `x · multiplier · 2^(shift - 31)` with TFLite's roundings (`MultiplyByQuantizedMultiplier`):
/// a positive shift multiplies before the high multiply, a negative one divides after it.
#[inline(always)]
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left = if shift > 0 { shift } else { 0 };
    let right = if shift > 0 { 0 } else { -shift };
    // TFLite multiplies in 32 bits here; the compiler only emits shifts for which the
    // accumulator cannot overflow in practice, and wrapping keeps the same bits if it did.
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_mul(1 << left), multiplier),
        right,
    )
}

/// `x · multiplier · 2^(shift - 31)` rounded once, half up, from the exact 64-bit product
/// (TFLite's single-rounding variant; onnxruntime rounds the same real number): nearer the
/// exact result than [`multiply_by_quantized_multiplier`], whose first rounding can move a
/// value within a thousandth of a step of a tie to the other side.
#[inline(always)]
pub fn multiply_by_quantized_multiplier_once(x: i32, multiplier: i32, shift: i32) -> i32 {
    let total = 31 - shift;
    if total > 62 {
        return 0;
    }
    let product = x as i64 * multiplier as i64;
    let scaled = if total <= 0 {
        product << -total
    } else {
        (product + (1i64 << (total - 1))) >> total
    };
    scaled.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// [`requantize`] with [`multiply_by_quantized_multiplier_once`].
#[inline(always)]
pub fn requantize_once(
    acc: i32,
    multiplier: i32,
    shift: i32,
    zero_point: i32,
    min: i32,
    max: i32,
) -> i32 {
    multiply_by_quantized_multiplier_once(acc, multiplier, shift)
        .saturating_add(zero_point)
        .clamp(min, max)
}

/// Requantizes an accumulator to an output value: scale, add the output zero point, clamp to
/// `[min, max]` (the element type's range narrowed by a fused activation).
#[inline(always)]
pub fn requantize(
    acc: i32,
    multiplier: i32,
    shift: i32,
    zero_point: i32,
    min: i32,
    max: i32,
) -> i32 {
    clamp_between(
        multiply_by_quantized_multiplier(acc, multiplier, shift) + zero_point,
        min,
        max,
    )
}

/// `v` clamped to `[min, max]` (`min` wins should the range be empty, where `Ord::clamp` would
/// panic).
#[inline(always)]
pub fn clamp_between(v: i32, min: i32, max: i32) -> i32 {
    if v < min {
        min
    } else if v > max {
        max
    } else {
        v
    }
}

/// [`requantize`] or [`requantize_once`] in one 64-bit multiply-add, for a `shift` in
/// `-22..=-2` (a rescaling factor below a quarter, as convolutions have in practice): with
/// `e = −shift`, `acc · multiplier + rounding_base + (2·zero_point + 1) · 2^(30+e)`, plus
/// `negative_rounding` when `acc` is negative, divided by `2^(31+e)` (the high 32 bits shifted
/// right by `e − 1`, which is `!shift`) and clamped. The compiler's
/// `quant::requantize_roundings` picks `rounding_base` and `negative_rounding` so that the
/// result is [`requantize`]'s (or [`requantize_once`]'s) for every accumulator; with
/// `P = acc · multiplier`:
/// - one rounding: `(P + 2^(30+e)) >> (31+e)`, the zero point added as `zero_point · 2^(31+e)`;
/// - two roundings: `floor((P + 2^30) / 2^31)` is the doubling high multiply (its nudge and
///   truncation toward zero round the same way), and rounding that half away from zero by `2^e`
///   is `floor((P + 2^30 + 2^(30+e) − [P < −2^30]·2^31) / 2^(31+e))`; for `e ≥ 1` and a
///   positive multiplier, testing `acc < 0` instead of `P < −2^30` gives the same quotient.
///
/// The high word of the zero point's and half-step's term is `(2·zero_point + 1) << (e − 2)`,
/// one shift: no table of 64-bit terms is stored.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn requantize_rounded(
    acc: i32,
    multiplier: i32,
    shift: i32,
    zero_point: i32,
    rounding_base: i64,
    negative_rounding: i64,
    min: i32,
    max: i32,
) -> i32 {
    let rounding = rounding_base + (((2 * zero_point + 1) as i64) << (30 - shift));
    let v = acc as i64 * multiplier as i64
        + rounding
        + ((acc >> 31) as i64 & negative_rounding);
    clamp_between(((v >> 32) as i32) >> !shift, min, max)
}

/// [`requantize`] by [`requantize_rounded`] (one 64-bit multiply-add rather than a high
/// multiply and a rounding shift) where that gives the same value for every accumulator: a
/// positive multiplier, a shift in `-22..=-2` and a zero point in `-256..=255`. Once inlined
/// with constant parameters, the test folds away.
#[inline(always)]
pub fn requantize_fast(
    acc: i32,
    multiplier: i32,
    shift: i32,
    zero_point: i32,
    min: i32,
    max: i32,
) -> i32 {
    if multiplier > 0 && (-22..=-2).contains(&shift) && (-256..=255).contains(&zero_point) {
        requantize_rounded(
            acc,
            multiplier,
            shift,
            zero_point,
            1 << 30,
            -(1 << 31),
            min,
            max,
        )
    } else {
        requantize(acc, multiplier, shift, zero_point, min, max)
    }
}

/// [`multiply_by_quantized_multiplier`]`(x << left_shift, multiplier, shift)` for an int8 value
/// offset by its zero point (`|x| ≤ 256`), as TFLite's Add and Sub rescale their inputs to a
/// common scale, in one multiply where that gives the same value:
/// - a shift of 0 and a multiplier that is a multiple of `2^(31 − left_shift)` (`left_shift` in
///   `1..=22`), as the input of the larger scale has (its multiplier is one half): the doubling
///   high multiply of `x · 2^left_shift` is exact, `x · (multiplier >> (31 − left_shift))`,
///   which fits in 30 bits;
/// - otherwise [`requantize_fast`] with a zero point of 0 and no clamp.
#[inline(always)]
pub fn rescale_shifted(x: i32, left_shift: i32, multiplier: i32, shift: i32) -> i32 {
    if shift == 0
        && (1..=22).contains(&left_shift)
        && multiplier >= 0
        && multiplier & ((1 << (31 - left_shift)) - 1) == 0
    {
        x * (multiplier >> (31 - left_shift))
    } else {
        requantize_fast(x << left_shift, multiplier, shift, 0, i32::MIN, i32::MAX)
    }
}

/// `x` rounded to the nearest integer, ties away from zero (C's `round`), saturated to `i32`.
/// `core` has no `f64::round` without `std`; the fraction `x − trunc(x)` is exact in double
/// precision, so comparing it with one half decides the rounding exactly.
#[inline(always)]
pub fn round_half_away(x: f64) -> i32 {
    if !(x > i32::MIN as f64 - 1.0 && x < i32::MAX as f64 + 1.0) {
        return if x > 0.0 { i32::MAX } else { i32::MIN };
    }
    let truncated = x as i64;
    let fraction = x - truncated as f64;
    let rounded = if fraction >= 0.5 {
        truncated + 1
    } else if fraction <= -0.5 {
        truncated - 1
    } else {
        truncated
    };
    rounded.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

// ---------------------------------------------------------------------------------------------
// gemmlowp-style fixed-point functions, for the integer softmax. A value with `k` integer bits
// is an `i32` holding `real · 2^(31 − k)`.
// ---------------------------------------------------------------------------------------------

/// `x · 2^exponent` with rounding (negative exponents) or saturation (positive ones).
#[inline(always)]
pub fn saturating_rounding_multiply_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent == 0 {
        x
    } else if exponent < 0 {
        rounding_divide_by_pot(x, -exponent)
    } else {
        let threshold = (1i32 << (31 - exponent)) - 1;
        if x > threshold {
            i32::MAX
        } else if x < -threshold {
            i32::MIN
        } else {
            x << exponent
        }
    }
}

/// `exp(x)` for `x` in `[-1/4, 0)`, `x` and the result with 0 integer bits: a fourth-order
/// Taylor expansion around −1/8.
#[inline(always)]
fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    // exp(-1/8) and 1/3 in Q31.
    const EXP_MINUS_ONE_EIGHTH: i32 = 1_895_147_668;
    const ONE_THIRD: i32 = 715_827_883;
    let mul = saturating_rounding_doubling_high_mul;
    let x = a.wrapping_add(1 << 28);
    let x2 = mul(x, x);
    let x3 = mul(x2, x);
    let x4 = mul(x2, x2);
    let x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2);
    let series = saturating_rounding_multiply_by_pot(
        mul(x4_over_4.wrapping_add(x3), ONE_THIRD).wrapping_add(x2),
        -1,
    );
    EXP_MINUS_ONE_EIGHTH.wrapping_add(mul(EXP_MINUS_ONE_EIGHTH, x.wrapping_add(series)))
}

/// `exp(a)` for `a <= 0` with `INTEGER_BITS` integer bits; the result has 0 integer bits.
/// The argument is split into a multiple of 1/4 and a remainder in `[-1/4, 0)`; the multiple's
/// bits select constant factors `exp(-2^k)`.
#[inline(always)]
pub fn exp_on_negative_values(a: i32, integer_bits: i32) -> i32 {
    let fractional_bits = 31 - integer_bits;
    let one_quarter = 1i32 << (fractional_bits - 2);
    let mask = one_quarter - 1;
    let a_mod_quarter_minus_quarter = (a & mask).wrapping_sub(one_quarter);
    let mut result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_quarter, integer_bits),
    );
    let remainder = a_mod_quarter_minus_quarter.wrapping_sub(a);
    // exp(-2^k) in Q31 for k = -2..=4.
    const FACTORS: [(i32, i32); 7] = [
        (-2, 1_672_461_947),
        (-1, 1_302_514_674),
        (0, 790_015_084),
        (1, 290_630_308),
        (2, 39_332_535),
        (3, 720_401),
        (4, 242),
    ];
    for (exponent, factor) in FACTORS {
        if integer_bits > exponent {
            let shift = fractional_bits + exponent;
            if remainder & (1 << shift) != 0 {
                result = saturating_rounding_doubling_high_mul(result, factor);
            }
        }
    }
    if integer_bits > 5 && a < -(1 << (36 - integer_bits)) {
        result = 0;
    }
    if a == 0 {
        return i32::MAX;
    }
    result
}

/// `1 / (1 + x)` for `x` in `[0, 1)` (0 integer bits in, 0 out), by three Newton-Raphson steps
/// on `1 / d` with `d = (1 + x) / 2`.
#[inline(always)]
fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    let mul = saturating_rounding_doubling_high_mul;
    // (a + 1) / 2 with 0 integer bits, rounded half away from zero.
    let sum = a as i64 + i32::MAX as i64;
    let half_denominator = ((sum + if sum >= 0 { 1 } else { -1 }) / 2) as i32;
    // 48/17 and -32/17 with 2 integer bits.
    const C48_OVER_17: i32 = 1_515_870_810;
    const CMINUS32_OVER_17: i32 = -1_010_580_540;
    let mut x = C48_OVER_17.wrapping_add(mul(half_denominator, CMINUS32_OVER_17));
    let one = 1i32 << 29;
    for _ in 0..3 {
        let half_denominator_times_x = mul(half_denominator, x);
        let one_minus = one.wrapping_sub(half_denominator_times_x);
        x = x.wrapping_add(saturating_rounding_multiply_by_pot(mul(x, one_minus), 2));
    }
    // From 2 integer bits to 0, after halving (the denominator was halved).
    saturating_rounding_multiply_by_pot(x, 1)
}

/// The reciprocal of a positive sum with `integer_bits` integer bits: `(r, e)` with the sum's
/// reciprocal equal to `r · 2^-e` (`r` with 0 integer bits).
#[inline(always)]
pub fn reciprocal(x: i32, integer_bits: i32) -> (i32, i32) {
    let headroom_plus_one = (x as u32).leading_zeros() as i32;
    let bits_over_unit = integer_bits - headroom_plus_one;
    let shifted = (x as u32)
        .checked_shl(headroom_plus_one as u32)
        .unwrap_or(0);
    let shifted_minus_one = shifted.wrapping_sub(1 << 31) as i32;
    (
        one_over_one_plus_x_for_x_in_0_1(shifted_minus_one),
        bits_over_unit,
    )
}

/// Value `i` of a row of 4-bit weights packed two per byte (`--quantize int4-weights`):
/// value `2j` is the low nibble of byte `j` and value `2j + 1` its high nibble, each a
/// two's-complement integer in `[-8, 7]`. Rows start on a byte boundary; a row of an odd number
/// of values leaves the high nibble of its last byte unused (zero). The compiler packs them
/// with `crate::quant::pack_int4_rows`.
#[inline(always)]
pub fn int4_at(row: &[u8], i: usize) -> i32 {
    let byte = row[i >> 1];
    // Moving the nibble to the top of the byte and shifting it back arithmetically extends
    // its sign.
    let top = if i & 1 == 0 { byte << 4 } else { byte & 0xf0 };
    ((top as i8) >> 4) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `v / 2^k` rounded to nearest, ties towards +∞, on wide integers.
    fn round_half_up(v: i128, k: u32) -> i128 {
        (v + (1i128 << k >> 1)).div_euclid(1i128 << k)
    }

    /// `v / 2^k` rounded to nearest, ties away from zero, on wide integers.
    fn round_shift(v: i128, k: u32) -> i128 {
        let d = 1i128 << k;
        let q = v.abs() / d;
        let r = v.abs() % d;
        let q = if 2 * r >= d { q + 1 } else { q };
        if v < 0 { -q } else { q }
    }

    #[test]
    fn saturates_the_one_overflow() {
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
            -i32::MAX
        );
        // Ties: +0.5 rounds up to 1, -0.5 up to 0.
        assert_eq!(saturating_rounding_doubling_high_mul(1 << 15, 1 << 15), 1);
        assert_eq!(
            saturating_rounding_doubling_high_mul(-(1 << 15), 1 << 15),
            0
        );
    }

    #[test]
    fn rounding_shift_rounds_half_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(-6, 2), -2);
        assert_eq!(rounding_divide_by_pot(6, 2), 2);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(7, 0), 7);
    }

    #[test]
    fn rounds_half_away_from_zero() {
        for (x, r) in [
            (0.5, 1),
            (-0.5, -1),
            (2.4999999, 2),
            (-2.5, -3),
            (1e300, i32::MAX),
        ] {
            assert_eq!(round_half_away(x), r, "{x}");
        }
        assert_eq!(round_half_away(f64::NAN), i32::MIN);
    }

    proptest! {

        /// One rounding gives the exactly rounded product (ties up) wherever it fits in i32.
        #[test]
        fn single_rounding_is_exact(
            x in -(1i32 << 24)..(1 << 24),
            multiplier in (1i32 << 30)..i32::MAX,
            shift in -20i32..=0,
        ) {
            // floor(x · m / 2^(31 − shift) + 1/2), in exact integers.
            let (num, den) = (x as i128 * multiplier as i128, 1i128 << (31 - shift));
            let expected = (2 * num + den).div_euclid(2 * den) as i32;
            prop_assert_eq!(multiply_by_quantized_multiplier_once(x, multiplier, shift), expected);
        }
        #[test]
        fn round_half_away_matches_std(x in -3e9f64..3e9) {
            let expected = x.round().clamp(i32::MIN as f64, i32::MAX as f64) as i32;
            prop_assert_eq!(round_half_away(x), expected);
        }

        #[test]
        fn high_mul_matches_wide_arithmetic(a in any::<i32>(), b in any::<i32>()) {
            prop_assume!(!(a == i32::MIN && b == i32::MIN));
            let expected = round_half_up(a as i128 * b as i128, 31);
            prop_assert_eq!(saturating_rounding_doubling_high_mul(a, b) as i128, expected);
        }

        #[test]
        fn divide_by_pot_matches_wide_arithmetic(x in any::<i32>(), k in 0i32..=31) {
            prop_assert_eq!(rounding_divide_by_pot(x, k) as i128, round_shift(x as i128, k as u32));
        }

        #[test]
        fn requantization_is_two_wide_roundings(
            x in -(1i32 << 24)..(1 << 24),
            m in (1i32 << 30)..i32::MAX,
            shift in -31i32..=2,
        ) {
            let left = shift.max(0) as u32;
            let right = (-shift).max(0) as u32;
            let high = round_half_up(((x as i128) << left) * m as i128, 31);
            let expected = round_shift(high, right);
            prop_assert_eq!(multiply_by_quantized_multiplier(x, m, shift) as i128, expected);
        }

        /// The one-multiply rescaling of an Add's input is TFLite's for every int8 value and
        /// offset (`|x| ≤ 256`): multipliers of one half (exact) and others, multiples of
        /// 2^11 or not, and shifts inside and outside the range of `requantize_rounded`.
        #[test]
        fn add_rescaling_is_tflites(
            m in prop_oneof![
                Just(1i32 << 30),
                (1i32 << 19..1 << 20).prop_map(|m| m << 11),
                (1i32 << 30)..i32::MAX,
            ],
            shift in -24i32..=1,
            left_shift in prop_oneof![Just(20i32), 1i32..=22],
        ) {
            for x in -256..=256 {
                prop_assert_eq!(
                    rescale_shifted(x, left_shift, m, shift),
                    multiply_by_quantized_multiplier(x << left_shift, m, shift),
                    "x = {}", x
                );
            }
        }

        /// `requantize_fast` is `requantize`, inside and outside the one-multiply's range.
        #[test]
        fn fast_requantization_is_tflites(
            acc in prop_oneof![any::<i32>(), Just(i32::MIN), Just(i32::MAX), -1000i32..1000],
            m in prop_oneof![(1i32 << 30)..i32::MAX, Just(1i32 << 30)],
            shift in -24i32..=1,
            zero_point in -300i32..300,
        ) {
            prop_assert_eq!(
                requantize_fast(acc, m, shift, zero_point, -128, 127),
                requantize(acc, m, shift, zero_point, -128, 127)
            );
        }
    }

    #[test]
    fn int4_values_unpack_from_low_then_high_nibbles() {
        // 0x8f: low nibble 0xf (-1), high nibble 0x8 (-8); 0x07: 7 then 0 (padding).
        let row = [0x8f, 0x07];
        let values: Vec<i32> = (0..4).map(|i| int4_at(&row, i)).collect();
        assert_eq!(values, [-1, -8, 7, 0]);
        let all: Vec<i8> = (-8..=7).collect();
        let packed = crate::quant::pack_int4_rows(&all, all.len());
        assert_eq!(packed.len(), 8);
        let back: Vec<i32> = (0..all.len()).map(|i| int4_at(&packed, i)).collect();
        assert_eq!(back, all.iter().map(|&v| v as i32).collect::<Vec<_>>());
    }
}
