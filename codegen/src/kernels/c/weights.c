/* weights: how kernels read weights stored in other formats than plain arrays, the C twin of
 * the parts of edgegen's `kernels::weights` that C kernels use. */

/* Index i of a codebook of `count` values: 4 bits when count <= 16, two per byte (index 2j in
 * the low nibble of byte j), else one byte each. */
EG_KERNEL size_t eg_weights_codebook_index(const uint8_t *indices, size_t count, size_t i) {
    if (count <= 16) {
        return (size_t)((indices[i / 2] >> ((i % 2) * 4)) & 15);
    }
    return indices[i];
}
