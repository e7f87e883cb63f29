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
pub mod options;
pub mod passes;
pub mod quant;
pub mod report;
pub mod run;

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
    backend::rust::check_supported(&graph)?;
    Ok(Compiled { graph, reports })
}
