//! Post-training int8 quantization (`--quantize int8 --calibration data.npy`), and its variant
//! with 4-bit weights (`--quantize int4-weights`).
//!
//! 1. **Calibration.** The reference evaluator runs the float graph on every calibration sample
//!    and records each float tensor's range (min–max; see [`Calibrator`]).
//! 2. **Rewrite**, node by node in schedule order, with the TFLite int8 scheme (the arithmetic
//!    the int8 kernels already implement, bit-exact with TFLite):
//!    - weights symmetric per output channel, `[-127, 127]`, zero point 0;
//!    - biases int32 with scale `s_input · s_weight[c]` and zero point 0;
//!    - activations asymmetric per tensor over `[-128, 127]`, their range widened to hold 0;
//!    - Softmax's output fixed at scale 1/256, zero point −128 (unless the model has its
//!      own); views keep their input's quantization.
//!
//!    An activation with the model's own quantization ([`Graph::source_quant`], from a QDQ
//!    model) keeps it instead; such a model needs no calibration, and its int8 nodes round
//!    as onnxruntime does ([`crate::ir::Rounding::Single`]).
//!
//!    A node of a kind with an int8 kernel (`Gemm` as a fully connected layer, 2-D `Conv`,
//!    `MaxPool`, `AveragePool` and `GlobalAveragePool`, `Relu`, `Softmax` over the last axis,
//!    views, `Add`/`Sub`/`Mul` with broadcasting, a constant operand quantized over its range)
//!    becomes an int8
//!    node: a float input is quantized first (one `Quantize` node per tensor), and its output
//!    becomes a new int8 tensor. Every other node stays float; where it reads an int8 result, a
//!    `Dequantize` node gives back the original float tensor, which also keeps the graph's
//!    outputs (and so the generated API) float.
//! 3. **Layout.** The int8 convolution and pooling kernels are channels-last (TFLite's), so an
//!    NCHW convolution becomes a channels-last one between transposes, its weights stored
//!    `[C_out, kh, kw, C_in / group]`. A transpose back to NCHW is only made where something
//!    reads the NCHW tensor: consecutive convolutions and pools pass NHWC data to each other.
//!
//! **4-bit weights** (`--quantize int4-weights`, W4A8): everything above, except that the
//! weights of fully connected layers and convolutions are symmetric per output channel in
//! `[-7, 7]`, each channel's scale the one between its largest magnitude / 7 and half of that
//! with the least squared error (on the digits CNN that keeps 96.0 % where largest / 7 gave
//! 94.0 %; the MLP goes from 97.5 % to 97.0 %). Activations stay int8 and the accumulator and its
//! requantization are unchanged: a 4-bit weight times its scale is just a coarser int8 weight.
//! The IR therefore keeps such weights as `i8` constants, one value per element, marked by
//! [`Quantization::int4`], rather than as a new element type: the reference evaluator, constant
//! handling and every pass compute on them as on int8 weights with no new case, and no other
//! tensor (activations, the arena, graph inputs and outputs) could ever be 4-bit, so a `DType`
//! would add a case to every `match` on element types that none of them can meet. Only the back
//! end looks at the mark: it stores the values packed two per byte
//! ([`crate::quant::pack_int4_rows`]) and calls kernels that unpack them as they load, and the
//! report counts the packed bytes.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::eval::Value;
use crate::ir::{
    Activation, DType, Graph, Node, Op, Quantization, Tensor, TensorData, TensorId,
};
use crate::passes::{PassOptions, PassReport, Progress};

/// How activation ranges are chosen from the calibration runs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Calibrator {
    /// The smallest and largest value seen.
    #[default]
    MinMax,
    /// The given percentile of the values at the top and its complement at the bottom
    /// (`percentile` is 99.99: the 0.01 % most extreme values on each side are clipped).
    Percentile(f64),
    /// The clipping range, shrunk from min–max, that minimises the mean squared quantization
    /// error over the values seen.
    Mse,
}

impl Calibrator {
    /// Parses `minmax`, `percentile`, `percentile=99.9` or `mse`.
    pub fn parse(text: &str) -> std::result::Result<Calibrator, String> {
        let bad = || {
            format!(
                "'{text}' is not a calibrator; the calibrators are minmax, percentile (99.99, or \
                 percentile=P with P between 50 and 100) and mse"
            )
        };
        match text.split_once('=') {
            None if text == "minmax" => Ok(Calibrator::MinMax),
            None if text == "percentile" => Ok(Calibrator::Percentile(99.99)),
            None if text == "mse" => Ok(Calibrator::Mse),
            Some(("percentile", p)) => match p.parse::<f64>() {
                Ok(p) if (50.0..=100.0).contains(&p) => Ok(Calibrator::Percentile(p)),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

/// Where calibration samples come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Calibration {
    /// One array per graph input, in order: the input's shape with a leading sample axis
    /// (`[N, 64]` for an input of `[1, 64]`, or `[N, 1, 64]`).
    Data(Vec<Value>),
    /// The arrays of an `.npz` file: named after the graph inputs, or `arr_0`, `arr_1`, ... in
    /// input order (`numpy.savez(f, x, y)`).
    Named(Vec<(String, Value)>),
    /// `--calibration random`: 64 samples of standard normal values (a fixed seed), for trying
    /// a model out when no data is at hand. The ranges have nothing to do with real inputs, so
    /// the accuracy of such a build is unknown.
    Random,
}

/// How many bits the weights of int8 layers take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightBits {
    /// `--quantize int8`: int8 weights, symmetric in `[-127, 127]`.
    #[default]
    Int8,
    /// `--quantize int4-weights`: 4-bit weights, symmetric in `[-7, 7]`, packed two per byte in
    /// generated code.
    Int4,
}

impl WeightBits {
    /// The largest magnitude of a weight quantized from float: 127 or 7.
    pub(crate) fn largest(self) -> f32 {
        match self {
            WeightBits::Int8 => 127.0,
            WeightBits::Int4 => 7.0,
        }
    }

    /// The integers a weight may take: the symmetric range and one more negative value, which
    /// only a model's own quantization uses.
    fn range(self) -> (f32, f32) {
        (-self.largest() - 1.0, self.largest())
    }
}

/// What `--quantize int8` (or `int4-weights`) needs: the calibration samples, and the width of
/// the weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Int8Settings {
    pub calibration: Calibration,
    pub calibrator: Calibrator,
    /// `--per-tensor`: one scale per weight tensor rather than per output channel.
    pub per_tensor: bool,
    pub weights: WeightBits,
}

/// The task [`Progress`] is told about while the calibration samples run.
pub const CALIBRATING: &str = "Calibrating";

/// The pass: nothing unless `--quantize int8` asked for it.
pub fn quantize(graph: &mut Graph, options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("quantize");
    match &options.int8 {
        // A float model.
        None if graph.source_quant.is_empty() => {}
        // A QDQ model: its own quantization, where it has some.
        None => {
            let (quantized, float) = rewrite(graph, None, false, WeightBits::Int8)?;
            report.changes = quantized;
            if quantized > 0 {
                // onnxruntime, whose models these are, rounds the exact rescaled accumulator.
                graph.rounding = crate::ir::Rounding::Single;
                report.details.push(format!(
                    "the model's own quantization; {quantized} nodes in int8, {float} left in \
                     float"
                ));
            }
        }
        Some(settings) => {
            let samples = match &settings.calibration {
                Calibration::Data(arrays) => samples(graph, arrays)?,
                Calibration::Named(arrays) => samples(graph, &by_input(graph, arrays)?)?,
                Calibration::Random => random_samples(graph, 64)?,
            };
            let ranges =
                calibrate(graph, &samples, settings.calibrator, &options.progress)?;
            let (quantized, float) =
                rewrite(graph, Some(&ranges), settings.per_tensor, settings.weights)?;
            report.changes = quantized;
            report.details.push(format!(
                "{} calibration samples; {quantized} nodes in int8, {float} left in float",
                samples.len()
            ));
        }
    }
    if options.io_int8 {
        integer_io(graph)?;
    }
    Ok(report)
}

/// `--io int8`: the graph takes the int8 tensors its inputs are quantized into and gives the
/// int8 tensors its outputs are dequantized from, under the inputs' and outputs' names. Fails,
/// naming each, if an input is also read as float or an output is computed in float.
fn integer_io(graph: &mut Graph) -> Result<()> {
    let mut problems = Vec::new();
    for i in 0..graph.model_inputs().len() {
        let x = graph.inputs[i];
        let readers: Vec<usize> = graph.consumers().get(&x).cloned().unwrap_or_default();
        if graph.tensor(x).dtype != DType::F32 || readers.is_empty() {
            continue;
        }
        let float: Vec<String> = readers
            .iter()
            .filter(|&&r| !matches!(graph.nodes[r].op, Op::Quantize))
            .map(|&r| graph.describe_node(&graph.nodes[r]))
            .collect();
        if !float.is_empty() || readers.len() > 1 {
            problems.push(format!(
                "input '{}' is read in float by {}",
                graph.tensor(x).name,
                if float.is_empty() {
                    "several quantizations".to_string()
                } else {
                    float.join(", ")
                }
            ));
            continue;
        }
        let quantize = graph.nodes.remove(readers[0]);
        let q = quantize.outputs[0];
        swap_names(graph, x, q);
        graph.inputs[i] = q;
    }
    for i in 0..graph.model_outputs().len() {
        let y = graph.outputs[i];
        if graph.tensor(y).dtype != DType::F32 {
            continue;
        }
        let producer = graph.producers().get(&y).copied();
        let Some(p) = producer.filter(|&p| matches!(graph.nodes[p].op, Op::Dequantize))
        else {
            problems.push(format!(
                "output '{}' is computed in float{}",
                graph.tensor(y).name,
                producer
                    .map(|p| format!(" by {}", graph.describe_node(&graph.nodes[p])))
                    .unwrap_or_default()
            ));
            continue;
        };
        let q = graph.nodes[p].inputs[0];
        if !graph.consumers().contains_key(&y) {
            graph.nodes.remove(p);
        }
        swap_names(graph, y, q);
        graph.outputs[i] = q;
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::invalid_argument(format!(
        "--io int8 needs every input and output of the model quantized (by --quantize int8, \
         or in the model itself): {}",
        problems.join("; ")
    )))
}

/// Exchanges the names of two tensors (the user's name goes to the tensor the API shows).
fn swap_names(graph: &mut Graph, a: TensorId, b: TensorId) {
    let name_a = std::mem::take(&mut graph.tensor_mut(a).name);
    let name_b = std::mem::replace(&mut graph.tensor_mut(b).name, name_a);
    graph.tensor_mut(a).name = name_b;
}

/// The arrays of an `.npz` calibration file in graph input order: by input name, or by
/// position when numpy named them `arr_0`, `arr_1`, ...
fn by_input(graph: &Graph, named: &[(String, Value)]) -> Result<Vec<Value>> {
    let inputs: Vec<&str> = graph
        .model_inputs()
        .iter()
        .map(|&t| graph.tensor(t).name.as_str())
        .collect();
    let positional = (0..named.len()).all(|i| named[i].0 == format!("arr_{i}"));
    if positional {
        return Ok(named.iter().map(|(_, v)| v.clone()).collect());
    }
    let unknown: Vec<&str> = named
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !inputs.contains(n))
        .collect();
    let missing: Vec<&str> = inputs
        .iter()
        .copied()
        .filter(|i| !named.iter().any(|(n, _)| n == i))
        .collect();
    if !unknown.is_empty() || !missing.is_empty() {
        return Err(Error::invalid_argument(format!(
            "the calibration arrays are named {}, the model's inputs {}: name each array after \
             its input (numpy.savez(f, **{{name: array}})) or give them in input order \
             (numpy.savez(f, x, y))",
            quoted(named.iter().map(|(n, _)| n.as_str())),
            quoted(inputs.iter().copied())
        )));
    }
    Ok(inputs
        .iter()
        .filter_map(|i| named.iter().find(|(n, _)| n == i).map(|(_, v)| v.clone()))
        .collect())
}

fn quoted<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits the calibration arrays into samples, each one value per graph input.
fn samples(graph: &Graph, arrays: &[Value]) -> Result<Vec<Vec<Value>>> {
    let inputs = graph.model_inputs();
    if arrays.len() != inputs.len() {
        return Err(Error::invalid_argument(format!(
            "the model has {} input{} but the calibration data holds {} array{}",
            inputs.len(),
            if inputs.len() == 1 { "" } else { "s" },
            arrays.len(),
            if arrays.len() == 1 { "" } else { "s" },
        )));
    }
    let mut count = None;
    let mut split: Vec<Vec<Value>> = Vec::new();
    for (&t, array) in inputs.iter().zip(arrays) {
        let tensor = graph.tensor(t);
        let shape = tensor.shape().to_vec();
        let len: usize = shape.iter().product();
        let data = match (&array.data, tensor.dtype) {
            (TensorData::F32(v), DType::F32) => v.clone(),
            (TensorData::F64(v), DType::F32) => v.iter().map(|&x| x as f32).collect(),
            (data, dtype) => {
                return Err(Error::invalid_argument(format!(
                    "calibration data for input '{}' is {}, the input takes {dtype}",
                    tensor.name,
                    data.dtype()
                )));
            }
        };
        let trailing: Vec<usize> = shape.iter().copied().skip_while(|&d| d == 1).collect();
        let fits = len > 0
            && data.len().is_multiple_of(len)
            && (array.shape.ends_with(&trailing)
                || array.shape.iter().product::<usize>() == len);
        if !fits {
            return Err(Error::invalid_argument(format!(
                "calibration data for input '{}' has shape {:?}; the input takes {:?} (give \
                 [N, ...] for N samples)",
                tensor.name, array.shape, shape
            )));
        }
        let n = data.len() / len;
        if *count.get_or_insert(n) != n {
            return Err(Error::invalid_argument(format!(
                "calibration arrays hold different numbers of samples ({} and {n})",
                count.unwrap_or(0)
            )));
        }
        for (i, chunk) in data.chunks_exact(len).enumerate() {
            if split.len() <= i {
                split.push(Vec::new());
            }
            split[i].push(Value::new(shape.clone(), TensorData::F32(chunk.to_vec())));
        }
    }
    if split.is_empty() {
        return Err(Error::invalid_argument(
            "the calibration data holds no samples",
        ));
    }
    Ok(split)
}

/// `n` samples of standard normal values for every (float32) graph input, from a fixed seed.
fn random_samples(graph: &Graph, n: usize) -> Result<Vec<Vec<Value>>> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut uniform = move || {
        // SplitMix64, to (0, 1].
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    };
    let mut normal = move || {
        // Box–Muller.
        let (u, v) = (uniform(), uniform());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    };
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        let mut sample = Vec::new();
        for &t in graph.model_inputs() {
            let tensor = graph.tensor(t);
            if tensor.dtype != DType::F32 {
                return Err(Error::invalid_argument(format!(
                    "--calibration random makes float32 samples, but input '{}' takes {}",
                    tensor.name, tensor.dtype
                )));
            }
            let shape = tensor.shape().to_vec();
            let len = shape.iter().product();
            let values = (0..len).map(|_| normal()).collect();
            sample.push(Value::new(shape, TensorData::F32(values)));
        }
        all.push(sample);
    }
    Ok(all)
}

/// The range of every float tensor the graph computes, over all samples, as the calibrator
/// chooses it: min–max in one pass over the samples, or from a histogram of each tensor's
/// values over its min–max range, made in a second pass.
fn calibrate(
    graph: &Graph,
    samples: &[Vec<Value>],
    calibrator: Calibrator,
    progress: &Progress,
) -> Result<HashMap<TensorId, (f32, f32)>> {
    // Min–max takes one run of every sample; the histograms of the other calibrators a second.
    let total = samples.len()
        * if calibrator == Calibrator::MinMax {
            1
        } else {
            2
        };
    let mut done = 0;
    let mut ranges: HashMap<TensorId, (f32, f32)> = HashMap::new();
    for sample in samples {
        crate::eval::evaluate_observed(graph, sample, &mut |t, value| {
            if let TensorData::F32(v) = &value.data {
                let range = ranges
                    .entry(t)
                    .or_insert((f32::INFINITY, f32::NEG_INFINITY));
                for &x in v.iter().filter(|x| x.is_finite()) {
                    range.0 = range.0.min(x);
                    range.1 = range.1.max(x);
                }
            }
        })?;
        done += 1;
        progress.report(CALIBRATING, done, total);
    }
    if calibrator == Calibrator::MinMax {
        return Ok(ranges);
    }
    let mut histograms: HashMap<TensorId, Histogram> = ranges
        .iter()
        .filter(|(_, r)| r.0 < r.1)
        .map(|(&t, &(lo, hi))| (t, Histogram::new(lo, hi)))
        .collect();
    for sample in samples {
        crate::eval::evaluate_observed(graph, sample, &mut |t, value| {
            if let (Some(h), TensorData::F32(v)) = (histograms.get_mut(&t), &value.data) {
                v.iter().filter(|x| x.is_finite()).for_each(|&x| h.add(x));
            }
        })?;
        done += 1;
        progress.report(CALIBRATING, done, total);
    }
    for (t, h) in histograms {
        let range = match calibrator {
            Calibrator::Percentile(p) => h.percentile_range(p),
            _ => h.mse_range(),
        };
        ranges.insert(t, range);
    }
    Ok(ranges)
}

/// Counts of a tensor's values in equal bins over its min–max range.
struct Histogram {
    lo: f32,
    hi: f32,
    counts: Vec<u64>,
}

impl Histogram {
    const BINS: usize = 2048;

    fn new(lo: f32, hi: f32) -> Histogram {
        Histogram {
            lo,
            hi,
            counts: vec![0; Self::BINS],
        }
    }

    fn width(&self) -> f64 {
        (self.hi as f64 - self.lo as f64) / Self::BINS as f64
    }

    fn add(&mut self, x: f32) {
        let bin = ((x as f64 - self.lo as f64) / self.width()) as usize;
        self.counts[bin.min(Self::BINS - 1)] += 1;
    }

    fn center(&self, bin: usize) -> f64 {
        self.lo as f64 + (bin as f64 + 0.5) * self.width()
    }

    /// The values below which `100 − p` % and above which `100 − p` % of the values lie (bin
    /// edges).
    fn percentile_range(&self, p: f64) -> (f32, f32) {
        let total: u64 = self.counts.iter().sum();
        let tail = ((1.0 - p / 100.0) * total as f64).floor() as u64;
        let edge = |bin: usize| (self.lo as f64 + bin as f64 * self.width()) as f32;
        let (mut below, mut low) = (0, 0);
        for (bin, &c) in self.counts.iter().enumerate() {
            if below + c > tail {
                low = bin;
                break;
            }
            below += c;
        }
        let (mut above, mut high) = (0, Self::BINS);
        for (bin, &c) in self.counts.iter().enumerate().rev() {
            if above + c > tail {
                high = bin + 1;
                break;
            }
            above += c;
        }
        (edge(low).max(self.lo), edge(high).min(self.hi))
    }

    /// The range `[lo · k, hi · k]`, `k` in (0, 1] in steps of 1 %, whose int8 quantization
    /// has the least squared error over the histogram.
    fn mse_range(&self) -> (f32, f32) {
        let mut best = ((self.lo, self.hi), f64::INFINITY);
        for step in 1..=100 {
            let k = step as f32 / 100.0;
            let (lo, hi) = (self.lo * k, self.hi * k);
            let q = activation_quantization(lo, hi);
            let (scale, zero) = q.single().expect("per tensor");
            let (scale, zero) = (scale as f64, zero as f64);
            let error: f64 = self
                .counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(bin, &c)| {
                    let x = self.center(bin);
                    let q = ((x / scale).round() + zero).clamp(-128.0, 127.0);
                    let back = (q - zero) * scale;
                    c as f64 * (x - back).powi(2)
                })
                .sum();
            if error < best.1 {
                best = ((lo, hi), error);
            }
        }
        best.0
    }
}

/// Asymmetric int8 parameters for a range, widened to hold 0 (so that zero padding and ReLU's
/// zero are exact) and to a minimal width.
pub fn activation_quantization(min: f32, max: f32) -> Quantization {
    let (mut min, mut max) = (min.min(0.0), max.max(0.0));
    if !(max - min).is_finite() || max - min < 1e-6 {
        min = min.min(-1e-3);
        max = max.max(1e-3);
    }
    let scale = (max - min) / 255.0;
    let zero_point = (-128.0 - min / scale).round().clamp(-128.0, 127.0) as i32;
    Quantization::per_tensor(scale, zero_point)
}

/// Which kind of int8 node a float node becomes, if any.
enum Plan {
    FullyConnected,
    Conv,
    Pool,
    GlobalAveragePool,
    /// `Relu`, `Clip`, `LeakyRelu`, `HardSwish`, `Sigmoid` or `Tanh`, element by element.
    Activation,
    Softmax,
    View,
    /// `Concat` of tensors computed at run time: every input takes the output's quantization
    /// (TFLite's constraint; the int8 kernel moves bytes), requantized where it had another.
    Concat,
    /// `Add`, `Sub` or `Mul` of two tensors (or a tensor and a constant), with broadcasting.
    Binary,
}

fn plan(graph: &Graph, node: &Node) -> Option<Plan> {
    // The int8 kernels fuse only activations that clamp the output's integers.
    if node.op.activation().is_some_and(|a| {
        !matches!(
            a,
            Activation::None | Activation::Relu | Activation::Clip { .. }
        )
    }) {
        return None;
    }
    let f32_in = |i: usize| {
        node.inputs
            .get(i)
            .is_some_and(|&t| graph.tensor(t).dtype == DType::F32)
    };
    match &node.op {
        Op::Gemm(a)
            if !a.trans_a
                && a.alpha == 1.0
                && a.beta == 1.0
                && f32_in(0)
                && graph.tensor(node.inputs[0]).shape().len() == 2
                && graph.tensor(node.inputs[1]).is_constant()
                && graph.tensor(node.inputs[1]).shape().len() == 2
                && node.inputs.get(2).is_none_or(|&b| {
                    let bias = graph.tensor(b);
                    let units = graph.tensor(node.outputs[0]).shape()[1];
                    bias.is_constant() && bias.len() == units
                }) =>
        {
            Some(Plan::FullyConnected)
        }
        // A product with constant 2-D weights and no bias is a fully connected layer too.
        Op::MatMul
            if f32_in(0)
                && graph.tensor(node.inputs[0]).shape().len() == 2
                && graph.tensor(node.inputs[1]).is_constant()
                && graph.tensor(node.inputs[1]).shape().len() == 2 =>
        {
            Some(Plan::FullyConnected)
        }
        Op::Conv(a)
            if !a.channels_last
                && f32_in(0)
                && graph.tensor(node.inputs[0]).shape().len() == 4
                // Ordinary or depthwise: the two kinds the channels-last kernels have.
                && (a.group == 1 || a.group == graph.tensor(node.inputs[0]).shape()[1])
                && graph.tensor(node.inputs[1]).is_constant()
                && node.inputs.get(2).is_none_or(|&b| graph.tensor(b).is_constant()) =>
        {
            Some(Plan::Conv)
        }
        Op::MaxPool(a) | Op::AveragePool(a)
            if !a.channels_last
                && !a.ceil_mode
                && !a.count_include_pad
                && node.outputs.len() == 1
                && f32_in(0)
                && graph.tensor(node.inputs[0]).shape().len() == 4
                && a.dilations.iter().all(|&d| d == 1) =>
        {
            Some(Plan::Pool)
        }
        Op::GlobalAveragePool
            if f32_in(0) && graph.tensor(node.inputs[0]).shape().len() == 4 =>
        {
            Some(Plan::GlobalAveragePool)
        }
        Op::Relu
        | Op::Clip(_)
        | Op::LeakyRelu(_)
        | Op::HardSwish
        | Op::Sigmoid
        | Op::Tanh
            if f32_in(0) =>
        {
            Some(Plan::Activation)
        }
        Op::Concat(_)
            if (0..node.inputs.len()).all(f32_in)
                && node.inputs.iter().all(|&t| !graph.tensor(t).is_constant()) =>
        {
            Some(Plan::Concat)
        }
        Op::Softmax(a)
            if f32_in(0) && !a.coerce_2d && {
                let rank = graph.tensor(node.inputs[0]).shape().len() as i64;
                a.axis == -1 || a.axis == rank - 1
            } =>
        {
            Some(Plan::Softmax)
        }
        op if op.is_view() && f32_in(0) && node.outputs.len() == 1 => Some(Plan::View),
        Op::Add(_) | Op::Sub(_) | Op::Mul(_)
            if f32_in(0)
                && f32_in(1)
                && !graph.tensor(node.inputs[0]).is_constant()
                && node.outputs.len() == 1 =>
        {
            Some(Plan::Binary)
        }
        _ => None,
    }
}

/// Rewrites the graph; returns the numbers of int8 and of float nodes.
///
/// An activation's quantization is the model's own ([`Graph::source_quant`]) if it has one, else
/// made from its calibrated range. Without `ranges` (a QDQ model quantized by its own
/// parameters), a node is only made int8 where every activation it needs has the model's own.
fn rewrite(
    graph: &mut Graph,
    ranges: Option<&HashMap<TensorId, (f32, f32)>>,
    per_tensor: bool,
    weight_bits: WeightBits,
) -> Result<(usize, usize)> {
    let source_quant = graph.source_quant.clone();
    let activation = |t: TensorId| -> Option<Quantization> {
        match source_quant.get(&t) {
            Some(q) if q.single().is_some() => Some(q.clone()),
            _ => ranges.map(|r| {
                let (min, max) = r.get(&t).copied().unwrap_or((0.0, 0.0));
                activation_quantization(min, max)
            }),
        }
    };
    let nodes = std::mem::take(&mut graph.nodes);
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len() * 2);
    // Float tensor → its int8 version (computed by an int8 node or quantized for one).
    let mut int8_of: HashMap<TensorId, TensorId> = HashMap::new();
    // Float tensors computed by int8 nodes, which a float reader needs dequantized first.
    let mut pending: HashMap<TensorId, TensorId> = HashMap::new();
    let (mut quantized, mut float) = (0, 0);

    // Int8 NCHW tensors whose values so far exist only channels-last (made by a channels-last
    // node), and the channels-last version of every int8 NCHW tensor that has one.
    let mut unmaterialized: HashMap<TensorId, TensorId> = HashMap::new();
    let mut nhwc_of: HashMap<TensorId, TensorId> = HashMap::new();

    for node in nodes {
        let kind = plan(graph, &node).filter(|kind| {
            // The quantization of the input (unless an int8 node makes it) and of the output
            // (unless the kind fixes it) must be known.
            let known_input = |t: TensorId| {
                int8_of.contains_key(&t)
                    || activation(t).is_some()
                    || graph.tensor(t).is_constant()
            };
            let input_known = match kind {
                Plan::Binary | Plan::Concat => node.inputs.iter().all(|&t| known_input(t)),
                _ => known_input(node.inputs[0]),
            };
            let fixed_output = matches!(kind, Plan::Pool | Plan::View | Plan::Softmax)
                || matches!(node.op, Op::Sigmoid | Op::Tanh);
            let output_known = fixed_output || activation(node.outputs[0]).is_some();
            let input_quant = |t: TensorId| match int8_of.get(&t) {
                Some(&q) => graph.tensor(q).quant.clone(),
                None => activation(t),
            };
            input_known
                && output_known
                && kernel_takes(
                    &node,
                    kind,
                    input_quant(node.inputs[0]),
                    activation(node.outputs[0]),
                )
        });
        let Some(kind) = kind else {
            for &t in &node.inputs {
                if let Some(&q) = pending.get(&t) {
                    materialize(graph, &mut out, &mut unmaterialized, q);
                }
                dequantize(graph, &mut out, &mut pending, t);
            }
            out.push(node);
            float += 1;
            continue;
        };
        let x = node.inputs[0];
        let xq = match int8_of.get(&x) {
            Some(&q) => q,
            None => {
                let name = format!("{}/quantize_input", node.name);
                quantize_input(graph, &mut out, &mut int8_of, x, known(activation(x)), name)
            }
        };
        let y = node.outputs[0];
        let x_quant = graph
            .tensor(xq)
            .quant
            .clone()
            .expect("int8 tensors are quantized");
        if matches!(kind, Plan::Conv | Plan::Pool | Plan::GlobalAveragePool) {
            // Channels-last, from the NHWC version of the input (transposed if there is none).
            let x_nhwc = match nhwc_of.get(&xq) {
                Some(&t) => t,
                None => {
                    let t = nhwc_twin(graph, xq);
                    out.push(transpose(graph, xq, t, [0, 2, 3, 1]));
                    nhwc_of.insert(xq, t);
                    t
                }
            };
            let (op, inputs, y_quant) = if let Plan::GlobalAveragePool = kind {
                // A mean over the rows and columns of the channels-last data.
                let op = Op::ReduceMean(crate::ir::op::ReduceAttrs {
                    axes: Some(vec![1, 2]),
                    keepdims: true,
                    noop_with_empty_axes: false,
                });
                (op, vec![x_nhwc], known(activation(y)))
            } else if let Plan::Conv = kind {
                let Op::Conv(mut attrs) = node.op.clone() else {
                    unreachable!("planned as a Conv")
                };
                attrs.channels_last = true;
                let (w, b) =
                    conv_constants(graph, &node, &x_quant, per_tensor, weight_bits)?;
                let mut inputs = vec![x_nhwc, w];
                inputs.extend(b);
                (Op::Conv(attrs), inputs, known(activation(y)))
            } else {
                let op = match node.op.clone() {
                    Op::MaxPool(mut a) => {
                        a.channels_last = true;
                        Op::MaxPool(a)
                    }
                    Op::AveragePool(mut a) => {
                        a.channels_last = true;
                        Op::AveragePool(a)
                    }
                    _ => unreachable!("planned as a pool"),
                };
                // Pooling keeps its input's quantization (TFLite's constraint).
                (op, vec![x_nhwc], x_quant)
            };
            let yq = int8_twin(graph, y, y_quant);
            let y_nhwc = nhwc_twin(graph, yq);
            out.push(Node {
                name: node.name.clone(),
                op,
                inputs,
                params: Vec::new(),
                outputs: vec![y_nhwc],
            });
            nhwc_of.insert(yq, y_nhwc);
            unmaterialized.insert(yq, y_nhwc);
            int8_of.insert(y, yq);
            pending.insert(y, yq);
            quantized += 1;
            continue;
        }
        materialize(graph, &mut out, &mut unmaterialized, xq);
        let (op, inputs, y_quant) = match kind {
            Plan::FullyConnected => {
                let mut attrs = match &node.op {
                    Op::Gemm(attrs) => attrs.clone(),
                    Op::MatMul => crate::ir::op::GemmAttrs::default(),
                    _ => unreachable!("planned as a Gemm or MatMul"),
                };
                let (w, b) = fully_connected_constants(
                    graph,
                    &node,
                    &mut attrs,
                    &x_quant,
                    per_tensor,
                    weight_bits,
                )?;
                let mut inputs = vec![xq, w];
                inputs.extend(b);
                (Op::Gemm(attrs), inputs, known(activation(y)))
            }
            Plan::Activation => {
                let own = source_quant
                    .get(&y)
                    .filter(|q| q.single().is_some())
                    .cloned();
                // TFLite's fixed output quantization of the bounded functions, unless the
                // model has its own.
                let y_quant = match node.op {
                    Op::Sigmoid => {
                        own.unwrap_or(Quantization::per_tensor(1.0 / 256.0, -128))
                    }
                    Op::Tanh => own.unwrap_or(Quantization::per_tensor(1.0 / 128.0, 0)),
                    _ => known(activation(y)),
                };
                (node.op.clone(), vec![xq], y_quant)
            }
            Plan::Concat => {
                let y_quant = known(activation(y));
                let mut inputs = vec![];
                for (k, &t) in node.inputs.iter().enumerate() {
                    let tq = match int8_of.get(&t) {
                        Some(&q) => q,
                        None => {
                            let name = format!("{}/quantize_input_{k}", node.name);
                            let quant = y_quant.clone();
                            quantize_input(graph, &mut out, &mut int8_of, t, quant, name)
                        }
                    };
                    materialize(graph, &mut out, &mut unmaterialized, tq);
                    inputs.push(requantized(graph, &mut out, tq, &y_quant, &node.name, k));
                }
                (node.op.clone(), inputs, y_quant)
            }
            // The model's own output quantization, else TFLite's.
            Plan::Softmax => (
                node.op.clone(),
                vec![xq],
                source_quant
                    .get(&y)
                    .filter(|q| q.single().is_some())
                    .cloned()
                    .unwrap_or_else(|| Quantization::per_tensor(1.0 / 256.0, -128)),
            ),
            Plan::View => (node.op.clone(), vec![xq], x_quant),
            Plan::Binary => {
                let b = node.inputs[1];
                let bq = match int8_of.get(&b) {
                    Some(&q) => q,
                    None if graph.tensor(b).is_constant() => {
                        let q = quantized_constant(graph, b);
                        int8_of.insert(b, q);
                        q
                    }
                    None => {
                        let name = format!("{}/quantize_input_1", node.name);
                        let quant = known(activation(b));
                        quantize_input(graph, &mut out, &mut int8_of, b, quant, name)
                    }
                };
                materialize(graph, &mut out, &mut unmaterialized, bq);
                (node.op.clone(), vec![xq, bq], known(activation(y)))
            }
            Plan::Conv | Plan::Pool | Plan::GlobalAveragePool => {
                unreachable!("handled above")
            }
        };
        let yq = int8_twin(graph, y, y_quant);
        out.push(Node {
            name: node.name.clone(),
            op,
            inputs,
            params: node.params.clone(),
            outputs: vec![yq],
        });
        int8_of.insert(y, yq);
        pending.insert(y, yq);
        quantized += 1;
    }
    // The graph's outputs stay float.
    for t in graph.outputs.clone() {
        if let Some(&q) = pending.get(&t) {
            materialize(graph, &mut out, &mut unmaterialized, q);
        }
        dequantize(graph, &mut out, &mut pending, t);
    }
    graph.nodes = out;
    Ok((quantized, float))
}

/// Whether the int8 kernel of a planned node takes the quantization the plan would give it:
/// `HardSwish` needs an output scale of at least 1/128 of the input's.
fn kernel_takes(
    node: &Node,
    kind: &Plan,
    input: Option<Quantization>,
    output: Option<Quantization>,
) -> bool {
    if !matches!((kind, &node.op), (Plan::Activation, Op::HardSwish)) {
        return true;
    }
    match (
        input.and_then(|q| q.single()),
        output.and_then(|q| q.single()),
    ) {
        (Some(x), Some(y)) => crate::quant::hard_swish_params(x, y).is_ok(),
        _ => false,
    }
}

/// Int8 tensor `t` with quantization `quant`: `t` itself if it has it, else the output of a new
/// int8-to-int8 `Quantize` (input `k` of node `node`).
fn requantized(
    graph: &mut Graph,
    out: &mut Vec<Node>,
    t: TensorId,
    quant: &Quantization,
    node: &str,
    k: usize,
) -> TensorId {
    if graph.tensor(t).quant.as_ref() == Some(quant) {
        return t;
    }
    let q = int8_twin(graph, t, quant.clone());
    out.push(Node {
        name: format!("{node}/requantize_input_{k}"),
        op: Op::Quantize,
        inputs: vec![t],
        params: vec![],
        outputs: vec![q],
    });
    q
}

/// Quantizes float tensor `t` for an int8 reader: a `Quantize` node named `name` writes its
/// int8 version, which is returned and remembered in `int8_of`.
fn quantize_input(
    graph: &mut Graph,
    out: &mut Vec<Node>,
    int8_of: &mut HashMap<TensorId, TensorId>,
    t: TensorId,
    quant: Quantization,
    name: String,
) -> TensorId {
    let q = int8_twin(graph, t, quant);
    out.push(Node {
        name,
        op: Op::Quantize,
        inputs: vec![t],
        params: vec![],
        outputs: vec![q],
    });
    int8_of.insert(t, q);
    q
}

/// A float constant as an int8 constant: with the model's own quantization if it has one per
/// tensor, else asymmetric over its range.
fn quantized_constant(graph: &mut Graph, t: TensorId) -> TensorId {
    let tensor = graph.tensor(t);
    let values: Vec<f32> = tensor
        .data
        .as_ref()
        .map(|d| d.to_f64_vec().iter().map(|&v| v as f32).collect())
        .unwrap_or_default();
    let quant = match graph.source_quant.get(&t) {
        Some(q) if q.single().is_some() => q.clone(),
        _ => {
            let finite = values.iter().copied().filter(|v| v.is_finite());
            let (min, max) =
                finite.fold((0f32, 0f32), |(lo, hi), v| (lo.min(v), hi.max(v)));
            activation_quantization(min, max)
        }
    };
    let (scale, zero_point) = quant.single().expect("per tensor");
    let q: Vec<i8> = values
        .iter()
        .map(|&v| ((v / scale).round() as i32 + zero_point).clamp(-128, 127) as i8)
        .collect();
    let name = format!("{}/int8", tensor.name);
    let shape = tensor.shape().to_vec();
    let id = graph.add_constant(&name, shape, TensorData::I8(q));
    graph.tensor_mut(id).quant = Some(quant);
    id
}

/// A quantization [`rewrite`] checked is known before planning the node.
fn known(q: Option<Quantization>) -> Quantization {
    q.expect("planned nodes have known quantization")
}

/// Before a float reader of `t`: if an int8 node computes `t`, a `Dequantize` node writes the
/// float tensor from its int8 version (once).
fn dequantize(
    graph: &Graph,
    out: &mut Vec<Node>,
    pending: &mut HashMap<TensorId, TensorId>,
    t: TensorId,
) {
    if let Some(q) = pending.remove(&t) {
        out.push(Node {
            name: format!("{}/dequantize", graph.tensor(t).name),
            op: Op::Dequantize,
            inputs: vec![q],
            params: vec![],
            outputs: vec![t],
        });
    }
}

/// Makes int8 NCHW tensor `q` from its channels-last version if only that exists yet.
fn materialize(
    graph: &Graph,
    out: &mut Vec<Node>,
    unmaterialized: &mut HashMap<TensorId, TensorId>,
    q: TensorId,
) {
    if let Some(nhwc) = unmaterialized.remove(&q) {
        out.push(transpose(graph, nhwc, q, [0, 3, 1, 2]));
    }
}

fn transpose(graph: &Graph, from: TensorId, to: TensorId, perm: [usize; 4]) -> Node {
    Node {
        name: format!("{}/transpose", graph.tensor(to).name),
        op: Op::Transpose(crate::ir::op::TransposeAttrs {
            perm: Some(perm.to_vec()),
        }),
        inputs: vec![from],
        params: vec![],
        outputs: vec![to],
    }
}

/// A new tensor holding int8 NCHW tensor `q` channels-last, with its quantization.
fn nhwc_twin(graph: &mut Graph, q: TensorId) -> TensorId {
    let tensor = graph.tensor(q);
    let shape = tensor.shape().to_vec();
    let name = graph.unique_name(&format!("{}/nhwc", tensor.name));
    let quant = tensor.quant.clone();
    graph.add_tensor(Tensor {
        name,
        dtype: DType::I8,
        shape: Some(vec![shape[0], shape[2], shape[3], shape[1]]),
        data: None,
        quant,
        storage: None,
    })
}

/// The int8 (or 4-bit) weights `[C_out, kh, kw, C_in / group]` (symmetric per output channel)
/// and int32 bias of a convolution whose float weights are `[C_out, C_in / group, kh, kw]`.
fn conv_constants(
    graph: &mut Graph,
    node: &Node,
    x_quant: &Quantization,
    per_tensor: bool,
    bits: WeightBits,
) -> Result<(TensorId, Option<TensorId>)> {
    let w = graph.tensor(node.inputs[1]);
    let weights = w
        .data
        .as_ref()
        .and_then(|d| d.as_f32())
        .ok_or_else(|| Error::internal("a convolution's weights are not float32"))?
        .to_vec();
    let [c_out, c_in, kh, kw] = w.shape()[..] else {
        return Err(Error::internal("a 2-D convolution's weights are not 4-D"));
    };
    let per_channel = c_in * kh * kw;
    let scales = weight_scales(
        graph,
        node.inputs[1],
        &weights,
        (c_out, per_channel),
        0,
        |c, k| c * per_channel + k,
        bits,
    );
    let scales = one_scale_if(per_tensor, scales);
    let mut q = vec![0i8; weights.len()];
    for (c, &scale) in scales.iter().enumerate() {
        let block = &weights[c * per_channel..(c + 1) * per_channel];
        for i in 0..c_in {
            for y in 0..kh {
                for x in 0..kw {
                    let v = block[(i * kh + y) * kw + x];
                    q[c * per_channel + (y * kw + x) * c_in + i] =
                        quantize_weight(v, scale, bits);
                }
            }
        }
    }
    let name = format!("{}/{}", node.name, weights_name(bits));
    let w_id = graph.add_constant(&name, vec![c_out, kh, kw, c_in], TensorData::I8(q));
    graph.tensor_mut(w_id).quant = Some(Quantization {
        scale: scales.clone(),
        zero_point: vec![0; c_out],
        axis: 0,
        int4: bits == WeightBits::Int4,
    });
    let bias = match node.inputs.get(2) {
        None => None,
        Some(&b) => Some(bias_int32(graph, node, b, &scales, x_quant)?),
    };
    Ok((w_id, bias))
}

/// The scale of each of the `units` output channels of float weights, whose element `k` of
/// channel `c` is `weights[at(c, k)]` (`depth` of them): the model's own scales (recorded in
/// [`Graph::source_quant`] for tensor `w`, per tensor or along `output_axis`, zero points 0) when
/// the weights are exactly integers of `bits` times them, else symmetric: the largest magnitude
/// over 127 (over 7 for 4-bit weights).
#[allow(clippy::too_many_arguments)]
fn weight_scales(
    graph: &Graph,
    w: TensorId,
    weights: &[f32],
    (units, depth): (usize, usize),
    output_axis: usize,
    at: impl Fn(usize, usize) -> usize,
    bits: WeightBits,
) -> Vec<f32> {
    let own = graph.source_quant.get(&w).and_then(|q| {
        if q.zero_point.iter().any(|&z| z != 0) {
            return None;
        }
        match q.scale.len() {
            1 => Some(vec![q.scale[0]; units]),
            n if n == units && q.axis == output_axis => Some(q.scale.clone()),
            _ => None,
        }
    });
    let exact = |scales: &[f32]| {
        scales.iter().enumerate().all(|(c, &s)| {
            s > 0.0
                && (0..depth).all(|k| {
                    let v = weights[at(c, k)];
                    let q = (v / s).round();
                    let (low, high) = bits.range();
                    (low..=high).contains(&q) && (q * s - v).abs() <= s * 1e-3
                })
        })
    };
    match own {
        Some(scales) if exact(&scales) => scales,
        _ => (0..units)
            .map(|c| {
                let largest = (0..depth).fold(0f32, |m, k| m.max(weights[at(c, k)].abs()));
                if largest <= 0.0 {
                    return 1.0;
                }
                let full = largest / bits.largest();
                if bits == WeightBits::Int8 {
                    return full;
                }
                // Fifteen levels are coarse: clipping the few largest weights of a channel
                // often buys finer steps for all the others. The scale is the one, from the
                // full range down to half of it in steps of 1 %, with the least squared error.
                let error = |scale: f32| -> f64 {
                    (0..depth)
                        .map(|k| {
                            let v = weights[at(c, k)];
                            let q = quantize_weight(v, scale, bits) as f32;
                            ((q * scale - v) as f64).powi(2)
                        })
                        .sum()
                };
                (50..=100)
                    .map(|percent| full * percent as f32 / 100.0)
                    .map(|scale| (scale, error(scale)))
                    .fold((full, f64::INFINITY), |best, candidate| {
                        if candidate.1 < best.1 {
                            candidate
                        } else {
                            best
                        }
                    })
                    .0
            })
            .collect(),
    }
}

/// `--per-tensor`: the largest of the channels' scales for every channel (each channel's
/// largest magnitude over its range is at most the tensor's), so that one scale quantizes the
/// tensor.
fn one_scale_if(per_tensor: bool, scales: Vec<f32>) -> Vec<f32> {
    if !per_tensor {
        return scales;
    }
    let largest = scales.iter().copied().fold(0f32, f32::max);
    vec![largest; scales.len()]
}

/// A weight as an integer of `bits` with `scale`: the model's own integers where they came from
/// (which may include −128, or −8), else within the symmetric range ±127 (±7).
fn quantize_weight(v: f32, scale: f32, bits: WeightBits) -> i8 {
    let (low, high) = bits.range();
    (v / scale).round().clamp(low, high) as i8
}

/// The name of a layer's quantized weights, after the layer's.
fn weights_name(bits: WeightBits) -> &'static str {
    match bits {
        WeightBits::Int8 => "weights_int8",
        WeightBits::Int4 => "weights_int4",
    }
}

/// A float bias as int32 with scale `s_input · s_weight[c]` and zero point 0.
fn bias_int32(
    graph: &mut Graph,
    node: &Node,
    b: TensorId,
    weight_scales: &[f32],
    x_quant: &Quantization,
) -> Result<TensorId> {
    let (input_scale, _) = x_quant.single().expect("activations are per tensor");
    let values = graph
        .tensor(b)
        .data
        .as_ref()
        .and_then(|d| d.as_f32())
        .ok_or_else(|| {
            Error::internal(format!("the bias of '{}' is not float32", node.name))
        })?
        .to_vec();
    if values.len() != weight_scales.len() {
        return Err(Error::internal(format!(
            "the bias of '{}' has {} values for {} channels",
            node.name,
            values.len(),
            weight_scales.len()
        )));
    }
    let scales: Vec<f32> = weight_scales.iter().map(|&s| input_scale * s).collect();
    let q: Vec<i32> = values
        .iter()
        .zip(&scales)
        .map(|(&v, &s)| {
            ((v as f64) / (s as f64))
                .round()
                .clamp(i32::MIN as f64, i32::MAX as f64) as i32
        })
        .collect();
    let name = format!("{}/bias_int32", node.name);
    let units = scales.len();
    let id = graph.add_constant(&name, vec![units], TensorData::I32(q));
    graph.tensor_mut(id).quant = Some(Quantization {
        scale: scales,
        zero_point: vec![0; units],
        axis: 0,
        int4: false,
    });
    Ok(id)
}

/// A new int8 tensor of the shape of float tensor `t`.
fn int8_twin(graph: &mut Graph, t: TensorId, quant: Quantization) -> TensorId {
    let tensor = graph.tensor(t);
    let name = graph.unique_name(&format!("{}/int8", tensor.name));
    let shape = tensor.shape.clone();
    graph.add_tensor(Tensor {
        name,
        dtype: DType::I8,
        shape,
        data: None,
        quant: Some(quant),
        storage: None,
    })
}

/// The int8 (or 4-bit) weights `[units, inputs]` (symmetric per output channel) and int32 bias
/// of a fully connected layer; makes the Gemm's B transposed.
fn fully_connected_constants(
    graph: &mut Graph,
    node: &Node,
    attrs: &mut crate::ir::op::GemmAttrs,
    x_quant: &Quantization,
    per_tensor: bool,
    bits: WeightBits,
) -> Result<(TensorId, Option<TensorId>)> {
    let w = graph.tensor(node.inputs[1]);
    let weights = w
        .data
        .as_ref()
        .and_then(|d| d.as_f32())
        .ok_or_else(|| {
            Error::internal("a fully connected layer's weights are not float32")
        })?
        .to_vec();
    let (rows, cols) = (w.shape()[0], w.shape()[1]);
    // Row c of `units` holds output channel c's weights.
    let trans_b = attrs.trans_b;
    let (units, depth) = if trans_b { (rows, cols) } else { (cols, rows) };
    let at = |c: usize, k: usize| if trans_b { c * cols + k } else { k * cols + c };
    let output_axis = if trans_b { 0 } else { 1 };
    let scales = weight_scales(
        graph,
        node.inputs[1],
        &weights,
        (units, depth),
        output_axis,
        at,
        bits,
    );
    let scales = one_scale_if(per_tensor, scales);
    let mut q = Vec::with_capacity(units * depth);
    for (c, &scale) in scales.iter().enumerate() {
        q.extend((0..depth).map(|k| quantize_weight(weights[at(c, k)], scale, bits)));
    }
    attrs.trans_b = true;
    let weight_name = format!("{}/{}", node.name, weights_name(bits));
    let w_id = graph.add_constant(&weight_name, vec![units, depth], TensorData::I8(q));
    graph.tensor_mut(w_id).quant = Some(Quantization {
        scale: scales.clone(),
        zero_point: vec![0; units],
        axis: 0,
        int4: bits == WeightBits::Int4,
    });
    let bias = match node.inputs.get(2) {
        None => None,
        Some(&b) => Some(bias_int32(graph, node, b, &scales, x_quant)?),
    };
    Ok((w_id, bias))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibrators_parse_and_refuse_the_rest() {
        assert_eq!(Calibrator::parse("minmax"), Ok(Calibrator::MinMax));
        assert_eq!(
            Calibrator::parse("percentile"),
            Ok(Calibrator::Percentile(99.99))
        );
        assert_eq!(
            Calibrator::parse("percentile=99.9"),
            Ok(Calibrator::Percentile(99.9))
        );
        assert_eq!(Calibrator::parse("mse"), Ok(Calibrator::Mse));
        for bad in ["", "max", "percentile=101", "percentile=x", "mse=2"] {
            assert!(Calibrator::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percentiles_clip_the_rare_extremes_and_mse_weighs_them() {
        // 10,000 values in [0, 1) and one outlier at 100.
        let mut h = Histogram::new(0.0, 100.0);
        for i in 0..10_000 {
            h.add(i as f32 / 10_000.0);
        }
        h.add(100.0);
        let (lo, hi) = h.percentile_range(99.99);
        assert_eq!(lo, 0.0);
        assert!(hi < 2.0, "the outlier is clipped: {hi}");
        assert_eq!(h.percentile_range(100.0), (0.0, 100.0));
        // Clipping one outlier costs more squared error than 10,000 coarse values: kept.
        assert_eq!(h.mse_range(), (0.0, 100.0));
        // Against a million values, clipping it is cheaper.
        for i in 0..990_000 {
            h.add((i % 10_000) as f32 / 10_000.0);
        }
        let (_, hi) = h.mse_range();
        assert!(hi < 100.0, "the range is shrunk: {hi}");
    }

    #[test]
    fn activation_ranges_hold_zero_and_map_to_the_whole_int8_range() {
        let q = activation_quantization(-1.0, 3.0);
        let (s, z) = q.single().unwrap();
        assert!((s - 4.0 / 255.0).abs() < 1e-7);
        // -1 maps to -128 and 3 to 127.
        assert_eq!(((-1.0 / s).round() as i32 + z), -128);
        assert_eq!(((3.0 / s).round() as i32 + z), 127);
        // A range of positives only is widened to start at 0: 0 is -128.
        let (s, z) = activation_quantization(2.0, 6.0).single().unwrap();
        assert_eq!(z, -128);
        assert!((s - 6.0 / 255.0).abs() < 1e-7);
        // A constant zero tensor still gets a usable scale.
        let (s, _) = activation_quantization(0.0, 0.0).single().unwrap();
        assert!(s > 0.0 && s.is_finite());
    }
}
