//! Helpers shared by the end-to-end tests: fixture discovery, compiling and running generated
//! code, and comparing outputs with onnxruntime's.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use edgegen::eval::Value;
use edgegen::ir::{Graph, TensorData};
use edgegen::{CompileOptions, Compiled};

pub mod tflite;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

pub fn fixtures() -> PathBuf {
    root().join("fixtures")
}

/// One model of `fixtures/manifest.json` with its reference data.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub name: String,
    pub model: PathBuf,
    pub reference: PathBuf,
    pub batch: bool,
}

impl Fixture {
    pub fn inputs(&self) -> Vec<Value> {
        numbered(&self.reference, "input")
    }

    pub fn outputs(&self) -> Vec<Value> {
        numbered(&self.reference, "output")
    }
}

/// `dir/{kind}_0.npy`, `dir/{kind}_1.npy`, ... as values.
pub fn numbered(dir: &Path, kind: &str) -> Vec<Value> {
    (0..)
        .map(|i| dir.join(format!("{kind}_{i}.npy")))
        .take_while(|p| p.exists())
        .map(|p| read_npy(&p))
        .collect()
}

pub fn read_npy(path: &Path) -> Value {
    let array = edgegen::npy::read_npy_file(path).unwrap_or_else(|e| panic!("{e}"));
    Value::new(array.shape, array.data)
}

/// The entry named `name` in the `models` list of a manifest under `fixtures/`.
pub fn manifest_entry(manifest: &str, name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join(manifest))
        .unwrap_or_else(|e| panic!("fixtures/{manifest}: {e}"));
    let parsed: serde_json::Value = serde_json::from_str(&text).expect("manifest is JSON");
    parsed["models"]
        .as_array()
        .expect("models")
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no model '{name}' in fixtures/{manifest}"))
        .clone()
}

/// The fixtures of the manifest, by name.
pub fn fixture(name: &str) -> Fixture {
    let entry = manifest_entry("manifest.json", name);
    Fixture {
        name: name.to_string(),
        model: fixtures().join(entry["model"].as_str().expect("model path")),
        reference: fixtures().join("reference").join(name),
        batch: entry["batch"].as_bool().unwrap_or(false),
    }
}

pub fn compile(model: &Path, options: &CompileOptions) -> Compiled {
    edgegen::compile(model, options, &mut |_, _| {}).unwrap_or_else(|e| panic!("{e}"))
}

/// Where compiled test harnesses are cached between test runs.
pub fn build_options() -> edgegen::run::BuildOptions {
    edgegen::run::BuildOptions {
        cache_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("edgegen-cache"),
        opt_level: "2".into(),
        extra_flags: Vec::new(),
    }
}

/// Compiles the generated code and runs it on `inputs` (each `[samples, ...]` flattened), with
/// the outputs as `f32`.
pub fn run_generated(
    code: &str,
    graph: &Graph,
    inputs: &[Value],
    samples: usize,
) -> Vec<Vec<f32>> {
    run_generated_typed(code, graph, inputs, samples)
        .iter()
        .map(floats)
        .collect()
}

/// Compiles the generated code and runs it on `inputs`, with the outputs in their own types.
pub fn run_generated_typed(
    code: &str,
    graph: &Graph,
    inputs: &[Value],
    samples: usize,
) -> Vec<TensorData> {
    let binary = edgegen::run::build_harness(code, graph, &build_options(), &mut || {})
        .unwrap_or_else(|e| panic!("{e}"));
    let values: Vec<TensorData> = inputs.iter().map(|v| v.data.clone()).collect();
    edgegen::run::run_harness(&binary, graph, &values, samples)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// [`run_generated_typed`] for the C back end: emits `graph` in C, compiles it with the local C
/// compiler (C99, every warning an error) and runs it on `inputs`.
pub fn run_generated_c(graph: &Graph, inputs: &[Value], samples: usize) -> Vec<TensorData> {
    let code = edgegen::backend::c::emit(graph, "model", "model.h")
        .unwrap_or_else(|e| panic!("{e}"));
    let binary =
        edgegen::run::build_c_harness(&code, graph, "model", &build_options(), &mut || {})
            .unwrap_or_else(|e| panic!("{e}"));
    let values: Vec<TensorData> = inputs.iter().map(|v| v.data.clone()).collect();
    edgegen::run::run_harness(&binary, graph, &values, samples)
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn floats(data: &TensorData) -> Vec<f32> {
    data.as_f32().expect("float32 data").to_vec()
}

/// Relative error of `actual` against `expected`: the largest `|a - e| / max(|e|, floor)`, where
/// `floor` is a thousandth of the largest `|e|`, so that values near zero (where a relative error
/// means nothing) are judged against the output's scale.
pub fn relative_error(actual: &[f32], expected: &[f32]) -> f64 {
    assert_eq!(actual.len(), expected.len(), "output lengths differ");
    let scale = expected.iter().fold(0f64, |m, &e| m.max((e as f64).abs()));
    let floor = (scale * 1e-3).max(f64::MIN_POSITIVE);
    actual
        .iter()
        .zip(expected)
        .map(|(&a, &e)| {
            if a == e {
                0.0
            } else {
                ((a as f64) - (e as f64)).abs() / (e as f64).abs().max(floor)
            }
        })
        .fold(0.0, f64::max)
}

/// Asserts every output within `tolerance` relative error of the reference.
#[track_caller]
pub fn assert_outputs(what: &str, actual: &[Vec<f32>], expected: &[Value], tolerance: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: number of outputs");
    for (j, (a, e)) in actual.iter().zip(expected).enumerate() {
        let e = floats(&e.data);
        let err = relative_error(a, &e);
        eprintln!("{what}: output {j}: relative error {err:.2e}");
        assert!(
            err <= tolerance,
            "{what}: output {j} differs from onnxruntime by {err:e} (tolerance {tolerance:e})\n  actual:   {:?}\n  expected: {:?}",
            &a[..a.len().min(8)],
            &e[..e.len().min(8)]
        );
    }
}

/// Whether an external tool runs here (rustfmt is part of every rustup toolchain, but a bare
/// rustc install may lack it).
pub fn has_tool(name: &str) -> bool {
    std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The generated file passes `rustfmt --check` with rustfmt's default settings.
pub fn check_rustfmt(name: &str, code: &str) {
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
pub fn check_no_std(name: &str, code: &str) {
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

/// Compiles the generated code as `mod model` of a program with `main_rs` as its main file,
/// runs it, and returns its standard output's lines.
pub fn run_program(name: &str, code: &str, main_rs: &str) -> Vec<String> {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("programs")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.rs"), code).unwrap();
    std::fs::write(dir.join("main.rs"), main_rs).unwrap();
    let binary = dir.join("program");
    let output = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["--edition", "2021", "-O", "-o"])
        .arg(&binary)
        .arg(dir.join("main.rs"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{name}: the program does not compile:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = Command::new(&binary).output().unwrap();
    assert!(output.status.success(), "{name}: the program failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The share of samples whose largest output is at their label (`outputs` holds one row of
/// class scores per label).
pub fn accuracy(outputs: &[f32], labels: &[i64]) -> f64 {
    let classes = outputs.len() / labels.len();
    let correct = outputs
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(p, label)| {
            let best = (0..classes).fold(0, |b, k| if p[k] > p[b] { k } else { b });
            best as i64 == **label
        })
        .count();
    correct as f64 / labels.len() as f64
}

/// The reference evaluator's output of a single-input, single-output `graph` on each sample
/// of `images` (stacked on the first axis).
pub fn evaluator_outputs(graph: &Graph, images: &Value) -> Vec<f32> {
    let samples = images.shape[0];
    let sample_len = images.data.len() / samples;
    let input_shape = graph.tensor(graph.model_inputs()[0]).shape().to_vec();
    floats(&images.data)
        .chunks_exact(sample_len)
        .flat_map(|sample| {
            let input = Value::new(input_shape.clone(), TensorData::F32(sample.to_vec()));
            let out = edgegen::eval::evaluate(graph, &[input]).unwrap();
            floats(&out[0].data)
        })
        .collect()
}

/// Runs the generated `code` of single-input `graph` on every sample of `images` and checks it
/// against the reference evaluator: exactly for an int8 build, within 1e-4 relative error for a
/// float one. Returns the generated code's outputs.
pub fn generated_matches_evaluator(
    what: &str,
    code: &str,
    graph: &Graph,
    images: &Value,
    int8: bool,
) -> Vec<f32> {
    let samples = images.shape[0];
    let outputs =
        run_generated(code, graph, std::slice::from_ref(images), samples).remove(0);
    let expected = evaluator_outputs(graph, images);
    if int8 {
        assert_eq!(
            outputs, expected,
            "{what}: generated code and evaluator differ"
        );
    } else {
        let error = relative_error(&outputs, &expected);
        assert!(error <= 1e-4, "{what}: relative error {error:e}");
    }
    outputs
}
