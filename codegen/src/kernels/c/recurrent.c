/* recurrent: the recurrent cells RNN, GRU and LSTM over a whole sequence, in either direction or
 * both, writing one of their outputs (every hidden state Y, the last hidden state or the last
 * cell state), the C twin of edgegen's `kernels::recurrent`. Weights are in ONNX's layout
 * (gates i o f c for LSTM, z r h for GRU). The state of one sequence lives on the stack, in an
 * array of 3 * hidden floats: the Rust kernel's const parameter S, which the C kernel derives
 * from `hidden` (a constant once the kernel is inlined into its layer). */

enum { EG_RECURRENT_RNN, EG_RECURRENT_GRU, EG_RECURRENT_LSTM };

typedef struct {
    int kind;
} eg_recurrent_Cell;

EG_KERNEL eg_recurrent_Cell eg_recurrent_cell(int kind) {
    eg_recurrent_Cell c;
    c.kind = kind;
    return c;
}

/* The constructor of a variant without fields of a type that is its kind (Cell, Output), which
 * MAKE builds. */
#define EG_RECURRENT_VARIANT(name, TYPE, MAKE, KIND)                                            \
    EG_KERNEL TYPE name(void) {                                                                 \
        return MAKE(KIND);                                                                      \
    }

EG_RECURRENT_VARIANT(eg_recurrent_Cell_Rnn, eg_recurrent_Cell, eg_recurrent_cell, EG_RECURRENT_RNN)
EG_RECURRENT_VARIANT(eg_recurrent_Cell_Gru, eg_recurrent_Cell, eg_recurrent_cell, EG_RECURRENT_GRU)
EG_RECURRENT_VARIANT(eg_recurrent_Cell_Lstm, eg_recurrent_Cell, eg_recurrent_cell, EG_RECURRENT_LSTM)

enum {
    EG_RECURRENT_RELU,
    EG_RECURRENT_TANH,
    EG_RECURRENT_SIGMOID,
    EG_RECURRENT_AFFINE,
    EG_RECURRENT_LEAKY_RELU,
    EG_RECURRENT_THRESHOLDED_RELU,
    EG_RECURRENT_SCALED_TANH,
    EG_RECURRENT_HARD_SIGMOID,
    EG_RECURRENT_ELU,
    EG_RECURRENT_SOFTSIGN,
    EG_RECURRENT_SOFTPLUS
};

/* An activation function of a cell, with its parameters. */
typedef struct {
    int kind;
    float alpha, beta;
} eg_recurrent_Activation;

EG_KERNEL eg_recurrent_Activation eg_recurrent_activation(int kind, float alpha, float beta) {
    eg_recurrent_Activation a;
    a.kind = kind;
    a.alpha = alpha;
    a.beta = beta;
    return a;
}

/* The constructors of Activation's variants: without parameters, with alpha and with alpha
 * and beta. */
#define EG_RECURRENT_ACTIVATION_VARIANT(name, KIND)                                             \
    EG_KERNEL eg_recurrent_Activation name(void) {                                              \
        return eg_recurrent_activation(KIND, 0.0f, 0.0f);                                       \
    }
#define EG_RECURRENT_ACTIVATION_VARIANT_1(name, KIND, A)                                        \
    EG_KERNEL eg_recurrent_Activation name(float A) {                                           \
        return eg_recurrent_activation(KIND, A, 0.0f);                                          \
    }
#define EG_RECURRENT_ACTIVATION_VARIANT_2(name, KIND, A, B)                                     \
    EG_KERNEL eg_recurrent_Activation name(float A, float B) {                                  \
        return eg_recurrent_activation(KIND, A, B);                                             \
    }

EG_RECURRENT_ACTIVATION_VARIANT(eg_recurrent_Activation_Relu, EG_RECURRENT_RELU)
EG_RECURRENT_ACTIVATION_VARIANT(eg_recurrent_Activation_Tanh, EG_RECURRENT_TANH)
EG_RECURRENT_ACTIVATION_VARIANT(eg_recurrent_Activation_Sigmoid, EG_RECURRENT_SIGMOID)
EG_RECURRENT_ACTIVATION_VARIANT_2(eg_recurrent_Activation_Affine, EG_RECURRENT_AFFINE, alpha, beta)
EG_RECURRENT_ACTIVATION_VARIANT_1(eg_recurrent_Activation_LeakyRelu, EG_RECURRENT_LEAKY_RELU, alpha)
EG_RECURRENT_ACTIVATION_VARIANT_1(eg_recurrent_Activation_ThresholdedRelu, EG_RECURRENT_THRESHOLDED_RELU, alpha)
EG_RECURRENT_ACTIVATION_VARIANT_2(eg_recurrent_Activation_ScaledTanh, EG_RECURRENT_SCALED_TANH, alpha, beta)
EG_RECURRENT_ACTIVATION_VARIANT_2(eg_recurrent_Activation_HardSigmoid, EG_RECURRENT_HARD_SIGMOID, alpha, beta)
EG_RECURRENT_ACTIVATION_VARIANT_1(eg_recurrent_Activation_Elu, EG_RECURRENT_ELU, alpha)
EG_RECURRENT_ACTIVATION_VARIANT(eg_recurrent_Activation_Softsign, EG_RECURRENT_SOFTSIGN)
EG_RECURRENT_ACTIVATION_VARIANT(eg_recurrent_Activation_Softplus, EG_RECURRENT_SOFTPLUS)

EG_KERNEL float eg_recurrent_apply(eg_recurrent_Activation a, float x) {
    float v;
    switch (a.kind) {
    case EG_RECURRENT_RELU:
        return eg_math_max_f32(x, 0.0f);
    case EG_RECURRENT_TANH:
        return eg_math_tanh(x);
    case EG_RECURRENT_SIGMOID:
        return eg_math_sigmoid(x);
    case EG_RECURRENT_AFFINE:
        return a.alpha * x + a.beta;
    case EG_RECURRENT_LEAKY_RELU:
        return x < 0.0f ? a.alpha * x : x;
    case EG_RECURRENT_THRESHOLDED_RELU:
        return x > a.alpha ? x : 0.0f;
    case EG_RECURRENT_SCALED_TANH:
        return a.alpha * eg_math_tanh(a.beta * x);
    case EG_RECURRENT_HARD_SIGMOID:
        v = a.alpha * x + a.beta;
        return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    case EG_RECURRENT_ELU:
        return x < 0.0f ? a.alpha * (eg_math_exp(x) - 1.0f) : x;
    case EG_RECURRENT_SOFTSIGN:
        return x / (1.0f + eg_math_abs(x));
    default:
        return eg_math_ln(1.0f + eg_math_exp(x));
    }
}

enum { EG_RECURRENT_Y, EG_RECURRENT_LAST_H, EG_RECURRENT_LAST_C };

/* What a call writes: Y, Y_h or Y_c. */
typedef struct {
    int kind;
} eg_recurrent_Output;

EG_KERNEL eg_recurrent_Output eg_recurrent_output(int kind) {
    eg_recurrent_Output o;
    o.kind = kind;
    return o;
}

EG_RECURRENT_VARIANT(eg_recurrent_Output_Y, eg_recurrent_Output, eg_recurrent_output, EG_RECURRENT_Y)
EG_RECURRENT_VARIANT(eg_recurrent_Output_LastH, eg_recurrent_Output, eg_recurrent_output, EG_RECURRENT_LAST_H)
EG_RECURRENT_VARIANT(eg_recurrent_Output_LastC, eg_recurrent_Output, eg_recurrent_output, EG_RECURRENT_LAST_C)

typedef struct {
    eg_recurrent_Cell cell;
    size_t seq, batch, input_size, hidden, directions;
    int reverse, batch_first;
    eg_recurrent_Activation activations[6];
    float clip;
    int linear_before_reset, input_forget;
    eg_recurrent_Output output;
} eg_recurrent_Recurrent;

EG_KERNEL float eg_recurrent_dot(const float *a, const float *b, size_t len) {
    float acc = 0.0f;
    size_t i;
    for (i = 0; i < len; i++) {
        acc += a[i] * b[i];
    }
    return acc;
}

/* The activation k of direction d on v clipped to [-clip, clip] (Rust's clamp). */
EG_KERNEL float eg_recurrent_act(const eg_recurrent_Recurrent *p, size_t d, size_t k, float v) {
    if (v < -p->clip) {
        v = -p->clip;
    }
    if (v > p->clip) {
        v = p->clip;
    }
    return eg_recurrent_apply(p->activations[d * 3 + k], v);
}

/* Offset of Y[t, d, n, :]. */
EG_KERNEL size_t eg_recurrent_y_at(const eg_recurrent_Recurrent *p, size_t t, size_t d,
                                   size_t n) {
    if (p->batch_first) {
        return ((n * p->seq + t) * p->directions + d) * p->hidden;
    }
    return ((t * p->directions + d) * p->batch + n) * p->hidden;
}

/* Runs the cell over every sequence and writes p.output; bias, initial_h, initial_c and
 * peepholes may be empty (zero), an empty sequence_lens means every sequence is seq long. */
EG_KERNEL void eg_recurrent_recurrent(eg_recurrent_Recurrent p, const float *x, size_t x_len,
                                      const float *w, size_t w_len, const float *r,
                                      size_t r_len, const float *bias, size_t bias_len,
                                      const int32_t *sequence_lens, size_t sequence_lens_len,
                                      const float *initial_h, size_t initial_h_len,
                                      const float *initial_c, size_t initial_c_len,
                                      const float *peepholes, size_t peepholes_len, float *y,
                                      size_t y_len) {
    size_t h = p.hidden, n_in = p.input_size, d, n, j, step;
    size_t gates = p.cell.kind == EG_RECURRENT_RNN ? 1 : (p.cell.kind == EG_RECURRENT_GRU ? 3 : 4);
    float scratch[3 * p.hidden + 1];
    float *h_prev = scratch, *h_next = scratch + h, *extra = scratch + 2 * h;
    (void)x_len, (void)w_len, (void)r_len, (void)y_len;
    for (d = 0; d < p.directions; d++) {
        int reverse = d == 1 || p.reverse;
        const float *wd = w + d * gates * h * n_in, *rd = r + d * gates * h * h;
        const float *b = bias_len ? bias + d * 2 * gates * h : NULL;
        for (n = 0; n < p.batch; n++) {
            size_t len = p.seq, state_at;
            if (sequence_lens_len) {
                size_t l = sequence_lens[n] > 0 ? (size_t)sequence_lens[n] : 0;
                len = l < p.seq ? l : p.seq;
            }
            state_at = p.batch_first ? (n * p.directions + d) * h : (d * p.batch + n) * h;
            for (j = 0; j < h; j++) {
                h_prev[j] = initial_h_len ? initial_h[state_at + j] : 0.0f;
                extra[j] = initial_c_len == 0 || p.cell.kind != EG_RECURRENT_LSTM
                               ? 0.0f
                               : initial_c[state_at + j];
            }
            for (step = 0; step < len; step++) {
                size_t t = reverse ? len - 1 - step : step;
                size_t x_at = p.batch_first ? (n * p.seq + t) * n_in : (t * p.batch + n) * n_in;
                const float *xt = x + x_at;
/* W x + Wb + Rb of gate g, unit j, and R v. */
#define EG_RECURRENT_INPUT(g, j)                                                                \
    (eg_recurrent_dot(wd + ((g) * h + (j)) * n_in, xt, n_in) +                                  \
     (b ? b[(g) * h + (j)] + b[gates * h + (g) * h + (j)] : 0.0f))
#define EG_RECURRENT_PART(g, j, state) eg_recurrent_dot(rd + ((g) * h + (j)) * h, (state), h)
                if (p.cell.kind == EG_RECURRENT_RNN) {
                    for (j = 0; j < h; j++) {
                        h_next[j] = eg_recurrent_act(
                            &p, d, 0, EG_RECURRENT_INPUT(0, j) + EG_RECURRENT_PART(0, j, h_prev));
                    }
                } else if (p.cell.kind == EG_RECURRENT_GRU) {
                    for (j = 0; j < h; j++) {
                        float reset = eg_recurrent_act(
                            &p, d, 0, EG_RECURRENT_INPUT(1, j) + EG_RECURRENT_PART(1, j, h_prev));
                        extra[j] = p.linear_before_reset ? reset : reset * h_prev[j];
                    }
                    for (j = 0; j < h; j++) {
                        float z = eg_recurrent_act(
                            &p, d, 0, EG_RECURRENT_INPUT(0, j) + EG_RECURRENT_PART(0, j, h_prev));
                        float candidate;
                        if (p.linear_before_reset) {
                            float rb = b ? b[gates * h + 2 * h + j] : 0.0f;
                            float wb = b ? b[2 * h + j] : 0.0f;
                            float wx = eg_recurrent_dot(wd + (2 * h + j) * n_in, xt, n_in) + wb;
                            candidate = eg_recurrent_act(
                                &p, d, 1, wx + extra[j] * (EG_RECURRENT_PART(2, j, h_prev) + rb));
                        } else {
                            candidate = eg_recurrent_act(
                                &p, d, 1, EG_RECURRENT_INPUT(2, j) + EG_RECURRENT_PART(2, j, extra));
                        }
                        h_next[j] = (1.0f - z) * candidate + z * h_prev[j];
                    }
                } else {
                    for (j = 0; j < h; j++) {
                        float c = extra[j], i, f, c_next, o, pre[4];
                        float peep0 = peepholes_len ? peepholes[d * 3 * h + j] : 0.0f;
                        float peep1 = peepholes_len ? peepholes[d * 3 * h + h + j] : 0.0f;
                        float peep2 = peepholes_len ? peepholes[d * 3 * h + 2 * h + j] : 0.0f;
                        size_t g;
                        for (g = 0; g < 4; g++) {
                            pre[g] = EG_RECURRENT_INPUT(g, j) + EG_RECURRENT_PART(g, j, h_prev);
                        }
                        i = eg_recurrent_act(&p, d, 0, pre[0] + peep0 * c);
                        f = p.input_forget ? 1.0f - i : eg_recurrent_act(&p, d, 0, pre[2] + peep2 * c);
                        c_next = f * c + i * eg_recurrent_act(&p, d, 1, pre[3]);
                        o = eg_recurrent_act(&p, d, 0, pre[1] + peep1 * c_next);
                        extra[j] = c_next;
                        h_next[j] = o * eg_recurrent_apply(p.activations[d * 3 + 2], c_next);
                    }
                }
#undef EG_RECURRENT_INPUT
#undef EG_RECURRENT_PART
                memcpy(h_prev, h_next, h * sizeof(float));
                if (p.output.kind == EG_RECURRENT_Y) {
                    memcpy(y + eg_recurrent_y_at(&p, t, d, n), h_prev, h * sizeof(float));
                }
            }
            if (p.output.kind == EG_RECURRENT_Y) {
                size_t t;
                for (t = len; t < p.seq; t++) {
                    memset(y + eg_recurrent_y_at(&p, t, d, n), 0, h * sizeof(float));
                }
            } else {
                memcpy(y + state_at, p.output.kind == EG_RECURRENT_LAST_H ? h_prev : extra,
                       h * sizeof(float));
            }
        }
    }
}
