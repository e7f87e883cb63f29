//! The library of a user of edgegen: `#![no_std]`, no allocator, every model compiled by
//! `include_model!` while the crate builds. Paths are relative to this crate's directory.

#![no_std]
#![deny(warnings)]

// A float ONNX model; the module is named after the file: `digits_mlp`.
edgegen_macros::include_model!("models/digits_mlp.onnx");

// An int8 TFLite model (MLPerf Tiny keyword spotting), the module named and the input's shape
// given as `--input-shape` would give it.
edgegen_macros::include_model!(
    "models/kws_ref_model.tflite",
    name = kws,
    input_shape = "input_1=1,49,10,1",
);

// An ONNX model with two inputs, the second frozen to the array in a file (`--constant`): the
// generated code takes only the first.
edgegen_macros::include_model!(
    "models/broadcast_matmul.onnx",
    name = matmul,
    constant = "b=data/b.npy",
);

// The same float model quantized to int8 after training, calibrated on the held-out digits.
edgegen_macros::include_model!(
    "models/digits_mlp.onnx",
    name = digits_int8,
    quantize = "int8",
    calibration = "data/calibration.npy",
);

// The model the rebuild test replaces with another.
edgegen_macros::include_model!("models/replaced.onnx", name = replaced);

/// The digit an 8×8 image (pixels in [0, 1]) shows.
pub fn classify(image: &[f32; digits_mlp::INPUT_LEN]) -> usize {
    let mut model = digits_mlp::Model::new();
    let mut probabilities = [0.0; digits_mlp::OUTPUT_LEN];
    model.run(image, &mut probabilities);
    (0..probabilities.len()).fold(0, |best, i| {
        if probabilities[i] > probabilities[best] {
            i
        } else {
            best
        }
    })
}
