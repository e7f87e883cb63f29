//! Attribute values as the text IR writes them, and the conversions between them and the typed
//! fields of operator attribute structs.
//!
//! Every attribute struct in [`crate::ir::op`] is declared with [`attr_struct!`], which gives it a
//! `Default` (the ONNX defaults) and the two functions the text printer and parser need. Keeping the
//! field list in one place means a new attribute cannot be printed but forgotten by the parser.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// An attribute value in the text IR.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    Int(i64),
    Float(f32),
    List(Vec<AttrValue>),
    /// A bare word such as `relu`, `constant`, `half_pixel`, `none`.
    Word(String),
    /// A word with arguments, such as `clip(0.0, 6.0)`.
    Call(String, Vec<AttrValue>),
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Int(i) => write!(f, "{i}"),
            AttrValue::Float(x) => f.write_str(&format_f32(*x)),
            AttrValue::List(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_char(']')
            }
            AttrValue::Word(w) => f.write_str(w),
            AttrValue::Call(name, args) => {
                write!(f, "{name}(")?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_char(')')
            }
        }
    }
}

/// Formats an `f32` so that parsing the text gives back the same bits: Rust's shortest round-trip
/// representation, always with a decimal point or exponent so it cannot be mistaken for an integer.
pub fn format_f32(x: f32) -> String {
    if x.is_nan() {
        "nan".to_string()
    } else if x.is_infinite() {
        if x > 0.0 {
            "inf".to_string()
        } else {
            "-inf".to_string()
        }
    } else {
        format!("{x:?}")
    }
}

/// A Rust type that an attribute field can have.
pub trait AttrType: Sized {
    fn to_attr(&self) -> AttrValue;
    fn from_attr(value: &AttrValue) -> Option<Self>;
    /// What the parser says it expected when `from_attr` fails.
    const EXPECTED: &'static str;
}

impl AttrType for i64 {
    fn to_attr(&self) -> AttrValue {
        AttrValue::Int(*self)
    }
    fn from_attr(value: &AttrValue) -> Option<Self> {
        match value {
            AttrValue::Int(i) => Some(*i),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "an integer";
}

impl AttrType for usize {
    fn to_attr(&self) -> AttrValue {
        AttrValue::Int(*self as i64)
    }
    fn from_attr(value: &AttrValue) -> Option<Self> {
        match value {
            AttrValue::Int(i) => usize::try_from(*i).ok(),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "a non-negative integer";
}

impl AttrType for bool {
    fn to_attr(&self) -> AttrValue {
        AttrValue::Word(if *self { "true" } else { "false" }.to_string())
    }
    fn from_attr(value: &AttrValue) -> Option<Self> {
        match value {
            AttrValue::Word(w) if w == "true" => Some(true),
            AttrValue::Word(w) if w == "false" => Some(false),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "true or false";
}

impl AttrType for f32 {
    fn to_attr(&self) -> AttrValue {
        AttrValue::Float(*self)
    }
    fn from_attr(value: &AttrValue) -> Option<Self> {
        match value {
            AttrValue::Float(x) => Some(*x),
            AttrValue::Int(i) => Some(*i as f32),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "a number";
}

impl AttrType for f64 {
    fn to_attr(&self) -> AttrValue {
        AttrValue::Float(*self as f32)
    }
    fn from_attr(value: &AttrValue) -> Option<Self> {
        match value {
            AttrValue::Float(x) => Some(*x as f64),
            AttrValue::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "a number";
}

impl<T: AttrType> AttrType for Vec<T> {
    fn to_attr(&self) -> AttrValue {
        AttrValue::List(self.iter().map(AttrType::to_attr).collect())
    }
    fn from_attr(value: &AttrValue) -> Option<Self> {
        match value {
            AttrValue::List(items) => items.iter().map(T::from_attr).collect(),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "a list";
}

/// `None` prints as the word `none`.
impl<T: AttrType> AttrType for Option<T> {
    fn to_attr(&self) -> AttrValue {
        match self {
            Some(v) => v.to_attr(),
            None => AttrValue::Word("none".to_string()),
        }
    }
    fn from_attr(value: &AttrValue) -> Option<Self> {
        match value {
            AttrValue::Word(w) if w == "none" => Some(None),
            other => T::from_attr(other).map(Some),
        }
    }
    const EXPECTED: &'static str = "a value or none";
}

/// Declares a fieldless enum whose variants print as words in the text IR.
macro_rules! word_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub fn word(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
            pub fn from_word(word: &str) -> Option<Self> {
                match word { $($word => Some($name::$variant),)+ _ => None }
            }
        }

        impl $crate::ir::attr::AttrType for $name {
            fn to_attr(&self) -> $crate::ir::attr::AttrValue {
                $crate::ir::attr::AttrValue::Word(self.word().to_string())
            }
            fn from_attr(value: &$crate::ir::attr::AttrValue) -> Option<Self> {
                match value {
                    $crate::ir::attr::AttrValue::Word(w) => Self::from_word(w),
                    _ => None,
                }
            }
            const EXPECTED: &'static str = concat!("one of:", $(" ", $word),+);
        }
    };
}
pub(crate) use word_enum;

/// The attributes of one node while the parser reads them: taken out one field at a time, so that
/// anything left over is an unknown attribute.
#[derive(Debug, Default)]
pub struct AttrMap {
    values: BTreeMap<String, AttrValue>,
}

impl AttrMap {
    pub fn new(values: BTreeMap<String, AttrValue>) -> Self {
        AttrMap { values }
    }

    /// Takes the attribute `name`, converting it to `T`; `Ok(None)` when it is absent.
    pub fn take<T: AttrType>(&mut self, name: &str) -> Result<Option<T>, String> {
        match self.values.remove(name) {
            None => Ok(None),
            Some(value) => T::from_attr(&value).map(Some).ok_or_else(|| {
                format!(
                    "attribute `{name}` should be {}, found `{value}`",
                    T::EXPECTED
                )
            }),
        }
    }

    /// Fails if any attribute was not taken.
    pub fn finish(self, op: &str) -> Result<(), String> {
        match self.values.keys().next() {
            None => Ok(()),
            Some(name) => Err(format!("{op} has no attribute `{name}`")),
        }
    }
}

/// An attribute struct: its fields as `(name, value)` pairs, and back.
pub trait Attrs: Sized {
    fn write_attrs(&self, out: &mut Vec<(&'static str, AttrValue)>);
    fn read_attrs(map: &mut AttrMap) -> Result<Self, String>;
}

/// Declares an attribute struct with a default for every field (the ONNX default, or the value
/// that means "not given yet, resolved by shape inference").
macro_rules! attr_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty = $default:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name { $( $(#[$fmeta])* pub $field: $ty ),* }

        impl Default for $name {
            fn default() -> Self {
                $name { $( $field: $default ),* }
            }
        }

        impl $crate::ir::attr::Attrs for $name {
            fn write_attrs(&self, out: &mut Vec<(&'static str, $crate::ir::attr::AttrValue)>) {
                $( out.push((stringify!($field), $crate::ir::attr::AttrType::to_attr(&self.$field))); )*
            }
            #[allow(unused_variables)]
            fn read_attrs(map: &mut $crate::ir::attr::AttrMap) -> Result<Self, String> {
                Ok($name { $( $field: map.take::<$ty>(stringify!($field))?.unwrap_or_else(|| $default) ),* })
            }
        }
    };
}
pub(crate) use attr_struct;
