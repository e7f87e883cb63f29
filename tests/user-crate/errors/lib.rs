//! The library of a crate whose every `include_model!` is wrong: each problem must be a
//! compile error on the argument at fault, all of them in one build.

// A model file that is not there.
edgegen_macros::include_model!("models/missing.onnx");

// A file cut short.
edgegen_macros::include_model!("models/truncated.onnx");

// Operators edgegen does not compile: every one listed, with its node.
edgegen_macros::include_model!("models/unsupported_ops.onnx");

// Every argument wrong; the model is compiled all the same and is fine.
edgegen_macros::include_model!(
    "models/digits_mlp.onnx",
    quantise = "int8",
    input_shape = "pixels=1,sixty-four",
    disable_pass = "infer_shapes",
    constant = "pixels=data/missing.npy",
    name = 3,
);

// A shape the model cannot take.
edgegen_macros::include_model!(
    "models/digits_mlp.onnx",
    name = wide,
    input_shape = "pixels=1,65",
);

// More RAM than the budget allows.
edgegen_macros::include_model!("models/digits_mlp.onnx", name = small, max_ram = 64);

// Quantization without calibration data.
edgegen_macros::include_model!("models/digits_mlp.onnx", name = unsure, quantize = "int8");

// Not a path.
edgegen_macros::include_model!(models::digits_mlp);
