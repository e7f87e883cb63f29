/* math: the float helpers of the C kernels. C99 without <math.h>: the maximum and minimum
 * follow Rust's f32::max and f32::min (a NaN operand gives the other one), which the Rust
 * kernels use, so that both back ends agree. */

EG_KERNEL float eg_math_max_f32(float a, float b) {
    if (a != a) {
        return b;
    }
    if (b != b) {
        return a;
    }
    return a > b ? a : b;
}

EG_KERNEL float eg_math_min_f32(float a, float b) {
    if (a != a) {
        return b;
    }
    if (b != b) {
        return a;
    }
    return a < b ? a : b;
}
