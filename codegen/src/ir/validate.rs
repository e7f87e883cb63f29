//! The IR validator, run after the front end and after every pass, so that a pass that breaks an
//! invariant is caught at the pass and not as wrong code from a back end.
//!
//! Checks: ids in range; each tensor defined once (graph input, constant, or one node output);
//! every use after its definition in schedule order; op arities; constants' data matching their
//! dtype and shape. After shape inference also: every live tensor has a static shape and no node
//! has unresolved parameter inputs.

use std::collections::HashSet;

use crate::ir::{Graph, Quantization, Tensor, TensorData, TensorId, WeightStorage};

/// How far along the pipeline the graph is, which decides what must already hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Straight from a front end: shapes may be unknown, parameters unresolved.
    Imported,
    /// After shape inference: static shapes everywhere, explicit attributes.
    Inferred,
}

/// Checks the graph; the error lists every problem found (one per line).
pub fn validate(graph: &Graph, stage: Stage) -> Result<(), String> {
    let mut problems = Vec::new();
    let n_tensors = graph.tensors.len();
    let in_range = |t: TensorId| t.0 < n_tensors;

    let mut defined: HashSet<TensorId> = HashSet::new();
    for &t in &graph.inputs {
        if !in_range(t) {
            problems.push(format!("graph input {t} does not exist"));
            continue;
        }
        if graph.tensor(t).is_constant() {
            problems.push(format!(
                "graph input '{}' is also a constant",
                graph.tensor(t).name
            ));
        }
        if !defined.insert(t) {
            problems.push(format!(
                "graph input '{}' is listed twice",
                graph.tensor(t).name
            ));
        }
    }
    let is_available = |t: TensorId, defined: &HashSet<TensorId>| {
        defined.contains(&t) || graph.tensor(t).is_constant()
    };

    let mut live: HashSet<TensorId> = defined.clone();
    for node in &graph.nodes {
        let what = graph.describe_node(node);
        let arity = node.op.arity();
        if node.inputs.len() < arity.min_inputs || node.inputs.len() > arity.max_inputs {
            problems.push(format!(
                "{what} has {} inputs; it takes {}..={}",
                node.inputs.len(),
                arity.min_inputs,
                arity.max_inputs
            ));
        }
        if node.params.len() > arity.params.len() {
            problems.push(format!(
                "{what} has {} parameter inputs; it takes at most {}",
                node.params.len(),
                arity.params.len()
            ));
        }
        if stage >= Stage::Inferred && !node.params.is_empty() {
            problems.push(format!(
                "{what} still has parameter inputs after shape inference"
            ));
        }
        match arity.outputs {
            Some(n) if node.outputs.len() != n => problems.push(format!(
                "{what} has {} outputs; it has {n}",
                node.outputs.len()
            )),
            None if node.outputs.is_empty() => {
                problems.push(format!("{what} has no outputs"))
            }
            _ => {}
        }
        for &t in node.inputs.iter().chain(node.params.iter().flatten()) {
            if !in_range(t) {
                problems.push(format!("{what} reads tensor {t}, which does not exist"));
            } else if !is_available(t, &defined) {
                problems.push(format!(
                    "{what} reads '{}' before anything produces it",
                    graph.tensor(t).name
                ));
            } else {
                live.insert(t);
            }
        }
        for &t in &node.outputs {
            if !in_range(t) {
                problems.push(format!("{what} writes tensor {t}, which does not exist"));
                continue;
            }
            let tensor = graph.tensor(t);
            if tensor.is_constant() {
                problems.push(format!(
                    "{what} writes '{}', which is a constant",
                    tensor.name
                ));
            }
            if !defined.insert(t) {
                problems.push(format!(
                    "'{}' is written by more than one node (or is a graph input)",
                    tensor.name
                ));
            }
            live.insert(t);
        }
    }
    for &t in &graph.outputs {
        if !in_range(t) {
            problems.push(format!("graph output {t} does not exist"));
        } else if !is_available(t, &defined) {
            problems.push(format!(
                "graph output '{}' is never produced",
                graph.tensor(t).name
            ));
        } else {
            live.insert(t);
        }
    }
    if graph.outputs.is_empty() {
        problems.push("the graph has no outputs".to_string());
    }
    let n_states = graph.states.len();
    if n_states > graph.inputs.len() || n_states >= graph.outputs.len() {
        problems.push(format!(
            "the graph has {n_states} state variables but {} inputs and {} outputs",
            graph.inputs.len(),
            graph.outputs.len()
        ));
    } else {
        for (k, state) in graph.states.iter().enumerate() {
            let (input, output) = (graph.state_input(k), graph.state_output(k));
            if !in_range(input) || !in_range(output) {
                continue;
            }
            let (input, output) = (graph.tensor(input), graph.tensor(output));
            let len = |t: &Tensor| t.shape.as_deref().map(crate::ir::num_elements);
            let initial_len = crate::dispatch_data!(&state.initial, v => v.len());
            if input.dtype != output.dtype
                || input.dtype != state.initial.dtype()
                || len(input) != len(output)
                || len(input).is_some_and(|n| n != initial_len)
            {
                problems.push(format!(
                    "state '{}': its value '{}' ({} {:?}), its next value '{}' ({} {:?}) and its \
                     {initial_len} initial {} values do not match",
                    state.name,
                    input.name,
                    input.dtype,
                    input.shape,
                    output.name,
                    output.dtype,
                    output.shape,
                    state.initial.dtype()
                ));
            }
        }
    }

    let mut names = HashSet::new();
    let mut live: Vec<TensorId> = live.into_iter().collect();
    live.sort();
    for t in live {
        let tensor = graph.tensor(t);
        if !names.insert(tensor.name.as_str()) {
            problems.push(format!("two tensors are named '{}'", tensor.name));
        }
        if let Some(data) = &tensor.data {
            if data.dtype() != tensor.dtype {
                problems.push(format!(
                    "constant '{}' is {} but holds {} data",
                    tensor.name,
                    tensor.dtype,
                    data.dtype()
                ));
            }
            match &tensor.shape {
                Some(shape) if shape.iter().product::<usize>() != data.len() => problems
                    .push(format!(
                        "constant '{}' has shape {shape:?} but {} elements",
                        tensor.name,
                        data.len()
                    )),
                None => problems.push(format!("constant '{}' has no shape", tensor.name)),
                _ => {}
            }
        }
        if let Some(q) = &tensor.quant {
            check_quantization(tensor, q, &mut problems);
        }
        if let Some(storage) = &tensor.storage {
            check_storage(tensor, storage, &mut problems);
        }
        if stage >= Stage::Inferred && tensor.shape.is_none() {
            problems.push(format!(
                "'{}' has no static shape after shape inference",
                tensor.name
            ));
        }
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Quantization parameters must describe an integer tensor: one zero point per scale, finite
/// positive scales, zero points in the element type's range, and an axis that exists and has one
/// entry per scale; 4-bit integers are constant `i8` values in `[-8, 7]` with zero points 0.
fn check_quantization(tensor: &Tensor, q: &Quantization, problems: &mut Vec<String>) {
    let name = &tensor.name;
    if !tensor.dtype.is_integer() {
        problems.push(format!("'{name}' is {} but has quantization", tensor.dtype));
    }
    if q.scale.is_empty() || q.scale.len() != q.zero_point.len() {
        problems.push(format!(
            "'{name}' has {} scales and {} zero points",
            q.scale.len(),
            q.zero_point.len()
        ));
    }
    if let Some(bad) = q.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        problems.push(format!("'{name}' has the quantization scale {bad}"));
    }
    let (low, high) = tensor.dtype.integer_range();
    if let Some(bad) = q
        .zero_point
        .iter()
        .find(|&&z| (z as i64) < low || (z as i64) > high)
    {
        problems.push(format!(
            "'{name}' has the zero point {bad}, outside the range of {}",
            tensor.dtype
        ));
    }
    if let (Some(shape), true) = (&tensor.shape, q.is_per_axis())
        && shape.get(q.axis) != Some(&q.scale.len())
    {
        problems.push(format!(
            "'{name}' {shape:?} has {} scales along axis {}",
            q.scale.len(),
            q.axis
        ));
    }
    // 4-bit integers are constant int8 weights whose values fit in four bits, symmetric (the
    // packed kernels have no weight zero point).
    if q.int4 {
        match &tensor.data {
            Some(TensorData::I8(values)) => {
                if let Some(bad) = values.iter().find(|v| !(-8..=7).contains(*v)) {
                    problems.push(format!("'{name}' is int4 but holds the value {bad}"));
                }
            }
            _ => problems.push(format!("'{name}' is int4 but not a constant of i8")),
        }
        if q.zero_point.iter().any(|&z| z != 0) {
            problems.push(format!("'{name}' is int4 with a zero point other than 0"));
        }
    }
}

/// A [`WeightStorage`] describes a float constant whose every value the stored form holds
/// exactly: an integer in `[-127, 127]` times its channel's finite positive scale, or a float16.
fn check_storage(tensor: &Tensor, storage: &WeightStorage, problems: &mut Vec<String>) {
    let name = &tensor.name;
    let Some(TensorData::F32(values)) = &tensor.data else {
        problems.push(format!(
            "'{name}' has a weight storage but is not an f32 constant"
        ));
        return;
    };
    let Some(shape) = &tensor.shape else {
        return;
    };
    match storage {
        WeightStorage::Int8 { scale, axis } => {
            if let Some(bad) = scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
                problems.push(format!("'{name}' is stored as int8 with the scale {bad}"));
                return;
            }
            if scale.len() != 1 && shape.get(*axis) != Some(&scale.len()) {
                problems.push(format!(
                    "'{name}' {shape:?} is stored as int8 with {} scales along axis {axis}",
                    scale.len()
                ));
                return;
            }
            let unrepresentable = values.iter().enumerate().find(|&(i, &v)| {
                let s = WeightStorage::int8_scale(scale, *axis, shape, i);
                let q = (v / s).round();
                !(-127.0..=127.0).contains(&q) || q * s != v
            });
            if let Some((i, v)) = unrepresentable {
                problems.push(format!(
                    "'{name}' is stored as int8 but its element {i}, {v}, is no integer in \
                     [-127, 127] times its scale"
                ));
            }
        }
        WeightStorage::Codebook {
            values: shared,
            scale,
            axis,
        } => {
            if shared.is_empty()
                || shared.len() > 256
                || shared.iter().any(|v| !v.is_finite())
            {
                problems.push(format!(
                    "'{name}' is stored as a codebook of {} values, not 1 to 256 finite ones",
                    shared.len()
                ));
                return;
            }
            if let Some(bad) = scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
                problems.push(format!(
                    "'{name}' is stored as a codebook with the scale {bad}"
                ));
                return;
            }
            if scale.len() > 1 && shape.get(*axis) != Some(&scale.len()) {
                problems.push(format!(
                    "'{name}' {shape:?} is stored as a codebook with {} scales along axis \
                     {axis}",
                    scale.len()
                ));
                return;
            }
            if let Err(i) =
                WeightStorage::codebook_indices(shared, scale, *axis, shape, values)
            {
                problems.push(format!(
                    "'{name}' is stored as a codebook but its element {i}, {}, is none of the \
                     codebook's values times its scale",
                    values[i]
                ));
            }
        }
        WeightStorage::F16 => {
            let widen = crate::kernels::weights::f16_to_f32;
            let narrow = |v: f32| crate::kernels::elementwise::f16_from_f64(v as f64);
            if let Some((i, v)) = values
                .iter()
                .enumerate()
                .find(|&(_, &v)| widen(narrow(v)).to_bits() != v.to_bits())
            {
                problems.push(format!(
                    "'{name}' is stored as float16 but its element {i}, {v}, is no float16"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::text::parse;

    /// Stored weights must hold exactly what the stored form decodes to.
    #[test]
    fn refuses_weights_the_stored_form_cannot_hold() {
        let graph = |storage: &str, values: &str| {
            parse(&format!(
                "graph g {{\n input %x: f32[1, 2]\n const %w: f32[2, 2] {storage} = \
                 [{values}]\n %y: f32[1, 2] = Gemm(%x, %w) @fc\n output %y\n}}"
            ))
            .unwrap()
        };
        let problems = |g: &Graph| validate(g, Stage::Inferred).err().unwrap_or_default();
        let ok = graph("stored(int8, [0.5, 2], 1)", "1, 4, -63.5, 254");
        assert_eq!(problems(&ok), "");
        // 0.3 is no multiple of 0.5; 256 is 128 steps of 2, one too many.
        let off_grid = graph("stored(int8, [0.5, 2], 1)", "0.3, 4, -63.5, 254");
        assert!(
            problems(&off_grid).contains("element 0, 0.3"),
            "{}",
            problems(&off_grid)
        );
        let too_large = graph("stored(int8, [0.5, 2], 1)", "1, 4, -63.5, 256");
        assert!(
            problems(&too_large).contains("element 3, 256"),
            "{}",
            problems(&too_large)
        );
        let scales = graph("stored(int8, [0.5, 2, 1], 1)", "1, 4, -63.5, 254");
        assert!(problems(&scales).contains("3 scales along axis 1"));
        let half = graph("stored(f16)", "1, 0.1, 2, 3");
        assert!(
            problems(&half).contains("element 1, 0.1"),
            "{}",
            problems(&half)
        );
    }

    #[test]
    fn accepts_a_well_formed_graph() {
        let g = parse(
            "graph g {\n input %x: f32[1, 4]\n %y: f32[1, 4] = Relu(%x) @r\n output %y\n}",
        )
        .unwrap();
        validate(&g, Stage::Inferred).unwrap();
    }

    #[test]
    fn int4_values_must_fit_in_four_bits() {
        let text = |w: &str| {
            format!(
                "graph g {{\n input %x: i8[1, 2] quant(0.5, 0)\n const %w: i8[1, 2] \
                 quant(0.25, 0) int4 = [{w}]\n %y: i8[1, 1] quant(1, 0) = Gemm(%x, %w) \
                 {{trans_b=true}} @fc\n output %y\n}}"
            )
        };
        validate(&parse(&text("-8, 7")).unwrap(), Stage::Inferred).unwrap();
        let err = validate(&parse(&text("-9, 7")).unwrap(), Stage::Inferred).unwrap_err();
        assert!(err.contains("is int4 but holds the value -9"), "{err}");
    }

    #[test]
    fn reports_every_problem() {
        let mut g = parse(
            "graph g {\n input %x: f32[1, 4]\n %y: f32[?] = Relu(%x) @r\n %z: f32[1, 4] = Add(%y) @a\n output %z\n}",
        )
        .unwrap();
        let err = validate(&g, Stage::Inferred).unwrap_err();
        assert!(err.contains("Add 'a' has 1 inputs"), "{err}");
        assert!(err.contains("'y' has no static shape"), "{err}");
        // A use before the definition: swap the two nodes.
        g.nodes.swap(0, 1);
        let err = validate(&g, Stage::Imported).unwrap_err();
        assert!(
            err.contains("reads 'y' before anything produces it"),
            "{err}"
        );
    }
}
