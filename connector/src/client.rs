//! Athena's side of the protocol: the call sequence a query makes, every call serialized to
//! JSON and parsed back, and spilled blocks fetched from S3 and decrypted. Used by the local
//! engine and the tests; the connector is reached through a [`Transport`].

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use indexmap::IndexMap;

use crate::handler::Connector;
use crate::protocol::{
    ipc, parse_response, Constraints, FederatedIdentity, FunctionError, GetSplitsRequest,
    GetTableLayoutRequest, GetTableRequest, GetTableResponse, ListSchemasRequest,
    ListTablesRequest, PingRequest, ReadRecordsRequest, Request, RequestHeader, Response,
    SerDeVersion, Split, TableName,
};
use crate::spill::crypto::BlockCrypto;
use crate::spill::store::{BlockStore, StoreError};
use crate::sql::Query;

/// How requests reach a connector.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Sends one request's JSON; returns the response's JSON or the function error.
    async fn call(&self, request: Vec<u8>) -> Result<Vec<u8>, FunctionError>;

    /// The SQL a ReadRecordsRequest runs, where the transport can see it (in-process only).
    async fn sql(&self, _request: &ReadRecordsRequest) -> Option<Result<Query, String>> {
        None
    }
}

/// The connector in this process (same bytes as the Lambda receives).
pub struct InProcess(pub Arc<Connector>);

#[async_trait]
impl Transport for InProcess {
    async fn call(&self, request: Vec<u8>) -> Result<Vec<u8>, FunctionError> {
        self.0.handle(&request).await
    }

    async fn sql(&self, request: &ReadRecordsRequest) -> Option<Result<Query, String>> {
        Some(self.0.read_sql(request).await.map_err(|e| e.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{request} failed: {error}")]
    Connector {
        request: &'static str,
        error: FunctionError,
    },
    #[error("{request}: invalid response: {why}")]
    Response { request: &'static str, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("spilled block {url}: {why}")]
    Spill { url: String, why: String },
}

/// Sizes Athena asks for (the SDK validator's values).
pub const MAX_BLOCK_SIZE: i64 = 16_000_000;
pub const MAX_INLINE_BLOCK_SIZE: i64 = 5_242_880;

/// A session with one catalog.
pub struct Client {
    transport: Arc<dyn Transport>,
    pub catalog: String,
    pub query_id: String,
    /// The version requests are written in (negotiated by [`Client::ping`]).
    pub version: SerDeVersion,
    pub identity: FederatedIdentity,
    /// Where spilled blocks are read from (S3, or the engine's local directory).
    pub store: Option<Arc<dyn BlockStore>>,
    /// Deletes each spilled block once read (a local directory has no lifecycle rule).
    pub delete_after_read: bool,
    pub max_block_size: i64,
    pub max_inline_block_size: i64,
}

impl Client {
    pub fn new(transport: Arc<dyn Transport>, catalog: &str) -> Client {
        Client {
            transport,
            catalog: catalog.to_owned(),
            query_id: uuid::Uuid::new_v4().to_string(),
            version: SerDeVersion::V5,
            identity: FederatedIdentity {
                id: Some("UNKNOWN".into()),
                principal: Some("UNKNOWN".into()),
                account: Some("000000000000".into()),
                arn: Some("arn:aws:iam::000000000000:user/athena-fed".into()),
                ..Default::default()
            },
            store: None,
            delete_after_read: false,
            max_block_size: MAX_BLOCK_SIZE,
            max_inline_block_size: MAX_INLINE_BLOCK_SIZE,
        }
    }

    fn header(&self) -> RequestHeader {
        RequestHeader {
            identity: self.identity.clone(),
            query_id: self.query_id.clone(),
            catalog_name: self.catalog.clone(),
        }
    }

    /// Sends a request through JSON and parses the response.
    pub async fn send(&self, request: Request) -> Result<Response, ClientError> {
        let name = request.type_name();
        let json = request
            .to_json(self.version)
            .map_err(|e| ClientError::Response {
                request: name,
                why: e.to_string(),
            })?;
        let bytes = serde_json::to_vec(&json).map_err(|e| ClientError::Response {
            request: name,
            why: e.to_string(),
        })?;
        let response =
            self.transport
                .call(bytes)
                .await
                .map_err(|error| ClientError::Connector {
                    request: name,
                    error,
                })?;
        parse_response(&response)
            .map(|p| p.message)
            .map_err(|e| ClientError::Response {
                request: name,
                why: e.to_string(),
            })
    }

    fn unexpected(request: &'static str, r: Response) -> ClientError {
        ClientError::Response {
            request,
            why: format!("unexpected {}", r.type_name()),
        }
    }

    /// Pings and adopts the connector's serde version (at most the latest we speak).
    pub async fn ping(&mut self) -> Result<i32, ClientError> {
        let r = self
            .send(Request::Ping(PingRequest {
                identity: self.identity.clone(),
                catalog_name: self.catalog.clone(),
                query_id: self.query_id.clone(),
            }))
            .await?;
        match r {
            Response::Ping(p) => {
                self.version = SerDeVersion::new(i64::from(p.serde_version))
                    .unwrap_or(SerDeVersion::V2)
                    .min(SerDeVersion::LATEST);
                Ok(p.serde_version)
            }
            other => Err(Self::unexpected("PingRequest", other)),
        }
    }

    pub async fn list_schemas(&self) -> Result<Vec<String>, ClientError> {
        match self
            .send(Request::ListSchemas(ListSchemasRequest {
                header: self.header(),
            }))
            .await?
        {
            Response::ListSchemas(r) => Ok(r.schemas),
            other => Err(Self::unexpected("ListSchemasRequest", other)),
        }
    }

    /// Every table of `schema`, following `nextToken` pages of `page_size`.
    pub async fn list_tables(
        &self,
        schema: &str,
        page_size: i32,
    ) -> Result<Vec<TableName>, ClientError> {
        let mut all = Vec::new();
        let mut token = None;
        loop {
            let r = self
                .send(Request::ListTables(ListTablesRequest {
                    header: self.header(),
                    schema_name: Some(schema.to_owned()),
                    next_token: token,
                    page_size,
                }))
                .await?;
            let Response::ListTables(r) = r else {
                return Err(Self::unexpected("ListTablesRequest", r));
            };
            all.extend(r.tables);
            match r.next_token {
                Some(t) => token = Some(t),
                None => return Ok(all),
            }
        }
    }

    pub async fn get_table(
        &self,
        table: &TableName,
        passthrough: IndexMap<String, String>,
    ) -> Result<GetTableResponse, ClientError> {
        let r = self
            .send(Request::GetTable(GetTableRequest {
                header: self.header(),
                table_name: table.clone(),
                query_passthrough_arguments: passthrough,
            }))
            .await?;
        match r {
            Response::GetTable(t) => Ok(t),
            other => Err(Self::unexpected("GetTableRequest", other)),
        }
    }

    /// Layout, then every page of splits.
    pub async fn splits(
        &self,
        table: &GetTableResponse,
        constraints: &Constraints,
    ) -> Result<Vec<Split>, ClientError> {
        let r = self
            .send(Request::GetTableLayout(GetTableLayoutRequest {
                header: self.header(),
                table_name: table.table_name.clone(),
                constraints: constraints.clone(),
                schema: table.schema.clone(),
                partition_columns: table.partition_columns.clone(),
            }))
            .await?;
        let Response::GetTableLayout(layout) = r else {
            return Err(Self::unexpected("GetTableLayoutRequest", r));
        };
        if layout.partitions.num_rows() == 0 {
            return Ok(vec![]);
        }
        let mut splits = Vec::new();
        let mut token = None;
        loop {
            let r = self
                .send(Request::GetSplits(GetSplitsRequest {
                    header: self.header(),
                    table_name: table.table_name.clone(),
                    partitions: layout.partitions.clone(),
                    partition_columns: table.partition_columns.clone(),
                    constraints: constraints.clone(),
                    continuation_token: token,
                }))
                .await?;
            let Response::GetSplits(page) = r else {
                return Err(Self::unexpected("GetSplitsRequest", r));
            };
            splits.extend(page.splits);
            match page.continuation_token {
                Some(t) => token = Some(t),
                None => return Ok(splits),
            }
        }
    }

    fn read_request(
        &self,
        table: &TableName,
        schema: SchemaRef,
        split: Split,
        constraints: &Constraints,
    ) -> ReadRecordsRequest {
        ReadRecordsRequest {
            header: self.header(),
            table_name: table.clone(),
            schema,
            split,
            constraints: constraints.clone(),
            max_block_size: self.max_block_size,
            max_inline_block_size: self.max_inline_block_size,
        }
    }

    /// One ReadRecords call, answered as the Lambda answers it (an inline block, or the
    /// locations of the blocks it spilled), without reading spilled blocks back.
    pub async fn read_records(
        &self,
        table: &TableName,
        schema: SchemaRef,
        split: Split,
        constraints: &Constraints,
    ) -> Result<Response, ClientError> {
        self.send(Request::ReadRecords(self.read_request(
            table,
            schema,
            split,
            constraints,
        )))
        .await
    }

    /// The SQL one split would run, where the transport can tell.
    pub async fn sql(
        &self,
        table: &TableName,
        schema: SchemaRef,
        split: Split,
        constraints: &Constraints,
    ) -> Option<Result<Query, String>> {
        self.transport
            .sql(&self.read_request(table, schema, split, constraints))
            .await
    }

    /// Reads one split: the inline block, or every spilled block fetched and decrypted.
    pub async fn read_split(
        &self,
        table: &TableName,
        schema: SchemaRef,
        split: Split,
        constraints: &Constraints,
    ) -> Result<Vec<RecordBatch>, ClientError> {
        self.read_split_stream(table, schema, split, constraints)
            .await?
            .try_collect()
            .await
    }

    /// Reads one split as a stream of its blocks: spilled blocks are fetched, decrypted and
    /// decoded as the stream is polled, at most [`READ_AHEAD`] ahead, so memory stays at a
    /// few blocks however large the split.
    pub async fn read_split_stream(
        &self,
        table: &TableName,
        schema: SchemaRef,
        split: Split,
        constraints: &Constraints,
    ) -> Result<BoxStream<'static, Result<RecordBatch, ClientError>>, ClientError> {
        let r = self.read_records(table, schema, split, constraints).await?;
        self.blocks(r)
    }

    /// The record batches of a ReadRecords answer: its inline block, or its spilled blocks
    /// fetched, decrypted and decoded as the stream is polled.
    pub fn blocks(
        &self,
        r: Response,
    ) -> Result<BoxStream<'static, Result<RecordBatch, ClientError>>, ClientError> {
        match r {
            Response::ReadRecords(r) => {
                let block = (r.records.num_rows() > 0 || r.records.batch.num_columns() == 0)
                    .then_some(Ok(r.records.batch));
                Ok(stream::iter(block).boxed())
            }
            Response::RemoteReadRecords(r) => {
                let crypto = match &r.encryption_key {
                    Some(k) => Some(Arc::new(BlockCrypto::new(k).map_err(|e| {
                        ClientError::Response {
                            request: "ReadRecordsRequest",
                            why: e.to_string(),
                        }
                    })?)),
                    None => None,
                };
                let store = match (&self.store, r.remote_blocks.first()) {
                    (Some(store), _) => store.clone(),
                    (None, None) => return Ok(stream::empty().boxed()),
                    (None, Some(block)) => {
                        return Err(ClientError::Spill {
                            url: format!("s3://{}/{}", block.bucket, block.key),
                            why: "no spill store configured to read it from".into(),
                        })
                    }
                };
                let (schema, delete) = (r.schema.clone(), self.delete_after_read);
                Ok(stream::iter(r.remote_blocks)
                    .map(move |block| {
                        let (store, crypto, schema) =
                            (store.clone(), crypto.clone(), schema.clone());
                        async move {
                            let fail = |why: String| ClientError::Spill {
                                url: store.url(&block),
                                why,
                            };
                            let bytes = store.get(&block).await?;
                            // Decrypted in place where the buffer is ours alone (no copy).
                            let plain = match &crypto {
                                Some(c) => bytes::Bytes::from(
                                    c.open(Vec::from(bytes)).map_err(|e| fail(e.to_string()))?,
                                ),
                                None => bytes,
                            };
                            let (batch, _) = ipc::decode_batch(&plain, &schema).map_err(fail)?;
                            if delete {
                                store.delete(&block).await?;
                            }
                            Ok(batch)
                        }
                    })
                    .buffered(READ_AHEAD)
                    .boxed())
            }
            other => Err(Self::unexpected("ReadRecordsRequest", other)),
        }
    }
}

/// Spilled blocks fetched ahead of the one being consumed.
pub const READ_AHEAD: usize = 2;

/// The batches of a block list as one block (for callers that want a single batch).
pub fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<RecordBatch, String> {
    arrow::compute::concat_batches(schema, batches).map_err(|e| e.to_string())
}
