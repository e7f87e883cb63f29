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
//! 1. turns `QLinearConv` and `QLinearMatMul` nodes with constant int8 weights (zero points 0)
//!    into the same form: a `DequantizeLinear` of the input, a float `Conv` or `MatMul` of the
//!    dequantized weights (and bias), and a `QuantizeLinear` of the output;
//! 2. turns `MaxPool`, `Transpose` and the views (`Reshape`, `Squeeze`, ...) applied to the
//!    integers of a quantized tensor into the same op between a `DequantizeLinear` and a
//!    `QuantizeLinear` with the input's parameters (which is exact: they select or move values,
//!    and dequantization is increasing), so that each meets the next pair;
//! 3. removes each `QuantizeLinear` → `DequantizeLinear` pair of equal per-tensor parameters,
//!    the float tensor going straight to the readers, and records those parameters as the
//!    tensor's quantization (a `uint8` zero point as that of the `int8` values 128 lower, which
//!    stand for the same reals);
//! 4. records the same for the float tensors at the edges of the quantized part: those a lone
//!    `DequantizeLinear` writes (a graph input of integers) and those only `QuantizeLinear`
//!    nodes read (a graph output of integers).
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
    let convolutions = expand_qlinear_conv(graph) + expand_qlinear_matmul(graph);
    let commuted = commute_integer_ops(graph);
    let pairs = remove_pairs(graph);
    let boundaries = record_boundaries(graph);
    report.changes = convolutions + commuted + pairs + boundaries;
    if report.changes > 0 {
        report.details.push(format!(
            "{pairs} QuantizeLinear/DequantizeLinear pairs read as quantization, \
             {convolutions} QLinearConv and QLinearMatMul and {commuted} integer pooling or \
             view nodes rewritten, {boundaries} tensors at the edges of the quantized part \
             recorded"
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
        let (w_q, w_shape) = (w_q.clone(), w_shape.clone());
        let name = format!("{}/weights", node.name);
        let w_id = dequantized_weights(graph, &name, &w_q, w_shape, &w_scale, 0);
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
        put_between(
            graph,
            i - 1,
            conv,
            x,
            (q.x_scale, q.x_zero_point),
            y,
            (q.y_scale, q.y_zero_point, y_type),
        );
        i += 2;
        expanded += 1;
    }
    expanded
}

/// Replaces node `at` by `float_op` between a `DequantizeLinear` of the integers `x` (with
/// their scale and zero point) into its input and a `QuantizeLinear` of its output into the
/// integers `y` (with theirs and their type).
fn put_between(
    graph: &mut Graph,
    at: usize,
    float_op: Node,
    x: TensorId,
    (x_scale, x_zero_point): (f32, i64),
    y: TensorId,
    (y_scale, y_zero_point, y_type): (f32, i64, DType),
) {
    let name = float_op.name.clone();
    let (x_f, y_f) = (float_op.inputs[0], float_op.outputs[0]);
    let replacement = [
        dequantize_node(
            format!("{name}/dequantize_input"),
            x,
            x_f,
            x_scale,
            x_zero_point,
        ),
        float_op,
        quantize_node(
            format!("{name}/quantize_output"),
            y_f,
            y,
            y_scale,
            y_zero_point,
            y_type,
        ),
    ];
    graph.nodes.splice(at..at + 1, replacement);
}

/// A float constant of `integers` times their scales (one per index of `axis`), with that
/// quantization recorded in [`Graph::source_quant`] so that the quantize pass recovers the
/// integers.
fn dequantized_weights(
    graph: &mut Graph,
    name: &str,
    integers: &[i8],
    shape: Vec<usize>,
    scales: &[f32],
    axis: usize,
) -> TensorId {
    let inner: usize = shape[axis + 1..].iter().product::<usize>().max(1);
    let values: Vec<f32> = integers
        .iter()
        .enumerate()
        .map(|(k, &v)| v as f32 * scales[(k / inner) % scales.len()])
        .collect();
    let id = graph.add_constant(name, shape, TensorData::F32(values));
    graph.source_quant.insert(
        id,
        Quantization {
            scale: scales.to_vec(),
            zero_point: vec![0; scales.len()],
            axis,
            int4: false,
        },
    );
    id
}

/// Step 1 too: `QLinearMatMul` with a constant int8 `B` of zero point 0, `[k, n]` (one scale,
/// or one per column), as `DequantizeLinear` → `MatMul` → `QuantizeLinear`. Returns how many.
fn expand_qlinear_matmul(graph: &mut Graph) -> usize {
    let mut expanded = 0;
    let mut i = 0;
    while i < graph.nodes.len() {
        let node = graph.nodes[i].clone();
        i += 1;
        let Op::QLinearMatMul(q) = &node.op else {
            continue;
        };
        let (a, b, y) = (node.inputs[0], node.inputs[1], node.outputs[0]);
        let (a_type, y_type) = (graph.tensor(a).dtype, graph.tensor(y).dtype);
        let weights = graph.tensor(b);
        let (Some(TensorData::I8(b_q)), Some(b_shape)) = (&weights.data, &weights.shape)
        else {
            continue;
        };
        let eight_bit = |d: DType| matches!(d, DType::I8 | DType::U8);
        let n = b_shape.last().copied().unwrap_or(0);
        if !node.params.is_empty()
            || b_shape.len() != 2
            || n == 0
            || !eight_bit(a_type)
            || !eight_bit(y_type)
            || q.a_zero_point.len() > 1
            || q.b_zero_point.iter().any(|&z| z != 0)
            || !(q.b_scale.len() == 1 || q.b_scale.len() == n)
        {
            continue;
        }
        let b_scale: Vec<f32> = if q.b_scale.len() == 1 {
            vec![q.b_scale[0]; n]
        } else {
            q.b_scale.clone()
        };
        let a_zero_point = q.a_zero_point.first().copied().unwrap_or(0);
        let (b_q, b_shape) = (b_q.clone(), b_shape.clone());
        let name = format!("{}/weights", node.name);
        let b_id = dequantized_weights(graph, &name, &b_q, b_shape, &b_scale, 1);
        let (a_f, y_f) = (float_twin(graph, a, "float"), float_twin(graph, y, "float"));
        let matmul = Node {
            name: node.name.clone(),
            op: Op::MatMul,
            inputs: vec![a_f, b_id],
            params: vec![],
            outputs: vec![y_f],
        };
        put_between(
            graph,
            i - 1,
            matmul,
            a,
            (q.a_scale, a_zero_point),
            y,
            (q.y_scale, q.y_zero_point, y_type),
        );
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
        put_between(graph, i - 1, float_op, x, (s, z), y, (s, z, dtype));
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

/// Step 4: the float tensors at the edges of the quantized part, where a graph input of
/// integers is dequantized or a graph output is quantized. A `DequantizeLinear` of per-tensor
/// parameters writes values that are exactly its integers times its scale; a float tensor that
/// only `QuantizeLinear` nodes of one set of parameters read is only ever seen rounded. Either
/// way the tensor has that quantization, so the layers beside it can be int8. Returns how many
/// tensors it recorded.
fn record_boundaries(graph: &mut Graph) -> usize {
    let consumers = graph.consumers();
    let mut found: Vec<(TensorId, Quantization)> = Vec::new();
    for node in &graph.nodes {
        match (&node.op, per_tensor(&node.op)) {
            (Op::DequantizeLinear(_), Some((s, z, None))) => {
                let dtype = graph.tensor(node.inputs[0]).dtype;
                if matches!(dtype, DType::I8 | DType::U8) {
                    found.push((node.outputs[0], as_int8(s, z, dtype)));
                }
            }
            (Op::QuantizeLinear(_), Some((s, z, Some(dtype)))) => {
                let x = node.inputs[0];
                let only_quantized = consumers.get(&x).is_some_and(|readers| {
                    readers.iter().all(|&r| {
                        let reader = &graph.nodes[r];
                        matches!(reader.op, Op::QuantizeLinear(_))
                            && per_tensor(&reader.op) == Some((s, z, Some(dtype)))
                    })
                });
                if only_quantized && !graph.outputs.contains(&x) {
                    found.push((x, as_int8(s, z, dtype)));
                }
            }
            _ => {}
        }
    }
    let mut recorded = 0;
    for (t, quant) in found {
        if graph.tensor(t).dtype == DType::F32 && !graph.source_quant.contains_key(&t) {
            graph.source_quant.insert(t, quant);
            recorded += 1;
        }
    }
    recorded
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
        // Only the edges are recorded: the input, which only the quantizer reads, and the
        // dequantized output; the integers between keep both parameters.
        assert_eq!(
            g.source_quant.get(&g.inputs[0]),
            Some(&Quantization::per_tensor(0.5, 0))
        );
        assert_eq!(
            g.source_quant.get(&g.outputs[0]),
            Some(&Quantization::per_tensor(0.25, 0))
        );
    }

    #[test]
    fn the_edges_of_an_integer_model_are_recorded() {
        let g = run("graph g {\n input %a: u8[1, 2]\n \
             const %b: i8[2, 2] = [1, -2, 3, 4]\n \
             %y: u8[1, 2] = QLinearMatMul(%a, %b) {a_scale=0.5, a_zero_point=[128], b_scale=[0.25, 0.5], b_zero_point=[0, 0], y_scale=0.75, y_zero_point=100} @mm\n \
             output %y\n}");
        let names: Vec<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
        assert_eq!(names, ["DequantizeLinear", "MatMul", "QuantizeLinear"]);
        let (matmul, b) = (&g.nodes[1], g.nodes[1].inputs[1]);
        // B as floats, with its per-column scales recorded.
        assert_eq!(
            g.constant(b),
            Some(&TensorData::F32(vec![0.25, -1.0, 0.75, 2.0]))
        );
        assert_eq!(g.source_quant[&b].scale, [0.25, 0.5]);
        assert_eq!(g.source_quant[&b].axis, 1);
        // The dequantized input and the float product before the output's quantizer.
        assert_eq!(
            g.source_quant.get(&matmul.inputs[0]),
            Some(&Quantization::per_tensor(0.5, 0))
        );
        assert_eq!(
            g.source_quant.get(&matmul.outputs[0]),
            Some(&Quantization::per_tensor(0.75, -28))
        );
    }

    #[test]
    fn a_tensor_with_float_readers_is_not_an_edge() {
        let g = run("graph g {\n input %x: f32[4]\n \
             %r: f32[4] = Relu(%x) @relu\n \
             %q: i8[4] = QuantizeLinear(%r) {axis=0, output_dtype=i8, scale=[0.5], zero_point=[0]} @q\n \
             %s: f32[4] = Sigmoid(%r) @sigmoid\n \
             output %q\n output %s\n}");
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
