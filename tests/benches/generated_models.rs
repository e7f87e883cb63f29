//! `cargo bench -p edgegen-tests --bench generated_models`: how fast the code edgegen generates
//! runs the MLPerf Tiny models (`fixtures/mlperf-tiny/`), one inference at a time, with ids
//! `generated/kws_int8`, `generated/vww_float` and so on.
//!
//! Each model is compiled by `include_model!` while this bench builds, as a user's crate compiles
//! it, with no options (the code `edgegen build MODEL` writes). Before timing, the model runs once
//! on the first committed reference input and its output is checked as the end-to-end tests check
//! it: the same bytes as the TFLite interpreter for the int8 models, within 1e-4 of onnxruntime
//! for the float ones. A broken model fails the bench instead of being timed, and
//! `cargo test -p edgegen-tests --benches` runs these checks (and each bench once) without timing.
//!
//! The README's figures are taken with the host CPU's features, as `scripts/bench_peers.py` takes
//! its own:
//!
//! ```text
//! RUSTFLAGS="-C target-cpu=native" cargo bench -p edgegen-tests --bench generated_models
//! ```
//!
//! Without the flag rustc targets the architecture's baseline (SSE2 on x86-64), so the kernels'
//! loops vectorise to narrower registers. (Changing `RUSTFLAGS` rebuilds every crate once.)
//!
//! The float models are the ONNX files, as in `scripts/bench_peers.py`, which compares them with
//! onnxruntime: the float TFLite KWS model is a hybrid one (int8 weights in its convolutions), not
//! a float model.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use edgegen::eval::Value;
use edgegen::ir::TensorData;

// The end-to-end tests' helpers, which read the fixtures' manifests and reference samples and
// compare outputs as the tests do.
#[path = "../tests/common/mod.rs"]
mod common;

/// The models, compiled while this bench builds; paths are relative to `tests/`.
mod models {
    edgegen_macros::include_model!(
        "../fixtures/mlperf-tiny/kws_ref_model.tflite",
        name = kws_int8
    );
    edgegen_macros::include_model!(
        "../fixtures/mlperf-tiny/vww_96_int8.tflite",
        name = vww_int8
    );
    edgegen_macros::include_model!(
        "../fixtures/mlperf-tiny/pretrainedResnet_quant.tflite",
        name = ic_int8
    );
    edgegen_macros::include_model!(
        "../fixtures/mlperf-tiny/ad01_int8.tflite",
        name = ad_int8
    );
    edgegen_macros::include_model!(
        "../fixtures/mlperf-tiny/kws_ref_model_float32.onnx",
        name = kws_float
    );
    edgegen_macros::include_model!(
        "../fixtures/mlperf-tiny/vww_96_float.onnx",
        name = vww_float
    );
    edgegen_macros::include_model!(
        "../fixtures/mlperf-tiny/pretrainedResnet.onnx",
        name = ic_float
    );
    edgegen_macros::include_model!(
        "../fixtures/mlperf-tiny/ad01_fp32.onnx",
        name = ad_float
    );
}

/// The tolerance of the ONNX end-to-end tests: 1e-4 relative error against onnxruntime.
const ONNX_TOLERANCE: f64 = 1e-4;

/// Where a model's reference sample comes from, which also decides how its output is compared.
enum Reference {
    /// A model of `fixtures/tflite_manifest.json` (the TFLite interpreter's reference kernels):
    /// the first of its stacked samples, integers compared byte for byte.
    Tflite(&'static str),
    /// A model of `fixtures/manifest.json` (onnxruntime), compared within [`ONNX_TOLERANCE`].
    Onnx(&'static str),
}

impl Reference {
    /// The reference input and output, the model's only ones.
    fn sample(&self) -> (Value, Value) {
        let (inputs, outputs) = match *self {
            Reference::Tflite(name) => {
                let case = common::tflite::mlperf_case(name);
                let first = |stacked: Vec<Value>| -> Vec<Value> {
                    stacked
                        .iter()
                        .map(|v| common::tflite::sample(v, 0))
                        .collect()
                };
                (first(case.inputs), first(case.outputs))
            }
            Reference::Onnx(name) => {
                let fixture = common::fixture(name);
                (fixture.inputs(), fixture.outputs())
            }
        };
        let only = |mut values: Vec<Value>, what: &str| -> Value {
            assert_eq!(values.len(), 1, "the benched models have one {what}");
            values.remove(0)
        };
        (only(inputs, "input"), only(outputs, "output"))
    }

    /// Panics unless `actual` is the reference output `expected`.
    fn check(&self, id: &str, actual: &TensorData, expected: &Value) {
        match self {
            Reference::Tflite(_) => common::tflite::assert_same(id, actual, &expected.data),
            Reference::Onnx(_) => common::assert_outputs(
                id,
                &[common::floats(actual)],
                std::slice::from_ref(expected),
                ONNX_TOLERANCE,
            ),
        }
    }
}

/// An element type of the models' inputs and outputs, to and from the reference data.
trait Element: Copy + Default {
    fn values(data: &TensorData) -> &[Self];
    fn tensor(values: &[Self]) -> TensorData;
}

impl Element for i8 {
    fn values(data: &TensorData) -> &[i8] {
        match data {
            TensorData::I8(values) => values,
            other => panic!("int8 data expected, found {}", other.dtype().name()),
        }
    }

    fn tensor(values: &[i8]) -> TensorData {
        TensorData::I8(values.to_vec())
    }
}

impl Element for f32 {
    fn values(data: &TensorData) -> &[f32] {
        match data {
            TensorData::F32(values) => values,
            other => panic!("float32 data expected, found {}", other.dtype().name()),
        }
    }

    fn tensor(values: &[f32]) -> TensorData {
        TensorData::F32(values.to_vec())
    }
}

/// Checks `model` (its `run` given as `run`) on the reference sample, then times `run` on the
/// reference input as `group/id`.
fn bench_model<
    M,
    I: Element,
    O: Element,
    const INPUT_LEN: usize,
    const OUTPUT_LEN: usize,
>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    reference: Reference,
    mut model: M,
    run: impl Fn(&mut M, &[I; INPUT_LEN], &mut [O; OUTPUT_LEN]),
) {
    let (input, expected) = reference.sample();
    let input: &[I; INPUT_LEN] = I::values(&input.data).try_into().unwrap_or_else(|_| {
        panic!(
            "{id}: the reference input has {} values, the model takes {INPUT_LEN}",
            input.data.len()
        )
    });
    let mut output = [O::default(); OUTPUT_LEN];
    run(&mut model, input, &mut output);
    reference.check(id, &O::tensor(&output), &expected);

    group.bench_function(id, |bencher| {
        bencher.iter(|| run(&mut model, black_box(input), black_box(&mut output)))
    });
}

fn generated_models(c: &mut Criterion) {
    use Reference::{Onnx, Tflite};
    use models::*;

    let mut group = c.benchmark_group("generated");
    bench_model(
        &mut group,
        "kws_int8",
        Tflite("kws_ref_model"),
        kws_int8::Model::new(),
        kws_int8::Model::run,
    );
    bench_model(
        &mut group,
        "vww_int8",
        Tflite("vww_96_int8"),
        vww_int8::Model::new(),
        vww_int8::Model::run,
    );
    bench_model(
        &mut group,
        "ic_int8",
        Tflite("pretrainedResnet_quant"),
        ic_int8::Model::new(),
        ic_int8::Model::run,
    );
    bench_model(
        &mut group,
        "ad_int8",
        Tflite("ad01_int8"),
        ad_int8::Model::new(),
        ad_int8::Model::run,
    );
    bench_model(
        &mut group,
        "kws_float",
        Onnx("kws_ref_model_float32"),
        kws_float::Model::new(),
        kws_float::Model::run,
    );
    bench_model(
        &mut group,
        "vww_float",
        Onnx("vww_96_float"),
        vww_float::Model::new(),
        vww_float::Model::run,
    );
    bench_model(
        &mut group,
        "ic_float",
        Onnx("pretrainedResnet"),
        ic_float::Model::new(),
        ic_float::Model::run,
    );
    bench_model(
        &mut group,
        "ad_float",
        Onnx("ad01_fp32"),
        ad_float::Model::new(),
        ad_float::Model::run,
    );
    group.finish();
}

criterion_group!(benches, generated_models);
criterion_main!(benches);
