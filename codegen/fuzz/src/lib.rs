//! What both fuzz targets do with their bytes: read them with one front end, then run the whole
//! compiler on the graph (validation, shape inference, folding, fusions, memory planning,
//! lowering and the Rust emitter), exactly as `edgegen compile` would.
//!
//! A result or an error is fine; a panic, a hang (libFuzzer's `-timeout`) or memory beyond
//! `-rss_limit_mb` is a finding. So is an error of kind `Internal`: it says an invariant of the
//! compiler did not hold, which a model file, however broken, must not be able to cause.

use edgegen::frontend::{ImportOptions, onnx, tflite};
use edgegen::ir::SourceInfo;
use edgegen::{CompileOptions, ErrorKind};

/// The front end a target feeds.
#[derive(Clone, Copy, Debug)]
pub enum Reader {
    Onnx,
    TfLite,
}

/// Compiles `bytes` as a model in the reader's format, to Rust source, and checks the outcome.
pub fn compile(reader: Reader, bytes: &[u8]) {
    let source = SourceInfo {
        file_name: "fuzz".into(),
        sha256: String::new(),
        description: String::new(),
    };
    let options = ImportOptions::default();
    // Each reader is called directly (not through `import_model`, which picks one by content),
    // so that the TFLite target reaches the flatbuffer reader whatever bytes 4..8 hold.
    let result = match reader {
        Reader::Onnx => onnx::import(bytes, source, &options),
        Reader::TfLite => tflite::import(bytes, source, &options),
    }
    .and_then(|graph| {
        edgegen::compile_graph(graph, &CompileOptions::default(), &mut |_, _| {})
    })
    .and_then(|compiled| edgegen::backend::rust::emit(&compiled.graph));
    if let Err(e) = result {
        assert!(!e.message.is_empty(), "an error without a message");
        assert!(e.kind != ErrorKind::Internal, "{e}");
    }
}
