//! The choice between dense, sparse and codebook weights of a fully connected layer or an int8
//! convolution, and the encoding of the sparse formats that `kernels/sparse.rs` and
//! `kernels/sparse_conv.rs` read (the former's module doc describes them and says why these
//! two) and of codebook indices.
//!
//! The choice is by bytes alone: a layer is stored in the format whose arrays (values, runs or
//! mask) take the fewest bytes, dense on a tie. It never looks at `--prune`, so a model whose
//! file already holds zero weights gets the same treatment, and one without zeros stays dense.
//! The report reads the result from the lowered program (which static data belongs to which
//! layer, and the format each layer got), so there is one decision.

/// How a layer's weight matrix is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightFormat {
    Dense,
    /// The values that are not zero, each after a 4-bit run of zeros.
    Runs,
    /// The values that are not zero, and one bit per weight.
    Bitmask,
}

impl WeightFormat {
    /// The word the report, the layer comments and the kernels' names use.
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::Dense => "dense",
            WeightFormat::Runs => "runs",
            WeightFormat::Bitmask => "bitmask",
        }
    }
}

/// A sparse `[rows, k]` matrix: the flat positions whose values are stored, in order, and the
/// runs or the mask that say where they are.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    pub format: WeightFormat,
    /// Positions (`row * k + column`) of the stored values; a run filler's position holds a
    /// zero.
    pub positions: Vec<usize>,
    /// Runs (two per byte) or the mask (`k.div_ceil(8)` bytes per row).
    pub index: Vec<u8>,
}

/// The longest run of zeros one entry can say.
const MAX_RUN: usize = 15;

/// Encodes a `[rows, k]` matrix in a sparse `format` (`Runs` or `Bitmask`; `Dense` gives every
/// position and no index); `is_zero(position)` says which weights are left out.
pub fn encode(
    format: WeightFormat,
    rows: usize,
    k: usize,
    is_zero: impl Fn(usize) -> bool,
) -> Encoded {
    let len = rows * k;
    let mut positions = Vec::new();
    let mut index = Vec::new();
    match format {
        WeightFormat::Dense => positions.extend(0..len),
        WeightFormat::Runs => {
            let mut runs = Vec::new();
            let mut next = 0;
            for position in (0..len).filter(|&p| !is_zero(p)) {
                // Fillers: zero weights that are stored, so that no run exceeds 15.
                while position - next > MAX_RUN {
                    positions.push(next + MAX_RUN);
                    runs.push(MAX_RUN as u8);
                    next += MAX_RUN + 1;
                }
                positions.push(position);
                runs.push((position - next) as u8);
                next = position + 1;
            }
            index = runs
                .chunks(2)
                .map(|pair| pair[0] | pair.get(1).map_or(0, |high| high << 4))
                .collect();
        }
        WeightFormat::Bitmask => {
            let row_bytes = k.div_ceil(8);
            index = vec![0u8; rows * row_bytes];
            for position in (0..len).filter(|&p| !is_zero(p)) {
                let (row, column) = (position / k, position % k);
                index[row * row_bytes + column / 8] |= 1 << (column % 8);
                positions.push(position);
            }
        }
    }
    Encoded {
        format,
        positions,
        index,
    }
}

impl Encoded {
    /// Bytes the format stores, with values of `value_bits` each.
    pub fn bytes(&self, value_bits: usize) -> usize {
        (self.positions.len() * value_bits).div_ceil(8) + self.index.len()
    }
}

/// Packs codebook indices as `kernels::weights::codebook_index` reads them: 4 bits each, two
/// per byte (the first in the low nibble), for a codebook of up to 16 values, else a byte each.
pub fn pack_indices(indices: &[usize], count: usize) -> Vec<u8> {
    if count > 16 {
        return indices.iter().map(|&i| i as u8).collect();
    }
    indices
        .chunks(2)
        .map(|pair| pair[0] as u8 | pair.get(1).map_or(0, |&high| (high as u8) << 4))
        .collect()
}

/// A codebook for int8 weights that hold at most 16 distinct values (weights shared by
/// `--cluster K`, or a model that arrives so), when it saves at least a quarter of their
/// bytes, as the sparse formats must: the values in ascending order and the packed 4-bit
/// index of each weight. (With more values an 8-bit index saves nothing on int8.)
pub fn int8_codebook(weights: &[i8]) -> Option<(Vec<i8>, Vec<u8>)> {
    let mut values = weights.to_vec();
    values.sort_unstable();
    values.dedup();
    let bytes = values.len() + weights.len().div_ceil(2);
    if values.len() > 16 || bytes * 4 > weights.len() * 3 {
        return None;
    }
    let indices: Vec<usize> = weights
        .iter()
        .map(|w| values.binary_search(w).unwrap_or(0))
        .collect();
    let packed = pack_indices(&indices, values.len());
    Some((values, packed))
}

/// The smallest of dense, runs and bitmask for a `[rows, k]` matrix of values of `value_bits`
/// bits (dense on a tie, then bitmask, whose decoding does the least work per weight). A
/// sparse format must save at least a quarter of the dense bytes: its kernel decodes every
/// stored weight and does not vectorise as the dense loops do, which a model with a few
/// zeros in its file (the digits MLP has 101 of 4,096 in one layer) should not pay for a
/// saving of a few percent.
pub fn choose(
    rows: usize,
    k: usize,
    value_bits: usize,
    is_zero: impl Fn(usize) -> bool,
) -> Encoded {
    let dense_bytes = (rows * k * value_bits).div_ceil(8);
    // Without a zero, neither sparse format can be smaller: spare the work.
    if !(0..rows * k).any(&is_zero) {
        return encode(WeightFormat::Dense, rows, k, is_zero);
    }
    let mut best = encode(WeightFormat::Dense, rows, k, &is_zero);
    let mut best_bytes = dense_bytes;
    for format in [WeightFormat::Bitmask, WeightFormat::Runs] {
        let candidate = encode(format, rows, k, &is_zero);
        let bytes = candidate.bytes(value_bits);
        if bytes < best_bytes && bytes * 4 <= dense_bytes * 3 {
            best = candidate;
            best_bytes = bytes;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_saving_keeps_the_dense_format() {
        // Ten zeros among 64 float weights: a bitmask would take 8 + 54 × 4 = 224 bytes of 256,
        // not a quarter less.
        assert_eq!(choose(1, 64, 32, |p| p < 10).format, WeightFormat::Dense);
        // Twenty: 8 + 44 × 4 = 184 bytes, 72 %.
        assert_eq!(choose(1, 64, 32, |p| p < 20).format, WeightFormat::Bitmask);
    }

    #[test]
    fn dense_weights_stay_dense_and_sparse_ones_get_the_smaller_format() {
        let dense = choose(4, 16, 8, |_| false);
        assert_eq!(dense.format, WeightFormat::Dense);
        assert_eq!(dense.bytes(8), 64);
        // Half zero, alternating: a bitmask (8 mask bytes + 32 values) beats runs (32 + 16).
        let half = choose(4, 16, 8, |p| p % 2 == 0);
        assert_eq!((half.format, half.bytes(8)), (WeightFormat::Bitmask, 40));
        // One weight in eight: runs (8 + 4) beat a bitmask (8 + 8).
        let eighth = choose(4, 16, 8, |p| p % 8 != 0);
        assert_eq!((eighth.format, eighth.bytes(8)), (WeightFormat::Runs, 12));
        // One zero among 64 int8 weights: dense.
        assert_eq!(choose(4, 16, 8, |p| p == 5).format, WeightFormat::Dense);
    }

    #[test]
    fn int8_weights_of_few_values_get_a_codebook_when_it_saves_a_quarter() {
        // Five values among 64 weights: 5 + 32 bytes instead of 64.
        let w: Vec<i8> = (0..64).map(|i| [-90, -3, 0, 7, 127][i % 5]).collect();
        let (values, packed) = int8_codebook(&w).unwrap();
        assert_eq!(values, [-90, -3, 0, 7, 127]);
        assert_eq!(packed.len(), 32);
        for (i, &v) in w.iter().enumerate() {
            let j = crate::kernels::weights::codebook_index(&packed, values.len(), i);
            assert_eq!(values[j], v);
        }
        // Seventeen values: no 4-bit index.
        let w: Vec<i8> = (0..64).map(|i| (i % 17) as i8).collect();
        assert_eq!(int8_codebook(&w), None);
        // Sixteen values among 16 weights: 16 + 8 bytes would not save.
        let w: Vec<i8> = (0..16).collect();
        assert_eq!(int8_codebook(&w), None);
    }

    #[test]
    fn indices_pack_in_nibbles_up_to_sixteen_values_and_in_bytes_beyond() {
        assert_eq!(pack_indices(&[1, 2, 15], 16), [0x21, 0x0F]);
        assert_eq!(pack_indices(&[1, 2, 200], 201), [1, 2, 200]);
    }

    #[test]
    fn runs_count_zeros_across_rows() {
        // Rows of 3: values at 1, 2 (row 0) and 7 (row 2).
        let e = encode(WeightFormat::Runs, 3, 3, |p| ![1, 2, 7].contains(&p));
        assert_eq!(e.positions, vec![1, 2, 7]);
        assert_eq!(e.index, vec![0x01, 0x04]);
        let mask = encode(WeightFormat::Bitmask, 3, 3, |p| ![1, 2, 7].contains(&p));
        assert_eq!(mask.index, vec![0b110, 0, 0b010]);
    }
}
