//! Removes ops that compute nothing in inference: `Identity`, `Dropout`, a `Reshape` (or other
//! view) to the shape it already has, and a `Cast` to the type it already has.
//!
//! Uses of the output are redirected to the input. When the output is a graph output (whose
//! name the user sees), the input's producer writes it directly instead, if that is possible;
//! otherwise the node stays, and costs nothing: views share storage.

use crate::error::Result;
use crate::ir::{Graph, Op};
use crate::passes::{PassOptions, PassReport};

fn is_no_op(graph: &Graph, index: usize) -> bool {
    let node = &graph.nodes[index];
    let same_shape = || {
        graph.tensor(node.inputs[0]).shape.is_some()
            && graph.tensor(node.inputs[0]).shape == graph.tensor(node.outputs[0]).shape
    };
    match &node.op {
        Op::Identity | Op::Dropout => true,
        Op::Reshape(_) | Op::Flatten(_) | Op::Squeeze(_) | Op::Unsqueeze(_) => same_shape(),
        Op::Cast(c) => c.to == graph.tensor(node.inputs[0]).dtype,
        _ => false,
    }
}

pub fn remove_identity(graph: &mut Graph, _options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("remove_identity");
    let mut i = 0;
    while i < graph.nodes.len() {
        if !is_no_op(graph, i) || !graph.nodes[i].params.is_empty() {
            i += 1;
            continue;
        }
        let (input, output) = (graph.nodes[i].inputs[0], graph.nodes[i].outputs[0]);
        if !graph.outputs.contains(&output) {
            graph.replace_uses(output, input);
            graph.nodes.remove(i);
            report.changes += 1;
            continue;
        }
        // The output is a graph output: let the input's producer write it, if the input is an
        // ordinary intermediate value (not a graph input, constant or another output).
        let producer = graph.nodes[..i]
            .iter()
            .position(|n| n.outputs.contains(&input));
        let input_is_output = graph.outputs.contains(&input);
        match producer {
            Some(p) if !input_is_output => {
                for t in &mut graph.nodes[p].outputs {
                    if *t == input {
                        *t = output;
                    }
                }
                graph.nodes.remove(i);
                graph.replace_uses(input, output);
                report.changes += 1;
            }
            _ => i += 1,
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::text::parse;

    #[test]
    fn removes_identities_and_keeps_output_names() {
        let mut g = parse(
            "graph g {\n input %x: f32[4]\n %a: f32[4] = Relu(%x) @relu\n %b: f32[4] = Identity(%a) @id\n \
             %c: f32[4] = Sigmoid(%b) @sig\n %y: f32[4] = Dropout(%c) @drop\n output %y\n}",
        )
        .unwrap();
        remove_identity(&mut g, &PassOptions::default()).unwrap();
        assert_eq!(g.nodes.len(), 2);
        assert_eq!(g.nodes[1].inputs, g.nodes[0].outputs);
        assert_eq!(g.tensor(g.nodes[1].outputs[0]).name, "y");
        assert_eq!(g.outputs, g.nodes[1].outputs);
    }

    #[test]
    fn keeps_an_identity_from_input_to_output() {
        let mut g = parse(
            "graph g {\n input %x: f32[4]\n %y: f32[4] = Identity(%x) @id\n output %y\n}",
        )
        .unwrap();
        remove_identity(&mut g, &PassOptions::default()).unwrap();
        assert_eq!(g.nodes.len(), 1);
    }
}
