/* int8: the int8 kernels of the dense and element-wise ops of TFLite int8 models, the C twin
 * of edgegen's `kernels::int8`, with the exact arithmetic of TFLite's reference kernels: the
 * fully connected layer, Add/Sub, Softmax, Quantize, Dequantize and table lookups. */

/* An int8 fully connected layer: y[m, n] from a[m, k] and weights b[n, k], requantized in
 * double precision as TFLite's reference kernel does. */
typedef struct {
    size_t m, k, n;
    float input_scale, output_scale;
    int32_t input_zero_point, weight_zero_point, output_zero_point, output_min, output_max;
} eg_int8_FullyConnectedI8;

/* Output j of row `row` (accumulator `acc`, bias included) rescaled by s_in * s_w[j] / s_out in
 * double precision, rounded half away from zero, offset and clamped. */
EG_KERNEL int8_t eg_int8_fully_connected_output(const eg_int8_FullyConnectedI8 *p, int32_t acc,
                                                const float *weight_scales,
                                                size_t weight_scales_len, size_t j) {
    float weight_scale = weight_scales[weight_scales_len == 1 ? 0 : j];
    double scale = (double)p->input_scale * (double)weight_scale / (double)p->output_scale;
    int32_t scaled =
        eg_quant_saturating_add(eg_quant_round_half_away((double)acc * scale), p->output_zero_point);
    return (int8_t)eg_quant_clamp(scaled, p->output_min, p->output_max);
}

/* y = clamp(round((sum((a - z_a)(b - z_b)) + bias) * scale[n]) + z_y); bias is NULL or n
 * values, weight_scales has n values or one for all. */
EG_KERNEL void eg_int8_fully_connected_i8(eg_int8_FullyConnectedI8 p, const int8_t *a,
                                          size_t a_len, const int8_t *b, size_t b_len,
                                          const int32_t *bias, size_t bias_len,
                                          const float *weight_scales, size_t weight_scales_len,
                                          int8_t *y, size_t y_len) {
    size_t i, j, t;
    (void)a_len, (void)b_len, (void)y_len;
    for (i = 0; i < p.m; i++) {
        const int8_t *row = a + i * p.k;
        for (j = 0; j < p.n; j++) {
            const int8_t *weights = b + j * p.k;
            int32_t acc = bias_len ? bias[j] : 0;
            for (t = 0; t < p.k; t++) {
                acc += ((int32_t)row[t] - p.input_zero_point) *
                       ((int32_t)weights[t] - p.weight_zero_point);
            }
            y[i * p.n + j] =
                eg_int8_fully_connected_output(&p, acc, weight_scales, weight_scales_len, j);
        }
    }
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* acc plus the dot product of four int8 values, sign-extended to x02 (values 0 and 2) and x13
 * (1 and 3), with the four int8 weights of word w. */
EG_KERNEL int32_t eg_int8_smlad_word(uint32_t x02, uint32_t x13, uint32_t w, int32_t acc) {
    return eg_nhwc_smlad(x13, eg_nhwc_sxtb16_ror8(w), eg_nhwc_smlad(x02, eg_nhwc_sxtb16(w), acc));
}

/* The dot products of k int8 values x (k a multiple of 4) with four rows of weights, the
 * first at u and each next one `step` bytes on, added to s[0..4]: per four values one word of x
 * sign-extended once (SXTB16) for all four rows, then per row a word of weights sign-extended
 * and two SMLADs; thirteen live values, so nothing spills on a Cortex-M4. */
EG_KERNEL void eg_int8_dot_4_rows(int32_t s[4], const int8_t *x, const int8_t *u, size_t step,
                                  size_t k) {
    int32_t s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
    const int8_t *end = x + k;
    while (x != end) {
        uint32_t wx = eg_nhwc_word(x);
        uint32_t x02 = eg_nhwc_sxtb16(wx), x13 = eg_nhwc_sxtb16_ror8(wx);
        s0 = eg_int8_smlad_word(x02, x13, eg_nhwc_word(u), s0);
        s1 = eg_int8_smlad_word(x02, x13, eg_nhwc_word(u + step), s1);
        s2 = eg_int8_smlad_word(x02, x13, eg_nhwc_word(u + 2 * step), s2);
        s3 = eg_int8_smlad_word(x02, x13, eg_nhwc_word(u + 3 * step), s3);
        x += 4;
        u += 4;
    }
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3;
}
#endif

/* eg_int8_fully_connected_i8 for weights of zero point 0, with the input zero point folded
 * into bias at compile time (bias[j] - z_a * sum(b[j])), and requantized in integers by q,
 * which the compiler checked gives the double-precision result on every accumulator the layer
 * can reach. On a core with the DSP extension four outputs at a time (eg_int8_dot_4_rows: each
 * word of input sign-extended once for four rows, two products an instruction); the remaining
 * outputs, and every output elsewhere, two at a time (each input value loaded once for both). */
EG_KERNEL void eg_int8_fully_connected_folded(eg_int8_FullyConnectedI8 p, eg_nhwc_ConvQuant q,
                                              const int8_t *a, size_t a_len, const int8_t *b,
                                              size_t b_len, const int32_t *bias,
                                              size_t bias_len, int8_t *y, size_t y_len) {
    size_t i, j, t;
    (void)a_len, (void)b_len, (void)bias_len, (void)y_len;
    for (i = 0; i < p.m; i++) {
        const int8_t *row = a + i * p.k;
        int8_t *out = y + i * p.n;
        j = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
        for (; j + 4 <= p.n; j += 4) {
            size_t words = p.k & ~(size_t)3, r;
            int32_t s[4];
            for (r = 0; r < 4; r++) {
                s[r] = bias[j + r];
            }
            eg_int8_dot_4_rows(s, row, b + j * p.k, p.k, words);
            for (r = 0; r < 4; r++) {
                const int8_t *w = b + (j + r) * p.k;
                for (t = words; t < p.k; t++) {
                    s[r] += (int32_t)row[t] * (int32_t)w[t];
                }
                out[j + r] = eg_nhwc_output(&q, s[r], j + r);
            }
        }
#endif
        for (; j < p.n; j += 2) {
            size_t j1 = j + 1 < p.n ? j + 1 : p.n - 1;
            const int8_t *u = b + j * p.k, *v = b + j1 * p.k;
            int32_t s0 = bias[j], s1 = bias[j1];
            t = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
            for (; t + 4 <= p.k; t += 4) {
                uint32_t wx = eg_nhwc_word(row + t), wu = eg_nhwc_word(u + t);
                uint32_t wv = eg_nhwc_word(v + t);
                uint32_t x02 = eg_nhwc_sxtb16(wx), x13 = eg_nhwc_sxtb16_ror8(wx);
                s0 = eg_nhwc_smlad(x13, eg_nhwc_sxtb16_ror8(wu),
                                   eg_nhwc_smlad(x02, eg_nhwc_sxtb16(wu), s0));
                s1 = eg_nhwc_smlad(x13, eg_nhwc_sxtb16_ror8(wv),
                                   eg_nhwc_smlad(x02, eg_nhwc_sxtb16(wv), s1));
            }
#endif
            for (; t < p.k; t++) {
                s0 += (int32_t)row[t] * (int32_t)u[t];
                s1 += (int32_t)row[t] * (int32_t)v[t];
            }
            out[j] = eg_nhwc_output(&q, s0, j);
            out[j1] = eg_nhwc_output(&q, s1, j1);
        }
    }
}

/* eg_int8_fully_connected_i8 with 4-bit weights packed two per byte, (k + 1) / 2 bytes a row. */
EG_KERNEL void eg_int8_fully_connected_i8_int4_weights(
    eg_int8_FullyConnectedI8 p, const int8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
    const int32_t *bias, size_t bias_len, const float *weight_scales, size_t weight_scales_len,
    int8_t *y, size_t y_len) {
    size_t row_bytes = (p.k + 1) / 2;
    size_t i, j, t;
    (void)a_len, (void)b_len, (void)y_len;
    for (i = 0; i < p.m; i++) {
        const int8_t *row = a + i * p.k;
        for (j = 0; j < p.n; j++) {
            const uint8_t *weights = b + j * row_bytes;
            int32_t acc = bias_len ? bias[j] : 0;
            for (t = 0; t < p.k; t++) {
                acc += ((int32_t)row[t] - p.input_zero_point) *
                       (eg_quant_int4_at(weights, t) - p.weight_zero_point);
            }
            y[i * p.n + j] =
                eg_int8_fully_connected_output(&p, acc, weight_scales, weight_scales_len, j);
        }
    }
}

/* The int8 Add/Sub of TFLite on two tensors of the same shape: each input offset by its zero
 * point, shifted left and rescaled to a common scale, summed (or subtracted), requantized. */
typedef struct {
    int subtract;
    int32_t left_shift, a_offset, a_multiplier, a_shift, b_offset, b_multiplier, b_shift;
    int32_t output_multiplier, output_shift, output_zero_point, output_min, output_max;
} eg_int8_AddI8;

/* TFLite's arithmetic, each rescaling in one multiply where that is the same. */
EG_KERNEL int8_t eg_int8_add_apply(const eg_int8_AddI8 *p, int8_t a, int8_t b) {
    int32_t x = eg_quant_rescale_shifted((int32_t)a + p->a_offset, p->left_shift,
                                         p->a_multiplier, p->a_shift);
    int32_t z = eg_quant_rescale_shifted((int32_t)b + p->b_offset, p->left_shift,
                                         p->b_multiplier, p->b_shift);
    int32_t sum = p->subtract ? x - z : x + z;
    return (int8_t)eg_quant_requantize_fast(sum, p->output_multiplier, p->output_shift,
                                            p->output_zero_point, p->output_min, p->output_max);
}

EG_KERNEL void eg_int8_add_i8(eg_int8_AddI8 p, const int8_t *a, size_t a_len, const int8_t *b,
                              size_t b_len, int8_t *y, size_t y_len) {
    size_t i;
    (void)a_len, (void)b_len;
    for (i = 0; i < y_len; i++) {
        y[i] = eg_int8_add_apply(&p, a[i], b[i]);
    }
}

/* eg_int8_add_i8 writing over its first input. */
EG_KERNEL void eg_int8_add_i8_in_place(eg_int8_AddI8 p, int8_t *y, size_t y_len, const int8_t *b,
                                       size_t b_len) {
    size_t i;
    (void)b_len;
    for (i = 0; i < y_len; i++) {
        y[i] = eg_int8_add_apply(&p, y[i], b[i]);
    }
}

/* The int8 softmax over rows of `len` values (TFLite's reference kernel, step for step). */
typedef struct {
    size_t rows, len;
    /* beta * s_in * 2^26 as a Q31 multiplier and a left shift (at least 0). */
    int32_t input_multiplier, input_left_shift;
    /* Differences from the row maximum below this contribute nothing. */
    int32_t diff_min;
    /* Whether the output is not TFLite's (1/256, -128): each probability is then multiplied by
     * output_multiplier * 2^(output_shift - 31), rounded once, and offset. */
    int rescale;
    int32_t output_multiplier, output_shift, output_zero_point;
} eg_int8_SoftmaxI8;

/* The output of probability q * 2^-(exponent + 8), q in 0..2^31. */
EG_KERNEL int8_t eg_int8_softmax_output(const eg_int8_SoftmaxI8 *p, int32_t q, int32_t exponent) {
    int32_t total;
    int64_t scaled;
    if (!p->rescale) {
        return (int8_t)eg_quant_clamp(eg_quant_rdivpot(q, exponent) - 128, -128, 127);
    }
    total = exponent + 31 - p->output_shift;
    if (total > 62) {
        scaled = 0;
    } else if (total <= 0) {
        scaled = INT32_MAX;
    } else {
        scaled = ((int64_t)q * p->output_multiplier + ((int64_t)1 << (total - 1))) >> total;
    }
    scaled += p->output_zero_point;
    return (int8_t)(scaled < -128 ? -128 : (scaled > 127 ? 127 : scaled));
}

/* exp(beta * s_in * (x - max)) with 0 integer bits, for a difference diff >= diff_min. */
EG_KERNEL int32_t eg_int8_exp_of_difference(const eg_int8_SoftmaxI8 *p, int32_t diff) {
    int32_t scaled =
        eg_quant_srdhm(eg_quant_shl(diff, p->input_left_shift), p->input_multiplier);
    return eg_quant_exp_on_negative_values(scaled, 5);
}

EG_KERNEL void eg_int8_softmax_i8(eg_int8_SoftmaxI8 p, const int8_t *x, size_t x_len, int8_t *y,
                                  size_t y_len) {
    size_t r, i;
    (void)x_len, (void)y_len;
    for (r = 0; r < p.rows; r++) {
        const int8_t *row = x + r * p.len;
        int8_t *out = y + r * p.len;
        int32_t max = 0, sum = 0, scale, exponent;
        for (i = 0; i < p.len; i++) {
            if (i == 0 || row[i] > max) {
                max = row[i];
            }
        }
        for (i = 0; i < p.len; i++) {
            int32_t diff = (int32_t)row[i] - max;
            if (diff >= p.diff_min) {
                sum = eg_quant_wrapping_add(
                    sum, eg_quant_srmpot(eg_int8_exp_of_difference(&p, diff), -12));
            }
        }
        exponent = eg_quant_reciprocal(sum, 12, &scale) + 31 - 8;
        for (i = 0; i < p.len; i++) {
            int32_t diff = (int32_t)row[i] - max;
            out[i] = diff >= p.diff_min
                         ? eg_int8_softmax_output(
                               &p, eg_quant_srdhm(scale, eg_int8_exp_of_difference(&p, diff)),
                               exponent)
                         : eg_int8_softmax_output(&p, 0, exponent);
        }
    }
}

/* Float to int8 (TFLite's QUANTIZE): round(x / scale) + zero_point, rounded half away from zero
 * and saturated to int8; NaN and quotients outside the int32 range give INT32_MIN before the
 * zero point, as TFLite's C cast does on x86. */
typedef struct {
    float scale;
    int32_t zero_point;
} eg_int8_QuantizeI8;

EG_KERNEL int8_t eg_int8_quantize_apply(const eg_int8_QuantizeI8 *p, float x) {
    float t = x / p->scale;
    int32_t rounded =
        (t >= -2147483648.0f && t < 2147483648.0f) ? eg_quant_round_half_away((double)t) : INT32_MIN;
    return (int8_t)eg_quant_clamp(eg_quant_wrapping_add(rounded, p->zero_point), -128, 127);
}

EG_KERNEL void eg_int8_quantize_i8(eg_int8_QuantizeI8 p, const float *x, size_t x_len, int8_t *y,
                                   size_t y_len) {
    size_t i;
    (void)x_len;
    for (i = 0; i < y_len; i++) {
        y[i] = eg_int8_quantize_apply(&p, x[i]);
    }
}

/* Int8 to float (TFLite's DEQUANTIZE): scale * (q - zero_point). */
typedef struct {
    float scale;
    int32_t zero_point;
} eg_int8_DequantizeI8;

EG_KERNEL void eg_int8_dequantize_i8(eg_int8_DequantizeI8 p, const int8_t *x, size_t x_len,
                                     float *y, size_t y_len) {
    size_t i;
    (void)x_len;
    for (i = 0; i < y_len; i++) {
        y[i] = p.scale * (float)((int32_t)x[i] - p.zero_point);
    }
}

/* An element-wise int8 function as a 256-entry table, indexed by the input plus 128. */
EG_KERNEL void eg_int8_lookup_i8(const int8_t *table, size_t table_len, const int8_t *x,
                                 size_t x_len, int8_t *y, size_t y_len) {
    size_t i;
    (void)table_len, (void)x_len;
    for (i = 0; i < y_len; i++) {
        y[i] = table[(int32_t)x[i] + 128];
    }
}

EG_KERNEL void eg_int8_lookup_i8_in_place(const int8_t *table, size_t table_len, int8_t *y,
                                          size_t y_len) {
    size_t i;
    (void)table_len;
    for (i = 0; i < y_len; i++) {
        y[i] = table[(int32_t)y[i] + 128];
    }
}

/* The iteration space of a binary op with broadcasting: the output's shape (leading axes
 * padded with 1) and each operand's stride along each axis, in elements (0 where it is
 * broadcast). */
typedef struct {
    size_t shape[6], a_strides[6], b_strides[6];
} eg_int8_Broadcast;

/* The element offsets of a and b for the output elements of one innermost run: calls BODY
 * with `o` (the output offset), `i` and `j` (the operands' offsets) in order. */
#define EG_INT8_FOR_EACH_PAIR(s, BODY)                                                          \
    do {                                                                                        \
        size_t o = 0, i0, i1, i2, i3, i4, i5;                                                   \
        for (i0 = 0; i0 < (s).shape[0]; i0++) {                                                 \
            for (i1 = 0; i1 < (s).shape[1]; i1++) {                                             \
                for (i2 = 0; i2 < (s).shape[2]; i2++) {                                         \
                    for (i3 = 0; i3 < (s).shape[3]; i3++) {                                     \
                        for (i4 = 0; i4 < (s).shape[4]; i4++) {                                 \
                            size_t a0 = i0 * (s).a_strides[0] + i1 * (s).a_strides[1] +         \
                                        i2 * (s).a_strides[2] + i3 * (s).a_strides[3] +         \
                                        i4 * (s).a_strides[4];                                  \
                            size_t b0 = i0 * (s).b_strides[0] + i1 * (s).b_strides[1] +         \
                                        i2 * (s).b_strides[2] + i3 * (s).b_strides[3] +         \
                                        i4 * (s).b_strides[4];                                  \
                            for (i5 = 0; i5 < (s).shape[5]; i5++) {                             \
                                size_t i = a0 + i5 * (s).a_strides[5];                          \
                                size_t j = b0 + i5 * (s).b_strides[5];                          \
                                BODY;                                                           \
                                o++;                                                            \
                            }                                                                   \
                        }                                                                       \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    } while (0)

/* eg_int8_add_i8 with broadcasting. */
EG_KERNEL void eg_int8_add_i8_broadcast(eg_int8_AddI8 p, eg_int8_Broadcast s, const int8_t *a,
                                        size_t a_len, const int8_t *b, size_t b_len, int8_t *y,
                                        size_t y_len) {
    (void)a_len, (void)b_len, (void)y_len;
    EG_INT8_FOR_EACH_PAIR(s, y[o] = eg_int8_add_apply(&p, a[i], b[j]));
}

/* eg_int8_add_i8_broadcast writing over its first input (which has the output's shape). */
EG_KERNEL void eg_int8_add_i8_broadcast_in_place(eg_int8_AddI8 p, eg_int8_Broadcast s, int8_t *y,
                                                 size_t y_len, const int8_t *b, size_t b_len) {
    (void)y_len, (void)b_len;
    EG_INT8_FOR_EACH_PAIR(s, ((void)i, y[o] = eg_int8_add_apply(&p, y[o], b[j])));
}

/* The int8 Mul of TFLite: (a - z_a)(b - z_b) requantized with one multiplier. */
typedef struct {
    int32_t a_offset, b_offset, multiplier, shift, output_zero_point, output_min, output_max;
} eg_int8_MulI8;

EG_KERNEL int8_t eg_int8_mul_apply(const eg_int8_MulI8 *p, int8_t a, int8_t b) {
    int32_t product = ((int32_t)a + p->a_offset) * ((int32_t)b + p->b_offset);
    return (int8_t)eg_quant_requantize(product, p->multiplier, p->shift, p->output_zero_point,
                                       p->output_min, p->output_max);
}

EG_KERNEL void eg_int8_mul_i8(eg_int8_MulI8 p, eg_int8_Broadcast s, const int8_t *a, size_t a_len,
                              const int8_t *b, size_t b_len, int8_t *y, size_t y_len) {
    (void)a_len, (void)b_len, (void)y_len;
    EG_INT8_FOR_EACH_PAIR(s, y[o] = eg_int8_mul_apply(&p, a[i], b[j]));
}

EG_KERNEL void eg_int8_mul_i8_in_place(eg_int8_MulI8 p, eg_int8_Broadcast s, int8_t *y,
                                       size_t y_len, const int8_t *b, size_t b_len) {
    (void)y_len, (void)b_len;
    EG_INT8_FOR_EACH_PAIR(s, ((void)i, y[o] = eg_int8_mul_apply(&p, y[o], b[j])));
}

/* Requantization of each element to another scale and zero point, clamped (TFLite's int8
 * QUANTIZE and RELU, RELU6, RELU_N1_TO_1). */
typedef struct {
    int32_t input_zero_point, multiplier, shift, output_zero_point, output_min, output_max;
} eg_int8_RequantizeI8;

EG_KERNEL int8_t eg_int8_requantize_apply(const eg_int8_RequantizeI8 *p, int8_t x) {
    return (int8_t)eg_quant_requantize((int32_t)x - p->input_zero_point, p->multiplier, p->shift,
                                       p->output_zero_point, p->output_min, p->output_max);
}

EG_KERNEL void eg_int8_requantize_i8(eg_int8_RequantizeI8 p, const int8_t *x, size_t x_len,
                                     int8_t *y, size_t y_len) {
    size_t i;
    (void)x_len;
    for (i = 0; i < y_len; i++) {
        y[i] = eg_int8_requantize_apply(&p, x[i]);
    }
}

EG_KERNEL void eg_int8_requantize_i8_in_place(eg_int8_RequantizeI8 p, int8_t *y, size_t y_len) {
    size_t i;
    for (i = 0; i < y_len; i++) {
        y[i] = eg_int8_requantize_apply(&p, y[i]);
    }
}

/* The int8 leaky ReLU of TFLite: non-negative inputs rescaled by s_in / s_out, negative ones by
 * alpha * s_in / s_out (a negative alpha has its multiplier negated and the sign flipped). */
typedef struct {
    int32_t input_zero_point, identity_multiplier, identity_shift, alpha_multiplier, alpha_shift;
    int32_t output_zero_point;
} eg_int8_LeakyReluI8;

EG_KERNEL int8_t eg_int8_leaky_relu_apply(const eg_int8_LeakyReluI8 *p, int8_t x) {
    int32_t v = (int32_t)x - p->input_zero_point, scaled;
    if (v >= 0) {
        scaled = eg_quant_mbqm(v, p->identity_multiplier, p->identity_shift);
    } else if (p->alpha_multiplier < 0) {
        scaled = -eg_quant_mbqm(v, -p->alpha_multiplier, p->alpha_shift);
    } else {
        scaled = eg_quant_mbqm(v, p->alpha_multiplier, p->alpha_shift);
    }
    return (int8_t)eg_quant_clamp(scaled + p->output_zero_point, -128, 127);
}

EG_KERNEL void eg_int8_leaky_relu_i8(eg_int8_LeakyReluI8 p, const int8_t *x, size_t x_len,
                                     int8_t *y, size_t y_len) {
    size_t i;
    (void)x_len;
    for (i = 0; i < y_len; i++) {
        y[i] = eg_int8_leaky_relu_apply(&p, x[i]);
    }
}

EG_KERNEL void eg_int8_leaky_relu_i8_in_place(eg_int8_LeakyReluI8 p, int8_t *y, size_t y_len) {
    size_t i;
    for (i = 0; i < y_len; i++) {
        y[i] = eg_int8_leaky_relu_apply(&p, y[i]);
    }
}

/* The int8 PReLU of TFLite: negative inputs multiplied by their (int8, broadcast) slope and
 * rescaled by s_in * s_alpha / s_out, the others by s_in / s_out. */
typedef struct {
    int32_t input_zero_point, alpha_zero_point, identity_multiplier, identity_shift;
    int32_t alpha_multiplier, alpha_shift, output_zero_point;
} eg_int8_PReluI8;

EG_KERNEL int8_t eg_int8_prelu_apply(const eg_int8_PReluI8 *p, int8_t x, int8_t alpha) {
    int32_t v = (int32_t)x - p->input_zero_point, scaled;
    if (v >= 0) {
        scaled = eg_quant_mbqm(v, p->identity_multiplier, p->identity_shift);
    } else {
        scaled = eg_quant_mbqm(v * ((int32_t)alpha - p->alpha_zero_point), p->alpha_multiplier,
                               p->alpha_shift);
    }
    return (int8_t)eg_quant_clamp(scaled + p->output_zero_point, -128, 127);
}

EG_KERNEL void eg_int8_prelu_i8(eg_int8_PReluI8 p, eg_int8_Broadcast s, const int8_t *x,
                                size_t x_len, const int8_t *alpha, size_t alpha_len, int8_t *y,
                                size_t y_len) {
    (void)x_len, (void)alpha_len, (void)y_len;
    EG_INT8_FOR_EACH_PAIR(s, y[o] = eg_int8_prelu_apply(&p, x[i], alpha[j]));
}

EG_KERNEL void eg_int8_prelu_i8_in_place(eg_int8_PReluI8 p, eg_int8_Broadcast s, int8_t *y,
                                         size_t y_len, const int8_t *alpha, size_t alpha_len) {
    (void)y_len, (void)alpha_len;
    EG_INT8_FOR_EACH_PAIR(s, ((void)i, y[o] = eg_int8_prelu_apply(&p, y[o], alpha[j])));
}

/* a * b / 2^15 rounded to nearest (ties towards +inf), saturated (gemmlowp's 16-bit
 * SaturatingRoundingDoublingHighMul). */
EG_KERNEL int16_t eg_int8_srdhm_i16(int16_t a, int16_t b) {
    int32_t product, nudge;
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    product = (int32_t)a * (int32_t)b;
    nudge = product >= 0 ? (1 << 14) : 1 - (1 << 14);
    return (int16_t)((product + nudge) / (1 << 15));
}

/* a * b / 2^15 truncated towards zero, saturated (gemmlowp's SaturatingDoublingHighMul). */
EG_KERNEL int16_t eg_int8_sdhm_i16(int16_t a, int16_t b) {
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

/* v * 2^exponent saturated to 16 bits. */
EG_KERNEL int16_t eg_int8_saturating_left_shift_i16(int16_t v, int32_t exponent) {
    int64_t r = (int64_t)v * ((int64_t)1 << exponent);
    return (int16_t)(r < INT16_MIN ? INT16_MIN : (r > INT16_MAX ? INT16_MAX : r));
}

/* The int8 hard swish of TFLite, x * relu6(x + 3) / 6, in 16-bit fixed point. */
typedef struct {
    int32_t input_zero_point, output_zero_point;
    int16_t output_multiplier;
    int32_t output_shift;
    int16_t reluish_multiplier;
    int32_t reluish_shift;
} eg_int8_HardSwishI8;

EG_KERNEL int8_t eg_int8_hard_swish_apply(const eg_int8_HardSwishI8 *p, int8_t x) {
    /* Rust's `as i16` and wrapping_mul(128): the low 16 bits. */
    int16_t input = (int16_t)(uint16_t)(uint32_t)((int32_t)x - p->input_zero_point);
    int16_t high_resolution = (int16_t)(uint16_t)((uint32_t)(uint16_t)input * 128u);
    int16_t preshift_output = eg_int8_srdhm_i16(high_resolution, p->output_multiplier);
    int16_t reluish = high_resolution, preshift;
    int32_t output;
    if (p->reluish_shift > 0) {
        reluish = eg_int8_saturating_left_shift_i16(reluish, p->reluish_shift - 1);
    }
    reluish = eg_int8_srdhm_i16(reluish, p->reluish_multiplier);
    if (p->reluish_shift > 0) {
        reluish = eg_int8_saturating_left_shift_i16(reluish, 1);
    }
    if (p->reluish_shift < 0) {
        reluish = (int16_t)eg_quant_rdivpot((int32_t)reluish, -p->reluish_shift);
    }
    /* From [-1, 1] in Q15 to [0, 1]. */
    reluish = (int16_t)(((int32_t)reluish + (1 << 15)) / 2);
    preshift = eg_int8_sdhm_i16(reluish, preshift_output);
    output = (int16_t)(uint16_t)(uint32_t)(eg_quant_rdivpot((int32_t)preshift, -p->output_shift) +
                                           p->output_zero_point);
    return (int8_t)eg_quant_clamp(output, -128, 127);
}

EG_KERNEL void eg_int8_hard_swish_i8(eg_int8_HardSwishI8 p, const int8_t *x, size_t x_len,
                                     int8_t *y, size_t y_len) {
    size_t i;
    (void)x_len;
    for (i = 0; i < y_len; i++) {
        y[i] = eg_int8_hard_swish_apply(&p, x[i]);
    }
}

EG_KERNEL void eg_int8_hard_swish_i8_in_place(eg_int8_HardSwishI8 p, int8_t *y, size_t y_len) {
    size_t i;
    for (i = 0; i < y_len; i++) {
        y[i] = eg_int8_hard_swish_apply(&p, y[i]);
    }
}

/* The int8 mean of TFLite over `len` values of stride `inner`, for each of outer * inner
 * outputs: the raw sum less len zero points, rescaled by s_in / (s_out * len). */
typedef struct {
    size_t outer, len, inner;
    int32_t input_zero_point, multiplier, shift, output_zero_point;
    int single_rounding;
} eg_int8_MeanI8;

EG_KERNEL void eg_int8_mean_i8(eg_int8_MeanI8 p, const int8_t *x, size_t x_len, int8_t *y,
                               size_t y_len) {
    size_t o, i, k;
    (void)x_len, (void)y_len;
    for (o = 0; o < p.outer; o++) {
        for (i = 0; i < p.inner; i++) {
            uint32_t sum = 0;
            int32_t acc;
            for (k = 0; k < p.len; k++) {
                sum += (uint32_t)(int32_t)x[(o * p.len + k) * p.inner + i];
            }
            acc = (int32_t)(sum - (uint32_t)p.input_zero_point * (uint32_t)p.len);
            y[o * p.inner + i] =
                (int8_t)(p.single_rounding
                             ? eg_quant_requantize_once(acc, p.multiplier, p.shift,
                                                        p.output_zero_point, -128, 127)
                             : eg_quant_requantize(acc, p.multiplier, p.shift,
                                                   p.output_zero_point, -128, 127));
        }
    }
}

/* Constant padding of an int8 tensor of up to six axes: the input bytes unchanged, `value`
 * around them. */
typedef struct {
    size_t in_shape[6], out_shape[6], pads_begin[6];
    int8_t value;
} eg_int8_PadI8;

EG_KERNEL void eg_int8_pad_i8(eg_int8_PadI8 p, const int8_t *x, size_t x_len, int8_t *y,
                              size_t y_len) {
    const size_t *b = p.pads_begin, *s = p.out_shape;
    size_t src = 0, i0, i1, i2, i3, i4;
    (void)x_len;
    memset(y, (unsigned char)p.value, y_len);
    for (i0 = 0; i0 < p.in_shape[0]; i0++) {
        for (i1 = 0; i1 < p.in_shape[1]; i1++) {
            for (i2 = 0; i2 < p.in_shape[2]; i2++) {
                for (i3 = 0; i3 < p.in_shape[3]; i3++) {
                    for (i4 = 0; i4 < p.in_shape[4]; i4++) {
                        size_t row =
                            (((((i0 + b[0]) * s[1] + i1 + b[1]) * s[2] + i2 + b[2]) * s[3] + i3 +
                              b[3]) * s[4] + i4 + b[4]) * s[5] + b[5];
                        memcpy(y + row, x + src, p.in_shape[5]);
                        src += p.in_shape[5];
                    }
                }
            }
        }
    }
}
