//! Kernels of fully connected layers whose weights are stored without their zeros: the int8
//! fully connected layer and the float `Gemm`, each in two sparse formats (the int8
//! convolution's are in [`super::sparse_conv`]); and the int8 fully connected layer
//! whose weights share a few values (`--cluster K`), stored as a codebook and indices (float
//! layers read theirs through [`super::weights::Codebook`]). The back end
//! (`backend::lower::sparse`) stores a layer in whichever of dense, [runs](#runs) and
//! [bitmask](#bitmask) takes the fewest bytes, counting every array the format needs (a sparse
//! one only when it saves a quarter of the dense bytes), so a
//! pruned model (`--prune`) or one that arrives with zero weights gets smaller code without a
//! flag, and a dense one stays as it was.
//!
//! Both formats store the weight matrix as `[n, k]` rows, one per output, and keep its
//! non-zero values (`values`) in row order; they differ in how they say where each value is.
//!
//! # Runs
//! Entry `t` has a 4-bit *run*, the number of zero weights between the previous entry (or the
//! start of the matrix) and this one, packed two per byte (entry `2i` in the low nibble of byte
//! `i`). Positions are counted over the whole matrix, so a run may cross the end of a row and
//! no row offsets are needed. A run of more than 15 zeros is cut by a *filler* entry whose
//! value is zero, which the kernel multiplies like any other (it adds nothing). Cost: one value
//! and half a byte per entry.
//!
//! # Bitmask
//! Each row has `k.div_ceil(8)` bytes of mask, bit `q % 8` of byte `q / 8` set when weight `q`
//! is stored. Cost: one value per non-zero and one bit per weight.
//!
//! # Why these two
//! A column index per value (CSR) is the usual format, but with `u8` indices it costs a whole
//! byte per non-zero (plus row offsets), twice what runs cost, so for int8 weights it loses to
//! runs until fewer than about one weight in twenty is left. On the digits MLP of
//! `fixtures/ptq/` with `--prune 0.8 --quantize int8`, the three weight matrices (6,464 int8
//! weights, 1,287 non-zero) take 2,058 bytes as runs (1,371 entries with their fillers), 2,095
//! as a bitmask and 2,792 as CSR with `u8` indices and `u16` row offsets; with the biases and
//! scales, runs are what brings the layer's static data under 40 % of dense int8 (39.7 %,
//! where a bitmask gives 40.2 %). With 2:4 pruning (half the weights) a bitmask (0.625 bytes
//! per weight, as small as the two-values-and-a-4-bit-mask format of 2:4 hardware, which it
//! contains) beats runs (0.75 bytes and more). Both formats
//! decode sequentially with no multiplication or division in the inner loop: runs with an add
//! and a compare per entry, a bitmask with `trailing_zeros` per set bit.
//!
//! The arithmetic is the dense kernels': the int8 layer goes through the same
//! [`super::int8::fully_connected_by`] (i32 accumulation, TFLite's double-precision requantization), so it
//! gives the dense kernel's bytes; the float one adds the products in the dense kernel's order
//! (increasing `k`, onto the bias), so it gives the dense kernel's floats unless an input is
//! infinite or NaN (whose product with a skipped zero weight the dense kernel would add).

// Paths rather than `use` lists that mix cases: rustfmt's 2021 and 2024 editions sort those
// differently, and generated code must be clean under both.
use super::gemm::Gemm;
use super::int8::FullyConnectedI8;
use super::weights::Weights;

/// The run of zeros before entry `t` ([runs](self#runs)).
#[inline(always)]
pub fn run_at(runs: &[u8], t: usize) -> usize {
    ((runs[t / 2] >> ((t % 2) * 4)) & 0xF) as usize
}

/// Where the walk through a run-coded matrix is: the next entry and the position just after
/// the previous one (flat, over the whole `[n, k]` matrix).
#[derive(Clone, Copy, Debug)]
pub struct RunCursor {
    entry: usize,
    position: usize,
}

impl RunCursor {
    pub const START: RunCursor = RunCursor {
        entry: 0,
        position: 0,
    };

    /// Calls `f(column, entry)` for each of the `entries` that lies in row `row` of a matrix of
    /// `k` columns, and leaves the cursor at the first entry of a later row.
    #[inline(always)]
    pub fn row(
        &mut self,
        runs: &[u8],
        entries: usize,
        row: usize,
        k: usize,
        mut f: impl FnMut(usize, usize),
    ) {
        let (row_start, row_end) = (row * k, (row + 1) * k);
        while self.entry < entries {
            let position = self.position + run_at(runs, self.entry);
            if position >= row_end {
                break;
            }
            f(position - row_start, self.entry);
            self.position = position + 1;
            self.entry += 1;
        }
    }
}

/// Calls `f(column, entry)` for each set bit of row `row` of a [bitmask](self#bitmask) of `k`
/// columns, `entry` counting on from `*entry`.
#[inline(always)]
pub fn mask_row(
    mask: &[u8],
    row: usize,
    k: usize,
    entry: &mut usize,
    mut f: impl FnMut(usize, usize),
) {
    let row_bytes = k.div_ceil(8);
    for (b, &byte) in mask[row * row_bytes..(row + 1) * row_bytes]
        .iter()
        .enumerate()
    {
        let mut bits = byte;
        while bits != 0 {
            f(b * 8 + bits.trailing_zeros() as usize, *entry);
            *entry += 1;
            bits &= bits - 1;
        }
    }
}

/// [`super::int8::fully_connected_i8`] with run-coded weights: `values` are the entries of the
/// `[n, k]` weight matrix (zero-point-valued fillers included), `runs` their runs of zeros.
#[inline(always)]
pub fn fully_connected_i8_runs(
    p: FullyConnectedI8,
    a: &[i8],
    values: &[i8],
    runs: &[u8],
    bias: &[i32],
    weight_scales: &[f32],
    y: &mut [i8],
) {
    let mut cursor = RunCursor::START;
    super::int8::fully_connected_by(p, a, bias, weight_scales, y, |j, row| {
        if j == 0 {
            cursor = RunCursor::START;
        }
        let mut acc = 0i32;
        cursor.row(runs, values.len(), j, p.k, |q, t| {
            acc += (row[q] as i32 - p.input_zero_point)
                * (values[t] as i32 - p.weight_zero_point);
        });
        acc
    });
}

/// [`super::int8::fully_connected_i8`] with the weights that are not the zero point as
/// `values`, in row order, and a bitmask of where they are.
#[inline(always)]
pub fn fully_connected_i8_bitmask(
    p: FullyConnectedI8,
    a: &[i8],
    values: &[i8],
    mask: &[u8],
    bias: &[i32],
    weight_scales: &[f32],
    y: &mut [i8],
) {
    let mut entry = 0;
    super::int8::fully_connected_by(p, a, bias, weight_scales, y, |j, row| {
        if j == 0 {
            entry = 0;
        }
        let mut acc = 0i32;
        mask_row(mask, j, p.k, &mut entry, |q, t| {
            acc += (row[q] as i32 - p.input_zero_point)
                * (values[t] as i32 - p.weight_zero_point);
        });
        acc
    });
}

/// [`super::int8::fully_connected_i8`] with weights shared among at most 256 int8 values
/// (`--cluster K`): weight `q` of output `j` is `codebook[i]` with `i` the
/// [`codebook_index`](super::weights::codebook_index) of position `j * k + q`.
#[inline(always)]
pub fn fully_connected_i8_codebook(
    p: FullyConnectedI8,
    a: &[i8],
    codebook: &[i8],
    indices: &[u8],
    bias: &[i32],
    weight_scales: &[f32],
    y: &mut [i8],
) {
    super::int8::fully_connected_by(p, a, bias, weight_scales, y, |j, row| {
        let mut acc = 0i32;
        for (q, &x) in row.iter().enumerate() {
            let i = super::weights::codebook_index(indices, codebook.len(), j * p.k + q);
            acc += (x as i32 - p.input_zero_point)
                * (codebook[i] as i32 - p.weight_zero_point);
        }
        acc
    });
}

/// [`super::gemm::gemm`] with run-coded weights (`p.trans_a` false): `values` holds the
/// `entries` entries of `B` as `[n, k]` rows, read through [`Weights`] (so they may be int8 or
/// float16 too), `runs` their runs of zeros.
#[inline(always)]
pub fn gemm_runs(
    p: Gemm,
    a: &[f32],
    values: impl Weights,
    runs: &[u8],
    entries: usize,
    c: &[f32],
    y: &mut [f32],
) {
    let mut cursor = RunCursor::START;
    super::gemm::gemm_by_rows(p, a, c, y, |j, x, mut acc| {
        if j == 0 {
            cursor = RunCursor::START;
        }
        cursor.row(runs, entries, j, p.k, |q, t| {
            acc += (p.alpha * x[q]) * values.at(t, j);
        });
        acc
    });
}

/// [`super::gemm::gemm`] with the non-zero weights of `B` as `[n, k]` rows in `values` and a
/// bitmask of where they are (`p.trans_a` false).
#[inline(always)]
pub fn gemm_bitmask(
    p: Gemm,
    a: &[f32],
    values: impl Weights,
    mask: &[u8],
    c: &[f32],
    y: &mut [f32],
) {
    let mut entry = 0;
    super::gemm::gemm_by_rows(p, a, c, y, |j, x, mut acc| {
        if j == 0 {
            entry = 0;
        }
        mask_row(mask, j, p.k, &mut entry, |q, t| {
            acc += (p.alpha * x[q]) * values.at(t, j);
        });
        acc
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::lower::sparse::{WeightFormat, encode};
    use crate::kernels::activation::Activation;
    use crate::kernels::gemm::{Bias, gemm};
    use crate::kernels::int8::fully_connected_i8;
    use crate::kernels::test_support::floats;
    use proptest::prelude::*;

    /// `[n, k]` int8 weights of which about `density` percent are not `zero`, with whole rows
    /// zero when `empty_rows` picks them.
    fn sparse_bytes(
        seed: u64,
        n: usize,
        k: usize,
        density: u32,
        zero: i8,
        empty_rows: u8,
    ) -> Vec<i8> {
        let keep = floats(seed ^ 7, n * k);
        floats(seed, n * k)
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let row_empty = empty_rows >> ((i / k) % 8) & 1 == 1;
                if row_empty || (keep[i] + 1.0) * 50.0 >= density as f32 {
                    zero
                } else {
                    (v * 127.0) as i8
                }
            })
            .collect()
    }

    fn int8_params(
        m: usize,
        k: usize,
        n: usize,
        weight_zero_point: i32,
    ) -> FullyConnectedI8 {
        FullyConnectedI8 {
            m,
            k,
            n,
            input_scale: 0.04,
            output_scale: 0.2,
            input_zero_point: -5,
            weight_zero_point,
            output_zero_point: 9,
            output_min: -128,
            output_max: 127,
        }
    }

    /// The dense kernel's bytes, and the sparse kernel's in `format`.
    fn int8_both(
        format: WeightFormat,
        p: FullyConnectedI8,
        a: &[i8],
        b: &[i8],
        bias: &[i32],
        scales: &[f32],
    ) -> (Vec<i8>, Vec<i8>) {
        let mut dense = vec![0i8; p.m * p.n];
        fully_connected_i8(p, a, b, bias, scales, &mut dense);
        let zero = p.weight_zero_point as i8;
        let encoded = encode(format, p.n, p.k, |i| b[i] == zero);
        let values: Vec<i8> = encoded.positions.iter().map(|&i| b[i]).collect();
        let mut sparse = vec![0i8; p.m * p.n];
        match format {
            WeightFormat::Runs => fully_connected_i8_runs(
                p,
                a,
                &values,
                &encoded.index,
                bias,
                scales,
                &mut sparse,
            ),
            WeightFormat::Bitmask => fully_connected_i8_bitmask(
                p,
                a,
                &values,
                &encoded.index,
                bias,
                scales,
                &mut sparse,
            ),
            WeightFormat::Dense => unreachable!("a sparse format"),
        }
        (dense, sparse)
    }

    /// The dense float kernel (constant `B` as `[k, n]`) and the sparse one in `format`.
    fn float_both(
        format: WeightFormat,
        p: Gemm,
        a: &[f32],
        b: &[f32],
        c: &[f32],
    ) -> (Vec<f32>, Vec<f32>) {
        let (k, n) = (p.k, p.n);
        let columns: Vec<f32> = (0..k * n).map(|i| b[(i % n) * k + i / n]).collect();
        let mut dense = vec![0.0; p.m * n];
        gemm(p, a, columns.as_slice(), c, &mut dense);
        let encoded = encode(format, n, k, |i| b[i] == 0.0);
        let values: Vec<f32> = encoded.positions.iter().map(|&i| b[i]).collect();
        let mut sparse = vec![0.0; p.m * n];
        match format {
            WeightFormat::Runs => gemm_runs(
                p,
                a,
                values.as_slice(),
                &encoded.index,
                values.len(),
                c,
                &mut sparse,
            ),
            WeightFormat::Bitmask => {
                gemm_bitmask(p, a, values.as_slice(), &encoded.index, c, &mut sparse)
            }
            WeightFormat::Dense => unreachable!("a sparse format"),
        }
        (dense, sparse)
    }

    fn sparse_format() -> impl Strategy<Value = WeightFormat> {
        prop_oneof![Just(WeightFormat::Runs), Just(WeightFormat::Bitmask)]
    }

    proptest! {
        /// Any sparsity from none to all, whole empty rows, `k` from 1 to past 255 (runs cross
        /// row ends and need fillers), per-tensor zero points that are not 0.
        #[test]
        fn int8_sparse_kernels_give_the_dense_kernels_bytes(
            format in sparse_format(), m in 1..4usize, k in prop_oneof![1..40usize, 250..300usize],
            n in 1..9usize, density in 0..=100u32, empty_rows in any::<u8>(), seed in any::<u64>(),
            zero_point in prop_oneof![Just(0i32), -3..3i32], per_channel in any::<bool>(),
        ) {
            let a: Vec<i8> = floats(seed ^ 1, m * k).iter().map(|v| (v * 127.0) as i8).collect();
            let b = sparse_bytes(seed, n, k, density, zero_point as i8, empty_rows);
            let bias: Vec<i32> = (0..n as i32).map(|j| j * 311 - 900).collect();
            let scales: Vec<f32> = if per_channel {
                (0..n).map(|j| 0.01 + 0.003 * j as f32).collect()
            } else {
                vec![0.02]
            };
            let p = int8_params(m, k, n, zero_point);
            let (dense, sparse) = int8_both(format, p, &a, &b, &bias, &scales);
            prop_assert_eq!(sparse, dense);
        }

        /// Weights of up to 16 values (4-bit indices) or more (8-bit), as a codebook: the
        /// dense kernel's bytes.
        #[test]
        fn int8_codebook_kernel_gives_the_dense_kernels_bytes(
            m in 1..4usize, k in 1..40usize, n in 1..9usize, count in 1..40usize,
            seed in any::<u64>(), zero_point in prop_oneof![Just(0i32), -3..3i32],
        ) {
            let a: Vec<i8> = floats(seed ^ 1, m * k).iter().map(|v| (v * 127.0) as i8).collect();
            let shared: Vec<i8> = (0..count).map(|v| (v as i32 * 6 - 120) as i8).collect();
            let indices: Vec<usize> = floats(seed, n * k)
                .iter()
                .map(|v| ((v.abs() * 1000.0) as usize) % count)
                .collect();
            let b: Vec<i8> = indices.iter().map(|&i| shared[i]).collect();
            let packed = crate::backend::lower::sparse::pack_indices(&indices, count);
            let bias: Vec<i32> = (0..n as i32).map(|j| j * 311 - 900).collect();
            let scales = [0.02f32];
            let p = int8_params(m, k, n, zero_point);
            let mut dense = vec![0i8; m * n];
            fully_connected_i8(p, &a, &b, &bias, &scales, &mut dense);
            let mut codebook = vec![0i8; m * n];
            fully_connected_i8_codebook(p, &a, &shared, &packed, &bias, &scales, &mut codebook);
            prop_assert_eq!(codebook, dense);
        }

        /// Same summation order as the dense kernel: the same floats, bit for bit.
        #[test]
        fn float_sparse_kernels_give_the_dense_kernels_floats(
            format in sparse_format(), m in 1..4usize, k in prop_oneof![1..40usize, 250..300usize],
            n in 1..9usize, density in 0..=100u32, empty_rows in any::<u8>(), seed in any::<u64>(),
            bias_kind in 0..3usize, alpha in prop_oneof![Just(1.0f32), 0.5f32..2.0],
            relu in any::<bool>(),
        ) {
            let a = floats(seed ^ 1, m * k);
            let b: Vec<f32> = sparse_bytes(seed, n, k, density, 0, empty_rows)
                .iter()
                .map(|&q| q as f32 / 37.0)
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
            let (dense, sparse) = float_both(format, p, &a, &b, &c);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&sparse), bits(&dense));
        }
    }

    #[test]
    fn an_all_zero_layer_stores_nothing_and_gives_the_bias() {
        let (m, k, n) = (2, 300, 3);
        let a: Vec<i8> = (0..m * k).map(|i| (i % 251) as i8).collect();
        let b = vec![0i8; n * k];
        for format in [WeightFormat::Runs, WeightFormat::Bitmask] {
            let encoded = encode(format, n, k, |i| b[i] == 0);
            assert!(encoded.positions.is_empty(), "{format:?}");
            let (dense, sparse) = int8_both(
                format,
                int8_params(m, k, n, 0),
                &a,
                &b,
                &[10, -20, 30],
                &[0.02],
            );
            assert_eq!(sparse, dense, "{format:?}");
        }
        // Runs need no bytes at all; the mask still has its bits.
        assert!(
            encode(WeightFormat::Runs, n, k, |i| b[i] == 0)
                .index
                .is_empty()
        );
        assert_eq!(
            encode(WeightFormat::Bitmask, n, k, |i| b[i] == 0)
                .index
                .len(),
            n * 38
        );
    }

    #[test]
    fn long_runs_of_zeros_are_cut_by_fillers_across_rows() {
        // k = 1: every row is one weight; a run of 40 zeros crosses 40 rows.
        let (m, k, n) = (1, 1, 45);
        let mut b = vec![0i8; n * k];
        b[0] = 5;
        b[41] = -7;
        let encoded = encode(WeightFormat::Runs, n, k, |i| b[i] == 0);
        // 0 (run 0), fillers at 16 and 32 (runs 15), 41 (run 8).
        assert_eq!(encoded.positions, vec![0, 16, 32, 41]);
        assert_eq!(encoded.index, vec![0xF0, 0x8F]);
        let a = vec![3i8];
        let bias: Vec<i32> = (0..n as i32).collect();
        let (dense, sparse) = int8_both(
            WeightFormat::Runs,
            int8_params(m, k, n, 0),
            &a,
            &b,
            &bias,
            &[0.02],
        );
        assert_eq!(sparse, dense);
    }
}
