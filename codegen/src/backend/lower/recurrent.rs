//! Lowering of `RNN`, `GRU` and `LSTM`: one step per output (`Y`, `Y_h`, `Y_c`), each running
//! the whole recurrence with `recurrent::recurrent` and writing only its own output. The
//! recurrence's state lives on the stack of the kernel (`3 · hidden_size` floats).

use super::{Lowering, R, usize_};
use crate::backend::{Arg, Stmt, Struct, Value};
use crate::ir::Op;
use crate::ir::op::{
    RecurrentActivation, RecurrentAttrs, RecurrentDirection, RecurrentInput,
    RecurrentOutput,
};

/// The kernel's form of a cell activation.
fn activation(f: RecurrentActivation) -> Value {
    use RecurrentActivation as A;
    let v = |name: &str, args: &[f32]| {
        Value::Variant(
            format!("recurrent::Activation::{name}"),
            args.iter().map(|&a| Value::F32(a)).collect(),
        )
    };
    match f {
        A::Relu => v("Relu", &[]),
        A::Tanh => v("Tanh", &[]),
        A::Sigmoid => v("Sigmoid", &[]),
        A::Affine(a, b) => v("Affine", &[a, b]),
        A::LeakyRelu(a) => v("LeakyRelu", &[a]),
        A::ThresholdedRelu(a) => v("ThresholdedRelu", &[a]),
        A::ScaledTanh(a, b) => v("ScaledTanh", &[a, b]),
        A::HardSigmoid(a, b) => v("HardSigmoid", &[a, b]),
        A::Elu(a) => v("Elu", &[a]),
        A::Softsign => v("Softsign", &[]),
        A::Softplus => v("Softplus", &[]),
    }
}

impl Lowering<'_> {
    pub(super) fn recurrent(&mut self, a: &RecurrentAttrs) -> R<()> {
        use RecurrentInput as I;
        let (cell, n_act) = match self.node.op {
            Op::Rnn(_) => ("Rnn", 1),
            Op::Gru(_) => ("Gru", 2),
            _ => ("Lstm", 3),
        };
        let x = self.input_shape(0).to_vec();
        let (seq, batch) = if a.batch_first {
            (x[1], x[0])
        } else {
            (x[0], x[1])
        };
        let dirs = a.num_directions();
        // Three per direction in the kernel; the slots a cell does not use hold Tanh.
        let mut activations = vec![activation(RecurrentActivation::Tanh); 6];
        for d in 0..dirs {
            for k in 0..n_act {
                activations[d * 3 + k] = activation(a.activations[d * n_act + k]);
            }
        }
        let clip = a.clip.unwrap_or(f32::INFINITY);
        for (k, &which) in a.outputs.iter().enumerate() {
            let output = match which {
                RecurrentOutput::Y => "Y",
                RecurrentOutput::YH => "LastH",
                RecurrentOutput::YC => "LastC",
            };
            let p = Struct::new(
                "recurrent::Recurrent",
                vec![
                    (
                        "cell",
                        Value::Variant(format!("recurrent::Cell::{cell}"), vec![]),
                    ),
                    ("seq", usize_(seq)),
                    ("batch", usize_(batch)),
                    ("input_size", usize_(x[2])),
                    ("hidden", usize_(a.hidden_size)),
                    ("directions", usize_(dirs)),
                    (
                        "reverse",
                        Value::Bool(a.direction == RecurrentDirection::Reverse),
                    ),
                    ("batch_first", Value::Bool(a.batch_first)),
                    ("activations", Value::Array(activations.clone())),
                    ("clip", Value::F32(clip)),
                    ("linear_before_reset", Value::Bool(a.linear_before_reset)),
                    ("input_forget", Value::Bool(a.input_forget)),
                    (
                        "output",
                        Value::Variant(format!("recurrent::Output::{output}"), vec![]),
                    ),
                ],
            );
            let mut inputs = Vec::new();
            let mut args = vec![Arg::Local("p".into())];
            for role in [
                I::X,
                I::W,
                I::R,
                I::B,
                I::SequenceLens,
                I::InitialH,
                I::InitialC,
                I::P,
            ] {
                args.push(match a.input_index(role) {
                    Some(i) => self.operand(i, &role.word().to_uppercase(), &mut inputs)?,
                    None => Arg::Empty,
                });
            }
            args.push(Arg::Output);
            let body = vec![
                Stmt::Let("p".into(), p),
                Stmt::Call(
                    format!("recurrent::recurrent::<{}>", 3 * a.hidden_size),
                    args,
                ),
            ];
            let detail = format!(
                "{} over {seq} steps of {batch} sequence{}, {dirs} direction{}, writing {}",
                self.node.op.name(),
                if batch == 1 { "" } else { "s" },
                if dirs == 1 { "" } else { "s" },
                match which {
                    RecurrentOutput::Y => "every hidden state (Y)",
                    RecurrentOutput::YH => "the last hidden state (Y_h)",
                    RecurrentOutput::YC => "the last cell state (Y_c)",
                }
            );
            let part = (a.outputs.len() > 1).then_some(k);
            self.push(part, detail, inputs, self.node.outputs[k], false, body);
        }
        Ok(())
    }
}
