//! edgegen: an ahead-of-time compiler from trained neural networks to standalone source code.
//!
//! ```text
//! model.onnx
//!    │ frontend::load_model        parse, check, translate (opset quirks stay here)
//!    ▼
//! ir::Graph                        tensors, nodes with typed attributes, inputs, outputs
//!    │ passes::run_pipeline        shapes → folding → fusions → dead nodes → memory plan,
//!    │                             the validator after every pass
//!    ▼
//! backend::rust::emit              one #![no_std] Rust file: weights as static bytes,
//!    ▼                             specialised kernel calls, a statically planned arena
//! model.rs
//! ```
//!
//! [`compile`] runs the whole pipeline; [`run`] compiles the generated code with rustc and runs
//! it; [`eval`] is the reference interpreter every stage is checked against.

pub mod backend;
pub mod error;
pub mod eval;
pub mod frontend;
pub mod ir;
pub mod kernels;
pub mod npy;
pub mod npz;
pub mod options;
pub mod passes;
pub mod quant;
pub mod report;
pub mod run;
pub mod search;
pub mod validate;

pub use error::{Error, ErrorKind, Result};

use std::path::Path;

use frontend::ImportOptions;
use ir::Graph;
use passes::{PassOptions, PassReport};

/// Everything that decides what code is generated.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    pub import: ImportOptions,
    pub passes: PassOptions,
    /// The most RAM (arena and state) the generated code may need (`--max-ram`).
    pub max_ram: Option<usize>,
    /// Which fully connected layers the back end unrolls (`--unroll`): set on the graph by
    /// [`compile_graph`], since every lowering of the graph must make the same choice.
    pub unroll: ir::Unroll,
}

impl CompileOptions {
    /// The options of the same build without compression ([`PassOptions::without_compression`]),
    /// or `None` when these ask for none. The RAM budget is dropped: it is for the build that
    /// ships, and the build without compression is only measured, for the report. `--unroll`
    /// stays: it is how the code is written, not a compression, so the comparison shows what
    /// pruning and clustering bought in the same kind of code.
    pub fn without_compression(&self) -> Option<CompileOptions> {
        Some(CompileOptions {
            import: self.import.clone(),
            passes: self.passes.without_compression()?,
            max_ram: None,
            unroll: self.unroll,
        })
    }
}

/// A model after the pipeline, ready for a back end.
pub struct Compiled {
    pub graph: Graph,
    pub reports: Vec<PassReport>,
}

/// Reads a model file and runs the pass pipeline on it.
pub fn compile(
    path: &Path,
    options: &CompileOptions,
    dump: &mut dyn FnMut(&str, &str),
) -> Result<Compiled> {
    let graph = frontend::load_model(path, &options.import)?;
    compile_graph(graph, options, dump).map_err(|e| e.context(path.display()))
}

/// Runs the pass pipeline on an imported graph and checks the back end can emit every node.
pub fn compile_graph(
    mut graph: Graph,
    options: &CompileOptions,
    dump: &mut dyn FnMut(&str, &str),
) -> Result<Compiled> {
    let reports = passes::run_pipeline(&mut graph, &options.passes, dump)?;
    graph.unroll = options.unroll;
    backend::rust::check_supported(&graph)?;
    if let Some(budget) = options.max_ram {
        check_ram(&graph, budget)?;
    }
    Ok(Compiled { graph, reports })
}

/// Fails when the planned arena and the state need more than `budget` bytes, saying where the
/// memory goes: the layer at which the most is live and the tensors live there.
fn check_ram(graph: &Graph, budget: usize) -> Result<()> {
    let (arena, state) = backend::rust::ram_bytes(graph)?;
    if arena + state <= budget {
        return Ok(());
    }
    let digits = |n: usize| report::group_digits(n as u64);
    let mut message = format!(
        "the model needs {} bytes of RAM, more than its budget of {} bytes: ",
        digits(arena + state),
        digits(budget)
    );
    message += &format!("{} bytes of arena", digits(arena));
    if state > 0 {
        message += &format!(" and {} bytes of state", digits(state));
    }
    if let Some(plan) = &graph.plan {
        let (step, live) = plan.peak(graph);
        let total: usize = live.iter().map(|l| l.1).sum();
        if let Some(node) = graph.nodes.get(step) {
            message += &format!(
                ".\nThe most memory is live at layer {step} '{}' ({}): {} bytes in",
                node.name,
                node.op.name(),
                digits(total)
            );
        } else {
            message += &format!(
                ".\nThe most memory is live at the end of the run: {} bytes in",
                digits(total)
            );
        }
        let shown = 6;
        for &(t, bytes) in live.iter().take(shown) {
            let tensor = graph.tensor(t);
            message += &format!(
                "\n  {} {} {:?}: {} bytes",
                tensor.name,
                tensor.dtype,
                tensor.shape(),
                digits(bytes)
            );
        }
        if live.len() > shown {
            message += &format!("\n  and {} smaller tensors", live.len() - shown);
        }
        if arena > total {
            message += &format!(
                "\n(the plan's arena is {} bytes above that peak: tensors live at different \
                 times could not share all their space)",
                digits(arena - total)
            );
        }
    }
    Err(Error::invalid_argument(message))
}
