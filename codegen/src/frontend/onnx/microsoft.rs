//! The quantized operators of onnxruntime's `com.microsoft` domain that `quantize_static`
//! writes in its QOperator format (`QGemm`, `QLinearAdd`, `QLinearSoftmax`, ...).
//!
//! Each is rewritten, before translation, into the standard ONNX nodes that compute it in
//! float: every quantized input goes through `DequantizeLinear`, the float operator runs, and
//! `QuantizeLinear` gives the output with its scale and zero point.
//!
//! ```text
//! QLinearAdd(a, a_scale, a_zp, b, b_scale, b_zp, c_scale, c_zp)
//!   ──▶ DequantizeLinear(a, a_scale, a_zp) ─┐
//!       DequantizeLinear(b, b_scale, b_zp) ─┴─▶ Add ──▶ QuantizeLinear(·, c_scale, c_zp)
//! ```
//!
//! The rewritten nodes are then translated like any other, so the graph holds nothing
//! particular to onnxruntime: the passes and back ends treat the result as they treat a QDQ
//! model. onnxruntime computes these operators with integer accumulators or lookup tables and
//! rounds once at the end; the float form rounds at the same place, so the two agree to within
//! one step of the output's quantization.
//!
//! Node names are `{name}::{k}` and intermediate values `{output}::{what}`, as in the other
//! expansions of the front end.

use super::proto::{AttributeProto, NodeProto, attribute_type, data_type};
use super::{Importer, NodeAttrs};
use crate::ir::DType;

/// The operator types of the `com.microsoft` domain that the front end translates.
pub const SUPPORTED_OPS: &[&str] = &[
    "QGemm",
    "QLinearAdd",
    "QLinearAveragePool",
    "QLinearConcat",
    "QLinearGlobalAveragePool",
    "QLinearLeakyRelu",
    "QLinearMul",
    "QLinearSigmoid",
    "QLinearSoftmax",
];

impl Importer {
    /// Translates a node of one of the [`SUPPORTED_OPS`] as the standard nodes that compute
    /// it.
    pub(super) fn microsoft(&mut self, node: &NodeProto, name: &str) {
        let dtype_of =
            |value: &str| self.names.get(value).map(|&id| self.graph.tensor(id).dtype);
        match expand(node, name, self.opset, &dtype_of) {
            Ok(nodes) => {
                for part in &nodes {
                    self.node(part);
                }
            }
            Err(e) => self
                .problems
                .push(format!("com.microsoft.{} '{name}': {e}", node.op_type)),
        }
    }
}

/// The standard nodes that compute `node` (named `name`) in a model of default-domain opset
/// `model_opset`; `dtype_of` gives the element type of a value defined so far.
fn expand(
    node: &NodeProto,
    name: &str,
    model_opset: i64,
    dtype_of: &dyn Fn(&str) -> Option<DType>,
) -> Result<Vec<NodeProto>, String> {
    let out = match node.output.as_slice() {
        [out] if !out.is_empty() => out.clone(),
        [] | [_] => return Err("has no output".into()),
        more => return Err(format!("has {} outputs; it has one", more.len())),
    };
    let mut attrs = NodeAttrs::new(node);
    let mut expansion = Expansion {
        name,
        out,
        // The output takes the element type of the first quantized input when its zero point
        // is absent (onnxruntime's rule), which is not QuantizeLinear's default (uint8).
        quantized_dtype: None,
        nodes: Vec::new(),
    };
    let inputs = Inputs { node };
    let first_quantized = match node.op_type.as_str() {
        "QLinearConcat" => 2,
        _ => 0,
    };
    if let Some(first) = node.input.get(first_quantized) {
        expansion.quantized_dtype = dtype_of(first);
    }
    let result = match node.op_type.as_str() {
        "QGemm" => qgemm(&inputs, &mut attrs, &mut expansion),
        "QLinearAdd" => binary("Add", &inputs, &mut expansion),
        "QLinearMul" => binary("Mul", &inputs, &mut expansion),
        "QLinearConcat" => concat(&inputs, &mut attrs, &mut expansion),
        "QLinearSoftmax" => softmax(&inputs, &mut attrs, model_opset, &mut expansion),
        "QLinearGlobalAveragePool" => {
            channels_first(&mut attrs)?;
            unary("GlobalAveragePool", Vec::new(), &inputs, &mut expansion)
        }
        "QLinearAveragePool" => {
            channels_first(&mut attrs)?;
            let pool = passed_on(
                node,
                &mut attrs,
                &[
                    "auto_pad",
                    "ceil_mode",
                    "count_include_pad",
                    "kernel_shape",
                    "pads",
                    "strides",
                ],
            );
            unary("AveragePool", pool, &inputs, &mut expansion)
        }
        "QLinearSigmoid" => unary("Sigmoid", Vec::new(), &inputs, &mut expansion),
        "QLinearLeakyRelu" => {
            let alpha = passed_on(node, &mut attrs, &["alpha"]);
            unary("LeakyRelu", alpha, &inputs, &mut expansion)
        }
        other => Err(format!("{other} is not a supported com.microsoft operator")),
    };
    attrs.finish();
    match (result, attrs.problem()) {
        (Ok(()), None) => Ok(expansion.nodes),
        (Err(e), _) | (Ok(()), Some(e)) => Err(e),
    }
}

/// The inputs of the node being expanded, checked for number and presence.
struct Inputs<'a> {
    node: &'a NodeProto,
}

impl Inputs<'_> {
    /// Checks that there are `min` to `max` inputs.
    fn count(&self, min: usize, max: usize) -> Result<(), String> {
        let n = self.node.input.len();
        if (min..=max).contains(&n) {
            return Ok(());
        }
        let takes = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        Err(format!(
            "has {n} inputs; {} takes {takes}",
            self.node.op_type
        ))
    }

    /// Input `i`, which must be named.
    fn required(&self, i: usize, what: &str) -> Result<String, String> {
        match self.node.input.get(i) {
            Some(name) if !name.is_empty() => Ok(name.clone()),
            _ => Err(format!("input {i} ({what}) is missing")),
        }
    }

    /// Input `i`, or `""` when it is absent.
    fn optional(&self, i: usize) -> String {
        self.node.input.get(i).cloned().unwrap_or_default()
    }

    /// The value, scale and zero point of the quantized input that starts at `i`.
    fn quantized(&self, i: usize, what: &str) -> Result<[String; 3], String> {
        Ok([
            self.required(i, what)?,
            self.required(i + 1, &format!("the scale of {what}"))?,
            self.optional(i + 2),
        ])
    }
}

/// The nodes of an expansion as they are built.
struct Expansion<'a> {
    name: &'a str,
    out: String,
    quantized_dtype: Option<DType>,
    nodes: Vec<NodeProto>,
}

impl Expansion<'_> {
    /// Adds a node; returns its output.
    fn push(
        &mut self,
        op_type: &str,
        input: Vec<String>,
        output: String,
        attribute: Vec<AttributeProto>,
    ) -> String {
        self.nodes.push(NodeProto {
            name: format!("{}::{}", self.name, self.nodes.len()),
            op_type: op_type.into(),
            input,
            output: vec![output.clone()],
            attribute,
            ..Default::default()
        });
        output
    }

    /// A value of the expansion's own, `{output}::{what}`.
    fn value(&self, what: &str) -> String {
        format!("{}::{what}", self.out)
    }

    /// `DequantizeLinear` of a quantized input into `{output}::{what}`; `axis` for per-axis
    /// scales on an axis other than DequantizeLinear's default (1).
    fn dequantize(
        &mut self,
        [value, scale, zero_point]: [String; 3],
        what: &str,
        axis: Option<i64>,
    ) -> String {
        let output = self.value(what);
        let attributes = axis.map(|a| int_attr("axis", a)).into_iter().collect();
        self.push(
            "DequantizeLinear",
            vec![value, scale, zero_point],
            output,
            attributes,
        )
    }

    /// `op_type` on float inputs, quantized with `scale` and `zero_point` into the output.
    fn compute_and_quantize(
        &mut self,
        op_type: &str,
        input: Vec<String>,
        attribute: Vec<AttributeProto>,
        scale: String,
        zero_point: String,
    ) {
        let float = self.value("float");
        let float = self.push(op_type, input, float, attribute);
        let mut attributes = Vec::new();
        if zero_point.is_empty()
            && let Some(code) = self.quantized_dtype.and_then(onnx_quantized_type)
        {
            attributes.push(int_attr("output_dtype", i64::from(code)));
        }
        let out = self.out.clone();
        self.push(
            "QuantizeLinear",
            vec![float, scale, zero_point],
            out,
            attributes,
        );
    }
}

/// The ONNX code of a quantized element type other than uint8 (QuantizeLinear's default).
fn onnx_quantized_type(dtype: DType) -> Option<i32> {
    match dtype {
        DType::I8 => Some(data_type::INT8),
        DType::I16 => Some(data_type::INT16),
        DType::U16 => Some(data_type::UINT16),
        _ => None,
    }
}

fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INT,
        i,
        ..Default::default()
    }
}

fn float_attr(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::FLOAT,
        f,
        ..Default::default()
    }
}

/// The node's attributes named in `names`, unchanged, for the float operator, whose
/// translation checks them; marked as read here.
fn passed_on(
    node: &NodeProto,
    attrs: &mut NodeAttrs,
    names: &[&str],
) -> Vec<AttributeProto> {
    attrs.ignore(names);
    node.attribute
        .iter()
        .filter(|a| names.contains(&a.name.as_str()))
        .cloned()
        .collect()
}

/// Refuses `channels_last = 1`: the standard pooling operators read NCHW only.
fn channels_first(attrs: &mut NodeAttrs) -> Result<(), String> {
    match attrs.int("channels_last") {
        None | Some(0) => Ok(()),
        Some(_) => Err("channels_last = 1 (NHWC data) is not supported; \
             quantize the model without channels-last pooling"
            .into()),
    }
}

/// `QGemm(A, a_scale, a_zero_point, B, b_scale, b_zero_point, C?, y_scale?, y_zero_point?)`:
/// `C` is an int32 bias of scale `alpha · a_scale · b_scale` and zero point 0, and without
/// `y_scale` the output is the float result.
fn qgemm(
    inputs: &Inputs,
    attrs: &mut NodeAttrs,
    expansion: &mut Expansion,
) -> Result<(), String> {
    inputs.count(6, 9)?;
    let alpha = attrs.float("alpha").unwrap_or(1.0);
    let trans_a = attrs.int("transA").unwrap_or(0);
    let trans_b = attrs.int("transB").unwrap_or(0);
    let a = inputs.quantized(0, "A")?;
    let b = inputs.quantized(3, "B")?;
    let (a_scale, b_scale) = (a[1].clone(), b[1].clone());
    let bias = inputs.optional(6);
    let (y_scale, y_zero_point) = (inputs.optional(7), inputs.optional(8));
    if y_scale.is_empty() && !y_zero_point.is_empty() {
        return Err("has y_zero_point but no y_scale".into());
    }
    let a = expansion.dequantize(a, "a", None);
    // A per-column scale of B lies along its output axis: 1 for B (K, N), 0 for B' (N, K).
    let b = expansion.dequantize(b, "b", Some(if trans_b != 0 { 0 } else { 1 }));
    let mut gemm_inputs = vec![a, b];
    if !bias.is_empty() {
        // The bias in float, Cast(C) · a_scale · b_scale (· alpha); constant folding turns
        // these nodes into data when C and the scales are constants.
        let float_bias = expansion.value("bias_float");
        let cast = expansion.push(
            "Cast",
            vec![bias],
            float_bias,
            vec![int_attr("to", i64::from(data_type::FLOAT))],
        );
        let scaled_by_a = expansion.value("bias_a_scale");
        let scaled_by_a =
            expansion.push("Mul", vec![cast, a_scale], scaled_by_a, Vec::new());
        let scaled = expansion.value("bias");
        let mut scaled =
            expansion.push("Mul", vec![scaled_by_a, b_scale], scaled, Vec::new());
        if alpha != 1.0 {
            let alpha_value = expansion.value("alpha");
            let alpha_value = expansion.push(
                "Constant",
                Vec::new(),
                alpha_value,
                vec![float_attr("value_float", alpha)],
            );
            let with_alpha = expansion.value("bias_alpha");
            scaled =
                expansion.push("Mul", vec![scaled, alpha_value], with_alpha, Vec::new());
        }
        gemm_inputs.push(scaled);
    }
    let gemm_attrs = vec![
        float_attr("alpha", alpha),
        float_attr("beta", 1.0),
        int_attr("transA", trans_a),
        int_attr("transB", trans_b),
    ];
    if y_scale.is_empty() {
        let out = expansion.out.clone();
        expansion.push("Gemm", gemm_inputs, out, gemm_attrs);
        return Ok(());
    }
    expansion.compute_and_quantize("Gemm", gemm_inputs, gemm_attrs, y_scale, y_zero_point);
    Ok(())
}

/// `QLinearAdd` and `QLinearMul`: `(A, A_scale, A_zero_point?, B, B_scale, B_zero_point?,
/// C_scale, C_zero_point?)`.
fn binary(op_type: &str, inputs: &Inputs, expansion: &mut Expansion) -> Result<(), String> {
    inputs.count(7, 8)?;
    let a = inputs.quantized(0, "A")?;
    let b = inputs.quantized(3, "B")?;
    let c_scale = inputs.required(6, "C_scale")?;
    let a = expansion.dequantize(a, "a", None);
    let b = expansion.dequantize(b, "b", None);
    expansion.compute_and_quantize(
        op_type,
        vec![a, b],
        Vec::new(),
        c_scale,
        inputs.optional(7),
    );
    Ok(())
}

/// The one-input operators, `(X, X_scale, X_zero_point?, Y_scale, Y_zero_point?)`, with the
/// float operator's attributes `attribute`.
fn unary(
    op_type: &str,
    attribute: Vec<AttributeProto>,
    inputs: &Inputs,
    expansion: &mut Expansion,
) -> Result<(), String> {
    inputs.count(4, 5)?;
    let x = inputs.quantized(0, "X")?;
    let y_scale = inputs.required(3, "Y_scale")?;
    let x = expansion.dequantize(x, "x", None);
    expansion.compute_and_quantize(
        op_type,
        vec![x],
        attribute,
        y_scale,
        inputs.optional(4),
    );
    Ok(())
}

/// `QLinearSoftmax`, whose `opset` attribute says which Softmax it computes: before opset 13
/// the input is coerced to 2-D at `axis` (default 1), from 13 on `axis` (default -1) alone is
/// reduced. The Softmax it becomes follows the model's opset, so the two must agree.
fn softmax(
    inputs: &Inputs,
    attrs: &mut NodeAttrs,
    model_opset: i64,
    expansion: &mut Expansion,
) -> Result<(), String> {
    let Some(opset) = attrs.int("opset") else {
        return Err(
            "attribute 'opset' is required (it decides which Softmax is computed)".into(),
        );
    };
    if (opset < 13) != (model_opset < 13) {
        return Err(format!(
            "computes the Softmax of opset {opset}, whose semantics differ from those of the \
             model's opset {model_opset} (opset 13 changed them), which edgegen does not \
             translate"
        ));
    }
    let axis = passed_on(inputs.node, attrs, &["axis"]);
    unary("Softmax", axis, inputs, expansion)
}

/// `QLinearConcat(Y_scale, Y_zero_point, (X, X_scale, X_zero_point?)...)`.
fn concat(
    inputs: &Inputs,
    attrs: &mut NodeAttrs,
    expansion: &mut Expansion,
) -> Result<(), String> {
    let n = inputs.node.input.len();
    if n < 5 || !(n - 2).is_multiple_of(3) {
        return Err(format!(
            "has {n} inputs; QLinearConcat takes Y_scale, Y_zero_point and then three \
             (value, scale, zero point) for each input"
        ));
    }
    let y_scale = inputs.required(0, "Y_scale")?;
    let axis = passed_on(inputs.node, attrs, &["axis"]);
    let mut floats = Vec::new();
    for (k, first) in (2..n).step_by(3).enumerate() {
        let x = inputs.quantized(first, &format!("input {k}"))?;
        floats.push(expansion.dequantize(x, &format!("x{k}"), None));
    }
    expansion.compute_and_quantize("Concat", floats, axis, y_scale, inputs.optional(1));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::ImportOptions;
    use crate::frontend::onnx::proto::*;
    use crate::ir::SourceInfo;
    use prost::Message;

    fn node(op: &str, inputs: &[&str], attributes: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            name: "n".into(),
            domain: "com.microsoft".into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec!["y".into()],
            attribute: attributes,
            ..Default::default()
        }
    }

    fn expand_at(node: &NodeProto, opset: i64) -> Result<Vec<NodeProto>, String> {
        expand(node, "n", opset, &|value| match value {
            "i8" => Some(DType::I8),
            _ => Some(DType::U8),
        })
    }

    fn op_types(nodes: &[NodeProto]) -> Vec<&str> {
        nodes.iter().map(|n| n.op_type.as_str()).collect()
    }

    const QGEMM: [&str; 9] = ["a", "sa", "za", "b", "sb", "zb", "c", "sy", "zy"];
    const UNARY: [&str; 5] = ["x", "sx", "zx", "sy", "zy"];

    #[test]
    fn qgemm_becomes_dequantized_gemm_with_a_float_bias() {
        let gemm = node(
            "QGemm",
            &QGEMM,
            vec![float_attr("alpha", 0.5), int_attr("transB", 1)],
        );
        let nodes = expand_at(&gemm, 13).unwrap();
        assert_eq!(
            op_types(&nodes),
            [
                "DequantizeLinear",
                "DequantizeLinear",
                "Cast",
                "Mul",
                "Mul",
                "Constant",
                "Mul",
                "Gemm",
                "QuantizeLinear"
            ]
        );
        // Per-column scales of a transposed B lie along its axis 0.
        assert_eq!(nodes[1].attribute, [int_attr("axis", 0)]);
        assert_eq!(nodes[7].input, ["y::a", "y::b", "y::bias_alpha"]);
        assert_eq!(nodes[8].input, ["y::float", "sy", "zy"]);
        assert_eq!(nodes[8].output, ["y"]);
        assert!(
            nodes
                .iter()
                .enumerate()
                .all(|(k, n)| n.name == format!("n::{k}"))
        );

        // Without C and y_scale: a float Gemm of the dequantized inputs is the output.
        let nodes = expand_at(&node("QGemm", &QGEMM[..6], Vec::new()), 13).unwrap();
        assert_eq!(
            op_types(&nodes),
            ["DequantizeLinear", "DequantizeLinear", "Gemm"]
        );
        assert_eq!(nodes[1].attribute, [int_attr("axis", 1)]);
        assert_eq!(nodes[2].output, ["y"]);
    }

    #[test]
    fn absent_zero_points_pass_through_and_keep_the_input_type() {
        let sigmoid = node("QLinearSigmoid", &["i8", "sx", "", "sy"], Vec::new());
        let nodes = expand_at(&sigmoid, 13).unwrap();
        assert_eq!(nodes[0].input, ["i8", "sx", ""]);
        assert_eq!(nodes[2].input, ["y::float", "sy", ""]);
        assert_eq!(
            nodes[2].attribute,
            [int_attr("output_dtype", i64::from(data_type::INT8))]
        );
        // uint8 is QuantizeLinear's default.
        let sigmoid = node("QLinearSigmoid", &["x", "sx", "", "sy"], Vec::new());
        assert!(expand_at(&sigmoid, 13).unwrap()[2].attribute.is_empty());
    }

    #[test]
    fn concat_dequantizes_every_input() {
        let concat = node(
            "QLinearConcat",
            &["sy", "zy", "x0", "s0", "z0", "x1", "s1", ""],
            vec![int_attr("axis", 1)],
        );
        let nodes = expand_at(&concat, 13).unwrap();
        assert_eq!(
            op_types(&nodes),
            [
                "DequantizeLinear",
                "DequantizeLinear",
                "Concat",
                "QuantizeLinear"
            ]
        );
        assert_eq!(nodes[1].input, ["x1", "s1", ""]);
        assert_eq!(nodes[2].attribute, [int_attr("axis", 1)]);
        assert_eq!(nodes[3].input, ["y::float", "sy", "zy"]);
    }

    #[test]
    fn malformed_nodes_are_refused_with_a_reason() {
        let cases = [
            (
                node("QGemm", &QGEMM[..5], Vec::new()),
                "has 5 inputs; QGemm takes 6 to 9",
            ),
            (
                node("QLinearAdd", &QGEMM[..6], Vec::new()),
                "has 6 inputs; QLinearAdd takes 7 to 8",
            ),
            (
                node("QLinearSigmoid", &UNARY[..3], Vec::new()),
                "has 3 inputs",
            ),
            (
                node(
                    "QLinearConcat",
                    &["sy", "zy", "x0", "s0"],
                    vec![int_attr("axis", 0)],
                ),
                "has 4 inputs; QLinearConcat takes",
            ),
            (
                node(
                    "QLinearMul",
                    &["a", "", "", "b", "sb", "", "sc"],
                    Vec::new(),
                ),
                "input 1 (the scale of A) is missing",
            ),
            (
                node(
                    "QLinearGlobalAveragePool",
                    &UNARY,
                    vec![int_attr("channels_last", 1)],
                ),
                "channels_last = 1",
            ),
            (
                node(
                    "QLinearAveragePool",
                    &UNARY,
                    vec![int_attr("channels_last", 1), int_attr("kernel_shape", 2)],
                ),
                "channels_last = 1",
            ),
            (
                node("QLinearLeakyRelu", &UNARY, vec![int_attr("colour", 3)]),
                "unknown attribute 'colour'",
            ),
            (
                node("QLinearSoftmax", &UNARY, Vec::new()),
                "attribute 'opset' is required",
            ),
            (
                node("QLinearSoftmax", &UNARY, vec![int_attr("opset", 12)]),
                "the Softmax of opset 12",
            ),
            (
                node(
                    "QGemm",
                    &["a", "sa", "za", "b", "sb", "zb", "", "", "zy"],
                    Vec::new(),
                ),
                "y_zero_point but no y_scale",
            ),
        ];
        for (node, expected) in cases {
            let err = expand_at(&node, 13).unwrap_err();
            assert!(err.contains(expected), "{}: {err}", node.op_type);
        }
        let mut two_outputs = node("QLinearSigmoid", &UNARY, Vec::new());
        two_outputs.output.push("z".into());
        assert!(
            expand_at(&two_outputs, 13)
                .unwrap_err()
                .contains("2 outputs")
        );
        two_outputs.output.clear();
        assert!(
            expand_at(&two_outputs, 13)
                .unwrap_err()
                .contains("no output")
        );
        // Softmax semantics agree on either side of opset 13.
        let softmax = node("QLinearSoftmax", &UNARY, vec![int_attr("opset", 12)]);
        assert!(expand_at(&softmax, 11).is_ok());
    }

    fn import_nodes(nodes: Vec<NodeProto>) -> crate::error::Result<crate::ir::Graph> {
        let uint8 = |name: &str| ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: data_type::UINT8,
                    shape: Some(TensorShapeProto {
                        dim: vec![tensor_shape_proto::Dimension {
                            value: Some(tensor_shape_proto::dimension::Value::DimValue(4)),
                        }],
                    }),
                })),
            }),
        };
        let scalar = |name: &str, data_type: i32| TensorProto {
            name: name.into(),
            data_type,
            float_data: if data_type == data_type::FLOAT {
                vec![0.5]
            } else {
                Vec::new()
            },
            int32_data: if data_type == data_type::FLOAT {
                Vec::new()
            } else {
                vec![3]
            },
            ..Default::default()
        };
        let model = ModelProto {
            ir_version: 8,
            opset_import: vec![
                OperatorSetIdProto {
                    domain: String::new(),
                    version: 13,
                },
                OperatorSetIdProto {
                    domain: "com.microsoft".into(),
                    version: 1,
                },
            ],
            graph: Some(GraphProto {
                name: "g".into(),
                node: nodes,
                input: vec![uint8("x")],
                output: vec![uint8("y")],
                initializer: vec![
                    scalar("sx", data_type::FLOAT),
                    scalar("zx", data_type::UINT8),
                    scalar("sy", data_type::FLOAT),
                    scalar("zy", data_type::UINT8),
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        crate::frontend::onnx::import(
            &model.encode_to_vec(),
            SourceInfo::default(),
            &ImportOptions::default(),
        )
    }

    #[test]
    fn imports_as_standard_nodes_and_reports_problems_by_node() {
        let graph = import_nodes(vec![node("QLinearSigmoid", &UNARY, Vec::new())]).unwrap();
        let ops: Vec<&str> = graph.nodes.iter().map(|n| n.op.name()).collect();
        assert_eq!(ops, ["DequantizeLinear", "Sigmoid", "QuantizeLinear"]);
        assert_eq!(graph.tensor(graph.outputs[0]).dtype, DType::U8);

        let err = import_nodes(vec![node("QLinearSigmoid", &UNARY[..2], Vec::new())])
            .unwrap_err();
        assert!(
            err.message
                .contains("com.microsoft.QLinearSigmoid 'n': has 2 inputs"),
            "{err}"
        );
        // A node of the expansion that reads an undefined value is reported by its name.
        let err = import_nodes(vec![node(
            "QLinearSigmoid",
            &["w", "sx", "zx", "sy", "zy"],
            Vec::new(),
        )])
        .unwrap_err();
        assert!(err.message.contains("'n::0' reads 'w'"), "{err}");
        // Other operators of the domain stay unsupported.
        let err = import_nodes(vec![node("FusedConv", &["x"], Vec::new())]).unwrap_err();
        assert!(
            err.message
                .contains("com.microsoft.FusedConv (node 'n', a custom operator)"),
            "{err}"
        );
    }
}
