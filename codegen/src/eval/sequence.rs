//! Reference implementations of the recurrent ops `RNN`, `GRU` and `LSTM` (the equations of
//! the ONNX operator definitions, in `f64`), and of `Einsum` (a sum over the whole index space).

use super::Value;
use crate::ir::einsum;
use crate::ir::op::{RecurrentActivation, RecurrentAttrs, RecurrentInput, RecurrentOutput};
use crate::ir::{Op, TensorData};

type R<T> = Result<T, String>;

/// An activation function of a recurrent cell.
pub fn activate(f: RecurrentActivation, x: f64) -> f64 {
    use RecurrentActivation as A;
    match f {
        A::Relu => x.max(0.0),
        A::Tanh => x.tanh(),
        A::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        A::Affine(alpha, beta) => alpha as f64 * x + beta as f64,
        A::LeakyRelu(alpha) => {
            if x < 0.0 {
                alpha as f64 * x
            } else {
                x
            }
        }
        A::ThresholdedRelu(alpha) => {
            if x > alpha as f64 {
                x
            } else {
                0.0
            }
        }
        A::ScaledTanh(alpha, beta) => alpha as f64 * (beta as f64 * x).tanh(),
        A::HardSigmoid(alpha, beta) => (alpha as f64 * x + beta as f64).clamp(0.0, 1.0),
        A::Elu(alpha) => {
            if x < 0.0 {
                alpha as f64 * (x.exp() - 1.0)
            } else {
                x
            }
        }
        A::Softsign => x / (1.0 + x.abs()),
        A::Softplus => (1.0 + x.exp()).ln(),
    }
}

/// `RNN`, `GRU` or `LSTM` on the node's inputs (in the order of `a.inputs`); returns the
/// outputs of `a.outputs`.
pub fn recurrent(
    op: &Op,
    a: &RecurrentAttrs,
    inputs: &[&Value],
    out_shapes: &[Vec<usize>],
) -> R<Vec<Value>> {
    use RecurrentInput as I;
    let input = |role: I| -> R<Option<&[f32]>> {
        a.input_index(role)
            .map(|i| inputs[i].floats(op.name()))
            .transpose()
    };
    let (x, w, r) = (
        input(I::X)?.ok_or("no X")?,
        input(I::W)?.ok_or("no W")?,
        input(I::R)?.ok_or("no R")?,
    );
    let (bias, h0, c0, peep) = (
        input(I::B)?,
        input(I::InitialH)?,
        input(I::InitialC)?,
        input(I::P)?,
    );
    let seq_lens: Option<Vec<i64>> = match a.input_index(I::SequenceLens) {
        Some(i) => Some(
            inputs[i]
                .data
                .to_i64_vec()
                .ok_or("sequence_lens must be integers")?,
        ),
        None => None,
    };
    let xs = &inputs[0].shape;
    let (seq, batch, input_size) = if a.batch_first {
        (xs[1], xs[0], xs[2])
    } else {
        (xs[0], xs[1], xs[2])
    };
    let (h, dirs) = (a.hidden_size, a.num_directions());
    let (gates, n_act) = crate::passes::shape_inference::gates_and_activations(op);
    // Element offsets of X[t, b, :], Y[t, d, b, :] and state[d, b, :] in either layout.
    let x_at = |t: usize, b: usize| {
        if a.batch_first {
            (b * seq + t) * input_size
        } else {
            (t * batch + b) * input_size
        }
    };
    let y_at = |t: usize, d: usize, b: usize| {
        if a.batch_first {
            ((b * seq + t) * dirs + d) * h
        } else {
            ((t * dirs + d) * batch + b) * h
        }
    };
    let state_at = |d: usize, b: usize| {
        if a.batch_first {
            (b * dirs + d) * h
        } else {
            (d * batch + b) * h
        }
    };
    let clip = |v: f64| match a.clip {
        Some(c) => v.clamp(-c as f64, c as f64),
        None => v,
    };
    let mut y = vec![0f32; seq * dirs * batch * h];
    let mut y_h = vec![0f32; dirs * batch * h];
    let mut y_c = vec![0f32; dirs * batch * h];
    for d in 0..dirs {
        let reverse = d == 1 || a.direction == crate::ir::op::RecurrentDirection::Reverse;
        let f = |k: usize, v: f64| activate(a.activations[d * n_act + k], clip(v));
        let w = &w[d * gates * h * input_size..(d + 1) * gates * h * input_size];
        let r = &r[d * gates * h * h..(d + 1) * gates * h * h];
        // Wb and Rb of gate g, unit j.
        let wb = |g: usize, j: usize| {
            bias.map_or(0.0, |b| b[d * 2 * gates * h + g * h + j] as f64)
        };
        let rb = |g: usize, j: usize| {
            bias.map_or(0.0, |b| b[d * 2 * gates * h + (gates + g) * h + j] as f64)
        };
        // Row (g, j) of W times x_t and of R times a vector.
        let wx = |g: usize, j: usize, xt: &[f32]| -> f64 {
            (0..input_size)
                .map(|i| w[(g * h + j) * input_size + i] as f64 * xt[i] as f64)
                .sum()
        };
        let rh = |g: usize, j: usize, v: &[f64]| -> f64 {
            (0..h).map(|i| r[(g * h + j) * h + i] as f64 * v[i]).sum()
        };
        for b in 0..batch {
            let len = match &seq_lens {
                Some(l) => usize::try_from(l[b])
                    .ok()
                    .filter(|&l| l <= seq)
                    .ok_or_else(|| format!("sequence length {} is out of range", l[b]))?,
                None => seq,
            };
            let s0 = state_at(d, b);
            let mut hs: Vec<f64> = (0..h)
                .map(|j| h0.map_or(0.0, |v| v[s0 + j] as f64))
                .collect();
            let mut cs: Vec<f64> = (0..h)
                .map(|j| c0.map_or(0.0, |v| v[s0 + j] as f64))
                .collect();
            for step in 0..len {
                let t = if reverse { len - 1 - step } else { step };
                let xt = &x[x_at(t, b)..x_at(t, b) + input_size];
                let pre = |g: usize, j: usize, hv: &[f64]| {
                    wx(g, j, xt) + wb(g, j) + rh(g, j, hv) + rb(g, j)
                };
                let next: Vec<f64> = match op {
                    Op::Rnn(_) => (0..h).map(|j| f(0, pre(0, j, &hs))).collect(),
                    Op::Gru(_) => {
                        // Gates z, r, h in ONNX order.
                        let z: Vec<f64> = (0..h).map(|j| f(0, pre(0, j, &hs))).collect();
                        let rg: Vec<f64> = (0..h).map(|j| f(0, pre(1, j, &hs))).collect();
                        let reset: Vec<f64> = (0..h).map(|j| rg[j] * hs[j]).collect();
                        (0..h)
                            .map(|j| {
                                let candidate = if a.linear_before_reset {
                                    f(
                                        1,
                                        wx(2, j, xt)
                                            + wb(2, j)
                                            + rg[j] * (rh(2, j, &hs) + rb(2, j)),
                                    )
                                } else {
                                    f(
                                        1,
                                        wx(2, j, xt)
                                            + wb(2, j)
                                            + rh(2, j, &reset)
                                            + rb(2, j),
                                    )
                                };
                                (1.0 - z[j]) * candidate + z[j] * hs[j]
                            })
                            .collect()
                    }
                    _ => {
                        // Gates i, o, f, c in ONNX order; peepholes p_i, p_o, p_f.
                        let p = |k: usize, j: usize| {
                            peep.map_or(0.0, |p| p[d * 3 * h + k * h + j] as f64)
                        };
                        let mut next_c = vec![0.0; h];
                        let mut next_h = vec![0.0; h];
                        for j in 0..h {
                            let i_gate = f(0, pre(0, j, &hs) + p(0, j) * cs[j]);
                            let f_gate = if a.input_forget {
                                1.0 - i_gate
                            } else {
                                f(0, pre(2, j, &hs) + p(2, j) * cs[j])
                            };
                            let candidate = f(1, pre(3, j, &hs));
                            next_c[j] = f_gate * cs[j] + i_gate * candidate;
                            let o_gate = f(0, pre(1, j, &hs) + p(1, j) * next_c[j]);
                            // The clip bounds the inputs of the gates' activations, not
                            // the cell state (as onnxruntime does).
                            next_h[j] =
                                o_gate * activate(a.activations[d * n_act + 2], next_c[j]);
                        }
                        cs = next_c;
                        next_h
                    }
                };
                hs = next;
                let o = y_at(t, d, b);
                for j in 0..h {
                    y[o + j] = hs[j] as f32;
                }
            }
            for j in 0..h {
                y_h[s0 + j] = hs[j] as f32;
                y_c[s0 + j] = cs[j] as f32;
            }
        }
    }
    Ok(a.outputs
        .iter()
        .zip(out_shapes)
        .map(|(o, shape)| {
            let data = match o {
                RecurrentOutput::Y => y.clone(),
                RecurrentOutput::YH => y_h.clone(),
                RecurrentOutput::YC => y_c.clone(),
            };
            Value::new(shape.clone(), TensorData::F32(data))
        })
        .collect())
}

/// `Einsum` with resolved labels: every output element is the sum, over all values of the
/// labels missing from the output, of the product of the operands' elements.
pub fn einsum(
    terms: &[Vec<i64>],
    output: &[i64],
    inputs: &[&Value],
    out_shape: &[usize],
) -> R<TensorData> {
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|v| v.shape.clone()).collect();
    let sizes = einsum::label_sizes(terms, &shapes)?;
    let data: Vec<Vec<f64>> = inputs.iter().map(|v| v.data.to_f64_vec()).collect();
    let labels: Vec<i64> = sizes.iter().map(|&(l, _)| l).collect();
    let dims: Vec<usize> = sizes.iter().map(|&(_, s)| s).collect();
    let total: usize = dims.iter().product();
    let out_len: usize = out_shape.iter().product();
    let mut acc = vec![0f64; out_len];
    let mut index = vec![0usize; dims.len()];
    let value_of = |l: i64, index: &[usize]| {
        index[labels.iter().position(|&m| m == l).expect("known label")]
    };
    for _ in 0..total {
        let mut product = 1.0;
        for (k, term) in terms.iter().enumerate() {
            let mut offset = 0;
            for (axis, &l) in term.iter().enumerate() {
                // A size-1 axis broadcasts against its label's size.
                let i = if shapes[k][axis] == 1 {
                    0
                } else {
                    value_of(l, &index)
                };
                offset = offset * shapes[k][axis] + i;
            }
            product *= data[k][offset];
        }
        let mut out = 0;
        for (axis, &l) in output.iter().enumerate() {
            out = out * out_shape[axis] + value_of(l, &index);
        }
        acc[out] += product;
        // The next index, last label fastest.
        for a in (0..dims.len()).rev() {
            index[a] += 1;
            if index[a] < dims[a] {
                break;
            }
            index[a] = 0;
        }
    }
    Ok(TensorData::F64(acc).cast(inputs[0].data.dtype()))
}
