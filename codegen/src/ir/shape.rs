//! Shape arithmetic shared by shape inference, the reference evaluator and the back ends:
//! broadcasting, strides, and the coordinate mapping of `Resize`.

use crate::ir::op::{CoordinateTransformation, NearestMode, ResizeAttrs, ResizeMode};

/// The shape of the result of a multidirectional (numpy-style) broadcast.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(format!(
                    "shapes {a:?} and {b:?} cannot be broadcast together"
                ));
            }
        };
    }
    Ok(out)
}

/// Strides (in elements) with which an array of shape `shape` is read when broadcast to
/// `out_shape`: 0 along broadcast axes. `shape` must broadcast to `out_shape`.
pub fn broadcast_strides(shape: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let own = crate::ir::strides_of(shape);
    let offset = out_shape.len() - shape.len();
    (0..out_shape.len())
        .map(|i| {
            if i < offset || shape[i - offset] == 1 {
                0
            } else {
                own[i - offset]
            }
        })
        .collect()
}

/// Maps an output coordinate of `Resize` to an input coordinate along one axis, with the
/// arithmetic of onnxruntime's source (mostly `f32`; `f64` where it uses double literals), so that
/// nearest-neighbour rounding near half-way points agrees with it. An axis whose length does not
/// change maps each coordinate to itself, as onnxruntime does (even if the scale is not exactly
/// 1), except in `tf_crop_and_resize`, where the region of interest still applies. `roi` is the
/// axis' `(start, end)` for `tf_crop_and_resize`.
///
/// One known difference: `half_pixel_symmetric` coordinates that are *exactly* half-way in real
/// arithmetic can round either way in onnxruntime, depending on how its build contracts
/// multiply-adds; edgegen computes them as onnxruntime's source reads.
pub fn resize_source_coordinate(
    mode: CoordinateTransformation,
    x_out: usize,
    scale: f32,
    len_in: usize,
    len_out: usize,
    roi: (f32, f32),
) -> f32 {
    let x = x_out as f32;
    if len_in == len_out && mode != CoordinateTransformation::TfCropAndResize {
        return x;
    }
    match mode {
        CoordinateTransformation::HalfPixel => (x + 0.5) / scale - 0.5,
        CoordinateTransformation::HalfPixelSymmetric => {
            let output_width = scale * len_in as f32;
            let adjustment = len_out as f32 / output_width;
            let center = len_in as f32 / 2.0;
            let offset = center * (1.0 - adjustment);
            (offset as f64 + (x as f64 + 0.5) / scale as f64 - 0.5) as f32
        }
        CoordinateTransformation::PytorchHalfPixel => {
            if len_out > 1 {
                (x + 0.5) / scale - 0.5
            } else {
                0.0
            }
        }
        CoordinateTransformation::AlignCorners => {
            // ONNX's `length_resized` is `scale · len_in`, which is fractional when `scales`
            // shrink an axis to a length that is not a whole number (0.6 · 4 = 2.4 gives 2
            // points, the second at 1 · 3 / 1.4). Given `sizes`, `scale` is `len_out / len_in`
            // and the product is `len_out` up to the rounding of the `f32` quotient (well
            // inside the 1e-5 below); those keep onnxruntime's arithmetic on `len_out`.
            let length_resized = scale as f64 * len_in as f64;
            if (length_resized - len_out as f64).abs() > 1e-5 * len_out as f64 {
                if length_resized == 1.0 {
                    0.0
                } else {
                    (x as f64 * (len_in as f64 - 1.0) / (length_resized - 1.0)) as f32
                }
            } else if len_out == 1 {
                0.0
            } else {
                x * (len_in as f32 - 1.0) / (len_out as f32 - 1.0)
            }
        }
        CoordinateTransformation::Asymmetric => x / scale,
        CoordinateTransformation::TfHalfPixelForNn => (x + 0.5) / scale,
        CoordinateTransformation::TfliteAsymmetric => x * (len_in as f32 / len_out as f32),
        CoordinateTransformation::TfliteHalfPixel => {
            (x + 0.5) * (len_in as f32 / len_out as f32) - 0.5
        }
        CoordinateTransformation::TfliteHalfPixelForNn => {
            (x + 0.5) * (len_in as f32 / len_out as f32)
        }
        CoordinateTransformation::TfliteAlignCorners => {
            let ratio = if len_out > 1 {
                (len_in - 1) as f32 / (len_out - 1) as f32
            } else {
                len_in as f32 / len_out as f32
            };
            x * ratio
        }
        CoordinateTransformation::TfCropAndResize => {
            let (start, end) = roi;
            if len_out > 1 {
                start * (len_in as f32 - 1.0)
                    + x * (end - start) * (len_in as f32 - 1.0) / (len_out as f32 - 1.0)
            } else {
                (0.5 * (start as f64 + end as f64) * (len_in as f64 - 1.0)) as f32
            }
        }
    }
}

/// Whether a source coordinate lies outside the input, which only `tf_crop_and_resize` allows
/// (the output is then `extrapolation_value`).
pub fn resize_outside(mode: CoordinateTransformation, x: f32, len_in: usize) -> bool {
    mode == CoordinateTransformation::TfCropAndResize
        && (x < 0.0 || x > (len_in - 1) as f32)
}

/// The input index nearest-neighbour `Resize` reads for a source coordinate (`scale` decides
/// the rounding of the `Legacy` mode).
pub fn resize_nearest_index(mode: NearestMode, x: f32, scale: f32, len_in: usize) -> usize {
    let rounded = match mode {
        NearestMode::RoundPreferFloor => {
            if x == x.floor() + 0.5 {
                x.floor()
            } else {
                x.round()
            }
        }
        NearestMode::RoundPreferCeil => x.round(),
        NearestMode::Floor => x.floor(),
        NearestMode::Ceil => x.ceil(),
        NearestMode::Legacy if scale < 1.0 => x.ceil(),
        NearestMode::Legacy => x.trunc(),
    };
    rounded.clamp(0.0, (len_in - 1) as f32) as usize
}

/// The two input indices and the weight of the second one that linear `Resize` blends for a
/// source coordinate (clamped to the input, as onnxruntime does outside `tf_crop_and_resize`).
pub fn resize_linear_taps(x: f32, len_in: usize) -> (usize, usize, f32) {
    let x = x.clamp(0.0, (len_in - 1) as f32);
    let x0 = x.floor() as usize;
    let x1 = (x0 + 1).min(len_in - 1);
    (x0, x1, x - x0 as f32)
}

/// The taps `(input index, weight)` with which `Resize` reads each output coordinate of one
/// axis of length `len_in` resized to `len_out` by `scale`, or `None` for a coordinate outside
/// the input (`tf_crop_and_resize`, where the output is `extrapolation_value`). Nearest
/// resizing has one tap, linear two, cubic and antialiased linear those of
/// [`resize_filter_taps`]; an axis that keeps its length and has scale 1 reads itself.
pub fn resize_axis_taps(
    a: &ResizeAttrs,
    scale: f32,
    len_in: usize,
    len_out: usize,
    roi: (f32, f32),
) -> Vec<Option<Vec<(usize, f32)>>> {
    let ctm = a.coordinate_transformation_mode;
    (0..len_out)
        .map(|o| {
            if len_in == len_out
                && scale == 1.0
                && ctm != CoordinateTransformation::TfCropAndResize
            {
                return Some(vec![(o, 1.0)]);
            }
            let src = resize_source_coordinate(ctm, o, scale, len_in, len_out, roi);
            if resize_outside(ctm, src, len_in) {
                return None;
            }
            Some(match a.mode {
                ResizeMode::Nearest => {
                    vec![(
                        resize_nearest_index(a.nearest_mode, src, scale, len_in),
                        1.0,
                    )]
                }
                ResizeMode::Linear if !a.antialias => {
                    let (x0, x1, w1) = resize_linear_taps(src, len_in);
                    vec![(x0, 1.0 - w1), (x1, w1)]
                }
                ResizeMode::Linear | ResizeMode::Cubic => {
                    resize_filter_taps(a, src, scale, len_in)
                }
            })
        })
        .collect()
}

/// An upper bound of the number of taps [`resize_axis_taps`] gives over every axis of `Resize`
/// of `x` to `y`, counted before any is computed: the output length of each axis times the taps
/// of one of its coordinates (1 nearest, 2 linear, `2 · ⌈support / s⌉` for the filters of
/// [`resize_filter_taps`]). The tables of one node are as long, whatever its input holds.
pub fn resize_table_len(a: &ResizeAttrs, x: &[usize], y: &[usize]) -> f64 {
    (0..x.len())
        .map(|d| {
            let taps = match a.mode {
                ResizeMode::Nearest => 1.0,
                ResizeMode::Linear if !a.antialias => 2.0,
                ResizeMode::Linear | ResizeMode::Cubic => {
                    let support = if a.mode == ResizeMode::Cubic {
                        2.0
                    } else {
                        1.0
                    };
                    let stretch = if a.antialias {
                        (a.scales[d] as f64).min(1.0)
                    } else {
                        1.0
                    };
                    2.0 * (support / stretch).ceil()
                }
            };
            y[d] as f64 * taps
        })
        .sum()
}

/// The tables of the general filter kernel of `Resize` (`resize::ResizeNd`): the axes from
/// `first_axis` to `last_axis` (the first and last that change; the last axis if none does)
/// are resized, those before and after are blocks the kernel repeats. For each resized axis,
/// `taps` per output coordinate, starting at `start` in `index` and `weight`: the taps of
/// [`resize_axis_taps`] padded with weight 0, one tap of weight 1 for an axis that does not
/// change, and a first index of `u32::MAX` where the coordinate lies outside the input.
#[derive(Clone, Debug, PartialEq)]
pub struct ResizeFilterTables {
    pub first_axis: usize,
    pub last_axis: usize,
    pub taps: Vec<usize>,
    pub start: Vec<usize>,
    pub index: Vec<u32>,
    pub weight: Vec<f32>,
}

/// The filter tables of `Resize` of `x` to `y` (see [`ResizeFilterTables`]); `roi(d)` is axis
/// `d`'s region of interest.
pub fn resize_filter_tables(
    a: &ResizeAttrs,
    x: &[usize],
    y: &[usize],
    roi: &dyn Fn(usize) -> (f32, f32),
) -> ResizeFilterTables {
    let rank = x.len();
    let taps: Vec<_> = (0..rank)
        .map(|d| resize_axis_taps(a, a.scales[d], x[d], y[d], roi(d)))
        .collect();
    // An axis is unchanged when every output coordinate reads its own input point.
    let unchanged = |d: usize| {
        x[d] == y[d]
            && taps[d].iter().enumerate().all(|(o, t)| {
                t.as_ref().is_some_and(|t| {
                    let live = t.iter().filter(|&&(_, w)| w != 0.0);
                    live.clone().all(|&(i, _)| i == o)
                        && live.map(|&(_, w)| w).sum::<f32>() == 1.0
                })
            })
    };
    let changed: Vec<usize> = (0..rank).filter(|&d| !unchanged(d)).collect();
    let (first_axis, last_axis) = match changed.as_slice() {
        [] => (rank - 1, rank - 1),
        [only] => (*only, *only),
        [first, .., last] => (*first, *last),
    };
    let mut t = ResizeFilterTables {
        first_axis,
        last_axis,
        taps: Vec::new(),
        start: Vec::new(),
        index: Vec::new(),
        weight: Vec::new(),
    };
    for d in first_axis..=last_axis {
        t.start.push(t.index.len());
        if unchanged(d) {
            t.taps.push(1);
            t.index.extend((0..y[d]).map(|o| o as u32));
            t.weight.extend((0..y[d]).map(|_| 1.0f32));
            continue;
        }
        let n = taps[d].iter().flatten().map(Vec::len).max().unwrap_or(1);
        t.taps.push(n);
        for coordinate in &taps[d] {
            let outside = coordinate.is_none();
            let coordinate = coordinate.as_deref().unwrap_or(&[]);
            for k in 0..n {
                let (i, w) = coordinate.get(k).copied().unwrap_or((0, 0.0));
                t.index.push(if outside && k == 0 {
                    u32::MAX
                } else {
                    i as u32
                });
                t.weight.push(w);
            }
        }
    }
    t
}

/// The taps `(input index, weight)` of linear or cubic `Resize` along one axis for source
/// coordinate `x`, as a filter: input point `i` gets weight `k((i - x) · s)` of the kernel `k`
/// (the triangle of support 1 or Keys' cubic of support 2 with `a = cubic_coeff_a`), where `s`
/// is 1, or `min(scale, 1)` with `antialias`, which stretches the filter over every input point
/// a shrinking axis covers and renormalises its weights. Every axis has `2 · ⌈support / s⌉`
/// taps, from `⌈x⌉ - ⌈support / s⌉` on, as in the ONNX reference implementation; taps that
/// fall outside the input repeat its edge, or get weight 0 (and the rest are renormalised)
/// with `exclude_outside`. Weights are computed in `f64`.
pub fn resize_filter_taps(
    a: &ResizeAttrs,
    x: f32,
    scale: f32,
    len_in: usize,
) -> Vec<(usize, f32)> {
    let cubic_a = a.cubic_coeff_a as f64;
    let (support, kernel): (f64, &dyn Fn(f64) -> f64) = match a.mode {
        ResizeMode::Cubic => (2.0, &|t: f64| {
            let t = t.abs();
            if t <= 1.0 {
                ((cubic_a + 2.0) * t - (cubic_a + 3.0)) * t * t + 1.0
            } else if t < 2.0 {
                ((cubic_a * t - 5.0 * cubic_a) * t + 8.0 * cubic_a) * t - 4.0 * cubic_a
            } else {
                0.0
            }
        }),
        _ => (1.0, &|t: f64| (1.0 - t.abs()).max(0.0)),
    };
    let stretch = if a.antialias {
        (scale as f64).min(1.0)
    } else {
        1.0
    };
    let half = (support / stretch).ceil() as i64;
    let x = x as f64;
    let first = x.ceil() as i64 - half;
    let mut taps: Vec<(i64, f64)> = (first..first + 2 * half)
        .map(|i| (i, kernel((i as f64 - x) * stretch)))
        .collect();
    let normalise = |taps: &mut Vec<(i64, f64)>| {
        let sum: f64 = taps.iter().map(|t| t.1).sum();
        if sum != 0.0 {
            taps.iter_mut().for_each(|t| t.1 /= sum);
        }
    };
    if a.antialias {
        normalise(&mut taps);
    }
    if a.exclude_outside {
        for t in taps.iter_mut() {
            if t.0 < 0 || t.0 >= len_in as i64 {
                t.1 = 0.0;
            }
        }
        normalise(&mut taps);
    }
    taps.iter()
        .map(|&(i, w)| (i.clamp(0, len_in as i64 - 1) as usize, w as f32))
        .collect()
}

/// The taps of TFLite's int8 bilinear resizing along one axis for output coordinate `x_out`:
/// the two input indices and the weight of the second in units of 2^-10, computed in integers
/// as TFLite's reference kernel does (a Q10 ratio rounded to nearest, the half-pixel offset
/// applied in Q10, indices by truncating division). The weight is negative for the first
/// output points of half-pixel resizing, where both indices are 0.
pub fn resize_linear_taps_q10(
    align_corners: bool,
    half_pixel_centers: bool,
    x_out: usize,
    len_in: usize,
    len_out: usize,
) -> (usize, usize, i32) {
    const ONE: i64 = 1 << 10;
    let (len_in, len_out) = (len_in as i64, len_out as i64);
    // Both operands are positive, so `/` rounds down like C++'s truncating division.
    let ratio = if align_corners && len_out > 1 {
        (ONE * (len_in - 1) + (len_out - 1) / 2) / (len_out - 1)
    } else {
        (ONE * len_in + len_out / 2) / len_out
    };
    let scaled = if half_pixel_centers {
        x_out as i64 * ratio + ratio / 2 - ONE / 2
    } else {
        x_out as i64 * ratio
    };
    // C++ division truncates toward zero, which Rust's `/` also does for negative values.
    // TFLite does not bound the first index above; it stays in range for every size that
    // does not read outside its input, and is clamped here so that none can.
    let i0 = (scaled / ONE).clamp(0, len_in - 1);
    let i1 = ((scaled + ONE - 1) / ONE).clamp(0, len_in - 1);
    (i0 as usize, i1 as usize, (scaled - i0 * ONE) as i32)
}

/// The geometry of a 1-D or 2-D sliding-window op (convolution, pooling) in one canonical 2-D
/// form: a 1-D op is a 2-D op with height 1. Built from attributes after shape inference, which
/// made them explicit; empty lists still mean the defaults (stride 1, dilation 1, no padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spatial2d {
    pub n: usize,
    pub h_in: usize,
    pub w_in: usize,
    pub h_out: usize,
    pub w_out: usize,
    pub k_h: usize,
    pub k_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub dilation_h: usize,
    pub dilation_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub pad_bottom: usize,
    pub pad_right: usize,
}

impl Spatial2d {
    /// `in_shape` and `out_shape` are `[N, C, W]` or `[N, C, H, W]`.
    pub fn new(
        in_shape: &[usize],
        out_shape: &[usize],
        kernel: &[usize],
        strides: &[usize],
        dilations: &[usize],
        pads: &[usize],
    ) -> Spatial2d {
        let spatial = in_shape.len() - 2;
        let at = |list: &[usize], i: usize, default: usize| {
            list.get(i).copied().unwrap_or(default)
        };
        // Index of each canonical axis (H, W) in the op's spatial axes; H is absent for 1-D.
        let (h, w) = if spatial == 1 {
            (None, 0)
        } else {
            (Some(0), 1)
        };
        let pick = |list: &[usize], axis: Option<usize>, default: usize| {
            axis.map_or(default, |i| at(list, i, default))
        };
        Spatial2d {
            n: in_shape[0],
            h_in: h.map_or(1, |i| in_shape[2 + i]),
            w_in: in_shape[2 + w],
            h_out: h.map_or(1, |i| out_shape[2 + i]),
            w_out: out_shape[2 + w],
            k_h: pick(kernel, h, 1),
            k_w: at(kernel, w, 1),
            stride_h: pick(strides, h, 1),
            stride_w: at(strides, w, 1),
            dilation_h: pick(dilations, h, 1),
            dilation_w: at(dilations, w, 1),
            pad_top: pick(pads, h, 0),
            pad_left: at(pads, w, 0),
            pad_bottom: h.map_or(0, |i| at(pads, spatial + i, 0)),
            pad_right: at(pads, spatial + w, 0),
        }
    }

    /// The input row a kernel row reads for an output row, if it is inside the input.
    pub fn input_row(&self, oy: usize, ky: usize) -> Option<usize> {
        (oy * self.stride_h + ky * self.dilation_h)
            .checked_sub(self.pad_top)
            .filter(|&iy| iy < self.h_in)
    }

    /// The input column a kernel column reads for an output column, if it is inside the input.
    pub fn input_col(&self, ox: usize, kx: usize) -> Option<usize> {
        (ox * self.stride_w + kx * self.dilation_w)
            .checked_sub(self.pad_left)
            .filter(|&ix| ix < self.w_in)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting() {
        assert_eq!(broadcast_shapes(&[1, 4, 1], &[6]).unwrap(), vec![1, 4, 6]);
        assert_eq!(broadcast_shapes(&[], &[2, 3]).unwrap(), vec![2, 3]);
        assert!(broadcast_shapes(&[2, 3], &[4]).is_err());
        assert_eq!(broadcast_strides(&[4, 1], &[2, 4, 6]), vec![0, 1, 0]);
        assert_eq!(broadcast_strides(&[6], &[2, 4, 6]), vec![0, 0, 1]);
    }

    #[test]
    fn nearest_rounding_modes() {
        assert_eq!(
            resize_nearest_index(NearestMode::RoundPreferFloor, 1.5, 2.0, 4),
            1
        );
        assert_eq!(
            resize_nearest_index(NearestMode::RoundPreferCeil, 1.5, 2.0, 4),
            2
        );
        assert_eq!(resize_nearest_index(NearestMode::Floor, 1.9, 2.0, 4), 1);
        assert_eq!(resize_nearest_index(NearestMode::Ceil, 1.1, 2.0, 4), 2);
        assert_eq!(resize_nearest_index(NearestMode::Ceil, 3.5, 2.0, 4), 3);
        assert_eq!(resize_nearest_index(NearestMode::Floor, -0.25, 2.0, 4), 0);
        // Resize-10: truncate when growing, round up when shrinking.
        assert_eq!(resize_nearest_index(NearestMode::Legacy, 1.67, 2.0, 5), 1);
        assert_eq!(resize_nearest_index(NearestMode::Legacy, 1.67, 0.6, 5), 2);
    }

    #[test]
    fn align_corners_uses_the_fractional_length_of_scales() {
        // ONNX's downsample_scales_linear_align_corners: 4 × 0.6 = 2.4 output points, of
        // which 2 exist; the second maps to 1 · 3 / 1.4.
        let ac = CoordinateTransformation::AlignCorners;
        let x = resize_source_coordinate(ac, 1, 0.6, 4, 2, (0.0, 1.0));
        assert!((x - 3.0 / 1.4).abs() < 1e-6, "{x}");
        // Given sizes, the scale is out / in and the length the output's.
        assert_eq!(resize_source_coordinate(ac, 1, 0.5, 4, 2, (0.0, 1.0)), 3.0);
        assert_eq!(
            resize_source_coordinate(ac, 2, 3.0 / 7.0, 7, 3, (0.0, 1.0)),
            6.0
        );
        // 2 × 0.6 = 1.2 points, of which 1: its coordinate is 0.
        assert_eq!(resize_source_coordinate(ac, 0, 0.6, 2, 1, (0.0, 1.0)), 0.0);
    }

    fn close(taps: &[(usize, f32)], expected: &[(usize, f32)]) -> bool {
        taps.len() == expected.len()
            && taps
                .iter()
                .zip(expected)
                .all(|(t, e)| t.0 == e.0 && (t.1 - e.1).abs() < 1e-6)
    }

    #[test]
    fn cubic_taps_follow_keys_kernel() {
        let cubic = ResizeAttrs {
            mode: ResizeMode::Cubic,
            ..ResizeAttrs::default()
        };
        // Half-way between 1 and 2, a = -0.75: k(0.5) = 0.59375, k(1.5) = -0.09375.
        let taps = resize_filter_taps(&cubic, 1.5, 2.0, 4);
        assert!(
            close(
                &taps,
                &[(0, -0.09375), (1, 0.59375), (2, 0.59375), (3, -0.09375)]
            ),
            "{taps:?}"
        );
        // On an input point, the point alone; outside the input, the edge repeats.
        let taps = resize_filter_taps(&cubic, 1.0, 2.0, 4);
        assert!(
            close(&taps, &[(0, 0.0), (0, 0.0), (1, 1.0), (2, 0.0)]),
            "{taps:?}"
        );
        // exclude_outside drops index -1 and renormalises the rest by 1.09375.
        let exclude = ResizeAttrs {
            exclude_outside: true,
            ..cubic.clone()
        };
        let taps = resize_filter_taps(&exclude, 0.5, 2.0, 4);
        let s = 1.09375;
        assert!(
            close(
                &taps,
                &[
                    (0, 0.0),
                    (0, 0.59375 / s),
                    (1, 0.59375 / s),
                    (2, -0.09375 / s)
                ]
            ),
            "{taps:?}"
        );
        // a = -0.5: k(0.5) = 0.5625, k(1.5) = -0.0625.
        let a_half = ResizeAttrs {
            cubic_coeff_a: -0.5,
            ..cubic
        };
        let taps = resize_filter_taps(&a_half, 1.5, 2.0, 4);
        assert!(
            close(
                &taps,
                &[(0, -0.0625), (1, 0.5625), (2, 0.5625), (3, -0.0625)]
            ),
            "{taps:?}"
        );
    }

    #[test]
    fn antialias_stretches_the_filter_when_shrinking() {
        let linear = ResizeAttrs {
            mode: ResizeMode::Linear,
            antialias: true,
            ..ResizeAttrs::default()
        };
        // Scale 0.5: the triangle spans 2 input points either side; at 0.5 the weights
        // 0.25, 0.75, 0.75, 0.25 are renormalised by their sum 2.
        let taps = resize_filter_taps(&linear, 0.5, 0.5, 8);
        assert!(
            close(&taps, &[(0, 0.125), (0, 0.375), (1, 0.375), (2, 0.125)]),
            "{taps:?}"
        );
        // Growing axes keep the plain filter.
        let taps = resize_filter_taps(&linear, 0.25, 2.0, 8);
        assert!(close(&taps, &[(0, 0.75), (1, 0.25)]), "{taps:?}");
        // Cubic at scale 0.6: 2 · ⌈2 / 0.6⌉ = 8 taps whose weights sum to 1.
        let cubic = ResizeAttrs {
            mode: ResizeMode::Cubic,
            ..linear
        };
        let taps = resize_filter_taps(&cubic, 2.3, 0.6, 10);
        assert_eq!(taps.len(), 8);
        let sum: f32 = taps.iter().map(|t| t.1).sum();
        assert!((sum - 1.0).abs() < 1e-6, "{taps:?}");
    }
}
