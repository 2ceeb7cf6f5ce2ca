//! SQLite, the embedded default: one schema (`main`), opened read-only.

mod types;
mod values;

use std::path::PathBuf;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Row};
use tokio::sync::OnceCell;

use crate::protocol::{Constraints, TableName};
use crate::source::Run;
use crate::sql::{Dialect, Query, Sqlite};

use super::{
    BatchSink, Column, Execution, Names, Source, SourceError, TableInfo, TableRead, TableSlice,
};
pub use types::map_column;
use values::{bind, decode_row};

const SCHEMA: &str = "main";

pub struct SqliteSource {
    path: PathBuf,
    pool: OnceCell<SqlitePool>,
}

impl SqliteSource {
    pub fn new(path: PathBuf) -> SqliteSource {
        SqliteSource {
            path,
            pool: OnceCell::new(),
        }
    }

    async fn pool(&self) -> Result<&SqlitePool, SourceError> {
        self.pool
            .get_or_try_init(|| async {
                if !self.path.is_file() {
                    return Err(SourceError::connect(
                        self.path.display().to_string(),
                        "no such SQLite database file",
                    ));
                }
                let options = SqliteConnectOptions::new()
                    .filename(&self.path)
                    .read_only(true)
                    // Athena's LIKE is case-sensitive.
                    .pragma("case_sensitive_like", "ON")
                    .disable_statement_logging();
                Ok(SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_lazy_with(options))
            })
            .await
    }
}

#[async_trait]
impl Source for SqliteSource {
    async fn schemas(&self, like: Option<&str>) -> Result<Vec<String>, SourceError> {
        match like {
            None => self.pool().await.map(|_| vec![SCHEMA.to_owned()]),
            Some(name) if name.eq_ignore_ascii_case(SCHEMA) => Ok(vec![SCHEMA.to_owned()]),
            Some(_) => Ok(vec![]),
        }
    }

    async fn tables(&self, _schema: &str, names: Names<'_>) -> Result<Vec<String>, SourceError> {
        let pool = self.pool().await?;
        Ok(match names {
            Names::Page { after, limit } => {
                sqlx::query_scalar(
                    "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                       AND (?1 IS NULL OR name > ?1) ORDER BY name LIMIT ?2",
                )
                .bind(after)
                .bind(limit.map_or(-1, |l| l as i64))
                .fetch_all(pool)
                .await?
            }
            Names::Like(name) => {
                sqlx::query_scalar(
                    "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND lower(name) = lower(?1)",
                )
                .bind(name)
                .fetch_all(pool)
                .await?
            }
        })
    }

    async fn columns(&self, table: &TableName) -> Result<Vec<Column>, SourceError> {
        let rows = sqlx::query("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")
            .bind(&table.table_name)
            .fetch_all(self.pool().await?)
            .await?;
        let mut columns = Vec::with_capacity(rows.len());
        for r in rows {
            let (n, t): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            columns.push(map_column(&Sqlite.quote(&n)?, &n, &t));
        }
        Ok(columns)
    }

    async fn query_columns(&self, query: &str) -> Result<Vec<Column>, SourceError> {
        let statement = sqlx::Executor::prepare(
            self.pool().await?,
            sqlx::SqlSafeStr::into_sql_str(AssertSqlSafe(query.to_owned())),
        )
        .await?;
        let mut columns = Vec::new();
        for c in sqlx::Statement::columns(&statement) {
            let name = sqlx::Column::name(c).to_owned();
            let quoted = format!("q.{}", Sqlite.quote(&name)?);
            let declared = sqlx::TypeInfo::name(sqlx::Column::type_info(c));
            columns.push(map_column(&quoted, &name, declared));
        }
        Ok(columns)
    }

    async fn partitions(
        &self,
        _table: &TableInfo,
        _constraints: &Constraints,
    ) -> Result<Vec<TableSlice>, SourceError> {
        Ok(vec![TableSlice::whole_table()])
    }

    async fn split_partition(
        &self,
        _table: &TableInfo,
        partition: &TableSlice,
        _target_bytes: u64,
    ) -> Result<Vec<TableSlice>, SourceError> {
        // A local file: one split reads it at disk speed.
        Ok(vec![partition.clone()])
    }

    fn statement(&self, read: &TableRead<'_>) -> Result<Query, SourceError> {
        let from = Sqlite.qualified(SCHEMA, &read.table.name.table_name)?;
        read.select(&Sqlite, from, &[])
    }

    async fn execute(
        &self,
        run: Execution<'_>,
        sink: &mut dyn BatchSink,
    ) -> Result<(), SourceError> {
        // The file is opened read-only: a passthrough query cannot change it.
        let Run {
            sql,
            params,
            names,
            mut out,
            ..
        } = run.start(&*sink)?;
        let pool = self.pool().await?;
        let mut q = sqlx::query(AssertSqlSafe(sql.clone()));
        for p in &params {
            q = bind(q, p)?;
        }
        tracing::debug!(sql, params = params.len(), "query");
        let mut rows = q.fetch(pool);
        while let Some(row) = rows.try_next().await? {
            decode_row(&row, &mut out, &names)?;
            if let Some(batch) = out.end_row() {
                sink.push(batch).await?;
            }
        }
        if let Some(batch) = out.rest() {
            sink.push(batch).await?;
        }
        Ok(())
    }
}
