/* activation: the activations kernels apply to their results before storing them (fused
 * activations), the C twin of edgegen's `kernels::activation`. */

enum { EG_ACT_NONE = 0, EG_ACT_RELU = 1, EG_ACT_CLIP = 2, EG_ACT_LEAKY_RELU = 3 };

/* An activation: its kind and parameters (min and max of a clip, alpha of a leaky ReLU). */
typedef struct {
    int kind;
    float a, b;
} eg_activation_Activation;

EG_KERNEL eg_activation_Activation eg_activation_make(int kind, float a, float b) {
    eg_activation_Activation act;
    act.kind = kind;
    act.a = a;
    act.b = b;
    return act;
}

EG_KERNEL eg_activation_Activation eg_activation_Activation_None(void) {
    return eg_activation_make(EG_ACT_NONE, 0.0f, 0.0f);
}

EG_KERNEL eg_activation_Activation eg_activation_Activation_Relu(void) {
    return eg_activation_make(EG_ACT_RELU, 0.0f, 0.0f);
}

/* Clamp to [min, max] (ReLU6 is a clip to [0, 6]). */
EG_KERNEL eg_activation_Activation eg_activation_Activation_Clip(float min, float max) {
    return eg_activation_make(EG_ACT_CLIP, min, max);
}

/* x if x >= 0, else alpha * x. */
EG_KERNEL eg_activation_Activation eg_activation_Activation_LeakyRelu(float alpha) {
    return eg_activation_make(EG_ACT_LEAKY_RELU, alpha, 0.0f);
}

EG_KERNEL float eg_activation_apply(eg_activation_Activation act, float x) {
    switch (act.kind) {
    case EG_ACT_RELU:
        return eg_math_max_f32(x, 0.0f);
    case EG_ACT_CLIP:
        return eg_math_min_f32(eg_math_max_f32(x, act.a), act.b);
    case EG_ACT_LEAKY_RELU:
        return x < 0.0f ? act.a * x : x;
    default:
        return x;
    }
}

/* Applies the activation to every element of y. */
EG_KERNEL void eg_activation_apply_all(eg_activation_Activation act, float *y, size_t len) {
    size_t i;
    if (act.kind != EG_ACT_NONE) {
        for (i = 0; i < len; i++) {
            y[i] = eg_activation_apply(act, y[i]);
        }
    }
}
