//! ONNX's normalisation, recurrent and `Einsum` operators: their attributes, and the optional
//! inputs and outputs that recurrent operators may leave out anywhere in their lists.
//!
//! `RNN`, `GRU` and `LSTM` take `X, W, R, B, sequence_lens, initial_h, initial_c, P` and give
//! `Y, Y_h, Y_c`, any optional one of which may be `""`. The IR node lists only the present
//! ones, and its attributes say which they are ([`RecurrentAttrs::inputs`] and `outputs`).

use super::NodeAttrs;
use super::proto::NodeProto;
use crate::ir::Op;
use crate::ir::op::*;

/// The IR op of `LayerNormalization`, `InstanceNormalization`, `LRN`, `RNN`, `GRU`, `LSTM` or
/// `Einsum`.
pub(super) fn translate(op_type: &str, a: &mut NodeAttrs) -> Result<Op, String> {
    Ok(match op_type {
        "LayerNormalization" => {
            // stash_type is the type of the statistics; 1 (float32) is the only one generated
            // code computes in.
            if let Some(stash) = a.int("stash_type")
                && stash != 1
            {
                return Err(format!(
                    "LayerNormalization with stash_type {stash} is not supported (only 1, float32)"
                ));
            }
            Op::LayerNormalization(LayerNormAttrs {
                axis: a.int("axis").unwrap_or(-1),
                epsilon: a.float("epsilon").unwrap_or(1e-5),
            })
        }
        "InstanceNormalization" => Op::InstanceNormalization(BatchNormAttrs {
            epsilon: a.float("epsilon").unwrap_or(1e-5),
        }),
        "LRN" => {
            let d = LrnAttrs::default();
            Op::Lrn(LrnAttrs {
                size: a.positive("size", 0),
                alpha: a.float("alpha").unwrap_or(d.alpha),
                beta: a.float("beta").unwrap_or(d.beta),
                bias: a.float("bias").unwrap_or(d.bias),
            })
        }
        "Einsum" => {
            let equation = a
                .string("equation")
                .ok_or("attribute 'equation' is required")?;
            let (terms, output) = crate::ir::einsum::parse(&equation)?;
            Op::Einsum(EinsumAttrs { terms, output })
        }
        "RNN" | "GRU" | "LSTM" => recurrent(op_type, a)?,
        other => return Err(format!("no translation for {other}")),
    })
}

fn recurrent(op_type: &str, a: &mut NodeAttrs) -> Result<Op, String> {
    let hidden_size = a.positive("hidden_size", 0);
    if hidden_size == 0 {
        return Err("attribute 'hidden_size' is required".into());
    }
    let direction = match a.string("direction").as_deref() {
        None | Some("forward") => RecurrentDirection::Forward,
        Some("reverse") => RecurrentDirection::Reverse,
        Some("bidirectional") => RecurrentDirection::Bidirectional,
        Some(other) => return Err(format!("unknown direction '{other}'")),
    };
    let defaults: &[&str] = match op_type {
        "RNN" => &["Tanh"],
        "GRU" => &["Sigmoid", "Tanh"],
        _ => &["Sigmoid", "Tanh", "Tanh"],
    };
    let n_dirs = if direction == RecurrentDirection::Bidirectional {
        2
    } else {
        1
    };
    let names: Vec<String> = match a.strings("activations") {
        Some(names) if names.len() == defaults.len() * n_dirs => names,
        // One list for both directions.
        Some(names) if names.len() == defaults.len() => {
            (0..n_dirs).flat_map(|_| names.iter().cloned()).collect()
        }
        Some(names) => {
            return Err(format!(
                "{} activations given; {op_type} takes {} per direction",
                names.len(),
                defaults.len()
            ));
        }
        None => (0..n_dirs)
            .flat_map(|_| defaults.iter().map(|s| s.to_string()))
            .collect(),
    };
    let mut alphas = a.floats("activation_alpha").unwrap_or_default().into_iter();
    let mut betas = a.floats("activation_beta").unwrap_or_default().into_iter();
    let mut activations = Vec::new();
    for name in &names {
        // The parameters are consumed in order by the activations that take them; a missing
        // one has the default of the ONNX operator of that name.
        let mut alpha = |d: f32| alphas.next().unwrap_or(d);
        use RecurrentActivation as A;
        let f = match name.to_ascii_lowercase().as_str() {
            "relu" => A::Relu,
            "tanh" => A::Tanh,
            "sigmoid" => A::Sigmoid,
            "affine" => A::Affine(alpha(1.0), betas.next().unwrap_or(0.0)),
            "leakyrelu" => A::LeakyRelu(alpha(0.01)),
            "thresholdedrelu" => A::ThresholdedRelu(alpha(1.0)),
            "scaledtanh" => A::ScaledTanh(alpha(1.0), betas.next().unwrap_or(1.0)),
            "hardsigmoid" => A::HardSigmoid(alpha(0.2), betas.next().unwrap_or(0.5)),
            "elu" => A::Elu(alpha(1.0)),
            "softsign" => A::Softsign,
            "softplus" => A::Softplus,
            _ => return Err(format!("unknown recurrent activation '{name}'")),
        };
        activations.push(f);
    }
    let clip = a.float("clip");
    if clip.is_some_and(|c| c.is_nan() || c < 0.0) {
        return Err("clip must be a non-negative number".into());
    }
    let linear_before_reset = op_type == "GRU" && a.bool("linear_before_reset", false);
    let input_forget = op_type == "LSTM" && a.bool("input_forget", false);
    let batch_first = match a.int("layout") {
        None | Some(0) => false,
        Some(1) => true,
        Some(other) => return Err(format!("unknown layout {other}")),
    };
    let attrs = RecurrentAttrs {
        hidden_size,
        direction,
        activations,
        clip,
        linear_before_reset,
        input_forget,
        batch_first,
        ..RecurrentAttrs::default()
    };
    Ok(match op_type {
        "RNN" => Op::Rnn(attrs),
        "GRU" => Op::Gru(attrs),
        _ => Op::Lstm(attrs),
    })
}

/// For ops whose optional inputs and outputs may be absent anywhere in their lists: records in
/// `op` which are present and returns the node with only those. For `LayerNormalization`, drops
/// absent trailing outputs. `None` for every other op.
pub(super) fn compact(op: &mut Op, node: &NodeProto) -> Option<NodeProto> {
    let present = |names: &[String]| -> Vec<String> {
        names.iter().filter(|n| !n.is_empty()).cloned().collect()
    };
    match op {
        Op::Rnn(a) | Op::Gru(a) | Op::Lstm(a) => {
            use RecurrentInput as I;
            use RecurrentOutput as O;
            let inputs = [
                I::X,
                I::W,
                I::R,
                I::B,
                I::SequenceLens,
                I::InitialH,
                I::InitialC,
                I::P,
            ];
            let outputs = [O::Y, O::YH, O::YC];
            // Inputs beyond the eighth, or outputs beyond the third, are kept so that the
            // generic checks report them.
            a.inputs = (0..node.input.len())
                .filter(|&i| !node.input[i].is_empty())
                .filter_map(|i| inputs.get(i).copied())
                .collect();
            a.outputs = (0..node.output.len())
                .filter(|&i| !node.output[i].is_empty())
                .filter_map(|i| outputs.get(i).copied())
                .collect();
            Some(NodeProto {
                input: present(&node.input),
                output: present(&node.output),
                ..node.clone()
            })
        }
        Op::LayerNormalization(_) => {
            let mut output = node.output.clone();
            while output.len() > 1 && output.last().is_some_and(|o| o.is_empty()) {
                output.pop();
            }
            Some(NodeProto {
                output,
                ..node.clone()
            })
        }
        _ => None,
    }
}

impl NodeAttrs<'_> {
    fn strings(&mut self, name: &str) -> Option<Vec<String>> {
        self.get(name, super::attribute_type::STRINGS).map(|a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
    }
}
