/* nhwc: channels-last (NHWC) convolution and pooling, float and int8, the C twin of edgegen's
 * `kernels::nhwc`. Convolution weights are [c_out, k_h, k_w, c_in / groups]; for each output
 * pixel and each kernel tap inside the image the inner loop runs over contiguous channels of
 * the input pixel and of the weights. Taps outside the image are skipped (for int8 the same as
 * padding with the input zero point). The int8 convolution accumulates
 * sum((x - z_x) * w) + bias in int32 and requantizes per output channel. */

/* The geometry of one channels-last convolution or pooling window. */
typedef struct {
    size_t batch, h_in, w_in, c_in, h_out, w_out, c_out, k_h, k_w;
    size_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, groups;
} eg_nhwc_Window;

/* The input row of output row oy and kernel row ky in *iy; 0 when outside the image. */
EG_KERNEL int eg_nhwc_row(const eg_nhwc_Window *p, size_t oy, size_t ky, size_t *iy) {
    size_t v = oy * p->stride_h + ky * p->dilation_h;
    if (v < p->pad_top || v - p->pad_top >= p->h_in) {
        return 0;
    }
    *iy = v - p->pad_top;
    return 1;
}

/* The input column of output column ox and kernel column kx in *ix; 0 when outside. */
EG_KERNEL int eg_nhwc_col(const eg_nhwc_Window *p, size_t ox, size_t kx, size_t *ix) {
    size_t v = ox * p->stride_w + kx * p->dilation_w;
    if (v < p->pad_left || v - p->pad_left >= p->w_in) {
        return 0;
    }
    *ix = v - p->pad_left;
    return 1;
}

/* The quantization of an int8 convolution: input zero point, per-channel requantization, and
 * the output zero point and clamp range. */
typedef struct {
    int32_t input_zero_point;
    const int32_t *multipliers;
    size_t multipliers_len;
    const int32_t *shifts;
    size_t shifts_len;
    int32_t output_zero_point, output_min, output_max;
    /* Round the rescaled accumulator once rather than twice as TFLite's reference kernels do. */
    int single_rounding;
    /* Requantize with eg_quant_requantize_rounded, which gives the same value in one
     * multiply-add, with these two terms. */
    int one_multiply;
    int64_t rounding_base, negative_rounding;
} eg_nhwc_ConvQuant;

/* An accumulator requantized to int8 with the given multiplier and shift (a channel's). */
EG_KERNEL int8_t eg_nhwc_output_with(const eg_nhwc_ConvQuant *q, int32_t acc,
                                     int32_t multiplier, int32_t shift) {
    if (q->one_multiply) {
        return (int8_t)eg_quant_requantize_rounded(acc, multiplier, shift, q->output_zero_point,
                                                   q->rounding_base, q->negative_rounding,
                                                   q->output_min, q->output_max);
    }
    if (q->single_rounding) {
        return (int8_t)eg_quant_requantize_once(acc, multiplier, shift, q->output_zero_point,
                                                q->output_min, q->output_max);
    }
    return (int8_t)eg_quant_requantize(acc, multiplier, shift, q->output_zero_point,
                                       q->output_min, q->output_max);
}

/* Output channel oc's accumulator requantized to int8 (one multiplier and shift serve every
 * channel when there is one of each). */
EG_KERNEL int8_t eg_nhwc_output(const eg_nhwc_ConvQuant *q, int32_t acc, size_t oc) {
    if (q->multipliers_len == 1) {
        oc = 0;
    }
    return eg_nhwc_output_with(q, acc, q->multipliers[oc], q->shifts[oc]);
}

/* The four accumulators of two pixels (a, b) and two channels (u, v) requantized and stored:
 * {a.u, a.v, b.u, b.v}, each channel's parameters read once. */
EG_KERNEL void eg_nhwc_output_2x2(const eg_nhwc_ConvQuant *q, const int32_t acc[4], size_t u,
                                  size_t v, int8_t *a, int8_t *b) {
    size_t ku = q->multipliers_len == 1 ? 0 : u, kv = q->multipliers_len == 1 ? 0 : v;
    int32_t m = q->multipliers[ku], s = q->shifts[ku];
    int8_t au = eg_nhwc_output_with(q, acc[0], m, s), bu = eg_nhwc_output_with(q, acc[2], m, s);
    int8_t av, bv;
    m = q->multipliers[kv], s = q->shifts[kv];
    av = eg_nhwc_output_with(q, acc[1], m, s), bv = eg_nhwc_output_with(q, acc[3], m, s);
    a[u] = au, b[u] = bu, a[v] = av, b[v] = bv;
}

/* The weight formats of the int8 convolution: plain int8, 4-bit packed two per byte (each
 * channel starting on a byte boundary), or a codebook of at most 256 int8 values and an index
 * per weight (4 bits when the codebook has at most 16 values). */
enum { EG_NHWC_INT8 = 0, EG_NHWC_INT4 = 1, EG_NHWC_CODEBOOK = 2 };

/* The loops of the int8 convolutions, for one weight format. */
EG_KERNEL void eg_nhwc_conv_i8_by(eg_nhwc_Window p, eg_nhwc_ConvQuant q, const int8_t *x,
                                  int format, const int8_t *w, const uint8_t *packed,
                                  size_t codebook_len, const int32_t *bias, int8_t *y) {
    size_t cin_g = p.c_in / p.groups, cout_g = p.c_out / p.groups;
    size_t taps = p.k_h * p.k_w * cin_g;
    size_t row_bytes = (taps + 1) / 2;
    int32_t offset = -q.input_zero_point;
    size_t n, oy, ox, oc, ky, kx, i;
    for (n = 0; n < p.batch; n++) {
        for (oy = 0; oy < p.h_out; oy++) {
            for (ox = 0; ox < p.w_out; ox++) {
                int8_t *out = y + ((n * p.h_out + oy) * p.w_out + ox) * p.c_out;
                for (oc = 0; oc < p.c_out; oc++) {
                    size_t first = (oc / cout_g) * cin_g;
                    int32_t acc = bias ? bias[oc] : 0;
                    for (ky = 0; ky < p.k_h; ky++) {
                        size_t iy;
                        if (!eg_nhwc_row(&p, oy, ky, &iy)) {
                            continue;
                        }
                        for (kx = 0; kx < p.k_w; kx++) {
                            size_t ix, tap;
                            const int8_t *pixel;
                            if (!eg_nhwc_col(&p, ox, kx, &ix)) {
                                continue;
                            }
                            pixel = x + ((n * p.h_in + iy) * p.w_in + ix) * p.c_in + first;
                            tap = (ky * p.k_w + kx) * cin_g;
                            if (format == EG_NHWC_INT8) {
                                const int8_t *wk = w + oc * taps + tap;
                                for (i = 0; i < cin_g; i++) {
                                    acc += ((int32_t)pixel[i] + offset) * (int32_t)wk[i];
                                }
                            } else if (format == EG_NHWC_INT4) {
                                const uint8_t *row = packed + oc * row_bytes;
                                for (i = 0; i < cin_g; i++) {
                                    acc += ((int32_t)pixel[i] + offset) *
                                           eg_quant_int4_at(row, tap + i);
                                }
                            } else {
                                size_t at = oc * taps + tap;
                                for (i = 0; i < cin_g; i++) {
                                    size_t j = eg_weights_codebook_index(packed, codebook_len,
                                                                         at + i);
                                    acc += ((int32_t)pixel[i] + offset) * (int32_t)w[j];
                                }
                            }
                        }
                    }
                    out[oc] = eg_nhwc_output(&q, acc, oc);
                }
            }
        }
    }
}

/* Int8 channels-last convolution with per-channel requantization; bias is NULL or one int32
 * per output channel. */
EG_KERNEL void eg_nhwc_conv_i8(eg_nhwc_Window p, eg_nhwc_ConvQuant q, const int8_t *x,
                               size_t x_len, const int8_t *w, size_t w_len, const int32_t *bias,
                               size_t bias_len, int8_t *y, size_t y_len) {
    (void)x_len, (void)w_len, (void)bias_len, (void)y_len;
    eg_nhwc_conv_i8_by(p, q, x, EG_NHWC_INT8, w, NULL, 0, bias, y);
}

/* A 32-bit word of four int8 values, from any address. */
EG_KERNEL uint32_t eg_nhwc_word(const int8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* Bytes 0 and 2 of v sign-extended to the two halves of a word (SXTB16). */
EG_KERNEL uint32_t eg_nhwc_sxtb16(uint32_t v) {
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(v));
    return r;
}

/* Bytes 1 and 3 of v sign-extended to the two halves of a word (SXTB16 with ROR 8). */
EG_KERNEL uint32_t eg_nhwc_sxtb16_ror8(uint32_t v) {
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* acc plus the products of the low halves and of the high halves of a and b (SMLAD). */
EG_KERNEL int32_t eg_nhwc_smlad(uint32_t a, uint32_t b, int32_t acc) {
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#endif

/* Adds to acc the four dot products of two input pixels a, b with the weights of two output
 * channels u, v, n values each: {a.u, a.v, b.u, b.v}. On a core with the DSP extension
 * (Cortex-M4, M7, M33...) four values at a time: each word sign-extended to two pairs of 16-bit
 * halves (SXTB16), and two products added per instruction (SMLAD). */
EG_KERNEL void eg_nhwc_dot_2x2(int32_t acc[4], const int8_t *a, const int8_t *b,
                               const int8_t *u, const int8_t *v, size_t n) {
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    for (; i + 4 <= n; i += 4) {
        uint32_t wa = eg_nhwc_word(a + i), wb = eg_nhwc_word(b + i);
        uint32_t wu = eg_nhwc_word(u + i), wv = eg_nhwc_word(v + i);
        uint32_t a02 = eg_nhwc_sxtb16(wa), a13 = eg_nhwc_sxtb16_ror8(wa);
        uint32_t b02 = eg_nhwc_sxtb16(wb), b13 = eg_nhwc_sxtb16_ror8(wb);
        uint32_t u02 = eg_nhwc_sxtb16(wu), u13 = eg_nhwc_sxtb16_ror8(wu);
        uint32_t v02 = eg_nhwc_sxtb16(wv), v13 = eg_nhwc_sxtb16_ror8(wv);
        s0 = eg_nhwc_smlad(a13, u13, eg_nhwc_smlad(a02, u02, s0));
        s1 = eg_nhwc_smlad(a13, v13, eg_nhwc_smlad(a02, v02, s1));
        s2 = eg_nhwc_smlad(b13, u13, eg_nhwc_smlad(b02, u02, s2));
        s3 = eg_nhwc_smlad(b13, v13, eg_nhwc_smlad(b02, v02, s3));
    }
#endif
    for (; i < n; i++) {
        int32_t xa = a[i], xb = b[i], wu = u[i], wv = v[i];
        s0 += xa * wu;
        s1 += xa * wv;
        s2 += xb * wu;
        s3 += xb * wv;
    }
    acc[0] += s0;
    acc[1] += s1;
    acc[2] += s2;
    acc[3] += s3;
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* Widens n int8 values at a and at b (n a multiple of 4) into `widened`, four words per four
 * values: a's values 0 and 2, a's 1 and 3, b's 0 and 2, b's 1 and 3, as 16-bit halves (SXTB16:
 * the pairing eg_nhwc_dot_2x2_widened gives the weights). */
EG_KERNEL void eg_nhwc_widen_2(uint32_t *widened, const int8_t *a, const int8_t *b, size_t n) {
    size_t i;
    for (i = 0; i < n; i += 4) {
        uint32_t wa = eg_nhwc_word(a + i), wb = eg_nhwc_word(b + i);
        widened[0] = eg_nhwc_sxtb16(wa);
        widened[1] = eg_nhwc_sxtb16_ror8(wa);
        widened[2] = eg_nhwc_sxtb16(wb);
        widened[3] = eg_nhwc_sxtb16_ror8(wb);
        widened += 4;
    }
}

/* Four values of eg_nhwc_dot_2x2_widened in Thumb-2 assembly: the two channels' weight words
 * (the second at v_step) sign-extended to pairs, then the two pixels' pairs loaded a double word
 * at a time, the pointers stepping as they load. */
#define EG_NHWC_DOT_2X2_ASM                                                                     \
    "ldr %[t1], [%[u], %[v_step]]\n\t"                                                          \
    "ldr %[t0], [%[u]], #4\n\t"                                                                 \
    "sxtb16 %[t2], %[t0]\n\t"                                                                   \
    "sxtb16 %[t0], %[t0], ror #8\n\t"                                                           \
    "sxtb16 %[t3], %[t1]\n\t"                                                                   \
    "sxtb16 %[t1], %[t1], ror #8\n\t"                                                           \
    "ldrd %[t4], %[t5], [%[w]], #8\n\t"                                                         \
    "smlad %[s0], %[t4], %[t2], %[s0]\n\t"                                                      \
    "smlad %[s0], %[t5], %[t0], %[s0]\n\t"                                                      \
    "smlad %[s1], %[t4], %[t3], %[s1]\n\t"                                                      \
    "smlad %[s1], %[t5], %[t1], %[s1]\n\t"                                                      \
    "ldrd %[t4], %[t5], [%[w]], #8\n\t"                                                         \
    "smlad %[s2], %[t4], %[t2], %[s2]\n\t"                                                      \
    "smlad %[s2], %[t5], %[t0], %[s2]\n\t"                                                      \
    "smlad %[s3], %[t4], %[t3], %[s3]\n\t"                                                      \
    "smlad %[s3], %[t5], %[t1], %[s3]\n\t"

/* eg_nhwc_dot_2x2 with the two pixels widened by eg_nhwc_widen_2 (n a multiple of 4) and the
 * second channel's weights at u + v_step: per four values, two double-word loads of the
 * pixels' halves, two word loads of weights sign-extended once, and eight SMLADs. Built with
 * optimization for Thumb-2 (every Cortex-M with DSP), the loop is assembly, eight values a
 * step: 34 instructions per 32 multiply-adds, with nothing spilled. */
EG_KERNEL void eg_nhwc_dot_2x2_widened(int32_t acc[4], const uint32_t *widened,
                                       const int8_t *u, size_t v_step, size_t n) {
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    const uint32_t *end = widened + n;
#if defined(__OPTIMIZE__) && defined(__thumb2__)
    /* Eight values a step, in assembly, then the last four if n is not a multiple of 8 (the
     * compiler schedules the loads of two steps written in C early, and spills). Thumb-2 only:
     * in the ARM instruction set LDRD needs an even-odd pair of registers. */
    const uint32_t *end8 = widened + (n - n % 8);
    uint32_t t0, t1, t2, t3, t4, t5;
    while (widened != end8) {
        __asm__(EG_NHWC_DOT_2X2_ASM EG_NHWC_DOT_2X2_ASM
                : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [w] "+r"(widened),
                  [u] "+r"(u), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3),
                  [t4] "=&r"(t4), [t5] "=&r"(t5)
                : [v_step] "r"(v_step)
                : "memory");
    }
    if (widened != end) {
        __asm__(EG_NHWC_DOT_2X2_ASM
                : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [w] "+r"(widened),
                  [u] "+r"(u), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3),
                  [t4] "=&r"(t4), [t5] "=&r"(t5)
                : [v_step] "r"(v_step)
                : "memory");
    }
#else
    while (widened != end) {
        uint32_t a02 = widened[0], a13 = widened[1], b02, b13;
        uint32_t wu = eg_nhwc_word(u), wv = eg_nhwc_word(u + v_step);
        uint32_t u02 = eg_nhwc_sxtb16(wu), u13 = eg_nhwc_sxtb16_ror8(wu);
        uint32_t v02 = eg_nhwc_sxtb16(wv), v13 = eg_nhwc_sxtb16_ror8(wv);
        s0 = eg_nhwc_smlad(a13, u13, eg_nhwc_smlad(a02, u02, s0));
        s1 = eg_nhwc_smlad(a13, v13, eg_nhwc_smlad(a02, v02, s1));
        b02 = widened[2], b13 = widened[3];
        s2 = eg_nhwc_smlad(b13, u13, eg_nhwc_smlad(b02, u02, s2));
        s3 = eg_nhwc_smlad(b13, v13, eg_nhwc_smlad(b02, v02, s3));
        widened += 4;
        u += 4;
    }
#endif
    acc[0] = s0, acc[1] = s1, acc[2] = s2, acc[3] = s3;
}
#endif

/* The input pixel of output pixel (oy, ox) under kernel tap (ky, kx), or zero_pixel when the
 * tap falls outside the image. */
EG_KERNEL const int8_t *eg_nhwc_tap_pixel(const eg_nhwc_Window *p, const int8_t *image,
                                          const int8_t *zero_pixel, size_t oy, size_t ox,
                                          size_t ky, size_t kx) {
    size_t iy, ix;
    if (!eg_nhwc_row(p, oy, ky, &iy) || !eg_nhwc_col(p, ox, kx, &ix)) {
        return zero_pixel;
    }
    return image + (iy * p->w_in + ix) * p->c_in;
}

/* The k_w * c_in contiguous input values under kernel row ky of output pixel (oy, ox), or NULL
 * when some tap of the row falls outside the image or the taps are dilated. */
EG_KERNEL const int8_t *eg_nhwc_row_run(const eg_nhwc_Window *p, const int8_t *image,
                                        size_t oy, size_t ox, size_t ky) {
    size_t iy, left = ox * p->stride_w;
    if (p->dilation_w != 1 || !eg_nhwc_row(p, oy, ky, &iy) || left < p->pad_left ||
        left - p->pad_left + p->k_w > p->w_in) {
        return NULL;
    }
    return image + (iy * p->w_in + left - p->pad_left) * p->c_in;
}

/* The input patch of output pixel (oy, ox), [k_h, k_w, c_in], copied to dst: a kernel row at a
 * time where it lies inside the image, else tap by tap with zero_pixel outside. */
EG_KERNEL void eg_nhwc_copy_patch(const eg_nhwc_Window *p, const int8_t *image,
                                  const int8_t *zero_pixel, size_t oy, size_t ox, int8_t *dst) {
    size_t ky, kx, c_in = p->c_in, row = p->k_w * c_in;
    for (ky = 0; ky < p->k_h; ky++) {
        const int8_t *run = eg_nhwc_row_run(p, image, oy, ox, ky);
        if (run) {
            memcpy(dst + ky * row, run, row);
            continue;
        }
        for (kx = 0; kx < p->k_w; kx++) {
            memcpy(dst + ky * row + kx * c_in,
                   eg_nhwc_tap_pixel(p, image, zero_pixel, oy, ox, ky, kx), c_in);
        }
    }
}

/* eg_nhwc_conv_i8 for one group, with the input zero point folded into bias at compile time
 * (bias[oc] - z_x * sum(w[oc])): plain int8 dot products. A tap outside the image reads
 * zero_pixel (c_in copies of z_x), whose products cancel the folded term there. Output pixels
 * (row-major, across rows) and output channels are taken two by two; the last of an odd count
 * pairs with itself.
 *
 * `patches` is word-aligned work space from the layer function, which sizes it for the layer:
 * - 4 * k_h * k_w * c_in bytes, c_in a multiple of 4, on a core with the DSP extension: the two
 *   output pixels' input patches widened to 16 bits once (eg_nhwc_widen_2), so that the dot
 *   products sign-extend only the weights (eg_nhwc_dot_2x2_widened);
 * - other input widths, more than one tap, on a core with the DSP extension: the two patches
 *   copied as they are (2 * k_h * k_w * c_in bytes, rounded up to a word), then their values but
 *   the last k_h * k_w * c_in % 4 widened after them (4 bytes each), if that fits; the values
 *   left take the plain dot product;
 * - at least 2 * k_h * k_w * c_in bytes and more than one tap: the two patches copied as they
 *   are;
 * - none (NULL), or less: the dot products read each tap's pixel where it is.
 * Patches are copied or widened a kernel row at a time where the row lies inside the image; taps
 * outside it read zero_pixel. With a patch, each output channel is one dot product rather than
 * one per tap. */
EG_KERNEL void eg_nhwc_conv_i8_folded(eg_nhwc_Window p, eg_nhwc_ConvQuant q, const int8_t *x,
                                      size_t x_len, const int8_t *w, size_t w_len,
                                      const int32_t *bias, size_t bias_len,
                                      const int8_t *zero_pixel, size_t zero_pixel_len,
                                      int8_t *patches, size_t patches_len, int8_t *y,
                                      size_t y_len) {
    size_t c_in = p.c_in, c_out = p.c_out, plane = p.h_out * p.w_out;
    size_t per_channel = p.k_h * p.k_w * c_in, image_len = p.h_in * p.w_in * c_in;
    size_t n, first, oc, ky, kx;
    /* The values of a patch the widened dot products take, and where their work space starts
     * when the patches are copied first. */
    size_t head = per_channel - per_channel % 4, copied_len = (2 * per_channel + 3) & ~(size_t)3;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    int widened = c_in % 4 == 0 && patches_len >= 4 * per_channel;
    int widened_copy = !widened && p.k_h * p.k_w > 1 && head > 0 &&
                       patches_len >= copied_len + 4 * head;
#else
    const int widened = 0, widened_copy = 0;
#endif
    uint32_t *wide = (uint32_t *)(void *)patches;
    int patched = !widened && p.k_h * p.k_w > 1 && patches_len >= 2 * per_channel;
    (void)x_len, (void)w_len, (void)bias_len, (void)zero_pixel_len, (void)y_len;
    if (widened_copy) {
        wide += copied_len / 4;
    } else {
        head = widened ? per_channel : 0;
    }
    for (n = 0; n < p.batch; n++) {
        const int8_t *image = x + n * image_len;
        int8_t *out = y + n * plane * c_out;
        for (first = 0; first < plane; first += 2) {
            size_t second = first + 1 < plane ? first + 1 : plane - 1;
            size_t oy = first / p.w_out, ox = first % p.w_out;
            size_t oy1 = second / p.w_out, ox1 = second % p.w_out;
            if (patched) {
                eg_nhwc_copy_patch(&p, image, zero_pixel, oy, ox, patches);
                eg_nhwc_copy_patch(&p, image, zero_pixel, oy1, ox1, patches + per_channel);
            }
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
            if (widened_copy) {
                eg_nhwc_widen_2(wide, patches, patches + per_channel, head);
            }
            for (ky = 0; ky < p.k_h && widened; ky++) {
                size_t row = p.k_w * c_in;
                const int8_t *a = eg_nhwc_row_run(&p, image, oy, ox, ky);
                const int8_t *b = eg_nhwc_row_run(&p, image, oy1, ox1, ky);
                if (a && b) {
                    eg_nhwc_widen_2(wide + ky * row, a, b, row);
                    continue;
                }
                for (kx = 0; kx < p.k_w; kx++) {
                    size_t tap = (ky * p.k_w + kx) * c_in;
                    a = eg_nhwc_tap_pixel(&p, image, zero_pixel, oy, ox, ky, kx);
                    b = eg_nhwc_tap_pixel(&p, image, zero_pixel, oy1, ox1, ky, kx);
                    eg_nhwc_widen_2(wide + tap, a, b, c_in);
                }
            }
#endif
            for (oc = 0; oc < c_out; oc += 2) {
                size_t oc1 = oc + 1 < c_out ? oc + 1 : c_out - 1;
                int32_t acc[4];
                acc[0] = bias[oc], acc[1] = bias[oc1], acc[2] = bias[oc], acc[3] = bias[oc1];
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
                if (head > 0) {
                    eg_nhwc_dot_2x2_widened(acc, wide, w + oc * per_channel,
                                            (oc1 - oc) * per_channel, head);
                }
#endif
                if (patched) {
                    eg_nhwc_dot_2x2(acc, patches + head, patches + per_channel + head,
                                    w + oc * per_channel + head, w + oc1 * per_channel + head,
                                    per_channel - head);
                } else if (!widened) {
                    for (ky = 0; ky < p.k_h; ky++) {
                        for (kx = 0; kx < p.k_w; kx++) {
                            size_t tap = (ky * p.k_w + kx) * c_in;
                            eg_nhwc_dot_2x2(
                                acc, eg_nhwc_tap_pixel(&p, image, zero_pixel, oy, ox, ky, kx),
                                eg_nhwc_tap_pixel(&p, image, zero_pixel, oy1, ox1, ky, kx),
                                w + oc * per_channel + tap, w + oc1 * per_channel + tap, c_in);
                        }
                    }
                }
                eg_nhwc_output_2x2(&q, acc, oc, oc1, out + first * c_out, out + second * c_out);
            }
        }
    }
}

/* The most kernel taps eg_nhwc_depthwise_i8 takes (the lowering checks). */
#define EG_NHWC_DEPTHWISE_TAPS 64

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* The int16 values of work space eg_nhwc_depthwise_rows has: as many rows of one input channel
 * as fit, widened and padded (512 bytes of the layer's stack). */
#define EG_NHWC_DEPTHWISE_ROW_VALUES 256
/* The most pairs of weights of one channel it takes. */
#define EG_NHWC_DEPTHWISE_PAIRS 32

/* Two int16 values from any address, as the halves of a word. */
EG_KERNEL uint32_t eg_nhwc_pair(const int16_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* acc plus the low half of a times the high half of b (SMLABT). */
EG_KERNEL int32_t eg_nhwc_smlabt(uint32_t a, uint32_t b, int32_t acc) {
    int32_t r;
    __asm__("smlabt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* acc plus the high half of a times the low half of b (SMLATB). */
EG_KERNEL int32_t eg_nhwc_smlatb(uint32_t a, uint32_t b, int32_t acc) {
    int32_t r;
    __asm__("smlatb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* Two int8 values as the int16 halves of a word. */
EG_KERNEL uint32_t eg_nhwc_pack(int8_t lo, int8_t hi) {
    return (uint32_t)(uint16_t)(int16_t)lo | (uint32_t)(uint16_t)(int16_t)hi << 16;
}

/* row[0..len] set to z. */
EG_KERNEL void eg_nhwc_depthwise_fill(int16_t *row, size_t len, int16_t z) {
    uint32_t zz = eg_nhwc_pack((int8_t)z, (int8_t)z);
    size_t i;
    for (i = 0; i + 2 <= len; i += 2) {
        memcpy(row + i, &zz, sizeof zz);
    }
    if (i < len) {
        row[i] = z;
    }
}

/* Input row iy (counted from the top padding's first row) of channel ch widened to int16 into
 * row[0..len], two values at a time: the image's columns after the left padding, or the zero
 * point z throughout when the row lies outside the image. The padding columns are the caller's
 * to fill, once. */
EG_KERNEL void eg_nhwc_depthwise_row(const eg_nhwc_Window *p, const int8_t *image, size_t iy,
                                     size_t ch, int16_t z, int16_t *row, size_t len) {
    size_t i, left = p->pad_left < len ? p->pad_left : len, c = p->c_in;
    size_t copied = len - left < p->w_in ? len - left : p->w_in;
    const int8_t *src;
    if (iy < p->pad_top || iy - p->pad_top >= p->h_in) {
        eg_nhwc_depthwise_fill(row, len, z);
        return;
    }
    src = image + (iy - p->pad_top) * p->w_in * c + ch;
    for (i = 0; i + 2 <= copied; i += 2) {
        uint32_t v = eg_nhwc_pack(src[i * c], src[(i + 1) * c]);
        memcpy(row + left + i, &v, sizeof v);
    }
    if (i < copied) {
        row[left + i] = src[i * c];
    }
}

/* The accumulators of two output pixels of a 3 x 3 window, one row of taps: their input pairs
 * at `at` (the first pixel's), the channel's weights for that row as the pairs (w0, w1) and
 * (w1, w2). Stride 1: the second pixel's taps start one value on (SMLATB, then SMLAD). Stride
 * 2: two values on, a pair the first pixel's last tap shares. */
EG_KERNEL void eg_nhwc_depthwise_row_3(int32_t *s0, int32_t *s1, const int16_t *at,
                                       uint32_t w01, uint32_t w12, size_t stride) {
    uint32_t lo = eg_nhwc_pair(at), mid = eg_nhwc_pair(at + 2);
    *s0 = eg_nhwc_smlabt(mid, w12, eg_nhwc_smlad(lo, w01, *s0));
    if (stride == 1) {
        *s1 = eg_nhwc_smlad(mid, w12, eg_nhwc_smlatb(lo, w01, *s1));
    } else {
        *s1 = eg_nhwc_smlabt(eg_nhwc_pair(at + 4), w12, eg_nhwc_smlad(mid, w01, *s1));
    }
}

/* The accumulator of one output pixel of a 3 x 3 window, one row of taps (as above). */
EG_KERNEL int32_t eg_nhwc_depthwise_row_1(int32_t s0, const int16_t *at, uint32_t w01,
                                          uint32_t w12) {
    return eg_nhwc_smlabt(eg_nhwc_pair(at + 2), w12, eg_nhwc_smlad(eg_nhwc_pair(at), w01, s0));
}

/* eg_nhwc_depthwise_i8 one channel at a time, on a core with the DSP extension, for a window
 * at least two taps wide, without dilation; returns 0, having done nothing, otherwise or where
 * the rows do not fit the work space (the caller then takes four channels at a time).
 * For each channel, a band of input rows is widened into 16-bit work space, padded with the
 * zero point, so that two horizontally adjacent taps are one word: one SMLAD multiplies them
 * by the channel's weights for those taps, packed into a word once per channel (an odd last
 * tap pairs with a zero weight). A 3 x 3 window of stride 1 or 2 takes two output pixels at a
 * time, which share input words, and an odd last one alone. The channel's requantization
 * constants stay the same across its pixels. */
EG_KERNEL int eg_nhwc_depthwise_rows(const eg_nhwc_Window *p, const eg_nhwc_ConvQuant *q,
                                     const int8_t *image, const int8_t *w, const int32_t *bias,
                                     int16_t z, int8_t *y) {
    size_t c = p->c_in, width = (p->w_out - 1) * p->stride_w + p->k_w;
    int three = p->k_h == 3 && p->k_w == 3 && (p->stride_w == 1 || p->stride_w == 2);
    /* Each row holds one value more than the taps read, so that a pair may start at the last
     * tap; rows start at even offsets. */
    size_t row_len = (width + 2) & ~(size_t)1;
    size_t band_rows = EG_NHWC_DEPTHWISE_ROW_VALUES / row_len;
    size_t pairs = (p->k_w + 1) / 2, band, ch, oy0, oy, ox, ky, j, r;
    int16_t rows[EG_NHWC_DEPTHWISE_ROW_VALUES];
    uint32_t packed[EG_NHWC_DEPTHWISE_PAIRS];
    if (p->k_w < 2 || p->dilation_h != 1 || p->dilation_w != 1 || band_rows < p->k_h ||
        p->k_h * pairs > EG_NHWC_DEPTHWISE_PAIRS) {
        return 0;
    }
    /* Output rows per band. */
    band = (band_rows - p->k_h) / p->stride_h + 1;
    eg_nhwc_depthwise_fill(rows, band_rows * row_len, z);
    for (ch = 0; ch < c; ch++) {
        int32_t m = q->multipliers[q->multipliers_len == 1 ? 0 : ch];
        int32_t s = q->shifts[q->shifts_len == 1 ? 0 : ch], b = bias[ch];
        const int8_t *t = w + ch;
        uint32_t a01 = 0, b01 = 0, c01 = 0, a12 = 0, b12 = 0, c12 = 0;
        for (ky = 0; ky < p->k_h; ky++) {
            for (j = 0; j < pairs; j++) {
                size_t kx = 2 * j;
                int8_t hi = kx + 1 < p->k_w ? t[(ky * p->k_w + kx + 1) * c] : 0;
                packed[ky * pairs + j] = eg_nhwc_pack(t[(ky * p->k_w + kx) * c], hi);
            }
        }
        if (three) {
            /* The pairs (w0, w1) and (w1, w2) of each row. */
            a01 = packed[0], b01 = packed[2], c01 = packed[4];
            a12 = eg_nhwc_pack(t[c], t[2 * c]);
            b12 = eg_nhwc_pack(t[4 * c], t[5 * c]);
            c12 = eg_nhwc_pack(t[7 * c], t[8 * c]);
        }
        for (oy0 = 0; oy0 < p->h_out; oy0 += band) {
            size_t n_rows = p->h_out - oy0 < band ? p->h_out - oy0 : band;
            for (r = 0; r < (n_rows - 1) * p->stride_h + p->k_h; r++) {
                eg_nhwc_depthwise_row(p, image, oy0 * p->stride_h + r, ch, z,
                                      rows + r * row_len, row_len);
            }
            for (oy = 0; oy < n_rows; oy++) {
                const int16_t *top = rows + oy * p->stride_h * row_len;
                int8_t *out = y + (oy0 + oy) * p->w_out * c + ch;
                if (three) {
                    for (ox = 0; ox + 2 <= p->w_out; ox += 2) {
                        const int16_t *at = top + ox * p->stride_w;
                        int32_t s0 = b, s1 = b;
                        eg_nhwc_depthwise_row_3(&s0, &s1, at, a01, a12, p->stride_w);
                        eg_nhwc_depthwise_row_3(&s0, &s1, at + row_len, b01, b12, p->stride_w);
                        eg_nhwc_depthwise_row_3(&s0, &s1, at + 2 * row_len, c01, c12,
                                                p->stride_w);
                        out[ox * c] = eg_nhwc_output_with(q, s0, m, s);
                        out[(ox + 1) * c] = eg_nhwc_output_with(q, s1, m, s);
                    }
                    if (ox < p->w_out) {
                        const int16_t *at = top + ox * p->stride_w;
                        int32_t s0 = eg_nhwc_depthwise_row_1(b, at, a01, a12);
                        s0 = eg_nhwc_depthwise_row_1(s0, at + row_len, b01, b12);
                        s0 = eg_nhwc_depthwise_row_1(s0, at + 2 * row_len, c01, c12);
                        out[ox * c] = eg_nhwc_output_with(q, s0, m, s);
                    }
                    continue;
                }
                for (ox = 0; ox < p->w_out; ox++) {
                    int32_t acc = b;
                    for (ky = 0; ky < p->k_h; ky++) {
                        const int16_t *at = top + ky * row_len + ox * p->stride_w;
                        for (j = 0; j < pairs; j++) {
                            acc = eg_nhwc_smlad(eg_nhwc_pair(at + 2 * j), packed[ky * pairs + j],
                                                acc);
                        }
                    }
                    out[ox * c] = eg_nhwc_output_with(q, acc, m, s);
                }
            }
        }
    }
    return 1;
}
#endif


EG_KERNEL void eg_nhwc_depthwise_i8(eg_nhwc_Window p, eg_nhwc_ConvQuant q, const int8_t *x,
                                    size_t x_len, const int8_t *w, size_t w_len,
                                    const int32_t *bias, size_t bias_len,
                                    const int8_t *zero_pixel, size_t zero_pixel_len, int8_t *y,
                                    size_t y_len) {
    size_t c = p.c_in, taps = p.k_h * p.k_w, n, oy, ox, ky, kx, c0, t;
    size_t span_h = (p.k_h - 1) * p.dilation_h, span_w = (p.k_w - 1) * p.dilation_w;
    (void)x_len, (void)w_len, (void)bias_len, (void)zero_pixel_len, (void)y_len;
    for (n = 0; n < p.batch; n++) {
        const int8_t *image = x + n * p.h_in * p.w_in * c;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
        if (eg_nhwc_depthwise_rows(&p, &q, image, w, bias, zero_pixel[0],
                                   y + n * p.h_out * p.w_out * c)) {
            continue;
        }
#endif
        for (oy = 0; oy < p.h_out; oy++) {
            size_t top = oy * p.stride_h;
            int rows_inside = top >= p.pad_top && top - p.pad_top + span_h < p.h_in;
            for (ox = 0; ox < p.w_out; ox++) {
                int8_t *out = y + ((n * p.h_out + oy) * p.w_out + ox) * c;
                size_t left = ox * p.stride_w;
                /* The input pixel of each tap, found once for all the channels: by steps from
                 * the first tap's when all the taps fall inside the image. */
                const int8_t *pixels[EG_NHWC_DEPTHWISE_TAPS];
                if (rows_inside && left >= p.pad_left && left - p.pad_left + span_w < p.w_in) {
                    for (ky = 0, t = 0; ky < p.k_h; ky++) {
                        size_t iy = top - p.pad_top + ky * p.dilation_h;
                        const int8_t *row = image + (iy * p.w_in + (left - p.pad_left)) * c;
                        for (kx = 0; kx < p.k_w; kx++, t++) {
                            pixels[t] = row + kx * p.dilation_w * c;
                        }
                    }
                } else {
                    for (ky = 0; ky < p.k_h; ky++) {
                        for (kx = 0; kx < p.k_w; kx++) {
                            pixels[ky * p.k_w + kx] =
                                eg_nhwc_tap_pixel(&p, image, zero_pixel, oy, ox, ky, kx);
                        }
                    }
                }
                for (c0 = 0; c0 + 4 <= c; c0 += 4) {
                    int32_t a0 = bias[c0], a1 = bias[c0 + 1], a2 = bias[c0 + 2];
                    int32_t a3 = bias[c0 + 3];
                    for (t = 0; t < taps; t++) {
                        const int8_t *v = pixels[t] + c0;
                        const int8_t *wk = w + t * c + c0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
                        uint32_t wv = eg_nhwc_word(v), ww = eg_nhwc_word(wk);
                        uint32_t v02 = eg_nhwc_sxtb16(wv), v13 = eg_nhwc_sxtb16_ror8(wv);
                        uint32_t w02 = eg_nhwc_sxtb16(ww), w13 = eg_nhwc_sxtb16_ror8(ww);
                        __asm__("smlabb %0, %1, %2, %0" : "+r"(a0) : "r"(v02), "r"(w02));
                        __asm__("smlatt %0, %1, %2, %0" : "+r"(a2) : "r"(v02), "r"(w02));
                        __asm__("smlabb %0, %1, %2, %0" : "+r"(a1) : "r"(v13), "r"(w13));
                        __asm__("smlatt %0, %1, %2, %0" : "+r"(a3) : "r"(v13), "r"(w13));
#else
                        a0 += (int32_t)v[0] * (int32_t)wk[0];
                        a1 += (int32_t)v[1] * (int32_t)wk[1];
                        a2 += (int32_t)v[2] * (int32_t)wk[2];
                        a3 += (int32_t)v[3] * (int32_t)wk[3];
#endif
                    }
                    out[c0] = eg_nhwc_output(&q, a0, c0);
                    out[c0 + 1] = eg_nhwc_output(&q, a1, c0 + 1);
                    out[c0 + 2] = eg_nhwc_output(&q, a2, c0 + 2);
                    out[c0 + 3] = eg_nhwc_output(&q, a3, c0 + 3);
                }
                for (; c0 < c; c0++) {
                    int32_t a = bias[c0];
                    for (t = 0; t < taps; t++) {
                        a += (int32_t)pixels[t][c0] * (int32_t)w[t * c + c0];
                    }
                    out[c0] = eg_nhwc_output(&q, a, c0);
                }
            }
        }
    }
}

/* eg_nhwc_conv_i8 with 4-bit weights (--quantize int4-weights). */
EG_KERNEL void eg_nhwc_conv_i8_int4_weights(eg_nhwc_Window p, eg_nhwc_ConvQuant q,
                                            const int8_t *x, size_t x_len, const uint8_t *w,
                                            size_t w_len, const int32_t *bias, size_t bias_len,
                                            int8_t *y, size_t y_len) {
    (void)x_len, (void)w_len, (void)bias_len, (void)y_len;
    eg_nhwc_conv_i8_by(p, q, x, EG_NHWC_INT4, NULL, w, 0, bias, y);
}

/* eg_nhwc_conv_i8 with weights shared among the values of a codebook (--cluster K). */
EG_KERNEL void eg_nhwc_conv_i8_codebook(eg_nhwc_Window p, eg_nhwc_ConvQuant q, const int8_t *x,
                                        size_t x_len, const int8_t *codebook,
                                        size_t codebook_len, const uint8_t *indices,
                                        size_t indices_len, const int32_t *bias,
                                        size_t bias_len, int8_t *y, size_t y_len) {
    (void)x_len, (void)indices_len, (void)bias_len, (void)y_len;
    eg_nhwc_conv_i8_by(p, q, x, EG_NHWC_CODEBOOK, codebook, indices, codebook_len, bias, y);
}

/* Float channels-last convolution: y = activation(conv(x, w) + bias), the weights in any
 * format of eg_weights (one function per format below). */
EG_KERNEL void eg_nhwc_conv_f32_by(eg_nhwc_Window p, eg_activation_Activation act,
                                   const float *x, eg_weights_View w, const float *bias,
                                   size_t bias_len, float *y) {
    size_t cin_g = p.c_in / p.groups, cout_g = p.c_out / p.groups;
    size_t taps = p.k_h * p.k_w * cin_g;
    size_t n, oy, ox, oc, ky, kx, i;
    for (n = 0; n < p.batch; n++) {
        for (oy = 0; oy < p.h_out; oy++) {
            for (ox = 0; ox < p.w_out; ox++) {
                float *out = y + ((n * p.h_out + oy) * p.w_out + ox) * p.c_out;
                for (oc = 0; oc < p.c_out; oc++) {
                    size_t first = (oc / cout_g) * cin_g;
                    float acc = bias_len ? bias[oc] : 0.0f;
                    for (ky = 0; ky < p.k_h; ky++) {
                        size_t iy;
                        if (!eg_nhwc_row(&p, oy, ky, &iy)) {
                            continue;
                        }
                        for (kx = 0; kx < p.k_w; kx++) {
                            size_t ix, start;
                            const float *pixel;
                            float sum = 0.0f;
                            if (!eg_nhwc_col(&p, ox, kx, &ix)) {
                                continue;
                            }
                            pixel = x + ((n * p.h_in + iy) * p.w_in + ix) * p.c_in + first;
                            start = oc * taps + (ky * p.k_w + kx) * cin_g;
                            for (i = 0; i < cin_g; i++) {
                                sum += pixel[i] * eg_weights_at(&w, start + i, oc);
                            }
                            acc += sum;
                        }
                    }
                    out[oc] = eg_activation_apply(act, acc);
                }
            }
        }
    }
}

EG_KERNEL void eg_nhwc_conv_f32(eg_nhwc_Window p, eg_activation_Activation act, const float *x,
                                size_t x_len, const float *w, size_t w_len, const float *bias,
                                size_t bias_len, float *y, size_t y_len) {
    (void)x_len, (void)w_len, (void)y_len;
    eg_nhwc_conv_f32_by(p, act, x, eg_weights_view_f32(w), bias, bias_len, y);
}

EG_KERNEL void eg_nhwc_conv_f32_Int8(eg_nhwc_Window p, eg_activation_Activation act,
                                     const float *x, size_t x_len, eg_weights_Int8 w,
                                     const float *bias, size_t bias_len, float *y, size_t y_len) {
    (void)x_len, (void)y_len;
    eg_nhwc_conv_f32_by(p, act, x, eg_weights_view_Int8(w), bias, bias_len, y);
}

EG_KERNEL void eg_nhwc_conv_f32_F16(eg_nhwc_Window p, eg_activation_Activation act,
                                    const float *x, size_t x_len, eg_weights_F16 w,
                                    const float *bias, size_t bias_len, float *y, size_t y_len) {
    (void)x_len, (void)y_len;
    eg_nhwc_conv_f32_by(p, act, x, eg_weights_view_F16(w), bias, bias_len, y);
}

EG_KERNEL void eg_nhwc_conv_f32_Codebook(eg_nhwc_Window p, eg_activation_Activation act,
                                         const float *x, size_t x_len, eg_weights_Codebook w,
                                         const float *bias, size_t bias_len, float *y,
                                         size_t y_len) {
    (void)x_len, (void)y_len;
    eg_nhwc_conv_f32_by(p, act, x, eg_weights_view_Codebook(w), bias, bias_len, y);
}

/* The hybrid convolution of TFLite (float activations, int8 weights with one scale): each
 * image is quantized symmetrically by its largest magnitude, convolved in int32 and the sum
 * rescaled to float before the bias and activation. */
EG_KERNEL void eg_nhwc_conv_hybrid(eg_nhwc_Window p, eg_activation_Activation act,
                                   float weight_scale, const float *x, size_t x_len,
                                   const int8_t *w, size_t w_len, const float *bias,
                                   size_t bias_len, float *y, size_t y_len) {
    size_t cin_g = p.c_in / p.groups, cout_g = p.c_out / p.groups;
    size_t taps = p.k_h * p.k_w * cin_g;
    size_t image_len = p.h_in * p.w_in * p.c_in;
    size_t n, oy, ox, oc, ky, kx, i;
    (void)x_len, (void)w_len, (void)y_len;
    for (n = 0; n < p.batch; n++) {
        const float *image = x + n * image_len;
        float range = 0.0f, scale, inverse, output_scale;
        for (i = 0; i < image_len; i++) {
            range = eg_math_max_f32(range, eg_math_abs(image[i]));
        }
        /* An all-zero image quantizes to zeros whatever the factor; TFLite's scale is then 1. */
        if (range == 0.0f) {
            scale = 1.0f;
            inverse = 0.0f;
        } else {
            scale = range / 127.0f;
            inverse = 127.0f / range;
        }
        output_scale = scale * weight_scale;
        for (oy = 0; oy < p.h_out; oy++) {
            for (ox = 0; ox < p.w_out; ox++) {
                float *out = y + ((n * p.h_out + oy) * p.w_out + ox) * p.c_out;
                for (oc = 0; oc < p.c_out; oc++) {
                    size_t first = (oc / cout_g) * cin_g;
                    const int8_t *weights = w + oc * taps;
                    int32_t acc = 0;
                    for (ky = 0; ky < p.k_h; ky++) {
                        size_t iy;
                        if (!eg_nhwc_row(&p, oy, ky, &iy)) {
                            continue;
                        }
                        for (kx = 0; kx < p.k_w; kx++) {
                            size_t ix;
                            const float *pixel;
                            const int8_t *wk;
                            if (!eg_nhwc_col(&p, ox, kx, &ix)) {
                                continue;
                            }
                            pixel = image + (iy * p.w_in + ix) * p.c_in + first;
                            wk = weights + (ky * p.k_w + kx) * cin_g;
                            for (i = 0; i < cin_g; i++) {
                                /* Rust's `as i32` (saturating, NaN to 0), then the clamp. */
                                float r = eg_math_round_half_away_from_zero(pixel[i] * inverse);
                                int32_t q = r != r ? 0 : (r > 127.0f ? 127 : (r < -127.0f ? -127 : (int32_t)r));
                                acc += q * (int32_t)wk[i];
                            }
                        }
                    }
                    out[oc] = eg_activation_apply(
                        act, (float)acc * output_scale + (bias_len ? bias[oc] : 0.0f));
                }
            }
        }
    }
}

/* Float channels-last average (over the window positions inside the image) or max pooling. */
EG_KERNEL void eg_nhwc_pool_f32(eg_nhwc_Window p, int max, eg_activation_Activation act,
                                const float *x, size_t x_len, float *y, size_t y_len) {
    size_t n, oy, ox, ky, kx, c;
    (void)x_len, (void)y_len;
    for (n = 0; n < p.batch; n++) {
        for (oy = 0; oy < p.h_out; oy++) {
            for (ox = 0; ox < p.w_out; ox++) {
                float *out = y + ((n * p.h_out + oy) * p.w_out + ox) * p.c_in;
                size_t count = 0;
                float divisor;
                for (c = 0; c < p.c_in; c++) {
                    out[c] = max ? -EG_INFINITY : 0.0f;
                }
                for (ky = 0; ky < p.k_h; ky++) {
                    size_t iy;
                    if (!eg_nhwc_row(&p, oy, ky, &iy)) {
                        continue;
                    }
                    for (kx = 0; kx < p.k_w; kx++) {
                        size_t ix;
                        const float *pixel;
                        if (!eg_nhwc_col(&p, ox, kx, &ix)) {
                            continue;
                        }
                        count++;
                        pixel = x + ((n * p.h_in + iy) * p.w_in + ix) * p.c_in;
                        for (c = 0; c < p.c_in; c++) {
                            out[c] = max ? eg_math_max_f32(out[c], pixel[c]) : out[c] + pixel[c];
                        }
                    }
                }
                divisor = max ? 1.0f : (float)(count > 0 ? count : 1);
                for (c = 0; c < p.c_in; c++) {
                    out[c] = eg_activation_apply(act, out[c] / divisor);
                }
            }
        }
    }
}

/* Int8 channels-last pooling (input and output share one quantization): the max, or the sum
 * over the window positions inside the image divided with rounding half away from zero; then
 * clamped to [min_out, max_out]. */
EG_KERNEL void eg_nhwc_pool_i8(eg_nhwc_Window p, int max, int32_t min_out, int32_t max_out,
                               const int8_t *x, size_t x_len, int8_t *y, size_t y_len) {
    int32_t acc[64];
    size_t n, oy, ox, ky, kx, c, c0;
    (void)x_len, (void)y_len;
    for (n = 0; n < p.batch; n++) {
        for (oy = 0; oy < p.h_out; oy++) {
            for (ox = 0; ox < p.w_out; ox++) {
                /* Channels in blocks of 64, accumulated in int32. */
                for (c0 = 0; c0 < p.c_in; c0 += 64) {
                    size_t width = p.c_in - c0 < 64 ? p.c_in - c0 : 64;
                    int32_t count = 0;
                    int8_t *out;
                    for (c = 0; c < width; c++) {
                        acc[c] = max ? INT32_MIN : 0;
                    }
                    for (ky = 0; ky < p.k_h; ky++) {
                        size_t iy;
                        if (!eg_nhwc_row(&p, oy, ky, &iy)) {
                            continue;
                        }
                        for (kx = 0; kx < p.k_w; kx++) {
                            size_t ix;
                            const int8_t *pixel;
                            if (!eg_nhwc_col(&p, ox, kx, &ix)) {
                                continue;
                            }
                            count++;
                            pixel = x + ((n * p.h_in + iy) * p.w_in + ix) * p.c_in + c0;
                            for (c = 0; c < width; c++) {
                                int32_t v = pixel[c];
                                acc[c] = max ? (acc[c] > v ? acc[c] : v) : acc[c] + v;
                            }
                        }
                    }
                    out = y + ((n * p.h_out + oy) * p.w_out + ox) * p.c_in + c0;
                    for (c = 0; c < width; c++) {
                        int32_t a = acc[c], v;
                        if (max || count == 0) {
                            v = a;
                        } else if (a > 0) {
                            v = (a + count / 2) / count;
                        } else {
                            v = (a - count / 2) / count;
                        }
                        out[c] = (int8_t)eg_quant_clamp(v, min_out, max_out);
                    }
                }
            }
        }
    }
}
