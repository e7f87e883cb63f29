//! Dead-node removal: drops nodes none of whose outputs reach a graph output, then drops the
//! tensors nothing refers to any more (unused initializers, folded intermediates).

use std::collections::HashSet;

use crate::error::Result;
use crate::ir::{Graph, TensorId};
use crate::passes::{PassOptions, PassReport};

pub fn remove_dead_nodes(graph: &mut Graph, _options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("remove_dead_nodes");
    let mut needed: HashSet<TensorId> = graph.outputs.iter().copied().collect();
    let mut keep = vec![false; graph.nodes.len()];
    for (i, node) in graph.nodes.iter().enumerate().rev() {
        if node.outputs.iter().any(|t| needed.contains(t)) {
            keep[i] = true;
            needed.extend(node.inputs.iter().chain(node.params.iter().flatten()));
        }
    }
    let before = graph.nodes.len();
    let mut flags = keep.into_iter();
    graph.nodes.retain(|_| flags.next().unwrap_or(false));
    report.changes = before - graph.nodes.len();
    let tensors_before = graph.tensors.len();
    graph.compact();
    if tensors_before > graph.tensors.len() {
        report.details.push(format!(
            "dropped {} unused tensors",
            tensors_before - graph.tensors.len()
        ));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::text::parse;

    #[test]
    fn drops_branches_that_reach_no_output() {
        let mut g = parse(
            "graph g {\n input %x: f32[4]\n const %unused: f32[1] = [1.0]\n %a: f32[4] = Relu(%x) @relu\n \
             %b: f32[4] = Sigmoid(%x) @dead\n %c: f32[4] = Tanh(%b) @dead2\n output %a\n}",
        )
        .unwrap();
        let report = remove_dead_nodes(&mut g, &PassOptions::default()).unwrap();
        assert_eq!(report.changes, 2);
        assert_eq!(g.nodes.len(), 1);
        assert_eq!(g.tensors.len(), 2);
    }
}
