//! Unrolled fully connected layers (`--unroll auto|full`): the int8 fully connected layer and
//! the float `Gemm` with a constant `B` (`trans_a` false) become, for each output, its dot
//! product as straight-line code with the weights as literal constants. A weight that is zero
//! (for int8: equal to the weight zero point) has no term at all, so what pruning zeroed costs
//! neither flash nor time, and no weight is decoded at run time: weights stored as int8,
//! float16 or a codebook are, to an unrolled layer, the constants they decode to (the values
//! the IR holds).
//!
//! ```text
//! let dot = |j: usize, row: &[i8]| {          // int8: called by int8::fully_connected_by
//!     let mut acc = 0i32;
//!     match j {
//!         0 => {
//!             acc += 1536;                      // −z_in · Σ (w − z_w), folded at compile time
//!             acc += row[3] as i32 * 37;
//!             acc -= row[9] as i32 * 12;
//!         }
//!         _ => {}                               // outputs whose weights are all zero
//!     }
//!     acc
//! };
//! ```
//!
//! # The arithmetic is the kernels'
//! The unrolled dot products are closures for the loops the kernels already share
//! (`int8::fully_connected_by`, `gemm::gemm_by_rows`), so bias, requantization and the fused
//! activation are the kernels' own code. The int8 sum Σ (x − z_in)(w − z_w) is computed as
//! Σ x·(w − z_w) − z_in·Σ (w − z_w), the second sum a constant per output: the same integer
//! (the identity is exact in `i32` arithmetic modulo 2³², and neither form overflows for layers
//! of fewer than 33,000 inputs), one subtraction fewer per term, so the output bytes are the
//! dense kernel's. The float products are added onto the bias in increasing `k`, each
//! `(alpha · x) · w` (or `x · w` when alpha is 1, which is the same float), as the dense `Gemm`
//! kernel adds them; a negative weight is printed as the subtraction of its magnitude, which
//! IEEE 754 makes the same float. The result is the dense kernel's floats, unless an input is
//! infinite or NaN (whose product with a skipped zero weight the dense kernel would add) or a
//! sum is a zero whose sign the skipped products would have changed.
//!
//! # When `auto` unrolls
//! A layer of at most [`AUTO_MAX_TERMS`] non-zero weights. Each term is one line of source
//! (about 30 bytes) and two or three instructions (a load with sign extension, a multiply by an
//! immediate and an add: about 13 bytes of x86-64 code, measured below), where the sparse
//! kernels store it in 1.5 bytes and a loop: unrolling trades about eight times the flash per
//! weight and compile time for the decoding work of every weight. 1,024 terms keep a layer's
//! code near 13 KB and its compile time under a second, the size of the layers (keyword
//! spotting heads, the pruned MLPs of microcontroller models) where the speed matters most
//! and the flash cost is small; beyond it, the sparse kernels' bytes win. `full` unrolls every
//! layer, whatever its size.
//!
//! # Measured
//! The digits MLP of `fixtures/ptq/` (64 → 64 → 32 → 10) with `--prune 0.8 --quantize int8`
//! (1,287 of 6,464 weights non-zero), one inference, x86-64, `rustc -O`:
//!
//! ```text
//!                          instructions     time    weights  Gemm code  source     rustc -O
//!                          (all / Gemms)
//! sparse (--unroll none)   51,217 / 45,422  6.8 µs  2,906 B   1,971 B    98,058 B  0.73 s
//! --unroll full (or auto)  15,686 /  9,891  4.0 µs    848 B  17,024 B   122,034 B  1.88 s
//! ```
//!
//! In float (`--prune 0.8` alone), 23,137 instructions per inference become 5,467 (2.4 µs
//! become 0.87 µs), 6,401 bytes of weights 424, and `rustc -O` takes 1.19 s instead of 0.65 s.
//! Instructions are counted by `valgrind --tool=callgrind` (the difference between 101 runs
//! and 1, over 100), times are averages of a million runs, code bytes are the layer functions'
//! symbol sizes. Unrolling makes the layers 4.6 times cheaper and moves about 13 bytes of code
//! per non-zero weight out of 1.6 bytes of data, which is the trade `auto` bounds.

use crate::backend::{
    UnrolledDot, UnrolledElement, UnrolledRow, UnrolledTerm, UnrolledWeight,
};
use crate::ir::Unroll;

/// The most non-zero weights of a layer that `--unroll auto` unrolls (see the module doc).
pub const AUTO_MAX_TERMS: usize = 1024;

/// Whether a layer with `nonzero` non-zero weights is unrolled under `unroll`.
pub fn chosen(unroll: Unroll, nonzero: usize) -> bool {
    match unroll {
        Unroll::None => false,
        Unroll::Auto => nonzero <= AUTO_MAX_TERMS,
        Unroll::Full => true,
    }
}

/// The dot products of an int8 layer of `n` outputs and `k` inputs whose weight `q` of output
/// `j` is `weight(j * k + q)`: terms `row[q] · (w − weight_zero_point)` for the weights that are
/// not the zero point, and the constant `−input_zero_point · Σ (w − weight_zero_point)` per
/// output. `None` when a constant does not fit an `i32` (a layer far too large to unroll).
pub fn int8_dot(
    n: usize,
    k: usize,
    weight: impl Fn(usize) -> i32,
    weight_zero_point: i32,
    input_zero_point: i32,
) -> Option<UnrolledDot> {
    let mut rows = Vec::new();
    for j in 0..n {
        let terms: Vec<UnrolledTerm> = (0..k)
            .filter_map(|q| {
                let w = weight(j * k + q) - weight_zero_point;
                (w != 0).then_some(UnrolledTerm {
                    input: q,
                    weight: UnrolledWeight::I32(w),
                })
            })
            .collect();
        if terms.is_empty() {
            continue;
        }
        let sum: i64 = terms
            .iter()
            .map(|t| match t.weight {
                UnrolledWeight::I32(w) => w as i64,
                UnrolledWeight::F32(_) => unreachable!("int8 terms"),
            })
            .sum();
        let constant = -(input_zero_point as i64) * sum;
        i32::try_from(constant).ok()?;
        rows.push(UnrolledRow {
            output: j,
            constant,
            terms,
        });
    }
    Some(UnrolledDot {
        element: UnrolledElement::Int8,
        rows,
    })
}

/// The dot products of a float layer of `n` outputs and `k` inputs whose weight `q` of output
/// `j` is `weight(j * k + q)`, with the `Gemm`'s `alpha`: a term for each weight that is not
/// zero, in increasing `q`.
pub fn float_dot(
    n: usize,
    k: usize,
    weight: impl Fn(usize) -> f32,
    alpha: f32,
) -> UnrolledDot {
    let rows = (0..n)
        .filter_map(|j| {
            let terms: Vec<UnrolledTerm> = (0..k)
                .filter_map(|q| {
                    let w = weight(j * k + q);
                    (w != 0.0).then_some(UnrolledTerm {
                        input: q,
                        weight: UnrolledWeight::F32(w),
                    })
                })
                .collect();
            (!terms.is_empty()).then_some(UnrolledRow {
                output: j,
                constant: 0,
                terms,
            })
        })
        .collect();
    UnrolledDot {
        element: UnrolledElement::Float { alpha },
        rows,
    }
}

impl UnrolledDot {
    /// The number of terms, one per non-zero weight.
    pub fn terms(&self) -> usize {
        self.rows.iter().map(|r| r.terms.len()).sum()
    }
}

impl UnrolledWeight {
    /// Whether an emitter writes the term as a subtraction (of [`Self::magnitude`]): for a
    /// negative weight, which reads better and is the same number (integers) or the same
    /// float (IEEE 754 negation is exact, and `a + (−b)` is `a − b`).
    pub fn is_negative(self) -> bool {
        match self {
            UnrolledWeight::I32(w) => w < 0,
            UnrolledWeight::F32(w) => w < 0.0,
        }
    }

    /// The weight without its sign.
    pub fn magnitude(self) -> UnrolledWeight {
        match self {
            UnrolledWeight::I32(w) => UnrolledWeight::I32(w.abs()),
            UnrolledWeight::F32(w) if w < 0.0 => UnrolledWeight::F32(-w),
            weight => weight,
        }
    }
}

/// What the generated code computes, evaluated here as an emitter prints it (constant first,
/// then each term added or subtracted by its sign and magnitude), so that tests can check the
/// representation against the kernels without compiling code.
#[cfg(test)]
mod evaluate {
    use super::*;

    pub fn int8(dot: &UnrolledDot, j: usize, row: &[i8]) -> i32 {
        let Some(r) = dot.rows.iter().find(|r| r.output == j) else {
            return 0;
        };
        let mut acc = r.constant as i32;
        for t in &r.terms {
            let (UnrolledWeight::I32(w), negative) =
                (t.weight.magnitude(), t.weight.is_negative())
            else {
                unreachable!("int8 terms")
            };
            let product = row[t.input] as i32 * w;
            acc = if negative {
                acc - product
            } else {
                acc + product
            };
        }
        acc
    }

    pub fn float(dot: &UnrolledDot, j: usize, row: &[f32], mut acc: f32) -> f32 {
        let UnrolledElement::Float { alpha } = dot.element else {
            unreachable!("float terms")
        };
        let Some(r) = dot.rows.iter().find(|r| r.output == j) else {
            return acc;
        };
        for t in &r.terms {
            let (UnrolledWeight::F32(w), negative) =
                (t.weight.magnitude(), t.weight.is_negative())
            else {
                unreachable!("float terms")
            };
            let x = if alpha == 1.0 {
                row[t.input]
            } else {
                alpha * row[t.input]
            };
            let product = if w == 1.0 { x } else { x * w };
            if negative {
                acc -= product;
            } else {
                acc += product;
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::activation::Activation;
    use crate::kernels::gemm::{Bias, Gemm, gemm, gemm_by_rows};
    use crate::kernels::int8::{FullyConnectedI8, fully_connected_by, fully_connected_i8};
    use crate::kernels::test_support::floats;
    use proptest::prelude::*;

    /// `len` int8 weights of which about `density` percent are not `zero`.
    fn weights(seed: u64, len: usize, density: u32, zero: i8) -> Vec<i8> {
        let keep = floats(seed ^ 7, len);
        floats(seed, len)
            .iter()
            .zip(&keep)
            .map(|(v, k)| {
                if (k + 1.0) * 50.0 >= density as f32 {
                    zero
                } else {
                    (v * 127.0) as i8
                }
            })
            .collect()
    }

    proptest! {
        /// The folded zero point and the skipped weights give the dense kernel's bytes.
        #[test]
        fn unrolled_int8_gives_the_dense_kernels_bytes(
            m in 1..4usize, k in 1..60usize, n in 1..9usize, density in 0..=100u32,
            seed in any::<u64>(), input_zero_point in -128..128i32,
            weight_zero_point in prop_oneof![Just(0i32), -3..3i32],
        ) {
            let a: Vec<i8> = floats(seed ^ 1, m * k).iter().map(|v| (v * 127.0) as i8).collect();
            let b = weights(seed, n * k, density, weight_zero_point as i8);
            let bias: Vec<i32> = (0..n as i32).map(|j| j * 311 - 900).collect();
            let scales: Vec<f32> = (0..n).map(|j| 0.01 + 0.003 * j as f32).collect();
            let p = FullyConnectedI8 {
                m, k, n, input_scale: 0.04, output_scale: 0.2, input_zero_point,
                weight_zero_point, output_zero_point: 9, output_min: -128, output_max: 127,
            };
            let dot = int8_dot(n, k, |i| b[i] as i32, weight_zero_point, input_zero_point)
                .unwrap();
            let nonzero = b.iter().filter(|&&w| w as i32 != weight_zero_point).count();
            prop_assert_eq!(dot.terms(), nonzero);
            let mut dense = vec![0i8; m * n];
            fully_connected_i8(p, &a, &b, &bias, &scales, &mut dense);
            let mut unrolled = vec![0i8; m * n];
            fully_connected_by(p, &a, &bias, &scales, &mut unrolled, |j, row| {
                evaluate::int8(&dot, j, row)
            });
            prop_assert_eq!(unrolled, dense);
        }

        /// Same products in the same order, subtractions for negative weights: the dense
        /// kernel's floats, bit for bit.
        #[test]
        fn unrolled_float_gives_the_dense_kernels_floats(
            m in 1..4usize, k in 1..60usize, n in 1..9usize, density in 0..=100u32,
            seed in any::<u64>(), alpha in prop_oneof![Just(1.0f32), 0.5f32..2.0],
            bias_kind in 0..3usize, relu in any::<bool>(),
        ) {
            let a = floats(seed ^ 1, m * k);
            // [n, k] rows, some weights exactly 1 (printed without a multiplication).
            let b: Vec<f32> = weights(seed, n * k, density, 0)
                .iter()
                .map(|&q| if q == 37 { 1.0 } else { q as f32 / 37.0 })
                .collect();
            let (bias, c) = match bias_kind {
                0 => (Bias::None, vec![]),
                1 => (Bias::Row, floats(seed ^ 2, n)),
                _ => (Bias::Full, floats(seed ^ 2, m * n)),
            };
            let p = Gemm {
                m, k, n, alpha, beta: 1.0, trans_a: false, trans_b: false, bias,
                activation: if relu { Activation::Relu } else { Activation::None },
            };
            let columns: Vec<f32> = (0..k * n).map(|i| b[(i % n) * k + i / n]).collect();
            let mut dense = vec![0.0; m * n];
            gemm(p, &a, columns.as_slice(), &c, &mut dense);
            let dot = float_dot(n, k, |i| b[i], alpha);
            prop_assert_eq!(dot.terms(), b.iter().filter(|&&w| w != 0.0).count());
            let mut unrolled = vec![0.0; m * n];
            gemm_by_rows(p, &a, &c, &mut unrolled, |j, row, acc| {
                evaluate::float(&dot, j, row, acc)
            });
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&unrolled), bits(&dense));
        }
    }

    #[test]
    fn auto_unrolls_up_to_the_threshold() {
        assert!(!chosen(Unroll::None, 1));
        assert!(chosen(Unroll::Auto, AUTO_MAX_TERMS));
        assert!(!chosen(Unroll::Auto, AUTO_MAX_TERMS + 1));
        assert!(chosen(Unroll::Full, 1 << 20));
    }

    #[test]
    fn rows_of_zero_weights_have_no_terms() {
        // Output 1's weights are all the zero point 2; output 0 has two others.
        let b = [2, 5, 2, -1, 2, 2, 2, 2];
        let dot = int8_dot(2, 4, |i| b[i], 2, -128).unwrap();
        assert_eq!(dot.rows.len(), 1);
        let row = &dot.rows[0];
        assert_eq!(row.output, 0);
        assert_eq!(
            row.terms.iter().map(|t| t.input).collect::<Vec<_>>(),
            [1, 3]
        );
        // −z_in · Σ (w − z_w) = 128 · (3 − 3).
        assert_eq!(row.constant, 0);
        let dot = int8_dot(1, 2, |i| [7, 0][i], 0, -128).unwrap();
        assert_eq!(dot.rows[0].constant, 128 * 7);
    }
}
