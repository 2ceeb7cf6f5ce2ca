//! Databases behind one trait: metadata, partitions, splits and streaming reads.
//!
//! Each engine has its own module with its type-mapping table and its fast read path
//! (PostgreSQL: binary COPY; MySQL: a streamed result set; SQLite: the embedded default).

pub mod builder;
mod connect;
pub mod mysql;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use async_trait::async_trait;
use indexmap::IndexMap;

use crate::config::CasingMode;
use crate::protocol::{Constraints, TableName};
use crate::secrets::SecretError;
use crate::sql::{Column, Query, SqlError};

pub use connect::Connect;

/// Split property naming the partition a split reads (`*` for the whole table).
pub const PARTITION_NAME: &str = "partition_name";
/// The one partition (and split) of a table read whole: a passthrough query, a pushed-down
/// LIMIT, an unpartitioned table.
pub fn whole_table() -> IndexMap<String, String> {
    IndexMap::from([(PARTITION_NAME.to_owned(), "*".to_owned())])
}

/// Split property naming the partition's schema (PostgreSQL).
pub const PARTITION_SCHEMA: &str = "partition_schema_name";
/// Split properties bounding a range split (inclusive start, exclusive end).
pub const RANGE_FROM: &str = "range_from";
pub const RANGE_TO: &str = "range_to";

/// A table as a source reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// The name with the source's real casing.
    pub name: TableName,
    /// Every column, in table order, by its real name.
    pub columns: IndexMap<String, Column>,
}

impl TableInfo {
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .values()
                .map(|c| Field::new(&c.name, c.data_type.clone(), true))
                .collect::<Vec<_>>(),
        ))
    }

    /// The real name of a column Athena names (it lower-cases names).
    pub fn resolve_column(&self, name: &str) -> Result<&Column, SourceError> {
        let found = match crate::sql::select::find_column(&self.columns, name) {
            Ok(c) => return Ok(c),
            Err(found) => found,
        };
        match found.as_slice() {
            [] => Err(SourceError::NotFound {
                kind: "column",
                name: format!("{name} in {}", self.name),
            }),
            many => Err(SourceError::Ambiguous {
                kind: "column",
                name: name.to_owned(),
                candidates: many.iter().map(|c| c.name.clone()).collect(),
            }),
        }
    }
}

/// What one ReadRecords call reads.
pub struct ReadPlan<'a> {
    pub table: &'a TableInfo,
    /// The output schema: the request's projection, with Athena's names.
    pub schema: SchemaRef,
    pub constraints: &'a Constraints,
    /// The split's properties, as GetSplits made them.
    pub split: &'a IndexMap<String, String>,
}

/// Where rows go as they are read.
#[async_trait]
pub trait BatchSink: Send {
    async fn push(&mut self, batch: RecordBatch) -> Result<(), SourceError>;

    /// The size in bytes of the batches this sink would rather be given, if any: a sink
    /// that gathers rows into blocks (the spill writer) wants each batch to be a block.
    fn batch_bytes(&self) -> Option<usize> {
        None
    }
}

/// A database the connector reads from.
#[async_trait]
pub trait Source: Send + Sync {
    /// Schemas, without system schemas, sorted.
    async fn list_schemas(&self) -> Result<Vec<String>, SourceError>;

    /// Up to `limit` tables and views of `schema` whose names sort after `after`, sorted.
    async fn list_tables(
        &self,
        schema: &str,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<TableName>, SourceError>;

    /// A table's real name and columns; `name` may differ in case (Athena lower-cases).
    async fn table(&self, name: &TableName) -> Result<TableInfo, SourceError>;

    /// The result columns of a passthrough query, without running it.
    async fn query_columns(&self, query: &str) -> Result<IndexMap<String, Column>, SourceError>;

    /// The split property sets of the table's partitions that can hold matching rows.
    async fn partitions(
        &self,
        table: &TableInfo,
        constraints: &Constraints,
    ) -> Result<Vec<IndexMap<String, String>>, SourceError>;

    /// Splits one partition further when it is larger than `target_bytes`.
    async fn split_partition(
        &self,
        table: &TableInfo,
        partition: &IndexMap<String, String>,
        target_bytes: u64,
    ) -> Result<Vec<IndexMap<String, String>>, SourceError>;

    /// The statement and parameters that read one split.
    fn sql(&self, plan: &ReadPlan<'_>) -> Result<Query, SourceError>;

    /// Streams the rows of one split into `sink`.
    async fn read(&self, plan: ReadPlan<'_>, sink: &mut dyn BatchSink) -> Result<(), SourceError>;

    /// Runs a passthrough query and streams its rows.
    async fn read_query(
        &self,
        query: &str,
        schema: SchemaRef,
        sink: &mut dyn BatchSink,
    ) -> Result<(), SourceError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{kind} {name} not found")]
    NotFound { kind: &'static str, name: String },
    #[error("{kind} name \"{name}\" is ambiguous: {} differ only in case (use a passthrough query, system.query, to reach one)", candidates.join(", "))]
    Ambiguous {
        kind: &'static str,
        name: String,
        candidates: Vec<String>,
    },
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("the database rejected the credentials of user \"{user}\": {message}")]
    Authentication { user: String, message: String },
    #[error("cannot connect to {target}: {message}")]
    Connect { target: String, message: String },
    #[error("database error: {0}")]
    Database(String),
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error("column \"{column}\": {why}")]
    Value { column: String, why: String },
    #[error("{0}")]
    Unsupported(String),
    /// The sink (spilling) failed; reading stops.
    #[error("{0}")]
    Sink(String),
    /// The server or the pool has no connection to spare: Athena should retry later.
    #[error("{0}")]
    Throttled(String),
    /// The Athena query is over (finished or cancelled): nobody reads the rest.
    #[error("the query is {0}: reading stopped")]
    QueryFinished(String),
}

impl SourceError {
    /// Whether Athena should retry with backoff rather than fail the query.
    pub fn is_throttling(&self) -> bool {
        matches!(
            self,
            SourceError::Throttled(_) | SourceError::Secret(SecretError::Throttled { .. })
        )
    }
}

impl From<sqlx::Error> for SourceError {
    fn from(e: sqlx::Error) -> SourceError {
        match e {
            sqlx::Error::Database(db) => SourceError::Database(match db.code() {
                Some(code) => format!("{} (SQLSTATE {code})", db.message()),
                None => db.message().to_owned(),
            }),
            sqlx::Error::Io(e) => {
                SourceError::Database(format!("the connection to the database was lost: {e}"))
            }
            other => SourceError::Database(other.to_string()),
        }
    }
}

impl ReadPlan<'_> {
    /// The table columns behind the output schema, checked against the table's types.
    pub fn columns(&self) -> Result<Vec<&Column>, SourceError> {
        self.schema
            .fields()
            .iter()
            .map(|f| {
                let c = self.table.resolve_column(f.name())?;
                if &c.data_type != f.data_type() {
                    return Err(SourceError::Unsupported(format!(
                        "column \"{}\" is {} in the table but {} in the request (the table changed since planning)",
                        c.name,
                        c.data_type,
                        f.data_type()
                    )));
                }
                Ok(c)
            })
            .collect()
    }
}

/// The columns of a passthrough query an output schema asks for, in its order.
pub fn passthrough_columns<'a>(
    columns: &'a IndexMap<String, Column>,
    schema: &Schema,
) -> Result<Vec<&'a Column>, SourceError> {
    schema
        .fields()
        .iter()
        .map(|f| {
            columns.get(f.name()).ok_or_else(|| SourceError::NotFound {
                kind: "column",
                name: f.name().clone(),
            })
        })
        .collect()
}

/// `SELECT <those columns> FROM (<query>) AS q` (`1` for none: a count), without the
/// trailing `;` users often type.
pub fn passthrough_sql(query: &str, columns: &[&Column]) -> String {
    let select = if columns.is_empty() {
        "1".to_owned()
    } else {
        columns
            .iter()
            .map(|c| c.projected())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "SELECT {select} FROM ({}) AS q",
        query.trim().trim_end_matches(';').trim_end()
    )
}

/// Resolves a name Athena sent (lower-cased) against the database's names that equal it
/// ignoring case, as `casing` says; errors name them after `qualifier` (a table's schema).
pub fn resolve_name(
    kind: &'static str,
    qualifier: Option<&str>,
    wanted: &str,
    names: Vec<String>,
    casing: CasingMode,
) -> Result<String, SourceError> {
    let qualified = |n: &str| match qualifier {
        Some(q) => format!("{q}.{n}"),
        None => n.to_owned(),
    };
    let shown = &qualified(wanted);
    match casing.pick(wanted, names) {
        Ok(name) => Ok(name),
        Err(candidates) if candidates.is_empty() => Err(SourceError::NotFound {
            kind,
            name: shown.to_owned(),
        }),
        Err(candidates) if casing == CasingMode::CaseInsensitiveSearch => {
            Err(SourceError::Ambiguous {
                kind,
                name: shown.to_owned(),
                candidates: candidates.iter().map(|c| qualified(c)).collect(),
            })
        }
        Err(candidates) => Err(SourceError::NotFound {
            kind,
            name: format!(
                "{shown} (casing_mode={casing} matches names exactly; the database has {}: set casing_mode=case_insensitive_search to find it)",
                candidates
                    .iter()
                    .map(|c| qualified(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}
