//! Folds an inference `BatchNormalization` into the `Conv`, `ConvTranspose` or `Gemm` that feeds
//! it, when that op's output goes nowhere else and its weights are constants.
//!
//! With `s[c] = scale[c] / sqrt(var[c] + epsilon)`, `BN(W * x + b) = (s * W) * x + s * (b - mean) + bias`:
//! the weights of output channel `c` are multiplied by `s[c]` and the bias becomes
//! `s[c] * (b[c] - mean[c]) + bias[c]`. New constant tensors are made (the old ones may be shared
//! and are dropped by dead-node removal when unused). Arithmetic is in `f64`, rounded once.
//!
//! A batch normalisation written as a `Mul` and an `Add` by per-channel constants (as tf2onnx
//! exports Keras's after a depthwise convolution) folds into a 2-D NCHW `Conv` the same way,
//! one node at a time: `Mul` by `m[c]` scales channel `c`'s weights and bias, `Add` of `a[c]`
//! adds to its bias.

use crate::error::Result;
use crate::ir::{Graph, Op, TensorData, TensorId};
use crate::passes::{PassOptions, PassReport};

pub fn fold_batch_norm(graph: &mut Graph, _options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("fold_batch_norm");
    let mut i = 0;
    while i < graph.nodes.len() {
        if try_fold(graph, i) || try_fold_affine(graph, i) {
            report.changes += 1;
        } else {
            i += 1;
        }
    }
    Ok(report)
}

fn floats(graph: &Graph, id: TensorId) -> Option<Vec<f64>> {
    match graph.constant(id)? {
        TensorData::F32(v) => Some(v.iter().map(|&x| x as f64).collect()),
        _ => None,
    }
}

/// Tries to fold the producer of node `bn_index` into it; true if the graph changed.
fn try_fold(graph: &mut Graph, bn_index: usize) -> bool {
    let bn = &graph.nodes[bn_index];
    let Op::BatchNormalization(attrs) = &bn.op else {
        return false;
    };
    let epsilon = attrs.epsilon as f64;
    let bn_input = bn.inputs[0];
    let Some(params) = bn.inputs[1..5]
        .iter()
        .map(|&t| floats(graph, t))
        .collect::<Option<Vec<_>>>()
    else {
        return false;
    };
    let (scale, shift_bias, mean, var) = (&params[0], &params[1], &params[2], &params[3]);
    let s: Vec<f64> = scale
        .iter()
        .zip(var)
        .map(|(&g, &v)| g / (v + epsilon).sqrt())
        .collect();
    if graph.outputs.contains(&bn_input) {
        return false;
    }
    let consumers = graph.consumers();
    if consumers.get(&bn_input).map_or(0, Vec::len) != 1 {
        return false;
    }
    let Some(p) = graph.nodes[..bn_index]
        .iter()
        .position(|n| n.outputs.contains(&bn_input))
    else {
        return false;
    };
    let producer = &graph.nodes[p];
    if producer
        .op
        .activation()
        .is_some_and(|a| a != crate::ir::Activation::None)
    {
        return false;
    }
    let Some(w) = floats(graph, producer.inputs[1]) else {
        return false;
    };
    let w_shape = graph.tensor(producer.inputs[1]).shape().to_vec();
    let channels = s.len();
    let old_bias = match producer.inputs.get(2) {
        Some(&b) => match floats(graph, b) {
            Some(b) => Some((b, graph.tensor(producer.inputs[2]).shape().to_vec())),
            None => return false,
        },
        None => None,
    };
    // New weights, and the bias as a function of output channel (before the BN shift).
    let (new_w, new_bias, bias_shape): (Vec<f64>, Vec<f64>, Vec<usize>) = match &producer.op
    {
        Op::Conv(_) => {
            if w_shape[0] != channels {
                return false;
            }
            let per = w.len() / channels;
            let new_w = w.iter().enumerate().map(|(i, &v)| v * s[i / per]).collect();
            let b = old_bias.map_or(vec![0.0; channels], |(b, _)| b);
            (new_w, b, vec![channels])
        }
        Op::ConvTranspose(a) => {
            let cout_g = w_shape[1];
            if cout_g * a.group != channels {
                return false;
            }
            let cin_g = w_shape[0] / a.group;
            let per: usize = w_shape[2..].iter().product();
            let new_w = w
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let (ic, ocg) = (i / (cout_g * per), (i / per) % cout_g);
                    v * s[(ic / cin_g) * cout_g + ocg]
                })
                .collect();
            let b = old_bias.map_or(vec![0.0; channels], |(b, _)| b);
            (new_w, b, vec![channels])
        }
        Op::Gemm(a) => {
            let out_shape = graph.tensor(bn_input).shape();
            let (m, n) = (out_shape[0], out_shape[1]);
            if n != channels {
                return false;
            }
            let new_w = w
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    v * s[if a.trans_b {
                        i / w_shape[1]
                    } else {
                        i % w_shape[1]
                    }]
                })
                .collect();
            // Fold beta into C; the new C keeps one row when C did not vary across rows.
            let (bias, shape) = match old_bias {
                None => (vec![0.0; n], vec![n]),
                Some((c, c_shape)) => {
                    let strides = crate::ir::shape::broadcast_strides(&c_shape, &[m, n]);
                    let rows = if strides[0] == 0 { 1 } else { m };
                    let values = (0..rows * n)
                        .map(|i| {
                            a.beta as f64 * c[(i / n) * strides[0] + (i % n) * strides[1]]
                        })
                        .collect();
                    (values, if rows == 1 { vec![n] } else { vec![m, n] })
                }
            };
            (new_w, bias, shape)
        }
        _ => return false,
    };
    let folded_bias: Vec<f32> = new_bias
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let c = i % channels;
            (s[c] * (b - mean[c]) + shift_bias[c]) as f32
        })
        .collect();
    let name = graph.nodes[p].name.clone();
    let w_id = graph.add_constant(
        &format!("{name}.weight_bn"),
        w_shape,
        TensorData::F32(new_w.iter().map(|&v| v as f32).collect()),
    );
    let b_id = graph.add_constant(
        &format!("{name}.bias_bn"),
        bias_shape,
        TensorData::F32(folded_bias),
    );
    let bn_output = graph.nodes[bn_index].outputs[0];
    let producer = &mut graph.nodes[p];
    producer.inputs.truncate(1);
    producer.inputs.push(w_id);
    producer.inputs.push(b_id);
    if let Op::Gemm(a) = &mut producer.op {
        a.beta = 1.0;
    }
    producer.outputs[0] = bn_output;
    graph.nodes.remove(bn_index);
    true
}

/// Folds node `index`, a `Mul` or `Add` of a `Conv`'s output and a constant that is one value
/// per output channel (or a single value), into that `Conv`; true if the graph changed.
fn try_fold_affine(graph: &mut Graph, index: usize) -> bool {
    let node = &graph.nodes[index];
    let multiply = match &node.op {
        Op::Mul(a) if a.activation == crate::ir::Activation::None => true,
        Op::Add(a) if a.activation == crate::ir::Activation::None => false,
        _ => return false,
    };
    let (x, c) = match (node.inputs[0], node.inputs[1]) {
        (x, c) if graph.tensor(c).is_constant() && !graph.tensor(x).is_constant() => (x, c),
        (c, x) if graph.tensor(c).is_constant() && !graph.tensor(x).is_constant() => (x, c),
        _ => return false,
    };
    let out_shape = graph.tensor(x).shape().to_vec();
    if out_shape.len() != 4 || graph.tensor(node.outputs[0]).shape() != out_shape.as_slice()
    {
        return false;
    }
    let channels = out_shape[1];
    let Some(values) = floats(graph, c) else {
        return false;
    };
    // One value, or one per channel laid out along axis 1 of the output.
    let c_shape = graph.tensor(c).shape();
    let padded: Vec<usize> = std::iter::repeat_n(1, 4usize.saturating_sub(c_shape.len()))
        .chain(c_shape.iter().copied())
        .collect();
    let per_channel: Vec<f64> = if values.len() == 1 && c_shape.len() <= 4 {
        vec![values[0]; channels]
    } else if padded == [1, channels, 1, 1] {
        values
    } else {
        return false;
    };
    if graph.outputs.contains(&x) || graph.consumers().get(&x).map_or(0, Vec::len) != 1 {
        return false;
    }
    let Some(p) = graph.nodes[..index]
        .iter()
        .position(|n| n.outputs.contains(&x))
    else {
        return false;
    };
    let producer = &graph.nodes[p];
    let Op::Conv(attrs) = &producer.op else {
        return false;
    };
    if attrs.channels_last || attrs.activation != crate::ir::Activation::None {
        return false;
    }
    let Some(w) = floats(graph, producer.inputs[1]) else {
        return false;
    };
    let w_shape = graph.tensor(producer.inputs[1]).shape().to_vec();
    if w_shape[0] != channels {
        return false;
    }
    let bias = match producer.inputs.get(2) {
        Some(&b) => match floats(graph, b) {
            Some(b) if b.len() == channels => b,
            _ => return false,
        },
        None => vec![0.0; channels],
    };
    let per = w.len() / channels;
    let (new_w, new_bias): (Vec<f64>, Vec<f64>) = if multiply {
        (
            w.iter()
                .enumerate()
                .map(|(i, &v)| v * per_channel[i / per])
                .collect(),
            bias.iter().zip(&per_channel).map(|(b, m)| b * m).collect(),
        )
    } else {
        (
            w,
            bias.iter().zip(&per_channel).map(|(b, a)| b + a).collect(),
        )
    };
    let name = graph.nodes[p].name.clone();
    let kind = if multiply { "scaled" } else { "shifted" };
    let w_id = graph.add_constant(
        &format!("{name}.weight_{kind}"),
        w_shape,
        TensorData::F32(new_w.iter().map(|&v| v as f32).collect()),
    );
    let b_id = graph.add_constant(
        &format!("{name}.bias_{kind}"),
        vec![channels],
        TensorData::F32(new_bias.iter().map(|&v| v as f32).collect()),
    );
    let output = graph.nodes[index].outputs[0];
    let producer = &mut graph.nodes[p];
    producer.inputs.truncate(1);
    producer.inputs.push(w_id);
    producer.inputs.push(b_id);
    producer.outputs[0] = output;
    graph.nodes.remove(index);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{Value, evaluate};
    use crate::ir::text::parse;

    fn check_equivalent(text: &str, input: Value) {
        let mut original = parse(text).unwrap();
        crate::passes::shape_inference::infer_shapes(
            &mut original,
            &PassOptions::default(),
        )
        .unwrap();
        let mut folded = original.clone();
        let report = fold_batch_norm(&mut folded, &PassOptions::default()).unwrap();
        assert_eq!(report.changes, 1);
        assert!(
            !folded
                .nodes
                .iter()
                .any(|n| matches!(n.op, Op::BatchNormalization(_)))
        );
        let a = evaluate(&original, std::slice::from_ref(&input)).unwrap();
        let b = evaluate(&folded, &[input]).unwrap();
        let (a, b) = (a[0].data.as_f32().unwrap(), b[0].data.as_f32().unwrap());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-5 * x.abs().max(1.0), "{x} vs {y}");
        }
    }

    const BN: &str = "const %scale: f32[2] = [1.5, -0.5]\n const %shift: f32[2] = [0.25, 1.0]\n \
                      const %mean: f32[2] = [0.1, -0.2]\n const %var: f32[2] = [0.5, 2.0]\n";

    #[test]
    fn conv_batch_norm_folds_and_computes_the_same() {
        let text = format!(
            "graph g {{\n input %x: f32[1, 1, 3, 3]\n const %w: f32[2, 1, 2, 2] = [1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 0.25, 2.0]\n \
             const %b: f32[2] = [0.5, -0.5]\n {BN} %c: f32[1, 2, 2, 2] = Conv(%x, %w, %b) {{kernel_shape=[2, 2]}} @conv\n \
             %y: f32[1, 2, 2, 2] = BatchNormalization(%c, %scale, %shift, %mean, %var) {{epsilon=0.001}} @bn\n output %y\n}}"
        );
        check_equivalent(
            &text,
            Value::f32(
                vec![1, 1, 3, 3],
                (0..9).map(|i| i as f32 * 0.3 - 1.0).collect(),
            ),
        );
    }

    #[test]
    fn gemm_batch_norm_folds_with_alpha_beta_and_transposed_weights() {
        let text = format!(
            "graph g {{\n input %x: f32[1, 3]\n const %w: f32[2, 3] = [1.0, 2.0, 3.0, -1.0, 0.5, 0.25]\n \
             const %c: f32[2] = [0.5, -0.5]\n {BN} %h: f32[1, 2] = Gemm(%x, %w, %c) {{alpha=0.5, beta=2.0, trans_b=true}} @gemm\n \
             %y: f32[1, 2] = BatchNormalization(%h, %scale, %shift, %mean, %var) @bn\n output %y\n}}"
        );
        check_equivalent(&text, Value::f32(vec![1, 3], vec![0.3, -1.2, 2.0]));
    }

    #[test]
    fn conv_mul_add_by_channel_constants_fold_and_compute_the_same() {
        let text = "graph g {\n input %x: f32[1, 1, 3, 3]\n const %w: f32[2, 1, 2, 2] = [1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 0.25, 2.0]\n \
             const %m: f32[2, 1, 1] = [1.5, -0.5]\n const %a: f32[1, 2, 1, 1] = [0.25, 1.0]\n \
             %c: f32[1, 2, 2, 2] = Conv(%x, %w) {kernel_shape=[2, 2]} @conv\n \
             %s: f32[1, 2, 2, 2] = Mul(%m, %c) @mul\n %y: f32[1, 2, 2, 2] = Add(%s, %a) @add\n output %y\n}";
        let mut original = parse(text).unwrap();
        crate::passes::shape_inference::infer_shapes(
            &mut original,
            &PassOptions::default(),
        )
        .unwrap();
        let mut folded = original.clone();
        let report = fold_batch_norm(&mut folded, &PassOptions::default()).unwrap();
        assert_eq!(report.changes, 2);
        assert_eq!(folded.nodes.len(), 1);
        let input = Value::f32(
            vec![1, 1, 3, 3],
            (0..9).map(|i| i as f32 * 0.3 - 1.0).collect(),
        );
        let a = evaluate(&original, std::slice::from_ref(&input)).unwrap();
        let b = evaluate(&folded, &[input]).unwrap();
        let (a, b) = (a[0].data.as_f32().unwrap(), b[0].data.as_f32().unwrap());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-5 * x.abs().max(1.0), "{x} vs {y}");
        }
    }

    #[test]
    fn a_mul_that_is_not_per_channel_stays() {
        let text = "graph g {\n input %x: f32[1, 1, 3, 3]\n const %w: f32[2, 1, 2, 2] = [1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 0.25, 2.0]\n \
             const %m: f32[1, 1, 1, 2] = [1.5, -0.5]\n \
             %c: f32[1, 2, 2, 2] = Conv(%x, %w) {kernel_shape=[2, 2]} @conv\n \
             %y: f32[1, 2, 2, 2] = Mul(%c, %m) @mul\n output %y\n}";
        let mut graph = parse(text).unwrap();
        crate::passes::shape_inference::infer_shapes(&mut graph, &PassOptions::default())
            .unwrap();
        let report = fold_batch_norm(&mut graph, &PassOptions::default()).unwrap();
        assert_eq!(report.changes, 0);
    }

    #[test]
    fn conv_transpose_batch_norm_folds() {
        let text = format!(
            "graph g {{\n input %x: f32[1, 2, 2, 2]\n const %w: f32[2, 1, 2, 2] = [1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 0.25, 2.0]\n \
             {BN} %c: f32[1, 2, 3, 3] = ConvTranspose(%x, %w) {{group=2}} @deconv\n \
             %y: f32[1, 2, 3, 3] = BatchNormalization(%c, %scale, %shift, %mean, %var) @bn\n output %y\n}}"
        );
        check_equivalent(
            &text,
            Value::f32(
                vec![1, 2, 2, 2],
                (0..8).map(|i| i as f32 * 0.5 - 1.0).collect(),
            ),
        );
    }
}
