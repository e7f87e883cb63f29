//! Reading and writing NumPy `.npy` files.
//!
//! The compiler reads model inputs and calibration data from `.npy` files and writes
//! outputs to them, and the tests read reference outputs produced by NumPy. The format is a
//! magic string, a version, a header that is a Python dict literal
//! (`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`), and the elements in
//! row-major order.
//!
//! Reading accepts format versions 1.0, 2.0 and 3.0, the element types of [`DType`] in
//! either byte order (big-endian data is converted), and any header NumPy or a hand-written
//! tool would produce: keys in any order, single or double quotes, trailing commas,
//! arbitrary spacing. The header is parsed with a small tokenizer for Python literals, not
//! by pattern matching. Input is treated as untrusted: a malformed file gives an
//! [`NpyError`] with a sentence a user can act on, never a panic or a hang, and what the
//! file claims is checked against the bytes actually present before anything is allocated
//! for it: the decoded data is never larger than the input, and the header parser's memory
//! is a small multiple of the header, which is capped at 1 MiB.
//!
//! Writing produces version 1.0 (2.0 when the header would not fit in 1.0), little-endian,
//! with the header padded with spaces and ended by `\n` so that the data starts at a
//! multiple of 64 bytes, as NumPy does.

use std::path::{Path, PathBuf};

use crate::ir::{DType, TensorData};

/// A decoded `.npy` array: its shape and its elements in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: TensorData,
}

/// Why a `.npy` file could not be read or written. The messages are complete sentences; the
/// variants carrying a path say which file was involved.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// An I/O error while reading or writing `path`.
    #[error(
        "cannot {} '{}': {error}",
        if *.writing { "write" } else { "read" },
        .path.display()
    )]
    Io {
        path: PathBuf,
        writing: bool,
        error: std::io::Error,
    },
    /// The contents of `path` are not a valid or supported `.npy` file.
    #[error("cannot read '{}': {error}", .path.display())]
    InFile { path: PathBuf, error: Box<NpyError> },
    #[error("the file is empty")]
    Empty,
    #[error(
        "this is not a .npy file: it does not start with the magic string \"\\x93NUMPY\""
    )]
    NotNpy,
    #[error("the file is truncated: it ends after {found} bytes, inside the {part}")]
    TruncatedHeader { part: &'static str, found: usize },
    #[error(
        "the file is truncated: its header should be {claimed} bytes long but only \
         {available} bytes follow the header length field"
    )]
    HeaderLength { claimed: usize, available: usize },
    #[error(
        "the file uses .npy format version {major}.{minor}, which is not supported \
         (versions 1.0, 2.0 and 3.0 are)"
    )]
    UnsupportedVersion { major: u8, minor: u8 },
    #[error("the header is malformed: {0}")]
    BadHeader(String),
    #[error(
        "the header is {len} bytes long, more than the {MAX_HEADER_LEN} bytes any \
         supported array needs"
    )]
    HeaderTooLong { len: usize },
    #[error(
        "the array has dtype '{descr}'{}, which is not supported; supported element \
         types are float32, float64, int8, uint8, int16, uint16, int32, uint32, int64, \
         uint64 and bool",
        describe_unsupported(.descr)
    )]
    UnsupportedDtype { descr: String },
    #[error(
        "the array is stored in Fortran (column-major) order, which is not supported; \
         save it in C order, e.g. `np.save(path, np.ascontiguousarray(a))`"
    )]
    FortranOrder,
    #[error("the shape {shape:?} has more elements than this machine can address")]
    TooLarge { shape: Vec<usize> },
    #[error(
        "the header says {count} {} values ({expected} bytes) but the file holds \
         {found} bytes after the header",
        numpy_name(*.dtype)
    )]
    DataLength {
        count: usize,
        dtype: DType,
        expected: usize,
        found: usize,
    },
    #[error("cannot write {len} values as an array of shape {shape:?}: the counts differ")]
    ShapeMismatch { shape: Vec<usize>, len: usize },
}

const MAGIC: &[u8] = b"\x93NUMPY";
/// NumPy aligns the start of the data to this many bytes.
const ALIGN: usize = 64;
/// Headers nest at most a few levels (a dict holding a tuple); anything deeper is rejected
/// before it can exhaust the stack.
const MAX_DEPTH: usize = 16;
/// The longest header accepted. A supported array has at most a few dozen dimensions, so
/// its header is far shorter (NumPy itself refuses headers over 10000 bytes unless told to
/// trust the file); the limit bounds the memory the parser can be made to use.
const MAX_HEADER_LEN: usize = 1 << 20;

/// The NumPy name of an element type, as used in messages.
fn numpy_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float32",
        DType::F64 => "float64",
        DType::F16 => "float16",
        DType::I8 => "int8",
        DType::U8 => "uint8",
        DType::I16 => "int16",
        DType::U16 => "uint16",
        DType::I32 => "int32",
        DType::U32 => "uint32",
        DType::I64 => "int64",
        DType::U64 => "uint64",
        DType::Bool => "bool",
    }
}

/// A hint at what an unsupported `descr` is, for the error message (empty when unknown).
fn describe_unsupported(descr: &str) -> &'static str {
    let code = descr.trim_start_matches(['<', '>', '=', '|']);
    if descr.starts_with('[') {
        " (a structured dtype)"
    } else if code == "f16" || code == "f12" {
        " (long double)"
    } else if code.starts_with('c') {
        " (complex)"
    } else if code.starts_with('O') {
        " (Python objects)"
    } else if code.starts_with('U') || code.starts_with('S') || code.starts_with('a') {
        " (strings)"
    } else if code.starts_with('M') || code.starts_with('m') {
        " (dates or times)"
    } else if code.starts_with('V') {
        " (raw bytes)"
    } else {
        ""
    }
}

/// The `descr` written for each element type: little-endian, `|` where byte order does not
/// apply.
fn descr_of(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::F16 => "<f2",
        DType::I8 => "|i1",
        DType::U8 => "|u1",
        DType::I16 => "<i2",
        DType::U16 => "<u2",
        DType::I32 => "<i4",
        DType::U32 => "<u4",
        DType::I64 => "<i8",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
    }
}

/// Parses a `descr` string: the element type and whether the data is big-endian.
///
/// `<` is little-endian, `>` big-endian; `|` (not applicable) and `=` (native) are accepted
/// too and read as little-endian, which is what every machine NumPy runs on in practice
/// uses.
fn parse_descr(descr: &str) -> Result<(DType, bool), NpyError> {
    let unsupported = || NpyError::UnsupportedDtype {
        descr: descr.to_string(),
    };
    let (big_endian, code) = match descr.as_bytes().first() {
        Some(b'<') | Some(b'=') | Some(b'|') => (false, &descr[1..]),
        Some(b'>') => (true, &descr[1..]),
        _ => return Err(unsupported()),
    };
    let dtype = match code {
        "f4" => DType::F32,
        "f8" => DType::F64,
        "f2" => DType::F16,
        "i1" => DType::I8,
        "u1" => DType::U8,
        "i2" => DType::I16,
        "u2" => DType::U16,
        "i4" => DType::I32,
        "u4" => DType::U32,
        "i8" => DType::I64,
        "u8" => DType::U64,
        "b1" => DType::Bool,
        _ => return Err(unsupported()),
    };
    Ok((dtype, big_endian))
}

// -----------------------------------------------------------------------------------------
// The header: a Python literal, tokenized and parsed by recursive descent.

/// A Python literal as it appears in a `.npy` header.
enum Value {
    Str(String),
    /// An integer; `None` when it does not fit in a `u64`.
    Int {
        negative: bool,
        magnitude: Option<u64>,
    },
    Bool(bool),
    None,
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

impl Value {
    /// The value written back as Python source, for error messages.
    fn to_python(&self) -> String {
        let join = |items: &[Value]| {
            items
                .iter()
                .map(Value::to_python)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Value::Str(s) => format!("'{s}'"),
            Value::Int {
                negative,
                magnitude,
            } => match magnitude {
                Some(m) => format!("{}{m}", if *negative { "-" } else { "" }),
                None => "<huge integer>".to_string(),
            },
            Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Value::None => "None".to_string(),
            Value::Tuple(items) if items.len() == 1 => format!("({},)", join(items)),
            Value::Tuple(items) => format!("({})", join(items)),
            Value::List(items) => format!("[{}]", join(items)),
            Value::Dict(entries) => {
                let entries = entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.to_python(), v.to_python()))
                    .collect::<Vec<_>>();
                format!("{{{}}}", entries.join(", "))
            }
        }
    }
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

fn bad(msg: impl Into<String>) -> NpyError {
    NpyError::BadHeader(msg.into())
}

impl<'a> Parser<'a> {
    fn skip_space(&mut self) {
        while self.pos < self.text.len() && self.text[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.pos).copied()
    }

    /// An error saying what was expected at the current position and what is there instead
    /// (called after `peek`, so whitespace has been skipped).
    fn unexpected(&self, expected: &str) -> NpyError {
        let found = match self.text.get(self.pos) {
            None => "the end of the header".to_string(),
            Some(&c) if c.is_ascii_graphic() => format!("'{}'", c as char),
            Some(&c) => format!("byte {c:#04x}"),
        };
        bad(format!(
            "expected {expected} at byte {} but found {found}",
            self.pos
        ))
    }

    fn expect(&mut self, c: u8) -> Result<(), NpyError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{}'", c as char)))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, NpyError> {
        if depth > MAX_DEPTH {
            return Err(bad("it nests brackets too deeply"));
        }
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => self.string(q),
            Some(b'(') => {
                self.pos += 1;
                let (items, trailing_comma) = self.sequence(b')', depth)?;
                // `(x)` is just x in Python; `(x,)` is a one-element tuple.
                if items.len() == 1 && !trailing_comma {
                    Ok(items.into_iter().next().expect("one item"))
                } else {
                    Ok(Value::Tuple(items))
                }
            }
            Some(b'[') => {
                self.pos += 1;
                Ok(Value::List(self.sequence(b']', depth)?.0))
            }
            Some(b'{') => {
                self.pos += 1;
                self.dict(depth)
            }
            Some(b'-' | b'+' | b'0'..=b'9') => self.int(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.pos;
                while self.pos < self.text.len()
                    && (self.text[self.pos].is_ascii_alphanumeric()
                        || self.text[self.pos] == b'_')
                {
                    self.pos += 1;
                }
                match &self.text[start..self.pos] {
                    b"True" => Ok(Value::Bool(true)),
                    b"False" => Ok(Value::Bool(false)),
                    b"None" => Ok(Value::None),
                    word => Err(bad(format!(
                        "unexpected name '{}' at byte {start}",
                        String::from_utf8_lossy(word)
                    ))),
                }
            }
            _ => Err(self.unexpected("a value")),
        }
    }

    /// Items separated by commas up to `close`; also says whether there was a trailing
    /// comma.
    fn sequence(
        &mut self,
        close: u8,
        depth: usize,
    ) -> Result<(Vec<Value>, bool), NpyError> {
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                let trailing_comma = !items.is_empty();
                return Ok((items, trailing_comma));
            }
            items.push(self.value(depth + 1)?);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok((items, false));
                }
                _ => {
                    return Err(self.unexpected(&format!("',' or '{}'", close as char)));
                }
            }
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Value, NpyError> {
        let mut entries = Vec::new();
        loop {
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(Value::Dict(entries));
            }
            let key = self.value(depth + 1)?;
            self.expect(b':')?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => {
                    return Err(self.unexpected("',' or '}'"));
                }
            }
        }
    }

    fn string(&mut self, quote: u8) -> Result<Value, NpyError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.text.get(self.pos) {
                None => {
                    return Err(bad(format!(
                        "the string starting at byte {start} never ends"
                    )));
                }
                Some(&c) if c == quote => {
                    self.pos += 1;
                    // Version 1.0 and 2.0 headers are latin-1, 3.0 headers UTF-8; only
                    // ASCII matters here, the rest only ends up in error messages.
                    return Ok(Value::Str(String::from_utf8_lossy(&out).into_owned()));
                }
                Some(b'\\') => {
                    // Escapes only occur in field names of structured dtypes, which are
                    // rejected anyway; keep the escaped character.
                    if let Some(&c) = self.text.get(self.pos + 1) {
                        out.push(c);
                    }
                    self.pos += 2;
                }
                Some(&c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn int(&mut self) -> Result<Value, NpyError> {
        let start = self.pos;
        let mut negative = false;
        if let Some(&sign @ (b'-' | b'+')) = self.text.get(self.pos) {
            negative = sign == b'-';
            self.pos += 1;
        }
        let digits_start = self.pos;
        let mut magnitude = Some(0u64);
        while let Some(&d) = self.text.get(self.pos).filter(|c| c.is_ascii_digit()) {
            magnitude = magnitude
                .and_then(|m| m.checked_mul(10))
                .and_then(|m| m.checked_add(u64::from(d - b'0')));
            self.pos += 1;
        }
        if self.pos == digits_start {
            return Err(bad(format!("expected a number at byte {start}")));
        }
        // Python 2 wrote long integers with an `L` suffix, e.g. `(3L, 4L)`.
        if let Some(b'L' | b'l') = self.text.get(self.pos) {
            self.pos += 1;
        }
        if self
            .text
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.')
        {
            return Err(bad(format!("the number at byte {start} is not an integer")));
        }
        Ok(Value::Int {
            negative,
            magnitude,
        })
    }
}

/// What the header says about the array.
struct Header {
    dtype: DType,
    big_endian: bool,
    shape: Vec<usize>,
}

fn parse_header(text: &[u8]) -> Result<Header, NpyError> {
    let mut parser = Parser { text, pos: 0 };
    let value = parser.value(0)?;
    if parser.peek().is_some() {
        return Err(parser.unexpected("nothing after the dictionary"));
    }
    let Value::Dict(entries) = value else {
        return Err(bad("it is not a Python dictionary"));
    };
    let mut descr = None;
    let mut fortran_order = None;
    let mut shape = None;
    for (key, value) in entries {
        let Value::Str(key) = key else {
            return Err(bad("a dictionary key is not a string"));
        };
        let slot = match key.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran_order,
            "shape" => &mut shape,
            _ => {
                return Err(bad(format!(
                    "it has the unknown key '{key}' \
                     (expected 'descr', 'fortran_order' and 'shape')"
                )));
            }
        };
        if slot.replace(value).is_some() {
            return Err(bad(format!("the key '{key}' appears twice")));
        }
    }
    let missing = |key: &str| bad(format!("it has no '{key}' key"));
    let descr = descr.ok_or_else(|| missing("descr"))?;
    let fortran_order = fortran_order.ok_or_else(|| missing("fortran_order"))?;
    let shape = shape.ok_or_else(|| missing("shape"))?;

    let (dtype, big_endian) = match descr {
        Value::Str(s) => parse_descr(&s)?,
        // A list of fields is a structured dtype.
        list @ Value::List(_) => {
            // Structured dtypes can list thousands of fields; the start is enough to
            // recognise it.
            let mut descr = list.to_python();
            if descr.len() > 60 {
                let cut = (0..=57)
                    .rev()
                    .find(|&i| descr.is_char_boundary(i))
                    .unwrap_or(0);
                descr.truncate(cut);
                descr.push_str("...");
            }
            return Err(NpyError::UnsupportedDtype { descr });
        }
        _ => return Err(bad("'descr' is not a string")),
    };
    match fortran_order {
        Value::Bool(false) => {}
        Value::Bool(true) => return Err(NpyError::FortranOrder),
        _ => return Err(bad("'fortran_order' is neither True nor False")),
    }
    let Value::Tuple(dims) = shape else {
        return Err(bad("'shape' is not a tuple"));
    };
    let shape = dims
        .into_iter()
        .map(|dim| match dim {
            Value::Int {
                negative: false,
                magnitude: Some(m),
            } => usize::try_from(m)
                .map_err(|_| bad(format!("the dimension {m} is too large"))),
            Value::Int {
                negative: true,
                magnitude: Some(m),
            } if m > 0 => Err(bad(format!("the shape has a negative dimension (-{m})"))),
            Value::Int { negative: true, .. } => Ok(0), // -0
            Value::Int {
                magnitude: None, ..
            } => Err(bad("a dimension of the shape is too large")),
            _ => Err(bad("the shape holds something other than integers")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Header {
        dtype,
        big_endian,
        shape,
    })
}

// -----------------------------------------------------------------------------------------
// Reading

/// The number of elements of an array of this shape (`None` if it overflows; an empty array
/// has 0 elements however large its other dimensions are).
fn element_count(shape: &[usize]) -> Option<usize> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Decodes a `.npy` file held in memory.
pub fn read_npy(bytes: &[u8]) -> Result<NpyArray, NpyError> {
    if bytes.is_empty() {
        return Err(NpyError::Empty);
    }
    let prefix = &bytes[..bytes.len().min(MAGIC.len())];
    if prefix != &MAGIC[..prefix.len()] {
        return Err(NpyError::NotNpy);
    }
    let truncated = |part| NpyError::TruncatedHeader {
        part,
        found: bytes.len(),
    };
    if bytes.len() < MAGIC.len() {
        return Err(truncated("magic string"));
    }
    let (major, minor) = match bytes.get(6..8) {
        Some(v) => (v[0], v[1]),
        None => return Err(truncated("format version")),
    };
    let (len_size, header_start): (usize, usize) = match (major, minor) {
        (1, 0) => (2, 10),
        (2, 0) | (3, 0) => (4, 12),
        _ => return Err(NpyError::UnsupportedVersion { major, minor }),
    };
    let Some(len_bytes) = bytes.get(8..8 + len_size) else {
        return Err(truncated("header length"));
    };
    let header_len = len_bytes
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if header_len > MAX_HEADER_LEN {
        return Err(NpyError::HeaderTooLong { len: header_len });
    }
    let header = header_start
        .checked_add(header_len)
        .and_then(|end| bytes.get(header_start..end))
        .ok_or(NpyError::HeaderLength {
            claimed: header_len,
            available: bytes.len() - header_start,
        })?;
    let data = &bytes[header_start + header.len()..];
    let Header {
        dtype,
        big_endian,
        shape,
    } = parse_header(header)?;

    let Some(count) = element_count(&shape) else {
        return Err(NpyError::TooLarge { shape });
    };
    let size = dtype.size_bytes();
    let expected = count.checked_mul(size);
    if expected != Some(data.len()) {
        return Err(match expected {
            Some(expected) => NpyError::DataLength {
                count,
                dtype,
                expected,
                found: data.len(),
            },
            None => NpyError::TooLarge { shape },
        });
    }
    let data = if big_endian && size > 1 {
        decode_big_endian(dtype, data)
    } else {
        TensorData::from_le_bytes(dtype, data)
            .expect("length checked against the element size")
    };
    Ok(NpyArray { shape, data })
}

/// Decodes big-endian elements of a multi-byte type (the length is a multiple of the size).
fn decode_big_endian(dtype: DType, bytes: &[u8]) -> TensorData {
    macro_rules! decode {
        ($variant:ident, $t:ty) => {
            TensorData::$variant(
                bytes
                    .chunks_exact(size_of::<$t>())
                    .map(|c| {
                        <$t>::from_be_bytes(
                            c.try_into().expect("chunk of the element size"),
                        )
                    })
                    .collect(),
            )
        };
    }
    match dtype {
        DType::F32 => decode!(F32, f32),
        DType::F64 => decode!(F64, f64),
        DType::F16 => decode!(F16, u16),
        DType::I16 => decode!(I16, i16),
        DType::U16 => decode!(U16, u16),
        DType::I32 => decode!(I32, i32),
        DType::U32 => decode!(U32, u32),
        DType::I64 => decode!(I64, i64),
        DType::U64 => decode!(U64, u64),
        // One-byte types have no byte order.
        DType::I8 | DType::U8 | DType::Bool => {
            TensorData::from_le_bytes(dtype, bytes).expect("one-byte elements")
        }
    }
}

/// Reads and decodes a `.npy` file. Errors name the file.
pub fn read_npy_file(path: &Path) -> Result<NpyArray, NpyError> {
    let bytes = std::fs::read(path).map_err(|error| NpyError::Io {
        path: path.to_path_buf(),
        writing: false,
        error,
    })?;
    read_npy(&bytes).map_err(|error| NpyError::InFile {
        path: path.to_path_buf(),
        error: Box::new(error),
    })
}

// -----------------------------------------------------------------------------------------
// Writing

/// The header dict, as NumPy writes it:
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
fn header_dict(shape: &[usize], dtype: DType) -> String {
    let dims = match shape {
        [d] => format!("{d},"),
        _ => shape
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': ({dims}), }}",
        descr_of(dtype)
    )
}

/// Encodes an array as a `.npy` file (format 1.0, or 2.0 if the header is longer than 1.0
/// allows).
///
/// # Panics
///
/// If `data` does not hold exactly as many elements as `shape` says (a bug in the caller;
/// [`write_npy_file`] reports it as an error instead).
pub fn write_npy(shape: &[usize], data: &TensorData) -> Vec<u8> {
    assert!(
        element_count(shape) == Some(data.len()),
        "write_npy: shape {shape:?} does not match {} elements",
        data.len()
    );
    let dict = header_dict(shape, data.dtype());
    // Pad with spaces and a final newline so that preamble + header is a multiple of ALIGN.
    let padded_len =
        |preamble: usize| (preamble + dict.len() + 1).next_multiple_of(ALIGN) - preamble;
    let (version, preamble) = if padded_len(10) <= usize::from(u16::MAX) {
        (1u8, 10)
    } else {
        (2, 12)
    };
    let header_len = padded_len(preamble);
    let body = data.to_le_bytes();
    let mut out = Vec::with_capacity(preamble + header_len + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        let len = u32::try_from(header_len).expect("a header of more than 4 GiB");
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(preamble + header_len - 1, b' ');
    out.push(b'\n');
    out.extend_from_slice(&body);
    out
}

/// Writes an array to a `.npy` file. Errors name the file.
pub fn write_npy_file(
    path: &Path,
    shape: &[usize],
    data: &TensorData,
) -> Result<(), NpyError> {
    if element_count(shape) != Some(data.len()) {
        return Err(NpyError::ShapeMismatch {
            shape: shape.to_vec(),
            len: data.len(),
        });
    }
    std::fs::write(path, write_npy(shape, data)).map_err(|error| NpyError::Io {
        path: path.to_path_buf(),
        writing: true,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    /// A file as NumPy wrote it, stored compactly: the preamble, the header dict, the
    /// number of padding spaces NumPy added before the final `\n`, and the data. Made with
    /// NumPy 2.4 (`np.save`, or `np.lib.format.write_array` with an explicit version).
    struct Sample {
        preamble: &'static [u8],
        dict: &'static [u8],
        padding: usize,
        data: &'static [u8],
    }

    impl Sample {
        fn bytes(&self) -> Vec<u8> {
            let mut out = [self.preamble, self.dict].concat();
            out.resize(out.len() + self.padding, b' ');
            out.push(b'\n');
            out.extend_from_slice(self.data);
            out
        }
    }

    // np.array([1.5, -2.0], dtype='>f4')
    const NUMPY_F4_BE: Sample = Sample {
        preamble: b"\x93NUMPY\x01\x00v\x00",
        dict: b"{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
        padding: 60,
        data: b"?\xc0\x00\x00\xc0\x00\x00\x00",
    };
    // np.array(-7, dtype='<i8')
    const NUMPY_I8_0D: Sample = Sample {
        preamble: b"\x93NUMPY\x01\x00v\x00",
        dict: b"{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
        padding: 62,
        data: b"\xf9\xff\xff\xff\xff\xff\xff\xff",
    };
    // np.zeros((0, 3), dtype='?')
    const NUMPY_BOOL_EMPTY: Sample = Sample {
        preamble: b"\x93NUMPY\x01\x00v\x00",
        dict: b"{'descr': '|b1', 'fortran_order': False, 'shape': (0, 3), }",
        padding: 58,
        data: b"",
    };
    // np.array([1, 513], dtype='<u2'), version 3.0
    const NUMPY_U2_V3: Sample = Sample {
        preamble: b"\x93NUMPY\x03\x00t\x00\x00\x00",
        dict: b"{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }",
        padding: 58,
        data: b"\x01\x00\x01\x02",
    };
    // np.array([0.5], dtype='>f8'), version 2.0
    const NUMPY_F8_V2_BE: Sample = Sample {
        preamble: b"\x93NUMPY\x02\x00t\x00\x00\x00",
        dict: b"{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }",
        padding: 58,
        data: b"?\xe0\x00\x00\x00\x00\x00\x00",
    };
    // np.array([[1, -2], [300, -32768]], dtype='>i2')
    const NUMPY_I2_BE_2D: Sample = Sample {
        preamble: b"\x93NUMPY\x01\x00v\x00",
        dict: b"{'descr': '>i2', 'fortran_order': False, 'shape': (2, 2), }",
        padding: 58,
        data: b"\x00\x01\xff\xfe\x01,\x80\x00",
    };

    /// A file with the given version and header text, unpadded (readers must not rely on
    /// alignment).
    fn file(major: u8, header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[major, 0]);
        if major == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn f32_file(header_shape: &str, data: &[f32]) -> Vec<u8> {
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        let header = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': {header_shape}, }}\n"
        );
        file(1, &header, &bytes)
    }

    fn read_ok(bytes: &[u8]) -> NpyArray {
        read_npy(bytes).unwrap_or_else(|e| panic!("unexpected error: {e}"))
    }

    fn read_err(bytes: &[u8]) -> String {
        match read_npy(bytes) {
            Ok(a) => panic!("expected an error, read {:?} {:?}", a.shape, a.data),
            Err(e) => e.to_string(),
        }
    }

    /// Three sample values of every element type (no NaN, so that `==` works).
    fn samples(dtype: DType) -> TensorData {
        match dtype {
            DType::F32 => TensorData::F32(vec![1.5, -0.0, f32::MAX]),
            DType::F64 => TensorData::F64(vec![1e300, -2.5, f64::MIN_POSITIVE]),
            // 1.0, -2.0 and the largest float16, 65504.
            DType::F16 => TensorData::F16(vec![0x3c00, 0xc000, 0x7bff]),
            DType::I8 => TensorData::I8(vec![i8::MIN, -1, i8::MAX]),
            DType::U8 => TensorData::U8(vec![0, 1, u8::MAX]),
            DType::I16 => TensorData::I16(vec![i16::MIN, -1, i16::MAX]),
            DType::U16 => TensorData::U16(vec![0, 1, u16::MAX]),
            DType::I32 => TensorData::I32(vec![i32::MIN, -1, i32::MAX]),
            DType::U32 => TensorData::U32(vec![0, 1, u32::MAX]),
            DType::I64 => TensorData::I64(vec![i64::MIN, -1, i64::MAX]),
            DType::U64 => TensorData::U64(vec![0, 1, u64::MAX]),
            DType::Bool => TensorData::Bool(vec![true, false, true]),
        }
    }

    /// The header length of a written file, checking the layout NumPy uses.
    fn check_layout(bytes: &[u8]) -> usize {
        assert_eq!(&bytes[..6], MAGIC);
        let (start, len) = match bytes[6] {
            1 => (10, usize::from(u16::from_le_bytes([bytes[8], bytes[9]]))),
            2 => (
                12,
                u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            ),
            v => panic!("version {v}"),
        };
        assert_eq!(bytes[7], 0);
        assert_eq!((start + len) % 64, 0, "data is not 64-byte aligned");
        assert_eq!(bytes[start + len - 1], b'\n');
        start + len
    }

    #[test]
    fn round_trip_every_dtype_and_shape() {
        for dtype in DType::ALL {
            let three = samples(dtype);
            let cases = [
                (vec![3], three.clone()),
                (vec![1, 3], three.clone()),
                (vec![3, 1, 1], three.clone()),
                (vec![], TensorData::zeros(dtype, 1)),
                (vec![0], TensorData::zeros(dtype, 0)),
                (vec![2, 0, 5], TensorData::zeros(dtype, 0)),
            ];
            for (shape, data) in cases {
                let bytes = write_npy(&shape, &data);
                let data_start = check_layout(&bytes);
                assert_eq!(bytes.len(), data_start + data.len() * dtype.size_bytes());
                let back = read_ok(&bytes);
                assert_eq!(back.shape, shape, "{dtype}");
                assert_eq!(back.data, data, "{dtype} {shape:?}");
            }
        }
    }

    #[test]
    fn nan_payloads_and_subnormals_survive() {
        let data = TensorData::F32(vec![
            f32::NAN,
            -f32::NAN,
            f32::from_bits(0x7fa0_0001),
            1e-45,
        ]);
        let back = read_ok(&write_npy(&[4], &data));
        let bits = |d: &TensorData| {
            d.as_f32()
                .unwrap()
                .iter()
                .map(|x| x.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&back.data), bits(&data));
    }

    #[test]
    fn writes_what_numpy_writes() {
        assert_eq!(
            write_npy(&[], &TensorData::I64(vec![-7])),
            NUMPY_I8_0D.bytes()
        );
        assert_eq!(
            write_npy(&[0, 3], &TensorData::Bool(vec![])),
            NUMPY_BOOL_EMPTY.bytes()
        );
        let header = |shape: &[usize]| {
            let bytes = write_npy(
                shape,
                &TensorData::zeros(DType::F32, shape.iter().product()),
            );
            let end = check_layout(&bytes);
            String::from_utf8(bytes[10..end].to_vec()).unwrap()
        };
        assert!(
            header(&[3])
                .starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }")
        );
        assert!(
            header(&[2, 3])
                .starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }")
        );
        assert!(
            header(&[])
                .starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (), }")
        );
    }

    #[test]
    fn reads_numpy_samples() {
        let a = read_ok(&NUMPY_F4_BE.bytes());
        assert_eq!(
            (a.shape, a.data),
            (vec![2], TensorData::F32(vec![1.5, -2.0]))
        );
        let a = read_ok(&NUMPY_I8_0D.bytes());
        assert_eq!((a.shape, a.data), (vec![], TensorData::I64(vec![-7])));
        let a = read_ok(&NUMPY_BOOL_EMPTY.bytes());
        assert_eq!((a.shape, a.data), (vec![0, 3], TensorData::Bool(vec![])));
        let a = read_ok(&NUMPY_U2_V3.bytes());
        assert_eq!((a.shape, a.data), (vec![2], TensorData::U16(vec![1, 513])));
        let a = read_ok(&NUMPY_F8_V2_BE.bytes());
        assert_eq!((a.shape, a.data), (vec![1], TensorData::F64(vec![0.5])));
        let a = read_ok(&NUMPY_I2_BE_2D.bytes());
        let want = TensorData::I16(vec![1, -2, 300, -32768]);
        assert_eq!((a.shape, a.data), (vec![2, 2], want));
    }

    #[test]
    fn big_endian_every_type() {
        for dtype in DType::ALL {
            let le = samples(dtype);
            let size = dtype.size_bytes();
            let be: Vec<u8> = le
                .to_le_bytes()
                .chunks(size)
                .flat_map(|c| c.iter().rev().copied().collect::<Vec<_>>())
                .collect();
            let code = &descr_of(dtype)[1..];
            let header =
                format!("{{'descr': '>{code}', 'fortran_order': False, 'shape': (3,), }}");
            assert_eq!(read_ok(&file(1, &header, &be)).data, le, "{dtype}");
        }
    }

    #[test]
    fn header_quirks() {
        let one_two = [1.0f32, 2.0];
        let data: Vec<u8> = one_two.iter().flat_map(|x| x.to_le_bytes()).collect();
        let headers = [
            // double quotes, no trailing comma, no newline
            r#"{"descr": "<f4", "fortran_order": False, "shape": (2,)}"#,
            // keys in another order, mixed quotes
            r#"{'shape': (2,), "fortran_order": False, 'descr': '<f4'}"#,
            // spaces, tabs and newlines everywhere
            "{ 'shape' : ( 2 , ) ,\t'descr':'<f4' ,\n 'fortran_order' : False , }   \n",
            // trailing comma after the last dimension of a multi-dimensional shape
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2,), }",
            // Python 2 long integers
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }",
            // native and not-applicable byte orders read as little-endian
            "{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }",
            "{'descr': '|f4', 'fortran_order': False, 'shape': (2,), }",
            // redundant parentheses around a dimension
            "{'descr': '<f4', 'fortran_order': False, 'shape': ((2),), }",
        ];
        for header in headers {
            for major in [1, 2, 3] {
                let a = read_ok(&file(major, header, &data));
                assert_eq!(a.data, TensorData::F32(one_two.to_vec()), "{header}");
                assert_eq!(a.shape.iter().product::<usize>(), 2, "{header}");
            }
        }
        // Shapes: (), (3,), (2, 3), and one-byte types with every byte-order mark.
        assert_eq!(read_ok(&f32_file("()", &[4.0])).shape, vec![]);
        assert_eq!(read_ok(&f32_file("( )", &[4.0])).shape, vec![]);
        assert_eq!(read_ok(&f32_file("(3,)", &[1.0, 2.0, 3.0])).shape, vec![3]);
        assert_eq!(read_ok(&f32_file("(2, 3)", &[0.0; 6])).shape, vec![2, 3]);
        assert_eq!(
            read_ok(&f32_file("(0,)", &[])).data,
            TensorData::F32(vec![])
        );
        let huge_but_empty = "(0, 18446744073709551615, 18446744073709551615)";
        assert_eq!(read_ok(&f32_file(huge_but_empty, &[])).shape[0], 0);
        for order in ['<', '>', '=', '|'] {
            for (code, want) in [
                ("u1", TensorData::U8(vec![255, 1])),
                ("i1", TensorData::I8(vec![-1, 1])),
                ("b1", TensorData::Bool(vec![true, true])),
            ] {
                let header = format!(
                    "{{'descr': '{order}{code}', 'fortran_order': False, 'shape': (2,)}}"
                );
                assert_eq!(read_ok(&file(1, &header, &[255, 1])).data, want, "{header}");
            }
        }
    }

    #[test]
    fn long_headers_use_version_2() {
        let shape = vec![1usize; 30_000];
        let data = TensorData::U8(vec![9]);
        let bytes = write_npy(&shape, &data);
        assert_eq!(bytes[6], 2);
        check_layout(&bytes);
        let back = read_ok(&bytes);
        assert_eq!((back.shape, back.data), (shape, data));
    }

    #[test]
    fn data_length_errors_say_what_was_expected() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (784,), }";
        let err = read_err(&file(1, header, &[0; 3000]));
        assert_eq!(
            err,
            "the header says 784 float32 values (3136 bytes) but the file holds 3000 \
             bytes after the header"
        );
        let err = read_err(&file(1, header, &[0; 3137]));
        assert!(
            err.contains("(3136 bytes) but the file holds 3137 bytes"),
            "{err}"
        );
        // A valid file with one byte cut off or one byte added.
        let good = write_npy(&[2], &TensorData::I64(vec![1, 2]));
        assert!(read_err(&good[..good.len() - 1]).contains("holds 15 bytes"));
        let mut longer = good.clone();
        longer.push(0);
        assert!(read_err(&longer).contains("holds 17 bytes"));
        // A huge claimed shape with little data is rejected without allocating for it.
        let header =
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1024), }";
        let err = read_err(&file(1, header, &[0; 16]));
        assert!(
            err.contains("1125899906842624 float64 values")
                || err.contains("more elements")
        );
    }

    #[test]
    fn every_error_has_a_clear_message() {
        let check = |bytes: &[u8], want: &str| {
            let err = read_err(bytes);
            assert!(
                err.contains(want),
                "error {err:?} does not contain {want:?}"
            );
        };
        // Damaged preambles.
        let preambles: [(&[u8], &str); 11] = [
            (b"", "the file is empty"),
            (b"PK\x03\x04 a zip file", "not a .npy file"),
            (b"\x93NUM", "inside the magic string"),
            (b"\x93NUMPY\x01", "inside the format version"),
            (
                b"\x93NUMPY\x04\x00\x10\x00",
                "version 4.0, which is not supported",
            ),
            (
                b"\x93NUMPY\x01\x01\x10\x00",
                "version 1.1, which is not supported",
            ),
            (b"\x93NUMPY\x01\x00\x10", "inside the header length"),
            (b"\x93NUMPY\x02\x00\x10\x00\x00", "inside the header length"),
            (
                b"\x93NUMPY\x01\x00\x10\x00{}",
                "should be 16 bytes long but only 2",
            ),
            (
                b"\x93NUMPY\x02\x00\xff\xff\xff\xff{}",
                "4294967295 bytes long, more than",
            ),
            (
                b"\x93NUMPY\x02\x00\xff\xff\x0f\x00{}",
                "1048575 bytes long but only 2",
            ),
        ];
        for (bytes, want) in preambles {
            check(bytes, want);
        }
        // Malformed or unsupported headers.
        let nested = format!("{}1{}", "(".repeat(1000), ")".repeat(1000));
        let headers = [
            ("[1, 2]", "not a Python dictionary"),
            (
                "",
                "expected a value at byte 0 but found the end of the header",
            ),
            ("{'descr' '<f4'}", "expected ':' at byte 9 but found '''"),
            ("{'descr': '<f4", "never ends"),
            ("{'descr': '<f4', 'shape': (1,)", "expected ',' or '}'"),
            (
                "{'descr': '<f4', 'shape': (1,)} x",
                "nothing after the dictionary",
            ),
            ("{'descr': '<f4', 'shape': (1,)} \u{e9}", "found byte 0xc3"),
            (
                "{'descr': '<f4', 'descr': '<f4', 'shape': (1,)}",
                "'descr' appears twice",
            ),
            ("{'descr': '<f4', 'shape': (2,)}", "no 'fortran_order' key"),
            ("{'descr': '<f4', 'fortran_order': False}", "no 'shape' key"),
            ("{'fortran_order': False, 'shape': (2,)}", "no 'descr' key"),
            ("{1: 2}", "key is not a string"),
            (
                "{'descr': 4, 'fortran_order': False, 'shape': (2,)}",
                "'descr' is not a string",
            ),
            (
                "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
                "neither True nor False",
            ),
            (
                "{'descr': '<f4', 'fortran_order': nan}",
                "unexpected name 'nan'",
            ),
            (
                "{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}",
                "np.ascontiguousarray",
            ),
            (&nested, "nests brackets too deeply"),
        ];
        for (header, want) in headers {
            check(&file(1, header, &[0; 8]), want);
        }
        let with_shape = |shape: &str| {
            let header =
                format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}}}");
            file(1, &header, &[0; 8])
        };
        let too_many = "more elements than this machine can address";
        let shapes = [
            ("(1,), 'x': 1", "unknown key 'x'"),
            ("[2]", "'shape' is not a tuple"),
            ("2", "'shape' is not a tuple"),
            ("(-2,)", "negative dimension"),
            ("(2.5,)", "not an integer"),
            ("('2',)", "other than integers"),
            ("(None,)", "other than integers"),
            ("(-,)", "expected a number"),
            (
                "(99999999999999999999999,)",
                "dimension of the shape is too large",
            ),
            ("(4294967296, 4294967296, 4294967296)", too_many),
            ("(4611686018427387904,)", too_many),
        ];
        for (shape, want) in shapes {
            check(&with_shape(shape), want);
        }
        let with_descr = |descr: &str| {
            let header =
                format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (2,)}}");
            file(1, &header, &[0; 8])
        };
        let descrs = [
            ("'<f1'", "dtype '<f1', which is not supported"),
            ("'<c8'", "dtype '<c8' (complex)"),
            ("'|O'", "dtype '|O' (Python objects)"),
            ("'<U2'", "dtype '<U2' (strings)"),
            ("'f4'", "dtype 'f4', which"),
            ("''", "dtype '', which"),
            (
                "[('a', '<f4'), ('b', '<i4')]",
                "dtype '[('a', '<f4'), ('b', '<i4')]' (a structured",
            ),
        ];
        for (descr, want) in descrs {
            check(&with_descr(descr), want);
        }
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir =
            std::env::temp_dir().join(format!("edgegen-npy-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.npy");
        let data = TensorData::F32(vec![1.0, 2.0, 3.0]);
        write_npy_file(&path, &[3], &data).unwrap();
        let back = read_npy_file(&path).unwrap();
        assert_eq!((back.shape, back.data), (vec![3], data.clone()));

        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
        let err = read_npy_file(&path).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "cannot read '{}': the header says 3 float32 values (12 bytes) but the \
                 file holds 10 bytes after the header",
                path.display()
            )
        );

        let missing = dir.join("missing.npy");
        let err = read_npy_file(&missing).unwrap_err();
        assert!(matches!(&err, NpyError::Io { writing: false, error, .. }
            if error.kind() == std::io::ErrorKind::NotFound));
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read '{}': ", missing.display()))
        );

        let bad_dir = dir.join("no-such-dir").join("y.npy");
        let err = write_npy_file(&bad_dir, &[3], &data)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("cannot write '{}': ", bad_dir.display())),
            "{err}"
        );

        let err = write_npy_file(&path, &[2, 2], &data)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "cannot write 3 values as an array of shape [2, 2]: the counts differ"
        );
        let err = write_npy_file(&path, &[usize::MAX, 2], &data)
            .unwrap_err()
            .to_string();
        assert!(err.contains("the counts differ"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    #[should_panic(expected = "does not match 3 elements")]
    fn write_npy_rejects_a_wrong_shape() {
        write_npy(&[4], &TensorData::U8(vec![1, 2, 3]));
    }

    /// Pieces that random headers are assembled from, so that the parser sees many
    /// near-valid inputs rather than only noise.
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ",",
        ":",
        " ",
        "'descr'",
        "'shape'",
        "'fortran_order'",
        "'<f4'",
        "'>i2'",
        "'|b1'",
        "True",
        "False",
        "None",
        "0",
        "1",
        "3",
        "-1",
        "18446744073709551616",
        "'",
        "\"",
        "\\",
        "L",
        "x",
        "\n",
        "\u{e9}",
    ];

    /// Replaces NaNs by zeros, so that `==` can compare the data.
    fn without_nan(data: TensorData) -> TensorData {
        let zero_nan32 = |x: f32| if x.is_nan() { 0.0 } else { x };
        let zero_nan64 = |x: f64| if x.is_nan() { 0.0 } else { x };
        match data {
            TensorData::F32(v) => TensorData::F32(v.into_iter().map(zero_nan32).collect()),
            TensorData::F64(v) => TensorData::F64(v.into_iter().map(zero_nan64).collect()),
            other => other,
        }
    }

    fn any_dtype() -> impl Strategy<Value = DType> {
        proptest::sample::select(DType::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let _ = read_npy(&bytes);
        }

        #[test]
        fn random_bytes_after_a_valid_preamble_never_panic(
            major in 1u8..4,
            len in 0u16..200,
            rest in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&[major, 0]);
            bytes.extend_from_slice(&len.to_le_bytes());
            if major > 1 {
                bytes.extend_from_slice(&[0, 0]);
            }
            bytes.extend_from_slice(&rest);
            let _ = read_npy(&bytes);
        }

        #[test]
        fn random_headers_never_panic(
            tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..40),
            data in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            let _ = read_npy(&file(1, &tokens.concat(), &data));
        }

        #[test]
        fn mutated_files_never_panic(
            dtype in any_dtype(),
            shape in proptest::collection::vec(0usize..4, 0..4),
            edits in proptest::collection::vec((any::<Index>(), any::<u8>()), 0..6),
            cut in any::<Index>(),
            truncate in any::<bool>(),
            insert in proptest::option::of((any::<Index>(), any::<u8>())),
        ) {
            let count = shape.iter().product();
            let mut bytes = write_npy(&shape, &TensorData::zeros(dtype, count));
            for (at, byte) in edits {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            if let Some((at, byte)) = insert {
                let i = at.index(bytes.len());
                bytes.insert(i, byte);
            }
            if truncate {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            let _ = read_npy(&bytes);
        }

        #[test]
        fn round_trip_random_arrays(
            dtype in any_dtype(),
            shape in proptest::collection::vec(0usize..5, 0..5),
            seed in any::<u64>(),
        ) {
            let count: usize = shape.iter().product();
            // Arbitrary bit patterns of the element type (NaNs excluded so that `==`
            // works).
            let mut state = seed;
            let bytes: Vec<u8> = (0..count * dtype.size_bytes())
                .map(|_| {
                    // A 64-bit linear congruential generator (Knuth's MMIX constants).
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    (state >> 56) as u8
                })
                .collect();
            let data = without_nan(TensorData::from_le_bytes(dtype, &bytes).unwrap());
            let written = write_npy(&shape, &data);
            check_layout(&written);
            let back = read_npy(&written).unwrap();
            prop_assert_eq!(back.shape, shape);
            prop_assert_eq!(back.data, data);
        }
    }
}
