//! Repository invariants: every Rust file says what it is for in a `//!` doc, and the generated
//! file committed in `generated-example/` is exactly what the compiler produces today.

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
