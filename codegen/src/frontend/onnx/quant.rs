//! The ONNX quantization operators: `QuantizeLinear`, `DequantizeLinear`,
//! `DynamicQuantizeLinear`, `MatMulInteger`, `QLinearMatMul`, `ConvInteger`, `QLinearConv`.
//!
//! Three things are particular to them and stay here: their attributes; the input order of
//! `QLinearMatMul` and `QLinearConv`, which interleave data inputs with the scales and zero
//! points (the IR lists data inputs first, then parameter inputs); and the element type of
//! their output, which ONNX takes from a zero point (a parameter input) rather than from the
//! data.

use super::NodeAttrs;
use super::dtype_from_onnx;
use crate::ir::op::*;
use crate::ir::{DType, Graph, Op, TensorId};

/// The IR op of a quantization operator, or `None` for other operator types.
pub(super) fn translate(op_type: &str, a: &mut NodeAttrs) -> Option<Result<Op, String>> {
    Some(match op_type {
        "QuantizeLinear" => quantize_linear(a),
        "DequantizeLinear" => dequantize_linear(a),
        "DynamicQuantizeLinear" => Ok(Op::DynamicQuantizeLinear),
        "MatMulInteger" => Ok(Op::MatMulInteger(QuantMatMulAttrs::default())),
        "QLinearMatMul" => Ok(Op::QLinearMatMul(QuantMatMulAttrs::default())),
        "ConvInteger" => Ok(Op::ConvInteger(conv_attrs(a))),
        "QLinearConv" => Ok(Op::QLinearConv(conv_attrs(a))),
        _ => return None,
    })
}

fn block_size(a: &mut NodeAttrs) -> Result<usize, String> {
    match a.int("block_size") {
        None | Some(0) => Ok(0),
        Some(b) if b > 0 => Ok(b as usize),
        Some(b) => Err(format!("block_size {b} is negative")),
    }
}

fn quantize_linear(a: &mut NodeAttrs) -> Result<Op, String> {
    // `saturate` only concerns float8 outputs, which are refused with their element type.
    a.ignore(&["saturate"]);
    if let Some(p) = a.int("precision")
        && p != 0
        && p != i64::from(super::proto::data_type::FLOAT)
    {
        return Err(
            "QuantizeLinear with a precision other than float32 is not supported".into(),
        );
    }
    let output_dtype = match a.int("output_dtype") {
        None | Some(0) => DType::U8,
        Some(code) => quantized_type(dtype_from_onnx(code as i32)?)?,
    };
    Ok(Op::QuantizeLinear(QuantizeLinearAttrs {
        axis: a.int("axis").unwrap_or(1),
        block_size: block_size(a)?,
        output_dtype,
        ..Default::default()
    }))
}

fn dequantize_linear(a: &mut NodeAttrs) -> Result<Op, String> {
    if let Some(dt) = a.int("output_dtype")
        && dt != 0
        && dt != i64::from(super::proto::data_type::FLOAT)
    {
        return Err(
            "DequantizeLinear to a type other than float32 is not supported".into(),
        );
    }
    Ok(Op::DequantizeLinear(DequantizeAttrs {
        axis: a.int("axis").unwrap_or(1),
        block_size: block_size(a)?,
        ..Default::default()
    }))
}

fn conv_attrs(a: &mut NodeAttrs) -> QuantConvAttrs {
    QuantConvAttrs {
        kernel_shape: a.usizes("kernel_shape"),
        strides: a.usizes("strides"),
        dilations: a.usizes("dilations"),
        pads: a.usizes("pads"),
        group: a.positive("group", 1),
        auto_pad: a.auto_pad(),
        ..Default::default()
    }
}

/// The integer types a quantized tensor may have here.
fn quantized_type(dtype: DType) -> Result<DType, String> {
    match dtype {
        DType::I8 | DType::U8 | DType::I16 | DType::U16 => Ok(dtype),
        other => Err(format!(
            "quantizing to {other} is not supported (int8, uint8, int16 and uint16 are)"
        )),
    }
}

/// The ONNX input names in IR order, data inputs first: `QLinearMatMul` takes `(a, a_scale,
/// a_zero_point, b, ...)` and `QLinearConv` `(x, x_scale, x_zero_point, w, ..., y_zero_point,
/// B)`. Other ops keep their order.
pub(super) fn data_inputs_first<'a>(op: &Op, names: &[&'a str]) -> Vec<&'a str> {
    let order: &[usize] = match op {
        Op::QLinearMatMul(_) => &[0, 3, 1, 2, 4, 5, 6, 7],
        Op::QLinearConv(_) => &[0, 3, 8, 1, 2, 4, 5, 6, 7],
        _ => return names.to_vec(),
    };
    let mut out: Vec<&str> = order
        .iter()
        .map(|&i| names.get(i).copied().unwrap_or(""))
        .collect();
    out.extend(names.iter().skip(order.len()));
    out
}

/// The element type of the output of a quantization op whose type ONNX takes from a zero
/// point: `QuantizeLinear` (`y_zero_point`, else `output_dtype`, else uint8) and the
/// `QLinear*` ops (`y_zero_point`, else the type of the first input). Updates the op's
/// `output_dtype`; `None` for other ops.
pub(super) fn output_dtype(
    op: &mut Op,
    params: &[Option<TensorId>],
    graph: &Graph,
) -> Result<Option<DType>, String> {
    let slot = match op {
        Op::QuantizeLinear(_) => 1,
        Op::QLinearMatMul(_) | Op::QLinearConv(_) => 5,
        _ => return Ok(None),
    };
    let Some(Some(zero_point)) = params.get(slot) else {
        return Ok(match op {
            Op::QuantizeLinear(a) => Some(a.output_dtype),
            _ => None,
        });
    };
    let dtype = quantized_type(graph.tensor(*zero_point).dtype)?;
    if let Op::QuantizeLinear(a) = op {
        if a.output_dtype != DType::U8 && a.output_dtype != dtype {
            return Err(format!(
                "output_dtype {} differs from the zero point's type {dtype}",
                a.output_dtype
            ));
        }
        a.output_dtype = dtype;
    }
    Ok(Some(dtype))
}
