//! The reference evaluator: runs the IR directly, with naive loops that follow the ONNX
//! definitions as literally as possible.
//!
//! It is the oracle of the project. Constant folding uses it; the kernels of the generated code
//! are tested against it (proptest); and it is itself tested against onnxruntime on every fixture
//! model. It is written to be obviously right, not fast: sums accumulate in `f64` and round once,
//! every index is computed from its definition.
//!
//! Float ops compute on `f32` tensors; the structural ops (reshape, transpose, concat, slice,
//! gather, ...) and `Add`/`Sub`/`Mul`/`Div` also work on integer tensors, which is what shape
//! computations (`Shape` → `Gather` → `Concat` → `Reshape`) need when they are folded.

pub mod elementwise;
pub mod int8;
pub mod layout;
pub mod nn;
pub mod norm;
pub mod onnx_quant;
pub mod reduce;
pub mod sequence;

use std::collections::HashMap;

use crate::dispatch_data;
use crate::error::{Error, Result};
use crate::ir::op::ConvAttrs;
use crate::ir::{DType, Graph, Node, Op, TensorData, TensorId};

/// A tensor value: a shape and its elements.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl Value {
    pub fn new(shape: Vec<usize>, data: TensorData) -> Value {
        debug_assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "shape {shape:?} and data length differ"
        );
        Value { shape, data }
    }

    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Value {
        Value::new(shape, TensorData::F32(data))
    }

    /// The elements as `f32`, or an error naming the op that needed them.
    pub fn floats(&self, what: &str) -> Result<&[f32], String> {
        self.data
            .as_f32()
            .ok_or_else(|| format!("{what} needs float32 data, not {}", self.data.dtype()))
    }
}

/// Runs a graph (after shape inference) on `inputs`, one value per model input in order, and
/// returns the model's outputs in order. A stateful model starts from its initial state (see
/// [`evaluate_steps`] to carry the state from one run to the next).
pub fn evaluate(graph: &Graph, inputs: &[Value]) -> Result<Vec<Value>> {
    Ok(evaluate_steps(graph, &[inputs.to_vec()])?.remove(0))
}

/// Runs a graph once per step, carrying its state variables from each run to the next (a
/// stateless graph runs each step independently); returns the model's outputs of each step.
pub fn evaluate_steps(graph: &Graph, steps: &[Vec<Value>]) -> Result<Vec<Vec<Value>>> {
    let mut state: Vec<Value> = (0..graph.states.len())
        .map(|k| {
            let shape = graph.tensor(graph.state_input(k)).shape().to_vec();
            Value::new(shape, graph.states[k].initial.clone())
        })
        .collect();
    let n_outputs = graph.model_outputs().len();
    let mut results = Vec::with_capacity(steps.len());
    for inputs in steps {
        if inputs.len() != graph.model_inputs().len() {
            return Err(Error::invalid_argument(format!(
                "the model has {} inputs but {} values were given",
                graph.model_inputs().len(),
                inputs.len()
            )));
        }
        let all: Vec<Value> = inputs.iter().chain(&state).cloned().collect();
        let mut outputs = run_graph(graph, &all)?;
        // The next value of each state, read with the shape of the state's input.
        state = outputs
            .split_off(n_outputs)
            .into_iter()
            .zip(&state)
            .map(|(next, old)| Value::new(old.shape.clone(), next.data))
            .collect();
        results.push(outputs);
    }
    Ok(results)
}

/// One run of the graph on every graph input (state values included); every graph output.
/// Evaluates a stateless graph once and shows `observe` every value it computes (graph inputs
/// and node outputs, not constants), as calibration for quantization needs.
pub fn evaluate_observed(
    graph: &Graph,
    inputs: &[Value],
    observe: &mut dyn FnMut(TensorId, &Value),
) -> Result<Vec<Value>> {
    run_graph_observed(graph, inputs, observe)
}

fn run_graph(graph: &Graph, inputs: &[Value]) -> Result<Vec<Value>> {
    run_graph_observed(graph, inputs, &mut |_, _| {})
}

fn run_graph_observed(
    graph: &Graph,
    inputs: &[Value],
    observe: &mut dyn FnMut(TensorId, &Value),
) -> Result<Vec<Value>> {
    let mut values: HashMap<TensorId, Value> = HashMap::new();
    for (&id, value) in graph.inputs.iter().zip(inputs) {
        let tensor = graph.tensor(id);
        if tensor.shape.as_deref() != Some(value.shape.as_slice())
            || tensor.dtype != value.data.dtype()
        {
            return Err(Error::invalid_argument(format!(
                "input '{}' takes {} {:?}, not {} {:?}",
                tensor.name,
                tensor.dtype,
                tensor.shape(),
                value.data.dtype(),
                value.shape
            )));
        }
        observe(id, value);
        values.insert(id, value.clone());
    }
    // Free each value after its last use, so that evaluating a large model stays small.
    let mut last_use: HashMap<TensorId, usize> = HashMap::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        for &t in &node.inputs {
            last_use.insert(t, i);
        }
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        let args: Vec<Value> = node
            .inputs
            .iter()
            .map(|&t| match graph.tensor(t).data.as_ref() {
                Some(data) => {
                    Ok(Value::new(graph.tensor(t).shape().to_vec(), data.clone()))
                }
                None => values.get(&t).cloned().ok_or_else(|| {
                    Error::internal(format!("'{}' was not computed", graph.tensor(t).name))
                }),
            })
            .collect::<Result<_>>()?;
        let refs: Vec<&Value> = args.iter().collect();
        let outputs = eval_node(graph, node, &refs).map_err(|e| {
            Error::new(
                crate::error::ErrorKind::Unsupported,
                format!("{}: {e}", graph.describe_node(node)),
            )
        })?;
        for (&id, value) in node.outputs.iter().zip(outputs) {
            observe(id, &value);
            values.insert(id, value);
        }
        for &t in &node.inputs {
            if last_use.get(&t) == Some(&i) && !graph.outputs.contains(&t) {
                values.remove(&t);
            }
        }
    }
    graph
        .outputs
        .iter()
        .map(|&t| match graph.tensor(t).data.as_ref() {
            Some(data) => Ok(Value::new(graph.tensor(t).shape().to_vec(), data.clone())),
            None => values
                .get(&t)
                .cloned()
                .ok_or_else(|| Error::internal("an output was not computed")),
        })
        .collect()
}

/// Evaluates one node whose output shapes are known (shape inference has run on it).
pub fn eval_node(
    graph: &Graph,
    node: &Node,
    inputs: &[&Value],
) -> Result<Vec<Value>, String> {
    let out_shapes: Vec<Vec<usize>> = node
        .outputs
        .iter()
        .map(|&t| {
            graph
                .tensor(t)
                .shape
                .clone()
                .ok_or_else(|| "output shape unknown".to_string())
        })
        .collect::<Result<_, _>>()?;
    let out_shape = out_shapes[0].clone();
    let single = |data: TensorData| Ok(vec![Value::new(out_shape.clone(), data)]);
    let n_out: usize = out_shape.iter().product();
    match &node.op {
        Op::ConstantOfShape(a) => {
            return single(TensorData::F64(vec![a.value; n_out]).cast(a.dtype));
        }
        Op::Range(a) => {
            let data = if a.dtype.is_float() {
                TensorData::F64((0..n_out).map(|i| a.start + i as f64 * a.delta).collect())
            } else {
                let (start, delta) = (a.start as i64, a.delta as i64);
                TensorData::I64(
                    (0..n_out as i64)
                        .map(|i| start.wrapping_add(i.wrapping_mul(delta)))
                        .collect(),
                )
            };
            return single(data.cast(a.dtype));
        }
        _ => {}
    }
    let x = inputs[0];
    let quantized = graph.tensor(node.inputs[0]).quant.is_some()
        || graph.tensor(node.outputs[0]).quant.is_some();
    if quantized && let Some(data) = eval_quantized(graph, node, inputs, &out_shape)? {
        return single(data);
    }
    if let Some(data) = eval_channels_last(graph, node, inputs, &out_shape)? {
        return single(data);
    }
    match &node.op {
        Op::Conv(a) => single(TensorData::F32(nn::conv(
            a,
            x,
            inputs[1],
            inputs.get(2).copied(),
            &out_shape,
        )?)),
        Op::ConvTranspose(a) => single(TensorData::F32(nn::conv_transpose(
            a,
            x,
            inputs[1],
            inputs.get(2).copied(),
            &out_shape,
        )?)),
        Op::Gemm(a) => single(TensorData::F32(nn::gemm(
            a,
            x,
            inputs[1],
            inputs.get(2).copied(),
            &out_shape,
        )?)),
        Op::MatMul => single(nn::matmul(x, inputs[1], &out_shape)?),
        Op::Add(a) | Op::Sub(a) | Op::Mul(a) | Op::Div(a) => {
            let data = nn::binary(&node.op, x, inputs[1], &out_shape)?;
            let data = match data {
                TensorData::F32(v) => {
                    TensorData::F32(v.into_iter().map(|y| a.activation.apply(y)).collect())
                }
                other => other,
            };
            single(data)
        }
        Op::Expand(_) => single(layout::expand(x, &out_shape)),
        Op::DepthToSpace(a) | Op::SpaceToDepth(a) => {
            let (view, perm) =
                a.as_transpose(&x.shape, matches!(node.op, Op::DepthToSpace(_)));
            single(layout::transpose(&Value::new(view, x.data.clone()), &perm))
        }
        Op::Tile(_) => single(layout::tile(x, &out_shape)),
        Op::GatherElements(a) => {
            single(layout::gather_elements(x, inputs[1], a.axis as usize)?)
        }
        Op::Where => single(elementwise::select(x, inputs[1], inputs[2], &out_shape)?),
        op if op.unary_fn().is_some() => {
            single(elementwise::unary(op.unary_fn().expect("unary"), x)?)
        }
        op if op.binary_fn().is_some() => single(elementwise::binary(
            op.binary_fn().expect("binary"),
            x,
            inputs[1],
            &out_shape,
        )?),
        op if op.compare_fn().is_some() => single(elementwise::compare(
            op.compare_fn().expect("comparison"),
            x,
            inputs[1],
            &out_shape,
        )?),
        Op::Softmax(a) | Op::LogSoftmax(a) => {
            let log = matches!(node.op, Op::LogSoftmax(_));
            if x.data.dtype() == DType::F64 {
                single(TensorData::F64(nn::softmax_f64(
                    x,
                    a.axis,
                    a.coerce_2d,
                    log,
                )?))
            } else {
                single(TensorData::F32(nn::softmax(x, a.axis, a.coerce_2d, log)?))
            }
        }
        Op::MaxPool(a) => {
            let (values, indices) = nn::max_pool(a, x, &out_shape)?;
            let mut outputs = vec![Value::new(out_shape.clone(), values)];
            if let Some(shape) = out_shapes.get(1) {
                outputs.push(Value::new(shape.clone(), TensorData::I64(indices)));
            }
            Ok(outputs)
        }
        Op::AveragePool(a) => single(TensorData::F32(nn::average_pool(a, x, &out_shape)?)),
        Op::GlobalAveragePool => single(TensorData::F32(nn::global_pool(x, false)?)),
        Op::GlobalMaxPool => single(TensorData::F32(nn::global_pool(x, true)?)),
        Op::BatchNormalization(a) => single(TensorData::F32(nn::batch_norm(
            x,
            &inputs[1..5],
            a.epsilon,
        )?)),
        Op::Reshape(_)
        | Op::Flatten(_)
        | Op::Squeeze(_)
        | Op::Unsqueeze(_)
        | Op::Identity
        | Op::Dropout
        | Op::Copy => single(x.data.clone()),
        Op::Transpose(a) => {
            let perm = a.perm.as_ref().ok_or("Transpose without a resolved perm")?;
            single(layout::transpose(x, perm))
        }
        Op::Concat(a) => single(layout::concat(inputs, a.axis as usize, &out_shape)?),
        Op::Split(a) => {
            let sizes: Vec<usize> = out_shapes.iter().map(|s| s[a.axis as usize]).collect();
            Ok(layout::split(x, a.axis as usize, &sizes)
                .into_iter()
                .zip(out_shapes)
                .map(|(data, shape)| Value::new(shape, data))
                .collect())
        }
        Op::Slice(a) => single(layout::slice(
            x,
            &a.starts,
            a.steps.as_deref().unwrap_or(&[]),
            &out_shape,
        )),
        Op::Pad(a) => single(layout::pad(x, a, &out_shape)?),
        Op::Gather(a) => single(layout::gather(x, inputs[1], a.axis as usize, &out_shape)?),
        op if op.reduce_fn().is_some() => {
            let axes = op.reduce_attrs().expect("a reduction").resolved_axes();
            single(reduce::reduce(
                op.reduce_fn().expect("a reduction"),
                x,
                &axes,
            )?)
        }
        Op::ArgMax(a) | Op::ArgMin(a) => single(reduce::arg_extreme(
            x,
            a.axis as usize,
            matches!(node.op, Op::ArgMax(_)),
            a.select_last_index,
        )?),
        Op::Hardmax(a) => single(reduce::hardmax(x, a.axis as usize, a.coerce_2d)?),
        Op::CumSum(a) => {
            single(reduce::cumsum(x, a.axis as usize, a.exclusive, a.reverse)?)
        }
        Op::TopK(a) => {
            let k = a.k.ok_or("TopK without a resolved k")? as usize;
            let (values, indices) = reduce::top_k(x, a.axis as usize, k, a.largest)?;
            Ok(vec![
                Value::new(out_shapes[0].clone(), values),
                Value::new(out_shapes[1].clone(), indices),
            ])
        }
        Op::Resize(a) => single(TensorData::F32(nn::resize(a, x, &out_shape)?)),
        Op::Shape(_) => Err("Shape is folded during shape inference".into()),
        Op::Cast(a) => single(x.data.cast(a.to)),
        Op::Quantize | Op::Dequantize => {
            Err("Quantize and Dequantize need quantization parameters".into())
        }
        Op::LayerNormalization(a) => {
            norm::layer_norm(a, x, inputs[1], inputs.get(2).copied(), &out_shapes)
        }
        Op::BatchNormalizationTraining(a) => {
            norm::batch_norm_training(a, inputs, &out_shapes)
        }
        Op::InstanceNormalization(a) => single(TensorData::F32(norm::instance_norm(
            x, inputs[1], inputs[2], a.epsilon,
        )?)),
        Op::Lrn(a) => single(TensorData::F32(norm::lrn(a, x)?)),
        Op::Rnn(a) | Op::Gru(a) | Op::Lstm(a) => {
            sequence::recurrent(&node.op, a, inputs, &out_shapes)
        }
        Op::Einsum(a) => {
            let output = a
                .output
                .as_ref()
                .ok_or("Einsum without a resolved output")?;
            single(sequence::einsum(&a.terms, output, inputs, &out_shape)?)
        }
        op if onnx_quant::handles(op) => onnx_quant::eval(graph, node, inputs, &out_shapes),
        other => Err(format!("the evaluator has no rule for {}", other.name())),
    }
}

/// A channels-last value (`[n, spatial..., c]`) transposed to channels-first.
fn channels_first_value(v: &Value) -> Value {
    let rank = v.shape.len();
    let mut perm = vec![0, rank - 1];
    perm.extend(1..rank - 1);
    let shape = perm.iter().map(|&p| v.shape[p]).collect();
    Value::new(shape, layout::transpose(v, &perm))
}

/// Channels-first data of shape `first_shape` transposed back to channels-last.
fn channels_last_data(first_shape: &[usize], data: TensorData) -> TensorData {
    let rank = first_shape.len();
    let mut perm = vec![0];
    perm.extend(2..rank);
    perm.push(1);
    layout::transpose(&Value::new(first_shape.to_vec(), data), &perm)
}

/// Channels-last float convolution and pooling, evaluated as the channels-first op between
/// two transposes (the evaluator favours one obviously-right loop nest over speed).
fn eval_channels_last(
    graph: &Graph,
    node: &Node,
    inputs: &[&Value],
    out_shape: &[usize],
) -> Result<Option<TensorData>, String> {
    let first_shape = crate::passes::shape_inference::channels_first(out_shape);
    let data = match &node.op {
        Op::Conv(a) if a.channels_last && inputs[1].data.dtype() == DType::I8 => {
            let (x, w) = (
                channels_first_value(inputs[0]),
                channels_first_value(inputs[1]),
            );
            let w_quant = graph.tensor(node.inputs[1]).quant.as_ref();
            let y = int8::conv_hybrid(
                &x,
                int8::Operand {
                    value: &w,
                    quant: w_quant.ok_or("int8 weights without quantization parameters")?,
                },
                inputs.get(2).copied(),
                &first_shape,
                (&a.kernel_shape, &a.strides, &a.dilations, &a.pads),
                a.group,
                a.activation,
            )?;
            channels_last_data(&first_shape, y)
        }
        Op::Conv(a) if a.channels_last => {
            let (x, w) = (
                channels_first_value(inputs[0]),
                channels_first_value(inputs[1]),
            );
            let attrs = ConvAttrs {
                channels_last: false,
                ..a.clone()
            };
            let y = nn::conv(&attrs, &x, &w, inputs.get(2).copied(), &first_shape)?;
            channels_last_data(&first_shape, TensorData::F32(y))
        }
        Op::MaxPool(a) | Op::AveragePool(a) if a.channels_last => {
            let x = channels_first_value(inputs[0]);
            let max = matches!(node.op, Op::MaxPool(_));
            channels_last_data(
                &first_shape,
                TensorData::F32(nn::pool(a, &x, &first_shape, max)?),
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(data))
}

/// Ops on quantized tensors: the integer arithmetic of [`int8`] for the ops that have it, the
/// plain integer data movement for ops that only move values (their input and output share
/// one quantization), and an error for any other.
fn eval_quantized(
    graph: &Graph,
    node: &Node,
    inputs: &[&Value],
    out_shape: &[usize],
) -> Result<Option<TensorData>, String> {
    let quant = |i: usize| {
        graph.tensor(node.inputs[i]).quant.as_ref().ok_or_else(|| {
            format!(
                "'{}' has no quantization parameters",
                graph.tensor(node.inputs[i]).name
            )
        })
    };
    let operand = |i: usize| -> Result<int8::Operand, String> {
        Ok(int8::Operand {
            value: inputs[i],
            quant: quant(i)?,
        })
    };
    let y = graph.tensor(node.outputs[0]);
    // The two ops between float and int8 tensors.
    match &node.op {
        Op::Quantize if graph.tensor(node.inputs[0]).dtype == DType::F32 => {
            let yq = y
                .quant
                .as_ref()
                .ok_or("Quantize needs an output quantization")?;
            return Ok(Some(int8::quantize(inputs[0], yq)?));
        }
        Op::Dequantize => return Ok(Some(int8::dequantize(operand(0)?)?)),
        _ => {}
    }
    let Some(yq) = y.quant.as_ref() else {
        return Err(format!(
            "the output '{}' has no quantization parameters",
            y.name
        ));
    };
    if graph.tensor(node.inputs[0]).dtype != DType::I8 || y.dtype != DType::I8 {
        return Err("quantized ops compute on int8 tensors only".into());
    }
    let to_first = |v: &Value, channels_last: bool| {
        if channels_last {
            channels_first_value(v)
        } else {
            v.clone()
        }
    };
    let first_shape = |channels_last: bool| {
        if channels_last {
            crate::passes::shape_inference::channels_first(out_shape)
        } else {
            out_shape.to_vec()
        }
    };
    let to_last = |data: TensorData, channels_last: bool| {
        if channels_last {
            channels_last_data(&first_shape(true), data)
        } else {
            data
        }
    };
    let data = match &node.op {
        Op::Conv(a) => {
            let x = to_first(inputs[0], a.channels_last);
            let w = to_first(inputs[1], a.channels_last);
            let y = int8::conv(
                int8::Operand {
                    value: &x,
                    quant: quant(0)?,
                },
                int8::Operand {
                    value: &w,
                    quant: quant(1)?,
                },
                inputs.get(2).copied(),
                yq,
                &first_shape(a.channels_last),
                (&a.kernel_shape, &a.strides, &a.dilations, &a.pads),
                a.group,
                a.activation,
                graph.rounding,
            )?;
            to_last(y, a.channels_last)
        }
        Op::Gemm(a) => {
            if !a.trans_b || a.trans_a || a.alpha != 1.0 || a.beta != 1.0 {
                return Err(
                    "a quantized Gemm must be a fully connected layer (B transposed, \
                            alpha = beta = 1)"
                        .into(),
                );
            }
            int8::fully_connected(
                operand(0)?,
                operand(1)?,
                inputs.get(2).copied(),
                yq,
                out_shape,
                a.activation,
            )?
        }
        Op::MaxPool(a) | Op::AveragePool(a) => {
            let x = to_first(inputs[0], a.channels_last);
            let y = int8::pool(
                int8::Operand {
                    value: &x,
                    quant: quant(0)?,
                },
                &first_shape(a.channels_last),
                (&a.kernel_shape, &a.strides, &a.dilations, &a.pads),
                matches!(node.op, Op::MaxPool(_)),
            )?;
            to_last(y, a.channels_last)
        }
        Op::Add(a) | Op::Sub(a) => int8::add(
            operand(0)?,
            operand(1)?,
            yq,
            out_shape,
            matches!(node.op, Op::Sub(_)),
            a.activation,
        )?,
        Op::Softmax(a) => int8::softmax(operand(0)?, yq, a.axis, a.beta)?,
        Op::Mul(a) => int8::mul(operand(0)?, operand(1)?, yq, out_shape, a.activation)?,
        Op::PRelu => int8::prelu(operand(0)?, operand(1)?, yq)?,
        op @ (Op::Relu
        | Op::Clip(_)
        | Op::LeakyRelu(_)
        | Op::HardSwish
        | Op::Sigmoid
        | Op::Tanh
        | Op::Quantize) => int8::unary(op, operand(0)?, yq)?,
        Op::ReduceMean(a) => {
            int8::mean(operand(0)?, yq, &a.resolved_axes(), graph.rounding)?
        }
        Op::Concat(_) => {
            // TFLite concatenates int8 bytes only when every input has the output's
            // quantization (its CONCATENATION refuses anything else).
            for &t in &node.inputs {
                if graph.tensor(t).quant.as_ref() != Some(yq) {
                    return Err(format!(
                        "Concat input '{}' has another quantization than the output, which \
                         needs requantization",
                        graph.tensor(t).name
                    ));
                }
            }
            return Ok(None);
        }
        Op::Pad(a) => {
            if quant(0)? != yq {
                return Err(
                    "Pad changes the quantization of its input, which needs requantization"
                        .into(),
                );
            }
            let value = int8::pad_value(a.value, yq)?;
            let attrs = crate::ir::op::PadAttrs {
                value: value as f32,
                ..a.clone()
            };
            layout::pad(inputs[0], &attrs, out_shape)?
        }
        Op::Resize(a) => {
            if quant(0)? != yq {
                return Err(
                    "Resize changes the quantization of its input, which needs requantization"
                        .into(),
                );
            }
            int8::resize(a, inputs[0], out_shape)?
        }
        op if op.is_view()
            || matches!(
                op,
                Op::Copy | Op::Transpose(_) | Op::Split(_) | Op::Slice(_)
            ) =>
        {
            if node
                .outputs
                .iter()
                .any(|&o| graph.tensor(o).quant != graph.tensor(node.inputs[0]).quant)
            {
                return Err(format!(
                    "{} changes the quantization of its input, which needs requantization",
                    op.name()
                ));
            }
            return Ok(None);
        }
        op => {
            return Err(format!(
                "{} has no integer implementation for quantized tensors yet",
                op.name()
            ));
        }
    };
    Ok(Some(data))
}

/// Reads constant integer data (a shape, axes, pads) as `i64`s.
pub fn as_i64s(data: &TensorData) -> Result<Vec<i64>, String> {
    data.to_i64_vec()
        .ok_or_else(|| format!("expected integer data, found {}", data.dtype()))
}

/// The dtype and a one-line summary of a value, for messages.
pub fn describe(value: &Value) -> String {
    let dtype: DType = value.data.dtype();
    let n = dispatch_data!(&value.data, v => v.len());
    format!("{dtype} {:?} ({n} elements)", value.shape)
}
