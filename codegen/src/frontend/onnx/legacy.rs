//! Nodes of models whose default-domain opset is older than 7.
//!
//! The translator reads operators as opset 7 and later define them. Most operators did not
//! change before opset 7, or changed only in ways that do not alter what a valid model
//! computes: the `consumed_inputs` attribute of opset 1 (a hint for in-place memory reuse,
//! removed in opset 6), wider type lists, and the legacy `broadcast` attribute of the binary
//! ops when it is off (the operands then have the same shape) or on without `axis` (the second
//! operand's shape is then a suffix of the first's, which numpy-style broadcasting treats the
//! same way). Those nodes are rewritten here to their opset-7 form; any other older version is
//! refused by name, with the node, so that nothing is computed with the wrong semantics.
//!
//! Operators not listed in [`VERSIONS_UP_TO_7`] have one definition from opset 1 (or from
//! their introduction) through opset 7, so they need nothing.

use super::proto::{AttributeProto, NodeProto, attribute_type};

/// The opsets, up to 7, at which the operators that the front end translates got a new
/// version, for those that got one between opsets 2 and 7 (from `onnx.defs`).
const VERSIONS_UP_TO_7: &[(&str, &[i64])] = &[
    ("Abs", &[1, 6]),
    ("Add", &[1, 6, 7]),
    ("And", &[1, 7]),
    ("AveragePool", &[1, 7]),
    ("BatchNormalization", &[1, 6, 7]),
    ("Cast", &[1, 6]),
    ("Ceil", &[1, 6]),
    ("Clip", &[1, 6]),
    ("Concat", &[1, 4]),
    ("Div", &[1, 6, 7]),
    ("Dropout", &[1, 6, 7]),
    ("Elu", &[1, 6]),
    ("Equal", &[1, 7]),
    ("Exp", &[1, 6]),
    ("Floor", &[1, 6]),
    ("GRU", &[1, 3, 7]),
    ("Gemm", &[1, 6, 7]),
    ("Greater", &[1, 7]),
    ("HardSigmoid", &[1, 6]),
    ("InstanceNormalization", &[1, 6]),
    ("LSTM", &[1, 7]),
    ("LeakyRelu", &[1, 6]),
    ("Less", &[1, 7]),
    ("Log", &[1, 6]),
    ("Max", &[1, 6]),
    ("Mean", &[1, 6]),
    ("Min", &[1, 6]),
    ("Mul", &[1, 6, 7]),
    ("Neg", &[1, 6]),
    ("Or", &[1, 7]),
    ("PRelu", &[1, 6, 7]),
    ("Pad", &[1, 2]),
    ("Pow", &[1, 7]),
    ("RNN", &[1, 7]),
    ("Reciprocal", &[1, 6]),
    ("Relu", &[1, 6]),
    ("Reshape", &[1, 5]),
    ("Selu", &[1, 6]),
    ("Sigmoid", &[1, 6]),
    ("Split", &[1, 2]),
    ("Sqrt", &[1, 6]),
    ("Sub", &[1, 6, 7]),
    ("Sum", &[1, 6]),
    ("Tanh", &[1, 6]),
    ("Tile", &[1, 6]),
    ("Xor", &[1, 7]),
];

/// `node` (of a model of default opset `opset` < 7) in its opset-7 form: `Ok(None)` when it is
/// already, `Ok(Some(rewritten))` when legacy attributes that do not change its meaning were
/// dropped or made explicit, and an error naming the operator version otherwise.
pub(super) fn upgrade(node: &NodeProto, opset: i64) -> Result<Option<NodeProto>, String> {
    let op = node.op_type.as_str();
    let Some(&(_, versions)) = VERSIONS_UP_TO_7.iter().find(|(name, _)| *name == op) else {
        return Ok(None);
    };
    let version = versions
        .iter()
        .rev()
        .copied()
        .find(|&v| v <= opset)
        .unwrap_or(1);
    let current = *versions.last().unwrap_or(&1);
    if version == current {
        return Ok(None);
    }
    let refuse = |why: &str| -> Result<Option<NodeProto>, String> {
        Err(format!(
            "version {version} of {op} (opset {opset}) {why}, which edgegen does not implement; \
             upgrade the model with onnx.version_converter.convert_version(model, 13)"
        ))
    };
    let mut node = node.clone();
    // An in-place memory hint of opset 1, with no effect on the values.
    remove(&mut node, "consumed_inputs");
    match (op, version) {
        (
            "Abs"
            | "Ceil"
            | "Exp"
            | "Floor"
            | "Log"
            | "Neg"
            | "Reciprocal"
            | "Relu"
            | "Sigmoid"
            | "Sqrt"
            | "Tanh"
            | "Elu"
            | "HardSigmoid"
            | "LeakyRelu"
            | "Selu"
            | "Clip"
            | "InstanceNormalization"
            | "Max"
            | "Min"
            | "Sum"
            | "Mean",
            1,
        ) => {}
        ("Add" | "Sub" | "Mul" | "Div", 1 | 6)
        | ("And" | "Or" | "Xor" | "Equal" | "Greater" | "Less" | "Pow", 1) => {
            let broadcast = int(&node, "broadcast").unwrap_or(0);
            if broadcast != 0 && find(&node, "axis").is_some() {
                return refuse("broadcasts its second input from an explicit axis");
            }
            remove(&mut node, "broadcast");
            remove(&mut node, "axis");
        }
        // C is either (M, N) or, with broadcast, has a suffix of (M, N) as its shape: the same
        // as the unidirectional broadcasting of opset 7.
        ("Gemm", 1 | 6) => remove(&mut node, "broadcast"),
        // Opset 7 added count_include_pad, whose default (0) is the older behaviour.
        ("AveragePool", 1) => {}
        // The translator reads the `paddings` attribute of Pad-1 (same layout as `pads`).
        ("Pad", 1) => {}
        ("Concat", 1) => {
            if find(&node, "axis").is_none() {
                node.attribute.push(AttributeProto {
                    name: "axis".into(),
                    r#type: attribute_type::INT,
                    i: 1,
                    ..Default::default()
                });
            }
        }
        ("Dropout", 1 | 6) => {
            if int(&node, "is_test").unwrap_or(0) == 0 {
                return refuse(
                    "runs in training mode (is_test = 0), where it zeroes elements at random",
                );
            }
        }
        ("PRelu", _) => return refuse("takes its slope without numpy-style broadcasting"),
        ("BatchNormalization", _) => {
            return refuse("has the is_test and spatial attributes");
        }
        ("Cast", _) => return refuse("names the target type with a string"),
        ("Reshape", _) => return refuse("takes the shape as an attribute"),
        ("Split", _) => return refuse("may take the split sizes as an input"),
        ("Tile", _) => return refuse("takes the tiles and axis as inputs"),
        _ => return refuse("differs from the version of opset 7"),
    }
    Ok(Some(node))
}

fn find<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn int(node: &NodeProto, name: &str) -> Option<i64> {
    find(node, name).map(|a| a.i)
}

fn remove(node: &mut NodeProto, name: &str) {
    node.attribute.retain(|a| a.name != name);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(op: &str, attributes: &[(&str, i64)]) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            input: vec!["a".into(), "b".into()],
            output: vec!["y".into()],
            attribute: attributes
                .iter()
                .map(|&(name, i)| AttributeProto {
                    name: name.into(),
                    r#type: attribute_type::INT,
                    i,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn names(node: &NodeProto) -> Vec<(&str, i64)> {
        node.attribute
            .iter()
            .map(|a| (a.name.as_str(), a.i))
            .collect()
    }

    #[test]
    fn unchanged_operators_pass_through() {
        // Not (and Conv, Softmax, ...) have one version from opset 1 to 7.
        assert_eq!(upgrade(&node("Not", &[]), 1), Ok(None));
        assert_eq!(upgrade(&node("Conv", &[("group", 2)]), 3), Ok(None));
        // Add-6 is Add-7 without legacy attributes; at opset 6 no rewrite is needed when
        // there are none.
        let add = upgrade(&node("Add", &[]), 6).unwrap().unwrap();
        assert!(add.attribute.is_empty());
        // Relu-6 is the version of opset 7.
        assert_eq!(upgrade(&node("Relu", &[]), 6), Ok(None));
    }

    #[test]
    fn legacy_attributes_that_keep_the_meaning_are_dropped() {
        let relu = upgrade(&node("Relu", &[("consumed_inputs", 0)]), 1).unwrap();
        assert_eq!(names(&relu.unwrap()), []);
        for attributes in [&[("broadcast", 0)][..], &[("broadcast", 1)], &[]] {
            let mul = upgrade(&node("Mul", attributes), 5).unwrap().unwrap();
            assert_eq!(names(&mul), []);
        }
        let concat = upgrade(&node("Concat", &[]), 3).unwrap().unwrap();
        assert_eq!(names(&concat), [("axis", 1)]);
        let concat = upgrade(&node("Concat", &[("axis", 0)]), 3)
            .unwrap()
            .unwrap();
        assert_eq!(names(&concat), [("axis", 0)]);
        let dropout = upgrade(&node("Dropout", &[("is_test", 1)]), 6)
            .unwrap()
            .unwrap();
        assert_eq!(names(&dropout), [("is_test", 1)]);
    }

    #[test]
    fn older_semantics_are_refused_by_version() {
        let err = upgrade(&node("Add", &[("broadcast", 1), ("axis", 1)]), 6).unwrap_err();
        assert!(
            err.starts_with("version 6 of Add (opset 6) broadcasts")
                && err.contains("onnx.version_converter"),
            "{err}"
        );
        let err = upgrade(&node("Dropout", &[]), 6).unwrap_err();
        assert!(err.contains("training mode"), "{err}");
        let err = upgrade(&node("Reshape", &[]), 4).unwrap_err();
        assert!(err.starts_with("version 1 of Reshape (opset 4)"), "{err}");
        assert!(upgrade(&node("PRelu", &[]), 6).is_err());
        assert!(upgrade(&node("BatchNormalization", &[("is_test", 1)]), 6).is_err());
    }
}
