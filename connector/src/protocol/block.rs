//! Schemas and blocks: base64 strings of single Arrow IPC messages inside the JSON (SPEC §3.1-3.2).

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::Value;

use super::error::{Problem, ProtocolError, Result};
use super::ipc;
use super::json::{Node, ObjectWriter};
use super::version::Framing;

/// A record batch as Athena exchanges it: `{"aId", "schema", "records"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The Java allocator id; opaque, echoed for fidelity.
    pub allocator_id: String,
    pub batch: RecordBatch,
}

impl Block {
    pub fn new(allocator_id: impl Into<String>, batch: RecordBatch) -> Block {
        Block {
            allocator_id: allocator_id.into(),
            batch,
        }
    }

    pub fn schema(&self) -> SchemaRef {
        self.batch.schema()
    }

    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    pub(crate) fn read(node: Node<'_>) -> Result<Block> {
        let allocator_id = node.opt_string("aId")?.unwrap_or_default();
        let schema = node.field("schema", read_schema)?;
        let batch = node.field("records", |n| read_records(n, &schema))?;
        Ok(Block {
            allocator_id,
            batch,
        })
    }

    pub(crate) fn write(&self, framing: Framing) -> Result<Value> {
        Ok(ObjectWriter::new()
            .put("aId", self.allocator_id.as_str())
            .put("schema", write_schema(&self.batch.schema(), framing)?)
            .put("records", write_records(&self.batch, framing)?)
            .build())
    }
}

fn base64_bytes(node: Node<'_>) -> Result<Vec<u8>> {
    BASE64
        .decode(node.as_str()?)
        .map_err(|e| node.error(Problem::Base64(e.to_string())))
}

/// Reads a schema string.
pub(crate) fn read_schema(node: Node<'_>) -> Result<SchemaRef> {
    let bytes = base64_bytes(node)?;
    if bytes.is_empty() {
        return Err(node.error(Problem::Arrow("empty schema".into())));
    }
    let (schema, framing) =
        ipc::decode_schema(&bytes).map_err(|e| node.error(Problem::Arrow(e)))?;
    node.seen.framing(framing);
    Ok(Arc::new(schema))
}

fn read_records(node: Node<'_>, schema: &SchemaRef) -> Result<RecordBatch> {
    let bytes = base64_bytes(node)?;
    if bytes.is_empty() {
        return Ok(RecordBatch::new_empty(Arc::clone(schema)));
    }
    let (batch, framing) =
        ipc::decode_batch(&bytes, schema).map_err(|e| node.error(Problem::Arrow(e)))?;
    node.seen.framing(framing);
    Ok(batch)
}

pub(crate) fn write_schema(schema: &SchemaRef, framing: Framing) -> Result<Value> {
    let bytes = ipc::encode_schema(schema, framing).map_err(|source| ProtocolError::Encode {
        what: "schema",
        source,
    })?;
    Ok(Value::String(BASE64.encode(bytes)))
}

/// A zero-row block is written as `""`, as the Java writer does.
fn write_records(batch: &RecordBatch, framing: Framing) -> Result<Value> {
    if batch.num_rows() == 0 {
        return Ok(Value::String(String::new()));
    }
    let bytes = ipc::encode_batch(batch, framing).map_err(|source| ProtocolError::Encode {
        what: "record batch",
        source,
    })?;
    Ok(Value::String(BASE64.encode(bytes)))
}
