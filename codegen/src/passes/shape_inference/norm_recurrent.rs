//! Shape rules of the normalisation ops (`LayerNormalization`, `InstanceNormalization`,
//! `LRN`), the recurrent ops (`RNN`, `GRU`, `LSTM`) and `Einsum`.

use super::{input_shape, normalize_axis, require_f32};
use crate::ir::einsum;
use crate::ir::op::*;
use crate::ir::{DType, Graph, Node, Op};

type R<T> = Result<T, String>;

/// The shape without its leading axes of size 1.
fn trimmed(shape: &[usize]) -> &[usize] {
    let first = shape.iter().position(|&d| d != 1).unwrap_or(shape.len());
    &shape[first..]
}

/// `LayerNormalization`: resolves `axis`; outputs `Y` and the statistics.
pub(super) fn layer_norm(
    graph: &Graph,
    node: &Node,
    a: &mut LayerNormAttrs,
) -> R<Vec<Vec<usize>>> {
    require_f32(graph, node, node.inputs.len())?;
    let x = input_shape(graph, node, 0)?;
    let axis = normalize_axis(a.axis, x.len())?;
    a.axis = axis as i64;
    for i in 1..node.inputs.len() {
        let p = input_shape(graph, node, i)?;
        // Scale and B broadcast to the normalised axes; the kernels take them whole.
        if trimmed(&p) != trimmed(&x[axis..]) {
            return Err(format!(
                "{} has shape {p:?}; this version takes the shape of the normalised axes {:?}",
                if i == 1 { "Scale" } else { "B" },
                &x[axis..]
            ));
        }
    }
    if node.outputs.len() > 3 {
        return Err(format!("{} outputs, at most 3", node.outputs.len()));
    }
    let mut stats = x[..axis].to_vec();
    stats.resize(x.len(), 1);
    let mut shapes = vec![x];
    shapes.extend(std::iter::repeat_n(stats, node.outputs.len() - 1));
    Ok(shapes)
}

/// `InstanceNormalization`: `x` is `[N, C, ...]`, `scale` and `B` are `[C]`.
pub(super) fn instance_norm(graph: &Graph, node: &Node) -> R<Vec<Vec<usize>>> {
    require_f32(graph, node, 3)?;
    let x = input_shape(graph, node, 0)?;
    if x.len() < 3 {
        return Err(format!(
            "the input {x:?} needs a batch, a channel and a spatial axis"
        ));
    }
    for i in 1..3 {
        let p = input_shape(graph, node, i)?;
        if p != [x[1]] {
            return Err(format!(
                "parameter {i} has shape {p:?}, expected [{}]",
                x[1]
            ));
        }
    }
    Ok(vec![x])
}

/// `LRN` over axis 1 of `[N, C, ...]`.
pub(super) fn lrn(graph: &Graph, node: &Node, a: &LrnAttrs) -> R<Vec<Vec<usize>>> {
    require_f32(graph, node, 1)?;
    let x = input_shape(graph, node, 0)?;
    if x.len() < 2 {
        return Err(format!("the input {x:?} has no channel axis"));
    }
    if a.size == 0 {
        return Err("LRN needs a size of at least 1".into());
    }
    Ok(vec![x])
}

/// The number of gates of a recurrent cell and the number of its activations per direction.
pub fn gates_and_activations(op: &Op) -> (usize, usize) {
    match op {
        Op::Rnn(_) => (1, 1),
        Op::Gru(_) => (3, 2),
        _ => (4, 3),
    }
}

/// `RNN`, `GRU`, `LSTM`: checks every input's shape against `X`, `W` and `hidden_size`.
pub(super) fn recurrent(
    graph: &Graph,
    node: &Node,
    a: &RecurrentAttrs,
) -> R<Vec<Vec<usize>>> {
    use RecurrentInput as I;
    let lstm = matches!(node.op, Op::Lstm(_));
    let (gates, n_activations) = gates_and_activations(&node.op);
    if a.inputs.len() != node.inputs.len() || a.inputs[..3] != [I::X, I::W, I::R] {
        return Err(format!(
            "the node has {} inputs but its attributes list {:?}",
            node.inputs.len(),
            a.inputs
        ));
    }
    if a.outputs.len() != node.outputs.len() {
        return Err(format!(
            "the node has {} outputs but its attributes list {:?}",
            node.outputs.len(),
            a.outputs
        ));
    }
    if !lstm
        && (a.inputs.contains(&I::InitialC)
            || a.inputs.contains(&I::P)
            || a.outputs.contains(&RecurrentOutput::YC))
    {
        return Err("only LSTM has a cell state and peepholes".into());
    }
    let dirs = a.num_directions();
    if a.activations.len() != n_activations * dirs {
        return Err(format!(
            "{} activations for {dirs} direction(s); {} takes {n_activations} per direction",
            a.activations.len(),
            node.op.name()
        ));
    }
    let x = input_shape(graph, node, 0)?;
    if x.len() != 3 {
        return Err(format!("X has shape {x:?}; it must have rank 3"));
    }
    let (seq, batch, input_size) = if a.batch_first {
        (x[1], x[0], x[2])
    } else {
        (x[0], x[1], x[2])
    };
    let h = a.hidden_size;
    let state = if a.batch_first {
        vec![batch, dirs, h]
    } else {
        vec![dirs, batch, h]
    };
    for (k, &role) in a.inputs.iter().enumerate() {
        let expected = match role {
            I::X => x.clone(),
            I::W => vec![dirs, gates * h, input_size],
            I::R => vec![dirs, gates * h, h],
            I::B => vec![dirs, 2 * gates * h],
            I::SequenceLens => vec![batch],
            I::InitialH | I::InitialC => state.clone(),
            I::P => vec![dirs, 3 * h],
        };
        let tensor = graph.tensor(node.inputs[k]);
        let dtype = if role == I::SequenceLens {
            DType::I32
        } else {
            DType::F32
        };
        if tensor.dtype != dtype {
            return Err(format!(
                "{} ('{}') is {}; this version takes {dtype}",
                role.word(),
                tensor.name,
                tensor.dtype
            ));
        }
        let shape = input_shape(graph, node, k)?;
        if shape != expected {
            return Err(format!(
                "{} ('{}') has shape {shape:?}, expected {expected:?}",
                role.word(),
                tensor.name
            ));
        }
    }
    let y = if a.batch_first {
        vec![batch, seq, dirs, h]
    } else {
        vec![seq, dirs, batch, h]
    };
    Ok(a.outputs
        .iter()
        .map(|o| match o {
            RecurrentOutput::Y => y.clone(),
            _ => state.clone(),
        })
        .collect())
}

/// `Einsum`: resolves ellipses and the implicit output; the output has the sizes of its labels.
pub(super) fn einsum(
    graph: &Graph,
    node: &Node,
    a: &mut EinsumAttrs,
) -> R<Vec<Vec<usize>>> {
    let dtype = graph.tensor(node.inputs[0]).dtype;
    for &t in &node.inputs {
        let tensor = graph.tensor(t);
        if tensor.dtype != dtype || tensor.dtype == DType::Bool {
            return Err(format!(
                "input '{}' is {}; Einsum takes numbers of one type",
                tensor.name, tensor.dtype
            ));
        }
    }
    let shapes: Vec<Vec<usize>> = (0..node.inputs.len())
        .map(|i| input_shape(graph, node, i))
        .collect::<R<_>>()?;
    let ranks: Vec<usize> = shapes.iter().map(Vec::len).collect();
    let (terms, output) = einsum::resolve(&a.terms, a.output.as_deref(), &ranks)?;
    let sizes = einsum::label_sizes(&terms, &shapes)?;
    let out_shape = output
        .iter()
        .map(|l| {
            sizes
                .iter()
                .find(|(m, _)| m == l)
                .map(|&(_, s)| s)
                .ok_or_else(|| {
                    format!("output label '{}' is in no input", einsum::label_name(*l))
                })
        })
        .collect::<R<Vec<usize>>>()?;
    a.terms = terms;
    a.output = Some(output);
    Ok(vec![out_shape])
}
