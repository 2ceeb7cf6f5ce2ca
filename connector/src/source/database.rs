//! A database as the handler sees it: an engine's [`Source`] and everything that is the
//! same for every engine (name resolution, the columns a read asks for, passthrough
//! queries, split properties).

use arrow::datatypes::{Schema, SchemaRef};
use indexmap::IndexMap;

use crate::config::{CasingMode, Engine};
use crate::protocol::{Constraints, TableName};
use crate::sql::Query;

use super::mysql::MySqlSource;
use super::oracle::OracleSource;
use super::postgres::PostgresSource;
use super::sqlite::SqliteSource;
use super::sqlserver::SqlServerSource;
use super::{
    distinct_columns, resolve_name, BatchSink, Column, Connect, Execution, Names, Source,
    SourceError, Statement, TableInfo, TableRead, TableSlice,
};

pub struct Database {
    source: Box<dyn Source>,
    /// How names from Athena find the database's (`casing_mode`).
    casing: CasingMode,
}

/// The server engine `connect`'s URL names.
pub fn open_server(connect: Connect, default_scale: i8) -> Result<Database, SourceError> {
    let casing = connect.casing;
    let source: Box<dyn Source> = match connect.url.engine {
        Engine::Postgres => Box::new(PostgresSource::new(connect, default_scale)),
        Engine::MySql => Box::new(MySqlSource::new(connect)),
        Engine::SqlServer => Box::new(SqlServerSource::new(connect)),
        Engine::Oracle => Box::new(OracleSource::new(connect, default_scale)),
        Engine::Sqlite => {
            return Err(SourceError::Unsupported(
                "SQLite is opened from a sqlite:// connection string, not a JDBC URL".into(),
            ))
        }
    };
    Ok(Database { source, casing })
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

    fn table_read(&self) -> Result<TableRead<'_>, SourceError> {
        Ok(TableRead {
            table: self.table,
            columns: self.columns()?,
            constraints: self.constraints,
            split: TableSlice::from_properties(self.split)?,
        })
    }
}

impl Database {
    /// The embedded SQLite database at `path`, opened read-only. SQLite is not an official
    /// engine: its names are always found ignoring case.
    pub fn sqlite(path: std::path::PathBuf) -> Database {
        Database {
            source: Box::new(SqliteSource::new(path)),
            casing: CasingMode::CaseInsensitiveSearch,
        }
    }

    /// Schemas, without system schemas, sorted.
    pub async fn list_schemas(&self) -> Result<Vec<String>, SourceError> {
        self.source.schemas(None).await
    }

    async fn resolve_schema(&self, schema: &str) -> Result<String, SourceError> {
        let names = self.source.schemas(Some(schema)).await?;
        resolve_name("schema", None, schema, names, self.casing)
    }

    /// Up to `limit` tables and views of `schema` whose names sort after `after`, sorted.
    pub async fn list_tables(
        &self,
        schema: &str,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<TableName>, SourceError> {
        let schema = self.resolve_schema(schema).await?;
        let names = self
            .source
            .tables(&schema, Names::Page { after, limit })
            .await?;
        Ok(names
            .into_iter()
            .map(|t| TableName::new(schema.clone(), t))
            .collect())
    }

    /// A table's real name and columns; `name` may differ in case (Athena lower-cases).
    pub async fn table(&self, name: &TableName) -> Result<TableInfo, SourceError> {
        let schema = self.resolve_schema(&name.schema_name).await?;
        let tables = self
            .source
            .tables(&schema, Names::Like(&name.table_name))
            .await?;
        let table = resolve_name(
            "table",
            Some(&schema),
            &name.table_name,
            tables,
            self.casing,
        )?;
        let name = TableName::new(schema, table);
        let columns = distinct_columns(self.source.columns(&name).await?)?;
        Ok(TableInfo { name, columns })
    }

    /// The result columns of a passthrough query, without running it.
    pub async fn query_columns(
        &self,
        query: &str,
    ) -> Result<IndexMap<String, Column>, SourceError> {
        Ok(self
            .source
            .query_columns(trim_query(query))
            .await?
            .into_iter()
            .map(|c| (c.name.clone(), c))
            .collect())
    }

    /// The table's partitions that can hold rows matching `constraints`.
    pub async fn partitions(
        &self,
        table: &TableInfo,
        constraints: &Constraints,
    ) -> Result<Vec<TableSlice>, SourceError> {
        self.source.partitions(table, constraints).await
    }

    /// Splits one partition further when it is larger than `target_bytes`.
    pub async fn split_partition(
        &self,
        table: &TableInfo,
        partition: &TableSlice,
        target_bytes: u64,
    ) -> Result<Vec<TableSlice>, SourceError> {
        self.source
            .split_partition(table, partition, target_bytes)
            .await
    }

    /// The statement and parameters that read one split.
    pub fn sql(&self, plan: &ReadPlan<'_>) -> Result<Query, SourceError> {
        self.source.statement(&plan.table_read()?)
    }

    /// Streams the rows of one split into `sink`.
    pub async fn read(
        &self,
        plan: ReadPlan<'_>,
        sink: &mut dyn BatchSink,
    ) -> Result<(), SourceError> {
        let read = plan.table_read()?;
        let query = self.source.statement(&read)?;
        let run = Execution {
            statement: Statement::Table(query),
            columns: &read.columns,
            schema: plan.schema.clone(),
        };
        self.source.execute(run, sink).await
    }

    /// Runs a passthrough query and streams the columns `schema` asks for.
    pub async fn read_query(
        &self,
        query: &str,
        schema: SchemaRef,
        sink: &mut dyn BatchSink,
    ) -> Result<(), SourceError> {
        let columns = self.query_columns(query).await?;
        let selected = passthrough_columns(&columns, &schema)?;
        let run = Execution {
            statement: Statement::Passthrough(passthrough_sql(query, &selected)),
            columns: &selected,
            schema,
        };
        self.source.execute(run, sink).await
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

/// A passthrough query without the trailing `;` users often type.
fn trim_query(query: &str) -> &str {
    query.trim().trim_end_matches(';').trim_end()
}

/// `SELECT <those columns> FROM (<query>) AS q` (`1` for none: a count).
fn passthrough_sql(query: &str, columns: &[&Column]) -> String {
    let select = if columns.is_empty() {
        "1".to_owned()
    } else {
        columns
            .iter()
            .map(|c| c.projected())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("SELECT {select} FROM ({}) AS q", trim_query(query))
}
