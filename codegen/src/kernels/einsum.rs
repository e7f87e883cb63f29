//! `Einsum` of one or two operands of any number type, as a walk over the whole index space
//! of its labels: `y[out] += a[ia] · b[ib]` with each offset the sum of the label indices times
//! the operand's stride for that label (0 when the operand lacks the label or broadcasts it).
//! A label repeated in one operand (a diagonal) has the sum of its strides.

use super::elementwise::{BinaryOp, Number};

/// Labels an `Einsum` may have in all.
pub const MAX_LABELS: usize = 8;

#[derive(Clone, Copy, Debug)]
pub struct Einsum {
    /// The size of each label; unused labels have size 1.
    pub sizes: [usize; MAX_LABELS],
    pub a_strides: [usize; MAX_LABELS],
    pub b_strides: [usize; MAX_LABELS],
    pub y_strides: [usize; MAX_LABELS],
    /// 1 or 2.
    pub operands: usize,
}

/// `y` is zeroed, then every product added to its element; `b` is unused with one operand.
#[inline(always)]
pub fn einsum<T: Number>(p: Einsum, a: &[T], b: &[T], y: &mut [T]) {
    let zero = T::from_i64(0);
    y.fill(zero);
    let total: usize = p.sizes.iter().product();
    let mut index = [0usize; MAX_LABELS];
    for _ in 0..total {
        let offset = |strides: &[usize; MAX_LABELS]| -> usize {
            index.iter().zip(strides).map(|(i, s)| i * s).sum()
        };
        let (ia, ib, iy) = (
            offset(&p.a_strides),
            offset(&p.b_strides),
            offset(&p.y_strides),
        );
        let term = if p.operands == 2 {
            T::binary(BinaryOp::Mul, a[ia], b[ib])
        } else {
            a[ia]
        };
        y[iy] = T::binary(BinaryOp::Add, y[iy], term);
        // The next index, the last label fastest.
        let mut l = MAX_LABELS;
        while l > 0 {
            l -= 1;
            index[l] += 1;
            if index[l] < p.sizes[l] {
                break;
            }
            index[l] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::einsum;
    use crate::kernels::test_support::{assert_close, floats};
    use proptest::prelude::*;

    /// The kernel parameters of resolved labels (the lowering builds the same).
    fn params(terms: &[Vec<i64>], output: &[i64], shapes: &[Vec<usize>]) -> Einsum {
        let sizes = einsum::label_sizes(terms, shapes).unwrap();
        let stride_of = einsum::label_stride;
        let out_shape: Vec<usize> = output
            .iter()
            .map(|l| sizes.iter().find(|(m, _)| m == l).unwrap().1)
            .collect();
        let mut p = Einsum {
            sizes: [1; MAX_LABELS],
            a_strides: [0; MAX_LABELS],
            b_strides: [0; MAX_LABELS],
            y_strides: [0; MAX_LABELS],
            operands: terms.len(),
        };
        for (k, &(l, size)) in sizes.iter().enumerate() {
            p.sizes[k] = size;
            p.a_strides[k] = stride_of(&terms[0], &shapes[0], l);
            if terms.len() > 1 {
                p.b_strides[k] = stride_of(&terms[1], &shapes[1], l);
            }
            p.y_strides[k] = stride_of(output, &out_shape, l);
        }
        p
    }

    proptest! {
        #[test]
        fn einsum_matches_the_reference(
            case in 0..7usize, n in 1..4usize, m in 1..4usize, k in 1..4usize, seed in any::<u64>()
        ) {
            let (equation, shapes): (&str, Vec<Vec<usize>>) = match case {
                0 => ("bij,bjk->bik", vec![vec![n, m, k], vec![n, k, m]]),
                1 => ("...ii->...i", vec![vec![n, m, m]]),
                2 => ("i,i", vec![vec![k], vec![k]]),
                3 => ("ij->i", vec![vec![n, m]]),
                4 => ("ij->ji", vec![vec![n, m]]),
                5 => ("->", vec![vec![]]),
                _ => ("ij,kj", vec![vec![n, m], vec![k, m]]),
            };
            let (terms, output) = einsum::parse(equation).unwrap();
            let ranks: Vec<usize> = shapes.iter().map(Vec::len).collect();
            let (terms, output) = einsum::resolve(&terms, output.as_deref(), &ranks).unwrap();
            let values: Vec<Value> = shapes
                .iter()
                .enumerate()
                .map(|(i, s)| Value::f32(s.clone(), floats(seed ^ i as u64, s.iter().product())))
                .collect();
            let refs: Vec<&Value> = values.iter().collect();
            let sizes = einsum::label_sizes(&terms, &shapes).unwrap();
            let out_shape: Vec<usize> = output.iter().map(|l| sizes.iter().find(|(m, _)| m == l).unwrap().1).collect();
            let expected = crate::eval::sequence::einsum(&terms, &output, &refs, &out_shape).unwrap();
            let p = params(&terms, &output, &shapes);
            let mut y = vec![f32::NAN; out_shape.iter().product()];
            let b: &[f32] = if refs.len() > 1 { refs[1].floats("").unwrap() } else { &[] };
            einsum(p, refs[0].floats("").unwrap(), b, &mut y);
            assert_close(&y, expected.as_f32().unwrap(), 1e-5);
        }
    }
}
