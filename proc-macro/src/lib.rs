//! `include_model!`: compiles a model file into Rust code while the crate that names it builds.
//!
//! ```
//! // The path is relative to the crate's directory (CARGO_MANIFEST_DIR).
//! edgegen_macros::include_model!("../fixtures/models/digits_mlp.onnx", name = digits);
//!
//! let mut model = digits::Model::new();
//! let image = [0.5f32; digits::INPUT_LEN]; // an 8×8 digit, pixels in [0, 1]
//! let mut probabilities = [0.0f32; digits::OUTPUT_LEN];
//! model.run(&image, &mut probabilities);
//! assert!((probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
//! ```
//!
//! The expansion is a module with the API and the code `edgegen build` writes: the compiler
//! library is the same, only its output goes to rustc instead of a file. Options are named
//! arguments spelt as the command line's flags with underscores (see [`include_model!`]), and
//! errors (a missing file, unsupported operators, a bad option) become `compile_error!`s on the
//! argument at fault, every one at once.
//!
//! The model file and every file an option names are read through `include_bytes!` as well, so
//! Cargo rebuilds the crate when one of them changes: the code never lags behind the model.

use std::path::{Path, PathBuf};

use edgegen::options::{self, MODEL_OPTIONS, ModelOption};
use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, Lit, LitStr, Token, bracketed, parse_macro_input};

/// Compiles the model at the given path (relative to `CARGO_MANIFEST_DIR`) into a module.
///
/// ```text
/// include_model!("models/kws.tflite");                      // module `kws`, named after the file
/// include_model!("models/kws.tflite", name = keywords);     // module `keywords`
/// include_model!(
///     "models/detector.onnx",
///     input_shape = "image=1,3,96,96",                      // --input-shape image=1,3,96,96
///     constant = ["axes=data/axes.npy", "k=data/k.npy"],    // --constant, paths relative to the crate
///     disable_pass = "fuse_activation",                     // --disable-pass fuse_activation
/// );
/// ```
///
/// - `name = IDENT`: the module's name; by default the file's name without its extension, made
///   an identifier (`kws-v2.tflite` gives `kws_v2`).
/// - Every option of `edgegen build` that decides the generated code, with `_` for `-`:
///   `input_shape = "NAME=DIMS"`, `constant = "NAME=FILE"`, `disable_pass = "PASS"` and
///   `dump_after = "PASS"` (the IR after that pass, printed while the crate builds: a debugging
///   aid, to remove afterwards), `quantize = "int8"` (or `"int4-weights"`) with
///   `calibration = "data/samples.npy"` (post-training quantization; the samples file is
///   tracked too), `quantize = "int8-weights"` or `"fp16"` (float layers' weights stored in
///   fewer bits, no calibration), `max_ram = "64K"` (or a
///   number of bytes: the build fails when the model needs more RAM), and `prune = 0.8` with
///   `prune_mode = "unstructured"`, `"2:4"` or `"channels"` and `prune_scope = "layer"` or `"global"`
///   (magnitude pruning), `cluster = 16` (weight sharing), and `prune_layer = "NAME=0.8"` and
///   `cluster_layer = "NAME=16"` for one layer (what `edgegen build --max-accuracy-drop`
///   prints), and `unroll = "auto"` or `"full"` (fully connected layers as straight-line
///   code). A list in brackets gives an option several times; so does
///   repeating it.
///
/// The module holds what a file from `edgegen build` holds: `Model` with `new()` and `run(..)`,
/// `INPUT_LEN`, `OUTPUT_LEN`, `INPUT_SHAPE`, `ARENA_BYTES`, `WEIGHT_BYTES` and the rest. An int8
/// TFLite model takes and gives `i8`, its own quantized values:
///
/// ```
/// // MLPerf Tiny's keyword spotter: 49×10 MFCC features in, 12 keyword scores out.
/// edgegen_macros::include_model!(
///     "../fixtures/mlperf-tiny/kws_ref_model.tflite",
///     name = kws,
///     input_shape = "input_1=1,49,10,1",
/// );
///
/// // `new()` is a `const fn`; the model holds its arena and no heap memory.
/// let mut model = kws::Model::new();
/// let features = [0i8; kws::INPUT_LEN];
/// let mut scores = [0i8; kws::OUTPUT_LEN];
/// model.run(&features, &mut scores);
/// assert_eq!(kws::OUTPUT_SHAPE, [1, 12]);
/// assert!(kws::ARENA_BYTES <= 16_000);
/// ```
#[proc_macro]
pub fn include_model(input: TokenStream) -> TokenStream {
    let invocation = parse_macro_input!(input as Invocation);
    let manifest_dir = match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let message = "CARGO_MANIFEST_DIR is not set: include_model! resolves paths from the \
                           directory of the crate Cargo builds";
            return syn::Error::new(invocation.path.span(), message)
                .to_compile_error()
                .into();
        }
    };
    expand(&invocation, &manifest_dir).into()
}

/// `"path" (, name = value)* ,?`
struct Invocation {
    path: LitStr,
    arguments: Vec<Argument>,
}

/// `name = value` or `name = [value, ...]`.
struct Argument {
    name: Ident,
    values: Vec<Value>,
}

/// A value: a literal (`"x=1,4"`, `0.5`, `true`) or an identifier (`kws`).
enum Value {
    Literal(Lit),
    Identifier(Ident),
}

impl Value {
    fn span(&self) -> Span {
        match self {
            Value::Literal(literal) => literal.span(),
            Value::Identifier(ident) => ident.span(),
        }
    }

    fn parse_one(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident::peek_any) {
            return Ok(Value::Identifier(input.call(Ident::parse_any)?));
        }
        let literal: Lit = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a value: a string, a number, an identifier or a [list]",
            )
        })?;
        Ok(Value::Literal(literal))
    }
}

impl Parse for Invocation {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let path: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the model's path as a string, such as \
                 include_model!(\"models/kws.tflite\")",
            )
        })?;
        let mut arguments = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let name = input.call(Ident::parse_any)?;
            input.parse::<Token![=]>()?;
            let values = if input.peek(syn::token::Bracket) {
                let content;
                bracketed!(content in input);
                Punctuated::<Value, Token![,]>::parse_terminated_with(
                    &content,
                    Value::parse_one,
                )?
                .into_iter()
                .collect()
            } else {
                vec![Value::parse_one(input)?]
            };
            arguments.push(Argument { name, values });
        }
        Ok(Invocation { path, arguments })
    }
}

/// What the arguments ask for.
#[derive(Default)]
struct Settings {
    compile: edgegen::CompileOptions,
    module: Option<Ident>,
    /// Files read besides the model, which a change to must rebuild the crate.
    tracked: Vec<PathBuf>,
    /// `quantize` and `calibration`, combined (and the file read) once all arguments are in.
    quantize: Option<String>,
    calibration: Option<PathBuf>,
    calibrator: Option<String>,
    per_tensor: bool,
    /// `prune`, `prune_mode` and `prune_scope`, each value checked, combined once all
    /// arguments are in.
    prune: Option<String>,
    prune_mode: Option<String>,
    prune_scope: Option<String>,
    /// `cluster`, checked, and combined with `quantize` once all arguments are in.
    cluster: Option<String>,
    /// The options that may be given once and were.
    given: std::collections::HashSet<&'static str>,
}

fn expand(invocation: &Invocation, manifest_dir: &Path) -> proc_macro2::TokenStream {
    let mut errors = Vec::new();
    let mut settings = Settings::default();
    for argument in &invocation.arguments {
        apply(argument, manifest_dir, &mut settings, &mut errors);
    }

    let quantization = options::int8_settings(
        settings.quantize.as_deref(),
        settings.calibration.as_deref(),
        settings.calibrator.as_deref(),
        settings.per_tensor,
    )
    .and_then(|int8| {
        let stored =
            options::stored_weights(settings.quantize.as_deref(), settings.per_tensor)?;
        Ok((int8, stored))
    });
    match quantization {
        Ok((int8, stored)) => {
            settings.compile.passes.int8 = int8;
            settings.compile.passes.stored_weights = stored;
        }
        Err(e) => errors.push(syn::Error::new(
            invocation.path.span(),
            e.to_string()
                .replace("--quantize", "quantize =")
                .replace("--calibration", "calibration =")
                .replace("--calibrator", "calibrator =")
                .replace("--per-tensor", "per_tensor = true"),
        )),
    }
    match options::prune_settings(
        settings.prune.as_deref(),
        settings.prune_mode.as_deref(),
        settings.prune_scope.as_deref(),
    ) {
        Ok(prune) => settings.compile.passes.prune = prune,
        Err(e) => errors.push(syn::Error::new(
            invocation.path.span(),
            e.to_string()
                .replace("--prune-mode", "prune_mode =")
                .replace("--prune-scope", "prune_scope =")
                .replace("--prune", "prune ="),
        )),
    }
    match options::cluster_settings(
        settings.cluster.as_deref(),
        &settings.compile.passes.cluster_layers,
        settings.quantize.as_deref(),
    ) {
        Ok(k) => settings.compile.passes.cluster = k,
        Err(e) => errors.push(syn::Error::new(
            invocation.path.span(),
            e.to_string()
                .replace("--cluster-layer", "cluster_layer =")
                .replace("--cluster", "cluster =")
                .replace("--quantize", "quantize ="),
        )),
    }
    // Random calibration deserves a warning; a deprecated item is the one way a macro on
    // stable Rust makes the compiler warn.
    let mut warnings = proc_macro2::TokenStream::new();
    match &settings.calibration {
        Some(file) if file == Path::new(options::RANDOM_CALIBRATION) => {
            let note = options::RANDOM_CALIBRATION_WARNING
                .replace("--calibration random", "calibration = \"random\"")
                .replace("`edgegen validate`", "edgegen validate");
            warnings = quote::quote_spanned! {invocation.path.span()=>
                #[deprecated(note = #note)]
                #[allow(non_upper_case_globals)]
                const random_calibration: () = ();
                const _: () = random_calibration;
            };
        }
        Some(file) => settings.tracked.push(file.clone()),
        None => {}
    }

    let relative = invocation.path.value();
    let path = manifest_dir.join(&relative);
    let module = settings
        .module
        .clone()
        .unwrap_or_else(|| format_ident!("{}", module_name(&path)));
    let mut code = None;
    if !path.is_file() {
        let what = if path.exists() {
            "is not a file"
        } else {
            "does not exist"
        };
        errors.push(syn::Error::new(
            invocation.path.span(),
            format!(
                "the model file {} {what} (paths are relative to the crate's directory, {})",
                path.display(),
                manifest_dir.display()
            ),
        ));
    } else {
        let dump = &mut |pass: &str, text: &str| eprintln!("# IR after {pass}\n{text}");
        match edgegen::compile(&path, &settings.compile, dump)
            .and_then(|compiled| edgegen::backend::rust::emit(&compiled.graph))
        {
            Ok(text) => code = Some(text),
            Err(e) => errors.push(syn::Error::new(invocation.path.span(), e.to_string())),
        }
    }
    if !errors.is_empty() {
        return errors.iter().map(syn::Error::to_compile_error).collect();
    }
    let code = code.expect("no errors means the model compiled");
    let body: proc_macro2::TokenStream = match code.parse() {
        Ok(body) => body,
        Err(e) => {
            let message = format!(
                "edgegen generated code that rustc cannot read (a bug in edgegen): {e}"
            );
            return syn::Error::new(invocation.path.span(), message).to_compile_error();
        }
    };
    let tracked = std::iter::once(&path)
        .chain(&settings.tracked)
        .map(|p| p.to_string_lossy().into_owned());
    quote! {
        pub mod #module {
            #body
            #warnings
            // Cargo rebuilds this crate when a file the model was compiled from changes.
            #( const _: &[u8] = include_bytes!(#tracked); )*
        }
    }
}

/// Applies one named argument, or says what is wrong with it.
fn apply(
    argument: &Argument,
    manifest_dir: &Path,
    settings: &mut Settings,
    errors: &mut Vec<syn::Error>,
) {
    let name = argument.name.to_string();
    if name == "name" {
        match argument.values.as_slice() {
            [value] if settings.module.is_none() => match module_ident(value) {
                Ok(ident) => settings.module = Some(ident),
                Err(e) => errors.push(e),
            },
            [_] => errors.push(syn::Error::new(
                argument.name.span(),
                "the module's name is given twice",
            )),
            _ => errors.push(syn::Error::new(
                argument.name.span(),
                "`name` takes one identifier, such as name = kws",
            )),
        }
        return;
    }
    let Some(option) = MODEL_OPTIONS.iter().find(|o| o.macro_name() == name) else {
        let mut known = vec!["name = IDENT".to_string()];
        known.extend(MODEL_OPTIONS.iter().map(example));
        errors.push(syn::Error::new(
            argument.name.span(),
            format!(
                "include_model! has no option `{name}`; it takes: {}",
                known.join(", ")
            ),
        ));
        return;
    };
    if argument.values.is_empty() {
        errors.push(syn::Error::new(
            argument.name.span(),
            format!("`{name}` needs a value, such as {}", example(option)),
        ));
    }
    if !option.repeatable
        && (argument.values.len() > 1 || !settings.given.insert(option.flag))
    {
        errors.push(syn::Error::new(
            argument.name.span(),
            format!("`{name}` is given more than once"),
        ));
        return;
    }
    for value in &argument.values {
        // Strings as they are; numbers as their digits (`max_ram = 65536`).
        let text = match value {
            Value::Literal(Lit::Str(text)) => text.value(),
            Value::Literal(Lit::Int(number)) => number.base10_digits().to_string(),
            Value::Literal(Lit::Float(number)) => number.base10_digits().to_string(),
            Value::Literal(Lit::Bool(switch)) => switch.value.to_string(),
            _ => {
                errors.push(syn::Error::new(
                    value.span(),
                    format!("`{name}` takes a string, such as {}", example(option)),
                ));
                continue;
            }
        };
        if let Err(message) = apply_option(option.flag, &text, manifest_dir, settings) {
            errors.push(syn::Error::new(value.span(), format!("{name}: {message}")));
        }
    }
}

/// How the option is written in `include_model!`: `calibrator = "METHOD"`, or
/// `per_tensor = true` for a switch.
fn example(option: &ModelOption) -> String {
    if option.value_name.is_empty() {
        format!("{} = true", option.macro_name())
    } else {
        format!("{} = \"{}\"", option.macro_name(), option.value_name)
    }
}

/// Applies one value of a command-line model option (named by its flag), as the `edgegen`
/// command does; file paths are relative to the crate's directory.
fn apply_option(
    flag: &str,
    text: &str,
    manifest_dir: &Path,
    settings: &mut Settings,
) -> Result<(), String> {
    let compile = &mut settings.compile;
    match flag {
        "input-shape" => {
            let shape = options::parse_input_shape(text)?;
            compile.import.input_shapes.push(shape);
        }
        "constant" => {
            let (input, file) = options::parse_constant(text)?;
            let path = manifest_dir.join(file);
            let value = options::read_array(&path).map_err(|e| e.to_string())?;
            compile
                .import
                .constants
                .push((input, value.shape, value.data));
            settings.tracked.push(path);
        }
        "disable-pass" => {
            options::check_pass_name(text, false)?;
            compile.passes.disabled.push(text.to_string());
        }
        "dump-after" => {
            options::check_pass_name(text, true)?;
            compile.passes.dump_after.push(text.to_string());
        }
        "max-ram" => compile.max_ram = Some(options::parse_bytes(text)?),
        "quantize" => settings.quantize = Some(options::parse_quantize(text)?),
        "calibration" if text == options::RANDOM_CALIBRATION => {
            settings.calibration = Some(PathBuf::from(text));
        }
        "calibration" => settings.calibration = Some(manifest_dir.join(text)),
        "calibrator" => {
            edgegen::passes::quantize::Calibrator::parse(text)?;
            settings.calibrator = Some(text.to_string());
        }
        "per-tensor" => settings.per_tensor = options::parse_switch(text)?,
        "io" => compile.passes.io_int8 = options::parse_io(text)?,
        // Each value is checked here, on its own span; the three are combined in `expand`.
        "prune" => {
            options::parse_prune_fraction(text)
                .map_err(|e| e.replacen("--prune ", "", 1))?;
            settings.prune = Some(text.to_string());
        }
        "prune-mode" => {
            options::parse_prune_mode(text)
                .map_err(|e| e.replacen("--prune-mode: ", "", 1))?;
            settings.prune_mode = Some(text.to_string());
        }
        "prune-scope" => {
            options::parse_prune_scope(text)
                .map_err(|e| e.replacen("--prune-scope: ", "", 1))?;
            settings.prune_scope = Some(text.to_string());
        }
        "prune-layer" => {
            let layer = options::parse_prune_layer(text)?;
            compile.passes.prune_layers.push(layer);
        }
        "cluster-layer" => {
            let layer = options::parse_cluster_layer(text)?;
            compile.passes.cluster_layers.push(layer);
        }
        "cluster" => {
            options::parse_cluster(text).map_err(|e| e.replacen("--cluster ", "", 1))?;
            settings.cluster = Some(text.to_string());
        }
        "unroll" => compile.unroll = options::parse_unroll(text)?,
        _ => {
            return Err(format!(
                "the command-line option --{flag} is not available in include_model! yet"
            ));
        }
    }
    Ok(())
}

/// The module name a `name = ...` argument gives: an identifier, or a string that is one.
fn module_ident(value: &Value) -> syn::Result<Ident> {
    let error = || {
        syn::Error::new(
            value.span(),
            "the module's name must be an identifier, such as name = kws",
        )
    };
    match value {
        Value::Identifier(ident) => {
            syn::parse_str::<Ident>(&ident.to_string()).map_err(|_| error())?;
            Ok(ident.clone())
        }
        Value::Literal(Lit::Str(text)) => {
            let ident = syn::parse_str::<Ident>(&text.value()).map_err(|_| error())?;
            Ok(Ident::new(&ident.to_string(), text.span()))
        }
        Value::Literal(_) => Err(error()),
    }
}

/// The default module name: the file's name without its extension, lower-cased, with every
/// character that cannot be in an identifier replaced by `_`; prefixed when it would start with
/// a digit or be empty, suffixed when it is a Rust keyword (`final.onnx` gives `final_model`).
fn module_name(path: &Path) -> String {
    let stem: String = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() || stem.starts_with(|c: char| c.is_ascii_digit()) {
        format!("model_{stem}")
    } else if syn::parse_str::<Ident>(&stem).is_err() {
        format!("{stem}_model")
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(arguments: &str) -> Vec<String> {
        let invocation: Invocation =
            syn::parse_str(&format!("\"m.onnx\", {arguments}")).expect("parses");
        let mut settings = Settings::default();
        let mut errors = Vec::new();
        for argument in &invocation.arguments {
            apply(
                argument,
                Path::new("/nonexistent"),
                &mut settings,
                &mut errors,
            );
        }
        errors.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn module_names_are_identifiers() {
        let name = |file: &str| module_name(Path::new(file));
        assert_eq!(name("models/digits_mlp.onnx"), "digits_mlp");
        assert_eq!(name("KWS-v2.tflite"), "kws_v2");
        assert_eq!(name("final.onnx"), "final_model");
        assert_eq!(name("self.onnx"), "self_model");
        assert_eq!(name("type.onnx"), "type_model");
        assert_eq!(name("3d_unet.onnx"), "model_3d_unet");
        assert_eq!(name(".onnx"), "_onnx");
        assert_eq!(name(""), "model_");
    }

    /// Every option of the command line that shapes the code is taken by the macro.
    #[test]
    fn every_model_option_is_an_argument() {
        for option in MODEL_OPTIONS {
            let name = option.macro_name();
            for error in errors_of(&format!("{name} = \"x\"")) {
                assert!(
                    !error.contains("has no option") && !error.contains("not available"),
                    "{name}: {error}"
                );
            }
        }
    }

    #[test]
    fn arguments_are_applied() {
        let invocation: Invocation = syn::parse_str(
            "\"m.onnx\", name = kws, input_shape = [\"a=1,2\", \"b=3\"], \
             disable_pass = \"fold_constants\", dump_after = \"all\",",
        )
        .expect("parses");
        let mut settings = Settings::default();
        let mut errors = Vec::new();
        for argument in &invocation.arguments {
            apply(argument, Path::new("/"), &mut settings, &mut errors);
        }
        assert!(errors.is_empty());
        assert_eq!(settings.module.expect("a name").to_string(), "kws");
        let import = &settings.compile.import;
        assert_eq!(
            import.input_shapes,
            [("a".to_string(), vec![1, 2]), ("b".to_string(), vec![3])]
        );
        assert_eq!(settings.compile.passes.disabled, ["fold_constants"]);
        assert_eq!(settings.compile.passes.dump_after, ["all"]);
    }

    #[test]
    fn every_bad_argument_is_reported() {
        let errors = errors_of(
            "quantise = \"int8\", input_shape = pixels, input_shape = \"x=1,y\", \
             disable_pass = \"infer_shapes\", name = 7, constant = \"k=missing.npy\"",
        );
        assert_eq!(errors.len(), 6, "{errors:#?}");
        assert!(errors[0].contains("no option `quantise`"), "{}", errors[0]);
        assert!(errors[0].contains("input_shape = \"NAME=DIMS\""));
        assert!(errors[1].contains("takes a string"), "{}", errors[1]);
        assert!(
            errors[2].contains("'y' is not a dimension"),
            "{}",
            errors[2]
        );
        assert!(errors[3].contains("required"), "{}", errors[3]);
        assert!(errors[4].contains("identifier"), "{}", errors[4]);
        assert!(errors[5].contains("missing.npy"), "{}", errors[5]);
    }

    #[test]
    fn numbers_are_values_and_single_options_are_given_once() {
        for good in ["max_ram = 65536", "max_ram = \"64K\"", "max_ram = 65_536"] {
            assert_eq!(errors_of(good), Vec::<String>::new(), "{good}");
        }
        let twice = errors_of("max_ram = 1, max_ram = 2");
        assert_eq!(twice.len(), 1);
        assert!(twice[0].contains("more than once"), "{}", twice[0]);
        assert_eq!(errors_of("max_ram = [1, 2]").len(), 1);
        let bad = errors_of("max_ram = \"lots\"");
        assert!(bad[0].contains("not a byte count"), "{}", bad[0]);
    }

    #[test]
    fn prune_values_are_checked_on_their_own_span() {
        for good in [
            "prune = 0.8",
            "prune = \"0.8\", prune_scope = \"global\"",
            "prune_mode = \"2:4\"",
        ] {
            assert_eq!(errors_of(good), Vec::<String>::new(), "{good}");
        }
        let bad = errors_of("prune = 1.5, prune_mode = \"4:8\", prune_scope = \"all\"");
        assert_eq!(bad.len(), 3, "{bad:#?}");
        assert!(
            bad[0].starts_with("prune: takes the fraction of weights to remove"),
            "{}",
            bad[0]
        );
        assert!(bad[1].contains("unstructured, 2:4, channels"), "{}", bad[1]);
        assert!(bad[2].contains("layer, global"), "{}", bad[2]);
    }

    /// The combination of the three is checked once all arguments are in, in the macro's words.
    #[test]
    fn prune_options_are_combined_in_the_macros_words() {
        let invocation: Invocation =
            syn::parse_str("\"m.onnx\", prune = 0.8, prune_mode = \"2:4\"")
                .expect("parses");
        let expansion = expand(&invocation, Path::new("/nonexistent")).to_string();
        assert!(
            expansion.contains("prune_mode = 2:4 sets two of every four weights to zero")
                && expansion.contains("give prune = 0.5, not 0.8"),
            "{expansion}"
        );
    }

    #[test]
    fn cluster_is_checked_alone_and_with_quantize() {
        assert_eq!(errors_of("cluster = 16"), Vec::<String>::new());
        let layers = "prune_layer = [\"fc=0.5\", \"conv=0.25\"], cluster_layer = \"fc=16\"";
        assert_eq!(errors_of(layers), Vec::<String>::new());
        let bad = errors_of("prune_layer = \"fc\", cluster_layer = \"fc=1\"");
        assert_eq!(bad.len(), 2, "{bad:#?}");
        let bad = errors_of("cluster = 300");
        assert!(
            bad.len() == 1 && bad[0].starts_with("cluster: takes how many values"),
            "{bad:#?}"
        );
        let invocation: Invocation =
            syn::parse_str("\"m.onnx\", cluster = 16, quantize = \"fp16\"")
                .expect("parses");
        let expansion = expand(&invocation, Path::new("/nonexistent")).to_string();
        assert!(
            expansion.contains("cluster = stores each layer's weights as a codebook")
                && expansion.contains("than quantize = fp16 would"),
            "{expansion}"
        );
    }

    #[test]
    fn the_name_is_given_once() {
        let errors = errors_of("name = a, name = b");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("twice"));
        assert_eq!(errors_of("name = \"fine\"").len(), 0);
        assert_eq!(errors_of("name = \"not fine\"").len(), 1);
        assert_eq!(errors_of("name = [a, b]").len(), 1);
    }

    #[test]
    fn malformed_invocations_do_not_parse() {
        for text in [
            "",
            "m",
            "\"m.onnx\" name = a",
            "\"m.onnx\", name",
            "\"m.onnx\", = a",
        ] {
            assert!(syn::parse_str::<Invocation>(text).is_err(), "{text}");
        }
        assert!(syn::parse_str::<Invocation>("\"m.onnx\",").is_ok());
    }
}
