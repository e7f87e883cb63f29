/* norm: normalisation kernels, the C twin of edgegen's `kernels::norm`: layer normalisation
 * (and its statistics), instance normalisation, batch normalisation with statistics known only
 * at run time, and local response normalisation. Means and variances take two passes
 * (population variance), in Rust's order. */

/* LayerNormalization over rows: x is [outer, inner], each row normalised on its own. */
typedef struct {
    size_t outer, inner;
    float epsilon;
} eg_norm_LayerNorm;

enum { EG_NORM_MEAN, EG_NORM_INV_STD_DEV, EG_NORM_VARIANCE };

/* Which statistic of each row eg_norm_layer_norm_statistic writes. */
typedef struct {
    int kind;
} eg_norm_Statistic;

EG_KERNEL eg_norm_Statistic eg_norm_Statistic_Mean(void) {
    eg_norm_Statistic s;
    s.kind = EG_NORM_MEAN;
    return s;
}

/* 1 / sqrt(variance + epsilon). */
EG_KERNEL eg_norm_Statistic eg_norm_Statistic_InvStdDev(void) {
    eg_norm_Statistic s;
    s.kind = EG_NORM_INV_STD_DEV;
    return s;
}

/* The mean of n values in *mean and 1 / sqrt(variance + epsilon) returned. */
EG_KERNEL float eg_norm_mean_inv_std(const float *values, size_t len, float epsilon,
                                     float *mean) {
    float n = (float)len, sum = 0.0f, squares = 0.0f, m;
    size_t i;
    for (i = 0; i < len; i++) {
        sum += values[i];
    }
    m = sum / n;
    for (i = 0; i < len; i++) {
        squares += (values[i] - m) * (values[i] - m);
    }
    *mean = m;
    return 1.0f / eg_math_sqrt(squares / n + epsilon);
}

/* y = (x - mean) / sqrt(variance + epsilon) * scale + bias per row; an empty bias is zero. */
EG_KERNEL void eg_norm_layer_norm(eg_norm_LayerNorm p, const float *x, size_t x_len,
                                  const float *scale, size_t scale_len, const float *bias,
                                  size_t bias_len, float *y, size_t y_len) {
    size_t o, i;
    (void)x_len, (void)scale_len, (void)y_len;
    for (o = 0; o < p.outer; o++) {
        const float *row = x + o * p.inner;
        float *out = y + o * p.inner;
        float mean, inv = eg_norm_mean_inv_std(row, p.inner, p.epsilon, &mean);
        for (i = 0; i < p.inner; i++) {
            out[i] = (row[i] - mean) * inv * scale[i] + (bias_len ? bias[i] : 0.0f);
        }
    }
}

/* One statistic per row (the optional outputs of LayerNormalization). */
EG_KERNEL void eg_norm_layer_norm_statistic(eg_norm_LayerNorm p, eg_norm_Statistic statistic,
                                            const float *x, size_t x_len, float *y,
                                            size_t y_len) {
    size_t o;
    (void)x_len, (void)y_len;
    for (o = 0; o < p.outer; o++) {
        float mean, inv = eg_norm_mean_inv_std(x + o * p.inner, p.inner, p.epsilon, &mean);
        y[o] = statistic.kind == EG_NORM_MEAN ? mean : inv;
    }
}

/* InstanceNormalization: x is [batch, channels, inner], each plane normalised, then scaled and
 * shifted by its channel's scale and bias. */
typedef struct {
    size_t batch, channels, inner;
    float epsilon;
} eg_norm_InstanceNorm;

EG_KERNEL void eg_norm_instance_norm(eg_norm_InstanceNorm p, const float *x, size_t x_len,
                                     const float *scale, size_t scale_len, const float *bias,
                                     size_t bias_len, float *y, size_t y_len) {
    size_t plane, i;
    (void)x_len, (void)scale_len, (void)bias_len, (void)y_len;
    for (plane = 0; plane < p.batch * p.channels; plane++) {
        size_t c = plane % p.channels;
        const float *values = x + plane * p.inner;
        float *out = y + plane * p.inner;
        float mean, inv = eg_norm_mean_inv_std(values, p.inner, p.epsilon, &mean);
        float s = inv * scale[c];
        for (i = 0; i < p.inner; i++) {
            out[i] = (values[i] - mean) * s + bias[c];
        }
    }
}

/* BatchNormalization of [batch, channels, inner] data whose statistics are not constants. */
typedef struct {
    size_t batch, channels, inner;
    float epsilon;
} eg_norm_BatchNorm;

/* Channel c normalised with (mean, var) and scaled and shifted by (scale, bias), as one scale
 * and shift. */
EG_KERNEL void eg_norm_batch_norm_channel(const eg_norm_BatchNorm *p, size_t c, float mean,
                                          float var, float scale, float bias, const float *x,
                                          float *y) {
    float s = scale / eg_math_sqrt(var + p->epsilon);
    float shift = bias - mean * s;
    size_t b, i;
    for (b = 0; b < p->batch; b++) {
        size_t at = (b * p->channels + c) * p->inner;
        for (i = 0; i < p->inner; i++) {
            y[at + i] = x[at + i] * s + shift;
        }
    }
}

/* The mean (in *mean) and biased variance (returned) of channel c over batch and inner axes. */
EG_KERNEL float eg_norm_channel_mean_variance(const eg_norm_BatchNorm *p, size_t c,
                                              const float *x, float *mean) {
    float count = (float)(p->batch * p->inner), sum = 0.0f, squares = 0.0f, m;
    size_t b, i;
    for (b = 0; b < p->batch; b++) {
        for (i = 0; i < p->inner; i++) {
            sum += x[(b * p->channels + c) * p->inner + i];
        }
    }
    m = sum / count;
    for (b = 0; b < p->batch; b++) {
        for (i = 0; i < p->inner; i++) {
            float v = x[(b * p->channels + c) * p->inner + i];
            squares += (v - m) * (v - m);
        }
    }
    *mean = m;
    return squares / count;
}

EG_KERNEL void eg_norm_batch_norm(eg_norm_BatchNorm p, const float *x, size_t x_len,
                                  const float *scale, size_t scale_len, const float *bias,
                                  size_t bias_len, const float *mean, size_t mean_len,
                                  const float *var, size_t var_len, float *y, size_t y_len) {
    size_t c;
    (void)x_len, (void)scale_len, (void)bias_len, (void)mean_len, (void)var_len, (void)y_len;
    for (c = 0; c < p.channels; c++) {
        eg_norm_batch_norm_channel(&p, c, mean[c], var[c], scale[c], bias[c], x, y);
    }
}

/* Training mode: each channel normalised with its batch mean and biased variance. */
EG_KERNEL void eg_norm_batch_norm_training(eg_norm_BatchNorm p, const float *x, size_t x_len,
                                           const float *scale, size_t scale_len,
                                           const float *bias, size_t bias_len, float *y,
                                           size_t y_len) {
    size_t c;
    (void)x_len, (void)scale_len, (void)bias_len, (void)y_len;
    for (c = 0; c < p.channels; c++) {
        float mean, var = eg_norm_channel_mean_variance(&p, c, x, &mean);
        eg_norm_batch_norm_channel(&p, c, mean, var, scale[c], bias[c], x, y);
    }
}

/* Which running statistic eg_norm_batch_norm_running_statistic writes. */
typedef struct {
    int kind;
} eg_norm_BatchStatistic;

EG_KERNEL eg_norm_BatchStatistic eg_norm_BatchStatistic_Mean(void) {
    eg_norm_BatchStatistic s;
    s.kind = EG_NORM_MEAN;
    return s;
}

/* The biased variance. */
EG_KERNEL eg_norm_BatchStatistic eg_norm_BatchStatistic_Variance(void) {
    eg_norm_BatchStatistic s;
    s.kind = EG_NORM_VARIANCE;
    return s;
}

/* input * momentum + batch statistic * (1 - momentum) per channel. */
EG_KERNEL void eg_norm_batch_norm_running_statistic(eg_norm_BatchNorm p,
                                                    eg_norm_BatchStatistic statistic,
                                                    float momentum, const float *x,
                                                    size_t x_len, const float *input,
                                                    size_t input_len, float *y, size_t y_len) {
    size_t c;
    (void)x_len, (void)input_len, (void)y_len;
    for (c = 0; c < p.channels; c++) {
        float mean, var = eg_norm_channel_mean_variance(&p, c, x, &mean);
        float current = statistic.kind == EG_NORM_MEAN ? mean : var;
        y[c] = input[c] * momentum + current * (1.0f - momentum);
    }
}

/* LRN across channels of [batch, channels, inner] data. */
typedef struct {
    size_t batch, channels, inner, size;
    float alpha, beta, bias;
} eg_norm_Lrn;

/* y = x / (bias + alpha / size * sum(x^2))^beta over the channels from c - (size - 1) / 2 to
 * c + size / 2 that exist. */
EG_KERNEL void eg_norm_lrn(eg_norm_Lrn p, const float *x, size_t x_len, float *y, size_t y_len) {
    size_t before = (p.size - 1) / 2, after = p.size / 2, b, c, i, k;
    float scale = p.alpha / (float)p.size;
    (void)x_len, (void)y_len;
    for (b = 0; b < p.batch; b++) {
        for (c = 0; c < p.channels; c++) {
            size_t lo = c > before ? c - before : 0;
            size_t hi = c + after < p.channels ? c + after : p.channels - 1;
            for (i = 0; i < p.inner; i++) {
                float sum = 0.0f, base;
                size_t at = (b * p.channels + c) * p.inner + i;
                for (k = lo; k <= hi; k++) {
                    float v = x[(b * p.channels + k) * p.inner + i];
                    sum += v * v;
                }
                base = p.bias + scale * sum;
                y[at] = x[at] * eg_math_exp(-p.beta * eg_math_ln(base));
            }
        }
    }
}
