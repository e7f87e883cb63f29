//! Shape inference: gives every tensor a static shape and makes every attribute explicit.
//!
//! Nodes are visited in schedule order. For each node:
//! 1. parameter inputs (the shape of `Reshape`, the bounds of `Clip`, ...) are read from their
//!    constant values into the op's attributes, and removed from the node;
//! 2. defaults are made explicit (`auto_pad` becomes pads, negative axes become positive, an
//!    absent `perm` becomes the reversed axes, `Slice` gets one entry per axis, ...);
//! 3. the output shapes are computed and checked against any shape already recorded;
//! 4. if every data input is a constant (or the op is `Shape`), the node is evaluated with the
//!    reference evaluator and replaced by constants.
//!
//! Step 4 is what makes ONNX's run-time shape computations static: in a PyTorch export,
//! `Shape → Gather → Unsqueeze → Concat → Reshape` folds to a constant shape before the
//! `Reshape` is reached, so that step 1 finds a constant there.

use crate::error::{Error, ErrorKind, Result};
use crate::eval;
use crate::ir::op::*;
use crate::ir::shape::broadcast_shapes;
use crate::ir::{DType, Graph, Node, Op, TensorData, TensorId, normalize_axis};
use crate::passes::{PassOptions, PassReport, fold_constants};

mod norm_recurrent;
mod onnx_quant;
pub use norm_recurrent::gates_and_activations;

/// Runs shape inference over the whole graph.
pub fn infer_shapes(graph: &mut Graph, _options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("infer_shapes");
    let mut i = 0;
    let mut problems = Vec::new();
    let mut fold_budget = fold_constants::FoldBudget::new(graph);
    while i < graph.nodes.len() {
        let mut node = graph.nodes[i].clone();
        let described = graph.describe_node(&node);
        let inferred = infer_node(graph, &mut node).and_then(|shapes| {
            match shapes.iter().find(|s| crate::ir::checked_len(s).is_none()) {
                Some(s) => Err(format!(
                    "its output of shape {s:?} would have more than {} elements",
                    crate::ir::MAX_ELEMENTS
                )),
                None => Ok(shapes),
            }
        });
        match inferred {
            Ok(shapes) => {
                for (&out, shape) in node.outputs.iter().zip(shapes) {
                    let tensor = graph.tensor_mut(out);
                    match &tensor.shape {
                        Some(known) if *known != shape => {
                            problems.push(format!(
                                "{described}: output '{}' has shape {shape:?}, but the model says {known:?}",
                                tensor.name
                            ));
                        }
                        _ => tensor.shape = Some(shape),
                    }
                }
                graph.nodes[i] = node;
            }
            Err(e) => {
                // Later nodes depend on this one's shapes; stop at the first failure.
                problems.push(format!("{described}: {e}"));
                break;
            }
        }
        if !problems.is_empty() {
            break;
        }
        if fold_constants::is_foldable(graph, &graph.nodes[i], &fold_budget) {
            fold_constants::fold_node(graph, i, &mut fold_budget)?;
            report.changes += 1;
            continue;
        }
        i += 1;
    }
    if !problems.is_empty() {
        return Err(Error::new(ErrorKind::Unsupported, problems.join("\n")));
    }
    Ok(report)
}

/// Shape of a node's data input `i` (known, because nodes are visited in order).
fn input_shape(graph: &Graph, node: &Node, i: usize) -> Result<Vec<usize>, String> {
    let t = graph.tensor(node.inputs[i]);
    t.shape
        .clone()
        .ok_or_else(|| format!("the shape of input '{}' is unknown", t.name))
}

/// The constant value of parameter `slot`, if given. A parameter that is not constant cannot
/// be made static.
fn param(graph: &Graph, node: &Node, slot: usize) -> Result<Option<TensorData>, String> {
    let Some(Some(id)) = node.params.get(slot) else {
        return Ok(None);
    };
    let tensor = graph.tensor(*id);
    match &tensor.data {
        Some(data) => Ok(Some(data.clone())),
        None => Err(format!(
            "its {} ('{}') is computed at run time; edgegen needs it to be a constant (or computable \
             from shapes) to generate static code",
            node.op.arity().params[slot],
            tensor.name
        )),
    }
}

fn param_i64s(graph: &Graph, node: &Node, slot: usize) -> Result<Option<Vec<i64>>, String> {
    param(graph, node, slot)?
        .map(|d| eval::as_i64s(&d))
        .transpose()
}

fn param_f32(graph: &Graph, node: &Node, slot: usize) -> Result<Option<f32>, String> {
    match param(graph, node, slot)? {
        None => Ok(None),
        Some(d) if d.len() == 1 => Ok(Some(d.to_f64_vec()[0] as f32)),
        Some(d) => Err(format!(
            "{} should be a scalar, found {} values",
            node.op.arity().params[slot],
            d.len()
        )),
    }
}

fn normalize_axes(axes: &[i64], rank: usize) -> Result<Vec<usize>, String> {
    let mut out = axes
        .iter()
        .map(|&a| normalize_axis(a, rank))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_unstable();
    let before = out.len();
    out.dedup();
    if out.len() != before {
        return Err(format!("axes {axes:?} repeat an axis"));
    }
    Ok(out)
}

/// Requires the data inputs of a float op to be `f32`.
fn require_f32(graph: &Graph, node: &Node, count: usize) -> Result<(), String> {
    for &t in node.inputs.iter().take(count) {
        let tensor = graph.tensor(t);
        if tensor.dtype != DType::F32 {
            return Err(format!(
                "input '{}' is {}; this version computes {} on float32 only",
                tensor.name,
                tensor.dtype,
                node.op.name()
            ));
        }
    }
    Ok(())
}

/// Requires the input of a one-input element-wise op to have a type the op is defined on:
/// float, int8 with quantization parameters (for the activations with int8 kernels), integers
/// for the functions that take them, bool for `Not`.
fn require_unary_dtype(graph: &Graph, node: &Node) -> Result<(), String> {
    let f = node.op.unary_fn().expect("a unary op");
    let tensor = graph.tensor(node.inputs[0]);
    let ok = match tensor.dtype {
        _ if f == UnaryFn::Not => tensor.dtype == DType::Bool,
        DType::F32 | DType::F64 => true,
        DType::I8 if tensor.quant.is_some() => {
            return require_f32_or_quantized(graph, node, 1);
        }
        DType::Bool => false,
        _ => f.takes_integers(),
    };
    if !ok {
        return Err(format!(
            "input '{}' is {}; {} is not defined on {} tensors",
            tensor.name,
            tensor.dtype,
            node.op.name(),
            tensor.dtype
        ));
    }
    Ok(())
}

/// Requires the input of an op that compares values (`ArgMax`, `TopK`) to be a number that is
/// not quantized (indices into quantized data would be right, but nothing needs them yet).
fn require_ordered(graph: &Graph, node: &Node) -> Result<(), String> {
    let tensor = graph.tensor(node.inputs[0]);
    if tensor.dtype == DType::Bool || tensor.quant.is_some() {
        return Err(format!(
            "input '{}' is {}{}; {} takes numbers",
            tensor.name,
            tensor.dtype,
            if tensor.quant.is_some() {
                " with quantization"
            } else {
                ""
            },
            node.op.name()
        ));
    }
    Ok(())
}

/// Requires an int8 tensor with per-tensor quantization (the int8 side of `Quantize` and
/// `Dequantize`).
fn require_per_tensor_i8(graph: &Graph, t: TensorId) -> Result<(), String> {
    let tensor = graph.tensor(t);
    if tensor.dtype != DType::I8 || tensor.quant.as_ref().and_then(|q| q.single()).is_none()
    {
        return Err(format!(
            "'{}' must be int8 with per-tensor quantization parameters",
            tensor.name
        ));
    }
    Ok(())
}

/// Requires the data inputs of an op that has integer kernels to be `f32`, or `i8` with
/// quantization parameters (weights of a quantized op are `i8`, its bias `i32`).
fn require_f32_or_quantized(
    graph: &Graph,
    node: &Node,
    count: usize,
) -> Result<(), String> {
    let first = graph.tensor(node.inputs[0]);
    if first.dtype == DType::F32 {
        return require_f32(graph, node, count);
    }
    for (i, &t) in node.inputs.iter().take(count).enumerate() {
        let tensor = graph.tensor(t);
        let ok = match i {
            2 => tensor.dtype == DType::I32,
            _ => tensor.dtype == DType::I8,
        };
        if !ok || tensor.quant.is_none() {
            return Err(format!(
                "input '{}' is {}{}; {} computes on float32, or on int8 with quantization \
                 parameters (int32 bias)",
                tensor.name,
                tensor.dtype,
                if tensor.quant.is_none() {
                    " without quantization parameters"
                } else {
                    ""
                },
                node.op.name()
            ));
        }
    }
    Ok(())
}

/// `[n, spatial..., c]` as `[n, c, spatial...]` (the last axis moves to position 1).
pub fn channels_first(shape: &[usize]) -> Vec<usize> {
    let mut out = shape.to_vec();
    if out.len() > 2 {
        let c = out.remove(out.len() - 1);
        out.insert(1, c);
    }
    out
}

/// `[n, c, spatial...]` as `[n, spatial..., c]`.
pub fn channels_last(shape: &[usize]) -> Vec<usize> {
    let mut out = shape.to_vec();
    if out.len() > 2 {
        let c = out.remove(1);
        out.push(c);
    }
    out
}

/// Whether a channels-last convolution is "hybrid" (TFLite's dynamic-range quantization): float
/// input, output and bias, int8 weights with a single scale and zero point 0. An error if it
/// looks like one but is not of that form.
pub fn is_hybrid_conv(graph: &Graph, node: &Node) -> Result<bool, String> {
    let (x, w) = (graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]));
    if x.dtype != DType::F32 || w.dtype != DType::I8 {
        return Ok(false);
    }
    let channels_last = matches!(&node.op, Op::Conv(a) if a.channels_last);
    let single = w
        .quant
        .as_ref()
        .is_some_and(|q| q.scale.len() == 1 && q.zero_point == [0]);
    if !channels_last || !single {
        return Err(format!(
            "float32 input with int8 weights '{}' is supported for channels-last convolutions \
             with one weight scale and zero point 0 only",
            w.name
        ));
    }
    if let Some(&b) = node.inputs.get(2)
        && graph.tensor(b).dtype != DType::F32
    {
        return Err(format!(
            "the bias '{}' of a float32 convolution with int8 weights must be float32",
            graph.tensor(b).name
        ));
    }
    Ok(true)
}

/// Infers the output shapes of one node, resolving its parameters and attributes in place.
fn infer_node(graph: &Graph, node: &mut Node) -> Result<Vec<Vec<usize>>, String> {
    // ConstantOfShape and Range have parameter inputs only.
    let x = if node.inputs.is_empty() {
        Vec::new()
    } else {
        input_shape(graph, node, 0)?
    };
    let rank = x.len();
    if let Some(shapes) = onnx_quant::infer(graph, node, &x)? {
        node.params.clear();
        return Ok(shapes);
    }
    let shapes = match &mut node.op.clone() {
        Op::Conv(a) => {
            if !is_hybrid_conv(graph, node)? {
                require_f32_or_quantized(graph, node, 3)?;
            }
            let w = input_shape(graph, node, 1)?;
            check_spatial_rank(rank, "Conv", 2)?;
            // A channels-last convolution is inferred as the channels-first one it is a
            // relayout of: the channel axis of the data and the input-channel axis of the
            // weights move to position 1.
            let (x, w) = if a.channels_last {
                (channels_first(&x), channels_first(&w))
            } else {
                (x, w)
            };
            if w.len() != rank {
                return Err(format!(
                    "the weights have shape {w:?}, which does not match the input {x:?}"
                ));
            }
            let spatial = rank - 2;
            fill_kernel(&mut a.kernel_shape, &w[2..])?;
            fill_ones(&mut a.strides, spatial, "strides")?;
            fill_ones(&mut a.dilations, spatial, "dilations")?;
            if a.group == 0 || x[1] != w[1] * a.group || w[0] % a.group != 0 {
                return Err(format!(
                    "input channels {} and weights {w:?} do not fit group {}",
                    x[1], a.group
                ));
            }
            if node.inputs.len() > 2 {
                let b = input_shape(graph, node, 2)?;
                if b != [w[0]] {
                    return Err(format!("the bias has shape {b:?}, expected [{}]", w[0]));
                }
            }
            a.pads = resolve_pads(
                a.auto_pad,
                &a.pads,
                &x[2..],
                &a.kernel_shape,
                &a.strides,
                &a.dilations,
            )?;
            a.auto_pad = AutoPad::NotSet;
            let mut out = vec![x[0], w[0]];
            for d in 0..spatial {
                out.push(window_output(
                    x[2 + d],
                    a.pads[d] + a.pads[spatial + d],
                    a.kernel_shape[d],
                    a.strides[d],
                    a.dilations[d],
                    false,
                    a.pads[d],
                )?);
            }
            node.op = Op::Conv(a.clone());
            vec![if a.channels_last {
                channels_last(&out)
            } else {
                out
            }]
        }
        Op::ConvTranspose(a) => {
            require_f32(graph, node, 3)?;
            let w = input_shape(graph, node, 1)?;
            check_spatial_rank(rank, "ConvTranspose", 3)?;
            if w.len() != rank || w[0] != x[1] {
                return Err(format!(
                    "the weights have shape {w:?}, which does not match the input {x:?}"
                ));
            }
            let spatial = rank - 2;
            fill_kernel(&mut a.kernel_shape, &w[2..])?;
            fill_ones(&mut a.strides, spatial, "strides")?;
            fill_ones(&mut a.dilations, spatial, "dilations")?;
            if a.output_padding.is_empty() {
                a.output_padding = vec![0; spatial];
            }
            if a.output_padding.len() != spatial {
                return Err(format!(
                    "output_padding {:?} does not have {spatial} entries",
                    a.output_padding
                ));
            }
            if a.group == 0 || x[1] % a.group != 0 {
                return Err(format!(
                    "{} input channels do not divide into {} groups",
                    x[1], a.group
                ));
            }
            let c_out = w[1] * a.group;
            if node.inputs.len() > 2 && input_shape(graph, node, 2)? != [c_out] {
                return Err(format!("the bias should have shape [{c_out}]"));
            }
            if x[2..].contains(&0) {
                return Err("the input has a zero-sized spatial axis".into());
            }
            let full_size = |a: &ConvTransposeAttrs, d: usize| {
                a.strides[d] * (x[2 + d] - 1)
                    + a.output_padding[d]
                    + (a.kernel_shape[d] - 1) * a.dilations[d]
                    + 1
            };
            let target: Option<Vec<usize>> = match (&a.output_shape, a.auto_pad) {
                (Some(shape), _) => {
                    let shape = if shape.len() == rank {
                        shape[2..].to_vec()
                    } else {
                        shape.clone()
                    };
                    if shape.len() != spatial {
                        return Err(format!(
                            "output_shape {shape:?} does not have {spatial} entries"
                        ));
                    }
                    Some(shape)
                }
                (None, AutoPad::SameUpper | AutoPad::SameLower) => {
                    Some((0..spatial).map(|d| x[2 + d] * a.strides[d]).collect())
                }
                (None, AutoPad::Valid) => {
                    Some((0..spatial).map(|d| full_size(a, d)).collect())
                }
                (None, AutoPad::NotSet) => None,
            };
            if let Some(target) = target {
                let mut pads = vec![0; 2 * spatial];
                for d in 0..spatial {
                    let full = full_size(a, d);
                    if target[d] > full {
                        // Taps cannot reach that far (a kernel smaller than the stride): with an
                        // explicit output_shape the extra positions are zero (bias only), as
                        // onnxruntime makes them; SAME padding keeps the full output, as it does.
                        if a.output_shape.is_some() {
                            a.output_padding[d] += target[d] - full;
                        }
                        continue;
                    }
                    let total = full - target[d];
                    // The ONNX definition: the larger half of an odd padding goes at the end for
                    // SAME_UPPER, at the beginning otherwise (including an explicit output_shape).
                    let (begin, end) = if a.auto_pad == AutoPad::SameUpper {
                        (total / 2, total - total / 2)
                    } else {
                        (total - total / 2, total / 2)
                    };
                    pads[d] = begin;
                    pads[spatial + d] = end;
                }
                a.pads = pads;
            } else if a.pads.is_empty() {
                a.pads = vec![0; 2 * spatial];
            }
            if a.pads.len() != 2 * spatial {
                return Err(format!(
                    "pads {:?} do not have {} entries",
                    a.pads,
                    2 * spatial
                ));
            }
            a.output_shape = None;
            a.auto_pad = AutoPad::NotSet;
            let mut out = vec![x[0], c_out];
            for d in 0..spatial {
                out.push(
                    full_size(a, d)
                        .checked_sub(a.pads[d] + a.pads[spatial + d])
                        .filter(|&v| v > 0)
                        .ok_or("the pads are larger than the output")?,
                );
            }
            node.op = Op::ConvTranspose(a.clone());
            vec![out]
        }
        Op::Gemm(a) => {
            require_f32_or_quantized(graph, node, 3)?;
            let b = input_shape(graph, node, 1)?;
            if rank != 2 || b.len() != 2 {
                return Err(format!("Gemm needs 2-D inputs, found {x:?} and {b:?}"));
            }
            let (m, k) = if a.trans_a {
                (x[1], x[0])
            } else {
                (x[0], x[1])
            };
            let (k2, n) = if a.trans_b {
                (b[1], b[0])
            } else {
                (b[0], b[1])
            };
            if k != k2 {
                return Err(format!("inner dimensions differ: {x:?} and {b:?}"));
            }
            if node.inputs.len() > 2 {
                let c = input_shape(graph, node, 2)?;
                if broadcast_shapes(&c, &[m, n]).ok().as_deref() != Some(&[m, n][..]) {
                    return Err(format!(
                        "C of shape {c:?} does not broadcast to [{m}, {n}]"
                    ));
                }
            }
            vec![vec![m, n]]
        }
        Op::MatMul => {
            // The types ONNX defines MatMul on, but float16 and bfloat16.
            let (ta, tb) = (graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]));
            let numeric = [
                DType::F32,
                DType::F64,
                DType::I32,
                DType::I64,
                DType::U32,
                DType::U64,
            ];
            if !numeric.contains(&ta.dtype) || ta.dtype != tb.dtype {
                return Err(format!(
                    "its inputs '{}' and '{}' are {} and {}; MatMul takes two inputs of one type \
                     among float32, float64, int32, int64, uint32 and uint64",
                    ta.name, tb.name, ta.dtype, tb.dtype
                ));
            }
            let b = input_shape(graph, node, 1)?;
            vec![matmul_shape(&x, &b)?]
        }
        Op::Add(_) | Op::Sub(_) | Op::Mul(_) | Op::Div(_) => {
            let (ta, tb) = (graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]));
            if ta.dtype != tb.dtype {
                return Err(format!(
                    "its inputs are {} and {}; they must have the same type",
                    ta.dtype, tb.dtype
                ));
            }
            if ta.dtype == DType::Bool {
                return Err("arithmetic on bool tensors is not supported".into());
            }
            vec![broadcast_shapes(&x, &input_shape(graph, node, 1)?)?]
        }
        Op::PRelu => {
            require_f32_or_quantized(graph, node, 2)?;
            let slope = input_shape(graph, node, 1)?;
            if broadcast_shapes(&x, &slope)? != x {
                return Err(format!(
                    "the slope {slope:?} does not broadcast to the input {x:?}"
                ));
            }
            vec![x]
        }
        Op::Clip(a) => {
            require_unary_dtype(graph, node)?;
            if let Some(min) = param_f32(graph, node, 0)? {
                a.min = min;
            }
            if let Some(max) = param_f32(graph, node, 1)? {
                a.max = max;
            }
            node.op = Op::Clip(a.clone());
            vec![x]
        }
        op if op.unary_fn().is_some() => {
            require_unary_dtype(graph, node)?;
            vec![x]
        }
        op if op.binary_fn().is_some() || op.compare_fn().is_some() => {
            let (ta, tb) = (graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]));
            let logical = op.binary_fn().is_some_and(|f| f.is_logical());
            if logical && (ta.dtype != DType::Bool || tb.dtype != DType::Bool) {
                return Err(format!(
                    "its inputs are {} and {}; {} takes bool tensors",
                    ta.dtype,
                    tb.dtype,
                    op.name()
                ));
            }
            if ta.dtype != tb.dtype {
                return Err(format!(
                    "its inputs are {} and {}; they must have the same type",
                    ta.dtype, tb.dtype
                ));
            }
            if !logical && ta.dtype == DType::Bool && !matches!(op, Op::Equal) {
                return Err(format!("{} of bool tensors is not supported", op.name()));
            }
            vec![broadcast_shapes(&x, &input_shape(graph, node, 1)?)?]
        }
        Op::Where => {
            let (tc, ta, tb) = (
                graph.tensor(node.inputs[0]),
                graph.tensor(node.inputs[1]),
                graph.tensor(node.inputs[2]),
            );
            if tc.dtype != DType::Bool || ta.dtype != tb.dtype {
                return Err(format!(
                    "its inputs are {}, {} and {}; Where takes a bool condition and two values \
                     of one type",
                    tc.dtype, ta.dtype, tb.dtype
                ));
            }
            let xy = broadcast_shapes(
                &input_shape(graph, node, 1)?,
                &input_shape(graph, node, 2)?,
            )?;
            vec![broadcast_shapes(&x, &xy)?]
        }
        Op::Softmax(a) | Op::LogSoftmax(a) => {
            if graph.tensor(node.inputs[0]).dtype != DType::F64 {
                require_f32_or_quantized(graph, node, 1)?;
            }
            let axis = normalize_axis(a.axis, rank)?;
            a.axis = axis as i64;
            if a.coerce_2d && axis + 1 >= rank {
                a.coerce_2d = false;
            }
            node.op = if matches!(node.op, Op::Softmax(_)) {
                Op::Softmax(a.clone())
            } else {
                Op::LogSoftmax(a.clone())
            };
            vec![x]
        }
        Op::MaxPool(a) | Op::AveragePool(a) => {
            let max = matches!(node.op, Op::MaxPool(_));
            let input = graph.tensor(node.inputs[0]);
            // Max pooling only compares, so it takes every number type; int8 with
            // quantization parameters keeps them (the quantized path).
            if !max || input.quant.is_some() || input.dtype == DType::Bool {
                require_f32_or_quantized(graph, node, 1)?;
            }
            if node.outputs.len() > 2 {
                return Err(format!(
                    "it has {} outputs; MaxPool has the values and the indices",
                    node.outputs.len()
                ));
            }
            let with_indices = node.outputs.len() == 2;
            if with_indices && (a.channels_last || input.quant.is_some()) {
                return Err(
                    "the Indices output of a channels-last or quantized MaxPool is not supported"
                        .into(),
                );
            }
            let max_spatial = if a.channels_last { 2 } else { 3 };
            check_spatial_rank(rank, node.op.name(), max_spatial)?;
            let x = if a.channels_last {
                channels_first(&x)
            } else {
                x
            };
            let spatial = rank - 2;
            if a.kernel_shape.len() != spatial || a.kernel_shape.contains(&0) {
                return Err(format!(
                    "kernel_shape {:?} does not fit a {spatial}-D input",
                    a.kernel_shape
                ));
            }
            fill_ones(&mut a.strides, spatial, "strides")?;
            fill_ones(&mut a.dilations, spatial, "dilations")?;
            let same = matches!(a.auto_pad, AutoPad::SameUpper | AutoPad::SameLower);
            a.pads = resolve_pads(
                a.auto_pad,
                &a.pads,
                &x[2..],
                &a.kernel_shape,
                &a.strides,
                &a.dilations,
            )?;
            a.auto_pad = AutoPad::NotSet;
            let mut out = vec![x[0], x[1]];
            for d in 0..spatial {
                let ceil = a.ceil_mode && !same;
                out.push(window_output(
                    x[2 + d],
                    a.pads[d] + a.pads[spatial + d],
                    a.kernel_shape[d],
                    a.strides[d],
                    a.dilations[d],
                    ceil,
                    a.pads[d],
                )?);
            }
            node.op = if max {
                Op::MaxPool(a.clone())
            } else {
                Op::AveragePool(a.clone())
            };
            let out = if a.channels_last {
                channels_last(&out)
            } else {
                out
            };
            if with_indices {
                vec![out.clone(), out]
            } else {
                vec![out]
            }
        }
        Op::GlobalAveragePool | Op::GlobalMaxPool => {
            require_f32(graph, node, 1)?;
            if rank < 3 {
                return Err(format!("the input {x:?} has no spatial axes"));
            }
            let mut out = vec![x[0], x[1]];
            out.extend(std::iter::repeat_n(1, rank - 2));
            vec![out]
        }
        Op::BatchNormalization(_) | Op::BatchNormalizationTraining(_) => {
            require_f32(graph, node, 5)?;
            if rank < 2 {
                return Err(format!("the input {x:?} has no channel axis"));
            }
            for i in 1..5 {
                let p = input_shape(graph, node, i)?;
                if p != [x[1]] {
                    return Err(format!(
                        "parameter {i} has shape {p:?}, expected [{}]",
                        x[1]
                    ));
                }
            }
            let n_outputs = node.outputs.len();
            if n_outputs > 3 {
                return Err(format!(
                    "it has {n_outputs} outputs; training mode has y, running_mean and running_var"
                ));
            }
            let channels = vec![x[1]];
            [x, channels.clone(), channels]
                .into_iter()
                .take(n_outputs)
                .collect()
        }
        Op::Reshape(a) => {
            let target =
                param_i64s(graph, node, 0)?.ok_or("the target shape is missing")?;
            vec![reshape_shape(&x, &target, a.allowzero)?]
        }
        Op::Flatten(a) => {
            let axis = if a.axis < 0 {
                a.axis + rank as i64
            } else {
                a.axis
            };
            if axis < 0 || axis > rank as i64 {
                return Err(format!("axis {} is out of range for rank {rank}", a.axis));
            }
            a.axis = axis;
            node.op = Op::Flatten(a.clone());
            let axis = axis as usize;
            vec![vec![x[..axis].iter().product(), x[axis..].iter().product()]]
        }
        Op::Squeeze(a) => {
            let axes = match param_i64s(graph, node, 0)?.or(a.axes.clone()) {
                Some(axes) => normalize_axes(&axes, rank)?,
                None => (0..rank).filter(|&d| x[d] == 1).collect(),
            };
            if let Some(&d) = axes.iter().find(|&&d| x[d] != 1) {
                return Err(format!("axis {d} has size {}, not 1", x[d]));
            }
            a.axes = Some(axes.iter().map(|&d| d as i64).collect());
            node.op = Op::Squeeze(a.clone());
            vec![
                x.iter()
                    .enumerate()
                    .filter(|(d, _)| !axes.contains(d))
                    .map(|(_, &n)| n)
                    .collect(),
            ]
        }
        Op::Unsqueeze(a) => {
            let axes = param_i64s(graph, node, 0)?
                .or(a.axes.clone())
                .ok_or("the axes are missing")?;
            let out_rank = rank + axes.len();
            let axes = normalize_axes(&axes, out_rank)?;
            let mut rest = x.iter();
            let out: Vec<usize> = (0..out_rank)
                .map(|d| {
                    if axes.contains(&d) {
                        1
                    } else {
                        *rest.next().expect("rank adds up")
                    }
                })
                .collect();
            a.axes = Some(axes.iter().map(|&d| d as i64).collect());
            node.op = Op::Unsqueeze(a.clone());
            vec![out]
        }
        Op::Transpose(a) => {
            let perm = a.perm.clone().unwrap_or_else(|| (0..rank).rev().collect());
            let mut seen = vec![false; rank];
            if perm.len() != rank
                || perm
                    .iter()
                    .any(|&p| p >= rank || std::mem::replace(&mut seen[p], true))
            {
                return Err(format!("perm {perm:?} is not a permutation of {rank} axes"));
            }
            let out = perm.iter().map(|&p| x[p]).collect();
            a.perm = Some(perm);
            node.op = Op::Transpose(a.clone());
            vec![out]
        }
        Op::Concat(a) => {
            let axis = normalize_axis(a.axis, rank)?;
            let mut out = x.clone();
            out[axis] = 0;
            for i in 0..node.inputs.len() {
                let s = input_shape(graph, node, i)?;
                let same_elsewhere =
                    s.len() == rank && (0..rank).all(|d| d == axis || s[d] == x[d]);
                if !same_elsewhere {
                    return Err(format!(
                        "input {i} has shape {s:?}, which does not concatenate with {x:?} on axis {axis}"
                    ));
                }
                if graph.tensor(node.inputs[i]).dtype != graph.tensor(node.inputs[0]).dtype
                {
                    return Err("the inputs have different element types".into());
                }
                out[axis] += s[axis];
            }
            a.axis = axis as i64;
            node.op = Op::Concat(a.clone());
            vec![out]
        }
        Op::Split(a) => {
            let axis = normalize_axis(a.axis, rank)?;
            let n = node.outputs.len();
            let sizes: Vec<usize> = match param_i64s(graph, node, 0)? {
                Some(s) => s
                    .iter()
                    .map(|&v| {
                        usize::try_from(v)
                            .map_err(|_| format!("split size {v} is negative"))
                    })
                    .collect::<Result<_, _>>()?,
                None => match &a.split {
                    Some(s) => s.clone(),
                    None => {
                        // Equal parts, the last one smaller if the axis does not divide evenly.
                        let chunk = x[axis].div_ceil(n);
                        (0..n)
                            .map(|i| chunk.min(x[axis].saturating_sub(i * chunk)))
                            .collect()
                    }
                },
            };
            let total = sizes.iter().try_fold(0usize, |t, &s| t.checked_add(s));
            if sizes.len() != n || total != Some(x[axis]) {
                return Err(format!(
                    "split sizes {sizes:?} do not divide axis {axis} of {x:?} into {n} outputs"
                ));
            }
            a.axis = axis as i64;
            a.split = Some(sizes.clone());
            node.op = Op::Split(a.clone());
            sizes
                .iter()
                .map(|&s| {
                    let mut o = x.clone();
                    o[axis] = s;
                    o
                })
                .collect()
        }
        Op::Slice(a) => {
            let starts = param_i64s(graph, node, 0)?.unwrap_or_else(|| a.starts.clone());
            let ends = param_i64s(graph, node, 1)?.unwrap_or_else(|| a.ends.clone());
            let axes = param_i64s(graph, node, 2)?.or(a.axes.clone());
            let steps = param_i64s(graph, node, 3)?.or(a.steps.clone());
            let (attrs, out) =
                normalize_slice(&x, &starts, &ends, axes.as_deref(), steps.as_deref())?;
            node.op = Op::Slice(attrs);
            vec![out]
        }
        Op::Pad(a) => {
            let pads = param_i64s(graph, node, 0)?.unwrap_or_else(|| a.pads.clone());
            if let Some(value) = param_f32(graph, node, 1)? {
                a.value = value;
            }
            let axes = match param_i64s(graph, node, 2)?.or(a.axes.clone()) {
                Some(axes) => axes
                    .iter()
                    .map(|&v| normalize_axis(v, rank))
                    .collect::<Result<Vec<_>, _>>()?,
                None => (0..rank).collect(),
            };
            if pads.len() != 2 * axes.len() {
                return Err(format!(
                    "pads {pads:?} should have {} entries",
                    2 * axes.len()
                ));
            }
            let mut full = vec![0i64; 2 * rank];
            for (i, &axis) in axes.iter().enumerate() {
                full[axis] = pads[i];
                full[rank + axis] = pads[axes.len() + i];
            }
            let mut out = Vec::with_capacity(rank);
            for d in 0..rank {
                let size = (x[d] as i64)
                    .checked_add(full[d])
                    .and_then(|s| s.checked_add(full[rank + d]))
                    .ok_or_else(|| format!("pads {pads:?} are out of range"))?;
                if size < 0 {
                    return Err(format!("pads {pads:?} crop axis {d} below zero"));
                }
                if a.mode == PadMode::Reflect
                    && (full[d] >= x[d] as i64 || full[rank + d] >= x[d] as i64)
                    && (full[d] > 0 || full[rank + d] > 0)
                {
                    return Err(format!(
                        "reflect padding of axis {d} (size {}) must be smaller than the axis",
                        x[d]
                    ));
                }
                // Edge, reflect and wrap padding copy elements of the (cropped) axis, so
                // there must be some.
                let kept = x[d] as i64 - (-full[d]).max(0) - (-full[rank + d]).max(0);
                if a.mode != PadMode::Constant && kept <= 0 && size > 0 {
                    return Err(format!(
                        "{} padding of axis {d} has no element to copy (pads {pads:?}, size {})",
                        a.mode.word(),
                        x[d]
                    ));
                }
                out.push(size as usize);
            }
            a.pads = full;
            a.axes = None;
            node.op = Op::Pad(a.clone());
            vec![out]
        }
        Op::Gather(a) => {
            let axis = normalize_axis(a.axis, rank)?;
            let indices = graph.tensor(node.inputs[1]);
            if !indices.dtype.is_integer() {
                return Err(format!("the indices are {}, not integers", indices.dtype));
            }
            let idx_shape = input_shape(graph, node, 1)?;
            a.axis = axis as i64;
            node.op = Op::Gather(a.clone());
            let mut out = x[..axis].to_vec();
            out.extend(&idx_shape);
            out.extend(&x[axis + 1..]);
            vec![out]
        }
        op if op.reduce_fn().is_some() => {
            let f = op.reduce_fn().expect("a reduction");
            let tensor = graph.tensor(node.inputs[0]);
            let ok = match tensor.dtype {
                DType::F32 | DType::F64 => true,
                // The int8 ReduceMean of quantized tensors (TFLite's MEAN).
                DType::I8 if tensor.quant.is_some() => f == ReduceFn::Mean,
                DType::Bool => f.takes_bool(),
                // Generated code and the evaluator compute integers through i64.
                DType::U64 => false,
                _ => f.takes_integers(),
            };
            if !ok {
                return Err(format!(
                    "input '{}' is {}{}; {} is not supported on it",
                    tensor.name,
                    tensor.dtype,
                    if tensor.quant.is_some() {
                        " with quantization"
                    } else {
                        ""
                    },
                    op.name()
                ));
            }
            let a = op.reduce_attrs_mut().expect("a reduction");
            let axes = match param_i64s(graph, node, 0)?.or(a.axes.clone()) {
                Some(axes) if !axes.is_empty() => normalize_axes(&axes, rank)?,
                _ if a.noop_with_empty_axes => Vec::new(),
                _ => (0..rank).collect(),
            };
            let out = x
                .iter()
                .enumerate()
                .filter_map(|(d, &n)| match (axes.contains(&d), a.keepdims) {
                    (false, _) => Some(n),
                    (true, true) => Some(1),
                    (true, false) => None,
                })
                .collect();
            a.axes = Some(axes.iter().map(|&d| d as i64).collect());
            a.noop_with_empty_axes = false;
            node.op = op.clone();
            vec![out]
        }
        Op::ArgMax(a) | Op::ArgMin(a) => {
            require_ordered(graph, node)?;
            let axis = normalize_axis(a.axis, rank)?;
            a.axis = axis as i64;
            node.op = if matches!(node.op, Op::ArgMax(_)) {
                Op::ArgMax(a.clone())
            } else {
                Op::ArgMin(a.clone())
            };
            let mut out = x.clone();
            if a.keepdims {
                out[axis] = 1;
            } else {
                out.remove(axis);
            }
            vec![out]
        }
        Op::Hardmax(a) => {
            let tensor = graph.tensor(node.inputs[0]);
            if !tensor.dtype.is_float() {
                return Err(format!(
                    "input '{}' is {}; Hardmax takes float tensors",
                    tensor.name, tensor.dtype
                ));
            }
            let axis = normalize_axis(a.axis, rank)?;
            a.axis = axis as i64;
            if a.coerce_2d && axis + 1 >= rank {
                a.coerce_2d = false;
            }
            node.op = Op::Hardmax(a.clone());
            vec![x]
        }
        Op::CumSum(a) => {
            let tensor = graph.tensor(node.inputs[0]);
            if !(tensor.dtype.is_float() || tensor.dtype.is_integer())
                || tensor.dtype == DType::U64
                || tensor.quant.is_some()
            {
                return Err(format!(
                    "input '{}' is {}; CumSum is not supported on it",
                    tensor.name, tensor.dtype
                ));
            }
            let axis = match param_i64s(graph, node, 0)? {
                Some(v) if v.len() == 1 => v[0],
                Some(v) => return Err(format!("the axis should be one value, not {v:?}")),
                None => a.axis,
            };
            a.axis = normalize_axis(axis, rank)? as i64;
            node.op = Op::CumSum(a.clone());
            vec![x]
        }
        Op::TopK(a) => {
            require_ordered(graph, node)?;
            let axis = normalize_axis(a.axis, rank)?;
            let k = match param_i64s(graph, node, 0)? {
                Some(v) if v.len() == 1 => v[0],
                Some(v) => return Err(format!("k should be one value, not {v:?}")),
                None => a.k.ok_or("k is missing")?,
            };
            if k < 0 || k as u64 > x[axis] as u64 {
                return Err(format!("k = {k} is out of range for axis {axis} of {x:?}"));
            }
            a.axis = axis as i64;
            a.k = Some(k);
            node.op = Op::TopK(a.clone());
            let mut out = x.clone();
            out[axis] = k as usize;
            vec![out.clone(), out]
        }
        Op::Resize(a) => {
            require_f32_or_quantized(graph, node, 1)?;
            // Upsample before opset 9 gives its scales as an attribute.
            let mut scales =
                param(graph, node, 1)?
                    .filter(|d| !d.is_empty())
                    .or_else(|| {
                        (!a.scales.is_empty()).then(|| TensorData::F32(a.scales.clone()))
                    });
            let mut sizes = param_i64s(graph, node, 2)?.filter(|s| !s.is_empty());
            let mut roi = param(graph, node, 0)?
                .map(|d| d.to_f64_vec())
                .unwrap_or_default();
            // `axes` says which axes the parameters name; the others keep their size.
            // In the order given: the i-th value of each parameter is for axes[i].
            let axes: Vec<usize> = match a.axes.take() {
                Some(axes) => {
                    normalize_axes(&axes, rank)?;
                    axes.iter()
                        .map(|&v| normalize_axis(v, rank))
                        .collect::<Result<_, _>>()?
                }
                None => (0..rank).collect(),
            };
            if axes.len() != rank {
                let spread = |values: &[f64],
                              rest: &dyn Fn(usize) -> f64|
                 -> Result<Vec<f64>, String> {
                    if values.len() != axes.len() {
                        return Err(format!(
                            "{values:?} should have one value per axis of {axes:?}"
                        ));
                    }
                    Ok((0..rank)
                        .map(|d| {
                            axes.iter()
                                .position(|&a| a == d)
                                .map_or_else(|| rest(d), |i| values[i])
                        })
                        .collect())
                };
                if let Some(s) = &scales {
                    scales = Some(TensorData::F64(spread(&s.to_f64_vec(), &|_| 1.0)?));
                }
                if let Some(s) = &sizes {
                    let v: Vec<f64> = s.iter().map(|&v| v as f64).collect();
                    sizes = Some(
                        spread(&v, &|d| x[d] as f64)?
                            .iter()
                            .map(|&v| v as i64)
                            .collect(),
                    );
                }
                if roi.len() == 2 * axes.len() {
                    let (starts, ends) = roi.split_at(axes.len());
                    let (starts, ends) =
                        (spread(starts, &|_| 0.0)?, spread(ends, &|_| 1.0)?);
                    roi = starts.into_iter().chain(ends).collect();
                }
            }
            if let (Some(s), true) =
                (&sizes, a.keep_aspect_ratio_policy != AspectPolicy::Stretch)
            {
                // One scale for the resized axes, the smallest or largest of theirs; sizes
                // round half up from it.
                let ratios = axes.iter().map(|&d| s[d] as f64 / x[d] as f64);
                let scale = if a.keep_aspect_ratio_policy == AspectPolicy::NotLarger {
                    ratios.fold(f64::INFINITY, f64::min)
                } else {
                    ratios.fold(0.0, f64::max)
                };
                let out: Vec<usize> = (0..rank)
                    .map(|d| {
                        if axes.contains(&d) {
                            (scale * x[d] as f64 + 0.5) as usize
                        } else {
                            x[d]
                        }
                    })
                    .collect();
                let resolved: Vec<f32> = (0..rank)
                    .map(|d| if axes.contains(&d) { scale as f32 } else { 1.0 })
                    .collect();
                scales = Some(TensorData::F32(resolved));
                sizes = None;
                a.sizes = Some(out);
            }
            let (out, resolved) = match (scales, sizes) {
                (Some(_), Some(_)) => return Err("both scales and sizes are given".into()),
                (None, None) => return Err("neither scales nor sizes is given".into()),
                (Some(scales), None) => {
                    let scales: Vec<f32> =
                        scales.to_f64_vec().iter().map(|&s| s as f32).collect();
                    if let Some(out) = a.sizes.take() {
                        // keep_aspect_ratio_policy fixed both above.
                        (out, scales)
                    } else {
                        if scales.len() != rank
                            || scales.iter().any(|&s| !(s > 0.0 && s.is_finite()))
                        {
                            return Err(format!(
                                "scales {scales:?} should be {rank} positive numbers"
                            ));
                        }
                        let out: Vec<usize> = x
                            .iter()
                            .zip(&scales)
                            .map(|(&n, &s)| (n as f32 * s).floor() as usize)
                            .collect();
                        (out, scales)
                    }
                }
                (None, Some(sizes)) => {
                    if sizes.len() != rank || sizes.iter().any(|&s| s <= 0) {
                        return Err(format!(
                            "sizes {sizes:?} should be {rank} positive numbers"
                        ));
                    }
                    let out: Vec<usize> = sizes.iter().map(|&s| s as usize).collect();
                    let scales = x
                        .iter()
                        .zip(&out)
                        .map(|(&i, &o)| o as f32 / i as f32)
                        .collect();
                    (out, scales)
                }
            };
            if out.contains(&0) || x.contains(&0) {
                return Err(format!("resizing {x:?} to {out:?} gives an empty axis"));
            }
            if a.coordinate_transformation_mode == CoordinateTransformation::TfCropAndResize
            {
                if roi.is_empty() {
                    return Err(
                        "tf_crop_and_resize needs a region of interest (roi)".into()
                    );
                }
                let roi: Vec<f32> = roi.iter().map(|&v| v as f32).collect();
                if roi.len() != 2 * rank {
                    return Err(format!("roi {roi:?} should have {} values", 2 * rank));
                }
                a.roi = roi;
            }
            a.scales = resolved;
            a.sizes = None;
            node.op = Op::Resize(a.clone());
            vec![out]
        }
        Op::Dropout => {
            // In training mode Dropout zeroes a random `ratio` of the elements (and scales
            // the rest); with ratio 0 it is the identity, as in inference.
            let training = param(graph, node, 1)?
                .is_some_and(|t| t.to_f64_vec().first().is_some_and(|&t| t != 0.0));
            if training && param_f32(graph, node, 0)?.unwrap_or(0.5) != 0.0 {
                return Err("Dropout in training mode with a non-zero ratio is random; \
                            edgegen compiles inference models"
                    .into());
            }
            vec![x]
        }
        Op::Identity | Op::Copy | Op::Cast(_) => vec![x],
        Op::Quantize => {
            require_f32_or_quantized(graph, node, 1)?;
            require_per_tensor_i8(graph, node.outputs[0])?;
            vec![x]
        }
        Op::Dequantize => {
            require_per_tensor_i8(graph, node.inputs[0])?;
            vec![x]
        }
        Op::Shape(a) => {
            let clamp = |v: i64| {
                (if v < 0 { v + rank as i64 } else { v }).clamp(0, rank as i64) as usize
            };
            let start = clamp(a.start);
            let end = a.end.map_or(rank, clamp);
            a.start = start as i64;
            a.end = Some(end.max(start) as i64);
            node.op = Op::Shape(a.clone());
            vec![vec![end.saturating_sub(start)]]
        }
        Op::Size => vec![vec![]],
        Op::DepthToSpace(a) | Op::SpaceToDepth(a) => {
            let b = a.blocksize;
            if rank != 4 {
                return Err(format!("the input {x:?} is not 4-D (NCHW)"));
            }
            if matches!(node.op, Op::DepthToSpace(_)) {
                if x[1] % (b * b) != 0 {
                    return Err(format!(
                        "{} channels do not divide into blocks of {b}x{b}",
                        x[1]
                    ));
                }
                vec![vec![x[0], x[1] / (b * b), x[2] * b, x[3] * b]]
            } else {
                if x[2] % b != 0 || x[3] % b != 0 {
                    return Err(format!("{x:?} does not divide into blocks of {b}x{b}"));
                }
                vec![vec![x[0], x[1] * b * b, x[2] / b, x[3] / b]]
            }
        }
        Op::ConstantOfShape(a) => {
            let shape = param_i64s(graph, node, 0)?.unwrap_or_default();
            a.shape = shape
                .iter()
                .map(|&d| {
                    usize::try_from(d)
                        .map_err(|_| format!("the shape {shape:?} has a negative size"))
                })
                .collect::<Result<_, _>>()?;
            node.op = Op::ConstantOfShape(a.clone());
            vec![a.shape.clone()]
        }
        Op::Range(a) => {
            let scalar = |slot: usize| -> Result<TensorData, String> {
                let data = param(graph, node, slot)?.ok_or_else(|| {
                    format!("its {} is missing", node.op.arity().params[slot])
                })?;
                if data.len() != 1 {
                    return Err(format!(
                        "its {} must be a scalar",
                        node.op.arity().params[slot]
                    ));
                }
                Ok(data)
            };
            let (start, limit, delta) = (scalar(0)?, scalar(1)?, scalar(2)?);
            let len = if a.dtype.is_float() {
                let (s, l, d) = (
                    start.to_f64_vec()[0],
                    limit.to_f64_vec()[0],
                    delta.to_f64_vec()[0],
                );
                if d == 0.0 || !d.is_finite() || !s.is_finite() || !l.is_finite() {
                    return Err(format!("Range({s}, {l}, {d}) has no finite length"));
                }
                ((l - s) / d).ceil().max(0.0) as usize
            } else {
                let ints = |d: &TensorData| d.to_i64_vec().map(|v| v[0]).ok_or("integers");
                let (s, l, d) = (ints(&start)?, ints(&limit)?, ints(&delta)?);
                if d == 0 {
                    return Err("Range with a delta of 0 has no length".into());
                }
                let span = l as i128 - s as i128;
                let d = d as i128;
                (span / d + i128::from(span % d != 0 && (span < 0) == (d < 0))).max(0)
                    as usize
            };
            a.start = start.to_f64_vec()[0];
            a.delta = delta.to_f64_vec()[0];
            a.len = len;
            node.op = Op::Range(a.clone());
            vec![vec![len]]
        }
        Op::Expand(a) => {
            let shape = param_i64s(graph, node, 0)?.ok_or("its shape is missing")?;
            let shape: Vec<usize> = shape
                .iter()
                .map(|&d| {
                    usize::try_from(d)
                        .map_err(|_| format!("the shape {shape:?} has a negative size"))
                })
                .collect::<Result<_, _>>()?;
            a.shape = shape.clone();
            node.op = Op::Expand(a.clone());
            vec![broadcast_shapes(&x, &shape)?]
        }
        Op::Tile(a) => {
            let repeats = param_i64s(graph, node, 0)?.ok_or("its repeats are missing")?;
            if repeats.len() != rank || repeats.iter().any(|&r| r < 0) {
                return Err(format!(
                    "repeats {repeats:?} must be {rank} non-negative counts"
                ));
            }
            a.repeats = repeats.iter().map(|&r| r as usize).collect();
            node.op = Op::Tile(a.clone());
            vec![x.iter().zip(&a.repeats).map(|(d, r)| d * r).collect()]
        }
        Op::GatherElements(a) => {
            let axis = normalize_axis(a.axis, rank)?;
            let indices = graph.tensor(node.inputs[1]);
            if !matches!(indices.dtype, DType::I32 | DType::I64) {
                return Err(format!(
                    "the indices are {}, not int32 or int64",
                    indices.dtype
                ));
            }
            let idx_shape = input_shape(graph, node, 1)?;
            if idx_shape.len() != rank {
                return Err(format!(
                    "the indices have shape {idx_shape:?}, not of rank {rank} like the data"
                ));
            }
            a.axis = axis as i64;
            node.op = Op::GatherElements(a.clone());
            vec![idx_shape]
        }
        Op::LayerNormalization(a) => {
            let shapes = norm_recurrent::layer_norm(graph, node, a)?;
            node.op = Op::LayerNormalization(a.clone());
            shapes
        }
        Op::InstanceNormalization(_) => norm_recurrent::instance_norm(graph, node)?,
        Op::Lrn(a) => norm_recurrent::lrn(graph, node, a)?,
        Op::Rnn(a) | Op::Gru(a) | Op::Lstm(a) => norm_recurrent::recurrent(graph, node, a)?,
        Op::Einsum(a) => {
            let shapes = norm_recurrent::einsum(graph, node, a)?;
            node.op = Op::Einsum(a.clone());
            shapes
        }
        other => return Err(format!("shape inference has no rule for {}", other.name())),
    };
    node.params.clear();
    Ok(shapes)
}

/// Checks that the input has between 1 and `max_spatial` spatial axes after N and C.
fn check_spatial_rank(rank: usize, op: &str, max_spatial: usize) -> Result<(), String> {
    let supported = if max_spatial == 3 {
        "1-D, 2-D and 3-D are"
    } else {
        "1-D and 2-D are"
    };
    match rank {
        r if (3..=2 + max_spatial).contains(&r) => Ok(()),
        r if r > 2 + max_spatial => {
            Err(format!("{}-D {op} is not supported ({supported})", r - 2))
        }
        _ => Err(format!(
            "{op} needs an input of rank 3 to {}, found rank {rank}",
            2 + max_spatial
        )),
    }
}

fn fill_kernel(kernel: &mut Vec<usize>, from_weights: &[usize]) -> Result<(), String> {
    if kernel.is_empty() {
        *kernel = from_weights.to_vec();
    }
    if kernel.contains(&0) {
        return Err(format!("kernel_shape {kernel:?} has a zero size"));
    }
    if kernel != from_weights {
        return Err(format!(
            "kernel_shape {kernel:?} does not match the weights' {from_weights:?}"
        ));
    }
    Ok(())
}

fn fill_ones(list: &mut Vec<usize>, spatial: usize, name: &str) -> Result<(), String> {
    if list.is_empty() {
        *list = vec![1; spatial];
    }
    if list.len() != spatial || list.contains(&0) {
        return Err(format!(
            "{name} {list:?} should be {spatial} positive numbers"
        ));
    }
    Ok(())
}

/// Explicit `[begins..., ends...]` pads for an `auto_pad` mode.
fn resolve_pads(
    auto_pad: AutoPad,
    pads: &[usize],
    input: &[usize],
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
) -> Result<Vec<usize>, String> {
    let spatial = input.len();
    match auto_pad {
        AutoPad::NotSet => {
            if pads.is_empty() {
                Ok(vec![0; 2 * spatial])
            } else if pads.len() == 2 * spatial {
                Ok(pads.to_vec())
            } else {
                Err(format!("pads {pads:?} should have {} entries", 2 * spatial))
            }
        }
        AutoPad::Valid => Ok(vec![0; 2 * spatial]),
        AutoPad::SameUpper | AutoPad::SameLower => {
            let mut out = vec![0; 2 * spatial];
            for d in 0..spatial {
                let target = input[d].div_ceil(strides[d]);
                let extent = (kernel[d] - 1) * dilations[d] + 1;
                let total =
                    ((target.max(1) - 1) * strides[d] + extent).saturating_sub(input[d]);
                let (begin, end) = if auto_pad == AutoPad::SameUpper {
                    (total / 2, total - total / 2)
                } else {
                    (total - total / 2, total / 2)
                };
                out[d] = begin;
                out[spatial + d] = end;
            }
            Ok(out)
        }
    }
}

/// Output length of a sliding window along one axis. With `ceil_mode`, a last window that would
/// start in the end padding is dropped, as onnxruntime and PyTorch do.
fn window_output(
    input: usize,
    total_pad: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    ceil_mode: bool,
    pad_begin: usize,
) -> Result<usize, String> {
    let extent = (kernel.max(1) - 1) * dilation + 1;
    let padded = input + total_pad;
    if padded < extent {
        return Err(format!(
            "the window ({extent}) is larger than the padded input ({padded})"
        ));
    }
    let span = padded - extent;
    let mut out = if ceil_mode {
        span.div_ceil(stride) + 1
    } else {
        span / stride + 1
    };
    if ceil_mode && (out - 1) * stride >= input + pad_begin {
        out -= 1;
    }
    Ok(out)
}

/// numpy `matmul` output shape.
pub fn matmul_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    if a.is_empty() || b.is_empty() {
        return Err("MatMul of a scalar".into());
    }
    let a2 = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2 = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (k2, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != k2 {
        return Err(format!("inner dimensions differ: {a:?} and {b:?}"));
    }
    let mut out = broadcast_shapes(&a2[..a2.len() - 2], &b2[..b2.len() - 2])?;
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(n);
    }
    Ok(out)
}

/// The output of `Reshape` with ONNX's `0` (copy the input's dimension) and `-1` (infer).
pub fn reshape_shape(
    input: &[usize],
    target: &[i64],
    allowzero: bool,
) -> Result<Vec<usize>, String> {
    let total: usize = input.iter().product();
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            -1 => return Err(format!("shape {target:?} has more than one -1")),
            0 if !allowzero => out.push(*input.get(i).ok_or_else(|| {
                format!(
                    "shape {target:?} copies a dimension the input {input:?} does not have"
                )
            })?),
            t if t >= 0 => out.push(t as usize),
            t => return Err(format!("shape {target:?} has the negative size {t}")),
        }
    }
    let known = out
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("shape {target:?} is too large"))?;
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("cannot reshape {input:?} to {target:?}"));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(format!(
            "cannot reshape {input:?} ({total} elements) to {out:?}"
        ));
    }
    Ok(out)
}

/// ONNX `Slice` normalised to one (start, end, step) per axis with clamped bounds.
fn normalize_slice(
    x: &[usize],
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> Result<(SliceAttrs, Vec<usize>), String> {
    let rank = x.len();
    let axes: Vec<usize> = match axes {
        Some(axes) => axes
            .iter()
            .map(|&a| normalize_axis(a, rank))
            .collect::<Result<_, _>>()?,
        None => (0..starts.len()).collect(),
    };
    if starts.len() != axes.len()
        || ends.len() != axes.len()
        || steps.is_some_and(|s| s.len() != axes.len())
    {
        return Err(format!(
            "starts {starts:?}, ends {ends:?} and axes {axes:?} differ in length"
        ));
    }
    let mut full_starts: Vec<i64> = vec![0; rank];
    let mut full_ends: Vec<i64> = x.iter().map(|&d| d as i64).collect();
    let mut full_steps = vec![1i64; rank];
    for (i, &axis) in axes.iter().enumerate() {
        let dim = x[axis] as i64;
        let step = steps.map_or(1, |s| s[i]);
        if step == 0 || step == i64::MIN {
            return Err(format!("slice step {step} is not supported"));
        }
        if dim == 0 {
            // Nothing to take, whatever the bounds say (and no valid index to clamp them to).
            full_starts[axis] = 0;
            full_ends[axis] = 0;
            full_steps[axis] = step;
            continue;
        }
        let wrap = |v: i64| if v < 0 { v.saturating_add(dim) } else { v };
        let (start, end) = if step > 0 {
            (wrap(starts[i]).clamp(0, dim), wrap(ends[i]).clamp(0, dim))
        } else {
            (
                wrap(starts[i]).clamp(0, dim - 1),
                wrap(ends[i]).clamp(-1, dim - 1),
            )
        };
        full_starts[axis] = start;
        full_ends[axis] = end;
        full_steps[axis] = step;
    }
    let out: Vec<usize> = (0..rank)
        .map(|d| {
            // In i128: bounds are within the axis, but a step can be near i64's limits.
            let (s, e, st) = (
                full_starts[d] as i128,
                full_ends[d] as i128,
                full_steps[d] as i128,
            );
            let len = if st > 0 {
                (e - s + st - 1).div_euclid(st)
            } else {
                (s - e + (-st) - 1).div_euclid(-st)
            };
            len.clamp(0, i128::from(u32::MAX)) as usize
        })
        .collect();
    // An empty axis has no elements to read; keep its start in range for the kernels.
    for d in 0..rank {
        if out[d] == 0 {
            full_starts[d] = 0;
        }
    }
    let attrs = SliceAttrs {
        starts: full_starts,
        ends: full_ends,
        axes: None,
        steps: Some(full_steps),
    };
    Ok((attrs, out))
}

/// Reads a constant integer tensor used as a shape-like value (for other passes and tests).
pub fn constant_i64s(graph: &Graph, id: TensorId) -> Option<Vec<i64>> {
    graph.constant(id).and_then(TensorData::to_i64_vec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::text::parse;

    fn infer(text: &str) -> Result<Graph, Error> {
        let mut g = parse(text).unwrap();
        infer_shapes(&mut g, &PassOptions::default())?;
        Ok(g)
    }

    #[test]
    fn quantize_linear_takes_a_run_time_scale_as_a_data_input() {
        let text = "graph g {\n input %x: f32[2, 3]\n input %s: f32[]\n input %z: i8[]\n \
             %q: i8[?] = QuantizeLinear(%x | %s, %z) {output_dtype=i8} @q\n \
             %y: f32[?] = DequantizeLinear(%q | %s, %z) @d\n output %y\n}";
        let mut g = infer(text).unwrap();
        for node in &g.nodes {
            assert_eq!(node.inputs.len(), 3, "{}", node.name);
            assert!(node.params.is_empty());
        }
        let Op::QuantizeLinear(a) = &g.nodes[0].op else {
            panic!()
        };
        assert!(a.scale_at_run_time && a.scale.is_empty() && a.zero_point.is_empty());
        // A second run (after other passes) finds the parameters among the inputs.
        infer_shapes(&mut g, &PassOptions::default()).unwrap();
        assert_eq!(g.tensors[g.nodes[1].outputs[0].0].shape, Some(vec![2, 3]));
        // A zero point of another type than the output is still refused.
        let err = infer(&text.replace("%z: i8[]", "%z: u8[]")).unwrap_err();
        assert!(err.to_string().contains("zero point"), "{err}");
    }

    #[test]
    fn conv_same_upper_and_pooling_ceil_mode() {
        let g = infer(
            "graph g {\n input %x: f32[1, 2, 7, 7]\n const %w: f32[3, 2, 3, 3] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]\n \
             %y: f32[?] = Conv(%x, %w) {strides=[2, 2], auto_pad=same_upper} @c\n \
             %z: f32[?] = MaxPool(%y) {kernel_shape=[3, 3], strides=[2, 2], ceil_mode=true} @p\n output %z\n}",
        )
        .unwrap();
        assert_eq!(
            g.tensors[g.nodes[0].outputs[0].0].shape,
            Some(vec![1, 3, 4, 4])
        );
        let Op::Conv(a) = &g.nodes[0].op else {
            panic!()
        };
        assert_eq!(a.pads, vec![1, 1, 1, 1]);
        assert_eq!(
            g.tensors[g.nodes[1].outputs[0].0].shape,
            Some(vec![1, 3, 2, 2])
        );
    }

    #[test]
    fn pooling_and_transposed_convolution_take_three_spatial_axes() {
        let g = infer(
            "graph g {\n input %x: u8[1, 2, 4, 5, 6]\n \
             %y: u8[?], %i: i64[?] = MaxPool(%x) {kernel_shape=[2, 2, 3], strides=[2, 1, 3]} @p\n \
             output %y\n output %i\n}",
        )
        .unwrap();
        for &t in &g.nodes[0].outputs {
            assert_eq!(g.tensors[t.0].shape, Some(vec![1, 2, 2, 4, 2]));
        }
        let g = infer(
            "graph g {\n input %x: f32[1, 1, 2, 3, 4]\n const %w: f32[1, 2, 2, 1, 1] = [1, 2, 3, 4]\n \
             %y: f32[?] = ConvTranspose(%x, %w) {strides=[2, 1, 1]} @ct\n output %y\n}",
        )
        .unwrap();
        assert_eq!(g.tensor(g.outputs[0]).shape, Some(vec![1, 2, 4, 3, 4]));
        let err = infer(
            "graph g {\n input %x: f32[1, 1, 2, 2, 2, 2]\n \
             %y: f32[?] = AveragePool(%x) {kernel_shape=[1, 1, 1, 1]} @p\n output %y\n}",
        )
        .unwrap_err();
        assert!(
            err.message.contains("4-D AveragePool is not supported"),
            "{err}"
        );
        let err = infer(
            "graph g {\n input %x: u8[1, 1, 2, 2]\n \
             %y: u8[?] = AveragePool(%x) {kernel_shape=[1, 1]} @p\n output %y\n}",
        )
        .unwrap_err();
        assert!(err.message.contains("computes on float32"), "{err}");
    }

    #[test]
    fn shape_computations_fold_into_a_static_reshape() {
        let g = infer(
            "graph g {\n input %x: f32[1, 3, 4, 4]\n const %i: i64[] = [0]\n const %minus1: i64[1] = [-1]\n \
             %s: i64[?] = Shape(%x) @shape\n %b: i64[?] = Gather(%s, %i) @gather\n \
             %u: i64[?] = Unsqueeze(%b) {axes=[0]} @unsqueeze\n %t: i64[?] = Concat(%u, %minus1) {axis=0} @concat\n \
             %y: f32[?] = Reshape(%x | %t) @reshape\n output %y\n}",
        )
        .unwrap();
        assert_eq!(g.nodes.len(), 1, "everything but the Reshape folds");
        assert!(g.nodes[0].params.is_empty());
        assert_eq!(g.tensor(g.outputs[0]).shape, Some(vec![1, 48]));
    }

    #[test]
    fn slice_normalisation_follows_onnx() {
        let (a, out) =
            normalize_slice(&[10], &[-1], &[i64::MIN], None, Some(&[-3])).unwrap();
        assert_eq!(out, vec![4]);
        assert_eq!((a.starts[0], a.ends[0]), (9, -1));
        let (_, out) = normalize_slice(&[10, 5], &[2], &[1000], Some(&[-1]), None).unwrap();
        assert_eq!(out, vec![10, 3]);
        assert!(normalize_slice(&[10], &[0], &[5], None, Some(&[0])).is_err());
    }

    #[test]
    fn reshape_rules() {
        assert_eq!(
            reshape_shape(&[2, 3, 4], &[0, -1], false).unwrap(),
            vec![2, 12]
        );
        assert_eq!(reshape_shape(&[2, 0], &[0, 5], true).unwrap(), vec![0, 5]);
        // Empty inputs: a 0 moves with allowzero; -1 next to other sizes infers 0.
        assert_eq!(
            reshape_shape(&[0, 3, 4], &[3, 4, 0], true).unwrap(),
            vec![3, 4, 0]
        );
        assert_eq!(
            reshape_shape(&[0, 3, 4], &[-1, 12], false).unwrap(),
            vec![0, 12]
        );
        // Without allowzero the 0 copies the input's 4: 48 elements where there are none...
        assert!(reshape_shape(&[0, 3, 4], &[3, 4, 0], false).is_err());
        // ...and -1 beside a real 0 could be anything.
        assert!(reshape_shape(&[0, 3, 4], &[-1, 0], true).is_err());
        assert!(reshape_shape(&[2, 3], &[4, -1], false).is_err());
        assert!(reshape_shape(&[2, 3], &[-1, -1], false).is_err());
    }

    #[test]
    fn errors_name_the_node_and_stop_at_runtime_parameters() {
        let err = infer(
            "graph g {\n input %x: f32[1, 4]\n input %s: i64[2]\n %y: f32[?] = Reshape(%x | %s) @r\n output %y\n}",
        )
        .unwrap_err();
        assert!(
            err.message.contains("Reshape 'r'") && err.message.contains("run time"),
            "{err}"
        );
        let err =
            infer("graph g {\n input %x: f32[1, 4]\n %y: f32[?] = Softmax(%x) {axis=3} @s\n output %y\n}").unwrap_err();
        assert!(err.message.contains("axis 3"), "{err}");
    }
}
