//! Front ends: model files to IR.
//!
//! [`load_model`] reads a file, recognises its format from its content (not its extension) and
//! hands it to the front end that owns that format. Front ends only produce IR; they never emit
//! code, and the IR never holds protobuf or flatbuffer types.

pub mod onnx;
pub mod tflite;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ir::{Graph, SourceInfo, TensorData};

/// The error of a front end that found unsupported operators (`unsupported`, one line each)
/// and perhaps other problems, or of one that found only problems; `None` if there were none.
fn import_problems(unsupported: &[String], problems: &[String]) -> Option<Error> {
    if !unsupported.is_empty() {
        let n = unsupported.len();
        let mut message = format!(
            "the model uses {n} operator{} edgegen does not support:\n  {}",
            if n == 1 { "" } else { "s" },
            unsupported.join("\n  ")
        );
        if !problems.is_empty() {
            message.push_str("\nand has these problems:\n  ");
            message.push_str(&problems.join("\n  "));
        }
        return Some(Error::unsupported(message));
    }
    if !problems.is_empty() {
        return Some(Error::invalid_model(problems.join("\n")));
    }
    None
}

/// Choices the user makes about how a model is read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportOptions {
    /// Shapes for graph inputs by name, overriding the model's (`--input-shape name=1,3,32,32`).
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Graph inputs frozen to a value at compile time (`--constant name=FILE`): each becomes a
    /// constant of that shape and is no longer an input of the generated code. This is how a
    /// model whose axes, shapes or sizes arrive as inputs gets static code.
    pub constants: Vec<(String, Vec<usize>, TensorData)>,
}

/// The model formats edgegen knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Onnx,
    TfLite,
}

/// Recognises a model format from the first bytes of the file. TFLite flatbuffers carry the
/// identifier `TFL3` at offset 4; anything else is read as ONNX protobuf (which has no magic
/// number), whose decoder then says whether it really is one.
pub fn detect_format(bytes: &[u8]) -> Format {
    if bytes.len() >= 8 && &bytes[4..8] == b"TFL3" {
        Format::TfLite
    } else {
        Format::Onnx
    }
}

/// Reads a model file into the IR.
pub fn load_model(path: &Path, options: &ImportOptions) -> Result<Graph> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read the model", &e))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    import_model(&bytes, &file_name, options).map_err(|e| e.context(path.display()))
}

/// Reads a model from memory; `file_name` is used in messages and in generated headers.
pub fn import_model(
    bytes: &[u8],
    file_name: &str,
    options: &ImportOptions,
) -> Result<Graph> {
    let source = SourceInfo {
        file_name: file_name.to_string(),
        sha256: Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        description: String::new(),
    };
    let mut graph = match detect_format(bytes) {
        Format::Onnx => onnx::import(bytes, source, options)?,
        Format::TfLite => tflite::import(bytes, source, options)?,
    };
    freeze_inputs(&mut graph, &options.constants)?;
    Ok(graph)
}

/// Turns the graph inputs named in `constants` into constants with the given values.
fn freeze_inputs(
    graph: &mut Graph,
    constants: &[(String, Vec<usize>, TensorData)],
) -> Result<()> {
    let mut problems = Vec::new();
    for (name, shape, data) in constants {
        let position = graph
            .model_inputs()
            .iter()
            .position(|&t| graph.tensor(t).name == *name);
        let Some(position) = position else {
            let names: Vec<String> = graph
                .model_inputs()
                .iter()
                .map(|&t| format!("'{}'", graph.tensor(t).name))
                .collect();
            problems.push(format!(
                "--constant {name}: the model has no input '{name}' (its inputs are {})",
                names.join(", ")
            ));
            continue;
        };
        let id = graph.inputs[position];
        let tensor = graph.tensor_mut(id);
        if tensor.dtype != data.dtype() {
            problems.push(format!(
                "--constant {name}: the input is {}, the value {}",
                tensor.dtype,
                data.dtype()
            ));
            continue;
        }
        if let Some(declared) = &tensor.shape
            && declared.len() != shape.len()
        {
            problems.push(format!(
                "--constant {name}: the input has rank {}, the value has shape {shape:?}",
                declared.len()
            ));
            continue;
        }
        tensor.shape = Some(shape.clone());
        tensor.data = Some(data.clone());
        graph.inputs.remove(position);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_argument(problems.join("\n")))
    }
}
