//! Pooling: max and average over sliding windows, and over whole planes (global pooling).
//! NCHW, any number of planes per call (batch × channels); 1-D as height 1.
//!
//! Every rank shares one window walk over a plane ([`window`]); 3-D pooling folds the windows
//! of the input planes its depth taps reach. The 1-D and 2-D kernels walk a plane directly: a
//! depth loop of one iteration around the window, even with constant bounds, makes LLVM emit
//! about half as many instructions again for 2-D average pooling. Max pooling works on every
//! ordered element type; average pooling on `f32`.

/// An element type max pooling compares: ordered, with a lowest value to start from.
pub trait Ordered: Copy + PartialOrd {
    /// No element is below it (minus infinity for floats).
    const LOWEST: Self;
}

macro_rules! ordered {
    ($($t:ty = $lowest:expr),*) => {
        $(impl Ordered for $t {
            const LOWEST: Self = $lowest;
        })*
    };
}

ordered!(
    f32 = f32::NEG_INFINITY,
    f64 = f64::NEG_INFINITY,
    i8 = i8::MIN,
    u8 = 0,
    i16 = i16::MIN,
    u16 = 0,
    i32 = i32::MIN,
    u32 = 0,
    i64 = i64::MIN,
    u64 = 0,
    // Not an ONNX MaxPool type; the maximum of bools is "any".
    bool = false
);

/// The geometry of a 1-D or 2-D pooling window, in the same terms as a convolution's (1-D as
/// height 1).
#[derive(Clone, Copy, Debug)]
pub struct Pool2d {
    /// Batch × channels: the number of independent planes.
    pub planes: usize,
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
    /// Average pooling: divide by the window size including padding (not only the taps inside
    /// the input). Taps beyond the end padding, which `ceil_mode` creates, never count.
    pub count_include_pad: bool,
}

/// The geometry of a pooling window over the spatial axes `[depth, height, width]`; a window
/// with fewer axes has the last ones, the others having size 1, kernel 1, stride 1 and no
/// padding.
#[derive(Clone, Copy, Debug)]
pub struct Pool3d {
    /// Batch × channels: the number of independent volumes.
    pub planes: usize,
    pub shape_in: [usize; 3],
    pub shape_out: [usize; 3],
    pub kernel: [usize; 3],
    pub strides: [usize; 3],
    pub dilations: [usize; 3],
    pub pads_begin: [usize; 3],
    pub pads_end: [usize; 3],
    /// As in [`Pool2d`].
    pub count_include_pad: bool,
}

impl Pool3d {
    /// The window over one plane (height and width).
    #[inline(always)]
    fn plane(self) -> Pool2d {
        Pool2d {
            planes: 1,
            h_in: self.shape_in[1],
            w_in: self.shape_in[2],
            h_out: self.shape_out[1],
            w_out: self.shape_out[2],
            k_h: self.kernel[1],
            k_w: self.kernel[2],
            stride_h: self.strides[1],
            stride_w: self.strides[2],
            dilation_h: self.dilations[1],
            dilation_w: self.dilations[2],
            pad_top: self.pads_begin[1],
            pad_left: self.pads_begin[2],
            pad_bottom: self.pads_end[1],
            pad_right: self.pads_end[2],
            count_include_pad: self.count_include_pad,
        }
    }
}

/// Folds the taps of the window at output position `(oy, ox)` of one plane into `acc` with
/// `tap(acc, value, [y, x])`, in row-major order, and counts the taps inside the padded plane.
/// `input` is `None` for a plane of padding (3-D pooling), whose taps all count as padding.
/// Taps at or past the end padding, which `ceil_mode` creates, do not exist.
#[inline(always)]
fn window<T: Copy, A>(
    p: Pool2d,
    input: Option<&[T]>,
    oy: usize,
    ox: usize,
    mut acc: A,
    tap: &impl Fn(A, T, [usize; 2]) -> A,
) -> (A, usize) {
    let mut padded = 0usize;
    for ky in 0..p.k_h {
        let py = oy * p.stride_h + ky * p.dilation_h;
        if py >= p.h_in + p.pad_top + p.pad_bottom {
            continue;
        }
        for kx in 0..p.k_w {
            let px = ox * p.stride_w + kx * p.dilation_w;
            if px >= p.w_in + p.pad_left + p.pad_right {
                continue;
            }
            padded += 1;
            let Some(input) = input else {
                continue;
            };
            if py < p.pad_top || px < p.pad_left {
                continue;
            }
            let (iy, ix) = (py - p.pad_top, px - p.pad_left);
            if iy < p.h_in && ix < p.w_in {
                acc = tap(acc, input[iy * p.w_in + ix], [iy, ix]);
            }
        }
    }
    (acc, padded)
}

/// Visits each output position of 1-D or 2-D pooling: folds the input taps under its window
/// into `empty` (see [`window`]), then `finish(acc, plane, padded)` makes the output.
#[inline(always)]
fn pool2d<T: Copy, U, A: Copy>(
    p: Pool2d,
    x: &[T],
    y: &mut [U],
    empty: A,
    tap: impl Fn(A, T, [usize; 2]) -> A,
    finish: impl Fn(A, usize, usize) -> U,
) {
    let (plane_in, plane_out) = (p.h_in * p.w_in, p.h_out * p.w_out);
    for c in 0..p.planes {
        let input = &x[c * plane_in..(c + 1) * plane_in];
        let out = &mut y[c * plane_out..(c + 1) * plane_out];
        for oy in 0..p.h_out {
            for ox in 0..p.w_out {
                let (acc, padded) = window(p, Some(input), oy, ox, empty, &tap);
                out[oy * p.w_out + ox] = finish(acc, c, padded);
            }
        }
    }
}

/// [`pool2d`] with a depth axis: each output folds the windows of the input planes its depth
/// taps reach; `tap` gets the position `[z, y, x]`.
#[inline(always)]
fn pool3d<T: Copy, U, A: Copy>(
    p: Pool3d,
    x: &[T],
    y: &mut [U],
    empty: A,
    tap: impl Fn(A, T, [usize; 3]) -> A,
    finish: impl Fn(A, usize, usize) -> U,
) {
    let plane = p.plane();
    let [d_in, d_out] = [p.shape_in[0], p.shape_out[0]];
    let (plane_in, plane_out) = (plane.h_in * plane.w_in, plane.h_out * plane.w_out);
    let depth_end = d_in + p.pads_begin[0] + p.pads_end[0];
    for c in 0..p.planes {
        let input = &x[c * d_in * plane_in..(c + 1) * d_in * plane_in];
        let out = &mut y[c * d_out * plane_out..(c + 1) * d_out * plane_out];
        for oz in 0..d_out {
            for oy in 0..plane.h_out {
                for ox in 0..plane.w_out {
                    let (mut acc, mut padded) = (empty, 0usize);
                    for kz in 0..p.kernel[0] {
                        let pz = oz * p.strides[0] + kz * p.dilations[0];
                        if pz >= depth_end {
                            continue;
                        }
                        let iz = pz.checked_sub(p.pads_begin[0]).filter(|&iz| iz < d_in);
                        let slice = iz.map(|iz| &input[iz * plane_in..(iz + 1) * plane_in]);
                        let z = iz.unwrap_or(0);
                        let (folded, taps) =
                            window(plane, slice, oy, ox, acc, &|acc, v, [iy, ix]| {
                                tap(acc, v, [z, iy, ix])
                            });
                        acc = folded;
                        padded += taps;
                    }
                    out[(oz * plane.h_out + oy) * plane.w_out + ox] =
                        finish(acc, c, padded);
                }
            }
        }
    }
}

/// `if v > max { v } else { max }`: NaN taps never win, as with `f32::max`.
#[inline(always)]
fn larger<T: Ordered>(max: T, v: T) -> T {
    if v > max {
        return v;
    }
    max
}

/// The maximum of each window; a window without input taps (or only NaNs) gives `T::LOWEST`.
#[inline(always)]
pub fn max_pool2d<T: Ordered>(p: Pool2d, x: &[T], y: &mut [T]) {
    pool2d(
        p,
        x,
        y,
        T::LOWEST,
        |max, v, _| larger(max, v),
        |max, _, _| max,
    );
}

#[inline(always)]
pub fn max_pool3d<T: Ordered>(p: Pool3d, x: &[T], y: &mut [T]) {
    pool3d(
        p,
        x,
        y,
        T::LOWEST,
        |max, v, _| larger(max, v),
        |max, _, _| max,
    );
}

/// The position of each window's maximum (the first one in row-major order among equals), as
/// the flat index into the whole input `x`: the plane's offset plus `index_strides · [z, y, x]`.
/// Row-major strides give ONNX's `storage_order` 0, column-major ones `storage_order` 1. A
/// window without input taps (or only NaNs) gives -1.
#[inline(always)]
pub fn max_pool_indices<T: Ordered>(
    p: Pool3d,
    index_strides: [usize; 3],
    x: &[T],
    y: &mut [i64],
) {
    let volume_in = p.shape_in[0] * p.shape_in[1] * p.shape_in[2];
    pool3d(
        p,
        x,
        y,
        (T::LOWEST, 0usize, false),
        |(max, at, found), v, [iz, iy, ix]| {
            // Until a tap is found `max` is the lowest value, which every number but NaN
            // reaches: the same taps win as in `max_pool3d`.
            let better = if found { v > max } else { v >= max };
            if better {
                let position =
                    iz * index_strides[0] + iy * index_strides[1] + ix * index_strides[2];
                (v, position, true)
            } else {
                (max, at, found)
            }
        },
        |(_, at, found), c, _| {
            if found {
                (c * volume_in + at) as i64
            } else {
                -1
            }
        },
    );
}

/// The average of each window: over the taps inside the input, or with `count_include_pad`
/// over those inside the padded input.
#[inline(always)]
fn average(count_include_pad: bool) -> impl Fn((f32, usize), usize, usize) -> f32 {
    move |(sum, count), _, padded| {
        let divisor = if count_include_pad { padded } else { count };
        sum / divisor.max(1) as f32
    }
}

#[inline(always)]
pub fn average_pool2d(p: Pool2d, x: &[f32], y: &mut [f32]) {
    let sum = |(sum, count): (f32, usize), v: f32, _| (sum + v, count + 1);
    pool2d(p, x, y, (0.0, 0), sum, average(p.count_include_pad));
}

#[inline(always)]
pub fn average_pool3d(p: Pool3d, x: &[f32], y: &mut [f32]) {
    let sum = |(sum, count): (f32, usize), v: f32, _| (sum + v, count + 1);
    pool3d(p, x, y, (0.0, 0), sum, average(p.count_include_pad));
}

/// `planes` planes of `size` elements each, reduced to one value per plane.
#[derive(Clone, Copy, Debug)]
pub struct GlobalPool {
    pub planes: usize,
    pub size: usize,
}

#[inline(always)]
pub fn global_average_pool(p: GlobalPool, x: &[f32], y: &mut [f32]) {
    for (c, out) in y[..p.planes].iter_mut().enumerate() {
        let sum: f32 = x[c * p.size..(c + 1) * p.size].iter().sum();
        *out = sum / p.size as f32;
    }
}

#[inline(always)]
pub fn global_max_pool(p: GlobalPool, x: &[f32], y: &mut [f32]) {
    for (c, out) in y[..p.planes].iter_mut().enumerate() {
        *out = x[c * p.size..(c + 1) * p.size]
            .iter()
            .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::op::PoolAttrs;
    use crate::kernels::test_support::{assert_close, floats};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pooling_matches_the_reference(
            planes in 1..4usize, h in 1..9usize, w in 1..9usize, k in (1..4usize, 1..4usize), s in (1..4usize, 1..4usize),
            d in (1..3usize, 1..3usize), pads in [0..2usize, 0..2usize, 0..2usize, 0..2usize], ceil in any::<bool>(),
            include_pad in any::<bool>(), max in any::<bool>(), seed in any::<u64>(),
        ) {
            let extent = ((k.0 - 1) * d.0 + 1, (k.1 - 1) * d.1 + 1);
            prop_assume!(h + pads[0] + pads[2] >= extent.0 && w + pads[1] + pads[3] >= extent.1);
            let out_len = |len: usize, total: usize, e: usize, s: usize, begin: usize| {
                let span = len + total - e;
                let mut o = if ceil { span.div_ceil(s) + 1 } else { span / s + 1 };
                if ceil && (o - 1) * s >= len + begin { o -= 1; }
                o
            };
            let h_out = out_len(h, pads[0] + pads[2], extent.0, s.0, pads[0]);
            let w_out = out_len(w, pads[1] + pads[3], extent.1, s.1, pads[1]);
            let x = floats(seed, planes * h * w);
            let attrs = PoolAttrs {
                kernel_shape: vec![k.0, k.1], strides: vec![s.0, s.1], dilations: vec![d.0, d.1], pads: pads.to_vec(),
                ceil_mode: ceil, count_include_pad: include_pad, ..Default::default()
            };
            let expected = crate::eval::nn::pool(&attrs, &Value::f32(vec![1, planes, h, w], x.clone()), &[1, planes, h_out, w_out], max).unwrap();
            let p = Pool2d { planes, h_in: h, w_in: w, h_out, w_out, k_h: k.0, k_w: k.1, stride_h: s.0, stride_w: s.1,
                dilation_h: d.0, dilation_w: d.1, pad_top: pads[0], pad_left: pads[1], pad_bottom: pads[2], pad_right: pads[3],
                count_include_pad: include_pad };
            let mut y = vec![f32::NAN; expected.len()];
            if max { max_pool2d(p, &x, &mut y) } else { average_pool2d(p, &x, &mut y) }
            assert_close(&y, &expected, 1e-5);
        }
    }

    /// A random 3-D pooling geometry: the input shape `[planes, d, h, w]`, the attributes and
    /// the output's spatial shape.
    fn geometry_3d() -> impl Strategy<Value = (usize, [usize; 3], PoolAttrs, [usize; 3])> {
        (
            1..3usize,
            [1..5usize, 1..5usize, 1..6usize],
            [1..4usize, 1..4usize, 1..4usize],
            [1..3usize, 1..3usize, 1..4usize],
            [1..3usize, 1..3usize, 1..3usize],
            [
                0..2usize,
                0..2usize,
                0..2usize,
                0..2usize,
                0..2usize,
                0..2usize,
            ],
            any::<bool>(),
            any::<bool>(),
        )
            .prop_filter_map(
                "the window fits the padded input",
                |(planes, shape, k, s, d, pads, ceil, include_pad)| {
                    let mut out = [0; 3];
                    for a in 0..3 {
                        let extent = (k[a] - 1) * d[a] + 1;
                        let padded = shape[a] + pads[a] + pads[3 + a];
                        if padded < extent {
                            return None;
                        }
                        let span = padded - extent;
                        out[a] = if ceil {
                            span.div_ceil(s[a]) + 1
                        } else {
                            span / s[a] + 1
                        };
                        if ceil && (out[a] - 1) * s[a] >= shape[a] + pads[a] {
                            out[a] -= 1;
                        }
                    }
                    let attrs = PoolAttrs {
                        kernel_shape: k.to_vec(),
                        strides: s.to_vec(),
                        dilations: d.to_vec(),
                        pads: pads.to_vec(),
                        ceil_mode: ceil,
                        count_include_pad: include_pad,
                        ..Default::default()
                    };
                    Some((planes, shape, attrs, out))
                },
            )
    }

    fn pool3d(planes: usize, shape: [usize; 3], a: &PoolAttrs, out: [usize; 3]) -> Pool3d {
        let three = |v: &[usize]| [v[0], v[1], v[2]];
        Pool3d {
            planes,
            shape_in: shape,
            shape_out: out,
            kernel: three(&a.kernel_shape),
            strides: three(&a.strides),
            dilations: three(&a.dilations),
            pads_begin: three(&a.pads[..3]),
            pads_end: three(&a.pads[3..]),
            count_include_pad: a.count_include_pad,
        }
    }

    proptest! {
        #[test]
        fn pooling_3d_matches_the_reference(
            (planes, shape, attrs, out) in geometry_3d(), seed in any::<u64>(), column_major in any::<bool>(),
        ) {
            let x = floats(seed, planes * shape.iter().product::<usize>());
            let x_value = Value::f32(vec![1, planes, shape[0], shape[1], shape[2]], x.clone());
            let out_shape = [1, planes, out[0], out[1], out[2]];
            let p = pool3d(planes, shape, &attrs, out);
            let n_out = planes * out.iter().product::<usize>();

            let expected = crate::eval::nn::average_pool(&attrs, &x_value, &out_shape).unwrap();
            let mut y = vec![f32::NAN; n_out];
            average_pool3d(p, &x, &mut y);
            assert_close(&y, &expected, 1e-5);

            let attrs = PoolAttrs { column_major_indices: column_major, ..attrs };
            let (values, indices) = crate::eval::nn::max_pool(&attrs, &x_value, &out_shape).unwrap();
            max_pool3d(p, &x, &mut y);
            assert_eq!(crate::ir::TensorData::F32(y), values);
            let index_strides = if column_major {
                [1, shape[0], shape[0] * shape[1]]
            } else {
                [shape[1] * shape[2], shape[2], 1]
            };
            let mut picks = vec![0i64; n_out];
            max_pool_indices(p, index_strides, &x, &mut picks);
            assert_eq!(picks, indices);
        }

        /// Few distinct values make ties frequent: the first maximum in row-major order wins.
        #[test]
        fn integer_max_pooling_matches_the_reference(
            (planes, shape, attrs, out) in geometry_3d(), seed in any::<u64>(),
        ) {
            let x: Vec<u8> = floats(seed, planes * shape.iter().product::<usize>())
                .iter()
                .map(|v| ((v + 1.0) * 2.0) as u8)
                .collect();
            let x_value = Value::new(
                vec![1, planes, shape[0], shape[1], shape[2]],
                crate::ir::TensorData::U8(x.clone()),
            );
            let out_shape = [1, planes, out[0], out[1], out[2]];
            let (values, indices) = crate::eval::nn::max_pool(&attrs, &x_value, &out_shape).unwrap();
            let p = pool3d(planes, shape, &attrs, out);
            let n_out = planes * out.iter().product::<usize>();
            let mut y = vec![u8::MAX; n_out];
            max_pool3d(p, &x, &mut y);
            assert_eq!(crate::ir::TensorData::U8(y), values);
            let mut picks = vec![0i64; n_out];
            max_pool_indices(p, [shape[1] * shape[2], shape[2], 1], &x, &mut picks);
            assert_eq!(picks, indices);
        }
    }

    /// ONNX's `test_maxpool_with_argmax_2d_precomputed_strides`: 2×2 windows, stride 2, and
    /// indices in both storage orders.
    #[test]
    fn max_pool_indices_follow_the_onnx_example() {
        let x: Vec<f32> = (1..=25).map(|v| v as f32).collect();
        let p = Pool2d {
            planes: 1,
            h_in: 5,
            w_in: 5,
            h_out: 2,
            w_out: 2,
            k_h: 2,
            k_w: 2,
            stride_h: 2,
            stride_w: 2,
            dilation_h: 1,
            dilation_w: 1,
            pad_top: 0,
            pad_left: 0,
            pad_bottom: 0,
            pad_right: 0,
            count_include_pad: false,
        };
        let mut y = [0.0; 4];
        max_pool2d(p, &x, &mut y);
        assert_eq!(y, [7.0, 9.0, 17.0, 19.0]);
        let p = Pool3d {
            planes: 1,
            shape_in: [1, 5, 5],
            shape_out: [1, 2, 2],
            kernel: [1, 2, 2],
            strides: [1, 2, 2],
            dilations: [1; 3],
            pads_begin: [0; 3],
            pads_end: [0; 3],
            count_include_pad: false,
        };
        let mut indices = [0i64; 4];
        max_pool_indices(p, [1, 1, 5], &x, &mut indices);
        assert_eq!(indices, [6, 16, 8, 18]);
        max_pool_indices(p, [25, 5, 1], &x, &mut indices);
        assert_eq!(indices, [6, 8, 16, 18]);
    }

    #[test]
    fn global_pools() {
        let x = [1.0, 2.0, 3.0, 4.0, -1.0, -5.0];
        let mut y = [0.0; 2];
        global_average_pool(GlobalPool { planes: 2, size: 3 }, &x, &mut y);
        assert_eq!(y, [2.0, -2.0 / 3.0]);
        global_max_pool(GlobalPool { planes: 2, size: 3 }, &x, &mut y);
        assert_eq!(y, [3.0, 4.0]);
    }
}
