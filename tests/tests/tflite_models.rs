//! The MLPerf Tiny TFLite models (int8 and float) and the TFLite fixture models, compiled and
//! compared with the outputs of the TFLite interpreter's reference kernels
//! (`fixtures/make_tflite_fixtures.py`, `BUILTIN_REF`): int8 outputs must be the same bytes,
//! float outputs within 1e-5 relative error. Checked for the reference evaluator and for the
//! generated code.

mod common;

use std::path::PathBuf;

use common::*;
use edgegen::CompileOptions;
use edgegen::eval::Value;
use edgegen::ir::TensorData;

/// Float models: the largest absolute difference from the interpreter, relative to the largest
/// magnitude of the expected output. (Element-wise relative error is not meaningful for the
/// small values of a model whose interpreter accumulates in single precision in another order.)
const FLOAT_TOLERANCE: f64 = 1e-5;

fn normalized_error(actual: &[f32], expected: &[f32]) -> f64 {
    assert_eq!(actual.len(), expected.len(), "output lengths differ");
    let scale = expected.iter().fold(0f64, |m, &e| m.max((e as f64).abs()));
    let worst = actual
        .iter()
        .zip(expected)
        .fold(0f64, |m, (&a, &e)| m.max((a as f64 - e as f64).abs()));
    worst / scale.max(f64::MIN_POSITIVE)
}

/// One model of `fixtures/tflite_manifest.json`: its file and its stacked samples.
struct TfliteFixture {
    model: PathBuf,
    /// `[samples, ...input shape]`.
    inputs: Value,
    /// `[samples, ...output shape]`.
    outputs: Value,
}

fn tflite_fixture(name: &str) -> TfliteFixture {
    let entry = manifest_entry("tflite_manifest.json", name);
    let reference = fixtures().join("reference/tflite").join(name);
    TfliteFixture {
        model: fixtures().join(entry["model"].as_str().expect("model path")),
        inputs: read_npy(&reference.join("input_0.npy")),
        outputs: read_npy(&reference.join("output_0.npy")),
    }
}

/// Sample `i` of a stacked `[samples, ...]` array.
fn sample(stacked: &Value, i: usize) -> Value {
    let shape = stacked.shape[1..].to_vec();
    let n: usize = shape.iter().product();
    let data = edgegen::map_data!(&stacked.data, v => v[i * n..(i + 1) * n].to_vec());
    Value::new(shape, data)
}

/// Compares one output with the interpreter's: bytes for integers, relative error for floats.
fn assert_same(what: &str, actual: &TensorData, expected: &TensorData) {
    match expected {
        TensorData::F32(e) => {
            let a = floats(actual);
            let err = normalized_error(&a, e);
            assert!(
                err <= FLOAT_TOLERANCE,
                "{what}: error {err:e} (tolerance {FLOAT_TOLERANCE:e})\n  actual:   {:?}\n  expected: {:?}",
                &a[..a.len().min(8)],
                &e[..e.len().min(8)]
            );
        }
        _ => {
            let (a, e) = (
                actual.to_i64_vec().expect("integer output"),
                expected.to_i64_vec().expect("integer output"),
            );
            let differ: Vec<usize> = (0..e.len()).filter(|&i| a[i] != e[i]).collect();
            assert!(
                differ.is_empty(),
                "{what}: {} of {} values differ from the interpreter's, first at {}: {} instead of {}",
                differ.len(),
                e.len(),
                differ[0],
                a[differ[0]],
                e[differ[0]]
            );
        }
    }
}

fn check_evaluator(name: &str) {
    let fixture = tflite_fixture(name);
    // The passes only: the evaluator does not need the back end to support the model.
    let mut graph = edgegen::frontend::load_model(&fixture.model, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    edgegen::passes::run_pipeline(&mut graph, &Default::default(), &mut |_, _| {})
        .unwrap_or_else(|e| panic!("{e}"));
    let samples = fixture.inputs.shape[0];
    for i in 0..samples {
        let outputs = edgegen::eval::evaluate(&graph, &[sample(&fixture.inputs, i)])
            .unwrap_or_else(|e| panic!("{e}"));
        let expected = sample(&fixture.outputs, i);
        assert_same(
            &format!("{name} (evaluator), sample {i}"),
            &outputs[0].data,
            &expected.data,
        );
    }
}

/// The generated code on every sample at once (the harness runs them one after another on one
/// `Model`), checked like the evaluator; also rustfmt-clean and `#![no_std]`.
fn check_generated_code(name: &str) {
    let fixture = tflite_fixture(name);
    let compiled = compile(&fixture.model, &CompileOptions::default());
    let code =
        edgegen::backend::rust::emit(&compiled.graph).unwrap_or_else(|e| panic!("{e}"));
    let samples = fixture.inputs.shape[0];
    let outputs = run_generated_typed(
        &code,
        &compiled.graph,
        std::slice::from_ref(&fixture.inputs),
        samples,
    );
    let stacked = Value::new(fixture.outputs.shape.clone(), outputs[0].clone());
    for i in 0..samples {
        assert_same(
            &format!("{name} (generated code), sample {i}"),
            &sample(&stacked, i).data,
            &sample(&fixture.outputs, i).data,
        );
    }
    check_rustfmt(name, &code);
    check_no_std(name, &code);
}

macro_rules! tflite_tests {
    ($($name:ident),* $(,)?) => {
        #[allow(non_snake_case)]
        mod reference_evaluator {
            $( #[test] fn $name() { super::check_evaluator(stringify!($name)); } )*
        }
        #[allow(non_snake_case)]
        mod generated_code {
            $( #[test] fn $name() { super::check_generated_code(stringify!($name)); } )*
        }
    };
}

tflite_tests!(
    ad01_int8,
    kws_ref_model,
    pretrainedResnet_quant,
    str_ww_ref_model,
    vww_96_int8,
    ad01_fp32,
    pretrainedResnet,
    vww_96_float,
);

/// What is not supported yet is refused at import, every operator listed with its reason.
#[test]
fn unsupported_tflite_models_are_refused_with_every_operator_listed() {
    let import = |path: &str| {
        edgegen::frontend::load_model(&fixtures().join(path), &Default::default())
            .err()
            .unwrap_or_else(|| panic!("{path} imported"))
    };
    let hybrid = import("mlperf-tiny/kws_ref_model_float32.tflite");
    assert_eq!(hybrid.kind, edgegen::ErrorKind::Unsupported);
    assert_eq!(
        hybrid.message.matches("\"hybrid\" layer").count(),
        5,
        "{hybrid}"
    );
    let stateful = import("models/stateful_stream.tflite");
    for op in [
        "CALL_ONCE",
        "VAR_HANDLE",
        "READ_VARIABLE",
        "ASSIGN_VARIABLE",
    ] {
        assert!(stateful.message.contains(op), "{stateful}");
    }
}

/// A truncated or corrupted flatbuffer is a clean error.
#[test]
fn truncated_tflite_files_are_refused() {
    let bytes = std::fs::read(fixtures().join("mlperf-tiny/kws_ref_model.tflite")).unwrap();
    for keep in [8, 100, 1000, bytes.len() / 2] {
        let err = edgegen::frontend::import_model(
            &bytes[..keep],
            "kws.tflite",
            &Default::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.kind,
            edgegen::ErrorKind::InvalidModel,
            "{keep} bytes: {err}"
        );
        assert!(err.message.contains("TFLite"), "{keep} bytes: {err}");
    }
}
