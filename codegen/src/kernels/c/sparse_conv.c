/* sparse_conv: the int8 channels-last convolution with its weights stored without their zeros,
 * the C twin of edgegen's `kernels::sparse_conv`. The weight matrix is
 * [c_out, k_h * k_w * c_in / groups], one row per output channel in eg_nhwc_conv_i8's order;
 * `values` holds its non-zero weights row by row, and their positions are either
 * - runs: 4-bit counts of the zeros before each stored value (two per byte, entry 2j in the low
 *   nibble of byte j), positions counted over the whole matrix; a run of 15 may store a zero
 *   to bridge a longer gap, or
 * - a bitmask: one bit per weight, (k + 7) / 8 bytes a row, bit b of byte j for position 8j + b.
 * The accumulation and requantization are eg_nhwc_conv_i8's, so the bytes are the dense
 * kernel's. A pointwise convolution whose output pixel i reads input pixel i has its own loops
 * (eg_sparse_conv_pointwise_*), which decode each stored weight once per four pixels. */

/* Weight `position` (within its row) of output channel oc's row applied to the input: the
 * offset input value in *value, or 0 when its tap falls outside the image. */
EG_KERNEL int eg_sparse_conv_tap(const eg_nhwc_Window *p, const int8_t *x, size_t n, size_t oy,
                                 size_t ox, size_t first, int32_t offset, size_t position,
                                 int32_t *value) {
    size_t cin_g = p->c_in / p->groups;
    size_t ky = 0, kx = 0, channel = position, iy, ix;
    /* A pointwise convolution (the common sparse one) has one tap: no division. */
    if (p->k_h != 1 || p->k_w != 1) {
        size_t tap = position / cin_g;
        ky = tap / p->k_w;
        kx = tap % p->k_w;
        channel = position % cin_g;
    }
    if (!eg_nhwc_row(p, oy, ky, &iy) || !eg_nhwc_col(p, ox, kx, &ix)) {
        return 0;
    }
    *value = (int32_t)x[((n * p->h_in + iy) * p->w_in + ix) * p->c_in + first + channel] + offset;
    return 1;
}

/* The lowest set bit of a non-zero `bits`. */
EG_KERNEL unsigned eg_sparse_conv_lowest_bit(unsigned bits) {
#if defined(__GNUC__)
    return (unsigned)__builtin_ctz(bits);
#else
    unsigned bit = 0;
    while (!(bits & (1u << bit))) {
        bit++;
    }
    return bit;
#endif
}

/* The loops of both formats: `mask` NULL walks the runs. */
EG_KERNEL void eg_sparse_conv_by(eg_nhwc_Window p, eg_nhwc_ConvQuant q, const int8_t *x,
                                 const int8_t *values, size_t entries, const uint8_t *runs,
                                 const uint8_t *mask, const int32_t *bias, int8_t *y) {
    size_t cin_g = p.c_in / p.groups, cout_g = p.c_out / p.groups;
    size_t per_channel = p.k_h * p.k_w * cin_g;
    size_t row_bytes = (per_channel + 7) / 8;
    int32_t offset = -q.input_zero_point;
    size_t n, oy, ox, oc;
    for (n = 0; n < p.batch; n++) {
        for (oy = 0; oy < p.h_out; oy++) {
            for (ox = 0; ox < p.w_out; ox++) {
                int8_t *out = y + ((n * p.h_out + oy) * p.w_out + ox) * p.c_out;
                size_t entry = 0, position = 0;
                for (oc = 0; oc < p.c_out; oc++) {
                    size_t first = (oc / cout_g) * cin_g;
                    int32_t acc = bias ? bias[oc] : 0, a;
                    if (mask == NULL) {
                        size_t row_start = oc * per_channel, row_end = row_start + per_channel;
                        while (entry < entries) {
                            size_t at =
                                position + (size_t)((runs[entry / 2] >> ((entry % 2) * 4)) & 15);
                            if (at >= row_end) {
                                break;
                            }
                            if (eg_sparse_conv_tap(&p, x, n, oy, ox, first, offset, at - row_start,
                                                   &a)) {
                                acc += a * (int32_t)values[entry];
                            }
                            position = at + 1;
                            entry++;
                        }
                    } else {
                        size_t byte;
                        for (byte = 0; byte < row_bytes; byte++) {
                            unsigned bits = mask[oc * row_bytes + byte];
                            while (bits != 0) {
                                size_t bit = eg_sparse_conv_lowest_bit(bits);
                                bits &= bits - 1;
                                if (eg_sparse_conv_tap(&p, x, n, oy, ox, first, offset,
                                                       byte * 8 + bit, &a)) {
                                    acc += a * (int32_t)values[entry];
                                }
                                entry++;
                            }
                        }
                    }
                    out[oc] = eg_nhwc_output(&q, acc, oc);
                }
            }
        }
    }
}

/* The convolution with run-coded weights. */
EG_KERNEL void eg_sparse_conv_conv_i8_runs(eg_nhwc_Window p, eg_nhwc_ConvQuant q,
                                           const int8_t *x, size_t x_len, const int8_t *values,
                                           size_t values_len, const uint8_t *runs,
                                           size_t runs_len, const int32_t *bias, size_t bias_len,
                                           int8_t *y, size_t y_len) {
    (void)x_len, (void)runs_len, (void)bias_len, (void)y_len;
    eg_sparse_conv_by(p, q, x, values, values_len, runs, NULL, bias, y);
}

/* The convolution with bitmask-coded weights. */
EG_KERNEL void eg_sparse_conv_conv_i8_bitmask(eg_nhwc_Window p, eg_nhwc_ConvQuant q,
                                              const int8_t *x, size_t x_len, const int8_t *values,
                                              size_t values_len, const uint8_t *mask,
                                              size_t mask_len, const int32_t *bias,
                                              size_t bias_len, int8_t *y, size_t y_len) {
    (void)x_len, (void)mask_len, (void)bias_len, (void)y_len;
    eg_sparse_conv_by(p, q, x, values, values_len, NULL, mask, bias, y);
}

/* Adds the products of weight w with the input at `in` of each of the `width` pixels. */
#define EG_SPARSE_CONV_MULTIPLY(in, w)                                                          \
    do {                                                                                        \
        const int8_t *in_ = (in);                                                               \
        int32_t w_ = (w);                                                                       \
        a0 += w_ * in_[0];                                                                      \
        if (width == 4) {                                                                       \
            a1 += w_ * in_[k];                                                                  \
            a2 += w_ * in_[2 * k];                                                              \
            a3 += w_ * in_[3 * k];                                                              \
        }                                                                                       \
    } while (0)

/* Output pixels `first` to `first + width - 1` (width 4 or 1, a constant once inlined) of a
 * sparse pointwise convolution, every output channel: `px` is the first one's input pixel, the
 * others follow at strides of k = c_in, and `bias` has the input zero point folded in, so each
 * stored weight is multiplied with `width` inputs as it is decoded. The runs walk keeps `next`,
 * the column after the previous entry counted from the current row's start; it moves back by k
 * at each new row (modulo SIZE_MAX + 1, which is exact since an entry never lies before its
 * row). `mask` NULL walks the runs. */
EG_KERNEL void eg_sparse_conv_pointwise_pixels(const eg_nhwc_ConvQuant *q, size_t k,
                                               size_t c_out, const int8_t *px,
                                               const int8_t *values, size_t entries,
                                               const uint8_t *runs, const uint8_t *mask,
                                               const int32_t *bias, int8_t *out, int width) {
    size_t row_bytes = (k + 7) / 8, entry = 0, next = 0, oc;
    for (oc = 0; oc < c_out; oc++) {
        int32_t a0 = bias[oc], a1 = a0, a2 = a0, a3 = a0;
        if (mask == NULL) {
            /* Two entries per byte of runs; a row that begins at an odd entry starts with the
             * high nibble alone. */
            while (entry < entries) {
                unsigned pair = runs[entry / 2];
                size_t at;
                if (entry % 2 == 0) {
                    at = next + (pair & 15);
                    if (at >= k) {
                        break;
                    }
                    EG_SPARSE_CONV_MULTIPLY(px + at, values[entry]);
                    next = at + 1;
                    if (++entry == entries) {
                        break;
                    }
                }
                at = next + (pair >> 4);
                if (at >= k) {
                    break;
                }
                EG_SPARSE_CONV_MULTIPLY(px + at, values[entry]);
                next = at + 1;
                entry++;
            }
            next -= k;
        } else {
            const uint8_t *row = mask + oc * row_bytes;
            size_t byte;
            for (byte = 0; byte < row_bytes; byte++) {
                unsigned bits = row[byte];
                const int8_t *in8 = px + byte * 8;
                while (bits != 0) {
                    EG_SPARSE_CONV_MULTIPLY(in8 + eg_sparse_conv_lowest_bit(bits),
                                            values[entry]);
                    entry++;
                    bits &= bits - 1;
                }
            }
        }
        out[oc] = eg_nhwc_output(q, a0, oc);
        if (width == 4) {
            out[c_out + oc] = eg_nhwc_output(q, a1, oc);
            out[2 * c_out + oc] = eg_nhwc_output(q, a2, oc);
            out[3 * c_out + oc] = eg_nhwc_output(q, a3, oc);
        }
    }
}

#undef EG_SPARSE_CONV_MULTIPLY

/* The pixels of a sparse pointwise convolution, four at a time and the rest one by one. */
EG_KERNEL void eg_sparse_conv_pointwise_by(eg_nhwc_Window p, eg_nhwc_ConvQuant q,
                                           const int8_t *x, const int8_t *values,
                                           size_t entries, const uint8_t *runs,
                                           const uint8_t *mask, const int32_t *bias,
                                           int8_t *y) {
    size_t k = p.c_in, c_out = p.c_out, pixels = p.batch * p.h_out * p.w_out, first;
    size_t grouped = pixels - pixels % 4;
    for (first = 0; first < grouped; first += 4) {
        eg_sparse_conv_pointwise_pixels(&q, k, c_out, x + first * k, values, entries, runs, mask,
                                        bias, y + first * c_out, 4);
    }
    for (; first < pixels; first++) {
        eg_sparse_conv_pointwise_pixels(&q, k, c_out, x + first * k, values, entries, runs, mask,
                                        bias, y + first * c_out, 1);
    }
}

/* A pointwise convolution whose output pixel i reads input pixel i, with run-coded weights and
 * the input zero point folded into the bias. */
EG_KERNEL void eg_sparse_conv_pointwise_i8_runs(eg_nhwc_Window p, eg_nhwc_ConvQuant q,
                                                const int8_t *x, size_t x_len,
                                                const int8_t *values, size_t values_len,
                                                const uint8_t *runs, size_t runs_len,
                                                const int32_t *bias, size_t bias_len, int8_t *y,
                                                size_t y_len) {
    (void)x_len, (void)runs_len, (void)bias_len, (void)y_len;
    eg_sparse_conv_pointwise_by(p, q, x, values, values_len, runs, NULL, bias, y);
}

/* A pointwise convolution whose output pixel i reads input pixel i, with bitmask-coded weights
 * and the input zero point folded into the bias. */
EG_KERNEL void eg_sparse_conv_pointwise_i8_bitmask(eg_nhwc_Window p, eg_nhwc_ConvQuant q,
                                                   const int8_t *x, size_t x_len,
                                                   const int8_t *values, size_t values_len,
                                                   const uint8_t *mask, size_t mask_len,
                                                   const int32_t *bias, size_t bias_len,
                                                   int8_t *y, size_t y_len) {
    (void)x_len, (void)mask_len, (void)bias_len, (void)y_len;
    eg_sparse_conv_pointwise_by(p, q, x, values, values_len, NULL, mask, bias, y);
}
