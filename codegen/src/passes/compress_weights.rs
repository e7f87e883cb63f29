//! Stores the weights of float layers in fewer bits while the layers still compute in float:
//! `--quantize int8-weights` (int8 integers with one scale per output channel, a quarter of the
//! bytes; the "hybrid" or weight-only mode) and `--quantize fp16` (IEEE half precision, half
//! the bytes). No calibration is needed: only constants change.
//!
//! Each weight is rounded to the nearest value the stored form holds (an integer in
//! `[-127, 127]` times the channel's scale `max |w| / 127`, or the nearest float16), and that
//! rounded value replaces it in the IR, with a [`WeightStorage`] saying how generated code
//! stores it. The reference evaluator therefore computes exactly what the generated code
//! computes, which decodes each weight as it reads it (`kernels::weights`), and `validate`
//! measures the cost of the rounding against the float model.
//!
//! The layers are the float `Gemm` (constant `B`; its output channels are the columns of `B`,
//! the rows when `transB`) and the float `Conv`, NCHW or channels-last (output channels along
//! the weights' first axis). A weight tensor that anything else also reads stays `f32`, as do
//! tensors with values float16 cannot hold (infinities, NaNs, magnitudes beyond 65504), which
//! the pass report names. The pass runs after `quantize`, so the weights of layers that became
//! int8 are never touched twice.

use std::collections::HashMap;

use crate::error::Result;
use crate::ir::{DType, Graph, Op, TensorData, TensorId, WeightStorage};
use crate::kernels::elementwise::f16_from_f64;
use crate::kernels::weights::f16_to_f32;
use crate::passes::{PassOptions, PassReport};

/// What `--quantize int8-weights` or `--quantize fp16` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredWeights {
    /// int8 integers, with one scale per output channel, or one per tensor when `per_tensor`.
    Int8 { per_tensor: bool },
    /// IEEE 754 half precision.
    F16,
}

/// The pass.
pub fn compress_weights(graph: &mut Graph, options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("compress_weights");
    let Some(mode) = options.stored_weights else {
        return Ok(report);
    };
    let mut readers: HashMap<TensorId, usize> = HashMap::new();
    for node in &graph.nodes {
        for &t in node.inputs.iter().chain(node.params.iter().flatten()) {
            *readers.entry(t).or_default() += 1;
        }
    }
    let (mut before, mut after) = (0usize, 0usize);
    let mut kept_float = Vec::new();
    for n in 0..graph.nodes.len() {
        let node = &graph.nodes[n];
        let Some(axis) = output_channel_axis(&node.op) else {
            continue;
        };
        let (x, w) = (node.inputs[0], node.inputs[1]);
        let tensor = graph.tensor(w);
        let is_float_layer =
            graph.tensor(x).dtype == DType::F32 && tensor.dtype == DType::F32;
        if !is_float_layer || tensor.storage.is_some() || graph.outputs.contains(&w) {
            continue;
        }
        let Some(TensorData::F32(values)) = &tensor.data else {
            continue;
        };
        if readers.get(&w) != Some(&1) {
            kept_float.push(format!("'{}' (read by several nodes)", tensor.name));
            continue;
        }
        let shape = tensor.shape().to_vec();
        let stored = match mode {
            StoredWeights::Int8 { per_tensor } => {
                store_int8(values, &shape, if per_tensor { None } else { Some(axis) })
            }
            StoredWeights::F16 => store_f16(values),
        };
        let Some((rounded, storage)) = stored else {
            kept_float.push(format!(
                "'{}' (it holds values {} cannot: infinite, NaN or too large)",
                tensor.name,
                if mode == StoredWeights::F16 {
                    "float16"
                } else {
                    "int8 with a scale"
                }
            ));
            continue;
        };
        before += tensor.size_bytes();
        let tensor = graph.tensor_mut(w);
        tensor.data = Some(TensorData::F32(rounded));
        tensor.storage = Some(storage);
        after += tensor.stored_bytes();
        report.changes += 1;
    }
    if report.changes > 0 {
        report.details.push(format!(
            "the weights of {} float layers stored as {}: {before} bytes become {after}",
            report.changes,
            match mode {
                StoredWeights::Int8 { .. } => "int8",
                StoredWeights::F16 => "float16",
            }
        ));
    }
    if !kept_float.is_empty() {
        report
            .details
            .push(format!("left in float32: {}", kept_float.join(", ")));
    }
    Ok(report)
}

/// The axis of a layer's weights (input 1) along which its output channels run, for the layers
/// whose kernels read stored weights.
pub(super) fn output_channel_axis(op: &Op) -> Option<usize> {
    match op {
        // `B` is `[k, n]`, or `[n, k]` with `transB`.
        Op::Gemm(a) => Some(if a.trans_b { 0 } else { 1 }),
        Op::Conv(_) => Some(0),
        _ => None,
    }
}

/// The values rounded to int8 integers times a scale of `max |w| / 127` per index of `axis`
/// (or one for the tensor), and their storage; `None` if a value is not finite.
fn store_int8(
    values: &[f32],
    shape: &[usize],
    axis: Option<usize>,
) -> Option<(Vec<f32>, WeightStorage)> {
    if values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let (channels, axis) = match axis {
        Some(a) => (shape[a], a),
        None => (1, 0),
    };
    let mut largest = vec![0f32; channels];
    let scale_index = |i: usize| match channels {
        1 => 0,
        _ => (i / shape[axis + 1..].iter().product::<usize>().max(1)) % channels,
    };
    for (i, v) in values.iter().enumerate() {
        let c = scale_index(i);
        largest[c] = largest[c].max(v.abs());
    }
    // A channel of zeros takes any positive scale; its integers are all 0.
    let scale: Vec<f32> = largest
        .iter()
        .map(|&m| if m > 0.0 { m / 127.0 } else { 1.0 })
        .collect();
    if scale.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return None;
    }
    let rounded = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let s = scale[scale_index(i)];
            (v / s).round().clamp(-127.0, 127.0) * s
        })
        .collect();
    Some((rounded, WeightStorage::Int8 { scale, axis }))
}

/// The values rounded to the nearest float16, and their storage; `None` if a value is not finite
/// or rounds to infinity.
fn store_f16(values: &[f32]) -> Option<(Vec<f32>, WeightStorage)> {
    let rounded: Vec<f32> = values
        .iter()
        .map(|&v| f16_to_f32(f16_from_f64(v as f64)))
        .collect();
    if rounded.iter().any(|v| !v.is_finite()) {
        return None;
    }
    Some((rounded, WeightStorage::F16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_scales_follow_the_output_channel_axis() {
        // Two channels along axis 1 of a [2, 2] matrix: columns.
        let values = [1.0, -0.5, -2.0, 0.25];
        let (rounded, storage) = store_int8(&values, &[2, 2], Some(1)).unwrap();
        let WeightStorage::Int8 { scale, axis } = storage else {
            panic!("int8 storage")
        };
        assert_eq!((scale.clone(), axis), (vec![2.0 / 127.0, 0.5 / 127.0], 1));
        // The largest magnitude of each channel is exact; others round to a step.
        assert_eq!(rounded[2], -2.0);
        assert_eq!(rounded[1], -0.5);
        assert_eq!(rounded[0], (1.0f32 / scale[0]).round() * scale[0]);
        assert!((rounded[0] - 1.0).abs() <= scale[0] / 2.0);
    }

    #[test]
    fn a_channel_of_zeros_stays_zero() {
        let (rounded, storage) =
            store_int8(&[0.0, 0.0, 3.0, -1.0], &[2, 2], Some(0)).unwrap();
        assert_eq!(rounded[..2], [0.0, 0.0]);
        assert!(
            matches!(storage, WeightStorage::Int8 { ref scale, .. } if scale[0] == 1.0)
        );
    }

    #[test]
    fn values_the_stored_form_cannot_hold_keep_the_tensor_in_float() {
        assert!(store_int8(&[1.0, f32::NAN], &[2], Some(0)).is_none());
        assert!(store_f16(&[1.0, 70000.0]).is_none());
        let (rounded, _) = store_f16(&[1.0, 65504.0, 1e-9, 0.1]).unwrap();
        assert_eq!(rounded[..3], [1.0, 65504.0, 0.0]);
        assert_eq!(rounded[3], f16_to_f32(0x2e66));
    }
}
