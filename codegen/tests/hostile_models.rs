//! Hostile input: corrupted versions of real models (ONNX protobuf and TFLite flatbuffers) go
//! through the whole compiler (import, passes, code generation) and must give a result or a
//! clean error, never a panic or a hang, and must not take memory out of proportion to the
//! file's size. Crafted models (`crafted`) aim at the limits one at a time.
//! The mutations are deterministic (a seeded generator), so a failure names a reproducible case.
//! The fuzz targets in `codegen/fuzz` do the same without bounds (see the README).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use edgegen::CompileOptions;
use edgegen::frontend::{ImportOptions, import_model};

/// The system allocator, counting the bytes each thread has live and their peak, so that a test
/// can tell how much memory compiling a model took. Tests run on several threads at once; each
/// compiles on its own thread, so its counts are its own.
struct CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

thread_local! {
    static LIVE_BYTES: Cell<usize> = const { Cell::new(0) };
    static PEAK_BYTES: Cell<usize> = const { Cell::new(0) };
}

fn count_allocation(grown: usize, shrunk: usize) {
    // `try_with`: the allocator is also called while a thread's locals are torn down.
    let _ = LIVE_BYTES.try_with(|live| {
        // Memory freed on another thread than the one that allocated it can take a thread's
        // count below zero; it stops at zero.
        let now = (live.get() + grown).saturating_sub(shrunk);
        live.set(now);
        let _ = PEAK_BYTES.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded unchanged to `System`; the counting only reads the layouts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees for `layout` are those `System.alloc` needs.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count_allocation(layout.size(), 0);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count_allocation(layout.size(), 0);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through this allocator) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        count_allocation(0, layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and the caller's guarantees for `new_size`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count_allocation(new_size, layout.size());
        }
        new
    }
}

/// Runs `f` and returns its result with the most memory it had allocated at once (bytes,
/// on this thread).
fn peak_memory<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE_BYTES.with(Cell::get);
    PEAK_BYTES.with(|peak| peak.set(start));
    let result = f();
    (result, PEAK_BYTES.with(Cell::get) - start)
}

/// The most memory compiling a model of `file_len` bytes may take: a multiple of the file's size
/// (constant folding may create four times the elements the file holds, and generated source
/// takes several bytes per byte of data) and a constant for everything else.
fn memory_bound(file_len: usize) -> usize {
    256 * file_len + (256 << 20)
}

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

/// The models mutated, by format, and the mutants made of each: at least 2,000 per format.
const MUTATED: [(&str, &[&str], usize); 2] = [
    (
        "ONNX",
        &[
            "models/cnn_bn.onnx",
            "models/shape_ops.onnx",
            "models/resize.onnx",
            "models/conv_transpose.onnx",
            "models/legacy_opset7.onnx",
        ],
        600,
    ),
    (
        "TFLite",
        &[
            "mlperf-tiny/kws_ref_model.tflite",
            "mlperf-tiny/pretrainedResnet_quant.tflite",
            "models/stateful_stream_int8.tflite",
            "tflite_ops/strided_slice_int8.tflite",
            "tflite_ops/resize_bilinear_int8.tflite",
        ],
        500,
    ),
];

#[test]
fn mutated_models_never_panic() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    // Model k (in the order of `MUTATED`) is mutated by the generator seeded with k.
    let mut seed = 0;
    for (format, models, per_model) in MUTATED {
        // Mutants that compiled, and that were refused with an error.
        let mut outcomes = [0usize; 2];
        let mut most_memory = 0;
        let started_format = Instant::now();
        for name in models {
            let original = std::fs::read(fixtures.join(name)).unwrap();
            let mut rng = Rng(0x5eed_0000 + seed);
            seed += 1;
            for case in 0..per_model {
                let mutant = mutate(&original, &mut rng);
                let started = Instant::now();
                let (result, peak) =
                    peak_memory(|| std::panic::catch_unwind(|| compile_bytes(&mutant)));
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
                most_memory = most_memory.max(peak);
                assert!(
                    peak <= memory_bound(mutant.len()),
                    "{name} mutation {case} ({} bytes) took {peak} bytes of memory",
                    mutant.len()
                );
            }
        }
        eprintln!(
            "{format}: {} mutants of {} models, {} compiled, {} refused with an error, in {:?}, \
             taking at most {} KiB each",
            outcomes[0] + outcomes[1],
            models.len(),
            outcomes[0],
            outcomes[1],
            started_format.elapsed(),
            most_memory >> 10
        );
        assert!(
            outcomes[0] + outcomes[1] >= 2000,
            "{format}: too few mutants"
        );
    }
}

mod crafted {
    //! Models written to hit the limits of shape arithmetic: each must be refused with a clear
    //! error (or compiled), never panic, allocate without bound or run for long.

    use super::common::*;

    /// The most memory refusing a crafted model may take: these files are a few hundred bytes.
    const REFUSAL_MEMORY: usize = 16 << 20;

    #[track_caller]
    fn refused(bytes: Vec<u8>, needle: &str) {
        let started = std::time::Instant::now();
        let (result, peak) = super::peak_memory(|| super::compile_bytes(&bytes));
        let err = result.expect_err("the model should be refused");
        assert!(err.message.contains(needle), "'{needle}' not in: {err}");
        assert!(started.elapsed().as_secs() < 10);
        assert!(peak < REFUSAL_MEMORY, "refusing took {peak} bytes: {err}");
    }

    /// A node named after its single output.
    fn node_to(op: &str, inputs: &[&str], output: &str) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            name: output.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            ..Default::default()
        }
    }

    fn f32_scalar(name: &str, value: f32) -> TensorProto {
        tensor(name, &[], data_type::FLOAT, value.to_le_bytes().to_vec())
    }

    #[test]
    fn a_tiny_onnx_file_claiming_a_huge_initializer_is_refused_without_allocating() {
        let uses_w = |w: TensorProto| {
            model(
                vec![input("x", &[1])],
                vec![w],
                vec![node("Add", &["x", "w"], vec![])],
            )
        };
        // 2^30 floats (4 GiB) with no data, then with four bytes of it.
        let m = uses_w(tensor("w", &[1 << 30], data_type::FLOAT, vec![]));
        assert!(m.len() < 100, "{} bytes", m.len());
        refused(
            m,
            "initializer 'w': shape [1073741824] has 1073741824 elements",
        );
        let m = uses_w(tensor("w", &[1 << 30], data_type::FLOAT, vec![0; 4]));
        refused(m, "needs 4294967296 bytes but the tensor holds 4");
        // Typed data (`float_data`) that is short of the shape, and a shape that overflows.
        let mut w = tensor("w", &[1 << 16, 1 << 16], data_type::FLOAT, vec![]);
        w.float_data = vec![1.0];
        refused(uses_w(w), "holds 1 values");
        let m = uses_w(tensor(
            "w",
            &[1 << 40, 1 << 40],
            data_type::INT64,
            vec![0; 8],
        ));
        refused(m, "overflows");
    }

    /// A float32 TFLite tensor named `name` of shape `shape`, with its data in buffer `buffer`
    /// (0 for none).
    fn tflite_tensor(name: &str, shape: &[i32], buffer: u32) -> flat::Table {
        use flat::Field::*;
        flat::Table(vec![
            (0, I32s(shape.to_vec())),
            (1, I8(0)),
            (2, U32(buffer)),
            (3, Bytes(name.into())),
        ])
    }

    /// An int8 TFLite tensor without data, quantized with one scale and zero point.
    fn tflite_int8_tensor(
        name: &str,
        shape: &[i32],
        scale: f32,
        zero_point: i64,
    ) -> flat::Table {
        use flat::Field::*;
        let mut tensor = tflite_tensor(name, shape, 0);
        tensor.0[1].1 = I8(9);
        let quantization =
            flat::Table(vec![(2, F32s(vec![scale])), (3, I64s(vec![zero_point]))]);
        tensor.0.push((4, Table(quantization)));
        tensor
    }

    /// A TFLite model of one subgraph: its tensors, inputs and outputs (tensor indices),
    /// operators (builtin code, input and output tensor indices, default options) and the
    /// buffers after the empty buffer 0.
    fn tflite_graph(
        tensors: Vec<flat::Table>,
        (inputs, outputs): (&[i32], &[i32]),
        operators: &[(i8, &[i32], &[i32])],
        buffers: Vec<flat::Table>,
    ) -> Vec<u8> {
        use flat::{Field::*, Table};
        let codes = operators
            .iter()
            .map(|op| Table(vec![(0, I8(op.0))]))
            .collect();
        let operators = operators
            .iter()
            .enumerate()
            .map(|(i, op)| {
                Table(vec![
                    (0, U32(i as u32)),
                    (1, I32s(op.1.to_vec())),
                    (2, I32s(op.2.to_vec())),
                ])
            })
            .collect();
        let subgraph = Table(vec![
            (0, Tables(tensors)),
            (1, I32s(inputs.to_vec())),
            (2, I32s(outputs.to_vec())),
            (3, Tables(operators)),
        ]);
        let mut all_buffers = vec![Table(vec![])];
        all_buffers.extend(buffers);
        let model = Table(vec![
            (0, U32(3)),
            (1, Tables(codes)),
            (2, Tables(vec![subgraph])),
            (4, Tables(all_buffers)),
        ]);
        flat::file(&model, b"TFL3")
    }

    /// A TFLite model without operators whose only tensor, `huge`, of shape `shape`, is its
    /// output, with data from buffer 1 (whose fields are `buffer`).
    fn tflite_model(shape: &[i32], buffer: Vec<(usize, flat::Field)>) -> Vec<u8> {
        let tensor = tflite_tensor("huge", shape, 1);
        tflite_graph(vec![tensor], (&[], &[0]), &[], vec![flat::Table(buffer)])
    }

    #[test]
    fn a_tiny_tflite_file_claiming_gigabytes_is_refused_without_allocating() {
        use flat::Field::*;
        // 2^30 floats: more elements than any tensor may have.
        let m = tflite_model(&[1 << 15, 1 << 15], vec![(0, Bytes(vec![0; 4]))]);
        assert!(m.len() < 256, "{} bytes", m.len());
        refused(
            m,
            "tensor 'huge' of shape [32768, 32768] has more than 268435456 elements",
        );
        // 2^28 floats (a gibibyte), with four bytes of data.
        let m = tflite_model(&[1 << 14, 1 << 14], vec![(0, Bytes(vec![0; 4]))]);
        refused(m, "has 4 bytes of data, expected 1073741824");
        // A buffer stored after the flatbuffer (offset and size), claiming 4 GiB.
        let m = tflite_model(&[1 << 14, 1 << 14], vec![(1, U64(64)), (2, U64(1 << 32))]);
        refused(m, "lies outside the file (offset 64, 4294967296 bytes)");
        // A vector whose length claims 2^32 - 1 elements.
        let mut m = tflite_model(&[4], vec![(0, Bytes(vec![0; 16]))]);
        let at = m
            .windows(20)
            .position(|w| w[..4] == 16u32.to_le_bytes() && w[4..] == [0; 16])
            .unwrap();
        m[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        refused(m, "claims 4294967295 elements, more than the buffer holds");
    }

    #[test]
    fn a_tflite_convolution_of_no_channels() {
        // An input with 0 channels made a CONV_2D of 0 groups, and shape inference divided by
        // the group count (found by the tflite fuzz target).
        const CONV_2D: i8 = 3;
        let m = tflite_graph(
            vec![
                tflite_tensor("x", &[1, 1, 1, 0], 0),
                tflite_tensor("w", &[1, 1, 1, 1], 1),
                tflite_tensor("y", &[1, 1, 1, 1], 0),
            ],
            (&[0], &[2]),
            &[(CONV_2D, &[0, 1], &[2])],
            vec![flat::Table(vec![(0, flat::Field::Bytes(vec![0; 4]))])],
        );
        refused(
            m,
            "CONV_2D 'y': the filter [1, 1, 1, 1] does not fit 0 input channels",
        );
    }

    #[test]
    fn an_int8_relu6_into_a_subnormal_scale() {
        // 6 / 1e-40 is infinite in f32: quantizing the bound overflowed when the zero point was
        // added (found by the tflite fuzz target). The bound saturates to the type's range.
        const RELU6: i8 = 21;
        let m = tflite_graph(
            vec![
                tflite_int8_tensor("x", &[1, 4], 1.0, 0),
                tflite_int8_tensor("y", &[1, 4], 1e-40, 1),
            ],
            (&[0], &[1]),
            &[(RELU6, &[0], &[1])],
            vec![],
        );
        let code = super::compile_bytes(&m).unwrap_or_else(|e| panic!("{e}"));
        assert!(code.contains("output_max: 127"), "{code}");
    }

    #[test]
    fn folding_cannot_materialise_huge_tensors_from_a_tiny_file() {
        // Each model makes a constant of 2^26 elements (a quarter of a gibibyte of f32) from a
        // few bytes and adds it to the input: too big for folding's budget, so the node is left
        // to the generated code (or refused if it has no kernel), without the compiler
        // allocating the tensor or writing it out as source.
        let big = 1i64 << 26;
        let with = |initializers: Vec<TensorProto>, op: NodeProto| {
            let nodes = vec![op, node("Add", &["c", "x"], vec![])];
            model(vec![input("x", &[1])], initializers, nodes)
        };
        let cases = [
            (
                "ConstantOfShape",
                with(
                    vec![i64s("s", &[big])],
                    node_to("ConstantOfShape", &["s"], "c"),
                ),
            ),
            (
                "Expand",
                with(
                    vec![f32s("v", &[1.0]), i64s("s", &[big])],
                    node_to("Expand", &["v", "s"], "c"),
                ),
            ),
            (
                "Tile",
                with(
                    vec![f32s("v", &[1.0]), i64s("s", &[big])],
                    node_to("Tile", &["v", "s"], "c"),
                ),
            ),
            (
                "Range",
                with(
                    vec![
                        f32_scalar("a", 0.0),
                        f32_scalar("b", big as f32),
                        f32_scalar("d", 1.0),
                    ],
                    node_to("Range", &["a", "b", "d"], "c"),
                ),
            ),
            (
                "Pad",
                with(
                    vec![f32s("v", &[1.0]), i64s("p", &[0, big - 1])],
                    node_to("Pad", &["v", "p"], "c"),
                ),
            ),
            (
                "Resize",
                with(
                    vec![
                        tensor("v", &[1, 1, 1, 1], data_type::FLOAT, vec![0; 4]),
                        f32s("roi", &[]),
                        f32s("scales", &[1.0, 1.0, 8192.0, 8192.0]),
                    ],
                    node_to("Resize", &["v", "roi", "scales"], "c"),
                ),
            ),
        ];
        for (op, m) in cases {
            let started = std::time::Instant::now();
            let (result, peak) = super::peak_memory(|| super::compile_bytes(&m));
            let outcome = match &result {
                Ok(code) => format!("compiled to {} bytes of Rust", code.len()),
                Err(e) => format!("refused: {e}"),
            };
            eprintln!(
                "{op}: {outcome}, {peak} bytes at most, in {:?}",
                started.elapsed()
            );
            assert!(peak < 64 << 20, "{op}: {outcome}; took {peak} bytes");
            assert!(started.elapsed().as_secs() < 10, "{op}: {outcome}");
            match result {
                Ok(code) => assert!(code.len() < 1 << 20, "{op}: {outcome}"),
                // Ops without a kernel (they are normally folded away) are refused, saying why.
                Err(e) => assert!(
                    e.message.contains(&format!(
                        "{op} 'c': no lowering for {op}, whose output of [67108864] is computed \
                         from constants but is too large to fold into one"
                    )),
                    "{op}: {e}"
                ),
            }
        }
    }

    #[test]
    fn folding_many_nodes_stays_within_a_budget() {
        // A hundred constants of 2^20 elements each, every one below the limit of one node:
        // folding all of them would take gigabytes and write hundreds of megabytes of source.
        let mut nodes = Vec::new();
        let mut sum = "x".to_string();
        for i in 0..100 {
            nodes.push(node_to("ConstantOfShape", &["s"], &format!("c{i}")));
            let next = if i == 99 {
                "y".into()
            } else {
                format!("sum{i}")
            };
            let mut add = node_to("Add", &[&sum, &format!("c{i}")], &next);
            add.name = format!("add{i}");
            nodes.push(add);
            sum = next;
        }
        let m = model(vec![input("x", &[1])], vec![i64s("s", &[1 << 20])], nodes);
        let started = std::time::Instant::now();
        let (result, peak) = super::peak_memory(|| super::compile_bytes(&m));
        let err = result.expect_err("ConstantOfShape has no kernel");
        // The first fits in folding's budget, the others are left unfolded.
        assert!(!err.message.contains("'c0'"), "{err}");
        assert!(
            err.message.contains("ConstantOfShape 'c99': no lowering"),
            "{err}"
        );
        assert!(peak < 64 << 20, "took {peak} bytes");
        assert!(
            started.elapsed().as_secs() < 10,
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn resizing_to_huge_axes_needs_no_huge_tables() {
        // The coordinate tables of a Resize are as long as its output axes: a run-time input
        // resized to 2^27 columns would need gigabytes of them (and of generated source).
        for mode in ["nearest", "linear", "cubic"] {
            let m = model(
                vec![input("x", &[1, 1, 1, 2])],
                vec![
                    f32s("roi", &[]),
                    f32s("scales", &[1.0, 1.0, 1.0, (1 << 26) as f32]),
                ],
                vec![node(
                    "Resize",
                    &["x", "roi", "scales"],
                    vec![AttributeProto {
                        name: "mode".into(),
                        r#type: attribute_type::STRING,
                        s: mode.into(),
                        ..Default::default()
                    }],
                )],
            );
            refused(m, "to [1, 1, 1, 134217728] needs coordinate tables of");
        }
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

    /// A FlatBuffers writer, just enough to write small TFLite models by hand: every table is
    /// written as its vtable, then its inline fields, then what its offset fields point to
    /// (offsets in FlatBuffers point forwards). Nothing is aligned; the reader does not need it.
    mod flat {
        pub enum Field {
            I8(i8),
            U32(u32),
            U64(u64),
            I32s(Vec<i32>),
            F32s(Vec<f32>),
            I64s(Vec<i64>),
            Bytes(Vec<u8>),
            Table(Table),
            Tables(Vec<Table>),
        }

        /// A table: (field id, value) pairs.
        pub struct Table(pub Vec<(usize, Field)>);

        /// A file with `root` as its root table and `identifier` at bytes 4..8.
        pub fn file(root: &Table, identifier: &[u8; 4]) -> Vec<u8> {
            let mut out = vec![0; 4];
            out.extend_from_slice(identifier);
            let at = write_table(&mut out, root);
            out[..4].copy_from_slice(&(at as u32).to_le_bytes());
            out
        }

        fn patch(out: &mut [u8], slot: usize, target: usize) {
            out[slot..slot + 4].copy_from_slice(&((target - slot) as u32).to_le_bytes());
        }

        fn le_bytes<T: Copy, const N: usize>(v: &[T], f: fn(T) -> [u8; N]) -> Vec<u8> {
            v.iter().flat_map(|&x| f(x)).collect()
        }

        fn write_table(out: &mut Vec<u8>, table: &Table) -> usize {
            use Field::*;
            // A scalar's bytes, stored in the table; anything else is an offset to what
            // follows the table.
            let scalar = |f: &Field| match f {
                I8(v) => Some(v.to_le_bytes().to_vec()),
                U32(v) => Some(v.to_le_bytes().to_vec()),
                U64(v) => Some(v.to_le_bytes().to_vec()),
                _ => None,
            };
            let n_fields = table.0.iter().map(|f| f.0 + 1).max().unwrap_or(0);
            let mut offsets = vec![0u16; n_fields];
            let mut inline_len = 4;
            for (id, f) in &table.0 {
                offsets[*id] = inline_len as u16;
                inline_len += scalar(f).map_or(4, |b| b.len());
            }
            let vtable = out.len();
            out.extend_from_slice(&(4 + 2 * n_fields as u16).to_le_bytes());
            out.extend_from_slice(&(inline_len as u16).to_le_bytes());
            for o in offsets {
                out.extend_from_slice(&o.to_le_bytes());
            }
            let at = out.len();
            out.extend_from_slice(&((at - vtable) as i32).to_le_bytes());
            let mut pointed = Vec::new();
            for (_, f) in &table.0 {
                match scalar(f) {
                    Some(bytes) => out.extend_from_slice(&bytes),
                    None => {
                        pointed.push((f, out.len()));
                        out.extend_from_slice(&[0; 4]);
                    }
                }
            }
            let vector = |out: &mut Vec<u8>, len: usize, bytes: &[u8]| {
                out.extend_from_slice(&(len as u32).to_le_bytes());
                out.extend_from_slice(bytes);
            };
            for (f, slot) in pointed {
                let here = out.len();
                patch(out, slot, here);
                match f {
                    I32s(v) => vector(out, v.len(), &le_bytes(v, i32::to_le_bytes)),
                    F32s(v) => vector(out, v.len(), &le_bytes(v, f32::to_le_bytes)),
                    I64s(v) => vector(out, v.len(), &le_bytes(v, i64::to_le_bytes)),
                    Bytes(v) => vector(out, v.len(), v),
                    Table(t) => {
                        let at = write_table(out, t);
                        patch(out, slot, at);
                    }
                    Tables(tables) => {
                        vector(out, tables.len(), &vec![0; 4 * tables.len()]);
                        let first = here + 4;
                        for (i, t) in tables.iter().enumerate() {
                            let at = write_table(out, t);
                            patch(out, first + 4 * i, at);
                        }
                    }
                    I8(_) | U32(_) | U64(_) => unreachable!("scalars are stored inline"),
                }
            }
            at
        }
    }
}
