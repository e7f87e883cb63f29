//! `include_model!`: compiles a model file into Rust code while the crate that names it builds.
//!
//! ```ignore
//! edgegen_macros::include_model!("models/digits_mlp.onnx");
//!
//! let mut model = digits_mlp::Model::new();
//! let mut output = [0.0; digits_mlp::OUTPUT_LEN];
//! model.run(&input, &mut output);
//! ```
//!
//! The path is relative to the crate's `CARGO_MANIFEST_DIR`. The macro expands to a module named
//! after the file (`digits_mlp`), with the same API and code as `edgegen build` writes: the
//! compiler library is the same, only the output goes to rustc instead of a file. The expansion
//! reads the model with `include_bytes!`, so that Cargo rebuilds the crate when the file changes.
//! Errors (missing file, unsupported operators, ...) become `compile_error!`s on the path.

use proc_macro::TokenStream;
use quote::{format_ident, quote_spanned};
use syn::{LitStr, parse_macro_input};

/// Compiles the model at the given path (relative to `CARGO_MANIFEST_DIR`) into a module.
#[proc_macro]
pub fn include_model(input: TokenStream) -> TokenStream {
    let path_literal = parse_macro_input!(input as LitStr);
    let span = path_literal.span();
    match expand(&path_literal.value()) {
        Ok(tokens) => tokens.into(),
        Err(message) => quote_spanned!(span=> compile_error!(#message);).into(),
    }
}

/// A module name from a file stem: prefixed when it would start with a digit or be empty,
/// suffixed when it is a Rust keyword (`final.onnx` gives `final_model`).
fn module_name(stem: &str) -> String {
    if stem.is_empty() || stem.starts_with(|c: char| c.is_ascii_digit()) {
        format!("model_{stem}")
    } else if syn::parse_str::<syn::Ident>(stem).is_err() {
        format!("{stem}_model")
    } else {
        stem.to_string()
    }
}

fn expand(relative: &str) -> Result<proc_macro2::TokenStream, String> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .ok_or("CARGO_MANIFEST_DIR is not set: include_model! runs under Cargo")?;
    let path = std::path::Path::new(&manifest_dir).join(relative);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let module: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let module = module_name(&module);
    let options = edgegen::CompileOptions::default();
    let compiled =
        edgegen::compile(&path, &options, &mut |_, _| {}).map_err(|e| e.to_string())?;
    let code = edgegen::backend::rust::emit(&compiled.graph).map_err(|e| e.to_string())?;
    let body: proc_macro2::TokenStream = code.parse().map_err(|e| {
        format!("edgegen generated code rustc cannot parse (a bug in edgegen): {e}")
    })?;
    let name = format_ident!("{}", module);
    let absolute = path.to_string_lossy().into_owned();
    Ok(quote::quote! {
        pub mod #name {
            #body
            // Makes Cargo rebuild this crate when the model file changes.
            const _: &[u8] = include_bytes!(#absolute);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::module_name;

    #[test]
    fn module_names_are_identifiers() {
        assert_eq!(module_name("digits_mlp"), "digits_mlp");
        assert_eq!(module_name("final"), "final_model");
        assert_eq!(module_name("self"), "self_model");
        assert_eq!(module_name("type"), "type_model");
        assert_eq!(module_name("3d_unet"), "model_3d_unet");
        assert_eq!(module_name(""), "model_");
    }
}
