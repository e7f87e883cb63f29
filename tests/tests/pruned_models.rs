//! Pruning on the post-training quantization fixtures (the digits MLP and CNN of
//! `fixtures/ptq/`): `--prune 0.8` and `--prune-mode 2:4`, in float and with `--quantize int8`.
//! The generated code of every pruned build runs on the 400 test images and must give what the
//! reference evaluator gives for the same pruned graph (exactly for int8, within float rounding
//! for float), and the weights must have the sparsity asked for, as the report counts it. The
//! back end stores the fully connected layers of these builds sparse (`kernels/sparse.rs`), so
//! the code that runs here is the sparse kernels', and the report's bytes are the sparse ones.

mod common;

use common::*;
use edgegen::CompileOptions;
use edgegen::eval::Value;
use edgegen::ir::{Graph, TensorData};
use edgegen::passes::PassOptions;
use edgegen::passes::prune::prunable_weights;

fn ptq_dir() -> std::path::PathBuf {
    fixtures().join("ptq")
}

/// The test images shaped for `model`, their labels, and the calibration file.
fn data(model: &str) -> (Value, Vec<i64>, std::path::PathBuf) {
    let (images, calibration) = if model == "digits_mlp" {
        ("test_flat.npy", "calibration_flat.npy")
    } else {
        ("test_image.npy", "calibration_image.npy")
    };
    let x = read_npy(&ptq_dir().join("data").join(images));
    let labels = match read_npy(&ptq_dir().join("data/test_labels.npy")).data {
        TensorData::I64(v) => v,
        other => panic!("labels are {:?}", other.dtype()),
    };
    (x, labels, ptq_dir().join("data").join(calibration))
}

/// The zeros of each prunable layer's weights (`nodes[i].inputs[1]`), with the layer's index:
/// float `0.0` or the integer 0 (int8 weights are symmetric, zero point 0).
fn weight_zeros(graph: &Graph) -> Vec<(usize, Vec<bool>)> {
    (0..graph.nodes.len())
        .filter_map(|i| {
            let (weights, _) = prunable_weights(graph, i)?;
            let zeros = graph
                .constant(weights)?
                .to_f64_vec()
                .iter()
                .map(|&w| w == 0.0)
                .collect();
            Some((i, zeros))
        })
        .collect()
}

/// Builds `model` with the pruning (and quantization) flags, runs the generated code on the
/// test images, checks it against the evaluator and that the report's non-zero counts are the
/// weights' own; returns the compiled graph and the accuracy.
fn pruned_run(model: &str, prune: &[&str], int8: bool) -> (Graph, f64) {
    let (images, labels, calibration) = data(model);
    let flag = |name: &str| prune.iter().position(|a| *a == name).map(|k| prune[k + 1]);
    let settings =
        edgegen::options::prune_settings(flag("--prune"), flag("--prune-mode"), None)
            .unwrap();
    let cluster = edgegen::options::cluster_settings(flag("--cluster"), &[], None).unwrap();
    assert!(settings.is_some() || cluster.is_some(), "{prune:?}");
    let options = CompileOptions {
        passes: PassOptions {
            prune: settings,
            cluster,
            int8: if int8 {
                edgegen::options::int8_settings(
                    Some("int8"),
                    Some(&calibration),
                    None,
                    false,
                )
                .unwrap()
            } else {
                None
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let compiled = compile(&ptq_dir().join(format!("{model}.onnx")), &options);
    let graph = compiled.graph;
    let code = edgegen::backend::rust::emit(&graph).unwrap_or_else(|e| panic!("{e}"));
    let what = format!("{model} {prune:?} int8 {int8}");
    let outputs = generated_matches_evaluator(&what, &code, &graph, &images, int8);

    // The report counts what the weights hold.
    let program = edgegen::backend::lower::lower(&graph).unwrap();
    let report = edgegen::report::build(&graph, &program);
    for (i, zeros) in weight_zeros(&graph) {
        let row = &report.layers[i];
        let others: usize = graph.nodes[i]
            .inputs
            .iter()
            .skip(2)
            .filter_map(|&t| graph.tensor(t).data.as_ref())
            .map(|d| d.to_f64_vec().iter().filter(|&&v| v != 0.0).count())
            .sum();
        let weight_nonzeros = zeros.iter().filter(|&&z| !z).count();
        assert_eq!(row.nonzeros, weight_nonzeros + others, "{what}: layer {i}");
    }
    // Every fully connected layer (and int8 convolution) is pruned enough for a sparse format
    // to be smaller, and the code calls the sparse kernels (channel pruning leaves no zeros:
    // its layers stay dense); clustered layers (without pruning) are codebooks and indices;
    // the layers' bytes add up to the whole static data.
    let zeroes_weights = settings.is_some() && !prune.contains(&"channels");
    // (A convolution of one input channel per group has no groups of four for 2:4 to prune.)
    let stored_sparse = |r: &edgegen::report::LayerRow| {
        r.op == "Gemm" || (int8 && r.op == "Conv" && r.nonzeros * 10 <= r.parameters * 6)
    };
    for row in report
        .layers
        .iter()
        .filter(|r| stored_sparse(r) && zeroes_weights)
    {
        assert!(
            row.weight_format == "runs" || row.weight_format == "bitmask",
            "{what}: layer {} stored {}",
            row.index,
            row.weight_format
        );
        assert!(row.macs_executed < row.macs, "{what}: layer {}", row.index);
    }
    let kernel = if int8 {
        "sparse::fully_connected_i8_"
    } else {
        "sparse::gemm_"
    };
    assert!(
        code.contains(kernel) || !zeroes_weights,
        "{what}: no call of {kernel}"
    );
    let convolutions = report.layers.iter().any(|r| r.op == "Conv");
    assert!(
        code.contains("sparse_conv::conv_i8_")
            || code.contains("sparse_conv::pointwise_i8_")
            || !(zeroes_weights && int8 && convolutions),
        "{what}: no call of a sparse convolution"
    );
    if settings.is_none() {
        for row in report
            .layers
            .iter()
            .filter(|r| r.op == "Gemm" || r.op == "Conv")
        {
            assert!(
                row.weight_format.starts_with("codebook("),
                "{what}: layer {} stored {}",
                row.index,
                row.weight_format
            );
        }
        let kernel = if int8 {
            "_codebook("
        } else {
            "weights::Codebook"
        };
        assert!(code.contains(kernel), "{what}: no {kernel}");
    }
    assert_eq!(
        report.layers.iter().map(|r| r.weight_bytes).sum::<usize>(),
        report.totals.weight_bytes,
        "{what}"
    );
    let accuracy = accuracy(&outputs, &labels);
    eprintln!(
        "{what}: accuracy {:.2} %, {} of {} parameters non-zero, {} bytes of weights, formats \
         {:?}",
        100.0 * accuracy,
        report.totals.nonzeros,
        report.totals.parameters,
        report.totals.weight_bytes,
        report
            .layers
            .iter()
            .filter(|r| r.op == "Gemm")
            .map(|r| r.weight_format.as_str())
            .collect::<Vec<_>>()
    );
    (graph, accuracy)
}

/// `--prune 0.8`: every fully connected layer and convolution has exactly `round(0.8 × n)`
/// zero float weights; int8 weights have at least as many (small weights may round to 0) and
/// zeros wherever the float build has them.
fn check_unstructured(model: &str, layers: usize) {
    let (float, _) = pruned_run(model, &["--prune", "0.8"], false);
    let (int8, _) = pruned_run(model, &["--prune", "0.8"], true);
    let float_zeros = weight_zeros(&float);
    let int8_zeros = weight_zeros(&int8);
    assert_eq!(float_zeros.len(), layers, "{model}: pruned layers");
    assert_eq!(int8_zeros.len(), layers, "{model}: int8 layers");
    for (_, zeros) in &float_zeros {
        let expected = (0.8 * zeros.len() as f64).round() as usize;
        assert_eq!(zeros.iter().filter(|&&z| z).count(), expected, "{model}");
    }
    // The int8 layers come in the same order; convolutions are channels-last there, so compare
    // counts.
    for ((_, f), (_, q)) in float_zeros.iter().zip(&int8_zeros) {
        let (f, q) = (
            f.iter().filter(|&&z| z).count(),
            q.iter().filter(|&&z| z).count(),
        );
        assert!(q >= f, "{model}: {q} int8 zeros, {f} float zeros");
    }
}

/// `--prune-mode 2:4`: in every group of four consecutive weights along each layer's reduction
/// axis at least two are zero (a trailing group of `r` keeps at most `ceil(r / 2)`), in float
/// and in the int8 build, where convolutions are channels-last: the groups are the same weights.
fn check_two_of_four(model: &str) {
    for int8 in [false, true] {
        let (graph, _) = pruned_run(model, &["--prune-mode", "2:4"], int8);
        let mut groups = 0;
        for i in 0..graph.nodes.len() {
            let Some((weights, layout)) = prunable_weights(&graph, i) else {
                continue;
            };
            let w = graph.constant(weights).unwrap().to_f64_vec();
            for o in 0..layout.outer {
                for inner in 0..layout.inner {
                    for start in (0..layout.reduction).step_by(4) {
                        let len = (layout.reduction - start).min(4);
                        let nonzeros = (start..start + len)
                            .filter(|r| {
                                w[(o * layout.reduction + r) * layout.inner + inner] != 0.0
                            })
                            .count();
                        assert!(
                            nonzeros <= len.div_ceil(2),
                            "{model} int8 {int8}: layer {i}, group at {o}, {start}, {inner}"
                        );
                        groups += usize::from(len == 4);
                    }
                }
            }
        }
        assert!(groups > 0, "{model}: no group of four");
    }
}

#[test]
fn digits_mlp_unstructured() {
    check_unstructured("digits_mlp", 3);
}

#[test]
fn digits_cnn_unstructured() {
    check_unstructured("digits_cnn", 4);
}

#[test]
fn digits_mlp_two_of_four() {
    check_two_of_four("digits_mlp");
}

#[test]
fn digits_cnn_two_of_four() {
    check_two_of_four("digits_cnn");
}

/// `--prune-mode channels --prune 0.5`: half the output channels of every layer whose channels
/// only other layers read go, so the MLP's MACs fall to at most 55 % of the dense model's (its
/// last layer, the output, keeps its ten); the generated code still gives the evaluator's
/// outputs, float and int8 (`pruned_run` checks). Measured without retraining: MACs 6,464 →
/// 2,720 (42 %); accuracy 97.50 % → 76.00 %. The CNN's two pointwise-separated convolutions
/// halve too (51,520 → 17,568 MACs).
#[test]
fn channel_pruning_shrinks_the_layers() {
    let dense = compile(
        &ptq_dir().join("digits_mlp.onnx"),
        &CompileOptions::default(),
    );
    let macs = |graph: &Graph| {
        graph
            .nodes
            .iter()
            .map(|n| edgegen::report::node_macs(graph, n))
            .sum::<u64>()
    };
    let flags = ["--prune", "0.5", "--prune-mode", "channels"];
    for int8 in [false, true] {
        let (graph, _) = pruned_run("digits_mlp", &flags, int8);
        assert!(
            macs(&graph) * 100 <= macs(&dense.graph) * 55,
            "int8 {int8}: {} MACs against {} dense",
            macs(&graph),
            macs(&dense.graph)
        );
    }
    let (graph, _) = pruned_run("digits_cnn", &flags, false);
    let dense = compile(
        &ptq_dir().join("digits_cnn.onnx"),
        &CompileOptions::default(),
    );
    assert!(macs(&graph) * 100 <= macs(&dense.graph) * 55);
}

/// `--cluster 16`, float and int8: each layer's weights take at most 16 values (int8: 16
/// integers, the scales shared), stored as a codebook and 4-bit indices; `pruned_run` checks
/// that the generated code computes what the evaluator does with the shared weights.
fn check_clustered(model: &str, layers: usize) {
    for int8 in [false, true] {
        let (graph, accuracy) = pruned_run(model, &["--cluster", "16"], int8);
        let mut clustered = 0;
        for i in 0..graph.nodes.len() {
            let Some((weights, _)) = prunable_weights(&graph, i) else {
                continue;
            };
            let mut values = graph.constant(weights).unwrap().to_f64_vec();
            values.sort_by(f64::total_cmp);
            values.dedup();
            if !int8 {
                // Float values are shared per layer up to each channel's scale: count the
                // codebook itself.
                let Some(edgegen::ir::WeightStorage::Codebook { values: shared, .. }) =
                    &graph.tensor(weights).storage
                else {
                    panic!("{model}: layer {i} has no codebook")
                };
                assert!(shared.len() <= 16, "{model}: layer {i}");
            } else {
                // The integers are shared whatever the channel (per-channel scales apart).
                assert!(
                    values.len() <= 16,
                    "{model} int8: layer {i}: {}",
                    values.len()
                );
            }
            clustered += 1;
        }
        assert_eq!(clustered, layers, "{model} int8 {int8}");
        eprintln!(
            "{model} --cluster 16, int8 {int8}: accuracy {:.2} %",
            100.0 * accuracy
        );
    }
}

#[test]
fn digits_mlp_clustered() {
    check_clustered("digits_mlp", 3);
}

#[test]
fn digits_cnn_clustered() {
    check_clustered("digits_cnn", 4);
}

/// The static data of a build of the MLP (weights, biases, requantization scales), as the
/// report counts it.
fn mlp_weight_bytes(prune: Option<&str>, quantize: &str) -> usize {
    mlp_weight_bytes_with(prune, None, quantize)
}

fn mlp_weight_bytes_with(
    prune: Option<&str>,
    cluster: Option<&str>,
    quantize: &str,
) -> usize {
    let (_, _, calibration) = data("digits_mlp");
    let options = CompileOptions {
        passes: PassOptions {
            cluster: edgegen::options::cluster_settings(cluster, &[], Some(quantize))
                .unwrap(),
            prune: edgegen::options::prune_settings(prune, None, None).unwrap(),
            int8: edgegen::options::int8_settings(
                Some(quantize),
                (quantize == "int8").then_some(calibration.as_path()),
                None,
                false,
            )
            .unwrap(),
            ..Default::default()
        },
        ..Default::default()
    };
    let compiled = compile(&ptq_dir().join("digits_mlp.onnx"), &options);
    let program = edgegen::backend::lower::lower(&compiled.graph).unwrap();
    edgegen::report::totals(&compiled.graph, &program).weight_bytes
}

/// Issue 6's target: `--prune 0.8` stores the int8 MLP in at most 40 % of the dense int8
/// bytes. Measured: 2,906 bytes against 7,736 (37.6 %): the three weight matrices in runs
/// (1,310 entries with their fillers, 1,986 bytes against 6,464 dense) and what pruning
/// cannot shrink, 424 bytes of int32 biases and 424 of per-channel scales.
#[test]
fn digits_mlp_pruned_int8_weight_bytes() {
    let dense = mlp_weight_bytes(None, "int8");
    let pruned = mlp_weight_bytes(Some("0.8"), "int8");
    eprintln!(
        "digits_mlp int8: {pruned} bytes of weights pruned 0.8, {dense} dense ({:.1} %)",
        100.0 * pruned as f64 / dense as f64
    );
    assert!(pruned * 100 <= dense * 40, "{pruned} of {dense} bytes");
    // Float weights, sparse: values are four bytes, so the index costs relatively less.
    let float_dense = mlp_weight_bytes(None, "none");
    let float_pruned = mlp_weight_bytes(Some("0.8"), "none");
    eprintln!("digits_mlp float: {float_pruned} bytes pruned 0.8, {float_dense} dense");
    assert!(
        float_pruned * 100 <= float_dense * 25,
        "{float_pruned} of {float_dense}"
    );
}

/// Issue 6's target: `--cluster 16` stores the int8 MLP in at most 55 % of the dense int8
/// bytes. Measured: 3,715 bytes against 7,736 (48.0 %): 3,232 bytes of 4-bit indices, 47 of
/// codebooks, the 424 bytes of int32 biases and one scale per layer (the layers' channels are
/// alike, so each shares one codebook and one scale). Accuracy 97.25 % (float 97.50 %).
#[test]
fn digits_mlp_clustered_int8_weight_bytes() {
    let dense = mlp_weight_bytes(None, "int8");
    let clustered = mlp_weight_bytes_with(None, Some("16"), "int8");
    eprintln!(
        "digits_mlp int8: {clustered} bytes of weights clustered 16, {dense} dense ({:.1} %)",
        100.0 * clustered as f64 / dense as f64
    );
    assert!(
        clustered * 100 <= dense * 55,
        "{clustered} of {dense} bytes"
    );
    // Float: a quarter of the values' bytes and less (4-bit indices for 32-bit values).
    let float_dense = mlp_weight_bytes(None, "none");
    let float_clustered = mlp_weight_bytes_with(None, Some("16"), "none");
    assert!(
        float_clustered * 100 <= float_dense * 16,
        "{float_clustered} of {float_dense}"
    );
}

/// Issue 6's target: `--max-accuracy-drop 1.0` on the digits CNN finds per-layer pruning and
/// clustering within the budget that stores fewer bytes, and the options it prints rebuild it:
/// the generated code of the rebuilt model, run on the same 400 images, keeps the accuracy and
/// the bytes. Measured (float): 1,608 bytes against 4,776 (33.7 %), accuracy 96.25 % against
/// 96.75 %, in 121 compiles of which 68 ran on the data; with `--quantize int8`, 1,490 bytes
/// against 1,968 (75.6 %) at 96.25 % (`edgegen build --max-accuracy-drop`).
#[test]
fn accuracy_budget_search_on_the_cnn() {
    let (images, labels, _) = data("digits_cnn");
    let path = ptq_dir().join("digits_cnn.onnx");
    let options = CompileOptions::default();
    let graph = edgegen::frontend::load_model(&path, &options.import).unwrap();
    let input_shape = compile(&path, &options).graph;
    let input_shape = input_shape
        .tensor(input_shape.model_inputs()[0])
        .shape()
        .to_vec();
    let sample_len: usize = input_shape.iter().product();
    let samples = floats(&images.data)
        .chunks_exact(sample_len)
        .map(|s| vec![Value::new(input_shape.clone(), TensorData::F32(s.to_vec()))])
        .collect();
    let data = edgegen::search::Labelled {
        samples,
        labels: labels.clone(),
    };
    let outcome = edgegen::search::search(
        &graph,
        &options,
        &data,
        1.0,
        &edgegen::passes::Progress::default(),
    )
    .unwrap();
    let floor = outcome.float_accuracy - 0.01;
    eprintln!(
        "digits_cnn search: {} bytes against {}, accuracy {} (float {}), {} compiles, {} runs: \
         {:?}",
        outcome.bytes,
        outcome.start_bytes,
        outcome.accuracy,
        outcome.float_accuracy,
        outcome.compiles,
        outcome.runs,
        outcome.choice.flags()
    );
    assert!(
        outcome.accuracy >= floor,
        "{} below {floor}",
        outcome.accuracy
    );
    assert!(outcome.bytes < outcome.start_bytes);

    // The printed options, parsed as the command line parses them, rebuild the choice.
    let mut rebuilt = options.clone();
    for flag in outcome.choice.flags() {
        if let Some(value) = flag.strip_prefix("--prune-layer=") {
            let layer = edgegen::options::parse_prune_layer(value).unwrap();
            rebuilt.passes.prune_layers.push(layer);
        } else if let Some(value) = flag.strip_prefix("--cluster-layer=") {
            let layer = edgegen::options::parse_cluster_layer(value).unwrap();
            rebuilt.passes.cluster_layers.push(layer);
        } else {
            panic!("unexpected flag {flag}");
        }
    }
    let compiled = compile(&path, &rebuilt);
    let program = edgegen::backend::lower::lower(&compiled.graph).unwrap();
    let bytes = edgegen::report::totals(&compiled.graph, &program).weight_bytes;
    assert_eq!(bytes, outcome.bytes);
    let code = edgegen::backend::rust::emit(&compiled.graph).unwrap();
    let outputs = run_generated(
        &code,
        &compiled.graph,
        std::slice::from_ref(&images),
        images.shape[0],
    )
    .remove(0);
    let generated = accuracy(&outputs, &labels);
    assert!(
        generated >= floor,
        "generated code: {generated} below {floor}"
    );
    assert!(
        (generated - outcome.accuracy).abs() <= 1.0 / labels.len() as f64,
        "generated code {generated}, evaluator {}",
        outcome.accuracy
    );
}
