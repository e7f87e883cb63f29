/* gemm: matrix products, the C twin of edgegen's `kernels::gemm`: `Gemm` (a dense layer with
 * bias and fused activation, its weights in any format of eg_weights) and batched `MatMul`
 * with broadcast batch dimensions. Both walk y row by row and add a[i][q] * b[q][..] for each
 * q, in the Rust kernels' order. */

/* How C of a Gemm is laid out: nothing, one value, n values per row, m values (one per row),
 * or m * n values. */
typedef enum {
    EG_GEMM_BIAS_NONE = 0,
    EG_GEMM_BIAS_SCALAR = 1,
    EG_GEMM_BIAS_ROW = 2,
    EG_GEMM_BIAS_COLUMN = 3,
    EG_GEMM_BIAS_FULL = 4
} eg_gemm_Bias;

EG_KERNEL eg_gemm_Bias eg_gemm_Bias_None(void) {
    return EG_GEMM_BIAS_NONE;
}

EG_KERNEL eg_gemm_Bias eg_gemm_Bias_Scalar(void) {
    return EG_GEMM_BIAS_SCALAR;
}

EG_KERNEL eg_gemm_Bias eg_gemm_Bias_Row(void) {
    return EG_GEMM_BIAS_ROW;
}

EG_KERNEL eg_gemm_Bias eg_gemm_Bias_Column(void) {
    return EG_GEMM_BIAS_COLUMN;
}

EG_KERNEL eg_gemm_Bias eg_gemm_Bias_Full(void) {
    return EG_GEMM_BIAS_FULL;
}

/* y[m, n] = activation(alpha * A' * B' + beta * C); a is stored [k, m] when trans_a, b
 * [n, k] when trans_b. */
typedef struct {
    size_t m, k, n;
    float alpha, beta;
    int trans_a, trans_b;
    eg_gemm_Bias bias;
    eg_activation_Activation activation;
} eg_gemm_Gemm;

/* Sets row i of y to beta * C as p.bias lays C out (zero without a bias). */
EG_KERNEL void eg_gemm_fill_bias(const eg_gemm_Gemm *p, const float *c, size_t i, float *row) {
    size_t j;
    for (j = 0; j < p->n; j++) {
        switch (p->bias) {
        case EG_GEMM_BIAS_SCALAR:
            row[j] = p->beta * c[0];
            break;
        case EG_GEMM_BIAS_COLUMN:
            row[j] = p->beta * c[i];
            break;
        case EG_GEMM_BIAS_ROW:
            row[j] = p->beta * c[j];
            break;
        case EG_GEMM_BIAS_FULL:
            row[j] = p->beta * c[i * p->n + j];
            break;
        default:
            row[j] = 0.0f;
            break;
        }
    }
}

/* The loops of eg_gemm_gemm for weights in any format. */
EG_KERNEL void eg_gemm_gemm_by(eg_gemm_Gemm p, const float *a, eg_weights_View b, const float *c,
                               float *y) {
    size_t m = p.m, k = p.k, n = p.n;
    size_t i, j, q;
    for (i = 0; i < m; i++) {
        float *row = y + i * n;
        eg_gemm_fill_bias(&p, c, i, row);
        if (p.trans_b) {
            for (j = 0; j < n; j++) {
                float acc = 0.0f;
                for (q = 0; q < k; q++) {
                    float av = p.trans_a ? a[q * m + i] : a[i * k + q];
                    acc += av * eg_weights_at(&b, j * k + q, j);
                }
                row[j] += p.alpha * acc;
            }
        } else {
            for (q = 0; q < k; q++) {
                float av = p.alpha * (p.trans_a ? a[q * m + i] : a[i * k + q]);
                for (j = 0; j < n; j++) {
                    row[j] += av * eg_weights_at(&b, q * n + j, j);
                }
            }
        }
        eg_activation_apply_all(p.activation, row, n);
    }
}

EG_KERNEL void eg_gemm_gemm(eg_gemm_Gemm p, const float *a, size_t a_len, const float *b,
                            size_t b_len, const float *c, size_t c_len, float *y, size_t y_len) {
    (void)a_len, (void)b_len, (void)c_len, (void)y_len;
    eg_gemm_gemm_by(p, a, eg_weights_view_f32(b), c, y);
}

EG_KERNEL void eg_gemm_gemm_Int8(eg_gemm_Gemm p, const float *a, size_t a_len, eg_weights_Int8 b,
                                 const float *c, size_t c_len, float *y, size_t y_len) {
    (void)a_len, (void)c_len, (void)y_len;
    eg_gemm_gemm_by(p, a, eg_weights_view_Int8(b), c, y);
}

EG_KERNEL void eg_gemm_gemm_F16(eg_gemm_Gemm p, const float *a, size_t a_len, eg_weights_F16 b,
                                const float *c, size_t c_len, float *y, size_t y_len) {
    (void)a_len, (void)c_len, (void)y_len;
    eg_gemm_gemm_by(p, a, eg_weights_view_F16(b), c, y);
}

EG_KERNEL void eg_gemm_gemm_Codebook(eg_gemm_Gemm p, const float *a, size_t a_len,
                                     eg_weights_Codebook b, const float *c, size_t c_len,
                                     float *y, size_t y_len) {
    (void)a_len, (void)c_len, (void)y_len;
    eg_gemm_gemm_by(p, a, eg_weights_view_Codebook(b), c, y);
}

/* Batched y[.., m, n] = a[.., m, k] * b[.., k, n]; the batch offsets of a and b per batch axis
 * in elements (0 where the operand is broadcast). */
typedef struct {
    size_t batch[4], a_strides[4], b_strides[4];
    size_t m, k, n;
} eg_gemm_MatMul;

/* The matrix product on element type T, each multiply-add computed in U: T itself for floats
 * (rounded twice, no fused multiply-add), the unsigned type of the same width for integers
 * (wrapping, as Rust's wrapping_add and wrapping_mul). */
#define EG_GEMM_MATMUL(name, T, U)                                                              \
    EG_KERNEL void name(eg_gemm_MatMul p, const T *a, size_t a_len, const T *b, size_t b_len,   \
                        T *y, size_t y_len) {                                                   \
        size_t m = p.m, k = p.k, n = p.n, out = 0;                                              \
        size_t i0, i1, i2, i3, i, q, j;                                                         \
        (void)a_len, (void)b_len, (void)y_len;                                                  \
        for (i0 = 0; i0 < p.batch[0]; i0++) {                                                   \
            for (i1 = 0; i1 < p.batch[1]; i1++) {                                               \
                for (i2 = 0; i2 < p.batch[2]; i2++) {                                           \
                    for (i3 = 0; i3 < p.batch[3]; i3++) {                                       \
                        const T *am = a + i0 * p.a_strides[0] + i1 * p.a_strides[1] +           \
                                      i2 * p.a_strides[2] + i3 * p.a_strides[3];                \
                        const T *bm = b + i0 * p.b_strides[0] + i1 * p.b_strides[1] +           \
                                      i2 * p.b_strides[2] + i3 * p.b_strides[3];                \
                        for (i = 0; i < m; i++) {                                               \
                            T *row = y + out + i * n;                                           \
                            for (j = 0; j < n; j++) {                                           \
                                row[j] = (T)0;                                                  \
                            }                                                                   \
                            for (q = 0; q < k; q++) {                                           \
                                U av = (U)am[i * k + q];                                        \
                                for (j = 0; j < n; j++) {                                       \
                                    row[j] = (T)((U)row[j] + av * (U)bm[q * n + j]);            \
                                }                                                               \
                            }                                                                   \
                        }                                                                       \
                        out += m * n;                                                           \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

EG_GEMM_MATMUL(eg_gemm_matmul_f32, float, float)
EG_GEMM_MATMUL(eg_gemm_matmul_f64, double, double)
EG_GEMM_MATMUL(eg_gemm_matmul_i32, int32_t, uint32_t)
EG_GEMM_MATMUL(eg_gemm_matmul_u32, uint32_t, uint32_t)
EG_GEMM_MATMUL(eg_gemm_matmul_i64, int64_t, uint64_t)
EG_GEMM_MATMUL(eg_gemm_matmul_u64, uint64_t, uint64_t)
