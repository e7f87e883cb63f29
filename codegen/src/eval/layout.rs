//! Reference implementations of the ops that move elements without arithmetic, for any element
//! type: transpose, concat, split, slice, pad, gather.

use super::Value;
use crate::ir::op::{PadAttrs, PadMode};
use crate::ir::{TensorData, strides_of};
use crate::{dispatch_data, map_data};

/// The multi-index of flat position `i` in a row-major array of `shape`.
pub(crate) fn unravel(mut i: usize, shape: &[usize], index: &mut [usize]) {
    for d in (0..shape.len()).rev() {
        index[d] = i % shape[d].max(1);
        i /= shape[d].max(1);
    }
}

pub fn transpose(x: &Value, perm: &[usize]) -> TensorData {
    let out_shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let in_strides = strides_of(&x.shape);
    let n: usize = out_shape.iter().product();
    let mut index = vec![0; out_shape.len()];
    let source: Vec<usize> = (0..n)
        .map(|i| {
            unravel(i, &out_shape, &mut index);
            index
                .iter()
                .zip(perm)
                .map(|(&idx, &p)| idx * in_strides[p])
                .sum()
        })
        .collect();
    map_data!(&x.data, v => source.iter().map(|&s| v[s]).collect())
}

pub fn concat(
    inputs: &[&Value],
    axis: usize,
    out_shape: &[usize],
) -> Result<TensorData, String> {
    let dtype = inputs[0].data.dtype();
    if inputs.iter().any(|v| v.data.dtype() != dtype) {
        return Err("Concat inputs have different element types".into());
    }
    let outer: usize = out_shape[..axis].iter().product();
    let inner: usize = out_shape[axis + 1..].iter().product();
    let mut out = TensorData::zeros(dtype, 0);
    for o in 0..outer {
        for v in inputs {
            let block = v.shape[axis] * inner;
            let part = map_data!(&v.data, d => d[o * block..(o + 1) * block].to_vec());
            append(&mut out, part);
        }
    }
    Ok(out)
}

fn append(out: &mut TensorData, part: TensorData) {
    macro_rules! push {
        ($($variant:ident),*) => {
            match (out, part) {
                $((TensorData::$variant(o), TensorData::$variant(p)) => o.extend(p),)*
                _ => unreachable!("concat checks that element types agree"),
            }
        };
    }
    push!(F32, F64, I8, U8, I16, U16, I32, U32, I64, U64, Bool)
}

pub fn split(x: &Value, axis: usize, sizes: &[usize]) -> Vec<TensorData> {
    let outer: usize = x.shape[..axis].iter().product();
    let inner: usize = x.shape[axis + 1..].iter().product();
    let len = x.shape[axis];
    let mut start = 0;
    sizes
        .iter()
        .map(|&size| {
            let begin = start;
            start += size;
            map_data!(&x.data, v => {
                let mut part = Vec::with_capacity(outer * size * inner);
                for o in 0..outer {
                    let base = (o * len + begin) * inner;
                    part.extend_from_slice(&v[base..base + size * inner]);
                }
                part
            })
        })
        .collect()
}

/// A strided slice: `starts` and `steps` per axis (normalised by shape inference).
pub fn slice(x: &Value, starts: &[i64], steps: &[i64], out_shape: &[usize]) -> TensorData {
    let in_strides = strides_of(&x.shape);
    let n: usize = out_shape.iter().product();
    let mut index = vec![0; out_shape.len()];
    let source: Vec<usize> = (0..n)
        .map(|i| {
            unravel(i, out_shape, &mut index);
            (0..out_shape.len())
                .map(|d| {
                    let step = steps.get(d).copied().unwrap_or(1);
                    (starts[d] + index[d] as i64 * step) as usize * in_strides[d]
                })
                .sum()
        })
        .collect();
    map_data!(&x.data, v => source.iter().map(|&s| v[s]).collect())
}

/// Pads (or, with negative pads, crops) every axis. `pads` is `[begins..., ends...]`.
pub fn pad(x: &Value, a: &PadAttrs, out_shape: &[usize]) -> Result<TensorData, String> {
    let rank = x.shape.len();
    let in_strides = strides_of(&x.shape);
    let n: usize = out_shape.iter().product();
    let mut index = vec![0; rank];
    // For each output element: the input element it copies, or None for the constant.
    let source: Vec<Option<usize>> = (0..n)
        .map(|i| {
            unravel(i, out_shape, &mut index);
            let mut offset = 0;
            for d in 0..rank {
                let len = x.shape[d] as i64;
                let mut p = index[d] as i64 - a.pads[d];
                if p < 0 || p >= len {
                    match a.mode {
                        PadMode::Constant => return None,
                        PadMode::Edge => p = p.clamp(0, len - 1),
                        PadMode::Wrap => {
                            // Negative pads crop first; the rest of the axis is the ring.
                            let start = (-a.pads[d]).max(0);
                            let kept = len - start - (-a.pads[rank + d]).max(0);
                            p = start + (p - start).rem_euclid(kept.max(1));
                        }
                        PadMode::Reflect => {
                            // Mirror without repeating the edge; pads are checked to be < len.
                            let period = 2 * (len - 1).max(1);
                            p = p.rem_euclid(period);
                            if p >= len {
                                p = period - p;
                            }
                        }
                    }
                }
                offset += p as usize * in_strides[d];
            }
            Some(offset)
        })
        .collect();
    if x.data.is_empty() && source.iter().any(Option::is_some) {
        return Err("cannot pad an empty tensor by edge or reflection".into());
    }
    let value = TensorData::F32(vec![a.value]).cast(x.data.dtype());
    Ok(map_data!(&x.data, v => {
        let constant = constant_of(v, &value);
        source.iter().map(|s| s.map_or(constant, |s| v[s])).collect()
    }))
}

/// The single element of `value` as the element type of `like` (both have the same dtype).
fn constant_of<T: Copy + 'static>(_like: &[T], value: &TensorData) -> T {
    dispatch_data!(value, c => {
        let any: &dyn std::any::Any = &c[0];
        *any.downcast_ref::<T>().expect("the pad value was cast to the data's element type")
    })
}

/// Gathers slices along `axis` at constant indices (negative ones count from the end).
pub fn gather(
    x: &Value,
    indices: &Value,
    axis: usize,
    out_shape: &[usize],
) -> Result<TensorData, String> {
    let idx = indices
        .data
        .to_i64_vec()
        .ok_or("Gather indices must be integers")?;
    let len = x.shape[axis] as i64;
    let outer: usize = x.shape[..axis].iter().product();
    let inner: usize = x.shape[axis + 1..].iter().product();
    let mut positions = Vec::with_capacity(idx.len());
    for &i in &idx {
        let j = if i < 0 { i + len } else { i };
        if j < 0 || j >= len {
            return Err(format!(
                "Gather index {i} is out of range for an axis of size {len}"
            ));
        }
        positions.push(j as usize);
    }
    let data = map_data!(&x.data, v => {
        let mut out = Vec::with_capacity(out_shape.iter().product());
        for o in 0..outer {
            for &p in &positions {
                let base = (o * len as usize + p) * inner;
                out.extend_from_slice(&v[base..base + inner]);
            }
        }
        out
    });
    Ok(data)
}

/// `Expand`: the input broadcast to `out_shape`.
pub fn expand(x: &Value, out_shape: &[usize]) -> TensorData {
    let strides = crate::ir::shape::broadcast_strides(&x.shape, out_shape);
    let positions = strided_positions(out_shape, &strides);
    map_data!(&x.data, v => positions.iter().map(|&p| v[p]).collect())
}

/// `Tile`: `repeats[d]` copies of the input along each axis `d`.
pub fn tile(x: &Value, out_shape: &[usize]) -> TensorData {
    let in_strides = crate::ir::strides_of(&x.shape);
    let out_strides = crate::ir::strides_of(out_shape);
    let n: usize = out_shape.iter().product();
    let positions: Vec<usize> = (0..n)
        .map(|i| {
            (0..out_shape.len())
                .map(|d| (i / out_strides[d]) % out_shape[d] % x.shape[d] * in_strides[d])
                .sum()
        })
        .collect();
    map_data!(&x.data, v => positions.iter().map(|&p| v[p]).collect())
}

/// `GatherElements`: `y[i] = x[i with its axis coordinate replaced by indices[i]]` (negative
/// indices count from the end).
pub fn gather_elements(
    x: &Value,
    indices: &Value,
    axis: usize,
) -> Result<TensorData, String> {
    let idx = indices
        .data
        .to_i64_vec()
        .ok_or("GatherElements indices must be integers")?;
    let x_strides = crate::ir::strides_of(&x.shape);
    let out_shape = &indices.shape;
    let out_strides = crate::ir::strides_of(out_shape);
    let len = x.shape[axis] as i64;
    let mut positions = Vec::with_capacity(idx.len());
    for (i, &k) in idx.iter().enumerate() {
        let j = if k < 0 { k + len } else { k };
        if j < 0 || j >= len {
            return Err(format!(
                "GatherElements index {k} is out of range for an axis of size {len}"
            ));
        }
        let mut p = 0;
        for d in 0..out_shape.len() {
            let coordinate = if d == axis {
                j as usize
            } else {
                (i / out_strides[d]) % out_shape[d]
            };
            p += coordinate * x_strides[d];
        }
        positions.push(p);
    }
    Ok(map_data!(&x.data, v => positions.iter().map(|&p| v[p]).collect()))
}

/// For each element of a row-major `shape`, the offset `sum(i[d] * strides[d])`.
fn strided_positions(shape: &[usize], strides: &[usize]) -> Vec<usize> {
    let out_strides = crate::ir::strides_of(shape);
    let n: usize = shape.iter().product();
    (0..n)
        .map(|i| {
            (0..shape.len())
                .map(|d| (i / out_strides[d]) % shape[d] * strides[d])
                .sum()
        })
        .collect()
}
