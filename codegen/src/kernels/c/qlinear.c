/* qlinear: ONNX's quantization operators QuantizeLinear, DequantizeLinear and
 * DynamicQuantizeLinear, the C twin of the corresponding kernels of edgegen's
 * `kernels::qlinear`: float32 rescaling rounded half to even (ONNX's definition, not TFLite's
 * fixed-point multipliers). One instance per quantized type; a zero point that is absent (an
 * empty slice) is 0, and the instance is named without its type. */

/* Where the scale and zero point of each element of a tensor seen as [outer, axis_len, inner]
 * are: index o * outer_stride + (a / block) * axis_stride + i * inner_stride. */
typedef struct {
    size_t outer, axis_len, inner, block, outer_stride, axis_stride, inner_stride;
    /* The range of the quantized type. */
    int32_t q_min, q_max;
} eg_qlinear_Linear;

/* clamp(round_half_to_even(v) + zero_point, q_min, q_max), the float-to-integer conversion
 * saturating (NaN to 0) as Rust's `as`. */
EG_KERNEL int32_t eg_qlinear_saturate(float v, int32_t zero_point, int32_t q_min, int32_t q_max) {
    float r = eg_math_round_half_to_even(v);
    int64_t q;
    if (r != r) {
        q = 0;
    } else if (r >= 9223372036854775807.0f) {
        q = INT64_MAX;
    } else if (r <= -9223372036854775808.0f) {
        q = INT64_MIN;
    } else {
        q = (int64_t)r;
    }
    /* Adding the zero point cannot wrap unless q saturated, and then it clamps either way. */
    if (q > INT64_MAX - 2147483648 || q < INT64_MIN + 2147483648) {
        return q > 0 ? q_max : q_min;
    }
    q += zero_point;
    return q < q_min ? q_min : (q > q_max ? q_max : (int32_t)q);
}

/* The loops over every element and its scale index k: BODY sees i and k. */
#define EG_QLINEAR_FOR_EACH_SCALE(p, BODY)                                                      \
    do {                                                                                        \
        size_t i = 0, o, a, n;                                                                  \
        for (o = 0; o < (p).outer; o++) {                                                       \
            for (a = 0; a < (p).axis_len; a++) {                                                \
                size_t base = o * (p).outer_stride + (a / (p).block) * (p).axis_stride;         \
                for (n = 0; n < (p).inner; n++) {                                               \
                    size_t k = base + n * (p).inner_stride;                                     \
                    BODY;                                                                       \
                    i++;                                                                        \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    } while (0)

/* QuantizeLinear: y = saturate(x / scale + zero_point); the zero points are int32 (or
 * ZP, the output's type, when given at run time). */
#define EG_QLINEAR_QUANTIZE(name, Y, ZP)                                                        \
    EG_KERNEL void name(eg_qlinear_Linear p, const float *x, size_t x_len, const float *scale,  \
                        size_t scale_len, const ZP *zero_point, size_t zero_point_len, Y *y,    \
                        size_t y_len) {                                                         \
        (void)x_len, (void)scale_len, (void)y_len;                                              \
        EG_QLINEAR_FOR_EACH_SCALE(                                                              \
            p, y[i] = (Y)(uint64_t)(int64_t)eg_qlinear_saturate(                                \
                   x[i] / scale[k], zero_point_len ? (int32_t)zero_point[k] : 0, p.q_min,       \
                   p.q_max));                                                                   \
    }

/* DequantizeLinear: y = (x - zero_point) * scale. */
#define EG_QLINEAR_DEQUANTIZE(name, X, ZP)                                                      \
    EG_KERNEL void name(eg_qlinear_Linear p, const X *x, size_t x_len, const float *scale,      \
                        size_t scale_len, const ZP *zero_point, size_t zero_point_len,          \
                        float *y, size_t y_len) {                                               \
        (void)x_len, (void)scale_len, (void)y_len;                                              \
        EG_QLINEAR_FOR_EACH_SCALE(                                                              \
            p, y[i] = (float)((int64_t)x[i] -                                                   \
                              (int64_t)(zero_point_len ? (int32_t)zero_point[k] : 0)) *         \
                      scale[k]);                                                                \
    }

/* DynamicQuantizeLinear's scale (returned) and rounded zero point (in *zero_point): the range
 * of x widened to include 0, over the 256 levels of uint8. */
EG_KERNEL float eg_qlinear_dynamic_scale_and_zero_point(const float *x, size_t len,
                                                        float *zero_point) {
    float min = 0.0f, max = 0.0f, range, scale, z;
    size_t i;
    for (i = 0; i < len; i++) {
        if (x[i] < min) {
            min = x[i];
        }
        if (x[i] > max) {
            max = x[i];
        }
    }
    range = max == min ? 1.0f : max - min;
    scale = range / 255.0f;
    z = 0.0f - min / scale;
    /* Rust's clamp (a NaN stays NaN). */
    if (z < 0.0f) {
        z = 0.0f;
    }
    if (z > 255.0f) {
        z = 255.0f;
    }
    *zero_point = eg_math_round_half_to_even(z);
    return scale;
}

EG_KERNEL void eg_qlinear_dynamic_quantize_linear(const float *x, size_t x_len, uint8_t *y,
                                                  size_t y_len) {
    float zero_point, scale = eg_qlinear_dynamic_scale_and_zero_point(x, x_len, &zero_point);
    int32_t z = zero_point != zero_point ? 0 : (int32_t)zero_point;
    size_t i;
    for (i = 0; i < y_len; i++) {
        y[i] = (uint8_t)eg_qlinear_saturate(x[i] / scale, z, 0, 255);
    }
}

EG_KERNEL void eg_qlinear_dynamic_quantize_scale(const float *x, size_t x_len, float *y,
                                                 size_t y_len) {
    float zero_point;
    (void)y_len;
    y[0] = eg_qlinear_dynamic_scale_and_zero_point(x, x_len, &zero_point);
}

EG_KERNEL void eg_qlinear_dynamic_quantize_zero_point(const float *x, size_t x_len, uint8_t *y,
                                                      size_t y_len) {
    float zero_point;
    (void)y_len;
    eg_qlinear_dynamic_scale_and_zero_point(x, x_len, &zero_point);
    y[0] = zero_point != zero_point ? 0 : (uint8_t)zero_point;
}


EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_f32_i32_i8, int8_t, int32_t)
EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_f32_i8, int8_t, int32_t)
EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_run_time_f32_i8, int8_t, int8_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_i8_f32_i32, int8_t, int32_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_i8_f32, int8_t, int32_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_run_time_i8_f32, int8_t, int8_t)
EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_f32_i32_u8, uint8_t, int32_t)
EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_f32_u8, uint8_t, int32_t)
EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_run_time_f32_u8, uint8_t, uint8_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_u8_f32_i32, uint8_t, int32_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_u8_f32, uint8_t, int32_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_run_time_u8_f32, uint8_t, uint8_t)
EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_f32_i32_i16, int16_t, int32_t)
EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_f32_i16, int16_t, int32_t)
EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_run_time_f32_i16, int16_t, int16_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_i16_f32_i32, int16_t, int32_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_i16_f32, int16_t, int32_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_run_time_i16_f32, int16_t, int16_t)
EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_f32_i32_u16, uint16_t, int32_t)
EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_f32_u16, uint16_t, int32_t)
EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_run_time_f32_u16, uint16_t, uint16_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_u16_f32_i32, uint16_t, int32_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_u16_f32, uint16_t, int32_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_run_time_u16_f32, uint16_t, uint16_t)
EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_f32_i32, int32_t, int32_t)
EG_QLINEAR_QUANTIZE(eg_qlinear_quantize_linear_run_time_f32_i32, int32_t, int32_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_i32_f32, int32_t, int32_t)
EG_QLINEAR_DEQUANTIZE(eg_qlinear_dequantize_linear_run_time_i32_f32, int32_t, int32_t)

/* ---- MatMulInteger and QLinearMatMul ---- */

/* The output quantization of a QLinear op: the zero point and range (the float32 multipliers
 * (a_scale * b_scale) / y_scale are a slice of their own). */
typedef struct {
    int32_t zero_point, q_min, q_max;
} eg_qlinear_Requantize;

/* The int32 accumulators of a quantized matrix product (batches as eg_gemm_MatMul says), the
 * zero points of a per tensor or per row, of b per tensor or per column: BODY sees `i` (the
 * output index), `c` (the column) and `acc`. */
#define EG_QLINEAR_MATMUL_ACC(p, a, b, za, za_len, zb, zb_len, BODY)                            \
    do {                                                                                        \
        size_t i = 0, i0, i1, i2, i3, row, c, t;                                                \
        for (i0 = 0; i0 < (p).batch[0]; i0++) {                                                 \
            for (i1 = 0; i1 < (p).batch[1]; i1++) {                                             \
                for (i2 = 0; i2 < (p).batch[2]; i2++) {                                         \
                    for (i3 = 0; i3 < (p).batch[3]; i3++) {                                     \
                        size_t ao = i0 * (p).a_strides[0] + i1 * (p).a_strides[1] +             \
                                    i2 * (p).a_strides[2] + i3 * (p).a_strides[3];              \
                        size_t bo = i0 * (p).b_strides[0] + i1 * (p).b_strides[1] +             \
                                    i2 * (p).b_strides[2] + i3 * (p).b_strides[3];              \
                        for (row = 0; row < (p).m; row++) {                                     \
                            int32_t zr = (za)[(za_len) == 1 ? 0 : row];                         \
                            for (c = 0; c < (p).n; c++) {                                       \
                                int32_t zc = (zb)[(zb_len) == 1 ? 0 : c];                       \
                                uint32_t sum = 0;                                               \
                                int32_t acc;                                                    \
                                for (t = 0; t < (p).k; t++) {                                   \
                                    int32_t x = (int32_t)(a)[ao + row * (p).k + t] - zr;        \
                                    int32_t w = (int32_t)(b)[bo + t * (p).n + c] - zc;          \
                                    sum += (uint32_t)(x * w);                                   \
                                }                                                               \
                                acc = (int32_t)sum;                                             \
                                BODY;                                                           \
                                i++;                                                            \
                            }                                                                   \
                        }                                                                       \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    } while (0)

#define EG_QLINEAR_MATMUL_INTEGER(name, A, B)                                                   \
    EG_KERNEL void name(eg_gemm_MatMul p, const A *a, size_t a_len, const B *b, size_t b_len,   \
                        const int32_t *a_zero_point, size_t a_zero_point_len,                   \
                        const int32_t *b_zero_point, size_t b_zero_point_len, int32_t *y,       \
                        size_t y_len) {                                                         \
        (void)a_len, (void)b_len, (void)y_len;                                                  \
        EG_QLINEAR_MATMUL_ACC(p, a, b, a_zero_point, a_zero_point_len, b_zero_point,            \
                              b_zero_point_len, ((void)c, y[i] = acc));                         \
    }

/* QLinearMatMul: the product requantized with one multiplier per column of b (or one). Only
 * a and b of one type have instances: with the element types named once each, int8 a, uint8 b
 * and an int8 output would have the name of the uint8 output. */
#define EG_QLINEAR_QLINEAR_MATMUL(name, A, B, Y)                                                \
    EG_KERNEL void name(eg_gemm_MatMul p, eg_qlinear_Requantize r, const A *a, size_t a_len,    \
                        const B *b, size_t b_len, const int32_t *a_zero_point,                  \
                        size_t a_zero_point_len, const int32_t *b_zero_point,                   \
                        size_t b_zero_point_len, const float *multiplier,                       \
                        size_t multiplier_len, Y *y, size_t y_len) {                            \
        (void)a_len, (void)b_len, (void)y_len;                                                  \
        EG_QLINEAR_MATMUL_ACC(                                                                  \
            p, a, b, a_zero_point, a_zero_point_len, b_zero_point, b_zero_point_len,            \
            y[i] = (Y)(int32_t)eg_qlinear_saturate(                                             \
                (float)acc * multiplier[multiplier_len == 1 ? 0 : c], r.zero_point, r.q_min,    \
                r.q_max));                                                                      \
    }


EG_QLINEAR_MATMUL_INTEGER(eg_qlinear_matmul_integer_i8_i32, int8_t, int8_t)
EG_QLINEAR_MATMUL_INTEGER(eg_qlinear_matmul_integer_i8_u8_i32, int8_t, uint8_t)
EG_QLINEAR_MATMUL_INTEGER(eg_qlinear_matmul_integer_u8_i8_i32, uint8_t, int8_t)
EG_QLINEAR_MATMUL_INTEGER(eg_qlinear_matmul_integer_u8_i32, uint8_t, uint8_t)
EG_QLINEAR_QLINEAR_MATMUL(eg_qlinear_qlinear_matmul_i8_i32_f32, int8_t, int8_t, int8_t)
EG_QLINEAR_QLINEAR_MATMUL(eg_qlinear_qlinear_matmul_i8_i32_f32_u8, int8_t, int8_t, uint8_t)
EG_QLINEAR_QLINEAR_MATMUL(eg_qlinear_qlinear_matmul_u8_i32_f32_i8, uint8_t, uint8_t, int8_t)
EG_QLINEAR_QLINEAR_MATMUL(eg_qlinear_qlinear_matmul_u8_i32_f32, uint8_t, uint8_t, uint8_t)
