//! Sub-objects shared by several messages (SPEC §2.1).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use indexmap::IndexMap;
use serde_json::Value;

use super::error::{Problem, Result};
use super::json::{self, Node, ObjectWriter};

/// Who runs the query (`identity`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FederatedIdentity {
    pub id: Option<String>,
    pub principal: Option<String>,
    pub account: Option<String>,
    pub arn: Option<String>,
    pub tags: IndexMap<String, String>,
    pub groups: Vec<String>,
    /// Newer engines only; e.g. `spill_bucket`, `spill_prefix` overrides.
    pub config_options: IndexMap<String, String>,
}

impl FederatedIdentity {
    pub(crate) fn read(node: Node<'_>) -> Result<FederatedIdentity> {
        Ok(FederatedIdentity {
            id: node.opt_string("id")?,
            principal: node.opt_string("principal")?,
            account: node.opt_string("account")?,
            arn: node.opt_string("arn")?,
            tags: node
                .opt_field("tags", |n| n.string_map())?
                .unwrap_or_default(),
            groups: node
                .opt_field("groups", |n| n.string_list())?
                .unwrap_or_default(),
            config_options: node
                .opt_field("configOptions", |n| n.string_map())?
                .unwrap_or_default(),
        })
    }

    pub(crate) fn write(&self) -> Value {
        ObjectWriter::new()
            .put("id", json::opt_string(&self.id))
            .put("principal", json::opt_string(&self.principal))
            .put("account", json::opt_string(&self.account))
            .put("arn", json::opt_string(&self.arn))
            .put("tags", json::string_map(&self.tags))
            .put("groups", self.groups.clone())
            .put("configOptions", json::string_map(&self.config_options))
            .build()
    }
}

/// `{"schemaName", "tableName"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableName {
    pub schema_name: String,
    pub table_name: String,
}

impl TableName {
    pub fn new(schema_name: impl Into<String>, table_name: impl Into<String>) -> TableName {
        TableName {
            schema_name: schema_name.into(),
            table_name: table_name.into(),
        }
    }

    pub(crate) fn read(node: Node<'_>) -> Result<TableName> {
        Ok(TableName {
            schema_name: node.string("schemaName")?,
            table_name: node.string("tableName")?,
        })
    }

    pub(crate) fn write(&self) -> Value {
        ObjectWriter::new()
            .put("schemaName", self.schema_name.as_str())
            .put("tableName", self.table_name.as_str())
            .build()
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema_name, self.table_name)
    }
}

/// An S3 location: a directory (a split's spill prefix) or one spilled object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpillLocation {
    pub bucket: String,
    pub key: String,
    pub directory: bool,
}

impl SpillLocation {
    pub(crate) fn read(node: Node<'_>) -> Result<SpillLocation> {
        match node.type_tag()? {
            "S3SpillLocation" => Ok(SpillLocation {
                bucket: node.string("bucket")?,
                key: node.string("key")?,
                directory: node.bool("directory")?,
            }),
            other => Err(node.unknown_type(other)),
        }
    }

    pub(crate) fn write(&self) -> Value {
        ObjectWriter::typed("S3SpillLocation")
            .put("bucket", self.bucket.as_str())
            .put("key", self.key.as_str())
            .put("directory", self.directory)
            .build()
    }
}

/// The AES-GCM key and nonce of a split's spilled blocks.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey {
    pub key: Vec<u8>,
    pub nonce: Vec<u8>,
}

/// Key material never reaches a log line, even through `{:?}`.
impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EncryptionKey {{ key: <{} bytes>, nonce: <{} bytes> }}",
            self.key.len(),
            self.nonce.len()
        )
    }
}

fn base64_field(node: Node<'_>, key: &str) -> Result<Vec<u8>> {
    node.field(key, |n| {
        BASE64
            .decode(n.as_str()?)
            .map_err(|e| n.error(Problem::Base64(e.to_string())))
    })
}

impl EncryptionKey {
    pub(crate) fn read(node: Node<'_>) -> Result<EncryptionKey> {
        Ok(EncryptionKey {
            key: base64_field(node, "key")?,
            nonce: base64_field(node, "nonce")?,
        })
    }

    pub(crate) fn write(&self) -> Value {
        ObjectWriter::new()
            .put("key", BASE64.encode(&self.key))
            .put("nonce", BASE64.encode(&self.nonce))
            .build()
    }
}

/// A unit of work for one ReadRecords call.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub spill_location: Option<SpillLocation>,
    pub encryption_key: Option<EncryptionKey>,
    /// Opaque to Athena, echoed back in ReadRecordsRequest.
    pub properties: IndexMap<String, String>,
}

impl Split {
    pub(crate) fn read(node: Node<'_>) -> Result<Split> {
        Ok(Split {
            spill_location: node.opt_field("spillLocation", SpillLocation::read)?,
            encryption_key: node.opt_field("encryptionKey", EncryptionKey::read)?,
            properties: node
                .opt_field("properties", |n| n.string_map())?
                .unwrap_or_default(),
        })
    }

    pub(crate) fn write(&self) -> Value {
        ObjectWriter::new()
            .put(
                "spillLocation",
                self.spill_location
                    .as_ref()
                    .map_or(Value::Null, SpillLocation::write),
            )
            .put(
                "encryptionKey",
                self.encryption_key
                    .as_ref()
                    .map_or(Value::Null, EncryptionKey::write),
            )
            .put("properties", json::string_map(&self.properties))
            .build()
    }
}
