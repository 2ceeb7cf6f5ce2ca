//! Databases behind one narrow trait.
//!
//! An engine is a folder (`postgres/`, `mysql/`, `sqlite/`) holding its type-mapping
//! table, its catalog queries, its split planning and one execute-and-decode function: it
//! implements [`Source`]. Everything that is the same for every engine lives here once:
//! name resolution ([`names`]), the column model ([`column`]), splits as typed values
//! ([`split`]), passthrough queries and the read itself ([`Database`]), and which engine
//! serves a connection string ([`open_server`]).

pub mod builder;
mod column;
mod connect;
mod database;
pub mod decimal;
mod error;
pub mod mysql;
mod names;
pub mod oracle;
mod pool;
pub mod postgres;
mod split;
pub mod sqlite;
pub mod sqlserver;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;

use crate::protocol::{Constraints, TableName};
use crate::sql::{Dialect, Query, SelectBuilder};

pub use column::{distinct_columns, find_column, Column, TableInfo};
pub use connect::Connect;
pub use database::{open_server, passthrough_columns, Database, ReadPlan};
pub use error::{Cause, DatabaseError, SourceError};
pub use names::resolve_name;
pub use split::{ranges, Range, SplitError, TableSlice, PARTITION_NAME, PARTITION_SCHEMA};

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

/// Which tables [`Source::tables`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names<'a> {
    /// Up to `limit` names sorting (by code point) after `after`, sorted.
    Page {
        after: Option<&'a str>,
        limit: Option<usize>,
    },
    /// Every name equal to this one ignoring case (to resolve Athena's lower case).
    Like(&'a str),
}

/// One engine: what differs between databases, and nothing else.
#[async_trait]
pub trait Source: Send + Sync {
    /// Without a name: the schemas users see (no system schemas), sorted by code point.
    /// With one: every schema whose name equals it ignoring case.
    async fn schemas(&self, like: Option<&str>) -> Result<Vec<String>, SourceError>;

    /// Tables and views of `schema` (its real name).
    async fn tables(&self, schema: &str, names: Names<'_>) -> Result<Vec<String>, SourceError>;

    /// A table's columns (its real name), in table order, with their Arrow types.
    async fn columns(&self, table: &TableName) -> Result<Vec<Column>, SourceError>;

    /// The result columns of a passthrough query (without a trailing `;`), without running
    /// it; each selects `q.<name>` (the query is read as `FROM (<query>) AS q`).
    async fn query_columns(&self, query: &str) -> Result<Vec<Column>, SourceError>;

    /// The table's partitions that can hold rows matching `constraints`.
    async fn partitions(
        &self,
        table: &TableInfo,
        constraints: &Constraints,
    ) -> Result<Vec<TableSlice>, SourceError>;

    /// `partition` cut into ranges when it is larger than `target_bytes`.
    async fn split_partition(
        &self,
        table: &TableInfo,
        partition: &TableSlice,
        target_bytes: u64,
    ) -> Result<Vec<TableSlice>, SourceError>;

    /// The statement reading one split of a table.
    fn statement(&self, read: &TableRead<'_>) -> Result<Query, SourceError>;

    /// Runs a statement and streams its rows, decoded into Arrow, into `sink`.
    async fn execute(
        &self,
        run: Execution<'_>,
        sink: &mut dyn BatchSink,
    ) -> Result<(), SourceError>;
}

/// What one split of a table reads.
pub struct TableRead<'a> {
    pub table: &'a TableInfo,
    /// The projection, in the output's order.
    pub columns: Vec<&'a Column>,
    pub constraints: &'a Constraints,
    pub split: TableSlice,
}

impl TableRead<'_> {
    /// `SELECT … FROM <from> WHERE …` of this split: [`select`](Self::select) with the
    /// split's key range (a range split of MySQL, SQL Server or Oracle), besides `extra`.
    pub fn select_keyed(
        &self,
        dialect: &dyn Dialect,
        from: String,
        mut extra: Vec<crate::sql::select::RangePredicate>,
    ) -> Result<Query, SourceError> {
        if let Some(range) = &self.split.range {
            let key = range.column.as_deref().ok_or_else(|| {
                SourceError::Unsupported("a range split names no range_column".into())
            })?;
            extra.push(crate::sql::select::RangePredicate {
                expr: self.table.resolve_column(key)?.select.clone(),
                from: range.from.map(crate::protocol::Scalar::Int64),
                to: range.to.map(crate::protocol::Scalar::Int64),
                cast: None,
            });
        }
        self.select(dialect, from, &extra)
    }

    /// `SELECT <projection> FROM <from> WHERE <constraints and ranges> …` in `dialect`.
    pub fn select(
        &self,
        dialect: &dyn Dialect,
        from: String,
        ranges: &[crate::sql::select::RangePredicate],
    ) -> Result<Query, SourceError> {
        let projection: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        Ok(SelectBuilder {
            dialect,
            from,
            columns: &self.table.columns,
        }
        .build(&projection, self.constraints, ranges)?)
    }
}

/// A statement to run.
pub enum Statement {
    /// A table's read, as [`Source::statement`] made it.
    Table(Query),
    /// A user's passthrough query, as `SELECT <columns> FROM (<query>) AS q`: the engine
    /// runs it so that it changes nothing and leaves nothing behind.
    Passthrough(String),
}

impl Statement {
    /// The SQL, its parameters, and whether it is a user's passthrough query.
    pub fn into_parts(self) -> (String, Vec<crate::protocol::Scalar>, bool) {
        match self {
            Statement::Table(q) => (q.sql, q.params, false),
            Statement::Passthrough(sql) => (sql, vec![], true),
        }
    }
}

/// A statement and how its rows are decoded.
pub struct Execution<'a> {
    pub statement: Statement,
    /// The result's columns, in order.
    pub columns: &'a [&'a Column],
    /// The batches' schema (Athena's names for `columns`).
    pub schema: SchemaRef,
}

impl Execution<'_> {
    /// The columns' names, for errors about their values.
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// What an engine's `execute` starts from: the statement's parts, the columns' names,
    /// and a batch builder sized for `sink`.
    pub fn start(self, sink: &dyn BatchSink) -> Result<Run, SourceError> {
        let names = self.names();
        let (sql, params, passthrough) = self.statement.into_parts();
        let out = builder::BatchBuilder::new(self.schema)
            .map_err(SourceError::Unsupported)?
            .sized_for(sink.batch_bytes());
        Ok(Run {
            sql,
            params,
            passthrough,
            names,
            out,
        })
    }
}

/// An [`Execution`] under way ([`Execution::start`]).
pub struct Run {
    pub sql: String,
    pub params: Vec<crate::protocol::Scalar>,
    /// A user's passthrough query (read-only, its connection not reused).
    pub passthrough: bool,
    /// The columns' names, for errors about their values.
    pub names: Vec<String>,
    pub out: builder::BatchBuilder,
}
