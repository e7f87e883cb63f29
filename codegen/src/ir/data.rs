//! Element types and typed element storage for tensors.
//!
//! `DType` names an element type the way ONNX and TFLite do; `TensorData` holds the elements of a
//! constant (or of a value in the reference evaluator) in row-major order. The enum keeps one `Vec`
//! per element type so that code which works on `f32` never pays for a conversion, and code that is
//! generic over the element type uses [`dispatch_data!`](crate::dispatch_data) to get a typed slice.

use crate::kernels::elementwise::{f16_from_f64, f16_to_f64};
use std::fmt;

/// An element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    F32,
    F64,
    /// IEEE half precision. Stored as its bit pattern (`u16`) in `TensorData` and in generated
    /// code; only casts and ops that move elements see it: the `widen_float16` pass computes
    /// everything else in `f32`.
    F16,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    Bool,
}

impl DType {
    /// Every element type, in the order used by the text IR and the arena layout.
    pub const ALL: [DType; 12] = [
        DType::F32,
        DType::F64,
        DType::F16,
        DType::I8,
        DType::U8,
        DType::I16,
        DType::U16,
        DType::I32,
        DType::U32,
        DType::I64,
        DType::U64,
        DType::Bool,
    ];

    /// Bytes per element as stored in memory (bool is one byte, as in ONNX and TFLite).
    pub fn size_bytes(self) -> usize {
        match self {
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::I16 | DType::U16 | DType::F16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 => 8,
        }
    }

    /// The name used in the text IR and in messages (`f32`, `i64`, `bool`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::F16 => "f16",
            DType::I8 => "i8",
            DType::U8 => "u8",
            DType::I16 => "i16",
            DType::U16 => "u16",
            DType::I32 => "i32",
            DType::U32 => "u32",
            DType::I64 => "i64",
            DType::U64 => "u64",
            DType::Bool => "bool",
        }
    }

    /// The inverse of [`DType::name`].
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The Rust type that holds one element in generated code (`u16`, the bit pattern, for
    /// float16, which stable Rust has no type for).
    pub fn rust_type(self) -> &'static str {
        match self {
            DType::F16 => "u16",
            other => other.name(),
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64 | DType::F16)
    }

    pub fn is_integer(self) -> bool {
        !self.is_float() && self != DType::Bool
    }

    /// The smallest and largest value of an integer type (0 and 1 for bool, and the `i64`
    /// range for floats and 64-bit unsigned integers, which callers use only as a bound).
    pub fn integer_range(self) -> (i64, i64) {
        match self {
            DType::I8 => (i8::MIN as i64, i8::MAX as i64),
            DType::U8 => (0, u8::MAX as i64),
            DType::I16 => (i16::MIN as i64, i16::MAX as i64),
            DType::U16 => (0, u16::MAX as i64),
            DType::I32 => (i32::MIN as i64, i32::MAX as i64),
            DType::U32 => (0, u32::MAX as i64),
            DType::Bool => (0, 1),
            DType::I64 | DType::U64 | DType::F32 | DType::F64 | DType::F16 => {
                (i64::MIN, i64::MAX)
            }
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The elements of a tensor, row-major, one variant per element type.
#[derive(Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    /// float16 bit patterns.
    F16(Vec<u16>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    U16(Vec<u16>),
    I32(Vec<i32>),
    U32(Vec<u32>),
    I64(Vec<i64>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
}

/// Runs `$body` with `$v` bound to the `Vec` inside a [`TensorData`], whatever its element type.
///
/// `dispatch_data!(data, v => v.len())` is the usual way to write code that is generic over the
/// element type without a `match` with eleven identical arms.
#[macro_export]
macro_rules! dispatch_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::ir::TensorData::F32($v) => $body,
            $crate::ir::TensorData::F64($v) => $body,
            $crate::ir::TensorData::F16($v) => $body,
            $crate::ir::TensorData::I8($v) => $body,
            $crate::ir::TensorData::U8($v) => $body,
            $crate::ir::TensorData::I16($v) => $body,
            $crate::ir::TensorData::U16($v) => $body,
            $crate::ir::TensorData::I32($v) => $body,
            $crate::ir::TensorData::U32($v) => $body,
            $crate::ir::TensorData::I64($v) => $body,
            $crate::ir::TensorData::U64($v) => $body,
            $crate::ir::TensorData::Bool($v) => $body,
        }
    };
}

/// Like [`dispatch_data!`], but rebuilds a `TensorData` of the same element type from the result,
/// which must be a `Vec` of that type.
#[macro_export]
macro_rules! map_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::ir::TensorData::F32($v) => $crate::ir::TensorData::F32($body),
            $crate::ir::TensorData::F64($v) => $crate::ir::TensorData::F64($body),
            $crate::ir::TensorData::F16($v) => $crate::ir::TensorData::F16($body),
            $crate::ir::TensorData::I8($v) => $crate::ir::TensorData::I8($body),
            $crate::ir::TensorData::U8($v) => $crate::ir::TensorData::U8($body),
            $crate::ir::TensorData::I16($v) => $crate::ir::TensorData::I16($body),
            $crate::ir::TensorData::U16($v) => $crate::ir::TensorData::U16($body),
            $crate::ir::TensorData::I32($v) => $crate::ir::TensorData::I32($body),
            $crate::ir::TensorData::U32($v) => $crate::ir::TensorData::U32($body),
            $crate::ir::TensorData::I64($v) => $crate::ir::TensorData::I64($body),
            $crate::ir::TensorData::U64($v) => $crate::ir::TensorData::U64($body),
            $crate::ir::TensorData::Bool($v) => $crate::ir::TensorData::Bool($body),
        }
    };
}

impl TensorData {
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::F64(_) => DType::F64,
            TensorData::F16(_) => DType::F16,
            TensorData::I8(_) => DType::I8,
            TensorData::U8(_) => DType::U8,
            TensorData::I16(_) => DType::I16,
            TensorData::U16(_) => DType::U16,
            TensorData::I32(_) => DType::I32,
            TensorData::U32(_) => DType::U32,
            TensorData::I64(_) => DType::I64,
            TensorData::U64(_) => DType::U64,
            TensorData::Bool(_) => DType::Bool,
        }
    }

    pub fn len(&self) -> usize {
        dispatch_data!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `n` zero elements (`false` for bool).
    pub fn zeros(dtype: DType, n: usize) -> TensorData {
        match dtype {
            DType::F32 => TensorData::F32(vec![0.0; n]),
            DType::F64 => TensorData::F64(vec![0.0; n]),
            DType::F16 => TensorData::F16(vec![0; n]),
            DType::I8 => TensorData::I8(vec![0; n]),
            DType::U8 => TensorData::U8(vec![0; n]),
            DType::I16 => TensorData::I16(vec![0; n]),
            DType::U16 => TensorData::U16(vec![0; n]),
            DType::I32 => TensorData::I32(vec![0; n]),
            DType::U32 => TensorData::U32(vec![0; n]),
            DType::I64 => TensorData::I64(vec![0; n]),
            DType::U64 => TensorData::U64(vec![0; n]),
            DType::Bool => TensorData::Bool(vec![false; n]),
        }
    }

    /// Decodes little-endian bytes (the layout of ONNX `raw_data`, `.npy` files and TFLite buffers).
    /// Returns `None` when the byte count is not a whole number of elements.
    pub fn from_le_bytes(dtype: DType, bytes: &[u8]) -> Option<TensorData> {
        let size = dtype.size_bytes();
        if !bytes.len().is_multiple_of(size) {
            return None;
        }
        macro_rules! decode {
            ($variant:ident, $t:ty) => {
                TensorData::$variant(
                    bytes
                        .chunks_exact(size)
                        .map(|c| {
                            <$t>::from_le_bytes(
                                c.try_into().expect("chunk has the element size"),
                            )
                        })
                        .collect(),
                )
            };
        }
        Some(match dtype {
            DType::F32 => decode!(F32, f32),
            DType::F64 => decode!(F64, f64),
            DType::F16 => decode!(F16, u16),
            DType::I8 => decode!(I8, i8),
            DType::U8 => TensorData::U8(bytes.to_vec()),
            DType::I16 => decode!(I16, i16),
            DType::U16 => decode!(U16, u16),
            DType::I32 => decode!(I32, i32),
            DType::U32 => decode!(U32, u32),
            DType::I64 => decode!(I64, i64),
            DType::U64 => decode!(U64, u64),
            DType::Bool => TensorData::Bool(bytes.iter().map(|&b| b != 0).collect()),
        })
    }

    /// Encodes the elements as little-endian bytes (bool as one byte, 0 or 1).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            TensorData::Bool(v) => v.iter().map(|&b| b as u8).collect(),
            TensorData::U8(v) => v.clone(),
            TensorData::I8(v) => v.iter().map(|&x| x as u8).collect(),
            TensorData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::U64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// The elements converted to `f64` (bool as 0 or 1). Used where a value of any numeric type is
    /// read as a number: attribute-like parameters, comparisons in tests, printing.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            TensorData::Bool(v) => v.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect(),
            TensorData::F32(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::F64(v) => v.clone(),
            TensorData::F16(v) => v.iter().map(|&x| f16_to_f64(x)).collect(),
            TensorData::I8(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::U8(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::I16(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::U16(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::I32(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::U32(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::U64(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }

    /// The elements as `i64` when the element type is an integer or bool type (values of `u64`
    /// above `i64::MAX` saturate). `None` for floating-point data.
    pub fn to_i64_vec(&self) -> Option<Vec<i64>> {
        Some(match self {
            TensorData::F32(_) | TensorData::F64(_) | TensorData::F16(_) => return None,
            TensorData::Bool(v) => v.iter().map(|&b| b as i64).collect(),
            TensorData::I8(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::U8(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::I16(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::U16(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::I32(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::U32(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::I64(v) => v.clone(),
            TensorData::U64(v) => v
                .iter()
                .map(|&x| i64::try_from(x).unwrap_or(i64::MAX))
                .collect(),
        })
    }

    /// Converts every element to `dtype` with the semantics of ONNX `Cast`: float to integer
    /// truncates toward zero (saturating at the type's range, which ONNX leaves undefined), integer
    /// to integer wraps, anything to bool is `x != 0`.
    pub fn cast(&self, dtype: DType) -> TensorData {
        if self.dtype() == dtype {
            return self.clone();
        }
        // Integers go through i64 so that wide values keep every bit; floats through f64.
        if let Some(ints) = self.to_i64_vec() {
            return match dtype {
                DType::F32 => TensorData::F32(ints.iter().map(|&x| x as f32).collect()),
                DType::F64 => TensorData::F64(ints.iter().map(|&x| x as f64).collect()),
                DType::F16 => {
                    TensorData::F16(ints.iter().map(|&x| f16_from_f64(x as f64)).collect())
                }
                DType::I8 => TensorData::I8(ints.iter().map(|&x| x as i8).collect()),
                DType::U8 => TensorData::U8(ints.iter().map(|&x| x as u8).collect()),
                DType::I16 => TensorData::I16(ints.iter().map(|&x| x as i16).collect()),
                DType::U16 => TensorData::U16(ints.iter().map(|&x| x as u16).collect()),
                DType::I32 => TensorData::I32(ints.iter().map(|&x| x as i32).collect()),
                DType::U32 => TensorData::U32(ints.iter().map(|&x| x as u32).collect()),
                DType::I64 => TensorData::I64(ints),
                DType::U64 => TensorData::U64(ints.iter().map(|&x| x as u64).collect()),
                DType::Bool => TensorData::Bool(ints.iter().map(|&x| x != 0).collect()),
            };
        }
        let floats = self.to_f64_vec();
        match dtype {
            DType::F32 => TensorData::F32(floats.iter().map(|&x| x as f32).collect()),
            DType::F64 => TensorData::F64(floats),
            DType::F16 => {
                TensorData::F16(floats.iter().map(|&x| f16_from_f64(x)).collect())
            }
            DType::I8 => TensorData::I8(floats.iter().map(|&x| x as i8).collect()),
            DType::U8 => TensorData::U8(floats.iter().map(|&x| x as u8).collect()),
            DType::I16 => TensorData::I16(floats.iter().map(|&x| x as i16).collect()),
            DType::U16 => TensorData::U16(floats.iter().map(|&x| x as u16).collect()),
            DType::I32 => TensorData::I32(floats.iter().map(|&x| x as i32).collect()),
            DType::U32 => TensorData::U32(floats.iter().map(|&x| x as u32).collect()),
            DType::I64 => TensorData::I64(floats.iter().map(|&x| x as i64).collect()),
            DType::U64 => TensorData::U64(floats.iter().map(|&x| x as u64).collect()),
            DType::Bool => TensorData::Bool(floats.iter().map(|&x| x != 0.0).collect()),
        }
    }

    pub fn as_f32(&self) -> Option<&[f32]> {
        match self {
            TensorData::F32(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Debug for TensorData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Weights can hold millions of elements; show the type, the length and a short prefix.
        const SHOWN: usize = 8;
        write!(f, "{}[{}] ", self.dtype(), self.len())?;
        dispatch_data!(self, v => {
            let mut list = f.debug_list();
            list.entries(v.iter().take(SHOWN));
            if v.len() > SHOWN {
                list.entry(&format_args!("..."));
            }
            list.finish()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_bytes_round_trip_for_every_dtype() {
        for dtype in DType::ALL {
            let data = TensorData::zeros(dtype, 3).cast(dtype);
            let bytes = data.to_le_bytes();
            assert_eq!(bytes.len(), 3 * dtype.size_bytes());
            assert_eq!(TensorData::from_le_bytes(dtype, &bytes), Some(data));
        }
        let values = TensorData::F32(vec![1.5, -2.0, f32::INFINITY]);
        assert_eq!(
            TensorData::from_le_bytes(DType::F32, &values.to_le_bytes()),
            Some(values)
        );
        assert_eq!(TensorData::from_le_bytes(DType::F32, &[0, 0, 0]), None);
    }

    #[test]
    fn cast_follows_onnx() {
        let x = TensorData::F32(vec![-1.7, 0.0, 2.9, 300.0]);
        assert_eq!(x.cast(DType::I64), TensorData::I64(vec![-1, 0, 2, 300]));
        assert_eq!(x.cast(DType::U8), TensorData::U8(vec![0, 0, 2, 255]));
        assert_eq!(
            x.cast(DType::Bool),
            TensorData::Bool(vec![true, false, true, true])
        );
        // float16: rounding to nearest even, overflow to infinity, subnormals.
        let h = TensorData::F64(vec![
            1.0,
            65504.0,
            65520.0,
            1.0 + 1.0 / 2048.0,
            // 2^-24, the smallest float16.
            1.0 / 16_777_216.0,
            -0.0,
        ])
        .cast(DType::F16);
        assert_eq!(
            h,
            TensorData::F16(vec![0x3c00, 0x7bff, 0x7c00, 0x3c00, 0x0001, 0x8000])
        );
        assert_eq!(
            h.cast(DType::F32),
            TensorData::F32(vec![
                1.0,
                65504.0,
                f32::INFINITY,
                1.0,
                1.0 / 16_777_216.0,
                -0.0
            ])
        );
        let i = TensorData::I64(vec![-1, 257]);
        assert_eq!(i.cast(DType::U8), TensorData::U8(vec![255, 1]));
        assert_eq!(i.cast(DType::F32), TensorData::F32(vec![-1.0, 257.0]));
    }
}
