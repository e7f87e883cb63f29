//! The ONNX front end: protobuf bytes to IR.
//!
//! ```text
//! bytes ──prost──▶ ModelProto ──check──▶ initializers, inputs ──per node──▶ Graph (sorted)
//!                                        (external data refused)  (opset quirks resolved here)
//! ```
//!
//! What stays here and nowhere else: opset differences (attributes that became inputs, changed
//! defaults, the pre-13 `Softmax` semantics), ONNX's `""` for an absent optional input, old models
//! that list initializers among the graph inputs (they are constants), and the fixing of symbolic
//! leading dimensions of graph inputs to 1 (`--input-shape` overrides any input's shape).
//!
//! Every node is looked at before anything fails: all unsupported operators are reported at
//! once, with their node names, and so are all attribute problems.

mod legacy;
mod microsoft;
pub mod proto;
mod quant;
mod recurrent;

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::frontend::ImportOptions;
use crate::ir::op::*;
use crate::ir::{
    DType, Graph, Node, Op, SourceInfo, Tensor, TensorData, TensorId, validate,
};
use proto::{AttributeProto, NodeProto, TensorProto, attribute_type, data_type};

/// The oldest default-domain opset this front end reads. Before opset 7 it reads the
/// operators whose older versions compute what the opset-7 ones do (see `legacy`).
pub const MIN_OPSET: i64 = 1;
/// The newest default-domain opset this front end knows (that of `onnx` 1.23).
pub const MAX_OPSET: i64 = 28;

pub use microsoft::SUPPORTED_OPS as MICROSOFT_OPS;

/// The operator types of the default domain that the front end translates.
pub const SUPPORTED_OPS: &[&str] = &[
    "Abs",
    "Acos",
    "Acosh",
    "Add",
    "And",
    "ArgMax",
    "ArgMin",
    "Asin",
    "Asinh",
    "Atan",
    "Atanh",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "Ceil",
    "Celu",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "ConvInteger",
    "ConvTranspose",
    "Cos",
    "Cosh",
    "CumSum",
    "DepthToSpace",
    "DequantizeLinear",
    "Div",
    "Dropout",
    "DynamicQuantizeLinear",
    "Einsum",
    "Elu",
    "Equal",
    "Erf",
    "Exp",
    "Expand",
    "Flatten",
    "Floor",
    "GRU",
    "Gather",
    "GatherElements",
    "Gelu",
    "Gemm",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Greater",
    "GreaterOrEqual",
    "HardSigmoid",
    "HardSwish",
    "Hardmax",
    "Identity",
    "InstanceNormalization",
    "LRN",
    "LSTM",
    "LayerNormalization",
    "LeakyRelu",
    "Less",
    "LessOrEqual",
    "Log",
    "LogSoftmax",
    "MatMul",
    "MatMulInteger",
    "Max",
    "MaxPool",
    "Mean",
    "Min",
    "Mish",
    "Mod",
    "Mul",
    "Neg",
    "Not",
    "Or",
    "PRelu",
    "Pad",
    "Pow",
    "QLinearConv",
    "QLinearMatMul",
    "QuantizeLinear",
    "RNN",
    "Range",
    "Reciprocal",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "ReduceSumSquare",
    "Relu",
    "Reshape",
    "Resize",
    "Round",
    "Selu",
    "Shape",
    "Sigmoid",
    "Sign",
    "Sin",
    "Sinh",
    "Size",
    "Slice",
    "Softmax",
    "Softplus",
    "Softsign",
    "SpaceToDepth",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Tan",
    "Tanh",
    "Tile",
    "TopK",
    "Transpose",
    "Unsqueeze",
    "Upsample",
    "Where",
    "Xor",
];

/// Reads an ONNX model into the IR.
pub fn import(bytes: &[u8], source: SourceInfo, options: &ImportOptions) -> Result<Graph> {
    let model = decode(bytes)?;
    let opset = default_opset(&model)?;
    let graph_proto = model
        .graph
        .as_ref()
        .ok_or_else(|| Error::invalid_model("the model has no graph"))?;

    let mut source = source;
    let producer = match (
        model.producer_name.is_empty(),
        model.producer_version.is_empty(),
    ) {
        (true, _) => String::new(),
        (false, true) => format!(", produced by {}", model.producer_name),
        (false, false) => format!(
            ", produced by {} {}",
            model.producer_name, model.producer_version
        ),
    };
    source.description = format!("ONNX opset {opset}{producer}");

    let mut importer = Importer {
        graph: Graph {
            name: graph_name(&graph_proto.name),
            source,
            ..Graph::default()
        },
        names: HashMap::new(),
        opset,
        local_functions: model
            .functions
            .iter()
            .map(|f| (f.domain.clone(), f.name.clone()))
            .collect(),
        unsupported: Vec::new(),
        problems: Vec::new(),
    };
    importer.initializers(graph_proto)?;
    importer.inputs(graph_proto, options)?;
    let nodes = sort_nodes(graph_proto)?;
    for node in nodes {
        importer.node(node);
    }
    if let Some(e) = super::import_problems(&importer.unsupported, &importer.problems) {
        return Err(e);
    }
    importer.outputs(graph_proto)?;
    let graph = importer.graph;
    validate(&graph, validate::Stage::Imported).map_err(|e| {
        Error::internal(format!("the ONNX front end built an invalid graph:\n{e}"))
    })?;
    Ok(graph)
}

fn decode(bytes: &[u8]) -> Result<proto::ModelProto> {
    if bytes.is_empty() {
        return Err(Error::invalid_model("the file is empty"));
    }
    if bytes.len() >= 8 && &bytes[4..8] == b"TFL3" {
        return Err(Error::invalid_model(
            "this is a TFLite file, not an ONNX model",
        ));
    }
    let model = proto::decode_model(bytes).map_err(|e| {
        Error::invalid_model(format!(
            "not a valid ONNX model (the protobuf data is malformed or truncated: {e})"
        ))
    })?;
    // Protobuf is permissive: many byte strings decode as a message of unknown fields. A real
    // model says which IR version and opsets it uses.
    if model.ir_version <= 0 || model.graph.is_none() {
        return Err(Error::invalid_model(
            "not an ONNX model (no IR version or no graph; is the file truncated or of another format?)",
        ));
    }
    Ok(model)
}

fn default_opset(model: &proto::ModelProto) -> Result<i64> {
    let opset = model
        .opset_import
        .iter()
        .filter(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .max();
    // Models of IR version 2 and older predate opset imports and mean opset 1.
    let opset = opset.unwrap_or(1);
    if opset < MIN_OPSET {
        return Err(Error::unsupported(format!(
            "the model uses ONNX opset {opset}; edgegen reads opsets {MIN_OPSET} to {MAX_OPSET} \
             (upgrade it with onnx.version_converter.convert_version(model, 13))"
        )));
    }
    if opset > MAX_OPSET {
        return Err(Error::unsupported(format!(
            "the model uses ONNX opset {opset}, newer than the newest edgegen knows ({MAX_OPSET})"
        )));
    }
    Ok(opset)
}

fn graph_name(name: &str) -> String {
    if name.is_empty() {
        "model".to_string()
    } else {
        name.to_string()
    }
}

/// The nodes in an order where every value is produced before it is used. ONNX requires files to
/// be sorted, but some exporters write them out of order.
fn sort_nodes(graph: &proto::GraphProto) -> Result<Vec<&NodeProto>> {
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, node) in graph.node.iter().enumerate() {
        for out in node.output.iter().filter(|o| !o.is_empty()) {
            if producer.insert(out.as_str(), i).is_some() {
                return Err(Error::invalid_model(format!(
                    "more than one node writes the value '{out}'"
                )));
            }
        }
    }
    let deps: Vec<Vec<usize>> = graph
        .node
        .iter()
        .map(|node| {
            node.input
                .iter()
                .filter_map(|name| producer.get(name.as_str()).copied())
                .collect()
        })
        .collect();
    let order = crate::ir::topological_order(&deps).map_err(|stuck| {
        let names: Vec<String> = stuck
            .iter()
            .take(10)
            .map(|&i| format!("{} '{}'", graph.node[i].op_type, graph.node[i].name))
            .collect();
        Error::invalid_model(format!(
            "the graph has a cycle through {}",
            names.join(", ")
        ))
    })?;
    Ok(order.into_iter().map(|i| &graph.node[i]).collect())
}

struct Importer {
    graph: Graph,
    /// ONNX value name to IR tensor.
    names: HashMap<String, TensorId>,
    opset: i64,
    local_functions: HashSet<(String, String)>,
    unsupported: Vec<String>,
    problems: Vec<String>,
}

impl Importer {
    fn initializers(&mut self, graph: &proto::GraphProto) -> Result<()> {
        let external: Vec<&str> = graph
            .initializer
            .iter()
            .filter(|t| t.data_location == 1 || !t.external_data.is_empty())
            .map(|t| t.name.as_str())
            .collect();
        if !external.is_empty() {
            return Err(Error::unsupported(format!(
                "the model keeps {} tensor{} in external data files ({}); edgegen reads self-contained \
                 models only: save it with onnx.save_model(model, path, save_as_external_data=False) \
                 (models over 2 GB cannot be embedded in code anyway)",
                external.len(),
                if external.len() == 1 { "" } else { "s" },
                list_names(&external)
            )));
        }
        if !graph.sparse_initializer.is_empty() {
            return Err(Error::unsupported(
                "the model has sparse initializers, which edgegen does not read; store them dense",
            ));
        }
        for init in &graph.initializer {
            let (shape, data) = tensor_from_proto(init).map_err(|e| {
                Error::invalid_model(format!("initializer '{}': {e}", init.name))
            })?;
            if self.names.contains_key(&init.name) {
                return Err(Error::invalid_model(format!(
                    "two initializers are named '{}'",
                    init.name
                )));
            }
            let id = self.graph.add_tensor(Tensor {
                name: init.name.clone(),
                dtype: data.dtype(),
                shape: Some(shape),
                data: Some(data),
                quant: None,
                storage: None,
            });
            self.names.insert(init.name.clone(), id);
        }
        Ok(())
    }

    fn inputs(&mut self, graph: &proto::GraphProto, options: &ImportOptions) -> Result<()> {
        let mut overrides: HashMap<&str, &Vec<usize>> = options
            .input_shapes
            .iter()
            .map(|(name, shape)| (name.as_str(), shape))
            .collect();
        let mut problems = Vec::new();
        for input in &graph.input {
            // Old exporters list every initializer as a graph input too; those are constants.
            if self.names.contains_key(&input.name) {
                continue;
            }
            let dtype_and_dims = match input.r#type.as_ref().and_then(|t| t.value.as_ref())
            {
                Some(proto::type_proto::Value::TensorType(t)) => {
                    Ok((t.elem_type, t.shape.as_ref()))
                }
                Some(_) => Err(format!(
                    "graph input '{}' is not a tensor (a sequence, map or optional)",
                    input.name
                )),
                None => Err(format!("graph input '{}' has no type", input.name)),
            };
            let (elem_type, shape_proto) = match dtype_and_dims {
                Ok(v) => v,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            let dtype = match dtype_from_onnx(elem_type) {
                Ok(d) => d,
                Err(e) => {
                    problems.push(format!("graph input '{}': {e}", input.name));
                    continue;
                }
            };
            let shape = match overrides.remove(input.name.as_str()) {
                Some(shape) => {
                    if let Some(declared) = shape_proto
                        && let Err(e) = check_override(&declared.dim, shape)
                    {
                        problems.push(format!("--input-shape {}: {e}", input.name));
                    }
                    shape.clone()
                }
                None => match fix_input_shape(&input.name, shape_proto) {
                    Ok(shape) => shape,
                    Err(e) => {
                        problems.push(e);
                        continue;
                    }
                },
            };
            if self.names.contains_key(&input.name) {
                problems.push(format!("two graph inputs are named '{}'", input.name));
                continue;
            }
            if crate::ir::checked_len(&shape).is_none() {
                problems.push(format!(
                    "graph input '{}' of shape {shape:?} has more than {} elements",
                    input.name,
                    crate::ir::MAX_ELEMENTS
                ));
                continue;
            }
            let id = self.graph.add_tensor(Tensor {
                name: input.name.clone(),
                dtype,
                shape: Some(shape),
                data: None,
                quant: None,
                storage: None,
            });
            self.names.insert(input.name.clone(), id);
            self.graph.inputs.push(id);
        }
        if !overrides.is_empty() {
            let mut unknown: Vec<&str> = overrides.keys().copied().collect();
            unknown.sort_unstable();
            let inputs: Vec<&str> = self
                .graph
                .inputs
                .iter()
                .map(|&t| self.graph.tensor(t).name.as_str())
                .collect();
            problems.push(format!(
                "--input-shape names {} but the model's inputs are {}",
                list_names(&unknown),
                list_names(&inputs)
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_argument(problems.join("\n")))
        }
    }

    fn outputs(&mut self, graph: &proto::GraphProto) -> Result<()> {
        if graph.output.is_empty() {
            return Err(Error::invalid_model("the graph has no outputs"));
        }
        for output in &graph.output {
            match self.names.get(&output.name) {
                Some(&id) => self.graph.outputs.push(id),
                None => {
                    return Err(Error::invalid_model(format!(
                        "graph output '{}' is not produced by any node",
                        output.name
                    )));
                }
            }
        }
        Ok(())
    }

    fn node(&mut self, node: &NodeProto) {
        let index = self.graph.nodes.len();
        let name = if node.name.is_empty() {
            format!("{}_{index}", node.op_type)
        } else {
            node.name.clone()
        };
        let domain = node.domain.as_str();
        let local_function = self
            .local_functions
            .contains(&(node.domain.clone(), node.op_type.clone()));
        if domain == "com.microsoft"
            && !local_function
            && MICROSOFT_OPS.contains(&node.op_type.as_str())
        {
            self.microsoft(node, &name);
            return;
        }
        if !(domain.is_empty() || domain == "ai.onnx") {
            let what = if local_function {
                "a model-local function"
            } else {
                "a custom operator"
            };
            self.unsupported
                .push(format!("{domain}.{} (node '{name}', {what})", node.op_type));
            return;
        }
        if !SUPPORTED_OPS.contains(&node.op_type.as_str()) {
            self.unsupported
                .push(format!("{} (node '{name}')", node.op_type));
            return;
        }
        let describe = format!("{} '{name}'", node.op_type);
        let upgraded;
        let node = if self.opset < 7 {
            match legacy::upgrade(node, self.opset) {
                Ok(None) => node,
                Ok(Some(n)) => {
                    upgraded = n;
                    &upgraded
                }
                Err(e) => {
                    self.problems.push(format!("{describe}: {e}"));
                    return;
                }
            }
        } else {
            node
        };
        if matches!(node.op_type.as_str(), "Max" | "Min" | "Sum" | "Mean")
            && (node.input.len() != 2 || matches!(node.op_type.as_str(), "Sum" | "Mean"))
        {
            self.variadic(node, &name);
            return;
        }
        if node.op_type == "Dropout" && node.output.get(1).is_some_and(|m| !m.is_empty()) {
            self.dropout_with_mask(node, &name);
            return;
        }
        let mut attrs = NodeAttrs::new(node);
        if node.op_type == "Constant" {
            match constant_node(&mut attrs) {
                Ok((shape, data)) => {
                    attrs.finish();
                    if let Some(problem) = attrs.problem() {
                        self.problems.push(format!("{describe}: {problem}"));
                        return;
                    }
                    let Some(out) = node.output.first() else {
                        self.problems.push(format!("{describe} has no output"));
                        return;
                    };
                    let id = self.graph.add_tensor(Tensor {
                        name: out.clone(),
                        dtype: data.dtype(),
                        shape: Some(shape),
                        data: Some(data),
                        quant: None,
                        storage: None,
                    });
                    if self.names.insert(out.clone(), id).is_some() {
                        self.problems.push(format!(
                            "{describe} writes '{out}', which already exists"
                        ));
                    }
                }
                Err(e) => self.problems.push(format!("{describe}: {e}")),
            }
            return;
        }
        let op = translate(&node.op_type, &mut attrs, self.opset);
        attrs.finish();
        let mut op = match (op, attrs.problem()) {
            (Ok(op), None) => op,
            (Err(e), _) | (Ok(_), Some(e)) => {
                self.problems.push(format!("{describe}: {e}"));
                return;
            }
        };
        // Optional inputs and outputs absent in the middle of the lists (recurrent ops).
        let compacted = recurrent::compact(&mut op, node);
        let node = compacted.as_ref().unwrap_or(node);
        // ONNX lists data inputs first, then the inputs that edgegen treats as parameters.
        let mut input_names: Vec<&str> = node.input.iter().map(String::as_str).collect();
        if node.output.iter().all(String::is_empty) {
            self.problems.push(format!("{describe} has no outputs"));
            return;
        }
        let upsample_or_old_resize = node.op_type == "Upsample" || self.opset < 11;
        if matches!(op, Op::Resize(_)) && upsample_or_old_resize && !input_names.is_empty()
        {
            // Resize-10 and Upsample-9 take (X, scales); later Resizes (X, roi, scales, sizes).
            input_names.insert(1, "");
        }
        let input_names = quant::data_inputs_first(&op, &input_names);
        let arity = op.arity();
        let n_data = arity.max_inputs.min(input_names.len());
        if input_names.len() > n_data + arity.params.len() {
            self.problems.push(format!(
                "{describe} has {} inputs, more than the operator takes",
                input_names.len()
            ));
            return;
        }
        let mut inputs = Vec::new();
        let mut missing = false;
        for (i, name) in input_names[..n_data].iter().enumerate() {
            if name.is_empty() {
                // An absent optional data input is only allowed at the end (Conv's bias, ...).
                if input_names[i..n_data].iter().any(|n| !n.is_empty()) {
                    self.problems
                        .push(format!("{describe}: input {i} is missing"));
                    missing = true;
                }
                break;
            }
            match self.names.get(*name) {
                Some(&id) => inputs.push(id),
                None => {
                    self.problems
                        .push(format!("{describe} reads '{name}', which is not defined"));
                    missing = true;
                }
            }
        }
        if inputs.len() < arity.min_inputs && !missing {
            self.problems.push(format!(
                "{describe} has {} inputs; it needs at least {}",
                inputs.len(),
                arity.min_inputs
            ));
            return;
        }
        let mut params = Vec::new();
        for name in &input_names[n_data..] {
            if name.is_empty() {
                params.push(None);
                continue;
            }
            match self.names.get(*name) {
                Some(&id) => params.push(Some(id)),
                None => {
                    self.problems
                        .push(format!("{describe} reads '{name}', which is not defined"));
                    missing = true;
                }
            }
        }
        while params.last() == Some(&None) {
            params.pop();
        }
        if missing {
            return;
        }
        // Extra outputs (Dropout's mask, BatchNormalization's running statistics) exist only in
        // training graphs; they are fine if nothing reads them. An op with optional outputs
        // (MaxPool's indices) has as many as the last one named.
        let n_outputs = arity.outputs.unwrap_or_else(|| {
            node.output
                .iter()
                .rposition(|o| !o.is_empty())
                .map_or(node.output.len(), |last| last + 1)
        });
        let extra_used: Vec<&String> = node
            .output
            .iter()
            .skip(n_outputs)
            .filter(|o| !o.is_empty())
            .collect();
        if !extra_used.is_empty() {
            self.problems.push(format!(
                "{describe}: edgegen computes only the first output of {} (inference mode), but the model \
                 names {}",
                node.op_type,
                extra_used
                    .iter()
                    .map(|s| format!("'{s}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return;
        }
        if let (Op::Range(a), Some(Some(start))) = (&mut op, params.first()) {
            // Range's type is that of its inputs, which are all parameter inputs.
            a.dtype = self.graph.tensor(*start).dtype;
        }
        if matches!(op, Op::Pow) && inputs.len() == 2 {
            // Pow may raise to an exponent of another type; the IR's Pow takes one type, so
            // the exponent is converted to the base's (as runtimes do when they compute).
            let (base, exponent) =
                (self.graph.tensor(inputs[0]), self.graph.tensor(inputs[1]));
            if base.dtype != exponent.dtype {
                let (to, shape) = (base.dtype, exponent.shape.clone());
                let cast = self.graph.add_tensor(Tensor {
                    name: format!("{name}::exponent"),
                    dtype: to,
                    shape,
                    data: None,
                    quant: None,
                    storage: None,
                });
                self.graph.nodes.push(Node {
                    name: format!("{name}::cast"),
                    op: Op::Cast(CastAttrs { to }),
                    inputs: vec![inputs[1]],
                    params: Vec::new(),
                    outputs: vec![cast],
                });
                inputs[1] = cast;
            }
        }
        let input_dtypes: Vec<DType> =
            inputs.iter().map(|&t| self.graph.tensor(t).dtype).collect();
        let dtype = match quant::output_dtype(&mut op, &params, &self.graph) {
            Ok(zero_point_type) => {
                zero_point_type.unwrap_or(op.output_dtype(&input_dtypes))
            }
            Err(e) => {
                self.problems.push(format!("{describe}: {e}"));
                return;
            }
        };
        let mut outputs = Vec::new();
        for (k, out) in node.output.iter().take(n_outputs).enumerate() {
            if out.is_empty() {
                self.problems
                    .push(format!("{describe} has an unnamed output"));
                return;
            }
            if self.names.contains_key(out) {
                self.problems
                    .push(format!("{describe} writes '{out}', which already exists"));
                return;
            }
            let id = self.graph.add_tensor(Tensor {
                name: out.clone(),
                dtype: op.output_dtype_of(k).unwrap_or(if k == 0 {
                    dtype
                } else {
                    op.output_dtype_at(k, &input_dtypes)
                }),
                shape: None,
                data: None,
                quant: None,
                storage: None,
            });
            self.names.insert(out.clone(), id);
            outputs.push(id);
        }
        self.graph.nodes.push(Node {
            name,
            op,
            inputs,
            params,
            outputs,
        });
    }
}

impl Importer {
    /// ONNX's variadic `Max`, `Min`, `Sum` and `Mean` as a chain of two-input ops (`Mean`
    /// divides the sum by the number of inputs at the end); one input is the identity.
    fn variadic(&mut self, node: &NodeProto, name: &str) {
        let Some(out) = node.output.first().cloned() else {
            self.problems
                .push(format!("{} '{name}' has no outputs", node.op_type));
            return;
        };
        let binary = match node.op_type.as_str() {
            "Sum" | "Mean" => "Add",
            other => other,
        };
        let n = node.input.len();
        let sum_out = if node.op_type == "Mean" && n > 1 {
            format!("{out}::sum")
        } else {
            out.clone()
        };
        let part =
            |op_type: &str, input: Vec<String>, output: String, k: usize| NodeProto {
                name: format!("{name}::{k}"),
                op_type: op_type.to_string(),
                input,
                output: vec![output],
                ..Default::default()
            };
        if n <= 1 {
            self.node(&NodeProto {
                name: name.to_string(),
                ..part("Identity", node.input.clone(), out, 0)
            });
            return;
        }
        let mut acc = node.input[0].clone();
        for k in 1..n {
            let target = if k == n - 1 {
                sum_out.clone()
            } else {
                format!("{out}::{k}")
            };
            self.node(&part(
                binary,
                vec![acc, node.input[k].clone()],
                target.clone(),
                k,
            ));
            acc = target;
        }
        if node.op_type == "Mean" {
            let Some(&sum) = self.names.get(&sum_out) else {
                return; // the failure is already reported
            };
            let dtype = self.graph.tensor(sum).dtype;
            let count = format!("{out}::count");
            let id = self.graph.add_tensor(Tensor {
                name: count.clone(),
                dtype,
                shape: Some(vec![]),
                data: Some(TensorData::F64(vec![n as f64]).cast(dtype)),
                quant: None,
                storage: None,
            });
            self.names.insert(count.clone(), id);
            self.node(&part("Div", vec![sum_out, count], out, n));
        }
    }

    /// `Dropout` that names its mask output. The IR's Dropout computes only the output (the
    /// input, or an error in training mode with a non-zero ratio, where the output is random);
    /// wherever it is defined the mask is all ones, so it is `ConstantOfShape(Shape(x))`
    /// which constant folding turns into data: true from opset 10 (bool), 1 before (the
    /// input's type).
    fn dropout_with_mask(&mut self, node: &NodeProto, name: &str) {
        let mask = node.output[1].clone();
        self.node(&NodeProto {
            output: vec![node.output[0].clone()],
            ..node.clone()
        });
        let Some(x) = node.input.first().and_then(|x| self.names.get(x)).copied() else {
            return; // the failure is already reported
        };
        let mask_shape = format!("{mask}::shape");
        self.node(&NodeProto {
            name: format!("{name}::mask_shape"),
            op_type: "Shape".into(),
            input: vec![node.input[0].clone()],
            output: vec![mask_shape.clone()],
            ..Default::default()
        });
        let Some(&shape) = self.names.get(&mask_shape) else {
            return;
        };
        let dtype = if self.opset >= 10 {
            DType::Bool
        } else {
            self.graph.tensor(x).dtype
        };
        if self.names.contains_key(&mask) {
            self.problems.push(format!(
                "Dropout '{name}' writes '{mask}', which already exists"
            ));
            return;
        }
        let id = self.graph.add_tensor(Tensor {
            name: mask.clone(),
            dtype,
            shape: None,
            data: None,
            quant: None,
            storage: None,
        });
        self.names.insert(mask, id);
        self.graph.nodes.push(Node {
            name: format!("{name}::mask"),
            op: Op::ConstantOfShape(ConstantOfShapeAttrs {
                value: 1.0,
                dtype,
                ..Default::default()
            }),
            inputs: Vec::new(),
            params: vec![Some(shape)],
            outputs: vec![id],
        });
    }
}

fn list_names(names: &[&str]) -> String {
    const SHOWN: usize = 8;
    let mut list: Vec<String> =
        names.iter().take(SHOWN).map(|n| format!("'{n}'")).collect();
    if names.len() > SHOWN {
        list.push(format!("and {} more", names.len() - SHOWN));
    }
    list.join(", ")
}

/// The static shape of a graph input: symbolic or unknown leading dimension fixed to 1 (the
/// batch), any other unknown dimension an error asking for `--input-shape`.
///
/// A declared size of 0 is a real size (ONNX requires `dim_value >= 0`; a tensor with a 0 in
/// its shape holds no elements), not an unknown one: only `dim_param`, a missing `dim_value`
/// or a negative one (which some exporters write) are unknown. A model whose exporter wrote 0
/// for "unknown" can be given its real shape with `--input-shape`, which may replace a 0.
fn fix_input_shape(
    name: &str,
    shape: Option<&proto::TensorShapeProto>,
) -> Result<Vec<usize>, String> {
    use proto::tensor_shape_proto::dimension::Value;
    let Some(shape) = shape else {
        return Err(format!(
            "graph input '{name}' has no shape in the model; give one with --input-shape {name}=1,..."
        ));
    };
    let mut dims = Vec::new();
    for (i, dim) in shape.dim.iter().enumerate() {
        match &dim.value {
            Some(Value::DimValue(v)) if *v >= 0 => dims.push(*v as usize),
            _ if i == 0 => dims.push(1),
            other => {
                let what = match other {
                    Some(Value::DimParam(p)) => format!("the symbolic size '{p}'"),
                    Some(Value::DimValue(v)) => format!("the size {v}"),
                    None => "an unknown size".to_string(),
                };
                return Err(format!(
                    "graph input '{name}' has {what} at dimension {i}; edgegen needs static shapes: give it \
                     with --input-shape {name}=<dims separated by commas>"
                ));
            }
        }
    }
    Ok(dims)
}

/// An `--input-shape` must have the declared rank and agree with every fixed dimension.
fn check_override(
    declared: &[proto::tensor_shape_proto::Dimension],
    shape: &[usize],
) -> Result<(), String> {
    use proto::tensor_shape_proto::dimension::Value;
    if declared.is_empty() {
        return Ok(());
    }
    if declared.len() != shape.len() {
        return Err(format!(
            "the model declares {} dimensions, the option gives {}",
            declared.len(),
            shape.len()
        ));
    }
    for (i, (d, &s)) in declared.iter().zip(shape).enumerate() {
        if let Some(Value::DimValue(v)) = d.value
            && v > 0
            && v as usize != s
        {
            return Err(format!(
                "dimension {i} is fixed to {v} in the model, the option gives {s}"
            ));
        }
    }
    Ok(())
}

/// The IR element type of an ONNX `TensorProto.DataType`.
pub fn dtype_from_onnx(code: i32) -> Result<DType, String> {
    Ok(match code {
        data_type::FLOAT => DType::F32,
        data_type::UINT8 => DType::U8,
        data_type::INT8 => DType::I8,
        data_type::UINT16 => DType::U16,
        data_type::INT16 => DType::I16,
        data_type::INT32 => DType::I32,
        data_type::INT64 => DType::I64,
        data_type::BOOL => DType::Bool,
        data_type::DOUBLE => DType::F64,
        data_type::UINT32 => DType::U32,
        data_type::UINT64 => DType::U64,
        data_type::STRING => return Err("string tensors are not supported".into()),
        data_type::FLOAT16 => DType::F16,
        data_type::BFLOAT16 => return Err("bfloat16 tensors are not supported".into()),
        data_type::COMPLEX64 | data_type::COMPLEX128 => {
            return Err("complex tensors are not supported".into());
        }
        0 => return Err("the element type is not set".into()),
        other => {
            return Err(format!(
                "element type {other} (8-bit or 4-bit float, 4-bit int) is not supported"
            ));
        }
    })
}

/// Decodes a `TensorProto` held in the message (not external data) into a shape and elements.
/// Never allocates more than the message holds: the element count is checked against the data
/// present before anything is decoded.
pub fn tensor_from_proto(t: &TensorProto) -> Result<(Vec<usize>, TensorData), String> {
    if t.data_location == 1 || !t.external_data.is_empty() {
        return Err("its data is stored in an external file".into());
    }
    if t.segment.is_some() {
        return Err("segmented tensors are not supported".into());
    }
    let dtype = dtype_from_onnx(t.data_type)?;
    let mut shape = Vec::with_capacity(t.dims.len());
    let mut count: usize = 1;
    for &d in &t.dims {
        let d = usize::try_from(d).map_err(|_| format!("dimension {d} is negative"))?;
        count = count.checked_mul(d).ok_or("its element count overflows")?;
        shape.push(d);
    }
    let size = dtype.size_bytes();
    if !t.raw_data.is_empty() {
        let expected = count.checked_mul(size).ok_or("its byte size overflows")?;
        if t.raw_data.len() != expected {
            return Err(format!(
                "shape {shape:?} of {dtype} needs {expected} bytes but the tensor holds {}",
                t.raw_data.len()
            ));
        }
        let data = TensorData::from_le_bytes(dtype, &t.raw_data)
            .ok_or("its raw data has a partial element")?;
        return Ok((shape, data));
    }
    let typed_len = match dtype {
        DType::F32 => t.float_data.len(),
        DType::F64 => t.double_data.len(),
        DType::I64 => t.int64_data.len(),
        DType::U32 | DType::U64 => t.uint64_data.len(),
        _ => t.int32_data.len(),
    };
    if typed_len != count {
        return Err(format!(
            "shape {shape:?} has {count} elements but the tensor holds {typed_len} values"
        ));
    }
    let data = match dtype {
        DType::F32 => TensorData::F32(t.float_data.clone()),
        DType::F64 => TensorData::F64(t.double_data.clone()),
        DType::I64 => TensorData::I64(t.int64_data.clone()),
        DType::U64 => TensorData::U64(t.uint64_data.clone()),
        DType::U32 => TensorData::U32(t.uint64_data.iter().map(|&x| x as u32).collect()),
        DType::I32 => TensorData::I32(t.int32_data.clone()),
        DType::I16 => TensorData::I16(t.int32_data.iter().map(|&x| x as i16).collect()),
        DType::U16 => TensorData::U16(t.int32_data.iter().map(|&x| x as u16).collect()),
        // float16 bit patterns travel in the low 16 bits of int32_data.
        DType::F16 => TensorData::F16(t.int32_data.iter().map(|&x| x as u16).collect()),
        DType::I8 => TensorData::I8(t.int32_data.iter().map(|&x| x as i8).collect()),
        DType::U8 => TensorData::U8(t.int32_data.iter().map(|&x| x as u8).collect()),
        DType::Bool => TensorData::Bool(t.int32_data.iter().map(|&x| x != 0).collect()),
    };
    Ok((shape, data))
}

/// Typed access to a node's attributes that remembers which were read, so that unknown ones can
/// be reported, and collects type errors instead of stopping at the first.
struct NodeAttrs<'a> {
    attrs: Vec<&'a AttributeProto>,
    used: Vec<bool>,
    problems: Vec<String>,
}

impl<'a> NodeAttrs<'a> {
    fn new(node: &'a NodeProto) -> Self {
        NodeAttrs {
            attrs: node.attribute.iter().collect(),
            used: vec![false; node.attribute.len()],
            problems: Vec::new(),
        }
    }

    fn get(&mut self, name: &str, expected: i32) -> Option<&'a AttributeProto> {
        let i = self.attrs.iter().position(|a| a.name == name)?;
        self.used[i] = true;
        let attr = self.attrs[i];
        if !attr.ref_attr_name.is_empty() {
            self.problems
                .push(format!("attribute '{name}' refers to a function attribute"));
            return None;
        }
        // IR versions before 2 did not set the type; trust the field the caller asks for.
        if attr.r#type != 0 && attr.r#type != expected {
            self.problems.push(format!(
                "attribute '{name}' has type {} where {} was expected",
                attr.r#type, expected
            ));
            return None;
        }
        Some(attr)
    }

    fn int(&mut self, name: &str) -> Option<i64> {
        self.get(name, attribute_type::INT).map(|a| a.i)
    }

    fn bool(&mut self, name: &str, default: bool) -> bool {
        self.int(name).map_or(default, |i| i != 0)
    }

    fn float(&mut self, name: &str) -> Option<f32> {
        self.get(name, attribute_type::FLOAT).map(|a| a.f)
    }

    fn ints(&mut self, name: &str) -> Option<Vec<i64>> {
        self.get(name, attribute_type::INTS).map(|a| a.ints.clone())
    }

    fn floats(&mut self, name: &str) -> Option<Vec<f32>> {
        self.get(name, attribute_type::FLOATS)
            .map(|a| a.floats.clone())
    }

    fn string(&mut self, name: &str) -> Option<String> {
        self.get(name, attribute_type::STRING)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    fn tensor(&mut self, name: &str) -> Option<&'a TensorProto> {
        self.get(name, attribute_type::TENSOR)
            .and_then(|a| a.t.as_ref())
    }

    /// A list of non-negative integers (kernel sizes, strides, pads).
    fn usizes(&mut self, name: &str) -> Vec<usize> {
        let Some(values) = self.ints(name) else {
            return Vec::new();
        };
        // Kernel sizes, strides, dilations and pads beyond 2^31 are not real; refusing them
        // keeps every later size computation far from overflow.
        match values
            .iter()
            .map(|&v| usize::try_from(v).ok().filter(|&v| v <= i32::MAX as usize))
            .collect()
        {
            Some(v) => v,
            None => {
                self.problems.push(format!(
                    "attribute '{name}' has a negative or out-of-range value: {values:?}"
                ));
                Vec::new()
            }
        }
    }

    /// A positive integer attribute such as `group`.
    fn positive(&mut self, name: &str, default: usize) -> usize {
        match self.int(name) {
            None => default,
            Some(v) if (1..=i64::from(i32::MAX)).contains(&v) => v as usize,
            Some(v) => {
                self.problems
                    .push(format!("attribute '{name}' must be at least 1, not {v}"));
                default
            }
        }
    }

    fn auto_pad(&mut self) -> AutoPad {
        match self.string("auto_pad").as_deref() {
            None | Some("") | Some("NOTSET") => AutoPad::NotSet,
            Some("SAME_UPPER") => AutoPad::SameUpper,
            Some("SAME_LOWER") => AutoPad::SameLower,
            Some("VALID") => AutoPad::Valid,
            Some(other) => {
                self.problems.push(format!("unknown auto_pad '{other}'"));
                AutoPad::NotSet
            }
        }
    }

    /// Marks attributes as read whose value does not matter for inference.
    fn ignore(&mut self, names: &[&str]) {
        for name in names {
            if let Some(i) = self.attrs.iter().position(|a| a.name == *name) {
                self.used[i] = true;
            }
        }
    }

    /// Records every attribute nobody read as a problem.
    fn finish(&mut self) {
        for (i, attr) in self.attrs.iter().enumerate() {
            if !self.used[i] {
                self.problems
                    .push(format!("unknown attribute '{}'", attr.name));
            }
        }
    }

    fn problem(&self) -> Option<String> {
        if self.problems.is_empty() {
            None
        } else {
            Some(self.problems.join("; "))
        }
    }
}

/// The value of a `Constant` node.
fn constant_node(attrs: &mut NodeAttrs) -> Result<(Vec<usize>, TensorData), String> {
    if let Some(t) = attrs.tensor("value") {
        return tensor_from_proto(t);
    }
    if let Some(f) = attrs.float("value_float") {
        return Ok((vec![], TensorData::F32(vec![f])));
    }
    if let Some(fs) = attrs.floats("value_floats") {
        return Ok((vec![fs.len()], TensorData::F32(fs)));
    }
    if let Some(i) = attrs.int("value_int") {
        return Ok((vec![], TensorData::I64(vec![i])));
    }
    if let Some(is) = attrs.ints("value_ints") {
        return Ok((vec![is.len()], TensorData::I64(is)));
    }
    if attrs.attrs.iter().any(|a| a.name == "sparse_value") {
        attrs.ignore(&["sparse_value"]);
        return Err("sparse constants are not supported".into());
    }
    if attrs
        .attrs
        .iter()
        .any(|a| a.name.starts_with("value_string"))
    {
        attrs.ignore(&["value_string", "value_strings"]);
        return Err("string constants are not supported".into());
    }
    Err("the node has no value".into())
}

/// Translates one node's operator and attributes, following the node's opset.
fn translate(op_type: &str, a: &mut NodeAttrs, opset: i64) -> Result<Op, String> {
    let activation = Activation::None;
    Ok(match op_type {
        "Conv" => Op::Conv(ConvAttrs {
            kernel_shape: a.usizes("kernel_shape"),
            strides: a.usizes("strides"),
            dilations: a.usizes("dilations"),
            pads: a.usizes("pads"),
            group: a.positive("group", 1),
            auto_pad: a.auto_pad(),
            activation,
            channels_last: false,
        }),
        "ConvTranspose" => Op::ConvTranspose(ConvTransposeAttrs {
            kernel_shape: a.usizes("kernel_shape"),
            strides: a.usizes("strides"),
            dilations: a.usizes("dilations"),
            pads: a.usizes("pads"),
            output_padding: a.usizes("output_padding"),
            output_shape: Some(a.usizes("output_shape")).filter(|s| !s.is_empty()),
            group: a.positive("group", 1),
            auto_pad: a.auto_pad(),
            activation,
        }),
        "Gemm" => {
            if opset < 7 {
                a.ignore(&["broadcast"]);
            }
            Op::Gemm(GemmAttrs {
                alpha: a.float("alpha").unwrap_or(1.0),
                beta: a.float("beta").unwrap_or(1.0),
                trans_a: a.bool("transA", false),
                trans_b: a.bool("transB", false),
                activation,
            })
        }
        "MatMul" => Op::MatMul,
        "Add" => Op::Add(BinaryAttrs::default()),
        "Sub" => Op::Sub(BinaryAttrs::default()),
        "Mul" => Op::Mul(BinaryAttrs::default()),
        "Div" => Op::Div(BinaryAttrs::default()),
        "Relu" => Op::Relu,
        "LeakyRelu" => Op::LeakyRelu(LeakyReluAttrs {
            alpha: a.float("alpha").unwrap_or(0.01),
        }),
        "PRelu" => Op::PRelu,
        "Clip" => {
            if opset < 11 {
                Op::Clip(ClipAttrs {
                    min: a.float("min").unwrap_or(f32::NEG_INFINITY),
                    max: a.float("max").unwrap_or(f32::INFINITY),
                })
            } else {
                Op::Clip(ClipAttrs::default())
            }
        }
        "Sigmoid" => Op::Sigmoid,
        "HardSigmoid" => Op::HardSigmoid(HardSigmoidAttrs {
            alpha: a.float("alpha").unwrap_or(0.2),
            beta: a.float("beta").unwrap_or(0.5),
        }),
        "HardSwish" => Op::HardSwish,
        "Tanh" => Op::Tanh,
        "Softmax" | "LogSoftmax" => {
            // Before opset 13 the default axis was 1 and the input was coerced to 2-D there.
            let attrs = if opset < 13 {
                SoftmaxAttrs {
                    axis: a.int("axis").unwrap_or(1),
                    coerce_2d: true,
                    beta: 1.0,
                }
            } else {
                SoftmaxAttrs {
                    axis: a.int("axis").unwrap_or(-1),
                    coerce_2d: false,
                    beta: 1.0,
                }
            };
            if op_type == "Softmax" {
                Op::Softmax(attrs)
            } else {
                Op::LogSoftmax(attrs)
            }
        }
        "MaxPool" | "AveragePool" => {
            let attrs = PoolAttrs {
                kernel_shape: a.usizes("kernel_shape"),
                strides: a.usizes("strides"),
                dilations: a.usizes("dilations"),
                pads: a.usizes("pads"),
                auto_pad: a.auto_pad(),
                ceil_mode: a.bool("ceil_mode", false),
                count_include_pad: op_type == "AveragePool"
                    && a.bool("count_include_pad", false),
                ..Default::default()
            };
            if attrs.kernel_shape.is_empty() {
                return Err("attribute 'kernel_shape' is required".into());
            }
            if op_type == "MaxPool" {
                let column_major_indices = match a.int("storage_order").unwrap_or(0) {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(format!(
                            "storage_order {other} is neither 0 (row major) nor 1 (column major)"
                        ));
                    }
                };
                Op::MaxPool(PoolAttrs {
                    column_major_indices,
                    ..attrs
                })
            } else {
                Op::AveragePool(attrs)
            }
        }
        "GlobalAveragePool" => Op::GlobalAveragePool,
        "GlobalMaxPool" => Op::GlobalMaxPool,
        "BatchNormalization" => {
            if opset < 9 && a.int("spatial").is_some_and(|s| s == 0) {
                return Err("BatchNormalization with spatial=0 is not supported".into());
            }
            if a.bool("training_mode", false) {
                return Ok(Op::BatchNormalizationTraining(BatchNormTrainingAttrs {
                    epsilon: a.float("epsilon").unwrap_or(1e-5),
                    momentum: a.float("momentum").unwrap_or(0.9),
                }));
            }
            a.ignore(&["momentum"]);
            if opset < 7 {
                a.ignore(&["is_test", "consumed_inputs"]);
            }
            Op::BatchNormalization(BatchNormAttrs {
                epsilon: a.float("epsilon").unwrap_or(1e-5),
            })
        }
        "Reshape" => Op::Reshape(ReshapeAttrs {
            allowzero: a.bool("allowzero", false),
        }),
        "Flatten" => Op::Flatten(FlattenAttrs {
            axis: a.int("axis").unwrap_or(1),
        }),
        "Squeeze" | "Unsqueeze" => {
            let axes = if opset < 13 { a.ints("axes") } else { None };
            if op_type == "Unsqueeze" && opset < 13 && axes.is_none() {
                return Err("attribute 'axes' is required".into());
            }
            let attrs = AxesAttrs { axes };
            if op_type == "Squeeze" {
                Op::Squeeze(attrs)
            } else {
                Op::Unsqueeze(attrs)
            }
        }
        "Transpose" => Op::Transpose(TransposeAttrs {
            perm: a
                .ints("perm")
                .map(|p| p.iter().map(|&x| x.max(0) as usize).collect()),
        }),
        "Concat" => Op::Concat(ConcatAttrs {
            axis: a.int("axis").ok_or("attribute 'axis' is required")?,
        }),
        "Split" => {
            let split = if opset < 13 {
                Some(a.usizes("split")).filter(|s| !s.is_empty())
            } else {
                None
            };
            // num_outputs (opset 18) only restates the number of outputs, which the node has.
            a.ignore(&["num_outputs"]);
            Op::Split(SplitAttrs {
                axis: a.int("axis").unwrap_or(0),
                split,
            })
        }
        "Slice" => {
            if opset < 10 {
                Op::Slice(SliceAttrs {
                    starts: a.ints("starts").ok_or("attribute 'starts' is required")?,
                    ends: a.ints("ends").ok_or("attribute 'ends' is required")?,
                    axes: a.ints("axes"),
                    steps: None,
                })
            } else {
                Op::Slice(SliceAttrs::default())
            }
        }
        "Pad" => {
            let mode = match a.string("mode").as_deref() {
                None | Some("constant") => PadMode::Constant,
                Some("reflect") => PadMode::Reflect,
                Some("edge") => PadMode::Edge,
                Some("wrap") => PadMode::Wrap,
                Some(other) => return Err(format!("Pad mode '{other}' is not supported")),
            };
            if opset < 11 {
                let pads = a
                    .ints("pads")
                    .or_else(|| a.ints("paddings"))
                    .ok_or("attribute 'pads' is required")?;
                Op::Pad(PadAttrs {
                    mode,
                    pads,
                    value: a.float("value").unwrap_or(0.0),
                    axes: None,
                })
            } else {
                Op::Pad(PadAttrs {
                    mode,
                    ..PadAttrs::default()
                })
            }
        }
        "Gather" => Op::Gather(GatherAttrs {
            axis: a.int("axis").unwrap_or(0),
        }),
        "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin" | "ReduceProd"
        | "ReduceL1" | "ReduceL2" | "ReduceLogSum" | "ReduceLogSumExp"
        | "ReduceSumSquare" => reduce(op_type, a, opset),
        "ArgMax" | "ArgMin" => {
            let attrs = ArgAttrs {
                axis: a.int("axis").unwrap_or(0),
                keepdims: a.bool("keepdims", true),
                select_last_index: a.bool("select_last_index", false),
            };
            if op_type == "ArgMax" {
                Op::ArgMax(attrs)
            } else {
                Op::ArgMin(attrs)
            }
        }
        "CumSum" => Op::CumSum(CumSumAttrs {
            axis: 0,
            exclusive: a.bool("exclusive", false),
            reverse: a.bool("reverse", false),
        }),
        // Hardmax had Softmax's "coerce to 2-D" semantics before opset 13, too.
        "Hardmax" => Op::Hardmax(if opset < 13 {
            SoftmaxAttrs {
                axis: a.int("axis").unwrap_or(1),
                coerce_2d: true,
                beta: 1.0,
            }
        } else {
            SoftmaxAttrs {
                axis: a.int("axis").unwrap_or(-1),
                coerce_2d: false,
                beta: 1.0,
            }
        }),
        "TopK" => Op::TopK(TopKAttrs {
            // Before opset 10, k was an attribute; since then it is an input.
            k: if opset < 10 {
                Some(a.int("k").ok_or("attribute 'k' is required")?)
            } else {
                None
            },
            axis: a.int("axis").unwrap_or(-1),
            largest: opset < 11 || a.bool("largest", true),
            sorted: opset < 11 || a.bool("sorted", true),
        }),
        "GatherElements" => Op::GatherElements(GatherAttrs {
            axis: a.int("axis").unwrap_or(0),
        }),
        "Size" => Op::Size,
        "DepthToSpace" | "SpaceToDepth" => {
            let attrs = BlockAttrs {
                blocksize: a.positive("blocksize", 0),
                crd: match a.string("mode").as_deref() {
                    None | Some("DCR") => false,
                    Some("CRD") => true,
                    Some(other) => return Err(format!("unknown {op_type} mode '{other}'")),
                },
            };
            if attrs.blocksize == 0 {
                return Err("the blocksize attribute is missing".into());
            }
            if op_type == "DepthToSpace" {
                Op::DepthToSpace(attrs)
            } else {
                Op::SpaceToDepth(attrs)
            }
        }
        "ConstantOfShape" => {
            let (value, dtype) = match a.tensor("value") {
                Some(t) => {
                    let (_, data) = tensor_from_proto(t)?;
                    if data.len() != 1 {
                        return Err("the value must have one element".into());
                    }
                    (data.to_f64_vec()[0], data.dtype())
                }
                None => (0.0, DType::F32),
            };
            Op::ConstantOfShape(ConstantOfShapeAttrs {
                value,
                dtype,
                ..Default::default()
            })
        }
        "Range" => Op::Range(RangeAttrs::default()),
        "Expand" => Op::Expand(ExpandAttrs::default()),
        "Tile" => Op::Tile(TileAttrs::default()),
        "Resize" => resize(a, opset)?,
        "Upsample" => upsample(a, opset)?,
        "Identity" => Op::Identity,
        "Abs" => Op::Abs,
        "Neg" => Op::Neg,
        "Sign" => Op::Sign,
        "Sqrt" => Op::Sqrt,
        "Exp" => Op::Exp,
        "Log" => Op::Log,
        "Sin" => Op::Sin,
        "Cos" => Op::Cos,
        "Tan" => Op::Tan,
        "Asin" => Op::Asin,
        "Acos" => Op::Acos,
        "Atan" => Op::Atan,
        "Sinh" => Op::Sinh,
        "Cosh" => Op::Cosh,
        "Asinh" => Op::Asinh,
        "Acosh" => Op::Acosh,
        "Atanh" => Op::Atanh,
        "Erf" => Op::Erf,
        "Floor" => Op::Floor,
        "Ceil" => Op::Ceil,
        "Round" => Op::Round,
        "Reciprocal" => Op::Reciprocal,
        "Softplus" => Op::Softplus,
        "Softsign" => Op::Softsign,
        "Mish" => Op::Mish,
        "Elu" => Op::Elu(EluAttrs {
            alpha: a.float("alpha").unwrap_or(1.0),
        }),
        "Celu" => Op::Celu(EluAttrs {
            alpha: a.float("alpha").unwrap_or(1.0),
        }),
        "Selu" => {
            let d = SeluAttrs::default();
            Op::Selu(SeluAttrs {
                alpha: a.float("alpha").unwrap_or(d.alpha),
                gamma: a.float("gamma").unwrap_or(d.gamma),
            })
        }
        "Gelu" => Op::Gelu(GeluAttrs {
            tanh: match a.string("approximate").as_deref() {
                None | Some("none") => false,
                Some("tanh") => true,
                Some(other) => return Err(format!("unknown Gelu approximation '{other}'")),
            },
        }),
        "Not" => Op::Not,
        "Pow" => Op::Pow,
        "Max" => Op::Max,
        "Min" => Op::Min,
        "Mod" => Op::Mod(ModAttrs {
            fmod: a.bool("fmod", false),
        }),
        "And" => Op::And,
        "Or" => Op::Or,
        "Xor" => Op::Xor,
        "Equal" => Op::Equal,
        "Less" => Op::Less,
        "LessOrEqual" => Op::LessOrEqual,
        "Greater" => Op::Greater,
        "GreaterOrEqual" => Op::GreaterOrEqual,
        "Where" => Op::Where,
        "Dropout" => {
            a.ignore(&["seed", "ratio", "is_test"]);
            Op::Dropout
        }
        "Shape" => Op::Shape(ShapeAttrs {
            start: a.int("start").unwrap_or(0),
            end: a.int("end"),
        }),
        "Cast" => {
            // saturate and round_mode only matter for 8-bit and 4-bit float targets, refused below.
            a.ignore(&["saturate", "round_mode"]);
            let to = a.int("to").ok_or("attribute 'to' is required")?;
            Op::Cast(CastAttrs {
                to: dtype_from_onnx(to as i32)?,
            })
        }
        "LayerNormalization"
        | "InstanceNormalization"
        | "LRN"
        | "RNN"
        | "GRU"
        | "LSTM"
        | "Einsum" => recurrent::translate(op_type, a)?,
        other => match quant::translate(other, a) {
            Some(op) => op?,
            None => return Err(format!("no translation for {other}")),
        },
    })
}

/// The reductions: `axes` is an attribute before opset 13 (`ReduceSum`) or 18 (the others) and
/// an input since, when `noop_with_empty_axes` appeared.
fn reduce(op_type: &str, a: &mut NodeAttrs, opset: i64) -> Op {
    let axes_became_input = if op_type == "ReduceSum" { 13 } else { 18 };
    let attrs = ReduceAttrs {
        axes: if opset < axes_became_input {
            a.ints("axes")
        } else {
            None
        },
        keepdims: a.bool("keepdims", true),
        noop_with_empty_axes: opset >= axes_became_input
            && a.bool("noop_with_empty_axes", false),
    };
    match op_type {
        "ReduceSum" => Op::ReduceSum(attrs),
        "ReduceMax" => Op::ReduceMax(attrs),
        "ReduceMin" => Op::ReduceMin(attrs),
        "ReduceProd" => Op::ReduceProd(attrs),
        "ReduceL1" => Op::ReduceL1(attrs),
        "ReduceL2" => Op::ReduceL2(attrs),
        "ReduceLogSum" => Op::ReduceLogSum(attrs),
        "ReduceLogSumExp" => Op::ReduceLogSumExp(attrs),
        "ReduceSumSquare" => Op::ReduceSumSquare(attrs),
        _ => Op::ReduceMean(attrs),
    }
}

/// `Upsample` (deprecated in opset 10) is Resize-10: asymmetric coordinates, and nearest
/// rounding as `Legacy` says (down, since Upsample only enlarges). Its scales are an attribute
/// before opset 9 and an input since.
fn upsample(a: &mut NodeAttrs, opset: i64) -> Result<Op, String> {
    let mode = match a.string("mode").as_deref() {
        None | Some("nearest") => ResizeMode::Nearest,
        Some("linear") | Some("bilinear") => ResizeMode::Linear,
        Some(other) => return Err(format!("unknown Upsample mode '{other}'")),
    };
    let scales = if opset < 9 {
        a.floats("scales").ok_or("attribute 'scales' is required")?
    } else {
        Vec::new()
    };
    Ok(Op::Resize(ResizeAttrs {
        mode,
        coordinate_transformation_mode: CoordinateTransformation::Asymmetric,
        nearest_mode: NearestMode::Legacy,
        scales,
        ..ResizeAttrs::default()
    }))
}

fn resize(a: &mut NodeAttrs, opset: i64) -> Result<Op, String> {
    let mode = match a.string("mode").as_deref() {
        None | Some("nearest") => ResizeMode::Nearest,
        Some("linear") | Some("bilinear") => ResizeMode::Linear,
        Some("cubic") if opset >= 11 => ResizeMode::Cubic,
        Some(other) => return Err(format!("unknown Resize mode '{other}'")),
    };
    if opset < 11 {
        // Resize-10 is Upsample: x_in = x_out / scale, and nearest rounds as `Legacy` says.
        return Ok(Op::Resize(ResizeAttrs {
            mode,
            coordinate_transformation_mode: CoordinateTransformation::Asymmetric,
            nearest_mode: NearestMode::Legacy,
            ..ResizeAttrs::default()
        }));
    }
    let ctm = match a.string("coordinate_transformation_mode").as_deref() {
        None | Some("half_pixel") => CoordinateTransformation::HalfPixel,
        Some("half_pixel_symmetric") => CoordinateTransformation::HalfPixelSymmetric,
        Some("pytorch_half_pixel") => CoordinateTransformation::PytorchHalfPixel,
        Some("align_corners") => CoordinateTransformation::AlignCorners,
        Some("asymmetric") => CoordinateTransformation::Asymmetric,
        Some("tf_half_pixel_for_nn") => CoordinateTransformation::TfHalfPixelForNn,
        Some("tf_crop_and_resize") => CoordinateTransformation::TfCropAndResize,
        Some(other) => {
            return Err(format!(
                "Resize coordinate_transformation_mode '{other}' is not supported"
            ));
        }
    };
    let nearest_mode = match a.string("nearest_mode").as_deref() {
        None | Some("round_prefer_floor") => NearestMode::RoundPreferFloor,
        Some("round_prefer_ceil") => NearestMode::RoundPreferCeil,
        Some("floor") => NearestMode::Floor,
        Some("ceil") => NearestMode::Ceil,
        Some(other) => return Err(format!("unknown Resize nearest_mode '{other}'")),
    };
    let extrapolation_value = a.float("extrapolation_value").unwrap_or(0.0);
    let cubic_coeff_a = a.float("cubic_coeff_a").unwrap_or(-0.75);
    let exclude_outside = a.bool("exclude_outside", false);
    // Antialiasing only changes linear and cubic filters; nearest ignores it.
    let antialias = a.bool("antialias", false) && mode != ResizeMode::Nearest;
    let keep_aspect_ratio_policy = match a.string("keep_aspect_ratio_policy").as_deref() {
        None | Some("stretch") => AspectPolicy::Stretch,
        Some("not_larger") => AspectPolicy::NotLarger,
        Some("not_smaller") => AspectPolicy::NotSmaller,
        Some(other) => return Err(format!("unknown keep_aspect_ratio_policy '{other}'")),
    };
    Ok(Op::Resize(ResizeAttrs {
        mode,
        coordinate_transformation_mode: ctm,
        nearest_mode,
        extrapolation_value,
        axes: a.ints("axes"),
        keep_aspect_ratio_policy,
        cubic_coeff_a,
        exclude_outside,
        antialias,
        ..ResizeAttrs::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use proto::*;

    fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
        use tensor_shape_proto::{Dimension, dimension::Value};
        ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: data_type::FLOAT,
                    shape: Some(TensorShapeProto {
                        dim: dims
                            .iter()
                            .map(|&d| Dimension {
                                value: Some(if d < 0 {
                                    Value::DimParam("N".into())
                                } else {
                                    Value::DimValue(d)
                                }),
                            })
                            .collect(),
                    }),
                })),
            }),
        }
    }

    fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            name: name.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn model(nodes: Vec<NodeProto>, opset: i64) -> Vec<u8> {
        model_with_output(nodes, opset, &[-1, 4])
    }

    /// A model with output shape `output` and a constant `s` holding `scales`.
    fn model_with_output(nodes: Vec<NodeProto>, opset: i64, output: &[i64]) -> Vec<u8> {
        let scales = TensorProto {
            name: "s".into(),
            dims: vec![2],
            data_type: data_type::FLOAT,
            float_data: vec![1.0, 2.0],
            ..Default::default()
        };
        ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: opset,
            }],
            graph: Some(GraphProto {
                name: "g".into(),
                node: nodes,
                input: vec![value_info("x", &[-1, 4])],
                output: vec![value_info("y", output)],
                initializer: vec![scales],
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn floats_attr(name: &str, floats: &[f32]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: attribute_type::FLOATS,
            floats: floats.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn imports_upsample_as_legacy_resize() {
        // Opset 7: the scales are an attribute, which shape inference reads.
        let mut up = node("Upsample", "up", &["x"], &["y"]);
        up.attribute.push(floats_attr("scales", &[1.0, 2.0]));
        let bytes = model_with_output(vec![up], 7, &[-1, 8]);
        let mut g =
            import(&bytes, SourceInfo::default(), &ImportOptions::default()).unwrap();
        let Op::Resize(a) = &g.nodes[0].op else {
            panic!("{:?}", g.nodes[0].op)
        };
        assert_eq!(
            (a.coordinate_transformation_mode, a.nearest_mode),
            (CoordinateTransformation::Asymmetric, NearestMode::Legacy)
        );
        crate::passes::shape_inference::infer_shapes(&mut g, &Default::default()).unwrap();
        assert_eq!(g.tensor(g.outputs[0]).shape, Some(vec![1, 8]));
        // Opset 9: the scales are the second input, Resize's third.
        let mut up = node("Upsample", "up", &["x", "s"], &["y"]);
        up.attribute.push(AttributeProto {
            name: "mode".into(),
            r#type: attribute_type::STRING,
            s: b"linear".to_vec(),
            ..Default::default()
        });
        let bytes = model_with_output(vec![up], 9, &[-1, 8]);
        let g = import(&bytes, SourceInfo::default(), &ImportOptions::default()).unwrap();
        assert!(matches!(&g.nodes[0].op, Op::Resize(a) if a.mode == ResizeMode::Linear));
        let names: Vec<Option<&str>> = g.nodes[0]
            .params
            .iter()
            .map(|p| p.map(|t| g.tensor(t).name.as_str()))
            .collect();
        assert_eq!(names[..2], [None, Some("s")]);
    }

    #[test]
    fn imports_cubic_resize_attributes() {
        let mut r = node("Resize", "r", &["x", "", "s"], &["y"]);
        r.attribute.push(AttributeProto {
            name: "mode".into(),
            r#type: attribute_type::STRING,
            s: b"cubic".to_vec(),
            ..Default::default()
        });
        r.attribute.push(AttributeProto {
            name: "cubic_coeff_a".into(),
            r#type: attribute_type::FLOAT,
            f: -0.5,
            ..Default::default()
        });
        for name in ["exclude_outside", "antialias"] {
            r.attribute.push(AttributeProto {
                name: name.into(),
                r#type: attribute_type::INT,
                i: 1,
                ..Default::default()
            });
        }
        let bytes = model_with_output(vec![r], 18, &[-1, 8]);
        let g = import(&bytes, SourceInfo::default(), &ImportOptions::default()).unwrap();
        let Op::Resize(a) = &g.nodes[0].op else {
            panic!("{:?}", g.nodes[0].op)
        };
        assert_eq!(a.mode, ResizeMode::Cubic);
        assert_eq!(
            (a.cubic_coeff_a, a.exclude_outside, a.antialias),
            (-0.5, true, true)
        );
    }

    #[test]
    fn imports_a_small_model_and_fixes_the_batch() {
        let bytes = model(vec![node("Relu", "r", &["x"], &["y"])], 13);
        let g = import(&bytes, SourceInfo::default(), &ImportOptions::default()).unwrap();
        assert_eq!(g.tensor(g.inputs[0]).shape, Some(vec![1, 4]));
        assert_eq!(g.nodes.len(), 1);
        assert_eq!(g.source.description, "ONNX opset 13");
    }

    #[test]
    fn lists_every_unsupported_operator_at_once() {
        let mut custom = node("MyOp", "mine", &["x"], &["b"]);
        custom.domain = "com.example".into();
        let bytes = model(
            vec![
                node("Scan", "scan1", &["x"], &["a"]),
                custom,
                node("StringNormalizer", "strings", &["a"], &["y"]),
            ],
            13,
        );
        let err =
            import(&bytes, SourceInfo::default(), &ImportOptions::default()).unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::Unsupported);
        assert!(err.message.contains("3 operators"), "{err}");
        for needle in [
            "Scan (node 'scan1')",
            "com.example.MyOp (node 'mine'",
            "StringNormalizer (node 'strings')",
        ] {
            assert!(err.message.contains(needle), "{needle} not in {err}");
        }
    }

    #[test]
    fn refuses_out_of_range_opsets_and_garbage() {
        let err = import(
            &model(vec![], 0),
            SourceInfo::default(),
            &ImportOptions::default(),
        )
        .unwrap_err();
        assert!(err.message.contains("opset 0"), "{err}");
        let err = import(
            b"hello, this is not a model",
            SourceInfo::default(),
            &ImportOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::InvalidModel);
        let err =
            import(&[], SourceInfo::default(), &ImportOptions::default()).unwrap_err();
        assert!(err.message.contains("empty"), "{err}");
    }

    #[test]
    fn reports_unknown_attributes_and_input_shape_mismatches() {
        let mut relu = node("Relu", "r", &["x"], &["y"]);
        relu.attribute.push(AttributeProto {
            name: "colour".into(),
            r#type: attribute_type::INT,
            i: 3,
            ..Default::default()
        });
        let err = import(
            &model(vec![relu], 13),
            SourceInfo::default(),
            &ImportOptions::default(),
        )
        .unwrap_err();
        assert!(
            err.message.contains("Relu 'r': unknown attribute 'colour'"),
            "{err}"
        );

        let bytes = model(vec![node("Relu", "r", &["x"], &["y"])], 13);
        let options = ImportOptions {
            input_shapes: vec![("x".into(), vec![2, 5])],
            ..Default::default()
        };
        let err = import(&bytes, SourceInfo::default(), &options).unwrap_err();
        assert!(err.message.contains("dimension 1 is fixed to 4"), "{err}");
        let options = ImportOptions {
            input_shapes: vec![("z".into(), vec![2, 4])],
            ..Default::default()
        };
        let err = import(&bytes, SourceInfo::default(), &options).unwrap_err();
        assert!(err.message.contains("'z'"), "{err}");
        let options = ImportOptions {
            input_shapes: vec![("x".into(), vec![3, 4])],
            ..Default::default()
        };
        let g = import(&bytes, SourceInfo::default(), &options).unwrap();
        assert_eq!(g.tensor(g.inputs[0]).shape, Some(vec![3, 4]));
    }

    #[test]
    fn max_pool_indices_follow_storage_order_and_may_be_left_out() {
        let pool = |outputs: &[&str], storage_order: i64| {
            let mut n = node("MaxPool", "p", &["x"], outputs);
            for (name, ints, i) in [
                ("kernel_shape", vec![1], 0),
                ("storage_order", vec![], storage_order),
            ] {
                n.attribute.push(AttributeProto {
                    name: name.into(),
                    r#type: if ints.is_empty() {
                        attribute_type::INT
                    } else {
                        attribute_type::INTS
                    },
                    ints,
                    i,
                    ..Default::default()
                });
            }
            import(
                &model(vec![n], 13),
                SourceInfo::default(),
                &ImportOptions::default(),
            )
        };
        let g = pool(&["y", ""], 0).unwrap();
        assert_eq!(g.nodes[0].outputs.len(), 1);
        let g = pool(&["y", "z"], 1).unwrap();
        assert_eq!(g.nodes[0].outputs.len(), 2);
        assert_eq!(g.tensor(g.nodes[0].outputs[1]).dtype, DType::I64);
        let Op::MaxPool(a) = &g.nodes[0].op else {
            panic!("{:?}", g.nodes[0].op)
        };
        assert!(a.column_major_indices);
        let err = pool(&["y"], 2).unwrap_err();
        assert!(err.message.contains("storage_order 2"), "{err}");
    }

    #[test]
    fn a_declared_zero_size_is_empty_and_a_symbolic_one_unknown() {
        let with_input = |dims: &[i64]| {
            let mut m =
                ModelProto::decode(&model(vec![node("Relu", "r", &["x"], &["y"])], 13)[..])
                    .unwrap();
            m.graph.as_mut().unwrap().input = vec![value_info("x", dims)];
            m.encode_to_vec()
        };
        let shape_of = |dims: &[i64], options: &ImportOptions| {
            import(&with_input(dims), SourceInfo::default(), options)
                .map(|g| g.tensor(g.inputs[0]).shape.clone().unwrap())
        };
        let default = ImportOptions::default();
        // ONNX sizes are >= 0: a 0 makes a tensor without elements, wherever it is.
        assert_eq!(shape_of(&[0, 4], &default).unwrap(), [0, 4]);
        assert_eq!(shape_of(&[2, 0, 4], &default).unwrap(), [2, 0, 4]);
        // A symbolic leading size is the batch; anywhere else it needs --input-shape.
        assert_eq!(shape_of(&[-1, 4], &default).unwrap(), [1, 4]);
        let err = shape_of(&[1, -1], &default).unwrap_err();
        assert!(err.message.contains("--input-shape x="), "{err}");
        // An exporter that wrote 0 for "unknown" is overruled by --input-shape.
        let options = ImportOptions {
            input_shapes: vec![("x".into(), vec![3, 4])],
            ..Default::default()
        };
        assert_eq!(shape_of(&[0, 4], &options).unwrap(), [3, 4]);
    }

    #[test]
    fn nodes_out_of_order_are_sorted_and_cycles_refused() {
        let bytes = model(
            vec![
                node("Sigmoid", "second", &["a"], &["y"]),
                node("Relu", "first", &["x"], &["a"]),
            ],
            13,
        );
        let g = import(&bytes, SourceInfo::default(), &ImportOptions::default()).unwrap();
        let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["first", "second"]);

        let bytes = model(
            vec![
                node("Relu", "a", &["b"], &["a_out"]),
                node("Relu", "b", &["a_out"], &["b"]),
            ],
            13,
        );
        let err =
            import(&bytes, SourceInfo::default(), &ImportOptions::default()).unwrap_err();
        assert!(
            err.message.contains("cycle") && err.message.contains("Relu 'a'"),
            "{err}"
        );
    }

    #[test]
    fn old_opsets_keep_the_versions_that_mean_the_same() {
        let attr = |name: &str, i: i64| AttributeProto {
            name: name.into(),
            r#type: attribute_type::INT,
            i,
            ..Default::default()
        };
        let mut relu = node("Relu", "r", &["x"], &["y"]);
        relu.attribute.push(attr("consumed_inputs", 0));
        let g = import(
            &model(vec![relu], 1),
            SourceInfo::default(),
            &ImportOptions::default(),
        )
        .unwrap();
        assert!(matches!(g.nodes[0].op, Op::Relu));

        let mut add = node("Add", "a", &["x", "x"], &["y"]);
        add.attribute
            .extend([attr("broadcast", 1), attr("axis", 1)]);
        let err = import(
            &model(vec![add], 6),
            SourceInfo::default(),
            &ImportOptions::default(),
        )
        .unwrap_err();
        assert!(
            err.message
                .contains("Add 'a': version 6 of Add (opset 6) broadcasts")
                && err.message.contains("version_converter"),
            "{err}"
        );
    }

    /// Dropout with its mask, `ratio` and `training_mode` as initializers, through the pass
    /// pipeline.
    fn compile_dropout(ratio: f32, training: bool) -> Result<Graph> {
        let scalar = |name: &str, data_type: i32, raw_data: Vec<u8>| TensorProto {
            name: name.into(),
            data_type,
            raw_data,
            ..Default::default()
        };
        let mut m = ModelProto::decode(
            &model(
                vec![node(
                    "Dropout",
                    "d",
                    &["x", "ratio", "training"],
                    &["y", "mask"],
                )],
                13,
            )[..],
        )
        .unwrap();
        let g = m.graph.as_mut().unwrap();
        g.initializer = vec![
            scalar("ratio", data_type::FLOAT, ratio.to_le_bytes().to_vec()),
            scalar("training", data_type::BOOL, vec![training as u8]),
        ];
        g.output.push(ValueInfoProto {
            name: "mask".into(),
            ..Default::default()
        });
        let mut graph = import(
            &m.encode_to_vec(),
            SourceInfo::default(),
            &ImportOptions::default(),
        )?;
        crate::passes::run_pipeline(&mut graph, &Default::default(), &mut |_, _| {})?;
        Ok(graph)
    }

    #[test]
    fn dropout_mask_is_all_true_unless_training_drops_elements() {
        for (ratio, training) in [(0.5, false), (0.0, true)] {
            let g = compile_dropout(ratio, training).unwrap();
            let mask = g.tensors.iter().find(|t| t.name == "mask").unwrap();
            assert_eq!(mask.dtype, DType::Bool);
            assert_eq!(mask.shape, Some(vec![1, 4]));
            assert_eq!(mask.data, Some(TensorData::Bool(vec![true; 4])));
            // The output is the input, and the mask a constant copied to the caller.
            assert!(
                g.nodes
                    .iter()
                    .all(|n| matches!(n.op, Op::Dropout | Op::Copy)),
                "{:?}",
                g.nodes
            );
        }
        let err = compile_dropout(0.5, true).unwrap_err();
        assert!(err.message.contains("non-zero ratio is random"), "{err}");
    }

    #[test]
    fn tensor_sizes_are_checked_before_allocation() {
        let t = TensorProto {
            dims: vec![1 << 30, 1 << 30],
            data_type: data_type::FLOAT,
            raw_data: vec![0; 20],
            ..Default::default()
        };
        let err = tensor_from_proto(&t).unwrap_err();
        assert!(err.contains("holds 20"), "{err}");
        let t = TensorProto {
            dims: vec![i64::MAX, i64::MAX],
            data_type: data_type::FLOAT,
            ..Default::default()
        };
        assert!(tensor_from_proto(&t).unwrap_err().contains("overflow"));
    }
}
