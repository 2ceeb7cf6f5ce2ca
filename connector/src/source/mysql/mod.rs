//! MySQL and MariaDB: catalog queries, native partitions pruned by `EXPLAIN`, integer
//! primary-key range splits, and a streamed (unbuffered) result set.

mod decode;
mod types;

use arrow::datatypes::DataType;
use async_trait::async_trait;
use futures_util::future::BoxFuture;
use futures_util::TryStreamExt;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Column as _, ConnectOptions, Row, TypeInfo};

use crate::config::TlsMode;
use crate::protocol::{Constraints, TableName};
use crate::source::connect::{discard_on_error, RotatingPool, SERVER_IDLE_TIMEOUT};
use crate::source::Run;
use crate::sql::{Dialect, MySql, Query, SelectBuilder};

use super::{
    BatchSink, Column, Connect, Execution, Names, Source, SourceError, TableInfo, TableRead,
    TableSlice,
};
use decode::{bind, decode_row};
pub use types::{map_column, map_result_column, MyColumn};

const SYSTEM_SCHEMAS: &str = "('information_schema', 'mysql', 'performance_schema', 'sys')";

pub struct MySqlSource {
    connect: Connect,
    pool: RotatingPool<sqlx::MySql>,
}

/// A new connection's server-side idle limit, so a frozen Lambda sandbox's pool does not
/// hold connections against `max_connections`.
fn session_setup(conn: &mut sqlx::MySqlConnection) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    let idle = SERVER_IDLE_TIMEOUT.as_secs();
    Box::pin(async move {
        sqlx::query(AssertSqlSafe(format!(
            "SET SESSION wait_timeout = {idle}, SESSION interactive_timeout = {idle}"
        )))
        .execute(conn)
        .await
        .map(drop)
    })
}

/// `sql` (a SELECT) with a statement timeout both servers honour: MariaDB runs the
/// `/*M! … */` prefix (`SET STATEMENT max_statement_time = <s> FOR`), MySQL reads the
/// optimizer hint `MAX_EXECUTION_TIME(<ms>)`; each ignores the other's as a comment.
pub fn with_statement_timeout(sql: &str, timeout: std::time::Duration) -> String {
    let trimmed = sql.trim_start();
    let Some(rest) = trimmed
        .get(..6)
        .filter(|k| k.eq_ignore_ascii_case("SELECT"))
        .map(|_| &trimmed[6..])
    else {
        return sql.to_owned();
    };
    let ms = timeout.as_millis().max(1);
    format!(
        "/*M!100108 SET STATEMENT max_statement_time={}.{:03} FOR */ SELECT /*+ MAX_EXECUTION_TIME({ms}) */{rest}",
        ms / 1000,
        ms % 1000
    )
}

impl MySqlSource {
    pub fn new(connect: Connect) -> MySqlSource {
        MySqlSource {
            connect,
            pool: RotatingPool::with_session_setup(session_setup),
        }
    }

    /// The driver's options for one login.
    fn options(
        &self,
        user: &str,
        password: Option<&crate::config::Password>,
    ) -> MySqlConnectOptions {
        let url = &self.connect.url;
        let mut options = MySqlConnectOptions::new()
            .host(&url.host)
            .port(url.port_or_default())
            .username(user)
            .charset("utf8mb4")
            // TIMESTAMP values as UTC instants; DATETIME keeps its wall clock.
            .timezone(Some(String::from("+00:00")))
            .ssl_mode(match url.tls {
                TlsMode::Disable => MySqlSslMode::Disabled,
                TlsMode::Prefer => MySqlSslMode::Preferred,
                TlsMode::Require => MySqlSslMode::Required,
                TlsMode::VerifyCa => MySqlSslMode::VerifyCa,
                TlsMode::VerifyFull => MySqlSslMode::VerifyIdentity,
            })
            // RDS takes IAM tokens through the cleartext plugin (TLS is then required).
            .enable_cleartext_plugin(self.connect.iam.is_some())
            .disable_statement_logging();
        if let Some(ca) = &self.connect.driver.ssl_root_cert {
            options = options.ssl_ca(ca);
        }
        if let Some(p) = &password {
            options = options.password(p.expose());
        }
        if let Some(db) = &url.database {
            options = options.database(db);
        }
        options
    }

    async fn conn(&self) -> Result<PoolConnection<sqlx::MySql>, SourceError> {
        self.pool
            .acquire(&self.connect, |user, password| self.options(user, password))
            .await
    }

    async fn primary_key_range(
        &self,
        conn: &mut PoolConnection<sqlx::MySql>,
        table: &TableInfo,
    ) -> Result<Option<String>, SourceError> {
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(k.column_name AS CHAR) FROM information_schema.key_column_usage k \
             WHERE k.table_schema = ? AND k.table_name = ? AND k.constraint_name = 'PRIMARY' ORDER BY k.ordinal_position",
        )
        .bind(&table.name.schema_name)
        .bind(&table.name.table_name)
        .fetch_all(&mut **conn)
        .await?;
        // The key's first column (alone, or leading a composite key): ranges of it are
        // ranges of the clustered index.
        Ok(match keys.first() {
            Some(first)
                if matches!(
                    table.columns.get(first).map(|c| &c.data_type),
                    Some(DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64)
                ) =>
            {
                Some(first.clone())
            }
            _ => None,
        })
    }
}

#[async_trait]
impl Source for MySqlSource {
    async fn schemas(&self, like: Option<&str>) -> Result<Vec<String>, SourceError> {
        let mut conn = self.conn().await?;
        Ok(match like {
            None => {
                sqlx::query_scalar(AssertSqlSafe(format!(
                    "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata \
                     WHERE schema_name NOT IN {SYSTEM_SCHEMAS} ORDER BY CAST(schema_name AS BINARY)"
                )))
                .fetch_all(&mut *conn)
                .await?
            }
            Some(name) => {
                sqlx::query_scalar(
                    "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata WHERE lower(schema_name) = lower(?)",
                )
                .bind(name)
                .fetch_all(&mut *conn)
                .await?
            }
        })
    }

    async fn tables(&self, schema: &str, names: Names<'_>) -> Result<Vec<String>, SourceError> {
        let mut conn = self.conn().await?;
        Ok(match names {
            Names::Page { after, limit } => {
                sqlx::query_scalar(
                    "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = ? \
                       AND (? IS NULL OR CAST(table_name AS BINARY) > CAST(? AS BINARY)) \
                     ORDER BY CAST(table_name AS BINARY) LIMIT ?",
                )
                .bind(schema)
                .bind(after)
                .bind(after)
                .bind(limit.map_or(i64::MAX, |l| l as i64))
                .fetch_all(&mut *conn)
                .await?
            }
            Names::Like(name) => {
                sqlx::query_scalar(
                    "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = ? AND lower(table_name) = lower(?)",
                )
                .bind(schema)
                .bind(name)
                .fetch_all(&mut *conn)
                .await?
            }
        })
    }

    async fn columns(&self, table: &TableName) -> Result<Vec<Column>, SourceError> {
        let mut conn = self.conn().await?;
        let rows = sqlx::query(
            "SELECT CAST(column_name AS CHAR), CAST(lower(data_type) AS CHAR), CAST(lower(column_type) AS CHAR), \
                    CAST(numeric_precision AS SIGNED), CAST(numeric_scale AS SIGNED) \
             FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        )
        .bind(&table.schema_name)
        .bind(&table.table_name)
        .fetch_all(&mut *conn)
        .await?;
        let mut columns = Vec::with_capacity(rows.len());
        for r in rows {
            let c = MyColumn {
                name: r.try_get(0)?,
                data_type: r.try_get(1)?,
                column_type: r.try_get(2)?,
                precision: r.try_get(3)?,
                scale: r.try_get(4)?,
            };
            columns.push(map_column(&MySql.quote(&c.name)?, &c));
        }
        Ok(columns)
    }

    async fn query_columns(&self, query: &str) -> Result<Vec<Column>, SourceError> {
        let mut conn = self.conn().await?;
        let statement = sqlx::Executor::prepare(
            &mut *conn,
            sqlx::SqlSafeStr::into_sql_str(AssertSqlSafe(query.to_owned())),
        )
        .await?;
        let mut columns = Vec::new();
        for c in sqlx::Statement::columns(&statement) {
            let name = c.name().to_owned();
            let quoted = format!("q.{}", MySql.quote(&name)?);
            let (select, data_type) = map_result_column(quoted, c.type_info().name());
            columns.push(Column::new(name, select, data_type));
        }
        Ok(columns)
    }

    async fn partitions(
        &self,
        table: &TableInfo,
        constraints: &Constraints,
    ) -> Result<Vec<TableSlice>, SourceError> {
        let mut conn = self.conn().await?;
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(COALESCE(subpartition_name, partition_name) AS CHAR) FROM information_schema.partitions \
             WHERE table_schema = ? AND table_name = ? AND partition_name IS NOT NULL \
             ORDER BY partition_ordinal_position, subpartition_ordinal_position",
        )
        .bind(&table.name.schema_name)
        .bind(&table.name.table_name)
        .fetch_all(&mut *conn)
        .await?;
        let part = |p: &str| TableSlice::partition(p);
        if names.is_empty() {
            return Ok(vec![part("*")]);
        }
        if constraints.summary.is_empty() && constraints.expression.is_empty() {
            return Ok(names.iter().map(|n| part(n)).collect());
        }
        // The server's own pruning: EXPLAIN lists the partitions it would read.
        let pruning = Constraints {
            summary: constraints.summary.clone(),
            expression: constraints.expression.clone(),
            ..Default::default()
        };
        let query = SelectBuilder {
            dialect: &MySql,
            from: MySql.qualified(&table.name.schema_name, &table.name.table_name)?,
            columns: &table.columns,
        }
        .build(&[], &pruning, &[])?;
        let mut used: Option<Vec<String>> = None;
        for prefix in ["EXPLAIN PARTITIONS ", "EXPLAIN "] {
            let mut q = sqlx::query(AssertSqlSafe(format!("{prefix}{}", query.sql)));
            for p in &query.params {
                q = bind(q, p)?;
            }
            if let Ok(rows) = q.fetch_all(&mut *conn).await {
                let mut found = Vec::new();
                let mut impossible = false;
                for r in &rows {
                    let partitions: Option<String> = r
                        .try_get_unchecked::<Option<String>, _>("partitions")
                        .ok()
                        .flatten();
                    let extra: Option<String> = r
                        .try_get_unchecked::<Option<String>, _>("Extra")
                        .ok()
                        .flatten();
                    if extra
                        .as_deref()
                        .is_some_and(|e| e.contains("Impossible") || e.contains("no matching row"))
                    {
                        impossible = true;
                    }
                    found.extend(
                        partitions
                            .iter()
                            .flat_map(|p| p.split(',').map(|s| s.trim().to_owned())),
                    );
                }
                used = Some(if impossible { vec![] } else { found });
                if rows
                    .first()
                    .is_some_and(|r| r.try_column("partitions").is_ok())
                {
                    break;
                }
                used = None;
            }
        }
        Ok(match used {
            Some(used) => names
                .iter()
                .filter(|n| used.contains(n))
                .map(|n| part(n))
                .collect(),
            None => names.iter().map(|n| part(n)).collect(),
        })
    }

    async fn split_partition(
        &self,
        table: &TableInfo,
        partition: &TableSlice,
        target_bytes: u64,
    ) -> Result<Vec<TableSlice>, SourceError> {
        let mut conn = self.conn().await?;
        let p = partition.partition.as_str();
        let bytes: Option<i64> = if p == "*" {
            sqlx::query_scalar("SELECT CAST(data_length AS SIGNED) FROM information_schema.tables WHERE table_schema = ? AND table_name = ? AND table_type = 'BASE TABLE'")
                .bind(&table.name.schema_name)
                .bind(&table.name.table_name)
                .fetch_optional(&mut *conn)
                .await?
        } else {
            sqlx::query_scalar("SELECT CAST(data_length AS SIGNED) FROM information_schema.partitions WHERE table_schema = ? AND table_name = ? AND COALESCE(subpartition_name, partition_name) = ?")
                .bind(&table.name.schema_name)
                .bind(&table.name.table_name)
                .bind(p)
                .fetch_optional(&mut *conn)
                .await?
        };
        let Some(bytes) = bytes.filter(|b| *b as u64 > target_bytes) else {
            return Ok(vec![partition.clone()]);
        };
        let Some(key) = self.primary_key_range(&mut conn, table).await? else {
            return Ok(vec![partition.clone()]);
        };
        let from = source_from(table, p)?;
        let k = MySql.quote(&key)?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT CAST(MIN({k}) AS SIGNED), CAST(MAX({k}) AS SIGNED) FROM {from}"
        )))
        .fetch_one(&mut *conn)
        .await?;
        let (Some(lo), Some(hi)): (Option<i64>, Option<i64>) = (row.try_get(0)?, row.try_get(1)?)
        else {
            return Ok(vec![partition.clone()]);
        };
        Ok(partition.cut(lo, hi, (bytes as u64).div_ceil(target_bytes), Some(&key)))
    }

    fn statement(&self, read: &TableRead<'_>) -> Result<Query, SourceError> {
        let table = read.table;
        let from = source_from(table, &read.split.partition)?;
        read.select_keyed(&MySql, from, vec![])
    }

    /// Streams the statement under a statement timeout ([`with_statement_timeout`]). A
    /// passthrough read runs in a read-only transaction (one statement: it is a prepared
    /// statement) and its connection is closed afterwards, so session state the user's
    /// query set (variables, `GET_LOCK`) never reaches the next read.
    async fn execute(
        &self,
        run: Execution<'_>,
        sink: &mut dyn BatchSink,
    ) -> Result<(), SourceError> {
        let Run {
            sql,
            params,
            passthrough,
            names,
            mut out,
        } = run.start(&*sink)?;
        let mut conn = self.conn().await?;
        if passthrough {
            conn.close_on_drop();
        }
        let sql = with_statement_timeout(&sql, self.connect.statement_timeout());
        let sql = sql.as_str();
        let result: Result<(), SourceError> = async {
            if passthrough {
                sqlx::query("START TRANSACTION READ ONLY")
                    .execute(&mut *conn)
                    .await?;
            }
            tracing::debug!(sql, params = params.len(), "query");
            {
                let mut q = sqlx::query(AssertSqlSafe(sql.to_owned()));
                for p in &params {
                    q = bind(q, p)?;
                }
                let mut rows = q.fetch(&mut *conn);
                while let Some(row) = rows.try_next().await? {
                    decode_row(&row, &mut out, &names, self.connect.driver.zero_dates)?;
                    if let Some(batch) = out.end_row() {
                        sink.push(batch).await?;
                    }
                }
            }
            if let Some(batch) = out.rest() {
                sink.push(batch).await?;
            }
            if passthrough {
                sqlx::query("COMMIT").execute(&mut *conn).await?;
            }
            Ok(())
        }
        .await;
        discard_on_error(&mut conn, result)
    }
}

fn source_from(table: &TableInfo, partition: &str) -> Result<String, SourceError> {
    let t = MySql.qualified(&table.name.schema_name, &table.name.table_name)?;
    Ok(if partition == "*" {
        t
    } else {
        format!("{t} PARTITION ({})", MySql.quote(partition)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_carry_a_timeout_both_servers_read() {
        assert_eq!(
            with_statement_timeout("SELECT `a` FROM `t`", std::time::Duration::from_millis(2500)),
            "/*M!100108 SET STATEMENT max_statement_time=2.500 FOR */ SELECT /*+ MAX_EXECUTION_TIME(2500) */ `a` FROM `t`"
        );
        assert_eq!(
            with_statement_timeout("  select 1", std::time::Duration::ZERO),
            "/*M!100108 SET STATEMENT max_statement_time=0.001 FOR */ SELECT /*+ MAX_EXECUTION_TIME(1) */ 1"
        );
        assert_eq!(
            with_statement_timeout("SHOW TABLES", std::time::Duration::from_secs(1)),
            "SHOW TABLES"
        );
    }
}
