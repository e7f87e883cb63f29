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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::TensorData;
    use crate::ir::op::{CoordinateTransformation, NearestMode, ResizeAttrs, ResizeMode};
    use crate::ir::shape::{
        resize_linear_taps, resize_linear_taps_q10, resize_nearest_index,
        resize_source_coordinate,
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
