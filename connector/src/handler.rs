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
use arrow::datatypes::{DataType, Field, Schema};
use indexmap::IndexMap;
use tokio::sync::{Mutex, OnceCell};

use crate::config::{Config, ConfigError, Engine, Target};
use crate::deadline::{self, Limits, MARGIN};
use crate::protocol::{
    parse_request, Block, FunctionError, GetDataSourceCapabilitiesResponse, GetSplitsResponse,
    GetTableLayoutResponse, GetTableResponse, ListSchemasResponse, ListTablesResponse,
    OptimizationSubType, PingResponse, ReadRecordsRequest, ReadRecordsResponse,
    RemoteReadRecordsResponse, Request, Response, SerDeVersion, Split, StandardFunction, TableName,
    CONNECTOR_EXCEPTION, SDK_CAPABILITIES, THROTTLE_EXCEPTION, UNLIMITED_PAGE_SIZE,
};
use crate::query_status::{QueryStates, Watch};
use crate::rds_auth::RdsTokens;
use crate::secrets::{SecretCache, SecretsManager};
use crate::source::mysql::MySqlSource;
use crate::source::postgres::PostgresSource;
use crate::source::sqlite::SqliteSource;
use crate::source::{
    passthrough_columns, BatchSink, Connect, ReadPlan, Source, SourceError, TableInfo,
};
use crate::spill::crypto::BlockCrypto;
use crate::spill::keys::{split_key, split_location, KeyError};
use crate::spill::store::{BlockStore, S3Store, LOCAL_BUCKET};
use crate::spill::writer::{BlockWriter, Outcome, Spill, MAX_INLINE_RESPONSE_BYTES};
use crate::sql::{Column, Query};
use futures_util::StreamExt;

/// The serde version the connector advertises: passthrough needs 5; Substrait plans (v6)
/// are not read, so 6 is not claimed.
pub const SERDE_VERSION: i32 = 5;
/// How long table metadata is reused between the calls of one query.
const TABLE_CACHE_TTL: Duration = Duration::from_secs(60);
/// The passthrough table function, as Athena names it.
const QPT_FUNCTION: &str = "SYSTEM.QUERY";
const QPT_QUERY: &str = "QUERY";
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

/// A request schema that the table (or the passthrough query) cannot fill.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("column \"{column}\" is declared {declared}: {why}")]
    Invalid {
        column: String,
        declared: DataType,
        why: String,
    },
    #[error("column \"{column}\" is {actual} in the {of} but {declared} in the request")]
    Type {
        column: String,
        of: &'static str,
        actual: DataType,
        declared: DataType,
    },
    #[error("column \"{column}\" is declared non-nullable in the request, but the {of}'s column may hold NULLs (every column this connector describes is nullable)")]
    NonNullable { column: String, of: &'static str },
}

/// Table metadata by (catalog, name), with when it was read.
type TableCache = HashMap<(String, TableName), (Instant, Arc<TableInfo>)>;

/// The connector: configuration, lazily created clients and sources, reused across calls.
pub struct Connector {
    config: Result<Config, ConfigError>,
    aws: OnceCell<aws_config::SdkConfig>,
    secrets: OnceCell<Arc<SecretCache>>,
    rds_tokens: OnceCell<Arc<RdsTokens>>,
    sources: Mutex<HashMap<String, Arc<dyn Source>>>,
    tables: Mutex<TableCache>,
    /// Where splits spill when no bucket is configured (the local engine's directory).
    local_spill: Option<Arc<dyn BlockStore>>,
    spill_s3: OnceCell<Arc<dyn BlockStore>>,
    /// Where a read learns that its query is over, and how often it asks (the Lambda asks
    /// Athena; the local engine has no Athena query to ask about).
    query_states: Option<(Arc<dyn QueryStates>, Duration)>,
}

/// Data keys requested from KMS at once while planning splits.
const KEY_CONCURRENCY: usize = 16;

/// A GetSplits continuation token: `<partition>` or `<partition>:<splits already sent>`.
fn parse_split_token(t: &str) -> Result<(usize, usize), HandlerError> {
    let bad = || HandlerError::Request(format!("invalid continuation token \"{t}\""));
    let (partition, skip) = t.split_once(':').unwrap_or((t, "0"));
    Ok((
        partition.parse().map_err(|_| bad())?,
        skip.parse().map_err(|_| bad())?,
    ))
}

/// Rows and bytes of one ReadRecords, for logs.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadStats {
    pub rows: usize,
    pub spilled_blocks: usize,
}

impl Connector {
    /// Reads the environment; a configuration error is reported on the first request.
    pub fn from_env() -> Connector {
        Connector::new(Config::from_env())
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
    pub async fn source(&self, catalog: &str) -> Result<(Arc<dyn Source>, Engine), HandlerError> {
        let config = self.config()?;
        let (key, connection) = config.connection_for(catalog)?;
        let engine = connection.engine();
        if let Some(s) = self.sources.lock().await.get(key) {
            return Ok((s.clone(), engine));
        }
        let source: Arc<dyn Source> = match &connection.target {
            Target::Sqlite(path) => Arc::new(SqliteSource::new(PathBuf::from(path))),
            Target::Server(url) => {
                let connect = Connect {
                    url: url.clone(),
                    secret: connection.secret.clone(),
                    secrets: self.secrets().await?,
                    iam: match connection.iam_auth {
                        true => Some(self.rds_tokens().await),
                        false => None,
                    },
                };
                match url.engine {
                    Engine::Postgres => Arc::new(PostgresSource::new(connect, config.default_scale)),
                    Engine::MySql => Arc::new(MySqlSource::new(connect)),
                    other => {
                        return Err(HandlerError::Request(format!(
                            "catalog {catalog}: the {other} engine is not served by this build (PostgreSQL, MySQL/MariaDB and SQLite are)"
                        )))
                    }
                }
            }
        };
        let mut sources = self.sources.lock().await;
        let source = sources.entry(key.to_owned()).or_insert(source).clone();
        Ok((source, engine))
    }

    async fn table(
        &self,
        catalog: &str,
        source: &dyn Source,
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
        let limits = Limits {
            deadline: deadline.or(deadline::current().deadline),
            statement_timeout: self
                .config
                .as_ref()
                .ok()
                .and_then(|c| c.statement_timeout)
                .or(deadline::current().statement_timeout),
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
            Request::ListSchemas(r) => {
                let (source, _) = self.source(&r.header.catalog_name).await?;
                Response::ListSchemas(ListSchemasResponse {
                    catalog_name: r.header.catalog_name.clone(),
                    schemas: source.list_schemas().await?,
                })
            }
            Request::ListTables(r) => {
                let (source, _) = self.source(&r.header.catalog_name).await?;
                let (tables, next_token) = match &r.schema_name {
                    Some(schema) => {
                        let page = (r.page_size != UNLIMITED_PAGE_SIZE)
                            .then(|| r.page_size.max(1) as usize);
                        let mut tables = source
                            .list_tables(schema, r.next_token.as_deref(), page.map(|p| p + 1))
                            .await?;
                        let more = page.is_some_and(|p| tables.len() > p);
                        if let Some(p) = page {
                            tables.truncate(p);
                        }
                        let token = if more {
                            tables.last().map(|t| t.table_name.clone())
                        } else {
                            None
                        };
                        (tables, token)
                    }
                    None => {
                        let mut all = Vec::new();
                        for schema in source.list_schemas().await? {
                            all.extend(source.list_tables(&schema, None, None).await?);
                        }
                        (all, None)
                    }
                };
                Response::ListTables(ListTablesResponse {
                    tables,
                    catalog_name: r.header.catalog_name.clone(),
                    next_token,
                })
            }
            Request::GetTable(r) => {
                let (source, _) = self.source(&r.header.catalog_name).await?;
                if !r.query_passthrough_arguments.is_empty() {
                    let query = self.passthrough_query(&r.query_passthrough_arguments)?;
                    let columns = source.query_columns(query).await?;
                    let info = TableInfo {
                        name: r.table_name.clone(),
                        columns,
                    };
                    return Ok(Response::GetTable(GetTableResponse {
                        catalog_name: r.header.catalog_name.clone(),
                        table_name: r.table_name.clone(),
                        schema: info.schema(),
                        partition_columns: vec![],
                    }));
                }
                let table = self
                    .table(&r.header.catalog_name, source.as_ref(), &r.table_name)
                    .await?;
                Response::GetTable(GetTableResponse {
                    catalog_name: r.header.catalog_name.clone(),
                    table_name: table.name.clone(),
                    schema: table.schema(),
                    partition_columns: vec![],
                })
            }
            Request::GetTableLayout(r) => {
                let (source, _) = self.source(&r.header.catalog_name).await?;
                let partitions = if r.constraints.is_query_passthrough() {
                    vec![IndexMap::from([(
                        "partition_name".to_owned(),
                        "*".to_owned(),
                    )])]
                } else {
                    let table = self
                        .table(&r.header.catalog_name, source.as_ref(), &r.table_name)
                        .await?;
                    source.partitions(&table, &r.constraints).await?
                };
                Response::GetTableLayout(GetTableLayoutResponse {
                    catalog_name: r.header.catalog_name.clone(),
                    table_name: r.table_name.clone(),
                    partitions: partitions_block(&r.header.query_id, &partitions)?,
                })
            }
            Request::GetSplits(r) => {
                let config = self.config()?;
                let (source, _) = self.source(&r.header.catalog_name).await?;
                let partitions = block_rows(&r.partitions)?;
                let (start, skip) = match &r.continuation_token {
                    Some(t) => parse_split_token(t)?,
                    None => (0, 0),
                };
                let mut properties: Vec<IndexMap<String, String>> = Vec::new();
                let mut next = None;
                if r.constraints.is_query_passthrough() {
                    properties.push(r.constraints.query_passthrough_arguments.clone());
                } else if r.constraints.limit().is_some() {
                    // A pushed-down LIMIT (or top-N) is only exact over one split.
                    if start == 0 && !partitions.is_empty() {
                        properties.push(IndexMap::from([(
                            "partition_name".to_owned(),
                            "*".to_owned(),
                        )]));
                    }
                } else {
                    let table = self
                        .table(&r.header.catalog_name, source.as_ref(), &r.table_name)
                        .await?;
                    // Pages hold at most `splits_per_page` splits, also within one partition's
                    // ranges (a huge table's answer must stay under Athena's 6 MB): the token
                    // is `<partition>:<splits of it already sent>`.
                    let mut skip = skip;
                    for (i, partition) in partitions.iter().enumerate().skip(start) {
                        let ranges = source
                            .split_partition(&table, partition, config.split_target_bytes)
                            .await?;
                        let room = config.splits_per_page - properties.len();
                        let left = ranges.len().saturating_sub(skip);
                        properties.extend(ranges.into_iter().skip(skip).take(room));
                        if left > room {
                            next = Some(format!("{i}:{}", skip + room));
                            break;
                        }
                        skip = 0;
                        if properties.len() >= config.splits_per_page && i + 1 < partitions.len() {
                            next = Some((i + 1).to_string());
                            break;
                        }
                    }
                }
                let kms = match &config.spill.encryption {
                    crate::config::SpillEncryption::Kms { .. } => {
                        Some(aws_sdk_kms::Client::new(self.aws().await))
                    }
                    _ => None,
                };
                // One data key per split, fetched concurrently (KMS answers in milliseconds,
                // a thousand of them one after the other would take seconds).
                let kms = kms.as_ref();
                let keys: Vec<_> = futures_util::stream::iter(0..properties.len())
                    .map(|_| split_key(&config.spill, kms))
                    .buffered(KEY_CONCURRENCY)
                    .collect()
                    .await;
                let mut splits = Vec::with_capacity(properties.len());
                for (p, key) in properties.into_iter().zip(keys) {
                    splits.push(Split {
                        spill_location: split_location(
                            &config.spill,
                            &r.header.identity.config_options,
                            &r.header.query_id,
                            self.local_spill.is_some(),
                        ),
                        encryption_key: key.map_err(|e| match e {
                            KeyError::Throttled { .. } => HandlerError::Throttled(e.to_string()),
                            e => HandlerError::Spill(e.to_string()),
                        })?,
                        properties: p,
                    });
                }
                Response::GetSplits(GetSplitsResponse {
                    catalog_name: r.header.catalog_name.clone(),
                    splits,
                    continuation_token: next,
                })
            }
            Request::ReadRecords(r) => self.read_records(r).await?.0,
            Request::GetDataSourceCapabilities(r) => {
                let (_, engine) = self.source(&r.header.catalog_name).await?;
                Response::GetDataSourceCapabilities(GetDataSourceCapabilitiesResponse {
                    catalog_name: r.header.catalog_name.clone(),
                    capabilities: capabilities(engine, self.config()?.query_passthrough),
                })
            }
            Request::UserDefinedFunction(r) => {
                return Err(HandlerError::Request(format!(
                    "this connector defines no user-defined functions (asked for {})",
                    r.method_name
                )))
            }
        })
    }

    fn passthrough_query<'a>(
        &self,
        args: &'a IndexMap<String, String>,
    ) -> Result<&'a str, HandlerError> {
        if !self.config()?.query_passthrough {
            return Err(HandlerError::Request(
                "query passthrough is disabled (enable_query_passthrough=false)".into(),
            ));
        }
        let get = |k: &str| {
            args.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str())
        };
        match get("schemaFunctionName") {
            Some(f) if f.eq_ignore_ascii_case(QPT_FUNCTION) => {}
            _ => {
                return Err(HandlerError::Request(
                    "Function Signature doesn't match implementation's".into(),
                ))
            }
        }
        match get(QPT_QUERY) {
            None => Err(HandlerError::Request(
                "Missing Query Passthrough Argument: QUERY".into(),
            )),
            Some(q) if q.trim().is_empty() => Err(HandlerError::Request(
                "Missing Query Passthrough Value for Argument: QUERY".into(),
            )),
            Some(q) => Ok(q),
        }
    }

    /// Reads one split; also the entry point of the local engine.
    pub async fn read_records(
        &self,
        r: &ReadRecordsRequest,
    ) -> Result<(Response, ReadStats), HandlerError> {
        let config = self.config()?;
        let (source, _) = self.source(&r.header.catalog_name).await?;
        // The request schema against what the read produces, once and before any row: a
        // mismatch is an error naming the column, never a failure assembling a batch.
        let table = if r.constraints.is_query_passthrough() {
            let query = self.passthrough_query(&r.constraints.query_passthrough_arguments)?;
            let columns = source.query_columns(query).await?;
            check_schema(
                &r.schema,
                &passthrough_columns(&columns, &r.schema)?,
                "passthrough query",
            )?;
            None
        } else {
            let table = self
                .table(&r.header.catalog_name, source.as_ref(), &r.table_name)
                .await?;
            let columns = r
                .schema
                .fields()
                .iter()
                .map(|f| table.resolve_column(f.name()))
                .collect::<Result<Vec<_>, _>>()?;
            check_schema(&r.schema, &columns, "table")?;
            Some(table)
        };
        let (max_block, max_inline) = block_sizes(config.spill.max_block_size, r);
        let spill = match &r.split.spill_location {
            Some(location) => {
                if !location.directory {
                    return Err(HandlerError::Request(
                        "the split's spill location is not a directory".into(),
                    ));
                }
                let crypto = match &r.split.encryption_key {
                    Some(k) => Some(Arc::new(
                        BlockCrypto::new(k).map_err(|e| HandlerError::Spill(e.to_string()))?,
                    )),
                    None => None,
                };
                let store = match &self.local_spill {
                    Some(local) if location.bucket == LOCAL_BUCKET => local.clone(),
                    _ => self.spill_s3().await?,
                };
                Some(Spill {
                    store,
                    location: location.clone(),
                    crypto,
                })
            }
            None => None,
        };
        let mut writer = BlockWriter::new(r.schema.clone(), max_block, max_inline, spill);
        let watch = self.query_states.as_ref().map(|(states, interval)| {
            Watch::start(states.clone(), r.header.query_id.clone(), *interval)
        });
        let mut sink = WatchedSink {
            inner: &mut writer,
            watch: watch.as_ref(),
        };
        let read = if let Some(table) = &table {
            let plan = ReadPlan {
                table,
                schema: r.schema.clone(),
                constraints: &r.constraints,
                split: &r.split.properties,
            };
            source.read(plan, &mut sink).await
        } else {
            let query = self.passthrough_query(&r.constraints.query_passthrough_arguments)?;
            source.read_query(query, r.schema.clone(), &mut sink).await
        };
        match read {
            Ok(()) => {}
            // Nobody reads the rest: what was read is answered, as the official connectors do.
            Err(SourceError::QueryFinished(state)) => {
                tracing::info!(query_id = %r.header.query_id, state, rows = writer.rows, "the query is over; split stopped reading");
            }
            Err(e) => return Err(e.into()),
        }
        let mut stats = ReadStats {
            rows: writer.rows,
            spilled_blocks: 0,
        };
        let response = match writer.finish().await.map_err(HandlerError::Spill)? {
            Outcome::Inline(batch) => Response::ReadRecords(ReadRecordsResponse {
                catalog_name: r.header.catalog_name.clone(),
                records: Block::new(r.header.query_id.clone(), batch),
            }),
            Outcome::Spilled(blocks) => {
                stats.spilled_blocks = blocks.len();
                Response::RemoteReadRecords(RemoteReadRecordsResponse {
                    catalog_name: r.header.catalog_name.clone(),
                    schema: r.schema.clone(),
                    remote_blocks: blocks,
                    encryption_key: r.split.encryption_key.clone(),
                })
            }
        };
        tracing::info!(query_id = %r.header.query_id, table = %r.table_name, split = ?r.split.properties, rows = stats.rows, spilled_blocks = stats.spilled_blocks, "read split");
        Ok((response, stats))
    }

    /// The statement a ReadRecordsRequest would run (`athena-fed sql`).
    pub async fn read_sql(&self, r: &ReadRecordsRequest) -> Result<Query, HandlerError> {
        let (source, _) = self.source(&r.header.catalog_name).await?;
        if r.constraints.is_query_passthrough() {
            let query = self.passthrough_query(&r.constraints.query_passthrough_arguments)?;
            return Ok(Query {
                sql: query.to_owned(),
                params: vec![],
            });
        }
        let table = self
            .table(&r.header.catalog_name, source.as_ref(), &r.table_name)
            .await?;
        let plan = ReadPlan {
            table: &table,
            schema: r.schema.clone(),
            constraints: &r.constraints,
            split: &r.split.properties,
        };
        Ok(source.sql(&plan)?)
    }
}

/// The read's sink, stopping the read once its query is over (a flag set by [`Watch`]).
struct WatchedSink<'a> {
    inner: &'a mut BlockWriter,
    watch: Option<&'a Watch>,
}

#[async_trait::async_trait]
impl BatchSink for WatchedSink<'_> {
    async fn push(&mut self, batch: RecordBatch) -> Result<(), SourceError> {
        if let Some(state) = self.watch.and_then(Watch::finished) {
            return Err(SourceError::QueryFinished(state));
        }
        self.inner.push(batch).await
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

/// The largest block a request may ask for (`maxBlockSize`; Athena asks for 16 MB). A split's
/// rows are held until a block is full, so this bounds a read's memory: four times Athena's
/// size stays well within a Lambda's. The operator's `MAX_BLOCK_SIZE_BYTES` is not capped.
pub const MAX_REQUEST_BLOCK_BYTES: usize = 64 << 20;

/// The block and inline sizes of one read, from the configuration and the request.
fn block_sizes(configured: Option<u64>, r: &ReadRecordsRequest) -> (usize, usize) {
    let requested = r.max_block_size.clamp(1, MAX_REQUEST_BLOCK_BYTES as i64) as usize;
    let max_block = configured.map_or(requested, |c| c as usize);
    // An inline block beyond the Lambda response limit could never be sent inline anyway.
    let max_inline = r
        .max_inline_block_size
        .clamp(0, MAX_INLINE_RESPONSE_BYTES as i64) as usize;
    (max_block, max_inline)
}

/// Checks the request schema against the columns that fill it (`of`: the table or the
/// passthrough query): each declared type valid and the source's, and nullable, since no
/// source column promises to hold no NULLs.
fn check_schema(schema: &Schema, columns: &[&Column], of: &'static str) -> Result<(), SchemaError> {
    for (field, column) in schema.fields().iter().zip(columns) {
        let declared = field.data_type();
        if let Some(why) = invalid_type(declared) {
            return Err(SchemaError::Invalid {
                column: field.name().clone(),
                declared: declared.clone(),
                why,
            });
        }
        if &column.data_type != declared {
            return Err(SchemaError::Type {
                column: field.name().clone(),
                of,
                actual: column.data_type.clone(),
                declared: declared.clone(),
            });
        }
        if !field.is_nullable() {
            return Err(SchemaError::NonNullable {
                column: field.name().clone(),
                of,
            });
        }
    }
    Ok(())
}

/// Why a declared type cannot hold values at all (Arrow's own limits), if it cannot.
fn invalid_type(t: &DataType) -> Option<String> {
    use arrow::datatypes::{Decimal128Type, Decimal256Type, DECIMAL128_MAX_PRECISION};
    match t {
        DataType::Decimal128(p, s) => {
            arrow::datatypes::validate_decimal_precision_and_scale::<Decimal128Type>(*p, *s)
                .err()
                .map(|_| {
                    format!(
                        "a decimal's precision is 1 to {DECIMAL128_MAX_PRECISION} and its scale at most its precision"
                    )
                })
        }
        DataType::Decimal256(p, s) => {
            arrow::datatypes::validate_decimal_precision_and_scale::<Decimal256Type>(*p, *s)
                .err()
                .map(|e| e.to_string())
        }
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            invalid_type(f.data_type())
        }
        DataType::Struct(fields) => fields.iter().find_map(|f| invalid_type(f.data_type())),
        _ => None,
    }
}

/// One row per partition, one Utf8 column per property (the union, in first-seen order).
fn partitions_block(
    allocator: &str,
    partitions: &[IndexMap<String, String>],
) -> Result<Block, HandlerError> {
    let mut names: Vec<&str> = Vec::new();
    for p in partitions {
        for k in p.keys() {
            if !names.contains(&k.as_str()) {
                names.push(k);
            }
        }
    }
    if names.is_empty() {
        names.push("partition_name");
    }
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let columns = names
        .iter()
        .map(|n| {
            Arc::new(StringArray::from(
                partitions
                    .iter()
                    .map(|p| p.get(*n).cloned())
                    .collect::<Vec<_>>(),
            )) as arrow::array::ArrayRef
        })
        .collect();
    let batch =
        RecordBatch::try_new(schema, columns).map_err(|e| HandlerError::Request(e.to_string()))?;
    Ok(Block::new(allocator, batch))
}

/// The partitions block's rows as property maps (non-null string cells).
fn block_rows(block: &Block) -> Result<Vec<IndexMap<String, String>>, HandlerError> {
    let batch = &block.batch;
    // Before a map per row is allocated: a block of no (or null) columns declares its row
    // count without sending a byte per row.
    if batch.num_rows() > MAX_PARTITIONS {
        return Err(HandlerError::TooManyPartitions {
            rows: batch.num_rows(),
        });
    }
    let mut rows = vec![IndexMap::new(); batch.num_rows()];
    for (f, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let text = arrow::compute::cast(column, &DataType::Utf8)
            .map_err(|e| HandlerError::Request(format!("partition column {}: {e}", f.name())))?;
        let text = text
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8");
        for (i, row) in rows.iter_mut().enumerate() {
            if !text.is_null(i) {
                row.insert(f.name().clone(), text.value(i).to_owned());
            }
        }
    }
    Ok(rows)
}

/// What this connector really pushes down (SPEC §5).
pub fn capabilities(
    engine: Engine,
    query_passthrough: bool,
) -> IndexMap<String, Vec<OptimizationSubType>> {
    let _ = engine;
    let functions: Vec<&str> = StandardFunction::ALL.iter().map(|f| f.as_str()).collect();
    let mut caps = IndexMap::from([
        (
            "supports_filter_pushdown".to_owned(),
            vec![
                OptimizationSubType::new("sorted_range_set", &[]),
                OptimizationSubType::new("equatable_range_set", &[]),
                OptimizationSubType::new("all_or_none_value_set", &[]),
                OptimizationSubType::new("nullable_comparison", &[]),
            ],
        ),
        (
            "supports_complex_expression_pushdown".to_owned(),
            vec![OptimizationSubType::new(
                "supported_function_expression_types",
                &functions,
            )],
        ),
        (
            "supports_limit_pushdown".to_owned(),
            vec![OptimizationSubType::new("integer_constant", &[])],
        ),
        (
            "supports_top_n_pushdown".to_owned(),
            vec![OptimizationSubType::new("SUPPORTS_ORDER_BY", &[])],
        ),
    ]);
    if query_passthrough {
        caps.insert(
            QPT_FUNCTION.to_owned(),
            vec![
                OptimizationSubType::new("query_passthrough_schema", &["system"]),
                OptimizationSubType::new("query_passthrough_name", &["query"]),
                OptimizationSubType::new("query_passthrough_arguments", &[QPT_QUERY]),
            ],
        );
    }
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(max_block_size: i64, max_inline_block_size: i64) -> ReadRecordsRequest {
        ReadRecordsRequest {
            header: Default::default(),
            table_name: TableName::new("main", "t"),
            schema: Arc::new(Schema::empty()),
            split: Split {
                spill_location: None,
                encryption_key: None,
                properties: IndexMap::new(),
            },
            constraints: Default::default(),
            max_block_size,
            max_inline_block_size,
        }
    }

    #[test]
    fn request_block_sizes_are_bounded() {
        // What Athena sends is taken as it is.
        assert_eq!(
            block_sizes(None, &read(16_000_000, 5_242_880)),
            (16_000_000, 5_242_880)
        );
        // Beyond the ceilings: clamped (the block to MAX_REQUEST_BLOCK_BYTES, the inline
        // block to what fits a Lambda response), below zero: the least.
        assert_eq!(
            block_sizes(None, &read(i64::MAX, i64::MAX)),
            (MAX_REQUEST_BLOCK_BYTES, MAX_INLINE_RESPONSE_BYTES)
        );
        assert_eq!(block_sizes(None, &read(1 << 40, 1 << 40)).0, 64 << 20);
        assert_eq!(block_sizes(None, &read(-1, i64::MIN)), (1, 0));
        // The operator's MAX_BLOCK_SIZE_BYTES wins, uncapped.
        assert_eq!(block_sizes(Some(1 << 30), &read(1, 1)), (1 << 30, 1));
    }
}
