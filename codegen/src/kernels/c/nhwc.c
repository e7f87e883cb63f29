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
} eg_nhwc_ConvQuant;

/* Output channel oc's accumulator requantized to int8. */
EG_KERNEL int8_t eg_nhwc_output(const eg_nhwc_ConvQuant *q, int32_t acc, size_t oc) {
    if (q->single_rounding) {
        return (int8_t)eg_quant_requantize_once(acc, q->multipliers[oc], q->shifts[oc],
                                                q->output_zero_point, q->output_min,
                                                q->output_max);
    }
    return (int8_t)eg_quant_requantize(acc, q->multipliers[oc], q->shifts[oc],
                                       q->output_zero_point, q->output_min, q->output_max);
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

/* The convolutions that run over contiguous output channels, for each output pixel in blocks
 * of 64 accumulators: depthwise (one output per input channel, weights [k_h, k_w, c]) or of
 * one group (weights [k_h, k_w, c_in, c_out]). The sums are eg_nhwc_conv_i8's. */
EG_KERNEL void eg_nhwc_channels_inner(eg_nhwc_Window p, eg_nhwc_ConvQuant q, const int8_t *x,
                                      const int8_t *w, const int32_t *bias, int depthwise,
                                      int8_t *y) {
    int32_t acc[64];
    size_t c_in = p.c_in, c_out = p.c_out, n, oy, ox, ky, kx, ci, j, c0;
    int32_t offset = -q.input_zero_point;
    for (n = 0; n < p.batch; n++) {
        for (oy = 0; oy < p.h_out; oy++) {
            for (ox = 0; ox < p.w_out; ox++) {
                for (c0 = 0; c0 < c_out; c0 += 64) {
                    size_t width = c_out - c0 < 64 ? c_out - c0 : 64;
                    int8_t *out = y + ((n * p.h_out + oy) * p.w_out + ox) * c_out + c0;
                    for (j = 0; j < width; j++) {
                        acc[j] = bias ? bias[c0 + j] : 0;
                    }
                    for (ky = 0; ky < p.k_h; ky++) {
                        size_t iy;
                        if (!eg_nhwc_row(&p, oy, ky, &iy)) {
                            continue;
                        }
                        for (kx = 0; kx < p.k_w; kx++) {
                            size_t ix, tap = ky * p.k_w + kx;
                            const int8_t *pixel;
                            if (!eg_nhwc_col(&p, ox, kx, &ix)) {
                                continue;
                            }
                            pixel = x + ((n * p.h_in + iy) * p.w_in + ix) * c_in;
                            if (depthwise) {
                                const int8_t *wk = w + tap * c_out + c0;
                                for (j = 0; j < width; j++) {
                                    acc[j] += ((int32_t)pixel[c0 + j] + offset) * (int32_t)wk[j];
                                }
                                continue;
                            }
                            for (ci = 0; ci < c_in; ci++) {
                                int32_t v = (int32_t)pixel[ci] + offset;
                                const int8_t *wk = w + (tap * c_in + ci) * c_out + c0;
                                for (j = 0; j < width; j++) {
                                    acc[j] += v * (int32_t)wk[j];
                                }
                            }
                        }
                    }
                    for (j = 0; j < width; j++) {
                        out[j] = eg_nhwc_output(&q, acc[j], c0 + j);
                    }
                }
            }
        }
    }
}

/* eg_nhwc_conv_i8 for a depthwise convolution with one output per input channel, its weights
 * laid out [k_h, k_w, c]. */
EG_KERNEL void eg_nhwc_depthwise_i8(eg_nhwc_Window p, eg_nhwc_ConvQuant q, const int8_t *x,
                                    size_t x_len, const int8_t *w, size_t w_len,
                                    const int32_t *bias, size_t bias_len, int8_t *y,
                                    size_t y_len) {
    (void)x_len, (void)w_len, (void)y_len;
    eg_nhwc_channels_inner(p, q, x, w, bias_len ? bias : NULL, 1, y);
}

/* eg_nhwc_conv_i8 for a convolution of one group with few input channels, its weights laid out
 * [k_h, k_w, c_in, c_out]. */
EG_KERNEL void eg_nhwc_conv_i8_hwio(eg_nhwc_Window p, eg_nhwc_ConvQuant q, const int8_t *x,
                                    size_t x_len, const int8_t *w, size_t w_len,
                                    const int32_t *bias, size_t bias_len, int8_t *y,
                                    size_t y_len) {
    (void)x_len, (void)w_len, (void)y_len;
    eg_nhwc_channels_inner(p, q, x, w, bias_len ? bias : NULL, 0, y);
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
