//! The MLPerf Tiny TFLite models (int8 and float) and the TFLite fixture models, compiled and
//! compared with the outputs of the TFLite interpreter's reference kernels
//! (`fixtures/make_tflite_fixtures.py`, `BUILTIN_REF`): int8 outputs must be the same bytes,
//! float outputs within 1e-5 relative error. Checked for the reference evaluator and for the
//! generated code.

mod common;

use common::tflite::*;
use common::*;

fn check_evaluator(name: &str) {
    common::tflite::check_evaluator(&mlperf_case(name));
}

/// The generated code, also rustfmt-clean and `#![no_std]`.
fn check_generated_code(name: &str) {
    let code = common::tflite::check_generated_code(&mlperf_case(name));
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
    kws_ref_model_float32,
    pretrainedResnet,
    vww_96_float,
);

/// Float convolutions with int8 weights of one scale ("hybrid", dynamic-range quantization)
/// quantize their input per image exactly as TFLite does.
#[test]
fn hybrid_convolutions() {
    check_op_cases("hybrid_conv_");
}

/// What is not supported yet is refused at import, every operator listed with its reason.
#[test]
fn unsupported_tflite_models_are_refused_with_every_operator_listed() {
    let import = |path: &str| {
        edgegen::frontend::load_model(&fixtures().join(path), &Default::default())
            .err()
            .unwrap_or_else(|| panic!("{path} imported"))
    };
    let hybrid = import("tflite_ops/hybrid_refused_per_channel.tflite");
    assert_eq!(hybrid.kind, edgegen::ErrorKind::Unsupported);
    assert!(
        hybrid.message.contains("CONV_2D")
            && hybrid.message.contains("\"hybrid\" convolution")
            && hybrid.message.contains("quantized per channel"),
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
