//! Reference implementations of the arithmetic ops: convolution, pooling, matrix products,
//! element-wise ops, normalisation, resizing.

use super::Value;
use crate::ir::op::{ConvAttrs, ConvTransposeAttrs, GemmAttrs, PoolAttrs, ResizeAttrs};
use crate::ir::shape::{Spatial2d, broadcast_strides, resize_axis_taps};
use crate::ir::{Op, TensorData, strides_of};
use crate::kernels::pool::Ordered;

type R<T> = Result<T, String>;

/// Convolution, NCHW (1-D as H = 1), groups and dilations, padding by zeros.
pub fn conv(
    a: &ConvAttrs,
    x: &Value,
    w: &Value,
    b: Option<&Value>,
    out_shape: &[usize],
) -> R<Vec<f32>> {
    let (xs, ws) = (x.floats("Conv")?, w.floats("Conv")?);
    let bias = b.map(|b| b.floats("Conv")).transpose()?;
    let g = Spatial2d::new(
        &x.shape,
        out_shape,
        &a.kernel_shape,
        &a.strides,
        &a.dilations,
        &a.pads,
    );
    let (c_in, c_out, groups) = (x.shape[1], out_shape[1], a.group);
    let (cin_g, cout_g) = (c_in / groups, c_out / groups);
    let mut y = vec![0f32; out_shape.iter().product()];
    for n in 0..g.n {
        for oc in 0..c_out {
            let group = oc / cout_g;
            for oy in 0..g.h_out {
                for ox in 0..g.w_out {
                    let mut acc = bias.map_or(0.0, |b| b[oc] as f64);
                    for icg in 0..cin_g {
                        let ic = group * cin_g + icg;
                        for ky in 0..g.k_h {
                            let Some(iy) = g.input_row(oy, ky) else {
                                continue;
                            };
                            for kx in 0..g.k_w {
                                let Some(ix) = g.input_col(ox, kx) else {
                                    continue;
                                };
                                let xv = xs[((n * c_in + ic) * g.h_in + iy) * g.w_in + ix];
                                let wv = ws[((oc * cin_g + icg) * g.k_h + ky) * g.k_w + kx];
                                acc += xv as f64 * wv as f64;
                            }
                        }
                    }
                    y[((n * c_out + oc) * g.h_out + oy) * g.w_out + ox] =
                        a.activation.apply(acc as f32);
                }
            }
        }
    }
    Ok(y)
}

/// Transposed convolution, NCHW with any number of spatial axes: every input element scatters
/// `x * w` into the output at `input * stride + tap * dilation - pad_begin`.
pub fn conv_transpose(
    a: &ConvTransposeAttrs,
    x: &Value,
    w: &Value,
    b: Option<&Value>,
    out_shape: &[usize],
) -> R<Vec<f32>> {
    let (xs, ws) = (x.floats("ConvTranspose")?, w.floats("ConvTranspose")?);
    let bias = b.map(|b| b.floats("ConvTranspose")).transpose()?;
    let (in_spatial, out_spatial) = (&x.shape[2..], &out_shape[2..]);
    let spatial = in_spatial.len();
    let (plane_in, plane_out) = (
        in_spatial.iter().product::<usize>(),
        out_spatial.iter().product::<usize>(),
    );
    let taps: usize = a.kernel_shape.iter().product();
    let out_strides = strides_of(out_spatial);
    let (c_in, c_out, groups) = (x.shape[1], out_shape[1], a.group);
    let (cin_g, cout_g) = (c_in / groups, c_out / groups);
    // The output offset each (input position, kernel tap) pair writes to, if inside.
    let (mut i, mut k) = (vec![0; spatial], vec![0; spatial]);
    let mut targets = Vec::with_capacity(plane_in * taps);
    for pi in 0..plane_in {
        super::layout::unravel(pi, in_spatial, &mut i);
        for t in 0..taps {
            super::layout::unravel(t, &a.kernel_shape, &mut k);
            let offset: Option<usize> = (0..spatial)
                .map(|d| {
                    (i[d] * a.strides[d] + k[d] * a.dilations[d])
                        .checked_sub(a.pads[d])
                        .filter(|&o| o < out_spatial[d])
                        .map(|o| o * out_strides[d])
                })
                .sum();
            targets.push(offset);
        }
    }
    let mut acc = vec![0f64; out_shape.iter().product()];
    for n in 0..x.shape[0] {
        for ic in 0..c_in {
            let group = ic / cin_g;
            let input = &xs[(n * c_in + ic) * plane_in..][..plane_in];
            for ocg in 0..cout_g {
                let oc = group * cout_g + ocg;
                let weights = &ws[(ic * cout_g + ocg) * taps..][..taps];
                let out = &mut acc[(n * c_out + oc) * plane_out..][..plane_out];
                for (pi, &xv) in input.iter().enumerate() {
                    for (t, &wv) in weights.iter().enumerate() {
                        if let Some(o) = targets[pi * taps + t] {
                            out[o] += xv as f64 * wv as f64;
                        }
                    }
                }
            }
        }
    }
    Ok(acc
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let oc = (i / plane_out) % c_out;
            a.activation
                .apply((v + bias.map_or(0.0, |b| b[oc] as f64)) as f32)
        })
        .collect())
}

/// `Y = alpha * A' * B' + beta * C`, with C broadcast to `[M, N]`.
pub fn gemm(
    a: &GemmAttrs,
    x: &Value,
    w: &Value,
    c: Option<&Value>,
    out_shape: &[usize],
) -> R<Vec<f32>> {
    let (xs, ws) = (x.floats("Gemm")?, w.floats("Gemm")?);
    let (m, n) = (out_shape[0], out_shape[1]);
    let k = if a.trans_a { x.shape[0] } else { x.shape[1] };
    let c_strides = c.map(|c| broadcast_strides(&c.shape, out_shape));
    let cs = c.map(|c| c.floats("Gemm")).transpose()?;
    let mut y = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0f64;
            for p in 0..k {
                let av = if a.trans_a {
                    xs[p * m + i]
                } else {
                    xs[i * k + p]
                };
                let bv = if a.trans_b {
                    ws[j * k + p]
                } else {
                    ws[p * n + j]
                };
                acc += av as f64 * bv as f64;
            }
            let mut v = a.alpha as f64 * acc;
            if let (Some(cs), Some(st)) = (cs, &c_strides) {
                v += a.beta as f64 * cs[i * st[0] + j * st[1]] as f64;
            }
            y[i * n + j] = a.activation.apply(v as f32);
        }
    }
    Ok(y)
}

/// numpy `matmul`: 1-D operands are promoted and the batch dimensions broadcast. Float32 is
/// accumulated in double precision, float64 in its own, integers (int32, int64, uint32,
/// uint64) with wrapping arithmetic as generated code does.
pub fn matmul(a: &Value, b: &Value, out_shape: &[usize]) -> R<TensorData> {
    let a_shape = if a.shape.len() == 1 {
        vec![1, a.shape[0]]
    } else {
        a.shape.clone()
    };
    let b_shape = if b.shape.len() == 1 {
        vec![b.shape[0], 1]
    } else {
        b.shape.clone()
    };
    let (m, k) = (a_shape[a_shape.len() - 2], a_shape[a_shape.len() - 1]);
    let n = b_shape[b_shape.len() - 1];
    let a_batch = &a_shape[..a_shape.len() - 2];
    let b_batch = &b_shape[..b_shape.len() - 2];
    let batch = crate::ir::shape::broadcast_shapes(a_batch, b_batch)?;
    let a_st = broadcast_strides(a_batch, &batch);
    let b_st = broadcast_strides(b_batch, &batch);
    let batch_strides = strides_of(&batch);
    // The offsets of each batch entry's matrices in `a` and `b`.
    let offsets: Vec<(usize, usize)> = (0..batch.iter().product())
        .map(|bi| {
            let (mut a_off, mut b_off) = (0, 0);
            for d in 0..batch.len() {
                let idx = (bi / batch_strides[d]) % batch[d];
                a_off += idx * a_st[d];
                b_off += idx * b_st[d];
            }
            (a_off * m * k, b_off * k * n)
        })
        .collect();
    let dims = (m, k, n);
    if a.data.dtype() != b.data.dtype() {
        return Err(format!(
            "MatMul of {} and {}: the inputs must have one type",
            a.data.dtype(),
            b.data.dtype()
        ));
    }
    let data = match (&a.data, &b.data) {
        (TensorData::F32(xs), TensorData::F32(ws)) => {
            let y = products(xs, ws, &offsets, dims, 0f64, |acc, x, w| {
                acc + x as f64 * w as f64
            });
            TensorData::F32(y.iter().map(|&v| v as f32).collect())
        }
        (TensorData::F64(xs), TensorData::F64(ws)) => {
            TensorData::F64(products(xs, ws, &offsets, dims, 0.0, |acc, x, w| {
                acc + x * w
            }))
        }
        (TensorData::U64(xs), TensorData::U64(ws)) => {
            TensorData::U64(products(xs, ws, &offsets, dims, 0, |acc, x, w| {
                acc.wrapping_add(x.wrapping_mul(w))
            }))
        }
        // Sums of products modulo 2^64 keep the low bits of the narrower types exact.
        (TensorData::I32(_) | TensorData::I64(_) | TensorData::U32(_), _) => {
            let xs = a.data.to_i64_vec().expect("integers");
            let ws = b.data.to_i64_vec().expect("integers");
            let y = products(&xs, &ws, &offsets, dims, 0i64, |acc, x, w| {
                acc.wrapping_add(x.wrapping_mul(w))
            });
            TensorData::I64(y).cast(a.data.dtype())
        }
        (other, _) => return Err(format!("MatMul of {} is not supported", other.dtype())),
    };
    debug_assert_eq!(data.len(), out_shape.iter().product::<usize>());
    Ok(data)
}

/// The `[m, n]` products of each batch entry (`offsets` of its `a` and `b` matrices), every
/// output element folded from `zero` with `step(acc, a, b)` over `k`.
fn products<T: Copy, A: Copy>(
    xs: &[T],
    ws: &[T],
    offsets: &[(usize, usize)],
    (m, k, n): (usize, usize, usize),
    zero: A,
    step: impl Fn(A, T, T) -> A,
) -> Vec<A> {
    let mut y = Vec::with_capacity(offsets.len() * m * n);
    for &(a_off, b_off) in offsets {
        for i in 0..m {
            for j in 0..n {
                let mut acc = zero;
                for p in 0..k {
                    acc = step(acc, xs[a_off + i * k + p], ws[b_off + p * n + j]);
                }
                y.push(acc);
            }
        }
    }
    y
}

/// Element-wise binary ops with broadcasting (see [`super::elementwise::binary`]).
pub fn binary(op: &Op, a: &Value, b: &Value, out_shape: &[usize]) -> R<TensorData> {
    let f = op.binary_fn().ok_or("binary() is called for binary ops")?;
    super::elementwise::binary(f, a, b, out_shape)
}

/// Element-wise activations of `f32` tensors (see [`super::elementwise::unary`]).
pub fn unary(op: &Op, x: &Value) -> R<Vec<f32>> {
    x.floats(op.name())?;
    let f = op.unary_fn().ok_or("unary() is called for activations")?;
    match super::elementwise::unary(f, x)? {
        TensorData::F32(v) => Ok(v),
        _ => unreachable!("f32 in, f32 out"),
    }
}

/// Softmax (or log-softmax) over `axis`, or over all axes from `axis` on when `coerce_2d`.
pub fn softmax(x: &Value, axis: i64, coerce_2d: bool, log: bool) -> R<Vec<f32>> {
    let xs: Vec<f64> = x.floats("Softmax")?.iter().map(|&v| v as f64).collect();
    let y = softmax_of(&xs, &x.shape, axis, coerce_2d, log);
    Ok(y.iter().map(|&v| v as f32).collect())
}

/// [`softmax`] of a float64 tensor.
pub fn softmax_f64(x: &Value, axis: i64, coerce_2d: bool, log: bool) -> R<Vec<f64>> {
    match &x.data {
        TensorData::F64(xs) => Ok(softmax_of(xs, &x.shape, axis, coerce_2d, log)),
        other => Err(format!("Softmax of {} data", other.dtype())),
    }
}

/// Softmax (or log-softmax) in double precision of values of `shape`.
fn softmax_of(
    xs: &[f64],
    shape: &[usize],
    axis: i64,
    coerce_2d: bool,
    log: bool,
) -> Vec<f64> {
    let axis = axis as usize;
    let outer: usize = shape[..axis].iter().product();
    let (len, inner) = if coerce_2d {
        (shape[axis..].iter().product::<usize>(), 1)
    } else {
        (shape[axis], shape[axis + 1..].iter().product::<usize>())
    };
    let mut y = vec![0f64; xs.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * len + k) * inner + i;
            let max = (0..len)
                .map(|k| xs[at(k)])
                .fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = (0..len).map(|k| (xs[at(k)] - max).exp()).sum();
            for k in 0..len {
                let shifted = xs[at(k)] - max;
                y[at(k)] = if log {
                    shifted - sum.ln()
                } else {
                    shifted.exp() / sum
                };
            }
        }
    }
    y
}

/// The taps of every pooling window over the spatial axes (any number of them), in row-major
/// order of the output positions: the in-plane offsets of the taps inside the input, in
/// row-major order, and the number of taps inside the padded input (taps past the end padding,
/// which `ceil_mode` can create, do not count).
fn pool_windows(
    a: &PoolAttrs,
    in_spatial: &[usize],
    out_spatial: &[usize],
) -> Vec<(Vec<usize>, usize)> {
    let spatial = in_spatial.len();
    let in_strides = strides_of(in_spatial);
    let (begin, end) = (&a.pads[..spatial], &a.pads[spatial..]);
    let n_out: usize = out_spatial.iter().product();
    let n_taps: usize = a.kernel_shape.iter().product();
    let (mut o, mut k) = (vec![0; spatial], vec![0; spatial]);
    (0..n_out)
        .map(|i| {
            super::layout::unravel(i, out_spatial, &mut o);
            let (mut inside, mut padded) = (Vec::new(), 0);
            for t in 0..n_taps {
                super::layout::unravel(t, &a.kernel_shape, &mut k);
                let position: Vec<usize> = (0..spatial)
                    .map(|d| o[d] * a.strides[d] + k[d] * a.dilations[d])
                    .collect();
                if (0..spatial).any(|d| position[d] >= in_spatial[d] + begin[d] + end[d]) {
                    continue;
                }
                padded += 1;
                let offset: Option<usize> = (0..spatial)
                    .map(|d| {
                        position[d]
                            .checked_sub(begin[d])
                            .filter(|&p| p < in_spatial[d])
                            .map(|p| p * in_strides[d])
                    })
                    .sum();
                inside.extend(offset);
            }
            (inside, padded)
        })
        .collect()
}

/// Max or average pooling of `f32` tensors, NCHW with any number of spatial axes.
pub fn pool(a: &PoolAttrs, x: &Value, out_shape: &[usize], max: bool) -> R<Vec<f32>> {
    if max {
        x.floats("pooling")?;
        match max_pool(a, x, out_shape)?.0 {
            TensorData::F32(y) => Ok(y),
            _ => unreachable!("f32 in, f32 out"),
        }
    } else {
        average_pool(a, x, out_shape)
    }
}

/// Average pooling, NCHW with any number of spatial axes.
pub fn average_pool(a: &PoolAttrs, x: &Value, out_shape: &[usize]) -> R<Vec<f32>> {
    let xs = x.floats("AveragePool")?;
    let windows = pool_windows(a, &x.shape[2..], &out_shape[2..]);
    let plane: usize = x.shape[2..].iter().product();
    let mut y = Vec::with_capacity(out_shape.iter().product());
    for input in xs.chunks_exact(plane.max(1)).take(x.shape[0] * x.shape[1]) {
        for (taps, padded) in &windows {
            let sum: f64 = taps.iter().map(|&t| input[t] as f64).sum();
            let divisor = if a.count_include_pad {
                *padded
            } else {
                taps.len()
            };
            y.push((sum / divisor.max(1) as f64) as f32);
        }
    }
    Ok(y)
}

/// Max pooling of any ordered element type, NCHW with any number of spatial axes: the maxima
/// and ONNX's `Indices`, the flat index of each maximum in the whole input (the first among
/// equals; column-major within a plane when `a.column_major_indices`). NaN taps are skipped; a
/// window without other taps gives the type's lowest value and index -1.
pub fn max_pool(
    a: &PoolAttrs,
    x: &Value,
    out_shape: &[usize],
) -> R<(TensorData, Vec<i64>)> {
    if matches!(x.data, TensorData::Bool(_)) {
        return Err("MaxPool takes numbers, not bool".into());
    }
    let in_spatial = &x.shape[2..];
    let windows = pool_windows(a, in_spatial, &out_shape[2..]);
    let plane: usize = in_spatial.iter().product();
    // The index of each in-plane offset in the requested storage order.
    let storage: Vec<usize> = if a.column_major_indices {
        let mut column_strides = vec![1; in_spatial.len()];
        for d in 1..in_spatial.len() {
            column_strides[d] = column_strides[d - 1] * in_spatial[d - 1];
        }
        let mut coordinates = vec![0; in_spatial.len()];
        (0..plane)
            .map(|offset| {
                super::layout::unravel(offset, in_spatial, &mut coordinates);
                coordinates
                    .iter()
                    .zip(&column_strides)
                    .map(|(c, s)| c * s)
                    .sum()
            })
            .collect()
    } else {
        (0..plane).collect()
    };
    let mut indices = Vec::with_capacity(out_shape.iter().product());
    let values = crate::map_data!(&x.data, v => {
        max_windows(v, plane, &windows, &storage, &mut indices)
    });
    Ok((values, indices))
}

fn max_windows<T: Ordered>(
    x: &[T],
    plane: usize,
    windows: &[(Vec<usize>, usize)],
    storage: &[usize],
    indices: &mut Vec<i64>,
) -> Vec<T> {
    let mut y = Vec::with_capacity(indices.capacity());
    for (c, input) in x.chunks_exact(plane.max(1)).enumerate() {
        for (taps, _) in windows {
            let mut best: Option<usize> = None;
            for &t in taps {
                let better = match best {
                    // Only NaN is below nothing.
                    None => input[t] >= T::LOWEST,
                    Some(b) => input[t] > input[b],
                };
                if better {
                    best = Some(t);
                }
            }
            y.push(best.map_or(T::LOWEST, |t| input[t]));
            indices.push(best.map_or(-1, |t| (c * plane + storage[t]) as i64));
        }
    }
    y
}

/// Mean or max over all spatial positions of each channel.
pub fn global_pool(x: &Value, max: bool) -> R<Vec<f32>> {
    let xs = x.floats("global pooling")?;
    let channels = x.shape[0] * x.shape[1];
    let size: usize = x.shape[2..].iter().product();
    Ok((0..channels)
        .map(|c| {
            let plane = &xs[c * size..(c + 1) * size];
            if max {
                plane.iter().copied().fold(f32::NEG_INFINITY, f32::max)
            } else {
                (plane.iter().map(|&v| v as f64).sum::<f64>() / size as f64) as f32
            }
        })
        .collect())
}

/// Inference batch normalisation over axis 1.
pub fn batch_norm(x: &Value, params: &[&Value], epsilon: f32) -> R<Vec<f32>> {
    let xs = x.floats("BatchNormalization")?;
    let [scale, bias, mean, var] =
        [0, 1, 2, 3].map(|i| params[i].floats("BatchNormalization").map(|v| v.to_vec()));
    let (scale, bias, mean, var) = (scale?, bias?, mean?, var?);
    let channels = x.shape.get(1).copied().unwrap_or(1);
    let inner: usize = x.shape.iter().skip(2).product();
    Ok(xs
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = (i / inner) % channels;
            let normalized =
                (v as f64 - mean[c] as f64) / (var[c] as f64 + epsilon as f64).sqrt();
            (normalized * scale[c] as f64 + bias[c] as f64) as f32
        })
        .collect())
}

/// Resize: each output element interpolates the input at the source coordinates of its
/// resized axes (nearest: one tap per axis; linear: two taps per axis, blended multilinearly;
/// cubic and antialiased linear: the filter taps of
/// [`crate::ir::shape::resize_filter_taps`]).
pub fn resize(a: &ResizeAttrs, x: &Value, out_shape: &[usize]) -> R<Vec<f32>> {
    let xs = x.floats("Resize")?;
    let rank = x.shape.len();
    let in_strides = strides_of(&x.shape);
    let out_strides = strides_of(out_shape);
    let roi = |d: usize| {
        if a.roi.len() == 2 * rank {
            (a.roi[d], a.roi[rank + d])
        } else {
            (0.0, 1.0)
        }
    };
    // Per axis and output coordinate: the taps (input index, weight), or None when outside.
    type Taps = Option<Vec<(usize, f32)>>;
    let taps: Vec<Vec<Taps>> = (0..rank)
        .map(|d| resize_axis_taps(a, a.scales[d], x.shape[d], out_shape[d], roi(d)))
        .collect();
    let n: usize = out_shape.iter().product();
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let axis_taps: Option<Vec<&Vec<(usize, f32)>>> = (0..rank)
            .map(|d| taps[d][(i / out_strides[d]) % out_shape[d]].as_ref())
            .collect();
        let Some(axis_taps) = axis_taps else {
            y.push(a.extrapolation_value);
            continue;
        };
        // Sum over every combination of one tap per axis.
        let mut sum = 0f64;
        let combos: usize = axis_taps.iter().map(|t| t.len()).product();
        for mut c in 0..combos {
            let (mut offset, mut weight) = (0, 1f64);
            for d in (0..rank).rev() {
                let (idx, w) = axis_taps[d][c % axis_taps[d].len()];
                c /= axis_taps[d].len();
                offset += idx * in_strides[d];
                weight *= w as f64;
            }
            sum += weight * xs[offset] as f64;
        }
        y.push(sum as f32);
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ONNX's `test_maxpool_with_argmax_2d_precomputed_pads`: a 5×5 window with padding 2 over
    /// the values 1..=25.
    #[test]
    fn max_pool_gives_the_onnx_example_values_and_indices() {
        let x = Value::f32(vec![1, 1, 5, 5], (1..=25).map(|v| v as f32).collect());
        let a = PoolAttrs {
            kernel_shape: vec![5, 5],
            strides: vec![1, 1],
            dilations: vec![1, 1],
            pads: vec![2, 2, 2, 2],
            ..Default::default()
        };
        let (values, indices) = max_pool(&a, &x, &[1, 1, 5, 5]).unwrap();
        let row = |r: [f32; 5]| r.to_vec();
        let expected: Vec<f32> = [
            row([13.0, 14.0, 15.0, 15.0, 15.0]),
            row([18.0, 19.0, 20.0, 20.0, 20.0]),
            row([23.0, 24.0, 25.0, 25.0, 25.0]),
            row([23.0, 24.0, 25.0, 25.0, 25.0]),
            row([23.0, 24.0, 25.0, 25.0, 25.0]),
        ]
        .concat();
        assert_eq!(values, TensorData::F32(expected.clone()));
        let expected: Vec<i64> = expected.iter().map(|&v| v as i64 - 1).collect();
        assert_eq!(indices, expected);
        // Column-major: the same positions, numbered down the columns.
        let a = PoolAttrs {
            column_major_indices: true,
            ..a
        };
        let (_, indices) = max_pool(&a, &x, &[1, 1, 5, 5]).unwrap();
        assert_eq!(indices[..5], [12, 17, 22, 22, 22]);
    }

    /// A 2×2×2 window with padding 1 over a 2×2×2 cube of ones, stride 2: each output window
    /// holds one input tap, out of 8 padded ones.
    #[test]
    fn average_pool_3d_counts_padding_on_request() {
        let x = Value::f32(vec![1, 1, 2, 2, 2], vec![1.0; 8]);
        let a = PoolAttrs {
            kernel_shape: vec![2, 2, 2],
            strides: vec![2, 2, 2],
            dilations: vec![1, 1, 1],
            pads: vec![1; 6],
            ..Default::default()
        };
        assert_eq!(
            average_pool(&a, &x, &[1, 1, 2, 2, 2]).unwrap(),
            vec![1.0; 8]
        );
        let a = PoolAttrs {
            count_include_pad: true,
            ..a
        };
        assert_eq!(
            average_pool(&a, &x, &[1, 1, 2, 2, 2]).unwrap(),
            vec![0.125; 8]
        );
    }

    /// Depth stride 2 with a depth-2 kernel: each input plane writes two output planes.
    #[test]
    fn conv_transpose_3d_scatters_along_depth() {
        let x = Value::f32(vec![1, 1, 2, 1, 1], vec![1.0, 2.0]);
        let w = Value::f32(vec![1, 1, 2, 1, 1], vec![1.0, 10.0]);
        let a = ConvTransposeAttrs {
            kernel_shape: vec![2, 1, 1],
            strides: vec![2, 1, 1],
            dilations: vec![1, 1, 1],
            pads: vec![0; 6],
            ..Default::default()
        };
        let b = Value::f32(vec![1], vec![0.5]);
        let y = conv_transpose(&a, &x, &w, Some(&b), &[1, 1, 4, 1, 1]).unwrap();
        assert_eq!(y, vec![1.5, 10.5, 2.5, 20.5]);
    }
}
