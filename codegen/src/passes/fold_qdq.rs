//! Reads the quantization of a QDQ model into [`Graph::source_quant`], so that the quantize pass
//! makes integer code with the model's own scales instead of running float code between
//! rounding steps.
//!
//! A model quantized in the QDQ format (onnxruntime's `quantize_static`, quantization-aware
//! training) is a float model in which every activation goes through a `QuantizeLinear` and a
//! `DequantizeLinear` with the same scale and zero point, and every weight is a
//! `DequantizeLinear` of integers. Run as written, that is float arithmetic with extra rounding.
//! This pass:
//!
//! 1. turns `QLinearConv` nodes with int8 weights (zero points 0) into the same form: a
//!    `DequantizeLinear` of the input, a float `Conv` of the dequantized weights and bias, and a
//!    `QuantizeLinear` of the output;
//! 2. turns `MaxPool`, `Transpose` and the views (`Reshape`, `Squeeze`, ...) applied to the
//!    integers of a quantized tensor into the same op between a `DequantizeLinear` and a
//!    `QuantizeLinear` with the input's parameters (which is exact: they select or move values,
//!    and dequantization is increasing), so that each meets the next pair;
//! 3. removes each `QuantizeLinear` → `DequantizeLinear` pair of equal per-tensor parameters,
//!    the float tensor going straight to the readers, and records those parameters as the
//!    tensor's quantization (a `uint8` zero point as that of the `int8` values 128 lower, which
//!    stand for the same reals).
//!
//! Weights keep their scales through constant folding, which records them when it folds a
//! `DequantizeLinear` of integers (see `fold_constants`). The quantize pass then quantizes each
//! node it has an int8 kernel for with these parameters, with no calibration. A node it leaves
//! in float computes on unrounded floats, within half a step of the QDQ model.
//!
//! Disabling the pass (`--disable-pass fold_qdq`) runs the QDQ graph as written, node by node,
//! as onnxruntime does with its graph optimisations off.

use std::collections::HashMap;

use crate::error::Result;
use crate::ir::op::{ConvAttrs, DequantizeAttrs, QuantizeLinearAttrs};
use crate::ir::{DType, Graph, Node, Op, Quantization, Tensor, TensorData, TensorId};
use crate::passes::{PassOptions, PassReport};

/// The pass.
pub fn fold_qdq(graph: &mut Graph, _options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("fold_qdq");
    let convolutions = expand_qlinear_conv(graph);
    let commuted = commute_integer_ops(graph);
    let pairs = remove_pairs(graph);
    report.changes = convolutions + commuted + pairs;
    if report.changes > 0 {
        report.details.push(format!(
            "{pairs} QuantizeLinear/DequantizeLinear pairs read as quantization, \
             {convolutions} QLinearConv and {commuted} integer pooling or view nodes rewritten"
        ));
    }
    Ok(report)
}

/// The per-tensor parameters of 8-bit `QuantizeLinear` and `DequantizeLinear` nodes known at
/// compile time: `(scale, zero point, integer type)`.
fn per_tensor(op: &Op) -> Option<(f32, i64, Option<DType>)> {
    let (scale, zero_point, block_size, at_run_time, dtype) = match op {
        Op::QuantizeLinear(a) => (
            &a.scale,
            &a.zero_point,
            a.block_size,
            a.scale_at_run_time,
            Some(a.output_dtype),
        ),
        Op::DequantizeLinear(a) => (
            &a.scale,
            &a.zero_point,
            a.block_size,
            a.scale_at_run_time,
            None,
        ),
        _ => return None,
    };
    if at_run_time || block_size != 0 {
        return None;
    }
    if dtype.is_some_and(|d| !matches!(d, DType::I8 | DType::U8)) {
        return None;
    }
    match (scale.as_slice(), zero_point.as_slice()) {
        ([s], [z]) => Some((*s, *z, dtype)),
        ([s], []) => Some((*s, 0, dtype)),
        _ => None,
    }
}

/// The int8 form of 8-bit parameters: a `uint8` zero point 128 lower.
fn as_int8(scale: f32, zero_point: i64, dtype: DType) -> Quantization {
    let offset = if dtype == DType::U8 { 128 } else { 0 };
    Quantization::per_tensor(scale, (zero_point - offset) as i32)
}

/// A new float tensor of the shape of `like`.
fn float_twin(graph: &mut Graph, like: TensorId, suffix: &str) -> TensorId {
    let tensor = graph.tensor(like);
    let name = graph.unique_name(&format!("{}/{suffix}", tensor.name));
    let shape = tensor.shape.clone();
    graph.add_tensor(Tensor {
        name,
        dtype: DType::F32,
        shape,
        data: None,
        quant: None,
        storage: None,
    })
}

fn dequantize_node(name: String, x: TensorId, y: TensorId, scale: f32, zp: i64) -> Node {
    Node {
        name,
        op: Op::DequantizeLinear(DequantizeAttrs {
            axis: 1,
            scale: vec![scale],
            zero_point: vec![zp],
            ..Default::default()
        }),
        inputs: vec![x],
        params: vec![],
        outputs: vec![y],
    }
}

fn quantize_node(
    name: String,
    x: TensorId,
    y: TensorId,
    scale: f32,
    zp: i64,
    dtype: DType,
) -> Node {
    Node {
        name,
        op: Op::QuantizeLinear(QuantizeLinearAttrs {
            axis: 1,
            output_dtype: dtype,
            scale: vec![scale],
            zero_point: vec![zp],
            ..Default::default()
        }),
        inputs: vec![x],
        params: vec![],
        outputs: vec![y],
    }
}

/// Step 1: `QLinearConv` with constant int8 weights of zero point 0 (and an int32 constant
/// bias) as `DequantizeLinear` → `Conv` → `QuantizeLinear`. Returns how many.
fn expand_qlinear_conv(graph: &mut Graph) -> usize {
    let mut expanded = 0;
    let mut i = 0;
    while i < graph.nodes.len() {
        let node = graph.nodes[i].clone();
        i += 1;
        let Op::QLinearConv(q) = &node.op else {
            continue;
        };
        let (x, w, y) = (node.inputs[0], node.inputs[1], node.outputs[0]);
        let (x_type, y_type) = (graph.tensor(x).dtype, graph.tensor(y).dtype);
        let weights = graph.tensor(w);
        let (Some(TensorData::I8(w_q)), Some(w_shape)) = (&weights.data, &weights.shape)
        else {
            continue;
        };
        let bias = match node.inputs.get(2) {
            None => Some(None),
            Some(&b) => match &graph.tensor(b).data {
                Some(TensorData::I32(v)) => Some(Some(v.clone())),
                _ => None,
            },
        };
        let eight_bit = |d: DType| matches!(d, DType::I8 | DType::U8);
        let c_out = w_shape[0];
        let Some(bias) = bias else { continue };
        if !node.params.is_empty()
            || !eight_bit(x_type)
            || !eight_bit(y_type)
            || q.w_zero_point.iter().any(|&z| z != 0)
            || !(q.w_scale.len() == 1 || q.w_scale.len() == c_out)
            || c_out == 0
        {
            continue;
        }
        let w_scale: Vec<f32> = if q.w_scale.len() == 1 {
            vec![q.w_scale[0]; c_out]
        } else {
            q.w_scale.clone()
        };
        let per_channel = w_q.len() / c_out;
        let w_f: Vec<f32> = w_q
            .iter()
            .enumerate()
            .map(|(k, &v)| v as f32 * w_scale[k / per_channel])
            .collect();
        let w_shape = w_shape.clone();
        let w_id = graph.add_constant(
            &format!("{}/weights", node.name),
            w_shape,
            TensorData::F32(w_f),
        );
        graph.source_quant.insert(
            w_id,
            Quantization {
                scale: w_scale.clone(),
                zero_point: vec![0; c_out],
                axis: 0,
                int4: false,
            },
        );
        let mut inputs = vec![float_twin(graph, x, "float"), w_id];
        if let Some(b) = bias {
            let b_f: Vec<f32> = b
                .iter()
                .zip(&w_scale)
                .map(|(&v, &s)| (v as f64 * q.x_scale as f64 * s as f64) as f32)
                .collect();
            inputs.push(graph.add_constant(
                &format!("{}/bias", node.name),
                vec![c_out],
                TensorData::F32(b_f),
            ));
        }
        let y_f = float_twin(graph, y, "float");
        let conv = Node {
            name: node.name.clone(),
            op: Op::Conv(ConvAttrs {
                kernel_shape: q.kernel_shape.clone(),
                strides: q.strides.clone(),
                dilations: q.dilations.clone(),
                pads: q.pads.clone(),
                group: q.group,
                auto_pad: q.auto_pad,
                ..Default::default()
            }),
            inputs: inputs.clone(),
            params: vec![],
            outputs: vec![y_f],
        };
        let replacement = [
            dequantize_node(
                format!("{}/dequantize_input", node.name),
                x,
                inputs[0],
                q.x_scale,
                q.x_zero_point,
            ),
            conv,
            quantize_node(
                format!("{}/quantize_output", node.name),
                y_f,
                y,
                q.y_scale,
                q.y_zero_point,
                y_type,
            ),
        ];
        graph.nodes.splice(i - 1..i, replacement);
        i += 2;
        expanded += 1;
    }
    expanded
}

/// Step 2: integer `MaxPool`, `Transpose` and views of quantized tensors between a
/// `DequantizeLinear` and a `QuantizeLinear` of the input's parameters. Returns how many.
fn commute_integer_ops(graph: &mut Graph) -> usize {
    // Integer tensors with known per-tensor parameters: `(scale, zero point, type)`.
    let mut known: HashMap<TensorId, (f32, i64, DType)> = HashMap::new();
    let mut commuted = 0;
    let mut i = 0;
    while i < graph.nodes.len() {
        let node = graph.nodes[i].clone();
        i += 1;
        if let Some((s, z, Some(dtype))) = per_tensor(&node.op) {
            known.insert(node.outputs[0], (s, z, dtype));
            continue;
        }
        let commutes = node.op.is_view()
            || matches!(node.op, Op::Transpose(_))
            || matches!(&node.op, Op::MaxPool(_) if node.outputs.len() == 1);
        let Some(&(s, z, dtype)) = node.inputs.first().and_then(|x| known.get(x)) else {
            continue;
        };
        if !commutes
            || node.outputs.len() != 1
            || graph.tensor(node.outputs[0]).dtype != dtype
        {
            continue;
        }
        let (x, y) = (node.inputs[0], node.outputs[0]);
        let (x_f, y_f) = (float_twin(graph, x, "float"), float_twin(graph, y, "float"));
        let mut float_op = node.clone();
        float_op.inputs[0] = x_f;
        float_op.outputs[0] = y_f;
        let replacement = [
            dequantize_node(format!("{}/dequantize_input", node.name), x, x_f, s, z),
            float_op,
            quantize_node(
                format!("{}/quantize_output", node.name),
                y_f,
                y,
                s,
                z,
                dtype,
            ),
        ];
        graph.nodes.splice(i - 1..i, replacement);
        i += 2;
        known.insert(y, (s, z, dtype));
        commuted += 1;
    }
    commuted
}

/// Step 3: removes `QuantizeLinear` → `DequantizeLinear` pairs of equal parameters, recording
/// them as the float tensor's quantization. Returns how many pairs.
fn remove_pairs(graph: &mut Graph) -> usize {
    let mut removed = 0;
    let mut i = 0;
    while i < graph.nodes.len() {
        let node = &graph.nodes[i];
        let (Op::DequantizeLinear(_), Some((s, z, None))) =
            (&node.op, per_tensor(&node.op))
        else {
            i += 1;
            continue;
        };
        let (q, x_dq) = (node.inputs[0], node.outputs[0]);
        let producers = graph.producers();
        let quantizer = producers.get(&q).map(|&p| &graph.nodes[p]);
        let Some((x, Some(dtype))) = quantizer.and_then(|n| match per_tensor(&n.op) {
            Some((qs, qz, dtype)) if qs == s && qz == z => Some((n.inputs[0], dtype)),
            _ => None,
        }) else {
            i += 1;
            continue;
        };
        let quant = as_int8(s, z, dtype);
        // A tensor quantized twice with different parameters keeps its pairs as written.
        let recorded = |t: TensorId| graph.source_quant.get(&t);
        if recorded(x).is_some_and(|r| *r != quant) || graph.tensor(x).dtype != DType::F32 {
            i += 1;
            continue;
        }
        let x_is_output = graph.outputs.contains(&x);
        let kept = if graph.outputs.contains(&x_dq) {
            // The graph's output keeps its name: `x`'s producer writes it.
            let Some(&p) = producers.get(&x) else {
                i += 1;
                continue;
            };
            if x_is_output {
                i += 1;
                continue;
            }
            for t in &mut graph.nodes[p].outputs {
                if *t == x {
                    *t = x_dq;
                }
            }
            graph.replace_uses(x, x_dq);
            if let Some(r) = graph.source_quant.remove(&x) {
                graph.source_quant.insert(x_dq, r);
            }
            x_dq
        } else {
            graph.replace_uses(x_dq, x);
            x
        };
        graph.source_quant.insert(kept, quant);
        graph.nodes.remove(i);
        removed += 1;
    }
    // The quantizers whose integers nothing reads any more.
    let consumers = graph.consumers();
    graph.nodes.retain(|n| {
        !(matches!(n.op, Op::QuantizeLinear(_))
            && n.outputs
                .iter()
                .all(|t| !consumers.contains_key(t) && !graph.outputs.contains(t)))
    });
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::text::parse;

    fn run(text: &str) -> Graph {
        let mut g = parse(text).unwrap();
        fold_qdq(&mut g, &PassOptions::default()).unwrap();
        g
    }

    #[test]
    fn pairs_become_the_quantization_of_the_float_tensors() {
        let g = run("graph g {\n input %x: f32[4]\n \
             %xq: u8[4] = QuantizeLinear(%x) {axis=0, output_dtype=u8, scale=[0.5], zero_point=[10]} @qx\n \
             %xd: f32[4] = DequantizeLinear(%xq) {axis=0, scale=[0.5], zero_point=[10]} @dx\n \
             %r: f32[4] = Relu(%xd) @relu\n \
             %rq: i8[4] = QuantizeLinear(%r) {axis=0, output_dtype=i8, scale=[0.25], zero_point=[-128]} @qr\n \
             %y: f32[4] = DequantizeLinear(%rq) {axis=0, scale=[0.25], zero_point=[-128]} @dr\n \
             output %y\n}");
        // Only the Relu is left, from the input to the output, which keeps its name.
        assert_eq!(g.nodes.len(), 1);
        let relu = &g.nodes[0];
        assert_eq!(relu.inputs, g.inputs);
        assert_eq!(relu.outputs, g.outputs);
        assert_eq!(g.tensor(g.outputs[0]).name, "y");
        // uint8 with zero point 10 is int8 with zero point −118.
        assert_eq!(
            g.source_quant.get(&g.inputs[0]),
            Some(&Quantization::per_tensor(0.5, -118))
        );
        assert_eq!(
            g.source_quant.get(&g.outputs[0]),
            Some(&Quantization::per_tensor(0.25, -128))
        );
    }

    #[test]
    fn a_pair_of_different_parameters_stays() {
        let g = run("graph g {\n input %x: f32[4]\n \
             %xq: i8[4] = QuantizeLinear(%x) {axis=0, output_dtype=i8, scale=[0.5], zero_point=[0]} @qx\n \
             %y: f32[4] = DequantizeLinear(%xq) {axis=0, scale=[0.25], zero_point=[0]} @dx\n \
             output %y\n}");
        assert_eq!(g.nodes.len(), 2);
        assert!(g.source_quant.is_empty());
    }

    #[test]
    fn integer_pooling_moves_between_a_pair() {
        let g = run("graph g {\n input %x: f32[1, 1, 2, 2]\n \
             %xq: u8[1, 1, 2, 2] = QuantizeLinear(%x) {axis=0, output_dtype=u8, scale=[0.5], zero_point=[0]} @qx\n \
             %p: u8[1, 1, 1, 1] = MaxPool(%xq) {kernel_shape=[2, 2]} @pool\n \
             %s: u8[1, 1] = Flatten(%p) @flat\n \
             %y: f32[1, 1] = DequantizeLinear(%s) {axis=0, scale=[0.5], zero_point=[0]} @dq\n \
             output %y\n}");
        let ops: Vec<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
        assert_eq!(ops, ["MaxPool", "Flatten"]);
        for t in [g.inputs[0], g.nodes[0].outputs[0], g.outputs[0]] {
            assert_eq!(
                g.source_quant.get(&t),
                Some(&Quantization::per_tensor(0.5, -128))
            );
        }
    }
}
