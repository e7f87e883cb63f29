/* softmax: softmax and log-softmax over one axis of an [outer, len, inner] view, the C twin of
 * edgegen's `kernels::softmax` (float32). The maximum is subtracted first, which keeps exp from
 * overflowing without changing the result. */

typedef struct {
    size_t outer, len, inner;
    /* Log-softmax: x - max - ln(sum(exp(x - max))). */
    int log;
    /* Inverse temperature: the softmax of beta * x. */
    float beta;
} eg_softmax_Softmax;

EG_KERNEL void eg_softmax_softmax_f32(eg_softmax_Softmax p, const float *x, size_t x_len,
                                      float *y, size_t y_len) {
    size_t o, i, k;
    (void)x_len, (void)y_len;
    for (o = 0; o < p.outer; o++) {
        for (i = 0; i < p.inner; i++) {
            size_t base = o * p.len * p.inner + i;
            float max = -EG_INFINITY, sum = 0.0f;
            for (k = 0; k < p.len; k++) {
                max = eg_math_max_f32(max, x[base + k * p.inner]);
            }
            for (k = 0; k < p.len; k++) {
                float e = eg_math_exp((x[base + k * p.inner] - max) * p.beta);
                sum = sum + e;
                if (!p.log) {
                    y[base + k * p.inner] = e;
                }
            }
            if (p.log) {
                float log_sum = eg_math_ln(sum);
                for (k = 0; k < p.len; k++) {
                    y[base + k * p.inner] = (x[base + k * p.inner] - max) * p.beta - log_sum;
                }
            } else {
                float scale = 1.0f / sum;
                for (k = 0; k < p.len; k++) {
                    y[base + k * p.inner] = y[base + k * p.inner] * scale;
                }
            }
        }
    }
}
