//! Every way a user can get an error from `edgegen`, run as the user runs it: the exit code and
//! the whole message are pinned (insta), so a message cannot lose its file, node or cause, and a
//! failure cannot become a panic, unnoticed. Paths are shown as `[fixtures]` and `[scratch]`.
//!
//! Exit codes: 1 for a problem with the model, a file or a value; 2 for a command-line mistake.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// A fresh directory for one case's files.
fn scratch(case: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("errors")
        .join(case);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `edgegen` with `args` (`{fixtures}` and `{scratch}` stand for those directories) and
/// returns `exit code N` and its standard error, paths replaced by placeholders.
fn run(case: &str, args: &[&str]) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("errors")
        .join(case);
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures = fixtures().canonicalize().unwrap();
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            a.replace("{fixtures}", &fixtures.to_string_lossy())
                .replace("{scratch}", &dir.to_string_lossy())
        })
        .collect();
    let output = Command::new(env!("CARGO_BIN_EXE_edgegen"))
        .args(&args)
        .env(
            "EDGEGEN_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache"),
        )
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr)
        .replace(&*fixtures.to_string_lossy(), "[fixtures]")
        .replace(&*dir.to_string_lossy(), "[scratch]");
    assert!(!stderr.contains("panicked"), "{case}: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "{case}: colours when not a terminal"
    );
    format!(
        "exit code {}\n{stderr}",
        output
            .status
            .code()
            .map_or("none".into(), |c| c.to_string())
    )
}

/// Writes a crafted model into the case's scratch directory and returns the argument naming it.
fn crafted(case: &str, file: &str, bytes: &[u8]) -> String {
    std::fs::write(scratch(case).join(file), bytes).unwrap();
    format!("{{scratch}}/{file}")
}

macro_rules! error_case {
    ($name:ident, $args:expr) => {
        #[test]
        fn $name() {
            let args: Vec<String> = $args;
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            insta::assert_snapshot!(run(stringify!($name), &args));
        }
    };
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

fn build(model: &str, extra: &[&str]) -> Vec<String> {
    let mut args = strings(&["build", model, "-o", "{scratch}/model.rs"]);
    args.extend(strings(extra));
    args
}

// Files that cannot be read or are not models.
error_case!(
    missing_file,
    build("{fixtures}/models/no_such_model.onnx", &[])
);
error_case!(directory_as_model, build("{fixtures}/models", &[]));
error_case!(empty_file, build("{fixtures}/errors/empty.onnx", &[]));
error_case!(
    not_a_model,
    build("{fixtures}/errors/not_a_model.onnx", &[])
);
error_case!(
    truncated_protobuf,
    build("{fixtures}/errors/truncated.onnx", &[])
);
error_case!(
    external_data,
    build("{fixtures}/errors/external_data.onnx", &[])
);

error_case!(truncated_flatbuffer, {
    let kws = std::fs::read(fixtures().join("mlperf-tiny/kws_ref_model.tflite")).unwrap();
    let model = crafted("truncated_flatbuffer", "kws.tflite", &kws[..kws.len() / 3]);
    build(&model, &[])
});

error_case!(corrupted_flatbuffer, {
    let mut kws =
        std::fs::read(fixtures().join("mlperf-tiny/kws_ref_model.tflite")).unwrap();
    // The root table's offset, pointed past the end of the file.
    kws[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    let model = crafted("corrupted_flatbuffer", "kws.tflite", &kws);
    build(&model, &[])
});

// Models edgegen reads but cannot compile.
error_case!(
    unsupported_onnx_operators,
    build("{fixtures}/errors/unsupported_ops.onnx", &[])
);
error_case!(
    unsupported_tflite_model,
    build(
        "{fixtures}/errors/tflite_strided_slice_dynamic_begin.tflite",
        &[]
    )
);

error_case!(unsupported_element_type, {
    let mut string_input = input("x", &[1, 4]);
    if let Some(type_proto::Value::TensorType(t)) =
        string_input.r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        t.elem_type = data_type::STRING;
    }
    let bytes = model(
        vec![string_input],
        vec![],
        vec![node("Identity", &["x"], vec![])],
    );
    build(
        &crafted("unsupported_element_type", "strings.onnx", &bytes),
        &[],
    )
});

error_case!(unknown_attribute, {
    let bytes = model(
        vec![input("x", &[1, 4])],
        vec![],
        vec![node("Relu", &["x"], vec![int_attr("colour", 3)])],
    );
    build(&crafted("unknown_attribute", "colour.onnx", &bytes), &[])
});

error_case!(inconsistent_shapes, {
    let bytes = model(
        vec![input("x", &[1, 4])],
        vec![tensor("w", &[5, 3], data_type::FLOAT, vec![0; 5 * 3 * 4])],
        vec![node("MatMul", &["x", "w"], vec![])],
    );
    build(&crafted("inconsistent_shapes", "matmul.onnx", &bytes), &[])
});

error_case!(graph_cycle, {
    let mut a = node("Relu", &["x", "b_out"], vec![]);
    a.name = "a".into();
    a.input = vec!["b_out".into()];
    a.output = vec!["a_out".into()];
    let mut b = node("Neg", &["a_out"], vec![]);
    b.name = "b".into();
    b.output = vec!["b_out".into()];
    let mut last = node("Add", &["a_out", "x"], vec![]);
    last.name = "last".into();
    let bytes = model(vec![input("x", &[1, 4])], vec![], vec![a, b, last]);
    build(&crafted("graph_cycle", "cycle.onnx", &bytes), &[])
});

error_case!(symbolic_dimension_needs_a_shape, {
    let mut x = input("x", &[1, 4]);
    if let Some(type_proto::Value::TensorType(t)) =
        x.r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        t.shape.as_mut().unwrap().dim[1].value = Some(
            tensor_shape_proto::dimension::Value::DimParam("features".into()),
        );
    }
    let bytes = model(vec![x], vec![], vec![node("Relu", &["x"], vec![])]);
    build(
        &crafted("symbolic_dimension_needs_a_shape", "dynamic.onnx", &bytes),
        &[],
    )
});

error_case!(shape_computed_at_run_time, {
    let bytes = model(
        vec![input("x", &[1, 6]), input("shape", &[2])],
        vec![],
        vec![node("Reshape", &["x", "shape"], vec![])],
    );
    build(
        &crafted("shape_computed_at_run_time", "reshape.onnx", &bytes),
        &[],
    )
});

// Options and input files that do not fit the model.
error_case!(
    input_shape_that_does_not_match,
    build(
        "{fixtures}/models/digits_mlp.onnx",
        &["--input-shape", "pixels=1,65"]
    )
);
error_case!(
    input_shape_of_an_unknown_input,
    build(
        "{fixtures}/models/digits_mlp.onnx",
        &["--input-shape", "image=1,64"]
    )
);
error_case!(
    malformed_input_shape,
    build(
        "{fixtures}/models/digits_mlp.onnx",
        &["--input-shape", "pixels=1,x"]
    )
);
error_case!(
    missing_constant_file,
    build(
        "{fixtures}/models/digits_mlp.onnx",
        &["--constant", "pixels={scratch}/none.npy"]
    )
);
error_case!(
    quantize_without_calibration,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--quantize", "int8"])
);
error_case!(
    calibration_without_quantize,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &["--calibration", "{fixtures}/ptq/data/calibration_flat.npy"]
    )
);
error_case!(
    random_calibration_is_a_warning,
    strings(&[
        "inspect",
        "{fixtures}/ptq/digits_mlp.onnx",
        "--quantize",
        "int8",
        "--calibration",
        "random",
        "--format",
        "json",
    ])
);
error_case!(
    unknown_calibrator,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &[
            "--quantize",
            "int8",
            "--calibration",
            "{fixtures}/ptq/data/calibration_flat.npy",
            "--calibrator",
            "entropy"
        ]
    )
);
error_case!(
    calibration_arrays_not_named_after_the_inputs,
    build(
        "{fixtures}/models/batchnorm_gemm.onnx",
        &[
            "--quantize",
            "int8",
            "--calibration",
            "{fixtures}/npz/stored.npz"
        ]
    )
);
error_case!(
    integer_io_of_a_float_model,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--io", "int8"])
);
error_case!(
    unknown_io_type,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--io", "int16"])
);
error_case!(
    per_tensor_without_quantize,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--per-tensor"])
);
error_case!(
    unknown_quantization_mode,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--quantize", "int3"])
);
// 4-bit weights are `int4-weights`: activations stay int8, so a bare `int4` is refused.
error_case!(
    int4_is_not_a_quantization_mode,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--quantize", "int4"])
);
// The weight-only modes change constants only: calibration would be silently unused.
error_case!(
    calibration_of_a_weight_only_mode,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &[
            "--quantize",
            "int8-weights",
            "--calibration",
            "{fixtures}/ptq/data/calibration_flat.npy"
        ]
    )
);
error_case!(
    per_tensor_float16_weights,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &["--quantize", "fp16", "--per-tensor"]
    )
);
error_case!(
    calibration_without_quantization,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &[
            "--quantize",
            "none",
            "--calibration",
            "{fixtures}/ptq/data/calibration_flat.npy"
        ]
    )
);
error_case!(
    calibration_of_the_wrong_shape,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &[
            "--quantize",
            "int8",
            "--calibration",
            "{fixtures}/ptq/data/calibration_image.npy"
        ]
    )
);
error_case!(
    calibration_of_the_wrong_type,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &[
            "--quantize",
            "int8",
            "--calibration",
            "{fixtures}/ptq/data/test_labels.npy"
        ]
    )
);
error_case!(
    more_ram_than_allowed,
    build(
        "{fixtures}/mlperf-tiny/vww_96_int8.tflite",
        &["--max-ram", "48K"]
    )
);
error_case!(
    malformed_ram_budget,
    build("{fixtures}/models/digits_mlp.onnx", &["--max-ram", "lots"])
);
error_case!(
    prune_fraction_of_one_or_more,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--prune", "1"])
);
error_case!(
    negative_prune_fraction,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--prune", "-0.2"])
);
error_case!(
    prune_fraction_that_is_not_a_number,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--prune", "80%"])
);
error_case!(
    prune_mode_without_prune,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &["--prune-mode", "unstructured"]
    )
);
error_case!(
    prune_scope_without_prune,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &["--prune-scope", "global"]
    )
);
error_case!(
    unknown_prune_mode,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &["--prune", "0.5", "--prune-mode", "4:8"]
    )
);
error_case!(
    unknown_prune_scope,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &["--prune", "0.5", "--prune-scope", "model"]
    )
);
// 2:4 zeroes half of the weights: `--prune` may repeat that, not ask for another share.
error_case!(
    two_of_four_with_another_fraction,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &["--prune", "0.8", "--prune-mode", "2:4"]
    )
);
error_case!(
    prune_scope_with_two_of_four,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &["--prune-mode", "2:4", "--prune-scope", "global"]
    )
);

error_case!(
    prune_scope_with_channels,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &[
            "--prune",
            "0.5",
            "--prune-mode",
            "channels",
            "--prune-scope",
            "global"
        ]
    )
);
error_case!(
    cluster_of_one_value,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--cluster", "1"])
);
error_case!(
    cluster_beyond_an_eight_bit_index,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--cluster", "300"])
);
error_case!(
    unroll_mode_that_does_not_exist,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--unroll", "all"])
);
error_case!(
    unroll_without_a_mode,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--unroll"])
);
error_case!(
    cluster_count_that_is_not_a_number,
    build("{fixtures}/ptq/digits_mlp.onnx", &["--cluster", "sixteen"])
);
error_case!(
    cluster_with_weights_stored_in_fewer_bits,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &["--cluster", "16", "--quantize", "int8-weights"]
    )
);
error_case!(
    prune_layer_that_does_not_exist,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &["--prune-layer", "fc9=0.5"]
    )
);
error_case!(
    prune_layer_with_two_of_four,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &[
            "--prune-layer",
            "digits_mlp_1/fc1_1/MatMul_Gemm__1=0.5",
            "--prune-mode",
            "2:4"
        ]
    )
);
error_case!(
    cluster_layer_without_a_count,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &["--cluster-layer", "fc1"]
    )
);
error_case!(
    accuracy_search_with_pruning_given,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &[
            "--max-accuracy-drop",
            "1",
            "--data",
            "{fixtures}/ptq/data/test_flat.npy",
            "--labels",
            "{fixtures}/ptq/data/test_labels.npy",
            "--prune",
            "0.5"
        ]
    )
);
error_case!(
    accuracy_search_without_labels,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &[
            "--max-accuracy-drop",
            "1",
            "--data",
            "{fixtures}/ptq/data/test_flat.npy"
        ]
    )
);
error_case!(
    negative_accuracy_drop,
    build(
        "{fixtures}/ptq/digits_mlp.onnx",
        &[
            "--max-accuracy-drop=-1",
            "--data",
            "{fixtures}/ptq/data/test_flat.npy",
            "--labels",
            "{fixtures}/ptq/data/test_labels.npy"
        ]
    )
);

error_case!(run_input_of_the_wrong_shape, {
    std::fs::write(
        scratch("run_input_of_the_wrong_shape").join("x.npy"),
        edgegen::npy::write_npy(&[1, 65], &edgegen::ir::TensorData::F32(vec![0.0; 65])),
    )
    .unwrap();
    strings(&[
        "run",
        "{fixtures}/models/digits_mlp.onnx",
        "--input",
        "{scratch}/x.npy",
        "--output-dir",
        "{scratch}/out",
    ])
});

error_case!(run_input_of_the_wrong_type, {
    std::fs::write(
        scratch("run_input_of_the_wrong_type").join("x.npy"),
        edgegen::npy::write_npy(&[1, 64], &edgegen::ir::TensorData::I64(vec![0; 64])),
    )
    .unwrap();
    strings(&[
        "run",
        "{fixtures}/models/digits_mlp.onnx",
        "--input",
        "{scratch}/x.npy",
        "--output-dir",
        "{scratch}/out",
    ])
});

error_case!(
    run_with_too_few_inputs,
    strings(&[
        "run",
        "{fixtures}/models/matmul_add.onnx",
        "--input",
        "{fixtures}/reference/matmul_add/input_0.npy",
        "--output-dir",
        "{scratch}/out",
    ])
);

error_case!(
    validate_with_labels_for_other_samples,
    strings(&[
        "validate",
        "{fixtures}/ptq/digits_mlp.onnx",
        "--data",
        "{fixtures}/ptq/data/calibration_flat.npy",
        "--labels",
        "{fixtures}/ptq/data/test_labels.npy",
    ])
);

// Where the output cannot go.
error_case!(
    output_in_a_missing_directory,
    strings(&[
        "build",
        "{fixtures}/models/digits_mlp.onnx",
        "-o",
        "{scratch}/no/such/dir/model.rs",
    ])
);
error_case!(
    output_is_a_directory,
    strings(&[
        "build",
        "{fixtures}/models/digits_mlp.onnx",
        "-o",
        "{scratch}"
    ])
);

// Command-line mistakes: exit code 2.
error_case!(unknown_command, strings(&["compile", "model.onnx"]));
error_case!(
    missing_output_option,
    strings(&["build", "{fixtures}/models/digits_mlp.onnx"])
);
error_case!(
    required_pass_disabled,
    build(
        "{fixtures}/models/digits_mlp.onnx",
        &["--disable-pass", "infer_shapes"]
    )
);

/// A failed build leaves no file behind, and an existing file is untouched.
#[test]
fn a_failed_build_writes_nothing() {
    let dir = scratch("a_failed_build_writes_nothing");
    let out = dir.join("model.rs");
    std::fs::write(&out, "// the user's previous file\n").unwrap();
    run(
        "a_failed_build_writes_nothing",
        &build("{fixtures}/errors/truncated.onnx", &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "// the user's previous file\n"
    );
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1, "no temporary files are left");
}

// The C back end.
fn build_c(model: &str, output: &str, extra: &[&str]) -> Vec<String> {
    let mut args = strings(&["build", model, "--emit", "c", "-o", output]);
    args.extend(strings(extra));
    args
}
error_case!(
    c_to_standard_output,
    build_c("{fixtures}/mlperf-tiny/kws_ref_model.tflite", "-", &[])
);
error_case!(
    c_output_named_as_a_header,
    build_c(
        "{fixtures}/mlperf-tiny/kws_ref_model.tflite",
        "{scratch}/kws.h",
        &[]
    )
);
error_case!(
    c_prefix_that_is_not_an_identifier,
    build_c(
        "{fixtures}/mlperf-tiny/kws_ref_model.tflite",
        "{scratch}/kws.c",
        &["--name", "9-kws"]
    )
);
error_case!(
    c_prefix_for_rust,
    build(
        "{fixtures}/mlperf-tiny/kws_ref_model.tflite",
        &["--emit", "rust", "--name", "kws"]
    )
);
error_case!(
    c_prefix_without_emit,
    build(
        "{fixtures}/mlperf-tiny/kws_ref_model.tflite",
        &["--name", "kws"]
    )
);
error_case!(layers_without_c_kernels, {
    // Sin has no C kernel yet (its argument reduction needs 128-bit integers).
    let bytes = model(
        vec![input("x", &[1, 4])],
        vec![],
        vec![node("Sin", &["x"], vec![])],
    );
    build_c(
        &crafted("layers_without_c_kernels", "sin.onnx", &bytes),
        "{scratch}/sin.c",
        &[],
    )
});
