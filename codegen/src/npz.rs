//! Reading NumPy `.npz` archives: a ZIP file of `.npy` arrays, as `numpy.savez` (entries
//! stored) and `numpy.savez_compressed` (entries deflated) write them, one per keyword or
//! positional argument (`arr_0`, `arr_1`, ...).
//!
//! Only what such archives use is read: the central directory (with its ZIP64 extensions),
//! each entry's local header to find its data, and the stored and deflate methods. Every
//! offset and size is checked against the file, so a damaged or hostile archive gives an error,
//! never a panic, and an entry is never inflated beyond the size the directory declares.

use crate::npy::{NpyArray, read_npy};

/// Reads every array of an archive, in the order of its central directory, with its name (the
/// entry's file name without `.npy`).
pub fn read_npz(bytes: &[u8]) -> Result<Vec<(String, NpyArray)>, String> {
    let (count, directory) = central_directory(bytes)?;
    let mut arrays = Vec::with_capacity(count.min(1024));
    let mut at = directory;
    for _ in 0..count {
        let entry = Entry::parse(bytes, at)?;
        at = entry.next;
        let data = entry.data(bytes)?;
        let array = read_npy(&data).map_err(|e| format!("entry '{}': {e}", entry.name))?;
        let name = entry
            .name
            .strip_suffix(".npy")
            .unwrap_or(&entry.name)
            .to_string();
        arrays.push((name, array));
    }
    Ok(arrays)
}

fn u16_at(bytes: &[u8], at: usize) -> Result<u16, String> {
    bytes
        .get(at..at.checked_add(2).ok_or("an offset overflows")?)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or_else(|| format!("the archive is truncated (at byte {at})"))
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, String> {
    bytes
        .get(at..at.checked_add(4).ok_or("an offset overflows")?)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("the archive is truncated (at byte {at})"))
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64, String> {
    Ok(u32_at(bytes, at)? as u64 | (u32_at(bytes, at + 4)? as u64) << 32)
}

fn offset(value: u64) -> Result<usize, String> {
    usize::try_from(value).map_err(|_| format!("an offset of {value} bytes is too large"))
}

/// The number of entries and the offset of the central directory, from the end-of-directory
/// record (and its ZIP64 version when the counts did not fit).
fn central_directory(bytes: &[u8]) -> Result<(usize, usize), String> {
    const END: u32 = 0x0605_4b50;
    const END64: u32 = 0x0606_4b50;
    const LOCATOR64: u32 = 0x0706_4b50;
    if bytes.len() < 22 {
        return Err("not a ZIP archive (too short)".into());
    }
    // The record is the last 22 bytes, followed by a comment of at most 65535.
    let earliest = bytes.len().saturating_sub(22 + 65_535);
    let end = (earliest..=bytes.len() - 22)
        .rev()
        .find(|&at| u32_at(bytes, at) == Ok(END))
        .ok_or("not a ZIP archive (no end of central directory)")?;
    let count = u16_at(bytes, end + 10)?;
    let directory = u32_at(bytes, end + 16)?;
    if count != 0xffff && directory != 0xffff_ffff {
        return Ok((count as usize, directory as usize));
    }
    let locator = end
        .checked_sub(20)
        .filter(|&at| u32_at(bytes, at) == Ok(LOCATOR64))
        .ok_or("a ZIP64 archive without its locator")?;
    let end64 = offset(u64_at(bytes, locator + 8)?)?;
    if u32_at(bytes, end64)? != END64 {
        return Err("a ZIP64 archive whose end record is missing".into());
    }
    Ok((
        offset(u64_at(bytes, end64 + 32)?)?,
        offset(u64_at(bytes, end64 + 48)?)?,
    ))
}

/// One central directory entry.
struct Entry {
    name: String,
    method: u16,
    compressed: usize,
    size: usize,
    local_header: usize,
    /// Where the next central directory entry starts.
    next: usize,
}

impl Entry {
    fn parse(bytes: &[u8], at: usize) -> Result<Entry, String> {
        if u32_at(bytes, at)? != 0x0201_4b50 {
            return Err(format!("a damaged central directory (at byte {at})"));
        }
        let method = u16_at(bytes, at + 10)?;
        let mut compressed = u32_at(bytes, at + 20)? as u64;
        let mut size = u32_at(bytes, at + 24)? as u64;
        let name_len = u16_at(bytes, at + 28)? as usize;
        let extra_len = u16_at(bytes, at + 30)? as usize;
        let comment_len = u16_at(bytes, at + 32)? as usize;
        let mut local_header = u32_at(bytes, at + 42)? as u64;
        let name_at = at + 46;
        let name = bytes
            .get(name_at..name_at + name_len)
            .ok_or("the archive is truncated (in an entry name)")?;
        let name = String::from_utf8_lossy(name).into_owned();
        // ZIP64: the fields that did not fit are in the extra field 0x0001, in this order.
        let mut field = name_at + name_len;
        let extra_end = field + extra_len;
        while field + 4 <= extra_end {
            let (id, len) = (u16_at(bytes, field)?, u16_at(bytes, field + 2)? as usize);
            if id == 1 {
                let mut value = field + 4;
                for slot in [&mut size, &mut compressed, &mut local_header] {
                    if *slot == 0xffff_ffff && value + 8 <= field + 4 + len {
                        *slot = u64_at(bytes, value)?;
                        value += 8;
                    }
                }
            }
            field += 4 + len;
        }
        Ok(Entry {
            name,
            method,
            compressed: offset(compressed)?,
            size: offset(size)?,
            local_header: offset(local_header)?,
            next: extra_end + comment_len,
        })
    }

    /// The entry's uncompressed bytes.
    fn data(&self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        let at = self.local_header;
        if u32_at(bytes, at)? != 0x0403_4b50 {
            return Err(format!("entry '{}': a damaged local header", self.name));
        }
        let start =
            at + 30 + u16_at(bytes, at + 26)? as usize + u16_at(bytes, at + 28)? as usize;
        let raw = start
            .checked_add(self.compressed)
            .and_then(|end| bytes.get(start..end))
            .ok_or_else(|| format!("entry '{}': the archive is truncated", self.name))?;
        match self.method {
            0 => Ok(raw.to_vec()),
            8 => {
                let data =
                    miniz_oxide::inflate::decompress_to_vec_with_limit(raw, self.size)
                        .map_err(|e| {
                            format!("entry '{}': bad deflate data ({e})", self.name)
                        })?;
                if data.len() != self.size {
                    return Err(format!(
                        "entry '{}' inflates to {} bytes, not the {} declared",
                        self.name,
                        data.len(),
                        self.size
                    ));
                }
                Ok(data)
            }
            other => Err(format!(
                "entry '{}' uses compression method {other}; .npz files are stored or deflated",
                self.name
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `np.savez(f, a=np.arange(3, dtype=np.int8), b=np.ones((2, 2), np.float32))` and the
    /// same with `savez_compressed`, written by `fixtures/make_npz_fixtures.py`.
    fn fixture(name: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/npz");
        std::fs::read(dir.join(name)).unwrap()
    }

    #[test]
    fn reads_stored_and_deflated_archives() {
        for file in ["stored.npz", "compressed.npz"] {
            let arrays = read_npz(&fixture(file)).unwrap();
            let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["a", "b"], "{file}");
            assert_eq!(arrays[0].1.shape, [3]);
            assert_eq!(arrays[0].1.data, crate::ir::TensorData::I8(vec![0, 1, 2]));
            assert_eq!(arrays[1].1.shape, [2, 2]);
            assert_eq!(arrays[1].1.data, crate::ir::TensorData::F32(vec![1.0; 4]));
        }
    }

    #[test]
    fn damaged_archives_are_errors() {
        let good = fixture("compressed.npz");
        assert!(read_npz(b"").is_err());
        assert!(read_npz(&good[..good.len() / 2]).is_err());
        // Every single-byte corruption and truncation: an error or arrays, never a panic.
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x5a;
            let _ = read_npz(&bad);
            let _ = read_npz(&good[..at]);
        }
    }
}
