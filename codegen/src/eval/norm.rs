//! Reference implementations of the normalisation ops: `LayerNormalization`,
//! `InstanceNormalization` and `LRN`, as the ONNX operator definitions write them.

use super::Value;
use crate::ir::TensorData;
use crate::ir::op::{BatchNormTrainingAttrs, LayerNormAttrs, LrnAttrs};

type R<T> = Result<T, String>;

/// Mean and `1 / sqrt(variance + epsilon)` of a slice (the population variance).
fn statistics(values: impl Iterator<Item = f64> + Clone, epsilon: f32) -> (f64, f64) {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    let variance = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, 1.0 / (variance + epsilon as f64).sqrt())
}

/// `LayerNormalization`: `Y`, then `Mean` and `InvStdDev` as `n_outputs` asks.
pub fn layer_norm(
    a: &LayerNormAttrs,
    x: &Value,
    scale: &Value,
    bias: Option<&Value>,
    out_shapes: &[Vec<usize>],
) -> R<Vec<Value>> {
    let xs = x.floats("LayerNormalization")?;
    let s = scale.floats("LayerNormalization")?;
    let b = bias.map(|b| b.floats("LayerNormalization")).transpose()?;
    let axis = a.axis as usize;
    let inner: usize = x.shape[axis..].iter().product();
    let outer: usize = x.shape[..axis].iter().product();
    let (mut y, mut means, mut inv_std) = (vec![0f32; xs.len()], Vec::new(), Vec::new());
    for o in 0..outer {
        let row = &xs[o * inner..(o + 1) * inner];
        let (mean, inv) = statistics(row.iter().map(|&v| v as f64), a.epsilon);
        for i in 0..inner {
            let normalised = (row[i] as f64 - mean) * inv;
            let shifted = normalised * s[i] as f64 + b.map_or(0.0, |b| b[i] as f64);
            y[o * inner + i] = shifted as f32;
        }
        means.push(mean as f32);
        inv_std.push(inv as f32);
    }
    let all = [y, means, inv_std];
    Ok(out_shapes
        .iter()
        .zip(all)
        .map(|(shape, data)| Value::new(shape.clone(), TensorData::F32(data)))
        .collect())
}

/// `InstanceNormalization`: each `[n, c]` plane normalised, then `scale[c] · x + bias[c]`.
pub fn instance_norm(x: &Value, scale: &Value, bias: &Value, epsilon: f32) -> R<Vec<f32>> {
    let xs = x.floats("InstanceNormalization")?;
    let (s, b) = (
        scale.floats("InstanceNormalization")?,
        bias.floats("InstanceNormalization")?,
    );
    let (n, c) = (x.shape[0], x.shape[1]);
    let inner: usize = x.shape[2..].iter().product();
    let mut y = vec![0f32; xs.len()];
    for plane in 0..n * c {
        let ch = plane % c;
        let values = &xs[plane * inner..(plane + 1) * inner];
        let (mean, inv) = statistics(values.iter().map(|&v| v as f64), epsilon);
        for i in 0..inner {
            let v = (values[i] as f64 - mean) * inv * s[ch] as f64 + b[ch] as f64;
            y[plane * inner + i] = v as f32;
        }
    }
    Ok(y)
}

/// Training-mode `BatchNormalization`: `y` normalised with each channel's batch mean and
/// biased variance (over every axis but 1), then as many of `running_mean = input_mean ·
/// momentum + mean · (1 − momentum)` and `running_var` (likewise) as `out_shapes` asks.
pub fn batch_norm_training(
    a: &BatchNormTrainingAttrs,
    inputs: &[&Value],
    out_shapes: &[Vec<usize>],
) -> R<Vec<Value>> {
    const OP: &str = "BatchNormalization";
    let x = inputs[0];
    let xs = x.floats(OP)?;
    let [scale, bias, input_mean, input_var] = [1, 2, 3, 4].map(|i| inputs[i].floats(OP));
    let (scale, bias, input_mean, input_var) = (scale?, bias?, input_mean?, input_var?);
    let (n, channels) = (x.shape[0], x.shape[1]);
    let inner: usize = x.shape[2..].iter().product();
    let plane = |b: usize, c: usize| &xs[(b * channels + c) * inner..][..inner];
    let mut y = vec![0f32; xs.len()];
    let (mut running_mean, mut running_var) = (Vec::new(), Vec::new());
    for c in 0..channels {
        let values = (0..n).flat_map(|b| plane(b, c).iter().map(|&v| v as f64));
        let count = (n * inner) as f64;
        let mean = values.clone().sum::<f64>() / count;
        let variance = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / count;
        let inv = 1.0 / (variance + a.epsilon as f64).sqrt();
        for b in 0..n {
            let at = (b * channels + c) * inner;
            for i in 0..inner {
                let normalised = (xs[at + i] as f64 - mean) * inv;
                y[at + i] = (normalised * scale[c] as f64 + bias[c] as f64) as f32;
            }
        }
        let momentum = a.momentum as f64;
        running_mean
            .push((input_mean[c] as f64 * momentum + mean * (1.0 - momentum)) as f32);
        running_var
            .push((input_var[c] as f64 * momentum + variance * (1.0 - momentum)) as f32);
    }
    let all = [y, running_mean, running_var];
    Ok(out_shapes
        .iter()
        .zip(all)
        .map(|(shape, data)| Value::new(shape.clone(), TensorData::F32(data)))
        .collect())
}

/// `LRN`: `x / (bias + alpha / size · Σ x²)^beta`, the sum over channels
/// `c - floor((size - 1) / 2) ..= c + ceil((size - 1) / 2)` that exist.
pub fn lrn(a: &LrnAttrs, x: &Value) -> R<Vec<f32>> {
    let xs = x.floats("LRN")?;
    let (n, c) = (x.shape[0], x.shape[1]);
    let inner: usize = x.shape[2..].iter().product();
    let (before, after) = ((a.size - 1) / 2, a.size / 2);
    let mut y = vec![0f32; xs.len()];
    for b in 0..n {
        for ch in 0..c {
            let lo = ch.saturating_sub(before);
            let hi = (ch + after).min(c - 1);
            for i in 0..inner {
                let at = |k: usize| xs[(b * c + k) * inner + i] as f64;
                let square_sum: f64 = (lo..=hi).map(|k| at(k) * at(k)).sum();
                let base = a.bias as f64 + a.alpha as f64 / a.size as f64 * square_sum;
                y[(b * c + ch) * inner + i] = (at(ch) / base.powf(a.beta as f64)) as f32;
            }
        }
    }
    Ok(y)
}
