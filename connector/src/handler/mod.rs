//! Request → response: the one place that knows the federation call sequence.
//!
//! `Connector::handle` takes the raw JSON of any request and returns the raw JSON of its
//! response, or the function error Athena shows the user. The Lambda, `athena-fed invoke`
//! and the local engine all go through it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use indexmap::IndexMap;
use tokio::sync::{Mutex, OnceCell};

mod capabilities;
mod metadata;
mod partition_columns;
mod passthrough;
mod read;
mod splits;

pub use capabilities::capabilities;

pub use read::{SchemaError, MAX_REQUEST_BLOCK_BYTES};

use crate::config::{Config, ConfigError, Engine, Target};
use crate::deadline::{self, Limits, MARGIN};
use crate::protocol::{
    parse_request, Block, Constraints, FunctionError, GetDataSourceCapabilitiesResponse,
    GetSplitsResponse, GetTableLayoutResponse, GetTableResponse, ListSchemasResponse,
    ListTablesResponse, OptimizationSubType, PingResponse, ReadRecordsRequest, ReadRecordsResponse,
    RemoteReadRecordsResponse, Request, Response, Scalar, SerDeVersion, Split, StandardFunction,
    TableName, CONNECTOR_EXCEPTION, SDK_CAPABILITIES, THROTTLE_EXCEPTION, UNLIMITED_PAGE_SIZE,
};
use crate::query_status::{QueryStates, Watch};
use crate::rds_auth::RdsTokens;
use crate::secrets::{SecretCache, SecretsManager};
use crate::source::{
    open_server, passthrough_columns, BatchSink, Column, Connect, Database, ReadPlan, SourceError,
    TableInfo, TableSlice,
};
use crate::spill::crypto::BlockCrypto;
use crate::spill::keys::{split_key, split_location, KeyError};
use crate::spill::store::{BlockStore, S3Store, LOCAL_BUCKET};
use crate::spill::writer::{BlockWriter, Outcome, Spill, MAX_INLINE_RESPONSE_BYTES};
use crate::sql::Query;
use futures_util::StreamExt;

/// The serde version the connector advertises: passthrough needs 5; Substrait plans (v6)
/// are not read, so 6 is not claimed.
pub const SERDE_VERSION: i32 = 5;
/// How long table metadata is reused between the calls of one query.
const TABLE_CACHE_TTL: Duration = Duration::from_secs(60);
/// The most partitions a GetSplits request may carry: far beyond any table's (PostgreSQL
/// plans badly past a few thousand), and each one becomes a property map in memory.
pub const MAX_PARTITIONS: usize = 1_000_000;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Source(#[from] SourceError),
    #[error("{0}")]
    Request(String),
    #[error("{0}")]
    Spill(String),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("the partitions block has {rows} partitions; at most {MAX_PARTITIONS} are accepted")]
    TooManyPartitions { rows: usize },
    /// A service or the database asked to slow down (Athena retries with backoff).
    #[error("{0}")]
    Throttled(String),
    #[error("stopped {} s before the Lambda's deadline, the statement cancelled (raise the Lambda timeout, or split the table finer with split_target_bytes)", MARGIN.as_secs())]
    Deadline,
}

impl HandlerError {
    /// Whether Athena should retry with backoff (the SDK's throttle type) rather than fail.
    pub fn is_throttling(&self) -> bool {
        match self {
            HandlerError::Throttled(_) => true,
            HandlerError::Source(e) => e.is_throttling(),
            _ => false,
        }
    }
}

/// Table metadata by (catalog, name), with when it was read.
type TableCache = HashMap<(String, TableName), (Instant, Arc<TableInfo>)>;

/// The connector: configuration, lazily created clients and sources, reused across calls.
pub struct Connector {
    config: Result<Config, ConfigError>,
    aws: OnceCell<aws_config::SdkConfig>,
    secrets: OnceCell<Arc<SecretCache>>,
    rds_tokens: OnceCell<Arc<RdsTokens>>,
    sources: Mutex<HashMap<String, Arc<Database>>>,
    tables: Mutex<TableCache>,
    /// Where splits spill when no bucket is configured (the local engine's directory).
    local_spill: Option<Arc<dyn BlockStore>>,
    spill_s3: OnceCell<Arc<dyn BlockStore>>,
    /// Where a read learns that its query is over, and how often it asks (the Lambda asks
    /// Athena; the local engine has no Athena query to ask about).
    query_states: Option<(Arc<dyn QueryStates>, Duration)>,
}

/// A ReadRecords request as the database sees it ([`Connector::database_read`]).
struct DatabaseRead<'r> {
    constraints: std::borrow::Cow<'r, Constraints>,
    schema: SchemaRef,
    /// (position in the request schema, value) of each partition column.
    constants: Vec<(usize, String)>,
}

/// Rows and bytes of one ReadRecords, for logs.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadStats {
    pub rows: usize,
    pub spilled_blocks: usize,
}

impl Connector {
    /// Reads the environment (beneath the Glue connection `glue_connection` names, if any);
    /// a configuration error is reported on the first request.
    pub async fn from_env() -> Connector {
        if std::env::var("glue_connection").is_ok_and(|v| !v.trim().is_empty()) {
            let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            Connector::with_aws(Config::from_env_and_glue(&aws).await, aws)
        } else {
            Connector::new(Config::from_env())
        }
    }

    pub fn new(config: Result<Config, ConfigError>) -> Connector {
        Connector {
            config,
            aws: OnceCell::new(),
            secrets: OnceCell::new(),
            rds_tokens: OnceCell::new(),
            sources: Mutex::new(HashMap::new()),
            tables: Mutex::new(HashMap::new()),
            local_spill: None,
            spill_s3: OnceCell::new(),
            query_states: None,
        }
    }

    /// Spills to `store` (bucket [`LOCAL_BUCKET`]) when no spill bucket is configured, so
    /// the local engine reads splits of any size with nothing set up.
    pub fn with_local_spill(mut self, store: Arc<dyn BlockStore>) -> Connector {
        self.local_spill = Some(store);
        self
    }

    /// Reads stop once `states` reports their query finished or cancelled, asked every
    /// `interval` while a split is read.
    pub fn with_query_states(
        mut self,
        states: Arc<dyn QueryStates>,
        interval: Duration,
    ) -> Connector {
        self.query_states = Some((states, interval));
        self
    }

    /// With an AWS configuration of the caller's (tests point it at a local endpoint).
    pub fn with_aws(config: Result<Config, ConfigError>, aws: aws_config::SdkConfig) -> Connector {
        let c = Connector::new(config);
        let _ = c.aws.set(aws);
        c
    }

    fn config(&self) -> Result<&Config, HandlerError> {
        self.config
            .as_ref()
            .map_err(|e| HandlerError::Config(e.clone()))
    }

    async fn aws(&self) -> &aws_config::SdkConfig {
        self.aws
            .get_or_init(|| async {
                aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
            })
            .await
    }

    /// The S3 spill store, made on first use and reused (its connection pool with it).
    async fn spill_s3(&self) -> Result<Arc<dyn BlockStore>, HandlerError> {
        let headers = self.config()?.spill.put_request_headers.clone();
        let aws = self.aws().await;
        Ok(self
            .spill_s3
            .get_or_init(|| async move {
                Arc::new(S3Store::from_config(aws).with_put_headers(headers)) as Arc<dyn BlockStore>
            })
            .await
            .clone())
    }

    async fn secrets(&self) -> Result<Arc<SecretCache>, HandlerError> {
        let ttl = self.config()?.secret_cache_ttl;
        let aws = self.aws().await.clone();
        Ok(self
            .secrets
            .get_or_init(|| async move {
                Arc::new(SecretCache::new(Arc::new(SecretsManager::new(&aws)), ttl))
            })
            .await
            .clone())
    }

    async fn rds_tokens(&self) -> Arc<RdsTokens> {
        let aws = self.aws().await.clone();
        self.rds_tokens
            .get_or_init(|| async move { Arc::new(RdsTokens::new(aws)) })
            .await
            .clone()
    }

    /// The source serving `catalog`, created on first use.
    pub async fn source(&self, catalog: &str) -> Result<(Arc<Database>, Engine), HandlerError> {
        let config = self.config()?;
        let (key, connection) = config.connection_for(catalog)?;
        let engine = connection.engine();
        if let Some(s) = self.sources.lock().await.get(key) {
            return Ok((s.clone(), engine));
        }
        let source = Arc::new(match &connection.target {
            Target::Sqlite(path) => Database::sqlite(PathBuf::from(path)),
            Target::Server(url) => {
                let connect = Connect {
                    url: url.clone(),
                    secret: connection.secret.clone(),
                    secrets: self.secrets().await?,
                    iam: match connection.iam_auth {
                        true => Some(self.rds_tokens().await),
                        false => None,
                    },
                    driver: connection.driver.clone(),
                    casing: config.casing_for(engine),
                };
                open_server(connect, config.default_scale)
                    .map_err(|e| HandlerError::Request(format!("catalog {catalog}: {e}")))?
            }
        });
        let mut sources = self.sources.lock().await;
        let source = sources.entry(key.to_owned()).or_insert(source).clone();
        Ok((source, engine))
    }

    async fn table(
        &self,
        catalog: &str,
        source: &Database,
        name: &TableName,
    ) -> Result<Arc<TableInfo>, HandlerError> {
        let key = (catalog.to_owned(), name.clone());
        if let Some((at, t)) = self.tables.lock().await.get(&key) {
            if at.elapsed() < TABLE_CACHE_TTL {
                return Ok(t.clone());
            }
        }
        let t = Arc::new(source.table(name).await?);
        self.tables
            .lock()
            .await
            .insert(key, (Instant::now(), t.clone()));
        Ok(t)
    }

    /// Handles one request's JSON and returns the response's JSON.
    pub async fn handle(&self, request: &[u8]) -> Result<Vec<u8>, FunctionError> {
        self.handle_until(request, None).await
    }

    /// [`Connector::handle`] with the Lambda's deadline: statements get timeouts that end
    /// them [`MARGIN`] before it, and a request still running then stops with an error.
    pub async fn handle_until(
        &self,
        request: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>, FunctionError> {
        // Without a deadline of its own, a request keeps the one it runs under.
        let outer = deadline::current();
        let limits = Limits {
            deadline: deadline.or(outer.deadline),
            statement_timeout: self
                .config
                .as_ref()
                .ok()
                .and_then(|c| c.statement_timeout)
                .or(outer.statement_timeout),
        };
        deadline::scope(limits, self.handle_within(request)).await
    }

    async fn handle_within(&self, request: &[u8]) -> Result<Vec<u8>, FunctionError> {
        let started = Instant::now();
        let parsed = parse_request(request).map_err(|e| {
            FunctionError::new(CONNECTOR_EXCEPTION, format!("invalid request: {e}"))
        })?;
        let version = parsed.response_version();
        let request = parsed.message;
        let kind = request.type_name();
        let context = describe(&request);
        // The server cancels a statement at its timeout; this is the backstop for anything
        // else that would run into the deadline.
        let dispatched = match deadline::remaining() {
            Some(left) => tokio::time::timeout(left + MARGIN / 3, self.dispatch(&request, version))
                .await
                .unwrap_or(Err(HandlerError::Deadline)),
            None => self.dispatch(&request, version).await,
        };
        let response = dispatched.map_err(|e| {
            tracing::warn!(query_id = query_id(&request), request = kind, context = %context, error = %e, throttled = e.is_throttling(), "request failed");
            let kind_of_error = if e.is_throttling() {
                THROTTLE_EXCEPTION
            } else {
                CONNECTOR_EXCEPTION
            };
            FunctionError::new(kind_of_error, format!("{kind} {context}: {e}"))
        })?;
        let json = response.to_json(version).map_err(|e| {
            FunctionError::new(
                CONNECTOR_EXCEPTION,
                format!("{kind} {context}: cannot write the response: {e}"),
            )
        })?;
        let bytes = serde_json::to_vec(&json)
            .map_err(|e| FunctionError::new(CONNECTOR_EXCEPTION, e.to_string()))?;
        tracing::info!(
            query_id = query_id(&request),
            request = kind,
            context = %context,
            response = response.type_name(),
            bytes = bytes.len(),
            duration_ms = started.elapsed().as_millis() as u64,
            "handled"
        );
        Ok(bytes)
    }

    /// Handles a parsed request.
    pub async fn dispatch(
        &self,
        request: &Request,
        _version: SerDeVersion,
    ) -> Result<Response, HandlerError> {
        Ok(match request {
            Request::Ping(r) => Response::Ping(PingResponse {
                catalog_name: r.catalog_name.clone(),
                query_id: r.query_id.clone(),
                source_type: self
                    .config()
                    .ok()
                    .and_then(|c| c.connection_for(&r.catalog_name).ok())
                    .map_or("jdbc", |(_, c)| c.engine().name())
                    .to_owned(),
                capabilities: SDK_CAPABILITIES,
                serde_version: SERDE_VERSION,
            }),
            Request::ListSchemas(r) => self.list_schemas(r).await?,
            Request::ListTables(r) => self.list_tables(r).await?,
            Request::GetTable(r) => self.get_table(r).await?,
            Request::GetTableLayout(r) => self.get_table_layout(r).await?,
            Request::GetSplits(r) => self.get_splits(r).await?,
            Request::ReadRecords(r) => self.read_records(r).await?.0,
            Request::GetDataSourceCapabilities(r) => self.get_capabilities(r).await?,
            Request::UserDefinedFunction(r) => {
                return Err(HandlerError::Request(format!(
                    "this connector defines no user-defined functions (asked for {})",
                    r.method_name
                )))
            }
        })
    }
}

fn query_id(r: &Request) -> &str {
    match r {
        Request::Ping(x) => &x.query_id,
        Request::ListSchemas(x) => &x.header.query_id,
        Request::ListTables(x) => &x.header.query_id,
        Request::GetTable(x) => &x.header.query_id,
        Request::GetTableLayout(x) => &x.header.query_id,
        Request::GetSplits(x) => &x.header.query_id,
        Request::ReadRecords(x) => &x.header.query_id,
        Request::GetDataSourceCapabilities(x) => &x.header.query_id,
        Request::UserDefinedFunction(_) => "",
    }
}

/// `catalog.schema.table` (or just the catalog) for messages and logs.
fn describe(r: &Request) -> String {
    let table = match r {
        Request::GetTable(x) => Some(&x.table_name),
        Request::GetTableLayout(x) => Some(&x.table_name),
        Request::GetSplits(x) => Some(&x.table_name),
        Request::ReadRecords(x) => Some(&x.table_name),
        _ => None,
    };
    match (r.catalog_name(), table) {
        (Some(c), Some(t)) => format!("on {c}.{t}"),
        (Some(c), None) => format!("on catalog {c}"),
        _ => String::new(),
    }
}
