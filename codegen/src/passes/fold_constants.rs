//! Constant folding: a node whose data inputs are all constants is evaluated at compile time
//! (with the reference evaluator) and its outputs become constants.
//!
//! `Shape` always folds, because shapes are static once inferred. Shape inference folds as it
//! goes (so that shape computations resolve); this pass catches what later rewrites expose.

use crate::error::{Error, Result};
use crate::eval::{self, Value};
use crate::ir::{DType, Graph, Node, Op, Quantization};
use crate::passes::{PassOptions, PassReport};

/// The largest constant folding may create (elements), and the most multiply-accumulates it may
/// spend on one node: beyond these, the node is left to run in the generated code. They keep a
/// large model from making the compiler allocate gigabytes or compute for hours on one node.
pub const MAX_FOLDED_ELEMENTS: usize = 1 << 26;
/// See [`MAX_FOLDED_ELEMENTS`].
pub const MAX_FOLDED_MACS: u64 = 1 << 30;
/// How many elements folding may create in one pass over a graph whose constants are small:
/// a million, a few megabytes of data (and some tens of megabytes of generated source).
pub const MIN_FOLD_BUDGET: usize = 1 << 20;
/// How many elements folding may create in one pass, per element of constant data the graph
/// holds when the pass starts: enough for every weight to go through a few folded steps
/// (dequantized, transposed, reshaped).
pub const FOLD_BUDGET_PER_CONSTANT: usize = 4;

/// What constant folding may still create in one pass, in elements. The per-node limits alone
/// let a hundred-byte file fold `ConstantOfShape`, `Expand`, `Tile`, `Range`, `Pad` or `Resize`
/// into gigabytes, or many nodes into many large constants each; the budget keeps all that
/// folding creates proportional to the data the file holds (or small). A node over the budget
/// is left to run in the generated code, where its output is an ordinary arena tensor.
#[derive(Clone, Copy, Debug)]
pub struct FoldBudget {
    remaining: usize,
}

impl FoldBudget {
    /// The budget of one pass over `graph`: [`FOLD_BUDGET_PER_CONSTANT`] times the elements of
    /// its constants, and at least [`MIN_FOLD_BUDGET`].
    pub fn new(graph: &Graph) -> FoldBudget {
        let held: usize = graph
            .tensors
            .iter()
            .filter_map(|t| t.data.as_ref())
            .map(|d| d.len())
            .sum();
        FoldBudget {
            remaining: held
                .saturating_mul(FOLD_BUDGET_PER_CONSTANT)
                .max(MIN_FOLD_BUDGET),
        }
    }
}

/// Whether `node` can be replaced by constants now, within `budget`.
pub fn is_foldable(graph: &Graph, node: &Node, budget: &FoldBudget) -> bool {
    if !node.params.is_empty()
        || node
            .outputs
            .iter()
            .any(|&t| graph.tensor(t).shape.is_none())
    {
        return false;
    }
    let elements: usize = node.outputs.iter().map(|&t| graph.tensor(t).len()).sum();
    match node.op {
        // A shape has one element per axis, and the back end has no run-time `Shape`.
        Op::Shape(_) | Op::Size => true,
        _ if elements > MAX_FOLDED_ELEMENTS.min(budget.remaining)
            || crate::report::node_macs(graph, node) > MAX_FOLDED_MACS =>
        {
            false
        }
        // Copies exist to separate storage; folding one would undo the planner's work.
        Op::Copy => false,
        _ => node.inputs.iter().all(|&t| graph.tensor(t).is_constant()),
    }
}

/// Evaluates node `index` and turns its outputs into constants, removing the node, and takes
/// their elements from `budget`.
pub fn fold_node(graph: &mut Graph, index: usize, budget: &mut FoldBudget) -> Result<()> {
    let node = graph.nodes[index].clone();
    let outputs = if let Op::Shape(a) = &node.op {
        let shape = graph.tensor(node.inputs[0]).shape();
        let (start, end) = (a.start as usize, a.end.map_or(shape.len(), |e| e as usize));
        let dims: Vec<i64> = shape[start..end].iter().map(|&d| d as i64).collect();
        vec![Value::new(
            vec![dims.len()],
            crate::ir::TensorData::I64(dims),
        )]
    } else if let Op::Size = &node.op {
        let n = graph.tensor(node.inputs[0]).len() as i64;
        vec![Value::new(vec![], crate::ir::TensorData::I64(vec![n]))]
    } else {
        let args: Vec<Value> = node
            .inputs
            .iter()
            .map(|&t| {
                let tensor = graph.tensor(t);
                Value::new(
                    tensor.shape().to_vec(),
                    tensor.data.clone().expect("foldable nodes read constants"),
                )
            })
            .collect();
        let refs: Vec<&Value> = args.iter().collect();
        eval::eval_node(graph, &node, &refs).map_err(|e| {
            Error::invalid_model(format!(
                "{}: cannot fold: {e}",
                graph.describe_node(&node)
            ))
        })?
    };
    if let Some(q) = dequantized_weights(graph, &node) {
        graph.source_quant.insert(node.outputs[0], q);
    }
    for (&out, value) in node.outputs.iter().zip(outputs) {
        budget.remaining = budget.remaining.saturating_sub(value.data.len());
        let tensor = graph.tensor_mut(out);
        tensor.shape = Some(value.shape);
        tensor.dtype = value.data.dtype();
        tensor.data = Some(value.data);
    }
    graph.nodes.remove(index);
    Ok(())
}

/// The quantization of 8-bit integer weights that a `DequantizeLinear` node turns into floats
/// (per tensor or per axis, not in blocks), which folding it would otherwise lose: kept in
/// [`Graph::source_quant`] so that the quantize pass can give the weights back their integers.
/// Zero points of `uint8` weights are given as those of the `int8` values 128 lower, which
/// stand for the same reals.
fn dequantized_weights(graph: &Graph, node: &Node) -> Option<Quantization> {
    let Op::DequantizeLinear(a) = &node.op else {
        return None;
    };
    let x = graph.tensor(*node.inputs.first()?);
    let offset = match x.dtype {
        DType::I8 => 0,
        DType::U8 => 128,
        _ => return None,
    };
    if a.scale_at_run_time || a.block_size != 0 || a.scale.is_empty() {
        return None;
    }
    let rank = x.shape().len() as i64;
    let axis = if a.scale.len() == 1 {
        0
    } else {
        usize::try_from(if a.axis < 0 { a.axis + rank } else { a.axis }).ok()?
    };
    let zero_point: Vec<i32> = if a.zero_point.is_empty() {
        vec![-offset; a.scale.len()]
    } else {
        a.zero_point.iter().map(|&z| z as i32 - offset).collect()
    };
    (zero_point.len() == a.scale.len()).then(|| Quantization {
        scale: a.scale.clone(),
        zero_point,
        axis,
        int4: false,
    })
}

/// The pass: folds every foldable node.
pub fn fold_constants(graph: &mut Graph, _options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("fold_constants");
    let mut budget = FoldBudget::new(graph);
    let mut i = 0;
    while i < graph.nodes.len() {
        if is_foldable(graph, &graph.nodes[i], &budget) {
            fold_node(graph, i, &mut budget)?;
            report.changes += 1;
        } else {
            i += 1;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::text::parse;

    #[test]
    fn folds_chains_of_constant_nodes() {
        let mut g = parse(
            "graph g {\n input %x: f32[2]\n const %a: f32[2] = [1.0, 2.0]\n const %b: f32[2] = [3.0, 4.0]\n \
             %c: f32[2] = Add(%a, %b) @add\n %d: f32[2] = Relu(%c) @relu\n %y: f32[2] = Mul(%x, %d) @mul\n output %y\n}",
        )
        .unwrap();
        let report = fold_constants(&mut g, &PassOptions::default()).unwrap();
        assert_eq!(report.changes, 2);
        assert_eq!(g.nodes.len(), 1);
        let folded = g.nodes[0].inputs[1];
        assert_eq!(
            g.tensor(folded).data,
            Some(crate::ir::TensorData::F32(vec![4.0, 6.0]))
        );
    }
}
