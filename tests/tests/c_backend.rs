//! The C back end (`--emit c`): the generated C is compiled with the local C compiler (C99,
//! `-Wall -Wextra -pedantic -Werror`) and run, and its outputs are compared with the TFLite
//! interpreter's (the same bytes for int8, as for the Rust back end) and with onnxruntime's.

mod common;

use std::process::Command;

use common::tflite::*;
use common::*;
use edgegen::CompileOptions;

fn check(name: &str) {
    let case = mlperf_case(name);
    check_generated_c(&case).unwrap_or_else(|e| panic!("{name}: {e}"));
}

macro_rules! c_tests {
    ($($name:ident),* $(,)?) => {
        #[allow(non_snake_case)]
        mod mlperf_tiny {
            $( #[test] fn $name() { super::check(stringify!($name)); } )*
        }
    };
}

// The five MLPerf Tiny int8 models, bit-exact with the TFLite interpreter, and the float
// ones, within the interpreter's float tolerance.
c_tests!(
    ad01_int8,
    kws_ref_model,
    pretrainedResnet_quant,
    str_ww_ref_model,
    vww_96_int8,
    ad01_fp32,
    pretrainedResnet,
    vww_96_float,
);

/// The tolerance of the ONNX fixtures, as for the Rust back end: 1e-4 relative error against
/// onnxruntime.
const ONNX_TOLERANCE: f64 = 1e-4;

fn check_onnx(name: &str) {
    let fixture = fixture(name);
    let compiled = compile(&fixture.model, &CompileOptions::default());
    let outputs: Vec<Vec<f32>> = run_generated_c(&compiled.graph, &fixture.inputs(), 1)
        .iter()
        .map(floats)
        .collect();
    assert_outputs(
        &format!("{name} (generated C)"),
        &outputs,
        &fixture.outputs(),
        ONNX_TOLERANCE,
    );
}

macro_rules! onnx_c_tests {
    ($($name:ident),* $(,)?) => {
        #[allow(non_snake_case)]
        mod onnx_models {
            $( #[test] fn $name() { super::check_onnx(stringify!($name)); } )*
        }
    };
}

// The float ONNX models of common CNNs and MLPs (the fixtures of `onnx_models`), within
// onnxruntime's tolerance.
onnx_c_tests!(
    digits_mlp,
    kws_ref_model_float32,
    vww_96_float,
    pretrainedResnet,
    ad01_fp32,
);

/// The one-operator TFLite cases the C back end accepts give the interpreter's outputs; it
/// accepts at least the ones listed (the int8 kernels of the MLPerf models are covered above),
/// and refuses the others with the layer named.
#[test]
fn tflite_operator_cases() {
    let mut accepted = Vec::new();
    for name in op_cases("") {
        if name == "hybrid_refused_per_channel" {
            continue; // refused at import, tested in tflite_models
        }
        match check_generated_c(&op_case(&name)) {
            Ok(()) => accepted.push(name),
            Err(e) => {
                assert_eq!(e.kind, edgegen::ErrorKind::Unsupported, "{name}: {e}");
                assert!(e.message.contains("no C kernel for"), "{name}: {e}");
            }
        }
    }
    for expected in [
        "dequantize_int8_f32",
        "quantize_f32_int8",
        "quantize_f32_int8_offset",
        "quantize_logistic_dequantize",
        "logistic_int8",
        "tanh_int8",
    ] {
        assert!(
            accepted.iter().any(|a| a == expected),
            "{expected} is not accepted; accepted: {accepted:?}"
        );
    }
}

/// The API is named by the prefix, the header compiles as C and as C++ (its `extern "C"`
/// guards), and a program using only the header's macros runs the model.
#[test]
fn api_follows_the_prefix_and_the_header_is_cxx_clean() {
    let case = mlperf_case("kws_ref_model");
    let compiled = compile(&case.model, &CompileOptions::default());
    let code = edgegen::backend::c::emit(&compiled.graph, "kws", "kws.h").unwrap();
    for name in [
        "void kws_run(const kws_input_t *input, kws_output_t *output);",
        "#define KWS_ARENA_BYTES 16000",
        "#define KWS_INPUT_SHAPE {1, 49, 10, 1}",
        "#define KWS_INPUT_LEN 490",
        "#define KWS_OUTPUT_ZERO_POINT -128",
        "#ifdef __cplusplus\nextern \"C\" {",
    ] {
        assert!(
            code.header.contains(name),
            "{name} missing:\n{}",
            code.header
        );
    }
    assert!(code.source.contains("#include \"kws.h\""));
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c_api");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("kws.h"), &code.header).unwrap();
    std::fs::write(dir.join("kws.c"), &code.source).unwrap();
    std::fs::write(
        dir.join("main.c"),
        "#include <stdio.h>\n#include \"kws.h\"\n\
         static const unsigned shape[KWS_INPUT_RANK] = KWS_INPUT_SHAPE;\n\
         int main(void) {\n\
         \x20   static kws_input_t input[KWS_INPUT_LEN];\n\
         \x20   kws_output_t output[KWS_OUTPUT_LEN];\n\
         \x20   int i;\n\
         \x20   for (i = 0; i < KWS_INPUT_LEN; i++) input[i] = (kws_input_t)(i % 7 - 3);\n\
         \x20   kws_run(input, output);\n\
         \x20   printf(\"%u %d %d\\n\", shape[1], KWS_ARENA_BYTES, (int)output[0]);\n\
         \x20   return 0;\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("use.cpp"),
        "#include \"kws.h\"\nint main() { return KWS_OUTPUT_LEN - 12; }\n",
    )
    .unwrap();
    let run = |cmd: &mut Command| {
        let out = cmd.current_dir(&dir).output().expect("run the compiler");
        assert!(
            out.status.success(),
            "{cmd:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    run(Command::new(&cc).args([
        "-std=c99",
        "-pedantic",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-O2",
        "kws.c",
        "main.c",
        "-o",
        "kws",
    ]));
    let printed = run(&mut Command::new(dir.join("kws")));
    assert!(printed.starts_with("49 16000 "), "{printed}");
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    run(Command::new(cxx).args([
        "-std=c++11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-fsyntax-only",
        "use.cpp",
    ]));
}

/// A model with layers the C kernel library lacks is refused with every such layer listed.
#[test]
fn layers_without_c_kernels_are_listed() {
    let compiled = compile(
        &fixtures().join("models/resize.onnx"),
        &CompileOptions::default(),
    );
    let e = edgegen::backend::c::check_supported(&compiled.graph).unwrap_err();
    assert_eq!(e.kind, edgegen::ErrorKind::Unsupported);
    assert!(
        e.message
            .contains("the C back end cannot generate code for:")
            && e.message.contains("Resize '"),
        "{e}"
    );
}
