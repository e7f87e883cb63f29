//! Runs the handwritten-digit classifier that edgegen compiled from
//! `fixtures/models/digits_mlp.onnx` on the 200 held-out test digits, in both ways a crate can
//! use edgegen:
//! - `src/model.rs` is the committed output of
//!   `edgegen build fixtures/models/digits_mlp.onnx -o generated-example/src/model.rs`;
//! - `include_model!` compiles the same model while this crate builds.
//!
//! Both must give the same bits; the program prints three digits and the accuracy.

mod model;

edgegen_macros::include_model!("../fixtures/models/digits_mlp.onnx");

/// The held-out digits: float32 `[200, 64]`, 8×8 pixels scaled to [0, 1].
const DIGITS: &[u8] = include_bytes!("../../fixtures/data/digits_x.npy");
/// Their labels: int64 `[200]`.
const LABELS: &[u8] = include_bytes!("../../fixtures/data/digits_y.npy");

/// The data of a version 1.0 `.npy` file, whose header length is a little-endian `u16` at
/// byte 8 (the fixture files are written that way).
fn npy_data(file: &[u8]) -> &[u8] {
    let header = u16::from_le_bytes([file[8], file[9]]) as usize;
    &file[10 + header..]
}

fn argmax(values: &[f32]) -> usize {
    (0..values.len()).fold(0, |best, i| if values[i] > values[best] { i } else { best })
}

/// An 8×8 digit as text, darker pixels as denser characters.
fn draw(image: &[f32]) -> String {
    const SHADES: [char; 5] = [' ', '.', ':', 'o', '@'];
    image
        .chunks(8)
        .map(|row| {
            row.iter()
                .map(|&p| SHADES[((p * 4.0).round() as usize).min(4)])
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn main() {
    let pixels: Vec<f32> = npy_data(DIGITS)
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let labels: Vec<i64> = npy_data(LABELS)
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect();

    let mut built = model::Model::new();
    let mut included = digits_mlp::Model::new();
    let mut correct = 0;
    for (i, (image, &label)) in pixels
        .chunks_exact(model::INPUT_LEN)
        .zip(&labels)
        .enumerate()
    {
        let input: &[f32; model::INPUT_LEN] = image.try_into().expect("one image");
        let mut probabilities = [0.0; model::OUTPUT_LEN];
        built.run(input, &mut probabilities);
        let mut from_macro = [0.0; digits_mlp::OUTPUT_LEN];
        included.run(input, &mut from_macro);
        assert_eq!(
            probabilities, from_macro,
            "edgegen build and include_model! disagree"
        );

        let predicted = argmax(&probabilities);
        if predicted as i64 == label {
            correct += 1;
        }
        if i < 3 {
            println!("{}", draw(image));
            println!(
                "predicted {predicted} (probability {:.3}), label {label}\n",
                probabilities[predicted]
            );
        }
    }
    println!(
        "accuracy on {} held-out digits: {:.1}% ({correct} correct)",
        labels.len(),
        100.0 * correct as f64 / labels.len() as f64
    );
}
