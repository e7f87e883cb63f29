//! The MLPerf Tiny TFLite models (int8 and float) and the TFLite fixture models, compiled and
//! compared with the outputs of the TFLite interpreter's reference kernels
//! (`fixtures/make_tflite_fixtures.py`, `BUILTIN_REF`): int8 outputs must be the same bytes,
//! float outputs within 1e-5 relative error. Checked for the reference evaluator and for the
//! generated code.

mod common;

use common::tflite::*;
use common::*;
use edgegen::CompileOptions;

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
    stateful_stream,
    stateful_stream_int8,
);

/// The int8 models' generated code built for AVX2, where the int8 dot products take the x86
/// fast paths of `kernels::simd`: the same bytes as TFLite. Skipped, and said so, on a machine
/// without AVX2 (the binary could not run there).
#[test]
fn int8_models_with_the_avx2_fast_paths() {
    #[cfg(target_arch = "x86_64")]
    let avx2 = std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    let avx2 = false;
    if !avx2 {
        eprintln!("this machine has no AVX2: the x86 fast paths are not tested here");
        return;
    }
    for name in [
        "ad01_int8",
        "kws_ref_model",
        "pretrainedResnet_quant",
        "str_ww_ref_model",
        "vww_96_int8",
    ] {
        check_generated_code_with(&mlperf_case(name), &["-C", "target-feature=+avx2"]);
    }
}

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
}

/// A stateful model keeps its variable in the `Model`: consecutive runs see a stream, and
/// `reset` starts it again. The generated module is used as a user would, from a `main` that
/// runs the six reference steps, resets, and runs the first step again.
#[test]
fn stateful_model_streams_and_resets() {
    let case = mlperf_case("stateful_stream");
    let compiled = compile(&case.model, &CompileOptions::default());
    assert_eq!(compiled.graph.states.len(), 1);
    let code = edgegen::backend::rust::emit(&compiled.graph).unwrap();
    let steps = case.samples();
    let inputs = floats(&case.inputs[0].data);
    let expected = floats(&case.outputs[0].data);
    let rows = format!(
        "{:?}",
        inputs.chunks(inputs.len() / steps).collect::<Vec<_>>()
    );
    let main = format!(
        "mod model;\n\
         const STEPS: [[f32; model::INPUT_LEN]; {steps}] = {inputs};\n\
         fn main() {{\n\
             let mut m = model::Model::new();\n\
             let mut y = [0f32; model::OUTPUT_LEN];\n\
             for x in &STEPS {{ m.run(x, &mut y); println!(\"{{:?}}\", y); }}\n\
             m.reset();\n\
             m.run(&STEPS[0], &mut y);\n\
             println!(\"{{:?}}\", y);\n\
         }}\n",
        inputs = rows
    );
    let lines = run_program("stateful_stream_reset", &code, &main);
    let outputs: Vec<Vec<f32>> = lines
        .iter()
        .map(|l| {
            l.trim_matches(|c| c == '[' || c == ']')
                .split(", ")
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(outputs.len(), steps + 1);
    let per_step = expected.len() / steps;
    for (i, out) in outputs[..steps].iter().enumerate() {
        let err = normalized_error(out, &expected[i * per_step..(i + 1) * per_step]);
        assert!(err <= FLOAT_TOLERANCE, "step {i}: error {err:e}");
    }
    // The steps differ (the state matters), and after reset the first step comes out again.
    assert_ne!(outputs[0], outputs[1]);
    assert_eq!(outputs[steps], outputs[0]);
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

/// The float versions of the operators the float MLPerf Tiny models do not use, one operator
/// per case (`fixtures/tflite_op_cases_float.py`), within 1e-5 of the interpreter.
#[test]
fn float_operators() {
    check_op_cases("float_");
}
