/* conv: direct and transposed float convolution, NCHW, the C twin of edgegen's `kernels::conv`
 * (1-D as height 1; transposed convolution also 3-D). The loops are weight-stationary, as in
 * Rust: for each output channel, input channel and kernel tap, one weight multiplies a run of
 * an input row into a run of an output row, the runs computed once per tap from the padding.
 * eg_conv_conv2d reads its weights through eg_weights (one function per format). */

/* The shape of one convolution. Weights are [c_out, c_in / groups, k_h, k_w] for conv2d and
 * [c_in, c_out / groups, k_h, k_w] for conv_transpose2d. */
typedef struct {
    size_t batch, c_in, h_in, w_in, c_out, h_out, w_out, k_h, k_w;
    size_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, groups;
    eg_activation_Activation activation;
} eg_conv_Conv2d;

/* A convolution over [depth, height, width]. */
typedef struct {
    size_t batch, c_in, c_out;
    size_t shape_in[3], shape_out[3], kernel[3], strides[3], dilations[3], pads_begin[3];
    size_t groups;
    eg_activation_Activation activation;
} eg_conv_Conv3d;

/* The outputs o along one axis with o * stride + tap - pad inside 0..len_in: [*lo, *hi). */
EG_KERNEL void eg_conv_valid_range(size_t len_out, size_t len_in, size_t stride, size_t tap,
                                   size_t pad, size_t *lo, size_t *hi) {
    size_t l = pad > tap ? (pad - tap + stride - 1) / stride : 0;
    size_t h = pad + len_in > tap ? (pad + len_in - tap + stride - 1) / stride : 0;
    *lo = l < len_out ? l : len_out;
    *hi = h < len_out ? h : len_out;
}

/* A 1x1 convolution with stride 1 and no padding: four input planes per pass over the
 * output. */
EG_KERNEL void eg_conv_pointwise_image(const eg_conv_Conv2d *p, const float *x,
                                       const eg_weights_View *w, const float *bias,
                                       size_t bias_len, float *y) {
    size_t plane = p->h_in * p->w_in;
    size_t cin_g = p->c_in / p->groups, cout_g = p->c_out / p->groups;
    size_t oc, i;
    for (oc = 0; oc < p->c_out; oc++) {
        size_t first = (oc / cout_g) * cin_g, icg = 0;
        float *out = y + oc * plane;
        float start = bias_len ? bias[oc] : 0.0f;
        for (i = 0; i < plane; i++) {
            out[i] = start;
        }
        while (icg + 4 <= cin_g) {
            size_t ic = first + icg;
            float w0 = eg_weights_at(w, oc * cin_g + icg, oc);
            float w1 = eg_weights_at(w, oc * cin_g + icg + 1, oc);
            float w2 = eg_weights_at(w, oc * cin_g + icg + 2, oc);
            float w3 = eg_weights_at(w, oc * cin_g + icg + 3, oc);
            const float *x0 = x + ic * plane, *x1 = x0 + plane, *x2 = x1 + plane,
                        *x3 = x2 + plane;
            for (i = 0; i < plane; i++) {
                out[i] += w0 * x0[i] + w1 * x1[i] + w2 * x2[i] + w3 * x3[i];
            }
            icg += 4;
        }
        while (icg < cin_g) {
            const float *xi = x + (first + icg) * plane;
            float wv = eg_weights_at(w, oc * cin_g + icg, oc);
            for (i = 0; i < plane; i++) {
                out[i] += wv * xi[i];
            }
            icg++;
        }
        eg_activation_apply_all(p->activation, out, plane);
    }
}

EG_KERNEL void eg_conv_conv2d_image(const eg_conv_Conv2d *p, const float *x,
                                    const eg_weights_View *w, const float *bias,
                                    size_t bias_len, float *y) {
    size_t plane_in = p->h_in * p->w_in, plane_out = p->h_out * p->w_out;
    size_t cin_g = p->c_in / p->groups, cout_g = p->c_out / p->groups;
    size_t oc, icg, ky, kx, oy, ox, i;
    if (p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 &&
        p->pad_left == 0 && p->h_in == p->h_out && p->w_in == p->w_out) {
        eg_conv_pointwise_image(p, x, w, bias, bias_len, y);
        return;
    }
    for (oc = 0; oc < p->c_out; oc++) {
        size_t group = oc / cout_g;
        float *out = y + oc * plane_out;
        float start = bias_len ? bias[oc] : 0.0f;
        for (i = 0; i < plane_out; i++) {
            out[i] = start;
        }
        for (icg = 0; icg < cin_g; icg++) {
            const float *input = x + (group * cin_g + icg) * plane_in;
            size_t first_tap = (oc * cin_g + icg) * p->k_h * p->k_w;
            for (ky = 0; ky < p->k_h; ky++) {
                size_t oy_lo, oy_hi;
                eg_conv_valid_range(p->h_out, p->h_in, p->stride_h, ky * p->dilation_h,
                                    p->pad_top, &oy_lo, &oy_hi);
                for (kx = 0; kx < p->k_w; kx++) {
                    float weight = eg_weights_at(w, first_tap + ky * p->k_w + kx, oc);
                    size_t tap_x = kx * p->dilation_w, ox_lo, ox_hi;
                    eg_conv_valid_range(p->w_out, p->w_in, p->stride_w, tap_x, p->pad_left,
                                        &ox_lo, &ox_hi);
                    if (ox_lo >= ox_hi) {
                        continue;
                    }
                    for (oy = oy_lo; oy < oy_hi; oy++) {
                        size_t iy = oy * p->stride_h + ky * p->dilation_h - p->pad_top;
                        const float *row_in = input + iy * p->w_in;
                        float *row_out = out + oy * p->w_out;
                        size_t first_ix = ox_lo * p->stride_w + tap_x - p->pad_left;
                        for (ox = ox_lo; ox < ox_hi; ox++) {
                            row_out[ox] += weight * row_in[first_ix + (ox - ox_lo) * p->stride_w];
                        }
                    }
                }
            }
        }
        eg_activation_apply_all(p->activation, out, plane_out);
    }
}

/* y = activation(conv(x, w) + bias); bias is empty or has c_out values. */
EG_KERNEL void eg_conv_conv2d_by(eg_conv_Conv2d p, const float *x, eg_weights_View w,
                                 const float *bias, size_t bias_len, float *y) {
    size_t image_in = p.c_in * p.h_in * p.w_in, image_out = p.c_out * p.h_out * p.w_out, n;
    for (n = 0; n < p.batch; n++) {
        eg_conv_conv2d_image(&p, x + n * image_in, &w, bias, bias_len, y + n * image_out);
    }
}

EG_KERNEL void eg_conv_conv2d(eg_conv_Conv2d p, const float *x, size_t x_len, const float *w,
                              size_t w_len, const float *bias, size_t bias_len, float *y,
                              size_t y_len) {
    (void)x_len, (void)w_len, (void)y_len;
    eg_conv_conv2d_by(p, x, eg_weights_view_f32(w), bias, bias_len, y);
}

EG_KERNEL void eg_conv_conv2d_Int8(eg_conv_Conv2d p, const float *x, size_t x_len,
                                   eg_weights_Int8 w, const float *bias, size_t bias_len,
                                   float *y, size_t y_len) {
    (void)x_len, (void)y_len;
    eg_conv_conv2d_by(p, x, eg_weights_view_Int8(w), bias, bias_len, y);
}

EG_KERNEL void eg_conv_conv2d_F16(eg_conv_Conv2d p, const float *x, size_t x_len,
                                  eg_weights_F16 w, const float *bias, size_t bias_len, float *y,
                                  size_t y_len) {
    (void)x_len, (void)y_len;
    eg_conv_conv2d_by(p, x, eg_weights_view_F16(w), bias, bias_len, y);
}

EG_KERNEL void eg_conv_conv2d_Codebook(eg_conv_Conv2d p, const float *x, size_t x_len,
                                       eg_weights_Codebook w, const float *bias,
                                       size_t bias_len, float *y, size_t y_len) {
    (void)x_len, (void)y_len;
    eg_conv_conv2d_by(p, x, eg_weights_view_Codebook(w), bias, bias_len, y);
}

/* y = activation(conv_transpose(x, w) + bias) over [depth, height, width]: every input
 * element scatters x * w into the output at input * stride + tap - pad. */
EG_KERNEL void eg_conv_conv_transpose3d(eg_conv_Conv3d p, const float *x, size_t x_len,
                                        const float *w, size_t w_len, const float *bias,
                                        size_t bias_len, float *y, size_t y_len) {
    size_t d_in = p.shape_in[0], h_in = p.shape_in[1], w_in = p.shape_in[2];
    size_t d_out = p.shape_out[0], h_out = p.shape_out[1], w_out = p.shape_out[2];
    size_t k_d = p.kernel[0], k_h = p.kernel[1], k_w = p.kernel[2];
    size_t plane_in = d_in * h_in * w_in, plane_out = d_out * h_out * w_out;
    size_t cin_g = p.c_in / p.groups, cout_g = p.c_out / p.groups;
    size_t n, oc, ic, ocg, kz, ky, kx, iz, iy, ix, i;
    (void)x_len, (void)w_len, (void)y_len;
    for (n = 0; n < p.batch; n++) {
        const float *image = x + n * p.c_in * plane_in;
        float *result = y + n * p.c_out * plane_out;
        for (oc = 0; oc < p.c_out; oc++) {
            for (i = 0; i < plane_out; i++) {
                result[oc * plane_out + i] = bias_len ? bias[oc] : 0.0f;
            }
        }
        for (ic = 0; ic < p.c_in; ic++) {
            size_t group = ic / cin_g;
            const float *input = image + ic * plane_in;
            for (ocg = 0; ocg < cout_g; ocg++) {
                size_t oc2 = group * cout_g + ocg;
                float *out = result + oc2 * plane_out;
                const float *taps = w + (ic * cout_g + ocg) * k_d * k_h * k_w;
                for (kz = 0; kz < k_d; kz++) {
                    size_t iz_lo, iz_hi;
                    eg_conv_valid_range(d_in, d_out, p.strides[0], kz * p.dilations[0],
                                        p.pads_begin[0], &iz_lo, &iz_hi);
                    for (ky = 0; ky < k_h; ky++) {
                        size_t iy_lo, iy_hi;
                        eg_conv_valid_range(h_in, h_out, p.strides[1], ky * p.dilations[1],
                                            p.pads_begin[1], &iy_lo, &iy_hi);
                        for (kx = 0; kx < k_w; kx++) {
                            float weight = taps[(kz * k_h + ky) * k_w + kx];
                            size_t tap_x = kx * p.dilations[2], ix_lo, ix_hi;
                            eg_conv_valid_range(w_in, w_out, p.strides[2], tap_x,
                                                p.pads_begin[2], &ix_lo, &ix_hi);
                            for (iz = iz_lo; iz < iz_hi; iz++) {
                                size_t oz = iz * p.strides[0] + kz * p.dilations[0] -
                                            p.pads_begin[0];
                                for (iy = iy_lo; iy < iy_hi; iy++) {
                                    size_t oy = iy * p.strides[1] + ky * p.dilations[1] -
                                                p.pads_begin[1];
                                    const float *row_in = input + (iz * h_in + iy) * w_in;
                                    float *row_out = out + (oz * h_out + oy) * w_out;
                                    for (ix = ix_lo; ix < ix_hi; ix++) {
                                        row_out[ix * p.strides[2] + tap_x - p.pads_begin[2]] +=
                                            weight * row_in[ix];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for (oc = 0; oc < p.c_out; oc++) {
            eg_activation_apply_all(p.activation, result + oc * plane_out, plane_out);
        }
    }
}

/* The 2-D transposed convolution: the 3-D one of depth 1. */
EG_KERNEL void eg_conv_conv_transpose2d(eg_conv_Conv2d p, const float *x, size_t x_len,
                                        const float *w, size_t w_len, const float *bias,
                                        size_t bias_len, float *y, size_t y_len) {
    eg_conv_Conv3d q;
    q.batch = p.batch;
    q.c_in = p.c_in;
    q.c_out = p.c_out;
    q.shape_in[0] = 1, q.shape_in[1] = p.h_in, q.shape_in[2] = p.w_in;
    q.shape_out[0] = 1, q.shape_out[1] = p.h_out, q.shape_out[2] = p.w_out;
    q.kernel[0] = 1, q.kernel[1] = p.k_h, q.kernel[2] = p.k_w;
    q.strides[0] = 1, q.strides[1] = p.stride_h, q.strides[2] = p.stride_w;
    q.dilations[0] = 1, q.dilations[1] = p.dilation_h, q.dilations[2] = p.dilation_w;
    q.pads_begin[0] = 0, q.pads_begin[1] = p.pad_top, q.pads_begin[2] = p.pad_left;
    q.groups = p.groups;
    q.activation = p.activation;
    eg_conv_conv_transpose3d(q, x, x_len, w, w_len, bias, bias_len, y, y_len);
}
