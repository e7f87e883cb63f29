//! The models of this crate against the reference outputs of onnxruntime and of the TFLite
//! interpreter (copied from edgegen's `fixtures/reference`).

use edgegen_user::{classify, digits_int8, digits_mlp, kws, matmul};

/// The shape and data of a version 1 `.npy` file.
fn npy(file: &[u8]) -> (Vec<usize>, &[u8]) {
    assert_eq!(&file[..6], b"\x93NUMPY", "not a .npy file");
    let header_len = u16::from_le_bytes([file[8], file[9]]) as usize;
    let header = std::str::from_utf8(&file[10..10 + header_len]).expect("an ASCII header");
    let shape = header
        .split_once("'shape': (")
        .and_then(|(_, rest)| rest.split_once(')'))
        .expect("a shape")
        .0;
    let shape = shape
        .split(',')
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.trim().parse().expect("a dimension"))
        .collect();
    (shape, &file[10 + header_len..])
}

fn floats(file: &[u8]) -> (Vec<usize>, Vec<f32>) {
    let (shape, data) = npy(file);
    let values = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (shape, values)
}

fn int8s(file: &[u8]) -> (Vec<usize>, Vec<i8>) {
    let (shape, data) = npy(file);
    (shape, data.iter().map(|&b| b as i8).collect())
}

/// Asserts `actual` within 1e-4 of `expected` relative to the larger of each value and a
/// thousandth of the output's largest value (the tolerance of edgegen's own ONNX tests).
fn assert_close(what: &str, actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths");
    let scale = expected.iter().fold(0f32, |m, e| m.max(e.abs()));
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let error = (a - e).abs() / e.abs().max(scale * 1e-3);
        assert!(error <= 1e-4, "{what}[{i}]: {a} but onnxruntime gives {e}");
    }
}

#[test]
fn the_digits_mlp_gives_onnxruntimes_probabilities() {
    let (shape, images) = floats(include_bytes!("../reference/digits_input.npy"));
    let (_, expected) = floats(include_bytes!("../reference/digits_output.npy"));
    assert!(shape[0] >= 2, "several samples");
    let mut model = digits_mlp::Model::new();
    for (i, (image, expected)) in images
        .chunks_exact(digits_mlp::INPUT_LEN)
        .zip(expected.chunks_exact(digits_mlp::OUTPUT_LEN))
        .enumerate()
    {
        let image: &[f32; digits_mlp::INPUT_LEN] = image.try_into().unwrap();
        let mut probabilities = [0.0; digits_mlp::OUTPUT_LEN];
        model.run(image, &mut probabilities);
        assert_close(&format!("digit {i}"), &probabilities, expected);
        let best = (0..10).fold(0, |b, k| if expected[k] > expected[b] { k } else { b });
        assert_eq!(classify(image), best);
    }
}

#[test]
fn the_int8_keyword_spotter_gives_the_tflite_interpreters_bytes() {
    let (shape, features) = int8s(include_bytes!("../reference/kws_input.npy"));
    let (_, expected) = int8s(include_bytes!("../reference/kws_output.npy"));
    assert_eq!(shape[1..], kws::INPUT_SHAPE);
    let mut model = kws::Model::new();
    for (input, expected) in features
        .chunks_exact(kws::INPUT_LEN)
        .zip(expected.chunks_exact(kws::OUTPUT_LEN))
    {
        let mut scores = [0i8; kws::OUTPUT_LEN];
        model.run(input.try_into().unwrap(), &mut scores);
        assert_eq!(scores, expected);
    }
}

#[test]
fn a_frozen_input_leaves_one_input() {
    let (_, a) = floats(include_bytes!("../reference/matmul_input.npy"));
    let (_, mixed) = floats(include_bytes!("../reference/matmul_output_0.npy"));
    let (_, batched) = floats(include_bytes!("../reference/matmul_output_1.npy"));
    assert_eq!(matmul::INPUT_NAME, "a");
    let mut model = matmul::Model::new();
    let mut outputs = ([0.0; matmul::OUTPUT_0_LEN], [0.0; matmul::OUTPUT_1_LEN]);
    model.run(a.as_slice().try_into().unwrap(), &mut outputs.0, &mut outputs.1);
    assert_close("mixed", &outputs.0, &mixed);
    assert_close("batched", &outputs.1, &batched);
}

#[test]
fn the_int8_digits_mlp_agrees_with_the_float_one() {
    let (_, images) = floats(include_bytes!("../reference/digits_input.npy"));
    let mut model = digits_int8::Model::new();
    for image in images.chunks_exact(digits_int8::INPUT_LEN) {
        let image: &[f32; digits_int8::INPUT_LEN] = image.try_into().unwrap();
        let mut probabilities = [0.0; digits_int8::OUTPUT_LEN];
        model.run(image, &mut probabilities);
        let best = (0..10).fold(0, |b, k| {
            if probabilities[k] > probabilities[b] {
                k
            } else {
                b
            }
        });
        assert_eq!(best, classify(image));
    }
}
