//! Magnitude pruning: `--prune FRACTION` sets that share of the weights of fully connected
//! layers and convolutions to zero, the smallest magnitudes first, and `--prune-mode 2:4` zeroes
//! the two smallest of every four consecutive weights along the input dimension (the N:M
//! pattern of sparse tensor cores). Without either option the pass changes nothing.
//!
//! ```text
//! fold_batch_norm → fuse_activation → remove_dead_nodes → prune → quantize → compress_weights
//!                                                         ▲ float weights, zeros exact
//! ```
//!
//! **What is pruned.** The constant weights (never the bias) of float `Gemm` (input B),
//! `MatMul` with a constant B, and `Conv` (NCHW and channels-last); a weight tensor that
//! something else also reads is left as it is, and so are integer weights (a model quantized
//! before it reached edgegen). Weights that are zero already stay zero and count as pruned.
//!
//! **Before quantization, not after.** `DESIGN.md` draws `quantize → prune`; this pass runs
//! first instead, for four reasons. Magnitudes are compared where they mean something: on the
//! float weights, where a weight of one layer and a weight of another are comparable (what
//! `--prune-scope global` needs), rather than on int8 integers whose per-channel scales differ
//! and whose rounding makes ties of distinct weights. Calibration then measures the activation
//! ranges of the network that will actually run, the pruned one, rather than of one that no
//! longer exists. The weight scales fit the surviving weights (4-bit weights choose theirs by
//! the squared error over the channel, which the zeros no longer pull). And a zero quantizes to
//! exactly 0, since weights are symmetric (zero point 0), so the int8 layer has precisely the
//! float layer's zeros. Pruning after `fold_batch_norm` matters too: the folded weights are the
//! ones that run.
//!
//! **Unstructured** (`--prune-mode unstructured`, the default): a layer of `n` weights gets
//! `round(FRACTION × n)` zeros (`f64::round`, halves away from zero), or, with `--prune-scope
//! global`, the layers together get `round(FRACTION × total)`, the smallest magnitudes over all
//! of them, so that layers of small weights lose more. The weights are ordered by magnitude,
//! ties by position (in the global scope, by layer in schedule order, then position), so the
//! count is exact and the choice does not depend on anything but the graph; weights already
//! zero come first. A layer with more zeros than that keeps them all.
//!
//! **2:4** (`--prune-mode 2:4`): in each group of four consecutive weights along the reduction
//! (input) axis of an output channel, the two smallest magnitudes become zero (ties: the first
//! in the group); a trailing group of `r < 4` keeps `ceil(r / 2)`. The reduction axis is the
//! one the layer's dot products run over, the axis sparse hardware compresses:
//!
//! | layer | weights | groups of four along |
//! |---|---|---|
//! | `Gemm` | `[K, N]` | `K` (axis 0), for each output column `n` |
//! | `Gemm` with `transB` | `[N, K]` | `K` (axis 1, contiguous), for each row `n` |
//! | `MatMul` | `[..., K, N]` | `K` (the second-to-last axis), for each batch and column |
//! | `Conv` (NCHW) | `[C_out, C_in/g, kh, kw]` | `C_in/g`, for each `(oc, kh, kw)` |
//! | `Conv` (channels-last) | `[C_out, kh, kw, C_in/g]` | `C_in/g` (contiguous), for each `(oc, kh, kw)` |
//!
//! A convolution's groups run along its input channels at each kernel position, not along the
//! flattened `C_in/g × kh × kw` row, as NVIDIA's sparsity tools do: the same weights are chosen
//! in both layouts, so a convolution that the quantize pass turns channels-last keeps groups of
//! four contiguous weights. A depthwise convolution (one input channel per group) has no groups
//! to prune and stays dense.
//!
//! The pass report (`--dump-after prune`) gives the zeros reached per layer and in total.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::ir::{DType, Graph, Op, TensorData, TensorId};
use crate::passes::{PassOptions, PassReport};
use crate::report::group_digits;

/// Whether `--prune FRACTION` counts each layer alone or all of them together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PruneScope {
    /// `--prune-scope layer` (the default): every layer loses the same share of its weights.
    #[default]
    Layer,
    /// `--prune-scope global`: the share is of all the weights, the smallest over all layers.
    Global,
}

impl PruneScope {
    /// The names `--prune-scope` takes, in the order of the help.
    pub const NAMES: &'static [&'static str] = &["layer", "global"];

    /// Parses `layer` or `global`.
    pub fn parse(text: &str) -> std::result::Result<PruneScope, String> {
        match text {
            "layer" => Ok(PruneScope::Layer),
            "global" => Ok(PruneScope::Global),
            _ => Err(format!(
                "'{text}' is not a pruning scope; the scopes are: {}",
                PruneScope::NAMES.join(", ")
            )),
        }
    }
}

/// What `--prune`, `--prune-mode` and `--prune-scope` ask for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PruneSettings {
    /// Magnitude pruning of a `fraction` of the weights, in `[0, 1)`.
    Unstructured { fraction: f64, scope: PruneScope },
    /// Two zeros in every four consecutive weights along the reduction axis.
    TwoOfFour,
    /// Whole output channels, a `fraction` of each layer's, removed with their readers' inputs
    /// ([`super::prune_channels`]).
    Channels { fraction: f64 },
}

/// A layer's weights seen as `[outer, reduction, inner]` (row-major): the dot products run
/// along `reduction`, once for each `(outer, inner)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReductionLayout {
    pub outer: usize,
    pub reduction: usize,
    pub inner: usize,
}

impl ReductionLayout {
    /// The flat index of element `r` of the reduction at `(o, i)`.
    fn index(&self, o: usize, r: usize, i: usize) -> usize {
        (o * self.reduction + r) * self.inner + i
    }
}

/// The constant weights of a prunable layer and how its reduction runs over them, or `None` for
/// a node that has no such weights.
pub fn prunable_weights(
    graph: &Graph,
    node_index: usize,
) -> Option<(TensorId, ReductionLayout)> {
    let node = &graph.nodes[node_index];
    let &weights = node.inputs.get(1)?;
    let tensor = graph.tensor(weights);
    if !tensor.is_constant() {
        return None;
    }
    let shape = tensor.shape.as_deref()?;
    let product = |dims: &[usize]| dims.iter().product::<usize>();
    let layout = match &node.op {
        Op::Gemm(a) => match (shape, a.trans_b) {
            (&[k, n], false) => ReductionLayout {
                outer: 1,
                reduction: k,
                inner: n,
            },
            (&[n, k], true) => ReductionLayout {
                outer: n,
                reduction: k,
                inner: 1,
            },
            _ => return None,
        },
        Op::MatMul => match shape {
            [] => return None,
            &[k] => ReductionLayout {
                outer: 1,
                reduction: k,
                inner: 1,
            },
            [batch @ .., k, n] => ReductionLayout {
                outer: product(batch),
                reduction: *k,
                inner: *n,
            },
        },
        Op::Conv(a) if shape.len() >= 2 => {
            if a.channels_last {
                let (c_in, rest) = shape.split_last()?;
                ReductionLayout {
                    outer: product(rest),
                    reduction: *c_in,
                    inner: 1,
                }
            } else {
                ReductionLayout {
                    outer: shape[0],
                    reduction: shape[1],
                    inner: product(&shape[2..]),
                }
            }
        }
        _ => return None,
    };
    Some((weights, layout))
}

/// A layer the pass prunes (or `cluster` clusters).
pub(super) struct Layer {
    pub(super) node: usize,
    pub(super) weights: TensorId,
    layout: ReductionLayout,
    /// `|w|` of every weight, in order.
    magnitudes: Vec<f64>,
    zeros_before: usize,
}

/// The layers with float weights read by nothing else, and a line for each layer left as it
/// is, saying why (`done` is what the pass does to weights: "pruned", "clustered").
pub(super) fn layers(graph: &Graph, done: &str) -> (Vec<Layer>, Vec<String>) {
    // How many times each tensor is read, so that weights shared with anything else stay.
    let mut uses: HashMap<TensorId, usize> = HashMap::new();
    for node in &graph.nodes {
        for &t in node.inputs.iter().chain(node.params.iter().flatten()) {
            *uses.entry(t).or_default() += 1;
        }
    }
    for &t in &graph.outputs {
        *uses.entry(t).or_default() += 1;
    }
    let mut layers = Vec::new();
    let mut left = Vec::new();
    for (index, node) in graph.nodes.iter().enumerate() {
        let Some((weights, layout)) = prunable_weights(graph, index) else {
            continue;
        };
        let tensor = graph.tensor(weights);
        let what = graph.describe_node(node);
        if !matches!(tensor.dtype, DType::F32 | DType::F64) {
            left.push(format!(
                "{what}: left as it is, its weights are {} (only float weights are {done})",
                tensor.dtype
            ));
            continue;
        }
        if uses.get(&weights).copied().unwrap_or(0) > 1 {
            left.push(format!(
                "{what}: left as it is, its weights '{}' are also read elsewhere",
                tensor.name
            ));
            continue;
        }
        let Some(data) = &tensor.data else { continue };
        let magnitudes: Vec<f64> = data.to_f64_vec().iter().map(|w| w.abs()).collect();
        if magnitudes.len() != layout.outer * layout.reduction * layout.inner {
            continue;
        }
        let zeros_before = magnitudes.iter().filter(|&&m| m == 0.0).count();
        layers.push(Layer {
            node: index,
            weights,
            layout,
            magnitudes,
            zeros_before,
        });
    }
    (layers, left)
}

/// Orders weights by magnitude, ties by position; NaN (whose magnitude `total_cmp` puts above
/// infinity) comes last.
fn by_magnitude(a: (f64, usize), b: (f64, usize)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// The positions of the `count` smallest magnitudes, ties broken by position.
fn smallest(magnitudes: &[f64], count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..magnitudes.len()).collect();
    if count == 0 {
        return Vec::new();
    }
    if count < order.len() {
        // Keys are distinct (the position breaks ties), so the split is the same whatever
        // the selection algorithm does.
        order.select_nth_unstable_by(count - 1, |&a, &b| {
            by_magnitude((magnitudes[a], a), (magnitudes[b], b))
        });
        order.truncate(count);
    }
    order
}

/// `round(fraction × n)`, halves away from zero, at most `n`.
fn share(fraction: f64, n: usize) -> usize {
    ((fraction * n as f64).round() as usize).min(n)
}

/// The positions that 2:4 sets to zero: the `floor(r / 2)` smallest of every group of `r ≤ 4`
/// consecutive weights along the reduction axis (two of a whole group).
fn two_of_four(magnitudes: &[f64], layout: ReductionLayout) -> Vec<usize> {
    let mut zeroed = Vec::new();
    for o in 0..layout.outer {
        for i in 0..layout.inner {
            for start in (0..layout.reduction).step_by(4) {
                let len = (layout.reduction - start).min(4);
                let mut group: Vec<usize> = (start..start + len)
                    .map(|r| layout.index(o, r, i))
                    .collect();
                group
                    .sort_by(|&a, &b| by_magnitude((magnitudes[a], a), (magnitudes[b], b)));
                zeroed.extend_from_slice(&group[..len / 2]);
            }
        }
    }
    zeroed
}

/// `part` of `whole` as a percentage with one decimal.
fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "0.0 %".to_string()
    } else {
        format!("{:.1} %", 100.0 * part as f64 / whole as f64)
    }
}

/// The names of the layers pruning and clustering take in `graph`, with their number of
/// weights, in schedule order.
pub fn layer_names(graph: &Graph) -> Vec<(String, usize)> {
    layers(graph, "pruned")
        .0
        .iter()
        .map(|l| (graph.nodes[l.node].name.clone(), l.magnitudes.len()))
        .collect()
}

/// Fails unless every name of `named` (given with `flag`) is a layer of `layers`.
pub(super) fn check_layer_names<T>(
    graph: &Graph,
    layers: &[Layer],
    named: &[(String, T)],
    flag: &str,
) -> Result<()> {
    let known: Vec<&str> = layers
        .iter()
        .map(|l| graph.nodes[l.node].name.as_str())
        .collect();
    let unknown: Vec<&str> = named
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !known.contains(n))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::invalid_argument(format!(
        "{flag}: no layer named {}; the layers are {}",
        unknown
            .iter()
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", "),
        if known.is_empty() {
            "none: the model has no float fully connected layer or convolution".to_string()
        } else {
            known
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    )))
}

/// The pass: prunes the weights of every layer as `options.prune` and `options.prune_layers`
/// ask.
pub fn prune(graph: &mut Graph, options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("prune");
    let by_name = &options.prune_layers;
    let settings = match (options.prune, by_name.is_empty()) {
        (None, true) => return Ok(report),
        (None, false) => PruneSettings::Unstructured {
            fraction: 0.0,
            scope: PruneScope::Layer,
        },
        (Some(settings), true) => settings,
        (
            Some(
                settings @ PruneSettings::Unstructured {
                    scope: PruneScope::Layer,
                    ..
                },
            ),
            false,
        ) => settings,
        (Some(_), false) => {
            return Err(Error::invalid_argument(
                "--prune-layer gives a layer its own share of unstructured pruning by layer; it \
                 cannot be combined with --prune-mode 2:4 or channels or --prune-scope global",
            ));
        }
    };
    if let PruneSettings::Channels { fraction } = settings {
        let (pruned, lines) = super::prune_channels::prune_channels(graph, fraction);
        report.changes = pruned;
        report.details.push(format!(
            "channels, {fraction} of each layer's output channels: {pruned} layer{} pruned",
            if pruned == 1 { "" } else { "s" }
        ));
        report.details.extend(lines);
        return Ok(report);
    }
    let (layers, left) = layers(graph, "pruned");
    check_layer_names(graph, &layers, by_name, "--prune-layer")?;
    // For each layer, the positions of its weights that become zero.
    let zeroed: Vec<Vec<usize>> = match settings {
        PruneSettings::Unstructured {
            fraction,
            scope: PruneScope::Layer,
        } => layers
            .iter()
            .map(|l| {
                let name = &graph.nodes[l.node].name;
                let fraction = by_name
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map_or(fraction, |(_, f)| *f);
                smallest(&l.magnitudes, share(fraction, l.magnitudes.len()))
            })
            .collect(),
        PruneSettings::Unstructured {
            fraction,
            scope: PruneScope::Global,
        } => {
            // One ranking over every weight: (layer, position) pairs, ties by layer then position.
            let all: Vec<(usize, usize)> = layers
                .iter()
                .enumerate()
                .flat_map(|(k, l)| (0..l.magnitudes.len()).map(move |p| (k, p)))
                .collect();
            let count = share(fraction, all.len());
            let magnitude = |&(k, p): &(usize, usize)| layers[k].magnitudes[p];
            let mut order = all;
            if count > 0 && count < order.len() {
                order.select_nth_unstable_by(count - 1, |a, b| {
                    magnitude(a).total_cmp(&magnitude(b)).then(a.cmp(b))
                });
            }
            order.truncate(count);
            let mut zeroed = vec![Vec::new(); layers.len()];
            for (k, p) in order {
                zeroed[k].push(p);
            }
            zeroed
        }
        PruneSettings::TwoOfFour => layers
            .iter()
            .map(|l| two_of_four(&l.magnitudes, l.layout))
            .collect(),
        PruneSettings::Channels { .. } => unreachable!("handled above"),
    };

    let (mut total, mut total_zeros, mut total_before) = (0, 0, 0);
    let mut lines = Vec::new();
    for (layer, positions) in layers.iter().zip(&zeroed) {
        let tensor = graph.tensor_mut(layer.weights);
        match tensor.data.as_mut() {
            Some(TensorData::F32(w)) => positions.iter().for_each(|&p| w[p] = 0.0),
            Some(TensorData::F64(w)) => positions.iter().for_each(|&p| w[p] = 0.0),
            _ => {}
        }
        let n = layer.magnitudes.len();
        let zeros = layer.zeros_before
            + positions
                .iter()
                .filter(|&&p| layer.magnitudes[p] != 0.0)
                .count();
        total += n;
        total_zeros += zeros;
        total_before += layer.zeros_before;
        if zeros > layer.zeros_before {
            report.changes += 1;
        }
        let node = &graph.nodes[layer.node];
        let tensor = graph.tensor(layer.weights);
        let mut line = format!(
            "{} {} {}: {} of {} weights zero ({})",
            graph.describe_node(node),
            tensor.dtype,
            crate::ir::format_shape(tensor.shape()),
            group_digits(zeros as u64),
            group_digits(n as u64),
            percent(zeros, n)
        );
        if layer.zeros_before > 0 {
            line += &format!(", {} before", group_digits(layer.zeros_before as u64));
        }
        if settings == PruneSettings::TwoOfFour && layer.layout.reduction < 2 {
            line += ", one input channel per group: no group of weights to prune";
        }
        lines.push(line);
    }
    let how = match settings {
        PruneSettings::Unstructured {
            fraction,
            scope: PruneScope::Layer,
        } if !by_name.is_empty() => format!(
            "unstructured, {fraction} of each layer's weights except {}",
            by_name
                .iter()
                .map(|(n, f)| format!("{f} of '{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        PruneSettings::Unstructured {
            fraction,
            scope: PruneScope::Layer,
        } => format!("unstructured, {fraction} of each layer's weights"),
        PruneSettings::Unstructured {
            fraction,
            scope: PruneScope::Global,
        } => format!("unstructured, {fraction} of all the layers' weights together"),
        PruneSettings::TwoOfFour => {
            "2:4, two of every four weights along the input dimension".to_string()
        }
        PruneSettings::Channels { .. } => unreachable!("handled above"),
    };
    report.details.push(format!(
        "{how}: {} of {} weights zero ({}; {} zero before) in {} layer{}",
        group_digits(total_zeros as u64),
        group_digits(total as u64),
        percent(total_zeros, total),
        group_digits(total_before as u64),
        layers.len(),
        if layers.len() == 1 { "" } else { "s" }
    ));
    report.details.extend(lines);
    report.details.extend(left);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn layout(outer: usize, reduction: usize, inner: usize) -> ReductionLayout {
        ReductionLayout {
            outer,
            reduction,
            inner,
        }
    }

    #[test]
    fn ties_go_to_the_first_position_and_zeros_come_first() {
        let magnitudes = [1.0, 1.0, 0.5, 1.0, 0.0, 1.0];
        assert_eq!(smallest(&magnitudes, 0), Vec::<usize>::new());
        let mut chosen = smallest(&magnitudes, 3);
        chosen.sort();
        assert_eq!(chosen, [0, 2, 4]);
        let mut chosen = smallest(&magnitudes, 4);
        chosen.sort();
        assert_eq!(chosen, [0, 1, 2, 4]);
        assert_eq!(smallest(&magnitudes, 6).len(), 6);
    }

    #[test]
    fn shares_round_halves_away_from_zero() {
        assert_eq!(share(0.5, 5), 3);
        assert_eq!(share(0.8, 8192), 6554);
        assert_eq!(share(0.0, 10), 0);
        assert_eq!(share(0.999_999, 3), 3);
    }

    #[test]
    fn partial_groups_keep_half_rounded_up() {
        // One row of seven: a group of four (two zeros) and one of three (one zero).
        let magnitudes = [4.0, 3.0, 2.0, 1.0, 1.0, 5.0, 1.0];
        let mut chosen = two_of_four(&magnitudes, layout(1, 7, 1));
        chosen.sort();
        assert_eq!(chosen, [2, 3, 4]);
        // Groups of one and two.
        assert_eq!(two_of_four(&[1.0], layout(1, 1, 1)), Vec::<usize>::new());
        assert_eq!(two_of_four(&[2.0, 1.0], layout(1, 2, 1)), [1]);
    }

    #[test]
    fn groups_run_along_the_reduction_axis() {
        // [K = 4, N = 2]: column 0 is 1, 2, 3, 4 and column 1 is 4, 3, 2, 1.
        let magnitudes = [1.0, 4.0, 2.0, 3.0, 3.0, 2.0, 4.0, 1.0];
        let mut chosen = two_of_four(&magnitudes, layout(1, 4, 2));
        chosen.sort();
        assert_eq!(chosen, [0, 2, 5, 7]);
    }

    fn pruned(text: &str, settings: Option<PruneSettings>) -> (Graph, PassReport) {
        let mut graph = crate::ir::text::parse(text).unwrap();
        crate::passes::shape_inference::infer_shapes(&mut graph, &PassOptions::default())
            .unwrap();
        let options = PassOptions {
            prune: settings,
            ..PassOptions::default()
        };
        let report = prune(&mut graph, &options).unwrap();
        (graph, report)
    }

    fn weights(graph: &Graph, name: &str) -> Vec<f32> {
        let tensor = graph.tensors.iter().find(|t| t.name == name).unwrap();
        tensor.data.as_ref().unwrap().as_f32().unwrap().to_vec()
    }

    const CONVOLUTIONS: &str = r#"graph "conv" {
  input %x: f32[1, 8, 3, 3]
  input %x_nhwc: f32[1, 3, 3, 8]
  const %w: f32[2, 8, 2, 1] = [3.1, -7.6, -7.0, -1.7, -4.8, -7.8, -6.1, 8.1, -7.5, 0.9, 9.4, 0.2, -9.3, 3.4, -7.1, -3.0, -2.5, -8.7, -9.7, -8.5, -8.2, 5.1, -2.0, 8.4, -7.7, 6.7, -5.0, 8.8, 9.0, -2.1, -0.6, 3.9]
  const %w_nhwc: f32[2, 2, 1, 8] = [3.1, -7.0, -4.8, -6.1, -7.5, 9.4, -9.3, -7.1, -7.6, -1.7, -7.8, 8.1, 0.9, 0.2, 3.4, -3.0, -2.5, -9.7, -8.2, -2.0, -7.7, -5.0, 9.0, -0.6, -8.7, -8.5, 5.1, 8.4, 6.7, 8.8, -2.1, 3.9]
  const %b: f32[2] = [0.0, 0.5]
  %y: f32[?] = Conv(%x, %w, %b) @nchw
  %z: f32[?] = Conv(%x_nhwc, %w_nhwc, %b) {channels_last=true} @nhwc
  output %y, %z
}
"#;

    /// `[C_out, C_in, kh, kw]` to `[C_out, kh, kw, C_in]`.
    fn to_channels_last(w: &[f32], c_out: usize, c_in: usize, k: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for oc in 0..c_out {
            for p in 0..k {
                for ci in 0..c_in {
                    out.push(w[(oc * c_in + ci) * k + p]);
                }
            }
        }
        out
    }

    /// The two layouts of one convolution lose the same weights, in 2:4 and unstructured alike
    /// (with distinct magnitudes: ties go by position in the stored tensor, which differs), and
    /// the shared bias is untouched.
    #[test]
    fn convolutions_prune_alike_in_both_layouts() {
        let (original, _) = pruned(CONVOLUTIONS, None);
        assert_eq!(
            to_channels_last(&weights(&original, "w"), 2, 8, 2),
            weights(&original, "w_nhwc")
        );
        for settings in [
            PruneSettings::TwoOfFour,
            PruneSettings::Unstructured {
                fraction: 0.6,
                scope: PruneScope::Layer,
            },
        ] {
            let (graph, report) = pruned(CONVOLUTIONS, Some(settings));
            let nchw = weights(&graph, "w");
            assert_eq!(
                to_channels_last(&nchw, 2, 8, 2),
                weights(&graph, "w_nhwc"),
                "{settings:?}"
            );
            let zeros = nchw.iter().filter(|&&w| w == 0.0).count();
            let expected = if settings == PruneSettings::TwoOfFour {
                16
            } else {
                19
            };
            assert_eq!(zeros, expected, "{settings:?}");
            assert_eq!(weights(&graph, "b"), [0.0, 0.5]);
            assert_eq!(report.changes, 2);
        }
    }

    #[test]
    fn without_settings_nothing_changes() {
        let (original, _) = pruned(CONVOLUTIONS, None);
        let (graph, report) = pruned(CONVOLUTIONS, None);
        assert_eq!(graph, original);
        assert_eq!(report.changes, 0);
        assert!(report.details.is_empty());
    }

    /// Weights another node also reads stay whole, and integer weights are not pruned.
    #[test]
    fn shared_and_integer_weights_are_left_alone() {
        let text = r#"graph "shared" {
  input %x: f32[1, 2]
  const %w: f32[2, 2] = [1.0, 2.0, 3.0, 4.0]
  %h: f32[?] = MatMul(%x, %w) @first
  %y: f32[?] = MatMul(%h, %w) @second
  output %y
}
"#;
        let settings = PruneSettings::Unstructured {
            fraction: 0.5,
            scope: PruneScope::Layer,
        };
        let (graph, report) = pruned(text, Some(settings));
        assert_eq!(weights(&graph, "w"), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(report.changes, 0);
        assert!(
            report
                .details
                .iter()
                .any(|d| d.contains("also read elsewhere"))
        );

        let text = r#"graph "int8" {
  input %x: i8[1, 2] quant(0.5, 0)
  const %w: i8[2, 2] quant(0.25, 0) = [1, -2, 3, -4]
  %y: i8[?] quant(0.75, 0) = Gemm(%x, %w) {trans_b=true} @fc
  output %y
}
"#;
        let (graph, report) = pruned(text, Some(settings));
        let w = graph.tensors.iter().find(|t| t.name == "w").unwrap();
        assert_eq!(w.data, Some(TensorData::I8(vec![1, -2, 3, -4])));
        assert!(
            report.details.iter().any(|d| d.contains("weights are i8")),
            "{:?}",
            report.details
        );
    }

    proptest! {
        /// Exactly `round(f · n)` zeros (or the zeros there were, if more), and no kept weight
        /// smaller than a pruned one.
        #[test]
        fn unstructured_prunes_the_smallest(
            weights in proptest::collection::vec(-4i32..=4, 1..60),
            fraction in 0.0f64..1.0,
        ) {
            let magnitudes: Vec<f64> = weights.iter().map(|&w| (w as f64).abs()).collect();
            let count = share(fraction, magnitudes.len());
            let chosen = smallest(&magnitudes, count);
            prop_assert_eq!(chosen.len(), count);
            let zeros_before = magnitudes.iter().filter(|&&m| m == 0.0).count();
            let zeros_after = (0..magnitudes.len())
                .filter(|p| magnitudes[*p] == 0.0 || chosen.contains(p))
                .count();
            prop_assert_eq!(zeros_after, count.max(zeros_before));
            let largest_pruned = chosen.iter().map(|&p| magnitudes[p]).fold(0.0, f64::max);
            for p in (0..magnitudes.len()).filter(|p| !chosen.contains(p)) {
                prop_assert!(magnitudes[p] >= largest_pruned);
            }
        }

        /// Every group of four has at least two zeros, and what is kept in a group is never
        /// smaller than what is pruned.
        #[test]
        fn two_of_four_keeps_the_two_largest_of_each_group(
            outer in 1usize..4,
            reduction in 1usize..11,
            inner in 1usize..4,
            seed in any::<u64>(),
        ) {
            let l = layout(outer, reduction, inner);
            let mut state = seed;
            let magnitudes: Vec<f64> = (0..outer * reduction * inner)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((state >> 60) % 5) as f64
                })
                .collect();
            let chosen = two_of_four(&magnitudes, l);
            for o in 0..outer {
                for i in 0..inner {
                    for start in (0..reduction).step_by(4) {
                        let group: Vec<usize> =
                            (start..(start + 4).min(reduction)).map(|r| l.index(o, r, i)).collect();
                        let pruned: Vec<usize> =
                            group.iter().copied().filter(|p| chosen.contains(p)).collect();
                        prop_assert_eq!(pruned.len(), group.len() / 2);
                        for &kept in group.iter().filter(|p| !chosen.contains(p)) {
                            for &p in &pruned {
                                prop_assert!(magnitudes[kept] >= magnitudes[p]);
                            }
                        }
                    }
                }
            }
        }
    }
}
