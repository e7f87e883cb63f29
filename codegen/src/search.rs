//! The search behind `--max-accuracy-drop POINTS`: which layers to prune, how far, and which
//! to cluster, so that the build's weights take the fewest bytes while its accuracy on labelled
//! data stays within `POINTS` percentage points of the float model's.
//!
//! **What is measured.** Accuracy is the top-1 accuracy of the build's first output on the
//! given samples, computed by the reference evaluator on the compiled graph (which the generated
//! code matches: exactly in int8, to float rounding in float; the tests check it), against the
//! float model compiled without `--quantize`, pruning or clustering. Bytes are the static data
//! of the lowered program (weights as stored, biases, scales), as `inspect` reports them. The
//! user's other options, `--quantize` among them, hold for every candidate.
//!
//! **How.** Greedy, layer by layer, least sensitive first:
//!
//! 1. The start is the build without pruning or clustering; if it is already over budget there
//!    is nothing to search.
//! 2. Each layer's *sensitivity* is the accuracy lost when that layer alone is pruned by half
//!    and clustered to 16 values. Layers are visited from the least sensitive to the most,
//!    larger layers first among equals.
//! 3. For each layer, with the choices already made for the layers before it, every
//!    combination of a sparsity in [`SPARSITIES`] (or none) and a cluster count in
//!    [`cluster_counts`] (or none) is compiled; the ones that store fewer bytes than the best
//!    so far are run on the data, and the layer keeps the smallest that stays within budget.
//!
//! Bytes only fall where the back end can store a layer in less: sparse formats need a quarter
//! saved and exist for fully connected layers, and a codebook of 4-bit indices needs at most
//! 16 values, so pruning a convolution or clustering int8 weights to more than 16 values is
//! never chosen; nor is anything that costs accuracy and saves nothing. Each candidate costs a
//! compile (with its calibration) and, when it is smaller, a run over the data: on the digits
//! CNN about a hundred compiles. The choice is printed as options (`--prune-layer NAME=F`,
//! `--cluster-layer NAME=K`) that rebuild it without searching.

use crate::CompileOptions;
use crate::error::{Error, Result};
use crate::eval::{self, Value};
use crate::ir::Graph;
use crate::passes::Progress;

/// The task the progress callback hears about.
pub const SEARCHING: &str = "Searching";

/// The sparsities tried for each layer, from the most.
pub const SPARSITIES: &[f64] = &[0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];

/// The cluster counts worth trying: 16 values (4-bit indices) and, for float weights, 256
/// (8-bit indices, a quarter of `f32`); an int8 layer of more than 16 values saves nothing.
pub fn cluster_counts(int8: bool) -> &'static [usize] {
    if int8 { &[16] } else { &[16, 256] }
}

/// Samples, one value per graph input each, and their labels.
pub struct Labelled {
    pub samples: Vec<Vec<Value>>,
    pub labels: Vec<i64>,
}

/// What the search chose: per-layer sparsities and cluster counts, by layer name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Choice {
    pub prune_layers: Vec<(String, f64)>,
    pub cluster_layers: Vec<(String, usize)>,
}

impl Choice {
    /// The options that rebuild this choice, as command-line flags.
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        for (name, fraction) in &self.prune_layers {
            flags.push(format!("--prune-layer={name}={fraction}"));
        }
        for (name, k) in &self.cluster_layers {
            flags.push(format!("--cluster-layer={name}={k}"));
        }
        flags
    }

    /// `options` with this choice's pruning and clustering instead of their own.
    pub fn apply(&self, options: &CompileOptions) -> CompileOptions {
        let mut options = options.clone();
        options.passes.prune = None;
        options.passes.cluster = None;
        options.passes.prune_layers = self.prune_layers.clone();
        options.passes.cluster_layers = self.cluster_layers.clone();
        options
    }

    fn with(&self, layer: &str, sparsity: Option<f64>, clusters: Option<usize>) -> Choice {
        let mut choice = self.clone();
        if let Some(s) = sparsity {
            choice.prune_layers.push((layer.to_string(), s));
        }
        if let Some(k) = clusters {
            choice.cluster_layers.push((layer.to_string(), k));
        }
        choice
    }
}

/// What the search found.
pub struct Outcome {
    pub choice: Choice,
    /// The float model's accuracy, the start's, and the choice's.
    pub float_accuracy: f64,
    pub start_accuracy: f64,
    pub accuracy: f64,
    /// The static data of the build without pruning or clustering, and of the choice.
    pub start_bytes: usize,
    pub bytes: usize,
    /// Candidates compiled, and how many of them ran on the data.
    pub compiles: usize,
    pub runs: usize,
}

/// One candidate: its bytes, and its accuracy when it was run.
struct Measured {
    bytes: usize,
    accuracy: Option<f64>,
}

struct Searcher<'a> {
    graph: &'a Graph,
    options: &'a CompileOptions,
    data: &'a Labelled,
    progress: &'a Progress,
    compiles: usize,
    runs: usize,
    /// An estimate of the compiles the search makes, for the progress callback.
    planned: usize,
}

impl Searcher<'_> {
    /// Compiles `choice`; runs it on the data when it stores fewer than `run_below` bytes.
    fn measure(&mut self, choice: &Choice, run_below: usize) -> Result<Measured> {
        let options = choice.apply(self.options);
        let compiled = crate::compile_graph(self.graph.clone(), &options, &mut |_, _| {})?;
        self.compiles += 1;
        self.planned = self.planned.max(self.compiles + 1);
        self.progress.report(SEARCHING, self.compiles, self.planned);
        let program = crate::backend::lower::lower(&compiled.graph)?;
        let bytes = crate::report::totals(&compiled.graph, &program).weight_bytes;
        let accuracy = if bytes < run_below {
            self.runs += 1;
            Some(accuracy(&compiled.graph, self.data)?)
        } else {
            None
        };
        Ok(Measured { bytes, accuracy })
    }
}

/// The top-1 accuracy of `graph`'s first output on `data`, by the reference evaluator.
pub fn accuracy(graph: &Graph, data: &Labelled) -> Result<f64> {
    let mut outputs = Vec::new();
    for sample in &data.samples {
        let out = eval::evaluate(graph, sample)?;
        let first = out.into_iter().next().ok_or_else(|| {
            Error::invalid_argument("the model has no output to measure accuracy on")
        })?;
        outputs.extend(first.data.to_f64_vec().iter().map(|&x| x as f32));
    }
    let classes = outputs.len() / data.samples.len().max(1);
    Ok(crate::validate::accuracy(&outputs, classes, &data.labels))
}

/// Fails unless `points` is a budget: finite and not negative.
pub fn check_budget(points: f64) -> Result<()> {
    if points.is_finite() && points >= 0.0 {
        return Ok(());
    }
    Err(Error::invalid_argument(format!(
        "--max-accuracy-drop takes the percentage points of accuracy the build may lose, 0 or \
         more, such as 1.0; got {points}"
    )))
}

/// Searches the pruning and clustering of each layer of `graph` (as imported, before the
/// passes) that store the fewest bytes with an accuracy on `data` at most `points` percentage
/// points below the float model's. `options` are the build's own, without pruning or
/// clustering.
pub fn search(
    graph: &Graph,
    options: &CompileOptions,
    data: &Labelled,
    points: f64,
    progress: &Progress,
) -> Result<Outcome> {
    if data.samples.is_empty() {
        return Err(Error::invalid_argument(
            "--max-accuracy-drop needs labelled samples (--data and --labels)",
        ));
    }
    check_budget(points)?;
    // The float model: the reference, and the layers pruning and clustering see.
    let mut float_options = options.clone();
    float_options.passes.int8 = None;
    float_options.passes.stored_weights = None;
    let float = crate::compile_graph(graph.clone(), &float_options, &mut |_, _| {})?;
    let float_accuracy = accuracy(&float.graph, data)?;
    let floor = float_accuracy - points / 100.0;
    let mut layers = crate::passes::prune::layer_names(&float.graph);
    if layers.is_empty() {
        return Err(Error::invalid_argument(
            "--max-accuracy-drop: the model has no float fully connected layer or convolution \
             whose weights pruning or clustering could change",
        ));
    }
    let int8 = options.passes.int8.is_some();
    let counts = cluster_counts(int8);
    let mut searcher = Searcher {
        graph,
        options,
        data,
        progress,
        compiles: 0,
        runs: 0,
        planned: 1 + layers.len() * (1 + (SPARSITIES.len() + 1) * (counts.len() + 1)),
    };
    let start = searcher.measure(&Choice::default(), usize::MAX)?;
    let start_accuracy = start.accuracy.unwrap_or(0.0);
    if start_accuracy < floor {
        return Err(Error::invalid_argument(format!(
            "--max-accuracy-drop {points}: without pruning or clustering the build's accuracy \
             is {:.2} %, already more than {points} points below the float model's {:.2} %; \
             nothing to search",
            100.0 * start_accuracy,
            100.0 * float_accuracy
        )));
    }

    // Sensitivity: the accuracy with the layer alone pruned by half and clustered to 16.
    let mut sensitivity = Vec::with_capacity(layers.len());
    for (name, _) in &layers {
        let probe = Choice::default().with(name, Some(0.5), Some(16));
        let measured = searcher.measure(&probe, usize::MAX)?;
        sensitivity.push(start_accuracy - measured.accuracy.unwrap_or(0.0));
    }
    let mut order: Vec<usize> = (0..layers.len()).collect();
    order.sort_by(|&a, &b| {
        sensitivity[a]
            .total_cmp(&sensitivity[b])
            .then(layers[b].1.cmp(&layers[a].1))
            .then(a.cmp(&b))
    });
    let layers_in_order: Vec<(String, usize)> =
        order.iter().map(|&i| layers[i].clone()).collect();
    layers = layers_in_order;

    // Greedy: each layer keeps the smallest candidate within budget.
    let mut choice = Choice::default();
    let (mut bytes, mut reached) = (start.bytes, start_accuracy);
    for (name, _) in &layers {
        let mut best: Option<(Choice, usize, f64)> = None;
        let sparsities = SPARSITIES.iter().copied().map(Some).chain([None]);
        for s in sparsities {
            for k in counts.iter().copied().map(Some).chain([None]) {
                if s.is_none() && k.is_none() {
                    continue;
                }
                let candidate = choice.with(name, s, k);
                let limit = best.as_ref().map_or(bytes, |b| b.1);
                let measured = searcher.measure(&candidate, limit)?;
                match measured.accuracy {
                    Some(a) if a >= floor => best = Some((candidate, measured.bytes, a)),
                    _ => {}
                }
            }
        }
        if let Some((chosen, b, a)) = best {
            choice = chosen;
            bytes = b;
            reached = a;
        }
    }
    progress.report(SEARCHING, searcher.planned, searcher.planned);
    Ok(Outcome {
        choice,
        float_accuracy,
        start_accuracy,
        accuracy: reached,
        start_bytes: start.bytes,
        bytes,
        compiles: searcher.compiles,
        runs: searcher.runs,
    })
}
