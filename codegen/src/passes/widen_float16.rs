//! `widen_float16`: computes float16 tensors in float32.
//!
//! float16 (`DType::F16`) is a storage type here: the IR and generated code hold its bit
//! patterns as `u16`, and only two kinds of op see it:
//! - `Cast`, whose kernels convert to and from the bit pattern (rounding to nearest even);
//! - ops that only move elements (reshapes, transposes, slices, gathers, `Where`...), which are
//!   the same on any 16-bit payload.
//!
//! Every other op with a float16 input or output is computed in float32 between casts:
//! `y: f16 = Op(a: f16)` becomes `a32 = Cast(a)`, `y32 = Op(a32)`, `y = Cast(y32)`. Rounding
//! each op's result to float16 is what onnxruntime's and the ONNX reference's float16 kernels
//! do in effect (they widen too, or compute in float16 with an error no larger than that
//! rounding). The pass runs first, so shape inference and constant folding never compute on
//! bit patterns; casts of constants fold away there.

use std::collections::HashMap;

use super::{PassOptions, PassReport};
use crate::error::Result;
use crate::ir::op::CastAttrs;
use crate::ir::{DType, Graph, Node, Op, Tensor, TensorId};

/// Ops that copy, drop or rearrange elements without computing on them, so they can run on
/// float16 bit patterns as they are, plus `Shape` and `Size`, which read only the shape.
fn moves_elements(op: &Op) -> bool {
    matches!(
        op,
        Op::Identity
            | Op::Copy
            | Op::Dropout
            | Op::Reshape(_)
            | Op::Flatten(_)
            | Op::Squeeze(_)
            | Op::Unsqueeze(_)
            | Op::Transpose(_)
            | Op::Concat(_)
            | Op::Split(_)
            | Op::Slice(_)
            | Op::Gather(_)
            | Op::GatherElements(_)
            | Op::Expand(_)
            | Op::Tile(_)
            | Op::DepthToSpace(_)
            | Op::SpaceToDepth(_)
            | Op::Where
            | Op::Shape(_)
            | Op::Size
            | Op::Cast(_)
    )
}

pub fn widen_float16(graph: &mut Graph, _options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("widen_float16");
    if !graph.tensors.iter().any(|t| t.dtype == DType::F16) {
        return Ok(report);
    }
    // The float32 copy of each float16 tensor that some op reads, made once.
    let mut widened: HashMap<TensorId, TensorId> = HashMap::new();
    let mut nodes = Vec::with_capacity(graph.nodes.len());
    for mut node in std::mem::take(&mut graph.nodes) {
        let is_f16 = |id: &TensorId| graph.tensor(*id).dtype == DType::F16;
        let touches = node.inputs.iter().any(is_f16)
            || node.params.iter().flatten().any(is_f16)
            || node.outputs.iter().any(is_f16);
        if moves_elements(&node.op) || !touches {
            nodes.push(node);
            continue;
        }
        report.changes += 1;
        let slots = node
            .inputs
            .iter_mut()
            .chain(node.params.iter_mut().flatten());
        for slot in slots {
            if graph.tensor(*slot).dtype != DType::F16 {
                continue;
            }
            *slot = *widened.entry(*slot).or_insert_with(|| {
                let wide = float32_twin(graph, *slot);
                nodes.push(cast_node(graph, *slot, wide, DType::F32));
                wide
            });
        }
        match &mut node.op {
            Op::Range(a) if a.dtype == DType::F16 => a.dtype = DType::F32,
            Op::ConstantOfShape(a) if a.dtype == DType::F16 => a.dtype = DType::F32,
            _ => {}
        }
        let mut narrowing = Vec::new();
        for out in node.outputs.iter_mut() {
            if graph.tensor(*out).dtype != DType::F16 {
                continue;
            }
            let wide = float32_twin(graph, *out);
            narrowing.push(cast_node(graph, wide, *out, DType::F16));
            *out = wide;
        }
        nodes.push(node);
        nodes.extend(narrowing);
    }
    graph.nodes = nodes;
    if report.changes > 0 {
        report.details.push(format!(
            "{} ops on float16 computed in float32",
            report.changes
        ));
    }
    Ok(report)
}

/// A new float32 tensor standing for float16 tensor `id` (same name with `_f32`, same shape).
fn float32_twin(graph: &mut Graph, id: TensorId) -> TensorId {
    let t = graph.tensor(id);
    let tensor = Tensor {
        name: graph.unique_name(&format!("{}_f32", t.name)),
        dtype: DType::F32,
        shape: t.shape.clone(),
        data: None,
        quant: None,
        storage: None,
    };
    graph.add_tensor(tensor)
}

fn cast_node(graph: &Graph, from: TensorId, to: TensorId, dtype: DType) -> Node {
    Node {
        // Tensor names are unique, so these node names are too.
        name: format!("{}_to_{}", graph.tensor(from).name, dtype),
        op: Op::Cast(CastAttrs { to: dtype }),
        inputs: vec![from],
        params: Vec::new(),
        outputs: vec![to],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::TensorData;

    fn f16_graph() -> Graph {
        // y = Max(a, b) on float16 inputs, then Reshape (which stays on float16).
        let mut g = Graph {
            name: "max16".into(),
            ..Graph::default()
        };
        let tensor = |name: &str, shape: Option<Vec<usize>>| Tensor {
            name: name.into(),
            dtype: DType::F16,
            shape,
            data: None,
            quant: None,
            storage: None,
        };
        let a = g.add_tensor(tensor("a", Some(vec![3])));
        let b = g.add_tensor(tensor("b", Some(vec![3])));
        let m = g.add_tensor(tensor("m", None));
        let y = g.add_tensor(tensor("y", None));
        let shape = g.add_constant("shape", vec![2], TensorData::I64(vec![1, 3]));
        g.inputs = vec![a, b];
        g.outputs = vec![y];
        g.nodes.push(Node {
            name: "max".into(),
            op: Op::Max,
            inputs: vec![a, b],
            params: vec![],
            outputs: vec![m],
        });
        g.nodes.push(Node {
            name: "reshape".into(),
            op: Op::Reshape(Default::default()),
            inputs: vec![m],
            params: vec![Some(shape)],
            outputs: vec![y],
        });
        g
    }

    #[test]
    fn computing_ops_run_in_float32_between_casts() {
        let mut g = f16_graph();
        let report = widen_float16(&mut g, &PassOptions::default()).unwrap();
        assert_eq!(report.changes, 1);
        let ops: Vec<String> = g
            .nodes
            .iter()
            .map(|n| {
                let dtypes: Vec<String> = n
                    .inputs
                    .iter()
                    .chain(&n.outputs)
                    .map(|&t| g.tensor(t).dtype.to_string())
                    .collect();
                format!("{}({})", n.op.name(), dtypes.join(","))
            })
            .collect();
        assert_eq!(
            ops,
            [
                "Cast(f16,f32)",
                "Cast(f16,f32)",
                "Max(f32,f32,f32)",
                "Cast(f32,f16)",
                "Reshape(f16,f16)"
            ]
        );
        // The model's own tensors keep their names and types.
        assert_eq!(g.tensor(g.outputs[0]).dtype, DType::F16);
        crate::ir::validate::validate(&g, crate::ir::validate::Stage::Imported).unwrap();
    }

    #[test]
    fn graphs_without_float16_are_untouched() {
        let mut g = f16_graph();
        for t in &mut g.tensors {
            if t.dtype == DType::F16 {
                t.dtype = DType::F32;
            }
        }
        let before = g.clone();
        let report = widen_float16(&mut g, &PassOptions::default()).unwrap();
        assert_eq!(report.changes, 0);
        assert_eq!(g.nodes, before.nodes);
    }
}
