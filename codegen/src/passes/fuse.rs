//! Fusions that save a pass over memory at run time:
//! - `fuse_matmul_add`: `MatMul(A, B) + C` with 2-D `A`, constant `B` and a constant row-vector
//!   `C` becomes `Gemm(A, B, C)` (the dense layer of TensorFlow and Keras exports);
//! - `fuse_activation`: `Relu`, `Clip` and `LeakyRelu` following a `Conv`, `ConvTranspose`,
//!   `Gemm` or element-wise `Add`/`Sub`/`Mul`/`Div` are applied inside that op's kernel.
//!
//! Both fuse only when the intermediate value has no other use and is not a graph output.

use crate::error::Result;
use crate::ir::op::GemmAttrs;
use crate::ir::{Activation, DType, Graph, Op, TensorId};
use crate::passes::{PassOptions, PassReport};

/// The single consumer of `t`, if it has exactly one and `t` is not a graph output.
fn only_consumer(graph: &Graph, t: TensorId) -> Option<usize> {
    if graph.outputs.contains(&t) {
        return None;
    }
    match graph.consumers().get(&t).map(Vec::as_slice) {
        Some([single]) => Some(*single),
        _ => None,
    }
}

pub fn fuse_matmul_add(graph: &mut Graph, _options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("fuse_matmul_add");
    let mut i = 0;
    while i < graph.nodes.len() {
        let node = &graph.nodes[i];
        let fusable = matches!(node.op, Op::MatMul)
            && graph.tensor(node.inputs[0]).shape().len() == 2
            && graph.tensor(node.inputs[1]).is_constant()
            && graph.tensor(node.inputs[1]).shape().len() == 2;
        let Some(add_index) = fusable
            .then(|| only_consumer(graph, node.outputs[0]))
            .flatten()
        else {
            i += 1;
            continue;
        };
        let add = &graph.nodes[add_index];
        let product = node.outputs[0];
        let n = graph.tensor(product).shape()[1];
        let bias = match &add.op {
            Op::Add(a) if a.activation == Activation::None => {
                add.inputs.iter().copied().find(|&t| t != product)
            }
            _ => None,
        };
        let is_row = |t: TensorId| {
            let tensor = graph.tensor(t);
            tensor.is_constant()
                && tensor.dtype == DType::F32
                && matches!(tensor.shape(), [c] | [1, c] if *c == n)
        };
        match bias {
            Some(c) if is_row(c) && add.inputs.contains(&product) => {
                let out = add.outputs[0];
                let matmul = &mut graph.nodes[i];
                matmul.op = Op::Gemm(GemmAttrs::default());
                matmul.inputs.push(c);
                matmul.outputs[0] = out;
                graph.nodes.remove(add_index);
                report.changes += 1;
            }
            _ => i += 1,
        }
    }
    Ok(report)
}

/// The fused form of an activation node, if it has one.
fn as_activation(op: &Op) -> Option<Activation> {
    match op {
        Op::Relu => Some(Activation::Relu),
        Op::Clip(a) => Some(Activation::Clip {
            min: a.min,
            max: a.max,
        }),
        Op::LeakyRelu(a) => Some(Activation::LeakyRelu { alpha: a.alpha }),
        _ => None,
    }
}

pub fn fuse_activation(graph: &mut Graph, _options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("fuse_activation");
    let mut i = 0;
    while i < graph.nodes.len() {
        let node = &graph.nodes[i];
        let out = node.outputs[0];
        let fusable = node.op.activation() == Some(Activation::None)
            && graph.tensor(out).dtype == DType::F32;
        let next = fusable.then(|| only_consumer(graph, out)).flatten();
        let Some((act_index, activation)) = next
            .and_then(|j| as_activation(&graph.nodes[j].op).map(|a| (j, a)))
            .filter(|(j, _)| graph.nodes[*j].params.is_empty())
        else {
            i += 1;
            continue;
        };
        let act_out = graph.nodes[act_index].outputs[0];
        let producer = &mut graph.nodes[i];
        *producer.op.activation_mut().expect("checked above") = activation;
        producer.outputs[0] = act_out;
        graph.nodes.remove(act_index);
        report.changes += 1;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::text::{PrintOptions, parse, print};

    #[test]
    fn matmul_add_relu_becomes_one_gemm() {
        let mut g = parse(
            "graph g {\n input %x: f32[1, 2]\n const %w: f32[2, 3] = [1, 2, 3, 4, 5, 6]\n const %b: f32[3] = [1, 1, 1]\n \
             %m: f32[1, 3] = MatMul(%x, %w) @mm\n %a: f32[1, 3] = Add(%b, %m) @add\n %y: f32[1, 3] = Relu(%a) @relu\n output %y\n}",
        )
        .unwrap();
        fuse_matmul_add(&mut g, &PassOptions::default()).unwrap();
        fuse_activation(&mut g, &PassOptions::default()).unwrap();
        let text = print(&g, PrintOptions::default());
        assert!(
            text.contains("%y: f32[1, 3] = Gemm(%x, %w, %b) {activation=relu} @mm"),
            "{text}"
        );
    }

    #[test]
    fn does_not_fuse_a_value_used_twice() {
        let mut g = parse(
            "graph g {\n input %x: f32[4]\n input %z: f32[4]\n %a: f32[4] = Add(%x, %z) @add\n %r: f32[4] = Relu(%a) @relu\n \
             %y: f32[4] = Mul(%a, %r) @mul\n output %y\n}",
        )
        .unwrap();
        let report = fuse_activation(&mut g, &PassOptions::default()).unwrap();
        assert_eq!(report.changes, 0);
    }
}
