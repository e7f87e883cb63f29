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

EG_KERNEL int8_t eg_int8_add_apply(const eg_int8_AddI8 *p, int8_t a, int8_t b) {
    int32_t x = eg_quant_mbqm(eg_quant_shl((int32_t)a + p->a_offset, p->left_shift),
                              p->a_multiplier, p->a_shift);
    int32_t z = eg_quant_mbqm(eg_quant_shl((int32_t)b + p->b_offset, p->left_shift),
                              p->b_multiplier, p->b_shift);
    int32_t sum = p->subtract ? x - z : x + z;
    return (int8_t)eg_quant_requantize(sum, p->output_multiplier, p->output_shift,
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
