//! The reference evaluator's ONNX quantization operators: `QuantizeLinear`,
//! `DequantizeLinear`, `DynamicQuantizeLinear`, `MatMulInteger`, `QLinearMatMul`,
//! `ConvInteger` and `QLinearConv`.
//!
//! These are ONNX's own quantized operators, with scales and zero points as (constant) operands,
//! not TFLite's quantized tensors of [`super::int8`]: their arithmetic is float32 rescaling with
//! rounding half to even, as the ONNX reference implementation and onnxruntime compute it, not
//! TFLite's fixed-point multipliers. Accumulators are exact (`i64`); every output element is
//! computed from its definition.

use crate::eval::Value;
use crate::ir::op::{
    DequantizeAttrs, QuantConvAttrs, QuantMatMulAttrs, QuantizeLinearAttrs,
};
use crate::ir::shape::broadcast_strides;
use crate::ir::{DType, Graph, Node, Op, TensorData, strides_of};

type R<T> = Result<T, String>;

fn ints(v: &Value, what: &str) -> R<Vec<i64>> {
    v.data
        .to_i64_vec()
        .ok_or_else(|| format!("{what} needs integer data, not {}", v.data.dtype()))
}

/// Integers (already in range) as data of `dtype`.
fn typed(values: Vec<i64>, dtype: DType) -> TensorData {
    TensorData::I64(values).cast(dtype)
}

/// The index into a scale (or zero point) array of element `i` of a tensor of `shape`: one
/// scale for the tensor, one per index of `axis`, or (with `block_size`) one per block of
/// `block_size` indices of `axis`, the scale array then having the tensor's shape with `axis`
/// divided into blocks.
pub fn scale_index(
    shape: &[usize],
    axis: usize,
    block_size: usize,
    n_scales: usize,
    i: usize,
) -> usize {
    if n_scales == 1 {
        return 0;
    }
    let inner: usize = shape[axis + 1..].iter().product();
    let n = shape[axis];
    let (outer_i, c, inner_i) = (i / (inner * n), (i / inner) % n, i % inner);
    if block_size == 0 {
        c
    } else {
        let blocks = n.div_ceil(block_size);
        (outer_i * blocks + c / block_size) * inner + inner_i
    }
}

fn zero_point(zero_points: &[i64], k: usize) -> i64 {
    zero_points.get(k).copied().unwrap_or(0)
}

/// `QuantizeLinear`: `clamp(round_half_to_even(x / scale) + zero_point)`, the division in
/// float32.
pub fn quantize_linear(a: &QuantizeLinearAttrs, x: &Value, dtype: DType) -> R<TensorData> {
    let xs = x.floats("QuantizeLinear")?;
    let axis = a.axis as usize;
    let (lo, hi) = dtype.integer_range();
    let ys = xs
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let k = scale_index(&x.shape, axis, a.block_size, a.scale.len(), i);
            let q = (v / a.scale[k]).round_ties_even() as i64;
            q.saturating_add(zero_point(&a.zero_point, k)).clamp(lo, hi)
        })
        .collect();
    Ok(typed(ys, dtype))
}

/// `DequantizeLinear`: `(x − zero_point) · scale`, the difference exact and the product in
/// float32.
pub fn dequantize_linear(a: &DequantizeAttrs, x: &Value) -> R<TensorData> {
    let xs = ints(x, "DequantizeLinear")?;
    let axis = a.axis as usize;
    let ys = xs
        .iter()
        .enumerate()
        .map(|(i, &q)| {
            let k = scale_index(&x.shape, axis, a.block_size, a.scale.len(), i);
            (q - zero_point(&a.zero_point, k)) as f32 * a.scale[k]
        })
        .collect();
    Ok(TensorData::F32(ys))
}

/// `DynamicQuantizeLinear`'s scale and zero point (before rounding) of `x`: the range of `x`
/// widened to include 0, over the 256 levels of uint8.
pub fn dynamic_scale_and_zero_point(xs: &[f32]) -> (f32, f32) {
    let max = xs.iter().fold(0f32, |m, &v| m.max(v));
    let min = xs.iter().fold(0f32, |m, &v| m.min(v));
    let range = if max == min { 1.0 } else { max - min };
    let scale = range / 255.0;
    let zero_point = (0.0 - min / scale).clamp(0.0, 255.0).round_ties_even();
    (scale, zero_point)
}

/// `DynamicQuantizeLinear`: `[y, y_scale, y_zero_point]`.
pub fn dynamic_quantize_linear(x: &Value) -> R<Vec<Value>> {
    let xs = x.floats("DynamicQuantizeLinear")?;
    let (scale, zero_point) = dynamic_scale_and_zero_point(xs);
    let ys = xs
        .iter()
        .map(|&v| ((v / scale).round_ties_even() + zero_point).clamp(0.0, 255.0) as u8)
        .collect();
    Ok(vec![
        Value::new(x.shape.clone(), TensorData::U8(ys)),
        Value::new(vec![], TensorData::F32(vec![scale])),
        Value::new(vec![], TensorData::U8(vec![zero_point as u8])),
    ])
}

/// The float32 factor that takes an accumulator of products of two quantized operands to the
/// output's scale: `(a_scale · b_scale) / y_scale`, in that order, as ONNX computes it.
pub fn requantize_multiplier(a_scale: f32, b_scale: f32, y_scale: f32) -> f32 {
    a_scale * b_scale / y_scale
}

/// An accumulator in the output's quantization: `clamp(round_half_to_even(acc · multiplier) +
/// zero_point)` (onnxruntime's requantization: the product in float32).
pub fn requantize(acc: i64, multiplier: f32, zero_point: i64, dtype: DType) -> i64 {
    requantize_value(acc as f32 * multiplier, zero_point, dtype)
}

/// `clamp(round_half_to_even(v) + zero_point)` in the range of `dtype`.
pub fn requantize_value(v: f32, zero_point: i64, dtype: DType) -> i64 {
    let (lo, hi) = dtype.integer_range();
    (v.round_ties_even() as i64)
        .saturating_add(zero_point)
        .clamp(lo, hi)
}

/// The exact integer product of `MatMulInteger` and `QLinearMatMul`, with numpy's batch
/// broadcasting; zero points per tensor, per row of `a` or per column of `b`.
pub fn matmul_integer(a: &Value, b: &Value, q: &QuantMatMulAttrs) -> R<Vec<i64>> {
    let (av, bv) = (ints(a, "MatMulInteger")?, ints(b, "MatMulInteger")?);
    let a_shape = if a.shape.len() == 1 {
        vec![1, a.shape[0]]
    } else {
        a.shape.clone()
    };
    let b_shape = if b.shape.len() == 1 {
        vec![b.shape[0], 1]
    } else {
        b.shape.clone()
    };
    let (m, k) = (a_shape[a_shape.len() - 2], a_shape[a_shape.len() - 1]);
    let n = b_shape[b_shape.len() - 1];
    let a_batch = &a_shape[..a_shape.len() - 2];
    let b_batch = &b_shape[..b_shape.len() - 2];
    let batch = crate::ir::shape::broadcast_shapes(a_batch, b_batch)?;
    let (a_st, b_st) = (
        broadcast_strides(a_batch, &batch),
        broadcast_strides(b_batch, &batch),
    );
    let batch_strides = strides_of(&batch);
    let n_batch: usize = batch.iter().product();
    let mut y = Vec::with_capacity(n_batch * m * n);
    for bi in 0..n_batch {
        let (mut a_off, mut b_off) = (0, 0);
        for d in 0..batch.len() {
            let idx = (bi / batch_strides[d]) % batch[d];
            a_off += idx * a_st[d];
            b_off += idx * b_st[d];
        }
        let (a_off, b_off) = (a_off * m * k, b_off * k * n);
        for i in 0..m {
            let za = q.a_zero_point.get(i).or(q.a_zero_point.first());
            let za = za.copied().unwrap_or(0);
            for j in 0..n {
                let zb = q.b_zero_point.get(j).or(q.b_zero_point.first());
                let zb = zb.copied().unwrap_or(0);
                let mut acc = 0i64;
                for p in 0..k {
                    acc += (av[a_off + i * k + p] - za) * (bv[b_off + p * n + j] - zb);
                }
                y.push(acc);
            }
        }
    }
    Ok(y)
}

/// The exact integer convolution of `ConvInteger` and `QLinearConv` (NCHW, 1-D or 2-D, weights
/// `[C_out, C_in / group, k...]`), plus `bias` per output channel.
pub fn conv_integer(
    x: &Value,
    w: &Value,
    bias: Option<&Value>,
    q: &QuantConvAttrs,
    out_shape: &[usize],
) -> R<Vec<i64>> {
    let (xv, wv) = (ints(x, "ConvInteger")?, ints(w, "ConvInteger")?);
    let bias = bias.map(|b| ints(b, "the bias")).transpose()?;
    // 1-D as 2-D with a height of 1.
    let two_d = |s: &[usize]| -> Vec<usize> {
        if s.len() == 3 {
            vec![s[0], s[1], 1, s[2]]
        } else {
            s.to_vec()
        }
    };
    let (xs, ws, ys) = (two_d(&x.shape), two_d(&w.shape), two_d(out_shape));
    let pair = |v: &[usize], fill: usize| -> [usize; 2] {
        if v.len() == 1 {
            [fill, v[0]]
        } else {
            [v[0], v[1]]
        }
    };
    let (kernel, strides, dilations) = (
        pair(&q.kernel_shape, 1),
        pair(&q.strides, 1),
        pair(&q.dilations, 1),
    );
    let spatial = q.pads.len() / 2;
    let pad_begin = pair(&q.pads[..spatial], 0);
    let group = q.group;
    let (c_in_g, c_out_g) = (ws[1], ys[1] / group);
    let mut y = Vec::with_capacity(out_shape.iter().product());
    for b in 0..ys[0] {
        for co in 0..ys[1] {
            let g = co / c_out_g;
            let zw = q.w_zero_point.get(co).or(q.w_zero_point.first());
            let zw = zw.copied().unwrap_or(0);
            for oh in 0..ys[2] {
                for ow in 0..ys[3] {
                    let mut acc = bias.as_ref().map_or(0, |bv| bv[co]);
                    for ci in 0..c_in_g {
                        let c = g * c_in_g + ci;
                        for kh in 0..kernel[0] {
                            for kw in 0..kernel[1] {
                                let ih = (oh * strides[0] + kh * dilations[0]) as isize
                                    - pad_begin[0] as isize;
                                let iw = (ow * strides[1] + kw * dilations[1]) as isize
                                    - pad_begin[1] as isize;
                                if ih < 0
                                    || iw < 0
                                    || ih as usize >= xs[2]
                                    || iw as usize >= xs[3]
                                {
                                    // Padding is the zero point: it contributes nothing.
                                    continue;
                                }
                                let xi = ((b * xs[1] + c) * xs[2] + ih as usize) * xs[3]
                                    + iw as usize;
                                let wi =
                                    ((co * c_in_g + ci) * kernel[0] + kh) * kernel[1] + kw;
                                acc += (xv[xi] - q.x_zero_point) * (wv[wi] - zw);
                            }
                        }
                    }
                    y.push(acc);
                }
            }
        }
    }
    Ok(y)
}

/// The scale and zero point of a `QuantizeLinear` or `DequantizeLinear` that takes them as
/// data inputs (`x, scale, zero_point?`).
fn run_time_params(inputs: &[&Value], what: &str) -> R<(Vec<f32>, Vec<i64>)> {
    let scale = inputs[1].floats(what)?.to_vec();
    let zero_point = inputs.get(2).map(|z| ints(z, what)).transpose()?;
    Ok((scale, zero_point.unwrap_or_default()))
}

/// Evaluates one of this module's ops; the outputs, with the shapes shape inference gave them.
pub fn eval(
    graph: &Graph,
    node: &Node,
    inputs: &[&Value],
    out_shapes: &[Vec<usize>],
) -> R<Vec<Value>> {
    let y_dtype = graph.tensor(node.outputs[0]).dtype;
    let out_shape = out_shapes[0].clone();
    let data = match &node.op {
        Op::QuantizeLinear(a) if a.scale_at_run_time => {
            let (scale, zero_point) = run_time_params(inputs, "QuantizeLinear")?;
            let a = QuantizeLinearAttrs {
                scale,
                zero_point,
                ..a.clone()
            };
            quantize_linear(&a, inputs[0], y_dtype)?
        }
        Op::DequantizeLinear(a) if a.scale_at_run_time => {
            let (scale, zero_point) = run_time_params(inputs, "DequantizeLinear")?;
            let a = DequantizeAttrs {
                scale,
                zero_point,
                ..a.clone()
            };
            dequantize_linear(&a, inputs[0])?
        }
        Op::QuantizeLinear(a) => quantize_linear(a, inputs[0], y_dtype)?,
        Op::DequantizeLinear(a) => dequantize_linear(a, inputs[0])?,
        Op::DynamicQuantizeLinear => return dynamic_quantize_linear(inputs[0]),
        Op::MatMulInteger(q) => typed(matmul_integer(inputs[0], inputs[1], q)?, DType::I32),
        Op::QLinearMatMul(q) => {
            let acc = matmul_integer(inputs[0], inputs[1], q)?;
            let n = out_shape.last().copied().unwrap_or(1);
            let ys = acc
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let b_scale = q.b_scale.get(i % n).or(q.b_scale.first());
                    let m = requantize_multiplier(
                        q.a_scale,
                        b_scale.copied().unwrap_or(1.0),
                        q.y_scale,
                    );
                    requantize(v, m, q.y_zero_point, y_dtype)
                })
                .collect();
            typed(ys, y_dtype)
        }
        Op::ConvInteger(q) => typed(
            conv_integer(inputs[0], inputs[1], None, q, &out_shape)?,
            DType::I32,
        ),
        Op::QLinearConv(q) => {
            let acc =
                conv_integer(inputs[0], inputs[1], inputs.get(2).copied(), q, &out_shape)?;
            let (c_out, plane) = (out_shape[1], out_shape[2..].iter().product::<usize>());
            let ys = acc
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let co = (i / plane) % c_out;
                    let w_scale = q.w_scale.get(co).or(q.w_scale.first());
                    let m = requantize_multiplier(
                        q.x_scale,
                        w_scale.copied().unwrap_or(1.0),
                        q.y_scale,
                    );
                    requantize(v, m, q.y_zero_point, y_dtype)
                })
                .collect();
            typed(ys, y_dtype)
        }
        other => return Err(format!("{} is not an ONNX quantization op", other.name())),
    };
    Ok(vec![Value::new(out_shape, data)])
}

/// Whether `op` is one of this module's.
pub fn handles(op: &Op) -> bool {
    matches!(
        op,
        Op::QuantizeLinear(_)
            | Op::DequantizeLinear(_)
            | Op::DynamicQuantizeLinear
            | Op::MatMulInteger(_)
            | Op::QLinearMatMul(_)
            | Op::ConvInteger(_)
            | Op::QLinearConv(_)
    )
}
