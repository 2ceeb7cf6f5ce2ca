//! The Lambda function-error body Athena reads when an invocation fails (SPEC §1.6).

use serde_json::Value;

use super::error::Result;
use super::json::{Node, ObjectWriter};

/// `{"errorMessage", "errorType", "stackTrace", "cause"}`, every member optional.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunctionError {
    pub error_message: Option<String>,
    pub error_type: Option<String>,
    pub stack_trace: Option<Vec<StackFrame>>,
    pub cause: Option<Box<FunctionError>>,
}

/// Stack-trace elements are strings or arrays of strings; both are accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum StackFrame {
    Line(String),
    Lines(Vec<String>),
}

/// The type Java connectors use for ordinary failures.
pub const CONNECTOR_EXCEPTION: &str =
    "com.amazonaws.athena.connector.lambda.exceptions.AthenaConnectorException";
/// The type that makes Athena back off and retry.
pub const THROTTLE_EXCEPTION: &str =
    "com.amazonaws.athena.connector.lambda.exceptions.FederationThrottleException";

impl FunctionError {
    pub fn new(error_type: &str, message: impl Into<String>) -> FunctionError {
        FunctionError {
            error_message: Some(message.into()),
            error_type: Some(error_type.to_owned()),
            stack_trace: None,
            cause: None,
        }
    }

    /// Whether a JSON object looks like a function error (no `@type`, error members).
    pub(crate) fn looks_like(node: Node<'_>) -> bool {
        node.has("errorMessage") || node.has("errorType")
    }

    pub(crate) fn read(node: Node<'_>) -> Result<FunctionError> {
        Ok(FunctionError {
            error_message: node.opt_string("errorMessage")?,
            error_type: node.opt_string("errorType")?,
            stack_trace: node.opt_field("stackTrace", |n| {
                n.map_array(|frame| match frame.value {
                    Value::Array(_) => frame.string_list().map(StackFrame::Lines),
                    _ => frame.as_str().map(|s| StackFrame::Line(s.to_owned())),
                })
            })?,
            cause: node.opt_field("cause", FunctionError::read)?.map(Box::new),
        })
    }

    pub(crate) fn write(&self) -> Value {
        let mut w = ObjectWriter::new();
        if let Some(m) = &self.error_message {
            w = w.put("errorMessage", m.as_str());
        }
        if let Some(t) = &self.error_type {
            w = w.put("errorType", t.as_str());
        }
        if let Some(frames) = &self.stack_trace {
            let frames: Vec<Value> = frames
                .iter()
                .map(|f| match f {
                    StackFrame::Line(s) => Value::String(s.clone()),
                    StackFrame::Lines(l) => Value::from(l.clone()),
                })
                .collect();
            w = w.put("stackTrace", frames);
        }
        if let Some(c) = &self.cause {
            w = w.put("cause", c.write());
        }
        w.build()
    }
}

impl std::fmt::Display for FunctionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            self.error_type.as_deref().unwrap_or("error"),
            self.error_message.as_deref().unwrap_or("(no message)")
        )?;
        if let Some(c) = &self.cause {
            write!(f, " (caused by {c})")?;
        }
        Ok(())
    }
}
