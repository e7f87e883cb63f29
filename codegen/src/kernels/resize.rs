//! Resizing of two adjacent axes, from tables the compiler precomputes: for each output row and
//! column, the input index (nearest) or the two input indices and the weight of the second
//! (linear). The coordinate arithmetic (transformation mode, rounding) happens at compile time,
//! so the kernel only gathers and blends.
//!
//! The data is read as `[outer, h, w, inner]`: `inner` is 1 for channels-first data (ONNX's
//! NCHW resizes the last two axes) and the number of channels for channels-last data (TFLite's
//! NHWC), where every pixel is a contiguous run of `inner` values.

/// `outer` blocks of `h_in × w_in` pixels of `inner` values resized to `h_out × w_out` pixels.
#[derive(Clone, Copy, Debug)]
pub struct Resize2d {
    pub outer: usize,
    pub h_in: usize,
    pub w_in: usize,
    pub h_out: usize,
    pub w_out: usize,
    pub inner: usize,
}

/// Marks a table entry whose source lies outside the input.
pub const OUTSIDE: u32 = u32::MAX;

/// The taps of linear resizing along one axis: output coordinate `o` is
/// `(1 - w1[o]) * x[i0[o]] + w1[o] * x[i1[o]]`; `i0[o] == OUTSIDE` marks a point outside.
#[derive(Clone, Copy, Debug)]
pub struct Taps<'a> {
    pub i0: &'a [u32],
    pub i1: &'a [u32],
    pub w1: &'a [f32],
}

/// The taps of TFLite's integer bilinear resizing along one axis: the weight of the second
/// index is `w1[o] / 1024` (10 fractional bits; it can be negative, and then `i0 == i1`).
#[derive(Clone, Copy, Debug)]
pub struct TapsQ10<'a> {
    pub i0: &'a [u32],
    pub i1: &'a [u32],
    pub w1: &'a [i32],
}

/// Nearest-neighbour resizing of any element type: every output pixel copies the input pixel
/// its row and column tables name, or is `fill` where a table says [`OUTSIDE`].
#[inline(always)]
pub fn resize_nearest<T: Copy>(
    p: Resize2d,
    rows: &[u32],
    cols: &[u32],
    fill: T,
    x: &[T],
    y: &mut [T],
) {
    let (row_in, row_out) = (p.w_in * p.inner, p.w_out * p.inner);
    let (plane_in, plane_out) = (p.h_in * row_in, p.h_out * row_out);
    for o in 0..p.outer {
        let input = &x[o * plane_in..(o + 1) * plane_in];
        let out = &mut y[o * plane_out..(o + 1) * plane_out];
        for (oy, &r) in rows[..p.h_out].iter().enumerate() {
            let line = &mut out[oy * row_out..(oy + 1) * row_out];
            if r == OUTSIDE {
                line.fill(fill);
                continue;
            }
            let source = &input[r as usize * row_in..(r as usize + 1) * row_in];
            for (pixel, &c) in line.chunks_exact_mut(p.inner).zip(&cols[..p.w_out]) {
                if c == OUTSIDE {
                    pixel.fill(fill);
                    continue;
                }
                let c = c as usize * p.inner;
                pixel.copy_from_slice(&source[c..c + p.inner]);
            }
        }
    }
}

/// Linear (bilinear) resizing of float data; points outside the input become `fill`.
#[inline(always)]
pub fn resize_linear(
    p: Resize2d,
    rows: Taps,
    cols: Taps,
    fill: f32,
    x: &[f32],
    y: &mut [f32],
) {
    let (row_in, row_out) = (p.w_in * p.inner, p.w_out * p.inner);
    let (plane_in, plane_out) = (p.h_in * row_in, p.h_out * row_out);
    for o in 0..p.outer {
        let input = &x[o * plane_in..(o + 1) * plane_in];
        let out = &mut y[o * plane_out..(o + 1) * plane_out];
        for oy in 0..p.h_out {
            let line = &mut out[oy * row_out..(oy + 1) * row_out];
            let (r0, r1, wr) = (rows.i0[oy], rows.i1[oy], rows.w1[oy]);
            if r0 == OUTSIDE {
                line.fill(fill);
                continue;
            }
            let top = &input[r0 as usize * row_in..(r0 as usize + 1) * row_in];
            let bottom = &input[r1 as usize * row_in..(r1 as usize + 1) * row_in];
            for (ox, pixel) in line.chunks_exact_mut(p.inner).enumerate() {
                let (c0, c1, wc) = (cols.i0[ox], cols.i1[ox], cols.w1[ox]);
                if c0 == OUTSIDE {
                    pixel.fill(fill);
                    continue;
                }
                let (c0, c1) = (c0 as usize * p.inner, c1 as usize * p.inner);
                for (k, v) in pixel.iter_mut().enumerate() {
                    let upper = top[c0 + k] * (1.0 - wc) + top[c1 + k] * wc;
                    let lower = bottom[c0 + k] * (1.0 - wc) + bottom[c1 + k] * wc;
                    *v = upper * (1.0 - wr) + lower * wr;
                }
            }
        }
    }
}

/// TFLite's int8 bilinear resizing: the four neighbours weighted in units of 2^-20 (10
/// fractional bits per axis), the sum divided by 2^20 rounding half away from zero. Input and
/// output share one quantization, so no requantization follows.
#[inline(always)]
pub fn resize_bilinear_i8(
    p: Resize2d,
    rows: TapsQ10,
    cols: TapsQ10,
    x: &[i8],
    y: &mut [i8],
) {
    const ONE: i32 = 1 << 10;
    const HALF: i32 = 1 << 19;
    let (row_in, row_out) = (p.w_in * p.inner, p.w_out * p.inner);
    let (plane_in, plane_out) = (p.h_in * row_in, p.h_out * row_out);
    for o in 0..p.outer {
        let input = &x[o * plane_in..(o + 1) * plane_in];
        let out = &mut y[o * plane_out..(o + 1) * plane_out];
        for oy in 0..p.h_out {
            let line = &mut out[oy * row_out..(oy + 1) * row_out];
            let (r0, r1, dy) = (rows.i0[oy] as usize, rows.i1[oy] as usize, rows.w1[oy]);
            let top = &input[r0 * row_in..(r0 + 1) * row_in];
            let bottom = &input[r1 * row_in..(r1 + 1) * row_in];
            for (ox, pixel) in line.chunks_exact_mut(p.inner).enumerate() {
                let (c0, c1, dx) =
                    (cols.i0[ox] as usize, cols.i1[ox] as usize, cols.w1[ox]);
                let (c0, c1) = (c0 * p.inner, c1 * p.inner);
                // |weights| sum to at most 3072², times |x| <= 128: well inside i32.
                let (w00, w10) = ((ONE - dy) * (ONE - dx), dy * (ONE - dx));
                let (w01, w11) = ((ONE - dy) * dx, dy * dx);
                for (k, v) in pixel.iter_mut().enumerate() {
                    let sum = top[c0 + k] as i32 * w00
                        + bottom[c0 + k] as i32 * w10
                        + top[c1 + k] as i32 * w01
                        + bottom[c1 + k] as i32 * w11;
                    // Half away from zero (a zero sum needs no rounding either way).
                    let rounded = (sum + sum.signum() * HALF) / (1 << 20);
                    *v = rounded.clamp(-128, 127) as i8;
                }
            }
        }
    }
}
