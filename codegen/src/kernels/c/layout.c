/* layout: kernels that move elements without arithmetic, the C twin of edgegen's
 * `kernels::layout`: strided copies (transpose, slice), block copies (concat, split), padding,
 * gathering and tiling. They are generic over the element type in Rust; here each has one
 * instance per element type (`eg_layout_strided_copy_f32`; float16 tensors are their bit
 * patterns, `_f16`; bool is uint8_t). */

/* `y` (contiguous, shape `shape`) takes x[offset + sum(i[d] * strides[d])]. */
typedef struct {
    size_t shape[6];
    intptr_t strides[6];
    size_t offset;
} eg_layout_Strided;

#define EG_LAYOUT_STRIDED_COPY(name, T)                                                         \
    EG_KERNEL void name(eg_layout_Strided p, const T *x, size_t x_len, T *y, size_t y_len) {    \
        size_t n5 = p.shape[5], out = 0, i0, i1, i2, i3, i4, i;                                 \
        const intptr_t *s = p.strides;                                                         \
        (void)x_len, (void)y_len;                                                               \
        for (i0 = 0; i0 < p.shape[0]; i0++) {                                                   \
            for (i1 = 0; i1 < p.shape[1]; i1++) {                                               \
                for (i2 = 0; i2 < p.shape[2]; i2++) {                                           \
                    for (i3 = 0; i3 < p.shape[3]; i3++) {                                       \
                        for (i4 = 0; i4 < p.shape[4]; i4++) {                                   \
                            intptr_t base = (intptr_t)p.offset + (intptr_t)i0 * s[0] +       \
                                             (intptr_t)i1 * s[1] + (intptr_t)i2 * s[2] +      \
                                             (intptr_t)i3 * s[3] + (intptr_t)i4 * s[4];       \
                            if (s[5] == 1) {                                                    \
                                memcpy(y + out, x + base, n5 * sizeof(T));                      \
                            } else {                                                            \
                                for (i = 0; i < n5; i++) {                                      \
                                    y[out + i] = x[base + (intptr_t)i * s[5]];                 \
                                }                                                               \
                            }                                                                   \
                            out += n5;                                                          \
                        }                                                                       \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

/* `count` blocks of `len` elements: block b goes from x[src_offset + b * src_stride..] to
 * y[dst_offset + b * dst_stride..] (one input of a concat, or one output of a split). */
typedef struct {
    size_t count, len, src_offset, src_stride, dst_offset, dst_stride;
} eg_layout_Blocks;

#define EG_LAYOUT_COPY_BLOCKS(name, T)                                                          \
    EG_KERNEL void name(eg_layout_Blocks p, const T *x, size_t x_len, T *y, size_t y_len) {     \
        size_t b;                                                                               \
        (void)x_len, (void)y_len;                                                               \
        for (b = 0; b < p.count; b++) {                                                         \
            memcpy(y + p.dst_offset + b * p.dst_stride, x + p.src_offset + b * p.src_stride,    \
                   p.len * sizeof(T));                                                          \
        }                                                                                       \
    }

/* `Tile`: y (contiguous, shape `shape`) takes x at each coordinate modulo x_shape. */
typedef struct {
    size_t shape[6], x_shape[6], x_strides[6];
} eg_layout_Tile;

#define EG_LAYOUT_TILE(name, T)                                                                 \
    EG_KERNEL void name(eg_layout_Tile p, const T *x, size_t x_len, T *y, size_t y_len) {       \
        size_t coordinate[6] = {0, 0, 0, 0, 0, 0}, o, d;                                        \
        (void)x_len;                                                                            \
        for (o = 0; o < y_len; o++) {                                                           \
            size_t src = 0;                                                                     \
            for (d = 0; d < 6; d++) {                                                           \
                src += (coordinate[d] % p.x_shape[d]) * p.x_strides[d];                         \
            }                                                                                   \
            y[o] = x[src];                                                                      \
            for (d = 6; d-- > 0;) {                                                             \
                if (++coordinate[d] < p.shape[d]) {                                             \
                    break;                                                                      \
                }                                                                               \
                coordinate[d] = 0;                                                              \
            }                                                                                   \
        }                                                                                       \
    }

/* y[o, j, i] = x[o, indices[j], i] for an [outer, axis_len, inner] view of x. */
typedef struct {
    size_t outer, axis_len, inner;
} eg_layout_Gather;

#define EG_LAYOUT_GATHER(name, T)                                                               \
    EG_KERNEL void name(eg_layout_Gather p, const uint32_t *indices, size_t indices_len,        \
                        const T *x, size_t x_len, T *y, size_t y_len) {                         \
        size_t out = 0, o, j;                                                                   \
        (void)x_len, (void)y_len;                                                               \
        for (o = 0; o < p.outer; o++) {                                                         \
            for (j = 0; j < indices_len; j++) {                                                 \
                memcpy(y + out, x + (o * p.axis_len + indices[j]) * p.inner,                    \
                       p.inner * sizeof(T));                                                    \
                out += p.inner;                                                                 \
            }                                                                                   \
        }                                                                                       \
    }

/* An index read at run time as a position along an axis of `len` elements: negative indices
 * count from the end, out-of-range ones are clamped. */
EG_KERNEL size_t eg_layout_position(int64_t i, size_t len) {
    int64_t j = i < 0 ? (int64_t)((uint64_t)i + (uint64_t)len) : i;
    if (j > (int64_t)len - 1) {
        j = (int64_t)len - 1;
    }
    return j < 0 ? 0 : (size_t)j;
}

/* eg_layout_gather with indices of type I computed at run time. */
#define EG_LAYOUT_GATHER_INDEXED(name, I, T)                                                    \
    EG_KERNEL void name(eg_layout_Gather p, const I *indices, size_t indices_len, const T *x,   \
                        size_t x_len, T *y, size_t y_len) {                                     \
        size_t out = 0, o, j;                                                                   \
        (void)x_len, (void)y_len;                                                               \
        for (o = 0; o < p.outer; o++) {                                                         \
            for (j = 0; j < indices_len; j++) {                                                 \
                size_t at = eg_layout_position((int64_t)indices[j], p.axis_len);                \
                memcpy(y + out, x + (o * p.axis_len + at) * p.inner, p.inner * sizeof(T));      \
                out += p.inner;                                                                 \
            }                                                                                   \
        }                                                                                       \
    }

/* How `pad` fills positions outside the input. */
enum { EG_PAD_CONSTANT, EG_PAD_REFLECT, EG_PAD_EDGE, EG_PAD_WRAP };

typedef struct {
    int kind;
    double value;
} eg_layout_PadMode;

EG_KERNEL eg_layout_PadMode eg_layout_pad_mode(int kind, double value) {
    eg_layout_PadMode m;
    m.kind = kind;
    m.value = value;
    return m;
}

EG_KERNEL eg_layout_PadMode eg_layout_PadMode_Constant(float value) {
    return eg_layout_pad_mode(EG_PAD_CONSTANT, (double)value);
}

EG_KERNEL eg_layout_PadMode eg_layout_PadMode_Reflect(void) {
    return eg_layout_pad_mode(EG_PAD_REFLECT, 0.0);
}

EG_KERNEL eg_layout_PadMode eg_layout_PadMode_Edge(void) {
    return eg_layout_pad_mode(EG_PAD_EDGE, 0.0);
}

EG_KERNEL eg_layout_PadMode eg_layout_PadMode_Wrap(void) {
    return eg_layout_pad_mode(EG_PAD_WRAP, 0.0);
}

/* Padding (or, with negative pads, cropping) of every axis. */
typedef struct {
    size_t in_shape[6], out_shape[6];
    intptr_t pads_begin[6], pads_end[6];
    eg_layout_PadMode mode;
} eg_layout_Pad;

/* a mod b (b > 0), never negative (Rust's rem_euclid). */
EG_KERNEL intptr_t eg_layout_rem_euclid(intptr_t a, intptr_t b) {
    intptr_t r = a % b;
    return r < 0 ? r + b : r;
}

/* The input index output index i reads along one axis, or -1 for the constant. */
EG_KERNEL intptr_t eg_layout_source(size_t i, size_t len, intptr_t pad, intptr_t pad_end,
                                     eg_layout_PadMode mode) {
    intptr_t p = (intptr_t)i - pad, n = (intptr_t)len;
    if (p >= 0 && p < n) {
        return p;
    }
    switch (mode.kind) {
    case EG_PAD_WRAP: {
        intptr_t start = -pad > 0 ? -pad : 0;
        intptr_t kept = n - start - (-pad_end > 0 ? -pad_end : 0);
        kept = kept > 1 ? kept : 1;
        return start + eg_layout_rem_euclid(p - start, kept);
    }
    case EG_PAD_EDGE:
        return p < 0 ? 0 : (p > n - 1 ? n - 1 : p);
    case EG_PAD_REFLECT: {
        intptr_t period = 2 * (n - 1 > 1 ? n - 1 : 1);
        intptr_t q = eg_layout_rem_euclid(p, period);
        return q >= n ? period - q : q;
    }
    default:
        return -1;
    }
}

/* Rust's `as` from f64 to an integer type: truncation toward zero, saturating, NaN to 0. */
#define EG_LAYOUT_F64_TO(name, T, MIN, MAX)                                                     \
    EG_KERNEL T name(double v) {                                                                \
        if (v != v) {                                                                           \
            return 0;                                                                           \
        }                                                                                       \
        if (v <= (double)(MIN)) {                                                               \
            return MIN;                                                                         \
        }                                                                                       \
        if (v >= (double)(MAX)) {                                                               \
            return MAX;                                                                         \
        }                                                                                       \
        return (T)v;                                                                            \
    }

EG_LAYOUT_F64_TO(eg_layout_f64_to_i8, int8_t, INT8_MIN, INT8_MAX)
EG_LAYOUT_F64_TO(eg_layout_f64_to_u8, uint8_t, 0, UINT8_MAX)
EG_LAYOUT_F64_TO(eg_layout_f64_to_i16, int16_t, INT16_MIN, INT16_MAX)
EG_LAYOUT_F64_TO(eg_layout_f64_to_u16, uint16_t, 0, UINT16_MAX)
EG_LAYOUT_F64_TO(eg_layout_f64_to_i32, int32_t, INT32_MIN, INT32_MAX)
EG_LAYOUT_F64_TO(eg_layout_f64_to_u32, uint32_t, 0, UINT32_MAX)
EG_LAYOUT_F64_TO(eg_layout_f64_to_i64, int64_t, INT64_MIN, INT64_MAX)
EG_LAYOUT_F64_TO(eg_layout_f64_to_u64, uint64_t, 0, UINT64_MAX)

/* Pad on element type T; the constant (a double) converted by FILL(v) as Rust's `as`. */
#define EG_LAYOUT_PAD(name, T, FILL)                                                            \
    EG_KERNEL void name(eg_layout_Pad p, const T *x, size_t x_len, T *y, size_t y_len) {        \
        double v = p.mode.kind == EG_PAD_CONSTANT ? p.mode.value : 0.0;                         \
        T fill = FILL;                                                                          \
        size_t in_strides[6], idx[6], out = 0, d, i5;                                           \
        intptr_t s[5];                                                                         \
        (void)x_len, (void)y_len;                                                               \
        in_strides[5] = 1;                                                                      \
        for (d = 5; d-- > 0;) {                                                                 \
            in_strides[d] = in_strides[d + 1] * p.in_shape[d + 1];                              \
        }                                                                                       \
        for (idx[0] = 0; idx[0] < p.out_shape[0]; idx[0]++) {                                   \
            for (idx[1] = 0; idx[1] < p.out_shape[1]; idx[1]++) {                               \
                for (idx[2] = 0; idx[2] < p.out_shape[2]; idx[2]++) {                           \
                    for (idx[3] = 0; idx[3] < p.out_shape[3]; idx[3]++) {                       \
                        for (idx[4] = 0; idx[4] < p.out_shape[4]; idx[4]++) {                   \
                            intptr_t base = 0;                                                 \
                            int inside = 1;                                                     \
                            for (d = 0; d < 5; d++) {                                           \
                                s[d] = eg_layout_source(idx[d], p.in_shape[d], p.pads_begin[d], \
                                                        p.pads_end[d], p.mode);                 \
                                if (s[d] < 0) {                                                 \
                                    inside = 0;                                                 \
                                } else {                                                        \
                                    base += s[d] * (intptr_t)in_strides[d];                    \
                                }                                                               \
                            }                                                                   \
                            for (i5 = 0; i5 < p.out_shape[5]; i5++) {                           \
                                intptr_t f = inside ? eg_layout_source(i5, p.in_shape[5],      \
                                                                        p.pads_begin[5],        \
                                                                        p.pads_end[5], p.mode)  \
                                                     : -1;                                      \
                                y[out + i5] = f < 0 ? fill : x[base + f];                       \
                            }                                                                   \
                            out += p.out_shape[5];                                              \
                        }                                                                       \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }


EG_LAYOUT_STRIDED_COPY(eg_layout_strided_copy_f32, float)
EG_LAYOUT_STRIDED_COPY(eg_layout_strided_copy_f64, double)
EG_LAYOUT_STRIDED_COPY(eg_layout_strided_copy_f16, uint16_t)
EG_LAYOUT_STRIDED_COPY(eg_layout_strided_copy_i8, int8_t)
EG_LAYOUT_STRIDED_COPY(eg_layout_strided_copy_u8, uint8_t)
EG_LAYOUT_STRIDED_COPY(eg_layout_strided_copy_i16, int16_t)
EG_LAYOUT_STRIDED_COPY(eg_layout_strided_copy_u16, uint16_t)
EG_LAYOUT_STRIDED_COPY(eg_layout_strided_copy_i32, int32_t)
EG_LAYOUT_STRIDED_COPY(eg_layout_strided_copy_u32, uint32_t)
EG_LAYOUT_STRIDED_COPY(eg_layout_strided_copy_i64, int64_t)
EG_LAYOUT_STRIDED_COPY(eg_layout_strided_copy_u64, uint64_t)
EG_LAYOUT_STRIDED_COPY(eg_layout_strided_copy_bool, uint8_t)

EG_LAYOUT_COPY_BLOCKS(eg_layout_copy_blocks_f32, float)
EG_LAYOUT_COPY_BLOCKS(eg_layout_copy_blocks_f64, double)
EG_LAYOUT_COPY_BLOCKS(eg_layout_copy_blocks_f16, uint16_t)
EG_LAYOUT_COPY_BLOCKS(eg_layout_copy_blocks_i8, int8_t)
EG_LAYOUT_COPY_BLOCKS(eg_layout_copy_blocks_u8, uint8_t)
EG_LAYOUT_COPY_BLOCKS(eg_layout_copy_blocks_i16, int16_t)
EG_LAYOUT_COPY_BLOCKS(eg_layout_copy_blocks_u16, uint16_t)
EG_LAYOUT_COPY_BLOCKS(eg_layout_copy_blocks_i32, int32_t)
EG_LAYOUT_COPY_BLOCKS(eg_layout_copy_blocks_u32, uint32_t)
EG_LAYOUT_COPY_BLOCKS(eg_layout_copy_blocks_i64, int64_t)
EG_LAYOUT_COPY_BLOCKS(eg_layout_copy_blocks_u64, uint64_t)
EG_LAYOUT_COPY_BLOCKS(eg_layout_copy_blocks_bool, uint8_t)

EG_LAYOUT_TILE(eg_layout_tile_f32, float)
EG_LAYOUT_TILE(eg_layout_tile_f64, double)
EG_LAYOUT_TILE(eg_layout_tile_f16, uint16_t)
EG_LAYOUT_TILE(eg_layout_tile_i8, int8_t)
EG_LAYOUT_TILE(eg_layout_tile_u8, uint8_t)
EG_LAYOUT_TILE(eg_layout_tile_i16, int16_t)
EG_LAYOUT_TILE(eg_layout_tile_u16, uint16_t)
EG_LAYOUT_TILE(eg_layout_tile_i32, int32_t)
EG_LAYOUT_TILE(eg_layout_tile_u32, uint32_t)
EG_LAYOUT_TILE(eg_layout_tile_i64, int64_t)
EG_LAYOUT_TILE(eg_layout_tile_u64, uint64_t)
EG_LAYOUT_TILE(eg_layout_tile_bool, uint8_t)

EG_LAYOUT_GATHER(eg_layout_gather_u32_f32, float)
EG_LAYOUT_GATHER(eg_layout_gather_u32_f64, double)
EG_LAYOUT_GATHER(eg_layout_gather_u32_f16, uint16_t)
EG_LAYOUT_GATHER(eg_layout_gather_u32_i8, int8_t)
EG_LAYOUT_GATHER(eg_layout_gather_u32_u8, uint8_t)
EG_LAYOUT_GATHER(eg_layout_gather_u32_i16, int16_t)
EG_LAYOUT_GATHER(eg_layout_gather_u32_u16, uint16_t)
EG_LAYOUT_GATHER(eg_layout_gather_u32_i32, int32_t)
EG_LAYOUT_GATHER(eg_layout_gather_u32, uint32_t)
EG_LAYOUT_GATHER(eg_layout_gather_u32_i64, int64_t)
EG_LAYOUT_GATHER(eg_layout_gather_u32_u64, uint64_t)
EG_LAYOUT_GATHER(eg_layout_gather_u32_bool, uint8_t)

EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i32_f32, int32_t, float)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i32_f64, int32_t, double)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i32_f16, int32_t, uint16_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i32_i8, int32_t, int8_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i32_u8, int32_t, uint8_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i32_i16, int32_t, int16_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i32_u16, int32_t, uint16_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i32, int32_t, int32_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i32_u32, int32_t, uint32_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i32_i64, int32_t, int64_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i32_u64, int32_t, uint64_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i32_bool, int32_t, uint8_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i64_f32, int64_t, float)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i64_f64, int64_t, double)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i64_f16, int64_t, uint16_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i64_i8, int64_t, int8_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i64_u8, int64_t, uint8_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i64_i16, int64_t, int16_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i64_u16, int64_t, uint16_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i64_i32, int64_t, int32_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i64_u32, int64_t, uint32_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i64, int64_t, int64_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i64_u64, int64_t, uint64_t)
EG_LAYOUT_GATHER_INDEXED(eg_layout_gather_indexed_i64_bool, int64_t, uint8_t)

EG_LAYOUT_PAD(eg_layout_pad_f32, float, (float)v)
EG_LAYOUT_PAD(eg_layout_pad_f64, double, v)
EG_LAYOUT_PAD(eg_layout_pad_i8, int8_t, eg_layout_f64_to_i8(v))
EG_LAYOUT_PAD(eg_layout_pad_u8, uint8_t, eg_layout_f64_to_u8(v))
EG_LAYOUT_PAD(eg_layout_pad_i16, int16_t, eg_layout_f64_to_i16(v))
EG_LAYOUT_PAD(eg_layout_pad_u16, uint16_t, eg_layout_f64_to_u16(v))
EG_LAYOUT_PAD(eg_layout_pad_i32, int32_t, eg_layout_f64_to_i32(v))
EG_LAYOUT_PAD(eg_layout_pad_u32, uint32_t, eg_layout_f64_to_u32(v))
EG_LAYOUT_PAD(eg_layout_pad_i64, int64_t, eg_layout_f64_to_i64(v))
EG_LAYOUT_PAD(eg_layout_pad_u64, uint64_t, eg_layout_f64_to_u64(v))
EG_LAYOUT_PAD(eg_layout_pad_bool, uint8_t, (uint8_t)(v != 0.0))

/* GatherElements: y (contiguous, the indices' shape `shape`) takes the element of x at the
 * same coordinates except along `axis`, where the index says. */
typedef struct {
    size_t shape[6], x_strides[6];
    size_t axis, axis_len;
} eg_layout_GatherElements;

#define EG_LAYOUT_GATHER_ELEMENTS(name, I, T)                                                   \
    EG_KERNEL void name(eg_layout_GatherElements p, const I *indices, size_t indices_len,       \
                        const T *x, size_t x_len, T *y, size_t y_len) {                         \
        size_t coordinate[6] = {0, 0, 0, 0, 0, 0}, o, d;                                        \
        (void)x_len;                                                                            \
        for (o = 0; o < y_len && o < indices_len; o++) {                                        \
            size_t src = 0;                                                                     \
            for (d = 0; d < 6; d++) {                                                           \
                size_t c = d == p.axis ? eg_layout_position((int64_t)indices[o], p.axis_len)    \
                                       : coordinate[d];                                         \
                src += c * p.x_strides[d];                                                      \
            }                                                                                   \
            y[o] = x[src];                                                                      \
            for (d = 6; d-- > 0;) {                                                             \
                if (++coordinate[d] < p.shape[d]) {                                             \
                    break;                                                                      \
                }                                                                               \
                coordinate[d] = 0;                                                              \
            }                                                                                   \
        }                                                                                       \
    }

EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i32_f32, int32_t, float)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i32_f64, int32_t, double)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i32_f16, int32_t, uint16_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i32_i8, int32_t, int8_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i32_u8, int32_t, uint8_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i32_i16, int32_t, int16_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i32_u16, int32_t, uint16_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i32, int32_t, int32_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i32_u32, int32_t, uint32_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i32_i64, int32_t, int64_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i32_u64, int32_t, uint64_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i32_bool, int32_t, uint8_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i64_f32, int64_t, float)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i64_f64, int64_t, double)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i64_f16, int64_t, uint16_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i64_i8, int64_t, int8_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i64_u8, int64_t, uint8_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i64_i16, int64_t, int16_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i64_u16, int64_t, uint16_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i64_i32, int64_t, int32_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i64_u32, int64_t, uint32_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i64, int64_t, int64_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i64_u64, int64_t, uint64_t)
EG_LAYOUT_GATHER_ELEMENTS(eg_layout_gather_elements_i64_bool, int64_t, uint8_t)
