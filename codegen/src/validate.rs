//! `edgegen validate`: how far a build's outputs are from the float model's, on the user's data.
//!
//! The float reference is the reference evaluator on the model compiled without quantization;
//! the build under test is the generated code, compiled and run. Per output: largest and mean
//! absolute error, cosine similarity, and for classifiers (last axis of several values) the
//! agreement of the top-1 classes and the accuracy against labels. Per layer (`--per-layer`),
//! the signal-to-quantization-noise ratio of every int8 tensor against the float tensor it
//! stands for, which shows where a quantized model loses its accuracy.

use std::collections::HashMap;

use serde::Serialize;

use crate::error::Result;
use crate::eval::Value;
use crate::ir::{Graph, TensorData};

/// How one output of the build compares with the float model's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutputMetrics {
    pub name: String,
    pub max_abs_error: f64,
    pub mean_abs_error: f64,
    pub cosine: f64,
    /// Share of samples whose largest value is in the same place (classifiers only).
    pub top1_agreement: Option<f64>,
}

/// Compares `actual` with `expected`, both `samples` samples of one output; `classes` is the
/// length of the last axis.
pub fn compare(
    name: &str,
    expected: &[f32],
    actual: &[f32],
    samples: usize,
    classes: usize,
) -> OutputMetrics {
    let n = expected.len().min(actual.len());
    let (mut max, mut sum, mut dot, mut ee, mut aa) = (0f64, 0f64, 0f64, 0f64, 0f64);
    for (&e, &a) in expected.iter().zip(actual).take(n) {
        let (e, a) = (e as f64, a as f64);
        let error = (e - a).abs();
        max = max.max(error);
        sum += error;
        dot += e * a;
        ee += e * e;
        aa += a * a;
    }
    let cosine = if ee == 0.0 && aa == 0.0 {
        1.0
    } else if ee == 0.0 || aa == 0.0 {
        0.0
    } else {
        dot / (ee.sqrt() * aa.sqrt())
    };
    let top1_agreement = (classes > 1 && samples > 0).then(|| {
        let same = top1(expected, classes)
            .iter()
            .zip(top1(actual, classes))
            .filter(|(a, b)| **a == *b)
            .count();
        same as f64 / samples as f64
    });
    OutputMetrics {
        name: name.to_string(),
        max_abs_error: max,
        mean_abs_error: if n == 0 { 0.0 } else { sum / n as f64 },
        cosine,
        top1_agreement,
    }
}

/// The index of the largest value of each group of `classes` values (the first on ties).
pub fn top1(values: &[f32], classes: usize) -> Vec<usize> {
    values
        .chunks_exact(classes.max(1))
        .map(|c| (0..c.len()).fold(0, |best, k| if c[k] > c[best] { k } else { best }))
        .collect()
}

/// The share of samples whose top-1 class is the label.
pub fn accuracy(values: &[f32], classes: usize, labels: &[i64]) -> f64 {
    let predicted = top1(values, classes);
    let correct = predicted
        .iter()
        .zip(labels)
        .filter(|(p, l)| **p as i64 == **l)
        .count();
    correct as f64 / labels.len().max(1) as f64
}

/// Labels from an integer array with one value per sample.
pub fn labels(value: &Value, samples: usize) -> std::result::Result<Vec<i64>, String> {
    let labels: Vec<i64> = match &value.data {
        TensorData::I64(v) => v.clone(),
        TensorData::I32(v) => v.iter().map(|&x| x as i64).collect(),
        TensorData::U8(v) => v.iter().map(|&x| x as i64).collect(),
        TensorData::I8(v) => v.iter().map(|&x| x as i64).collect(),
        other => {
            return Err(format!(
                "labels must be integers (class indices), not {}",
                other.dtype()
            ));
        }
    };
    if labels.len() != samples {
        return Err(format!("{} labels for {samples} samples", labels.len()));
    }
    Ok(labels)
}

/// The SQNR of one quantized layer output.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerSqnr {
    /// The float tensor's name.
    pub tensor: String,
    /// The node that computes it in the quantized graph.
    pub layer: String,
    pub op: String,
    /// `10 log10(Σ x² / Σ (x − x̂)²)` over the samples, in decibels (infinite when exact).
    pub sqnr_db: f64,
}

/// For every int8 tensor of `quantized` that stands for a float tensor of `float` (same name
/// with `/int8`, or its channels-last version `/int8/nhwc`), the SQNR of its dequantized values
/// against the float ones, over `samples` (one value per graph input each).
pub fn per_layer_sqnr(
    float: &Graph,
    quantized: &Graph,
    samples: &[Vec<Value>],
) -> Result<Vec<LayerSqnr>> {
    // Float values by tensor name, per sample.
    let mut signal: HashMap<String, f64> = HashMap::new();
    let mut noise: HashMap<String, f64> = HashMap::new();
    // Quantized tensor id → (float name, whether channels-last).
    let mut stands_for: HashMap<usize, (String, bool)> = HashMap::new();
    for (id, tensor) in quantized.tensors.iter().enumerate() {
        let Some(quant) = &tensor.quant else { continue };
        if tensor.data.is_some() || quant.is_per_axis() {
            continue;
        }
        let (base, nhwc) = match tensor.name.strip_suffix("/int8/nhwc") {
            Some(base) => (base, true),
            None => match tensor.name.strip_suffix("/int8") {
                Some(base) => (base, false),
                None => continue,
            },
        };
        stands_for.insert(id, (base.to_string(), nhwc));
    }
    for sample in samples {
        let mut float_values: HashMap<String, Vec<f32>> = HashMap::new();
        crate::eval::evaluate_observed(float, sample, &mut |t, value| {
            if let TensorData::F32(v) = &value.data {
                float_values.insert(float.tensor(t).name.clone(), v.clone());
            }
        })?;
        crate::eval::evaluate_observed(quantized, sample, &mut |t, value| {
            let Some((base, nhwc)) = stands_for.get(&t.0) else {
                return;
            };
            let (Some(reference), TensorData::I8(q)) =
                (float_values.get(base), &value.data)
            else {
                return;
            };
            let tensor = quantized.tensor(t);
            let (scale, zero) = tensor
                .quant
                .as_ref()
                .and_then(|q| q.single())
                .unwrap_or((1.0, 0));
            let real = |i: usize| scale as f64 * (q[i] as i64 - zero as i64) as f64;
            let shape = tensor.shape();
            if reference.len() != q.len() {
                return;
            }
            let (s, n) = (
                signal.entry(base.clone()).or_default(),
                noise.entry(base.clone()).or_default(),
            );
            // NCHW index of channels-last element i.
            let nchw = |i: usize| {
                if !*nhwc || shape.len() != 4 {
                    return i;
                }
                let (h, w, c) = (shape[1], shape[2], shape[3]);
                let (b, rest) = (i / (h * w * c), i % (h * w * c));
                let (y, rest) = (rest / (w * c), rest % (w * c));
                let (x, ch) = (rest / c, rest % c);
                ((b * c + ch) * h + y) * w + x
            };
            for i in 0..q.len() {
                let x = reference[nchw(i)] as f64;
                *s += x * x;
                *n += (x - real(i)).powi(2);
            }
        })?;
    }
    let mut rows = Vec::new();
    for node in &quantized.nodes {
        for &t in &node.outputs {
            let Some((base, _)) = stands_for.get(&t.0) else {
                continue;
            };
            let (Some(&s), Some(&n)) = (signal.get(base), noise.get(base)) else {
                continue;
            };
            if rows.iter().any(|r: &LayerSqnr| &r.tensor == base) {
                continue;
            }
            let sqnr_db = if n == 0.0 {
                f64::INFINITY
            } else {
                10.0 * (s / n).log10()
            };
            rows.push(LayerSqnr {
                tensor: base.clone(),
                layer: node.name.clone(),
                op: node.op.name().to_string(),
                sqnr_db,
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_equal_and_different_outputs() {
        let m = compare("y", &[0.1, 0.9, 0.8, 0.2], &[0.1, 0.9, 0.8, 0.2], 2, 2);
        assert_eq!(m.max_abs_error, 0.0);
        assert!((m.cosine - 1.0).abs() < 1e-12);
        assert_eq!(m.top1_agreement, Some(1.0));
        let m = compare("y", &[0.1, 0.9, 0.8, 0.2], &[0.6, 0.4, 0.8, 0.2], 2, 2);
        assert!((m.max_abs_error - 0.5).abs() < 1e-6);
        assert!((m.mean_abs_error - 0.25).abs() < 1e-6);
        assert_eq!(m.top1_agreement, Some(0.5));
        assert_eq!(compare("y", &[1.0], &[2.0], 1, 1).top1_agreement, None);
    }

    #[test]
    fn accuracy_counts_top1_matches() {
        assert_eq!(
            accuracy(&[0.1, 0.9, 0.8, 0.2, 0.3, 0.7], 2, &[1, 1, 1]),
            2.0 / 3.0
        );
        assert!(labels(&Value::f32(vec![2], vec![0.0, 1.0]), 2).is_err());
        assert!(labels(&Value::new(vec![3], TensorData::I64(vec![0, 1, 2])), 2).is_err());
    }
}
