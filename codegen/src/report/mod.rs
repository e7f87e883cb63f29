//! Reports: per-layer and total multiply-accumulates, weight bytes, parameters and how many of
//! them are not zero (what pruning leaves), and memory.
//!
//! ```text
//! Graph + Program ──build──▶ Report ──┬─ serde_json        --report r.json, inspect --format json
//!                                     ├─ table.rs          inspect (the terminal table)
//!                                     ├─ svg.rs            inspect --format svg (memory timeline)
//!                                     └─ html.rs           inspect --format html (both, one page)
//! ```
//!
//! [`build`] gathers everything from the graph and its memory plan; the renderers only read the
//! [`Report`], so what a picture shows is what the JSON says.
//!
//! **Before and after compression.** A build that asks for compression (`--prune`) is also
//! compiled without it ([`crate::CompileOptions::without_compression`]: the same model and the
//! same other options, `--quantize` included), and [`Report::compare_with`] puts that build's
//! figures next to its own: parameters, non-zeros, weight bytes as stored and MACs, in a
//! `before` object of each layer and of the totals. Layers are matched by node name (channel
//! pruning changes shapes, never names; the k-th layer of a name with the k-th layer of that
//! name, should a model repeat one). A layer of the compressed build that the other lacks has
//! no `before`; a layer only the other has is named in `before_only_layers`, and its figures
//! count in the totals' `before` but in no row. A build without compression has none of these
//! fields, so its report is exactly what it was before they existed.

mod html;
mod svg;
mod table;

pub use html::format_html;
pub use svg::format_svg;
pub use table::format_table;

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use crate::backend::Program;
use crate::ir::{Graph, Node, Op, Tensor, TensorId, format_shape};
use crate::passes::memory_plan::{MemoryPlan, Storage};

/// Multiply-accumulates one run of `node` performs (0 for ops that do not multiply-add).
pub fn node_macs(graph: &Graph, node: &Node) -> u64 {
    let shape = |t: TensorId| graph.tensor(t).shape.clone().unwrap_or_default();
    let count = |s: &[usize]| s.iter().product::<usize>() as u64;
    match &node.op {
        Op::Conv(_) => {
            // Each output element sums C_in / group × kernel products: the weights' trailing axes.
            let w = shape(node.inputs[1]);
            count(&shape(node.outputs[0])) * count(&w[1..])
        }
        Op::ConvTranspose(_) => {
            let w = shape(node.inputs[1]);
            count(&shape(node.inputs[0])) * count(&w[1..])
        }
        Op::Gemm(a) => {
            let x = shape(node.inputs[0]);
            let k = if a.trans_a {
                x.first().copied()
            } else {
                x.get(1).copied()
            };
            count(&shape(node.outputs[0])) * k.unwrap_or(0) as u64
        }
        Op::MatMul => {
            let x = shape(node.inputs[0]);
            count(&shape(node.outputs[0])) * x.last().copied().unwrap_or(0) as u64
        }
        _ => 0,
    }
}

/// Bytes of the constant inputs of a node (its weights) as the IR holds them, dense (4-bit
/// weights packed two per byte). The report's per-layer figure is what the generated code
/// stores instead ([`layer_weight_bytes`]): it also counts the data the back end derives
/// (requantization scales, tables) and stores sparse weights without their zeros.
pub fn node_weight_bytes(graph: &Graph, node: &Node) -> usize {
    let mut seen: Vec<TensorId> = Vec::new();
    node.inputs
        .iter()
        .filter(|&&t| {
            graph.tensor(t).is_constant() && !seen.contains(&t) && {
                seen.push(t);
                true
            }
        })
        .map(|&t| graph.tensor(t).stored_bytes())
        .sum()
}

/// Bytes of the static data the lowered program holds for layer `node`: each array counted
/// once, for the first layer that uses it, so the layers add up to [`Totals::weight_bytes`].
pub fn layer_weight_bytes(program: &Program, node: usize) -> usize {
    program
        .statics
        .iter()
        .filter(|s| s.node == Some(node))
        .map(|s| s.data.len() * s.data.dtype().size_bytes())
        .sum()
}

/// How layer `node`'s weights are stored: the format the back end chose for a fully connected
/// layer or a layer of shared weights ([`crate::backend::LayerWeights::describe`]), `dense` for
/// another layer with static data, `-` for a
/// layer without; and the multiply-accumulates its kernel executes (the dense count unless its
/// weights are sparse).
pub fn layer_weight_format(graph: &Graph, program: &Program, node: usize) -> (String, u64) {
    let macs = node_macs(graph, &graph.nodes[node]);
    match program.layer_weights.iter().find(|l| l.node == node) {
        Some(l) => (l.describe(), l.macs_executed),
        None if layer_weight_bytes(program, node) > 0 => ("dense".to_string(), macs),
        None => ("-".to_string(), macs),
    }
}

/// How many elements of a constant are not zero: for a quantized integer tensor, the elements
/// that are not the zero point of their channel (the integer that stands for 0.0); otherwise
/// those that are not 0 (a float `-0.0` is zero, a NaN is not).
pub fn count_nonzeros(tensor: &Tensor) -> usize {
    let Some(data) = &tensor.data else {
        return 0;
    };
    let values = data.to_f64_vec();
    let quant = tensor.quant.as_ref().filter(|_| tensor.dtype.is_integer());
    match quant {
        Some(q) if q.zero_point.iter().any(|&z| z != 0) => {
            // Per-axis zero points: element `i` belongs to channel `(i / inner) % channels`.
            let shape = tensor.shape.as_deref().unwrap_or_default();
            let channels = shape.get(q.axis).copied().unwrap_or(1).max(1);
            let inner: usize = shape.iter().skip(q.axis + 1).product::<usize>().max(1);
            values
                .iter()
                .enumerate()
                .filter(|&(i, &v)| {
                    let zero_point = match q.zero_point.as_slice() {
                        [z] => *z,
                        all => all.get((i / inner) % channels).copied().unwrap_or(0),
                    };
                    v != zero_point as f64
                })
                .count()
        }
        _ => values.iter().filter(|&&v| v != 0.0).count(),
    }
}

/// The elements of a node's distinct constant inputs (weights, biases, tables), and how many of
/// them are not zero ([`count_nonzeros`]).
pub fn node_parameters(graph: &Graph, node: &Node) -> (usize, usize) {
    let mut seen: Vec<TensorId> = Vec::new();
    let mut counts = (0, 0);
    for &t in &node.inputs {
        let tensor = graph.tensor(t);
        if tensor.is_constant() && !seen.contains(&t) {
            seen.push(t);
            counts.0 += tensor.data.as_ref().map_or(0, |d| d.len());
            counts.1 += count_nonzeros(tensor);
        }
    }
    counts
}

/// Whole-model figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    pub layers: usize,
    pub macs: u64,
    /// The multiply-accumulates the generated code executes: sparse layers multiply only the
    /// weights they store.
    pub macs_executed: u64,
    /// Bytes of static data in the generated code (weights, tables), as stored.
    pub weight_bytes: usize,
    pub arena_bytes: usize,
    /// The most bytes live at once in this schedule: no plan of it can use less arena.
    pub arena_lower_bound_bytes: usize,
    /// Elements of the constants the layers read (each constant once), and how many of them
    /// are not zero: what pruning leaves.
    pub parameters: usize,
    pub nonzeros: usize,
    /// The same figures in the build without compression; only in the report of a build that
    /// asked for some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Before>,
}

/// A layer's figures, or the whole model's, in the build without compression: what the
/// compressed build is compared with. The fields mean what the fields of the same names in
/// [`LayerRow`] and [`Totals`] mean.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Before {
    pub parameters: usize,
    pub nonzeros: usize,
    pub weight_bytes: usize,
    pub macs: u64,
    pub macs_executed: u64,
}

impl Before {
    fn of_layer(row: &LayerRow) -> Before {
        Before {
            parameters: row.parameters,
            nonzeros: row.nonzeros,
            weight_bytes: row.weight_bytes,
            macs: row.macs,
            macs_executed: row.macs_executed,
        }
    }

    fn of_totals(totals: &Totals) -> Before {
        Before {
            parameters: totals.parameters,
            nonzeros: totals.nonzeros,
            weight_bytes: totals.weight_bytes,
            macs: totals.macs,
            macs_executed: totals.macs_executed,
        }
    }
}

/// Totals for a graph and the program lowered from it.
pub fn totals(graph: &Graph, program: &Program) -> Totals {
    let plan = graph.plan.as_ref();
    let constants: std::collections::BTreeSet<TensorId> = graph
        .nodes
        .iter()
        .flat_map(|n| n.inputs.iter().copied())
        .filter(|&t| graph.tensor(t).is_constant())
        .collect();
    let parameters = constants
        .iter()
        .map(|&t| graph.tensor(t).data.as_ref().map_or(0, |d| d.len()))
        .sum();
    let nonzeros = constants
        .iter()
        .map(|&t| count_nonzeros(graph.tensor(t)))
        .sum();
    Totals {
        layers: graph.nodes.iter().filter(|n| !n.op.is_view()).count(),
        macs: graph.nodes.iter().map(|n| node_macs(graph, n)).sum(),
        macs_executed: (0..graph.nodes.len())
            .map(|i| layer_weight_format(graph, program, i).1)
            .sum(),
        weight_bytes: program
            .statics
            .iter()
            .map(|s| s.data.len() * s.data.dtype().size_bytes())
            .sum(),
        arena_bytes: plan.map_or(0, |p| p.arena_bytes()),
        arena_lower_bound_bytes: plan.map_or(0, |p| p.lower_bound_bytes),
        parameters,
        nonzeros,
        before: None,
    }
}

/// `1234567` as `1,234,567`.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `nonzeros` of `parameters` for tables: `1,638/8,192`, or `-` for a layer without constants.
pub fn format_nonzeros(nonzeros: usize, parameters: usize) -> String {
    if parameters == 0 {
        "-".to_string()
    } else {
        format!(
            "{}/{}",
            group_digits(nonzeros as u64),
            group_digits(parameters as u64)
        )
    }
}

/// `nonzeros` as a percentage of `parameters`, with one decimal (`20.0 %`).
pub fn nonzero_percent(nonzeros: usize, parameters: usize) -> String {
    if parameters == 0 {
        "0.0 %".to_string()
    } else {
        format!("{:.1} %", 100.0 * nonzeros as f64 / parameters as f64)
    }
}

/// `after` as a percentage of `before`, with one decimal (`39.7 %`), or `-` when `before` is 0.
pub fn share_percent(after: u64, before: u64) -> String {
    if before == 0 {
        "-".to_string()
    } else {
        format!("{:.1} %", 100.0 * after as f64 / before as f64)
    }
}

/// What the renderers call the build a compressed one is compared with.
pub const BEFORE_BUILD: &str = "the same build without pruning or clustering";

/// One row of the layer table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerRow {
    pub index: usize,
    pub name: String,
    pub op: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub dtype: String,
    /// Non-default attributes, as in the text IR.
    pub params: String,
    pub macs: u64,
    /// The multiply-accumulates the generated code executes (fewer than `macs` when the weights
    /// are stored sparse).
    pub macs_executed: u64,
    /// Bytes of the static data the generated code holds for this layer, as stored: weights
    /// (sparse ones without their zeros), biases, requantization scales, tables. Data two
    /// layers share counts for the first.
    pub weight_bytes: usize,
    /// How the weights are stored: `dense`, `runs` or `bitmask` (sparse; see
    /// `kernels/sparse.rs`), `-` for a layer without static data.
    pub weight_format: String,
    /// Where each output lives (`arena f32@0`, `output 0`, ...).
    pub placement: Vec<String>,
    /// First and last node index of each output's storage, when planned.
    pub lifetime: Vec<Option<(usize, usize)>>,
    /// The bytes `[start, end)` of each output in the arena of its element type; `null` for an
    /// output that lives elsewhere.
    pub arena_bytes: Vec<Option<(usize, usize)>>,
    /// Elements of the layer's constant inputs (weights, biases), and how many are not zero.
    pub parameters: usize,
    pub nonzeros: usize,
    /// The same layer's figures in the build without compression; only in the report of a
    /// build that asked for some, and there only when that build has a layer of this name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Before>,
}

impl LayerRow {
    /// Where each output lives, for tables: its bytes in its arena (`0..8,192`), or its
    /// placement when it is not in an arena (`output 0`).
    pub fn output_places(&self) -> Vec<String> {
        self.arena_bytes
            .iter()
            .zip(&self.placement)
            .map(|(range, placement)| match range {
                Some((start, end)) => format!(
                    "{}..{}",
                    group_digits(*start as u64),
                    group_digits(*end as u64)
                ),
                None => placement.clone(),
            })
            .collect()
    }

    /// Whether the tables of before and after compression list this layer: it has parameters,
    /// weight bytes or MACs in either build.
    pub fn has_weights_or_macs(&self) -> bool {
        let before = self.before.unwrap_or_default();
        self.parameters + self.weight_bytes + before.parameters + before.weight_bytes > 0
            || self.macs + before.macs > 0
    }

    /// The steps each output is live, for tables: `0–1`, or `-` when unplanned.
    pub fn output_steps(&self) -> Vec<String> {
        self.lifetime
            .iter()
            .map(|span| span.map_or("-".to_string(), |(a, b)| format!("{a}–{b}")))
            .collect()
    }
}

/// One arena of the memory plan: the `Model` holds one per element type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Arena {
    pub dtype: String,
    pub bytes: usize,
}

/// A tensor the memory plan puts in an arena.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArenaTensor {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// Byte offset in the arena of its element type.
    pub offset: usize,
    pub bytes: usize,
    /// The node that writes the tensor and the last node that reads it (inclusive).
    pub first_step: usize,
    pub last_step: usize,
    /// Tensors with the same buffer share storage (views of one another, or the input and output
    /// of a node that runs in place); distinct buffers live at the same step only in disjoint
    /// bytes.
    pub buffer: usize,
}

/// The arena side of the memory plan. The model's inputs and outputs (the caller's buffers), its
/// state and its weights are not here: they are not in an arena.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Memory {
    /// In the order of the `Model`'s fields.
    pub arenas: Vec<Arena>,
    /// In tensor order.
    pub tensors: Vec<ArenaTensor>,
}

/// The full report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub model: String,
    pub source: String,
    pub sha256: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    /// State variables kept between runs (stateful TFLite models).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<String>,
    pub layers: Vec<LayerRow>,
    /// The layers of the build without compression that this build does not have, by name
    /// (see the module doc); only in the report of a build that asked for compression.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub before_only_layers: Vec<String>,
    pub memory: Memory,
    pub totals: Totals,
}

impl Report {
    /// Puts the figures of `before`, the report of the same build without compression, next to
    /// this report's own: in each layer of the same name and in the totals (see the module doc).
    pub fn compare_with(&mut self, before: &Report) {
        // The indices of the layers of each name, in order, that no layer here has claimed yet.
        let mut unclaimed: HashMap<&str, VecDeque<usize>> = HashMap::new();
        for (k, row) in before.layers.iter().enumerate() {
            unclaimed.entry(row.name.as_str()).or_default().push_back(k);
        }
        let mut claimed = vec![false; before.layers.len()];
        for row in &mut self.layers {
            let k = unclaimed
                .get_mut(row.name.as_str())
                .and_then(VecDeque::pop_front);
            if let Some(k) = k {
                claimed[k] = true;
            }
            row.before = k.map(|k| Before::of_layer(&before.layers[k]));
        }
        self.before_only_layers = before
            .layers
            .iter()
            .zip(&claimed)
            .filter(|&(_, &claimed)| !claimed)
            .map(|(row, _)| row.name.clone())
            .collect();
        self.totals.before = Some(Before::of_totals(&before.totals));
    }
}

fn typed(graph: &Graph, t: TensorId) -> String {
    let tensor = graph.tensor(t);
    let shape = tensor
        .shape
        .as_deref()
        .map_or("[?]".to_string(), format_shape);
    format!("{} {} {shape}", tensor.name, tensor.dtype)
}

/// Builds the report of a compiled graph.
pub fn build(graph: &Graph, program: &Program) -> Report {
    let plan = graph.plan.as_ref();
    let layers = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(index, node)| {
            let attrs = crate::ir::text::print_node(graph, node);
            let params = attrs
                .split_once(" {")
                .map(|(_, rest)| rest.rsplit_once("} @").map_or("", |(a, _)| a))
                .unwrap_or("");
            let (parameters, nonzeros) = node_parameters(graph, node);
            let (weight_format, macs_executed) = layer_weight_format(graph, program, index);
            LayerRow {
                index,
                name: node.name.clone(),
                op: node.op.name().to_string(),
                inputs: node.inputs.iter().map(|&t| typed(graph, t)).collect(),
                outputs: node.outputs.iter().map(|&t| typed(graph, t)).collect(),
                dtype: graph.tensor(node.outputs[0]).dtype.to_string(),
                params: params.to_string(),
                macs: node_macs(graph, node),
                macs_executed,
                weight_bytes: layer_weight_bytes(program, index),
                weight_format,
                placement: node
                    .outputs
                    .iter()
                    .map(|&t| plan.map_or("unplanned".to_string(), |p| p.describe(t)))
                    .collect(),
                lifetime: node
                    .outputs
                    .iter()
                    .map(|&t| plan.and_then(|p| p.lifetimes[t.0]))
                    .collect(),
                arena_bytes: node
                    .outputs
                    .iter()
                    .map(|&t| plan.and_then(|p| arena_range(graph, p, t)))
                    .collect(),
                parameters,
                nonzeros,
                before: None,
            }
        })
        .collect();
    Report {
        model: graph.source.file_name.clone(),
        source: graph.source.description.clone(),
        sha256: graph.source.sha256.clone(),
        inputs: graph
            .model_inputs()
            .iter()
            .map(|&t| typed(graph, t))
            .collect(),
        outputs: graph
            .model_outputs()
            .iter()
            .map(|&t| typed(graph, t))
            .collect(),
        states: (0..graph.states.len())
            .map(|k| {
                format!(
                    "{} (read as {}, updated to {})",
                    graph.states[k].name,
                    typed(graph, graph.state_input(k)),
                    graph.tensor(graph.state_output(k)).name
                )
            })
            .collect(),
        layers,
        before_only_layers: Vec::new(),
        memory: plan.map_or_else(Memory::default, |p| memory(graph, p)),
        totals: totals(graph, program),
    }
}

/// The bytes `[start, end)` of a tensor in its arena, if it lives in one.
fn arena_range(graph: &Graph, plan: &MemoryPlan, t: TensorId) -> Option<(usize, usize)> {
    match plan.storage.get(t.0).copied().flatten() {
        Some(Storage::Arena { dtype, offset }) => {
            let start = offset * dtype.size_bytes();
            Some((start, start + graph.tensor(t).size_bytes()))
        }
        _ => None,
    }
}

fn memory(graph: &Graph, plan: &MemoryPlan) -> Memory {
    let arenas = plan
        .arenas
        .iter()
        .map(|&(dtype, len)| Arena {
            dtype: dtype.to_string(),
            bytes: len * dtype.size_bytes(),
        })
        .collect();
    let tensors = (0..graph.tensors.len())
        .filter_map(|t| {
            let id = TensorId(t);
            let (offset, end) = arena_range(graph, plan, id)?;
            let buffer = plan.buffers[t]?;
            let (first_step, last_step) = plan.lifetimes[t]?;
            let tensor = graph.tensor(id);
            Some(ArenaTensor {
                name: tensor.name.clone(),
                dtype: tensor.dtype.to_string(),
                shape: tensor.shape().to_vec(),
                offset,
                bytes: end - offset,
                first_step,
                last_step,
                buffer,
            })
        })
        .collect();
    Memory { arenas, tensors }
}

/// Text for XML and HTML, in element content and in quoted attribute values alike. Names come
/// from model files, so anything can be in them: the five markup characters and line breaks
/// become references, and the characters XML 1.0 does not allow at all (the other C0 controls,
/// even as references) become U+FFFD.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // As references, so that every element stays on one line of the file.
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push('\u{fffd}')
            }
            c => out.push(c),
        }
    }
    out
}

/// A byte count for people: `512 B`, `18 KiB`, `1.5 MiB` (one decimal when not whole).
pub fn format_bytes(bytes: usize) -> String {
    const UNITS: [(&str, usize); 3] =
        [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let tenths = (bytes * 10 + size / 2) / size;
            return if tenths.is_multiple_of(10) {
                format!("{} {unit}", tenths / 10)
            } else {
                format!("{}.{} {unit}", tenths / 10, tenths % 10)
            };
        }
    }
    format!("{bytes} B")
}

/// `s` cut to `max` characters, the last one an ellipsis when anything was cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_given_in_binary_units() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1024), "1 KiB");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(55_296), "54 KiB");
        assert_eq!(format_bytes(3 << 20), "3 MiB");
    }

    #[test]
    fn markup_characters_and_controls_are_escaped() {
        assert_eq!(
            escape_markup("a<b>&\"c\"'d' ]]> \u{0}\u{1b}\tok"),
            "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39; ]]&gt; \u{fffd}\u{fffd}&#9;ok"
        );
    }

    #[test]
    fn non_zeros_are_counted_against_each_channels_zero_point() {
        let graph = crate::ir::text::parse(
            r#"graph "g" {
  input %x: f32[1, 2]
  const %w: f32[2, 3] = [0.0, -0.0, 1.5, 0.0, 2.0, 3.0]
  const %b: f32[3] = [0.0, 0.0, 0.0]
  const %q: i8[2, 3] quant([0.5, 0.25], [0, 3], 0) = [0, 3, -1, 3, 3, 0]
  %y: f32[?] = Gemm(%x, %w, %b) @fc
  output %y
}
"#,
        )
        .unwrap();
        let count = |name: &str| {
            count_nonzeros(graph.tensors.iter().find(|t| t.name == name).unwrap())
        };
        assert_eq!(count("w"), 3);
        assert_eq!(count("b"), 0);
        // Channel 0 has zero point 0, channel 1 zero point 3.
        assert_eq!(count("q"), 3);
        assert_eq!(node_parameters(&graph, &graph.nodes[0]), (9, 3));
        assert_eq!(format_nonzeros(3, 9), "3/9");
        assert_eq!(format_nonzeros(0, 0), "-");
        assert_eq!(nonzero_percent(1, 3), "33.3 %");
    }

    #[test]
    fn shares_are_what_is_left_of_the_figure_before() {
        assert_eq!(share_percent(2_906, 7_312), "39.7 %");
        assert_eq!(share_percent(5, 5), "100.0 %");
        assert_eq!(share_percent(0, 0), "-");
    }

    #[test]
    fn digits_are_grouped() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(1234567), "1,234,567");
    }
}
