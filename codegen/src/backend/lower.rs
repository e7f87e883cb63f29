//! Lowering: each IR node becomes one or more *steps*, calls of library kernels with constant
//! parameters, independent of the language they will be printed in.
//!
//! A step reads some run-time tensors, writes one tensor (or overwrites its first input, in
//! place) and refers to constants as named static data. The Rust back end prints a step as one
//! `layer_*` function and one call in `Model::run`; a C back end can print the same steps.
//! Compile-time work happens here: weight layouts are rearranged for the kernels (a `Gemm`'s `B`
//! is stored `[k, n]`), `BatchNormalization` becomes a scale and a shift per channel, broadcast
//! and stride patterns are simplified, resize coordinates become tables.

use crate::backend::{
    Arg, LayerWeights, Program, StaticData, Step, Stmt, Struct, Value, comment,
};
use crate::error::{Error, Result};
use crate::ir::op::*;
use crate::ir::shape::{
    Spatial2d, broadcast_strides, resize_filter_tables, resize_linear_taps,
    resize_linear_taps_q10, resize_nearest_index, resize_outside, resize_source_coordinate,
    resize_table_len,
};
use crate::ir::{
    Activation, DType, Graph, Node, Op, TensorData, TensorId, WeightStorage, strides_of,
};
use crate::passes::memory_plan::Storage;
use crate::report;

mod channels_last;
mod int8_elementwise;
mod norm;
mod onnx_quant;
mod recurrent;
mod reduce;
pub mod sparse;
pub mod unroll;

/// Axes kernels accept for broadcast and strided iteration.
const MAX_RANK: usize = 6;
/// Batch axes of `MatMul`.
const MAX_BATCH_RANK: usize = 4;
/// The most taps the coordinate tables of one `Resize` may hold, over all its axes. Tables are
/// as long as the output axes, not as the data the file holds: without a bound, a hundred-byte
/// model resizing an input to 2^28 columns makes the compiler build gigabytes of tables (and
/// gigabytes of source). A million taps cover every image and signal a device resizes.
const MAX_RESIZE_TAPS: f64 = (1 << 20) as f64;

/// Lowers every node; fails with one line per node that cannot be emitted.
pub fn lower(graph: &Graph) -> Result<Program> {
    let mut program = Program::default();
    let mut problems = Vec::new();
    let mut statics = Statics::default();
    for (index, node) in graph.nodes.iter().enumerate() {
        // A node whose outputs hold no elements (a 0 in each shape) has nothing to write: it
        // gets no step, so no kernel ever sees an empty output.
        if node.outputs.iter().all(|&t| graph.tensor(t).is_empty()) {
            continue;
        }
        let mut lowering = Lowering {
            graph,
            node,
            index,
            statics: &mut statics,
            steps: Vec::new(),
            layer_weights: None,
            codebook: None,
        };
        match lowering.node() {
            Ok(()) => {
                program.steps.extend(lowering.steps);
                let mut weights = lowering.layer_weights;
                if let Some(k) = lowering.codebook {
                    weights
                        .get_or_insert(LayerWeights {
                            node: index,
                            format: sparse::WeightFormat::Dense,
                            codebook: None,
                            unrolled: false,
                            macs_executed: crate::report::node_macs(graph, node),
                        })
                        .codebook = Some(k);
                }
                program.layer_weights.extend(weights);
            }
            Err(e) => problems.push(format!("{}: {e}", graph.describe_node(node))),
        }
    }
    if !problems.is_empty() {
        return Err(Error::unsupported(format!(
            "the Rust back end cannot generate code for:\n  {}",
            problems.join("\n  ")
        )));
    }
    program.statics = statics.data;
    Ok(program)
}

/// Static data, deduplicated by source tensor.
#[derive(Default)]
struct Statics {
    data: Vec<StaticData>,
    by_tensor: Vec<(TensorId, String)>,
}

impl Statics {
    fn add(
        &mut self,
        node: usize,
        name: String,
        doc: String,
        shape: Vec<usize>,
        data: TensorData,
    ) -> String {
        self.data.push(StaticData {
            name: name.clone(),
            node: Some(node),
            doc,
            shape,
            data,
        });
        name
    }
}

struct Lowering<'a> {
    graph: &'a Graph,
    node: &'a Node,
    index: usize,
    statics: &'a mut Statics,
    steps: Vec<Step>,
    /// Set by the layers that choose how to store their weight matrix.
    layer_weights: Option<LayerWeights>,
    /// Set by a layer whose weights are stored as a codebook of this many values.
    codebook: Option<usize>,
}

type R<T> = Result<T, String>;

fn usize_(n: usize) -> Value {
    Value::Usize(n)
}

fn array(values: &[usize]) -> Value {
    Value::Array(values.iter().map(|&v| Value::Usize(v)).collect())
}

fn iarray(values: &[isize]) -> Value {
    Value::Array(values.iter().map(|&v| Value::Isize(v)).collect())
}

/// Pads to `n` entries at the front.
fn pad_front<T: Copy>(values: &[T], n: usize, fill: T) -> Vec<T> {
    let mut out = vec![fill; n - values.len()];
    out.extend_from_slice(values);
    out
}

fn activation(a: Activation) -> Value {
    match a {
        Activation::None => Value::Variant("activation::Activation::None".into(), vec![]),
        Activation::Relu => Value::Variant("activation::Activation::Relu".into(), vec![]),
        Activation::Clip { min, max } => Value::Variant(
            "activation::Activation::Clip".into(),
            vec![Value::F32(min), Value::F32(max)],
        ),
        Activation::LeakyRelu { alpha } => Value::Variant(
            "activation::Activation::LeakyRelu".into(),
            vec![Value::F32(alpha)],
        ),
    }
}

/// The kernel's form of a one-input element-wise function.
fn unary_kernel(f: UnaryFn) -> Value {
    let v = |name: &str, args: Vec<f32>| {
        Value::Variant(
            format!("elementwise::Unary::{name}"),
            args.into_iter().map(Value::F32).collect(),
        )
    };
    match f {
        UnaryFn::Relu => v("Relu", vec![]),
        UnaryFn::LeakyRelu(alpha) => v("LeakyRelu", vec![alpha]),
        UnaryFn::Clip(min, max) => v("Clip", vec![min, max]),
        UnaryFn::Sigmoid => v("Sigmoid", vec![]),
        UnaryFn::HardSigmoid(alpha, beta) => v("HardSigmoid", vec![alpha, beta]),
        UnaryFn::HardSwish => v("HardSwish", vec![]),
        UnaryFn::Tanh => v("Tanh", vec![]),
        UnaryFn::Abs => v("Abs", vec![]),
        UnaryFn::Neg => v("Neg", vec![]),
        UnaryFn::Sign => v("Sign", vec![]),
        UnaryFn::Sqrt => v("Sqrt", vec![]),
        UnaryFn::Exp => v("Exp", vec![]),
        UnaryFn::Log => v("Log", vec![]),
        UnaryFn::Floor => v("Floor", vec![]),
        UnaryFn::Ceil => v("Ceil", vec![]),
        UnaryFn::Round => v("Round", vec![]),
        UnaryFn::Reciprocal => v("Reciprocal", vec![]),
        UnaryFn::Softplus => v("Softplus", vec![]),
        UnaryFn::Softsign => v("Softsign", vec![]),
        UnaryFn::Mish => v("Mish", vec![]),
        UnaryFn::Elu(alpha) => v("Elu", vec![alpha]),
        UnaryFn::Celu(alpha) => v("Celu", vec![alpha]),
        UnaryFn::Selu(alpha, gamma) => v("Selu", vec![alpha, gamma]),
        UnaryFn::Sin => v("Sin", vec![]),
        UnaryFn::Cos => v("Cos", vec![]),
        UnaryFn::Tan => v("Tan", vec![]),
        UnaryFn::Asin => v("Asin", vec![]),
        UnaryFn::Acos => v("Acos", vec![]),
        UnaryFn::Atan => v("Atan", vec![]),
        UnaryFn::Sinh => v("Sinh", vec![]),
        UnaryFn::Cosh => v("Cosh", vec![]),
        UnaryFn::Asinh => v("Asinh", vec![]),
        UnaryFn::Acosh => v("Acosh", vec![]),
        UnaryFn::Atanh => v("Atanh", vec![]),
        UnaryFn::Erf => v("Erf", vec![]),
        UnaryFn::Gelu => v("Gelu", vec![]),
        UnaryFn::GeluTanh => v("GeluTanh", vec![]),
        UnaryFn::Not => v("Not", vec![]),
    }
}

/// Merges adjacent axes of an iteration space when every operand walks them as one (its stride
/// on the outer axis is its stride on the inner axis times the inner size), and drops axes of
/// size 1. Returns the merged shape and per-operand strides.
pub fn coalesce(shape: &[usize], strides: &[Vec<isize>]) -> (Vec<usize>, Vec<Vec<isize>>) {
    let mut out_shape: Vec<usize> = Vec::new();
    let mut out_strides: Vec<Vec<isize>> = vec![Vec::new(); strides.len()];
    for d in 0..shape.len() {
        if shape[d] == 1 {
            continue;
        }
        let mergeable = !out_shape.is_empty()
            && strides.iter().enumerate().all(|(k, s)| {
                let prev = *out_strides[k].last().expect("same length as out_shape");
                prev == s[d] * shape[d] as isize
            });
        if mergeable {
            *out_shape.last_mut().expect("not empty") *= shape[d];
            for (k, s) in strides.iter().enumerate() {
                *out_strides[k].last_mut().expect("not empty") = s[d];
            }
        } else {
            out_shape.push(shape[d]);
            for (k, s) in strides.iter().enumerate() {
                out_strides[k].push(s[d]);
            }
        }
    }
    (out_shape, out_strides)
}

impl Lowering<'_> {
    fn shape(&self, t: TensorId) -> &[usize] {
        self.graph.tensor(t).shape()
    }

    fn input_shape(&self, i: usize) -> &[usize] {
        self.shape(self.node.inputs[i])
    }

    fn output_shape(&self) -> &[usize] {
        self.shape(self.node.outputs[0])
    }

    fn layer_name(&self, part: Option<usize>) -> String {
        let op = self.node.op.name().to_lowercase();
        match part {
            Some(p) => format!("layer_{:03}_{op}_{p}", self.index),
            None => format!("layer_{:03}_{op}", self.index),
        }
    }

    fn static_name(&self, role: &str) -> String {
        format!("LAYER_{:03}_{role}", self.index)
    }

    /// A constant input as static data (shared with other users of the same tensor).
    fn constant(&mut self, t: TensorId, role: &str) -> R<String> {
        if let Some((_, name)) = self.statics.by_tensor.iter().find(|(id, _)| *id == t) {
            return Ok(name.clone());
        }
        let tensor = self.graph.tensor(t);
        let data = tensor.data.clone().ok_or("expected a constant")?;
        let name = self.static_name(role);
        let doc = format!("Constant `{}`.", comment(&tensor.name));
        self.statics
            .add(self.index, name.clone(), doc, tensor.shape().to_vec(), data);
        self.statics.by_tensor.push((t, name.clone()));
        Ok(name)
    }

    /// New static data made at compile time for this layer.
    fn derived(
        &mut self,
        role: &str,
        what: &str,
        shape: Vec<usize>,
        data: TensorData,
    ) -> String {
        let name = self.static_name(role);
        self.statics
            .add(self.index, name, what.to_string(), shape, data)
    }

    /// Data input `i` as a kernel argument: a static for constants, otherwise a run-time input of
    /// the step (pushed onto `inputs`).
    fn operand(&mut self, i: usize, role: &str, inputs: &mut Vec<TensorId>) -> R<Arg> {
        let t = self.node.inputs[i];
        if self.graph.tensor(t).is_constant() {
            Ok(Arg::Static(self.constant(t, role)?))
        } else {
            inputs.push(t);
            Ok(Arg::Input(inputs.len() - 1))
        }
    }

    /// The constant float weights (input 1) of a kernel that reads them through
    /// `weights::Weights`, as its argument. `order`, when given, lays them out for the kernel:
    /// element `i` of the kernel's array is element `order[i]` of the tensor, and `shape` is the
    /// kernel's. Weights stored in fewer bits ([`WeightStorage`]) become their integers and
    /// scales, or their float16 bits, and a `weights::Int8` or `weights::F16` view of them bound
    /// to `w` in `body`; the returned text describes the storage for the layer's comment.
    fn float_weights(
        &mut self,
        order: Option<(&[usize], Vec<usize>)>,
        body: &mut Vec<Stmt>,
    ) -> R<(Arg, &'static str)> {
        let t = self.node.inputs[1];
        let tensor = self.graph.tensor(t);
        let Some(TensorData::F32(values)) = &tensor.data else {
            return Err(format!(
                "the weights '{}' are not a float constant",
                tensor.name
            ));
        };
        let name = comment(&tensor.name);
        let source_index = |i: usize| order.as_ref().map_or(i, |(o, _)| o[i]);
        // The kernel's array: all the weights, or those `order` selects.
        let len = order.as_ref().map_or(values.len(), |(o, _)| o.len());
        let shape = order
            .as_ref()
            .map_or_else(|| tensor.shape().to_vec(), |(_, s)| s.clone());
        let laid_out = if order.is_some() && shape.len() == 1 {
            " without its zeros, in the order the sparse kernel reads them".to_string()
        } else if order.is_some() {
            format!(" transposed to {shape:?} for the kernel")
        } else {
            String::new()
        };
        let view = |path: &str, fields: Vec<(&'static str, Value)>| {
            Stmt::Let("w".into(), Struct::new(path, fields))
        };
        match &tensor.storage {
            None if order.is_none() => Ok((Arg::Static(self.constant(t, "WEIGHT")?), "")),
            None => {
                let data = (0..len).map(|i| values[source_index(i)]).collect();
                let what = format!("`{name}`{laid_out}.");
                let static_name =
                    self.derived("WEIGHT", &what, shape, TensorData::F32(data));
                Ok((Arg::Static(static_name), ""))
            }
            Some(WeightStorage::Int8 { scale, axis }) => {
                let source_shape = tensor.shape();
                let integers: Vec<i8> = (0..len)
                    .map(|i| {
                        let j = source_index(i);
                        let s = WeightStorage::int8_scale(scale, *axis, source_shape, j);
                        (values[j] / s).round() as i8
                    })
                    .collect();
                let what = format!(
                    "`{name}`{laid_out}, as int8 integers; each weight is its integer times its \
                     output channel's scale in `{}_SCALES`.",
                    self.static_name("WEIGHT")
                );
                let v = self.derived("WEIGHT", &what, shape, TensorData::I8(integers));
                let scales = self.derived(
                    "WEIGHT_SCALES",
                    &format!(
                        "The scales of `{name}`, {}.",
                        if scale.len() == 1 {
                            "one for every output channel"
                        } else {
                            "one per output channel"
                        }
                    ),
                    vec![scale.len()],
                    TensorData::F32(scale.clone()),
                );
                body.push(view(
                    "weights::Int8",
                    vec![
                        ("values", Value::StaticRef(v)),
                        ("scales", Value::StaticRef(scales)),
                    ],
                ));
                Ok((Arg::Local("w".into()), ", int8 weights"))
            }
            Some(WeightStorage::Codebook {
                values: shared,
                scale,
                axis,
            }) => {
                let all = WeightStorage::codebook_indices(
                    shared,
                    scale,
                    *axis,
                    tensor.shape(),
                    values,
                )
                .map_err(|i| format!("element {i} of '{name}' is not in its codebook"))?;
                let indices: Vec<usize> =
                    (0..len).map(|i| all[source_index(i)] as usize).collect();
                let bits = WeightStorage::index_bits(shared.len());
                let packed = sparse::pack_indices(&indices, shared.len());
                let scales = if scale.is_empty() {
                    None
                } else {
                    Some(self.derived(
                        "WEIGHT_SCALES",
                        &format!(
                            "The scale{} of `{name}`'s shared values{}.",
                            if scale.len() == 1 { "" } else { "s" },
                            if scale.len() == 1 {
                                ""
                            } else {
                                ", one per output channel"
                            }
                        ),
                        vec![scale.len()],
                        TensorData::F32(scale.clone()),
                    ))
                };
                let v = self.derived(
                    "WEIGHT_VALUES",
                    &format!(
                        "The {} values the weights of `{name}` share{}.",
                        shared.len(),
                        scales.as_ref().map_or(String::new(), |s| format!(
                            ", times their scale in `{s}`"
                        ))
                    ),
                    vec![shared.len()],
                    TensorData::F32(shared.clone()),
                );
                let scales = scales.map_or(Value::EmptySlice, Value::StaticRef);
                let what = format!(
                    "`{name}`{laid_out}, as the {bits}-bit index of each weight's value in \
                     `{v}`{}.",
                    if bits == 4 {
                        " (two per byte, the first in the low nibble)"
                    } else {
                        ""
                    }
                );
                let i = self.derived(
                    "WEIGHT_INDICES",
                    &what,
                    vec![packed.len()],
                    TensorData::U8(packed),
                );
                body.push(view(
                    "weights::Codebook",
                    vec![
                        ("values", Value::StaticRef(v)),
                        ("scales", scales),
                        ("indices", Value::StaticRef(i)),
                    ],
                ));
                self.codebook = Some(shared.len());
                Ok((Arg::Local("w".into()), ", shared weights"))
            }
            Some(WeightStorage::F16) => {
                let bits: Vec<u16> = (0..len)
                    .map(|i| {
                        crate::kernels::elementwise::f16_from_f64(
                            values[source_index(i)] as f64,
                        )
                    })
                    .collect();
                let what = format!("`{name}`{laid_out}, as float16 bit patterns.");
                let b = self.derived("WEIGHT", &what, shape, TensorData::F16(bits));
                body.push(view("weights::F16", vec![("bits", Value::StaticRef(b))]));
                Ok((Arg::Local("w".into()), ", float16 weights"))
            }
        }
    }

    /// A constant float `B` stored dense, `[k, n]` for the kernel: its argument, `trans_b`
    /// (false) and the storage text.
    fn dense_gemm_weights(
        &mut self,
        trans_b: bool,
        k: usize,
        n: usize,
        body: &mut Vec<Stmt>,
    ) -> R<(Arg, bool, &'static str)> {
        let transposed: Vec<usize>;
        let order = if trans_b {
            transposed = (0..k * n).map(|i| (i % n) * k + i / n).collect();
            Some((transposed.as_slice(), vec![k, n]))
        } else {
            None
        };
        let (b, stored) = self.float_weights(order, body)?;
        Ok((b, false, stored))
    }

    fn in_place(&self) -> bool {
        self.graph
            .plan
            .as_ref()
            .is_some_and(|p| p.in_place[self.index])
    }

    fn require_f32(&self, t: TensorId) -> R<()> {
        let tensor = self.graph.tensor(t);
        if tensor.dtype != DType::F32 {
            return Err(format!(
                "'{}' is {} at run time; generated code computes on float32 only",
                tensor.name, tensor.dtype
            ));
        }
        Ok(())
    }

    fn push(
        &mut self,
        part: Option<usize>,
        detail: String,
        inputs: Vec<TensorId>,
        output: TensorId,
        in_place: bool,
        body: Vec<Stmt>,
    ) {
        let describe = |t: &TensorId| {
            let tensor = self.graph.tensor(*t);
            format!("{} {:?}", tensor.dtype, tensor.shape())
        };
        let ins: Vec<String> = self
            .node
            .inputs
            .iter()
            .filter(|t| !self.graph.tensor(**t).is_constant())
            .map(describe)
            .collect();
        let macs = report::node_macs(self.graph, self.node);
        let mut doc = vec![format!(
            "Layer {}: `{}` ({}), {} → {}.",
            self.index,
            comment(&self.node.name),
            self.node.op.name(),
            if ins.is_empty() {
                "constants".to_string()
            } else {
                ins.join(", ")
            },
            describe(&output)
        )];
        let mut second = detail;
        if macs > 0 && part.is_none_or(|p| p == 0) {
            if !second.is_empty() {
                second.push_str("; ");
            }
            second.push_str(&format!("{} MACs", report::group_digits(macs)));
        }
        if let Some(first) = second.chars().next() {
            let capital: String =
                first.to_uppercase().chain(second.chars().skip(1)).collect();
            doc.push(format!("{capital}."));
        }
        if in_place {
            doc.push("Runs in place: the output overwrites the first input.".into());
        }
        self.steps.push(Step {
            node: self.index,
            name: self.layer_name(part),
            doc,
            inputs,
            output,
            in_place,
            body,
        });
    }

    fn node(&mut self) -> R<()> {
        let node = self.node;
        let mut quantized = false;
        for &t in node.inputs.iter().chain(&node.outputs) {
            let tensor = self.graph.tensor(t);
            if tensor.is_constant() {
                continue;
            }
            if tensor.dtype == DType::I8 && tensor.quant.is_some() {
                quantized = true;
            }
        }
        if quantized {
            // Quantized tensors: only the ops with int8 kernels (and views and copies, which
            // move bytes whatever their type).
            return match &node.op {
                op if op.is_view() => Ok(()),
                Op::Conv(a) if a.channels_last => self.conv_channels_last(a),
                Op::MaxPool(a) if a.channels_last => self.pool_channels_last(a, true),
                Op::AveragePool(a) if a.channels_last => self.pool_channels_last(a, false),
                Op::Conv(_) | Op::MaxPool(_) | Op::AveragePool(_) => Err(
                    "int8 convolution and pooling are supported channels-last only".into(),
                ),
                Op::Gemm(a) => self.fully_connected_i8(a),
                Op::Add(a) => self.add_i8(a, false),
                Op::Sub(a) => self.add_i8(a, true),
                Op::Mul(a) => self.mul_i8(a),
                Op::PRelu => self.prelu_i8(),
                Op::Softmax(a) => self.softmax_i8(a),
                op if int8_elementwise::is_unary_i8(op) => self.unary_i8(),
                Op::Dequantize => self.dequantize_i8(),
                Op::ReduceMean(a) => self.mean_i8(a),
                Op::Concat(a) => self.concat_i8(a.axis as usize),
                Op::Pad(a) => self.pad_i8(a),
                Op::Copy => self.copy(),
                // Data movement: input and output share one quantization (the evaluator and
                // these kernels copy bytes), so the float lowering's generic copies serve.
                Op::Transpose(a) => {
                    self.transpose(a.perm.as_deref().ok_or("unresolved perm")?)
                }
                Op::Split(a) => self.split(a.axis as usize),
                Op::Slice(a) => self.slice(a),
                Op::Resize(a) => self.resize(a),
                op => Err(format!("{} has no int8 kernel yet", op.name())),
            };
        }
        if crate::eval::onnx_quant::handles(&node.op) {
            return self.onnx_quant();
        }
        // Element-wise ops and data movement take every element type (shape inference checked
        // which types each op is defined on); the rest compute on float32.
        let generic = node.op.unary_fn().is_some()
            || node.op.binary_fn().is_some()
            || node.op.compare_fn().is_some()
            || node.op.is_view()
            || node.op.reduce_fn().is_some()
            || matches!(
                node.op,
                Op::ArgMax(_)
                    | Op::ArgMin(_)
                    | Op::Hardmax(_)
                    | Op::CumSum(_)
                    | Op::TopK(_)
                    | Op::MaxPool(_)
                    | Op::Where
                    | Op::Cast(_)
                    | Op::Copy
                    | Op::Transpose(_)
                    | Op::Concat(_)
                    | Op::Split(_)
                    | Op::Slice(_)
                    | Op::Pad(_)
                    | Op::Gather(_)
                    | Op::GatherElements(_)
                    | Op::Expand(_)
                    | Op::Tile(_)
                    | Op::DepthToSpace(_)
                    | Op::SpaceToDepth(_)
            );
        // The shape rules of the recurrent ops, Einsum, MatMul and Softmax check their element
        // types (an int32 sequence_lens, Einsum on any number type, MatMul on float64 and wide
        // integers, Softmax on float64).
        let generic = generic
            || matches!(
                node.op,
                Op::Rnn(_)
                    | Op::Gru(_)
                    | Op::Lstm(_)
                    | Op::Einsum(_)
                    | Op::MatMul
                    | Op::Softmax(_)
                    | Op::LogSoftmax(_)
            );
        if !generic {
            for &t in node.inputs.iter().chain(&node.outputs) {
                if !self.graph.tensor(t).is_constant() {
                    self.require_f32(t)?;
                }
            }
        }
        if let Some(f) = node.op.compare_fn() {
            return self.compare(f);
        }
        if let Some(f) = node.op.binary_fn() {
            let act = node.op.activation().unwrap_or(Activation::None);
            return self.binary(&format!("elementwise::BinaryOp::{f:?}"), act);
        }
        if let Some(f) = node.op.unary_fn() {
            return self.unary(unary_kernel(f));
        }
        match &node.op {
            op if op.is_view() => Ok(()),
            Op::Where => self.select(),
            Op::Expand(_) => self.expand(),
            Op::DepthToSpace(a) | Op::SpaceToDepth(a) => {
                let (view, perm) = a.as_transpose(
                    self.input_shape(0),
                    matches!(node.op, Op::DepthToSpace(_)),
                );
                let in_strides = strides_of(&view);
                let out: Vec<usize> = perm.iter().map(|&p| view[p]).collect();
                let src: Vec<isize> =
                    perm.iter().map(|&p| in_strides[p] as isize).collect();
                self.strided(&out, src, 0, format!("blocks of {}", a.blocksize))
            }
            Op::Tile(a) => self.tile(&a.repeats),
            Op::GatherElements(a) => self.gather_elements(a.axis as usize),
            Op::Cast(_) => self.cast(),
            Op::Conv(a) if a.channels_last => self.conv_channels_last(a),
            Op::MaxPool(a) if a.channels_last => self.pool_channels_last(a, true),
            Op::AveragePool(a) if a.channels_last => self.pool_channels_last(a, false),
            Op::Conv(a) => self.conv(a),
            Op::ConvTranspose(a) => self.conv_transpose(a),
            Op::Gemm(a) => self.gemm(a),
            Op::MatMul => self.matmul(),
            Op::Softmax(a) => self.softmax(a, false),
            Op::LogSoftmax(a) => self.softmax(a, true),
            Op::MaxPool(a) => self.pool(a, true),
            Op::AveragePool(a) => self.pool(a, false),
            Op::GlobalAveragePool => self.global_pool("pool::global_average_pool"),
            Op::GlobalMaxPool => self.global_pool("pool::global_max_pool"),
            Op::BatchNormalization(a) => self.batch_norm(a.epsilon),
            Op::BatchNormalizationTraining(a) => self.batch_norm_training(a),
            Op::Transpose(a) => self.transpose(a.perm.as_deref().ok_or("unresolved perm")?),
            Op::Concat(a) => self.concat(a.axis as usize),
            Op::Split(a) => self.split(a.axis as usize),
            Op::Slice(a) => self.slice(a),
            Op::Pad(a) => self.pad(a),
            Op::Gather(a) => self.gather(a.axis as usize),
            op if op.reduce_fn().is_some() => {
                self.reduce(op.reduce_fn().expect("a reduction"))
            }
            Op::ArgMax(a) => self.arg_extreme(a, true),
            Op::ArgMin(a) => self.arg_extreme(a, false),
            Op::Hardmax(a) => self.hardmax(a),
            Op::CumSum(a) => self.cumsum(a),
            Op::TopK(a) => self.top_k(a),
            Op::Resize(a) => self.resize(a),
            Op::Copy => self.copy(),
            Op::LayerNormalization(a) => self.layer_norm(a),
            Op::InstanceNormalization(a) => self.instance_norm(a.epsilon),
            Op::Lrn(a) => self.lrn(a),
            Op::Rnn(a) | Op::Gru(a) | Op::Lstm(a) => self.recurrent(a),
            Op::Einsum(a) => self.einsum(a),
            Op::Shape(_) => Err("Shape should have been folded".into()),
            // Constant folding leaves a node whose inputs are all constants only when its output
            // is too large to fold (see `passes::fold_constants`): say so, or the missing
            // lowering of an op that is normally folded away would be a riddle.
            other
                if self
                    .node
                    .inputs
                    .iter()
                    .all(|&t| self.graph.tensor(t).is_constant()) =>
            {
                Err(format!(
                    "no lowering for {}, whose output of {:?} is computed from constants but \
                     is too large to fold into one",
                    other.name(),
                    self.output_shape()
                ))
            }
            other => Err(format!("no lowering for {}", other.name())),
        }
    }

    /// A copy into the caller's output (any element type).
    fn copy(&mut self) -> R<()> {
        let mut inputs = Vec::new();
        let source = self.operand(0, "SOURCE", &mut inputs)?;
        self.push(
            None,
            "A copy into the caller's output".into(),
            inputs,
            self.node.outputs[0],
            false,
            vec![Stmt::Copy(source)],
        );
        Ok(())
    }

    fn conv(&mut self, a: &ConvAttrs) -> R<()> {
        self.convolution(Conv {
            transposed: false,
            kernel_shape: &a.kernel_shape,
            strides: &a.strides,
            dilations: &a.dilations,
            pads: &a.pads,
            group: a.group,
            activation: a.activation,
        })
    }

    fn conv_transpose(&mut self, a: &ConvTransposeAttrs) -> R<()> {
        self.convolution(Conv {
            transposed: true,
            kernel_shape: &a.kernel_shape,
            strides: &a.strides,
            dilations: &a.dilations,
            pads: &a.pads,
            group: a.group,
            activation: a.activation,
        })
    }

    /// A convolution or transposed convolution: one `conv::Conv2d` (`conv::Conv3d` for a 3-D
    /// transposed one) and one kernel call.
    fn convolution(&mut self, c: Conv) -> R<()> {
        let (x, y) = (self.input_shape(0).to_vec(), self.output_shape().to_vec());
        let (p, kernel) = if x.len() == 5 {
            (conv3d(&x, &y, &c)?, "conv::conv_transpose3d")
        } else if c.transposed {
            (conv2d(&x, &y, &c), "conv::conv_transpose2d")
        } else {
            (conv2d(&x, &y, &c), "conv::conv2d")
        };
        let mut inputs = Vec::new();
        let mut body = vec![Stmt::Let("p".into(), p)];
        let xa = self.operand(0, "X", &mut inputs)?;
        // Only `conv::conv2d` reads its weights through `weights::Weights`.
        let reads_stored_weights = kernel == "conv::conv2d"
            && self.graph.tensor(self.node.inputs[1]).is_constant()
            && self.graph.tensor(self.node.inputs[1]).dtype == DType::F32;
        let (w, stored) = if reads_stored_weights {
            self.float_weights(None, &mut body)?
        } else {
            (self.operand(1, "WEIGHT", &mut inputs)?, "")
        };
        let b = if self.node.inputs.len() > 2 {
            self.operand(2, "BIAS", &mut inputs)?
        } else {
            Arg::Empty
        };
        let detail = format!(
            "{} kernel, stride {}, dilation {}, pads {:?}, {} group{}{}{stored}",
            dims(c.kernel_shape),
            dims(c.strides),
            dims(c.dilations),
            c.pads,
            c.group,
            if c.group == 1 { "" } else { "s" },
            fused(c.activation)
        );
        body.push(Stmt::Call(
            kernel.into(),
            vec![Arg::Local("p".into()), xa, w, b, Arg::Output],
        ));
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }

    fn gemm(&mut self, a: &GemmAttrs) -> R<()> {
        let y = self.output_shape().to_vec();
        let (m, n) = (y[0], y[1]);
        let a_shape = self.input_shape(0).to_vec();
        let k = if a.trans_a { a_shape[0] } else { a_shape[1] };
        let mut inputs = Vec::new();
        let mut body = Vec::new();
        let xa = self.operand(0, "A", &mut inputs)?;
        // A constant B is stored [k, n] so that the kernel's inner loop runs along its rows.
        let b_id = self.node.inputs[1];
        let mut sparse_b = None;
        let mut unrolled = None;
        let (b, trans_b, stored) = match &self.graph.tensor(b_id).data {
            Some(TensorData::F32(values)) if !a.trans_a => {
                // Row j of the sparse formats is output j: B's row j when transposed, its
                // column j otherwise.
                let source = |i: usize| {
                    let (j, q) = (i / k, i % k);
                    if a.trans_b { j * k + q } else { q * n + j }
                };
                let nonzero = values.iter().filter(|&&w| w != 0.0).count();
                if unroll::chosen(self.graph.unroll, nonzero) {
                    // The weights (the values the stored form decodes to) become literals:
                    // no static data, no decoding.
                    unrolled =
                        Some(unroll::float_dot(n, k, |i| values[source(i)], a.alpha));
                    (Arg::Empty, false, "")
                } else {
                    let value_bits = match &self.graph.tensor(b_id).storage {
                        None => 32,
                        Some(WeightStorage::Int8 { .. }) => 8,
                        Some(WeightStorage::F16) => 16,
                        Some(WeightStorage::Codebook { values, .. }) => {
                            WeightStorage::index_bits(values.len())
                        }
                    };
                    let encoded =
                        sparse::choose(n, k, value_bits, |i| values[source(i)] == 0.0);
                    if encoded.format == sparse::WeightFormat::Dense {
                        self.dense_gemm_weights(a.trans_b, k, n, &mut body)?
                    } else {
                        let order: Vec<usize> =
                            encoded.positions.iter().map(|&i| source(i)).collect();
                        let count = order.len();
                        let (b, stored) =
                            self.float_weights(Some((&order, vec![count])), &mut body)?;
                        let name = comment(&self.graph.tensor(b_id).name);
                        let (_, index_what) = sparse_docs(&encoded, &name, n, k);
                        let index = self.derived(
                            if encoded.format == sparse::WeightFormat::Runs {
                                "WEIGHT_RUNS"
                            } else {
                                "WEIGHT_MASK"
                            },
                            &index_what,
                            vec![encoded.index.len()],
                            TensorData::U8(encoded.index.clone()),
                        );
                        sparse_b = Some((index, encoded));
                        (b, false, stored)
                    }
                }
            }
            Some(TensorData::F32(_)) => {
                self.dense_gemm_weights(a.trans_b, k, n, &mut body)?
            }
            _ => (self.operand(1, "WEIGHT", &mut inputs)?, a.trans_b, ""),
        };
        let (mut beta, mut bias_kind, mut c_arg) = (a.beta, "gemm::Bias::None", Arg::Empty);
        if self.node.inputs.len() > 2 {
            let c_id = self.node.inputs[2];
            let c_shape = self.shape(c_id).to_vec();
            let strides = broadcast_strides(&c_shape, &[m, n]);
            let varies_by_row = strides[0] != 0 && m > 1;
            match &self.graph.tensor(c_id).data {
                Some(TensorData::F32(values)) => {
                    // Broadcast and scale by beta now: the kernel adds a plain row or matrix.
                    let rows = if varies_by_row { m } else { 1 };
                    let c: Vec<f32> = (0..rows * n)
                        .map(|i| {
                            a.beta * values[(i / n) * strides[0] + (i % n) * strides[1]]
                        })
                        .collect();
                    let what = format!(
                        "`{}` broadcast to [{rows}, {n}] and scaled by beta.",
                        comment(&self.graph.tensor(c_id).name)
                    );
                    c_arg = Arg::Static(self.derived(
                        "BIAS",
                        &what,
                        vec![rows, n],
                        TensorData::F32(c),
                    ));
                    bias_kind = if varies_by_row {
                        "gemm::Bias::Full"
                    } else {
                        "gemm::Bias::Row"
                    };
                    beta = 1.0;
                }
                _ => {
                    // C broadcasts to [m, n] (shape inference checked that): the strides of
                    // its two axes, zero where it is broadcast, choose how the kernel reads it.
                    let by_row = strides[0] != 0 && m > 1;
                    let by_column = strides[1] != 0 && n > 1;
                    c_arg = self.operand(2, "C", &mut inputs)?;
                    bias_kind = match (by_row, by_column) {
                        (false, false) => "gemm::Bias::Scalar",
                        (false, true) => "gemm::Bias::Row",
                        (true, false) => "gemm::Bias::Column",
                        (true, true) => "gemm::Bias::Full",
                    };
                }
            }
        }
        let p = Struct::new(
            "gemm::Gemm",
            vec![
                ("m", usize_(m)),
                ("k", usize_(k)),
                ("n", usize_(n)),
                ("alpha", Value::F32(a.alpha)),
                ("beta", Value::F32(beta)),
                ("trans_a", Value::Bool(a.trans_a)),
                ("trans_b", Value::Bool(trans_b)),
                ("bias", Value::Variant(bias_kind.into(), vec![])),
                ("activation", activation(a.activation)),
            ],
        );
        let detail = format!(
            "[{m}, {k}] × [{k}, {n}]{}{stored}{}{}",
            fused(a.activation),
            sparse_detail(sparse_b.as_ref().map(|(_, e)| e), n * k),
            unrolled_detail(unrolled.as_ref(), n * k)
        );
        body.insert(0, Stmt::Let("p".into(), p));
        if matches!(self.graph.tensor(b_id).data, Some(TensorData::F32(_))) && !a.trans_a {
            let (format, entries) = sparse_b
                .as_ref()
                .map_or((sparse::WeightFormat::Dense, n * k), |(_, e)| {
                    (e.format, e.positions.len())
                });
            self.layer_weights = Some(LayerWeights {
                node: self.index,
                format,
                codebook: None,
                unrolled: unrolled.is_some(),
                macs_executed: (m * unrolled.as_ref().map_or(entries, |d| d.terms()))
                    as u64,
            });
        }
        if let Some(dot) = unrolled {
            body.push(Stmt::Unrolled("dot".into(), dot));
            body.push(Stmt::Call(
                "gemm::gemm_by_rows".into(),
                vec![
                    Arg::Local("p".into()),
                    xa,
                    c_arg,
                    Arg::Output,
                    Arg::Local("dot".into()),
                ],
            ));
            self.push(None, detail, inputs, self.node.outputs[0], false, body);
            return Ok(());
        }
        body.push(match sparse_b {
            Some((index, encoded)) if encoded.format == sparse::WeightFormat::Runs => {
                Stmt::Call(
                    "sparse::gemm_runs".into(),
                    vec![
                        Arg::Local("p".into()),
                        xa,
                        b,
                        Arg::Static(index),
                        Arg::Value(usize_(encoded.positions.len())),
                        c_arg,
                        Arg::Output,
                    ],
                )
            }
            Some((index, _)) => Stmt::Call(
                "sparse::gemm_bitmask".into(),
                vec![
                    Arg::Local("p".into()),
                    xa,
                    b,
                    Arg::Static(index),
                    c_arg,
                    Arg::Output,
                ],
            ),
            None => Stmt::Call(
                "gemm::gemm".into(),
                vec![Arg::Local("p".into()), xa, b, c_arg, Arg::Output],
            ),
        });
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }

    fn matmul(&mut self) -> R<()> {
        let (p, (m, k, n)) = self.matmul_params()?;
        self.kernel_step(
            "gemm::matmul",
            p,
            &[(0, "A"), (1, "B")],
            format!("[{m}, {k}] × [{k}, {n}] per batch entry"),
        )
    }

    /// The `gemm::MatMul` parameters of a matrix product of the first two inputs (numpy
    /// broadcasting of the batch axes), and its `(m, k, n)`.
    fn matmul_params(&self) -> R<(Struct, (usize, usize, usize))> {
        let (a_in, b_in) = (self.input_shape(0).to_vec(), self.input_shape(1).to_vec());
        let a_shape = if a_in.len() == 1 {
            vec![1, a_in[0]]
        } else {
            a_in
        };
        let b_shape = if b_in.len() == 1 {
            vec![b_in[0], 1]
        } else {
            b_in
        };
        let (m, k, n) = (
            a_shape[a_shape.len() - 2],
            a_shape[a_shape.len() - 1],
            b_shape[b_shape.len() - 1],
        );
        let (a_batch, b_batch) =
            (&a_shape[..a_shape.len() - 2], &b_shape[..b_shape.len() - 2]);
        let batch = crate::ir::shape::broadcast_shapes(a_batch, b_batch)?;
        let a_st: Vec<isize> = broadcast_strides(a_batch, &batch)
            .iter()
            .map(|&s| (s * m * k) as isize)
            .collect();
        let b_st: Vec<isize> = broadcast_strides(b_batch, &batch)
            .iter()
            .map(|&s| (s * k * n) as isize)
            .collect();
        // Merge batch axes where both operands allow it, so that few axes remain.
        let out_batch_strides: Vec<isize> =
            strides_of(&batch).iter().map(|&s| s as isize).collect();
        let (batch, st) = coalesce(&batch, &[a_st, b_st, out_batch_strides]);
        if batch.len() > MAX_BATCH_RANK {
            return Err(format!(
                "MatMul with {} batch axes is not supported (at most {MAX_BATCH_RANK})",
                batch.len()
            ));
        }
        let to_usize = |v: &[isize]| v.iter().map(|&s| s as usize).collect::<Vec<_>>();
        let p = Struct::new(
            "gemm::MatMul",
            vec![
                ("batch", array(&pad_front(&batch, MAX_BATCH_RANK, 1))),
                (
                    "a_strides",
                    array(&pad_front(&to_usize(&st[0]), MAX_BATCH_RANK, 0)),
                ),
                (
                    "b_strides",
                    array(&pad_front(&to_usize(&st[1]), MAX_BATCH_RANK, 0)),
                ),
                ("m", usize_(m)),
                ("k", usize_(k)),
                ("n", usize_(n)),
            ],
        );
        Ok((p, (m, k, n)))
    }

    fn binary(&mut self, op: &str, act: Activation) -> R<()> {
        let out = self.output_shape().to_vec();
        let to_i = |v: Vec<usize>| v.into_iter().map(|s| s as isize).collect::<Vec<_>>();
        let a_st = to_i(broadcast_strides(self.input_shape(0), &out));
        let b_st = to_i(broadcast_strides(self.input_shape(1), &out));
        let y_st = to_i(strides_of(&out));
        let (shape, st) = coalesce(&out, &[a_st, b_st, y_st]);
        if shape.len() > MAX_RANK {
            return Err(format!(
                "broadcasting over {} axes is not supported (at most {MAX_RANK})",
                shape.len()
            ));
        }
        let to_u = |v: &[isize]| {
            pad_front(
                &v.iter().map(|&s| s as usize).collect::<Vec<_>>(),
                MAX_RANK,
                0,
            )
        };
        let p = Struct::new(
            "elementwise::Binary",
            vec![
                ("op", Value::Variant(op.into(), vec![])),
                ("shape", array(&pad_front(&shape, MAX_RANK, 1))),
                ("a_strides", array(&to_u(&st[0]))),
                ("b_strides", array(&to_u(&st[1]))),
                ("activation", activation(act)),
            ],
        );
        let detail = if act == Activation::None {
            String::new()
        } else {
            fused(act).trim_start_matches(", ").to_string()
        };
        self.two_operand_step(p, "elementwise::binary", detail)
    }

    /// The usual step: `let p = <params>; kernel(p, operands..., y)`, where `operands` are the
    /// node's inputs `(index, role)` in the kernel's argument order (constants become static
    /// data named by their role).
    pub(super) fn kernel_step(
        &mut self,
        kernel: &str,
        p: Struct,
        operands: &[(usize, &str)],
        detail: String,
    ) -> R<()> {
        let mut inputs = Vec::new();
        let mut args = vec![Arg::Local("p".into())];
        for &(i, role) in operands {
            args.push(self.operand(i, role, &mut inputs)?);
        }
        args.push(Arg::Output);
        let body = vec![Stmt::Let("p".into(), p), Stmt::Call(kernel.into(), args)];
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }

    /// A step calling `kernel(p, a, b, y)` on the node's two inputs or, when the memory plan
    /// runs the node in place, `{kernel}_in_place(p, y, b)` over the first input.
    fn two_operand_step(&mut self, p: Struct, kernel: &str, detail: String) -> R<()> {
        let in_place = self.in_place();
        let mut inputs = Vec::new();
        let (call, args) = if in_place {
            inputs.push(self.node.inputs[0]);
            let b = self.operand(1, "B", &mut inputs)?;
            (
                format!("{kernel}_in_place"),
                vec![Arg::Local("p".into()), Arg::Output, b],
            )
        } else {
            let a = self.operand(0, "A", &mut inputs)?;
            let b = self.operand(1, "B", &mut inputs)?;
            (
                kernel.to_string(),
                vec![Arg::Local("p".into()), a, b, Arg::Output],
            )
        };
        let body = vec![Stmt::Let("p".into(), p), Stmt::Call(call, args)];
        self.push(None, detail, inputs, self.node.outputs[0], in_place, body);
        Ok(())
    }

    /// Strides of every operand over the output's iteration space, merged where all allow it
    /// and padded to the kernels' rank.
    fn broadcast_space(&self, operands: &[usize]) -> R<(Value, Vec<Value>)> {
        let out = self.output_shape().to_vec();
        let to_i = |v: Vec<usize>| v.into_iter().map(|s| s as isize).collect::<Vec<_>>();
        let mut strides: Vec<Vec<isize>> = operands
            .iter()
            .map(|&i| to_i(broadcast_strides(self.input_shape(i), &out)))
            .collect();
        strides.push(to_i(strides_of(&out)));
        let (shape, st) = coalesce(&out, &strides);
        if shape.len() > MAX_RANK {
            return Err(format!(
                "broadcasting over {} axes is not supported (at most {MAX_RANK})",
                shape.len()
            ));
        }
        let padded = st[..operands.len()]
            .iter()
            .map(|v| {
                let u: Vec<usize> = v.iter().map(|&s| s as usize).collect();
                array(&pad_front(&u, MAX_RANK, 0))
            })
            .collect();
        Ok((array(&pad_front(&shape, MAX_RANK, 1)), padded))
    }

    fn compare(&mut self, f: CompareFn) -> R<()> {
        let (shape, strides) = self.broadcast_space(&[0, 1])?;
        let [a_strides, b_strides]: [Value; 2] = strides.try_into().expect("two operands");
        let p = Struct::new(
            "elementwise::Compare",
            vec![
                (
                    "op",
                    Value::Variant(format!("elementwise::CompareOp::{f:?}"), vec![]),
                ),
                ("shape", shape),
                ("a_strides", a_strides),
                ("b_strides", b_strides),
            ],
        );
        self.kernel_step(
            "elementwise::compare",
            p,
            &[(0, "A"), (1, "B")],
            String::new(),
        )
    }

    fn select(&mut self) -> R<()> {
        let (shape, strides) = self.broadcast_space(&[0, 1, 2])?;
        let [c_strides, a_strides, b_strides]: [Value; 3] =
            strides.try_into().expect("three operands");
        let p = Struct::new(
            "elementwise::Select",
            vec![
                ("shape", shape),
                ("condition_strides", c_strides),
                ("a_strides", a_strides),
                ("b_strides", b_strides),
            ],
        );
        self.kernel_step(
            "elementwise::select",
            p,
            &[(0, "CONDITION"), (1, "A"), (2, "B")],
            String::new(),
        )
    }

    fn cast(&mut self) -> R<()> {
        let mut inputs = Vec::new();
        let x = self.operand(0, "X", &mut inputs)?;
        let detail = format!(
            "{} to {}",
            self.graph.tensor(self.node.inputs[0]).dtype,
            self.graph.tensor(self.node.outputs[0]).dtype
        );
        // float16 travels as its bit pattern (u16), so it needs the converting kernels.
        let kernel = match (
            self.graph.tensor(self.node.inputs[0]).dtype,
            self.graph.tensor(self.node.outputs[0]).dtype,
        ) {
            (DType::F16, _) => "elementwise::cast_from_f16",
            (_, DType::F16) => "elementwise::cast_to_f16",
            _ => "elementwise::cast",
        };
        let body = vec![Stmt::Call(kernel.into(), vec![x, Arg::Output])];
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }

    fn unary(&mut self, op: Value) -> R<()> {
        let in_place = self.in_place();
        let mut inputs = vec![self.node.inputs[0]];
        let body = if in_place {
            vec![Stmt::Call(
                "elementwise::unary_in_place".into(),
                vec![Arg::Value(op), Arg::Output],
            )]
        } else {
            let x = Arg::Input(0);
            vec![Stmt::Call(
                "elementwise::unary".into(),
                vec![Arg::Value(op), x, Arg::Output],
            )]
        };
        if self.graph.tensor(self.node.inputs[0]).is_constant() {
            inputs.clear();
        }
        self.push(
            None,
            String::new(),
            inputs,
            self.node.outputs[0],
            in_place,
            body,
        );
        Ok(())
    }

    fn softmax(&mut self, a: &SoftmaxAttrs, log: bool) -> R<()> {
        let x = self.input_shape(0).to_vec();
        let axis = a.axis as usize;
        let outer: usize = x[..axis].iter().product();
        let (len, inner) = if a.coerce_2d {
            (x[axis..].iter().product(), 1)
        } else {
            (x[axis], x[axis + 1..].iter().product())
        };
        let p = Struct::new(
            "softmax::Softmax",
            vec![
                ("outer", usize_(outer)),
                ("len", usize_(len)),
                ("inner", usize_(inner)),
                ("log", Value::Bool(log)),
                ("beta", Value::F32(a.beta)),
            ],
        );
        let mut inputs = Vec::new();
        let xa = self.operand(0, "X", &mut inputs)?;
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(
                "softmax::softmax".into(),
                vec![Arg::Local("p".into()), xa, Arg::Output],
            ),
        ];
        self.push(
            None,
            format!("over {len} values, {} times", outer * inner),
            inputs,
            self.node.outputs[0],
            false,
            body,
        );
        Ok(())
    }

    /// Max or average pooling: a `pool::Pool2d` for 1-D and 2-D windows, a `pool::Pool3d`
    /// for 3-D ones, and for MaxPool's `Indices` output a second step.
    fn pool(&mut self, a: &PoolAttrs, max: bool) -> R<()> {
        let (x, y) = (self.input_shape(0).to_vec(), self.output_shape().to_vec());
        let spatial = x.len() - 2;
        let outputs = self.node.outputs.clone();
        let part = (outputs.len() > 1).then_some(0);
        let detail = format!(
            "{} window, stride {}, pads {:?}",
            dims(&a.kernel_shape),
            dims(&a.strides),
            a.pads
        );
        let (p, kernel) = match (spatial <= 2, max) {
            (true, true) => (pool2d(&x, &y, a), "pool::max_pool2d"),
            (true, false) => (pool2d(&x, &y, a), "pool::average_pool2d"),
            (false, true) => (pool3d(&x, &y, a), "pool::max_pool3d"),
            (false, false) => (pool3d(&x, &y, a), "pool::average_pool3d"),
        };
        let mut inputs = Vec::new();
        let xa = self.operand(0, "X", &mut inputs)?;
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(kernel.into(), vec![Arg::Local("p".into()), xa, Arg::Output]),
        ];
        self.push(part, detail.clone(), inputs, outputs[0], false, body);
        if let Some(&indices) = outputs.get(1) {
            // The flat index of a position [z, y, x] in the input's storage order.
            let in_spatial = pad_front(&x[2..], 3, 1);
            let index_strides = if a.column_major_indices {
                [1, in_spatial[0], in_spatial[0] * in_spatial[1]]
            } else {
                [in_spatial[1] * in_spatial[2], in_spatial[2], 1]
            };
            let order = if a.column_major_indices {
                "column-major"
            } else {
                "row-major"
            };
            let mut inputs = Vec::new();
            let xa = self.operand(0, "X", &mut inputs)?;
            let body = vec![
                Stmt::Let("p".into(), pool3d(&x, &y, a)),
                Stmt::Call(
                    "pool::max_pool_indices".into(),
                    vec![
                        Arg::Local("p".into()),
                        Arg::Value(array(&index_strides)),
                        xa,
                        Arg::Output,
                    ],
                ),
            ];
            let detail = format!("{order} indices of the maxima, {detail}");
            self.push(Some(1), detail, inputs, indices, false, body);
        }
        Ok(())
    }

    fn global_pool(&mut self, kernel: &str) -> R<()> {
        let x = self.input_shape(0).to_vec();
        let p = Struct::new(
            "pool::GlobalPool",
            vec![
                ("planes", usize_(x[0] * x[1])),
                ("size", usize_(x[2..].iter().product())),
            ],
        );
        let mut inputs = Vec::new();
        let xa = self.operand(0, "X", &mut inputs)?;
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(kernel.into(), vec![Arg::Local("p".into()), xa, Arg::Output]),
        ];
        self.push(
            None,
            String::new(),
            inputs,
            self.node.outputs[0],
            false,
            body,
        );
        Ok(())
    }

    fn batch_norm(&mut self, epsilon: f32) -> R<()> {
        let Some(params) = self.node.inputs[1..5]
            .iter()
            .map(|&t| self.graph.tensor(t).data.as_ref().map(|d| d.to_f64_vec()))
            .collect::<Option<Vec<Vec<f64>>>>()
        else {
            return self.batch_norm_run_time(epsilon);
        };
        let (scale, bias, mean, var) = (&params[0], &params[1], &params[2], &params[3]);
        let s: Vec<f64> = scale
            .iter()
            .zip(var)
            .map(|(g, v)| g / (v + epsilon as f64).sqrt())
            .collect();
        let shift: Vec<f32> = (0..s.len())
            .map(|c| (bias[c] - mean[c] * s[c]) as f32)
            .collect();
        let s: Vec<f32> = s.iter().map(|&v| v as f32).collect();
        let channels = s.len();
        let scale_name = self.derived(
            "SCALE",
            "Per-channel scale: scale / sqrt(var + epsilon).",
            vec![channels],
            TensorData::F32(s),
        );
        let shift_name = self.derived(
            "SHIFT",
            "Per-channel shift: bias - mean * scale.",
            vec![channels],
            TensorData::F32(shift),
        );
        let x = self.input_shape(0).to_vec();
        let p = Struct::new(
            "elementwise::ChannelAffine",
            vec![
                ("outer", usize_(x[0])),
                ("channels", usize_(x[1])),
                ("inner", usize_(x[2..].iter().product())),
            ],
        );
        let in_place = self.in_place();
        let inputs = vec![self.node.inputs[0]];
        let call = if in_place {
            Stmt::Call(
                "elementwise::channel_affine_in_place".into(),
                vec![
                    Arg::Local("p".into()),
                    Arg::Output,
                    Arg::Static(scale_name),
                    Arg::Static(shift_name),
                ],
            )
        } else {
            Stmt::Call(
                "elementwise::channel_affine".into(),
                vec![
                    Arg::Local("p".into()),
                    Arg::Input(0),
                    Arg::Static(scale_name),
                    Arg::Static(shift_name),
                    Arg::Output,
                ],
            )
        };
        self.push(
            None,
            "inference batch normalisation as a per-channel scale and shift".into(),
            inputs,
            self.node.outputs[0],
            in_place,
            vec![Stmt::Let("p".into(), p), call],
        );
        Ok(())
    }

    /// A strided copy of input 0 into the output (transpose, slice).
    fn strided(
        &mut self,
        out_shape: &[usize],
        src_strides: Vec<isize>,
        offset: usize,
        detail: String,
    ) -> R<()> {
        let y_st: Vec<isize> = strides_of(out_shape).iter().map(|&s| s as isize).collect();
        let (shape, st) = coalesce(out_shape, &[src_strides, y_st]);
        if shape.len() > MAX_RANK {
            return Err(format!(
                "a copy over {} axes is not supported (at most {MAX_RANK})",
                shape.len()
            ));
        }
        let p = Struct::new(
            "layout::Strided",
            vec![
                ("shape", array(&pad_front(&shape, MAX_RANK, 1))),
                ("strides", iarray(&pad_front(&st[0], MAX_RANK, 0))),
                ("offset", usize_(offset)),
            ],
        );
        let mut inputs = Vec::new();
        let x = self.operand(0, "X", &mut inputs)?;
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(
                "layout::strided_copy".into(),
                vec![Arg::Local("p".into()), x, Arg::Output],
            ),
        ];
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }

    fn transpose(&mut self, perm: &[usize]) -> R<()> {
        let x = self.input_shape(0).to_vec();
        let in_strides = strides_of(&x);
        let out: Vec<usize> = perm.iter().map(|&p| x[p]).collect();
        let src: Vec<isize> = perm.iter().map(|&p| in_strides[p] as isize).collect();
        self.strided(&out, src, 0, format!("perm {perm:?}"))
    }

    /// `Expand`: a strided copy that reads broadcast axes with stride 0.
    fn expand(&mut self) -> R<()> {
        let out = self.output_shape().to_vec();
        let src: Vec<isize> = broadcast_strides(self.input_shape(0), &out)
            .iter()
            .map(|&s| s as isize)
            .collect();
        self.strided(&out, src, 0, String::new())
    }

    /// `Tile`: each output coordinate reads the input at that coordinate modulo the input's
    /// size (a strided copy over `[repeats, size]` pairs would need twice the axes).
    fn tile(&mut self, _repeats: &[usize]) -> R<()> {
        let (x, out) = (self.input_shape(0).to_vec(), self.output_shape().to_vec());
        if out.len() > MAX_RANK {
            return Err(format!(
                "Tile of rank {} is not supported (at most {MAX_RANK})",
                out.len()
            ));
        }
        let p = Struct::new(
            "layout::Tile",
            vec![
                ("shape", array(&pad_front(&out, MAX_RANK, 1))),
                ("x_shape", array(&pad_front(&x, MAX_RANK, 1))),
                ("x_strides", array(&pad_front(&strides_of(&x), MAX_RANK, 0))),
            ],
        );
        self.kernel_step("layout::tile", p, &[(0, "X")], format!("{x:?} to {out:?}"))
    }

    fn gather_elements(&mut self, axis: usize) -> R<()> {
        let (x, out) = (self.input_shape(0).to_vec(), self.output_shape().to_vec());
        let (shape, x_strides, walk_axis) = coalesce_gather_axes(&x, &out, axis);
        if shape.len() > MAX_RANK {
            return Err(format!(
                "GatherElements of rank {} is not supported (at most {MAX_RANK} axes after \
                 merging the axes it walks alike)",
                out.len()
            ));
        }
        let pad = MAX_RANK - shape.len();
        let p = Struct::new(
            "layout::GatherElements",
            vec![
                ("shape", array(&pad_front(&shape, MAX_RANK, 1))),
                ("x_strides", array(&pad_front(&x_strides, MAX_RANK, 0))),
                ("axis", usize_(walk_axis + pad)),
                ("axis_len", usize_(x[axis])),
            ],
        );
        self.kernel_step(
            "layout::gather_elements",
            p,
            &[(1, "INDICES"), (0, "X")],
            format!("along axis {axis}"),
        )
    }

    fn slice(&mut self, a: &SliceAttrs) -> R<()> {
        let x = self.input_shape(0).to_vec();
        let out = self.output_shape().to_vec();
        let in_strides = strides_of(&x);
        let steps = a.steps.clone().unwrap_or_else(|| vec![1; x.len()]);
        let src: Vec<isize> = (0..x.len())
            .map(|d| in_strides[d] as isize * steps[d] as isize)
            .collect();
        let offset: usize = (0..x.len())
            .map(|d| {
                if out[d] == 0 {
                    0
                } else {
                    a.starts[d] as usize * in_strides[d]
                }
            })
            .sum();
        self.strided(
            &out,
            src,
            offset,
            format!("starts {:?}, steps {steps:?}", a.starts),
        )
    }

    pub(super) fn concat(&mut self, axis: usize) -> R<()> {
        let out = self.output_shape().to_vec();
        let outer: usize = out[..axis].iter().product();
        let inner: usize = out[axis + 1..].iter().product();
        let mut offset = 0;
        for i in 0..self.node.inputs.len() {
            let len = self.input_shape(i)[axis] * inner;
            if len == 0 || outer == 0 {
                continue; // An empty part adds nothing.
            }
            let p = Struct::new(
                "layout::Blocks",
                vec![
                    ("count", usize_(outer)),
                    ("len", usize_(len)),
                    ("src_offset", usize_(0)),
                    ("src_stride", usize_(len)),
                    ("dst_offset", usize_(offset)),
                    ("dst_stride", usize_(out[axis] * inner)),
                ],
            );
            offset += len;
            let mut inputs = Vec::new();
            let x = self.operand(i, &format!("PART_{i}"), &mut inputs)?;
            let body = vec![
                Stmt::Let("p".into(), p),
                Stmt::Call(
                    "layout::copy_blocks".into(),
                    vec![Arg::Local("p".into()), x, Arg::Output],
                ),
            ];
            let detail = format!(
                "part {} of {} along axis {axis}",
                i + 1,
                self.node.inputs.len()
            );
            self.push(Some(i), detail, inputs, self.node.outputs[0], false, body);
        }
        Ok(())
    }

    fn split(&mut self, axis: usize) -> R<()> {
        let x = self.input_shape(0).to_vec();
        let outer: usize = x[..axis].iter().product();
        let inner: usize = x[axis + 1..].iter().product();
        let mut offset = 0;
        for (i, &out) in self.node.outputs.iter().enumerate() {
            let len = self.shape(out)[axis] * inner;
            if len == 0 || outer == 0 {
                continue; // An empty part has nothing to copy.
            }
            let p = Struct::new(
                "layout::Blocks",
                vec![
                    ("count", usize_(outer)),
                    ("len", usize_(len)),
                    ("src_offset", usize_(offset)),
                    ("src_stride", usize_(x[axis] * inner)),
                    ("dst_offset", usize_(0)),
                    ("dst_stride", usize_(len)),
                ],
            );
            offset += len;
            let mut inputs = Vec::new();
            let xa = self.operand(0, "X", &mut inputs)?;
            let body = vec![
                Stmt::Let("p".into(), p),
                Stmt::Call(
                    "layout::copy_blocks".into(),
                    vec![Arg::Local("p".into()), xa, Arg::Output],
                ),
            ];
            let detail = format!(
                "part {} of {} along axis {axis}",
                i + 1,
                self.node.outputs.len()
            );
            self.push(Some(i), detail, inputs, out, false, body);
        }
        Ok(())
    }

    fn pad(&mut self, a: &PadAttrs) -> R<()> {
        let (x, y) = (self.input_shape(0).to_vec(), self.output_shape().to_vec());
        let rank = x.len();
        if rank > MAX_RANK {
            return Err(format!(
                "Pad of a rank-{rank} tensor is not supported (at most {MAX_RANK})"
            ));
        }
        let begins: Vec<isize> = a.pads[..rank].iter().map(|&p| p as isize).collect();
        let ends: Vec<isize> = a.pads[rank..].iter().map(|&p| p as isize).collect();
        let mode = match a.mode {
            PadMode::Constant => Value::Variant(
                "layout::PadMode::Constant".into(),
                vec![Value::F32(a.value)],
            ),
            PadMode::Reflect => Value::Variant("layout::PadMode::Reflect".into(), vec![]),
            PadMode::Edge => Value::Variant("layout::PadMode::Edge".into(), vec![]),
            PadMode::Wrap => Value::Variant("layout::PadMode::Wrap".into(), vec![]),
        };
        let p = Struct::new(
            "layout::Pad",
            vec![
                ("in_shape", array(&pad_front(&x, MAX_RANK, 1))),
                ("out_shape", array(&pad_front(&y, MAX_RANK, 1))),
                ("pads_begin", iarray(&pad_front(&begins, MAX_RANK, 0))),
                ("pads_end", iarray(&pad_front(&ends, MAX_RANK, 0))),
                ("mode", mode),
            ],
        );
        let mut inputs = Vec::new();
        let xa = self.operand(0, "X", &mut inputs)?;
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(
                "layout::pad".into(),
                vec![Arg::Local("p".into()), xa, Arg::Output],
            ),
        ];
        self.push(
            None,
            format!("{} padding {:?}", a.mode.word(), a.pads),
            inputs,
            self.node.outputs[0],
            false,
            body,
        );
        Ok(())
    }

    /// Gather with indices computed at run time: the kernel makes negative indices count from
    /// the end and clamps the rest into range (ONNX leaves out-of-range indices undefined;
    /// clamping keeps the generated code from reading outside the input).
    fn gather_run_time(&mut self, axis: usize) -> R<()> {
        let x = self.input_shape(0).to_vec();
        let p = Struct::new(
            "layout::Gather",
            vec![
                ("outer", usize_(x[..axis].iter().product())),
                ("axis_len", usize_(x[axis])),
                ("inner", usize_(x[axis + 1..].iter().product())),
            ],
        );
        self.kernel_step(
            "layout::gather_indexed",
            p,
            &[(1, "INDICES"), (0, "X")],
            format!("run-time indices along axis {axis}"),
        )
    }

    fn gather(&mut self, axis: usize) -> R<()> {
        let x = self.input_shape(0).to_vec();
        let indices_id = self.node.inputs[1];
        let Some(indices) = self
            .graph
            .tensor(indices_id)
            .data
            .as_ref()
            .and_then(TensorData::to_i64_vec)
        else {
            return self.gather_run_time(axis);
        };
        let len = x[axis] as i64;
        let normalized: Vec<u32> = indices
            .iter()
            .map(|&i| {
                let j = if i < 0 { i + len } else { i };
                u32::try_from(j)
                    .ok()
                    .filter(|&j| (j as i64) < len)
                    .ok_or(format!("index {i} is out of range for {len}"))
            })
            .collect::<R<_>>()?;
        let what = format!(
            "Indices of `{}`, made non-negative.",
            comment(&self.graph.tensor(indices_id).name)
        );
        let n = normalized.len();
        let name = self.derived("INDICES", &what, vec![n], TensorData::U32(normalized));
        let p = Struct::new(
            "layout::Gather",
            vec![
                ("outer", usize_(x[..axis].iter().product())),
                ("axis_len", usize_(x[axis])),
                ("inner", usize_(x[axis + 1..].iter().product())),
            ],
        );
        let mut inputs = Vec::new();
        let xa = self.operand(0, "X", &mut inputs)?;
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(
                "layout::gather".into(),
                vec![Arg::Local("p".into()), Arg::Static(name), xa, Arg::Output],
            ),
        ];
        self.push(
            None,
            format!("{n} indices along axis {axis}"),
            inputs,
            self.node.outputs[0],
            false,
            body,
        );
        Ok(())
    }

    /// The static tables of one axis of linear resizing (the two input indices of each output
    /// coordinate and the second one's weight) as a `path` struct of references to them.
    fn tap_tables(
        &mut self,
        role: &str,
        path: &str,
        indices: Vec<(usize, usize)>,
        weights: TensorData,
        weight_doc: &str,
    ) -> Struct {
        let n = indices.len();
        let i0 = self.derived(
            &format!("{role}_I0"),
            "First input index of each output coordinate.",
            vec![n],
            TensorData::U32(indices.iter().map(|t| t.0 as u32).collect()),
        );
        let i1 = self.derived(
            &format!("{role}_I1"),
            "Second input index of each output coordinate.",
            vec![n],
            TensorData::U32(indices.iter().map(|t| t.1 as u32).collect()),
        );
        let w1 = self.derived(&format!("{role}_W1"), weight_doc, vec![n], weights);
        Struct::new(
            path,
            vec![
                ("i0", Value::StaticRef(i0)),
                ("i1", Value::StaticRef(i1)),
                ("w1", Value::StaticRef(w1)),
            ],
        )
    }

    fn resize(&mut self, a: &ResizeAttrs) -> R<()> {
        let (x, y) = (self.input_shape(0), self.output_shape());
        let taps = resize_table_len(a, x, y);
        if taps > MAX_RESIZE_TAPS {
            return Err(format!(
                "resizing {x:?} to {y:?} needs coordinate tables of {taps} taps, more than \
                 the {MAX_RESIZE_TAPS} edgegen builds"
            ));
        }
        if a.mode == ResizeMode::Cubic || a.antialias {
            return self.resize_filter(a);
        }
        let (x, y) = (self.input_shape(0).to_vec(), self.output_shape().to_vec());
        let rank = x.len();
        let roi = |d: usize| {
            if a.roi.len() == 2 * rank {
                (a.roi[d], a.roi[rank + d])
            } else {
                (0.0, 1.0)
            }
        };
        let ctm = a.coordinate_transformation_mode;
        // Per axis and output coordinate: (i0, i1, w1), with i0 = OUTSIDE for extrapolation.
        let table = |d: usize| -> Vec<(u32, u32, f32)> {
            (0..y[d])
                .map(|o| {
                    let src =
                        resize_source_coordinate(ctm, o, a.scales[d], x[d], y[d], roi(d));
                    if resize_outside(ctm, src, x[d]) {
                        return (u32::MAX, u32::MAX, 0.0);
                    }
                    match a.mode {
                        ResizeMode::Nearest => {
                            let i = resize_nearest_index(
                                a.nearest_mode,
                                src,
                                a.scales[d],
                                x[d],
                            ) as u32;
                            (i, i, 0.0)
                        }
                        // Cubic took the filter path above.
                        ResizeMode::Linear | ResizeMode::Cubic => {
                            let (i0, i1, w1) = resize_linear_taps(src, x[d]);
                            (i0 as u32, i1 as u32, w1)
                        }
                    }
                })
                .collect()
        };
        let identity = |d: usize| {
            x[d] == y[d]
                && table(d)
                    .iter()
                    .enumerate()
                    .all(|(o, &(i0, i1, w1))| i0 as usize == o && (w1 == 0.0 || i1 == i0))
        };
        // The kernel resizes two adjacent axes `h, w` of `[outer, h, w, inner]`: the last two
        // of NCHW data, the middle two of NHWC data; every other axis must stay as it is.
        let changed: Vec<usize> = (0..rank).filter(|&d| !identity(d)).collect();
        let w_axis = match changed.as_slice() {
            [] => rank - 1,
            // Float data takes the general filter kernel, which resizes any axes.
            [first, .., last] if last - first > 1 && !self.is_quantized() => {
                return self.resize_filter(a);
            }
            [first, .., last] if last - first > 1 => {
                return Err(format!(
                    "Resize of axes {changed:?} of {x:?} is not supported (at most two \
                     adjacent axes may change)"
                ));
            }
            // A single axis before the last is resized as the `h` of a pair with the last.
            [only] if only + 2 == rank => only + 1,
            [.., last] => *last,
        };
        let (h_in, h_out, rows) = if w_axis >= 1 {
            (x[w_axis - 1], y[w_axis - 1], table(w_axis - 1))
        } else {
            (1, 1, vec![(0, 0, 0.0)])
        };
        let (w_in, w_out, cols) = (x[w_axis], y[w_axis], table(w_axis));
        let outer: usize = x[..w_axis.saturating_sub(1)].iter().product();
        let inner: usize = x[w_axis + 1..].iter().product();
        let p = Struct::new(
            "resize::Resize2d",
            vec![
                ("outer", usize_(outer)),
                ("h_in", usize_(h_in)),
                ("w_in", usize_(w_in)),
                ("h_out", usize_(h_out)),
                ("w_out", usize_(w_out)),
                ("inner", usize_(inner)),
            ],
        );
        let quantized = self.is_quantized();
        let mut inputs = Vec::new();
        let xa = self.operand(0, "X", &mut inputs)?;
        let mut body = vec![Stmt::Let("p".into(), p)];
        let u32s = |t: &[(u32, u32, f32)], f: fn(&(u32, u32, f32)) -> u32| {
            TensorData::U32(t.iter().map(f).collect())
        };
        let fill = if quantized {
            Value::Isize(0)
        } else {
            Value::F32(a.extrapolation_value)
        };
        match a.mode {
            ResizeMode::Nearest => {
                let r = self.derived(
                    "ROWS",
                    "Input row of each output row.",
                    vec![rows.len()],
                    u32s(&rows, |t| t.0),
                );
                let c = self.derived(
                    "COLS",
                    "Input column of each output column.",
                    vec![cols.len()],
                    u32s(&cols, |t| t.0),
                );
                body.push(Stmt::Call(
                    "resize::resize_nearest".into(),
                    vec![
                        Arg::Local("p".into()),
                        Arg::Static(r),
                        Arg::Static(c),
                        Arg::Value(fill),
                        xa,
                        Arg::Output,
                    ],
                ));
            }
            ResizeMode::Linear | ResizeMode::Cubic if quantized => {
                let Some((align_corners, half_pixel_centers)) = ctm.tflite_flags() else {
                    return Err(format!(
                        "int8 linear Resize needs a TFLite coordinate transformation, not {}",
                        ctm.word()
                    ));
                };
                if rank != 4 || w_axis != 2 {
                    return Err(format!(
                        "int8 linear Resize resizes the middle axes of NHWC data, not {x:?} \
                         to {y:?}"
                    ));
                }
                for (local, d, role) in [("rows", 1, "ROW"), ("cols", 2, "COL")] {
                    let taps: Vec<(usize, usize, i32)> = (0..y[d])
                        .map(|o| {
                            resize_linear_taps_q10(
                                align_corners,
                                half_pixel_centers,
                                o,
                                x[d],
                                y[d],
                            )
                        })
                        .collect();
                    let taps = self.tap_tables(
                        role,
                        "resize::TapsQ10",
                        taps.iter().map(|t| (t.0, t.1)).collect(),
                        TensorData::I32(taps.iter().map(|t| t.2).collect()),
                        "Weight of the second input index, in units of 2^-10.",
                    );
                    body.push(Stmt::Let(local.into(), taps));
                }
                body.push(Stmt::Call(
                    "resize::resize_bilinear_i8".into(),
                    vec![
                        Arg::Local("p".into()),
                        Arg::Local("rows".into()),
                        Arg::Local("cols".into()),
                        xa,
                        Arg::Output,
                    ],
                ));
            }
            ResizeMode::Linear | ResizeMode::Cubic => {
                for (local, table, role) in [("rows", &rows, "ROW"), ("cols", &cols, "COL")]
                {
                    let taps = self.tap_tables(
                        role,
                        "resize::Taps",
                        table.iter().map(|t| (t.0 as usize, t.1 as usize)).collect(),
                        TensorData::F32(table.iter().map(|t| t.2).collect()),
                        "Weight of the second input index.",
                    );
                    body.push(Stmt::Let(local.into(), taps));
                }
                body.push(Stmt::Call(
                    "resize::resize_linear".into(),
                    vec![
                        Arg::Local("p".into()),
                        Arg::Local("rows".into()),
                        Arg::Local("cols".into()),
                        Arg::Value(fill),
                        xa,
                        Arg::Output,
                    ],
                ));
            }
        }
        let detail = format!("{} {}", a.mode.word(), ctm.word());
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }

    /// `Resize` of float data by the general filter kernel: cubic and antialiased resizing,
    /// and nearest or linear resizing of axes the two-axis kernels do not cover, with the
    /// tables of [`resize_filter_tables`].
    fn resize_filter(&mut self, a: &ResizeAttrs) -> R<()> {
        if self.is_quantized() {
            return Err(format!(
                "int8 {}{} Resize is not supported",
                if a.antialias { "antialiased " } else { "" },
                a.mode.word()
            ));
        }
        let (x, y) = (self.input_shape(0).to_vec(), self.output_shape().to_vec());
        let rank = x.len();
        let roi = |d: usize| {
            if a.roi.len() == 2 * rank {
                (a.roi[d], a.roi[rank + d])
            } else {
                (0.0, 1.0)
            }
        };
        let t = resize_filter_tables(a, &x, &y, &roi);
        let (first, last) = (t.first_axis, t.last_axis);
        let axes = first..last + 1;
        let (index, weight, n_taps, start) = (t.index, t.weight, t.taps, t.start);
        let outer: usize = x[..first].iter().product();
        let inner: usize = x[last + 1..].iter().product();
        let n = index.len();
        let index = self.derived(
            "INDEX",
            "Input index of each tap of each output coordinate, axis after axis.",
            vec![n],
            TensorData::U32(index),
        );
        let weight = self.derived(
            "WEIGHT",
            "Weight of each tap of each output coordinate, axis after axis.",
            vec![n],
            TensorData::F32(weight),
        );
        let p = Struct::new(
            "resize::ResizeNd",
            vec![
                ("outer", usize_(outer)),
                ("shape_in", array(&x[axes.clone()])),
                ("shape_out", array(&y[axes])),
                ("inner", usize_(inner)),
                ("taps", array(&n_taps)),
                ("start", array(&start)),
                ("index", Value::StaticRef(index)),
                ("weight", Value::StaticRef(weight)),
            ],
        );
        let mut inputs = Vec::new();
        let xa = self.operand(0, "X", &mut inputs)?;
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(
                "resize::resize_filter".into(),
                vec![
                    Arg::Local("p".into()),
                    Arg::Value(Value::F32(a.extrapolation_value)),
                    xa,
                    Arg::Output,
                ],
            ),
        ];
        let detail = format!(
            "{}{} {}",
            if a.antialias { "antialiased " } else { "" },
            a.mode.word(),
            a.coordinate_transformation_mode.word()
        );
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }
}

/// The attributes a convolution's lowering needs, whichever of the two ops it is.
struct Conv<'a> {
    /// `ConvTranspose` rather than `Conv`.
    transposed: bool,
    kernel_shape: &'a [usize],
    strides: &'a [usize],
    dilations: &'a [usize],
    pads: &'a [usize],
    group: usize,
    activation: Activation,
}

/// The `conv::Conv2d` of a 1-D or 2-D convolution or transposed convolution from `x` to `y`.
fn conv2d(x: &[usize], y: &[usize], c: &Conv) -> Struct {
    // A transposed convolution has the geometry of the convolution it transposes: from its
    // output to its input. The kernel takes the sizes as input and output all the same.
    let (from, to) = if c.transposed { (y, x) } else { (x, y) };
    let g = Spatial2d::new(from, to, c.kernel_shape, c.strides, c.dilations, c.pads);
    let (h_in, w_in, h_out, w_out) = if c.transposed {
        (g.h_out, g.w_out, g.h_in, g.w_in)
    } else {
        (g.h_in, g.w_in, g.h_out, g.w_out)
    };
    Struct::new(
        "conv::Conv2d",
        vec![
            ("batch", usize_(x[0])),
            ("c_in", usize_(x[1])),
            ("h_in", usize_(h_in)),
            ("w_in", usize_(w_in)),
            ("c_out", usize_(y[1])),
            ("h_out", usize_(h_out)),
            ("w_out", usize_(w_out)),
            ("k_h", usize_(g.k_h)),
            ("k_w", usize_(g.k_w)),
            ("stride_h", usize_(g.stride_h)),
            ("stride_w", usize_(g.stride_w)),
            ("dilation_h", usize_(g.dilation_h)),
            ("dilation_w", usize_(g.dilation_w)),
            ("pad_top", usize_(g.pad_top)),
            ("pad_left", usize_(g.pad_left)),
            ("groups", usize_(c.group)),
            ("activation", activation(c.activation)),
        ],
    )
}

/// The `conv::Conv3d` of a 3-D transposed convolution from `x` to `y` (the only 3-D
/// convolution with a kernel).
fn conv3d(x: &[usize], y: &[usize], c: &Conv) -> R<Struct> {
    if !c.transposed {
        return Err("3-D Conv is not supported (1-D and 2-D are)".into());
    }
    Ok(Struct::new(
        "conv::Conv3d",
        vec![
            ("batch", usize_(x[0])),
            ("c_in", usize_(x[1])),
            ("c_out", usize_(y[1])),
            ("shape_in", array(&x[2..])),
            ("shape_out", array(&y[2..])),
            ("kernel", array(c.kernel_shape)),
            ("strides", array(c.strides)),
            ("dilations", array(c.dilations)),
            ("pads_begin", array(&c.pads[..3])),
            ("groups", usize_(c.group)),
            ("activation", activation(c.activation)),
        ],
    ))
}

/// The `pool::Pool2d` of a 1-D or 2-D pooling node from `x` to `y`.
fn pool2d(x: &[usize], y: &[usize], a: &PoolAttrs) -> Struct {
    let g = Spatial2d::new(x, y, &a.kernel_shape, &a.strides, &a.dilations, &a.pads);
    Struct::new(
        "pool::Pool2d",
        vec![
            ("planes", usize_(x[0] * x[1])),
            ("h_in", usize_(g.h_in)),
            ("w_in", usize_(g.w_in)),
            ("h_out", usize_(g.h_out)),
            ("w_out", usize_(g.w_out)),
            ("k_h", usize_(g.k_h)),
            ("k_w", usize_(g.k_w)),
            ("stride_h", usize_(g.stride_h)),
            ("stride_w", usize_(g.stride_w)),
            ("dilation_h", usize_(g.dilation_h)),
            ("dilation_w", usize_(g.dilation_w)),
            ("pad_top", usize_(g.pad_top)),
            ("pad_left", usize_(g.pad_left)),
            ("pad_bottom", usize_(g.pad_bottom)),
            ("pad_right", usize_(g.pad_right)),
            ("count_include_pad", Value::Bool(a.count_include_pad)),
        ],
    )
}

/// A `pool::Pool3d` for a pooling node of any rank: its spatial axes are the last of depth,
/// height and width, the others having size 1.
fn pool3d(x: &[usize], y: &[usize], a: &PoolAttrs) -> Struct {
    let spatial = x.len() - 2;
    let three = |values: &[usize], fill: usize| array(&pad_front(values, 3, fill));
    Struct::new(
        "pool::Pool3d",
        vec![
            ("planes", usize_(x[0] * x[1])),
            ("shape_in", three(&x[2..], 1)),
            ("shape_out", three(&y[2..], 1)),
            ("kernel", three(&a.kernel_shape, 1)),
            ("strides", three(&a.strides, 1)),
            ("dilations", three(&a.dilations, 1)),
            ("pads_begin", three(&a.pads[..spatial], 0)),
            ("pads_end", three(&a.pads[spatial..], 0)),
            ("count_include_pad", Value::Bool(a.count_include_pad)),
        ],
    )
}

/// `3×3`, `2` for a 1-D list.
fn dims(values: &[usize]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("×")
}

fn fused(a: Activation) -> String {
    match a {
        Activation::None => String::new(),
        Activation::Relu => ", fused Relu".into(),
        Activation::Clip { min, max } => format!(", fused Clip({min}, {max})"),
        Activation::LeakyRelu { alpha } => format!(", fused LeakyRelu({alpha})"),
    }
}

/// What the layer comment says of sparse weights (nothing for dense ones): the format and
/// how many of the `weights` it stores.
fn sparse_detail(encoded: Option<&sparse::Encoded>, weights: usize) -> String {
    match encoded {
        Some(e) => format!(
            ", weights sparse ({}: {} of {} stored)",
            e.format.name(),
            report::group_digits(e.positions.len() as u64),
            report::group_digits(weights as u64)
        ),
        None => String::new(),
    }
}

/// What the layer comment says of an unrolled layer (nothing for the others): how many of its
/// `weights` have a term.
fn unrolled_detail(dot: Option<&crate::backend::UnrolledDot>, weights: usize) -> String {
    match dot {
        Some(dot) => format!(
            ", unrolled, {} of {} weights non-zero",
            report::group_digits(dot.terms() as u64),
            report::group_digits(weights as u64)
        ),
        None => String::new(),
    }
}

/// The docs of a sparse layer's values and of its runs or mask, for `[n, k]` weights named
/// `name`.
fn sparse_docs(
    encoded: &sparse::Encoded,
    name: &str,
    n: usize,
    k: usize,
) -> (String, String) {
    let what = format!(
        "`{name}` as [{n}, {k}] rows without their zeros ({} format), in row order.",
        encoded.format.name()
    );
    let index = match encoded.format {
        sparse::WeightFormat::Runs => format!(
            "Where the values of `{name}` are: before each, the number of zero weights since \
             the previous one (4 bits, two per byte, the first in the low nibble; counted over \
             all {n} rows of {k})."
        ),
        _ => format!(
            "Where the values of `{name}` are: one bit per weight, {} bytes per row, bit q % 8 \
             of byte q / 8 for column q.",
            k.div_ceil(8)
        ),
    };
    (what, index)
}

/// The storage kind of a tensor, for emitters.
pub fn storage(graph: &Graph, t: TensorId) -> Storage {
    graph
        .plan
        .as_ref()
        .expect("the memory plan has run")
        .storage_of(t)
}

/// The iteration space of `GatherElements` over an output of shape `out`: its axes, the
/// stride of each in `x` and the position of the gathered `axis`, with the output's axes of
/// size one dropped and neighbours merged where the outer one's stride in `x` spans the inner
/// one exactly (the gathered axis stays on its own). An NLL loss over `[N, C, d1, ..., d5]`
/// becomes three axes this way, whatever its rank.
fn coalesce_gather_axes(
    x: &[usize],
    out: &[usize],
    axis: usize,
) -> (Vec<usize>, Vec<usize>, usize) {
    let x_strides = strides_of(x);
    // (size, stride in x, whether it is the gathered axis)
    let mut axes: Vec<(usize, usize, bool)> = Vec::new();
    for d in 0..out.len() {
        if out[d] == 1 && d != axis {
            continue;
        }
        let (size, stride, gathered) = (out[d], x_strides[d], d == axis);
        match axes.last_mut() {
            Some(last) if !last.2 && !gathered && last.1 == stride * size => {
                *last = (last.0 * size, stride, false);
            }
            _ => axes.push((size, stride, gathered)),
        }
    }
    let walk_axis = axes
        .iter()
        .position(|a| a.2)
        .expect("the gathered axis is kept");
    (
        axes.iter().map(|a| a.0).collect(),
        axes.iter().map(|a| a.1).collect(),
        walk_axis,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_elements_merges_the_axes_it_walks_alike() {
        // NLL loss: x [2, 3, 2, 2, 2, 2, 2], indices [2, 1, 2, 2, 2, 2, 2] along axis 1.
        let (shape, strides, axis) =
            coalesce_gather_axes(&[2, 3, 2, 2, 2, 2, 2], &[2, 1, 2, 2, 2, 2, 2], 1);
        assert_eq!((shape, strides, axis), (vec![2, 1, 32], vec![96, 32, 1], 1));
        // An outer axis narrower than x merges with a whole inner one; an inner axis narrower
        // than x stays apart.
        let (shape, strides, axis) = coalesce_gather_axes(&[4, 3, 5], &[2, 2, 5], 0);
        assert_eq!((shape, strides, axis), (vec![2, 10], vec![15, 1], 0));
        let (shape, strides, axis) = coalesce_gather_axes(&[4, 3, 5], &[2, 3, 2], 0);
        assert_eq!((shape, strides, axis), (vec![2, 3, 2], vec![15, 5, 1], 0));
        let (shape, strides, axis) = coalesce_gather_axes(&[4, 3, 5], &[4, 3, 2], 2);
        assert_eq!((shape, strides, axis), (vec![12, 2], vec![5, 1], 1));
    }

    #[test]
    fn coalescing_merges_contiguous_axes() {
        // A per-channel bias over NCHW: [1, 4, 3, 3] + [4, 1, 1].
        let (shape, st) = coalesce(
            &[1, 4, 3, 3],
            &[vec![36, 9, 3, 1], vec![4, 1, 0, 0], vec![36, 9, 3, 1]],
        );
        assert_eq!(shape, vec![4, 9]);
        assert_eq!(st, vec![vec![9, 1], vec![1, 0], vec![9, 1]]);
        // Same shapes merge completely.
        let (shape, _) = coalesce(&[2, 3, 4], &[vec![12, 4, 1], vec![12, 4, 1]]);
        assert_eq!(shape, vec![24]);
    }
}
