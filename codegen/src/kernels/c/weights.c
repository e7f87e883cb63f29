/* weights: how the float kernels read their weights, the C twin of edgegen's `kernels::weights`:
 * plain float arrays, or weights stored in fewer bits and decoded exactly where they are read
 * (int8 with per-channel scales, float16, a codebook of shared values).
 *
 * Rust kernels take any `impl Weights`; a C kernel has one function per format (`eg_gemm_gemm`
 * for floats, `eg_gemm_gemm_Int8`, ...), each a wrapper that makes an eg_weights_View of its
 * weights and calls the kernel's loops, which read them with eg_weights_at. The view's format
 * is a constant in each wrapper, so once inlined the switch disappears. */

/* Index i of a codebook of `count` values: 4 bits when count <= 16, two per byte (index 2j in
 * the low nibble of byte j), else one byte each. */
EG_KERNEL size_t eg_weights_codebook_index(const uint8_t *indices, size_t count, size_t i) {
    if (count <= 16) {
        return (size_t)((indices[i / 2] >> ((i % 2) * 4)) & 15);
    }
    return indices[i];
}

/* IEEE 754 half precision to single precision (exact). */
EG_KERNEL float eg_weights_f16_to_f32(uint16_t bits) {
    uint32_t sign = (uint32_t)(bits >> 15) << 31;
    uint32_t exponent = (uint32_t)(bits >> 10) & 0x1fu;
    uint32_t mantissa = (uint32_t)bits & 0x3ffu;
    uint32_t magnitude;
    float v;
    if (exponent == 0) {
        v = (float)mantissa * (1.0f / 16777216.0f);
        memcpy(&magnitude, &v, sizeof magnitude);
    } else if (exponent == 0x1f) {
        magnitude = 0xffu << 23 | mantissa << 13;
    } else {
        magnitude = (exponent + 127 - 15) << 23 | mantissa << 13;
    }
    magnitude |= sign;
    memcpy(&v, &magnitude, sizeof v);
    return v;
}

/* Weights stored as int8 integers with one scale per output channel (or one for all). */
typedef struct {
    const int8_t *values;
    size_t values_len;
    const float *scales;
    size_t scales_len;
} eg_weights_Int8;

/* Weights stored as float16 bit patterns. */
typedef struct {
    const uint16_t *bits;
    size_t bits_len;
} eg_weights_F16;

/* Weights shared among a few values: weight i of channel c is values[index(i)] times
 * scales[c] (or scales[0] for every channel, or nothing when there are no scales). */
typedef struct {
    const float *values;
    size_t values_len;
    const float *scales;
    size_t scales_len;
    const uint8_t *indices;
    size_t indices_len;
} eg_weights_Codebook;

enum { EG_WEIGHTS_F32 = 0, EG_WEIGHTS_INT8 = 1, EG_WEIGHTS_F16 = 2, EG_WEIGHTS_CODEBOOK = 3 };

/* Any of the formats, as the kernels' loops read them. */
typedef struct {
    int format;
    const float *f32;
    eg_weights_Int8 int8;
    eg_weights_F16 f16;
    eg_weights_Codebook codebook;
} eg_weights_View;

EG_KERNEL eg_weights_View eg_weights_view_f32(const float *w) {
    eg_weights_View v;
    memset(&v, 0, sizeof v);
    v.format = EG_WEIGHTS_F32;
    v.f32 = w;
    return v;
}

EG_KERNEL eg_weights_View eg_weights_view_Int8(eg_weights_Int8 w) {
    eg_weights_View v;
    memset(&v, 0, sizeof v);
    v.format = EG_WEIGHTS_INT8;
    v.int8 = w;
    return v;
}

EG_KERNEL eg_weights_View eg_weights_view_F16(eg_weights_F16 w) {
    eg_weights_View v;
    memset(&v, 0, sizeof v);
    v.format = EG_WEIGHTS_F16;
    v.f16 = w;
    return v;
}

EG_KERNEL eg_weights_View eg_weights_view_Codebook(eg_weights_Codebook w) {
    eg_weights_View v;
    memset(&v, 0, sizeof v);
    v.format = EG_WEIGHTS_CODEBOOK;
    v.codebook = w;
    return v;
}

/* Weight `index`, which belongs to output channel `channel` (Rust's Weights::at; a run within
 * or across channels is one `at` per weight). */
EG_KERNEL float eg_weights_at(const eg_weights_View *w, size_t index, size_t channel) {
    switch (w->format) {
    case EG_WEIGHTS_INT8:
        return (float)w->int8.values[index] *
               w->int8.scales[w->int8.scales_len == 1 ? 0 : channel];
    case EG_WEIGHTS_F16:
        return eg_weights_f16_to_f32(w->f16.bits[index]);
    case EG_WEIGHTS_CODEBOOK: {
        const eg_weights_Codebook *c = &w->codebook;
        float v = c->values[eg_weights_codebook_index(c->indices, c->values_len, index)];
        if (c->scales_len == 0) {
            return v;
        }
        return v * c->scales[c->scales_len == 1 ? 0 : channel];
    }
    default:
        return w->f32[index];
    }
}
