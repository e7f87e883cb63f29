//! `--unroll` on the digits MLP of `fixtures/ptq/`: pruned (`--prune 0.8`) and unrolled, in
//! int8 and in float, the generated code runs on the 400 test images and must give what the
//! reference evaluator gives (exactly for int8, within float rounding for float); it must have
//! one term per non-zero weight and none for a zero weight, hold no static data for the
//! unrolled weights, and the report must say the layers are unrolled. `--unroll auto` must
//! unroll the small layers only.

mod common;

use common::*;
use edgegen::CompileOptions;
use edgegen::ir::{Graph, TensorData, Unroll};
use edgegen::passes::PassOptions;
use edgegen::passes::prune::prunable_weights;

fn ptq_dir() -> std::path::PathBuf {
    fixtures().join("ptq")
}

/// The options of the digits MLP build: `--prune` when given, `--quantize int8` (calibrated on
/// the fixture's samples) when `int8`, and `--unroll`.
fn options(prune: Option<&str>, int8: bool, unroll: Unroll) -> CompileOptions {
    let calibration = ptq_dir().join("data/calibration_flat.npy");
    CompileOptions {
        passes: PassOptions {
            prune: edgegen::options::prune_settings(prune, None, None).unwrap(),
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
        unroll,
        ..Default::default()
    }
}

/// The non-zero weights of each fully connected layer (`nodes[i].inputs[1]`), by node index
/// (int8 weights are symmetric: their zero point is 0).
fn nonzero_weights(graph: &Graph) -> Vec<(usize, usize, usize)> {
    (0..graph.nodes.len())
        .filter_map(|i| {
            let (weights, _) = prunable_weights(graph, i)?;
            let values = graph.constant(weights)?.to_f64_vec();
            let nonzero = values.iter().filter(|&&w| w != 0.0).count();
            Some((i, nonzero, values.len()))
        })
        .collect()
}

/// The text of the layer function `fn layer_NNN_…` of node `i` with its doc comment.
fn layer_function(code: &str, i: usize) -> &str {
    let start = code
        .find(&format!("\n/// Layer {i}: "))
        .unwrap_or_else(|| panic!("no function of layer {i}"));
    let end = code[start + 1..]
        .find("\n}\n")
        .map_or(code.len(), |e| start + 1 + e + 3);
    &code[start..end]
}

fn unrolled_run(int8: bool) {
    let what = format!("digits_mlp --prune 0.8 --unroll full, int8 {int8}");
    let compiled = compile(
        &ptq_dir().join("digits_mlp.onnx"),
        &options(Some("0.8"), int8, Unroll::Full),
    );
    let graph = compiled.graph;
    let code = edgegen::backend::rust::emit(&graph).unwrap_or_else(|e| panic!("{e}"));
    let name = format!("digits_mlp_unrolled_int8_{int8}");
    check_rustfmt(&name, &code);
    check_no_std(&name, &code);

    let images = read_npy(&ptq_dir().join("data/test_flat.npy"));
    assert_eq!(images.shape[0], 400);
    generated_matches_evaluator(&what, &code, &graph, &images, int8);

    // One term per non-zero weight, in the function of its layer, and none for a zero weight;
    // no static data holds the weights; the report says `unrolled` and counts the terms as
    // the multiply-accumulates executed.
    let program = edgegen::backend::lower::lower(&graph).unwrap();
    let report = edgegen::report::build(&graph, &program);
    let layers = nonzero_weights(&graph);
    assert_eq!(layers.len(), 3, "{what}");
    for &(i, nonzero, weights) in &layers {
        assert!(nonzero * 4 < weights, "{what}: layer {i} is not pruned");
        let function = layer_function(&code, i);
        let terms = function
            .lines()
            .filter(|l| {
                let l = l.trim_start();
                l.starts_with("acc += row[") || l.starts_with("acc -= row[")
            })
            .count();
        assert_eq!(terms, nonzero, "{what}: terms of layer {i}");
        let comment = format!(
            "unrolled, {} of {} weights non-zero",
            edgegen::report::group_digits(nonzero as u64),
            edgegen::report::group_digits(weights as u64)
        );
        assert!(function.contains(&comment), "{what}: layer {i}'s comment");
        let kernel = if int8 {
            "kernels::int8::fully_connected_by("
        } else {
            "kernels::gemm::gemm_by_rows("
        };
        assert!(
            function.contains(kernel),
            "{what}: layer {i} calls no {kernel}"
        );
        let row = &report.layers[i];
        assert_eq!(row.weight_format, "unrolled", "{what}: layer {i}");
        assert_eq!(row.macs_executed, nonzero as u64, "{what}: layer {i}");
        let weight_statics: Vec<&str> = program
            .statics
            .iter()
            .filter(|s| s.node == Some(i))
            .map(|s| s.name.as_str())
            .filter(|n| !n.ends_with("_BIAS") && !n.ends_with("_WEIGHT_SCALES"))
            .collect();
        assert!(
            weight_statics.is_empty(),
            "{what}: layer {i} keeps {weight_statics:?}"
        );
        // What the layer still stores: its bias (int8: and its weights' scales).
        let bias = graph.tensor(graph.nodes[i].inputs[2]);
        assert!(
            row.weight_bytes
                <= bias.size_bytes() + 4 * graph.tensor(graph.nodes[i].outputs[0]).len(),
            "{what}: layer {i} stores {} bytes",
            row.weight_bytes
        );
    }
    eprintln!(
        "{what}: {} bytes of weights left, {} bytes of source",
        report.totals.weight_bytes,
        code.len()
    );
}

#[test]
fn digits_mlp_pruned_unrolled_int8() {
    unrolled_run(true);
}

#[test]
fn digits_mlp_pruned_unrolled_float() {
    unrolled_run(false);
}

/// `--unroll auto` unrolls the layers of at most 1,024 non-zero weights: of the unpruned
/// float MLP (4,096, 2,048 and 320 weights) only the last; of the pruned one, all three. The
/// same build without `--unroll` has no unrolled layer.
#[test]
fn auto_unrolls_the_small_layers() {
    let formats = |prune: Option<&str>, unroll: Unroll| -> Vec<String> {
        let compiled = compile(
            &ptq_dir().join("digits_mlp.onnx"),
            &options(prune, false, unroll),
        );
        let program = edgegen::backend::lower::lower(&compiled.graph).unwrap();
        let report = edgegen::report::build(&compiled.graph, &program);
        report
            .layers
            .iter()
            .filter(|r| r.op == "Gemm")
            .map(|r| r.weight_format.clone())
            .collect()
    };
    assert_eq!(
        formats(None, Unroll::Auto),
        ["dense", "dense", "unrolled"],
        "unpruned"
    );
    assert_eq!(
        formats(Some("0.8"), Unroll::Auto),
        ["unrolled", "unrolled", "unrolled"],
        "pruned"
    );
    assert_eq!(formats(None, Unroll::None), ["dense", "dense", "dense"]);
}

/// The weights' zeros have no term even where a whole output has none: an MLP whose first
/// layer's output 0 reads only zero weights still gives the evaluator's outputs.
#[test]
fn an_output_of_zero_weights_is_its_bias() {
    let mut graph = edgegen::frontend::load_model(
        &ptq_dir().join("digits_mlp.onnx"),
        &Default::default(),
    )
    .unwrap();
    let (weights, _) = (0..graph.nodes.len())
        .find_map(|i| prunable_weights(&graph, i))
        .expect("a fully connected layer");
    let tensor = graph.tensor(weights);
    let shape = tensor.shape().to_vec();
    let Some(TensorData::F32(values)) = &mut graph.tensors[weights.0].data else {
        panic!("float weights");
    };
    // Whichever axis is the outputs', zero the weights of output 0 and of input 0.
    for (q, v) in values.iter_mut().enumerate() {
        if q / shape[1] == 0 || q % shape[1] == 0 {
            *v = 0.0;
        }
    }
    let options = options(None, false, Unroll::Full);
    let compiled = edgegen::compile_graph(graph, &options, &mut |_, _| {}).unwrap();
    let code = edgegen::backend::rust::emit(&compiled.graph).unwrap();
    let images = read_npy(&ptq_dir().join("data/test_flat.npy"));
    generated_matches_evaluator(
        "an output of zero weights",
        &code,
        &compiled.graph,
        &images,
        false,
    );
}
