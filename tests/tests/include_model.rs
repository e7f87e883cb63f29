//! `include_model!` used as a user uses it: a crate outside edgegen's workspace (the template in
//! `tests/user-crate`, copied to a temporary directory) with a path dependency on the macro
//! crate, built by Cargo. Its `#![no_std]` library compiles an ONNX and a TFLite model with
//! `panic = "abort"`, its own tests compare them with the reference outputs, a change to a model
//! file rebuilds it, and a crate of wrong invocations gets every error at once, each on its
//! argument.
//!
//! The crates share one target directory under Cargo's test scratch space, so only the first run
//! compiles the macro and the compiler library.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

/// A crate made from the template in a temporary directory outside the workspace, removed when
/// the test ends.
struct UserCrate {
    dir: PathBuf,
}

impl Drop for UserCrate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl UserCrate {
    /// The template crate named `name`, with `lib_rs` as its library (a path inside the template).
    fn new(name: &str, lib_rs: &str) -> UserCrate {
        let template = common::root().join("tests/user-crate");
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let user = UserCrate { dir };
        let manifest = std::fs::read_to_string(template.join("Cargo.toml.in"))
            .unwrap()
            .replace("@NAME@", name)
            .replace(
                "@PROC_MACRO@",
                &common::root().join("proc-macro").to_string_lossy(),
            );
        user.write("Cargo.toml", manifest.as_bytes());
        user.copy(&template.join(lib_rs), "src/lib.rs");
        // The workspace's lock file, so that the crate builds with the same dependency versions
        // and without looking anything up.
        user.copy(&common::root().join("Cargo.lock"), "Cargo.lock");
        user
    }

    fn write(&self, relative: &str, bytes: &[u8]) {
        let path = self.dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }

    fn copy(&self, from: &Path, to: &str) {
        let bytes =
            std::fs::read(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        self.write(to, &bytes);
    }

    fn fixture(&self, from: &str, to: &str) {
        self.copy(&common::fixtures().join(from), to);
    }

    /// Runs Cargo in the crate.
    fn cargo(&self, args: &[&str]) -> Output {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        Command::new(cargo)
            .args(args)
            .current_dir(&self.dir)
            .env(
                "CARGO_TARGET_DIR",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("user-crates"),
            )
            .env("CARGO_TERM_COLOR", "never")
            .env_remove("CARGO_MANIFEST_DIR")
            .env_remove("RUSTFLAGS")
            .output()
            .expect("cargo runs")
    }

    /// Runs Cargo and returns its standard error, failing the test if Cargo fails.
    #[track_caller]
    fn cargo_ok(&self, args: &[&str]) -> (String, String) {
        let output = self.cargo(args);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            output.status.success(),
            "cargo {} failed:\n{stdout}\n{stderr}",
            args.join(" ")
        );
        (stdout, stderr)
    }

    /// Sets a file's modification time to now, as an editor saving it would.
    fn touch(&self, relative: &str) {
        let file = std::fs::File::options()
            .append(true)
            .open(self.dir.join(relative))
            .unwrap();
        file.set_modified(SystemTime::now()).unwrap();
    }
}

/// The crate of `tests/user-crate` with its models, data and reference outputs.
fn working_crate(name: &str) -> UserCrate {
    let user = UserCrate::new(name, "src/lib.rs");
    let template = common::root().join("tests/user-crate");
    user.copy(&template.join("src/main.rs"), "src/main.rs");
    user.copy(&template.join("tests/reference.rs"), "tests/reference.rs");
    for (from, to) in [
        ("models/digits_mlp.onnx", "models/digits_mlp.onnx"),
        ("models/digits_mlp.onnx", "models/replaced.onnx"),
        (
            "mlperf-tiny/kws_ref_model.tflite",
            "models/kws_ref_model.tflite",
        ),
        (
            "models/broadcast_matmul.onnx",
            "models/broadcast_matmul.onnx",
        ),
        ("reference/broadcast_matmul/input_1.npy", "data/b.npy"),
        ("data/digits_x.npy", "data/calibration.npy"),
        (
            "reference/digits_mlp/batch/input_0.npy",
            "reference/digits_input.npy",
        ),
        (
            "reference/digits_mlp/batch/output_0.npy",
            "reference/digits_output.npy",
        ),
        (
            "reference/tflite/kws_ref_model/input_0.npy",
            "reference/kws_input.npy",
        ),
        (
            "reference/tflite/kws_ref_model/output_0.npy",
            "reference/kws_output.npy",
        ),
        (
            "reference/broadcast_matmul/input_0.npy",
            "reference/matmul_input.npy",
        ),
        (
            "reference/broadcast_matmul/output_0.npy",
            "reference/matmul_output_0.npy",
        ),
        (
            "reference/broadcast_matmul/output_1.npy",
            "reference/matmul_output_1.npy",
        ),
    ] {
        user.fixture(from, to);
    }
    user
}

/// Whether Cargo's standard error says it compiled the user's crate (not only checked it).
fn compiled(stderr: &str, name: &str) -> bool {
    stderr.contains(&format!("Compiling {name} v"))
}

#[test]
fn a_no_std_user_crate_builds_and_matches_the_references() {
    let user = working_crate("edgegen-user");
    // The library alone, as a `#![no_std]` crate with `panic = "abort"`, in both profiles.
    user.cargo_ok(&["build", "--lib"]);
    user.cargo_ok(&["build", "--lib", "--release"]);
    // Its tests, which compare every model with the saved reference outputs.
    let (stdout, _) = user.cargo_ok(&["test", "--test", "reference"]);
    assert!(stdout.contains("test result: ok. 4 passed"), "{stdout}");
}

#[test]
fn changing_a_file_the_model_was_compiled_from_rebuilds_the_crate() {
    let user = working_crate("edgegen-user-rebuild");
    let (stdout, _) = user.cargo_ok(&["run", "--quiet"]);
    assert_eq!(stdout.trim(), "[1, 10]");

    // Nothing changed: nothing is compiled again.
    let (_, stderr) = user.cargo_ok(&["build"]);
    assert!(!compiled(&stderr, "edgegen-user-rebuild"), "{stderr}");

    // Saving the model or a file an option names recompiles the crate.
    for file in [
        "models/kws_ref_model.tflite",
        "data/b.npy",
        "data/calibration.npy",
    ] {
        user.touch(file);
        let (_, stderr) = user.cargo_ok(&["build"]);
        assert!(
            compiled(&stderr, "edgegen-user-rebuild"),
            "{file}: {stderr}"
        );
    }

    // Another model in the file: the program sees the new model.
    user.fixture("models/conv_transpose_sparse.onnx", "models/replaced.onnx");
    user.touch("models/replaced.onnx");
    let (stdout, _) = user.cargo_ok(&["run", "--quiet"]);
    assert_eq!(stdout.trim(), "[1, 3, 10, 10]");
}

/// Every error of `tests/user-crate/errors/lib.rs`, rendered as
/// `line:column `argument`: message` from Cargo's JSON diagnostics.
#[test]
fn every_problem_is_a_compile_error_on_its_argument() {
    let user = UserCrate::new("edgegen-user-errors", "errors/lib.rs");
    for (from, to) in [
        ("models/digits_mlp.onnx", "models/digits_mlp.onnx"),
        ("errors/truncated.onnx", "models/truncated.onnx"),
        ("errors/unsupported_ops.onnx", "models/unsupported_ops.onnx"),
    ] {
        user.fixture(from, to);
    }
    let output = user.cargo(&["build", "--message-format=json"]);
    assert!(!output.status.success(), "the crate of wrong calls built");
    let crate_dir = user.dir.to_string_lossy().into_owned();
    let mut errors = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let diagnostic = &message["message"];
        if message["reason"] != "compiler-message" || diagnostic["level"] != "error" {
            continue;
        }
        let Some(span) = diagnostic["spans"].as_array().and_then(|s| s.first()) else {
            continue;
        };
        let source = span["text"][0]["text"].as_str().unwrap_or_default();
        let start = span["text"][0]["highlight_start"].as_u64().unwrap_or(1) as usize;
        let end = span["text"][0]["highlight_end"].as_u64().unwrap_or(1) as usize;
        let argument: String = source
            .chars()
            .skip(start - 1)
            .take(end.saturating_sub(start))
            .collect();
        errors.push(format!(
            "{}:{} `{argument}`: {}",
            span["line_start"],
            span["column_start"],
            diagnostic["message"]
                .as_str()
                .unwrap_or_default()
                .replace(&crate_dir, "[crate]")
        ));
    }
    insta::assert_snapshot!(errors.join("\n\n"));
}
