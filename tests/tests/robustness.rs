//! Generated code stays safe and runnable whatever the model contains: names written to end a
//! comment and inject code, and tensors larger than a thread's stack.

mod common;

use common::*;
use edgegen::eval::Value;

/// Names from a model file are text an attacker controls. Each one here tries to end the comment
/// it is printed in and add an item to the generated file.
const HOSTILE_NAMES: &str = r#"graph "names\n#[used] static G: u8 = 1;" {
  input %"in\n#[used] static A: u8 = 1;": f32[1, 2]
  const %"w`\n#[used] static B: u8 = 1; //": f32[2, 2] = [1.0, 2.0, 3.0, 4.0]
  %"h\n#[used] static C: u8 = 1;": f32[?] = MatMul(%"in\n#[used] static A: u8 = 1;", %"w`\n#[used] static B: u8 = 1; //") @"mm\n#[used] static D: u8 = 1;\n//"
  %"out\n#[used] static E: u8 = 1;": f32[?] = Relu(%"h\n#[used] static C: u8 = 1;") @"relu */ \n#[used] static F: u8 = 1;"
  output %"out\n#[used] static E: u8 = 1;"
}
"#;

#[test]
fn names_cannot_inject_code() {
    let mut graph = edgegen::ir::text::parse(HOSTILE_NAMES).unwrap();
    graph.source.file_name = "model\n#[used] static H: u8 = 1;.onnx".into();
    graph.source.description = "producer\n#[used] static I: u8 = 1;".into();
    let compiled =
        edgegen::compile_graph(graph, &Default::default(), &mut |_, _| {}).unwrap();
    let code = edgegen::backend::rust::emit(&compiled.graph).unwrap();
    let injected: Vec<&str> = code
        .lines()
        .filter(|l| l.trim_start().starts_with("#[used]"))
        .collect();
    assert!(injected.is_empty(), "names became code: {injected:?}");
    // The names are still there, readable, in comments and string constants.
    assert!(code.contains("// mm #[used] static D"), "{code}");
    let input = Value::f32(vec![1, 2], vec![0.5, -1.0]);
    let expected =
        edgegen::eval::evaluate(&compiled.graph, std::slice::from_ref(&input)).unwrap();
    let actual = run_generated(&code, &compiled.graph, &[input], 1);
    assert_outputs("hostile names", &actual, &expected, 1e-6);
}

/// 12 MB in, 12 MB of arena and 12 MB out: more than a main thread's stack.
#[test]
fn large_tensors_run() {
    let text = "graph \"large\" {\n  input %x: f32[1, 3, 1024, 1024]\n  %a: f32[?] = Sigmoid(%x) @sigmoid\n  \
                %b: f32[?] = Tanh(%a) @tanh\n  %y: f32[?] = Relu(%b) @relu\n  output %y, %a\n}\n";
    let graph = edgegen::ir::text::parse(text).unwrap();
    let compiled =
        edgegen::compile_graph(graph, &Default::default(), &mut |_, _| {}).unwrap();
    let code = edgegen::backend::rust::emit(&compiled.graph).unwrap();
    let n = 3 * 1024 * 1024;
    let input = Value::f32(
        vec![1, 3, 1024, 1024],
        (0..n).map(|i| ((i % 97) as f32 - 48.0) / 8.0).collect(),
    );
    let expected =
        edgegen::eval::evaluate(&compiled.graph, std::slice::from_ref(&input)).unwrap();
    let actual = run_generated(&code, &compiled.graph, &[input], 1);
    assert_outputs("large tensors", &actual, &expected, 1e-6);
}
