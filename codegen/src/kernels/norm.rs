//! Normalisation kernels: layer normalisation (and its statistics), instance normalisation
//! and local response normalisation.

use super::math;

/// `LayerNormalization` over rows: `x` is `[outer, inner]`, each row normalised on its own.
#[derive(Clone, Copy, Debug)]
pub struct LayerNorm {
    pub outer: usize,
    pub inner: usize,
    pub epsilon: f32,
}

/// Which statistic of each row [`layer_norm_statistic`] writes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Statistic {
    Mean,
    /// `1 / sqrt(variance + epsilon)`.
    InvStdDev,
}

/// The mean and `1 / sqrt(variance + epsilon)` of a slice (two passes, population variance).
#[inline(always)]
fn mean_inv_std(values: &[f32], epsilon: f32) -> (f32, f32) {
    let n = values.len() as f32;
    let mut sum = 0.0;
    for &v in values {
        sum += v;
    }
    let mean = sum / n;
    let mut squares = 0.0;
    for &v in values {
        squares += (v - mean) * (v - mean);
    }
    (mean, 1.0 / math::sqrt(squares / n + epsilon))
}

/// `y = (x - mean) / sqrt(variance + epsilon) · scale + bias` per row; `scale` and `bias` have
/// one value per column, an empty `bias` is zero.
#[inline(always)]
pub fn layer_norm(p: LayerNorm, x: &[f32], scale: &[f32], bias: &[f32], y: &mut [f32]) {
    for o in 0..p.outer {
        let row = &x[o * p.inner..][..p.inner];
        let out = &mut y[o * p.inner..][..p.inner];
        let (mean, inv) = mean_inv_std(row, p.epsilon);
        for i in 0..p.inner {
            let b = if bias.is_empty() { 0.0 } else { bias[i] };
            out[i] = (row[i] - mean) * inv * scale[i] + b;
        }
    }
}

/// One statistic per row (the optional outputs of `LayerNormalization`).
#[inline(always)]
pub fn layer_norm_statistic(p: LayerNorm, statistic: Statistic, x: &[f32], y: &mut [f32]) {
    for o in 0..p.outer {
        let (mean, inv) = mean_inv_std(&x[o * p.inner..][..p.inner], p.epsilon);
        y[o] = match statistic {
            Statistic::Mean => mean,
            Statistic::InvStdDev => inv,
        };
    }
}

/// `InstanceNormalization`: `x` is `[batch, channels, inner]`, each plane normalised, then
/// scaled and shifted by its channel's `scale` and `bias`.
#[derive(Clone, Copy, Debug)]
pub struct InstanceNorm {
    pub batch: usize,
    pub channels: usize,
    pub inner: usize,
    pub epsilon: f32,
}

#[inline(always)]
pub fn instance_norm(
    p: InstanceNorm,
    x: &[f32],
    scale: &[f32],
    bias: &[f32],
    y: &mut [f32],
) {
    for plane in 0..p.batch * p.channels {
        let c = plane % p.channels;
        let values = &x[plane * p.inner..][..p.inner];
        let out = &mut y[plane * p.inner..][..p.inner];
        let (mean, inv) = mean_inv_std(values, p.epsilon);
        let s = inv * scale[c];
        for i in 0..p.inner {
            out[i] = (values[i] - mean) * s + bias[c];
        }
    }
}

/// `BatchNormalization` of `[batch, channels, inner]` data whose statistics are not constants:
/// given at run time (inference mode), or those of the batch itself (training mode).
#[derive(Clone, Copy, Debug)]
pub struct BatchNorm {
    pub batch: usize,
    pub channels: usize,
    pub inner: usize,
    pub epsilon: f32,
}

/// `y = (x − mean) / sqrt(var + epsilon) · scale + bias` over channel `c`, as one scale and
/// shift; `statistics` is `(mean, var)`, `affine` is `(scale, bias)`.
#[inline(always)]
fn batch_norm_channel(
    p: BatchNorm,
    c: usize,
    statistics: (f32, f32),
    affine: (f32, f32),
    x: &[f32],
    y: &mut [f32],
) {
    let ((mean, var), (scale, bias)) = (statistics, affine);
    let s = scale / math::sqrt(var + p.epsilon);
    let shift = bias - mean * s;
    for b in 0..p.batch {
        let at = (b * p.channels + c) * p.inner;
        for (o, &v) in y[at..][..p.inner].iter_mut().zip(&x[at..][..p.inner]) {
            *o = v * s + shift;
        }
    }
}

/// The mean and biased variance of channel `c` over the batch and the inner axes (two
/// passes).
#[inline(always)]
fn channel_mean_variance(p: BatchNorm, c: usize, x: &[f32]) -> (f32, f32) {
    let count = (p.batch * p.inner) as f32;
    let mut sum = 0.0;
    for b in 0..p.batch {
        for &v in &x[(b * p.channels + c) * p.inner..][..p.inner] {
            sum += v;
        }
    }
    let mean = sum / count;
    let mut squares = 0.0;
    for b in 0..p.batch {
        for &v in &x[(b * p.channels + c) * p.inner..][..p.inner] {
            squares += (v - mean) * (v - mean);
        }
    }
    (mean, squares / count)
}

/// Inference-mode `BatchNormalization` with `scale`, `bias`, `mean` and `var` computed at run
/// time (constant ones are folded into a per-channel affine map at compile time instead).
#[inline(always)]
pub fn batch_norm(
    p: BatchNorm,
    x: &[f32],
    scale: &[f32],
    bias: &[f32],
    mean: &[f32],
    var: &[f32],
    y: &mut [f32],
) {
    for c in 0..p.channels {
        batch_norm_channel(p, c, (mean[c], var[c]), (scale[c], bias[c]), x, y);
    }
}

/// Training-mode `BatchNormalization`'s `y`: each channel normalised with its batch mean and
/// biased variance.
#[inline(always)]
pub fn batch_norm_training(
    p: BatchNorm,
    x: &[f32],
    scale: &[f32],
    bias: &[f32],
    y: &mut [f32],
) {
    for c in 0..p.channels {
        let statistics = channel_mean_variance(p, c, x);
        batch_norm_channel(p, c, statistics, (scale[c], bias[c]), x, y);
    }
}

/// Which running statistic [`batch_norm_running_statistic`] writes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BatchStatistic {
    Mean,
    /// The biased variance.
    Variance,
}

/// Training-mode `BatchNormalization`'s `running_mean` or `running_var`: `input · momentum +
/// batch statistic · (1 − momentum)` per channel.
#[inline(always)]
pub fn batch_norm_running_statistic(
    p: BatchNorm,
    statistic: BatchStatistic,
    momentum: f32,
    x: &[f32],
    input: &[f32],
    y: &mut [f32],
) {
    for c in 0..p.channels {
        let (mean, var) = channel_mean_variance(p, c, x);
        let current = match statistic {
            BatchStatistic::Mean => mean,
            BatchStatistic::Variance => var,
        };
        y[c] = input[c] * momentum + current * (1.0 - momentum);
    }
}

/// `LRN` across channels of `[batch, channels, inner]` data.
#[derive(Clone, Copy, Debug)]
pub struct Lrn {
    pub batch: usize,
    pub channels: usize,
    pub inner: usize,
    pub size: usize,
    pub alpha: f32,
    pub beta: f32,
    pub bias: f32,
}

/// `y = x / (bias + alpha / size · Σ x²)^beta`, the sum over the channels from
/// `c - (size - 1) / 2` to `c + size / 2` that exist.
#[inline(always)]
pub fn lrn(p: Lrn, x: &[f32], y: &mut [f32]) {
    let (before, after) = ((p.size - 1) / 2, p.size / 2);
    let scale = p.alpha / p.size as f32;
    for b in 0..p.batch {
        for c in 0..p.channels {
            let lo = c.saturating_sub(before);
            let hi = if c + after < p.channels {
                c + after
            } else {
                p.channels - 1
            };
            for i in 0..p.inner {
                let mut sum = 0.0;
                for k in lo..=hi {
                    let v = x[(b * p.channels + k) * p.inner + i];
                    sum += v * v;
                }
                let base = p.bias + scale * sum;
                let at = (b * p.channels + c) * p.inner + i;
                y[at] = x[at] * math::exp(-p.beta * math::ln(base));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::op::{BatchNormTrainingAttrs, LayerNormAttrs, LrnAttrs};
    use crate::kernels::test_support::{assert_close, floats};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn layer_norm_matches_the_reference(
            outer in 1..5usize, inner in 1..20usize, bias in any::<bool>(), seed in any::<u64>()
        ) {
            let x: Vec<f32> = floats(seed, outer * inner).iter().map(|v| v * 4.0 + 1.0).collect();
            let scale = floats(seed ^ 1, inner);
            let b = if bias { floats(seed ^ 2, inner) } else { Vec::new() };
            let attrs = LayerNormAttrs { axis: 1, epsilon: 1e-3 };
            let shapes = [vec![outer, inner], vec![outer, 1], vec![outer, 1]];
            let b_value = Value::f32(vec![b.len()], b.clone());
            let expected = crate::eval::norm::layer_norm(
                &attrs,
                &Value::f32(vec![outer, inner], x.clone()),
                &Value::f32(vec![inner], scale.clone()),
                bias.then_some(&b_value),
                &shapes,
            ).unwrap();
            let p = LayerNorm { outer, inner, epsilon: 1e-3 };
            let mut y = vec![f32::NAN; outer * inner];
            layer_norm(p, &x, &scale, &b, &mut y);
            assert_close(&y, expected[0].floats("").unwrap(), 1e-4);
            for (k, statistic) in [(1, Statistic::Mean), (2, Statistic::InvStdDev)] {
                let mut s = vec![f32::NAN; outer];
                layer_norm_statistic(p, statistic, &x, &mut s);
                assert_close(&s, expected[k].floats("").unwrap(), 1e-4);
            }
        }

        #[test]
        fn instance_norm_matches_the_reference(
            batch in 1..3usize, channels in 1..4usize, inner in 1..12usize, seed in any::<u64>()
        ) {
            let x = floats(seed, batch * channels * inner);
            let (scale, bias) = (floats(seed ^ 1, channels), floats(seed ^ 2, channels));
            let expected = crate::eval::norm::instance_norm(
                &Value::f32(vec![batch, channels, inner], x.clone()),
                &Value::f32(vec![channels], scale.clone()),
                &Value::f32(vec![channels], bias.clone()),
                1e-2,
            ).unwrap();
            let mut y = vec![f32::NAN; x.len()];
            instance_norm(InstanceNorm { batch, channels, inner, epsilon: 1e-2 }, &x, &scale, &bias, &mut y);
            assert_close(&y, &expected, 1e-4);
        }

        #[test]
        fn batch_norm_with_run_time_statistics_matches_the_reference(
            batch in 1..3usize, channels in 1..4usize, inner in 1..12usize, seed in any::<u64>()
        ) {
            let x = floats(seed, batch * channels * inner);
            let [scale, bias, mean] = [1, 2, 3].map(|k| floats(seed ^ k, channels));
            let var: Vec<f32> = floats(seed ^ 4, channels).iter().map(|v| v.abs() + 0.1).collect();
            let params = [&scale, &bias, &mean, &var].map(|v| Value::f32(vec![channels], v.clone()));
            let expected = crate::eval::nn::batch_norm(
                &Value::f32(vec![batch, channels, inner], x.clone()),
                &params.each_ref(),
                1e-3,
            ).unwrap();
            let p = BatchNorm { batch, channels, inner, epsilon: 1e-3 };
            let mut y = vec![f32::NAN; x.len()];
            batch_norm(p, &x, &scale, &bias, &mean, &var, &mut y);
            assert_close(&y, &expected, 1e-4);
        }

        #[test]
        fn batch_norm_training_matches_the_reference(
            batch in 1..3usize, channels in 1..4usize, inner in 1..12usize, seed in any::<u64>()
        ) {
            let x: Vec<f32> = floats(seed, batch * channels * inner).iter().map(|v| v * 3.0 + 1.0).collect();
            let [scale, bias, mean] = [1, 2, 3].map(|k| floats(seed ^ k, channels));
            let var: Vec<f32> = floats(seed ^ 4, channels).iter().map(|v| v.abs()).collect();
            let attrs = BatchNormTrainingAttrs { epsilon: 1e-2, momentum: 0.8 };
            let values = [
                Value::f32(vec![batch, channels, inner], x.clone()),
                Value::f32(vec![channels], scale.clone()),
                Value::f32(vec![channels], bias.clone()),
                Value::f32(vec![channels], mean.clone()),
                Value::f32(vec![channels], var.clone()),
            ];
            let shapes = [vec![batch, channels, inner], vec![channels], vec![channels]];
            let expected =
                crate::eval::norm::batch_norm_training(&attrs, &values.each_ref(), &shapes).unwrap();
            let p = BatchNorm { batch, channels, inner, epsilon: 1e-2 };
            let mut y = vec![f32::NAN; x.len()];
            batch_norm_training(p, &x, &scale, &bias, &mut y);
            assert_close(&y, expected[0].floats("").unwrap(), 1e-4);
            for (k, statistic, input) in [(1, BatchStatistic::Mean, &mean), (2, BatchStatistic::Variance, &var)] {
                let mut s = vec![f32::NAN; channels];
                batch_norm_running_statistic(p, statistic, 0.8, &x, input, &mut s);
                assert_close(&s, expected[k].floats("").unwrap(), 1e-4);
            }
        }

        #[test]
        fn lrn_matches_the_reference(
            batch in 1..3usize, channels in 1..7usize, inner in 1..5usize, size in 1..6usize,
            seed in any::<u64>()
        ) {
            let x: Vec<f32> = floats(seed, batch * channels * inner).iter().map(|v| v * 3.0).collect();
            let a = LrnAttrs { size, alpha: 0.5, beta: 0.75, bias: 1.5 };
            let expected = crate::eval::norm::lrn(&a, &Value::f32(vec![batch, channels, inner], x.clone())).unwrap();
            let p = Lrn { batch, channels, inner, size, alpha: 0.5, beta: 0.75, bias: 1.5 };
            let mut y = vec![f32::NAN; x.len()];
            lrn(p, &x, &mut y);
            assert_close(&y, &expected, 1e-5);
        }
    }
}
