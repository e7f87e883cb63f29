//! The int8 one-operator TFLite cases (`fixtures/tflite_op_cases_int8.py`): element-wise
//! arithmetic with broadcasting, activations, `QUANTIZE`/`DEQUANTIZE`, `CONCATENATION`,
//! `PAD`/`PADV2`, `MEAN`, and convolutions with dead channels, each through the reference
//! evaluator and the generated code, byte for byte against the interpreter's reference kernels.

mod common;

use common::tflite::check_op_cases;

#[test]
fn mul() {
    check_op_cases("mul_");
}

#[test]
fn add_and_sub_with_broadcasting() {
    check_op_cases("add_");
    check_op_cases("sub_");
}

#[test]
fn logistic() {
    check_op_cases("logistic_");
}

#[test]
fn tanh() {
    check_op_cases("tanh_");
}

/// `RELU`, `RELU6` and `RELU_N1_TO_1`.
#[test]
fn relu_family() {
    check_op_cases("relu");
}

#[test]
fn leaky_relu() {
    check_op_cases("leaky_relu_");
}

#[test]
fn prelu() {
    check_op_cases("prelu_");
}

#[test]
fn hard_swish() {
    check_op_cases("hard_swish_");
}

/// Float32 to int8, int8 to int8, and a float model with int8 inside.
#[test]
fn quantize() {
    check_op_cases("quantize_");
}

#[test]
fn dequantize() {
    check_op_cases("dequantize_");
}

#[test]
fn concatenation() {
    check_op_cases("concatenation_");
}

/// `PAD` and `PADV2`.
#[test]
fn pad() {
    check_op_cases("pad_");
}

#[test]
fn mean() {
    check_op_cases("mean_");
}

/// `CONV_2D` (3 × 3 and 1 × 1) and `DEPTHWISE_CONV_2D` with the channels TFLite's converter
/// leaves "dead": weights of a scale near 1e-11, and zero weights with a bias near ±2^30. Each
/// outputs one value (the zero point, one above it, one below), which the generated code gives
/// while the layer takes the one-multiply requantization (`quant::settle_constant_channels`).
#[test]
fn convolutions_with_dead_channels() {
    check_op_cases("conv_dead_");
}
