/* resize: resizing from tables the compiler precomputes, the C twin of edgegen's
 * `kernels::resize`: for each output row and column the input index (nearest) or the two input
 * indices and the weight of the second (linear), and the general filter form over any number
 * of axes. Data is read as [outer, h, w, inner] (inner 1 for NCHW, the channels for NHWC). */

/* `outer` blocks of h_in x w_in pixels of `inner` values resized to h_out x w_out pixels. */
typedef struct {
    size_t outer, h_in, w_in, h_out, w_out, inner;
} eg_resize_Resize2d;

/* Marks a table entry whose source lies outside the input. */
#define EG_RESIZE_OUTSIDE UINT32_MAX

/* Linear taps along one axis: (1 - w1[o]) * x[i0[o]] + w1[o] * x[i1[o]]. */
typedef struct {
    const uint32_t *i0;
    size_t i0_len;
    const uint32_t *i1;
    size_t i1_len;
    const float *w1;
    size_t w1_len;
} eg_resize_Taps;

/* TFLite's integer bilinear taps: the weight of the second index is w1[o] / 1024. */
typedef struct {
    const uint32_t *i0;
    size_t i0_len;
    const uint32_t *i1;
    size_t i1_len;
    const int32_t *w1;
    size_t w1_len;
} eg_resize_TapsQ10;

/* Filter resizing of `outer` blocks of R axes (R at most 6: the axes whose `taps` is not 0) of
 * pixels of `inner` values; see resize.rs. */
typedef struct {
    size_t outer;
    size_t shape_in[6], shape_out[6];
    size_t inner;
    size_t taps[6], start[6];
    const uint32_t *index;
    size_t index_len;
    const float *weight;
    size_t weight_len;
} eg_resize_ResizeNd;

/* Pixels outside the input become `fill`; taps of weight 0 are skipped. */
EG_KERNEL void eg_resize_resize_filter(eg_resize_ResizeNd p, float fill, const float *x,
                                       size_t x_len, float *y, size_t y_len) {
    size_t stride[6], position[6], first[6], tap[6];
    size_t r = 0, plane_in = p.inner, plane_out = p.inner, d, o, k;
    (void)x_len, (void)y_len;
    while (r < 6 && p.taps[r] != 0) {
        r++;
    }
    for (d = r; d-- > 0;) {
        stride[d] = plane_in;
        plane_in *= p.shape_in[d];
        plane_out *= p.shape_out[d];
    }
    for (o = 0; o < p.outer; o++) {
        const float *input = x + o * plane_in;
        float *pixel = y + o * plane_out;
        for (d = 0; d < r; d++) {
            position[d] = 0;
        }
        for (; pixel < y + (o + 1) * plane_out; pixel += p.inner) {
            int outside = 0;
            for (d = 0; d < r; d++) {
                first[d] = p.start[d] + position[d] * p.taps[d];
                outside |= p.index[first[d]] == EG_RESIZE_OUTSIDE;
            }
            if (outside) {
                for (k = 0; k < p.inner; k++) {
                    pixel[k] = fill;
                }
            } else {
                int more = 1;
                for (k = 0; k < p.inner; k++) {
                    pixel[k] = 0.0f;
                }
                for (d = 0; d < r; d++) {
                    tap[d] = 0;
                }
                while (more) {
                    size_t offset = 0;
                    float w = 1.0f;
                    for (d = 0; d < r; d++) {
                        size_t e = first[d] + tap[d];
                        offset += (size_t)p.index[e] * stride[d];
                        w *= p.weight[e];
                    }
                    if (w != 0.0f) {
                        for (k = 0; k < p.inner; k++) {
                            pixel[k] += w * input[offset + k];
                        }
                    }
                    /* The next combination of taps, the last axis fastest. */
                    more = 0;
                    for (d = r; d-- > 0;) {
                        if (++tap[d] < p.taps[d]) {
                            more = 1;
                            break;
                        }
                        tap[d] = 0;
                    }
                }
            }
            for (d = r; d-- > 0;) {
                if (++position[d] < p.shape_out[d]) {
                    break;
                }
                position[d] = 0;
            }
        }
    }
}

/* Linear (bilinear) resizing of float data; points outside the input become `fill`. */
EG_KERNEL void eg_resize_resize_linear(eg_resize_Resize2d p, eg_resize_Taps rows,
                                       eg_resize_Taps cols, float fill, const float *x,
                                       size_t x_len, float *y, size_t y_len) {
    size_t row_in = p.w_in * p.inner, row_out = p.w_out * p.inner;
    size_t plane_in = p.h_in * row_in, plane_out = p.h_out * row_out;
    size_t o, oy, ox, k;
    (void)x_len, (void)y_len;
    for (o = 0; o < p.outer; o++) {
        const float *input = x + o * plane_in;
        float *out = y + o * plane_out;
        for (oy = 0; oy < p.h_out; oy++) {
            float *line = out + oy * row_out;
            uint32_t r0 = rows.i0[oy], r1 = rows.i1[oy];
            float wr = rows.w1[oy];
            const float *top, *bottom;
            if (r0 == EG_RESIZE_OUTSIDE) {
                for (k = 0; k < row_out; k++) {
                    line[k] = fill;
                }
                continue;
            }
            top = input + (size_t)r0 * row_in;
            bottom = input + (size_t)r1 * row_in;
            for (ox = 0; ox < p.w_out; ox++) {
                float *pixel = line + ox * p.inner;
                uint32_t c0 = cols.i0[ox], c1 = cols.i1[ox];
                float wc = cols.w1[ox];
                size_t a, b;
                if (c0 == EG_RESIZE_OUTSIDE) {
                    for (k = 0; k < p.inner; k++) {
                        pixel[k] = fill;
                    }
                    continue;
                }
                a = (size_t)c0 * p.inner;
                b = (size_t)c1 * p.inner;
                for (k = 0; k < p.inner; k++) {
                    float upper = top[a + k] * (1.0f - wc) + top[b + k] * wc;
                    float lower = bottom[a + k] * (1.0f - wc) + bottom[b + k] * wc;
                    pixel[k] = upper * (1.0f - wr) + lower * wr;
                }
            }
        }
    }
}

/* TFLite's int8 bilinear resizing: the four neighbours weighted in units of 2^-20, the sum
 * divided by 2^20 rounding half away from zero. */
EG_KERNEL void eg_resize_resize_bilinear_i8(eg_resize_Resize2d p, eg_resize_TapsQ10 rows,
                                            eg_resize_TapsQ10 cols, const int8_t *x,
                                            size_t x_len, int8_t *y, size_t y_len) {
    const int32_t one = 1 << 10, half = 1 << 19;
    size_t row_in = p.w_in * p.inner, row_out = p.w_out * p.inner;
    size_t plane_in = p.h_in * row_in, plane_out = p.h_out * row_out;
    size_t o, oy, ox, k;
    (void)x_len, (void)y_len;
    for (o = 0; o < p.outer; o++) {
        const int8_t *input = x + o * plane_in;
        int8_t *out = y + o * plane_out;
        for (oy = 0; oy < p.h_out; oy++) {
            int8_t *line = out + oy * row_out;
            const int8_t *top = input + (size_t)rows.i0[oy] * row_in;
            const int8_t *bottom = input + (size_t)rows.i1[oy] * row_in;
            int32_t dy = rows.w1[oy];
            for (ox = 0; ox < p.w_out; ox++) {
                int8_t *pixel = line + ox * p.inner;
                size_t a = (size_t)cols.i0[ox] * p.inner, b = (size_t)cols.i1[ox] * p.inner;
                int32_t dx = cols.w1[ox];
                int32_t w00 = (one - dy) * (one - dx), w10 = dy * (one - dx);
                int32_t w01 = (one - dy) * dx, w11 = dy * dx;
                for (k = 0; k < p.inner; k++) {
                    int32_t sum = (int32_t)top[a + k] * w00 + (int32_t)bottom[a + k] * w10 +
                                  (int32_t)top[b + k] * w01 + (int32_t)bottom[b + k] * w11;
                    int32_t sign = (sum > 0) - (sum < 0);
                    int32_t rounded = (sum + sign * half) / (1 << 20);
                    pixel[k] = (int8_t)eg_quant_clamp(rounded, -128, 127);
                }
            }
        }
    }
}

/* Nearest-neighbour resizing of element type T: every output pixel copies the input pixel its
 * row and column tables name, or is `fill` where a table says EG_RESIZE_OUTSIDE. */
#define EG_RESIZE_NEAREST(name, T)                                                              \
    EG_KERNEL void name(eg_resize_Resize2d p, const uint32_t *rows, size_t rows_len,            \
                        const uint32_t *cols, size_t cols_len, T fill, const T *x, size_t x_len, \
                        T *y, size_t y_len) {                                                   \
        size_t row_in = p.w_in * p.inner, row_out = p.w_out * p.inner;                          \
        size_t plane_in = p.h_in * row_in, plane_out = p.h_out * row_out, o, oy, ox, k;         \
        (void)rows_len, (void)cols_len, (void)x_len, (void)y_len;                               \
        for (o = 0; o < p.outer; o++) {                                                         \
            for (oy = 0; oy < p.h_out; oy++) {                                                  \
                T *line = y + o * plane_out + oy * row_out;                                     \
                const T *source;                                                                \
                if (rows[oy] == EG_RESIZE_OUTSIDE) {                                            \
                    for (k = 0; k < row_out; k++) {                                             \
                        line[k] = fill;                                                         \
                    }                                                                           \
                    continue;                                                                   \
                }                                                                               \
                source = x + o * plane_in + (size_t)rows[oy] * row_in;                          \
                for (ox = 0; ox < p.w_out; ox++) {                                              \
                    for (k = 0; k < p.inner; k++) {                                             \
                        line[ox * p.inner + k] =                                                \
                            cols[ox] == EG_RESIZE_OUTSIDE                                       \
                                ? fill                                                          \
                                : source[(size_t)cols[ox] * p.inner + k];                       \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }


EG_RESIZE_NEAREST(eg_resize_resize_nearest_u32_f32, float)
EG_RESIZE_NEAREST(eg_resize_resize_nearest_u32_f64, double)
EG_RESIZE_NEAREST(eg_resize_resize_nearest_u32_f16, uint16_t)
EG_RESIZE_NEAREST(eg_resize_resize_nearest_u32_i8, int8_t)
EG_RESIZE_NEAREST(eg_resize_resize_nearest_u32_u8, uint8_t)
EG_RESIZE_NEAREST(eg_resize_resize_nearest_u32_i16, int16_t)
EG_RESIZE_NEAREST(eg_resize_resize_nearest_u32_u16, uint16_t)
EG_RESIZE_NEAREST(eg_resize_resize_nearest_u32_i32, int32_t)
EG_RESIZE_NEAREST(eg_resize_resize_nearest_u32, uint32_t)
EG_RESIZE_NEAREST(eg_resize_resize_nearest_u32_i64, int64_t)
EG_RESIZE_NEAREST(eg_resize_resize_nearest_u32_u64, uint64_t)
EG_RESIZE_NEAREST(eg_resize_resize_nearest_u32_bool, uint8_t)
