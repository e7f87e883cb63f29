//! Snapshots of the generated code of two tiny models written in the text IR, so that a change to
//! what edgegen emits shows up in review (`cargo insta review`). Each snapshot is also compiled
//! and run, and its outputs compared with the reference evaluator: a snapshot pins the shape of
//! the code, running it shows the code is right.

mod common;

use common::*;
use edgegen::eval::Value;
use edgegen::ir::SourceInfo;

/// A small CNN: Conv (with a BatchNormalization to fold and a Relu to fuse), MaxPool, Flatten,
/// Gemm, Softmax.
const TINY_CNN: &str = r#"graph "tiny_cnn" {
  input %image: f32[1, 1, 4, 4]
  const %w: f32[2, 1, 3, 3] = [0.5, -0.25, 0.125, 1.0, 0.75, -0.5, 0.25, 0.0, -1.0, -0.5, 0.25, 0.5, 0.0, 1.0, -0.75, 0.125, 0.375, -0.25]
  const %b: f32[2] = [0.1, -0.2]
  const %gamma: f32[2] = [1.5, 0.5]
  const %beta: f32[2] = [0.0, 0.25]
  const %mean: f32[2] = [0.2, -0.1]
  const %var: f32[2] = [0.9, 1.1]
  const %fc_w: f32[3, 8] = [0.1, 0.2, 0.3, 0.4, -0.1, -0.2, -0.3, -0.4, 0.5, -0.5, 0.25, -0.25, 0.125, -0.125, 1.0, -1.0, 0.0, 0.75, -0.75, 0.3, -0.3, 0.6, -0.6, 0.9]
  const %fc_b: f32[3] = [0.01, 0.02, 0.03]
  %c: f32[?] = Conv(%image, %w, %b) {pads=[1, 1, 1, 1]} @conv
  %n: f32[?] = BatchNormalization(%c, %gamma, %beta, %mean, %var) @bn
  %r: f32[?] = Relu(%n) @relu
  %p: f32[?] = MaxPool(%r) {kernel_shape=[2, 2], strides=[2, 2]} @pool
  %f: f32[?] = Flatten(%p) @flatten
  %g: f32[?] = Gemm(%f, %fc_w, %fc_b) {trans_b=true} @fc
  %probabilities: f32[?] = Softmax(%g) @softmax
  output %probabilities
}
"#;

/// Two inputs, broadcasting arithmetic with a fused activation, an in-place activation, a
/// concatenation, a transpose, and two outputs.
const TINY_BROADCAST: &str = r#"graph "tiny_broadcast" {
  input %a: f32[1, 3, 2]
  input %b: f32[3, 1]
  const %scale: f32[2] = [0.5, -2.0]
  %sum: f32[?] = Add(%a, %b) @add
  %pos: f32[?] = Relu(%sum) @relu
  %scaled: f32[?] = Mul(%pos, %scale) @mul
  %squashed: f32[?] = Sigmoid(%scaled) @sigmoid
  %joined: f32[?] = Concat(%squashed, %a) {axis=2} @concat
  %turned: f32[?] = Transpose(%joined) {perm=[0, 2, 1]} @transpose
  output %turned, %scaled
}
"#;

/// A fully connected layer with zero weights, for `--unroll full`: output 1 reads none but
/// the bias, and alpha is not 1.
const TINY_UNROLLED: &str = r#"graph "tiny_unrolled" {
  input %x: f32[1, 4]
  const %w: f32[3, 4] = [0.5, 0.0, -0.25, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.125]
  const %b: f32[3] = [0.1, -0.2, 0.3]
  %y: f32[?] = Gemm(%x, %w, %b) {alpha=2.0, trans_b=true} @fc
  output %y
}
"#;

fn check(text: &str, inputs: Vec<Value>) -> String {
    check_with(text, inputs, &Default::default())
}

fn check_with(text: &str, inputs: Vec<Value>, options: &edgegen::CompileOptions) -> String {
    let mut graph = edgegen::ir::text::parse(text).unwrap_or_else(|e| panic!("{e}"));
    graph.source = SourceInfo {
        file_name: format!("{}.ir", graph.name),
        sha256: "0".repeat(64),
        description: "edgegen text IR".into(),
    };
    let compiled = edgegen::compile_graph(graph, options, &mut |_, _| {}).unwrap();
    let code = edgegen::backend::rust::emit(&compiled.graph).unwrap();
    let expected = edgegen::eval::evaluate(&compiled.graph, &inputs).unwrap();
    let actual = run_generated(&code, &compiled.graph, &inputs, 1);
    assert_outputs(&compiled.graph.name, &actual, &expected, 1e-6);
    without_kernel_sources(&code)
}

/// The generated file with the kernel library's source replaced by the list of kernel modules:
/// the kernels are tested on their own, and the snapshot is about what is specific to the model.
fn without_kernel_sources(code: &str) -> String {
    let marker = "\nmod kernels {\n";
    let at = code
        .find(marker)
        .expect("generated code has a kernels module");
    let modules: Vec<&str> = code[at..]
        .lines()
        .filter_map(|l| {
            l.strip_prefix("    pub mod ")
                .and_then(|m| m.strip_suffix(" {"))
        })
        .collect();
    format!(
        "{}\nmod kernels {{ /* {} */ }}\n",
        &code[..at],
        modules.join(", ")
    )
}

#[test]
fn tiny_cnn() {
    let image = Value::f32(
        vec![1, 1, 4, 4],
        (0..16).map(|i| (i as f32 * 0.37).sin()).collect(),
    );
    insta::assert_snapshot!(check(TINY_CNN, vec![image]));
}

#[test]
fn tiny_broadcast() {
    let a = Value::f32(vec![1, 3, 2], vec![0.5, -1.0, 2.0, -0.25, 0.0, 1.5]);
    let b = Value::f32(vec![3, 1], vec![-0.5, 0.25, 1.0]);
    insta::assert_snapshot!(check(TINY_BROADCAST, vec![a, b]));
}

/// `--unroll full`: one statement per non-zero weight, none for the zeros.
#[test]
fn tiny_unrolled() {
    let x = Value::f32(vec![1, 4], vec![0.5, -1.5, 2.0, 0.25]);
    let options = edgegen::CompileOptions {
        unroll: edgegen::ir::Unroll::Full,
        ..Default::default()
    };
    insta::assert_snapshot!(check_with(TINY_UNROLLED, vec![x], &options));
}
