//! Repository invariants: every Rust file says what it is for in a `//!` doc, and what the
//! compiler made and we committed (the generated file in `generated-example/`, the memory
//! picture in the README) is exactly what it makes today.

mod common;

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let root = common::root();
    let mut files = Vec::new();
    for dir in ["codegen", "proc-macro", "generated-example", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .map(|f| f.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! doc at the top: {missing:?}"
    );
}

/// `generated-example/src/model.rs` is the output of
/// `edgegen build fixtures/models/digits_mlp.onnx -o generated-example/src/model.rs`.
#[test]
fn the_committed_example_is_up_to_date() {
    let root = common::root();
    let compiled = common::compile(
        &root.join("fixtures/models/digits_mlp.onnx"),
        &Default::default(),
    );
    let code = edgegen::backend::rust::emit(&compiled.graph).unwrap();
    let committed =
        std::fs::read_to_string(root.join("generated-example/src/model.rs")).unwrap();
    assert!(
        code == committed,
        "generated-example/src/model.rs is stale: run\n  cargo run -p edgegen -- build fixtures/models/digits_mlp.onnx -o generated-example/src/model.rs"
    );
}

/// `codegen/docs/vww_96_int8_memory.svg`, the README's memory picture, is the output of
/// `edgegen inspect fixtures/mlperf-tiny/vww_96_int8.tflite --format svg`.
#[test]
fn the_committed_memory_picture_is_up_to_date() {
    let root = common::root();
    let compiled = common::compile(
        &root.join("fixtures/mlperf-tiny/vww_96_int8.tflite"),
        &Default::default(),
    );
    let program = edgegen::backend::lower::lower(&compiled.graph).unwrap();
    let svg =
        edgegen::report::format_svg(&edgegen::report::build(&compiled.graph, &program));
    let committed =
        std::fs::read_to_string(root.join("codegen/docs/vww_96_int8_memory.svg")).unwrap();
    assert!(
        svg == committed,
        "codegen/docs/vww_96_int8_memory.svg is stale: run\n  cargo run -p edgegen -- inspect fixtures/mlperf-tiny/vww_96_int8.tflite --format svg > codegen/docs/vww_96_int8_memory.svg"
    );
}
