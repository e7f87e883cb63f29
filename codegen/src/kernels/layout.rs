//! Kernels that move elements without arithmetic: strided copies (transpose, slice), block
//! copies (concat, split), padding and gathering.
//!
//! The copies are generic over the element type, so that float32 and int8 tensors (whose
//! input and output share one quantization) use the same code.

use super::elementwise::Number;

/// Axes of a strided copy.
pub const MAX_RANK: usize = 6;

/// `y` (contiguous, shape `shape`) takes `x[offset + sum(i[d] * strides[d])]`. Transpose is a
/// strided copy with permuted strides; slice one with scaled (possibly negative) strides.
#[derive(Clone, Copy, Debug)]
pub struct Strided {
    pub shape: [usize; MAX_RANK],
    pub strides: [isize; MAX_RANK],
    pub offset: usize,
}

#[inline(always)]
pub fn strided_copy<T: Copy>(p: Strided, x: &[T], y: &mut [T]) {
    let [n0, n1, n2, n3, n4, n5] = p.shape;
    let s = p.strides;
    let mut out = 0;
    for i0 in 0..n0 {
        for i1 in 0..n1 {
            for i2 in 0..n2 {
                for i3 in 0..n3 {
                    for i4 in 0..n4 {
                        let base = p.offset as isize
                            + i0 as isize * s[0]
                            + i1 as isize * s[1]
                            + i2 as isize * s[2]
                            + i3 as isize * s[3]
                            + i4 as isize * s[4];
                        let row = &mut y[out..out + n5];
                        if s[5] == 1 {
                            row.copy_from_slice(&x[base as usize..base as usize + n5]);
                        } else {
                            for (i, o) in row.iter_mut().enumerate() {
                                *o = x[(base + i as isize * s[5]) as usize];
                            }
                        }
                        out += n5;
                    }
                }
            }
        }
    }
}

/// `count` blocks of `len` elements: block `b` goes from `x[src_offset + b * src_stride..]` to
/// `y[dst_offset + b * dst_stride..]` (one input of a concat, or one output of a split).
#[derive(Clone, Copy, Debug)]
pub struct Blocks {
    pub count: usize,
    pub len: usize,
    pub src_offset: usize,
    pub src_stride: usize,
    pub dst_offset: usize,
    pub dst_stride: usize,
}

#[inline(always)]
pub fn copy_blocks<T: Copy>(p: Blocks, x: &[T], y: &mut [T]) {
    for b in 0..p.count {
        let src = p.src_offset + b * p.src_stride;
        let dst = p.dst_offset + b * p.dst_stride;
        y[dst..dst + p.len].copy_from_slice(&x[src..src + p.len]);
    }
}

/// How `pad` fills positions outside the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PadMode {
    Constant(f32),
    Reflect,
    Edge,
    /// Wrap-around: each axis, after cropping by negative pads, is a ring.
    Wrap,
}

/// Padding (or, with negative pads, cropping) of every axis.
#[derive(Clone, Copy, Debug)]
pub struct Pad {
    pub in_shape: [usize; MAX_RANK],
    pub out_shape: [usize; MAX_RANK],
    pub pads_begin: [isize; MAX_RANK],
    pub pads_end: [isize; MAX_RANK],
    pub mode: PadMode,
}

/// The input index an output index reads along one axis, or `None` for the constant.
#[inline(always)]
fn source(
    i: usize,
    len: usize,
    pad: isize,
    pad_end: isize,
    mode: PadMode,
) -> Option<usize> {
    let p = i as isize - pad;
    let n = len as isize;
    // Inside the input, `p` is also inside what negative pads leave of it.
    if (0..n).contains(&p) {
        return Some(p as usize);
    }
    match mode {
        PadMode::Constant(_) => None,
        PadMode::Wrap => {
            // The ring is what negative pads leave of the axis (shape inference checked
            // that something is left).
            let start = (-pad).max(0);
            let kept = (n - start - (-pad_end).max(0)).max(1);
            Some((start + (p - start).rem_euclid(kept)) as usize)
        }
        PadMode::Edge => Some(p.clamp(0, n - 1) as usize),
        PadMode::Reflect => {
            let period = 2 * (n - 1).max(1);
            let mut q = p.rem_euclid(period);
            if q >= n {
                q = period - q;
            }
            Some(q as usize)
        }
    }
}

/// [`Pad`] of any element type; the constant is converted as Rust's `as` would.
#[inline(always)]
pub fn pad<T: Number>(p: Pad, x: &[T], y: &mut [T]) {
    let fill = match p.mode {
        PadMode::Constant(v) => T::from_f64(v as f64),
        _ => T::from_f64(0.0),
    };
    let mut in_strides = [1usize; MAX_RANK];
    for d in (0..MAX_RANK - 1).rev() {
        in_strides[d] = in_strides[d + 1] * p.in_shape[d + 1];
    }
    let [n0, n1, n2, n3, n4, n5] = p.out_shape;
    let at = |d: usize, i: usize| {
        source(i, p.in_shape[d], p.pads_begin[d], p.pads_end[d], p.mode)
            .map(|s| s * in_strides[d])
    };
    let mut out = 0;
    for i0 in 0..n0 {
        let s0 = at(0, i0);
        for i1 in 0..n1 {
            let s1 = at(1, i1);
            for i2 in 0..n2 {
                let s2 = at(2, i2);
                for i3 in 0..n3 {
                    let s3 = at(3, i3);
                    for i4 in 0..n4 {
                        let s4 = at(4, i4);
                        let row = &mut y[out..out + n5];
                        match (s0, s1, s2, s3, s4) {
                            (Some(a), Some(b), Some(c), Some(d), Some(e)) => {
                                let base = a + b + c + d + e;
                                for (i5, o) in row.iter_mut().enumerate() {
                                    *o = at(5, i5).map_or(fill, |f| x[base + f]);
                                }
                            }
                            _ => row.fill(fill),
                        }
                        out += n5;
                    }
                }
            }
        }
    }
}

/// `y[o, j, i] = x[o, indices[j], i]` for an `[outer, axis_len, inner]` view of `x`.
#[derive(Clone, Copy, Debug)]
pub struct Gather {
    pub outer: usize,
    pub axis_len: usize,
    pub inner: usize,
}

#[inline(always)]
pub fn gather<T: Copy>(p: Gather, indices: &[u32], x: &[T], y: &mut [T]) {
    let mut out = 0;
    for o in 0..p.outer {
        for &j in indices {
            let src = (o * p.axis_len + j as usize) * p.inner;
            y[out..out + p.inner].copy_from_slice(&x[src..src + p.inner]);
            out += p.inner;
        }
    }
}

/// An index read at run time as a position along an axis of `len` elements: negative
/// indices count from the end, and out-of-range ones are clamped (ONNX leaves them undefined;
/// clamping keeps every read inside the input).
#[inline(always)]
fn position<I: Number>(index: I, len: usize) -> usize {
    let i = index.to_i64();
    let j = if i < 0 { i.wrapping_add(len as i64) } else { i };
    j.clamp(0, len as i64 - 1) as usize
}

/// [`gather`] with indices of any integer type computed at run time.
#[inline(always)]
pub fn gather_indexed<I: Number, T: Copy>(p: Gather, indices: &[I], x: &[T], y: &mut [T]) {
    let mut out = 0;
    for o in 0..p.outer {
        for &j in indices {
            let src = (o * p.axis_len + position(j, p.axis_len)) * p.inner;
            y[out..out + p.inner].copy_from_slice(&x[src..src + p.inner]);
            out += p.inner;
        }
    }
}

/// `GatherElements`: `y` (contiguous, shape `shape`, the indices' shape) takes the element of
/// `x` at the same coordinates except along `axis`, where the index says. Axes are padded at
/// the front to [`MAX_RANK`].
#[derive(Clone, Copy, Debug)]
pub struct GatherElements {
    pub shape: [usize; MAX_RANK],
    pub x_strides: [usize; MAX_RANK],
    pub axis: usize,
    pub axis_len: usize,
}

#[inline(always)]
pub fn gather_elements<I: Number, T: Copy>(
    p: GatherElements,
    indices: &[I],
    x: &[T],
    y: &mut [T],
) {
    let mut coordinate = [0usize; MAX_RANK];
    for (o, &index) in y.iter_mut().zip(indices) {
        let mut src = 0;
        for (d, (&c, &stride)) in coordinate.iter().zip(&p.x_strides).enumerate() {
            let c = if d == p.axis {
                position(index, p.axis_len)
            } else {
                c
            };
            src += c * stride;
        }
        *o = x[src];
        // The next coordinate, innermost axis first.
        for d in (0..MAX_RANK).rev() {
            coordinate[d] += 1;
            if coordinate[d] < p.shape[d] {
                break;
            }
            coordinate[d] = 0;
        }
    }
}

/// `Tile`: `y` (contiguous, shape `shape`) takes `x` at each coordinate modulo `x_shape`.
#[derive(Clone, Copy, Debug)]
pub struct Tile {
    pub shape: [usize; MAX_RANK],
    pub x_shape: [usize; MAX_RANK],
    pub x_strides: [usize; MAX_RANK],
}

#[inline(always)]
pub fn tile<T: Copy>(p: Tile, x: &[T], y: &mut [T]) {
    let mut coordinate = [0usize; MAX_RANK];
    for o in y.iter_mut() {
        let mut src = 0;
        for ((&c, &size), &stride) in coordinate.iter().zip(&p.x_shape).zip(&p.x_strides) {
            src += (c % size) * stride;
        }
        *o = x[src];
        for d in (0..MAX_RANK).rev() {
            coordinate[d] += 1;
            if coordinate[d] < p.shape[d] {
                break;
            }
            coordinate[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::op::{PadAttrs, PadMode as IrPadMode};
    use crate::ir::{TensorData, strides_of};
    use crate::kernels::test_support::floats;
    use proptest::prelude::*;

    fn pad6<T: Copy>(v: &[T], fill: T) -> [T; MAX_RANK] {
        let mut out = [fill; MAX_RANK];
        out[MAX_RANK - v.len()..].copy_from_slice(v);
        out
    }

    fn f32s(d: TensorData) -> Vec<f32> {
        d.as_f32().unwrap().to_vec()
    }

    proptest! {
        #[test]
        fn transpose_as_strided_copy(shape in prop::collection::vec(1..4usize, 1..6), seed in any::<u64>(), perm_seed in any::<u64>()) {
            let rank = shape.len();
            let mut perm: Vec<usize> = (0..rank).collect();
            let mut s = perm_seed;
            for i in (1..rank).rev() { s = s.wrapping_mul(6364136223846793005).wrapping_add(1); perm.swap(i, (s >> 33) as usize % (i + 1)); }
            let x = floats(seed, shape.iter().product());
            let expected = f32s(crate::eval::layout::transpose(&Value::f32(shape.clone(), x.clone()), &perm));
            let strides = strides_of(&shape);
            let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
            let st: Vec<isize> = perm.iter().map(|&p| strides[p] as isize).collect();
            let mut y = vec![f32::NAN; x.len()];
            strided_copy(Strided { shape: pad6(&out_shape, 1), strides: pad6(&st, 0), offset: 0 }, &x, &mut y);
            prop_assert_eq!(y, expected);
        }

        #[test]
        fn pad_matches_the_reference(shape in prop::collection::vec(1..5usize, 1..4), pads in prop::collection::vec(-1..6i64, 8), mode in 0..4usize, seed in any::<u64>()) {
            let rank = shape.len();
            let mut full: Vec<i64> = pads[..2 * rank].to_vec();
            let mode_ir = [IrPadMode::Constant, IrPadMode::Reflect, IrPadMode::Edge, IrPadMode::Wrap][mode];
            for d in 0..rank {
                let n = shape[d] as i64;
                if mode_ir == IrPadMode::Reflect { full[d] = full[d].min(n - 1); full[rank + d] = full[rank + d].min(n - 1); }
                if full[d] + full[rank + d] + n <= 0 || n + full[d].min(0) + full[rank + d].min(0) <= 0 { full[d] = 0; full[rank + d] = 0; }
            }
            let out_shape: Vec<usize> = (0..rank).map(|d| (shape[d] as i64 + full[d] + full[rank + d]) as usize).collect();
            let x = floats(seed, shape.iter().product());
            let attrs = PadAttrs { mode: mode_ir, pads: full.clone(), value: 0.5, axes: None };
            let expected = f32s(crate::eval::layout::pad(&Value::f32(shape.clone(), x.clone()), &attrs, &out_shape).unwrap());
            let begins: Vec<isize> = full[..rank].iter().map(|&v| v as isize).collect();
            let ends: Vec<isize> = full[rank..].iter().map(|&v| v as isize).collect();
            let kernel_mode = [PadMode::Constant(0.5), PadMode::Reflect, PadMode::Edge, PadMode::Wrap][mode];
            let p = Pad { in_shape: pad6(&shape, 1), out_shape: pad6(&out_shape, 1), pads_begin: pad6(&begins, 0), pads_end: pad6(&ends, 0), mode: kernel_mode };
            let mut y = vec![f32::NAN; expected.len()];
            pad(p, &x, &mut y);
            prop_assert_eq!(y, expected);
        }
    }

    /// The examples of the ONNX Pad spec: wrap, edge and reflect padding of a [3, 2] matrix,
    /// on int32 as the conformance tests use.
    #[test]
    fn pad_spec_examples_on_integers() {
        let x: [i32; 6] = [1, 2, 3, 4, 5, 6];
        let run = |mode, begins: [isize; 2], ends: [isize; 2], out: [usize; 2]| {
            let p = Pad {
                in_shape: pad6(&[3, 2], 1),
                out_shape: pad6(&out, 1),
                pads_begin: pad6(&begins, 0),
                pads_end: pad6(&ends, 0),
                mode,
            };
            let mut y = vec![0i32; out[0] * out[1]];
            pad(p, &x, &mut y);
            y
        };
        // The spec's wrap example: pads [2, 1, 1, 1].
        assert_eq!(
            run(PadMode::Wrap, [2, 1], [1, 1], [6, 4]),
            [
                4, 3, 4, 3, //
                6, 5, 6, 5, //
                2, 1, 2, 1, //
                4, 3, 4, 3, //
                6, 5, 6, 5, //
                2, 1, 2, 1,
            ]
        );
        assert_eq!(
            run(PadMode::Edge, [0, 2], [0, 0], [3, 4]),
            [1, 1, 1, 2, 3, 3, 3, 4, 5, 5, 5, 6]
        );
        assert_eq!(
            run(PadMode::Reflect, [0, 1], [0, 1], [3, 4]),
            [2, 1, 2, 1, 4, 3, 4, 3, 6, 5, 6, 5]
        );
        // A constant converts to the element type; negative pads crop before wrapping.
        assert_eq!(
            run(PadMode::Constant(7.9), [1, 0], [0, 0], [4, 2]),
            [7, 7, 1, 2, 3, 4, 5, 6]
        );
        assert_eq!(
            run(PadMode::Wrap, [-1, 0], [1, 0], [3, 2]),
            [3, 4, 5, 6, 3, 4]
        );
    }

    #[test]
    fn blocks_and_gather() {
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let mut y = vec![0.0; 6];
        // The middle column pair of a [3, 4] matrix.
        copy_blocks(
            Blocks {
                count: 3,
                len: 2,
                src_offset: 1,
                src_stride: 4,
                dst_offset: 0,
                dst_stride: 2,
            },
            &x,
            &mut y,
        );
        assert_eq!(y, [1.0, 2.0, 5.0, 6.0, 9.0, 10.0]);
        gather(
            Gather {
                outer: 3,
                axis_len: 4,
                inner: 1,
            },
            &[3, 0],
            &x,
            &mut y,
        );
        assert_eq!(y, [3.0, 0.0, 7.0, 4.0, 11.0, 8.0]);
    }
}
