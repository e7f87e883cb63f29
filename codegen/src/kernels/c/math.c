/* math: the float helpers of the C kernels, the C twin of edgegen's `kernels::math`. C99
 * without <math.h>: every function is the Rust one step for step (the same constants, the same
 * operations in the same order, bit manipulations on uint32_t), so both back ends give the same
 * results. This relies on float arithmetic being IEEE single precision without contraction
 * into fused multiply-adds, which is what C99 compilers do in their standard modes
 * (`-std=c99`: no `-ffast-math`, FLT_EVAL_METHOD 0 on current hardware). The maximum and
 * minimum follow Rust's f32::max and f32::min (a NaN operand gives the other one). */

EG_KERNEL float eg_math_max_f32(float a, float b) {
    if (a != a) {
        return b;
    }
    if (b != b) {
        return a;
    }
    return a > b ? a : b;
}

EG_KERNEL float eg_math_min_f32(float a, float b) {
    if (a != a) {
        return b;
    }
    if (b != b) {
        return a;
    }
    return a < b ? a : b;
}

EG_KERNEL uint32_t eg_math_to_bits(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

EG_KERNEL float eg_math_from_bits(uint32_t bits) {
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

EG_KERNEL float eg_math_abs(float x) {
    return eg_math_from_bits(eg_math_to_bits(x) & 0x7fffffffu);
}

/* The magnitude of x with the sign of s. */
EG_KERNEL float eg_math_copysign(float x, float s) {
    return eg_math_from_bits((eg_math_to_bits(x) & 0x7fffffffu) |
                             (eg_math_to_bits(s) & 0x80000000u));
}

/* 2^k for -126 <= k <= 127, from the bit pattern (wrapping for other k, as in Rust). */
EG_KERNEL float eg_math_pow2(int32_t k) {
    return eg_math_from_bits(((uint32_t)k + 127u) << 23);
}

/* e^x: Cody-Waite reduction by ln 2 and a degree-6 polynomial (see math.rs). */
EG_KERNEL float eg_math_exp(float x) {
    const float log2_e = 1.44269504088896340736f;
    const float round_shift = 12582912.0f;
    const float ln2_hi = 0.69314575f;
    const float ln2_lo = 1.4286068e-6f;
    const float c2 = 0.49999994f, c3 = 0.16666515f, c4 = 0.041668456f, c5 = 0.00836941f,
                c6 = 0.0013813161f;
    float t, nf, r, q, p;
    int32_t n, n1;
    /* Rust's clamp: a NaN stays NaN. */
    if (x < -104.0f) {
        x = -104.0f;
    }
    if (x > 89.0f) {
        x = 89.0f;
    }
    t = x * log2_e + round_shift;
    nf = t - round_shift;
    n = (int32_t)(eg_math_to_bits(t) - eg_math_to_bits(round_shift));
    r = (x - nf * ln2_hi) - nf * ln2_lo;
    q = c2 + r * (c3 + r * (c4 + r * (c5 + r * c6)));
    p = 1.0f + (r + r * r * q);
    /* n >> 1 (arithmetic shift: the floor of n / 2) without shifting a negative value. */
    n1 = n >= 0 ? n / 2 : -((1 - n) / 2);
    return p * eg_math_pow2(n1) * eg_math_pow2((int32_t)((uint32_t)n - (uint32_t)n1));
}

/* The natural logarithm: x = 2^k m, ln(1 + f) = 2 atanh(f / (2 + f)) (see math.rs). */
EG_KERNEL float eg_math_ln(float x) {
    const uint32_t sqrt_half_bits = 0x3f3504f3u;
    const float ln2_hi = 0.69314575f;
    const float ln2_lo = 1.4286068e-6f;
    const float l1 = 0.66666776f, l2 = 0.39977536f, l3 = 0.29871863f;
    uint32_t bits = eg_math_to_bits(x);
    int32_t k = 0;
    float m, f, s, z, r, hfsq, kf;
    if (bits - 0x00800000u >= 0x7f000000u) {
        if ((uint32_t)(bits << 1) == 0) {
            return -EG_INFINITY;
        }
        if (bits >= 0x7f800000u) {
            return bits <= 0x7fffffffu ? x : EG_NAN;
        }
        bits = eg_math_to_bits(x * 33554432.0f);
        k = -25;
    }
    bits += 0x3f800000u - sqrt_half_bits;
    k += (int32_t)(bits >> 23) - 127;
    m = eg_math_from_bits((bits & 0x007fffffu) + sqrt_half_bits);
    f = m - 1.0f;
    s = f / (2.0f + f);
    z = s * s;
    r = z * (l1 + z * (l2 + z * l3));
    hfsq = 0.5f * f * f;
    kf = (float)k;
    return kf * ln2_hi - ((hfsq - (s * (hfsq + r) + kf * ln2_lo)) - f);
}

/* The hyperbolic tangent: an odd polynomial below 0.625, 1 - 2 / (e^2|x| + 1) above. */
EG_KERNEL float eg_math_tanh(float x) {
    const float t1 = -0.3333328f, t2 = 0.13331442f, t3 = -0.053739715f, t4 = 0.020639088f,
                t5 = -0.0057049873f;
    float a = eg_math_abs(x);
    float z = a * a;
    float small = a + a * z * (t1 + z * (t2 + z * (t3 + z * (t4 + z * t5))));
    float large = 1.0f - 2.0f / (eg_math_exp(a + a) + 1.0f);
    return eg_math_copysign(a < 0.625f ? small : large, x);
}

/* The logistic function 1 / (1 + e^-x). */
EG_KERNEL float eg_math_sigmoid(float x) {
    float e = eg_math_exp(-eg_math_abs(x));
    float numerator = x < 0.0f ? e : 1.0f;
    return numerator / (1.0f + e);
}

/* The square root, correctly rounded: an estimate checked and corrected in exact 64-bit
 * integer arithmetic (see math.rs). */
EG_KERNEL float eg_math_sqrt(float x) {
    uint32_t bits = eg_math_to_bits(x);
    uint32_t m, exponent;
    int32_t e, j;
    int64_t big, s, root, d;
    float a, y, refined;
    if (bits - 0x00800000u < 0x7f000000u) {
        m = (bits & 0x007fffffu) | 0x00800000u;
        e = (int32_t)(bits >> 23) - 150;
    } else if ((uint32_t)(bits << 1) == 0 || bits == 0x7f800000u || x != x) {
        return x;
    } else if (bits > 0x7fffffffu) {
        return EG_NAN;
    } else {
        uint32_t shift = 0;
        while (!(bits & (0x80000000u >> shift))) {
            shift++;
        }
        shift -= 8;
        m = bits << shift;
        e = -149 - (int32_t)shift;
    }
    j = 23 + (int32_t)((uint32_t)(e - 23) & 1u);
    big = (int64_t)m << j;
    a = (float)big;
    y = eg_math_from_bits(0x5f3759dfu - (eg_math_to_bits(a) >> 1));
    y *= 1.5f - 0.5f * a * y * y;
    y *= 1.5f - 0.5f * a * y * y;
    s = (int64_t)(a * y);
    refined = (float)s + (float)(big - s * s) * (0.5f * y);
    root = (int64_t)(refined + 0.5f);
    d = big - root * root;
    root += (int64_t)(d > root) - (int64_t)(d <= -root);
    exponent = (uint32_t)((e - j) / 2 + 149);
    return eg_math_from_bits((exponent << 23) + (uint32_t)root);
}

/* The largest integer not greater than x, keeping the sign of zero. */
EG_KERNEL float eg_math_floor(float x) {
    if (eg_math_abs(x) < 8388608.0f) {
        float t = (float)(int32_t)x;
        return eg_math_copysign(t > x ? t - 1.0f : t, x);
    }
    return x;
}

/* The smallest integer not less than x, keeping the sign of zero. */
EG_KERNEL float eg_math_ceil(float x) {
    if (eg_math_abs(x) < 8388608.0f) {
        float t = (float)(int32_t)x;
        return eg_math_copysign(t < x ? t + 1.0f : t, x);
    }
    return x;
}

/* Rounds to the nearest integer, ties to even. */
EG_KERNEL float eg_math_round_half_to_even(float x) {
    float a = eg_math_abs(x);
    if (a < 8388608.0f) {
        return eg_math_copysign((a + 8388608.0f) - 8388608.0f, x);
    }
    return x;
}

/* Rounds to the nearest integer, ties away from zero. */
EG_KERNEL float eg_math_round_half_away_from_zero(float x) {
    float a = eg_math_abs(x);
    if (a < 8388608.0f) {
        float t = (float)(int32_t)a;
        return eg_math_copysign(a - t >= 0.5f ? t + 1.0f : t, x);
    }
    return x;
}

/* log2(a) in double for a positive finite a (see math.rs): a = 2^k m, and the Taylor series of
 * 2 atanh(s) with s = (m - 1) / (m + 1). */
EG_KERNEL double eg_math_log2_wide(float a) {
    const uint32_t sqrt_half_bits = 0x3f3504f3u;
    uint32_t bits = eg_math_to_bits(a);
    int32_t k = 0;
    double m, s, z, series;
    if (bits < 0x00800000u) {
        bits = eg_math_to_bits(a * 33554432.0f);
        k = -25;
    }
    bits += 0x3f800000u - sqrt_half_bits;
    k += (int32_t)(bits >> 23) - 127;
    m = (double)eg_math_from_bits((bits & 0x007fffffu) + sqrt_half_bits);
    s = (m - 1.0) / (m + 1.0);
    z = s * s;
    series = 1.0 / 23.0;
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
    return (double)k + 2.0 * s * series * 1.44269504088896340735992468100189214;
}

/* 2^t in double for -152 <= t <= 130: t = n + r, 2^r by its Taylor series, 2^n from bits. */
EG_KERNEL double eg_math_exp2_wide(double t) {
    const double shift = 6755399441055744.0;
    double n = (t + shift) - shift;
    double w = (t - n) * 0.693147180559945309417232121458176568;
    double sum = 1.0 / 6227020800.0;
    uint64_t bits;
    double scale;
    sum = 1.0 / 479001600.0 + w * sum;
    sum = 1.0 / 39916800.0 + w * sum;
    sum = 1.0 / 3628800.0 + w * sum;
    sum = 1.0 / 362880.0 + w * sum;
    sum = 1.0 / 40320.0 + w * sum;
    sum = 1.0 / 5040.0 + w * sum;
    sum = 1.0 / 720.0 + w * sum;
    sum = 1.0 / 120.0 + w * sum;
    sum = 1.0 / 24.0 + w * sum;
    sum = 1.0 / 6.0 + w * sum;
    sum = 1.0 / 2.0 + w * sum;
    sum = 1.0 + w * sum;
    sum = 1.0 + w * sum;
    bits = ((uint64_t)(int64_t)n + 1023u) << 52;
    memcpy(&scale, &bits, sizeof scale);
    return sum * scale;
}

/* x to the power y with the special cases of C99 powf, computed as 2^(y log2 |x|) in double
 * and rounded once (see math.rs). */
EG_KERNEL float eg_math_pow(float x, float y) {
    int is_integer, is_odd;
    float a, limit, magnitude;
    if (y == 0.0f || x == 1.0f) {
        return 1.0f;
    }
    if (x != x || y != y) {
        return EG_NAN;
    }
    if (eg_math_abs(y) >= 8388608.0f) {
        is_integer = 1;
        is_odd = eg_math_abs(y) < 16777216.0f && (eg_math_to_bits(y) & 1u);
    } else {
        float t = (float)(int32_t)y;
        is_integer = t == y;
        is_odd = t == y && ((uint32_t)(int32_t)y & 1u);
    }
    a = eg_math_abs(x);
    if (y == EG_INFINITY || y == -EG_INFINITY) {
        if (a == 1.0f) {
            return 1.0f;
        }
        return (a < 1.0f) == (y < 0.0f) ? EG_INFINITY : 0.0f;
    }
    if (x < 0.0f && x != -EG_INFINITY && !is_integer) {
        return EG_NAN;
    }
    limit = (y < 0.0f) == (a == 0.0f) ? EG_INFINITY : 0.0f;
    if (a == 0.0f || a == EG_INFINITY) {
        magnitude = limit;
    } else {
        double t = (double)y * eg_math_log2_wide(a);
        t = t < -152.0 ? -152.0 : (t > 130.0 ? 130.0 : t);
        magnitude = (float)eg_math_exp2_wide(t);
    }
    return is_odd ? eg_math_copysign(magnitude, x) : magnitude;
}

/* pi/2, pi/4 and pi split in an f32 head and the f32 nearest to the rest (see math.rs). */
#define EG_MATH_PIO2_HI eg_math_from_bits(0x3fc90fdbu)
#define EG_MATH_PIO2_LO eg_math_from_bits(0xb33bbd2eu)
#define EG_MATH_PIO4_HI eg_math_from_bits(0x3f490fdbu)
#define EG_MATH_PIO4_LO eg_math_from_bits(0xb2bbbd2eu)
#define EG_MATH_PI_HI eg_math_from_bits(0x40490fdbu)
#define EG_MATH_PI_LO eg_math_from_bits(0xb3bbbd2eu)

/* atan(t) for |t| <= tan(pi/8): t + t^3 A(t^2). */
EG_KERNEL float eg_math_atan_kernel(float t) {
    const float a0 = -0.33333316f, a1 = 0.19998471f, a2 = -0.14243522f, a3 = 0.10593727f,
                a4 = -0.06077991f;
    float z = t * t;
    return t + t * z * (a0 + z * (a1 + z * (a2 + z * (a3 + z * a4))));
}

/* The arc tangent, in [-pi/2, pi/2], exactly odd (see math.rs). */
EG_KERNEL float eg_math_atan(float x) {
    const float tan_pi_8 = 0.41421357f, tan_3pi_8 = 2.4142137f;
    float a = eg_math_abs(x), v;
    if (a <= tan_pi_8) {
        v = eg_math_atan_kernel(a);
    } else if (a <= tan_3pi_8) {
        v = EG_MATH_PIO4_HI + (EG_MATH_PIO4_LO + eg_math_atan_kernel((a - 1.0f) / (a + 1.0f)));
    } else {
        v = EG_MATH_PIO2_HI + (EG_MATH_PIO2_LO + eg_math_atan_kernel(-1.0f / a));
    }
    return eg_math_copysign(v, x);
}

/* asin(s) - s for 0 <= s <= 1/2, given z = s^2. */
EG_KERNEL float eg_math_asin_tail(float s, float z) {
    const float b0 = 0.1666666f, b1 = 0.07500504f, b2 = 0.044516955f, b3 = 0.031807724f,
                b4 = 0.014438586f, b5 = 0.03751648f;
    return s * z * (b0 + z * (b1 + z * (b2 + z * (b3 + z * (b4 + z * b5)))));
}

/* sqrt(z) as hi + lo, hi with 12 significant bits. */
EG_KERNEL float eg_math_sqrt_split(float z, float *lo) {
    float s = eg_math_sqrt(z);
    float hi = eg_math_from_bits(eg_math_to_bits(s) & 0xfffff000u);
    *lo = s > 0.0f ? (z - hi * hi) / (s + hi) : 0.0f;
    return hi;
}

/* The arc sine, in [-pi/2, pi/2]; NaN outside [-1, 1]. */
EG_KERNEL float eg_math_asin(float x) {
    float a = eg_math_abs(x), z, s, hi, lo;
    if (a <= 0.5f) {
        return x + eg_math_asin_tail(x, x * x);
    }
    z = (1.0f - a) * 0.5f;
    s = eg_math_sqrt(z);
    hi = eg_math_sqrt_split(z, &lo);
    return eg_math_copysign((EG_MATH_PIO2_HI - 2.0f * hi) +
                                (EG_MATH_PIO2_LO - 2.0f * (lo + eg_math_asin_tail(s, z))),
                            x);
}

/* The arc cosine, in [0, pi]; NaN outside [-1, 1]. */
EG_KERNEL float eg_math_acos(float x) {
    float a = eg_math_abs(x), z, s;
    if (a <= 0.5f) {
        return EG_MATH_PIO2_HI - (x + (eg_math_asin_tail(x, x * x) - EG_MATH_PIO2_LO));
    }
    z = (1.0f - a) * 0.5f;
    s = eg_math_sqrt(z);
    if (x > 0.0f) {
        float lo, hi = eg_math_sqrt_split(z, &lo);
        return 2.0f * (hi + (lo + eg_math_asin_tail(s, z)));
    }
    return EG_MATH_PI_HI - (2.0f * (s + eg_math_asin_tail(s, z)) - EG_MATH_PI_LO);
}

/* The error function, exactly odd (see math.rs). */
EG_KERNEL float eg_math_erf(float x) {
    const float e0 = 1.1283791f, e1 = -0.37612626f, e2 = 0.112835854f, e3 = -0.026853813f,
                e4 = 0.005188328f, e5 = -0.00080101937f, e6 = 7.8538615e-5f;
    const float h0 = 0.0005551505f, h1 = 0.5551959f, h2 = 0.06411139f, h3 = -0.54188657f,
                h4 = 0.6308997f, h5 = -0.39602885f, h6 = 0.12283953f, h7 = 0.0036178322f,
                h8 = -0.015121548f, h9 = 0.0034009512f;
    float a = eg_math_abs(x);
    if (a < 1.0f) {
        float z = x * x, p = e6;
        p = e5 + z * p;
        p = e4 + z * p;
        p = e3 + z * p;
        p = e2 + z * p;
        p = e1 + z * p;
        p = (e0 - 1.0f) + z * p;
        return x + x * p;
    }
    if (a < 3.93f) {
        float u = 1.0f / a, h = h9;
        h = h8 + u * h;
        h = h7 + u * h;
        h = h6 + u * h;
        h = h5 + u * h;
        h = h4 + u * h;
        h = h3 + u * h;
        h = h2 + u * h;
        h = h1 + u * h;
        h = h0 + u * h;
        return eg_math_copysign(1.0f - eg_math_exp(-(a * a)) * h, x);
    }
    if (a != a) {
        return x;
    }
    return eg_math_copysign(1.0f, x);
}
