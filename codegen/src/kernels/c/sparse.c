/* sparse: fully connected layers whose weights are stored without their zeros, the C twin of
 * edgegen's `kernels::sparse`: the int8 fully connected layer and the float Gemm, each with
 * run-coded or bitmask-coded weights, and the int8 layer with a codebook of shared values.
 * `values` holds the stored weights of the [n, k] matrix in row order; runs are 4-bit counts
 * of the zeros before each entry (two per byte, entry 2t in the low nibble of byte t),
 * counted over the whole matrix, a run of 15 possibly storing a zero filler; a bitmask has
 * (k + 7) / 8 bytes a row, bit b of byte j for column 8j + b. The arithmetic is the dense
 * kernels': the int8 layers give eg_int8_fully_connected_i8's bytes, the float ones add the
 * products in increasing k onto the bias. */

/* The run of zeros before entry t. */
EG_KERNEL size_t eg_sparse_run_at(const uint8_t *runs, size_t t) {
    return (size_t)((runs[t / 2] >> ((t % 2) * 4)) & 15);
}

/* The next stored weight of row `row` of a matrix of k columns: its column in *column and its
 * entry in *entry (then advanced), or 0 at the end of the row. `mask` NULL walks the runs,
 * whose cursor is *position (the flat position after the previous entry); a bitmask's cursor
 * is *position, the bit (within the row) to look at next. */
EG_KERNEL int eg_sparse_next(const uint8_t *runs, const uint8_t *mask, size_t entries, size_t row,
                             size_t k, size_t *entry, size_t *position, size_t *column) {
    if (mask == NULL) {
        size_t at;
        if (*entry >= entries) {
            return 0;
        }
        at = *position + eg_sparse_run_at(runs, *entry);
        if (at >= (row + 1) * k) {
            return 0;
        }
        *column = at - row * k;
        *position = at + 1;
        return 1;
    } else {
        size_t row_bytes = (k + 7) / 8;
        while (*position < row_bytes * 8) {
            size_t q = *position;
            *position += 1;
            if (mask[row * row_bytes + q / 8] & (1u << (q % 8))) {
                *column = q;
                return 1;
            }
        }
        return 0;
    }
}

/* The int8 layers' loops: the dot product of each output is the stored weights' (dense
 * codebook weights when `codebook` is not NULL). */
EG_KERNEL void eg_sparse_fully_connected_by(eg_int8_FullyConnectedI8 p, const int8_t *a,
                                            const int8_t *values, size_t entries,
                                            const uint8_t *runs, const uint8_t *mask,
                                            const int8_t *codebook, size_t codebook_len,
                                            const uint8_t *indices, const int32_t *bias,
                                            size_t bias_len, const float *weight_scales,
                                            size_t weight_scales_len, int8_t *y) {
    size_t i, j, q;
    for (i = 0; i < p.m; i++) {
        const int8_t *row = a + i * p.k;
        size_t entry = 0, position = 0;
        for (j = 0; j < p.n; j++) {
            int32_t acc = 0;
            if (codebook != NULL) {
                for (q = 0; q < p.k; q++) {
                    size_t c = eg_weights_codebook_index(indices, codebook_len, j * p.k + q);
                    acc += ((int32_t)row[q] - p.input_zero_point) *
                           ((int32_t)codebook[c] - p.weight_zero_point);
                }
            } else {
                if (mask != NULL) {
                    position = 0;
                }
                while (eg_sparse_next(runs, mask, entries, j, p.k, &entry, &position, &q)) {
                    acc += ((int32_t)row[q] - p.input_zero_point) *
                           ((int32_t)values[entry] - p.weight_zero_point);
                    entry++;
                }
            }
            acc += bias_len ? bias[j] : 0;
            y[i * p.n + j] =
                eg_int8_fully_connected_output(&p, acc, weight_scales, weight_scales_len, j);
        }
    }
}

EG_KERNEL void eg_sparse_fully_connected_i8_runs(eg_int8_FullyConnectedI8 p, const int8_t *a,
                                                 size_t a_len, const int8_t *values,
                                                 size_t values_len, const uint8_t *runs,
                                                 size_t runs_len, const int32_t *bias,
                                                 size_t bias_len, const float *weight_scales,
                                                 size_t weight_scales_len, int8_t *y,
                                                 size_t y_len) {
    (void)a_len, (void)runs_len, (void)y_len;
    eg_sparse_fully_connected_by(p, a, values, values_len, runs, NULL, NULL, 0, NULL, bias,
                                 bias_len, weight_scales, weight_scales_len, y);
}

EG_KERNEL void eg_sparse_fully_connected_i8_bitmask(eg_int8_FullyConnectedI8 p, const int8_t *a,
                                                    size_t a_len, const int8_t *values,
                                                    size_t values_len, const uint8_t *mask,
                                                    size_t mask_len, const int32_t *bias,
                                                    size_t bias_len, const float *weight_scales,
                                                    size_t weight_scales_len, int8_t *y,
                                                    size_t y_len) {
    (void)a_len, (void)mask_len, (void)y_len;
    eg_sparse_fully_connected_by(p, a, values, values_len, NULL, mask, NULL, 0, NULL, bias,
                                 bias_len, weight_scales, weight_scales_len, y);
}

EG_KERNEL void eg_sparse_fully_connected_i8_codebook(eg_int8_FullyConnectedI8 p, const int8_t *a,
                                                     size_t a_len, const int8_t *codebook,
                                                     size_t codebook_len, const uint8_t *indices,
                                                     size_t indices_len, const int32_t *bias,
                                                     size_t bias_len, const float *weight_scales,
                                                     size_t weight_scales_len, int8_t *y,
                                                     size_t y_len) {
    (void)a_len, (void)indices_len, (void)y_len;
    eg_sparse_fully_connected_by(p, a, NULL, 0, NULL, NULL, codebook, codebook_len, indices, bias,
                                 bias_len, weight_scales, weight_scales_len, y);
}

/* The float Gemm's loops (a not transposed): each output starts as its bias and adds
 * (alpha * x[q]) * w for its stored weights in increasing q. */
EG_KERNEL void eg_sparse_gemm_by(eg_gemm_Gemm p, const float *a, eg_weights_View values,
                                 const uint8_t *runs, const uint8_t *mask, size_t entries,
                                 const float *c, float *y) {
    size_t i, j, q;
    for (i = 0; i < p.m; i++) {
        float *row = y + i * p.n;
        const float *x = a + i * p.k;
        size_t entry = 0, position = 0;
        eg_gemm_fill_bias(&p, c, i, row);
        for (j = 0; j < p.n; j++) {
            float acc = row[j];
            if (mask != NULL) {
                position = 0;
            }
            while (eg_sparse_next(runs, mask, entries, j, p.k, &entry, &position, &q)) {
                acc += (p.alpha * x[q]) * eg_weights_at(&values, entry, j);
                entry++;
            }
            row[j] = acc;
        }
        eg_activation_apply_all(p.activation, row, p.n);
    }
}

EG_KERNEL void eg_sparse_gemm_runs(eg_gemm_Gemm p, const float *a, size_t a_len,
    const float *values, size_t values_len, const uint8_t *runs, size_t runs_len, size_t entries, const float *c,
    size_t c_len, float *y, size_t y_len) {
    (void)a_len, (void)runs_len, (void)c_len, (void)y_len; (void)values_len;
    eg_sparse_gemm_by(p, a, eg_weights_view_f32(values), runs, NULL, entries, c, y);
}

EG_KERNEL void eg_sparse_gemm_bitmask(eg_gemm_Gemm p, const float *a, size_t a_len,
    const float *values, size_t values_len, const uint8_t *mask, size_t mask_len, const float *c, size_t c_len, float *y,
    size_t y_len) {
    (void)a_len, (void)mask_len, (void)c_len, (void)y_len; (void)values_len;
    eg_sparse_gemm_by(p, a, eg_weights_view_f32(values), NULL, mask, 0, c, y);
}

EG_KERNEL void eg_sparse_gemm_runs_Int8(eg_gemm_Gemm p, const float *a, size_t a_len,
    eg_weights_Int8 values, const uint8_t *runs, size_t runs_len, size_t entries, const float *c,
    size_t c_len, float *y, size_t y_len) {
    (void)a_len, (void)runs_len, (void)c_len, (void)y_len;
    eg_sparse_gemm_by(p, a, eg_weights_view_Int8(values), runs, NULL, entries, c, y);
}

EG_KERNEL void eg_sparse_gemm_bitmask_Int8(eg_gemm_Gemm p, const float *a, size_t a_len,
    eg_weights_Int8 values, const uint8_t *mask, size_t mask_len, const float *c, size_t c_len, float *y,
    size_t y_len) {
    (void)a_len, (void)mask_len, (void)c_len, (void)y_len;
    eg_sparse_gemm_by(p, a, eg_weights_view_Int8(values), NULL, mask, 0, c, y);
}

EG_KERNEL void eg_sparse_gemm_runs_F16(eg_gemm_Gemm p, const float *a, size_t a_len,
    eg_weights_F16 values, const uint8_t *runs, size_t runs_len, size_t entries, const float *c,
    size_t c_len, float *y, size_t y_len) {
    (void)a_len, (void)runs_len, (void)c_len, (void)y_len;
    eg_sparse_gemm_by(p, a, eg_weights_view_F16(values), runs, NULL, entries, c, y);
}

EG_KERNEL void eg_sparse_gemm_bitmask_F16(eg_gemm_Gemm p, const float *a, size_t a_len,
    eg_weights_F16 values, const uint8_t *mask, size_t mask_len, const float *c, size_t c_len, float *y,
    size_t y_len) {
    (void)a_len, (void)mask_len, (void)c_len, (void)y_len;
    eg_sparse_gemm_by(p, a, eg_weights_view_F16(values), NULL, mask, 0, c, y);
}

EG_KERNEL void eg_sparse_gemm_runs_Codebook(eg_gemm_Gemm p, const float *a, size_t a_len,
    eg_weights_Codebook values, const uint8_t *runs, size_t runs_len, size_t entries, const float *c,
    size_t c_len, float *y, size_t y_len) {
    (void)a_len, (void)runs_len, (void)c_len, (void)y_len;
    eg_sparse_gemm_by(p, a, eg_weights_view_Codebook(values), runs, NULL, entries, c, y);
}

EG_KERNEL void eg_sparse_gemm_bitmask_Codebook(eg_gemm_Gemm p, const float *a, size_t a_len,
    eg_weights_Codebook values, const uint8_t *mask, size_t mask_len, const float *c, size_t c_len, float *y,
    size_t y_len) {
    (void)a_len, (void)mask_len, (void)c_len, (void)y_len;
    eg_sparse_gemm_by(p, a, eg_weights_view_Codebook(values), NULL, mask, 0, c, y);
}
