//! Helpers shared by the integration tests: small ONNX models written with the front end's own
//! protobuf messages, for cases no fixture file holds.

#![allow(dead_code)]

pub use edgegen::frontend::onnx::proto::*;
use prost::Message;

pub fn tensor(name: &str, dims: &[i64], data_type: i32, raw: Vec<u8>) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type,
        raw_data: raw,
        ..Default::default()
    }
}

pub fn i64s(name: &str, values: &[i64]) -> TensorProto {
    tensor(
        name,
        &[values.len() as i64],
        data_type::INT64,
        values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    )
}

pub fn f32s(name: &str, values: &[f32]) -> TensorProto {
    tensor(
        name,
        &[values.len() as i64],
        data_type::FLOAT,
        values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    )
}

pub fn input(name: &str, dims: &[i64]) -> ValueInfoProto {
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
                            value: Some(Value::DimValue(d)),
                        })
                        .collect(),
                }),
            })),
        }),
    }
}

pub fn node(op: &str, inputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: op.to_lowercase(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec!["y".into()],
        attribute,
        ..Default::default()
    }
}

pub fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INTS,
        ints: values.to_vec(),
        ..Default::default()
    }
}

pub fn model(
    inputs: Vec<ValueInfoProto>,
    initializer: Vec<TensorProto>,
    nodes: Vec<NodeProto>,
) -> Vec<u8> {
    model_at(13, inputs, initializer, nodes)
}

pub fn model_at(
    opset: i64,
    inputs: Vec<ValueInfoProto>,
    initializer: Vec<TensorProto>,
    nodes: Vec<NodeProto>,
) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        graph: Some(GraphProto {
            name: "crafted".into(),
            node: nodes,
            initializer,
            input: inputs,
            output: vec![ValueInfoProto {
                name: "y".into(),
                r#type: None,
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

pub fn int_attr(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INT,
        i: value,
        ..Default::default()
    }
}

/// Checks that the README's text between the `start` and `end` marker lines is `expected`; with
/// `EDGEGEN_BLESS` set, rewrites it instead. `command` is how to bless, for the failure message.
pub fn check_readme_section(start: &str, end: &str, expected: &str, command: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).expect("read README.md");
    let from = readme
        .find(start)
        .unwrap_or_else(|| panic!("the README has no line {start:?}"))
        + start.len();
    let to = readme[from..]
        .find(end)
        .unwrap_or_else(|| panic!("the README has no line {end:?} after {start:?}"))
        + from;
    if readme[from..to] == *expected {
        return;
    }
    if std::env::var_os("EDGEGEN_BLESS").is_some() {
        let updated = format!("{}{expected}{}", &readme[..from], &readme[to..]);
        std::fs::write(&path, updated).expect("write README.md");
    } else {
        panic!("a generated section of README.md is out of date; run {command}");
    }
}
