//! Shape inference of the ONNX quantization operators: their scales and zero points (parameter
//! inputs) become attributes, after checks of their shapes and element types against the data
//! they quantize.

use super::{
    check_spatial_rank, fill_kernel, fill_ones, input_shape, matmul_shape, resolve_pads,
    window_output,
};
use crate::ir::op::*;
use crate::ir::{DType, Graph, Node, Op, normalize_axis};

type R<T> = Result<T, String>;

/// The integer types of quantized data.
const QUANTIZED: [DType; 4] = [DType::I8, DType::U8, DType::I16, DType::U16];

/// A parameter input: its shape, element type and values (as `f64`, exact for every integer
/// type of quantized data and for float32).
struct Param {
    name: String,
    shape: Vec<usize>,
    dtype: DType,
    values: Vec<f64>,
}

impl Param {
    /// The number of values (of a run-time parameter too, whose `values` are unknown).
    fn len(&self) -> usize {
        self.shape.iter().product()
    }

    fn floats(&self) -> R<Vec<f32>> {
        if self.dtype != DType::F32 {
            return Err(format!(
                "the scale '{}' is {}; scales must be float32",
                self.name, self.dtype
            ));
        }
        if let Some(s) = self.values.iter().find(|s| !(**s > 0.0 && s.is_finite())) {
            return Err(format!(
                "the scale '{}' holds {s}; scales must be finite and positive",
                self.name
            ));
        }
        Ok(self.values.iter().map(|&v| v as f32).collect())
    }

    fn ints(&self, dtype: DType) -> R<Vec<i64>> {
        if self.dtype != dtype {
            return Err(format!(
                "the zero point '{}' is {}, but the quantized data is {dtype}",
                self.name, self.dtype
            ));
        }
        Ok(self.values.iter().map(|&v| v as i64).collect())
    }

    /// One value, whatever the rank.
    fn scalar(&self) -> R<()> {
        if self.len() != 1 {
            return Err(format!(
                "'{}' of shape {:?} should hold one value",
                self.name, self.shape
            ));
        }
        Ok(())
    }

    /// One value, or one per index of an axis of size `n` (a 1-D tensor).
    fn per_tensor_or(&self, n: usize, what: &str) -> R<()> {
        if self.len() == 1 || (self.shape.len() == 1 && self.shape[0] == n) {
            return Ok(());
        }
        Err(format!(
            "'{}' of shape {:?} should hold one value or one per {what} ({n})",
            self.name, self.shape
        ))
    }
}

fn param(graph: &Graph, node: &Node, slot: usize) -> R<Option<Param>> {
    let Some(data) = super::param(graph, node, slot)? else {
        return Ok(None);
    };
    let id = node.params[slot].expect("a given parameter");
    let tensor = graph.tensor(id);
    Ok(Some(Param {
        name: tensor.name.clone(),
        shape: tensor.shape().to_vec(),
        dtype: data.dtype(),
        values: data.to_f64_vec(),
    }))
}

/// The scale and zero point of a `QuantizeLinear` or `DequantizeLinear` when either is computed
/// at run time (their `values` empty), after moving them to the node's data inputs; `None`
/// when both are constants. `already` says that an earlier run of shape inference moved them.
fn run_time_params(
    graph: &Graph,
    node: &mut Node,
    already: bool,
) -> R<Option<(Param, Option<Param>)>> {
    let describe = |id: crate::ir::TensorId| {
        let t = graph.tensor(id);
        Ok::<_, String>(Param {
            name: t.name.clone(),
            shape: t
                .shape
                .clone()
                .ok_or_else(|| format!("the shape of '{}' is unknown", t.name))?,
            dtype: t.dtype,
            values: Vec::new(),
        })
    };
    if !already {
        let given: Vec<_> = node.params.iter().flatten().collect();
        if given.iter().all(|&&id| graph.tensor(id).data.is_some()) {
            return Ok(None);
        }
        let Some(Some(scale)) = node.params.first() else {
            return Err(format!("its {} is missing", node.op.arity().params[0]));
        };
        node.inputs.push(*scale);
        if let Some(Some(zero_point)) = node.params.get(1) {
            node.inputs.push(*zero_point);
        }
        node.params.clear();
    }
    let scale = describe(node.inputs[1])?;
    if scale.dtype != DType::F32 {
        return Err(format!(
            "the scale '{}' is {}; scales must be float32",
            scale.name, scale.dtype
        ));
    }
    let zero_point = node.inputs.get(2).map(|&id| describe(id)).transpose()?;
    Ok(Some((scale, zero_point)))
}

fn required(graph: &Graph, node: &Node, slot: usize) -> R<Param> {
    param(graph, node, slot)?
        .ok_or_else(|| format!("its {} is missing", node.op.arity().params[slot]))
}

fn require_dtype(graph: &Graph, node: &Node, i: usize, allowed: &[DType]) -> R<DType> {
    let t = graph.tensor(node.inputs[i]);
    if !allowed.contains(&t.dtype) {
        let names: Vec<&str> = allowed.iter().map(|d| d.name()).collect();
        return Err(format!(
            "input '{}' is {}; {} takes {}",
            t.name,
            t.dtype,
            node.op.name(),
            names.join(", ")
        ));
    }
    Ok(t.dtype)
}

/// Checks that a scale of `scale` shape fits data of shape `x` per tensor, along `axis`, or in
/// blocks of `block_size` along `axis`; returns the non-negative axis.
fn check_layout(x: &[usize], axis: i64, block_size: usize, scale: &Param) -> R<usize> {
    if scale.len() == 1 {
        // One scale for the whole tensor: the axis does not matter (and the default axis 1
        // need not exist).
        return Ok(0);
    }
    let axis = normalize_axis(axis, x.len())?;
    let expected = if block_size == 0 {
        vec![x[axis]]
    } else {
        let mut s = x.to_vec();
        s[axis] = x[axis].div_ceil(block_size);
        s
    };
    if scale.shape != expected {
        return Err(format!(
            "the scale '{}' has shape {:?}; for data {x:?} along axis {axis}{} it should be {expected:?}",
            scale.name,
            scale.shape,
            if block_size == 0 {
                String::new()
            } else {
                format!(" in blocks of {block_size}")
            }
        ));
    }
    Ok(axis)
}

fn same_shape(zero_point: &Param, scale: &Param) -> R<()> {
    if zero_point.shape != scale.shape && !(zero_point.len() == 1 && scale.len() == 1) {
        return Err(format!(
            "the zero point '{}' has shape {:?}, the scale '{}' {:?}",
            zero_point.name, zero_point.shape, scale.name, scale.shape
        ));
    }
    Ok(())
}

/// The output shapes of an ONNX quantization op, its parameters moved into its attributes;
/// `None` for other ops.
pub(super) fn infer(
    graph: &Graph,
    node: &mut Node,
    x: &[usize],
) -> R<Option<Vec<Vec<usize>>>> {
    let out_dtype = graph.tensor(node.outputs[0]).dtype;
    let shapes = match node.op.clone() {
        Op::QuantizeLinear(mut a) => {
            require_dtype(graph, node, 0, &[DType::F32])?;
            if !QUANTIZED.contains(&out_dtype) {
                return Err(format!("quantizing to {out_dtype} is not supported"));
            }
            if let Some((scale, zero_point)) =
                run_time_params(graph, node, a.scale_at_run_time)?
            {
                a.axis = check_layout(x, a.axis, a.block_size, &scale)? as i64;
                if let Some(zp) = zero_point {
                    same_shape(&zp, &scale)?;
                    zp.ints(out_dtype)?;
                }
                a.scale_at_run_time = true;
            } else {
                let scale = required(graph, node, 0)?;
                a.axis = check_layout(x, a.axis, a.block_size, &scale)? as i64;
                a.scale = scale.floats()?;
                if let Some(zp) = param(graph, node, 1)? {
                    same_shape(&zp, &scale)?;
                    a.zero_point = zp.ints(out_dtype)?;
                }
            }
            a.output_dtype = out_dtype;
            node.op = Op::QuantizeLinear(a);
            vec![x.to_vec()]
        }
        Op::DequantizeLinear(mut a) => {
            let mut types = QUANTIZED.to_vec();
            types.push(DType::I32);
            let dtype = require_dtype(graph, node, 0, &types)?;
            if let Some((scale, zero_point)) =
                run_time_params(graph, node, a.scale_at_run_time)?
            {
                a.axis = check_layout(x, a.axis, a.block_size, &scale)? as i64;
                if let Some(zp) = zero_point {
                    same_shape(&zp, &scale)?;
                    zp.ints(dtype)?;
                }
                a.scale_at_run_time = true;
            } else {
                let scale = required(graph, node, 0)?;
                a.axis = check_layout(x, a.axis, a.block_size, &scale)? as i64;
                a.scale = scale.floats()?;
                if let Some(zp) = param(graph, node, 1)? {
                    same_shape(&zp, &scale)?;
                    a.zero_point = zp.ints(dtype)?;
                }
            }
            node.op = Op::DequantizeLinear(a);
            vec![x.to_vec()]
        }
        Op::DynamicQuantizeLinear => {
            require_dtype(graph, node, 0, &[DType::F32])?;
            vec![x.to_vec(), vec![], vec![]]
        }
        Op::MatMulInteger(mut q) | Op::QLinearMatMul(mut q) => {
            let qlinear = matches!(node.op, Op::QLinearMatMul(_));
            let a_type = require_dtype(graph, node, 0, &[DType::I8, DType::U8])?;
            let b_type = require_dtype(graph, node, 1, &[DType::I8, DType::U8])?;
            let b = input_shape(graph, node, 1)?;
            let out = matmul_shape(x, &b)?;
            let m = if x.len() >= 2 { x[x.len() - 2] } else { 1 };
            let n = if b.len() >= 2 { b[b.len() - 1] } else { 1 };
            // Slots of (a_zero_point, b_zero_point).
            let (za, zb) = if qlinear { (1, 3) } else { (0, 1) };
            if let Some(zp) = param(graph, node, za)? {
                zp.per_tensor_or(m, "row of a")?;
                q.a_zero_point = zp.ints(a_type)?;
            }
            if let Some(zp) = param(graph, node, zb)? {
                zp.per_tensor_or(n, "column of b")?;
                q.b_zero_point = zp.ints(b_type)?;
            }
            if qlinear {
                if q.a_zero_point.len() > 1 {
                    return Err("QLinearMatMul takes one zero point for a".into());
                }
                let a_scale = required(graph, node, 0)?;
                a_scale.scalar()?;
                q.a_scale = a_scale.floats()?[0];
                let b_scale = required(graph, node, 2)?;
                b_scale.per_tensor_or(n, "column of b")?;
                q.b_scale = b_scale.floats()?;
                let y_scale = required(graph, node, 4)?;
                y_scale.scalar()?;
                q.y_scale = y_scale.floats()?[0];
                if let Some(zp) = param(graph, node, 5)? {
                    zp.scalar()?;
                    q.y_zero_point = zp.ints(out_dtype)?[0];
                }
                node.op = Op::QLinearMatMul(q);
            } else {
                node.op = Op::MatMulInteger(q);
            }
            vec![out]
        }
        Op::ConvInteger(mut q) | Op::QLinearConv(mut q) => {
            let qlinear = matches!(node.op, Op::QLinearConv(_));
            let x_type = require_dtype(graph, node, 0, &[DType::I8, DType::U8])?;
            let w_type = require_dtype(graph, node, 1, &[DType::I8, DType::U8])?;
            let w = input_shape(graph, node, 1)?;
            let out = conv_geometry(&mut q, x, &w)?;
            let (zx, zw) = if qlinear { (1, 3) } else { (0, 1) };
            if let Some(zp) = param(graph, node, zx)? {
                zp.scalar()?;
                q.x_zero_point = zp.ints(x_type)?[0];
            }
            if let Some(zp) = param(graph, node, zw)? {
                zp.per_tensor_or(w[0], "output channel")?;
                q.w_zero_point = zp.ints(w_type)?;
            }
            if qlinear {
                if node.inputs.len() > 2 {
                    require_dtype(graph, node, 2, &[DType::I32])?;
                    let bias = input_shape(graph, node, 2)?;
                    if bias != [w[0]] {
                        return Err(format!(
                            "the bias has shape {bias:?}, expected [{}]",
                            w[0]
                        ));
                    }
                }
                let x_scale = required(graph, node, 0)?;
                x_scale.scalar()?;
                q.x_scale = x_scale.floats()?[0];
                let w_scale = required(graph, node, 2)?;
                w_scale.per_tensor_or(w[0], "output channel")?;
                q.w_scale = w_scale.floats()?;
                let y_scale = required(graph, node, 4)?;
                y_scale.scalar()?;
                q.y_scale = y_scale.floats()?[0];
                if let Some(zp) = param(graph, node, 5)? {
                    zp.scalar()?;
                    q.y_zero_point = zp.ints(out_dtype)?[0];
                }
                node.op = Op::QLinearConv(q);
            } else {
                node.op = Op::ConvInteger(q);
            }
            vec![out]
        }
        _ => return Ok(None),
    };
    Ok(Some(shapes))
}

/// Makes a quantized convolution's geometry explicit (as for `Conv`) and returns its output
/// shape.
fn conv_geometry(q: &mut QuantConvAttrs, x: &[usize], w: &[usize]) -> R<Vec<usize>> {
    let rank = x.len();
    check_spatial_rank(rank, "a quantized convolution", 2)?;
    if w.len() != rank {
        return Err(format!(
            "the weights have shape {w:?}, which does not match the input {x:?}"
        ));
    }
    let spatial = rank - 2;
    fill_kernel(&mut q.kernel_shape, &w[2..])?;
    fill_ones(&mut q.strides, spatial, "strides")?;
    fill_ones(&mut q.dilations, spatial, "dilations")?;
    if x[1] != w[1] * q.group || !w[0].is_multiple_of(q.group) {
        return Err(format!(
            "input channels {} and weights {w:?} do not fit group {}",
            x[1], q.group
        ));
    }
    q.pads = resolve_pads(
        q.auto_pad,
        &q.pads,
        &x[2..],
        &q.kernel_shape,
        &q.strides,
        &q.dilations,
    )?;
    q.auto_pad = AutoPad::NotSet;
    let mut out = vec![x[0], w[0]];
    for d in 0..spatial {
        out.push(window_output(
            x[2 + d],
            q.pads[d] + q.pads[spatial + d],
            q.kernel_shape[d],
            q.strides[d],
            q.dilations[d],
            false,
            q.pads[d],
        )?);
    }
    Ok(out)
}
