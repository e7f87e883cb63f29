//! TFLite models compared with the interpreter's reference kernels: the MLPerf Tiny models of
//! `fixtures/tflite_manifest.json` and the one-operator cases under `fixtures/tflite_ops/`.
//! Integer outputs must be the same bytes; float outputs within [`FLOAT_TOLERANCE`].

use std::path::PathBuf;

use super::*;

/// Float models: the largest absolute difference from the interpreter, relative to the largest
/// magnitude of the expected output. (Element-wise relative error is not meaningful for the
/// small values of a model whose interpreter accumulates in single precision in another order.)
pub const FLOAT_TOLERANCE: f64 = 1e-5;

pub fn normalized_error(actual: &[f32], expected: &[f32]) -> f64 {
    assert_eq!(actual.len(), expected.len(), "output lengths differ");
    let scale = expected.iter().fold(0f64, |m, &e| m.max((e as f64).abs()));
    let worst = actual
        .iter()
        .zip(expected)
        .fold(0f64, |m, (&a, &e)| m.max((a as f64 - e as f64).abs()));
    worst / scale.max(f64::MIN_POSITIVE)
}

/// A model and its interpreter outputs, every input and output stacked as `[samples, ...]`.
pub struct TfliteCase {
    pub name: String,
    pub model: PathBuf,
    pub inputs: Vec<Value>,
    pub outputs: Vec<Value>,
}

impl TfliteCase {
    pub fn samples(&self) -> usize {
        self.inputs.first().map_or(1, |v| v.shape[0])
    }
}

/// A model of `fixtures/tflite_manifest.json`.
pub fn mlperf_case(name: &str) -> TfliteCase {
    let entry = manifest_entry("tflite_manifest.json", name);
    let reference = fixtures().join("reference/tflite").join(name);
    TfliteCase {
        name: name.to_string(),
        model: fixtures().join(entry["model"].as_str().expect("model path")),
        inputs: numbered(&reference, "input"),
        outputs: numbered(&reference, "output"),
    }
}

/// A one-operator case: `fixtures/tflite_ops/NAME.tflite` with its inputs and outputs in
/// `fixtures/reference/tflite_ops/NAME/`.
pub fn op_case(name: &str) -> TfliteCase {
    let reference = fixtures().join("reference/tflite_ops").join(name);
    let case = TfliteCase {
        name: name.to_string(),
        model: fixtures().join("tflite_ops").join(format!("{name}.tflite")),
        inputs: numbered(&reference, "input"),
        outputs: numbered(&reference, "output"),
    };
    assert!(
        case.model.exists() && !case.outputs.is_empty(),
        "no fixture for {name}: run fixtures/make_tflite_op_fixtures.py"
    );
    case
}

/// The names of the one-operator cases that start with `prefix`, sorted.
pub fn op_cases(prefix: &str) -> Vec<String> {
    let dir = fixtures().join("tflite_ops");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".tflite")?.to_string())
        })
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    assert!(
        !names.is_empty(),
        "no cases named {prefix}* in {}",
        dir.display()
    );
    names
}

/// Sample `i` of a stacked `[samples, ...]` array.
pub fn sample(stacked: &Value, i: usize) -> Value {
    let shape = stacked.shape[1..].to_vec();
    let n: usize = shape.iter().product();
    let data = edgegen::map_data!(&stacked.data, v => v[i * n..(i + 1) * n].to_vec());
    Value::new(shape, data)
}

/// Compares one output with the interpreter's: bytes for integers, relative error for floats.
pub fn assert_same(what: &str, actual: &TensorData, expected: &TensorData) {
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
            assert_eq!(a.len(), e.len(), "{what}: output lengths differ");
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

/// The reference evaluator on every sample (one step after the other for a stateful model,
/// independently otherwise).
pub fn check_evaluator(case: &TfliteCase) {
    // The passes only: the evaluator does not need the back end to support the model.
    let mut graph = edgegen::frontend::load_model(&case.model, &Default::default())
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    edgegen::passes::run_pipeline(&mut graph, &Default::default(), &mut |_, _| {})
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let steps: Vec<Vec<Value>> = (0..case.samples())
        .map(|i| case.inputs.iter().map(|v| sample(v, i)).collect())
        .collect();
    let results = if graph.states.is_empty() {
        steps
            .iter()
            .map(|inputs| edgegen::eval::evaluate(&graph, inputs))
            .collect::<Result<Vec<_>, _>>()
    } else {
        edgegen::eval::evaluate_steps(&graph, &steps)
    }
    .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    for (i, outputs) in results.iter().enumerate() {
        assert_eq!(outputs.len(), case.outputs.len(), "{}: outputs", case.name);
        for (k, (actual, expected)) in outputs.iter().zip(&case.outputs).enumerate() {
            assert_same(
                &format!("{} (evaluator), sample {i}, output {k}", case.name),
                &actual.data,
                &sample(expected, i).data,
            );
        }
    }
}

/// The generated code on every sample at once (the harness runs them one after another on one
/// `Model`), checked like the evaluator. Returns the code for further checks.
pub fn check_generated_code(case: &TfliteCase) -> String {
    let compiled = compile(&case.model, &CompileOptions::default());
    let code = edgegen::backend::rust::emit(&compiled.graph)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let samples = case.samples();
    let outputs = run_generated_typed(&code, &compiled.graph, &case.inputs, samples);
    check_outputs(case, "generated code", &outputs);
    code
}

/// [`check_generated_code`] with the generated code built with `rustc_flags` added (such as a
/// target feature that turns on the kernels' fast paths).
pub fn check_generated_code_with(case: &TfliteCase, rustc_flags: &[&str]) {
    let compiled = compile(&case.model, &CompileOptions::default());
    let code = edgegen::backend::rust::emit(&compiled.graph)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let mut options = build_options();
    options.extra_flags = rustc_flags.iter().map(|f| f.to_string()).collect();
    let binary = edgegen::run::build_harness(&code, &compiled.graph, &options, &mut || {})
        .unwrap_or_else(|e| panic!("{e}"));
    let values: Vec<TensorData> = case.inputs.iter().map(|v| v.data.clone()).collect();
    let outputs =
        edgegen::run::run_harness(&binary, &compiled.graph, &values, case.samples())
            .unwrap_or_else(|e| panic!("{e}"));
    check_outputs(
        case,
        &format!("generated code, {}", rustc_flags.join(" ")),
        &outputs,
    );
}

/// The outputs of all samples (stacked) against the case's, sample by sample.
fn check_outputs(case: &TfliteCase, what: &str, outputs: &[TensorData]) {
    for (k, (actual, expected)) in outputs.iter().zip(&case.outputs).enumerate() {
        let stacked = Value::new(expected.shape.clone(), actual.clone());
        for i in 0..case.samples() {
            assert_same(
                &format!("{} ({what}), sample {i}, output {k}", case.name),
                &sample(&stacked, i).data,
                &sample(expected, i).data,
            );
        }
    }
}

/// Every one-operator case named `prefix*`, through the evaluator and the generated code.
pub fn check_op_cases(prefix: &str) {
    for name in op_cases(prefix) {
        let case = op_case(&name);
        check_evaluator(&case);
        let code = check_generated_code(&case);
        check_rustfmt(&name, &code);
    }
}

/// The generated C on every sample, checked like [`check_generated_code`]; the C back end's
/// error when it refuses the model.
pub fn check_generated_c(case: &TfliteCase) -> Result<(), edgegen::Error> {
    let compiled = compile(&case.model, &CompileOptions::default());
    edgegen::backend::c::check_supported(&compiled.graph)?;
    let outputs = run_generated_c(&compiled.graph, &case.inputs, case.samples());
    check_outputs(case, "generated C", &outputs);
    Ok(())
}
