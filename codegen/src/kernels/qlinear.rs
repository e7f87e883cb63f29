//! Kernels of ONNX's quantization operators: `QuantizeLinear`, `DequantizeLinear`,
//! `DynamicQuantizeLinear`, `MatMulInteger`/`QLinearMatMul` and `ConvInteger`/`QLinearConv`.
//!
//! ONNX defines these with float32 rescaling rounded half to even (not TFLite's fixed-point
//! multipliers of `quant.rs`), so that is what they compute. Element types are generic through
//! [`Number`]: quantized data is int8, uint8, int16 or uint16, accumulators are exact `i32`.
//! Scales and zero points are static arrays laid out as [`Linear`] says.

use super::elementwise::Number;
use super::gemm::MatMul;
use super::math::round_half_to_even;

/// Where the scale and zero point of each element of a tensor seen as `[outer, axis_len,
/// inner]` are: index `o · outer_stride + (a / block) · axis_stride + i · inner_stride`. Per
/// tensor every stride is 0; along an axis only `axis_stride` is 1 (with `block` 1); in blocks
/// the scales have the data's shape with `axis_len` divided into blocks.
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    pub outer: usize,
    pub axis_len: usize,
    pub inner: usize,
    pub block: usize,
    pub outer_stride: usize,
    pub axis_stride: usize,
    pub inner_stride: usize,
    /// The range of the quantized type.
    pub q_min: i32,
    pub q_max: i32,
}

#[inline(always)]
fn for_each_scale(p: Linear, mut f: impl FnMut(usize, usize)) {
    let mut idx = 0;
    for o in 0..p.outer {
        for a in 0..p.axis_len {
            let base = o * p.outer_stride + (a / p.block) * p.axis_stride;
            for i in 0..p.inner {
                f(idx, base + i * p.inner_stride);
                idx += 1;
            }
        }
    }
}

#[inline(always)]
fn zero_point_at(zero_point: &[i32], k: usize) -> i32 {
    if zero_point.is_empty() {
        0
    } else {
        zero_point[k]
    }
}

/// `clamp(round_half_to_even(v) + zero_point, q_min, q_max)`.
#[inline(always)]
pub fn saturate(v: f32, zero_point: i32, q_min: i32, q_max: i32) -> i32 {
    // Float-to-int `as` saturates (NaN to 0) and the zero point is added with saturation, so
    // huge and infinite values clamp instead of wrapping.
    let q = (round_half_to_even(v) as i64).saturating_add(zero_point as i64);
    if q < q_min as i64 {
        q_min
    } else if q > q_max as i64 {
        q_max
    } else {
        q as i32
    }
}

/// `QuantizeLinear`: `y = saturate(x / scale + zero_point)`.
#[inline(always)]
pub fn quantize_linear<Y: Number>(
    p: Linear,
    x: &[f32],
    scale: &[f32],
    zero_point: &[i32],
    y: &mut [Y],
) {
    for_each_scale(p, |i, k| {
        let q = saturate(
            x[i] / scale[k],
            zero_point_at(zero_point, k),
            p.q_min,
            p.q_max,
        );
        y[i] = Y::from_i64(q as i64);
    });
}

/// `DequantizeLinear`: `y = (x − zero_point) · scale`.
#[inline(always)]
pub fn dequantize_linear<X: Number>(
    p: Linear,
    x: &[X],
    scale: &[f32],
    zero_point: &[i32],
    y: &mut [f32],
) {
    for_each_scale(p, |i, k| {
        let d = x[i].to_i64() - zero_point_at(zero_point, k) as i64;
        y[i] = d as f32 * scale[k];
    });
}

/// The zero point of scale `k` given in the data's own type at run time (empty: 0).
#[inline(always)]
fn run_time_zero_point<T: Number>(zero_point: &[T], k: usize) -> i32 {
    if zero_point.is_empty() {
        0
    } else {
        zero_point[k].to_i64() as i32
    }
}

/// `QuantizeLinear` with a scale and zero point computed at run time (the zero point in the
/// output's type, empty for 0).
#[inline(always)]
pub fn quantize_linear_run_time<Y: Number>(
    p: Linear,
    x: &[f32],
    scale: &[f32],
    zero_point: &[Y],
    y: &mut [Y],
) {
    for_each_scale(p, |i, k| {
        let q = saturate(
            x[i] / scale[k],
            run_time_zero_point(zero_point, k),
            p.q_min,
            p.q_max,
        );
        y[i] = Y::from_i64(q as i64);
    });
}

/// `DequantizeLinear` with a scale and zero point computed at run time (the zero point in the
/// input's type, empty for 0).
#[inline(always)]
pub fn dequantize_linear_run_time<X: Number>(
    p: Linear,
    x: &[X],
    scale: &[f32],
    zero_point: &[X],
    y: &mut [f32],
) {
    for_each_scale(p, |i, k| {
        let d = x[i].to_i64() - run_time_zero_point(zero_point, k) as i64;
        y[i] = d as f32 * scale[k];
    });
}

/// `DynamicQuantizeLinear`'s scale and (rounded) zero point: the range of `x` widened to
/// include 0, over the 256 levels of uint8.
#[inline(always)]
pub fn dynamic_scale_and_zero_point(x: &[f32]) -> (f32, f32) {
    let (mut min, mut max) = (0f32, 0f32);
    for &v in x {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    let range = if max == min { 1.0 } else { max - min };
    let scale = range / 255.0;
    let zero_point = (0.0 - min / scale).clamp(0.0, 255.0);
    (scale, round_half_to_even(zero_point))
}

/// `DynamicQuantizeLinear`'s first output, `y`.
#[inline(always)]
pub fn dynamic_quantize_linear(x: &[f32], y: &mut [u8]) {
    let (scale, zero_point) = dynamic_scale_and_zero_point(x);
    for (o, &v) in y.iter_mut().zip(x) {
        *o = saturate(v / scale, zero_point as i32, 0, 255) as u8;
    }
}

/// `DynamicQuantizeLinear`'s second output, `y_scale`.
#[inline(always)]
pub fn dynamic_quantize_scale(x: &[f32], y: &mut [f32]) {
    y[0] = dynamic_scale_and_zero_point(x).0;
}

/// `DynamicQuantizeLinear`'s third output, `y_zero_point`.
#[inline(always)]
pub fn dynamic_quantize_zero_point(x: &[f32], y: &mut [u8]) {
    y[0] = dynamic_scale_and_zero_point(x).1 as u8;
}

/// Zero points of a quantized matrix product: `a` per tensor (one value) or per row, `b` per
/// tensor or per column.
#[inline(always)]
fn matmul_acc<A: Number, B: Number>(
    p: MatMul,
    a: &[A],
    b: &[B],
    a_zero_point: &[i32],
    b_zero_point: &[i32],
    mut out: impl FnMut(usize, usize, i32),
) {
    let (m, k, n) = (p.m, p.k, p.n);
    let mut idx = 0;
    for i0 in 0..p.batch[0] {
        for i1 in 0..p.batch[1] {
            for i2 in 0..p.batch[2] {
                for i3 in 0..p.batch[3] {
                    let ao = i0 * p.a_strides[0]
                        + i1 * p.a_strides[1]
                        + i2 * p.a_strides[2]
                        + i3 * p.a_strides[3];
                    let bo = i0 * p.b_strides[0]
                        + i1 * p.b_strides[1]
                        + i2 * p.b_strides[2]
                        + i3 * p.b_strides[3];
                    for r in 0..m {
                        let za = a_zero_point[if a_zero_point.len() == 1 { 0 } else { r }];
                        for c in 0..n {
                            let zb =
                                b_zero_point[if b_zero_point.len() == 1 { 0 } else { c }];
                            let mut acc = 0i32;
                            for t in 0..k {
                                let x = a[ao + r * k + t].to_i64() as i32 - za;
                                let w = b[bo + t * n + c].to_i64() as i32 - zb;
                                acc = acc.wrapping_add(x * w);
                            }
                            out(idx, c, acc);
                            idx += 1;
                        }
                    }
                }
            }
        }
    }
}

/// `MatMulInteger`: the int32 product of `(a − a_zero_point)` and `(b − b_zero_point)`.
#[inline(always)]
pub fn matmul_integer<A: Number, B: Number>(
    p: MatMul,
    a: &[A],
    b: &[B],
    a_zero_point: &[i32],
    b_zero_point: &[i32],
    y: &mut [i32],
) {
    matmul_acc(p, a, b, a_zero_point, b_zero_point, |i, _, acc| y[i] = acc);
}

/// The output quantization of a `QLinear*` op: one float32 multiplier `(a_scale · b_scale) /
/// y_scale` per column or output channel (or one for all), the zero point and range.
#[derive(Clone, Copy, Debug)]
pub struct Requantize {
    pub zero_point: i32,
    pub q_min: i32,
    pub q_max: i32,
}

#[inline(always)]
fn requantize(r: Requantize, acc: i32, multiplier: f32) -> i32 {
    saturate(acc as f32 * multiplier, r.zero_point, r.q_min, r.q_max)
}

/// `QLinearMatMul`: the product of [`matmul_integer`] requantized with one multiplier per
/// column of `b` (or one).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn qlinear_matmul<A: Number, B: Number, Y: Number>(
    p: MatMul,
    r: Requantize,
    a: &[A],
    b: &[B],
    a_zero_point: &[i32],
    b_zero_point: &[i32],
    multiplier: &[f32],
    y: &mut [Y],
) {
    matmul_acc(p, a, b, a_zero_point, b_zero_point, |i, c, acc| {
        let m = multiplier[if multiplier.len() == 1 { 0 } else { c }];
        y[i] = Y::from_i64(requantize(r, acc, m) as i64);
    });
}

/// Geometry of a quantized 2-D convolution (1-D as a height of 1), NCHW, weights `[c_out,
/// c_in / groups, k_h, k_w]`.
#[derive(Clone, Copy, Debug)]
pub struct QConv2d {
    pub batch: usize,
    pub c_in: usize,
    pub h_in: usize,
    pub w_in: usize,
    pub c_out: usize,
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
    pub groups: usize,
    pub x_zero_point: i32,
}

#[inline(always)]
fn conv_acc<X: Number, W: Number>(
    p: QConv2d,
    x: &[X],
    w: &[W],
    w_zero_point: &[i32],
    bias: &[i32],
    mut out: impl FnMut(usize, usize, i32),
) {
    let (c_in_g, c_out_g) = (p.c_in / p.groups, p.c_out / p.groups);
    let mut idx = 0;
    for n in 0..p.batch {
        for co in 0..p.c_out {
            let g = co / c_out_g;
            let zw = w_zero_point[if w_zero_point.len() == 1 { 0 } else { co }];
            for oh in 0..p.h_out {
                for ow in 0..p.w_out {
                    let mut acc = if bias.is_empty() { 0 } else { bias[co] };
                    for ci in 0..c_in_g {
                        let c = g * c_in_g + ci;
                        let x_plane = (n * p.c_in + c) * p.h_in * p.w_in;
                        let w_base = (co * c_in_g + ci) * p.k_h * p.k_w;
                        for kh in 0..p.k_h {
                            let ih = oh * p.stride_h + kh * p.dilation_h;
                            if ih < p.pad_top || ih - p.pad_top >= p.h_in {
                                continue;
                            }
                            let row = x_plane + (ih - p.pad_top) * p.w_in;
                            for kw in 0..p.k_w {
                                let iw = ow * p.stride_w + kw * p.dilation_w;
                                if iw < p.pad_left || iw - p.pad_left >= p.w_in {
                                    continue;
                                }
                                let xv = x[row + iw - p.pad_left].to_i64() as i32
                                    - p.x_zero_point;
                                let wv = w[w_base + kh * p.k_w + kw].to_i64() as i32 - zw;
                                acc = acc.wrapping_add(xv * wv);
                            }
                        }
                    }
                    out(idx, co, acc);
                    idx += 1;
                }
            }
        }
    }
}

/// `ConvInteger`: the int32 convolution of `(x − x_zero_point)` and `(w − w_zero_point)`
/// (padding contributes nothing).
#[inline(always)]
pub fn conv_integer<X: Number, W: Number>(
    p: QConv2d,
    x: &[X],
    w: &[W],
    w_zero_point: &[i32],
    y: &mut [i32],
) {
    conv_acc(p, x, w, w_zero_point, &[], |i, _, acc| y[i] = acc);
}

/// `QLinearConv`: [`conv_integer`] plus the int32 bias, requantized with one multiplier per
/// output channel (or one).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn qlinear_conv<X: Number, W: Number, Y: Number>(
    p: QConv2d,
    r: Requantize,
    x: &[X],
    w: &[W],
    w_zero_point: &[i32],
    bias: &[i32],
    multiplier: &[f32],
    y: &mut [Y],
) {
    conv_acc(p, x, w, w_zero_point, bias, |i, co, acc| {
        let m = multiplier[if multiplier.len() == 1 { 0 } else { co }];
        y[i] = Y::from_i64(requantize(r, acc, m) as i64);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::eval::onnx_quant as reference;
    use crate::ir::op::{
        DequantizeAttrs, QuantConvAttrs, QuantMatMulAttrs, QuantizeLinearAttrs,
    };
    use crate::ir::{DType, TensorData};
    use proptest::prelude::*;

    /// The layout the back end gives a scale array (as `lower/onnx_quant.rs` computes it).
    fn layout(shape: &[usize], axis: usize, block_size: usize, n_scales: usize) -> Linear {
        let total: usize = shape.iter().product();
        let (outer, inner) = (
            shape[..axis].iter().product::<usize>(),
            shape[axis + 1..].iter().product::<usize>(),
        );
        let (outer, axis_len, inner, block, st) = if n_scales == 1 {
            (1, total, 1, 1, [0, 0, 0])
        } else if block_size == 0 {
            (outer, shape[axis], inner, 1, [0, 1, 0])
        } else {
            let blocks = shape[axis].div_ceil(block_size);
            (
                outer,
                shape[axis],
                inner,
                block_size,
                [blocks * inner, inner, 1],
            )
        };
        Linear {
            outer,
            axis_len,
            inner,
            block,
            outer_stride: st[0],
            axis_stride: st[1],
            inner_stride: st[2],
            q_min: -128,
            q_max: 127,
        }
    }

    /// A shape, an axis, a block size (0: per axis; `None`: per tensor) and the scale count.
    fn quantization() -> impl Strategy<Value = (Vec<usize>, usize, Option<usize>, usize)> {
        (
            proptest::collection::vec(1usize..5, 1..4),
            0usize..4,
            0usize..4,
            0usize..3,
        )
            .prop_map(|(shape, axis, block, mode)| {
                let axis = axis % shape.len();
                let n = shape[axis];
                match mode {
                    0 => (shape, axis, None, 1),
                    1 => (shape.clone(), axis, Some(0), n),
                    _ => {
                        let block = block.max(1);
                        let count = shape.iter().product::<usize>() / n * n.div_ceil(block);
                        (shape, axis, Some(block), count)
                    }
                }
            })
    }

    proptest! {
        #[test]
        fn quantize_and_dequantize_match_the_evaluator(
            (shape, axis, block, n_scales) in quantization(),
            seed in proptest::collection::vec(-1000i32..1000, 64),
        ) {
            let total: usize = shape.iter().product();
            let scale: Vec<f32> =
                (0..n_scales).map(|k| 0.01 + (seed[k % 64].unsigned_abs() % 97) as f32 / 50.0).collect();
            let zero_point: Vec<i64> = (0..n_scales).map(|k| (seed[(k + 7) % 64] % 128) as i64).collect();
            let x: Vec<f32> = (0..total).map(|i| seed[(i * 5 + 3) % 64] as f32 / 7.0).collect();
            let block_size = block.unwrap_or(0);
            let p = layout(&shape, axis, block_size, n_scales);
            let zp32: Vec<i32> = zero_point.iter().map(|&z| z as i32).collect();

            let attrs = QuantizeLinearAttrs {
                axis: axis as i64,
                block_size,
                output_dtype: DType::I8,
                scale: scale.clone(),
                zero_point: zero_point.clone(),
                ..Default::default()
            };
            let want = reference::quantize_linear(&attrs, &Value::f32(shape.clone(), x.clone()), DType::I8).unwrap();
            let mut q = vec![0i8; total];
            quantize_linear(p, &x, &scale, &zp32, &mut q);
            prop_assert_eq!(TensorData::I8(q.clone()), want);
            // The same with the zero point given at run time, in the data's type.
            let zp8: Vec<i8> = zero_point.iter().map(|&z| z as i8).collect();
            let mut q_run_time = vec![0i8; total];
            quantize_linear_run_time(p, &x, &scale, &zp8, &mut q_run_time);
            prop_assert_eq!(&q_run_time, &q);

            let attrs = DequantizeAttrs { axis: axis as i64, block_size, scale: scale.clone(), zero_point, ..Default::default() };
            let want = reference::dequantize_linear(&attrs, &Value::new(shape.clone(), TensorData::I8(q.clone()))).unwrap();
            let mut y = vec![0f32; total];
            dequantize_linear(p, &q, &scale, &zp32, &mut y);
            prop_assert_eq!(TensorData::F32(y.clone()), want);
            let mut y_run_time = vec![0f32; total];
            dequantize_linear_run_time(p, &q, &scale, &zp8, &mut y_run_time);
            prop_assert_eq!(&y_run_time, &y);
        }

        #[test]
        fn quantized_matmul_matches_the_evaluator(
            (batch, m, k, n) in (1usize..3, 1usize..4, 1usize..6, 1usize..4),
            seed in proptest::collection::vec(0u8..=255, 128),
            per_column in any::<bool>(),
            y_zero_point in -20i64..20,
        ) {
            let a: Vec<u8> = (0..batch * m * k).map(|i| seed[i % 128]).collect();
            let b: Vec<i8> = (0..batch * k * n).map(|i| seed[(i * 3 + 1) % 128] as i8).collect();
            let nb = if per_column { n } else { 1 };
            let q = QuantMatMulAttrs {
                a_scale: 0.02,
                a_zero_point: vec![seed[5] as i64],
                b_scale: (0..nb).map(|c| 0.01 + c as f32 * 0.003).collect(),
                b_zero_point: (0..nb).map(|c| (seed[c + 9] as i8) as i64).collect(),
                y_scale: 0.7,
                y_zero_point,
            };
            let av = Value::new(vec![batch, m, k], TensorData::U8(a.clone()));
            let bv = Value::new(vec![batch, k, n], TensorData::I8(b.clone()));
            let acc = reference::matmul_integer(&av, &bv, &q).unwrap();
            let p = MatMul {
                batch: [1, 1, 1, batch],
                a_strides: [0, 0, 0, m * k],
                b_strides: [0, 0, 0, k * n],
                m,
                k,
                n,
            };
            let za = [q.a_zero_point[0] as i32];
            let zb: Vec<i32> = q.b_zero_point.iter().map(|&z| z as i32).collect();
            let mut y = vec![0i32; batch * m * n];
            matmul_integer(p, &a, &b, &za, &zb, &mut y);
            prop_assert_eq!(y.iter().map(|&v| v as i64).collect::<Vec<_>>(), acc.clone());

            let multiplier: Vec<f32> = q.b_scale.iter()
                .map(|&s| reference::requantize_multiplier(q.a_scale, s, q.y_scale)).collect();
            let r = Requantize { zero_point: y_zero_point as i32, q_min: -128, q_max: 127 };
            let mut yq = vec![0i8; batch * m * n];
            qlinear_matmul(p, r, &a, &b, &za, &zb, &multiplier, &mut yq);
            let want: Vec<i64> = acc.iter().enumerate().map(|(i, &v)| {
                let m = multiplier[if nb == 1 { 0 } else { i % n }];
                reference::requantize(v, m, y_zero_point, DType::I8)
            }).collect();
            prop_assert_eq!(yq.iter().map(|&v| v as i64).collect::<Vec<_>>(), want);
        }

        #[test]
        fn quantized_conv_matches_the_evaluator(
            (c_in_g, c_out_g, groups) in (1usize..3, 1usize..3, 1usize..3),
            (h, w, k_h, k_w) in (2usize..6, 2usize..6, 1usize..3, 1usize..3),
            (stride, dilation, pad) in (1usize..3, 1usize..3, 0usize..2),
            seed in proptest::collection::vec(0u8..=255, 128),
        ) {
            let (c_in, c_out) = (c_in_g * groups, c_out_g * groups);
            let h_out = (h + 2 * pad).saturating_sub((k_h - 1) * dilation + 1) / stride + 1;
            let w_out = (w + 2 * pad).saturating_sub((k_w - 1) * dilation + 1) / stride + 1;
            prop_assume!(h + 2 * pad > (k_h - 1) * dilation && w + 2 * pad > (k_w - 1) * dilation);
            let x: Vec<u8> = (0..c_in * h * w).map(|i| seed[i % 128]).collect();
            let wt: Vec<u8> = (0..c_out * c_in_g * k_h * k_w).map(|i| seed[(i * 7 + 2) % 128]).collect();
            let bias: Vec<i32> = (0..c_out).map(|c| seed[c] as i32 * 10 - 1000).collect();
            let q = QuantConvAttrs {
                kernel_shape: vec![k_h, k_w],
                strides: vec![stride, stride],
                dilations: vec![dilation, dilation],
                pads: vec![pad; 4],
                group: groups,
                x_scale: 0.05,
                x_zero_point: seed[3] as i64,
                w_scale: (0..c_out).map(|c| 0.01 + c as f32 * 0.002).collect(),
                w_zero_point: (0..c_out).map(|c| seed[c + 11] as i64).collect(),
                y_scale: 3.0,
                y_zero_point: 100,
                ..Default::default()
            };
            let out_shape = vec![1, c_out, h_out, w_out];
            let acc = reference::conv_integer(
                &Value::new(vec![1, c_in, h, w], TensorData::U8(x.clone())),
                &Value::new(vec![c_out, c_in_g, k_h, k_w], TensorData::U8(wt.clone())),
                Some(&Value::new(vec![c_out], TensorData::I32(bias.clone()))),
                &q,
                &out_shape,
            ).unwrap();
            let p = QConv2d {
                batch: 1, c_in, h_in: h, w_in: w, c_out, h_out, w_out, k_h, k_w,
                stride_h: stride, stride_w: stride, dilation_h: dilation, dilation_w: dilation,
                pad_top: pad, pad_left: pad, groups, x_zero_point: q.x_zero_point as i32,
            };
            let zw: Vec<i32> = q.w_zero_point.iter().map(|&z| z as i32).collect();
            let multiplier: Vec<f32> = q.w_scale.iter()
                .map(|&s| reference::requantize_multiplier(q.x_scale, s, q.y_scale)).collect();
            let r = Requantize { zero_point: 100, q_min: 0, q_max: 255 };
            let mut y = vec![0u8; c_out * h_out * w_out];
            qlinear_conv(p, r, &x, &wt, &zw, &bias, &multiplier, &mut y);
            let plane = h_out * w_out;
            let want: Vec<u8> = acc.iter().enumerate().map(|(i, &v)| {
                reference::requantize(v, multiplier[i / plane], 100, DType::U8) as u8
            }).collect();
            prop_assert_eq!(y, want);
        }

        #[test]
        fn saturate_matches_the_evaluator(
            v in -1.0e6f32..1.0e6,
            halves in -600i32..600,
            zero_point in -128i32..128,
        ) {
            for v in [v, halves as f32 / 2.0, f32::INFINITY, f32::NEG_INFINITY, f32::MAX] {
                let want = reference::requantize_value(v, zero_point as i64, crate::ir::DType::I8);
                prop_assert_eq!(saturate(v, zero_point, -128, 127) as i64, want);
            }
        }

        #[test]
        fn dynamic_quantization_matches_the_evaluator(
            x in proptest::collection::vec(-100.0f32..100.0, 1..20),
        ) {
            let value = crate::eval::Value::f32(vec![x.len()], x.clone());
            let want = reference::dynamic_quantize_linear(&value).unwrap();
            let mut y = vec![0u8; x.len()];
            let (mut s, mut z) = ([0f32], [0u8]);
            dynamic_quantize_linear(&x, &mut y);
            dynamic_quantize_scale(&x, &mut s);
            dynamic_quantize_zero_point(&x, &mut z);
            prop_assert_eq!(crate::ir::TensorData::U8(y), want[0].data.clone());
            prop_assert_eq!(crate::ir::TensorData::F32(s.to_vec()), want[1].data.clone());
            prop_assert_eq!(crate::ir::TensorData::U8(z.to_vec()), want[2].data.clone());
        }
    }
}
