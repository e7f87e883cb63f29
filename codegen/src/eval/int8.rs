//! The reference evaluator's quantized ops: integer-only arithmetic on int8 tensors, following
//! the TFLite int8 specification and its reference kernels.
//!
//! Accumulators are exact (`i64`, although TFLite's `i32` never overflows on real models);
//! requantization uses the same fixed-point helpers as the generated code
//! ([`crate::kernels::quant`], themselves proptested against wide-integer arithmetic), and the
//! constant parameters come from [`crate::quant`], as for the back ends. What this module adds
//! is the obviously-right loops: every output element computed from its definition, in NCHW
//! (channels-last tensors are transposed in and out by the caller).

use crate::eval::Value;
use crate::eval::layout::unravel;
use crate::ir::op::{CoordinateTransformation, ResizeAttrs, ResizeMode};
use crate::ir::shape::{
    Spatial2d, broadcast_strides, resize_linear_taps_q10, resize_nearest_index,
    resize_source_coordinate,
};
use crate::ir::strides_of;
use crate::ir::{Activation, DType, Op, Quantization, Rounding, TensorData};
use crate::kernels::int8::{DequantizeI8, QuantizeI8};
use crate::kernels::quant::{
    multiply_by_quantized_multiplier, requantize, requantize_once,
};
use crate::quant;

type R<T> = Result<T, String>;

/// The quantization of one operand.
#[derive(Clone, Copy, Debug)]
pub struct Operand<'a> {
    pub value: &'a Value,
    pub quant: &'a Quantization,
}

fn ints(v: &Value, what: &str) -> R<Vec<i64>> {
    v.data
        .to_i64_vec()
        .ok_or_else(|| format!("{what} needs integer data, not {}", v.data.dtype()))
}

fn to_i8(values: Vec<i32>) -> TensorData {
    TensorData::I8(values.into_iter().map(|v| v as i8).collect())
}

/// The output's `[min, max]` after the fused activation.
fn output_range(
    activation: Activation,
    y: &Quantization,
    dtype: DType,
) -> R<(i32, i32, f32, i32)> {
    let (scale, zero_point) = quant::single(Some(y), "the output")?;
    let (min, max) = quant::activation_range(activation, scale, zero_point, dtype)?;
    Ok((min, max, scale, zero_point))
}

/// Quantized NCHW convolution: `acc = Σ (x − z_x)(w − z_w) + bias`, requantized per output
/// channel. `w` is `[C_out, C_in / group, k_h, k_w]`.
#[allow(clippy::too_many_arguments)]
pub fn conv(
    x: Operand,
    w: Operand,
    bias: Option<&Value>,
    y: &Quantization,
    out_shape: &[usize],
    geometry: (&[usize], &[usize], &[usize], &[usize]),
    group: usize,
    activation: Activation,
    rounding: Rounding,
) -> R<TensorData> {
    let (kernel, strides, dilations, pads) = geometry;
    let (xv, wv) = (ints(x.value, "Conv")?, ints(w.value, "Conv")?);
    let bias = bias.map(|b| ints(b, "Conv bias")).transpose()?;
    let (sx, zx) = quant::single(Some(x.quant), "the input")?;
    let g = Spatial2d::new(&x.value.shape, out_shape, kernel, strides, dilations, pads);
    let (c_in, c_out) = (x.value.shape[1], out_shape[1]);
    let (cin_g, cout_g) = (c_in / group, c_out / group);
    let (multipliers, shifts) = quant::channel_multipliers(sx, w.quant, y.scale[0], c_out);
    let (min, max, _, zy) = output_range(activation, y, DType::I8)?;
    let w_zero = |oc: usize| w.quant.zero_point[if w.quant.is_per_axis() { oc } else { 0 }];
    let mut out = Vec::with_capacity(out_shape.iter().product());
    for n in 0..g.n {
        for oc in 0..c_out {
            let group_index = oc / cout_g;
            for oy in 0..g.h_out {
                for ox in 0..g.w_out {
                    let mut acc: i64 = bias.as_ref().map_or(0, |b| b[oc]);
                    for icg in 0..cin_g {
                        let ic = group_index * cin_g + icg;
                        for ky in 0..g.k_h {
                            let Some(iy) = g.input_row(oy, ky) else {
                                continue;
                            };
                            for kx in 0..g.k_w {
                                let Some(ix) = g.input_col(ox, kx) else {
                                    continue;
                                };
                                let xi = ((n * c_in + ic) * g.h_in + iy) * g.w_in + ix;
                                let wi = ((oc * cin_g + icg) * g.k_h + ky) * g.k_w + kx;
                                acc += (xv[xi] - zx as i64) * (wv[wi] - w_zero(oc) as i64);
                            }
                        }
                    }
                    let requantize = match rounding {
                        Rounding::Double => requantize,
                        Rounding::Single => requantize_once,
                    };
                    out.push(requantize(
                        clamp_i32(acc)?,
                        multipliers[oc],
                        shifts[oc],
                        zy,
                        min,
                        max,
                    ));
                }
            }
        }
    }
    Ok(to_i8(out))
}

/// A "hybrid" NCHW convolution: float input and output, int8 weights with one scale and zero
/// point 0 (TFLite's dynamic-range quantization). Each image is quantized symmetrically to
/// `[-127, 127]` with `scale = max|x| / 127` (ties away from zero), the integer products are
/// summed exactly, and the sum is scaled back with the `f32` product `scale · weight_scale`
/// before the float bias and activation.
#[allow(clippy::too_many_arguments)]
pub fn conv_hybrid(
    x: &Value,
    w: Operand,
    bias: Option<&Value>,
    out_shape: &[usize],
    geometry: (&[usize], &[usize], &[usize], &[usize]),
    group: usize,
    activation: Activation,
) -> R<TensorData> {
    let (kernel, strides, dilations, pads) = geometry;
    let xv = x
        .data
        .as_f32()
        .ok_or("a hybrid convolution takes float32 input")?;
    let wv = ints(w.value, "Conv")?;
    let bias = match bias {
        Some(b) => Some(
            b.data
                .as_f32()
                .ok_or("a hybrid convolution has a float32 bias")?,
        ),
        None => None,
    };
    let (weight_scale, weight_zero) = quant::single(Some(w.quant), "the weights")?;
    if weight_zero != 0 {
        return Err("hybrid convolution weights must have zero point 0".into());
    }
    let g = Spatial2d::new(&x.shape, out_shape, kernel, strides, dilations, pads);
    let (c_in, c_out) = (x.shape[1], out_shape[1]);
    let (cin_g, cout_g) = (c_in / group, c_out / group);
    let image_len = c_in * g.h_in * g.w_in;
    let mut out = Vec::with_capacity(out_shape.iter().product());
    for n in 0..g.n {
        let image = &xv[n * image_len..(n + 1) * image_len];
        let range = image.iter().fold(0f32, |m, v| m.max(v.abs()));
        let (scale, inverse) = if range == 0.0 {
            (1.0f32, 0.0f32)
        } else {
            (range / 127.0, 127.0 / range)
        };
        let q: Vec<i64> = image
            .iter()
            .map(|&v| ((v * inverse).round() as i64).clamp(-127, 127))
            .collect();
        let output_scale = scale * weight_scale;
        for oc in 0..c_out {
            let group_index = oc / cout_g;
            for oy in 0..g.h_out {
                for ox in 0..g.w_out {
                    let mut acc: i64 = 0;
                    for icg in 0..cin_g {
                        let ic = group_index * cin_g + icg;
                        for ky in 0..g.k_h {
                            let Some(iy) = g.input_row(oy, ky) else {
                                continue;
                            };
                            for kx in 0..g.k_w {
                                let Some(ix) = g.input_col(ox, kx) else {
                                    continue;
                                };
                                let xi = (ic * g.h_in + iy) * g.w_in + ix;
                                let wi = ((oc * cin_g + icg) * g.k_h + ky) * g.k_w + kx;
                                acc += q[xi] * wv[wi];
                            }
                        }
                    }
                    let b = bias.map_or(0.0, |b| b[oc]);
                    out.push(activation.apply(clamp_i32(acc)? as f32 * output_scale + b));
                }
            }
        }
    }
    Ok(TensorData::F32(out))
}

fn clamp_i32(acc: i64) -> R<i32> {
    i32::try_from(acc).map_err(|_| format!("the accumulator {acc} overflows 32 bits"))
}

/// Quantized `Gemm` with `B` transposed (TFLite `FULLY_CONNECTED`): `a` is `[M, K]`, `b` is
/// `[N, K]`, the bias `[N]`. TFLite's reference kernel requantizes this one op in double
/// precision (`round(acc · s_a · s_b / s_y)`, ties away from zero; see
/// [`quant::fully_connected_scales`]) and ignores per-channel weight zero points.
pub fn fully_connected(
    a: Operand,
    b: Operand,
    bias: Option<&Value>,
    y: &Quantization,
    out_shape: &[usize],
    activation: Activation,
) -> R<TensorData> {
    let (av, bv) = (ints(a.value, "Gemm")?, ints(b.value, "Gemm")?);
    let bias = bias.map(|v| ints(v, "Gemm bias")).transpose()?;
    let (sa, za) = quant::single(Some(a.quant), "the input")?;
    let (m, n) = (out_shape[0], out_shape[1]);
    let k = a.value.shape[1];
    let scales = quant::fully_connected_scales(sa, b.quant, y.scale[0], n);
    let (min, max, _, zy) = output_range(activation, y, DType::I8)?;
    let b_zero = if b.quant.is_per_axis() {
        0
    } else {
        b.quant.zero_point[0] as i64
    };
    let mut out = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            let mut acc: i64 = bias.as_ref().map_or(0, |v| v[j]);
            for kk in 0..k {
                acc += (av[i * k + kk] - za as i64) * (bv[j * k + kk] - b_zero);
            }
            let scaled =
                crate::kernels::quant::round_half_away(clamp_i32(acc)? as f64 * scales[j]);
            out.push((scaled.saturating_add(zy)).clamp(min, max));
        }
    }
    Ok(to_i8(out))
}

/// Quantized NCHW pooling on the raw integers, as TFLite does (it assumes, without checking,
/// that input and output share one quantization): the max, or the sum over the window
/// positions inside the input divided with rounding half away from zero.
pub fn pool(
    x: Operand,
    out_shape: &[usize],
    geometry: (&[usize], &[usize], &[usize], &[usize]),
    max: bool,
) -> R<TensorData> {
    let (kernel, strides, dilations, pads) = geometry;
    let xv = ints(x.value, "pooling")?;
    let g = Spatial2d::new(&x.value.shape, out_shape, kernel, strides, dilations, pads);
    let planes = x.value.shape[0] * x.value.shape[1];
    let mut out = Vec::with_capacity(out_shape.iter().product());
    for plane in 0..planes {
        for oy in 0..g.h_out {
            for ox in 0..g.w_out {
                let mut values = Vec::new();
                for ky in 0..g.k_h {
                    let Some(iy) = g.input_row(oy, ky) else {
                        continue;
                    };
                    for kx in 0..g.k_w {
                        if let Some(ix) = g.input_col(ox, kx) {
                            values.push(xv[(plane * g.h_in + iy) * g.w_in + ix]);
                        }
                    }
                }
                if values.is_empty() {
                    return Err("a pooling window lies entirely in the padding".into());
                }
                let result = if max {
                    *values.iter().max().expect("non-empty")
                } else {
                    let (sum, count) = (values.iter().sum::<i64>(), values.len() as i64);
                    if sum > 0 {
                        (sum + count / 2) / count
                    } else {
                        (sum - count / 2) / count
                    }
                };
                out.push(result.clamp(-128, 127) as i32);
            }
        }
    }
    Ok(to_i8(out))
}

/// Quantized `Add` or `Sub` with broadcasting.
pub fn add(
    a: Operand,
    b: Operand,
    y: &Quantization,
    out_shape: &[usize],
    subtract: bool,
    activation: Activation,
) -> R<TensorData> {
    let (av, bv) = (ints(a.value, "Add")?, ints(b.value, "Add")?);
    let qa = quant::single(Some(a.quant), "the first input")?;
    let qb = quant::single(Some(b.quant), "the second input")?;
    let (min, max, sy, zy) = output_range(activation, y, DType::I8)?;
    let p = quant::add_params(qa, qb, (sy, zy), subtract, (min, max));
    let a_st = broadcast_strides(&a.value.shape, out_shape);
    let b_st = broadcast_strides(&b.value.shape, out_shape);
    let n: usize = out_shape.iter().product();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (mut ia, mut ib, mut rest) = (0, 0, i);
        for d in (0..out_shape.len()).rev() {
            let idx = rest % out_shape[d];
            rest /= out_shape[d];
            ia += idx * a_st[d];
            ib += idx * b_st[d];
        }
        let scale = |v: i64, offset: i32, m: i32, s: i32| {
            multiply_by_quantized_multiplier((v as i32 + offset) << p.left_shift, m, s)
        };
        let sa = scale(av[ia], p.a_offset, p.a_multiplier, p.a_shift);
        let sb = scale(bv[ib], p.b_offset, p.b_multiplier, p.b_shift);
        let sum = if p.subtract { sa - sb } else { sa + sb };
        out.push(requantize(
            sum,
            p.output_multiplier,
            p.output_shift,
            p.output_zero_point,
            p.output_min,
            p.output_max,
        ));
    }
    Ok(to_i8(out))
}

/// Quantized softmax over the last axis (TFLite's reference integer softmax, shared with the
/// generated code: its fixed-point steps are the specification), rescaled to an output other
/// than TFLite's (1/256, −128).
pub fn softmax(x: Operand, y: &Quantization, axis: i64, beta: f32) -> R<TensorData> {
    let rank = x.value.shape.len();
    if axis as usize != rank - 1 {
        return Err("a quantized Softmax must be over the last axis".into());
    }
    let (rescale, output_multiplier, output_shift, output_zero_point) =
        quant::softmax_output(quant::single(Some(y), "the output")?);
    let (sx, _) = quant::single(Some(x.quant), "the input")?;
    let TensorData::I8(xv) = &x.value.data else {
        return Err("a quantized Softmax needs int8 data".into());
    };
    let len = x.value.shape[rank - 1];
    let (input_multiplier, input_left_shift, diff_min) = quant::softmax_params(beta, sx);
    let mut out = vec![0i8; xv.len()];
    crate::kernels::int8::softmax_i8(
        crate::kernels::int8::SoftmaxI8 {
            rows: xv.len() / len.max(1),
            len,
            input_multiplier,
            input_left_shift,
            diff_min,
            rescale,
            output_multiplier,
            output_shift,
            output_zero_point,
        },
        xv,
        &mut out,
    );
    Ok(TensorData::I8(out))
}

/// For each output element of a broadcast binary op, the offsets of its two operands.
fn broadcast_pairs(a: &[usize], b: &[usize], out_shape: &[usize]) -> Vec<(usize, usize)> {
    let (a_st, b_st) = (
        broadcast_strides(a, out_shape),
        broadcast_strides(b, out_shape),
    );
    let n: usize = out_shape.iter().product();
    (0..n)
        .map(|i| {
            let (mut ia, mut ib, mut rest) = (0, 0, i);
            for d in (0..out_shape.len()).rev() {
                let idx = rest % out_shape[d];
                rest /= out_shape[d];
                ia += idx * a_st[d];
                ib += idx * b_st[d];
            }
            (ia, ib)
        })
        .collect()
}

fn bytes<'a>(v: &'a Value, what: &str) -> R<&'a [i8]> {
    match &v.data {
        TensorData::I8(x) => Ok(x),
        other => Err(format!("{what} needs int8 data, not {}", other.dtype())),
    }
}

fn map_bytes(x: &Value, what: &str, f: impl Fn(i8) -> i8) -> R<TensorData> {
    Ok(TensorData::I8(
        bytes(x, what)?.iter().map(|&v| f(v)).collect(),
    ))
}

/// Quantized `Mul` with broadcasting.
pub fn mul(
    a: Operand,
    b: Operand,
    y: &Quantization,
    out_shape: &[usize],
    activation: Activation,
) -> R<TensorData> {
    let (av, bv) = (bytes(a.value, "Mul")?, bytes(b.value, "Mul")?);
    let qa = quant::single(Some(a.quant), "the first input")?;
    let qb = quant::single(Some(b.quant), "the second input")?;
    let (min, max, sy, zy) = output_range(activation, y, DType::I8)?;
    let p = quant::mul_params(qa, qb, (sy, zy), (min, max));
    let pairs = broadcast_pairs(&a.value.shape, &b.value.shape, out_shape);
    Ok(TensorData::I8(
        pairs.iter().map(|&(i, j)| p.apply(av[i], bv[j])).collect(),
    ))
}

/// Quantized `PRelu`: the int8 slope broadcast to the input.
pub fn prelu(x: Operand, alpha: Operand, y: &Quantization) -> R<TensorData> {
    let (xv, av) = (bytes(x.value, "PRelu")?, bytes(alpha.value, "PRelu slope")?);
    let qx = quant::single(Some(x.quant), "the input")?;
    let qa = quant::single(Some(alpha.quant), "the slope")?;
    let qy = quant::single(Some(y), "the output")?;
    let p = quant::prelu_params(qx, qa, qy);
    let pairs = broadcast_pairs(&x.value.shape, &alpha.value.shape, &x.value.shape);
    Ok(TensorData::I8(
        pairs.iter().map(|&(i, j)| p.apply(xv[i], av[j])).collect(),
    ))
}

/// The element-wise int8 activations (`Relu`, `Clip`, `LeakyRelu`, `HardSwish`, `Sigmoid`,
/// `Tanh`) and int8-to-int8 `Quantize`, each element by the kernels' definition of one element.
pub fn unary(op: &Op, x: Operand, y: &Quantization) -> R<TensorData> {
    let qx = quant::single(Some(x.quant), "the input")?;
    let qy = quant::single(Some(y), "the output")?;
    let name = op.name();
    match op {
        Op::Relu => {
            let p = quant::relu_params(qx, qy, 0.0, f32::INFINITY)?;
            map_bytes(x.value, name, |v| p.apply(v))
        }
        Op::Clip(a) => {
            let p = quant::relu_params(qx, qy, a.min, a.max)?;
            map_bytes(x.value, name, |v| p.apply(v))
        }
        Op::Quantize => {
            let p = quant::requantize_params(qx, qy);
            map_bytes(x.value, name, |v| p.apply(v))
        }
        Op::LeakyRelu(a) => {
            let p = quant::leaky_relu_params(qx, a.alpha, qy);
            map_bytes(x.value, name, |v| p.apply(v))
        }
        Op::HardSwish => {
            let p = quant::hard_swish_params(qx, qy)?;
            map_bytes(x.value, name, |v| p.apply(v))
        }
        Op::Sigmoid | Op::Tanh => {
            let table = if matches!(op, Op::Sigmoid) {
                quant::sigmoid_table(qx, qy)
            } else {
                quant::tanh_table(qx, qy)
            };
            map_bytes(x.value, name, |v| table[(v as i32 + 128) as usize])
        }
        _ => Err(format!("{name} is not an element-wise int8 op")),
    }
}

/// Float32 to int8 (`Quantize` of a float tensor).
pub fn quantize(x: &Value, y: &Quantization) -> R<TensorData> {
    let (scale, zero_point) = quant::single(Some(y), "the output")?;
    let p = QuantizeI8 { scale, zero_point };
    Ok(TensorData::I8(
        x.floats("Quantize")?.iter().map(|&v| p.apply(v)).collect(),
    ))
}

/// Int8 to float32 (`Dequantize`).
pub fn dequantize(x: Operand) -> R<TensorData> {
    let (scale, zero_point) = quant::single(Some(x.quant), "the input")?;
    let p = DequantizeI8 { scale, zero_point };
    Ok(TensorData::F32(
        bytes(x.value, "Dequantize")?
            .iter()
            .map(|&v| p.apply(v))
            .collect(),
    ))
}

/// Quantized mean over `axes` (sorted, distinct): each output from the raw sum of its inputs.
pub fn mean(
    x: Operand,
    y: &Quantization,
    axes: &[usize],
    rounding: Rounding,
) -> R<TensorData> {
    let xv = bytes(x.value, "ReduceMean")?;
    let shape = &x.value.shape;
    let len: usize = axes.iter().map(|&d| shape[d]).product();
    let p = quant::mean_params(
        quant::single(Some(x.quant), "the input")?,
        quant::single(Some(y), "the output")?,
        (1, len, 1),
        rounding == Rounding::Single,
    );
    // Sum each input into the output it belongs to: its index with the reduced axes dropped.
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
    let out_len: usize = kept.iter().map(|&d| shape[d]).product();
    let mut sums = vec![0i32; out_len];
    let mut index = vec![0; shape.len()];
    for (i, &v) in xv.iter().enumerate() {
        let mut rest = i;
        for d in (0..shape.len()).rev() {
            index[d] = rest % shape[d];
            rest /= shape[d];
        }
        let o = kept.iter().fold(0, |o, &d| o * shape[d] + index[d]);
        sums[o] = sums[o].wrapping_add(v as i32);
    }
    Ok(TensorData::I8(
        sums.into_iter().map(|s| p.apply(s)).collect(),
    ))
}

/// The quantized pad value: the real `value` quantized with the output's parameters (TFLite
/// pads with the output zero point, or with `PADV2`'s constant, stored by the importer as the
/// real value it stands for).
pub fn pad_value(value: f32, y: &Quantization) -> R<i8> {
    let (scale, zero_point) = quant::single(Some(y), "the output")?;
    Ok(QuantizeI8 { scale, zero_point }.apply(value))
}

/// `Resize` of int8 data whose input and output share one quantization. Nearest resizing copies
/// values (any axes may change). Linear resizing is TFLite's `RESIZE_BILINEAR`: NHWC data, the
/// four neighbours of each output point weighted in units of 2^-20 and the sum rounded half
/// away from zero, with the taps of [`resize_linear_taps_q10`].
pub fn resize(a: &ResizeAttrs, x: &Value, out_shape: &[usize]) -> R<TensorData> {
    let TensorData::I8(xs) = &x.data else {
        return Err(format!(
            "quantized Resize needs int8 data, not {}",
            x.data.dtype()
        ));
    };
    let rank = x.shape.len();
    let in_strides = strides_of(&x.shape);
    let n: usize = out_shape.iter().product();
    let mut index = vec![0; rank];
    match a.mode {
        ResizeMode::Nearest => {
            let source = |d: usize, o: usize| {
                let src = resize_source_coordinate(
                    a.coordinate_transformation_mode,
                    o,
                    a.scales[d],
                    x.shape[d],
                    out_shape[d],
                    (0.0, 1.0),
                );
                resize_nearest_index(a.nearest_mode, src, a.scales[d], x.shape[d])
            };
            if a.coordinate_transformation_mode == CoordinateTransformation::TfCropAndResize
            {
                return Err("int8 Resize does not support tf_crop_and_resize".into());
            }
            let values = (0..n)
                .map(|i| {
                    unravel(i, out_shape, &mut index);
                    let offset: usize =
                        (0..rank).map(|d| source(d, index[d]) * in_strides[d]).sum();
                    xs[offset]
                })
                .collect();
            Ok(TensorData::I8(values))
        }
        ResizeMode::Cubic => Err("int8 cubic Resize is not supported".into()),
        ResizeMode::Linear if a.antialias => {
            Err("int8 antialiased linear Resize is not supported".into())
        }
        ResizeMode::Linear => {
            let Some((align_corners, half_pixel_centers)) =
                a.coordinate_transformation_mode.tflite_flags()
            else {
                return Err(format!(
                    "int8 linear Resize follows TFLite's integer arithmetic, which needs a TFLite \
                     coordinate transformation, not {}",
                    a.coordinate_transformation_mode.word()
                ));
            };
            if rank != 4 || x.shape[0] != out_shape[0] || x.shape[3] != out_shape[3] {
                return Err(format!(
                    "int8 linear Resize resizes the middle axes of NHWC data, not {:?} to \
                     {out_shape:?}",
                    x.shape
                ));
            }
            let taps = |d: usize, o: usize| {
                resize_linear_taps_q10(
                    align_corners,
                    half_pixel_centers,
                    o,
                    x.shape[d],
                    out_shape[d],
                )
            };
            let values = (0..n)
                .map(|i| {
                    unravel(i, out_shape, &mut index);
                    let (y0, y1, dy) = taps(1, index[1]);
                    let (x0, x1, dx) = taps(2, index[2]);
                    let at = |h: usize, w: usize| {
                        let offset = index[0] * in_strides[0]
                            + h * in_strides[1]
                            + w * in_strides[2]
                            + index[3];
                        xs[offset] as i64
                    };
                    let (dy, dx) = (dy as i64, dx as i64);
                    let one = 1i64 << 10;
                    let sum = at(y0, x0) * (one - dy) * (one - dx)
                        + at(y1, x0) * dy * (one - dx)
                        + at(y0, x1) * (one - dy) * dx
                        + at(y1, x1) * dy * dx;
                    let half = 1i64 << 19;
                    let rounded = if sum > 0 { sum + half } else { sum - half } / (1 << 20);
                    rounded.clamp(-128, 127) as i8
                })
                .collect();
            Ok(TensorData::I8(values))
        }
    }
}
