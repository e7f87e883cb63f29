/* reduce: reductions over any set of axes (ReduceSum, ReduceMean, ReduceMax, ...) and the
 * cumulative sum along one axis, the C twin of edgegen's `kernels::reduce`. A reduction walks
 * its input once in memory order, combining each element into the output element at
 * sum(index[d] * y_strides[d]) (stride 0 on reduced axes), then finishes the values that need
 * it. The arithmetic is eg_elementwise's on each element type (wrapping on integers, a
 * truncating integer mean), one instance per type. */

enum {
    EG_REDUCE_SUM,
    EG_REDUCE_MEAN,
    EG_REDUCE_MAX,
    EG_REDUCE_MIN,
    EG_REDUCE_PROD,
    EG_REDUCE_L1,
    EG_REDUCE_L2,
    EG_REDUCE_LOG_SUM,
    EG_REDUCE_LOG_SUM_EXP,
    EG_REDUCE_SUM_SQUARE
};

typedef struct {
    int kind;
} eg_reduce_ReduceOp;


EG_KERNEL eg_reduce_ReduceOp eg_reduce_ReduceOp_Sum(void) {
    eg_reduce_ReduceOp op;
    op.kind = EG_REDUCE_SUM;
    return op;
}


EG_KERNEL eg_reduce_ReduceOp eg_reduce_ReduceOp_Mean(void) {
    eg_reduce_ReduceOp op;
    op.kind = EG_REDUCE_MEAN;
    return op;
}


EG_KERNEL eg_reduce_ReduceOp eg_reduce_ReduceOp_Max(void) {
    eg_reduce_ReduceOp op;
    op.kind = EG_REDUCE_MAX;
    return op;
}


EG_KERNEL eg_reduce_ReduceOp eg_reduce_ReduceOp_Min(void) {
    eg_reduce_ReduceOp op;
    op.kind = EG_REDUCE_MIN;
    return op;
}


EG_KERNEL eg_reduce_ReduceOp eg_reduce_ReduceOp_Prod(void) {
    eg_reduce_ReduceOp op;
    op.kind = EG_REDUCE_PROD;
    return op;
}


EG_KERNEL eg_reduce_ReduceOp eg_reduce_ReduceOp_L1(void) {
    eg_reduce_ReduceOp op;
    op.kind = EG_REDUCE_L1;
    return op;
}


EG_KERNEL eg_reduce_ReduceOp eg_reduce_ReduceOp_L2(void) {
    eg_reduce_ReduceOp op;
    op.kind = EG_REDUCE_L2;
    return op;
}


EG_KERNEL eg_reduce_ReduceOp eg_reduce_ReduceOp_LogSum(void) {
    eg_reduce_ReduceOp op;
    op.kind = EG_REDUCE_LOG_SUM;
    return op;
}


EG_KERNEL eg_reduce_ReduceOp eg_reduce_ReduceOp_LogSumExp(void) {
    eg_reduce_ReduceOp op;
    op.kind = EG_REDUCE_LOG_SUM_EXP;
    return op;
}


EG_KERNEL eg_reduce_ReduceOp eg_reduce_ReduceOp_SumSquare(void) {
    eg_reduce_ReduceOp op;
    op.kind = EG_REDUCE_SUM_SQUARE;
    return op;
}


/* `shape` is the input's iteration space (leading axes padded with 1), `y_strides` the
 * output's stride along each axis (0 where reduced), `count` the inputs per output. */
typedef struct {
    eg_reduce_ReduceOp op;
    size_t shape[6], y_strides[6];
    size_t count;
} eg_reduce_Reduce;

/* The reduction on element type T with the scalar ops BINARY and UNARY of its type. */
#define EG_REDUCE_REDUCE(name, T, BINARY, UNARY, LOWEST, HIGHEST)                               \
    EG_KERNEL T name##_combine(int op, T acc, T v) {                                            \
        switch (op) {                                                                           \
        case EG_REDUCE_MAX:                                                                     \
            return BINARY(eg_elementwise_BinaryOp_Max(), acc, v);                               \
        case EG_REDUCE_MIN:                                                                     \
            return BINARY(eg_elementwise_BinaryOp_Min(), acc, v);                               \
        case EG_REDUCE_PROD:                                                                    \
            return BINARY(eg_elementwise_BinaryOp_Mul(), acc, v);                               \
        case EG_REDUCE_L1:                                                                      \
            return BINARY(eg_elementwise_BinaryOp_Add(), acc, UNARY(eg_elementwise_Unary_Abs(), v)); \
        case EG_REDUCE_L2:                                                                      \
        case EG_REDUCE_SUM_SQUARE:                                                              \
            return BINARY(eg_elementwise_BinaryOp_Add(), acc,                                   \
                          BINARY(eg_elementwise_BinaryOp_Mul(), v, v));                         \
        case EG_REDUCE_LOG_SUM_EXP: {                                                           \
            /* ln(e^a + e^b) as max + ln(1 + e^(min - max)). */                                 \
            T hi, lo, gap;                                                                      \
            if (acc == (LOWEST)) {                                                              \
                return v;                                                                       \
            }                                                                                   \
            hi = BINARY(eg_elementwise_BinaryOp_Max(), acc, v);                                 \
            lo = BINARY(eg_elementwise_BinaryOp_Min(), acc, v);                                 \
            gap = hi == lo ? (T)0 : BINARY(eg_elementwise_BinaryOp_Sub(), lo, hi);              \
            return BINARY(eg_elementwise_BinaryOp_Add(), hi,                                    \
                          UNARY(eg_elementwise_Unary_Log(),                                     \
                                BINARY(eg_elementwise_BinaryOp_Add(), (T)1,                     \
                                       UNARY(eg_elementwise_Unary_Exp(), gap))));               \
        }                                                                                       \
        default:                                                                                \
            return BINARY(eg_elementwise_BinaryOp_Add(), acc, v);                               \
        }                                                                                       \
    }                                                                                           \
    EG_KERNEL void name(eg_reduce_Reduce p, const T *x, size_t x_len, T *y, size_t y_len) {     \
        int op = p.op.kind;                                                                     \
        T start = op == EG_REDUCE_MAX || op == EG_REDUCE_LOG_SUM_EXP                            \
                      ? (LOWEST)                                                                \
                      : (op == EG_REDUCE_MIN ? (HIGHEST) : (op == EG_REDUCE_PROD ? (T)1 : (T)0)); \
        const size_t *s = p.y_strides;                                                          \
        size_t n5 = p.shape[5], at = 0, i0, i1, i2, i3, i4, k;                                  \
        (void)x_len;                                                                            \
        for (k = 0; k < y_len; k++) {                                                           \
            y[k] = start;                                                                       \
        }                                                                                       \
        for (i0 = 0; i0 < p.shape[0]; i0++) {                                                   \
            for (i1 = 0; i1 < p.shape[1]; i1++) {                                               \
                for (i2 = 0; i2 < p.shape[2]; i2++) {                                           \
                    for (i3 = 0; i3 < p.shape[3]; i3++) {                                       \
                        for (i4 = 0; i4 < p.shape[4]; i4++) {                                   \
                            size_t base = i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3] +       \
                                          i4 * s[4];                                            \
                            if (s[5] == 0) {                                                    \
                                T acc = y[base];                                                \
                                for (k = 0; k < n5; k++) {                                      \
                                    acc = name##_combine(op, acc, x[at + k]);                   \
                                }                                                               \
                                y[base] = acc;                                                  \
                            } else {                                                            \
                                for (k = 0; k < n5; k++) {                                      \
                                    size_t o = base + k * s[5];                                 \
                                    y[o] = name##_combine(op, y[o], x[at + k]);                 \
                                }                                                               \
                            }                                                                   \
                            at += n5;                                                           \
                        }                                                                       \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
        for (k = 0; k < y_len; k++) {                                                           \
            if (op == EG_REDUCE_MEAN) {                                                         \
                y[k] = BINARY(eg_elementwise_BinaryOp_Div(), y[k], (T)p.count);                 \
            } else if (op == EG_REDUCE_L2) {                                                    \
                y[k] = UNARY(eg_elementwise_Unary_Sqrt(), y[k]);                                \
            } else if (op == EG_REDUCE_LOG_SUM) {                                               \
                y[k] = UNARY(eg_elementwise_Unary_Log(), y[k]);                                 \
            }                                                                                   \
        }                                                                                       \
    }

/* The cumulative sum along the middle axis of an [outer, len, inner] view. */
typedef struct {
    size_t outer, len, inner;
    /* Leave each element out of its own sum; sum from the end of the axis. */
    int exclusive, reverse;
} eg_reduce_CumSum;

#define EG_REDUCE_CUMSUM(name, T, BINARY)                                                       \
    EG_KERNEL void name(eg_reduce_CumSum p, const T *x, size_t x_len, T *y, size_t y_len) {     \
        size_t o, step, i;                                                                      \
        (void)x_len, (void)y_len;                                                               \
        for (o = 0; o < p.outer; o++) {                                                         \
            for (step = 0; step < p.len; step++) {                                              \
                size_t here = (o * p.len + (p.reverse ? p.len - 1 - step : step)) * p.inner;    \
                size_t before, term;                                                            \
                if (step == 0) {                                                                \
                    for (i = 0; i < p.inner; i++) {                                             \
                        y[here + i] = p.exclusive ? (T)0 : x[here + i];                         \
                    }                                                                           \
                    continue;                                                                   \
                }                                                                               \
                before = (o * p.len + (p.reverse ? p.len - step : step - 1)) * p.inner;         \
                term = p.exclusive ? before : here;                                             \
                for (i = 0; i < p.inner; i++) {                                                 \
                    y[here + i] = BINARY(eg_elementwise_BinaryOp_Add(), y[before + i],          \
                                         x[term + i]);                                          \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }


EG_REDUCE_REDUCE(eg_reduce_reduce_f32, float, eg_elementwise_binary_op_f32, eg_elementwise_unary_op_f32, -EG_INFINITY, EG_INFINITY)
EG_REDUCE_REDUCE(eg_reduce_reduce_i8, int8_t, eg_elementwise_binary_op_i8, eg_elementwise_unary_op_i8, INT8_MIN, INT8_MAX)
EG_REDUCE_REDUCE(eg_reduce_reduce_u8, uint8_t, eg_elementwise_binary_op_u8, eg_elementwise_unary_op_u8, 0, UINT8_MAX)
EG_REDUCE_REDUCE(eg_reduce_reduce_i16, int16_t, eg_elementwise_binary_op_i16, eg_elementwise_unary_op_i16, INT16_MIN, INT16_MAX)
EG_REDUCE_REDUCE(eg_reduce_reduce_u16, uint16_t, eg_elementwise_binary_op_u16, eg_elementwise_unary_op_u16, 0, UINT16_MAX)
EG_REDUCE_REDUCE(eg_reduce_reduce_i32, int32_t, eg_elementwise_binary_op_i32, eg_elementwise_unary_op_i32, INT32_MIN, INT32_MAX)
EG_REDUCE_REDUCE(eg_reduce_reduce_u32, uint32_t, eg_elementwise_binary_op_u32, eg_elementwise_unary_op_u32, 0, UINT32_MAX)
EG_REDUCE_REDUCE(eg_reduce_reduce_i64, int64_t, eg_elementwise_binary_op_i64, eg_elementwise_unary_op_i64, INT64_MIN, INT64_MAX)
EG_REDUCE_REDUCE(eg_reduce_reduce_bool, uint8_t, eg_elementwise_binary_op_bool, eg_elementwise_unary_op_bool, 0, 1)
EG_REDUCE_REDUCE(eg_reduce_reduce_u64, uint64_t, eg_elementwise_binary_op_u64, eg_elementwise_unary_op_u64, 0, UINT64_MAX)

EG_REDUCE_CUMSUM(eg_reduce_cumsum_f32, float, eg_elementwise_binary_op_f32)
EG_REDUCE_CUMSUM(eg_reduce_cumsum_i8, int8_t, eg_elementwise_binary_op_i8)
EG_REDUCE_CUMSUM(eg_reduce_cumsum_u8, uint8_t, eg_elementwise_binary_op_u8)
EG_REDUCE_CUMSUM(eg_reduce_cumsum_i16, int16_t, eg_elementwise_binary_op_i16)
EG_REDUCE_CUMSUM(eg_reduce_cumsum_u16, uint16_t, eg_elementwise_binary_op_u16)
EG_REDUCE_CUMSUM(eg_reduce_cumsum_i32, int32_t, eg_elementwise_binary_op_i32)
EG_REDUCE_CUMSUM(eg_reduce_cumsum_u32, uint32_t, eg_elementwise_binary_op_u32)
EG_REDUCE_CUMSUM(eg_reduce_cumsum_i64, int64_t, eg_elementwise_binary_op_i64)
EG_REDUCE_CUMSUM(eg_reduce_cumsum_bool, uint8_t, eg_elementwise_binary_op_bool)
EG_REDUCE_CUMSUM(eg_reduce_cumsum_u64, uint64_t, eg_elementwise_binary_op_u64)
