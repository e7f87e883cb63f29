//! Structured pruning (`--prune-mode channels --prune FRACTION`): removes whole output channels
//! of fully connected layers and convolutions, those of smallest L1 norm, and the matching
//! input channels of the layers that read them. Unlike zeroed weights, removed channels make
//! the model itself smaller: the shapes shrink, and with them the MACs, the weights and the
//! arena, whatever the back end does with zeros.
//!
//! A layer's output channels can go only if every reader of them can lose the same channels.
//! From each candidate (a float `Gemm` with constant weights, or a float NCHW `Conv` of one
//! group) the pass follows the output through the ops that keep channels apart — element-wise
//! activations, pooling, depthwise convolutions (whose channels go too), and the `Squeeze` or
//! `Flatten` of a `[N, C, 1, 1]` tensor — to the layers that consume them: `Gemm` (input
//! features) and `Conv` of one group (input channels). If the channels reach anything else (a
//! graph output, an `Add` of a residual connection, a `Concat`, a reshape that mixes them with
//! other axes, a weight shared with another layer), the layer keeps all its channels: the pass
//! never changes what the model computes on the channels that remain, and the pass report
//! names each layer it left and why.
//!
//! Every channel axis on the path is axis 1 (`[N, C]` and `[N, C, H, W]`), which is where
//! shape inference put it; the pass rewrites the constants and the shapes of the tensors on
//! the path, and a depthwise convolution's `group`.

use std::collections::HashMap;

use crate::ir::{DType, Graph, Op, TensorData, TensorId};
use crate::report::group_digits;

/// What prunes a candidate layer's channels besides its own weights.
struct Path {
    /// Tensors whose axis 1 holds the channels: the layer's output and those derived from it.
    tensors: Vec<TensorId>,
    /// Depthwise convolutions on the path: `(node, weights, bias)`.
    depthwise: Vec<(usize, TensorId, Option<TensorId>)>,
    /// Readers of the channels: `(node, weights, axis of the weights that runs over them)`.
    readers: Vec<(usize, TensorId, usize)>,
}

/// Prunes `fraction` of the output channels of every layer whose channels can go; returns the
/// number of layers pruned and a line per candidate layer for the pass report.
pub fn prune_channels(graph: &mut Graph, fraction: f64) -> (usize, Vec<String>) {
    let consumers = graph.consumers();
    let mut uses: HashMap<TensorId, usize> = HashMap::new();
    for node in &graph.nodes {
        for &t in node.inputs.iter().chain(node.params.iter().flatten()) {
            *uses.entry(t).or_default() += 1;
        }
    }
    let mut pruned = 0;
    let mut lines = Vec::new();
    for index in 0..graph.nodes.len() {
        let Some((weights, bias, axis)) = candidate(graph, index, &uses) else {
            continue;
        };
        let what = graph.describe_node(&graph.nodes[index]);
        let channels = graph.tensor(weights).shape()[axis];
        let path = match follow(graph, &consumers, &uses, graph.nodes[index].outputs[0]) {
            Ok(path) => path,
            Err(why) => {
                lines.push(format!("{what}: keeps its {channels} channels, {why}"));
                continue;
            }
        };
        let remove = ((fraction * channels as f64).round() as usize).min(channels - 1);
        if remove == 0 {
            continue;
        }
        let norms = channel_norms(graph, weights, axis);
        let mut order: Vec<usize> = (0..channels).collect();
        order.sort_by(|&a, &b| norms[a].total_cmp(&norms[b]).then(a.cmp(&b)));
        let mut keep: Vec<usize> = order[remove..].to_vec();
        keep.sort_unstable();

        select(graph, weights, axis, &keep);
        if let Some(b) = bias {
            select(graph, b, 0, &keep);
        }
        for &(node, w, b) in &path.depthwise {
            select(graph, w, 0, &keep);
            if let Some(b) = b {
                select(graph, b, 0, &keep);
            }
            if let Op::Conv(a) = &mut graph.nodes[node].op {
                a.group = keep.len();
            }
        }
        for &(_, w, axis) in &path.readers {
            select(graph, w, axis, &keep);
        }
        for &t in &path.tensors {
            if let Some(shape) = graph.tensor_mut(t).shape.as_mut() {
                shape[1] = keep.len();
            }
        }
        let readers: Vec<String> = path
            .readers
            .iter()
            .map(|&(node, _, _)| graph.describe_node(&graph.nodes[node]))
            .collect();
        lines.push(format!(
            "{what}: {} of {} channels kept (the smallest L1 norms removed), read by {}",
            group_digits(keep.len() as u64),
            group_digits(channels as u64),
            readers.join(", ")
        ));
        pruned += 1;
    }
    (pruned, lines)
}

/// A layer whose output channels the pass may remove: its weights, its bias and the axis of
/// the weights that runs over its output channels.
fn candidate(
    graph: &Graph,
    index: usize,
    uses: &HashMap<TensorId, usize>,
) -> Option<(TensorId, Option<TensorId>, usize)> {
    let node = &graph.nodes[index];
    let float = |t: TensorId| graph.tensor(t).dtype == DType::F32;
    let owned = |t: TensorId| {
        graph.tensor(t).is_constant() && float(t) && uses.get(&t).copied() == Some(1)
    };
    let (&x, &w) = (node.inputs.first()?, node.inputs.get(1)?);
    if !float(x) || !owned(w) || node.outputs.len() != 1 {
        return None;
    }
    let bias = node.inputs.get(2).copied();
    let axis =
        match &node.op {
            Op::Gemm(a) if !a.trans_a && graph.tensor(w).shape().len() == 2 => {
                if a.trans_b { 0 } else { 1 }
            }
            Op::Conv(a) if !a.channels_last && a.group == 1 => 0,
            _ => return None,
        };
    let channels = graph.tensor(w).shape()[axis];
    // The bias must be one value per output channel (a Gemm's C may broadcast otherwise).
    if let Some(b) = bias
        && !(owned(b)
            && graph.tensor(b).len() == channels
            && graph.tensor(b).shape().len() == 1)
    {
        return None;
    }
    (channels > 1).then_some((w, bias, axis))
}

/// Follows the channels of `start` to the layers that read them; an error says where they
/// went instead.
fn follow(
    graph: &Graph,
    consumers: &HashMap<TensorId, Vec<usize>>,
    uses: &HashMap<TensorId, usize>,
    start: TensorId,
) -> Result<Path, String> {
    let mut path = Path {
        tensors: Vec::new(),
        depthwise: Vec::new(),
        readers: Vec::new(),
    };
    let mut frontier = vec![start];
    while let Some(t) = frontier.pop() {
        if path.tensors.contains(&t) {
            continue;
        }
        path.tensors.push(t);
        if graph.outputs.contains(&t) {
            return Err("its channels are a graph output".into());
        }
        if graph.tensor(t).shape().len() < 2 {
            return Err("its channels are not on axis 1".into());
        }
        for &c in consumers.get(&t).map(Vec::as_slice).unwrap_or(&[]) {
            let node = &graph.nodes[c];
            let what = graph.describe_node(node);
            if node.inputs.first() != Some(&t) || node.inputs[1..].contains(&t) {
                return Err(format!("{what} reads its channels other than as its input"));
            }
            let owned_constant = |i: usize| {
                node.inputs.get(i).is_some_and(|&w| {
                    graph.tensor(w).is_constant()
                        && graph.tensor(w).dtype == DType::F32
                        && uses.get(&w).copied() == Some(1)
                })
            };
            let y = node.outputs[0];
            let flattens_only_channels = || {
                let (x, y) = (graph.tensor(t).shape(), graph.tensor(y).shape());
                y.len() == 2 && x[2..].iter().all(|&d| d == 1) && y[1] == x[1]
            };
            match &node.op {
                Op::Relu
                | Op::Clip(_)
                | Op::LeakyRelu(_)
                | Op::Sigmoid
                | Op::Tanh
                | Op::HardSwish
                | Op::Copy
                | Op::GlobalAveragePool
                | Op::GlobalMaxPool
                    if node.outputs.len() == 1 =>
                {
                    frontier.push(y)
                }
                Op::MaxPool(a) if !a.channels_last && node.outputs.len() == 1 => {
                    frontier.push(y)
                }
                Op::AveragePool(a) if !a.channels_last => frontier.push(y),
                Op::Squeeze(_) | Op::Flatten(_) if flattens_only_channels() => {
                    frontier.push(y)
                }
                Op::Conv(a)
                    if !a.channels_last
                        && a.group > 1
                        && a.group == graph.tensor(t).shape()[1]
                        && a.group == graph.tensor(y).shape()[1]
                        && owned_constant(1)
                        && node.inputs.get(2).is_none_or(|_| owned_constant(2)) =>
                {
                    path.depthwise
                        .push((c, node.inputs[1], node.inputs.get(2).copied()));
                    frontier.push(y);
                }
                Op::Conv(a) if !a.channels_last && a.group == 1 && owned_constant(1) => {
                    path.readers.push((c, node.inputs[1], 1));
                }
                Op::Gemm(a)
                    if !a.trans_a
                        && graph.tensor(t).shape().len() == 2
                        && owned_constant(1) =>
                {
                    path.readers
                        .push((c, node.inputs[1], if a.trans_b { 1 } else { 0 }));
                }
                _ => return Err(format!("its channels reach {what}")),
            }
        }
    }
    if path.readers.is_empty() {
        return Err("no layer reads its channels".into());
    }
    Ok(path)
}

/// The L1 norm of each index of `axis` of constant `t`.
fn channel_norms(graph: &Graph, t: TensorId, axis: usize) -> Vec<f64> {
    let tensor = graph.tensor(t);
    let shape = tensor.shape();
    let inner: usize = shape[axis + 1..].iter().product();
    let mut norms = vec![0f64; shape[axis]];
    if let Some(data) = &tensor.data {
        for (i, v) in data.to_f64_vec().iter().enumerate() {
            norms[(i / inner.max(1)) % shape[axis]] += v.abs();
        }
    }
    norms
}

/// Keeps the indices `keep` (sorted) of `axis` of float constant `t`.
fn select(graph: &mut Graph, t: TensorId, axis: usize, keep: &[usize]) {
    let tensor = graph.tensor_mut(t);
    let (Some(TensorData::F32(values)), Some(shape)) = (&tensor.data, &mut tensor.shape)
    else {
        return;
    };
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let mut kept = Vec::with_capacity(outer * keep.len() * inner);
    for o in 0..outer {
        for &k in keep {
            let start = (o * shape[axis] + k) * inner;
            kept.extend_from_slice(&values[start..start + inner]);
        }
    }
    shape[axis] = keep.len();
    tensor.data = Some(TensorData::F32(kept));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{Value, evaluate};
    use crate::ir::text::parse;
    use crate::passes::{PassOptions, shape_inference::infer_shapes};

    fn graph(text: &str) -> Graph {
        let mut g = parse(text).unwrap();
        infer_shapes(&mut g, &PassOptions::default()).unwrap();
        g
    }

    fn run(g: &Graph) -> Vec<f32> {
        let inputs: Vec<Value> = g
            .model_inputs()
            .iter()
            .map(|&t| {
                let shape = g.tensor(t).shape().to_vec();
                let n: usize = shape.iter().product();
                let data = (0..n).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect();
                Value::new(shape, TensorData::F32(data))
            })
            .collect();
        let out = evaluate(g, &inputs).unwrap();
        out[0].data.as_f32().unwrap().to_vec()
    }

    /// The pruned model computes what the original computes when the layers that read the
    /// removed channels ignore them: the same model with those readers' weights zeroed.
    #[test]
    fn a_pruned_mlp_computes_what_ignoring_the_channels_computes() {
        let source = "graph g {\n input %x: f32[1, 3]\n \
             const %w1: f32[3, 4] = [0.1, -2.0, 0.3, 4.0, -0.5, 0.05, 1.5, -0.2, 0.8, 3.0, -0.6, 0.01]\n \
             const %b1: f32[4] = [0.5, -0.25, 0.125, 1.0]\n \
             %h: f32[?] = Gemm(%x, %w1, %b1) {activation=relu} @fc1\n \
             %s: f32[?] = Sigmoid(%h) @sigmoid\n \
             const %w2: f32[2, 4] = [0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 0.5, -2.0]\n \
             %y: f32[?] = Gemm(%s, %w2) {trans_b=true} @fc2\n \
             output %y\n}";
        let mut pruned = graph(source);
        let (count, lines) = prune_channels(&mut pruned, 0.5);
        assert_eq!(count, 1, "{lines:?}");
        // Columns 0 and 2 of w1 have the smallest L1 norms (1.4 and 2.4).
        let w1 = pruned.nodes[0].inputs[1];
        assert_eq!(
            pruned.constant(w1),
            Some(&TensorData::F32(vec![-2.0, 4.0, 0.05, -0.2, 3.0, 0.01]))
        );
        assert_eq!(pruned.tensor(pruned.nodes[1].outputs[0]).shape(), [1, 2]);
        let ignoring = graph(&source.replace(
            "[0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 0.5, -2.0]",
            "[0.0, -1.0, 0.0, 0.25, 0.0, 1.5, 0.0, -2.0]",
        ));
        assert_eq!(run(&pruned), run(&ignoring));
        assert!(lines[0].contains("2 of 4 channels kept"), "{lines:?}");
        assert!(lines[1].contains("graph output"), "{lines:?}");
    }

    /// A convolution's channels go through a depthwise convolution (whose channels go too),
    /// pooling and a flatten of `[1, C, 1, 1]` to a fully connected layer.
    #[test]
    fn convolution_channels_go_through_depthwise_and_pooling() {
        let source = "graph g {\n input %x: f32[1, 1, 3, 3]\n \
             const %w1: f32[3, 1, 2, 2] = [1.0, 1.0, 1.0, 1.0, 0.1, 0.0, 0.0, 0.1, -2.0, 1.0, 0.5, 0.0]\n \
             %a: f32[?] = Conv(%x, %w1) {activation=relu} @conv\n \
             const %dw: f32[3, 1, 1, 1] = [2.0, 3.0, -1.0]\n \
             const %db: f32[3] = [0.5, 0.25, 0.125]\n \
             %b: f32[?] = Conv(%a, %dw, %db) {group=3} @depthwise\n \
             %c: f32[?] = GlobalAveragePool(%b) @gap\n \
             %d: f32[?] = Flatten(%c) @flatten\n \
             const %w2: f32[3, 2] = [1.0, -1.0, 0.5, 2.0, -0.25, 0.75]\n \
             %y: f32[?] = Gemm(%d, %w2) @fc\n \
             output %y\n}";
        let mut pruned = graph(source);
        let (count, lines) = prune_channels(&mut pruned, 0.4);
        assert_eq!(count, 1, "{lines:?}");
        let shape = |t: TensorId| pruned.tensor(t).shape().to_vec();
        assert_eq!(shape(pruned.nodes[0].inputs[1]), [2, 1, 2, 2]);
        assert_eq!(shape(pruned.nodes[1].outputs[0]), [1, 2, 2, 2]);
        assert_eq!(shape(pruned.nodes[3].outputs[0]), [1, 2]);
        let Op::Conv(depthwise) = &pruned.nodes[1].op else {
            panic!("a Conv")
        };
        assert_eq!(depthwise.group, 2);
        // Channel 1 (L1 norm 0.2) goes; the fully connected layer's row 1 with it.
        let ignoring = graph(&source.replace(
            "[1.0, -1.0, 0.5, 2.0, -0.25, 0.75]",
            "[1.0, -1.0, 0.0, 0.0, -0.25, 0.75]",
        ));
        assert_eq!(run(&pruned), run(&ignoring));
    }

    /// Channels that meet a residual addition stay: removing them from one branch only would
    /// change the sum.
    #[test]
    fn channels_that_reach_an_addition_stay() {
        let mut g = graph(
            "graph g {\n input %x: f32[1, 2]\n \
             const %w1: f32[2, 2] = [1.0, 0.0, 0.0, 0.1]\n \
             %h: f32[?] = Gemm(%x, %w1) @fc1\n \
             %r: f32[?] = Add(%h, %x) @residual\n \
             const %w2: f32[2, 2] = [1.0, 2.0, 3.0, 4.0]\n \
             %y: f32[?] = Gemm(%r, %w2) @fc2\n \
             output %y\n}",
        );
        let before = g.clone();
        let (count, lines) = prune_channels(&mut g, 0.5);
        assert_eq!(count, 0);
        assert!(lines[0].contains("reach Add 'residual'"), "{lines:?}");
        assert_eq!(g, before);
    }
}
