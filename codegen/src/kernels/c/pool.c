/* pool: max and average pooling over sliding windows and whole planes, NCHW, the C twin of
 * edgegen's `kernels::pool` (1-D as height 1; 3-D with a depth axis). The taps of a window are
 * visited in row-major order, as in Rust; taps in the padding are skipped, and taps at or past
 * the end padding (which ceil_mode creates) do not exist. Max pooling works on every ordered
 * element type (one function per type), average pooling on float. */

typedef struct {
    size_t planes, h_in, w_in, h_out, w_out, k_h, k_w, stride_h, stride_w;
    size_t dilation_h, dilation_w, pad_top, pad_left, pad_bottom, pad_right;
    /* Average pooling divides by the taps inside the padded input, not only the input. */
    int count_include_pad;
} eg_pool_Pool2d;

typedef struct {
    size_t planes;
    size_t shape_in[3], shape_out[3], kernel[3], strides[3], dilations[3], pads_begin[3];
    size_t pads_end[3];
    int count_include_pad;
} eg_pool_Pool3d;

/* The window over one plane of a 3-D pooling. */
EG_KERNEL eg_pool_Pool2d eg_pool_plane(const eg_pool_Pool3d *p) {
    eg_pool_Pool2d q;
    q.planes = 1;
    q.h_in = p->shape_in[1], q.w_in = p->shape_in[2];
    q.h_out = p->shape_out[1], q.w_out = p->shape_out[2];
    q.k_h = p->kernel[1], q.k_w = p->kernel[2];
    q.stride_h = p->strides[1], q.stride_w = p->strides[2];
    q.dilation_h = p->dilations[1], q.dilation_w = p->dilations[2];
    q.pad_top = p->pads_begin[1], q.pad_left = p->pads_begin[2];
    q.pad_bottom = p->pads_end[1], q.pad_right = p->pads_end[2];
    q.count_include_pad = p->count_include_pad;
    return q;
}

/* Tap (ky, kx) of the window at (oy, ox): 0 past the end padding; 1 in the padding; 2 inside
 * the input, with its index in the plane in *at. */
EG_KERNEL int eg_pool_tap(const eg_pool_Pool2d *p, size_t oy, size_t ox, size_t ky, size_t kx,
                          size_t *at) {
    size_t py = oy * p->stride_h + ky * p->dilation_h;
    size_t px = ox * p->stride_w + kx * p->dilation_w;
    if (py >= p->h_in + p->pad_top + p->pad_bottom || px >= p->w_in + p->pad_left + p->pad_right) {
        return 0;
    }
    if (py < p->pad_top || px < p->pad_left || py - p->pad_top >= p->h_in ||
        px - p->pad_left >= p->w_in) {
        return 1;
    }
    *at = (py - p->pad_top) * p->w_in + (px - p->pad_left);
    return 2;
}

/* The sum and count of the input taps of one window of a plane (or of a plane of padding,
 * `input` NULL); *padded counts the taps inside the padded plane. */
EG_KERNEL float eg_pool_window_sum(const eg_pool_Pool2d *p, const float *input, size_t oy,
                                   size_t ox, float sum, size_t *count, size_t *padded) {
    size_t ky, kx, at = 0;
    for (ky = 0; ky < p->k_h; ky++) {
        for (kx = 0; kx < p->k_w; kx++) {
            int tap = eg_pool_tap(p, oy, ox, ky, kx, &at);
            if (tap == 0) {
                continue;
            }
            *padded += 1;
            if (input != NULL && tap == 2) {
                sum = sum + input[at];
                *count += 1;
            }
        }
    }
    return sum;
}

EG_KERNEL float eg_pool_average(int count_include_pad, float sum, size_t count, size_t padded) {
    size_t divisor = count_include_pad ? padded : count;
    return sum / (float)(divisor > 1 ? divisor : 1);
}

EG_KERNEL void eg_pool_average_pool2d(eg_pool_Pool2d p, const float *x, size_t x_len, float *y,
                                      size_t y_len) {
    size_t plane_in = p.h_in * p.w_in, plane_out = p.h_out * p.w_out, c, oy, ox;
    (void)x_len, (void)y_len;
    for (c = 0; c < p.planes; c++) {
        for (oy = 0; oy < p.h_out; oy++) {
            for (ox = 0; ox < p.w_out; ox++) {
                size_t count = 0, padded = 0;
                float sum = eg_pool_window_sum(&p, x + c * plane_in, oy, ox, 0.0f, &count, &padded);
                y[c * plane_out + oy * p.w_out + ox] =
                    eg_pool_average(p.count_include_pad, sum, count, padded);
            }
        }
    }
}

EG_KERNEL void eg_pool_average_pool3d(eg_pool_Pool3d p, const float *x, size_t x_len, float *y,
                                      size_t y_len) {
    eg_pool_Pool2d plane = eg_pool_plane(&p);
    size_t d_in = p.shape_in[0], d_out = p.shape_out[0];
    size_t plane_in = plane.h_in * plane.w_in, plane_out = plane.h_out * plane.w_out;
    size_t depth_end = d_in + p.pads_begin[0] + p.pads_end[0];
    size_t c, oz, oy, ox, kz;
    (void)x_len, (void)y_len;
    for (c = 0; c < p.planes; c++) {
        const float *input = x + c * d_in * plane_in;
        float *out = y + c * d_out * plane_out;
        for (oz = 0; oz < d_out; oz++) {
            for (oy = 0; oy < plane.h_out; oy++) {
                for (ox = 0; ox < plane.w_out; ox++) {
                    size_t count = 0, padded = 0;
                    float sum = 0.0f;
                    for (kz = 0; kz < p.kernel[0]; kz++) {
                        size_t pz = oz * p.strides[0] + kz * p.dilations[0];
                        const float *slice = NULL;
                        if (pz >= depth_end) {
                            continue;
                        }
                        if (pz >= p.pads_begin[0] && pz - p.pads_begin[0] < d_in) {
                            slice = input + (pz - p.pads_begin[0]) * plane_in;
                        }
                        sum = eg_pool_window_sum(&plane, slice, oy, ox, sum, &count, &padded);
                    }
                    out[(oz * plane.h_out + oy) * plane.w_out + ox] =
                        eg_pool_average(p.count_include_pad, sum, count, padded);
                }
            }
        }
    }
}

/* Max pooling on element type T whose lowest value is LOWEST: a window without input taps (or
 * only NaNs) gives LOWEST; NaN taps never win. */
#define EG_POOL_MAX_POOL2D(name, T, LOWEST)                                                     \
    EG_KERNEL void name(eg_pool_Pool2d p, const T *x, size_t x_len, T *y, size_t y_len) {       \
        size_t plane_in = p.h_in * p.w_in, plane_out = p.h_out * p.w_out, c, oy, ox, ky, kx;    \
        (void)x_len, (void)y_len;                                                               \
        for (c = 0; c < p.planes; c++) {                                                        \
            for (oy = 0; oy < p.h_out; oy++) {                                                  \
                for (ox = 0; ox < p.w_out; ox++) {                                              \
                    T max = LOWEST;                                                             \
                    for (ky = 0; ky < p.k_h; ky++) {                                            \
                        for (kx = 0; kx < p.k_w; kx++) {                                        \
                            size_t at = 0;                                                      \
                            if (eg_pool_tap(&p, oy, ox, ky, kx, &at) == 2 &&                    \
                                x[c * plane_in + at] > max) {                                   \
                                max = x[c * plane_in + at];                                     \
                            }                                                                   \
                        }                                                                       \
                    }                                                                           \
                    y[c * plane_out + oy * p.w_out + ox] = max;                                 \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

EG_POOL_MAX_POOL2D(eg_pool_max_pool2d_f32, float, -EG_INFINITY)
EG_POOL_MAX_POOL2D(eg_pool_max_pool2d_f64, double, -(double)EG_INFINITY)
EG_POOL_MAX_POOL2D(eg_pool_max_pool2d_i8, int8_t, INT8_MIN)
EG_POOL_MAX_POOL2D(eg_pool_max_pool2d_u8, uint8_t, 0)
EG_POOL_MAX_POOL2D(eg_pool_max_pool2d_i16, int16_t, INT16_MIN)
EG_POOL_MAX_POOL2D(eg_pool_max_pool2d_i32, int32_t, INT32_MIN)
EG_POOL_MAX_POOL2D(eg_pool_max_pool2d_i64, int64_t, INT64_MIN)

/* 3-D max pooling: each output takes the windows of the input planes its depth taps reach. */
#define EG_POOL_MAX_POOL3D(name, T, LOWEST)                                                     \
    EG_KERNEL void name(eg_pool_Pool3d p, const T *x, size_t x_len, T *y, size_t y_len) {       \
        eg_pool_Pool2d plane = eg_pool_plane(&p);                                               \
        size_t d_in = p.shape_in[0], d_out = p.shape_out[0];                                    \
        size_t plane_in = plane.h_in * plane.w_in;                                              \
        size_t c, oz, oy, ox, kz, ky, kx;                                                       \
        (void)x_len, (void)y_len;                                                               \
        for (c = 0; c < p.planes; c++) {                                                        \
            for (oz = 0; oz < d_out; oz++) {                                                    \
                for (oy = 0; oy < plane.h_out; oy++) {                                          \
                    for (ox = 0; ox < plane.w_out; ox++) {                                      \
                        T max = LOWEST;                                                         \
                        for (kz = 0; kz < p.kernel[0]; kz++) {                                  \
                            size_t pz = oz * p.strides[0] + kz * p.dilations[0], iz;            \
                            if (pz < p.pads_begin[0] || pz - p.pads_begin[0] >= d_in) {         \
                                continue;                                                       \
                            }                                                                   \
                            iz = pz - p.pads_begin[0];                                          \
                            for (ky = 0; ky < plane.k_h; ky++) {                                \
                                for (kx = 0; kx < plane.k_w; kx++) {                            \
                                    size_t at = 0;                                              \
                                    const T *input = x + (c * d_in + iz) * plane_in;            \
                                    if (eg_pool_tap(&plane, oy, ox, ky, kx, &at) == 2 &&        \
                                        input[at] > max) {                                      \
                                        max = input[at];                                        \
                                    }                                                           \
                                }                                                               \
                            }                                                                   \
                        }                                                                       \
                        y[((c * d_out + oz) * plane.h_out + oy) * plane.w_out + ox] = max;      \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

EG_POOL_MAX_POOL3D(eg_pool_max_pool3d_f32, float, -EG_INFINITY)
EG_POOL_MAX_POOL3D(eg_pool_max_pool3d_i8, int8_t, INT8_MIN)
EG_POOL_MAX_POOL3D(eg_pool_max_pool3d_u8, uint8_t, 0)

/* `planes` planes of `size` elements each, reduced to one value per plane. */
typedef struct {
    size_t planes, size;
} eg_pool_GlobalPool;

EG_KERNEL void eg_pool_global_average_pool(eg_pool_GlobalPool p, const float *x, size_t x_len,
                                           float *y, size_t y_len) {
    size_t c, i;
    (void)x_len, (void)y_len;
    for (c = 0; c < p.planes; c++) {
        /* Rust's f32 sum starts from -0.0, the identity of addition. */
        float sum = -0.0f;
        for (i = 0; i < p.size; i++) {
            sum += x[c * p.size + i];
        }
        y[c] = sum / (float)p.size;
    }
}

EG_KERNEL void eg_pool_global_max_pool(eg_pool_GlobalPool p, const float *x, size_t x_len,
                                       float *y, size_t y_len) {
    size_t c, i;
    (void)x_len, (void)y_len;
    for (c = 0; c < p.planes; c++) {
        float max = -EG_INFINITY;
        for (i = 0; i < p.size; i++) {
            max = eg_math_max_f32(max, x[c * p.size + i]);
        }
        y[c] = max;
    }
}

/* The position of each window's maximum (the first in row-major order among equals) as the
 * flat index into the whole input: the plane's offset plus index_strides . [z, y, x] (three
 * values). A window without input taps (or only NaNs) gives -1. */
#define EG_POOL_MAX_POOL_INDICES(name, T, LOWEST)                                               \
    EG_KERNEL void name(eg_pool_Pool3d p, const size_t *index_strides, const T *x,              \
                        size_t x_len, int64_t *y, size_t y_len) {                               \
        eg_pool_Pool2d plane = eg_pool_plane(&p);                                               \
        size_t d_in = p.shape_in[0], d_out = p.shape_out[0];                                    \
        size_t plane_in = plane.h_in * plane.w_in, volume_in = d_in * plane_in;                 \
        size_t c, oz, oy, ox, kz, ky, kx;                                                       \
        (void)x_len, (void)y_len;                                                               \
        for (c = 0; c < p.planes; c++) {                                                        \
            for (oz = 0; oz < d_out; oz++) {                                                    \
                for (oy = 0; oy < plane.h_out; oy++) {                                          \
                    for (ox = 0; ox < plane.w_out; ox++) {                                      \
                        T max = LOWEST;                                                         \
                        size_t at = 0;                                                          \
                        int found = 0;                                                          \
                        for (kz = 0; kz < p.kernel[0]; kz++) {                                  \
                            size_t pz = oz * p.strides[0] + kz * p.dilations[0], iz;            \
                            if (pz < p.pads_begin[0] || pz - p.pads_begin[0] >= d_in) {         \
                                continue;                                                       \
                            }                                                                   \
                            iz = pz - p.pads_begin[0];                                          \
                            for (ky = 0; ky < plane.k_h; ky++) {                                \
                                for (kx = 0; kx < plane.k_w; kx++) {                            \
                                    size_t tap = 0;                                             \
                                    T v;                                                        \
                                    if (eg_pool_tap(&plane, oy, ox, ky, kx, &tap) != 2) {       \
                                        continue;                                               \
                                    }                                                           \
                                    v = x[(c * d_in + iz) * plane_in + tap];                    \
                                    /* Until a tap is found, max is the lowest value, which     \
                                     * every number but NaN reaches. */                         \
                                    if (found ? v > max : v >= max) {                           \
                                        max = v;                                                \
                                        at = iz * index_strides[0] +                            \
                                             (tap / plane.w_in) * index_strides[1] +            \
                                             (tap % plane.w_in) * index_strides[2];             \
                                        found = 1;                                              \
                                    }                                                           \
                                }                                                               \
                            }                                                                   \
                        }                                                                       \
                        y[((c * d_out + oz) * plane.h_out + oy) * plane.w_out + ox] =           \
                            found ? (int64_t)(c * volume_in + at) : -1;                         \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

EG_POOL_MAX_POOL_INDICES(eg_pool_max_pool_indices_f32_i64, float, -EG_INFINITY)
EG_POOL_MAX_POOL_INDICES(eg_pool_max_pool_indices_i8_i64, int8_t, INT8_MIN)
EG_POOL_MAX_POOL_INDICES(eg_pool_max_pool_indices_u8_i64, uint8_t, 0)
