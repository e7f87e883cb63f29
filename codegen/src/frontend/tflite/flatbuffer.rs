//! A bounds-checked reader of FlatBuffers binary data, enough for TFLite models.
//!
//! A FlatBuffer is read in place: a table is a position in the buffer whose first four bytes
//! point (backwards, signed) to a vtable; the vtable lists, per field id, the field's offset
//! inside the table (0 for a field left at its default). Offset fields (tables, vectors,
//! strings) hold an unsigned offset from the field's own position to the target. Vectors and
//! strings start with a `u32` element count.
//!
//! Why not the `flatbuffers` crate: without code generated from the upstream schema (which we do
//! not copy into the project), its table accessors are `unsafe` functions that trust a separate
//! verifier pass. Every read here checks its bounds and alignment-free little-endian decoding is
//! done on byte slices, so a hostile file gives an error, never a panic or an out-of-bounds
//! read, and nothing allocates more than the file's size.

use std::fmt;

/// A malformed buffer: what was being read and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlatError(pub String);

impl fmt::Display for FlatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type R<T> = Result<T, FlatError>;

fn read<const N: usize>(buf: &[u8], pos: usize) -> R<[u8; N]> {
    pos.checked_add(N)
        .and_then(|end| buf.get(pos..end))
        .map(|s| {
            let mut out = [0u8; N];
            out.copy_from_slice(s);
            out
        })
        .ok_or_else(|| {
            FlatError(format!(
                "a {N}-byte value at byte {pos} lies outside the {}-byte buffer",
                buf.len()
            ))
        })
}

fn read_u32(buf: &[u8], pos: usize) -> R<u32> {
    read::<4>(buf, pos).map(u32::from_le_bytes)
}

/// A scalar field type.
pub trait Scalar: Copy {
    const SIZE: usize;
    fn decode(bytes: &[u8]) -> Self;
}

macro_rules! scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn decode(bytes: &[u8]) -> Self {
                let mut raw = [0u8; std::mem::size_of::<$t>()];
                raw.copy_from_slice(&bytes[..Self::SIZE]);
                <$t>::from_le_bytes(raw)
            }
        }
    )*};
}
scalar!(u8, i8, u16, i16, u32, i32, u64, i64, f32);

impl Scalar for bool {
    const SIZE: usize = 1;
    fn decode(bytes: &[u8]) -> Self {
        bytes[0] != 0
    }
}

/// A table: its position and its vtable.
#[derive(Clone, Copy, Debug)]
pub struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
    vtable: usize,
    /// Number of field slots the vtable has.
    n_fields: usize,
    /// Bytes of inline table data (from `pos`).
    table_len: usize,
}

impl<'a> Table<'a> {
    /// The root table of a buffer.
    pub fn root(buf: &'a [u8]) -> R<Table<'a>> {
        let offset = read_u32(buf, 0)? as usize;
        Table::at(buf, offset)
    }

    fn at(buf: &'a [u8], pos: usize) -> R<Table<'a>> {
        let soffset = read::<4>(buf, pos).map(i32::from_le_bytes)?;
        let vtable = (pos as i64) - (soffset as i64);
        if vtable < 0 || vtable as usize >= buf.len() {
            return Err(FlatError(format!(
                "the table at byte {pos} points to a vtable outside the buffer"
            )));
        }
        let vtable = vtable as usize;
        let vtable_len = u16::from_le_bytes(read::<2>(buf, vtable)?) as usize;
        let table_len = u16::from_le_bytes(read::<2>(buf, vtable + 2)?) as usize;
        if vtable_len < 4
            || !vtable_len.is_multiple_of(2)
            || vtable + vtable_len > buf.len()
        {
            return Err(FlatError(format!(
                "the vtable at byte {vtable} has an invalid length {vtable_len}"
            )));
        }
        if pos + table_len > buf.len() {
            return Err(FlatError(format!(
                "the table at byte {pos} ({table_len} bytes) runs past the end of the buffer"
            )));
        }
        Ok(Table {
            buf,
            pos,
            vtable,
            n_fields: (vtable_len - 4) / 2,
            table_len,
        })
    }

    /// The absolute position of field `id`, or `None` when it is absent (at its default).
    fn field(&self, id: usize, size: usize) -> R<Option<usize>> {
        if id >= self.n_fields {
            return Ok(None);
        }
        let offset =
            u16::from_le_bytes(read::<2>(self.buf, self.vtable + 4 + 2 * id)?) as usize;
        if offset == 0 {
            return Ok(None);
        }
        if offset + size > self.table_len {
            return Err(FlatError(format!(
                "field {id} of the table at byte {} lies outside the table",
                self.pos
            )));
        }
        Ok(Some(self.pos + offset))
    }

    /// A scalar field, or `default` when absent.
    pub fn scalar<T: Scalar>(&self, id: usize, default: T) -> R<T> {
        match self.field(id, T::SIZE)? {
            None => Ok(default),
            Some(pos) => Ok(T::decode(&self.buf[pos..pos + T::SIZE])),
        }
    }

    /// The target of an offset field.
    fn target(&self, id: usize) -> R<Option<usize>> {
        let Some(pos) = self.field(id, 4)? else {
            return Ok(None);
        };
        let offset = read_u32(self.buf, pos)? as usize;
        let target = pos.checked_add(offset).filter(|&t| t < self.buf.len());
        match target {
            Some(t) if offset != 0 => Ok(Some(t)),
            _ => Err(FlatError(format!(
                "field {id} of the table at byte {} points outside the buffer",
                self.pos
            ))),
        }
    }

    /// A table field.
    pub fn table(&self, id: usize) -> R<Option<Table<'a>>> {
        self.target(id)?
            .map(|pos| Table::at(self.buf, pos))
            .transpose()
    }

    /// A vector field whose elements are `elem_size` bytes each (4 for tables and strings).
    pub fn vector(&self, id: usize, elem_size: usize) -> R<Option<Vector<'a>>> {
        let Some(pos) = self.target(id)? else {
            return Ok(None);
        };
        let len = read_u32(self.buf, pos)? as usize;
        let start = pos + 4;
        let fits = len
            .checked_mul(elem_size)
            .and_then(|bytes| start.checked_add(bytes))
            .is_some_and(|end| end <= self.buf.len());
        if !fits {
            return Err(FlatError(format!(
                "the vector at byte {pos} claims {len} elements, more than the buffer holds"
            )));
        }
        Ok(Some(Vector {
            buf: self.buf,
            start,
            len,
            elem_size,
        }))
    }

    /// A vector of scalars, or an empty one when absent.
    pub fn scalars<T: Scalar>(&self, id: usize) -> R<Vec<T>> {
        Ok(self
            .vector(id, T::SIZE)?
            .map(|v| v.bytes().chunks_exact(T::SIZE).map(T::decode).collect())
            .unwrap_or_default())
    }

    /// A vector of tables, or an empty one when absent.
    pub fn tables(&self, id: usize) -> R<Vec<Table<'a>>> {
        let Some(v) = self.vector(id, 4)? else {
            return Ok(Vec::new());
        };
        (0..v.len).map(|i| v.table(i)).collect()
    }

    /// A string field (invalid UTF-8 is replaced, as names are only shown to people).
    pub fn string(&self, id: usize) -> R<Option<String>> {
        Ok(self
            .vector(id, 1)?
            .map(|v| String::from_utf8_lossy(v.bytes()).into_owned()))
    }

    /// A byte-vector field as a slice of the buffer, or an empty slice when absent.
    pub fn bytes(&self, id: usize) -> R<&'a [u8]> {
        Ok(self.vector(id, 1)?.map(|v| v.bytes()).unwrap_or(&[]))
    }
}

/// A vector inside the buffer, bounds already checked.
#[derive(Clone, Copy, Debug)]
pub struct Vector<'a> {
    buf: &'a [u8],
    start: usize,
    len: usize,
    elem_size: usize,
}

impl<'a> Vector<'a> {
    /// The raw element bytes.
    pub fn bytes(&self) -> &'a [u8] {
        &self.buf[self.start..self.start + self.len * self.elem_size]
    }

    /// Element `i` of a vector of tables.
    pub fn table(&self, i: usize) -> R<Table<'a>> {
        let pos = self.start + 4 * i;
        let offset = read_u32(self.buf, pos)? as usize;
        match pos.checked_add(offset) {
            Some(t) if offset != 0 && t < self.buf.len() => Table::at(self.buf, t),
            _ => Err(FlatError(format!(
                "element {i} of the vector at byte {} points outside the buffer",
                self.start - 4
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_rejects_bad_offsets() {
        // A root table with a u16 field (id 0 = 7), an absent field (id 1) and a vector of two
        // i32 (id 2): [root offset][vtable][table: soffset, u16, pad, offset][vector].
        let table = 16usize;
        let mut b = (table as u32).to_le_bytes().to_vec();
        // At byte 4, the vtable: 10 bytes long (3 fields), a 12-byte table, field offsets
        // [4, 0, 8]; then 2 bytes of padding.
        for v in [10u16, 12, 4, 0, 8, 0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&((table - 4) as i32).to_le_bytes()); // soffset to vtable at 4
        b.extend_from_slice(&7u16.to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        let vec_field = b.len();
        b.extend_from_slice(&4u32.to_le_bytes()); // vector right after this field
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&(-5i32).to_le_bytes());
        b.extend_from_slice(&9i32.to_le_bytes());
        assert_eq!(vec_field, table + 8);
        let root = Table::root(&b).unwrap();
        assert_eq!(root.scalar::<u16>(0, 0).unwrap(), 7);
        assert_eq!(root.scalar::<u16>(1, 42).unwrap(), 42);
        assert_eq!(root.scalar::<u16>(9, 5).unwrap(), 5);
        assert_eq!(root.scalars::<i32>(2).unwrap(), vec![-5, 9]);
        // A vector that claims more elements than the buffer holds.
        let mut bad = b.clone();
        bad[vec_field + 4..vec_field + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = Table::root(&bad).unwrap().scalars::<i32>(2).unwrap_err();
        assert!(err.0.contains("claims"), "{err}");
        // Every truncation is an error or a successful read, never a panic.
        for n in 0..b.len() {
            if let Ok(t) = Table::root(&b[..n]) {
                let _ = t.scalar::<u16>(0, 0);
                let _ = t.scalars::<i32>(2);
            }
        }
    }
}
