//! Lowering of ONNX's quantization operators to the kernels of `qlinear.rs`: `QuantizeLinear`,
//! `DequantizeLinear`, `DynamicQuantizeLinear` (three steps, one per output), `MatMulInteger`,
//! `QLinearMatMul`, `ConvInteger` and `QLinearConv`.
//!
//! Scales and zero points are usually constants by now (shape inference read them into the
//! attributes); they become static arrays (those computed at run time are data inputs that the
//! `*_run_time` kernels read), and the float32 requantization multipliers
//! `(a_scale · b_scale) / y_scale` are computed here by the evaluator's own function.

use super::{Lowering, R, usize_};
use crate::backend::{Arg, Stmt, Struct, Value};
use crate::eval::onnx_quant::requantize_multiplier;
use crate::ir::op::{QuantConvAttrs, QuantMatMulAttrs};
use crate::ir::shape::Spatial2d;
use crate::ir::{DType, Op, TensorData};

fn isize_(n: i64) -> Value {
    Value::Isize(n as isize)
}

/// The `qlinear::Linear` layout of a scale array of `n_scales` values for data of `shape`.
fn linear(
    shape: &[usize],
    axis: usize,
    block_size: usize,
    n_scales: usize,
    dtype: DType,
) -> Struct {
    let (q_min, q_max) = dtype.integer_range();
    let total: usize = shape.iter().product();
    let (outer, axis_len, inner, block, strides) = if n_scales == 1 {
        (1, total, 1, 1, [0, 0, 0])
    } else {
        let outer: usize = shape[..axis].iter().product();
        let inner: usize = shape[axis + 1..].iter().product();
        if block_size == 0 {
            (outer, shape[axis], inner, 1, [0, 1, 0])
        } else {
            let blocks = shape[axis].div_ceil(block_size);
            (
                outer,
                shape[axis],
                inner,
                block_size,
                [blocks * inner, inner, 1],
            )
        }
    };
    Struct::new(
        "qlinear::Linear",
        vec![
            ("outer", usize_(outer)),
            ("axis_len", usize_(axis_len)),
            ("inner", usize_(inner)),
            ("block", usize_(block)),
            ("outer_stride", usize_(strides[0])),
            ("axis_stride", usize_(strides[1])),
            ("inner_stride", usize_(strides[2])),
            ("q_min", isize_(q_min)),
            ("q_max", isize_(q_max)),
        ],
    )
}

impl Lowering<'_> {
    /// Lowers one of the ONNX quantization ops.
    pub(super) fn onnx_quant(&mut self) -> R<()> {
        match &self.node.op {
            Op::QuantizeLinear(a) if a.scale_at_run_time => {
                let dtype = self.graph.tensor(self.node.outputs[0]).dtype;
                let (axis, block_size) = (a.axis as usize, a.block_size);
                self.run_time_linear_step(
                    "qlinear::quantize_linear_run_time",
                    axis,
                    block_size,
                    dtype,
                )
            }
            Op::DequantizeLinear(a) if a.scale_at_run_time => {
                let dtype = self.graph.tensor(self.node.inputs[0]).dtype;
                let (axis, block_size) = (a.axis as usize, a.block_size);
                self.run_time_linear_step(
                    "qlinear::dequantize_linear_run_time",
                    axis,
                    block_size,
                    dtype,
                )
            }
            Op::QuantizeLinear(a) => {
                let dtype = self.graph.tensor(self.node.outputs[0]).dtype;
                let p = linear(
                    self.input_shape(0),
                    a.axis as usize,
                    a.block_size,
                    a.scale.len(),
                    dtype,
                );
                let (scale, zero_point) = (a.scale.clone(), a.zero_point.clone());
                self.linear_step("qlinear::quantize_linear", p, scale, &zero_point)
            }
            Op::DequantizeLinear(a) => {
                let dtype = self.graph.tensor(self.node.inputs[0]).dtype;
                let p = linear(
                    self.input_shape(0),
                    a.axis as usize,
                    a.block_size,
                    a.scale.len(),
                    dtype,
                );
                let (scale, zero_point) = (a.scale.clone(), a.zero_point.clone());
                self.linear_step("qlinear::dequantize_linear", p, scale, &zero_point)
            }
            Op::DynamicQuantizeLinear => self.dynamic_quantize_linear(),
            Op::MatMulInteger(q) => self.quant_matmul(&q.clone(), false),
            Op::QLinearMatMul(q) => self.quant_matmul(&q.clone(), true),
            Op::ConvInteger(q) => self.quant_conv(&q.clone(), false),
            Op::QLinearConv(q) => self.quant_conv(&q.clone(), true),
            other => Err(format!("{} is not an ONNX quantization op", other.name())),
        }
    }

    fn scale_static(&mut self, role: &str, scale: Vec<f32>) -> Arg {
        let n = scale.len();
        Arg::Static(self.derived(
            role,
            "Scales of the quantized tensor.",
            vec![n],
            TensorData::F32(scale),
        ))
    }

    /// Zero points as an `i32` static, or an empty slice for "all zero".
    fn zero_point_static(&mut self, role: &str, zero_point: &[i64]) -> Arg {
        if zero_point.is_empty() {
            return Arg::Empty;
        }
        let values: Vec<i32> = zero_point.iter().map(|&z| z as i32).collect();
        Arg::Static(self.derived(
            role,
            "Zero points of the quantized tensor.",
            vec![values.len()],
            TensorData::I32(values),
        ))
    }

    fn linear_step(
        &mut self,
        kernel: &str,
        p: Struct,
        scale: Vec<f32>,
        zero_point: &[i64],
    ) -> R<()> {
        let n_scales = scale.len();
        let mut inputs = Vec::new();
        let x = self.operand(0, "X", &mut inputs)?;
        let scale = self.scale_static("SCALE", scale);
        let zero_point = self.zero_point_static("ZERO_POINT", zero_point);
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(
                kernel.into(),
                vec![Arg::Local("p".into()), x, scale, zero_point, Arg::Output],
            ),
        ];
        let detail = match n_scales {
            1 => "one scale and zero point".to_string(),
            n => format!("{n} scales and zero points"),
        };
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }

    /// `QuantizeLinear` or `DequantizeLinear` whose scale and zero point are data inputs
    /// computed at run time (`x, scale, zero_point?`); `dtype` is the quantized type.
    fn run_time_linear_step(
        &mut self,
        kernel: &str,
        axis: usize,
        block_size: usize,
        dtype: DType,
    ) -> R<()> {
        let n_scales: usize = self.input_shape(1).iter().product();
        let p = linear(self.input_shape(0), axis, block_size, n_scales, dtype);
        let mut inputs = Vec::new();
        let x = self.operand(0, "X", &mut inputs)?;
        let scale = self.operand(1, "SCALE", &mut inputs)?;
        let zero_point = if self.node.inputs.len() > 2 {
            self.operand(2, "ZERO_POINT", &mut inputs)?
        } else {
            Arg::Empty
        };
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(
                kernel.into(),
                vec![Arg::Local("p".into()), x, scale, zero_point, Arg::Output],
            ),
        ];
        let detail = match n_scales {
            1 => "one scale and zero point, computed at run time".to_string(),
            n => format!("{n} scales and zero points, computed at run time"),
        };
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }

    /// Three steps, one per output; each scans the whole input for its range.
    fn dynamic_quantize_linear(&mut self) -> R<()> {
        let kernels = [
            ("qlinear::dynamic_quantize_linear", "y"),
            ("qlinear::dynamic_quantize_scale", "y_scale"),
            ("qlinear::dynamic_quantize_zero_point", "y_zero_point"),
        ];
        for (part, (kernel, what)) in kernels.into_iter().enumerate() {
            let mut inputs = Vec::new();
            let x = self.operand(0, "X", &mut inputs)?;
            let body = vec![Stmt::Call(kernel.into(), vec![x, Arg::Output])];
            self.push(
                Some(part),
                format!(
                    "output {what}; each of the three steps of this op scans the input for its \
                     range again"
                ),
                inputs,
                self.node.outputs[part],
                false,
                body,
            );
        }
        Ok(())
    }

    fn requantize_struct(&self, y_zero_point: i64) -> Struct {
        let dtype = self.graph.tensor(self.node.outputs[0]).dtype;
        let (q_min, q_max) = dtype.integer_range();
        Struct::new(
            "qlinear::Requantize",
            vec![
                ("zero_point", isize_(y_zero_point)),
                ("q_min", isize_(q_min)),
                ("q_max", isize_(q_max)),
            ],
        )
    }

    fn multipliers(&mut self, a_scale: f32, b_scale: &[f32], y_scale: f32) -> Arg {
        let m: Vec<f32> = b_scale
            .iter()
            .map(|&b| requantize_multiplier(a_scale, b, y_scale))
            .collect();
        let n = m.len();
        Arg::Static(self.derived(
            "MULTIPLIER",
            "Requantization multipliers (a_scale · b_scale) / y_scale.",
            vec![n],
            TensorData::F32(m),
        ))
    }

    fn zero_points_or_zero(&mut self, role: &str, zero_point: &[i64]) -> Arg {
        if zero_point.is_empty() {
            self.zero_point_static(role, &[0])
        } else {
            self.zero_point_static(role, zero_point)
        }
    }

    fn quant_matmul(&mut self, q: &QuantMatMulAttrs, qlinear: bool) -> R<()> {
        let (p, (m, k, n)) = self.matmul_params()?;
        let mut inputs = Vec::new();
        let a = self.operand(0, "A", &mut inputs)?;
        let b = self.operand(1, "B", &mut inputs)?;
        let za = self.zero_points_or_zero("A_ZERO_POINT", &q.a_zero_point);
        let zb = self.zero_points_or_zero("B_ZERO_POINT", &q.b_zero_point);
        let mut body = vec![Stmt::Let("p".into(), p)];
        if qlinear {
            let r = self.requantize_struct(q.y_zero_point);
            let multiplier = self.multipliers(q.a_scale, &q.b_scale, q.y_scale);
            body.push(Stmt::Let("r".into(), r));
            body.push(Stmt::Call(
                "qlinear::qlinear_matmul".into(),
                vec![
                    Arg::Local("p".into()),
                    Arg::Local("r".into()),
                    a,
                    b,
                    za,
                    zb,
                    multiplier,
                    Arg::Output,
                ],
            ));
        } else {
            body.push(Stmt::Call(
                "qlinear::matmul_integer".into(),
                vec![Arg::Local("p".into()), a, b, za, zb, Arg::Output],
            ));
        }
        self.push(
            None,
            format!("[{m}, {k}] × [{k}, {n}] per batch entry"),
            inputs,
            self.node.outputs[0],
            false,
            body,
        );
        Ok(())
    }

    fn quant_conv(&mut self, q: &QuantConvAttrs, qlinear: bool) -> R<()> {
        let (x, y) = (self.input_shape(0).to_vec(), self.output_shape().to_vec());
        let g = Spatial2d::new(&x, &y, &q.kernel_shape, &q.strides, &q.dilations, &q.pads);
        let p = Struct::new(
            "qlinear::QConv2d",
            vec![
                ("batch", usize_(x[0])),
                ("c_in", usize_(x[1])),
                ("h_in", usize_(g.h_in)),
                ("w_in", usize_(g.w_in)),
                ("c_out", usize_(y[1])),
                ("h_out", usize_(g.h_out)),
                ("w_out", usize_(g.w_out)),
                ("k_h", usize_(g.k_h)),
                ("k_w", usize_(g.k_w)),
                ("stride_h", usize_(g.stride_h)),
                ("stride_w", usize_(g.stride_w)),
                ("dilation_h", usize_(g.dilation_h)),
                ("dilation_w", usize_(g.dilation_w)),
                ("pad_top", usize_(g.pad_top)),
                ("pad_left", usize_(g.pad_left)),
                ("groups", usize_(q.group)),
                ("x_zero_point", isize_(q.x_zero_point)),
            ],
        );
        let mut inputs = Vec::new();
        let xa = self.operand(0, "X", &mut inputs)?;
        let w = self.operand(1, "WEIGHT", &mut inputs)?;
        let zw = self.zero_points_or_zero("W_ZERO_POINT", &q.w_zero_point);
        let mut body = vec![Stmt::Let("p".into(), p)];
        if qlinear {
            let bias = if self.node.inputs.len() > 2 {
                self.operand(2, "BIAS", &mut inputs)?
            } else {
                Arg::Empty
            };
            let r = self.requantize_struct(q.y_zero_point);
            let multiplier = self.multipliers(q.x_scale, &q.w_scale, q.y_scale);
            body.push(Stmt::Let("r".into(), r));
            body.push(Stmt::Call(
                "qlinear::qlinear_conv".into(),
                vec![
                    Arg::Local("p".into()),
                    Arg::Local("r".into()),
                    xa,
                    w,
                    zw,
                    bias,
                    multiplier,
                    Arg::Output,
                ],
            ));
        } else {
            body.push(Stmt::Call(
                "qlinear::conv_integer".into(),
                vec![Arg::Local("p".into()), xa, w, zw, Arg::Output],
            ));
        }
        let detail = format!(
            "{:?} kernel, stride {:?}, dilation {:?}, pads {:?}, {} group{}",
            q.kernel_shape,
            q.strides,
            q.dilations,
            q.pads,
            q.group,
            if q.group == 1 { "" } else { "s" }
        );
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }
}
