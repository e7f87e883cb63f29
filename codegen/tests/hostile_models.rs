//! Hostile input: corrupted versions of real models (ONNX protobuf and TFLite flatbuffers) go
//! through the whole compiler (import, passes, code generation) and must give a result or a
//! clean error, never a panic or a hang.
//! The mutations are deterministic (a seeded generator), so a failure names a reproducible case.

use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use edgegen::CompileOptions;
use edgegen::frontend::{ImportOptions, import_model};

/// SplitMix64: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One random corruption: flipped bits, overwritten bytes (often with "interesting" values
/// that make lengths and varints huge), truncation, insertion, duplication of a region.
fn mutate(original: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for _ in 0..1 + rng.below(4) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(6) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes[at] = [0x00, 0xff, 0x7f, 0x80, 0x01][rng.below(5)],
            2 => bytes.truncate(at),
            3 => {
                let n = rng.below(16);
                let fill: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                bytes.splice(at..at, fill);
            }
            4 => {
                let end = (at + rng.below(64)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                let to = rng.below(bytes.len());
                bytes.splice(to..to, copy);
            }
            _ => {
                let end = (at + 8).min(bytes.len());
                for b in &mut bytes[at..end] {
                    *b = 0xff;
                }
            }
        }
    }
    bytes
}

fn compile_bytes(bytes: &[u8]) -> Result<String, edgegen::Error> {
    let graph = import_model(bytes, "mutant.onnx", &ImportOptions::default())?;
    let compiled =
        edgegen::compile_graph(graph, &CompileOptions::default(), &mut |_, _| {})?;
    edgegen::backend::rust::emit(&compiled.graph)
}

#[test]
fn mutated_models_never_panic() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let models = [
        "models/cnn_bn.onnx",
        "models/shape_ops.onnx",
        "models/resize.onnx",
        "models/conv_transpose.onnx",
        "models/legacy_opset7.onnx",
        "mlperf-tiny/kws_ref_model.tflite",
        "mlperf-tiny/pretrainedResnet_quant.tflite",
        "models/stateful_stream_int8.tflite",
    ];
    let per_model = 600;
    let mut outcomes = [0usize; 2];
    for (m, name) in models.iter().enumerate() {
        let original = std::fs::read(fixtures.join(name)).unwrap();
        let mut rng = Rng(0x5eed_0000 + m as u64);
        for case in 0..per_model {
            let mutant = mutate(&original, &mut rng);
            let started = Instant::now();
            let result = std::panic::catch_unwind(|| compile_bytes(&mutant));
            let elapsed = started.elapsed();
            match result {
                Ok(Ok(_)) => outcomes[0] += 1,
                Ok(Err(e)) => {
                    assert!(
                        !e.message.is_empty(),
                        "{name} case {case}: empty error message"
                    );
                    outcomes[1] += 1;
                }
                Err(_) => {
                    let file = Path::new(name).file_name().unwrap().to_string_lossy();
                    let dump = Path::new(env!("CARGO_TARGET_TMPDIR"))
                        .join(format!("panic-{case}-{file}"));
                    std::fs::write(&dump, &mutant).unwrap();
                    panic!(
                        "{name} mutation {case} panicked; the model is saved at {}",
                        dump.display()
                    );
                }
            }
            assert!(
                elapsed < Duration::from_secs(60),
                "{name} mutation {case} took {elapsed:?}"
            );
        }
    }
    eprintln!(
        "{} compiled, {} refused with an error",
        outcomes[0], outcomes[1]
    );
}

mod crafted {
    //! Models written to hit the limits of shape arithmetic: each must be refused with a clear
    //! error (or compiled), never panic, allocate without bound or run for long.

    use super::common::*;

    #[track_caller]
    fn refused(bytes: Vec<u8>, needle: &str) {
        let started = std::time::Instant::now();
        let err = super::compile_bytes(&bytes).expect_err("the model should be refused");
        assert!(err.message.contains(needle), "'{needle}' not in: {err}");
        assert!(started.elapsed().as_secs() < 10);
    }

    #[test]
    fn huge_input_shapes() {
        refused(
            model(
                vec![input("x", &[1 << 40, 1 << 40])],
                vec![],
                vec![node("Relu", &["x"], vec![])],
            ),
            "more than",
        );
    }

    #[test]
    fn huge_reshape_targets() {
        let m = model(
            vec![input("x", &[1, 4])],
            vec![i64s("shape", &[1 << 40, 1 << 40, 0])],
            vec![node("Reshape", &["x", "shape"], vec![])],
        );
        refused(m, "Reshape");
    }

    #[test]
    fn extreme_pads_and_slice_steps() {
        let m = model(
            vec![input("x", &[1, 4])],
            vec![i64s("pads", &[0, i64::MAX, 0, i64::MAX])],
            vec![node("Pad", &["x", "pads"], vec![])],
        );
        refused(m, "out of range");
        let m = model(
            vec![input("x", &[1, 4])],
            vec![
                i64s("starts", &[3]),
                i64s("ends", &[i64::MIN]),
                i64s("axes", &[1]),
                i64s("steps", &[i64::MIN]),
            ],
            vec![node(
                "Slice",
                &["x", "starts", "ends", "axes", "steps"],
                vec![],
            )],
        );
        refused(m, "step");
        let m = model(
            vec![input("x", &[1, 4])],
            vec![
                i64s("starts", &[0]),
                i64s("ends", &[i64::MAX]),
                i64s("axes", &[1]),
                i64s("steps", &[i64::MAX]),
            ],
            vec![node(
                "Slice",
                &["x", "starts", "ends", "axes", "steps"],
                vec![],
            )],
        );
        assert!(
            super::compile_bytes(&m).is_ok(),
            "a step past the end takes one element"
        );
    }

    #[test]
    fn enormous_resize_and_kernels() {
        let m = model(
            vec![input("x", &[1, 1, 4, 4])],
            vec![f32s("roi", &[]), f32s("scales", &[1.0, 1.0, 1e30, 1e30])],
            vec![node("Resize", &["x", "roi", "scales"], vec![])],
        );
        refused(m, "more than");
        let m = model(
            vec![input("x", &[1, 1, 4, 4])],
            vec![tensor("w", &[1, 1, 1, 1], data_type::FLOAT, vec![0; 4])],
            vec![node(
                "Conv",
                &["x", "w"],
                vec![ints("kernel_shape", &[1 << 40, 1])],
            )],
        );
        refused(m, "out-of-range");
    }

    #[test]
    fn a_tiny_file_cannot_fold_into_a_huge_constant() {
        // Padding a one-element constant to 2^27 elements: too big to fold (it would allocate
        // half a gigabyte), so it stays a Pad that the generated code runs.
        let m = model(
            vec![input("x", &[1])],
            vec![f32s("c", &[1.0]), i64s("pads", &[0, (1 << 27) - 1])],
            vec![
                NodeProto {
                    op_type: "Pad".into(),
                    name: "pad".into(),
                    input: vec!["c".into(), "pads".into()],
                    output: vec!["big".into()],
                    ..Default::default()
                },
                NodeProto {
                    op_type: "ReduceMean".into(),
                    name: "mean".into(),
                    input: vec!["big".into()],
                    output: vec!["m".into()],
                    ..Default::default()
                },
                node("Add", &["x", "m"], vec![]),
            ],
        );
        let started = std::time::Instant::now();
        let code = super::compile_bytes(&m).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            code.contains("kernels::layout::pad("),
            "the Pad is left to run time"
        );
        assert!(
            started.elapsed().as_secs() < 10,
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn reversed_slices_of_empty_axes() {
        let m = model(
            vec![input("x", &[1, 4])],
            vec![
                i64s("s1", &[2]),
                i64s("e1", &[2]),
                i64s("axes", &[1]),
                i64s("s2", &[-1]),
                i64s("e2", &[-10]),
                i64s("steps", &[-1]),
            ],
            vec![
                NodeProto {
                    op_type: "Slice".into(),
                    name: "empty".into(),
                    input: vec!["x".into(), "s1".into(), "e1".into(), "axes".into()],
                    output: vec!["nothing".into()],
                    ..Default::default()
                },
                node("Slice", &["nothing", "s2", "e2", "axes", "steps"], vec![]),
            ],
        );
        let started = std::time::Instant::now();
        let _ = super::compile_bytes(&m);
        assert!(started.elapsed().as_secs() < 10);
    }

    #[test]
    fn axes_of_scalars() {
        let m = model(
            vec![input("x", &[])],
            vec![],
            vec![node("Concat", &["x", "x"], vec![int_attr("axis", 0)])],
        );
        refused(m, "out of range for a tensor of rank 0");
        let m = model(
            vec![input("x", &[])],
            vec![i64s("i", &[0])],
            vec![node("Gather", &["x", "i"], vec![])],
        );
        refused(m, "rank 0");
    }

    #[test]
    fn malformed_nodes() {
        let m = model_at(
            10,
            vec![input("x", &[1, 2])],
            vec![],
            vec![node("Resize", &[], vec![])],
        );
        refused(m, "Resize");
        let mut outputless = node("Relu", &["x"], vec![]);
        outputless.output.clear();
        let m = model(
            vec![input("x", &[1, 2])],
            vec![],
            vec![outputless, node("Relu", &["x"], vec![])],
        );
        let err = super::compile_bytes(&m).expect_err("a node without outputs is refused");
        assert_eq!(err.kind, edgegen::ErrorKind::InvalidModel, "{err}");
        assert!(err.message.contains("has no outputs"), "{err}");
        let m = model(
            vec![input("x", &[1, 1, 4, 4])],
            vec![],
            vec![node("MaxPool", &["x"], vec![ints("kernel_shape", &[0, 2])])],
        );
        refused(m, "kernel_shape");
    }
}
