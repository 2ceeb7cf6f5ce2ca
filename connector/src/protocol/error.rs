//! Errors of the wire layer: every one names the JSON path of the offending field.

use arrow::error::ArrowError;

/// A request or response that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The bytes are not JSON at all.
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A field is missing, of the wrong type, or holds an invalid value.
    #[error("{}{problem}", path_prefix(path))]
    Field { path: String, problem: Problem },
    /// Our own Arrow data could not be encoded (a bug or an unsupported type).
    #[error("cannot encode {what} as an Arrow IPC message: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: ArrowError,
    },
}

fn path_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("missing field")]
    Missing,
    #[error("expected {expected}, found {found}")]
    WrongType {
        expected: &'static str,
        found: &'static str,
    },
    #[error("unknown @type \"{0}\"")]
    UnknownType(String),
    #[error("invalid base64: {0}")]
    Base64(String),
    #[error("invalid Arrow IPC message: {0}")]
    Arrow(String),
    #[error("{0}")]
    Invalid(String),
}

impl ProtocolError {
    pub(crate) fn at(path: impl Into<String>, problem: Problem) -> Self {
        ProtocolError::Field {
            path: path.into(),
            problem,
        }
    }

    /// The JSON path of the offending field, when the error is about one.
    pub fn path(&self) -> Option<&str> {
        match self {
            ProtocolError::Field { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The problem with the field, when the error is about one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ProtocolError::Field { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;
