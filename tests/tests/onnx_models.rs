//! Every fixture model, compiled to Rust, compiled with rustc, run, and compared with the
//! outputs onnxruntime produced for the same inputs (`fixtures/make_fixtures.py`). Also: the
//! reference evaluator on the same models, the generated files under `rustfmt --check`, and the
//! generated files compiled as a `#![no_std]` library under `#![deny(warnings)]`.

mod common;

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
