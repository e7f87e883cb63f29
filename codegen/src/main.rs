//! The `edgegen` command: build, run and inspect models.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};

use edgegen::error::{Error, ErrorKind, Result};
use edgegen::frontend::ImportOptions;
use edgegen::ir::{DType, Graph, TensorData};
use edgegen::passes::{PIPELINE, PassOptions, Progress};
use edgegen::{CompileOptions, Compiled, backend, npy, options, report, run};

#[derive(Parser)]
#[command(
    name = "edgegen",
    version,
    about = "Compile ONNX and TFLite models into standalone, dependency-free Rust or C code",
    long_about = "edgegen compiles a trained neural network (ONNX or TFLite, float or int8) ahead of time into one self-contained \
                  Rust source file (#![no_std], no heap, no dependencies) or a C99 source and header, with weights as \
                  static data and kernels specialised to every layer's shapes.",
    after_help = "Examples:\n  \
                  edgegen build model.onnx -o src/model.rs\n  \
                  edgegen build kws_int8.tflite -o src/kws.rs\n  \
                  edgegen build kws_int8.tflite --emit c --name kws -o kws.c\n  \
                  edgegen run model.onnx --input x.npy --output-dir out/\n  \
                  edgegen inspect model.tflite"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the Rust (or C) source of a model
    #[command(after_help = "Examples:\n  \
                            edgegen build model.onnx -o src/model.rs\n  \
                            edgegen build model.onnx -o model.rs --input-shape input=1,3,32,32 --report report.json\n  \
                            edgegen build model.tflite --emit c --name kws -o kws.c   (writes kws.c and kws.h)")]
    Build {
        #[command(flatten)]
        model: ModelArgs,
        /// Where to write the generated file (`-` for standard output); with --emit c, the
        /// header is written next to it with the extension .h
        #[arg(short, long, value_name = "OUT.rs")]
        output: PathBuf,
        /// The language of the generated code
        #[arg(long, value_enum, default_value_t = Emit::Rust)]
        emit: Emit,
        /// With --emit c: the prefix of the C API (kws gives kws_run, KWS_ARENA_BYTES,
        /// KWS_INPUT_SHAPE) [default: the output file's name without extension]
        #[arg(long, value_name = "PREFIX", requires = "emit")]
        name: Option<String>,
        /// Also write the report of `inspect --format json` (per layer: shapes, MACs, weight
        /// bytes, parameters and non-zeros, arena bytes and steps; every arena tensor's offset,
        /// size and steps; for a pruned or clustered build, also the figures of the same build
        /// without pruning or clustering, which is compiled too)
        #[arg(long, value_name = "FILE.json")]
        report: Option<PathBuf>,
        /// Search the pruning and clustering of each layer that store the weights in the fewest
        /// bytes while the accuracy on --data and --labels stays at most this many percentage
        /// points below the float model's; print them as options, and build that
        #[arg(long = "max-accuracy-drop", value_name = "POINTS", requires_all = ["data", "labels"])]
        max_accuracy_drop: Option<f64>,
        /// Samples for --max-accuracy-drop: one .npy array of N samples per model input, in
        /// order (or NAME=FILE)
        #[arg(long, value_name = "FILE", requires = "max_accuracy_drop")]
        data: Vec<String>,
        /// The N labels (integer class indices) of --data
        #[arg(long, value_name = "FILE", requires = "max_accuracy_drop")]
        labels: Option<PathBuf>,
        /// Print nothing but errors and warnings (no progress bar)
        #[arg(short, long)]
        quiet: bool,
    },
    /// Generate the code, compile it with the local rustc (or C compiler) and run it on input files
    #[command(
        after_help = "Inputs are .npy arrays or ONNX TensorProto .pb files, one per model input, in order \
                            (or NAME=FILE), in the input's element type (int8 for an int8 TFLite model; float64 \
                            is accepted for float32). An array of shape [N, ...] for a model input of shape \
                            [1, ...] runs N samples and stacks the outputs.\n\n\
                            Examples:\n  \
                            edgegen run model.onnx --input x.npy --output-dir out/\n  \
                            edgegen run model.onnx --input image=img.npy --input mask=m.npy --output-dir out/"
    )]
    Run {
        #[command(flatten)]
        model: ModelArgs,
        /// An input array (.npy or .pb), in model input order, or NAME=FILE
        #[arg(long = "input", value_name = "FILE")]
        inputs: Vec<String>,
        /// Directory for output_0.npy, output_1.npy, ...
        #[arg(long, value_name = "DIR")]
        output_dir: PathBuf,
        /// Directory for compiled harnesses [default: $EDGEGEN_CACHE_DIR or ~/.cache/edgegen]
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
        /// rustc (or C compiler) optimisation level for the generated code
        #[arg(long, default_value = "3", value_name = "LEVEL")]
        opt_level: String,
        /// The language of the generated code: rust (compiled with rustc) or c (compiled with
        /// $CC, else cc)
        #[arg(long, value_enum, default_value_t = Emit::Rust)]
        emit: Emit,
        /// Print nothing but errors and warnings
        #[arg(short, long)]
        quiet: bool,
    },
    /// Compare a build's outputs with the float model's on data: errors, top-1 agreement,
    /// accuracy, and the SQNR of every int8 layer
    #[command(
        after_help = "The float reference is the reference evaluator on the model compiled \
                            without --quantize, --prune and --cluster; the build is the generated code, compiled with \
                            rustc (or, with --emit c, the C compiler) and run. Labels (N integers) give each one's accuracy.\n\n\
                            Examples:\n  \
                            edgegen validate model.onnx --data x.npy --labels y.npy\n  \
                            edgegen validate model.onnx --quantize int8 --calibration calib.npy \
                            --data x.npy --labels y.npy --per-layer"
    )]
    Validate {
        #[command(flatten)]
        model: ModelArgs,
        /// Samples ([N, ...] for a model input of [1, ...]), .npy or .pb, one per model input
        /// in order, or NAME=FILE
        #[arg(long = "data", value_name = "FILE", required = true)]
        data: Vec<String>,
        /// The samples' classes (.npy of N integers), for the accuracy of both
        #[arg(long, value_name = "FILE")]
        labels: Option<PathBuf>,
        /// Also the SQNR of every int8 layer output against the float model's tensor
        #[arg(long)]
        per_layer: bool,
        /// The language of the generated code: rust (compiled with rustc) or c (compiled with
        /// $CC, else cc)
        #[arg(long, value_enum, default_value_t = Emit::Rust)]
        emit: Emit,
        /// Directory for compiled harnesses [default: $EDGEGEN_CACHE_DIR or ~/.cache/edgegen]
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
        /// Print nothing but the results, errors and warnings
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print the model after the pass pipeline: layers, shapes, MACs, weights and memory plan
    #[command(after_help = "Examples:\n  \
                            edgegen inspect model.onnx\n  \
                            edgegen inspect model.onnx --format json\n  \
                            edgegen inspect model.tflite --format svg > memory.svg\n  \
                            edgegen inspect model.tflite --format html > report.html")]
    Inspect {
        #[command(flatten)]
        model: ModelArgs,
        /// Output format
        #[arg(long, value_enum, default_value_t = InspectFormat::Table)]
        format: InspectFormat,
        /// Print nothing but the report, errors and warnings (no progress bar)
        #[arg(short, long)]
        quiet: bool,
    },
}

/// The language of the generated code.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Emit {
    /// One Rust file (#![no_std], no heap, no dependencies)
    Rust,
    /// A C99 source file and its header (OUT.c and OUT.h; <stdint.h> and <string.h> only)
    C,
}

impl Emit {
    fn language(self) -> run::Language {
        match self {
            Emit::Rust => run::Language::Rust,
            Emit::C => run::Language::C,
        }
    }

    /// The compiler that builds the code for `run` and `validate`.
    fn compiler(self) -> &'static str {
        match self {
            Emit::Rust => "rustc",
            Emit::C => "the C compiler",
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum InspectFormat {
    /// A table for the terminal: per layer its output, MACs, weight bytes, non-zero parameters,
    /// arena bytes and steps; for a pruned or clustered build, a second table of each layer's
    /// figures before and after
    Table,
    /// The report as JSON, as `build --report` writes it
    Json,
    /// A memory timeline (SVG): each arena buffer as a bar over the steps it is live
    Svg,
    /// One self-contained HTML page: summary, memory timeline and the layer table (for a
    /// pruned or clustered build, also before and after)
    Html,
    /// The IR in its text form
    Ir,
}

#[derive(Args)]
struct ModelArgs {
    /// The model file (.onnx or .tflite; the format is recognised by content)
    #[arg(value_name = "MODEL")]
    model: PathBuf,
    /// Give an input a fixed shape (symbolic leading dimensions default to 1)
    #[arg(long = "input-shape", value_name = "NAME=DIMS", value_parser = options::parse_input_shape)]
    input_shapes: Vec<(String, Vec<usize>)>,
    /// Freeze a graph input to the value in FILE (.npy or .pb) at compile time, for inputs that
    /// carry axes, shapes, sizes or other settings the generated code needs as constants
    #[arg(long = "constant", value_name = "NAME=FILE", value_parser = options::parse_constant)]
    constants: Vec<(String, PathBuf)>,
    /// Skip an optional pass of the pipeline
    #[arg(long = "disable-pass", value_name = "PASS", value_parser = pass_names(false))]
    disabled: Vec<String>,
    /// Print the IR after a pass (or after `all`) to standard error
    #[arg(long = "dump-after", value_name = "PASS", value_parser = pass_names(true))]
    dump_after: Vec<String>,
    /// Quantize the model: `int8` (int8 weights and activations, integer-only code; needs
    /// --calibration), `int4-weights` (the same with 4-bit weights, packed two per byte),
    /// `int8-weights` (int8 weights with a scale per output channel, float compute, no
    /// calibration), `fp16` (float16 weights, float compute) or `none`
    #[arg(long, value_name = "MODE", value_parser = options::parse_quantize)]
    quantize: Option<String>,
    /// Representative inputs for --quantize int8: a .npy array of N samples, [N, ...], or an
    /// .npz of one such array per input (or `random`, at an unknown cost in accuracy)
    #[arg(long, value_name = "FILE")]
    calibration: Option<PathBuf>,
    /// How --quantize int8 picks activation ranges: minmax (default), percentile (99.99; or
    /// percentile=P) or mse
    #[arg(long, value_name = "METHOD", value_parser = parse_calibrator)]
    calibrator: Option<String>,
    /// With --quantize: one scale per weight tensor instead of one per output channel (to
    /// compare; per channel keeps more accuracy)
    #[arg(long = "per-tensor")]
    per_tensor: bool,
    /// The element type of a quantized model's inputs and outputs: float (the default;
    /// quantized on entry, dequantized on exit) or int8 (the raw integers; the module exports
    /// each one's scale and zero point)
    #[arg(long, value_name = "TYPE", value_parser = options::parse_io)]
    io: Option<bool>,
    /// Fail if the model needs more RAM than this (arena and state; 64K, 1M or bytes)
    #[arg(long = "max-ram", value_name = "BYTES", value_parser = options::parse_bytes)]
    max_ram: Option<usize>,
    /// Set this fraction of the weights of fully connected layers and convolutions to zero, the
    /// smallest magnitudes first (from 0 up to but not including 1, such as 0.8); before
    /// --quantize, which keeps the zeros
    #[arg(long, value_name = "FRACTION", allow_hyphen_values = true)]
    prune: Option<String>,
    /// Which weights pruning removes: unstructured (the default; any weights), 2:4 (the two
    /// smallest of every four consecutive weights along the input dimension; needs no --prune)
    /// or channels (whole output channels of smallest L1 norm, and the inputs that read them:
    /// the layers shrink)
    #[arg(long = "prune-mode", value_name = "MODE")]
    prune_mode: Option<String>,
    /// With --prune: remove the fraction from every layer (layer, the default) or from all the
    /// layers' weights together, the smallest overall (global)
    #[arg(long = "prune-scope", value_name = "SCOPE")]
    prune_scope: Option<String>,
    /// Share each layer's weights among K values (2 to 256) found by k-means, stored as a
    /// codebook and an index per weight (4 bits for K up to 16); with --prune, zero stays one of
    /// the K; with --quantize int8 the values are int8
    #[arg(long, value_name = "K")]
    cluster: Option<String>,
    /// Prune the named layer (a fully connected layer or convolution, by node name) by its own
    /// fraction, unstructured; the other layers take --prune's, or none (what
    /// --max-accuracy-drop prints)
    #[arg(long = "prune-layer", value_name = "NAME=FRACTION", value_parser = options::parse_prune_layer)]
    prune_layers: Vec<(String, f64)>,
    /// Cluster the named layer's weights into its own number of values; the other layers take
    /// --cluster's, or none (what --max-accuracy-drop prints)
    #[arg(long = "cluster-layer", value_name = "NAME=K", value_parser = options::parse_cluster_layer)]
    cluster_layers: Vec<(String, usize)>,
    /// Write fully connected layers as straight-line code with their weights as constants, no
    /// code for a zero weight: none (the default; kernels read the weights), auto (the layers of
    /// at most 1,024 non-zero weights) or full (every one)
    #[arg(long, value_name = "MODE", value_parser = options::parse_unroll)]
    unroll: Option<edgegen::ir::Unroll>,
}

/// Checks a `--calibrator` value, so that clap refuses a wrong one as a usage error.
fn parse_calibrator(text: &str) -> std::result::Result<String, String> {
    edgegen::passes::quantize::Calibrator::parse(text).map(|_| text.to_string())
}

/// The names `--disable-pass` (optional passes) or `--dump-after` (every pass, and `all`) take,
/// so that clap lists them in the help and refuses others.
fn pass_names(every_pass: bool) -> clap::builder::PossibleValuesParser {
    let mut names: Vec<clap::builder::PossibleValue> = options::pass_names(every_pass)
        .map(|(name, description)| {
            clap::builder::PossibleValue::new(name).help(description)
        })
        .collect();
    if every_pass {
        names.push(clap::builder::PossibleValue::new("all").help("after every pass"));
    }
    clap::builder::PossibleValuesParser::new(names)
}

impl ModelArgs {
    fn options(&self) -> Result<CompileOptions> {
        let mut constants = Vec::new();
        for (name, path) in &self.constants {
            let value = options::read_array(path)
                .map_err(|e| e.context(format_args!("--constant {name}")))?;
            constants.push((name.clone(), value.shape, value.data));
        }
        Ok(CompileOptions {
            import: ImportOptions {
                input_shapes: self.input_shapes.clone(),
                constants,
            },
            passes: PassOptions {
                disabled: self.disabled.clone(),
                dump_after: self.dump_after.clone(),
                int8: options::int8_settings(
                    self.quantize.as_deref(),
                    self.calibration.as_deref(),
                    self.calibrator.as_deref(),
                    self.per_tensor,
                )?,
                progress: Progress::default(),
                io_int8: self.io.unwrap_or(false),
                stored_weights: options::stored_weights(
                    self.quantize.as_deref(),
                    self.per_tensor,
                )?,
                prune: options::prune_settings(
                    self.prune.as_deref(),
                    self.prune_mode.as_deref(),
                    self.prune_scope.as_deref(),
                )?,
                cluster: options::cluster_settings(
                    self.cluster.as_deref(),
                    &self.cluster_layers,
                    self.quantize.as_deref(),
                )?,
                prune_layers: self.prune_layers.clone(),
                cluster_layers: self.cluster_layers.clone(),
            },
            max_ram: self.max_ram,
            unroll: self.unroll.unwrap_or_default(),
        })
    }

    /// Reads and compiles the model, with a progress bar (on a terminal, unless `quiet`) while
    /// calibration runs.
    fn compile(&self, quiet: bool) -> Result<Compiled> {
        if self.quantize.is_some()
            && self.calibration.as_deref() == Some(Path::new(options::RANDOM_CALIBRATION))
        {
            eprintln!(
                "{}: {}",
                paint("warning", "1;33"),
                options::RANDOM_CALIBRATION_WARNING
            );
        }
        self.compile_with(self.options()?, quiet, "", true)
    }

    /// Compiles the model with `options`; `label` follows the progress bar's task, and
    /// `dump` says whether `--dump-after` prints this compile's IR.
    fn compile_with(
        &self,
        mut options: CompileOptions,
        quiet: bool,
        label: &'static str,
        dump: bool,
    ) -> Result<Compiled> {
        // Hidden until calibration first reports, so that a build without it draws nothing.
        let bar = indicatif::ProgressBar::hidden();
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} {bar:30} {pos}/{len} sample runs [{elapsed}]",
        ) {
            bar.set_style(style);
        }
        let shown = bar.clone();
        options.passes.progress = Progress::new(move |task, done, total| {
            if shown.length() != Some(total as u64) {
                shown.set_length(total as u64);
                shown.set_message(format!("{task}{label}"));
                shown.reset_elapsed();
                if !quiet {
                    shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                }
            }
            shown.set_position(done as u64);
        });
        let compiled = edgegen::compile(&self.model, &options, &mut |pass, text| {
            if dump {
                bar.suspend(|| eprintln!("# IR after {pass}\n{text}"));
            }
        });
        bar.finish_and_clear();
        compiled
    }

    /// The report of `compiled`, this model's build. When `compare` and the build asks for
    /// compression, the model is compiled a second time without it, and the report puts that
    /// build's figures next to its own (`report::Report::compare_with`).
    fn report(
        &self,
        compiled: &Compiled,
        compare: bool,
        quiet: bool,
    ) -> Result<report::Report> {
        let program = backend::lower::lower(&compiled.graph)?;
        let mut built = report::build(&compiled.graph, &program);
        let without_compression = if compare {
            self.options()?.without_compression()
        } else {
            None
        };
        if let Some(options) = without_compression {
            let before = self
                .compile_with(
                    options,
                    quiet,
                    " (without pruning or clustering, for the report)",
                    false,
                )
                .map_err(|e| {
                    e.context(format_args!("{} (for the report)", report::BEFORE_BUILD))
                })?;
            let program = backend::lower::lower(&before.graph)?;
            built.compare_with(&report::build(&before.graph, &program));
        }
        Ok(built)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {e}", paint("error", "1;31"));
            if e.kind == ErrorKind::Internal {
                eprintln!(
                    "(passes: {})",
                    PIPELINE
                        .iter()
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            ExitCode::from(1)
        }
    }
}

/// A spinner with `message` and the elapsed time on standard error while a long step runs:
/// drawn only on a terminal, and not at all with `--quiet`.
fn progress(quiet: bool, message: String) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let spinner = indicatif::ProgressBar::new_spinner().with_message(message);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
    {
        spinner.set_style(style);
    }
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    spinner
}

/// Whether standard error gets colours: only on a terminal, and never with `NO_COLOR` set.
fn colours() -> bool {
    std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `text` in the ANSI style `style` (`1;31` is bold red) when standard error takes colours.
fn paint(text: &str, style: &str) -> String {
    if colours() {
        format!("\x1b[{style}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// For `build --emit c -o OUT.c`: the API prefix (`--name`, else the file's stem), the header's
/// path (OUT.h) and the name the source includes it by.
fn c_output_files(output: &Path, name: Option<&str>) -> Result<(String, PathBuf, String)> {
    if output.as_os_str() == "-" {
        return Err(Error::invalid_argument(
            "--emit c writes two files, a source and its header: give -o FILE.c, not -",
        ));
    }
    if output.extension().is_some_and(|e| e == "h") {
        return Err(Error::invalid_argument(format!(
            "-o {} names a header; give the source file (FILE.c) and the header is written \
             next to it",
            output.display()
        )));
    }
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = match name {
        Some(name) => name.to_string(),
        None => backend::c::default_prefix(&stem),
    };
    backend::c::check_prefix(&prefix)?;
    let header_path = output.with_extension("h");
    let header_file = header_path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((prefix, header_path, header_file))
}

fn execute(command: Command) -> Result<()> {
    match command {
        Command::Build {
            model,
            output,
            emit,
            name,
            report: report_path,
            max_accuracy_drop,
            data,
            labels,
            quiet,
        } => {
            let c_files = match emit {
                Emit::Rust if name.is_some() => {
                    return Err(Error::invalid_argument(
                        "--name prefixes the names of the C API; it is for --emit c (the Rust \
                         API is the module you include)",
                    ));
                }
                Emit::Rust => None,
                Emit::C => Some(c_output_files(&output, name.as_deref())?),
            };
            let compiled = match (max_accuracy_drop, labels) {
                (Some(points), Some(labels)) => {
                    searched_build(&model, points, &data, &labels, quiet)?
                }
                _ => model.compile(quiet)?,
            };
            match c_files {
                None => {
                    let code = backend::rust::emit(&compiled.graph)?;
                    if output.as_os_str() == "-" {
                        print!("{code}");
                    } else {
                        write_atomically(&output, code.as_bytes())?;
                    }
                }
                Some((prefix, header_path, header_file)) => {
                    let code = backend::c::emit(&compiled.graph, &prefix, &header_file)?;
                    write_atomically(&header_path, code.header.as_bytes())?;
                    write_atomically(&output, code.source.as_bytes())?;
                }
            }
            if let Some(path) = report_path {
                let json =
                    serde_json::to_string_pretty(&model.report(&compiled, true, quiet)?)
                        .expect("reports serialize");
                write_atomically(&path, json.as_bytes())?;
            }
            Ok(())
        }
        Command::Run {
            model,
            inputs,
            output_dir,
            cache_dir,
            opt_level,
            emit,
            quiet,
        } => {
            let compiled = model.compile(quiet)?;
            let graph = &compiled.graph;
            let (values, samples, batched) = read_inputs(graph, &inputs)?;
            let options = run::BuildOptions {
                cache_dir: cache_dir.unwrap_or_else(run::default_cache_dir),
                opt_level,
                extra_flags: Vec::new(),
            };
            let started = Instant::now();
            let mut spinner = None;
            let binary = run::build_model(graph, emit.language(), &options, &mut || {
                spinner = Some(progress(
                    quiet,
                    format!(
                        "Compiling the generated code for {} with {} (cached for later runs)",
                        model.model.display(),
                        emit.compiler()
                    ),
                ));
            })?;
            if let Some(spinner) = spinner {
                spinner.finish_and_clear();
                if !quiet {
                    eprintln!("Compiled in {:.1} s.", started.elapsed().as_secs_f64());
                }
            }
            let running = progress(
                quiet,
                format!(
                    "Running {samples} sample{}",
                    if samples == 1 { "" } else { "s" }
                ),
            );
            let outputs = run::run_harness(&binary, graph, &values, samples);
            running.finish_and_clear();
            let outputs = outputs?;
            std::fs::create_dir_all(&output_dir)
                .map_err(|e| Error::io(&output_dir, "create the output directory", &e))?;
            for (j, (&t, data)) in graph.model_outputs().iter().zip(outputs).enumerate() {
                let shape = graph.tensor(t).shape().to_vec();
                let shape = if !batched {
                    shape
                } else if shape.first() == Some(&1) {
                    std::iter::once(samples)
                        .chain(shape[1..].iter().copied())
                        .collect()
                } else {
                    std::iter::once(samples)
                        .chain(shape.iter().copied())
                        .collect()
                };
                let path = output_dir.join(format!("output_{j}.npy"));
                let bytes = npy::write_npy(&shape, &data);
                write_atomically(&path, &bytes)?;
                if !quiet {
                    eprintln!(
                        "Wrote {} ({} {:?}).",
                        path.display(),
                        graph.tensor(t).name,
                        shape
                    );
                }
            }
            Ok(())
        }
        Command::Validate {
            model,
            data,
            labels,
            per_layer,
            emit,
            cache_dir,
            quiet,
        } => validate(
            &model,
            &data,
            labels.as_deref(),
            per_layer,
            emit,
            cache_dir,
            quiet,
        ),
        Command::Inspect {
            model,
            format,
            quiet,
        } => {
            let compiled = model.compile(quiet)?;
            // The memory timeline draws only this build, and the IR is the graph's own: neither
            // needs the build without compression that `ModelArgs::report` compiles.
            let compare = !matches!(format, InspectFormat::Svg | InspectFormat::Ir);
            let report = model.report(&compiled, compare, quiet)?;
            match format {
                InspectFormat::Table => print!("{}", report::format_table(&report)),
                InspectFormat::Svg => print!("{}", report::format_svg(&report)),
                InspectFormat::Html => print!("{}", report::format_html(&report)),
                InspectFormat::Json => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&report).expect("reports serialize")
                    )
                }
                InspectFormat::Ir => print!(
                    "{}",
                    edgegen::ir::text::print(
                        &compiled.graph,
                        edgegen::ir::text::PrintOptions::default()
                    )
                ),
            }
            Ok(())
        }
    }
}

/// `edgegen build --max-accuracy-drop`: searches the pruning and clustering
/// ([`edgegen::search`]), says what it chose as options that rebuild it, and compiles that.
fn searched_build(
    model: &ModelArgs,
    points: f64,
    data: &[String],
    labels: &Path,
    quiet: bool,
) -> Result<Compiled> {
    edgegen::search::check_budget(points)?;
    let chosen_elsewhere = model.prune.is_some()
        || model.prune_mode.is_some()
        || model.prune_scope.is_some()
        || model.cluster.is_some()
        || !model.prune_layers.is_empty()
        || !model.cluster_layers.is_empty();
    if chosen_elsewhere {
        return Err(Error::invalid_argument(
            "--max-accuracy-drop chooses the pruning and clustering itself; leave out --prune, \
             --prune-mode, --prune-scope, --cluster, --prune-layer and --cluster-layer",
        ));
    }
    if model.io == Some(true) {
        return Err(Error::invalid_argument(
            "--max-accuracy-drop measures accuracy on float data; leave out --io int8 for the \
             search",
        ));
    }
    // The build as asked, which also fixes the shapes the samples must have.
    let base = model.compile(quiet)?;
    let (values, samples, _) = read_inputs(&base.graph, data)?;
    let labels = edgegen::validate::labels(&options::read_array(labels)?, samples)
        .map_err(|e| Error::invalid_argument(format!("{}: {e}", labels.display())))?;
    let data = edgegen::search::Labelled {
        samples: split_samples(&base.graph, &values, samples),
        labels,
    };
    let options = model.options()?;
    let graph = edgegen::frontend::load_model(&model.model, &options.import)?;
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(0)
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "Searching pruning and clustering {bar:30} {pos}/{len} builds [{elapsed}]",
    ) {
        bar.set_style(style);
    }
    let shown = bar.clone();
    let progress = Progress::new(move |_, done, total| {
        shown.set_length(total as u64);
        shown.set_position(done as u64);
    });
    let outcome = edgegen::search::search(&graph, &options, &data, points, &progress)
        .map_err(|e| e.context(model.model.display()))?;
    bar.finish_and_clear();
    let percent = |x: f64| format!("{:.2} %", 100.0 * x);
    let digits = |n: usize| report::group_digits(n as u64);
    eprintln!(
        "searched {} builds ({} run on {} samples): accuracy {} against the float model's {} \
         (at least {} allowed; {} without pruning or clustering); {} bytes of weights against \
         {} ({:.1} %)",
        outcome.compiles,
        outcome.runs,
        data.samples.len(),
        percent(outcome.accuracy),
        percent(outcome.float_accuracy),
        percent(outcome.float_accuracy - points / 100.0),
        percent(outcome.start_accuracy),
        digits(outcome.bytes),
        digits(outcome.start_bytes),
        100.0 * outcome.bytes as f64 / outcome.start_bytes.max(1) as f64
    );
    let flags = outcome.choice.flags();
    if flags.is_empty() {
        eprintln!(
            "no pruning or clustering saved bytes within the budget: the build is the one \
             without them"
        );
    } else {
        eprintln!(
            "to build this again without searching, use these options:\n  {}",
            flags.join(" ")
        );
    }
    edgegen::compile_graph(graph, &outcome.choice.apply(&options), &mut |_, _| {})
        .map_err(|e| e.context(model.model.display()))
}

/// The samples of `values` (one array per graph input, `samples` samples each), one value per
/// input each, in the inputs' shapes and element types.
fn split_samples(
    graph: &Graph,
    values: &[TensorData],
    samples: usize,
) -> Vec<Vec<edgegen::eval::Value>> {
    let inputs: Vec<(Vec<usize>, usize)> = graph
        .model_inputs()
        .iter()
        .map(|&t| {
            let shape = graph.tensor(t).shape().to_vec();
            let len = shape.iter().product();
            (shape, len)
        })
        .collect();
    (0..samples)
        .map(|i| {
            inputs
                .iter()
                .zip(values)
                .map(|((shape, len), data)| {
                    let all = data.to_f64_vec();
                    let chunk: Vec<f64> = all[i * len..(i + 1) * len].to_vec();
                    let dtype = data.dtype();
                    edgegen::eval::Value::new(
                        shape.clone(),
                        TensorData::F64(chunk).cast(dtype),
                    )
                })
                .collect()
        })
        .collect()
}

/// `edgegen validate`: the float model on the evaluator against the build's generated code.
fn validate(
    model: &ModelArgs,
    data: &[String],
    labels: Option<&Path>,
    per_layer: bool,
    emit: Emit,
    cache_dir: Option<PathBuf>,
    quiet: bool,
) -> Result<()> {
    use edgegen::validate as v;
    if model.io == Some(true) {
        return Err(Error::invalid_argument(
            "validate compares the build's float outputs with the float model's on the same \
             float data; leave out --io int8 (the integers are the same)",
        ));
    }
    let compiled = model.compile(quiet)?;
    let mut float_options = model.options()?;
    float_options.passes.int8 = None;
    float_options.passes.stored_weights = None;
    float_options.passes.prune = None;
    float_options.passes.cluster = None;
    float_options.passes.prune_layers.clear();
    float_options.passes.cluster_layers.clear();
    let float = edgegen::compile(&model.model, &float_options, &mut |_, _| {})?;
    let graph = &compiled.graph;
    let (values, samples, _) = read_inputs(graph, data)?;
    let labels = match labels {
        Some(path) => Some(
            v::labels(&options::read_array(path)?, samples)
                .map_err(|e| Error::invalid_argument(format!("{}: {e}", path.display())))?,
        ),
        None => None,
    };

    // The build: generated code, compiled and run on every sample.
    let build_options = run::BuildOptions {
        cache_dir: cache_dir.unwrap_or_else(run::default_cache_dir),
        opt_level: "3".into(),
        extra_flags: Vec::new(),
    };
    let mut spinner = None;
    let binary = run::build_model(graph, emit.language(), &build_options, &mut || {
        spinner = Some(progress(
            quiet,
            format!("Compiling the generated code with {}", emit.compiler()),
        ));
    })?;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let generated = run::run_harness(&binary, graph, &values, samples)?;

    // The float model on the evaluator, sample by sample.
    let sample_values = split_samples(graph, &values, samples);
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(samples as u64)
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "Running the float model on the evaluator {bar:30} {pos}/{len} [{elapsed}]",
    ) {
        bar.set_style(style);
    }
    let mut float_outputs: Vec<Vec<f32>> =
        vec![Vec::new(); float.graph.model_outputs().len()];
    for sample in &sample_values {
        let outputs = edgegen::eval::evaluate(&float.graph, sample)?;
        for (all, output) in float_outputs.iter_mut().zip(outputs) {
            all.extend(output.data.to_f64_vec().iter().map(|&x| x as f32));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    println!(
        "{} on {samples} sample{}: the float model (reference evaluator) against the generated code",
        model.model.display(),
        if samples == 1 { "" } else { "s" }
    );
    for (j, (&t, generated)) in graph.model_outputs().iter().zip(&generated).enumerate() {
        let tensor = graph.tensor(t);
        let actual: Vec<f32> = generated.to_f64_vec().iter().map(|&x| x as f32).collect();
        let expected = float_outputs.get(j).cloned().unwrap_or_default();
        let classes = *tensor.shape().last().unwrap_or(&1);
        let m = v::compare(&tensor.name, &expected, &actual, samples, classes);
        println!("output '{}':", m.name);
        println!("  max abs error    {:.6}", m.max_abs_error);
        println!("  mean abs error   {:.6}", m.mean_abs_error);
        println!("  cosine           {:.6}", m.cosine);
        if let Some(agreement) = m.top1_agreement {
            println!("  top-1 agreement  {:.2} %", 100.0 * agreement);
        }
        if let (0, Some(labels)) = (j, &labels) {
            println!(
                "  accuracy         float {:.2} %, generated code {:.2} %",
                100.0 * v::accuracy(&expected, classes, labels),
                100.0 * v::accuracy(&actual, classes, labels)
            );
        }
    }
    if per_layer {
        let rows = v::per_layer_sqnr(&float.graph, graph, &sample_values)?;
        if rows.is_empty() {
            println!(
                "per layer: no int8 layers stand for float ones (build with --quantize int8)"
            );
        } else {
            println!("per-layer SQNR of the int8 outputs against the float model (dB):");
            for row in rows {
                println!("  {:>7.1}  {} {}", row.sqnr_db, row.op, row.layer);
            }
        }
    }
    Ok(())
}

/// Reads one array per graph input (by position or `NAME=FILE`), checks shapes and types, and
/// returns the values per input, the number of samples and whether the inputs carried a batch
/// axis of their own.
fn read_inputs(graph: &Graph, specs: &[String]) -> Result<(Vec<TensorData>, usize, bool)> {
    let names: Vec<&str> = graph
        .model_inputs()
        .iter()
        .map(|&t| graph.tensor(t).name.as_str())
        .collect();
    if specs.len() != names.len() {
        return Err(Error::invalid_argument(format!(
            "the model has {} input{} ({}) but {} --input {} given",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            names.join(", "),
            specs.len(),
            if specs.len() == 1 { "was" } else { "were" }
        )));
    }
    let mut files: Vec<Option<PathBuf>> = vec![None; names.len()];
    for (k, spec) in specs.iter().enumerate() {
        let (slot, path) = match spec.split_once('=') {
            Some((name, path)) if names.contains(&name) => (
                names.iter().position(|n| *n == name).expect("contains"),
                path,
            ),
            _ => (k, spec.as_str()),
        };
        if files[slot].replace(PathBuf::from(path)).is_some() {
            return Err(Error::invalid_argument(format!(
                "input '{}' is given twice",
                names[slot]
            )));
        }
    }
    let mut values = Vec::new();
    let mut samples: Option<(usize, bool)> = None;
    for (i, file) in files.into_iter().enumerate() {
        let path = file.ok_or_else(|| {
            Error::invalid_argument(format!("input '{}' is not given", names[i]))
        })?;
        let value = options::read_array(&path)?;
        let expected = graph.tensor(graph.model_inputs()[i]).shape().to_vec();
        let (n, batched) = if value.shape == expected {
            (1, false)
        } else if expected.first() == Some(&1)
            && value.shape.len() == expected.len()
            && value.shape[1..] == expected[1..]
        {
            (value.shape[0], true)
        } else {
            // Batches of samples stack along a leading axis of size 1.
            let batch_hint = match expected.split_first() {
                Some((1, rest)) => {
                    let rest: Vec<String> = rest.iter().map(|d| d.to_string()).collect();
                    format!(" (or [N, {}] for N samples)", rest.join(", "))
                }
                _ => String::new(),
            };
            return Err(Error::invalid_argument(format!(
                "{}: input '{}' takes shape {expected:?}{batch_hint}, the file holds {:?}",
                path.display(),
                names[i],
                value.shape
            )));
        };
        match samples {
            Some((m, _)) if m != n => {
                return Err(Error::invalid_argument(format!(
                    "the inputs hold different numbers of samples ({m} and {n})"
                )));
            }
            _ => samples = Some((n, batched)),
        }
        // Float files feed float inputs (float64 is narrowed); integer inputs take exactly
        // their own element type, since converting quantized data would hide a mistake.
        let dtype = graph.tensor(graph.model_inputs()[i]).dtype;
        let data = match (value.data, dtype) {
            (TensorData::F64(v), DType::F32) => {
                TensorData::F32(v.into_iter().map(|x| x as f32).collect())
            }
            (data, dtype) if data.dtype() == dtype => data,
            (other, dtype) => {
                return Err(Error::invalid_argument(format!(
                    "{}: input '{}' takes {dtype} values, the file holds {}",
                    path.display(),
                    names[i],
                    other.dtype()
                )));
            }
        };
        values.push(data);
    }
    let (n, batched) = samples.unwrap_or((1, false));
    Ok((values, n, batched))
}

/// Writes a file through a temporary file in the same directory and a rename, so that a failure
/// never leaves a half-written file behind. Special files (`/dev/null`, `/dev/stdout`, a FIFO)
/// are written in place, since a rename would replace them, and a symbolic link is followed to
/// the file it names.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let write_error = |e: std::io::Error| Error::io(path, "write", &e);
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            path.canonicalize().map_err(write_error)?
        }
        _ => path.to_path_buf(),
    };
    match std::fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => {
            return Err(Error::invalid_argument(format!(
                "'{}' is a directory",
                path.display()
            )));
        }
        Ok(meta) if !meta.is_file() => {
            return std::fs::write(&target, bytes).map_err(write_error);
        }
        _ => {}
    }
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = target.file_name().ok_or_else(|| {
        Error::invalid_argument(format!("'{}' is not a file path", path.display()))
    })?;
    let temp = dir.join(format!(
        ".{}.edgegen-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&temp, bytes).map_err(write_error)?;
    std::fs::rename(&temp, &target).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        write_error(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model options of the command line are the ones `edgegen::options` lists, which
    /// `include_model!` takes as named arguments: an option added to one must be added to both.
    #[test]
    fn model_flags_are_the_shared_model_options() {
        let command = ModelArgs::augment_args(clap::Command::new("edgegen"));
        let flags: Vec<(String, String)> = command
            .get_arguments()
            .filter_map(|arg| {
                let long = arg.get_long()?;
                // A switch takes no value.
                let value = arg
                    .get_value_names()
                    .and_then(|names| names.first())
                    .filter(|_| arg.get_action().takes_values())
                    .map(|name| name.to_string())
                    .unwrap_or_default();
                Some((long.to_string(), value))
            })
            .collect();
        let shared: Vec<(String, String)> = options::MODEL_OPTIONS
            .iter()
            .map(|o| (o.flag.to_string(), o.value_name.to_string()))
            .collect();
        assert_eq!(flags, shared);
    }
}
