/* select: selection along one axis of an [outer, len, inner] view, the C twin of edgegen's
 * `kernels::select`: ArgMax/ArgMin, Hardmax and TopK. Values are compared in one total order,
 * NaN above every number and equal to itself; of equal values the first wins (ArgMax may ask
 * for the last). TopK needs no scratch memory: its r-th pick is the best element after the
 * (r - 1)-th in the order (value, then index). One instance per element type. */

/* The axis to select along, as the sizes before, along and after it. */
typedef struct {
    size_t outer, len, inner;
} eg_select_Lanes;

/* ArgMax (max) or ArgMin. */
typedef struct {
    size_t outer, len, inner;
    int max, select_last;
} eg_select_ArgExtreme;

/* TopK: the output is [outer, k, inner]; the largest values, else the smallest. */
typedef struct {
    size_t outer, len, inner, k;
    int largest;
} eg_select_TopK;

/* Whether a is above b in the total order (NaN above every number; for integers a > b). */
#define EG_SELECT_ABOVE_FLOAT(a, b) ((a) != (a) ? (b) == (b) : ((b) != (b) ? 0 : (a) > (b)))
#define EG_SELECT_ABOVE_INTEGER(a, b) ((a) > (b))

/* The index along the axis of the largest (max) or smallest value of lane (o, i). */
#define EG_SELECT_EXTREME(name, T, ABOVE)                                                       \
    EG_KERNEL size_t name(const T *x, size_t len, size_t inner, size_t o, size_t i, int max,    \
                          int select_last) {                                                    \
        size_t best = 0, k;                                                                     \
        for (k = 1; k < len; k++) {                                                             \
            T v = x[(o * len + k) * inner + i], b = x[(o * len + best) * inner + i];            \
            int better = max ? ABOVE(v, b) : ABOVE(b, v);                                       \
            int worse = max ? ABOVE(b, v) : ABOVE(v, b);                                        \
            if (better || (select_last && !worse)) {                                            \
                best = k;                                                                       \
            }                                                                                   \
        }                                                                                       \
        return best;                                                                            \
    }

#define EG_SELECT_ARG_EXTREME(name, T, EXTREME)                                                 \
    EG_KERNEL void name(eg_select_ArgExtreme p, const T *x, size_t x_len, int64_t *y,           \
                        size_t y_len) {                                                         \
        size_t o, i;                                                                            \
        (void)x_len, (void)y_len;                                                               \
        for (o = 0; o < p.outer; o++) {                                                         \
            for (i = 0; i < p.inner; i++) {                                                     \
                y[o * p.inner + i] =                                                            \
                    (int64_t)EXTREME(x, p.len, p.inner, o, i, p.max, p.select_last);            \
            }                                                                                   \
        }                                                                                       \
    }

/* Hardmax: 1 at the first largest value of each lane, 0 elsewhere. */
#define EG_SELECT_HARDMAX(name, T, EXTREME)                                                     \
    EG_KERNEL void name(eg_select_Lanes p, const T *x, size_t x_len, T *y, size_t y_len) {      \
        size_t o, i, k;                                                                         \
        (void)x_len;                                                                            \
        for (k = 0; k < y_len; k++) {                                                           \
            y[k] = (T)0;                                                                        \
        }                                                                                       \
        for (o = 0; o < p.outer; o++) {                                                         \
            for (i = 0; i < p.inner; i++) {                                                     \
                k = EXTREME(x, p.len, p.inner, o, i, 1, 0);                                     \
                y[(o * p.len + k) * p.inner + i] = (T)1;                                        \
            }                                                                                   \
        }                                                                                       \
    }

/* TopK's values (VALUES 1) or indices along the axis (VALUES 0, Y int64_t). */
#define EG_SELECT_TOP_K(name, T, Y, VALUES, ABOVE)                                              \
    EG_KERNEL void name(eg_select_TopK p, const T *x, size_t x_len, Y *y, size_t y_len) {       \
        size_t o, i, r, j;                                                                      \
        (void)x_len, (void)y_len;                                                               \
        for (o = 0; o < p.outer; o++) {                                                         \
            for (i = 0; i < p.inner; i++) {                                                     \
                size_t previous = 0, best = 0;                                                  \
                int have_previous = 0;                                                          \
                for (r = 0; r < p.k; r++) {                                                     \
                    int have_best = 0;                                                          \
                    for (j = 0; j < p.len; j++) {                                               \
                        /* Whether element a comes before element b in the output. */           \
                        T vj = x[(o * p.len + j) * p.inner + i];                                \
                        int after_previous = 1, before_best = 1;                                \
                        if (have_previous) {                                                    \
                            T vq = x[(o * p.len + previous) * p.inner + i];                     \
                            int better = p.largest ? ABOVE(vq, vj) : ABOVE(vj, vq);             \
                            int worse = p.largest ? ABOVE(vj, vq) : ABOVE(vq, vj);              \
                            after_previous = better || (!worse && previous < j);                \
                        }                                                                       \
                        if (after_previous && have_best) {                                      \
                            T vb = x[(o * p.len + best) * p.inner + i];                         \
                            int better = p.largest ? ABOVE(vj, vb) : ABOVE(vb, vj);             \
                            int worse = p.largest ? ABOVE(vb, vj) : ABOVE(vj, vb);              \
                            before_best = better || (!worse && j < best);                       \
                        }                                                                       \
                        if (after_previous && before_best) {                                    \
                            best = j;                                                           \
                            have_best = 1;                                                      \
                        }                                                                       \
                    }                                                                           \
                    if (!have_best) {                                                           \
                        best = 0;                                                               \
                    }                                                                           \
                    y[(o * p.k + r) * p.inner + i] =                                            \
                        VALUES ? (Y)x[(o * p.len + best) * p.inner + i] : (Y)best;              \
                    previous = best;                                                            \
                    have_previous = 1;                                                          \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }


EG_SELECT_EXTREME(eg_select_extreme_f32, float, EG_SELECT_ABOVE_FLOAT)
EG_SELECT_EXTREME(eg_select_extreme_f64, double, EG_SELECT_ABOVE_FLOAT)
EG_SELECT_EXTREME(eg_select_extreme_i8, int8_t, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_EXTREME(eg_select_extreme_u8, uint8_t, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_EXTREME(eg_select_extreme_i16, int16_t, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_EXTREME(eg_select_extreme_u16, uint16_t, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_EXTREME(eg_select_extreme_i32, int32_t, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_EXTREME(eg_select_extreme_u32, uint32_t, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_EXTREME(eg_select_extreme_i64, int64_t, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_EXTREME(eg_select_extreme_u64, uint64_t, EG_SELECT_ABOVE_INTEGER)

EG_SELECT_ARG_EXTREME(eg_select_arg_extreme_f32_i64, float, eg_select_extreme_f32)
EG_SELECT_ARG_EXTREME(eg_select_arg_extreme_f64_i64, double, eg_select_extreme_f64)
EG_SELECT_ARG_EXTREME(eg_select_arg_extreme_i8_i64, int8_t, eg_select_extreme_i8)
EG_SELECT_ARG_EXTREME(eg_select_arg_extreme_u8_i64, uint8_t, eg_select_extreme_u8)
EG_SELECT_ARG_EXTREME(eg_select_arg_extreme_i16_i64, int16_t, eg_select_extreme_i16)
EG_SELECT_ARG_EXTREME(eg_select_arg_extreme_u16_i64, uint16_t, eg_select_extreme_u16)
EG_SELECT_ARG_EXTREME(eg_select_arg_extreme_i32_i64, int32_t, eg_select_extreme_i32)
EG_SELECT_ARG_EXTREME(eg_select_arg_extreme_u32_i64, uint32_t, eg_select_extreme_u32)
EG_SELECT_ARG_EXTREME(eg_select_arg_extreme_i64, int64_t, eg_select_extreme_i64)
EG_SELECT_ARG_EXTREME(eg_select_arg_extreme_u64_i64, uint64_t, eg_select_extreme_u64)

EG_SELECT_HARDMAX(eg_select_hardmax_f32, float, eg_select_extreme_f32)
EG_SELECT_HARDMAX(eg_select_hardmax_f64, double, eg_select_extreme_f64)
EG_SELECT_HARDMAX(eg_select_hardmax_i8, int8_t, eg_select_extreme_i8)
EG_SELECT_HARDMAX(eg_select_hardmax_u8, uint8_t, eg_select_extreme_u8)
EG_SELECT_HARDMAX(eg_select_hardmax_i16, int16_t, eg_select_extreme_i16)
EG_SELECT_HARDMAX(eg_select_hardmax_u16, uint16_t, eg_select_extreme_u16)
EG_SELECT_HARDMAX(eg_select_hardmax_i32, int32_t, eg_select_extreme_i32)
EG_SELECT_HARDMAX(eg_select_hardmax_u32, uint32_t, eg_select_extreme_u32)
EG_SELECT_HARDMAX(eg_select_hardmax_i64, int64_t, eg_select_extreme_i64)
EG_SELECT_HARDMAX(eg_select_hardmax_u64, uint64_t, eg_select_extreme_u64)

EG_SELECT_TOP_K(eg_select_top_k_values_f32, float, float, 1, EG_SELECT_ABOVE_FLOAT)
EG_SELECT_TOP_K(eg_select_top_k_indices_f32_i64, float, int64_t, 0, EG_SELECT_ABOVE_FLOAT)
EG_SELECT_TOP_K(eg_select_top_k_values_f64, double, double, 1, EG_SELECT_ABOVE_FLOAT)
EG_SELECT_TOP_K(eg_select_top_k_indices_f64_i64, double, int64_t, 0, EG_SELECT_ABOVE_FLOAT)
EG_SELECT_TOP_K(eg_select_top_k_values_i8, int8_t, int8_t, 1, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_indices_i8_i64, int8_t, int64_t, 0, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_values_u8, uint8_t, uint8_t, 1, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_indices_u8_i64, uint8_t, int64_t, 0, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_values_i16, int16_t, int16_t, 1, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_indices_i16_i64, int16_t, int64_t, 0, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_values_u16, uint16_t, uint16_t, 1, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_indices_u16_i64, uint16_t, int64_t, 0, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_values_i32, int32_t, int32_t, 1, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_indices_i32_i64, int32_t, int64_t, 0, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_values_u32, uint32_t, uint32_t, 1, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_indices_u32_i64, uint32_t, int64_t, 0, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_values_i64, int64_t, int64_t, 1, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_indices_i64, int64_t, int64_t, 0, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_values_u64, uint64_t, uint64_t, 1, EG_SELECT_ABOVE_INTEGER)
EG_SELECT_TOP_K(eg_select_top_k_indices_u64_i64, uint64_t, int64_t, 0, EG_SELECT_ABOVE_INTEGER)
