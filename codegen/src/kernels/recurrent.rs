//! The recurrent cells `RNN`, `GRU` and `LSTM` over a whole sequence, in either direction or
//! both, writing one of their outputs: every step's hidden state (`Y`), the last hidden state
//! (`Y_h`) or the last cell state (`Y_c`).
//!
//! Weights are in ONNX's layout (`W` `[dirs, gates·hidden, input]`, `R` `[dirs, gates·hidden,
//! hidden]`, `B` `[dirs, 2·gates·hidden]`, gates `i o f c` for `LSTM`, `z r h` for `GRU`). The
//! state of one sequence lives on the stack: `S` is at least `3 · hidden` (the previous and the
//! next hidden state, and the cell state of `LSTM` or the reset hidden state of `GRU`).

use super::math;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    Rnn,
    Gru,
    Lstm,
}

/// An activation function of a cell, with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Relu,
    Tanh,
    Sigmoid,
    Affine(f32, f32),
    LeakyRelu(f32),
    ThresholdedRelu(f32),
    ScaledTanh(f32, f32),
    HardSigmoid(f32, f32),
    Elu(f32),
    Softsign,
    Softplus,
}

impl Activation {
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Tanh => math::tanh(x),
            Activation::Sigmoid => math::sigmoid(x),
            Activation::Affine(alpha, beta) => alpha * x + beta,
            Activation::LeakyRelu(alpha) => {
                if x < 0.0 {
                    alpha * x
                } else {
                    x
                }
            }
            Activation::ThresholdedRelu(alpha) => {
                if x > alpha {
                    x
                } else {
                    0.0
                }
            }
            Activation::ScaledTanh(alpha, beta) => alpha * math::tanh(beta * x),
            Activation::HardSigmoid(alpha, beta) => (alpha * x + beta).clamp(0.0, 1.0),
            Activation::Elu(alpha) => {
                if x < 0.0 {
                    alpha * (math::exp(x) - 1.0)
                } else {
                    x
                }
            }
            Activation::Softsign => x / (1.0 + x.abs()),
            Activation::Softplus => math::ln(1.0 + math::exp(x)),
        }
    }
}

/// What a call writes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Output {
    /// `Y`: `[seq, dirs, batch, hidden]` (`[batch, seq, dirs, hidden]` batch first); steps past
    /// a sequence's length are zero.
    Y,
    /// `Y_h`: `[dirs, batch, hidden]` (`[batch, dirs, hidden]` batch first).
    LastH,
    /// `Y_c`, shaped like `Y_h`.
    LastC,
}

#[derive(Clone, Copy, Debug)]
pub struct Recurrent {
    pub cell: Cell,
    pub seq: usize,
    pub batch: usize,
    pub input_size: usize,
    pub hidden: usize,
    /// 1 or 2.
    pub directions: usize,
    /// One direction, walked from the end of each sequence.
    pub reverse: bool,
    /// `X`, `Y` and the states have the batch axis first (ONNX `layout = 1`).
    pub batch_first: bool,
    /// `f` (and `g`, `h`) of the first direction, then of the second: 3 per direction.
    pub activations: [Activation; 6],
    /// Bounds the inputs of the gates' activations (infinite: no clip).
    pub clip: f32,
    /// `GRU`: apply the reset gate after the recurrent product.
    pub linear_before_reset: bool,
    /// `LSTM`: the forget gate is `1 - i`.
    pub input_forget: bool,
    pub output: Output,
}

/// The dot product of two slices of one length.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = 0.0;
    for (x, y) in a.iter().zip(b) {
        acc += x * y;
    }
    acc
}

/// Runs the cell over every sequence and writes `p.output`. `bias`, `initial_h`, `initial_c`
/// and `peepholes` may be empty (zero); an empty `sequence_lens` means every sequence is `seq`
/// steps long.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn recurrent<const S: usize>(
    p: Recurrent,
    x: &[f32],
    w: &[f32],
    r: &[f32],
    bias: &[f32],
    sequence_lens: &[i32],
    initial_h: &[f32],
    initial_c: &[f32],
    peepholes: &[f32],
    y: &mut [f32],
) {
    let h = p.hidden;
    let gates = match p.cell {
        Cell::Rnn => 1,
        Cell::Gru => 3,
        Cell::Lstm => 4,
    };
    let n_in = p.input_size;
    let mut scratch = [0f32; S];
    let (h_prev, rest) = scratch.split_at_mut(h);
    let (h_next, rest) = rest.split_at_mut(h);
    let extra = &mut rest[..h];
    for d in 0..p.directions {
        let reverse = d == 1 || p.reverse;
        let clip = p.clip;
        let act = |k: usize, v: f32| p.activations[d * 3 + k].apply(v.clamp(-clip, clip));
        let w = &w[d * gates * h * n_in..][..gates * h * n_in];
        let r = &r[d * gates * h * h..][..gates * h * h];
        let b = if bias.is_empty() {
            bias
        } else {
            &bias[d * 2 * gates * h..][..2 * gates * h]
        };
        // W x + Wb + Rb of gate g, unit j, then R v.
        let input_part = |g: usize, j: usize, xt: &[f32]| {
            let row = g * h + j;
            let mut v = dot(&w[row * n_in..][..n_in], xt);
            if !b.is_empty() {
                v += b[row] + b[gates * h + row];
            }
            v
        };
        let recurrent_part =
            |g: usize, j: usize, state: &[f32]| dot(&r[(g * h + j) * h..][..h], state);
        for n in 0..p.batch {
            let len = if sequence_lens.is_empty() {
                p.seq
            } else {
                (sequence_lens[n].max(0) as usize).min(p.seq)
            };
            let state_at = if p.batch_first {
                (n * p.directions + d) * h
            } else {
                (d * p.batch + n) * h
            };
            for j in 0..h {
                h_prev[j] = if initial_h.is_empty() {
                    0.0
                } else {
                    initial_h[state_at + j]
                };
                extra[j] = if initial_c.is_empty() || p.cell != Cell::Lstm {
                    0.0
                } else {
                    initial_c[state_at + j]
                };
            }
            for step in 0..len {
                let t = if reverse { len - 1 - step } else { step };
                let x_at = if p.batch_first {
                    (n * p.seq + t) * n_in
                } else {
                    (t * p.batch + n) * n_in
                };
                let xt = &x[x_at..][..n_in];
                match p.cell {
                    Cell::Rnn => {
                        for (j, next) in h_next.iter_mut().enumerate() {
                            *next =
                                act(0, input_part(0, j, xt) + recurrent_part(0, j, h_prev));
                        }
                    }
                    Cell::Gru => {
                        // The reset gate first: the candidate needs all of it.
                        for j in 0..h {
                            let reset =
                                act(0, input_part(1, j, xt) + recurrent_part(1, j, h_prev));
                            extra[j] = if p.linear_before_reset {
                                reset
                            } else {
                                reset * h_prev[j]
                            };
                        }
                        for j in 0..h {
                            let z =
                                act(0, input_part(0, j, xt) + recurrent_part(0, j, h_prev));
                            let candidate = if p.linear_before_reset {
                                let rb = if b.is_empty() {
                                    0.0
                                } else {
                                    b[gates * h + 2 * h + j]
                                };
                                let wb = if b.is_empty() { 0.0 } else { b[2 * h + j] };
                                let wx = dot(&w[(2 * h + j) * n_in..][..n_in], xt) + wb;
                                act(1, wx + extra[j] * (recurrent_part(2, j, h_prev) + rb))
                            } else {
                                act(1, input_part(2, j, xt) + recurrent_part(2, j, extra))
                            };
                            h_next[j] = (1.0 - z) * candidate + z * h_prev[j];
                        }
                    }
                    Cell::Lstm => {
                        let peep = |k: usize, j: usize| {
                            if peepholes.is_empty() {
                                0.0
                            } else {
                                peepholes[d * 3 * h + k * h + j]
                            }
                        };
                        for j in 0..h {
                            let c = extra[j];
                            let pre = |g: usize| {
                                input_part(g, j, xt) + recurrent_part(g, j, h_prev)
                            };
                            let i = act(0, pre(0) + peep(0, j) * c);
                            let f = if p.input_forget {
                                1.0 - i
                            } else {
                                act(0, pre(2) + peep(2, j) * c)
                            };
                            let c_next = f * c + i * act(1, pre(3));
                            let o = act(0, pre(1) + peep(1, j) * c_next);
                            extra[j] = c_next;
                            h_next[j] = o * p.activations[d * 3 + 2].apply(c_next);
                        }
                    }
                }
                h_prev.copy_from_slice(h_next);
                if p.output == Output::Y {
                    y[y_at(p, t, d, n)..][..h].copy_from_slice(h_prev);
                }
            }
            match p.output {
                Output::Y => {
                    for t in len..p.seq {
                        y[y_at(p, t, d, n)..][..h].fill(0.0);
                    }
                }
                Output::LastH => y[state_at..][..h].copy_from_slice(h_prev),
                Output::LastC => y[state_at..][..h].copy_from_slice(extra),
            }
        }
    }
}

/// Offset of `Y[t, d, n, :]`.
#[inline(always)]
fn y_at(p: Recurrent, t: usize, d: usize, n: usize) -> usize {
    if p.batch_first {
        ((n * p.seq + t) * p.directions + d) * p.hidden
    } else {
        ((t * p.directions + d) * p.batch + n) * p.hidden
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::op::{
        RecurrentActivation, RecurrentAttrs, RecurrentDirection, RecurrentInput,
        RecurrentOutput,
    };
    use crate::ir::{Op, TensorData};
    use crate::kernels::test_support::{assert_close, floats};
    use proptest::prelude::*;

    fn kernel_activation(a: RecurrentActivation) -> Activation {
        use RecurrentActivation as A;
        match a {
            A::Relu => Activation::Relu,
            A::Tanh => Activation::Tanh,
            A::Sigmoid => Activation::Sigmoid,
            A::Affine(a, b) => Activation::Affine(a, b),
            A::LeakyRelu(a) => Activation::LeakyRelu(a),
            A::ThresholdedRelu(a) => Activation::ThresholdedRelu(a),
            A::ScaledTanh(a, b) => Activation::ScaledTanh(a, b),
            A::HardSigmoid(a, b) => Activation::HardSigmoid(a, b),
            A::Elu(a) => Activation::Elu(a),
            A::Softsign => Activation::Softsign,
            A::Softplus => Activation::Softplus,
        }
    }

    const ACTIVATIONS: [RecurrentActivation; 6] = [
        RecurrentActivation::Sigmoid,
        RecurrentActivation::Tanh,
        RecurrentActivation::Tanh,
        RecurrentActivation::HardSigmoid(0.3, 0.4),
        RecurrentActivation::Softsign,
        RecurrentActivation::LeakyRelu(0.1),
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn every_cell_matches_the_reference(
            cell in 0..3usize, seq in 1..4usize, batch in 1..3usize, input_size in 1..4usize,
            hidden in 1..4usize, direction in 0..3usize, batch_first in any::<bool>(),
            optional in any::<[bool; 5]>(), flag in any::<bool>(), clip in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let (gates, n_act) = [(1, 1), (3, 2), (4, 3)][cell];
            let dirs = if direction == 2 { 2 } else { 1 };
            let lstm = cell == 2;
            let mut activations = Vec::new();
            for d in 0..dirs {
                activations.extend_from_slice(&ACTIVATIONS[d * 3..d * 3 + n_act]);
            }
            let mut attrs = RecurrentAttrs {
                hidden_size: hidden,
                direction: [RecurrentDirection::Forward, RecurrentDirection::Reverse, RecurrentDirection::Bidirectional][direction],
                activations,
                clip: clip.then_some(0.7),
                linear_before_reset: cell == 1 && flag,
                input_forget: lstm && flag,
                batch_first,
                ..RecurrentAttrs::default()
            };
            let state_shape = if batch_first { vec![batch, dirs, hidden] } else { vec![dirs, batch, hidden] };
            let x_shape = if batch_first { vec![batch, seq, input_size] } else { vec![seq, batch, input_size] };
            let mut values = vec![
                Value::f32(x_shape, floats(seed, seq * batch * input_size)),
                Value::f32(vec![dirs, gates * hidden, input_size], floats(seed ^ 1, dirs * gates * hidden * input_size)),
                Value::f32(vec![dirs, gates * hidden, hidden], floats(seed ^ 2, dirs * gates * hidden * hidden)),
            ];
            let lens: Vec<i32> = (0..batch).map(|n| ((seed >> n) as usize % (seq + 1)) as i32).collect();
            let optional_inputs = [
                (RecurrentInput::B, Value::f32(vec![dirs, 2 * gates * hidden], floats(seed ^ 3, dirs * 2 * gates * hidden))),
                (RecurrentInput::SequenceLens, Value::new(vec![batch], TensorData::I32(lens.clone()))),
                (RecurrentInput::InitialH, Value::f32(state_shape.clone(), floats(seed ^ 4, dirs * batch * hidden))),
                (RecurrentInput::InitialC, Value::f32(state_shape.clone(), floats(seed ^ 5, dirs * batch * hidden))),
                (RecurrentInput::P, Value::f32(vec![dirs, 3 * hidden], floats(seed ^ 6, dirs * 3 * hidden))),
            ];
            let mut slices: [Vec<f32>; 5] = Default::default();
            for (k, (role, value)) in optional_inputs.into_iter().enumerate() {
                let lstm_only = matches!(role, RecurrentInput::InitialC | RecurrentInput::P);
                if optional[k] && (lstm || !lstm_only) {
                    if let Some(v) = value.data.as_f32() {
                        slices[k] = v.to_vec();
                    }
                    attrs.inputs.push(role);
                    values.push(value);
                }
            }
            let seq_lens: &[i32] = if attrs.inputs.contains(&RecurrentInput::SequenceLens) { &lens } else { &[] };
            attrs.outputs = vec![RecurrentOutput::Y, RecurrentOutput::YH, RecurrentOutput::YC];
            let op = [Op::Rnn(attrs.clone()), Op::Gru(attrs.clone()), Op::Lstm(attrs.clone())][cell].clone();
            let y_shape = if batch_first { vec![batch, seq, dirs, hidden] } else { vec![seq, dirs, batch, hidden] };
            let refs: Vec<&Value> = values.iter().collect();
            let expected = crate::eval::sequence::recurrent(
                &op, &attrs, &refs, &[y_shape.clone(), state_shape.clone(), state_shape.clone()],
            ).unwrap();
            let mut kernel_acts = [Activation::Tanh; 6];
            for d in 0..dirs {
                for k in 0..n_act {
                    kernel_acts[d * 3 + k] = kernel_activation(attrs.activations[d * n_act + k]);
                }
            }
            let outputs = [Output::Y, Output::LastH, Output::LastC];
            for (k, &output) in outputs.iter().enumerate().take(if lstm { 3 } else { 2 }) {
                let p = Recurrent {
                    cell: [Cell::Rnn, Cell::Gru, Cell::Lstm][cell],
                    seq, batch, input_size, hidden, directions: dirs,
                    reverse: direction == 1,
                    batch_first,
                    activations: kernel_acts,
                    clip: if clip { 0.7 } else { f32::INFINITY },
                    linear_before_reset: attrs.linear_before_reset,
                    input_forget: attrs.input_forget,
                    output,
                };
                let mut y = vec![f32::NAN; expected[k].data.len()];
                recurrent::<9>(
                    p, refs[0].floats("").unwrap(), refs[1].floats("").unwrap(), refs[2].floats("").unwrap(),
                    &slices[0], seq_lens, &slices[2], &slices[3], &slices[4], &mut y,
                );
                assert_close(&y, expected[k].floats("").unwrap(), 2e-5);
            }
        }
    }
}
