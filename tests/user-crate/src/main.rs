//! Prints the output shape of the model in `models/replaced.onnx`, so that the rebuild test can
//! see which model the crate was built from.

fn main() {
    println!("{:?}", edgegen_user::replaced::OUTPUT_SHAPE);
}
