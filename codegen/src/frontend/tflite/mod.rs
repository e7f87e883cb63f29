//! The TFLite front end: a `.tflite` flatbuffer to IR.
//!
//! ```text
//! bytes ─flatbuffer::Table─▶ Model ─ subgraph 0 ─▶ tensors (dtype, shape, quantization, buffers)
//!                                                └▶ operators ─translate─▶ IR nodes
//! ```
//!
//! TFLite quirks stay here:
//! - An operator's code is the larger of `deprecated_builtin_code` (a byte, the only field
//!   before code 127 existed) and `builtin_code`.
//! - Layout stays NHWC, as in the file: convolutions and pools become channels-last IR ops and
//!   no transposes are added. `CONV_2D` weights are already `[C_out, H, W, C_in]`; the
//!   `[1, H, W, C·M]` weights of `DEPTHWISE_CONV_2D` are re-laid out once, at import, as a
//!   grouped convolution's `[C·M, H, W, 1]` (constant data, so no run-time cost).
//! - Fused activations (`NONE`, `RELU`, `RELU6`, `RELU_N1_TO_1`) become the IR op's
//!   activation; on pools and concatenations, which have none in the IR, a separate node.
//! - Quantization parameters live on tensors (`Tensor::quant`); an op on int8 tensors is an
//!   integer op with TFLite's arithmetic.
//! - `DEQUANTIZE` of a constant (float16 or int8 weights) is done here: its output becomes a
//!   float32 constant. `DEQUANTIZE` of a run-time int8 tensor becomes the IR's `Dequantize`,
//!   and `QUANTIZE` (float32 to int8, or int8 to int8) its `Quantize`; both read their
//!   parameters from the tensors' quantization, so float graph inputs and outputs around int8
//!   internals work.
//! - Int8 operators keep TFLite's arithmetic in the IR's int8 ops: `MUL`, `ADD`, `SUB` (with
//!   broadcasting), `LOGISTIC`, `TANH`, `RELU`, `RELU6`, `RELU_N1_TO_1`, `LEAKY_RELU`, `PRELU`,
//!   `HARD_SWISH`, `MEAN`, `CONCATENATION` (TFLite requires one quantization for every input
//!   and the output, and no fused activation) and `PAD`/`PADV2` (bytes copied unchanged; the
//!   pad value is the output zero point, or `PADV2`'s int8 constant, which must have the
//!   output's quantization and is stored in the IR as the real value it stands for).
//! - `RESHAPE` and `SQUEEZE` take their target shape from the output tensor, which TFLite
//!   stores statically.
//! - A `CONV_2D` with float input and int8 weights of one scale (a "hybrid" layer of a
//!   dynamic-range quantized model) stays a convolution with int8 weights; the evaluator and
//!   the kernel quantize its input per image as TFLite's reference kernel does.
//! - Resource variables (`VAR_HANDLE`, `READ_VARIABLE`, `ASSIGN_VARIABLE`, with initial values
//!   from the subgraph `CALL_ONCE` runs) become the graph's states: see [`Variables`].
//! - Data movement maps onto existing IR ops, on float32 and int8 alike (int8 input and output
//!   share one quantization, so bytes are moved unchanged): `STRIDED_SLICE` becomes a `Slice`
//!   whose bounds are resolved here with TFLite's rules (masks, ellipsis, new axes, `offset`,
//!   clamping), followed by a `Reshape` when axes are shrunk or added; `SPLIT` and `SPLIT_V`
//!   become `Split`; `DEPTH_TO_SPACE` and `SPACE_TO_DEPTH` become `Reshape` → `Transpose` →
//!   `Reshape` (views around one transpose).
//! - `RESIZE_BILINEAR` and `RESIZE_NEAREST_NEIGHBOR` become `Resize` of the NHWC tensor with
//!   the IR's `tflite_*` coordinate transformations: TFLite multiplies the output coordinate by
//!   `in / out` (in `f32`) where ONNX divides by `out / in`, which can pick another nearest
//!   pixel near whole numbers; nearest rounds down, or half away from zero with
//!   `align_corners`. On int8, bilinear resizing has TFLite's own integer arithmetic.
//! - Every operator input that edgegen needs at compile time (a slice's bounds, a split's axis
//!   and sizes, a resize's size) must be a constant; options are checked against the input's
//!   shape and the output shape the model declares, and anything that does not fit is an
//!   import error naming the operator.
//!
//! Every operator is looked at before anything fails, so all unsupported ones are reported at
//! once. Field ids below are those of the TFLite schema (`schema.fbs`), written as constants
//! here rather than generated from a copy of the schema.

mod flatbuffer;
mod ops;

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::frontend::ImportOptions;
use crate::ir::op::{
    AutoPad, BinaryAttrs, ConcatAttrs, ConvAttrs, CoordinateTransformation, GemmAttrs,
    LeakyReluAttrs, NearestMode, PadAttrs, PoolAttrs, ReduceAttrs, ReshapeAttrs,
    ResizeAttrs, ResizeMode, SliceAttrs, SoftmaxAttrs, SplitAttrs, TransposeAttrs,
};
use crate::ir::{
    Activation, DType, Graph, Node, Op, Quantization, SourceInfo, StateVariable, Tensor,
    TensorData, TensorId, validate,
};
use crate::kernels::weights::f16_to_f32;
use flatbuffer::{FlatError, Table};
use ops::code;

/// Field ids of the tables we read.
mod field {
    pub const MODEL_VERSION: usize = 0;
    pub const MODEL_OPERATOR_CODES: usize = 1;
    pub const MODEL_SUBGRAPHS: usize = 2;
    pub const MODEL_DESCRIPTION: usize = 3;
    pub const MODEL_BUFFERS: usize = 4;

    pub const OPCODE_DEPRECATED_BUILTIN: usize = 0;
    pub const OPCODE_CUSTOM: usize = 1;
    pub const OPCODE_BUILTIN: usize = 3;

    pub const SUBGRAPH_TENSORS: usize = 0;
    pub const SUBGRAPH_INPUTS: usize = 1;
    pub const SUBGRAPH_OUTPUTS: usize = 2;
    pub const SUBGRAPH_OPERATORS: usize = 3;
    pub const SUBGRAPH_NAME: usize = 4;

    pub const TENSOR_SHAPE: usize = 0;
    pub const TENSOR_TYPE: usize = 1;
    pub const TENSOR_BUFFER: usize = 2;
    pub const TENSOR_NAME: usize = 3;
    pub const TENSOR_QUANTIZATION: usize = 4;
    pub const TENSOR_IS_VARIABLE: usize = 5;
    pub const TENSOR_SPARSITY: usize = 6;

    pub const QUANT_SCALE: usize = 2;
    pub const QUANT_ZERO_POINT: usize = 3;
    pub const QUANT_DIMENSION: usize = 6;

    pub const BUFFER_DATA: usize = 0;
    pub const BUFFER_OFFSET: usize = 1;
    pub const BUFFER_SIZE: usize = 2;

    pub const OPERATOR_OPCODE_INDEX: usize = 0;
    pub const OPERATOR_INPUTS: usize = 1;
    pub const OPERATOR_OUTPUTS: usize = 2;
    pub const OPERATOR_OPTIONS: usize = 4;
}

/// `TensorType` codes.
fn dtype_from_tflite(code: i8) -> std::result::Result<DType, &'static str> {
    Ok(match code {
        0 => DType::F32,
        2 => DType::I32,
        3 => DType::U8,
        4 => DType::I64,
        6 => DType::Bool,
        7 => DType::I16,
        9 => DType::I8,
        10 => DType::F64,
        12 => DType::U64,
        15 => DType::U32,
        16 => DType::U16,
        1 => return Err("float16"),
        5 => return Err("string"),
        8 => return Err("complex64"),
        11 => return Err("complex128"),
        13 => return Err("resource"),
        14 => return Err("variant"),
        17 => return Err("int4"),
        18 => return Err("bfloat16"),
        _ => return Err("an unknown type"),
    })
}

/// The TFLite tensor type code of float16.
const FLOAT16: i8 = 1;

fn flat(e: FlatError) -> Error {
    Error::invalid_model(format!(
        "not a valid TFLite model (the flatbuffer is malformed or truncated: {e})"
    ))
}

/// Reads a TFLite model.
pub fn import(bytes: &[u8], source: SourceInfo, options: &ImportOptions) -> Result<Graph> {
    let model = Table::root(bytes).map_err(flat)?;
    let version: u32 = model.scalar(field::MODEL_VERSION, 0).map_err(flat)?;
    if version != 3 {
        return Err(Error::unsupported(format!(
            "the model uses TFLite schema version {version}; edgegen reads version 3"
        )));
    }
    let subgraphs = model.tables(field::MODEL_SUBGRAPHS).map_err(flat)?;
    let Some(main) = subgraphs.first() else {
        return Err(Error::invalid_model("the TFLite model has no subgraph"));
    };
    let mut source = source;
    let description = model
        .string(field::MODEL_DESCRIPTION)
        .map_err(flat)?
        .unwrap_or_default();
    source.description = if description.is_empty() {
        "TFLite schema 3".to_string()
    } else {
        format!("TFLite schema 3, produced by {description}")
    };
    let name = main
        .string(field::SUBGRAPH_NAME)
        .map_err(flat)?
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "model".to_string());
    let mut importer = Importer {
        bytes,
        buffers: model.tables(field::MODEL_BUFFERS).map_err(flat)?,
        opcodes: read_opcodes(&model).map_err(flat)?,
        graph: Graph {
            name,
            source,
            ..Graph::default()
        },
        tensors: Vec::new(),
        names: Vec::new(),
        unsupported: Vec::new(),
        problems: Vec::new(),
        subgraphs: subgraphs.clone(),
        variables: Variables::default(),
    };
    importer.tensors(main)?;
    importer.inputs(main, options)?;
    for op in main.tables(field::SUBGRAPH_OPERATORS).map_err(flat)? {
        importer.operator(&op).map_err(flat)?;
    }
    if let Some(e) = super::import_problems(&importer.unsupported, &importer.problems) {
        return Err(e);
    }
    importer.outputs(main)?;
    importer.states()?;
    let mut graph = importer.graph;
    graph.sort_topologically().map_err(Error::invalid_model)?;
    validate(&graph, validate::Stage::Imported).map_err(|e| {
        Error::invalid_model(format!("the TFLite model is inconsistent:\n{e}"))
    })?;
    Ok(graph)
}

/// An operator code: the builtin code, or a custom operator's name.
#[derive(Clone, Debug)]
enum OpCode {
    Builtin(i32),
    Custom(String),
}

fn read_opcodes(model: &Table) -> std::result::Result<Vec<OpCode>, FlatError> {
    model
        .tables(field::MODEL_OPERATOR_CODES)?
        .iter()
        .map(|c| {
            let deprecated: i8 = c.scalar(field::OPCODE_DEPRECATED_BUILTIN, 0)?;
            let builtin: i32 = c.scalar(field::OPCODE_BUILTIN, 0)?;
            let code = builtin.max(deprecated as i32);
            Ok(if code == 32 {
                OpCode::Custom(c.string(field::OPCODE_CUSTOM)?.unwrap_or_default())
            } else {
                OpCode::Builtin(code)
            })
        })
        .collect()
}

/// What a TFLite tensor became in the IR.
#[derive(Clone, Debug)]
enum Slot {
    Tensor(TensorId),
    /// A tensor of a type the IR cannot hold (named in messages if an operator uses it).
    Unsupported(String),
}

struct Importer<'a> {
    bytes: &'a [u8],
    buffers: Vec<Table<'a>>,
    opcodes: Vec<OpCode>,
    graph: Graph,
    /// The IR tensor of each TFLite tensor index.
    tensors: Vec<Slot>,
    /// The name of each TFLite tensor, for messages.
    names: Vec<String>,
    unsupported: Vec<String>,
    problems: Vec<String>,
    subgraphs: Vec<Table<'a>>,
    variables: Variables,
}

/// Resource variables: `VAR_HANDLE` names a variable, `READ_VARIABLE` and `ASSIGN_VARIABLE`
/// read and write it, and `CALL_ONCE` runs an initialization subgraph that assigns the initial
/// values. A variable that is read before it is written becomes a state of the graph
/// ([`crate::ir::StateVariable`]): the first read is the state's input, the last value assigned
/// its output. One that is only read is the constant of its initial value.
#[derive(Default)]
struct Variables {
    /// The variable named by each resource tensor of the main subgraph (by tensor index).
    handles: HashMap<i32, String>,
    /// Initial values (constant IR tensors) assigned by the initialization subgraph.
    initial: HashMap<String, TensorId>,
    /// The tensor each variable was first read into, in the order of first reads.
    first_read: Vec<(String, TensorId)>,
    /// The value each variable holds now, in operator order.
    current: HashMap<String, TensorId>,
    /// Initialization subgraphs already run.
    initialized: Vec<u32>,
}

/// Options of one operator, read by field id with the schema's defaults.
struct Options<'a>(Option<Table<'a>>);

impl Options<'_> {
    fn int(&self, id: usize, default: i32) -> std::result::Result<i32, FlatError> {
        self.0.map_or(Ok(default), |t| t.scalar(id, default))
    }
    fn byte(&self, id: usize, default: i8) -> std::result::Result<i8, FlatError> {
        self.0.map_or(Ok(default), |t| t.scalar(id, default))
    }
    fn float(&self, id: usize, default: f32) -> std::result::Result<f32, FlatError> {
        self.0.map_or(Ok(default), |t| t.scalar(id, default))
    }
    fn flag(&self, id: usize) -> std::result::Result<bool, FlatError> {
        self.0.map_or(Ok(false), |t| t.scalar(id, false))
    }
}

impl<'a> Importer<'a> {
    /// The bytes of buffer `index` (stored inline, or after the flatbuffer for models over
    /// 2 GB, at an absolute `offset`).
    fn buffer(&self, index: usize) -> std::result::Result<&'a [u8], String> {
        let Some(buffer) = self.buffers.get(index) else {
            return Err(format!(
                "refers to buffer {index}, but the model has {}",
                self.buffers.len()
            ));
        };
        let e = |e: FlatError| e.to_string();
        let offset: u64 = buffer.scalar(field::BUFFER_OFFSET, 0).map_err(e)?;
        if offset > 1 {
            let size: u64 = buffer.scalar(field::BUFFER_SIZE, 0).map_err(e)?;
            return usize::try_from(offset)
                .ok()
                .zip(usize::try_from(size).ok())
                .and_then(|(o, s)| self.bytes.get(o..o.checked_add(s)?))
                .ok_or_else(|| {
                    format!("buffer {index} lies outside the file (offset {offset}, {size} bytes)")
                });
        }
        buffer.bytes(field::BUFFER_DATA).map_err(e)
    }

    fn tensors(&mut self, subgraph: &Table<'a>) -> Result<()> {
        let tables = subgraph.tables(field::SUBGRAPH_TENSORS).map_err(flat)?;
        for (index, t) in tables.iter().enumerate() {
            let name = t
                .string(field::TENSOR_NAME)
                .map_err(flat)?
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("tensor_{index}"));
            let slot = self.tensor(name.clone(), t).map_err(flat)?;
            self.tensors.push(slot);
            self.names.push(name);
        }
        if !self.problems.is_empty() {
            return Err(Error::invalid_model(self.problems.join("\n")));
        }
        Ok(())
    }

    /// The IR tensor of one TFLite tensor (named `name`), or why it cannot be one.
    fn tensor(
        &mut self,
        name: String,
        t: &Table<'a>,
    ) -> std::result::Result<Slot, FlatError> {
        let type_code: i8 = t.scalar(field::TENSOR_TYPE, 0)?;
        let dims: Vec<i32> = t.scalars(field::TENSOR_SHAPE)?;
        let buffer: u32 = t.scalar(field::TENSOR_BUFFER, 0)?;
        if t.table(field::TENSOR_SPARSITY)?.is_some() {
            return Ok(Slot::Unsupported(format!(
                "'{name}' is stored sparse (TFLite sparsity), which edgegen does not read"
            )));
        }
        if t.scalar(field::TENSOR_IS_VARIABLE, false)? {
            return Ok(Slot::Unsupported(format!(
                "'{name}' is a variable tensor (stateful models are not supported yet)"
            )));
        }
        // A dimension of -1 marks a dynamic batch in models that keep one; it is fixed to 1.
        let mut shape = Vec::with_capacity(dims.len());
        for (axis, &d) in dims.iter().enumerate() {
            match d {
                d if d >= 0 => shape.push(d as usize),
                -1 if axis == 0 => shape.push(1),
                _ => {
                    self.problems.push(format!(
                        "tensor '{name}' has the dimension {d} on axis {axis}"
                    ));
                    return Ok(Slot::Unsupported(name));
                }
            }
        }
        let Some(len) = crate::ir::checked_len(&shape) else {
            self.problems.push(format!(
                "tensor '{name}' of shape {shape:?} has more than {} elements",
                crate::ir::MAX_ELEMENTS
            ));
            return Ok(Slot::Unsupported(name));
        };
        let data_bytes = if buffer > 0 {
            match self.buffer(buffer as usize) {
                Ok(bytes) => bytes,
                Err(e) => {
                    self.problems.push(format!("tensor '{name}' {e}"));
                    return Ok(Slot::Unsupported(name));
                }
            }
        } else {
            &[]
        };
        let (dtype, data) = match dtype_from_tflite(type_code) {
            Ok(dtype) => {
                let data = if data_bytes.is_empty() {
                    None
                } else if data_bytes.len() != len * dtype.size_bytes() {
                    self.problems.push(format!(
                        "tensor '{name}' {dtype} {shape:?} has {} bytes of data, expected {}",
                        data_bytes.len(),
                        len * dtype.size_bytes()
                    ));
                    return Ok(Slot::Unsupported(name));
                } else {
                    TensorData::from_le_bytes(dtype, data_bytes)
                };
                (dtype, data)
            }
            // Float16 weights are read as float32 (TFLite dequantizes them before use).
            Err(_) if type_code == FLOAT16 && data_bytes.len() == 2 * len && len > 0 => {
                let values = data_bytes
                    .chunks_exact(2)
                    .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                    .collect();
                (DType::F32, Some(TensorData::F32(values)))
            }
            Err(kind) => {
                return Ok(Slot::Unsupported(format!(
                    "'{name}' has element type {kind}, which edgegen does not support"
                )));
            }
        };
        let quant = match t.table(field::TENSOR_QUANTIZATION)? {
            Some(q) if dtype.is_integer() => {
                let scale: Vec<f32> = q.scalars(field::QUANT_SCALE)?;
                let zero_point: Vec<i64> = q.scalars(field::QUANT_ZERO_POINT)?;
                let axis: i32 = q.scalar(field::QUANT_DIMENSION, 0)?;
                if scale.is_empty() {
                    None
                } else {
                    // Some converters write a single zero point for per-axis scales.
                    let zero_point = if zero_point.len() == 1 && scale.len() > 1 {
                        vec![zero_point[0]; scale.len()]
                    } else {
                        zero_point
                    };
                    let zero_point: Option<Vec<i32>> =
                        zero_point.iter().map(|&z| i32::try_from(z).ok()).collect();
                    match zero_point {
                        Some(zero_point) if axis >= 0 => Some(Quantization {
                            axis: if scale.len() > 1 { axis as usize } else { 0 },
                            scale,
                            zero_point,
                            int4: false,
                        }),
                        _ => {
                            self.problems.push(format!(
                                "tensor '{name}' has invalid quantization parameters"
                            ));
                            return Ok(Slot::Unsupported(name));
                        }
                    }
                }
            }
            _ => None,
        };
        let name = self.graph.unique_name(&name);
        let id = self.graph.add_tensor(Tensor {
            name,
            dtype,
            shape: Some(shape),
            data,
            quant,
            storage: None,
        });
        Ok(Slot::Tensor(id))
    }

    fn inputs(&mut self, subgraph: &Table<'a>, options: &ImportOptions) -> Result<()> {
        let indices: Vec<i32> = subgraph.scalars(field::SUBGRAPH_INPUTS).map_err(flat)?;
        let mut overrides: HashMap<&str, &Vec<usize>> = options
            .input_shapes
            .iter()
            .map(|(n, s)| (n.as_str(), s))
            .collect();
        for index in indices {
            let id = self.slot(index).map_err(Error::unsupported)?;
            let tensor = self.graph.tensor(id);
            if tensor.is_constant() {
                return Err(Error::invalid_model(format!(
                    "graph input '{}' holds constant data",
                    tensor.name
                )));
            }
            if let Some(shape) = overrides.remove(tensor.name.as_str())
                && Some(shape) != tensor.shape.as_ref()
            {
                return Err(Error::invalid_argument(format!(
                    "--input-shape {}: TFLite models have static shapes; this input is {:?}",
                    tensor.name,
                    tensor.shape()
                )));
            }
            self.graph.inputs.push(id);
        }
        if let Some(name) = overrides.keys().next() {
            return Err(Error::invalid_argument(format!(
                "--input-shape names '{name}', which is not an input of the model"
            )));
        }
        Ok(())
    }

    fn outputs(&mut self, subgraph: &Table<'a>) -> Result<()> {
        let indices: Vec<i32> = subgraph.scalars(field::SUBGRAPH_OUTPUTS).map_err(flat)?;
        if indices.is_empty() {
            return Err(Error::invalid_model("the graph has no outputs"));
        }
        for index in indices {
            let id = self.slot(index).map_err(Error::unsupported)?;
            self.graph.outputs.push(id);
        }
        Ok(())
    }

    /// The IR tensor of TFLite tensor `index`.
    fn slot(&self, index: i32) -> std::result::Result<TensorId, String> {
        match usize::try_from(index)
            .ok()
            .and_then(|i| self.tensors.get(i))
        {
            Some(Slot::Tensor(id)) => Ok(*id),
            Some(Slot::Unsupported(why)) => Err(why.clone()),
            None => Err(format!(
                "tensor index {index} is out of range (the subgraph has {} tensors)",
                self.tensors.len()
            )),
        }
    }

    fn operator(&mut self, op: &Table<'a>) -> std::result::Result<(), FlatError> {
        let opcode_index: u32 = op.scalar(field::OPERATOR_OPCODE_INDEX, 0)?;
        let inputs: Vec<i32> = op.scalars(field::OPERATOR_INPUTS)?;
        let outputs: Vec<i32> = op.scalars(field::OPERATOR_OUTPUTS)?;
        let options = Options(op.table(field::OPERATOR_OPTIONS)?);
        let index = self.graph.nodes.len();
        // Operators have no names in TFLite; the first output's name identifies one.
        let name = outputs
            .first()
            .and_then(|&o| usize::try_from(o).ok())
            .and_then(|o| self.names.get(o))
            .cloned()
            .unwrap_or_else(|| format!("operator_{index}"));
        let code = match self.opcodes.get(opcode_index as usize) {
            Some(OpCode::Builtin(code)) => *code,
            Some(OpCode::Custom(custom)) => {
                self.unsupported
                    .push(format!("custom operator {custom} ('{name}')"));
                return Ok(());
            }
            None => {
                self.problems.push(format!(
                    "operator '{name}' uses operator code {opcode_index}, but the model has {}",
                    self.opcodes.len()
                ));
                return Ok(());
            }
        };
        let op_name = ops::builtin_name(code).unwrap_or("an unknown operator");
        if !ops::SUPPORTED.contains(&code) {
            self.unsupported.push(format!("{op_name} ('{name}')"));
            return Ok(());
        }
        if matches!(
            code,
            code::CALL_ONCE
                | code::VAR_HANDLE
                | code::READ_VARIABLE
                | code::ASSIGN_VARIABLE
        ) {
            if let Err(e) = self.variable_op(code, &inputs, &outputs, &options) {
                self.problems.push(format!("{op_name} '{name}': {e}"));
            }
            return Ok(());
        }
        let resolve = |list: &[i32]| -> std::result::Result<Vec<Option<TensorId>>, String> {
            list.iter()
                .map(|&i| {
                    if i < 0 {
                        Ok(None)
                    } else {
                        self.slot(i).map(Some)
                    }
                })
                .collect()
        };
        let (ins, outs) = match (resolve(&inputs), resolve(&outputs)) {
            (Ok(i), Ok(o)) => (i, o),
            (Err(e), _) | (_, Err(e)) => {
                self.problems.push(format!("{op_name} '{name}': {e}"));
                return Ok(());
            }
        };
        let Some(outs) = outs.into_iter().collect::<Option<Vec<TensorId>>>() else {
            self.problems
                .push(format!("{op_name} '{name}' has an absent output"));
            return Ok(());
        };
        let mut t = Translation {
            importer: self,
            name: name.clone(),
            ins,
            outs,
        };
        match t.translate(code, &options) {
            Ok(true) => {}
            Ok(false) => self.unsupported.push(format!("{op_name} ('{name}')")),
            Err(Problem::Flat(e)) => return Err(e),
            Err(Problem::Model(e)) => {
                self.problems.push(format!("{op_name} '{name}': {e}"))
            }
            Err(Problem::Unsupported(why)) => self
                .unsupported
                .push(format!("{op_name} ('{name}'): {why}")),
        }
        Ok(())
    }
}

/// `VarHandleOptions`: container 0, shared_name 1. `CallOnceOptions`: init_subgraph_index 0.
const VAR_HANDLE_SHARED_NAME: usize = 1;
const CALL_ONCE_INIT_SUBGRAPH: usize = 0;

impl<'a> Importer<'a> {
    /// `CALL_ONCE`, `VAR_HANDLE`, `READ_VARIABLE` or `ASSIGN_VARIABLE` of the main subgraph.
    fn variable_op(
        &mut self,
        code: i32,
        inputs: &[i32],
        outputs: &[i32],
        options: &Options<'a>,
    ) -> std::result::Result<(), String> {
        let e = |e: FlatError| e.to_string();
        match code {
            code::CALL_ONCE => {
                let index = options.int(CALL_ONCE_INIT_SUBGRAPH, 0).map_err(e)?;
                self.initialize(index)
            }
            code::VAR_HANDLE => {
                let name = variable_name(options)?;
                let &[handle] = outputs else {
                    return Err("takes one output".into());
                };
                self.variables.handles.insert(handle, name);
                Ok(())
            }
            code::READ_VARIABLE => {
                let (&[handle], &[out]) = (inputs, outputs) else {
                    return Err("takes one input and one output".into());
                };
                let name = self.handle(handle)?;
                let out = self.slot(out)?;
                let earlier = self.variables.current.get(&name).copied().or_else(|| {
                    let first = self.variables.first_read.iter().find(|(n, _)| *n == name);
                    first.map(|&(_, t)| t)
                });
                match earlier {
                    // A later read sees the value read or assigned before.
                    Some(value) => self.graph.nodes.push(Node {
                        name: self.graph.tensor(out).name.clone(),
                        op: Op::Copy,
                        inputs: vec![value],
                        params: Vec::new(),
                        outputs: vec![out],
                    }),
                    None => self.variables.first_read.push((name, out)),
                }
                Ok(())
            }
            code::ASSIGN_VARIABLE => {
                let &[handle, value] = inputs else {
                    return Err("takes two inputs".into());
                };
                let name = self.handle(handle)?;
                let value = self.slot(value)?;
                self.variables.current.insert(name, value);
                Ok(())
            }
            _ => unreachable!("only variable operators are passed here"),
        }
    }

    fn handle(&self, tensor: i32) -> std::result::Result<String, String> {
        self.variables.handles.get(&tensor).cloned().ok_or_else(|| {
            format!("tensor {tensor} is not a variable handle made by VAR_HANDLE before")
        })
    }

    /// Runs initialization subgraph `index` (of `CALL_ONCE`): its `ASSIGN_VARIABLE`s of
    /// constants give the variables' initial values.
    fn initialize(&mut self, index: i32) -> std::result::Result<(), String> {
        let e = |e: FlatError| e.to_string();
        let Some(subgraph) = usize::try_from(index)
            .ok()
            .filter(|&i| i > 0)
            .and_then(|i| self.subgraphs.get(i))
            .copied()
        else {
            return Err(format!(
                "runs subgraph {index}, which is not an initialization subgraph of this model"
            ));
        };
        if self.variables.initialized.contains(&(index as u32)) {
            return Ok(());
        }
        self.variables.initialized.push(index as u32);
        let tensors = subgraph.tables(field::SUBGRAPH_TENSORS).map_err(e)?;
        let mut handles: HashMap<i32, String> = HashMap::new();
        for op in subgraph.tables(field::SUBGRAPH_OPERATORS).map_err(e)? {
            let opcode_index: u32 =
                op.scalar(field::OPERATOR_OPCODE_INDEX, 0).map_err(e)?;
            let inputs: Vec<i32> = op.scalars(field::OPERATOR_INPUTS).map_err(e)?;
            let outputs: Vec<i32> = op.scalars(field::OPERATOR_OUTPUTS).map_err(e)?;
            let options = Options(op.table(field::OPERATOR_OPTIONS).map_err(e)?);
            let code = match self.opcodes.get(opcode_index as usize) {
                Some(OpCode::Builtin(code)) => *code,
                _ => -1,
            };
            match (code, inputs.as_slice(), outputs.as_slice()) {
                (code::VAR_HANDLE, _, &[handle]) => {
                    handles.insert(handle, variable_name(&options)?);
                }
                (code::ASSIGN_VARIABLE, &[handle, value], _) => {
                    let name = handles.get(&handle).cloned().ok_or_else(|| {
                        format!("subgraph {index} assigns tensor {handle}, not a variable")
                    })?;
                    let table = usize::try_from(value)
                        .ok()
                        .and_then(|v| tensors.get(v))
                        .ok_or_else(|| format!("subgraph {index} has no tensor {value}"))?;
                    let tensor_name = table
                        .string(field::TENSOR_NAME)
                        .map_err(e)?
                        .unwrap_or_else(|| format!("{name}/initial"));
                    match self.tensor(tensor_name, table).map_err(e)? {
                        Slot::Tensor(id) if self.graph.tensor(id).is_constant() => {
                            self.variables.initial.insert(name, id);
                        }
                        _ => {
                            return Err(format!(
                                "the initial value of variable '{name}' is not a constant                                  (initialization subgraphs that compute are not supported)"
                            ));
                        }
                    }
                }
                _ => {
                    let op_name = ops::builtin_name(code).unwrap_or("an unknown operator");
                    return Err(format!(
                        "the initialization subgraph {index} uses {op_name}; only VAR_HANDLE and                          ASSIGN_VARIABLE of constants are supported there"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Turns the variables into the graph's states (after the model's outputs are known).
    fn states(&mut self) -> Result<()> {
        let mut problems = Vec::new();
        for (name, input) in std::mem::take(&mut self.variables.first_read) {
            let tensor = self.graph.tensor(input).clone();
            let initial = self
                .variables
                .initial
                .get(&name)
                .and_then(|&t| self.graph.tensor(t).data.clone());
            let Some(initial) = initial else {
                problems.push(format!(
                    "variable '{name}' is read before it is assigned and has no initial value"
                ));
                continue;
            };
            if initial.dtype() != tensor.dtype
                || Some(initial.len())
                    != tensor.shape.as_deref().map(crate::ir::num_elements)
            {
                problems.push(format!(
                    "variable '{name}' starts as {} {} values but is read as '{}' {} {:?}",
                    initial.len(),
                    initial.dtype(),
                    tensor.name,
                    tensor.dtype,
                    tensor.shape()
                ));
                continue;
            }
            match self.variables.current.get(&name) {
                Some(&output) if output != input => {
                    self.graph.inputs.push(input);
                    self.graph.outputs.push(output);
                    self.graph.states.push(StateVariable { name, initial });
                }
                // Never assigned a new value: a constant.
                _ => self.graph.tensor_mut(input).data = Some(initial),
            }
        }
        // The states' inputs and outputs were pushed in the same order, after the model's own
        // (`outputs` ran before), as `Graph::states` requires.
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_model(problems.join("\n")))
        }
    }
}

/// The `shared_name` of a `VAR_HANDLE`, which identifies its variable across subgraphs.
fn variable_name(options: &Options) -> std::result::Result<String, String> {
    let name = match options.0 {
        Some(t) => t
            .string(VAR_HANDLE_SHARED_NAME)
            .map_err(|e| e.to_string())?,
        None => None,
    };
    name.filter(|n| !n.is_empty())
        .ok_or_else(|| "VAR_HANDLE without a shared_name".to_string())
}

/// Why an operator could not be translated.
enum Problem {
    Flat(FlatError),
    Model(String),
    /// A supported operator used in a way edgegen does not support, and why.
    Unsupported(String),
}

impl From<FlatError> for Problem {
    fn from(e: FlatError) -> Problem {
        Problem::Flat(e)
    }
}

impl From<String> for Problem {
    fn from(e: String) -> Problem {
        Problem::Model(e)
    }
}

impl From<&str> for Problem {
    fn from(e: &str) -> Problem {
        Problem::Model(e.to_string())
    }
}

/// One operator being translated.
struct Translation<'i, 'a> {
    importer: &'i mut Importer<'a>,
    name: String,
    ins: Vec<Option<TensorId>>,
    outs: Vec<TensorId>,
}

/// `Padding` codes.
const PADDING_SAME: i8 = 0;
const PADDING_VALID: i8 = 1;

impl Translation<'_, '_> {
    fn graph(&mut self) -> &mut Graph {
        &mut self.importer.graph
    }

    /// Required input `i`.
    fn input(&self, i: usize) -> std::result::Result<TensorId, Problem> {
        self.ins
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| Problem::Model(format!("input {i} is missing")))
    }

    fn output(&self) -> std::result::Result<TensorId, Problem> {
        match self.outs.as_slice() {
            [o] => Ok(*o),
            _ => Err(Problem::Model(format!(
                "has {} outputs, expected 1",
                self.outs.len()
            ))),
        }
    }

    fn shape(&self, t: TensorId) -> Vec<usize> {
        self.importer.graph.tensor(t).shape().to_vec()
    }

    /// Integer data of a constant input (a shape, axes, pads).
    fn constant_ints(&self, i: usize) -> std::result::Result<Vec<i64>, Problem> {
        let t = self.input(i)?;
        let tensor = self.importer.graph.tensor(t);
        tensor
            .data
            .as_ref()
            .and_then(|d| d.to_i64_vec())
            .ok_or_else(|| {
                Problem::Model(format!(
                    "input '{}' must be a constant integer tensor",
                    tensor.name
                ))
            })
    }

    fn node(&mut self, op: Op, inputs: Vec<TensorId>, outputs: Vec<TensorId>) {
        let name = self.name.clone();
        self.graph().nodes.push(Node {
            name,
            op,
            inputs,
            params: vec![],
            outputs,
        });
    }

    /// An intermediate tensor like `like` (same type and quantization), shape unknown.
    fn temporary(&mut self, like: TensorId, suffix: &str) -> TensorId {
        let base = self.importer.graph.tensor(like).clone();
        let name = self
            .importer
            .graph
            .unique_name(&format!("{}/{suffix}", self.name));
        self.graph().add_tensor(Tensor {
            name,
            dtype: base.dtype,
            shape: None,
            data: None,
            quant: base.quant,
            storage: None,
        })
    }

    /// `op` followed by the fused activation: in the op when it has one, else as a node.
    fn with_activation(
        &mut self,
        mut op: Op,
        inputs: Vec<TensorId>,
        fused: i8,
    ) -> std::result::Result<bool, Problem> {
        let out = self.output()?;
        let Some(activation) = fused_activation(fused)? else {
            return Ok(false);
        };
        if let Some(slot) = op.activation_mut() {
            *slot = activation;
            self.node(op, inputs, vec![out]);
            return Ok(true);
        }
        if activation == Activation::None {
            self.node(op, inputs, vec![out]);
            return Ok(true);
        }
        let mid = self.temporary(out, "pre_activation");
        self.node(op, inputs, vec![mid]);
        let act = match activation {
            Activation::Relu => Op::Relu,
            Activation::Clip { min, max } => {
                Op::Clip(crate::ir::op::ClipAttrs { min, max })
            }
            _ => return Ok(false),
        };
        self.node(act, vec![mid], vec![out]);
        Ok(true)
    }

    /// Translates the operator; `Ok(false)` when edgegen does not support it.
    fn translate(
        &mut self,
        code: i32,
        options: &Options,
    ) -> std::result::Result<bool, Problem> {
        match code {
            code::CONV_2D => self.conv(options, false),
            code::DEPTHWISE_CONV_2D => self.conv(options, true),
            code::FULLY_CONNECTED => self.fully_connected(options),
            code::AVERAGE_POOL_2D | code::MAX_POOL_2D => self.pool(code, options),
            code::ADD | code::SUB | code::MUL | code::DIV => {
                let attrs = BinaryAttrs::default();
                let op = match code {
                    code::ADD => Op::Add(attrs),
                    code::SUB => Op::Sub(attrs),
                    code::MUL => Op::Mul(attrs),
                    _ => Op::Div(attrs),
                };
                let inputs = vec![self.input(0)?, self.input(1)?];
                self.with_activation(op, inputs, options.byte(0, 0)?)
            }
            code::RESHAPE | code::SQUEEZE | code::EXPAND_DIMS => {
                // The output tensor's static shape is the target.
                let (x, out) = (self.input(0)?, self.output()?);
                let shape: Vec<i64> = self.shape(out).iter().map(|&d| d as i64).collect();
                let shape_name = format!("{}/shape", self.name);
                let n = shape.len();
                let shape_id =
                    self.graph()
                        .add_constant(&shape_name, vec![n], TensorData::I64(shape));
                let name = self.name.clone();
                self.graph().nodes.push(Node {
                    name,
                    op: Op::Reshape(ReshapeAttrs::default()),
                    inputs: vec![x],
                    params: vec![Some(shape_id)],
                    outputs: vec![out],
                });
                Ok(true)
            }
            code::SOFTMAX => {
                let beta = options.float(0, 1.0)?;
                let (x, out) = (self.input(0)?, self.output()?);
                self.node(
                    Op::Softmax(SoftmaxAttrs {
                        axis: -1,
                        coerce_2d: false,
                        beta,
                    }),
                    vec![x],
                    vec![out],
                );
                Ok(true)
            }
            code::LOGISTIC
            | code::TANH
            | code::RELU
            | code::RELU6
            | code::RELU_N1_TO_1
            | code::HARD_SWISH => {
                let op = match code {
                    code::LOGISTIC => Op::Sigmoid,
                    code::TANH => Op::Tanh,
                    code::RELU => Op::Relu,
                    code::RELU6 => {
                        Op::Clip(crate::ir::op::ClipAttrs { min: 0.0, max: 6.0 })
                    }
                    code::RELU_N1_TO_1 => Op::Clip(crate::ir::op::ClipAttrs {
                        min: -1.0,
                        max: 1.0,
                    }),
                    _ => Op::HardSwish,
                };
                let (x, out) = (self.input(0)?, self.output()?);
                self.node(op, vec![x], vec![out]);
                Ok(true)
            }
            code::LEAKY_RELU => {
                let alpha = options.float(0, 0.2)?;
                let (x, out) = (self.input(0)?, self.output()?);
                self.node(Op::LeakyRelu(LeakyReluAttrs { alpha }), vec![x], vec![out]);
                Ok(true)
            }
            code::PRELU => {
                let (x, slope, out) = (self.input(0)?, self.input(1)?, self.output()?);
                self.node(Op::PRelu, vec![x, slope], vec![out]);
                Ok(true)
            }
            code::CONCATENATION => {
                let axis = options.int(0, 0)? as i64;
                let inputs: Vec<TensorId> = (0..self.ins.len())
                    .map(|i| self.input(i))
                    .collect::<std::result::Result<_, _>>()?;
                self.with_activation(
                    Op::Concat(ConcatAttrs { axis }),
                    inputs,
                    options.byte(1, 0)?,
                )
            }
            code::PAD | code::PADV2 => {
                let x = self.input(0)?;
                let rank = self.shape(x).len();
                let pairs = self.constant_ints(1)?;
                if pairs.len() != 2 * rank {
                    return Err(format!(
                        "paddings have {} values for rank {rank}",
                        pairs.len()
                    )
                    .into());
                }
                let mut pads: Vec<i64> = pairs.iter().step_by(2).copied().collect();
                pads.extend(pairs.iter().skip(1).step_by(2));
                let out = self.output()?;
                let value = if code == code::PADV2 && self.ins.len() > 2 {
                    let t = self.input(2)?;
                    let constant = self.importer.graph.tensor(t);
                    let output_quant = &self.importer.graph.tensor(out).quant;
                    match (constant.data.as_ref(), &constant.quant) {
                        (Some(TensorData::F32(v)), None) if v.len() == 1 => v[0],
                        (Some(TensorData::I8(v)), Some(q)) if v.len() == 1 => {
                            // TFLite pads with the raw byte and checks that it shares the
                            // output's quantization; the IR holds the real value it means.
                            if Some(q) != output_quant.as_ref() {
                                return Err("the int8 pad value must have the output's \
                                            quantization"
                                    .into());
                            }
                            let (scale, zero_point) = q.single().ok_or(
                                "the int8 pad value needs per-tensor quantization parameters",
                            )?;
                            scale * (v[0] as i32 - zero_point) as f32
                        }
                        _ => return Ok(false),
                    }
                } else {
                    0.0
                };
                self.node(
                    Op::Pad(PadAttrs {
                        pads,
                        value,
                        ..Default::default()
                    }),
                    vec![x],
                    vec![out],
                );
                Ok(true)
            }
            code::MEAN => {
                let x = self.input(0)?;
                let axes = self.constant_ints(1)?;
                let keepdims = options.flag(0)?;
                let out = self.output()?;
                self.node(
                    Op::ReduceMean(ReduceAttrs {
                        axes: Some(axes),
                        keepdims,
                        noop_with_empty_axes: false,
                    }),
                    vec![x],
                    vec![out],
                );
                Ok(true)
            }
            code::TRANSPOSE => {
                let x = self.input(0)?;
                let perm = self.constant_ints(1)?;
                let rank = self.shape(x).len();
                let mut seen = vec![false; rank];
                let mut resolved = Vec::with_capacity(rank);
                for &p in &perm {
                    let p = usize::try_from(p).ok().filter(|&p| p < rank && !seen[p]);
                    let Some(p) = p else {
                        return Err(format!(
                            "{perm:?} is not a permutation of {rank} axes"
                        )
                        .into());
                    };
                    seen[p] = true;
                    resolved.push(p);
                }
                let out = self.output()?;
                self.node(
                    Op::Transpose(TransposeAttrs {
                        perm: Some(resolved),
                    }),
                    vec![x],
                    vec![out],
                );
                Ok(true)
            }
            code::DEQUANTIZE => self.dequantize(),
            code::QUANTIZE => {
                let (x, out) = (self.input(0)?, self.output()?);
                self.node(Op::Quantize, vec![x], vec![out]);
                Ok(true)
            }
            code::STRIDED_SLICE => self.strided_slice(options),
            code::SPLIT => self.split(options, false),
            code::SPLIT_V => self.split(options, true),
            code::RESIZE_BILINEAR | code::RESIZE_NEAREST_NEIGHBOR => {
                self.resize(options, code == code::RESIZE_BILINEAR)
            }
            code::DEPTH_TO_SPACE => self.depth_to_space(options, true),
            code::SPACE_TO_DEPTH => self.depth_to_space(options, false),
            _ => Ok(false),
        }
    }

    /// `CONV_2D` and `DEPTHWISE_CONV_2D`.
    fn conv(
        &mut self,
        options: &Options,
        depthwise: bool,
    ) -> std::result::Result<bool, Problem> {
        // Conv2DOptions: padding 0, stride_w 1, stride_h 2, activation 3, dilation_w 4,
        // dilation_h 5. DepthwiseConv2DOptions: padding 0, stride_w 1, stride_h 2,
        // depth_multiplier 3, activation 4, dilation_w 5, dilation_h 6.
        let padding = options.byte(0, PADDING_SAME)?;
        let stride_w = options.int(1, 1)?;
        let stride_h = options.int(2, 1)?;
        let (fused, dilation_w, dilation_h) = if depthwise {
            (options.byte(4, 0)?, options.int(5, 1)?, options.int(6, 1)?)
        } else {
            (options.byte(3, 0)?, options.int(4, 1)?, options.int(5, 1)?)
        };
        let positive = |v: i32, what: &str| {
            usize::try_from(v)
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| Problem::Model(format!("{what} is {v}")))
        };
        let strides = vec![
            positive(stride_h, "stride_h")?,
            positive(stride_w, "stride_w")?,
        ];
        let dilations = vec![
            positive(dilation_h, "dilation_h")?,
            positive(dilation_w, "dilation_w")?,
        ];
        let (x, mut w) = (self.input(0)?, self.input(1)?);
        if depthwise {
            self.refuse_hybrid(x, w)?;
        } else {
            self.check_hybrid_conv(x, w)?;
        }
        let (xs, ws) = (self.shape(x), self.shape(w));
        if xs.len() != 4 || ws.len() != 4 {
            return Err(format!("input {xs:?} and filter {ws:?} must be 4-D").into());
        }
        let c_in = xs[3];
        let group = if depthwise {
            if ws[0] != 1 || c_in == 0 || ws[3] % c_in != 0 {
                return Err(format!(
                    "the depthwise filter {ws:?} does not fit {c_in} input channels"
                )
                .into());
            }
            w = self.depthwise_filter(w)?;
            c_in
        } else {
            // No input channels would make zero groups.
            if ws[3] == 0 || c_in == 0 || c_in % ws[3] != 0 {
                return Err(format!(
                    "the filter {ws:?} does not fit {c_in} input channels"
                )
                .into());
            }
            c_in / ws[3]
        };
        let auto_pad = match padding {
            PADDING_SAME => AutoPad::SameUpper,
            PADDING_VALID => AutoPad::Valid,
            other => return Err(format!("unknown padding {other}").into()),
        };
        let op = Op::Conv(ConvAttrs {
            strides,
            dilations,
            group,
            auto_pad,
            channels_last: true,
            ..Default::default()
        });
        let mut inputs = vec![x, w];
        if let Some(b) = self.ins.get(2).copied().flatten() {
            inputs.push(b);
        }
        self.with_activation(op, inputs, fused)
    }

    /// Refuses a "hybrid" layer: float activations multiplied by int8 weights, which TFLite
    /// quantizes on the fly (dynamic-range quantization).
    fn refuse_hybrid(&self, x: TensorId, w: TensorId) -> std::result::Result<(), Problem> {
        let g = &self.importer.graph;
        if g.tensor(x).dtype == DType::F32 && g.tensor(w).dtype != DType::F32 {
            return Err(Problem::Unsupported(format!(
                "float32 activations with {} weights (a dynamic-range \"hybrid\" layer) are not \
                 supported yet; convert the model with full float or full int8 weights",
                g.tensor(w).dtype
            )));
        }
        Ok(())
    }

    /// A `CONV_2D` with float input and int8 weights is run as TFLite runs it (see
    /// `nhwc::conv_hybrid`) when the weights have one scale; TFLite's per-channel hybrid
    /// convolution quantizes its input asymmetrically with other arithmetic, not supported yet.
    fn check_hybrid_conv(
        &self,
        x: TensorId,
        w: TensorId,
    ) -> std::result::Result<(), Problem> {
        let g = &self.importer.graph;
        let (xt, wt) = (g.tensor(x), g.tensor(w));
        if xt.dtype != DType::F32 || wt.dtype == DType::F32 {
            return Ok(());
        }
        let per_tensor = wt
            .quant
            .as_ref()
            .is_some_and(|q| q.scale.len() == 1 && q.zero_point == [0]);
        if wt.dtype == DType::I8 && per_tensor {
            return Ok(());
        }
        Err(Problem::Unsupported(format!(
            "float32 activations with {} weights{} (a dynamic-range \"hybrid\" convolution) are \
             supported with int8 weights of one scale and zero point 0 only",
            wt.dtype,
            if per_tensor {
                ""
            } else {
                " quantized per channel"
            }
        )))
    }

    /// `[1, H, W, C·M]` depthwise weights as grouped-convolution weights `[C·M, H, W, 1]`.
    fn depthwise_filter(&mut self, w: TensorId) -> std::result::Result<TensorId, Problem> {
        let tensor = self.importer.graph.tensor(w).clone();
        let Some(data) = &tensor.data else {
            return Err("the depthwise filter must be a constant".into());
        };
        let s = tensor.shape().to_vec();
        let (taps, channels) = (s[1] * s[2], s[3]);
        let order: Vec<usize> = (0..channels)
            .flat_map(|c| (0..taps).map(move |k| k * channels + c))
            .collect();
        let relaid = crate::map_data!(data, v => order.iter().map(|&i| v[i]).collect());
        let quant = tensor.quant.map(|q| Quantization {
            axis: if q.is_per_axis() { 0 } else { q.axis },
            ..q
        });
        if let Some(q) = &quant
            && q.is_per_axis()
            && q.scale.len() != channels
        {
            return Err("the depthwise filter is not quantized along its channels".into());
        }
        let name = self
            .importer
            .graph
            .unique_name(&format!("{}/ohwi", tensor.name));
        Ok(self.graph().add_tensor(Tensor {
            name,
            dtype: tensor.dtype,
            shape: Some(vec![channels, s[1], s[2], 1]),
            data: Some(relaid),
            quant,
            storage: None,
        }))
    }

    fn fully_connected(&mut self, options: &Options) -> std::result::Result<bool, Problem> {
        // FullyConnectedOptions: activation 0, weights_format 1, keep_num_dims 2.
        let fused = options.byte(0, 0)?;
        if options.byte(1, 0)? != 0 {
            return Ok(false);
        }
        let (x, w, out) = (self.input(0)?, self.input(1)?, self.output()?);
        self.refuse_hybrid(x, w)?;
        let (xs, ws) = (self.shape(x), self.shape(w));
        if ws.len() != 2 {
            return Err(format!("the weights {ws:?} must be 2-D").into());
        }
        let k = ws[1];
        let total: usize = xs.iter().product();
        if k == 0 || !total.is_multiple_of(k) {
            return Err(format!("the input {xs:?} does not fit weights {ws:?}").into());
        }
        let rows = total / k;
        // The input is read as [rows, k] and the output made [rows, units]; reshapes are views.
        let x2 = if xs == [rows, k] {
            x
        } else {
            let flat = self.temporary(x, "flat_input");
            self.reshape_to(x, flat, &[rows, k]);
            flat
        };
        let mut inputs = vec![x2, w];
        if let Some(b) = self.ins.get(2).copied().flatten() {
            inputs.push(b);
        }
        let op = Op::Gemm(GemmAttrs {
            trans_b: true,
            ..Default::default()
        });
        if self.shape(out) == [rows, ws[0]] {
            return self.with_activation(op, inputs, fused);
        }
        let y2 = self.temporary(out, "rows");
        let Some(activation) = fused_activation(fused)? else {
            return Ok(false);
        };
        let mut op = op;
        if let Some(slot) = op.activation_mut() {
            *slot = activation;
        }
        self.node(op, inputs, vec![y2]);
        let target = self.shape(out);
        self.reshape_to(y2, out, &target);
        Ok(true)
    }

    fn reshape_to(&mut self, from: TensorId, to: TensorId, shape: &[usize]) {
        let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        let n = shape.len();
        let name = format!(
            "{}/{}_shape",
            self.name,
            self.importer.graph.tensor(to).name
        );
        let shape_id = self
            .graph()
            .add_constant(&name, vec![n], TensorData::I64(shape));
        let node_name = self.name.clone();
        self.graph().nodes.push(Node {
            name: node_name,
            op: Op::Reshape(ReshapeAttrs::default()),
            inputs: vec![from],
            params: vec![Some(shape_id)],
            outputs: vec![to],
        });
    }

    fn pool(&mut self, code: i32, options: &Options) -> std::result::Result<bool, Problem> {
        // Pool2DOptions: padding 0, stride_w 1, stride_h 2, filter_width 3, filter_height 4,
        // activation 5.
        let positive = |v: i32, what: &str| {
            usize::try_from(v)
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| Problem::Model(format!("{what} is {v}")))
        };
        let padding = options.byte(0, PADDING_SAME)?;
        let strides = vec![
            positive(options.int(2, 0)?, "stride_h")?,
            positive(options.int(1, 0)?, "stride_w")?,
        ];
        let kernel_shape = vec![
            positive(options.int(4, 0)?, "filter_height")?,
            positive(options.int(3, 0)?, "filter_width")?,
        ];
        let auto_pad = match padding {
            PADDING_SAME => AutoPad::SameUpper,
            PADDING_VALID => AutoPad::Valid,
            other => return Err(format!("unknown padding {other}").into()),
        };
        let attrs = PoolAttrs {
            kernel_shape,
            strides,
            auto_pad,
            // TFLite averages over the positions inside the input only.
            count_include_pad: false,
            channels_last: true,
            ..Default::default()
        };
        let op = if code == code::MAX_POOL_2D {
            Op::MaxPool(attrs)
        } else {
            Op::AveragePool(attrs)
        };
        let x = self.input(0)?;
        if self.shape(x).len() != 4 {
            return Err("the input must be 4-D".into());
        }
        self.with_activation(op, vec![x], options.byte(5, 0)?)
    }

    /// Requires the single output's static shape to be `shape`, which the importer computed.
    fn check_output_shape(
        &self,
        shape: &[usize],
    ) -> std::result::Result<TensorId, Problem> {
        let out = self.output()?;
        let declared = self.shape(out);
        if declared != shape {
            return Err(format!(
                "the model declares the output {declared:?}, but the operator gives {shape:?}"
            )
            .into());
        }
        Ok(out)
    }

    /// `STRIDED_SLICE` as a `Slice` of the input axes (with every begin, end and stride
    /// resolved here, masks included) and, when axes are shrunk or added, a `Reshape` (a view).
    ///
    /// TFLite's rules, as its reference kernel applies them: the spec (`begin`, `end`,
    /// `strides`, one entry per bit of the masks) may be shorter than the input; an ellipsis
    /// entry stands for as many full axes as the other entries leave, and missing trailing
    /// entries are full axes too; a new-axis entry (without the ellipsis bit) inserts an axis
    /// of length 1; a masked begin or end is the first or last element in the direction of the
    /// stride; negative indices count from the end and are then clamped (`[0, n]` for a
    /// positive stride, `[-1, n - 1]` for a negative one); with `offset`, `end` is relative to
    /// the given `begin`; a shrunk axis takes the one element at its begin.
    fn strided_slice(&mut self, options: &Options) -> std::result::Result<bool, Problem> {
        // StridedSliceOptions: begin_mask 0, end_mask 1, ellipsis_mask 2, new_axis_mask 3,
        // shrink_axis_mask 4, offset 5.
        let begin_mask = options.int(0, 0)?;
        let end_mask = options.int(1, 0)?;
        let ellipsis_mask = options.int(2, 0)?;
        let new_axis_mask = options.int(3, 0)?;
        let shrink_axis_mask = options.int(4, 0)?;
        let offset = options.flag(5)?;
        let x = self.input(0)?;
        let (begin, end, strides) = (
            self.constant_ints(1)?,
            self.constant_ints(2)?,
            self.constant_ints(3)?,
        );
        if begin.len() != end.len() || begin.len() != strides.len() || begin.len() > 32 {
            return Err(format!(
                "begin {begin:?}, end {end:?} and strides {strides:?} must have one equal \
                 length of at most 32"
            )
            .into());
        }
        if ellipsis_mask.count_ones() > 1 {
            return Err(
                format!("ellipsis_mask {ellipsis_mask:#b} sets more than one bit").into(),
            );
        }
        let bit = |mask: i32, i: usize| (mask >> i) & 1 == 1;
        let shape = self.shape(x);
        let rank = shape.len();
        let spec = begin.len();
        let consumed = (0..spec)
            .filter(|&i| !bit(ellipsis_mask, i) && !bit(new_axis_mask, i))
            .count();
        if consumed > rank {
            return Err(format!(
                "the slice spec names {consumed} axes of a rank-{rank} input"
            )
            .into());
        }
        /// One axis of the dense spec.
        enum Axis {
            Full,
            New,
            Spec(usize),
        }
        let mut axes = Vec::new();
        for i in 0..spec {
            if bit(ellipsis_mask, i) {
                axes.extend((0..rank - consumed).map(|_| Axis::Full));
            } else if bit(new_axis_mask, i) {
                axes.push(Axis::New);
            } else {
                axes.push(Axis::Spec(i));
            }
        }
        let listed = axes.iter().filter(|a| !matches!(a, Axis::New)).count();
        axes.extend((listed..rank).map(|_| Axis::Full));
        let (mut starts, mut ends, mut steps) = (Vec::new(), Vec::new(), Vec::new());
        let (mut sliced, mut out_shape) = (Vec::new(), Vec::new());
        let mut d = 0;
        for axis in axes {
            let i = match axis {
                Axis::New => {
                    out_shape.push(1);
                    continue;
                }
                Axis::Full => {
                    starts.push(0);
                    ends.push(shape[d] as i64);
                    steps.push(1);
                    sliced.push(shape[d]);
                    out_shape.push(shape[d]);
                    d += 1;
                    continue;
                }
                Axis::Spec(i) => i,
            };
            let size = shape[d] as i64;
            let stride = strides[i];
            if stride == 0 || stride == i64::MIN {
                return Err(format!("stride {stride} on axis {d}").into());
            }
            let clamp = |v: i64| {
                let v = if v < 0 { v.saturating_add(size) } else { v };
                if stride > 0 {
                    v.clamp(0, size)
                } else {
                    v.clamp(-1, size - 1)
                }
            };
            let start = match bit(begin_mask, i) {
                true if stride > 0 => 0,
                true => size - 1,
                false => clamp(begin[i]),
            };
            let shrink = bit(shrink_axis_mask, i);
            let stop = if shrink {
                start + 1
            } else if bit(end_mask, i) {
                if stride > 0 { size } else { -1 }
            } else if offset {
                clamp(end[i].saturating_add(begin[i]))
            } else {
                clamp(end[i])
            };
            // Both bounds lie in [-1, size], so the distance is small and non-negative.
            let distance = if stride > 0 {
                stop - start
            } else {
                start - stop
            };
            let length = (distance.max(0) as u64).div_ceil(stride.unsigned_abs()) as i64;
            if length == 0 || start < 0 || start >= size {
                return Err(Problem::Unsupported(format!(
                    "axis {d} of {shape:?} is sliced to nothing (begin {}, end {}, stride \
                     {stride}); edgegen does not support empty tensors",
                    begin[i], end[i]
                )));
            }
            // Saturating: a stride can be any int64 (a saturated end is clamped like TFLite's).
            let last = start.saturating_add(length.saturating_mul(stride));
            starts.push(start);
            // An end before index 0 must not read as "from the end" in `Slice`.
            ends.push(if last < 0 { i64::MIN } else { last });
            steps.push(if shrink { 1 } else { stride });
            sliced.push(length as usize);
            if !shrink {
                out_shape.push(length as usize);
            }
            d += 1;
        }
        let out = self.check_output_shape(&out_shape)?;
        let slice_out = if sliced == out_shape {
            out
        } else {
            self.temporary(out, "slice")
        };
        self.node(
            Op::Slice(SliceAttrs {
                starts,
                ends,
                axes: None,
                steps: Some(steps),
            }),
            vec![x],
            vec![slice_out],
        );
        if slice_out != out {
            self.reshape_to(slice_out, out, &out_shape);
        }
        Ok(true)
    }

    /// `SPLIT` (equal parts; the axis is input 0) and `SPLIT_V` (sizes in input 1, one of
    /// them -1 for the rest; the axis is input 2).
    fn split(
        &mut self,
        options: &Options,
        sizes_given: bool,
    ) -> std::result::Result<bool, Problem> {
        // SplitOptions and SplitVOptions: num_splits 0.
        let num_splits = options.int(0, 0)?;
        let (x, axis_input) = if sizes_given {
            (self.input(0)?, 2)
        } else {
            (self.input(1)?, 0)
        };
        let shape = self.shape(x);
        let rank = shape.len() as i64;
        let axis = match self.constant_ints(axis_input)?.as_slice() {
            [a] if (-rank..rank).contains(a) => a.rem_euclid(rank) as usize,
            other => {
                return Err(
                    format!("the axis {other:?} is not one axis of {shape:?}").into()
                );
            }
        };
        let parts = self.outs.len();
        if usize::try_from(num_splits).ok() != Some(parts) {
            return Err(format!(
                "num_splits is {num_splits}, but there are {parts} outputs"
            )
            .into());
        }
        let length = shape[axis];
        let sizes: Vec<usize> = if sizes_given {
            let given = self.constant_ints(1)?;
            let unknown = given.iter().filter(|&&s| s == -1).count();
            let known = given
                .iter()
                .filter(|&&s| s >= 0)
                .fold(0i64, |sum, &s| sum.saturating_add(s));
            if given.len() != parts
                || unknown > 1
                || given.iter().any(|&s| s < -1)
                || known > length as i64
                || (unknown == 0 && known != length as i64)
            {
                return Err(format!(
                    "size_splits {given:?} do not split axis {axis} of {shape:?} into {parts} \
                     parts"
                )
                .into());
            }
            given
                .iter()
                .map(|&s| {
                    if s < 0 {
                        length - known as usize
                    } else {
                        s as usize
                    }
                })
                .collect()
        } else {
            if !length.is_multiple_of(parts) {
                return Err(format!(
                    "axis {axis} of {shape:?} does not split into {parts} equal parts"
                )
                .into());
            }
            vec![length / parts; parts]
        };
        if sizes.contains(&0) {
            return Err(Problem::Unsupported(format!(
                "a part of size 0 ({sizes:?}); edgegen does not support empty tensors"
            )));
        }
        for (&out, &size) in self.outs.iter().zip(&sizes) {
            let mut expected = shape.clone();
            expected[axis] = size;
            let declared = self.shape(out);
            if declared != expected {
                return Err(format!(
                    "the model declares an output {declared:?}, but the part is {expected:?}"
                )
                .into());
            }
        }
        let outs = self.outs.clone();
        self.node(
            Op::Split(SplitAttrs {
                axis: axis as i64,
                split: Some(sizes),
            }),
            vec![x],
            outs,
        );
        Ok(true)
    }

    /// `RESIZE_BILINEAR` and `RESIZE_NEAREST_NEIGHBOR` of NHWC data to the constant size
    /// `[new_height, new_width]`, with TFLite's coordinate rules (the `tflite_*`
    /// transformations of the IR: TFLite multiplies by `in / out` where ONNX divides by
    /// `out / in`, and its nearest neighbour rounds down, or to nearest with `align_corners`).
    fn resize(
        &mut self,
        options: &Options,
        bilinear: bool,
    ) -> std::result::Result<bool, Problem> {
        // ResizeBilinearOptions: new_height 0 and new_width 1 (deprecated), align_corners 2,
        // half_pixel_centers 3. ResizeNearestNeighborOptions: align_corners 0,
        // half_pixel_centers 1.
        let (align_corners, half_pixel_centers) = if bilinear {
            (options.flag(2)?, options.flag(3)?)
        } else {
            (options.flag(0)?, options.flag(1)?)
        };
        let x = self.input(0)?;
        let shape = self.shape(x);
        if shape.len() != 4 {
            return Err(format!("the input {shape:?} must be 4-D (NHWC)").into());
        }
        let size = match self.constant_ints(1)?.as_slice() {
            &[h, w] if h > 0 && w > 0 => [h as usize, w as usize],
            other => {
                return Err(
                    format!("the size {other:?} must be two positive numbers").into()
                );
            }
        };
        if align_corners && half_pixel_centers {
            // TFLite's bilinear kernel refuses the pair; its nearest kernel accepts it, but
            // TensorFlow never produces it.
            let why = "align_corners together with half_pixel_centers";
            return Err(if bilinear {
                Problem::Model(format!("{why} is invalid"))
            } else {
                Problem::Unsupported(format!("{why} is not supported"))
            });
        }
        let out_shape = [shape[0], size[0], size[1], shape[3]];
        let out = self.check_output_shape(&out_shape)?;
        let coordinate_transformation_mode =
            match (align_corners, half_pixel_centers, bilinear) {
                (true, _, _) => CoordinateTransformation::TfliteAlignCorners,
                (false, true, true) => CoordinateTransformation::TfliteHalfPixel,
                (false, true, false) => CoordinateTransformation::TfliteHalfPixelForNn,
                (false, false, _) => CoordinateTransformation::TfliteAsymmetric,
            };
        let attrs = ResizeAttrs {
            mode: if bilinear {
                ResizeMode::Linear
            } else {
                ResizeMode::Nearest
            },
            coordinate_transformation_mode,
            nearest_mode: if align_corners {
                NearestMode::RoundPreferCeil
            } else {
                NearestMode::Floor
            },
            ..Default::default()
        };
        let sizes: Vec<i64> = out_shape.iter().map(|&d| d as i64).collect();
        let sizes_name = format!("{}/sizes", self.name);
        let sizes = self
            .graph()
            .add_constant(&sizes_name, vec![4], TensorData::I64(sizes));
        let name = self.name.clone();
        self.graph().nodes.push(Node {
            name,
            op: Op::Resize(attrs),
            inputs: vec![x],
            params: vec![None, None, Some(sizes)],
            outputs: vec![out],
        });
        Ok(true)
    }

    /// `DEPTH_TO_SPACE` (`to_space`) and `SPACE_TO_DEPTH` on NHWC data, as views and one
    /// transpose. With block size `b`, depth to space reads the channels of a pixel as a
    /// `b × b` block of pixels of `C / b²` channels:
    /// `[N, H, W, C] → [N, H, W, b, b, C'] → (swap W and the first b) [N, H, b, W, b, C'] →
    /// [N, H·b, W·b, C']`; space to depth is the inverse.
    fn depth_to_space(
        &mut self,
        options: &Options,
        to_space: bool,
    ) -> std::result::Result<bool, Problem> {
        // DepthToSpaceOptions and SpaceToDepthOptions: block_size 0.
        let block = options.int(0, 0)?;
        let b = usize::try_from(block)
            .ok()
            .filter(|&b| b > 0)
            .ok_or_else(|| Problem::Model(format!("block_size is {block}")))?;
        let x = self.input(0)?;
        let shape = self.shape(x);
        let &[n, h, w, c] = shape.as_slice() else {
            return Err(format!("the input {shape:?} must be 4-D (NHWC)").into());
        };
        let (blocks, out_shape) = if to_space {
            if !c.is_multiple_of(b * b) {
                return Err(
                    format!("{c} channels do not divide into blocks of {b}×{b}").into()
                );
            }
            let depth = c / (b * b);
            (vec![n, h, w, b, b, depth], vec![n, h * b, w * b, depth])
        } else {
            if !h.is_multiple_of(b) || !w.is_multiple_of(b) {
                return Err(format!(
                    "the height {h} and width {w} are not multiples of block_size {b}"
                )
                .into());
            }
            (
                vec![n, h / b, b, w / b, b, c],
                vec![n, h / b, w / b, b * b * c],
            )
        };
        let out = self.check_output_shape(&out_shape)?;
        let split = self.temporary(x, "blocks");
        self.reshape_to(x, split, &blocks);
        let moved = self.temporary(x, "moved");
        self.node(
            Op::Transpose(TransposeAttrs {
                perm: Some(vec![0, 1, 3, 2, 4, 5]),
            }),
            vec![split],
            vec![moved],
        );
        self.reshape_to(moved, out, &out_shape);
        Ok(true)
    }

    /// `DEQUANTIZE`: of constant weights (float16 or int8, which TFLite uses to store weights
    /// compactly in float models), the output becomes a float32 constant; of a run-time int8
    /// tensor, a `Dequantize` node.
    fn dequantize(&mut self) -> std::result::Result<bool, Problem> {
        let (x, out) = (self.input(0)?, self.output()?);
        let source = self.importer.graph.tensor(x).clone();
        let Some(data) = &source.data else {
            self.node(Op::Dequantize, vec![x], vec![out]);
            return Ok(true);
        };
        let values: Vec<f32> = match (&source.quant, data) {
            (_, TensorData::F32(v)) => v.clone(),
            (Some(q), data) => {
                let raw = data.to_f64_vec();
                let shape = source.shape();
                let inner: usize = shape.iter().skip(q.axis + 1).product();
                raw.iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let c = if q.is_per_axis() {
                            (i / inner) % q.scale.len()
                        } else {
                            0
                        };
                        ((v - q.zero_point[c] as f64) * q.scale[c] as f64) as f32
                    })
                    .collect()
            }
            (None, _) => {
                return Err("dequantizes data without quantization parameters".into());
            }
        };
        let tensor = self.graph().tensor_mut(out);
        tensor.data = Some(TensorData::F32(values));
        tensor.dtype = DType::F32;
        tensor.quant = None;
        Ok(true)
    }
}

/// `ActivationFunctionType`: `None` for one the IR has no activation for.
fn fused_activation(code: i8) -> std::result::Result<Option<Activation>, Problem> {
    Ok(match code {
        0 => Some(Activation::None),
        1 => Some(Activation::Relu),
        2 => Some(Activation::Clip {
            min: -1.0,
            max: 1.0,
        }),
        3 => Some(Activation::Clip { min: 0.0, max: 6.0 }),
        4 | 5 => None,
        other => return Err(format!("unknown fused activation {other}").into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
    }
}
