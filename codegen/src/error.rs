//! The error type of the compiler library.
//!
//! Every failure a user can cause is an [`Error`] with a kind (which decides the CLI's exit code
//! and lets tests check what went wrong) and a message written for the user: the file, the node
//! (name and op type) or tensor, and the cause, one problem per line when there are several.

use std::fmt;
use std::path::Path;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A file could not be read or written.
    Io,
    /// The model file is not a valid model (truncated, corrupted, inconsistent).
    InvalidModel,
    /// The model is valid but uses something edgegen does not support.
    Unsupported,
    /// A command-line option or input file given by the user is wrong.
    InvalidArgument,
    /// Compiling or running generated code failed.
    Build,
    /// A bug in edgegen: an invariant did not hold.
    Internal,
}

/// A user-facing error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

/// Result with the library's error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid_model(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidModel, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unsupported, message)
    }

    pub fn invalid_argument(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(
            ErrorKind::Internal,
            format!(
                "internal error (a bug in edgegen, please report it): {}",
                message.into()
            ),
        )
    }

    /// An I/O error on `path`, phrased for the user.
    pub fn io(path: &Path, action: &str, err: &std::io::Error) -> Error {
        let cause = match err.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
            _ => err.to_string(),
        };
        Error::new(
            ErrorKind::Io,
            format!("cannot {action} '{}': {cause}", path.display()),
        )
    }

    /// Prefixes the message with where it happened, e.g. the model file.
    pub fn context(mut self, context: impl fmt::Display) -> Error {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
