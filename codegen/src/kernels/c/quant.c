/* quant: the fixed-point helpers of integer-only requantization (the TFLite int8 scheme, after
 * Jacob et al. 2018 and gemmlowp), the C twin of edgegen's `kernels::quant`. A real multiplier
 * M is a Q31 `multiplier` and a power-of-two `shift`: M = multiplier * 2^(shift - 31).
 *
 * Shifts of negative values are done on unsigned values where C leaves them undefined, and
 * right shifts of negative values are assumed arithmetic (as every C compiler for Arm and x86
 * does). */

/* a * b / 2^31 rounded to nearest, ties towards +infinity, saturated (gemmlowp's
 * SaturatingRoundingDoublingHighMul). */
EG_KERNEL int32_t eg_quant_srdhm(int32_t a, int32_t b) {
    int64_t product, nudge;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    product = (int64_t)a * (int64_t)b;
    nudge = product >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* Division truncates toward zero; with the nudge that is round-to-nearest, ties up. */
    return (int32_t)((product + nudge) / ((int64_t)1 << 31));
}

/* round(x / 2^exponent), half away from zero (gemmlowp's RoundingDivideByPOT), exponent in
 * 0..31. */
EG_KERNEL int32_t eg_quant_rdivpot(int32_t x, int32_t exponent) {
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x << n on the two's-complement bits (wrapping), n in 0..31. */
EG_KERNEL int32_t eg_quant_shl(int32_t x, int32_t n) {
    return (int32_t)((uint32_t)x << n);
}

/* x * multiplier * 2^(shift - 31) with TFLite's two roundings (MultiplyByQuantizedMultiplier):
 * a positive shift multiplies before the high multiply, a negative one divides after it. */
EG_KERNEL int32_t eg_quant_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
    int32_t left = shift > 0 ? shift : 0;
    int32_t right = shift > 0 ? 0 : -shift;
    return eg_quant_rdivpot(eg_quant_srdhm(eg_quant_shl(x, left), multiplier), right);
}

/* x * multiplier * 2^(shift - 31) rounded once, half up, from the exact 64-bit product (TFLite's
 * single-rounding variant). */
EG_KERNEL int32_t eg_quant_mbqm_once(int32_t x, int32_t multiplier, int32_t shift) {
    int32_t total = 31 - shift;
    int64_t product = (int64_t)x * (int64_t)multiplier;
    int64_t scaled;
    if (total > 62) {
        return 0;
    }
    if (total <= 0) {
        scaled = (int64_t)((uint64_t)product << -total);
    } else {
        scaled = (product + ((int64_t)1 << (total - 1))) >> total;
    }
    if (scaled < INT32_MIN) {
        return INT32_MIN;
    }
    if (scaled > INT32_MAX) {
        return INT32_MAX;
    }
    return (int32_t)scaled;
}

EG_KERNEL int32_t eg_quant_clamp(int32_t v, int32_t min, int32_t max) {
    return v < min ? min : (v > max ? max : v);
}

/* An accumulator to an output value: scaled, offset by the output zero point, clamped to
 * [min, max] (the element type's range narrowed by a fused activation). */
EG_KERNEL int32_t eg_quant_requantize(int32_t acc, int32_t multiplier, int32_t shift,
                                      int32_t zero_point, int32_t min, int32_t max) {
    return eg_quant_clamp(eg_quant_mbqm(acc, multiplier, shift) + zero_point, min, max);
}

/* eg_quant_requantize with one rounding; the zero point is added with saturation. */
EG_KERNEL int32_t eg_quant_requantize_once(int32_t acc, int32_t multiplier, int32_t shift,
                                           int32_t zero_point, int32_t min, int32_t max) {
    int64_t v = (int64_t)eg_quant_mbqm_once(acc, multiplier, shift) + zero_point;
    v = v < INT32_MIN ? INT32_MIN : (v > INT32_MAX ? INT32_MAX : v);
    return eg_quant_clamp((int32_t)v, min, max);
}

/* eg_quant_requantize or eg_quant_requantize_once in one 64-bit multiply-add, for a shift in
 * -22..-2: with e = -shift, acc * multiplier + rounding_base + (2 * zero_point + 1) * 2^(30+e),
 * plus negative_rounding when acc is negative, divided by 2^(31+e) as the high 32 bits shifted
 * right by e - 1, and clamped (see the Rust kernel for why this is the two-step value). */
EG_KERNEL int32_t eg_quant_requantize_rounded(int32_t acc, int32_t multiplier, int32_t shift,
                                              int32_t zero_point, int64_t rounding_base,
                                              int64_t negative_rounding, int32_t min,
                                              int32_t max) {
    int32_t r;
#if defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_7M__)
    /* The rounding term's high word is one shift (its low word is the base's); then two
     * 32 x 32 + 64 multiply-adds (SMLAL), the second adding negative_rounding (0, -1 or -2^31)
     * when acc is negative. */
    uint32_t lo = (uint32_t)rounding_base;
    int32_t hi = (int32_t)(rounding_base >> 32) + (int32_t)((uint32_t)(2 * zero_point + 1)
                                                           << (-shift - 2));
    __asm__("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(acc), "r"(multiplier));
    if (negative_rounding != 0) {
        __asm__("smlal %0, %1, %2, %3"
                : "+r"(lo), "+r"(hi)
                : "r"((uint32_t)acc >> 31), "r"((int32_t)negative_rounding));
    }
    r = hi >> (-shift - 1);
#else
    int64_t v = rounding_base + (int64_t)((uint64_t)(int64_t)(2 * zero_point + 1) << (30 - shift));
    v += (int64_t)acc * multiplier + (int64_t)((uint32_t)acc >> 31) * negative_rounding;
    r = (int32_t)(v >> 32) >> (-shift - 1);
#endif
#if defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
    /* An int8 range: saturate in one instruction (SSAT), then narrow by the activation. */
    if (min >= -128 && max <= 127) {
        __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(r));
        if (min > -128) {
            r = r < min ? min : r;
        }
        if (max < 127) {
            r = r > max ? max : r;
        }
        return r;
    }
#endif
    return eg_quant_clamp(r, min, max);
}

/* eg_quant_requantize by eg_quant_requantize_rounded (one 64-bit multiply-add) where that
 * gives the same value for every accumulator: a positive multiplier, a shift in -22..-2 and a
 * zero point in -256..255. With constant parameters the test folds away. */
EG_KERNEL int32_t eg_quant_requantize_fast(int32_t acc, int32_t multiplier, int32_t shift,
                                           int32_t zero_point, int32_t min, int32_t max) {
    if (multiplier > 0 && shift >= -22 && shift <= -2 && zero_point >= -256 &&
        zero_point <= 255) {
        return eg_quant_requantize_rounded(acc, multiplier, shift, zero_point,
                                           (int64_t)1 << 30, -((int64_t)1 << 31), min, max);
    }
    return eg_quant_requantize(acc, multiplier, shift, zero_point, min, max);
}

/* eg_quant_mbqm(x << left_shift, multiplier, shift) for an int8 value offset by its zero point
 * (|x| <= 256), as TFLite's Add and Sub rescale their inputs, in one multiply where that is the
 * same: with a shift of 0 and a multiplier that is a multiple of 2^(31 - left_shift)
 * (left_shift in 1..22; the input of the larger scale, rescaled by one half) the high multiply
 * is exact; otherwise eg_quant_requantize_fast with no zero point and no clamp. */
EG_KERNEL int32_t eg_quant_rescale_shifted(int32_t x, int32_t left_shift, int32_t multiplier,
                                           int32_t shift) {
    if (shift == 0 && left_shift >= 1 && left_shift <= 22 && multiplier >= 0 &&
        ((uint32_t)multiplier & ((1u << (31 - left_shift)) - 1u)) == 0) {
        return x * (multiplier >> (31 - left_shift));
    }
    return eg_quant_requantize_fast(eg_quant_shl(x, left_shift), multiplier, shift, 0, INT32_MIN,
                                    INT32_MAX);
}

/* x rounded to the nearest integer, ties away from zero, saturated to int32. The fraction
 * x - trunc(x) is exact in double precision, so comparing it with one half decides exactly. */
EG_KERNEL int32_t eg_quant_round_half_away(double x) {
    int64_t truncated, rounded;
    double fraction;
    if (!(x > (double)INT32_MIN - 1.0 && x < (double)INT32_MAX + 1.0)) {
        return x > 0.0 ? INT32_MAX : INT32_MIN;
    }
    truncated = (int64_t)x;
    fraction = x - (double)truncated;
    rounded = fraction >= 0.5 ? truncated + 1 : (fraction <= -0.5 ? truncated - 1 : truncated);
    if (rounded < INT32_MIN) {
        return INT32_MIN;
    }
    if (rounded > INT32_MAX) {
        return INT32_MAX;
    }
    return (int32_t)rounded;
}

/* a + b saturated to int32. */
EG_KERNEL int32_t eg_quant_saturating_add(int32_t a, int32_t b) {
    int64_t v = (int64_t)a + b;
    return v < INT32_MIN ? INT32_MIN : (v > INT32_MAX ? INT32_MAX : (int32_t)v);
}

/* ---- gemmlowp-style fixed point, for the integer softmax: a value with k integer bits is an
 * int32 holding real * 2^(31 - k). Sums that may wrap are done on unsigned values. ---- */

EG_KERNEL int32_t eg_quant_wrapping_add(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

EG_KERNEL int32_t eg_quant_wrapping_sub(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* x * 2^exponent with rounding (negative exponents) or saturation (positive ones). */
EG_KERNEL int32_t eg_quant_srmpot(int32_t x, int32_t exponent) {
    int32_t threshold;
    if (exponent == 0) {
        return x;
    }
    if (exponent < 0) {
        return eg_quant_rdivpot(x, -exponent);
    }
    threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return eg_quant_shl(x, exponent);
}

/* exp(a) for a in [-1/4, 0), 0 integer bits in and out: a fourth-order Taylor expansion around
 * -1/8. */
EG_KERNEL int32_t eg_quant_exp_quarter(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668;
    const int32_t one_third = 715827883;
    int32_t x = eg_quant_wrapping_add(a, 1 << 28);
    int32_t x2 = eg_quant_srdhm(x, x);
    int32_t x3 = eg_quant_srdhm(x2, x);
    int32_t x4 = eg_quant_srdhm(x2, x2);
    int32_t x4_over_4 = eg_quant_srmpot(x4, -2);
    int32_t series = eg_quant_srmpot(
        eg_quant_wrapping_add(eg_quant_srdhm(eg_quant_wrapping_add(x4_over_4, x3), one_third), x2),
        -1);
    return eg_quant_wrapping_add(
        exp_minus_one_eighth,
        eg_quant_srdhm(exp_minus_one_eighth, eg_quant_wrapping_add(x, series)));
}

/* exp(a) for a <= 0 with `integer_bits` integer bits; the result has 0 integer bits. */
EG_KERNEL int32_t eg_quant_exp_on_negative_values(int32_t a, int32_t integer_bits) {
    /* exp(-2^k) in Q31 for k = -2..4. */
    static const int32_t factors[7] = {1672461947, 1302514674, 790015084, 290630308,
                                       39332535,   720401,     242};
    int32_t fractional_bits = 31 - integer_bits;
    int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    int32_t mask = one_quarter - 1;
    int32_t a_mod_quarter_minus_quarter = eg_quant_wrapping_sub(a & mask, one_quarter);
    int32_t result = eg_quant_exp_quarter(eg_quant_srmpot(a_mod_quarter_minus_quarter, integer_bits));
    int32_t remainder = eg_quant_wrapping_sub(a_mod_quarter_minus_quarter, a);
    int32_t k;
    for (k = 0; k < 7; k++) {
        int32_t exponent = k - 2;
        if (integer_bits > exponent) {
            int32_t shift = fractional_bits + exponent;
            if ((uint32_t)remainder & ((uint32_t)1 << shift)) {
                result = eg_quant_srdhm(result, factors[k]);
            }
        }
    }
    if (integer_bits > 5 && a < -((int32_t)1 << (36 - integer_bits))) {
        result = 0;
    }
    if (a == 0) {
        return INT32_MAX;
    }
    return result;
}

/* 1 / (1 + x) for x in [0, 1) (0 integer bits in and out): three Newton-Raphson steps on 1 / d
 * with d = (1 + x) / 2. */
EG_KERNEL int32_t eg_quant_one_over_one_plus_x(int32_t a) {
    const int32_t c48_over_17 = 1515870810;
    const int32_t cminus32_over_17 = -1010580540;
    const int32_t one = (int32_t)1 << 29;
    int64_t sum = (int64_t)a + INT32_MAX;
    int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = eg_quant_wrapping_add(c48_over_17, eg_quant_srdhm(half_denominator, cminus32_over_17));
    int i;
    for (i = 0; i < 3; i++) {
        int32_t one_minus = eg_quant_wrapping_sub(one, eg_quant_srdhm(half_denominator, x));
        x = eg_quant_wrapping_add(x, eg_quant_srmpot(eg_quant_srdhm(x, one_minus), 2));
    }
    return eg_quant_srmpot(x, 1);
}

/* The reciprocal of a positive sum with `integer_bits` integer bits: the reciprocal is
 * *scale * 2^-(returned exponent), *scale with 0 integer bits. */
EG_KERNEL int32_t eg_quant_reciprocal(int32_t x, int32_t integer_bits, int32_t *scale) {
    uint32_t u = (uint32_t)x;
    int32_t headroom_plus_one = 0;
    uint32_t shifted;
    while (headroom_plus_one < 32 && !(u & ((uint32_t)1 << (31 - headroom_plus_one)))) {
        headroom_plus_one++;
    }
    shifted = headroom_plus_one >= 32 ? 0 : u << headroom_plus_one;
    *scale = eg_quant_one_over_one_plus_x((int32_t)(shifted - ((uint32_t)1 << 31)));
    return integer_bits - headroom_plus_one;
}

/* Value i of a row of 4-bit weights packed two per byte (value 2j in the low nibble of byte j),
 * each a two's-complement integer in [-8, 7]. */
EG_KERNEL int32_t eg_quant_int4_at(const uint8_t *row, size_t i) {
    uint8_t byte = row[i >> 1];
    int32_t nibble = (i & 1) ? (byte >> 4) : (byte & 15);
    return nibble >= 8 ? nibble - 16 : nibble;
}
