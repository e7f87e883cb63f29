/* elementwise: binary ops with broadcasting, one-input functions and per-channel affine maps,
 * the C twin of edgegen's `kernels::elementwise`. Broadcasting is an iteration space of six
 * axes and the stride of each operand along each (0 where it is broadcast).
 *
 * What each op means on each element type is Rust's `Number`: IEEE arithmetic on floats;
 * wrapping arithmetic on integers (done on unsigned types here, where wrapping is defined),
 * division and remainder by zero giving 0; logical ops on bool. Each element type has its
 * scalar functions (eg_elementwise_binary_op_f32, ...) and its instance of each kernel
 * (eg_elementwise_binary_f32, ...). Ops this library lacks on a type (the trigonometric and
 * error functions, float Pow and Mod) have no constructor, so models using them are refused. */

enum {
    EG_BINARY_ADD,
    EG_BINARY_SUB,
    EG_BINARY_MUL,
    EG_BINARY_DIV,
    EG_BINARY_PRELU,
    EG_BINARY_POW,
    EG_BINARY_MAX,
    EG_BINARY_MIN,
    EG_BINARY_MOD,
    EG_BINARY_FMOD,
    EG_BINARY_AND,
    EG_BINARY_OR,
    EG_BINARY_XOR
};

typedef struct {
    int kind;
} eg_elementwise_BinaryOp;

EG_KERNEL eg_elementwise_BinaryOp eg_elementwise_binary_op(int kind) {
    eg_elementwise_BinaryOp op;
    op.kind = kind;
    return op;
}

/* The constructor of a variant of BinaryOp. */
#define EG_ELEMENTWISE_BINARY_OP_VARIANT(name, KIND)                                            \
    EG_KERNEL eg_elementwise_BinaryOp name(void) {                                              \
        return eg_elementwise_binary_op(KIND);                                                  \
    }

EG_ELEMENTWISE_BINARY_OP_VARIANT(eg_elementwise_BinaryOp_Add, EG_BINARY_ADD)
EG_ELEMENTWISE_BINARY_OP_VARIANT(eg_elementwise_BinaryOp_Sub, EG_BINARY_SUB)
EG_ELEMENTWISE_BINARY_OP_VARIANT(eg_elementwise_BinaryOp_Mul, EG_BINARY_MUL)
EG_ELEMENTWISE_BINARY_OP_VARIANT(eg_elementwise_BinaryOp_Div, EG_BINARY_DIV)
EG_ELEMENTWISE_BINARY_OP_VARIANT(eg_elementwise_BinaryOp_PRelu, EG_BINARY_PRELU)
EG_ELEMENTWISE_BINARY_OP_VARIANT(eg_elementwise_BinaryOp_Pow, EG_BINARY_POW)
EG_ELEMENTWISE_BINARY_OP_VARIANT(eg_elementwise_BinaryOp_Max, EG_BINARY_MAX)
EG_ELEMENTWISE_BINARY_OP_VARIANT(eg_elementwise_BinaryOp_Min, EG_BINARY_MIN)
EG_ELEMENTWISE_BINARY_OP_VARIANT(eg_elementwise_BinaryOp_And, EG_BINARY_AND)
EG_ELEMENTWISE_BINARY_OP_VARIANT(eg_elementwise_BinaryOp_Or, EG_BINARY_OR)
EG_ELEMENTWISE_BINARY_OP_VARIANT(eg_elementwise_BinaryOp_Xor, EG_BINARY_XOR)

enum {
    EG_UNARY_RELU,
    EG_UNARY_LEAKY_RELU,
    EG_UNARY_CLIP,
    EG_UNARY_SIGMOID,
    EG_UNARY_HARD_SIGMOID,
    EG_UNARY_HARD_SWISH,
    EG_UNARY_TANH,
    EG_UNARY_ABS,
    EG_UNARY_NEG,
    EG_UNARY_SIGN,
    EG_UNARY_SQRT,
    EG_UNARY_EXP,
    EG_UNARY_LOG,
    EG_UNARY_FLOOR,
    EG_UNARY_CEIL,
    EG_UNARY_ROUND,
    EG_UNARY_RECIPROCAL,
    EG_UNARY_SOFTPLUS,
    EG_UNARY_SOFTSIGN,
    EG_UNARY_MISH,
    EG_UNARY_ELU,
    EG_UNARY_CELU,
    EG_UNARY_SELU,
    EG_UNARY_NOT,
    EG_UNARY_ASIN,
    EG_UNARY_ACOS,
    EG_UNARY_ATAN,
    EG_UNARY_ERF,
    EG_UNARY_GELU,
    EG_UNARY_GELU_TANH
};

/* A one-input function and its parameters (alpha, beta, min, max, gamma as the op has). */
typedef struct {
    int kind;
    float a, b;
} eg_elementwise_Unary;

EG_KERNEL eg_elementwise_Unary eg_elementwise_unary_make(int kind, float a, float b) {
    eg_elementwise_Unary u;
    u.kind = kind;
    u.a = a;
    u.b = b;
    return u;
}

/* The constructors of Unary's variants: without parameters, with one and with two (named
 * as the variant's fields are). */
#define EG_ELEMENTWISE_UNARY_VARIANT(name, KIND)                                                \
    EG_KERNEL eg_elementwise_Unary name(void) {                                                 \
        return eg_elementwise_unary_make(KIND, 0.0f, 0.0f);                                     \
    }
#define EG_ELEMENTWISE_UNARY_VARIANT_1(name, KIND, A)                                           \
    EG_KERNEL eg_elementwise_Unary name(float A) {                                              \
        return eg_elementwise_unary_make(KIND, A, 0.0f);                                        \
    }
#define EG_ELEMENTWISE_UNARY_VARIANT_2(name, KIND, A, B)                                        \
    EG_KERNEL eg_elementwise_Unary name(float A, float B) {                                     \
        return eg_elementwise_unary_make(KIND, A, B);                                           \
    }

EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Relu, EG_UNARY_RELU)
EG_ELEMENTWISE_UNARY_VARIANT_1(eg_elementwise_Unary_LeakyRelu, EG_UNARY_LEAKY_RELU, alpha)
EG_ELEMENTWISE_UNARY_VARIANT_2(eg_elementwise_Unary_Clip, EG_UNARY_CLIP, min, max)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Sigmoid, EG_UNARY_SIGMOID)
EG_ELEMENTWISE_UNARY_VARIANT_2(eg_elementwise_Unary_HardSigmoid, EG_UNARY_HARD_SIGMOID, alpha, beta)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_HardSwish, EG_UNARY_HARD_SWISH)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Tanh, EG_UNARY_TANH)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Abs, EG_UNARY_ABS)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Neg, EG_UNARY_NEG)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Sign, EG_UNARY_SIGN)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Sqrt, EG_UNARY_SQRT)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Exp, EG_UNARY_EXP)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Log, EG_UNARY_LOG)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Floor, EG_UNARY_FLOOR)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Ceil, EG_UNARY_CEIL)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Round, EG_UNARY_ROUND)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Reciprocal, EG_UNARY_RECIPROCAL)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Softplus, EG_UNARY_SOFTPLUS)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Softsign, EG_UNARY_SOFTSIGN)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Mish, EG_UNARY_MISH)
EG_ELEMENTWISE_UNARY_VARIANT_1(eg_elementwise_Unary_Elu, EG_UNARY_ELU, alpha)
EG_ELEMENTWISE_UNARY_VARIANT_1(eg_elementwise_Unary_Celu, EG_UNARY_CELU, alpha)
EG_ELEMENTWISE_UNARY_VARIANT_2(eg_elementwise_Unary_Selu, EG_UNARY_SELU, alpha, gamma)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Not, EG_UNARY_NOT)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Asin, EG_UNARY_ASIN)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Acos, EG_UNARY_ACOS)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Atan, EG_UNARY_ATAN)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Erf, EG_UNARY_ERF)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_Gelu, EG_UNARY_GELU)
EG_ELEMENTWISE_UNARY_VARIANT(eg_elementwise_Unary_GeluTanh, EG_UNARY_GELU_TANH)

/* ---- float32 ---- */

/* x, or a NaN operand (f32::max would return the other operand). */
EG_KERNEL float eg_elementwise_nan_or_f32(float a, float b, float x) {
    if (a != a) {
        return a;
    }
    if (b != b) {
        return b;
    }
    return x;
}

EG_KERNEL float eg_elementwise_binary_op_f32(eg_elementwise_BinaryOp op, float a, float b) {
    switch (op.kind) {
    case EG_BINARY_ADD:
        return a + b;
    case EG_BINARY_SUB:
        return a - b;
    case EG_BINARY_MUL:
        return a * b;
    case EG_BINARY_DIV:
        return a / b;
    case EG_BINARY_PRELU:
        return a < 0.0f ? a * b : a;
    case EG_BINARY_POW:
        return eg_math_pow(a, b);
    case EG_BINARY_MAX:
        return eg_elementwise_nan_or_f32(a, b, a >= b ? a : b);
    case EG_BINARY_MIN:
        return eg_elementwise_nan_or_f32(a, b, a <= b ? a : b);
    default:
        return a;
    }
}

EG_KERNEL float eg_elementwise_softplus_f32(float v) {
    return v > 20.0f ? v : eg_math_ln(1.0f + eg_math_exp(v));
}

/* Rust's f32::clamp (a NaN stays NaN). */
EG_KERNEL float eg_elementwise_clamp_f32(float x, float min, float max) {
    if (x < min) {
        x = min;
    }
    if (x > max) {
        x = max;
    }
    return x;
}

EG_KERNEL float eg_elementwise_unary_op_f32(eg_elementwise_Unary op, float x) {
    switch (op.kind) {
    case EG_UNARY_RELU:
        return eg_math_max_f32(x, 0.0f);
    case EG_UNARY_LEAKY_RELU:
        return x < 0.0f ? op.a * x : x;
    case EG_UNARY_CLIP:
        return eg_math_min_f32(eg_math_max_f32(x, op.a), op.b);
    case EG_UNARY_SIGMOID:
        return eg_math_sigmoid(x);
    case EG_UNARY_HARD_SIGMOID:
        return eg_elementwise_clamp_f32(op.a * x + op.b, 0.0f, 1.0f);
    case EG_UNARY_HARD_SWISH:
        return x * eg_elementwise_clamp_f32(x * (1.0f / 6.0f) + 0.5f, 0.0f, 1.0f);
    case EG_UNARY_TANH:
        return eg_math_tanh(x);
    case EG_UNARY_ABS:
        return eg_math_abs(x);
    case EG_UNARY_NEG:
        return -x;
    case EG_UNARY_SIGN:
        return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x);
    case EG_UNARY_SQRT:
        return eg_math_sqrt(x);
    case EG_UNARY_EXP:
        return eg_math_exp(x);
    case EG_UNARY_LOG:
        return eg_math_ln(x);
    case EG_UNARY_FLOOR:
        return eg_math_floor(x);
    case EG_UNARY_CEIL:
        return eg_math_ceil(x);
    case EG_UNARY_ROUND:
        return eg_math_round_half_to_even(x);
    case EG_UNARY_RECIPROCAL:
        return 1.0f / x;
    case EG_UNARY_SOFTPLUS:
        return eg_elementwise_softplus_f32(x);
    case EG_UNARY_SOFTSIGN:
        return x / (1.0f + eg_math_abs(x));
    case EG_UNARY_MISH:
        return x * eg_math_tanh(eg_elementwise_softplus_f32(x));
    case EG_UNARY_ELU:
        return x < 0.0f ? op.a * (eg_math_exp(x) - 1.0f) : x;
    case EG_UNARY_CELU:
        return eg_math_max_f32(x, 0.0f) +
               eg_math_min_f32(op.a * (eg_math_exp(x / op.a) - 1.0f), 0.0f);
    case EG_UNARY_SELU:
        return x > 0.0f ? op.b * x : op.b * op.a * (eg_math_exp(x) - 1.0f);
    case EG_UNARY_ASIN:
        return eg_math_asin(x);
    case EG_UNARY_ACOS:
        return eg_math_acos(x);
    case EG_UNARY_ATAN:
        return eg_math_atan(x);
    case EG_UNARY_ERF:
        return eg_math_erf(x);
    case EG_UNARY_GELU:
        return 0.5f * x * (1.0f + eg_math_erf(x * 0.70710678118654752440f));
    case EG_UNARY_GELU_TANH:
        return 0.5f * x * (1.0f + eg_math_tanh(0.7978846f * (x + 0.044715f * x * x * x)));
    default:
        return x;
    }
}

EG_KERNEL float eg_elementwise_activate_f32(eg_activation_Activation act, float x) {
    return eg_activation_apply(act, x);
}

/* ---- integers: wrapping arithmetic on U, the unsigned type of at least T's width and of at
 * least int's (so that no operand is promoted to a signed int); NEG(x) says whether x is
 * negative (0 for unsigned types, which have no negative values to test). ---- */

#define EG_ELEMENTWISE_NEG_SIGNED(x) ((x) < 0)
#define EG_ELEMENTWISE_NEG_UNSIGNED(x) ((void)(x), 0)

/* a^b on integers: repeated squaring with wrapping; a negative exponent gives the truncated
 * reciprocal (1 or -1 for a base of 1 or -1, else 0). */
EG_KERNEL int64_t eg_elementwise_integer_pow(int64_t a, int64_t b) {
    uint64_t base = (uint64_t)a, acc = 1;
    if (b < 0) {
        if (a == 1) {
            return 1;
        }
        if (a == -1) {
            return b % 2 == 0 ? 1 : -1;
        }
        return 0;
    }
    while (b > 0) {
        if (b & 1) {
            acc *= base;
        }
        base *= base;
        b >>= 1;
    }
    return (int64_t)acc;
}

#define EG_ELEMENTWISE_INTEGER_OPS(binary_name, unary_name, activate_name, T, U, MIN, NEG)     \
    EG_KERNEL T binary_name(eg_elementwise_BinaryOp op, T a, T b) {                             \
        T r;                                                                                    \
        switch (op.kind) {                                                                      \
        case EG_BINARY_ADD:                                                                     \
            return (T)((U)a + (U)b);                                                            \
        case EG_BINARY_SUB:                                                                     \
            return (T)((U)a - (U)b);                                                            \
        case EG_BINARY_MUL:                                                                     \
            return (T)((U)a * (U)b);                                                            \
        case EG_BINARY_DIV:                                                                     \
            /* Rust's checked_div(b).unwrap_or(0): 0 for a division by zero or overflow. */    \
            if (b == 0 || (a == MIN && b == (T)(U)-1 && NEG(b))) {                              \
                return 0;                                                                       \
            }                                                                                   \
            return (T)(a / b);                                                                  \
        case EG_BINARY_PRELU:                                                                   \
            return NEG(a) ? (T)((U)a * (U)b) : a;                                               \
        case EG_BINARY_POW:                                                                     \
            return (T)eg_elementwise_integer_pow((int64_t)a, (int64_t)b);                       \
        case EG_BINARY_MAX:                                                                     \
            return a >= b ? a : b;                                                              \
        case EG_BINARY_MIN:                                                                     \
            return a <= b ? a : b;                                                              \
        case EG_BINARY_FMOD:                                                                    \
        case EG_BINARY_MOD:                                                                     \
            if (b == 0 || (a == MIN && b == (T)(U)-1 && NEG(b))) {                              \
                r = 0;                                                                          \
            } else {                                                                            \
                r = (T)(a % b);                                                                 \
            }                                                                                   \
            if (op.kind == EG_BINARY_MOD && r != 0 && NEG(r) != NEG(b)) {                       \
                r = (T)((U)r + (U)b);                                                           \
            }                                                                                   \
            return r;                                                                           \
        default:                                                                                \
            return a;                                                                           \
        }                                                                                       \
    }                                                                                           \
    EG_KERNEL T unary_name(eg_elementwise_Unary op, T x) {                                      \
        double v;                                                                               \
        switch (op.kind) {                                                                      \
        case EG_UNARY_RELU:                                                                     \
            return NEG(x) ? (T)0 : x;                                                           \
        case EG_UNARY_CLIP:                                                                     \
            v = (double)x;                                                                      \
            if (v < (double)op.a) {                                                             \
                return eg_elementwise_float_to_##T(op.a);                                       \
            }                                                                                   \
            if (v > (double)op.b) {                                                             \
                return eg_elementwise_float_to_##T(op.b);                                       \
            }                                                                                   \
            return x;                                                                           \
        case EG_UNARY_ABS:                                                                      \
            return NEG(x) ? (T)((U)0 - (U)x) : x;                                               \
        case EG_UNARY_NEG:                                                                      \
            return (T)((U)0 - (U)x);                                                            \
        case EG_UNARY_SIGN:                                                                     \
            return x > 0 ? (T)1 : (NEG(x) ? (T)((U)0 - (U)1) : (T)0);                           \
        default:                                                                                \
            return x;                                                                           \
        }                                                                                       \
    }                                                                                           \
    EG_KERNEL T activate_name(eg_activation_Activation act, T x) {                              \
        switch (act.kind) {                                                                     \
        case EG_ACT_RELU:                                                                       \
            return unary_name(eg_elementwise_Unary_Relu(), x);                                  \
        case EG_ACT_CLIP:                                                                       \
            return unary_name(eg_elementwise_Unary_Clip(act.a, act.b), x);                      \
        default:                                                                                \
            return x;                                                                           \
        }                                                                                       \
    }

/* Rust's `as` from f32 to an integer type: truncation toward zero, saturating, NaN to 0. */
#define EG_ELEMENTWISE_FLOAT_TO(T, MIN, MAX)                                                    \
    EG_KERNEL T eg_elementwise_float_to_##T(float v) {                                          \
        if (v != v) {                                                                           \
            return 0;                                                                           \
        }                                                                                       \
        if ((double)v <= (double)(MIN)) {                                                       \
            return MIN;                                                                         \
        }                                                                                       \
        if ((double)v >= (double)(MAX)) {                                                       \
            return MAX;                                                                         \
        }                                                                                       \
        return (T)v;                                                                            \
    }

EG_ELEMENTWISE_FLOAT_TO(int8_t, INT8_MIN, INT8_MAX)
EG_ELEMENTWISE_FLOAT_TO(uint8_t, 0, UINT8_MAX)
EG_ELEMENTWISE_FLOAT_TO(int16_t, INT16_MIN, INT16_MAX)
EG_ELEMENTWISE_FLOAT_TO(uint16_t, 0, UINT16_MAX)
EG_ELEMENTWISE_FLOAT_TO(int32_t, INT32_MIN, INT32_MAX)
EG_ELEMENTWISE_FLOAT_TO(uint32_t, 0, UINT32_MAX)
EG_ELEMENTWISE_FLOAT_TO(int64_t, INT64_MIN, INT64_MAX)
EG_ELEMENTWISE_FLOAT_TO(uint64_t, 0, UINT64_MAX)

EG_ELEMENTWISE_INTEGER_OPS(eg_elementwise_binary_op_i8, eg_elementwise_unary_op_i8,
                           eg_elementwise_activate_i8, int8_t, uint32_t, INT8_MIN,
                           EG_ELEMENTWISE_NEG_SIGNED)
EG_ELEMENTWISE_INTEGER_OPS(eg_elementwise_binary_op_u8, eg_elementwise_unary_op_u8,
                           eg_elementwise_activate_u8, uint8_t, uint32_t, 0,
                           EG_ELEMENTWISE_NEG_UNSIGNED)
EG_ELEMENTWISE_INTEGER_OPS(eg_elementwise_binary_op_i16, eg_elementwise_unary_op_i16,
                           eg_elementwise_activate_i16, int16_t, uint32_t, INT16_MIN,
                           EG_ELEMENTWISE_NEG_SIGNED)
EG_ELEMENTWISE_INTEGER_OPS(eg_elementwise_binary_op_u16, eg_elementwise_unary_op_u16,
                           eg_elementwise_activate_u16, uint16_t, uint32_t, 0,
                           EG_ELEMENTWISE_NEG_UNSIGNED)
EG_ELEMENTWISE_INTEGER_OPS(eg_elementwise_binary_op_i32, eg_elementwise_unary_op_i32,
                           eg_elementwise_activate_i32, int32_t, uint32_t, INT32_MIN,
                           EG_ELEMENTWISE_NEG_SIGNED)
EG_ELEMENTWISE_INTEGER_OPS(eg_elementwise_binary_op_u32, eg_elementwise_unary_op_u32,
                           eg_elementwise_activate_u32, uint32_t, uint32_t, 0,
                           EG_ELEMENTWISE_NEG_UNSIGNED)
EG_ELEMENTWISE_INTEGER_OPS(eg_elementwise_binary_op_i64, eg_elementwise_unary_op_i64,
                           eg_elementwise_activate_i64, int64_t, uint64_t, INT64_MIN,
                           EG_ELEMENTWISE_NEG_SIGNED)
EG_ELEMENTWISE_INTEGER_OPS(eg_elementwise_binary_op_u64, eg_elementwise_unary_op_u64,
                           eg_elementwise_activate_u64, uint64_t, uint64_t, 0,
                           EG_ELEMENTWISE_NEG_UNSIGNED)

/* ---- bool (uint8_t holding 0 or 1) ---- */

EG_KERNEL uint8_t eg_elementwise_binary_op_bool(eg_elementwise_BinaryOp op, uint8_t a,
                                                uint8_t b) {
    switch (op.kind) {
    case EG_BINARY_AND:
    case EG_BINARY_MIN:
    case EG_BINARY_MUL:
        return a & b;
    case EG_BINARY_OR:
    case EG_BINARY_MAX:
    case EG_BINARY_ADD:
        return a | b;
    case EG_BINARY_XOR:
        return a ^ b;
    default:
        return a;
    }
}

EG_KERNEL uint8_t eg_elementwise_unary_op_bool(eg_elementwise_Unary op, uint8_t x) {
    return op.kind == EG_UNARY_NOT ? (uint8_t)!x : x;
}

EG_KERNEL uint8_t eg_elementwise_activate_bool(eg_activation_Activation act, uint8_t x) {
    (void)act;
    return x;
}

/* ---- the kernels, one instance per element type ---- */

/* The offset of the row (i0, i1, i2, i3, i4) of a broadcast operand with these strides (the
 * kernels below run along the last of six axes; a row is all of it). */
EG_KERNEL size_t eg_elementwise_row_at(const size_t *strides, size_t i0, size_t i1, size_t i2,
                                       size_t i3, size_t i4) {
    return i0 * strides[0] + i1 * strides[1] + i2 * strides[2] + i3 * strides[3] +
           i4 * strides[4];
}

/* A broadcast binary op: `shape` is the output's iteration space (leading axes padded with
 * 1), strides in elements. */
typedef struct {
    eg_elementwise_BinaryOp op;
    size_t shape[6], a_strides[6], b_strides[6];
    eg_activation_Activation activation;
} eg_elementwise_Binary;

/* y = activation(op(a, b)) with broadcasting. */
#define EG_ELEMENTWISE_BINARY(name, T, OP, ACTIVATE)                                            \
    EG_KERNEL void name(eg_elementwise_Binary p, const T *a, size_t a_len, const T *b,          \
                        size_t b_len, T *y, size_t y_len) {                                     \
        size_t n = p.shape[5], sa = p.a_strides[5], sb = p.b_strides[5], out = 0;               \
        size_t i0, i1, i2, i3, i4, i;                                                           \
        (void)a_len, (void)b_len, (void)y_len;                                                  \
        for (i0 = 0; i0 < p.shape[0]; i0++) {                                                   \
            for (i1 = 0; i1 < p.shape[1]; i1++) {                                               \
                for (i2 = 0; i2 < p.shape[2]; i2++) {                                           \
                    for (i3 = 0; i3 < p.shape[3]; i3++) {                                       \
                        for (i4 = 0; i4 < p.shape[4]; i4++) {                                   \
                            size_t ao = eg_elementwise_row_at(p.a_strides, i0, i1, i2, i3, i4); \
                            size_t bo = eg_elementwise_row_at(p.b_strides, i0, i1, i2, i3, i4); \
                            for (i = 0; i < n; i++) {                                           \
                                y[out + i] = ACTIVATE(p.activation,                             \
                                                      OP(p.op, a[ao + i * sa], b[bo + i * sb])); \
                            }                                                                   \
                            out += n;                                                           \
                        }                                                                       \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

/* a = activation(op(a, b)), where a has the output's shape (contiguous). */
#define EG_ELEMENTWISE_BINARY_IN_PLACE(name, T, OP, ACTIVATE)                                   \
    EG_KERNEL void name(eg_elementwise_Binary p, T *a, size_t a_len, const T *b,                \
                        size_t b_len) {                                                         \
        size_t n = p.shape[5], sb = p.b_strides[5], out = 0;                                    \
        size_t i0, i1, i2, i3, i4, i;                                                           \
        (void)a_len, (void)b_len;                                                               \
        for (i0 = 0; i0 < p.shape[0]; i0++) {                                                   \
            for (i1 = 0; i1 < p.shape[1]; i1++) {                                               \
                for (i2 = 0; i2 < p.shape[2]; i2++) {                                           \
                    for (i3 = 0; i3 < p.shape[3]; i3++) {                                       \
                        for (i4 = 0; i4 < p.shape[4]; i4++) {                                   \
                            size_t bo = eg_elementwise_row_at(p.b_strides, i0, i1, i2, i3, i4); \
                            for (i = 0; i < n; i++) {                                           \
                                a[out + i] = ACTIVATE(p.activation,                             \
                                                      OP(p.op, a[out + i], b[bo + i * sb]));    \
                            }                                                                   \
                            out += n;                                                           \
                        }                                                                       \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

#define EG_ELEMENTWISE_UNARY(name, T, OP)                                                       \
    EG_KERNEL void name(eg_elementwise_Unary op, const T *x, size_t x_len, T *y, size_t y_len) { \
        size_t i;                                                                               \
        (void)x_len;                                                                            \
        for (i = 0; i < y_len; i++) {                                                           \
            y[i] = OP(op, x[i]);                                                                \
        }                                                                                       \
    }

#define EG_ELEMENTWISE_UNARY_IN_PLACE(name, T, OP)                                              \
    EG_KERNEL void name(eg_elementwise_Unary op, T *y, size_t y_len) {                          \
        size_t i;                                                                               \
        for (i = 0; i < y_len; i++) {                                                           \
            y[i] = OP(op, y[i]);                                                                \
        }                                                                                       \
    }

EG_ELEMENTWISE_BINARY(eg_elementwise_binary_f32, float, eg_elementwise_binary_op_f32, eg_elementwise_activate_f32)
EG_ELEMENTWISE_BINARY(eg_elementwise_binary_i8, int8_t, eg_elementwise_binary_op_i8, eg_elementwise_activate_i8)
EG_ELEMENTWISE_BINARY(eg_elementwise_binary_u8, uint8_t, eg_elementwise_binary_op_u8, eg_elementwise_activate_u8)
EG_ELEMENTWISE_BINARY(eg_elementwise_binary_i16, int16_t, eg_elementwise_binary_op_i16, eg_elementwise_activate_i16)
EG_ELEMENTWISE_BINARY(eg_elementwise_binary_u16, uint16_t, eg_elementwise_binary_op_u16, eg_elementwise_activate_u16)
EG_ELEMENTWISE_BINARY(eg_elementwise_binary_i32, int32_t, eg_elementwise_binary_op_i32, eg_elementwise_activate_i32)
EG_ELEMENTWISE_BINARY(eg_elementwise_binary_u32, uint32_t, eg_elementwise_binary_op_u32, eg_elementwise_activate_u32)
EG_ELEMENTWISE_BINARY(eg_elementwise_binary_i64, int64_t, eg_elementwise_binary_op_i64, eg_elementwise_activate_i64)
EG_ELEMENTWISE_BINARY(eg_elementwise_binary_u64, uint64_t, eg_elementwise_binary_op_u64, eg_elementwise_activate_u64)
EG_ELEMENTWISE_BINARY(eg_elementwise_binary_bool, uint8_t, eg_elementwise_binary_op_bool, eg_elementwise_activate_bool)

EG_ELEMENTWISE_BINARY_IN_PLACE(eg_elementwise_binary_in_place_f32, float, eg_elementwise_binary_op_f32, eg_elementwise_activate_f32)
EG_ELEMENTWISE_BINARY_IN_PLACE(eg_elementwise_binary_in_place_i8, int8_t, eg_elementwise_binary_op_i8, eg_elementwise_activate_i8)
EG_ELEMENTWISE_BINARY_IN_PLACE(eg_elementwise_binary_in_place_u8, uint8_t, eg_elementwise_binary_op_u8, eg_elementwise_activate_u8)
EG_ELEMENTWISE_BINARY_IN_PLACE(eg_elementwise_binary_in_place_i16, int16_t, eg_elementwise_binary_op_i16, eg_elementwise_activate_i16)
EG_ELEMENTWISE_BINARY_IN_PLACE(eg_elementwise_binary_in_place_u16, uint16_t, eg_elementwise_binary_op_u16, eg_elementwise_activate_u16)
EG_ELEMENTWISE_BINARY_IN_PLACE(eg_elementwise_binary_in_place_i32, int32_t, eg_elementwise_binary_op_i32, eg_elementwise_activate_i32)
EG_ELEMENTWISE_BINARY_IN_PLACE(eg_elementwise_binary_in_place_u32, uint32_t, eg_elementwise_binary_op_u32, eg_elementwise_activate_u32)
EG_ELEMENTWISE_BINARY_IN_PLACE(eg_elementwise_binary_in_place_i64, int64_t, eg_elementwise_binary_op_i64, eg_elementwise_activate_i64)
EG_ELEMENTWISE_BINARY_IN_PLACE(eg_elementwise_binary_in_place_u64, uint64_t, eg_elementwise_binary_op_u64, eg_elementwise_activate_u64)
EG_ELEMENTWISE_BINARY_IN_PLACE(eg_elementwise_binary_in_place_bool, uint8_t, eg_elementwise_binary_op_bool, eg_elementwise_activate_bool)

EG_ELEMENTWISE_UNARY(eg_elementwise_unary_f32, float, eg_elementwise_unary_op_f32)
EG_ELEMENTWISE_UNARY(eg_elementwise_unary_i8, int8_t, eg_elementwise_unary_op_i8)
EG_ELEMENTWISE_UNARY(eg_elementwise_unary_u8, uint8_t, eg_elementwise_unary_op_u8)
EG_ELEMENTWISE_UNARY(eg_elementwise_unary_i16, int16_t, eg_elementwise_unary_op_i16)
EG_ELEMENTWISE_UNARY(eg_elementwise_unary_u16, uint16_t, eg_elementwise_unary_op_u16)
EG_ELEMENTWISE_UNARY(eg_elementwise_unary_i32, int32_t, eg_elementwise_unary_op_i32)
EG_ELEMENTWISE_UNARY(eg_elementwise_unary_u32, uint32_t, eg_elementwise_unary_op_u32)
EG_ELEMENTWISE_UNARY(eg_elementwise_unary_i64, int64_t, eg_elementwise_unary_op_i64)
EG_ELEMENTWISE_UNARY(eg_elementwise_unary_u64, uint64_t, eg_elementwise_unary_op_u64)
EG_ELEMENTWISE_UNARY(eg_elementwise_unary_bool, uint8_t, eg_elementwise_unary_op_bool)

EG_ELEMENTWISE_UNARY_IN_PLACE(eg_elementwise_unary_in_place_f32, float, eg_elementwise_unary_op_f32)
EG_ELEMENTWISE_UNARY_IN_PLACE(eg_elementwise_unary_in_place_i8, int8_t, eg_elementwise_unary_op_i8)
EG_ELEMENTWISE_UNARY_IN_PLACE(eg_elementwise_unary_in_place_u8, uint8_t, eg_elementwise_unary_op_u8)
EG_ELEMENTWISE_UNARY_IN_PLACE(eg_elementwise_unary_in_place_i16, int16_t, eg_elementwise_unary_op_i16)
EG_ELEMENTWISE_UNARY_IN_PLACE(eg_elementwise_unary_in_place_u16, uint16_t, eg_elementwise_unary_op_u16)
EG_ELEMENTWISE_UNARY_IN_PLACE(eg_elementwise_unary_in_place_i32, int32_t, eg_elementwise_unary_op_i32)
EG_ELEMENTWISE_UNARY_IN_PLACE(eg_elementwise_unary_in_place_u32, uint32_t, eg_elementwise_unary_op_u32)
EG_ELEMENTWISE_UNARY_IN_PLACE(eg_elementwise_unary_in_place_i64, int64_t, eg_elementwise_unary_op_i64)
EG_ELEMENTWISE_UNARY_IN_PLACE(eg_elementwise_unary_in_place_u64, uint64_t, eg_elementwise_unary_op_u64)
EG_ELEMENTWISE_UNARY_IN_PLACE(eg_elementwise_unary_in_place_bool, uint8_t, eg_elementwise_unary_op_bool)

/* y = x * scale[c] + shift[c] for channel c of an [outer, channels, inner] tensor. */
typedef struct {
    size_t outer, channels, inner;
} eg_elementwise_ChannelAffine;

EG_KERNEL void eg_elementwise_channel_affine(eg_elementwise_ChannelAffine p, const float *x,
                                             size_t x_len, const float *scale, size_t scale_len,
                                             const float *shift, size_t shift_len, float *y,
                                             size_t y_len) {
    size_t o, c, i;
    (void)x_len, (void)scale_len, (void)shift_len, (void)y_len;
    for (o = 0; o < p.outer; o++) {
        for (c = 0; c < p.channels; c++) {
            size_t base = (o * p.channels + c) * p.inner;
            for (i = 0; i < p.inner; i++) {
                y[base + i] = x[base + i] * scale[c] + shift[c];
            }
        }
    }
}

EG_KERNEL void eg_elementwise_channel_affine_in_place(eg_elementwise_ChannelAffine p, float *y,
                                                      size_t y_len, const float *scale,
                                                      size_t scale_len, const float *shift,
                                                      size_t shift_len) {
    size_t o, c, i;
    (void)y_len, (void)scale_len, (void)shift_len;
    for (o = 0; o < p.outer; o++) {
        for (c = 0; c < p.channels; c++) {
            size_t base = (o * p.channels + c) * p.inner;
            for (i = 0; i < p.inner; i++) {
                y[base + i] = y[base + i] * scale[c] + shift[c];
            }
        }
    }
}

/* ---- comparisons, Where and casts ---- */

enum {
    EG_COMPARE_EQUAL,
    EG_COMPARE_LESS,
    EG_COMPARE_LESS_OR_EQUAL,
    EG_COMPARE_GREATER,
    EG_COMPARE_GREATER_OR_EQUAL
};

typedef struct {
    int kind;
} eg_elementwise_CompareOp;

/* The constructor of a variant of CompareOp. */
#define EG_ELEMENTWISE_COMPARE_OP_VARIANT(name, KIND)                                           \
    EG_KERNEL eg_elementwise_CompareOp name(void) {                                             \
        eg_elementwise_CompareOp op;                                                            \
        op.kind = KIND;                                                                         \
        return op;                                                                              \
    }

EG_ELEMENTWISE_COMPARE_OP_VARIANT(eg_elementwise_CompareOp_Equal, EG_COMPARE_EQUAL)
EG_ELEMENTWISE_COMPARE_OP_VARIANT(eg_elementwise_CompareOp_Less, EG_COMPARE_LESS)
EG_ELEMENTWISE_COMPARE_OP_VARIANT(eg_elementwise_CompareOp_LessOrEqual, EG_COMPARE_LESS_OR_EQUAL)
EG_ELEMENTWISE_COMPARE_OP_VARIANT(eg_elementwise_CompareOp_Greater, EG_COMPARE_GREATER)
EG_ELEMENTWISE_COMPARE_OP_VARIANT(eg_elementwise_CompareOp_GreaterOrEqual, EG_COMPARE_GREATER_OR_EQUAL)

/* A broadcast comparison (strides as in eg_elementwise_Binary). */
typedef struct {
    eg_elementwise_CompareOp op;
    size_t shape[6], a_strides[6], b_strides[6];
} eg_elementwise_Compare;

/* y = a op b with broadcasting; y is bool. */
#define EG_ELEMENTWISE_COMPARE(name, T)                                                         \
    EG_KERNEL void name(eg_elementwise_Compare p, const T *a, size_t a_len, const T *b,         \
                        size_t b_len, uint8_t *y, size_t y_len) {                               \
        size_t n = p.shape[5], sa = p.a_strides[5], sb = p.b_strides[5], out = 0;               \
        size_t i0, i1, i2, i3, i4, i;                                                           \
        (void)a_len, (void)b_len, (void)y_len;                                                  \
        for (i0 = 0; i0 < p.shape[0]; i0++) {                                                   \
            for (i1 = 0; i1 < p.shape[1]; i1++) {                                               \
                for (i2 = 0; i2 < p.shape[2]; i2++) {                                           \
                    for (i3 = 0; i3 < p.shape[3]; i3++) {                                       \
                        for (i4 = 0; i4 < p.shape[4]; i4++) {                                   \
                            size_t ao = eg_elementwise_row_at(p.a_strides, i0, i1, i2, i3, i4); \
                            size_t bo = eg_elementwise_row_at(p.b_strides, i0, i1, i2, i3, i4); \
                            for (i = 0; i < n; i++) {                                           \
                                T x = a[ao + i * sa], v = b[bo + i * sb];                       \
                                int r;                                                          \
                                switch (p.op.kind) {                                            \
                                case EG_COMPARE_EQUAL:                                          \
                                    r = x == v;                                                 \
                                    break;                                                      \
                                case EG_COMPARE_LESS:                                           \
                                    r = x < v;                                                  \
                                    break;                                                      \
                                case EG_COMPARE_LESS_OR_EQUAL:                                  \
                                    r = x <= v;                                                 \
                                    break;                                                      \
                                case EG_COMPARE_GREATER:                                        \
                                    r = x > v;                                                  \
                                    break;                                                      \
                                default:                                                        \
                                    r = x >= v;                                                 \
                                    break;                                                      \
                                }                                                               \
                                y[out + i] = (uint8_t)r;                                        \
                            }                                                                   \
                            out += n;                                                           \
                        }                                                                       \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

/* Where: y = condition ? a : b with broadcasting of all three. */
typedef struct {
    size_t shape[6], condition_strides[6], a_strides[6], b_strides[6];
} eg_elementwise_Select;

#define EG_ELEMENTWISE_SELECT(name, T)                                                          \
    EG_KERNEL void name(eg_elementwise_Select p, const uint8_t *condition, size_t condition_len,\
                        const T *a, size_t a_len, const T *b, size_t b_len, T *y,               \
                        size_t y_len) {                                                         \
        size_t n = p.shape[5], out = 0, i0, i1, i2, i3, i4, i;                                  \
        (void)condition_len, (void)a_len, (void)b_len, (void)y_len;                             \
        for (i0 = 0; i0 < p.shape[0]; i0++) {                                                   \
            for (i1 = 0; i1 < p.shape[1]; i1++) {                                               \
                for (i2 = 0; i2 < p.shape[2]; i2++) {                                           \
                    for (i3 = 0; i3 < p.shape[3]; i3++) {                                       \
                        for (i4 = 0; i4 < p.shape[4]; i4++) {                                   \
                            size_t co =                                                         \
                                eg_elementwise_row_at(p.condition_strides, i0, i1, i2, i3, i4); \
                            size_t ao = eg_elementwise_row_at(p.a_strides, i0, i1, i2, i3, i4); \
                            size_t bo = eg_elementwise_row_at(p.b_strides, i0, i1, i2, i3, i4); \
                            for (i = 0; i < n; i++) {                                           \
                                y[out + i] = condition[co + i * p.condition_strides[5]]         \
                                                 ? a[ao + i * p.a_strides[5]]                   \
                                                 : b[bo + i * p.b_strides[5]];                  \
                            }                                                                   \
                            out += n;                                                           \
                        }                                                                       \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

/* Rust's `as` from f64 to each integer type: truncation toward zero, saturating, NaN to 0. */
#define EG_ELEMENTWISE_F64_TO(name, T, MIN, MAX)                                                \
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

EG_ELEMENTWISE_F64_TO(eg_elementwise_f64_to_i8, int8_t, INT8_MIN, INT8_MAX)
EG_ELEMENTWISE_F64_TO(eg_elementwise_f64_to_u8, uint8_t, 0, UINT8_MAX)
EG_ELEMENTWISE_F64_TO(eg_elementwise_f64_to_i16, int16_t, INT16_MIN, INT16_MAX)
EG_ELEMENTWISE_F64_TO(eg_elementwise_f64_to_u16, uint16_t, 0, UINT16_MAX)
EG_ELEMENTWISE_F64_TO(eg_elementwise_f64_to_i32, int32_t, INT32_MIN, INT32_MAX)
EG_ELEMENTWISE_F64_TO(eg_elementwise_f64_to_u32, uint32_t, 0, UINT32_MAX)
EG_ELEMENTWISE_F64_TO(eg_elementwise_f64_to_i64, int64_t, INT64_MIN, INT64_MAX)
EG_ELEMENTWISE_F64_TO(eg_elementwise_f64_to_u64, uint64_t, 0, UINT64_MAX)

/* Cast as ONNX does (Rust's Number): from a float through double (floats to integers truncate
 * and saturate, anything to bool is "not zero"), from an integer or bool through int64 (wrapping
 * to narrower integers). */
#define EG_ELEMENTWISE_CAST(name, A, B, CONVERT)                                                \
    EG_KERNEL void name(const A *x, size_t x_len, B *y, size_t y_len) {                         \
        size_t i;                                                                               \
        (void)x_len;                                                                            \
        for (i = 0; i < y_len; i++) {                                                           \
            A v = x[i];                                                                         \
            y[i] = CONVERT;                                                                     \
        }                                                                                       \
    }

EG_ELEMENTWISE_CAST(eg_elementwise_cast_f32, float, float, (float)((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f32_f64, float, double, ((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f32_i8, float, int8_t, eg_elementwise_f64_to_i8((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f32_u8, float, uint8_t, eg_elementwise_f64_to_u8((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f32_i16, float, int16_t, eg_elementwise_f64_to_i16((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f32_u16, float, uint16_t, eg_elementwise_f64_to_u16((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f32_i32, float, int32_t, eg_elementwise_f64_to_i32((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f32_u32, float, uint32_t, eg_elementwise_f64_to_u32((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f32_i64, float, int64_t, eg_elementwise_f64_to_i64((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f32_u64, float, uint64_t, eg_elementwise_f64_to_u64((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f32_bool, float, uint8_t, (uint8_t)(((double)v) != 0.0))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f64_f32, double, float, (float)((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f64, double, double, ((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f64_i8, double, int8_t, eg_elementwise_f64_to_i8((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f64_u8, double, uint8_t, eg_elementwise_f64_to_u8((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f64_i16, double, int16_t, eg_elementwise_f64_to_i16((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f64_u16, double, uint16_t, eg_elementwise_f64_to_u16((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f64_i32, double, int32_t, eg_elementwise_f64_to_i32((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f64_u32, double, uint32_t, eg_elementwise_f64_to_u32((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f64_i64, double, int64_t, eg_elementwise_f64_to_i64((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f64_u64, double, uint64_t, eg_elementwise_f64_to_u64((double)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_f64_bool, double, uint8_t, (uint8_t)(((double)v) != 0.0))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i8_f32, int8_t, float, (float)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i8_f64, int8_t, double, (double)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i8, int8_t, int8_t, (int8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i8_u8, int8_t, uint8_t, (uint8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i8_i16, int8_t, int16_t, (int16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i8_u16, int8_t, uint16_t, (uint16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i8_i32, int8_t, int32_t, (int32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i8_u32, int8_t, uint32_t, (uint32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i8_i64, int8_t, int64_t, (int64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i8_u64, int8_t, uint64_t, (uint64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i8_bool, int8_t, uint8_t, (uint8_t)(((int64_t)v) != 0))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u8_f32, uint8_t, float, (float)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u8_f64, uint8_t, double, (double)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u8_i8, uint8_t, int8_t, (int8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u8, uint8_t, uint8_t, (uint8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u8_i16, uint8_t, int16_t, (int16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u8_u16, uint8_t, uint16_t, (uint16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u8_i32, uint8_t, int32_t, (int32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u8_u32, uint8_t, uint32_t, (uint32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u8_i64, uint8_t, int64_t, (int64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u8_u64, uint8_t, uint64_t, (uint64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u8_bool, uint8_t, uint8_t, (uint8_t)(((int64_t)v) != 0))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i16_f32, int16_t, float, (float)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i16_f64, int16_t, double, (double)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i16_i8, int16_t, int8_t, (int8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i16_u8, int16_t, uint8_t, (uint8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i16, int16_t, int16_t, (int16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i16_u16, int16_t, uint16_t, (uint16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i16_i32, int16_t, int32_t, (int32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i16_u32, int16_t, uint32_t, (uint32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i16_i64, int16_t, int64_t, (int64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i16_u64, int16_t, uint64_t, (uint64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i16_bool, int16_t, uint8_t, (uint8_t)(((int64_t)v) != 0))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u16_f32, uint16_t, float, (float)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u16_f64, uint16_t, double, (double)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u16_i8, uint16_t, int8_t, (int8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u16_u8, uint16_t, uint8_t, (uint8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u16_i16, uint16_t, int16_t, (int16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u16, uint16_t, uint16_t, (uint16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u16_i32, uint16_t, int32_t, (int32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u16_u32, uint16_t, uint32_t, (uint32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u16_i64, uint16_t, int64_t, (int64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u16_u64, uint16_t, uint64_t, (uint64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u16_bool, uint16_t, uint8_t, (uint8_t)(((int64_t)v) != 0))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i32_f32, int32_t, float, (float)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i32_f64, int32_t, double, (double)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i32_i8, int32_t, int8_t, (int8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i32_u8, int32_t, uint8_t, (uint8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i32_i16, int32_t, int16_t, (int16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i32_u16, int32_t, uint16_t, (uint16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i32, int32_t, int32_t, (int32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i32_u32, int32_t, uint32_t, (uint32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i32_i64, int32_t, int64_t, (int64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i32_u64, int32_t, uint64_t, (uint64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i32_bool, int32_t, uint8_t, (uint8_t)(((int64_t)v) != 0))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u32_f32, uint32_t, float, (float)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u32_f64, uint32_t, double, (double)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u32_i8, uint32_t, int8_t, (int8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u32_u8, uint32_t, uint8_t, (uint8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u32_i16, uint32_t, int16_t, (int16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u32_u16, uint32_t, uint16_t, (uint16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u32_i32, uint32_t, int32_t, (int32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u32, uint32_t, uint32_t, (uint32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u32_i64, uint32_t, int64_t, (int64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u32_u64, uint32_t, uint64_t, (uint64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u32_bool, uint32_t, uint8_t, (uint8_t)(((int64_t)v) != 0))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i64_f32, int64_t, float, (float)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i64_f64, int64_t, double, (double)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i64_i8, int64_t, int8_t, (int8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i64_u8, int64_t, uint8_t, (uint8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i64_i16, int64_t, int16_t, (int16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i64_u16, int64_t, uint16_t, (uint16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i64_i32, int64_t, int32_t, (int32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i64_u32, int64_t, uint32_t, (uint32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i64, int64_t, int64_t, (int64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i64_u64, int64_t, uint64_t, (uint64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_i64_bool, int64_t, uint8_t, (uint8_t)(((int64_t)v) != 0))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u64_f32, uint64_t, float, (float)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u64_f64, uint64_t, double, (double)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u64_i8, uint64_t, int8_t, (int8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u64_u8, uint64_t, uint8_t, (uint8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u64_i16, uint64_t, int16_t, (int16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u64_u16, uint64_t, uint16_t, (uint16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u64_i32, uint64_t, int32_t, (int32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u64_u32, uint64_t, uint32_t, (uint32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u64_i64, uint64_t, int64_t, (int64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u64, uint64_t, uint64_t, (uint64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_u64_bool, uint64_t, uint8_t, (uint8_t)(((int64_t)v) != 0))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_bool_f32, uint8_t, float, (float)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_bool_f64, uint8_t, double, (double)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_bool_i8, uint8_t, int8_t, (int8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_bool_u8, uint8_t, uint8_t, (uint8_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_bool_i16, uint8_t, int16_t, (int16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_bool_u16, uint8_t, uint16_t, (uint16_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_bool_i32, uint8_t, int32_t, (int32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_bool_u32, uint8_t, uint32_t, (uint32_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_bool_i64, uint8_t, int64_t, (int64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_bool_u64, uint8_t, uint64_t, (uint64_t)(uint64_t)((int64_t)v))
EG_ELEMENTWISE_CAST(eg_elementwise_cast_bool, uint8_t, uint8_t, (uint8_t)(((int64_t)v) != 0))

EG_ELEMENTWISE_COMPARE(eg_elementwise_compare_f32_bool, float)
EG_ELEMENTWISE_COMPARE(eg_elementwise_compare_f64_bool, double)
EG_ELEMENTWISE_COMPARE(eg_elementwise_compare_i8_bool, int8_t)
EG_ELEMENTWISE_COMPARE(eg_elementwise_compare_u8_bool, uint8_t)
EG_ELEMENTWISE_COMPARE(eg_elementwise_compare_i16_bool, int16_t)
EG_ELEMENTWISE_COMPARE(eg_elementwise_compare_u16_bool, uint16_t)
EG_ELEMENTWISE_COMPARE(eg_elementwise_compare_i32_bool, int32_t)
EG_ELEMENTWISE_COMPARE(eg_elementwise_compare_u32_bool, uint32_t)
EG_ELEMENTWISE_COMPARE(eg_elementwise_compare_i64_bool, int64_t)
EG_ELEMENTWISE_COMPARE(eg_elementwise_compare_u64_bool, uint64_t)
EG_ELEMENTWISE_COMPARE(eg_elementwise_compare_bool, uint8_t)

EG_ELEMENTWISE_SELECT(eg_elementwise_select_bool_f32, float)
EG_ELEMENTWISE_SELECT(eg_elementwise_select_bool_f64, double)
EG_ELEMENTWISE_SELECT(eg_elementwise_select_bool_i8, int8_t)
EG_ELEMENTWISE_SELECT(eg_elementwise_select_bool_u8, uint8_t)
EG_ELEMENTWISE_SELECT(eg_elementwise_select_bool_i16, int16_t)
EG_ELEMENTWISE_SELECT(eg_elementwise_select_bool_u16, uint16_t)
EG_ELEMENTWISE_SELECT(eg_elementwise_select_bool_i32, int32_t)
EG_ELEMENTWISE_SELECT(eg_elementwise_select_bool_u32, uint32_t)
EG_ELEMENTWISE_SELECT(eg_elementwise_select_bool_i64, int64_t)
EG_ELEMENTWISE_SELECT(eg_elementwise_select_bool_u64, uint64_t)
EG_ELEMENTWISE_SELECT(eg_elementwise_select_bool, uint8_t)

/* ---- float16 (bit patterns) ---- */

/* The value of a float16 bit pattern (exact). */
EG_KERNEL double eg_elementwise_f16_to_f64(uint16_t h) {
    int64_t exponent = (h >> 10) & 0x1f;
    double mantissa = (double)(h & 0x3ff), magnitude;
    if (exponent == 0) {
        magnitude = mantissa * (1.0 / 16777216.0);
    } else if (exponent == 31) {
        magnitude = mantissa == 0.0 ? (double)EG_INFINITY : (double)EG_NAN;
    } else {
        uint64_t bits = (uint64_t)(exponent - 25 + 1023) << 52;
        double scale;
        memcpy(&scale, &bits, sizeof scale);
        magnitude = (1024.0 + mantissa) * scale;
    }
    return (h & 0x8000) ? -magnitude : magnitude;
}

/* The float16 nearest to v (ties to even), as its bit pattern. */
EG_KERNEL uint16_t eg_elementwise_f16_from_f64(double v) {
    uint64_t bits, abits;
    uint16_t sign, base, whole, rounded;
    double a, q, rest;
    memcpy(&bits, &v, sizeof bits);
    sign = (uint16_t)((bits >> 48) & 0x8000);
    abits = bits & 0x7fffffffffffffffu;
    memcpy(&a, &abits, sizeof a);
    if (a != a) {
        return (uint16_t)(sign | 0x7e00);
    }
    if (a >= 65520.0) {
        return (uint16_t)(sign | 0x7c00);
    }
    if (a < 1.0 / 16384.0) {
        base = 0;
        q = a * 16777216.0;
    } else {
        int64_t e = (int64_t)(abits >> 52) - 1023;
        uint64_t unit_bits = (uint64_t)(e - 10 + 1023) << 52;
        double unit;
        memcpy(&unit, &unit_bits, sizeof unit);
        base = (uint16_t)((e + 15) << 10);
        q = a / unit - 1024.0;
    }
    whole = (uint16_t)q;
    rest = q - (double)whole;
    rounded = (uint16_t)(rest > 0.5 || (rest == 0.5 && (whole & 1)) ? whole + 1 : whole);
    return (uint16_t)(sign | (uint16_t)(base + rounded));
}

#define EG_ELEMENTWISE_CAST_F16(name, A, B, CONVERT)                                            \
    EG_KERNEL void name(const A *x, size_t x_len, B *y, size_t y_len) {                         \
        size_t i;                                                                               \
        (void)x_len;                                                                            \
        for (i = 0; i < y_len; i++) {                                                           \
            A v = x[i];                                                                         \
            y[i] = CONVERT;                                                                     \
        }                                                                                       \
    }

EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_from_f16_f16_f32, uint16_t, float, (float)(eg_elementwise_f16_to_f64(v)))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_from_f16_f16_f64, uint16_t, double, (eg_elementwise_f16_to_f64(v)))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_from_f16_f16_i8, uint16_t, int8_t, eg_elementwise_f64_to_i8(eg_elementwise_f16_to_f64(v)))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_from_f16_f16_u8, uint16_t, uint8_t, eg_elementwise_f64_to_u8(eg_elementwise_f16_to_f64(v)))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_from_f16_f16_i16, uint16_t, int16_t, eg_elementwise_f64_to_i16(eg_elementwise_f16_to_f64(v)))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_from_f16_f16_u16, uint16_t, uint16_t, eg_elementwise_f64_to_u16(eg_elementwise_f16_to_f64(v)))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_from_f16_f16_i32, uint16_t, int32_t, eg_elementwise_f64_to_i32(eg_elementwise_f16_to_f64(v)))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_from_f16_f16_u32, uint16_t, uint32_t, eg_elementwise_f64_to_u32(eg_elementwise_f16_to_f64(v)))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_from_f16_f16_i64, uint16_t, int64_t, eg_elementwise_f64_to_i64(eg_elementwise_f16_to_f64(v)))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_from_f16_f16_u64, uint16_t, uint64_t, eg_elementwise_f64_to_u64(eg_elementwise_f16_to_f64(v)))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_from_f16_f16_bool, uint16_t, uint8_t, (uint8_t)((eg_elementwise_f16_to_f64(v)) != 0.0))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_from_f16_f16, uint16_t, uint16_t, eg_elementwise_f16_from_f64(eg_elementwise_f16_to_f64(v)))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_to_f16_f32_f16, float, uint16_t, eg_elementwise_f16_from_f64((double)v))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_to_f16_f64_f16, double, uint16_t, eg_elementwise_f16_from_f64((double)v))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_to_f16_i8_f16, int8_t, uint16_t, eg_elementwise_f16_from_f64((double)(int64_t)v))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_to_f16_u8_f16, uint8_t, uint16_t, eg_elementwise_f16_from_f64((double)(int64_t)v))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_to_f16_i16_f16, int16_t, uint16_t, eg_elementwise_f16_from_f64((double)(int64_t)v))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_to_f16_u16_f16, uint16_t, uint16_t, eg_elementwise_f16_from_f64((double)(int64_t)v))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_to_f16_i32_f16, int32_t, uint16_t, eg_elementwise_f16_from_f64((double)(int64_t)v))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_to_f16_u32_f16, uint32_t, uint16_t, eg_elementwise_f16_from_f64((double)(int64_t)v))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_to_f16_i64_f16, int64_t, uint16_t, eg_elementwise_f16_from_f64((double)(int64_t)v))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_to_f16_u64_f16, uint64_t, uint16_t, eg_elementwise_f16_from_f64((double)(int64_t)v))
EG_ELEMENTWISE_CAST_F16(eg_elementwise_cast_to_f16_bool_f16, uint8_t, uint16_t, eg_elementwise_f16_from_f64((double)(int64_t)v))
