//! Every fixture model, compiled to Rust, compiled with rustc, run, and compared with the
//! outputs onnxruntime produced for the same inputs (`fixtures/make_fixtures.py`). Also: the
//! reference evaluator on the same models, the generated files under `rustfmt --check`, and the
//! generated files compiled as a `#![no_std]` library under `#![deny(warnings)]`.

mod common;

use std::process::Command;

use common::*;
use edgegen::CompileOptions;
use edgegen::passes::{PIPELINE, PassOptions};

/// The tolerance of the issue: 1e-4 relative error against onnxruntime.
const TOLERANCE: f64 = 1e-4;

fn check_generated_code(name: &str) {
    let fixture = fixture(name);
    let compiled = compile(&fixture.model, &CompileOptions::default());
    let code =
        edgegen::backend::rust::emit(&compiled.graph).unwrap_or_else(|e| panic!("{e}"));
    let outputs = run_generated(&code, &compiled.graph, &fixture.inputs(), 1);
    assert_outputs(
        &format!("{name} (generated code)"),
        &outputs,
        &fixture.outputs(),
        TOLERANCE,
    );

    check_rustfmt(name, &code);
    check_no_std(name, &code);

    if fixture.batch {
        let dir = fixture.reference.join("batch");
        let inputs = numbered(&dir, "input");
        let samples = inputs[0].shape[0];
        let outputs = run_generated(&code, &compiled.graph, &inputs, samples);
        assert_outputs(
            &format!("{name} (generated code, {samples} samples)"),
            &outputs,
            &numbered(&dir, "output"),
            TOLERANCE,
        );
    }
}

fn check_rustfmt(name: &str, code: &str) {
    if !has_tool("rustfmt") {
        eprintln!("rustfmt is not installed: skipping the formatting check of {name}");
        return;
    }
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("rustfmt")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    // An empty configuration beside the file: rustfmt's defaults, as a user has them, and not
    // the repository's own rustfmt.toml, which rustfmt would find in a parent directory.
    std::fs::write(dir.join("rustfmt.toml"), "").unwrap();
    let file = dir.join("model.rs");
    std::fs::write(&file, code).unwrap();
    let output = Command::new("rustfmt")
        .args(["--edition", "2021", "--check"])
        .arg(&file)
        .output()
        .unwrap();
    let diff = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{name}: generated code is not rustfmt-clean:\n{}",
        &diff[..diff.len().min(4000)]
    );
}

/// The generated file as a module of a `#![no_std]` library that denies warnings.
fn check_no_std(name: &str, code: &str) {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("no_std")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.rs"), code).unwrap();
    std::fs::write(
        dir.join("lib.rs"),
        "#![no_std]\n#![deny(warnings)]\npub mod model;\n",
    )
    .unwrap();
    let output = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "--emit",
            "metadata",
            "-o",
        ])
        .arg(dir.join("libmodel.rmeta"))
        .arg(dir.join("lib.rs"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{name}: generated code does not compile as #![no_std] with #![deny(warnings)]:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The reference evaluator on the graph after the full pipeline and after only the required
/// passes: both must match onnxruntime, which checks the evaluator and every optional pass.
fn check_evaluator(name: &str) {
    let fixture = fixture(name);
    let optional: Vec<String> = PIPELINE
        .iter()
        .filter(|p| !p.required)
        .map(|p| p.name.to_string())
        .collect();
    for (label, disabled) in [("all passes", vec![]), ("required passes only", optional)] {
        let options = CompileOptions {
            passes: PassOptions {
                disabled,
                ..Default::default()
            },
            ..Default::default()
        };
        let compiled = compile(&fixture.model, &options);
        let outputs = edgegen::eval::evaluate(&compiled.graph, &fixture.inputs())
            .unwrap_or_else(|e| panic!("{e}"));
        let outputs: Vec<Vec<f32>> = outputs.iter().map(|v| floats(&v.data)).collect();
        assert_outputs(
            &format!("{name} (evaluator, {label})"),
            &outputs,
            &fixture.outputs(),
            TOLERANCE,
        );
    }
}

macro_rules! fixture_tests {
    ($($name:ident),* $(,)?) => {
        // Test names are the fixture names, as the MLPerf files spell them.
        #[allow(non_snake_case)]
        mod generated_code {
            $( #[test] fn $name() { super::check_generated_code(stringify!($name)); } )*
        }
        #[allow(non_snake_case)]
        mod reference_evaluator {
            $( #[test] fn $name() { super::check_evaluator(stringify!($name)); } )*
        }
    };
}

fixture_tests!(
    digits_mlp,
    cnn_bn,
    conv2d_variants,
    conv1d,
    conv_transpose,
    pooling,
    shape_ops,
    broadcast_matmul,
    resize,
    resize_opset11,
    resize_opset10,
    resize_edge_cases,
    resize_opset10_downsample,
    conv_transpose_sparse,
    legacy_opset7,
    legacy_opset9,
    legacy_opset11,
    batchnorm_gemm,
    matmul_add,
    channel_ops,
    kws_ref_model_float32,
    vww_96_float,
    pretrainedResnet,
    ad01_fp32,
);

#[test]
fn every_fixture_in_the_manifest_is_tested() {
    let text = std::fs::read_to_string(fixtures().join("manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let source = include_str!("onnx_models.rs");
    for model in manifest["models"].as_array().unwrap() {
        let name = model["name"].as_str().unwrap();
        assert!(
            source.contains(&format!("    {name},\n")),
            "fixture {name} has no test"
        );
    }
}
