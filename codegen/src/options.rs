//! The options that decide how a model is compiled, shared by the two ways of asking for it: the
//! `edgegen` command line (`--input-shape x=1,3,32,32`) and `include_model!`'s named arguments
//! (`input_shape = "x=1,3,32,32"`). Both parse values with the functions here, so an option means
//! the same in both; [`MODEL_OPTIONS`] lists them, and tests on both sides check that neither
//! front end gains an option the other lacks.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::eval::Value;
use crate::npy;
use crate::passes::PIPELINE;
use crate::passes::prune::{PruneScope, PruneSettings};
use crate::passes::quantize::{Calibration, Calibrator};

/// An option of every command that compiles a model.
#[derive(Clone, Copy, Debug)]
pub struct ModelOption {
    /// The long command-line flag without its dashes (`input-shape`); `include_model!` spells it
    /// with underscores (`input_shape`).
    pub flag: &'static str,
    /// What the value looks like (`NAME=DIMS`); empty for a switch, which takes no value on
    /// the command line and `true` or `false` in `include_model!`.
    pub value_name: &'static str,
    pub help: &'static str,
    /// Whether the option may be given more than once (each time adds a value).
    pub repeatable: bool,
}

impl ModelOption {
    /// The name `include_model!` takes the option under.
    pub fn macro_name(&self) -> String {
        self.flag.replace('-', "_")
    }
}

/// Every model option, in the order `--help` shows them.
pub const MODEL_OPTIONS: &[ModelOption] = &[
    ModelOption {
        flag: "input-shape",
        value_name: "NAME=DIMS",
        help: "give an input a fixed shape (symbolic leading dimensions default to 1)",
        repeatable: true,
    },
    ModelOption {
        flag: "constant",
        value_name: "NAME=FILE",
        help: "freeze a graph input to the value in FILE (.npy or .pb) at compile time",
        repeatable: true,
    },
    ModelOption {
        flag: "disable-pass",
        value_name: "PASS",
        help: "skip an optional pass of the pipeline",
        repeatable: true,
    },
    ModelOption {
        flag: "dump-after",
        value_name: "PASS",
        help: "print the IR after a pass (or after `all`) to standard error",
        repeatable: true,
    },
    ModelOption {
        flag: "quantize",
        value_name: "MODE",
        help: "quantize the model: `int8` (int8 weights and activations, integer-only code; \
               needs --calibration), `int4-weights` (the same with 4-bit weights, packed two \
               per byte), `int8-weights` (int8 weights with a scale per output channel, float \
               compute, no calibration), `fp16` (float16 weights, float compute) or `none`",
        repeatable: false,
    },
    ModelOption {
        flag: "calibration",
        value_name: "FILE",
        help: "representative inputs for --quantize int8: a .npy array of N samples, [N, ...], \
               or an .npz of one such array per input (or `random`, at an unknown cost in \
               accuracy)",
        repeatable: false,
    },
    ModelOption {
        flag: "calibrator",
        value_name: "METHOD",
        help: "how --quantize int8 picks activation ranges: minmax (default), percentile \
               (99.99; or percentile=P) or mse",
        repeatable: false,
    },
    ModelOption {
        flag: "per-tensor",
        value_name: "",
        help: "with --quantize: one scale per weight tensor instead of one per output channel \
               (to compare; per channel keeps more accuracy)",
        repeatable: false,
    },
    ModelOption {
        flag: "io",
        value_name: "TYPE",
        help: "the element type of a quantized model's inputs and outputs: float (the default; \
               quantized on entry, dequantized on exit) or int8 (the raw integers; the module \
               exports each one's scale and zero point)",
        repeatable: false,
    },
    ModelOption {
        flag: "max-ram",
        value_name: "BYTES",
        help: "fail if the model needs more RAM than this (arena and state; 64K, 1M or bytes)",
        repeatable: false,
    },
    ModelOption {
        flag: "prune",
        value_name: "FRACTION",
        help: "set this fraction of the weights of fully connected layers and convolutions to \
               zero, the smallest magnitudes first (from 0 up to but not including 1, such as \
               0.8); before --quantize, which keeps the zeros",
        repeatable: false,
    },
    ModelOption {
        flag: "prune-mode",
        value_name: "MODE",
        help: "which weights pruning removes: unstructured (the default; any weights), 2:4 \
               (the two smallest of every four consecutive weights along the input dimension; \
               needs no --prune) or channels (whole output channels of smallest L1 norm, and \
               the inputs that read them: the layers shrink)",
        repeatable: false,
    },
    ModelOption {
        flag: "prune-scope",
        value_name: "SCOPE",
        help: "with --prune: remove the fraction from every layer (layer, the default) or from \
               all the layers' weights together, the smallest overall (global)",
        repeatable: false,
    },
    ModelOption {
        flag: "cluster",
        value_name: "K",
        help: "share each layer's weights among K values (2 to 256) found by k-means, stored as \
               a codebook and an index per weight (4 bits for K up to 16); with --prune, zero \
               stays one of the K; with --quantize int8 the values are int8",
        repeatable: false,
    },
    ModelOption {
        flag: "prune-layer",
        value_name: "NAME=FRACTION",
        help: "prune the named layer (a fully connected layer or convolution, by node name) by \
               its own fraction, unstructured; the other layers take --prune's, or none (what \
               --max-accuracy-drop prints)",
        repeatable: true,
    },
    ModelOption {
        flag: "cluster-layer",
        value_name: "NAME=K",
        help: "cluster the named layer's weights into its own number of values; the other \
               layers take --cluster's, or none (what --max-accuracy-drop prints)",
        repeatable: true,
    },
    ModelOption {
        flag: "unroll",
        value_name: "MODE",
        help: "write fully connected layers as straight-line code with their weights as \
               constants, no code for a zero weight: none (the default; kernels read the \
               weights), auto (the layers of at most 1,024 non-zero weights) or full (every one)",
        repeatable: false,
    },
];

/// Parses `NAME=DIMS` (`input=1,3,32,32`).
pub fn parse_input_shape(text: &str) -> std::result::Result<(String, Vec<usize>), String> {
    let (name, dims) = text
        .rsplit_once('=')
        .ok_or("expected NAME=DIMS, such as input=1,3,32,32")?;
    let dims = dims
        .split(',')
        .map(|d| {
            d.trim().parse::<usize>().map_err(|_| {
                format!(
                    "'{d}' is not a dimension (expected NAME=DIMS, such as input=1,3,32,32)"
                )
            })
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if name.is_empty() {
        return Err("the input name is empty".into());
    }
    Ok((name.to_string(), dims))
}

/// Parses a byte count: digits with an optional binary suffix, `K`/`KiB` (1024) or `M`/`MiB`
/// (1024²); `_` may group digits (`65_536`).
pub fn parse_bytes(text: &str) -> std::result::Result<usize, String> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits_end);
    let unit: usize = match suffix.trim() {
        "" | "B" => 1,
        "K" | "k" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        _ => 0,
    };
    let number: Option<usize> = number.replace('_', "").parse().ok();
    match number.and_then(|n| n.checked_mul(unit)) {
        Some(bytes) if unit > 0 => Ok(bytes),
        _ => Err(format!(
            "'{text}' is not a byte count (expected bytes, or K or M for 1024 or 1024², \
             such as 65536, 64K or 1M)"
        )),
    }
}

/// The quantization modes `--quantize` takes.
pub const QUANTIZE_MODES: &[&str] =
    &["int8", "int4-weights", "int8-weights", "fp16", "none"];

/// The modes of `--quantize` that only change how float layers' weights are stored, which need
/// no calibration.
const WEIGHT_ONLY_MODES: &[&str] = &["int8-weights", "fp16"];

/// What a weight-only `--quantize` mode (`int8-weights`, `fp16`) asks for; `None` for the other
/// modes and for none.
pub fn stored_weights(
    quantize: Option<&str>,
    per_tensor: bool,
) -> Result<Option<crate::passes::compress_weights::StoredWeights>> {
    use crate::passes::compress_weights::StoredWeights;
    match quantize {
        Some("int8-weights") => Ok(Some(StoredWeights::Int8 { per_tensor })),
        Some("fp16") if per_tensor => Err(Error::invalid_argument(
            "--per-tensor chooses the scales of integer weights; float16 weights have none",
        )),
        Some("fp16") => Ok(Some(StoredWeights::F16)),
        _ => Ok(None),
    }
}

/// Checks a `--quantize` mode.
pub fn parse_quantize(text: &str) -> std::result::Result<String, String> {
    if QUANTIZE_MODES.contains(&text) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "'{text}' is not a quantization mode; the modes are: {}",
            QUANTIZE_MODES.join(", ")
        ))
    }
}

/// `--calibration random`: random samples instead of a file.
pub const RANDOM_CALIBRATION: &str = "random";

/// What to tell the user when a build is calibrated on random data.
pub const RANDOM_CALIBRATION_WARNING: &str = "--calibration random: the activations' ranges \
     come from random inputs, not from data like the model's, so the accuracy of this build is \
     unknown; calibrate with real samples and check with `edgegen validate`";

/// The settings of `--quantize MODE --calibration FILE`, with the calibration file read.
pub fn int8_settings(
    quantize: Option<&str>,
    calibration: Option<&Path>,
    calibrator: Option<&str>,
    per_tensor: bool,
) -> Result<Option<crate::passes::quantize::Int8Settings>> {
    if let Some(mode) = quantize {
        parse_quantize(mode).map_err(Error::invalid_argument)?;
    }
    if quantize == Some("none") {
        if per_tensor || calibration.is_some() || calibrator.is_some() {
            return Err(Error::invalid_argument(
                "--quantize none keeps the model in float, without --per-tensor, \
                 --calibration or --calibrator",
            ));
        }
        return Ok(None);
    }
    if let Some(mode) = quantize.filter(|m| WEIGHT_ONLY_MODES.contains(m)) {
        if calibration.is_some() || calibrator.is_some() {
            return Err(Error::invalid_argument(format!(
                "--quantize {mode} changes only how weights are stored and needs no \
                 --calibration or --calibrator (the activations stay float); for int8 \
                 activations use --quantize int8"
            )));
        }
        return Ok(None);
    }
    if per_tensor && quantize.is_none() {
        return Err(Error::invalid_argument(
            "--per-tensor is only used with --quantize int8, int4-weights or int8-weights",
        ));
    }
    let calibrator = match calibrator {
        Some(text) => {
            if quantize.is_none() {
                return Err(Error::invalid_argument(
                    "--calibrator is only used with --quantize int8",
                ));
            }
            Calibrator::parse(text).map_err(Error::invalid_argument)?
        }
        None => Calibrator::default(),
    };
    match (quantize, calibration) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(Error::invalid_argument(
            "--calibration is only used with --quantize int8",
        )),
        (Some(mode), None) => Err(Error::invalid_argument(format!(
            "--quantize {mode} needs --calibration FILE: a .npy array of a few hundred \
             representative inputs, [N, ...] (or an .npz of one per input), from which the \
             activations' ranges are measured (or --calibration random to try the model out, \
             at an unknown cost in accuracy)"
        ))),
        (Some(mode), Some(path)) => {
            parse_quantize(mode).map_err(Error::invalid_argument)?;
            let calibration = if path == Path::new(RANDOM_CALIBRATION) {
                Calibration::Random
            } else if path.extension().is_some_and(|e| e == "npz") {
                let bytes = std::fs::read(path)
                    .map_err(|e| Error::io(path, "read", &e).context("--calibration"))?;
                let arrays = crate::npz::read_npz(&bytes).map_err(|e| {
                    Error::invalid_argument(format!(
                        "--calibration: {}: {e}",
                        path.display()
                    ))
                })?;
                Calibration::Named(
                    arrays
                        .into_iter()
                        .map(|(name, a)| (name, Value::new(a.shape, a.data)))
                        .collect(),
                )
            } else {
                let value = read_array(path)
                    .map_err(|e| e.context(format_args!("--calibration")))?;
                Calibration::Data(vec![value])
            };
            let weights = if mode == "int4-weights" {
                crate::passes::quantize::WeightBits::Int4
            } else {
                crate::passes::quantize::WeightBits::Int8
            };
            Ok(Some(crate::passes::quantize::Int8Settings {
                calibration,
                calibrator,
                per_tensor,
                weights,
            }))
        }
    }
}

/// The pruning modes `--prune-mode` takes.
pub const PRUNE_MODES: &[&str] = &["unstructured", "2:4", "channels"];

/// Parses a `--prune` value: a fraction in `[0, 1)`.
pub fn parse_prune_fraction(text: &str) -> std::result::Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(fraction) if (0.0..1.0).contains(&fraction) => Ok(fraction),
        _ => Err(format!(
            "--prune takes the fraction of weights to remove, from 0 up to but not including 1, \
             such as 0.8; got '{text}'"
        )),
    }
}

/// Checks a `--prune-mode` value.
pub fn parse_prune_mode(text: &str) -> std::result::Result<String, String> {
    if PRUNE_MODES.contains(&text) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "--prune-mode: '{text}' is not a pruning mode; the modes are: {}",
            PRUNE_MODES.join(", ")
        ))
    }
}

/// Checks a `--prune-scope` value.
pub fn parse_prune_scope(text: &str) -> std::result::Result<PruneScope, String> {
    PruneScope::parse(text).map_err(|e| format!("--prune-scope: {e}"))
}

/// The settings of `--prune FRACTION --prune-mode MODE --prune-scope SCOPE`, each as given (or
/// not). Every value and every combination is checked here, so that the command line and
/// `include_model!` refuse the same things with the same words.
pub fn prune_settings(
    prune: Option<&str>,
    mode: Option<&str>,
    scope: Option<&str>,
) -> Result<Option<PruneSettings>> {
    let fraction = prune
        .map(parse_prune_fraction)
        .transpose()
        .map_err(Error::invalid_argument)?;
    let mode = mode
        .map(parse_prune_mode)
        .transpose()
        .map_err(Error::invalid_argument)?;
    let scope = scope
        .map(parse_prune_scope)
        .transpose()
        .map_err(Error::invalid_argument)?;
    match (fraction, mode.as_deref(), scope) {
        (None, None, None) => Ok(None),
        (fraction, Some("2:4"), None) if fraction.is_none_or(|f| f == 0.5) => {
            Ok(Some(PruneSettings::TwoOfFour))
        }
        (Some(fraction), Some("2:4"), None) => Err(Error::invalid_argument(format!(
            "--prune-mode 2:4 sets two of every four weights to zero, half of them; leave out \
             --prune or give --prune 0.5, not {fraction}"
        ))),
        (Some(fraction), Some("channels"), None) => {
            Ok(Some(PruneSettings::Channels { fraction }))
        }
        (_, Some("channels"), Some(_)) => Err(Error::invalid_argument(
            "--prune-scope is only used with --prune-mode unstructured: channel pruning \
             removes the same share of every layer's channels",
        )),
        (_, Some("2:4"), Some(_)) => Err(Error::invalid_argument(
            "--prune-scope is only used with --prune-mode unstructured: 2:4 pruning works \
             within groups of four weights of one layer",
        )),
        (Some(fraction), _, scope) => Ok(Some(PruneSettings::Unstructured {
            fraction,
            scope: scope.unwrap_or_default(),
        })),
        (None, Some(mode), _) => Err(Error::invalid_argument(format!(
            "--prune-mode {mode} needs --prune FRACTION, the share of the weights to set to \
             zero, such as --prune 0.8"
        ))),
        (None, None, Some(_)) => Err(Error::invalid_argument(
            "--prune-scope is only used with --prune FRACTION (unstructured pruning)",
        )),
    }
}

/// Parses a `--cluster` value: how many values each layer's weights share, 2 to 256.
pub fn parse_cluster(text: &str) -> std::result::Result<usize, String> {
    let most = crate::passes::cluster::MAX_CLUSTERS;
    match text.trim().parse::<usize>() {
        Ok(k) if (2..=most).contains(&k) => Ok(k),
        _ => Err(format!(
            "--cluster takes how many values each layer's weights share, a whole number from 2 \
             to {most} (16 or fewer give 4-bit indices), such as 16; got '{text}'"
        )),
    }
}

/// Parses a `--prune-layer` value: `NAME=FRACTION`.
pub fn parse_prune_layer(text: &str) -> std::result::Result<(String, f64), String> {
    let (name, fraction) = text
        .rsplit_once('=')
        .ok_or("expected NAME=FRACTION, a layer's node name and a fraction such as 0.8")?;
    let fraction =
        parse_prune_fraction(fraction).map_err(|e| e.replacen("--prune ", "", 1))?;
    Ok((name.to_string(), fraction))
}

/// Parses a `--cluster-layer` value: `NAME=K`.
pub fn parse_cluster_layer(text: &str) -> std::result::Result<(String, usize), String> {
    let (name, k) = text
        .rsplit_once('=')
        .ok_or("expected NAME=K, a layer's node name and a number of values such as 16")?;
    let k = parse_cluster(k).map_err(|e| e.replacen("--cluster ", "", 1))?;
    Ok((name.to_string(), k))
}

/// The setting of `--cluster K` and the clustering of `--cluster-layer`, with the `--quantize`
/// mode they go with: weights stored in fewer bits each (`int8-weights`, `fp16`) are refused,
/// since a clustered layer is stored as a codebook and indices already.
pub fn cluster_settings(
    cluster: Option<&str>,
    by_layer: &[(String, usize)],
    quantize: Option<&str>,
) -> Result<Option<usize>> {
    let k = cluster
        .map(parse_cluster)
        .transpose()
        .map_err(Error::invalid_argument)?;
    let flag = if k.is_some() {
        "--cluster"
    } else {
        "--cluster-layer"
    };
    match (k.or(by_layer.first().map(|l| l.1)), quantize) {
        (Some(k), Some(mode @ ("int8-weights" | "fp16"))) => {
            Err(Error::invalid_argument(format!(
                "{flag} stores each layer's weights as a codebook of {k} values and an index per \
             weight, already smaller than --quantize {mode} would make them; leave out one of \
             the two (with --quantize int8 the codebook holds int8 values)"
            )))
        }
        _ => Ok(k),
    }
}

/// The modes `--unroll` takes.
pub const UNROLL_MODES: &[&str] = &["none", "auto", "full"];

/// Parses an `--unroll` value.
pub fn parse_unroll(text: &str) -> std::result::Result<crate::ir::Unroll, String> {
    use crate::ir::Unroll;
    match text {
        "none" => Ok(Unroll::None),
        "auto" => Ok(Unroll::Auto),
        "full" => Ok(Unroll::Full),
        _ => Err(format!(
            "'{text}' is not an unrolling mode; the modes are: {}",
            UNROLL_MODES.join(", ")
        )),
    }
}

/// Parses an `--io` value: whether a quantized model's inputs and outputs are int8.
pub fn parse_io(text: &str) -> std::result::Result<bool, String> {
    match text {
        "float" => Ok(false),
        "int8" => Ok(true),
        _ => Err(format!(
            "'{text}' is not an I/O type; the types are float (the default) and int8"
        )),
    }
}

/// Parses the value of a switch in `include_model!`: `true` or `false`.
pub fn parse_switch(text: &str) -> std::result::Result<bool, String> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("expected true or false, not '{text}'")),
    }
}

/// Parses `NAME=FILE` (`axes=axes.npy`).
pub fn parse_constant(text: &str) -> std::result::Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, file)) if !name.is_empty() && !file.is_empty() => {
            Ok((name.to_string(), PathBuf::from(file)))
        }
        _ => Err("expected NAME=FILE, such as axes=axes.npy".into()),
    }
}

/// The passes `--disable-pass` takes (the optional ones) or `--dump-after` takes (every pass;
/// `all` is accepted besides), with their descriptions.
pub fn pass_names(every_pass: bool) -> impl Iterator<Item = (&'static str, &'static str)> {
    PIPELINE
        .iter()
        .filter(move |p| every_pass || !p.required)
        .map(|p| (p.name, p.description))
}

/// Checks a pass name for `--disable-pass` (`every_pass` false) or `--dump-after` (true).
pub fn check_pass_name(name: &str, every_pass: bool) -> std::result::Result<(), String> {
    if (every_pass && name == "all") || pass_names(every_pass).any(|(n, _)| n == name) {
        return Ok(());
    }
    if !every_pass && PIPELINE.iter().any(|p| p.name == name) {
        return Err(format!(
            "the pass '{name}' is required and cannot be disabled; the optional passes are: {}",
            pass_names(false)
                .map(|(n, _)| n)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut names: Vec<&str> = pass_names(every_pass).map(|(n, _)| n).collect();
    if every_pass {
        names.push("all");
    }
    Err(format!(
        "there is no pass '{name}'; the choices are: {}",
        names.join(", ")
    ))
}

/// Reads an array from a `.npy` file or an ONNX `TensorProto` (`.pb`).
pub fn read_array(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read", &e))?;
    if path.extension().is_some_and(|e| e == "pb") {
        let proto = crate::frontend::onnx::proto::decode_tensor(&bytes).map_err(|e| {
            Error::invalid_argument(format!(
                "{}: not a valid ONNX TensorProto: {e}",
                path.display()
            ))
        })?;
        let (shape, data) = crate::frontend::onnx::tensor_from_proto(&proto)
            .map_err(|e| Error::invalid_argument(format!("{}: {e}", path.display())))?;
        return Ok(Value::new(shape, data));
    }
    let array = npy::read_npy(&bytes)
        .map_err(|e| Error::invalid_argument(format!("{}: {e}", path.display())))?;
    Ok(Value::new(array.shape, array.data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_shapes_parse_and_refuse_what_is_not_one() {
        assert_eq!(
            parse_input_shape("x=1, 3,32"),
            Ok(("x".to_string(), vec![1, 3, 32]))
        );
        // The last `=` splits, so names may contain one.
        assert_eq!(parse_input_shape("a=b=2"), Ok(("a=b".to_string(), vec![2])));
        assert!(parse_input_shape("x").unwrap_err().contains("NAME=DIMS"));
        assert!(parse_input_shape("x=1,a").unwrap_err().contains("'a'"));
        assert!(parse_input_shape("=1").unwrap_err().contains("empty"));
    }

    #[test]
    fn byte_counts_take_binary_suffixes() {
        assert_eq!(parse_bytes("65536"), Ok(65536));
        assert_eq!(parse_bytes("65_536"), Ok(65536));
        assert_eq!(parse_bytes("64K"), Ok(65536));
        assert_eq!(parse_bytes("64KiB"), Ok(65536));
        assert_eq!(parse_bytes("2M"), Ok(2 << 20));
        for bad in [
            "",
            "K",
            "64 kB",
            "-1",
            "1.5M",
            "99999999999999999999",
            "18446744073709551615M",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn constants_need_a_name_and_a_file() {
        assert_eq!(
            parse_constant("axes=data/axes.npy"),
            Ok(("axes".to_string(), PathBuf::from("data/axes.npy")))
        );
        assert!(parse_constant("axes=").is_err());
        assert!(parse_constant("=f.npy").is_err());
        assert!(parse_constant("axes").is_err());
    }

    #[test]
    fn prune_options_are_checked_together() {
        let settings = |p: Option<&str>, m: Option<&str>, s: Option<&str>| {
            prune_settings(p, m, s).map_err(|e| e.to_string())
        };
        assert_eq!(settings(None, None, None), Ok(None));
        assert_eq!(
            settings(Some("0.8"), None, None),
            Ok(Some(PruneSettings::Unstructured {
                fraction: 0.8,
                scope: PruneScope::Layer
            }))
        );
        assert_eq!(
            settings(Some("0"), Some("unstructured"), Some("global")),
            Ok(Some(PruneSettings::Unstructured {
                fraction: 0.0,
                scope: PruneScope::Global
            }))
        );
        for two_of_four in [(None, Some("2:4")), (Some("0.5"), Some("2:4"))] {
            assert_eq!(
                settings(two_of_four.0, two_of_four.1, None),
                Ok(Some(PruneSettings::TwoOfFour))
            );
        }
        for (p, m, s, needle) in [
            (Some("1"), None, None, "up to but not including 1"),
            (Some("-0.1"), None, None, "got '-0.1'"),
            (Some("NaN"), None, None, "got 'NaN'"),
            (Some("80%"), None, None, "such as 0.8"),
            (Some("0.8"), Some("2:4"), None, "not 0.8"),
            (
                None,
                Some("2:4"),
                Some("layer"),
                "only used with --prune-mode unstructured",
            ),
            (None, Some("unstructured"), None, "needs --prune FRACTION"),
            (
                None,
                None,
                Some("global"),
                "only used with --prune FRACTION",
            ),
            (
                Some("0.5"),
                Some("4:8"),
                None,
                "the modes are: unstructured, 2:4, channels",
            ),
            (
                Some("0.5"),
                None,
                Some("model"),
                "the scopes are: layer, global",
            ),
        ] {
            let error = settings(p, m, s).unwrap_err();
            assert!(error.contains(needle), "{p:?} {m:?} {s:?}: {error}");
        }
    }

    #[test]
    fn pass_names_are_checked_with_the_choices_listed() {
        assert_eq!(check_pass_name("fuse_activation", false), Ok(()));
        assert_eq!(check_pass_name("all", true), Ok(()));
        assert!(check_pass_name("all", false).is_err());
        let required = check_pass_name("infer_shapes", false).unwrap_err();
        assert!(required.contains("required"), "{required}");
        assert_eq!(check_pass_name("infer_shapes", true), Ok(()));
        let unknown = check_pass_name("fold", false).unwrap_err();
        assert!(unknown.contains("fold_constants"), "{unknown}");
    }
}
