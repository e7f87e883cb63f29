//! Resizing of two adjacent axes, from tables the compiler precomputes: for each output row and
//! column, the input index (nearest) or the two input indices and the weight of the second
//! (linear). The coordinate arithmetic (transformation mode, rounding) happens at compile time,
//! so the kernel only gathers and blends.
//!
//! The data is read as `[outer, h, w, inner]`: `inner` is 1 for channels-first data (ONNX's
//! NCHW resizes the last two axes) and the number of channels for channels-last data (TFLite's
//! NHWC), where every pixel is a contiguous run of `inner` values.
//!
//! [`resize_filter`] is the general form for float data: any number of resized axes
//! `[outer, d_0, ..., d_{R-1}, inner]`, each with a fixed number of weighted taps per output
//! coordinate (cubic and antialiased filters, and nearest or linear resizing of axes that are
//! not two adjacent ones).

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

/// Resizing of `outer` blocks of `R` axes of pixels of `inner` values by filter taps. Along
/// axis `d`, output coordinate `o` reads the `taps[d]` input indices
/// `index[start[d] + o * taps[d] + k]` with weights `weight[...]` at the same positions (an
/// axis that does not change has one tap of weight 1 per coordinate); an output pixel is the
/// sum over every combination of one tap per axis of the product of their weights times the
/// input pixel they name. A first index of [`OUTSIDE`] marks a coordinate outside the input.
#[derive(Clone, Copy, Debug)]
pub struct ResizeNd<'a, const R: usize> {
    pub outer: usize,
    pub shape_in: [usize; R],
    pub shape_out: [usize; R],
    pub inner: usize,
    pub taps: [usize; R],
    pub start: [usize; R],
    pub index: &'a [u32],
    pub weight: &'a [f32],
}

/// Filter resizing of float data (see [`ResizeNd`]); pixels outside the input become `fill`.
/// Taps of weight 0 are skipped.
#[inline(always)]
pub fn resize_filter<const R: usize>(p: ResizeNd<R>, fill: f32, x: &[f32], y: &mut [f32]) {
    // The stride of each resized axis in the input, in values.
    let mut stride = [0usize; R];
    let mut plane_in = p.inner;
    for d in (0..R).rev() {
        stride[d] = plane_in;
        plane_in *= p.shape_in[d];
    }
    let plane_out = p.shape_out.iter().product::<usize>() * p.inner;
    for o in 0..p.outer {
        let input = &x[o * plane_in..(o + 1) * plane_in];
        let out = &mut y[o * plane_out..(o + 1) * plane_out];
        // The output coordinate of the current pixel, advanced like an odometer.
        let mut position = [0usize; R];
        for pixel in out.chunks_exact_mut(p.inner) {
            let mut first = [0usize; R];
            let mut outside = false;
            for d in 0..R {
                first[d] = p.start[d] + position[d] * p.taps[d];
                outside |= p.index[first[d]] == OUTSIDE;
            }
            if outside {
                pixel.fill(fill);
            } else {
                pixel.fill(0.0);
                let mut tap = [0usize; R];
                'combinations: loop {
                    let (mut offset, mut w) = (0, 1.0f32);
                    for d in 0..R {
                        let e = first[d] + tap[d];
                        offset += p.index[e] as usize * stride[d];
                        w *= p.weight[e];
                    }
                    if w != 0.0 {
                        let source = &input[offset..offset + p.inner];
                        for (v, &s) in pixel.iter_mut().zip(source) {
                            *v += w * s;
                        }
                    }
                    let mut d = R;
                    loop {
                        if d == 0 {
                            break 'combinations;
                        }
                        d -= 1;
                        tap[d] += 1;
                        if tap[d] < p.taps[d] {
                            break;
                        }
                        tap[d] = 0;
                    }
                }
            }
            let mut d = R;
            while d > 0 {
                d -= 1;
                position[d] += 1;
                if position[d] < p.shape_out[d] {
                    break;
                }
                position[d] = 0;
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::TensorData;
    use crate::ir::op::{CoordinateTransformation, NearestMode, ResizeAttrs, ResizeMode};
    use crate::ir::shape::{
        ResizeFilterTables, resize_filter_tables, resize_linear_taps,
        resize_linear_taps_q10, resize_nearest_index, resize_source_coordinate,
    };
    use crate::kernels::test_support::{assert_close, floats};
    use proptest::prelude::*;

    const MODES: [CoordinateTransformation; 3] = [
        CoordinateTransformation::TfliteAsymmetric,
        CoordinateTransformation::TfliteHalfPixel,
        CoordinateTransformation::TfliteAlignCorners,
    ];

    /// Resize attributes of NHWC `x` to `out` as the TFLite importer makes them.
    fn attrs(
        mode: ResizeMode,
        ctm: CoordinateTransformation,
        x: &[usize],
        out: &[usize],
    ) -> ResizeAttrs {
        let ctm = match (mode, ctm) {
            (ResizeMode::Nearest, CoordinateTransformation::TfliteHalfPixel) => {
                CoordinateTransformation::TfliteHalfPixelForNn
            }
            _ => ctm,
        };
        ResizeAttrs {
            mode,
            coordinate_transformation_mode: ctm,
            nearest_mode: if ctm == CoordinateTransformation::TfliteAlignCorners {
                NearestMode::RoundPreferCeil
            } else {
                NearestMode::Floor
            },
            scales: x
                .iter()
                .zip(out)
                .map(|(&i, &o)| o as f32 / i as f32)
                .collect(),
            ..Default::default()
        }
    }

    /// The geometry of NHWC `[n, h, w, c]` resized to `out`.
    fn geometry(x: &[usize], out: &[usize]) -> Resize2d {
        Resize2d {
            outer: x[0],
            h_in: x[1],
            w_in: x[2],
            h_out: out[1],
            w_out: out[2],
            inner: x[3],
        }
    }

    fn shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        (
            1..3usize,
            1..7usize,
            1..7usize,
            1..4usize,
            1..9usize,
            1..9usize,
        )
            .prop_map(|(n, h, w, c, ho, wo)| (vec![n, h, w, c], vec![n, ho, wo, c]))
    }

    proptest! {
        #[test]
        fn nearest_channels_last_matches_the_evaluator((x, out) in shapes(), mode in 0..3usize, seed in any::<u64>()) {
            let a = attrs(ResizeMode::Nearest, MODES[mode], &x, &out);
            let table = |d: usize| -> Vec<u32> {
                (0..out[d]).map(|o| {
                    let src = resize_source_coordinate(a.coordinate_transformation_mode, o, a.scales[d], x[d], out[d], (0.0, 1.0));
                    resize_nearest_index(a.nearest_mode, src, a.scales[d], x[d]) as u32
                }).collect()
            };
            let values = floats(seed, x.iter().product());
            let expected = crate::eval::nn::resize(&a, &Value::f32(x.clone(), values.clone()), &out).unwrap();
            let mut y = vec![f32::NAN; expected.len()];
            resize_nearest(geometry(&x, &out), &table(1), &table(2), 0.0, &values, &mut y);
            prop_assert_eq!(&y, &expected);
            // The same tables move int8 data, which the int8 evaluator resizes on its own.
            let bytes: Vec<i8> = values.iter().map(|v| (v * 127.0) as i8).collect();
            let expected = crate::eval::int8::resize(&a, &Value::new(x.clone(), TensorData::I8(bytes.clone())), &out).unwrap();
            let mut y = vec![0i8; bytes.len() / x[1] / x[2] * out[1] * out[2]];
            resize_nearest(geometry(&x, &out), &table(1), &table(2), 0, &bytes, &mut y);
            prop_assert_eq!(TensorData::I8(y), expected);
        }

        #[test]
        fn linear_channels_last_matches_the_evaluator((x, out) in shapes(), mode in 0..3usize, seed in any::<u64>()) {
            let a = attrs(ResizeMode::Linear, MODES[mode], &x, &out);
            let table = |d: usize| -> (Vec<u32>, Vec<u32>, Vec<f32>) {
                let taps: Vec<(usize, usize, f32)> = (0..out[d]).map(|o| {
                    let src = resize_source_coordinate(a.coordinate_transformation_mode, o, a.scales[d], x[d], out[d], (0.0, 1.0));
                    resize_linear_taps(src, x[d])
                }).collect();
                (taps.iter().map(|t| t.0 as u32).collect(), taps.iter().map(|t| t.1 as u32).collect(), taps.iter().map(|t| t.2).collect())
            };
            let (rows, cols) = (table(1), table(2));
            let values = floats(seed, x.iter().product());
            let expected = crate::eval::nn::resize(&a, &Value::f32(x.clone(), values.clone()), &out).unwrap();
            let mut y = vec![f32::NAN; expected.len()];
            let rows = Taps { i0: &rows.0, i1: &rows.1, w1: &rows.2 };
            let cols = Taps { i0: &cols.0, i1: &cols.1, w1: &cols.2 };
            resize_linear(geometry(&x, &out), rows, cols, 0.0, &values, &mut y);
            assert_close(&y, &expected, 1e-6);
        }

        #[test]
        fn int8_bilinear_matches_the_evaluator((x, out) in shapes(), mode in 0..3usize, seed in any::<u64>()) {
            let a = attrs(ResizeMode::Linear, MODES[mode], &x, &out);
            let (align, half) = a.coordinate_transformation_mode.tflite_flags().unwrap();
            let table = |d: usize| -> (Vec<u32>, Vec<u32>, Vec<i32>) {
                let taps: Vec<(usize, usize, i32)> = (0..out[d]).map(|o| resize_linear_taps_q10(align, half, o, x[d], out[d])).collect();
                (taps.iter().map(|t| t.0 as u32).collect(), taps.iter().map(|t| t.1 as u32).collect(), taps.iter().map(|t| t.2).collect())
            };
            let (rows, cols) = (table(1), table(2));
            let bytes: Vec<i8> = floats(seed, x.iter().product()).iter().map(|v| (v * 128.0) as i8).collect();
            let expected = crate::eval::int8::resize(&a, &Value::new(x.clone(), TensorData::I8(bytes.clone())), &out).unwrap();
            let mut y = vec![0i8; expected.len()];
            let rows = TapsQ10 { i0: &rows.0, i1: &rows.1, w1: &rows.2 };
            let cols = TapsQ10 { i0: &cols.0, i1: &cols.1, w1: &cols.2 };
            resize_bilinear_i8(geometry(&x, &out), rows, cols, &bytes, &mut y);
            prop_assert_eq!(TensorData::I8(y), expected);
        }
    }

    /// Runs the filter kernel with the tables the lowering makes.
    fn run_filter<const R: usize>(
        t: &ResizeFilterTables,
        x: &[usize],
        out: &[usize],
        fill: f32,
        values: &[f32],
    ) -> Vec<f32> {
        let axes = t.first_axis..t.last_axis + 1;
        let p = ResizeNd::<R> {
            outer: x[..t.first_axis].iter().product(),
            shape_in: x[axes.clone()].try_into().unwrap(),
            shape_out: out[axes].try_into().unwrap(),
            inner: x[t.last_axis + 1..].iter().product(),
            taps: t.taps[..].try_into().unwrap(),
            start: t.start[..].try_into().unwrap(),
            index: &t.index,
            weight: &t.weight,
        };
        let mut y = vec![f32::NAN; out.iter().product()];
        resize_filter(p, fill, values, &mut y);
        y
    }

    const FILTER_MODES: [(ResizeMode, bool); 5] = [
        (ResizeMode::Nearest, false),
        (ResizeMode::Linear, false),
        (ResizeMode::Linear, true),
        (ResizeMode::Cubic, false),
        (ResizeMode::Cubic, true),
    ];

    const ONNX_MODES: [CoordinateTransformation; 5] = [
        CoordinateTransformation::HalfPixel,
        CoordinateTransformation::AlignCorners,
        CoordinateTransformation::Asymmetric,
        CoordinateTransformation::PytorchHalfPixel,
        CoordinateTransformation::TfCropAndResize,
    ];

    /// A shape of rank 1 to 4 and an output shape in which some axes change.
    fn nd_shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        proptest::collection::vec((1..6usize, 1..9usize, any::<bool>()), 1..5).prop_map(
            |axes| {
                let x = axes.iter().map(|a| a.0).collect();
                let out = axes
                    .iter()
                    .map(|&(i, o, resized)| if resized { o } else { i })
                    .collect();
                (x, out)
            },
        )
    }

    proptest! {
        #[test]
        fn filter_matches_the_evaluator(
            (x, out) in nd_shapes(),
            mode in 0..5usize,
            ctm in 0..5usize,
            cubic_coeff_a in -1.0f32..-0.25,
            exclude_outside in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let rank = x.len();
            let a = ResizeAttrs {
                mode: FILTER_MODES[mode].0,
                antialias: FILTER_MODES[mode].1,
                coordinate_transformation_mode: ONNX_MODES[ctm],
                scales: x.iter().zip(&out).map(|(&i, &o)| o as f32 / i as f32).collect(),
                roi: [vec![0.1; rank], vec![1.2; rank]].concat(),
                extrapolation_value: -7.0,
                cubic_coeff_a,
                exclude_outside,
                ..Default::default()
            };
            let roi = |d: usize| (a.roi[d], a.roi[rank + d]);
            let tables = resize_filter_tables(&a, &x, &out, &roi);
            let values = floats(seed, x.iter().product());
            let expected = crate::eval::nn::resize(&a, &Value::f32(x.clone(), values.clone()), &out).unwrap();
            let y = match tables.taps.len() {
                1 => run_filter::<1>(&tables, &x, &out, -7.0, &values),
                2 => run_filter::<2>(&tables, &x, &out, -7.0, &values),
                3 => run_filter::<3>(&tables, &x, &out, -7.0, &values),
                _ => run_filter::<4>(&tables, &x, &out, -7.0, &values),
            };
            assert_close(&y, &expected, 1e-5);
        }
    }

    #[test]
    fn filter_tables_leave_unchanged_axes_outside() {
        // NCHW 1×3×4×4 → 1×3×2×4 (cubic, only H shrinks): the filter covers H alone, C and N
        // are repeated blocks, W is a contiguous run.
        let a = ResizeAttrs {
            mode: ResizeMode::Cubic,
            scales: vec![1.0, 1.0, 0.5, 1.0],
            ..Default::default()
        };
        let t = resize_filter_tables(&a, &[1, 3, 4, 4], &[1, 3, 2, 4], &|_| (0.0, 1.0));
        assert_eq!((t.first_axis, t.last_axis), (2, 2));
        assert_eq!((t.taps.clone(), t.start.clone()), (vec![4], vec![0]));
        // half_pixel: 0.5, 2.5 → taps -1..2 and 1..4, edge-clamped.
        assert_eq!(t.index, [0, 0, 1, 2, 1, 2, 3, 3]);
    }

    #[test]
    fn int8_bilinear_rounds_half_away_from_zero() {
        // One row 2 → 4 wide (asymmetric: taps at 0, 0.5, 1, 1.5 → clamped): the midpoints of
        // (-3, 0) and (1, 2) are -1.5 and 1.5, which round to -2 and 2.
        let p = Resize2d {
            outer: 1,
            h_in: 1,
            w_in: 2,
            h_out: 1,
            w_out: 4,
            inner: 2,
        };
        let rows = TapsQ10 {
            i0: &[0],
            i1: &[0],
            w1: &[0],
        };
        let cols = TapsQ10 {
            i0: &[0, 0, 1, 1],
            i1: &[0, 1, 1, 1],
            w1: &[0, 512, 0, 512],
        };
        let mut y = [0i8; 8];
        resize_bilinear_i8(p, rows, cols, &[-3, 1, 0, 2], &mut y);
        assert_eq!(y, [-3, 1, -2, 2, 0, 2, 0, 2]);
    }
}
