//! Weight sharing: `--cluster K` replaces the float weights of each fully connected layer and
//! convolution by the nearest of `K` shared values, found by k-means over that layer's weights
//! (the "trained quantization" of Han et al., *Deep Compression*, 2016, without the
//! retraining). The back end then stores such a layer as a codebook of its values and one
//! index per weight, 4 bits when `K ≤ 16` (`backend::lower::sparse`); an int8 layer whose
//! weights arrive with 16 values or fewer is stored that way without the flag. The layers are
//! those pruning takes (float weights that nothing else reads); a float `MatMul` among them
//! keeps its shared values in a plain array (its kernel reads no codebook), while its int8 form,
//! a fully connected layer, reads them through one.
//!
//! ```text
//! … → prune → cluster → quantize → compress_weights
//! ```
//!
//! **The clustering.** Lloyd's algorithm in one dimension over each layer's weights, its
//! centroids started evenly from the smallest weight to the largest (the linear start that Han
//! et al. found best: it keeps centroids for the few large weights, which matter most). In one
//! dimension each cluster is a run of the sorted weights, so an iteration costs `K` binary
//! searches; it stops when no weight changes cluster (or after [`MAX_ITERATIONS`]). A cluster
//! that loses all its weights is dropped, so a layer may end with fewer than `K` values, and
//! one with `K` distinct values or fewer is left as it is. Everything is deterministic.
//!
//! **Zeros stay zero.** If a layer has zero weights (pruned, or so in the file), `0` is one of
//! its `K` values and the others cluster the rest: pruning and clustering combine, and the
//! sparse formats still see the zeros.
//!
//! **One codebook, scaled per channel where channels differ.** A convolution with a batch
//! normalization folded in has output channels whose weights differ in size by orders of
//! magnitude; one set of `K` values for all of them spends its values on the large channels and
//! flattens the small ones (the digits CNN fell to 53 % at `K = 8` that way). So each layer
//! with output channels (`Gemm`, `Conv`) is also clustered with every channel divided by its
//! largest magnitude, the values then multiplied back by that scale, and keeps that form when
//! it halves the error ([`PER_CHANNEL_GAIN`]), measured per channel relative to the channel's
//! own size (each channel's squared error over its squared weights, averaged), since a small
//! channel matters as much as a large one. The per-channel form costs four bytes per channel.
//! The result is a [`WeightStorage::Codebook`]: values, scales (none, or one per channel) and,
//! in generated code, an index per weight.
//!
//! **With `--quantize int8`.** Quantizing shared weights as any others would give each channel
//! its own integers for the same shared value; so the pass puts the values on the int8 grid
//! itself: with one codebook, `s = max |c| / 127` (`/ 7` with `int4-weights`) and the integers
//! `round(c / s)`; per channel, the integers `round(127 c)` of the normalized values and the
//! scales `max_c / 127`. It records those scales as the weights' quantization, which the
//! quantize pass takes (as it takes a QDQ model's own scales when they hold the weights
//! exactly), so the int8 layer has at most `K` distinct integers whatever the channel, and the
//! back end stores it as an int8 codebook and 4-bit indices. Clustering runs before
//! quantization for the reasons pruning does (see [`super::prune`]): on the float weights,
//! whose distances mean something, and before calibration.
//!
//! With `--quantize int8-weights` or `fp16`, which store each float weight in fewer bits, the
//! option is refused (`options::cluster_settings`): a clustered layer is already a codebook
//! and indices, smaller than either.

use crate::error::Result;
use crate::ir::{Graph, Quantization, TensorData, WeightStorage};
use crate::passes::compress_weights::output_channel_axis;
use crate::passes::quantize::WeightBits;
use crate::passes::{PassOptions, PassReport};
use crate::report::group_digits;

/// The most values `--cluster` can share a layer's weights among (an 8-bit index).
pub const MAX_CLUSTERS: usize = 256;

/// Iterations of Lloyd's algorithm at most; it usually settles in a few dozen.
pub const MAX_ITERATIONS: usize = 300;

/// The pass: clusters every layer's weights into `options.cluster` values.
pub fn cluster(graph: &mut Graph, options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("cluster");
    let by_name = &options.cluster_layers;
    if options.cluster.is_none() && by_name.is_empty() {
        return Ok(report);
    }
    let (layers, mut left) = super::prune::layers(graph, "clustered");
    super::prune::check_layer_names(graph, &layers, by_name, "--cluster-layer")?;
    let grid = options.int8.as_ref().map(|s| s.weights);
    let mut lines = Vec::new();
    let mut clustered_weights = 0usize;
    for layer in &layers {
        let node = &graph.nodes[layer.node];
        let named = by_name.iter().rev().find(|(n, _)| *n == node.name);
        let Some(k) = named.map(|(_, k)| *k).or(options.cluster) else {
            continue;
        };
        let what = graph.describe_node(node);
        let tensor = graph.tensor(layer.weights);
        let Some(TensorData::F32(values)) = &tensor.data else {
            left.push(format!(
                "{what}: left as it is, its weights are {} (only float32 weights are clustered)",
                tensor.dtype
            ));
            continue;
        };
        if values.iter().any(|v| !v.is_finite()) {
            left.push(format!(
                "{what}: left as it is, its weights are not all finite"
            ));
            continue;
        }
        let shape = tensor.shape().to_vec();
        let channels = output_channel_axis(&node.op).map(|axis| Channels {
            axis,
            count: shape[axis],
            inner: shape[axis + 1..].iter().product(),
        });
        // The error is measured per output channel even when the values are not scaled so
        // (a layer without such channels counts as one).
        let layer_channels = channels.unwrap_or(Channels {
            axis: 0,
            count: 1,
            inner: values.len(),
        });
        let by_tensor = share(values, k, layer_channels, None, grid);
        let shared = match channels.map(|c| share(values, k, layer_channels, Some(c), grid))
        {
            Some(by_channel) if by_channel.error <= by_tensor.error * PER_CHANNEL_GAIN => {
                by_channel
            }
            _ => by_tensor,
        };
        let before = distinct(values);
        let changed = &shared.weights != values;
        let per_channel = shared.scale.len() > 1;
        let count = shared.values.len();
        let scale = shared.scale.clone();
        let axis = channels.map_or(0, |c| c.axis);
        let tensor = graph.tensor_mut(layer.weights);
        tensor.data = Some(TensorData::F32(shared.weights));
        if grid.is_some() {
            let zero_points = vec![0; scale.len()];
            graph.source_quant.insert(
                layer.weights,
                Quantization {
                    scale: scale.clone(),
                    zero_point: zero_points,
                    axis: if per_channel { axis } else { 0 },
                    int4: false,
                },
            );
        }
        graph.tensor_mut(layer.weights).storage = Some(WeightStorage::Codebook {
            values: shared.values,
            scale,
            axis: if per_channel { axis } else { 0 },
        });
        if changed {
            report.changes += 1;
        }
        let len = graph.tensor(layer.weights).len();
        clustered_weights += len;
        lines.push(format!(
            "{what}: {} weights share {count} values{} ({} distinct before, K = {k})",
            group_digits(len as u64),
            match (per_channel, grid.is_some()) {
                (true, true) => " of int8, with a scale per output channel",
                (true, false) => " times a scale per output channel",
                (false, true) => " of int8, with one scale",
                (false, false) => "",
            },
            group_digits(before as u64)
        ));
    }
    let per_layer = match options.cluster {
        Some(k) => format!("{k} values per layer"),
        None => "values by layer".to_string(),
    };
    report.details.push(format!(
        "{per_layer}: {} layer{} clustered, {} weights",
        report.changes,
        if report.changes == 1 { "" } else { "s" },
        group_digits(clustered_weights as u64)
    ));
    report.details.extend(lines);
    report.details.extend(left);
    Ok(report)
}

/// A layer's weights are shared through per-channel scales when that cuts the error (relative
/// to each channel's size, averaged over the channels) to this share of one codebook's for the
/// whole tensor, or less. Per-channel scales cost four bytes per channel, and pay where
/// channels differ in size; a layer whose channels are alike keeps the one codebook.
pub const PER_CHANNEL_GAIN: f64 = 0.5;

/// Where a layer's output channels run in its weights: along `axis`, `count` of them, each
/// index of `axis` followed by `inner` elements.
#[derive(Clone, Copy, Debug)]
struct Channels {
    axis: usize,
    count: usize,
    inner: usize,
}

/// A layer's weights after sharing: each is `values[j] * scale[c]` (or `values[j]` without
/// scales), computed in `f32`.
struct Shared {
    weights: Vec<f32>,
    values: Vec<f32>,
    scale: Vec<f32>,
    /// The squared error of the shared weights relative to their squared magnitude, averaged
    /// over the output channels.
    error: f64,
}

/// Shares `weights` among at most `k` values: clustered as they are (`channels` `None`), or
/// each channel divided by its largest magnitude first, the values then scaled back by it. With
/// a `grid`, the values are integers of that width and the scales those of int8 weights.
fn share(
    weights: &[f32],
    k: usize,
    layer_channels: Channels,
    channels: Option<Channels>,
    grid: Option<WeightBits>,
) -> Shared {
    let channel_of = |i: usize| channels.map_or(0, |c| (i / c.inner.max(1)) % c.count);
    let layer_channel = |i: usize| (i / layer_channels.inner.max(1)) % layer_channels.count;
    // The factor each channel is divided by before clustering.
    let mut divisors = vec![1f32; channels.map_or(1, |c| c.count)];
    if channels.is_some() {
        divisors.iter_mut().for_each(|d| *d = 0.0);
        for (i, &w) in weights.iter().enumerate() {
            let d = &mut divisors[channel_of(i)];
            *d = d.max(w.abs());
        }
        divisors
            .iter_mut()
            .filter(|d| **d == 0.0)
            .for_each(|d| *d = 1.0);
    }
    let normalized: Vec<f64> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| w as f64 / divisors[channel_of(i)] as f64)
        .collect();
    let centroids = centroids(&normalized, k);
    // The stored value of each centroid, and the scales the values are multiplied by.
    let (stored, scale): (Vec<f32>, Vec<f32>) = match (grid, channels) {
        (None, None) => (centroids.iter().map(|&c| c as f32).collect(), Vec::new()),
        (None, Some(_)) => (centroids.iter().map(|&c| c as f32).collect(), divisors),
        (Some(bits), None) => {
            let largest = centroids.iter().fold(0f64, |m, c| m.max(c.abs())) as f32;
            let s = if largest > 0.0 {
                largest / bits.largest()
            } else {
                1.0
            };
            let stored = centroids
                .iter()
                .map(|&c| ((c as f32) / s).round())
                .collect();
            (stored, vec![s])
        }
        (Some(bits), Some(_)) => {
            // Every channel's centroids lie in [-1, 1]: the integers span the grid.
            let stored = centroids
                .iter()
                .map(|&c| (c as f32 * bits.largest()).round())
                .collect();
            let scale = divisors.iter().map(|&d| d / bits.largest()).collect();
            (stored, scale)
        }
    };
    // Each output channel's squared error and squared magnitude.
    let count = layer_channels.count;
    let (mut errors, mut energies) = (vec![0f64; count], vec![0f64; count]);
    let shared: Vec<f32> = normalized
        .iter()
        .enumerate()
        .map(|(i, &u)| {
            let j = nearest(&centroids, u);
            let v = match scale.get(channel_of(i)) {
                Some(&s) => stored[j] * s,
                None => stored[j],
            };
            let c = layer_channel(i);
            errors[c] += (v as f64 - weights[i] as f64).powi(2);
            energies[c] += (weights[i] as f64).powi(2);
            v
        })
        .collect();
    let error = errors
        .iter()
        .zip(&energies)
        .map(|(e, m)| if *m > 0.0 { e / m } else { 0.0 })
        .sum::<f64>()
        / count as f64;
    let mut values = stored;
    values.sort_by(f32::total_cmp);
    values.dedup();
    Shared {
        weights: shared,
        values,
        scale,
        error,
    }
}

/// How many distinct values `values` holds.
fn distinct(values: &[f32]) -> usize {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    sorted.dedup();
    sorted.len()
}

/// The sorted values that a layer's `weights` (all finite) share: `weights`' own distinct
/// values if there are at most `k`, else k-means centroids; `0` among them if a weight is zero.
pub fn centroids(weights: &[f64], k: usize) -> Vec<f64> {
    let mut sorted = weights.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut unique = sorted.clone();
    unique.dedup();
    if unique.len() <= k {
        return unique;
    }
    let has_zero = sorted.contains(&0.0);
    if has_zero {
        sorted.retain(|&v| v != 0.0);
    }
    let free = if has_zero { k - 1 } else { k };
    let mut centroids = if free == 0 {
        Vec::new()
    } else {
        lloyd(&sorted, free)
    };
    if has_zero {
        centroids.push(0.0);
        centroids.sort_by(f64::total_cmp);
        centroids.dedup();
    }
    centroids
}

/// Lloyd's algorithm on `sorted` (ascending, not empty) with `k ≥ 1` centroids started evenly
/// from its first value to its last; the centroids that keep weights, ascending.
fn lloyd(sorted: &[f64], k: usize) -> Vec<f64> {
    let (low, high) = (sorted[0], sorted[sorted.len() - 1]);
    let mut centroids: Vec<f64> = if k == 1 {
        vec![(low + high) / 2.0]
    } else {
        (0..k)
            .map(|i| low + (high - low) * i as f64 / (k - 1) as f64)
            .collect()
    };
    // prefix[i]: the sum of the first i values, for each cluster's mean in O(1).
    let mut prefix = Vec::with_capacity(sorted.len() + 1);
    prefix.push(0.0);
    for &v in sorted {
        prefix.push(prefix[prefix.len() - 1] + v);
    }
    let mut starts: Vec<usize> = Vec::new();
    for _ in 0..MAX_ITERATIONS {
        // Cluster i is the run of values nearer to centroid i than to its neighbours (a value
        // at a midpoint goes to the larger centroid).
        let mut next = vec![0];
        for pair in centroids.windows(2) {
            let middle = (pair[0] + pair[1]) / 2.0;
            next.push(sorted.partition_point(|&v| v < middle));
        }
        next.push(sorted.len());
        if next == starts {
            break;
        }
        // Empty clusters are dropped; the others move to their mean.
        let mut kept_starts = vec![0];
        let mut kept = Vec::new();
        for i in 0..centroids.len() {
            let (a, b) = (next[i], next[i + 1]);
            if b > a {
                kept.push((prefix[b] - prefix[a]) / (b - a) as f64);
                kept_starts.push(b);
            }
        }
        centroids = kept;
        starts = kept_starts;
    }
    centroids
}

/// The position in `centroids` (ascending, not empty) of the value nearest to `v`, the larger
/// on a tie.
fn nearest(centroids: &[f64], v: f64) -> usize {
    let i = centroids.partition_point(|&c| c < v);
    match (i.checked_sub(1), centroids.get(i)) {
        (Some(below), Some(&above)) if v - centroids[below] < above - v => below,
        (_, Some(_)) => i,
        (Some(below), None) => below,
        (None, None) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::text::parse;
    use crate::passes::quantize::{Calibration, Calibrator, Int8Settings};

    #[test]
    fn few_distinct_values_are_kept_and_k_means_finds_separated_groups() {
        assert_eq!(centroids(&[0.5, -1.0, 0.5, 2.0], 3), vec![-1.0, 0.5, 2.0]);
        // Three tight groups: the centroids are their means, whatever the start.
        let w = [1.0, 1.1, 0.9, 5.0, 5.2, 4.8, 9.0, 9.5, 8.5, 9.0];
        let c = centroids(&w, 3);
        let expected = [1.0, 5.0, 9.0];
        assert!(
            c.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12),
            "{c:?}"
        );
    }

    #[test]
    fn zero_is_kept_as_a_value_of_its_own() {
        let w = [0.0, 0.0, 0.4, 0.5, -3.0, -3.1, 0.0];
        let c = centroids(&w, 3);
        assert_eq!(c.len(), 3);
        // The pruned zeros map to 0, not to the centroid of 0.4 and 0.5.
        assert_eq!(c[nearest(&c, 0.0)], 0.0);
        assert!((c[nearest(&c, 0.4)] - 0.45).abs() < 1e-12);
    }

    #[test]
    fn k_means_lowers_the_squared_error_of_the_even_start() {
        let w: Vec<f64> = (0..500)
            .map(|i| ((i * 7919 % 1000) as f64 / 1000.0 - 0.5).powi(3))
            .collect();
        let error =
            |c: &[f64]| -> f64 { w.iter().map(|&v| (v - c[nearest(c, v)]).powi(2)).sum() };
        let (low, high) = w
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        let start: Vec<f64> = (0..8)
            .map(|i| low + (high - low) * i as f64 / 7.0)
            .collect();
        let c = centroids(&w, 8);
        assert!(c.len() <= 8);
        assert!(
            error(&c) < error(&start),
            "{} vs {}",
            error(&c),
            error(&start)
        );
    }

    #[test]
    fn nearest_takes_the_larger_value_on_a_tie() {
        let c = [-1.0, 1.0];
        assert_eq!(nearest(&c, 0.0), 1);
        assert_eq!(nearest(&c, -0.1), 0);
        assert_eq!(nearest(&c, 7.0), 1);
        assert_eq!(nearest(&c, -7.0), 0);
    }

    /// A fully connected layer whose output channels (columns) differ a hundredfold in size.
    const GEMM: &str = r#"graph "fc" {
  input %x: f32[1, 4]
  const %w: f32[4, 3] = [0.1, 12.0, -0.005, 0.7, 0.0, 0.0033, -0.21, 90.0, 0.0, 0.05, -52.0, 0.0031]
  %y: f32[1, 3] = Gemm(%x, %w) @fc
  output %y
}
"#;

    fn clustered(k: usize, int8: bool) -> (Graph, Vec<f32>) {
        let mut g = parse(GEMM).unwrap();
        let options = PassOptions {
            cluster: Some(k),
            int8: int8.then(|| Int8Settings {
                calibration: Calibration::Random,
                calibrator: Calibrator::default(),
                per_tensor: false,
                weights: WeightBits::Int8,
            }),
            ..PassOptions::default()
        };
        let report = cluster(&mut g, &options).unwrap();
        assert_eq!(report.changes, 1);
        crate::ir::validate(&g, crate::ir::validate::Stage::Inferred).unwrap();
        let Some(TensorData::F32(w)) = g.tensor(g.nodes[0].inputs[1]).data.clone() else {
            panic!("float weights")
        };
        (g, w)
    }

    #[test]
    fn channels_of_different_sizes_get_a_scale_each_and_zeros_stay() {
        let (g, w) = clustered(3, false);
        let Some(WeightStorage::Codebook {
            values,
            scale,
            axis,
        }) = &g.tensor(g.nodes[0].inputs[1]).storage
        else {
            panic!("a codebook")
        };
        // Three values, zero among them, scaled by each column's largest magnitude.
        assert_eq!((values.len(), *axis), (3, 1));
        assert!(values.contains(&0.0));
        assert_eq!(scale, &[0.7, 90.0, 0.005]);
        assert_eq!((w[4], w[8]), (0.0, 0.0));
        // Each column keeps its own size: the smallest column is not flattened to zero.
        assert!(w[2] != 0.0 && w[2].abs() < 0.01, "{w:?}");
        assert!(
            g.source_quant.is_empty(),
            "a float build records no quantization"
        );
    }

    #[test]
    fn with_int8_the_values_are_integers_whose_scales_the_weights_record() {
        let (g, w) = clustered(4, true);
        let id = g.nodes[0].inputs[1];
        let q = &g.source_quant[&id];
        assert_eq!((q.scale.len(), q.axis), (3, 1));
        let Some(WeightStorage::Codebook { values, scale, .. }) = &g.tensor(id).storage
        else {
            panic!("a codebook")
        };
        assert_eq!(scale, &q.scale);
        assert!(values.len() <= 4);
        assert!(
            values.iter().all(|v| v.fract() == 0.0 && v.abs() <= 127.0),
            "{values:?}"
        );
        // Every weight is an integer of the codebook times its column's scale.
        for (i, &v) in w.iter().enumerate() {
            let s = q.scale[i % 3];
            assert!(values.contains(&(v / s).round()), "{v} / {s}");
            assert_eq!((v / s).round() * s, v);
        }
    }
}
