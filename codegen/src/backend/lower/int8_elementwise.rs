//! Lowering of the int8 element-wise ops of TFLite models, and of the ops between float and
//! int8: `Add`/`Sub` with broadcasting, `Mul`, `PRelu`, `Relu`/`Clip`, `LeakyRelu`,
//! `HardSwish`, `Sigmoid`/`Tanh` (a 256-entry table), `Quantize`, `Dequantize`, `ReduceMean`,
//! and the byte moves of int8 `Concat` and `Pad`.
//!
//! As for the other int8 ops, every parameter (multipliers, shifts, clamp bounds, tables) is
//! computed here by [`crate::quant`], the functions the reference evaluator uses, and stored as
//! constants: the generated code does no set-up at start-up.

use super::{Lowering, MAX_RANK, R, array, coalesce, fused, pad_front, usize_};
use crate::backend::{Arg, Stmt, Struct, Value};
use crate::ir::op::{BinaryAttrs, PadAttrs, PadMode, ReduceAttrs};
use crate::ir::shape::broadcast_strides;
use crate::ir::{DType, Op, Quantization, Rounding, TensorData, TensorId, strides_of};
use crate::kernels::int8::{HardSwishI8, LeakyReluI8, MulI8, PReluI8, RequantizeI8};
use crate::quant;

fn isize_(n: i32) -> Value {
    Value::Isize(n as isize)
}

fn requantize_struct(p: RequantizeI8) -> Struct {
    Struct::new(
        "int8::RequantizeI8",
        vec![
            ("input_zero_point", isize_(p.input_zero_point)),
            ("multiplier", isize_(p.multiplier)),
            ("shift", isize_(p.shift)),
            ("output_zero_point", isize_(p.output_zero_point)),
            ("output_min", isize_(p.output_min)),
            ("output_max", isize_(p.output_max)),
        ],
    )
}

fn mul_struct(p: MulI8) -> Struct {
    Struct::new(
        "int8::MulI8",
        vec![
            ("a_offset", isize_(p.a_offset)),
            ("b_offset", isize_(p.b_offset)),
            ("multiplier", isize_(p.multiplier)),
            ("shift", isize_(p.shift)),
            ("output_zero_point", isize_(p.output_zero_point)),
            ("output_min", isize_(p.output_min)),
            ("output_max", isize_(p.output_max)),
        ],
    )
}

fn prelu_struct(p: PReluI8) -> Struct {
    Struct::new(
        "int8::PReluI8",
        vec![
            ("input_zero_point", isize_(p.input_zero_point)),
            ("alpha_zero_point", isize_(p.alpha_zero_point)),
            ("identity_multiplier", isize_(p.identity_multiplier)),
            ("identity_shift", isize_(p.identity_shift)),
            ("alpha_multiplier", isize_(p.alpha_multiplier)),
            ("alpha_shift", isize_(p.alpha_shift)),
            ("output_zero_point", isize_(p.output_zero_point)),
        ],
    )
}

fn leaky_relu_struct(p: LeakyReluI8) -> Struct {
    Struct::new(
        "int8::LeakyReluI8",
        vec![
            ("input_zero_point", isize_(p.input_zero_point)),
            ("identity_multiplier", isize_(p.identity_multiplier)),
            ("identity_shift", isize_(p.identity_shift)),
            ("alpha_multiplier", isize_(p.alpha_multiplier)),
            ("alpha_shift", isize_(p.alpha_shift)),
            ("output_zero_point", isize_(p.output_zero_point)),
        ],
    )
}

fn hard_swish_struct(p: HardSwishI8) -> Struct {
    Struct::new(
        "int8::HardSwishI8",
        vec![
            ("input_zero_point", isize_(p.input_zero_point)),
            ("output_zero_point", isize_(p.output_zero_point)),
            ("output_multiplier", isize_(p.output_multiplier as i32)),
            ("output_shift", isize_(p.output_shift)),
            ("reluish_multiplier", isize_(p.reluish_multiplier as i32)),
            ("reluish_shift", isize_(p.reluish_shift)),
        ],
    )
}

impl Lowering<'_> {
    fn quant_of(&self, t: TensorId) -> R<(f32, i32)> {
        let tensor = self.graph.tensor(t);
        quant::single(tensor.quant.as_ref(), &format!("'{}'", tensor.name))
    }

    /// The `int8::Broadcast` of a binary op's operands over its output.
    fn broadcast(&self) -> R<Struct> {
        let out = self.output_shape().to_vec();
        let a_st = broadcast_strides(self.input_shape(0), &out);
        let b_st = broadcast_strides(self.input_shape(1), &out);
        let y_st = strides_of(&out);
        let to_i = |v: Vec<usize>| v.into_iter().map(|s| s as isize).collect::<Vec<_>>();
        let (shape, st) = coalesce(&out, &[to_i(a_st), to_i(b_st), to_i(y_st)]);
        if shape.len() > MAX_RANK {
            return Err(format!(
                "broadcasting over {} axes is not supported (at most {MAX_RANK})",
                shape.len()
            ));
        }
        let strides = |v: &[isize]| {
            let v: Vec<usize> = v.iter().map(|&s| s as usize).collect();
            array(&pad_front(&v, MAX_RANK, 0))
        };
        Ok(Struct::new(
            "int8::Broadcast",
            vec![
                ("shape", array(&pad_front(&shape, MAX_RANK, 1))),
                ("a_strides", strides(&st[0])),
                ("b_strides", strides(&st[1])),
            ],
        ))
    }

    /// A step calling `kernel(p, s, a, b, y)` with the broadcast `s`, or
    /// `{kernel}_in_place(p, s, y, b)` when the memory plan runs the node in place.
    fn broadcast_step(&mut self, p: Struct, kernel: &str, detail: String) -> R<()> {
        let s = self.broadcast()?;
        let in_place = self.in_place();
        let mut inputs = Vec::new();
        let locals = vec![Arg::Local("p".into()), Arg::Local("s".into())];
        let (call, args) = if in_place {
            inputs.push(self.node.inputs[0]);
            let b = self.operand(1, "B", &mut inputs)?;
            let mut args = locals;
            args.extend([Arg::Output, b]);
            (format!("{kernel}_in_place"), args)
        } else {
            let a = self.operand(0, "A", &mut inputs)?;
            let b = self.operand(1, "B", &mut inputs)?;
            let mut args = locals;
            args.extend([a, b, Arg::Output]);
            (kernel.to_string(), args)
        };
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Let("s".into(), s),
            Stmt::Call(call, args),
        ];
        self.push(None, detail, inputs, self.node.outputs[0], in_place, body);
        Ok(())
    }

    /// A step calling `kernel(first, x, y)`, or `{kernel}_in_place(first, y)` in place, where
    /// `first` is a parameter struct or a table.
    fn unary_i8_step(
        &mut self,
        first: Arg,
        setup: Vec<Stmt>,
        kernel: &str,
        detail: String,
    ) {
        let in_place = self.in_place();
        let (call, args) = if in_place {
            (format!("{kernel}_in_place"), vec![first, Arg::Output])
        } else {
            (kernel.to_string(), vec![first, Arg::Input(0), Arg::Output])
        };
        let mut body = setup;
        body.push(Stmt::Call(call, args));
        let inputs = vec![self.node.inputs[0]];
        self.push(None, detail, inputs, self.node.outputs[0], in_place, body);
    }

    /// `Add`/`Sub` on operands of different shapes.
    pub(super) fn add_i8_broadcast(&mut self, p: Struct, a: &BinaryAttrs) -> R<()> {
        self.broadcast_step(
            p,
            "int8::add_i8_broadcast",
            format!("int8, broadcast{}", fused(a.activation)),
        )
    }

    pub(super) fn mul_i8(&mut self, a: &BinaryAttrs) -> R<()> {
        let qa = self.quant_of(self.node.inputs[0])?;
        let qb = self.quant_of(self.node.inputs[1])?;
        let qy = self.quant_of(self.node.outputs[0])?;
        let range = quant::activation_range(a.activation, qy.0, qy.1, DType::I8)?;
        let p = quant::mul_params(qa, qb, qy, range);
        self.broadcast_step(
            mul_struct(p),
            "int8::mul_i8",
            format!("int8{}", fused(a.activation)),
        )
    }

    pub(super) fn prelu_i8(&mut self) -> R<()> {
        let qx = self.quant_of(self.node.inputs[0])?;
        let qa = self.quant_of(self.node.inputs[1])?;
        let qy = self.quant_of(self.node.outputs[0])?;
        let p = quant::prelu_params(qx, qa, qy);
        self.broadcast_step(prelu_struct(p), "int8::prelu_i8", "int8".into())
    }

    /// The element-wise int8 ops of one input: `Relu`, `Clip`, `LeakyRelu`, `HardSwish`,
    /// `Sigmoid`, `Tanh`, and `Quantize` from int8 or from float32.
    pub(super) fn unary_i8(&mut self) -> R<()> {
        let x = self.node.inputs[0];
        if self.graph.tensor(x).is_constant() {
            return Err("an int8 op on a constant should have been folded".into());
        }
        let qy = self.quant_of(self.node.outputs[0])?;
        if self.node.op == Op::Quantize && self.graph.tensor(x).dtype == DType::F32 {
            let p = Struct::new(
                "int8::QuantizeI8",
                vec![("scale", Value::F32(qy.0)), ("zero_point", isize_(qy.1))],
            );
            let body = vec![
                Stmt::Let("p".into(), p),
                Stmt::Call(
                    "int8::quantize_i8".into(),
                    vec![Arg::Local("p".into()), Arg::Input(0), Arg::Output],
                ),
            ];
            let detail = format!("float32 to int8, scale {}, zero point {}", qy.0, qy.1);
            self.push(None, detail, vec![x], self.node.outputs[0], false, body);
            return Ok(());
        }
        let qx = self.quant_of(x)?;
        let (p, kernel, detail) = match &self.node.op {
            Op::Relu => (
                requantize_struct(quant::relu_params(qx, qy, 0.0, f32::INFINITY)?),
                "int8::requantize_i8",
                "int8",
            ),
            Op::Clip(a) => (
                requantize_struct(quant::relu_params(qx, qy, a.min, a.max)?),
                "int8::requantize_i8",
                "int8",
            ),
            Op::Quantize => (
                requantize_struct(quant::requantize_params(qx, qy)),
                "int8::requantize_i8",
                "int8 to int8",
            ),
            Op::LeakyRelu(a) => (
                leaky_relu_struct(quant::leaky_relu_params(qx, a.alpha, qy)),
                "int8::leaky_relu_i8",
                "int8",
            ),
            Op::HardSwish => (
                hard_swish_struct(quant::hard_swish_params(qx, qy)?),
                "int8::hard_swish_i8",
                "int8",
            ),
            Op::Sigmoid | Op::Tanh => {
                let table = if self.node.op == Op::Sigmoid {
                    quant::sigmoid_table(qx, qy)
                } else {
                    quant::tanh_table(qx, qy)
                };
                let name = self.derived(
                    "TABLE",
                    &format!(
                        "The {} of every int8 input, indexed by x + 128 (computed at compile \
                         time as TFLite does).",
                        self.node.op.name()
                    ),
                    vec![256],
                    TensorData::I8(table),
                );
                self.unary_i8_step(
                    Arg::Static(name),
                    vec![],
                    "int8::lookup_i8",
                    "int8, 256-entry table".into(),
                );
                return Ok(());
            }
            op => return Err(format!("{} has no int8 kernel yet", op.name())),
        };
        self.unary_i8_step(
            Arg::Local("p".into()),
            vec![Stmt::Let("p".into(), p)],
            kernel,
            detail.into(),
        );
        Ok(())
    }

    pub(super) fn dequantize_i8(&mut self) -> R<()> {
        let (scale, zero_point) = self.quant_of(self.node.inputs[0])?;
        let p = Struct::new(
            "int8::DequantizeI8",
            vec![
                ("scale", Value::F32(scale)),
                ("zero_point", isize_(zero_point)),
            ],
        );
        let mut inputs = Vec::new();
        let x = self.operand(0, "X", &mut inputs)?;
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(
                "int8::dequantize_i8".into(),
                vec![Arg::Local("p".into()), x, Arg::Output],
            ),
        ];
        let detail = format!("int8 to float32, scale {scale}, zero point {zero_point}");
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }

    pub(super) fn mean_i8(&mut self, a: &ReduceAttrs) -> R<()> {
        let x = self.input_shape(0).to_vec();
        let axes = a.resolved_axes();
        let (first, last) = match (axes.first(), axes.last()) {
            (Some(&f), Some(&l)) => (f, l),
            _ => (0, x.len().saturating_sub(1)),
        };
        if (first..=last).any(|d| !axes.contains(&d) && x[d] != 1) {
            return Err(format!(
                "ReduceMean over the non-adjacent axes {axes:?} of {x:?} is not supported yet"
            ));
        }
        let outer: usize = x[..first].iter().product();
        let len: usize = x[first..=last].iter().product();
        let inner: usize = x[last + 1..].iter().product();
        let p = quant::mean_params(
            self.quant_of(self.node.inputs[0])?,
            self.quant_of(self.node.outputs[0])?,
            (outer, len, inner),
            self.graph.rounding == Rounding::Single,
        );
        let p = Struct::new(
            "int8::MeanI8",
            vec![
                ("outer", usize_(p.outer)),
                ("len", usize_(p.len)),
                ("inner", usize_(p.inner)),
                ("input_zero_point", isize_(p.input_zero_point)),
                ("multiplier", isize_(p.multiplier)),
                ("shift", isize_(p.shift)),
                ("single_rounding", Value::Bool(p.single_rounding)),
                ("output_zero_point", isize_(p.output_zero_point)),
            ],
        );
        let mut inputs = Vec::new();
        let xa = self.operand(0, "X", &mut inputs)?;
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(
                "int8::mean_i8".into(),
                vec![Arg::Local("p".into()), xa, Arg::Output],
            ),
        ];
        let detail = format!("mean over axes {axes:?}, int8");
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }

    /// Requires every input to have the output's quantization: the op then moves bytes.
    fn same_quantization(&self) -> R<&Quantization> {
        let y = self.graph.tensor(self.node.outputs[0]);
        let yq = y.quant.as_ref().ok_or("the output has no quantization")?;
        for &t in &self.node.inputs {
            if self.graph.tensor(t).quant.as_ref() != Some(yq) {
                return Err(format!(
                    "'{}' has another quantization than the output, which needs \
                     requantization",
                    self.graph.tensor(t).name
                ));
            }
        }
        Ok(yq)
    }

    /// Int8 `Concat` moves bytes (every input has the output's quantization), with the
    /// element-generic kernel of float `Concat`.
    pub(super) fn concat_i8(&mut self, axis: usize) -> R<()> {
        self.same_quantization()?;
        self.concat(axis)
    }

    pub(super) fn pad_i8(&mut self, a: &PadAttrs) -> R<()> {
        let yq = self.same_quantization()?.clone();
        if a.mode != PadMode::Constant {
            return Err(format!(
                "int8 {} padding is not supported yet",
                a.mode.word()
            ));
        }
        let (x, y) = (self.input_shape(0).to_vec(), self.output_shape().to_vec());
        let rank = x.len();
        if rank > MAX_RANK || a.pads.iter().any(|&p| p < 0) {
            return Err(format!(
                "int8 Pad of rank {rank} with pads {:?} is not supported (at most {MAX_RANK} \
                 axes, no cropping)",
                a.pads
            ));
        }
        let value = crate::eval::int8::pad_value(a.value, &yq)?;
        let begins: Vec<usize> = a.pads[..rank].iter().map(|&p| p as usize).collect();
        let p = Struct::new(
            "int8::PadI8",
            vec![
                ("in_shape", array(&pad_front(&x, MAX_RANK, 1))),
                ("out_shape", array(&pad_front(&y, MAX_RANK, 1))),
                ("pads_begin", array(&pad_front(&begins, MAX_RANK, 0))),
                ("value", isize_(value as i32)),
            ],
        );
        let mut inputs = Vec::new();
        let xa = self.operand(0, "X", &mut inputs)?;
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(
                "int8::pad_i8".into(),
                vec![Arg::Local("p".into()), xa, Arg::Output],
            ),
        ];
        let detail = format!("constant padding {:?} with {value}, int8", a.pads);
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }
}

/// Whether an op uses [`Lowering::unary_i8`].
pub(super) fn is_unary_i8(op: &Op) -> bool {
    matches!(
        op,
        Op::Relu
            | Op::Clip(_)
            | Op::LeakyRelu(_)
            | Op::HardSwish
            | Op::Sigmoid
            | Op::Tanh
            | Op::Quantize
    )
}
