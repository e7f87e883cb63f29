//! The pass pipeline: what runs between a front end and a back end.
//!
//! ```text
//! widen_float16 → infer_shapes → remove_identity → fold_constants → fuse_matmul_add → fold_batch_norm
//!   → fuse_activation → remove_dead_nodes → prune (with --prune or --prune-mode 2:4)
//!   → cluster (with --cluster K) → quantize (with --quantize int8) → compress_weights
//!   → plan_memory
//! ```
//!
//! A pass is a function `fn(&mut Graph, &PassOptions) -> Result<PassReport>`, testable on a
//! small graph written in the text IR. The validator runs after every pass, so a pass that breaks
//! an invariant is named at once. Users can turn optional passes off (`--disable-pass NAME`) and
//! print the IR after any pass (`--dump-after NAME`), as in TVM's pass manager.

pub mod cluster;
pub mod compress_weights;
pub mod dead_nodes;
pub mod fold_batch_norm;
pub mod fold_constants;
pub mod fold_qdq;
pub mod fuse;
pub mod memory_plan;
pub mod prune;
pub mod prune_channels;
pub mod quantize;
pub mod remove_identity;
pub mod shape_inference;
pub mod widen_float16;

use crate::error::{Error, Result};
use crate::ir::Graph;
use crate::ir::text::{PrintOptions, print};
use crate::ir::validate::{Stage, validate};

/// Options every pass receives, and the pipeline's own knobs.
#[derive(Clone, Debug, Default)]
pub struct PassOptions {
    /// Optional passes to skip, by name.
    pub disabled: Vec<String>,
    /// Passes after which to print the IR (`all` for every pass).
    pub dump_after: Vec<String>,
    /// Post-training int8 quantization (`--quantize int8`) and its calibration data.
    pub int8: Option<quantize::Int8Settings>,
    /// Told how far the long passes (calibration) have got, for a progress bar.
    pub progress: Progress,
    /// `--io int8`: a quantized model takes and gives its int8 integers, not floats.
    pub io_int8: bool,
    /// `--quantize int8-weights` or `fp16`: float layers' weights stored in fewer bits.
    pub stored_weights: Option<compress_weights::StoredWeights>,
    /// Magnitude pruning (`--prune FRACTION`, `--prune-mode`, `--prune-scope`).
    pub prune: Option<prune::PruneSettings>,
    /// Weight sharing (`--cluster K`): each layer's weights take at most `K` values.
    pub cluster: Option<usize>,
    /// `--prune-layer NAME=FRACTION`: unstructured pruning of the named layers by their own
    /// fractions (the others take `--prune`'s, or none).
    pub prune_layers: Vec<(String, f64)>,
    /// `--cluster-layer NAME=K`: the named layers' own cluster counts (the others take
    /// `--cluster`'s, or none).
    pub cluster_layers: Vec<(String, usize)>,
}

impl PassOptions {
    /// The same options without compression: what the report compares a compressed build
    /// with, to show what compression bought. Compression is what changes the weights' values
    /// after training to make them cheaper to store and run (pruning, clustering); quantization
    /// (`--quantize`) is part of both builds. `None` when these options ask for no compression,
    /// so that there is nothing to compare and no second compile.
    pub fn without_compression(&self) -> Option<PassOptions> {
        // Every field named, so that a new option cannot be added without deciding here whether
        // it is compression.
        let PassOptions {
            disabled: _,
            dump_after: _,
            int8: _,
            progress: _,
            io_int8: _,
            stored_weights: _,
            prune,
            cluster,
            prune_layers,
            cluster_layers,
        } = self;
        if prune.is_none()
            && cluster.is_none()
            && prune_layers.is_empty()
            && cluster_layers.is_empty()
        {
            return None;
        }
        Some(PassOptions {
            prune: None,
            cluster: None,
            prune_layers: Vec::new(),
            cluster_layers: Vec::new(),
            ..self.clone()
        })
    }
}

/// A callback that long passes tell how far they have got: `(task, done, total)`, such as
/// `("Calibrating", 40, 200)` after 40 of 200 sample runs. By default it does nothing.
#[derive(Clone, Default)]
pub struct Progress(Option<std::sync::Arc<ProgressFn>>);

/// What [`Progress`] calls.
type ProgressFn = dyn Fn(&str, usize, usize) + Send + Sync;

impl Progress {
    /// A callback that calls `f`.
    pub fn new(f: impl Fn(&str, usize, usize) + Send + Sync + 'static) -> Progress {
        Progress(Some(std::sync::Arc::new(f)))
    }

    /// Tells the callback that `done` of the `total` steps of `task` are done.
    pub fn report(&self, task: &str, done: usize, total: usize) {
        if let Some(f) = &self.0 {
            f(task, done, total);
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(callback)"
        } else {
            "Progress(none)"
        })
    }
}

/// What a pass did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PassReport {
    pub name: &'static str,
    /// Number of rewrites (nodes folded, fused, removed...).
    pub changes: usize,
    /// Further facts worth showing the user.
    pub details: Vec<String>,
}

impl PassReport {
    pub fn new(name: &'static str) -> Self {
        PassReport {
            name,
            ..PassReport::default()
        }
    }
}

type PassFn = fn(&mut Graph, &PassOptions) -> Result<PassReport>;

/// One entry of the pipeline.
pub struct Pass {
    pub name: &'static str,
    pub run: PassFn,
    /// Required passes establish what back ends rely on and cannot be disabled.
    pub required: bool,
    pub description: &'static str,
}

/// The pipeline, in order.
pub const PIPELINE: &[Pass] = &[
    Pass {
        name: "widen_float16",
        run: widen_float16::widen_float16,
        required: true,
        description: "compute float16 in float32 between casts",
    },
    Pass {
        name: "infer_shapes",
        run: shape_inference::infer_shapes,
        required: true,
        description: "static shapes, explicit attributes, folding of shape computations",
    },
    Pass {
        name: "fold_qdq",
        run: fold_qdq::fold_qdq,
        required: false,
        description: "QuantizeLinear/DequantizeLinear pairs into the quantization of the \
                      tensors between them (QDQ models become integer code)",
    },
    Pass {
        name: "remove_identity",
        run: remove_identity::remove_identity,
        required: false,
        description: "drop Identity, Dropout and no-op reshapes and casts",
    },
    Pass {
        name: "fold_constants",
        run: fold_constants::fold_constants,
        required: false,
        description: "evaluate nodes whose inputs are all constants",
    },
    Pass {
        name: "fuse_matmul_add",
        run: fuse::fuse_matmul_add,
        required: false,
        description: "MatMul + constant bias Add into Gemm",
    },
    Pass {
        name: "fold_batch_norm",
        run: fold_batch_norm::fold_batch_norm,
        required: false,
        description: "BatchNormalization into the preceding Conv, ConvTranspose or Gemm",
    },
    Pass {
        name: "fuse_activation",
        run: fuse::fuse_activation,
        required: false,
        description: "Relu, Clip and LeakyRelu into the preceding op's kernel",
    },
    Pass {
        name: "remove_dead_nodes",
        run: dead_nodes::remove_dead_nodes,
        required: true,
        description: "drop nodes and tensors that reach no output",
    },
    Pass {
        name: "prune",
        run: prune::prune,
        required: true,
        description: "zero the smallest float weights of fully connected layers and convolutions \
                      (with --prune FRACTION or --prune-mode 2:4), or remove whole channels \
                      (--prune-mode channels)",
    },
    Pass {
        name: "cluster",
        run: cluster::cluster,
        required: true,
        description: "share each float layer's weights among K values found by k-means (with \
                      --cluster K), stored as a codebook and indices",
    },
    Pass {
        name: "quantize",
        run: quantize::quantize,
        required: true,
        description: "int8 weights and activations from calibration (with --quantize int8; 4-bit \
                      weights with int4-weights) or from the model's own quantization (QDQ models)",
    },
    Pass {
        name: "compress_weights",
        run: compress_weights::compress_weights,
        required: true,
        description: "store float layers' weights as int8 (with --quantize int8-weights) or \
                      float16 (fp16); they still compute in float",
    },
    Pass {
        name: "plan_memory",
        run: memory_plan::plan_memory,
        required: true,
        description: "arena offsets from tensor lifetimes, in-place ops, copies",
    },
];

/// Checks pass names given by the user before anything runs.
pub fn check_options(options: &PassOptions) -> Result<()> {
    let known: Vec<&str> = PIPELINE.iter().map(|p| p.name).collect();
    for name in &options.disabled {
        match PIPELINE.iter().find(|p| p.name == name) {
            None => {
                return Err(Error::invalid_argument(format!(
                    "--disable-pass {name}: no such pass; passes are {}",
                    known.join(", ")
                )));
            }
            Some(p) if p.required => {
                return Err(Error::invalid_argument(format!(
                    "--disable-pass {name}: this pass is required and cannot be disabled"
                )));
            }
            _ => {}
        }
    }
    for name in &options.dump_after {
        if name != "all" && !known.contains(&name.as_str()) {
            return Err(Error::invalid_argument(format!(
                "--dump-after {name}: no such pass; passes are {}, or all",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// Runs the pipeline, validating after each pass. `dump` receives the IR text after the passes
/// named in `options.dump_after`, preceded by the pass report's details as `#` comments.
pub fn run_pipeline(
    graph: &mut Graph,
    options: &PassOptions,
    dump: &mut dyn FnMut(&str, &str),
) -> Result<Vec<PassReport>> {
    check_options(options)?;
    let mut reports = Vec::new();
    let mut stage = Stage::Imported;
    for pass in PIPELINE {
        if options.disabled.iter().any(|d| d == pass.name) {
            continue;
        }
        let report = (pass.run)(graph, options)?;
        if pass.name == "infer_shapes" {
            stage = Stage::Inferred;
        }
        validate(graph, stage).map_err(|e| {
            Error::internal(format!("the IR is invalid after pass {}:\n{e}", pass.name))
        })?;
        if options
            .dump_after
            .iter()
            .any(|d| d == pass.name || d == "all")
        {
            // What the pass did, as comments the text IR parser skips, then the IR.
            let mut text: String = report
                .details
                .iter()
                .map(|d| format!("# {}: {}\n", pass.name, d.replace(['\n', '\r'], " ")))
                .collect();
            text += &print(graph, PrintOptions::default());
            dump(pass.name, &text);
        }
        reports.push(report);
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_compression_clears_pruning_and_clustering_and_keeps_the_rest() {
        let plain = PassOptions {
            disabled: vec!["fold_constants".into()],
            io_int8: true,
            stored_weights: Some(compress_weights::StoredWeights::F16),
            ..PassOptions::default()
        };
        assert!(plain.without_compression().is_none());
        let pruned = PassOptions {
            prune: Some(prune::PruneSettings::TwoOfFour),
            ..plain.clone()
        };
        let before = pruned.without_compression().unwrap();
        assert_eq!(before.prune, None);
        let clustered = PassOptions {
            cluster_layers: vec![("fc".into(), 16)],
            prune_layers: vec![("fc".into(), 0.5)],
            ..plain.clone()
        };
        let unclustered = clustered.without_compression().unwrap();
        assert!(
            unclustered.cluster_layers.is_empty() && unclustered.prune_layers.is_empty()
        );
        assert_eq!(before.disabled, plain.disabled);
        assert!(before.io_int8);
        assert_eq!(before.stored_weights, plain.stored_weights);
    }
}
