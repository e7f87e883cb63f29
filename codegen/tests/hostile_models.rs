//! Hostile input: corrupted versions of real models go through the whole compiler (import,
//! passes, code generation) and must give a result or a clean error, never a panic or a hang.
//! The mutations are deterministic (a seeded generator), so a failure names a reproducible case.

use std::path::Path;
use std::time::{Duration, Instant};

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
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/models");
    let models = [
        "cnn_bn.onnx",
        "shape_ops.onnx",
        "resize.onnx",
        "conv_transpose.onnx",
        "legacy_opset7.onnx",
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
                    let dump = Path::new(env!("CARGO_TARGET_TMPDIR"))
                        .join(format!("panic-{name}-{case}.onnx"));
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
