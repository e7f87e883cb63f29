//! Reports: per-layer and total multiply-accumulates, weight bytes and memory, as the table of
//! `edgegen inspect` and as the JSON of `--report` / `inspect --format json`.

use serde::Serialize;

use crate::backend::Program;
use crate::ir::{Graph, Node, Op, TensorId, format_shape};

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

/// Bytes of the constant inputs of a node (its weights).
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
        .map(|&t| graph.tensor(t).size_bytes())
        .sum()
}

/// Whole-model figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    pub layers: usize,
    pub macs: u64,
    /// Bytes of static data in the generated code (weights, tables), as stored.
    pub weight_bytes: usize,
    pub arena_bytes: usize,
    /// The most bytes live at once in this schedule: no plan of it can use less arena.
    pub arena_lower_bound_bytes: usize,
}

/// Totals for a graph and the program lowered from it.
pub fn totals(graph: &Graph, program: &Program) -> Totals {
    let plan = graph.plan.as_ref();
    Totals {
        layers: graph.nodes.iter().filter(|n| !n.op.is_view()).count(),
        macs: graph.nodes.iter().map(|n| node_macs(graph, n)).sum(),
        weight_bytes: program
            .statics
            .iter()
            .map(|s| s.data.len() * s.data.dtype().size_bytes())
            .sum(),
        arena_bytes: plan.map_or(0, |p| p.arena_bytes()),
        arena_lower_bound_bytes: plan.map_or(0, |p| p.lower_bound_bytes),
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
    pub weight_bytes: usize,
    /// Where each output lives (`arena f32@0`, `output 0`, ...).
    pub placement: Vec<String>,
    /// First and last node index of each output's storage, when planned.
    pub lifetime: Vec<Option<(usize, usize)>>,
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
    pub totals: Totals,
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
            LayerRow {
                index,
                name: node.name.clone(),
                op: node.op.name().to_string(),
                inputs: node.inputs.iter().map(|&t| typed(graph, t)).collect(),
                outputs: node.outputs.iter().map(|&t| typed(graph, t)).collect(),
                dtype: graph.tensor(node.outputs[0]).dtype.to_string(),
                params: params.to_string(),
                macs: node_macs(graph, node),
                weight_bytes: node_weight_bytes(graph, node),
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
        totals: totals(graph, program),
    }
}

/// The report as a text table for a terminal.
pub fn format_table(report: &Report) -> String {
    let mut rows: Vec<[String; 7]> = vec![[
        "#".into(),
        "op".into(),
        "name".into(),
        "output".into(),
        "params".into(),
        "MACs".into(),
        "weights".into(),
    ]];
    for l in &report.layers {
        let output = l
            .outputs
            .iter()
            .map(|o| o.split_once(' ').map_or(o.as_str(), |(_, t)| t))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push([
            l.index.to_string(),
            l.op.clone(),
            truncate(&l.name, 32),
            output,
            truncate(&l.params, 48),
            group_digits(l.macs),
            group_digits(l.weight_bytes as u64),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!("{} ({})\n", report.model, report.source);
    for i in &report.inputs {
        out.push_str(&format!("  input  {i}\n"));
    }
    for o in &report.outputs {
        out.push_str(&format!("  output {o}\n"));
    }
    for s in &report.states {
        out.push_str(&format!("  state  {s}\n"));
    }
    out.push('\n');
    for (r, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let fill = widths[c] - cell.chars().count();
                if c >= 5 {
                    format!("{}{cell}", " ".repeat(fill))
                } else {
                    format!("{cell}{}", " ".repeat(fill))
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if r == 0 {
            out.push_str(
                &widths
                    .iter()
                    .map(|&w| "-".repeat(w))
                    .collect::<Vec<_>>()
                    .join("  "),
            );
            out.push('\n');
        }
    }
    let t = &report.totals;
    out.push_str(&format!(
        "\n{} layers, {} MACs, {} bytes of weights, {} bytes of arena (lower bound {})\n",
        t.layers,
        group_digits(t.macs),
        group_digits(t.weight_bytes as u64),
        group_digits(t.arena_bytes as u64),
        group_digits(t.arena_lower_bound_bytes as u64)
    ));
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max - 1).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(1234567), "1,234,567");
    }
}
