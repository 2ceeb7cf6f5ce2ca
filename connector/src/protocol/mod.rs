//! The Athena Query Federation wire protocol, serde versions 2 to 6, with no I/O.
//!
//! Read a message with [`parse_message`] (or [`parse_request`]), write one with
//! [`Message::to_json`] / [`Request::to_json`] / [`Response::to_json`] for a [`SerDeVersion`].
//! Reading is lenient (member order, optional and unknown members); writing follows the
//! Java SDK's strict member order. See `shared/protocol/SPEC.md` for the rules.

mod arrow_type;
mod block;
mod common;
mod constraints;
mod error;
mod function_error;
pub mod ipc;
mod json;
mod messages;
mod scalar;
mod version;

use serde_json::Value;

pub use arrow_type::{ArrowType, DateUnit, IntervalKind, Precision, Unit};
pub use block::Block;
pub use common::{EncryptionKey, FederatedIdentity, SpillLocation, Split, TableName};
pub use constraints::{
    value_block, Bound, Constraints, Expression, Marker, OrderByField, QueryPlan, Range,
    SortDirection, StandardFunction, ValueSet, NO_LIMIT,
};
pub use error::{Problem, ProtocolError, Result};
pub use function_error::{FunctionError, StackFrame, CONNECTOR_EXCEPTION, THROTTLE_EXCEPTION};
pub use messages::*;
pub use scalar::{format_decimal, Scalar};
pub use version::{Detected, Framing, SerDeVersion};

use json::{Node, Path};

/// Any message of the protocol: what `athena-fed decode` reads.
// One per invocation: the size difference between variants costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request(Request),
    Response(Response),
    /// A Lambda function-error body (it has no `@type`).
    Error(FunctionError),
}

/// A parsed message and what its contents revealed about the serde version.
#[derive(Debug)]
pub struct Parsed<T> {
    pub message: T,
    pub detected: Detected,
}

impl<T> Parsed<T> {
    /// The version to answer in: legacy framing (v2) if the request used it, else the latest
    /// (responses are identical from v3 on, and Arrow Java reads either framing).
    pub fn response_version(&self) -> SerDeVersion {
        if self.detected.saw_legacy_framing() {
            SerDeVersion::V2
        } else {
            SerDeVersion::LATEST
        }
    }
}

fn with_root<T>(bytes: &[u8], f: impl FnOnce(Node<'_>) -> Result<T>) -> Result<Parsed<T>> {
    let value: Value = serde_json::from_slice(bytes)?;
    let detected = Detected::default();
    let root = Path::Root;
    let node = Node {
        value: &value,
        path: &root,
        seen: &detected,
    };
    node.as_object()?;
    let message = f(node)?;
    Ok(Parsed { message, detected })
}

/// Parses any federation message: request, response or function error.
pub fn parse_message(bytes: &[u8]) -> Result<Parsed<Message>> {
    with_root(bytes, |node| {
        if !node.has("@type") && FunctionError::looks_like(node) {
            return FunctionError::read(node).map(Message::Error);
        }
        let tag = node.type_tag()?;
        if let Some(r) = Request::read(tag, node)? {
            return Ok(Message::Request(r));
        }
        if let Some(r) = Response::read(tag, node)? {
            return Ok(Message::Response(r));
        }
        Err(node.unknown_type(tag))
    })
}

/// Parses a request, as the connector receives it.
pub fn parse_request(bytes: &[u8]) -> Result<Parsed<Request>> {
    with_root(bytes, |node| {
        let tag = node.type_tag()?;
        Request::read(tag, node)?.ok_or_else(|| node.unknown_type(tag))
    })
}

/// Parses a response, as the engine receives it.
pub fn parse_response(bytes: &[u8]) -> Result<Parsed<Response>> {
    with_root(bytes, |node| {
        let tag = node.type_tag()?;
        Response::read(tag, node)?.ok_or_else(|| node.unknown_type(tag))
    })
}

impl Request {
    /// The request as JSON for `version`.
    pub fn to_json(&self, version: SerDeVersion) -> Result<Value> {
        self.write(version)
    }
}

impl Response {
    /// The response as JSON for `version`.
    pub fn to_json(&self, version: SerDeVersion) -> Result<Value> {
        self.write(version)
    }
}

impl FunctionError {
    pub fn to_json(&self) -> Value {
        self.write()
    }
}

impl Message {
    pub fn to_json(&self, version: SerDeVersion) -> Result<Value> {
        match self {
            Message::Request(r) => r.write(version),
            Message::Response(r) => r.write(version),
            Message::Error(e) => Ok(e.write()),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Message::Request(r) => r.type_name(),
            Message::Response(r) => r.type_name(),
            Message::Error(_) => "FunctionError",
        }
    }
}

#[cfg(test)]
mod tests;
