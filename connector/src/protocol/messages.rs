//! Every request and response of the protocol, with members in the SDK's order (SPEC §2).

use arrow::datatypes::SchemaRef;
use indexmap::IndexMap;
use serde_json::Value;

use super::block::{read_schema, write_schema, Block};
use super::common::{EncryptionKey, FederatedIdentity, SpillLocation, Split, TableName};
use super::constraints::Constraints;
use super::error::Result;
use super::json::{self, Node, ObjectWriter};
use super::version::SerDeVersion;

/// The Java SDK's `FederationCapabilities.CAPABILITIES`.
pub const SDK_CAPABILITIES: i32 = 24;

/// `identity`, `queryId`, `catalogName`: the prefix of every metadata request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestHeader {
    pub identity: FederatedIdentity,
    pub query_id: String,
    pub catalog_name: String,
}

impl RequestHeader {
    fn read(node: Node<'_>) -> Result<RequestHeader> {
        Ok(RequestHeader {
            identity: node.field("identity", FederatedIdentity::read)?,
            query_id: node.string("queryId")?,
            catalog_name: node.string("catalogName")?,
        })
    }

    fn write(&self, type_name: &str) -> ObjectWriter {
        ObjectWriter::typed(type_name)
            .put("identity", self.identity.write())
            .put("queryId", self.query_id.as_str())
            .put("catalogName", self.catalog_name.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PingRequest {
    pub identity: FederatedIdentity,
    pub catalog_name: String,
    pub query_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListSchemasRequest {
    pub header: RequestHeader,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListTablesRequest {
    pub header: RequestHeader,
    /// Null in some engines' information_schema listings.
    pub schema_name: Option<String>,
    pub next_token: Option<String>,
    /// `-1` for everything.
    pub page_size: i32,
}

pub const UNLIMITED_PAGE_SIZE: i32 = -1;

#[derive(Debug, Clone, PartialEq)]
pub struct GetTableRequest {
    pub header: RequestHeader,
    pub table_name: TableName,
    /// Non-empty when asking for a passthrough query's schema (v5+).
    pub query_passthrough_arguments: IndexMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GetTableLayoutRequest {
    pub header: RequestHeader,
    pub table_name: TableName,
    pub constraints: Constraints,
    pub schema: SchemaRef,
    pub partition_columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GetSplitsRequest {
    pub header: RequestHeader,
    pub table_name: TableName,
    pub partitions: Block,
    pub partition_columns: Vec<String>,
    pub constraints: Constraints,
    pub continuation_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReadRecordsRequest {
    pub header: RequestHeader,
    pub table_name: TableName,
    /// The projection: the columns to return, in order.
    pub schema: SchemaRef,
    pub split: Split,
    pub constraints: Constraints,
    pub max_block_size: i64,
    pub max_inline_block_size: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GetDataSourceCapabilitiesRequest {
    pub header: RequestHeader,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserDefinedFunctionRequest {
    pub identity: FederatedIdentity,
    pub input_records: Block,
    pub output_schema: SchemaRef,
    pub method_name: String,
    pub function_type: String,
}

/// A federation request, as Athena sends it.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Ping(PingRequest),
    ListSchemas(ListSchemasRequest),
    ListTables(ListTablesRequest),
    GetTable(GetTableRequest),
    GetTableLayout(GetTableLayoutRequest),
    GetSplits(GetSplitsRequest),
    ReadRecords(ReadRecordsRequest),
    GetDataSourceCapabilities(GetDataSourceCapabilitiesRequest),
    UserDefinedFunction(UserDefinedFunctionRequest),
}

impl Request {
    pub const TYPES: &'static [&'static str] = &[
        "PingRequest",
        "ListSchemasRequest",
        "ListTablesRequest",
        "GetTableRequest",
        "GetTableLayoutRequest",
        "GetSplitsRequest",
        "ReadRecordsRequest",
        "GetDataSourceCapabilitiesRequest",
        "UserDefinedFunctionRequest",
    ];

    /// The `@type` of this request.
    pub fn type_name(&self) -> &'static str {
        match self {
            Request::Ping(_) => "PingRequest",
            Request::ListSchemas(_) => "ListSchemasRequest",
            Request::ListTables(_) => "ListTablesRequest",
            Request::GetTable(_) => "GetTableRequest",
            Request::GetTableLayout(_) => "GetTableLayoutRequest",
            Request::GetSplits(_) => "GetSplitsRequest",
            Request::ReadRecords(_) => "ReadRecordsRequest",
            Request::GetDataSourceCapabilities(_) => "GetDataSourceCapabilitiesRequest",
            Request::UserDefinedFunction(_) => "UserDefinedFunctionRequest",
        }
    }

    pub fn catalog_name(&self) -> Option<&str> {
        Some(match self {
            Request::Ping(r) => &r.catalog_name,
            Request::ListSchemas(r) => &r.header.catalog_name,
            Request::ListTables(r) => &r.header.catalog_name,
            Request::GetTable(r) => &r.header.catalog_name,
            Request::GetTableLayout(r) => &r.header.catalog_name,
            Request::GetSplits(r) => &r.header.catalog_name,
            Request::ReadRecords(r) => &r.header.catalog_name,
            Request::GetDataSourceCapabilities(r) => &r.header.catalog_name,
            Request::UserDefinedFunction(_) => return None,
        })
    }

    pub(crate) fn read(type_name: &str, node: Node<'_>) -> Result<Option<Request>> {
        Ok(Some(match type_name {
            "PingRequest" => Request::Ping(PingRequest {
                identity: node.field("identity", FederatedIdentity::read)?,
                catalog_name: node.string("catalogName")?,
                query_id: node.string("queryId")?,
            }),
            "ListSchemasRequest" => Request::ListSchemas(ListSchemasRequest {
                header: RequestHeader::read(node)?,
            }),
            "ListTablesRequest" => Request::ListTables(ListTablesRequest {
                header: RequestHeader::read(node)?,
                schema_name: node.opt_string("schemaName")?,
                next_token: node.opt_string("nextToken")?,
                page_size: node
                    .opt_field("pageSize", |n| n.as_i32())?
                    .unwrap_or(UNLIMITED_PAGE_SIZE),
            }),
            "GetTableRequest" => {
                if node.has("queryPassthroughArguments") {
                    node.seen.requires(SerDeVersion::V5);
                }
                Request::GetTable(GetTableRequest {
                    header: RequestHeader::read(node)?,
                    table_name: node.field("tableName", TableName::read)?,
                    query_passthrough_arguments: node
                        .opt_field("queryPassthroughArguments", |n| n.string_map())?
                        .unwrap_or_default(),
                })
            }
            "GetTableLayoutRequest" => Request::GetTableLayout(GetTableLayoutRequest {
                header: RequestHeader::read(node)?,
                table_name: node.field("tableName", TableName::read)?,
                constraints: constraints(node)?,
                schema: node.field("schema", read_schema)?,
                partition_columns: string_list(node, "partitionColumns")?,
            }),
            "GetSplitsRequest" => Request::GetSplits(GetSplitsRequest {
                header: RequestHeader::read(node)?,
                table_name: node.field("tableName", TableName::read)?,
                partitions: node.field("partitions", Block::read)?,
                partition_columns: string_list(node, "partitionColumns")?,
                constraints: constraints(node)?,
                continuation_token: node.opt_string("continuationToken")?,
            }),
            "ReadRecordsRequest" => Request::ReadRecords(ReadRecordsRequest {
                header: RequestHeader::read(node)?,
                table_name: node.field("tableName", TableName::read)?,
                schema: node.field("schema", read_schema)?,
                split: node.field("split", Split::read)?,
                constraints: constraints(node)?,
                max_block_size: node.field("maxBlockSize", |n| n.as_string_i64())?,
                max_inline_block_size: node.field("maxInlineBlockSize", |n| n.as_string_i64())?,
            }),
            "GetDataSourceCapabilitiesRequest" => {
                node.seen.requires(SerDeVersion::V4);
                Request::GetDataSourceCapabilities(GetDataSourceCapabilitiesRequest {
                    header: RequestHeader::read(node)?,
                })
            }
            "UserDefinedFunctionRequest" => {
                Request::UserDefinedFunction(UserDefinedFunctionRequest {
                    identity: node.field("identity", FederatedIdentity::read)?,
                    input_records: node.field("inputRecords", Block::read)?,
                    output_schema: node.field("outputSchema", read_schema)?,
                    method_name: node.string("methodName")?,
                    function_type: node.string("functionType")?,
                })
            }
            _ => return Ok(None),
        }))
    }

    pub(crate) fn write(&self, version: SerDeVersion) -> Result<Value> {
        let framing = version.framing();
        let t = self.type_name();
        Ok(match self {
            Request::Ping(r) => ObjectWriter::typed(t)
                .put("identity", r.identity.write())
                .put("catalogName", r.catalog_name.as_str())
                .put("queryId", r.query_id.as_str()),
            Request::ListSchemas(r) => r.header.write(t),
            Request::ListTables(r) => r
                .header
                .write(t)
                .put("schemaName", json::opt_string(&r.schema_name))
                .put("nextToken", json::opt_string(&r.next_token))
                .put("pageSize", r.page_size),
            Request::GetTable(r) => {
                let w = r.header.write(t).put("tableName", r.table_name.write());
                if version >= SerDeVersion::V5 {
                    w.put(
                        "queryPassthroughArguments",
                        json::string_map(&r.query_passthrough_arguments),
                    )
                } else {
                    w
                }
            }
            Request::GetTableLayout(r) => r
                .header
                .write(t)
                .put("tableName", r.table_name.write())
                .put("constraints", r.constraints.write(version)?)
                .put("schema", write_schema(&r.schema, framing)?)
                .put("partitionColumns", r.partition_columns.clone()),
            Request::GetSplits(r) => r
                .header
                .write(t)
                .put("tableName", r.table_name.write())
                .put("partitions", r.partitions.write(framing)?)
                .put("partitionColumns", r.partition_columns.clone())
                .put("constraints", r.constraints.write(version)?)
                .put("continuationToken", json::opt_string(&r.continuation_token)),
            Request::ReadRecords(r) => r
                .header
                .write(t)
                .put("tableName", r.table_name.write())
                .put("schema", write_schema(&r.schema, framing)?)
                .put("split", r.split.write())
                .put("constraints", r.constraints.write(version)?)
                .put("maxBlockSize", r.max_block_size.to_string())
                .put("maxInlineBlockSize", r.max_inline_block_size.to_string()),
            Request::GetDataSourceCapabilities(r) => r.header.write(t),
            Request::UserDefinedFunction(r) => ObjectWriter::typed(t)
                .put("identity", r.identity.write())
                .put("inputRecords", r.input_records.write(framing)?)
                .put("outputSchema", write_schema(&r.output_schema, framing)?)
                .put("methodName", r.method_name.as_str())
                .put("functionType", r.function_type.as_str()),
        }
        .build())
    }
}

fn constraints(node: Node<'_>) -> Result<Constraints> {
    node.opt_field("constraints", Constraints::read)
        .map(Option::unwrap_or_default)
}

fn string_list(node: Node<'_>, key: &str) -> Result<Vec<String>> {
    Ok(node
        .opt_field(key, |n| n.string_list())?
        .unwrap_or_default())
}

#[derive(Debug, Clone, PartialEq)]
pub struct PingResponse {
    pub catalog_name: String,
    pub query_id: String,
    pub source_type: String,
    pub capabilities: i32,
    /// The highest serde version the connector speaks (absent on the wire means 1).
    pub serde_version: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListSchemasResponse {
    pub catalog_name: String,
    pub schemas: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListTablesResponse {
    pub tables: Vec<TableName>,
    pub catalog_name: String,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GetTableResponse {
    pub catalog_name: String,
    pub table_name: TableName,
    pub schema: SchemaRef,
    pub partition_columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GetTableLayoutResponse {
    pub catalog_name: String,
    pub table_name: TableName,
    /// One row per partition to read; zero rows means nothing to read.
    pub partitions: Block,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GetSplitsResponse {
    pub catalog_name: String,
    pub splits: Vec<Split>,
    pub continuation_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReadRecordsResponse {
    pub catalog_name: String,
    pub records: Block,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RemoteReadRecordsResponse {
    pub catalog_name: String,
    pub schema: SchemaRef,
    pub remote_blocks: Vec<SpillLocation>,
    pub encryption_key: Option<EncryptionKey>,
}

/// One entry of a capability: `{"subType", "properties"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizationSubType {
    pub sub_type: String,
    pub properties: Vec<String>,
}

impl OptimizationSubType {
    pub fn new(sub_type: &str, properties: &[&str]) -> OptimizationSubType {
        OptimizationSubType {
            sub_type: sub_type.to_owned(),
            properties: properties.iter().map(|p| (*p).to_owned()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GetDataSourceCapabilitiesResponse {
    pub catalog_name: String,
    /// Optimization name → subtypes, in insertion order.
    pub capabilities: IndexMap<String, Vec<OptimizationSubType>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserDefinedFunctionResponse {
    pub records: Block,
    pub method_name: String,
}

/// A federation response, as the connector returns it.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Ping(PingResponse),
    ListSchemas(ListSchemasResponse),
    ListTables(ListTablesResponse),
    GetTable(GetTableResponse),
    GetTableLayout(GetTableLayoutResponse),
    GetSplits(GetSplitsResponse),
    ReadRecords(ReadRecordsResponse),
    RemoteReadRecords(RemoteReadRecordsResponse),
    GetDataSourceCapabilities(GetDataSourceCapabilitiesResponse),
    UserDefinedFunction(UserDefinedFunctionResponse),
}

impl Response {
    pub fn type_name(&self) -> &'static str {
        match self {
            Response::Ping(_) => "PingResponse",
            Response::ListSchemas(_) => "ListSchemasResponse",
            Response::ListTables(_) => "ListTablesResponse",
            Response::GetTable(_) => "GetTableResponse",
            Response::GetTableLayout(_) => "GetTableLayoutResponse",
            Response::GetSplits(_) => "GetSplitsResponse",
            Response::ReadRecords(_) => "ReadRecordsResponse",
            Response::RemoteReadRecords(_) => "RemoteReadRecordsResponse",
            Response::GetDataSourceCapabilities(_) => "GetDataSourceCapabilitiesResponse",
            Response::UserDefinedFunction(_) => "UserDefinedFunctionResponse",
        }
    }

    pub(crate) fn read(type_name: &str, node: Node<'_>) -> Result<Option<Response>> {
        Ok(Some(match type_name {
            "PingResponse" => Response::Ping(PingResponse {
                catalog_name: node.string("catalogName")?,
                query_id: node.string("queryId")?,
                source_type: node.string("sourceType")?,
                capabilities: node.field("capabilities", |n| n.as_i32())?,
                serde_version: node
                    .opt_field("serDeVersion", |n| n.as_i32())?
                    .filter(|v| *v != 0)
                    .unwrap_or(1),
            }),
            "ListSchemasResponse" => Response::ListSchemas(ListSchemasResponse {
                catalog_name: node.string("catalogName")?,
                schemas: node.field("schemas", |n| n.string_list())?,
            }),
            "ListTablesResponse" => Response::ListTables(ListTablesResponse {
                tables: node.field("tables", |n| n.map_array(TableName::read))?,
                catalog_name: node.string("catalogName")?,
                next_token: node.opt_string("nextToken")?,
            }),
            "GetTableResponse" => Response::GetTable(GetTableResponse {
                catalog_name: node.string("catalogName")?,
                table_name: node.field("tableName", TableName::read)?,
                schema: node.field("schema", read_schema)?,
                partition_columns: string_list(node, "partitionColumns")?,
            }),
            "GetTableLayoutResponse" => Response::GetTableLayout(GetTableLayoutResponse {
                catalog_name: node.string("catalogName")?,
                table_name: node.field("tableName", TableName::read)?,
                partitions: node.field("partitions", Block::read)?,
            }),
            "GetSplitsResponse" => Response::GetSplits(GetSplitsResponse {
                catalog_name: node.string("catalogName")?,
                splits: node.field("splits", |n| n.map_array(Split::read))?,
                continuation_token: node.opt_string("continuationToken")?,
            }),
            "ReadRecordsResponse" => Response::ReadRecords(ReadRecordsResponse {
                catalog_name: node.string("catalogName")?,
                records: node.field("records", Block::read)?,
            }),
            "RemoteReadRecordsResponse" => Response::RemoteReadRecords(RemoteReadRecordsResponse {
                catalog_name: node.string("catalogName")?,
                schema: node.field("schema", read_schema)?,
                remote_blocks: node.field("remoteBlocks", |n| n.map_array(SpillLocation::read))?,
                encryption_key: node.opt_field("encryptionKey", EncryptionKey::read)?,
            }),
            "GetDataSourceCapabilitiesResponse" => {
                node.seen.requires(SerDeVersion::V4);
                Response::GetDataSourceCapabilities(GetDataSourceCapabilitiesResponse {
                    catalog_name: node.string("catalogName")?,
                    capabilities: node.field("capabilities", |n| {
                        n.map_object(|list| {
                            list.map_array(|s| {
                                Ok(OptimizationSubType {
                                    sub_type: s.string("subType")?,
                                    properties: s.field("properties", |p| p.string_list())?,
                                })
                            })
                        })
                    })?,
                })
            }
            "UserDefinedFunctionResponse" => {
                Response::UserDefinedFunction(UserDefinedFunctionResponse {
                    records: node.field("records", Block::read)?,
                    method_name: node.string("methodName")?,
                })
            }
            _ => return Ok(None),
        }))
    }

    pub(crate) fn write(&self, version: SerDeVersion) -> Result<Value> {
        let framing = version.framing();
        let w = ObjectWriter::typed(self.type_name());
        Ok(match self {
            Response::Ping(r) => w
                .put("catalogName", r.catalog_name.as_str())
                .put("queryId", r.query_id.as_str())
                .put("sourceType", r.source_type.as_str())
                .put("capabilities", r.capabilities)
                .put("serDeVersion", r.serde_version),
            Response::ListSchemas(r) => w
                .put("catalogName", r.catalog_name.as_str())
                .put("schemas", r.schemas.clone()),
            Response::ListTables(r) => w
                .put(
                    "tables",
                    r.tables.iter().map(TableName::write).collect::<Vec<_>>(),
                )
                .put("catalogName", r.catalog_name.as_str())
                .put("nextToken", json::opt_string(&r.next_token)),
            Response::GetTable(r) => w
                .put("catalogName", r.catalog_name.as_str())
                .put("tableName", r.table_name.write())
                .put("schema", write_schema(&r.schema, framing)?)
                .put("partitionColumns", r.partition_columns.clone()),
            Response::GetTableLayout(r) => w
                .put("catalogName", r.catalog_name.as_str())
                .put("tableName", r.table_name.write())
                .put("partitions", r.partitions.write(framing)?),
            Response::GetSplits(r) => w
                .put("catalogName", r.catalog_name.as_str())
                .put(
                    "splits",
                    r.splits.iter().map(Split::write).collect::<Vec<_>>(),
                )
                .put("continuationToken", json::opt_string(&r.continuation_token)),
            Response::ReadRecords(r) => w
                .put("catalogName", r.catalog_name.as_str())
                .put("records", r.records.write(framing)?),
            Response::RemoteReadRecords(r) => w
                .put("catalogName", r.catalog_name.as_str())
                .put("schema", write_schema(&r.schema, framing)?)
                .put(
                    "remoteBlocks",
                    r.remote_blocks
                        .iter()
                        .map(SpillLocation::write)
                        .collect::<Vec<_>>(),
                )
                .put(
                    "encryptionKey",
                    r.encryption_key
                        .as_ref()
                        .map_or(Value::Null, EncryptionKey::write),
                ),
            Response::GetDataSourceCapabilities(r) => {
                let mut caps = serde_json::Map::new();
                for (name, subtypes) in &r.capabilities {
                    let list: Vec<Value> = subtypes
                        .iter()
                        .map(|s| {
                            ObjectWriter::new()
                                .put("subType", s.sub_type.as_str())
                                .put("properties", s.properties.clone())
                                .build()
                        })
                        .collect();
                    caps.insert(name.clone(), Value::Array(list));
                }
                w.put("catalogName", r.catalog_name.as_str())
                    .put("capabilities", Value::Object(caps))
            }
            Response::UserDefinedFunction(r) => w
                .put("records", r.records.write(framing)?)
                .put("methodName", r.method_name.as_str()),
        }
        .build())
    }
}
