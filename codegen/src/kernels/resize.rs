//! Resizing of the last two axes, from tables the compiler precomputes: for each output row and
//! column, the input index (nearest) or the two input indices and the weight of the second
//! (linear). The coordinate arithmetic (transformation mode, rounding) happens at compile time,
//! so the kernel only gathers and blends.

/// `outer` planes of `h_in × w_in` resized to `h_out × w_out`.
#[derive(Clone, Copy, Debug)]
pub struct Resize2d {
    pub outer: usize,
    pub h_in: usize,
    pub w_in: usize,
    pub h_out: usize,
    pub w_out: usize,
    /// The value of output points whose source lies outside the input (`tf_crop_and_resize`).
    pub extrapolation_value: f32,
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

#[inline(always)]
pub fn resize_nearest(p: Resize2d, rows: &[u32], cols: &[u32], x: &[f32], y: &mut [f32]) {
    let (plane_in, plane_out) = (p.h_in * p.w_in, p.h_out * p.w_out);
    for o in 0..p.outer {
        let input = &x[o * plane_in..(o + 1) * plane_in];
        let out = &mut y[o * plane_out..(o + 1) * plane_out];
        for (oy, &r) in rows[..p.h_out].iter().enumerate() {
            let row_out = &mut out[oy * p.w_out..(oy + 1) * p.w_out];
            if r == OUTSIDE {
                row_out.fill(p.extrapolation_value);
                continue;
            }
            let row_in = &input[r as usize * p.w_in..(r as usize + 1) * p.w_in];
            for (v, &c) in row_out.iter_mut().zip(&cols[..p.w_out]) {
                *v = if c == OUTSIDE {
                    p.extrapolation_value
                } else {
                    row_in[c as usize]
                };
            }
        }
    }
}

#[inline(always)]
pub fn resize_linear(p: Resize2d, rows: Taps, cols: Taps, x: &[f32], y: &mut [f32]) {
    let (plane_in, plane_out) = (p.h_in * p.w_in, p.h_out * p.w_out);
    for o in 0..p.outer {
        let input = &x[o * plane_in..(o + 1) * plane_in];
        let out = &mut y[o * plane_out..(o + 1) * plane_out];
        for oy in 0..p.h_out {
            let row_out = &mut out[oy * p.w_out..(oy + 1) * p.w_out];
            let (r0, r1, wr) = (rows.i0[oy], rows.i1[oy], rows.w1[oy]);
            if r0 == OUTSIDE {
                row_out.fill(p.extrapolation_value);
                continue;
            }
            let top = &input[r0 as usize * p.w_in..(r0 as usize + 1) * p.w_in];
            let bottom = &input[r1 as usize * p.w_in..(r1 as usize + 1) * p.w_in];
            for (ox, v) in row_out.iter_mut().enumerate() {
                let (c0, c1, wc) = (cols.i0[ox], cols.i1[ox], cols.w1[ox]);
                if c0 == OUTSIDE {
                    *v = p.extrapolation_value;
                    continue;
                }
                let (c0, c1) = (c0 as usize, c1 as usize);
                let upper = top[c0] * (1.0 - wc) + top[c1] * wc;
                let lower = bottom[c0] * (1.0 - wc) + bottom[c1] * wc;
                *v = upper * (1.0 - wr) + lower * wr;
            }
        }
    }
}
