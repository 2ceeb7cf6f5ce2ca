//! SQL Server: catalog queries on the `sys` views, one split per partition of a partitioned
//! table (`$PARTITION.<function>(<column>) = n`, pruned by the server's own partition
//! function) or integer key ranges of a large table, and rows streamed by tiberius.

pub mod connect;
mod types;
mod values;

use arrow::datatypes::DataType;
use async_trait::async_trait;
use futures_util::TryStreamExt;
use tiberius::{ColumnData, Row};

use crate::protocol::{Constraints, Range as ValueRange, Scalar, TableName, ValueSet};
use crate::source::Run;
use crate::sql::select::RangePredicate;
use crate::sql::{Dialect, Query, SqlServer};

use super::{
    BatchSink, Column, Connect, Execution, Names, Source, SourceError, TableInfo, TableRead,
    TableSlice,
};
use connect::{database_error, login, Lent, Pool};
pub use types::{map_column, parse_type_name, MsColumn};

/// Schemas users do not see: the system's, and those of the fixed database roles
/// (`db_owner` … `db_denydatareader`, ids 16384 and up).
const USER_SCHEMAS: &str =
    "schema_id < 16384 AND name NOT IN ('sys', 'INFORMATION_SCHEMA', 'guest')";
/// Names compared and ordered by code point, as Athena does.
const BINARY: &str = "COLLATE Latin1_General_100_BIN2";

pub struct SqlServerSource {
    connect: Connect,
    pool: Pool,
}

impl SqlServerSource {
    pub fn new(connect: Connect) -> SqlServerSource {
        SqlServerSource {
            connect,
            pool: Pool::default(),
        }
    }

    /// Runs a catalog query and returns its rows.
    async fn rows(&self, sql: &str, params: &[Scalar]) -> Result<Vec<Row>, SourceError> {
        let mut lent = self
            .pool
            .acquire(&self.connect, |u, p| login(&self.connect, u, p))
            .await?;
        let result = async {
            let mut q = tiberius::Query::new(sql.to_owned());
            for p in params {
                values::bind(&mut q, p).map_err(SourceError::Unsupported)?;
            }
            let stream = q.query(&mut lent.conn).await.map_err(database_error)?;
            stream.into_first_result().await.map_err(database_error)
        }
        .await;
        self.settle(lent, &result);
        result
    }

    /// Text cells of a catalog query's first column.
    async fn names(&self, sql: &str, params: &[Scalar]) -> Result<Vec<String>, SourceError> {
        self.rows(sql, params)
            .await?
            .iter()
            .map(|r| text(r, 0))
            .collect()
    }

    /// A connection back to the pool after clean work; closed after a failure, which may
    /// have left a result half read or a transaction open.
    fn settle<T>(&self, lent: Lent, result: &Result<T, SourceError>) {
        if result.is_ok() {
            self.pool.give_back(lent);
        }
    }

    /// The partition function and column of a partitioned table, if it is one.
    async fn partitioning(
        &self,
        table: &TableName,
    ) -> Result<Option<(String, String, Vec<i64>)>, SourceError> {
        let rows = self
            .rows(
                "SELECT pf.name, c.name, p.partition_number \
                 FROM sys.tables t \
                 JOIN sys.indexes i ON i.object_id = t.object_id AND i.index_id IN (0, 1) \
                 JOIN sys.partition_schemes ps ON ps.data_space_id = i.data_space_id \
                 JOIN sys.partition_functions pf ON pf.function_id = ps.function_id \
                 JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id AND ic.partition_ordinal = 1 \
                 JOIN sys.columns c ON c.object_id = t.object_id AND c.column_id = ic.column_id \
                 JOIN sys.partitions p ON p.object_id = t.object_id AND p.index_id = i.index_id \
                 WHERE t.schema_id = SCHEMA_ID(@P1) AND t.name = @P2 \
                 ORDER BY p.partition_number",
                &[
                    Scalar::Utf8(table.schema_name.clone()),
                    Scalar::Utf8(table.table_name.clone()),
                ],
            )
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let (function, column) = (text(first, 0)?, text(first, 1)?);
        let numbers = rows
            .iter()
            .map(|r| integer(r, 2))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((function, column, numbers)))
    }

    /// The partitions of `function` that values in `ranges` fall in, asked of the server
    /// (`$PARTITION.f(v)` computes a value's partition from the function's boundaries).
    async fn partitions_of(
        &self,
        function: &str,
        ranges: &[ValueRange],
        all: &[i64],
    ) -> Result<Option<Vec<i64>>, SourceError> {
        let f = SqlServer.quote(function)?;
        let mut keep = Vec::new();
        for r in ranges {
            let (Ok(lower), Ok(upper)) = (r.lower(), r.upper()) else {
                return Ok(None);
            };
            let from = match lower {
                Some((v, _)) => self.partition_of(&f, v).await?,
                None => i64::MIN,
            };
            let to = match upper {
                Some((v, _)) => self.partition_of(&f, v).await?,
                None => i64::MAX,
            };
            keep.extend(all.iter().filter(|n| (from..=to).contains(n)));
        }
        keep.sort_unstable();
        keep.dedup();
        Ok(Some(keep))
    }

    /// The partition of the (quoted) partition function `f` that `v` falls in.
    async fn partition_of(&self, f: &str, v: Scalar) -> Result<i64, SourceError> {
        let rows = self
            .rows(&format!("SELECT $PARTITION.{f}(@P1)"), &[v])
            .await?;
        match rows.first() {
            Some(r) => integer(r, 0),
            None => Err(SourceError::Database(crate::source::DatabaseError::new(
                "$PARTITION returned no row",
            ))),
        }
    }

    /// The first column of the primary key, when it is an integer: ranges of it are ranges
    /// of the clustered index.
    async fn integer_key(&self, table: &TableInfo) -> Result<Option<String>, SourceError> {
        let keys = self
            .names(
                "SELECT c.name FROM sys.indexes i \
                 JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id \
                 JOIN sys.columns c ON c.object_id = i.object_id AND c.column_id = ic.column_id \
                 WHERE i.object_id = OBJECT_ID(@P1) AND i.is_primary_key = 1 AND ic.key_ordinal = 1",
                &[Scalar::Utf8(SqlServer.qualified(
                    &table.name.schema_name,
                    &table.name.table_name,
                )?)],
            )
            .await?;
        Ok(keys.into_iter().next().filter(|k| {
            matches!(
                table.columns.get(k).map(|c| &c.data_type),
                Some(DataType::Int16 | DataType::Int32 | DataType::Int64)
            )
        }))
    }
}

fn text(row: &Row, i: usize) -> Result<String, SourceError> {
    match row.cells().nth(i).map(|(_, v)| v) {
        Some(ColumnData::String(Some(s))) => Ok(s.to_string()),
        other => Err(SourceError::Value {
            column: format!("#{i} of a catalog query"),
            why: format!("expected text, found {other:?}"),
        }),
    }
}

fn integer(row: &Row, i: usize) -> Result<i64, SourceError> {
    match row.cells().nth(i).map(|(_, v)| v) {
        Some(ColumnData::U8(Some(x))) => Ok(i64::from(*x)),
        Some(ColumnData::I16(Some(x))) => Ok(i64::from(*x)),
        Some(ColumnData::I32(Some(x))) => Ok(i64::from(*x)),
        Some(ColumnData::I64(Some(x))) => Ok(*x),
        other => Err(SourceError::Value {
            column: format!("#{i} of a catalog query"),
            why: format!("expected an integer, found {other:?}"),
        }),
    }
}

fn optional_integer(row: &Row, i: usize) -> Result<Option<i64>, SourceError> {
    match row.cells().nth(i).map(|(_, v)| v) {
        Some(ColumnData::I64(None) | ColumnData::I32(None) | ColumnData::I16(None)) => Ok(None),
        _ => integer(row, i).map(Some),
    }
}

/// `passthrough` wrapped so that it changes nothing: T-SQL has no read-only transaction,
/// so it runs in one that is rolled back; anything but a query is refused first.
fn check_passthrough(select: &str) -> Result<(), SourceError> {
    // The generated `SELECT … FROM (<query>) AS q` holds the user's query as a derived
    // table, which T-SQL accepts only for a query expression; a `;` ending it early is
    // refused here rather than sent as a second statement.
    let inner = select
        .split_once(" FROM (")
        .map(|(_, rest)| rest.trim_end_matches(") AS q"))
        .unwrap_or(select);
    let head = inner.trim_start().to_ascii_uppercase();
    if !(head.starts_with("SELECT") || head.starts_with("WITH") || head.starts_with('(')) {
        return Err(SourceError::Unsupported(
            "a SQL Server passthrough query must be one SELECT (or WITH … SELECT) statement".into(),
        ));
    }
    if inner.contains(';') {
        return Err(SourceError::Unsupported(
            "a SQL Server passthrough query must be one statement: it may not contain ';'".into(),
        ));
    }
    Ok(())
}

#[async_trait]
impl Source for SqlServerSource {
    async fn schemas(&self, like: Option<&str>) -> Result<Vec<String>, SourceError> {
        match like {
            None => {
                self.names(
                    &format!(
                        "SELECT name FROM sys.schemas WHERE {USER_SCHEMAS} ORDER BY name {BINARY}"
                    ),
                    &[],
                )
                .await
            }
            Some(name) => {
                self.names(
                    "SELECT name FROM sys.schemas WHERE LOWER(name) = LOWER(@P1)",
                    &[Scalar::Utf8(name.to_owned())],
                )
                .await
            }
        }
    }

    async fn tables(&self, schema: &str, names: Names<'_>) -> Result<Vec<String>, SourceError> {
        let schema = Scalar::Utf8(schema.to_owned());
        match names {
            Names::Page { after, limit } => {
                let mut params = vec![schema];
                let mut sql = String::from(
                    "SELECT name FROM sys.objects WHERE schema_id = SCHEMA_ID(@P1) AND type IN ('U', 'V')",
                );
                if let Some(after) = after {
                    params.push(Scalar::Utf8(after.to_owned()));
                    sql.push_str(&format!(" AND name {BINARY} > @P2"));
                }
                sql.push_str(&format!(" ORDER BY name {BINARY}"));
                if let Some(limit) = limit {
                    sql.push_str(&format!(" OFFSET 0 ROWS FETCH NEXT {limit} ROWS ONLY"));
                }
                self.names(&sql, &params).await
            }
            Names::Like(name) => {
                self.names(
                    "SELECT name FROM sys.objects WHERE schema_id = SCHEMA_ID(@P1) AND type IN ('U', 'V') AND LOWER(name) = LOWER(@P2)",
                    &[schema, Scalar::Utf8(name.to_owned())],
                )
                .await
            }
        }
    }

    async fn columns(&self, table: &TableName) -> Result<Vec<Column>, SourceError> {
        // An alias type (`CREATE TYPE … FROM`) is read as its base type.
        let rows = self
            .rows(
                "SELECT c.name, \
                        CASE WHEN t.is_user_defined = 1 AND t.is_assembly_type = 0 \
                             THEN TYPE_NAME(c.system_type_id) ELSE t.name END, \
                        CAST(c.precision AS INT), CAST(c.scale AS INT) \
                 FROM sys.columns c JOIN sys.types t ON t.user_type_id = c.user_type_id \
                 WHERE c.object_id = OBJECT_ID(@P1) ORDER BY c.column_id",
                &[Scalar::Utf8(
                    SqlServer.qualified(&table.schema_name, &table.table_name)?,
                )],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let c = MsColumn {
                    name: text(r, 0)?,
                    type_name: text(r, 1)?.to_ascii_lowercase(),
                    precision: integer(r, 2)? as u8,
                    scale: integer(r, 3)? as u8,
                };
                Ok(map_column(&SqlServer.quote(&c.name)?, &c))
            })
            .collect()
    }

    async fn query_columns(&self, query: &str) -> Result<Vec<Column>, SourceError> {
        let rows = self
            .rows(
                "SELECT name, system_type_name FROM sys.dm_exec_describe_first_result_set(@P1, NULL, 0) \
                 WHERE is_hidden = 0 ORDER BY column_ordinal",
                &[Scalar::Utf8(query.to_owned())],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let name = text(r, 0)?;
                let (type_name, precision, scale) = parse_type_name(&text(r, 1)?);
                let quoted = format!("q.{}", SqlServer.quote(&name)?);
                Ok(map_column(
                    &quoted,
                    &MsColumn {
                        name,
                        type_name,
                        precision,
                        scale,
                    },
                ))
            })
            .collect()
    }

    async fn partitions(
        &self,
        table: &TableInfo,
        constraints: &Constraints,
    ) -> Result<Vec<TableSlice>, SourceError> {
        let Some((function, column, numbers)) = self.partitioning(&table.name).await? else {
            return Ok(vec![TableSlice::whole_table()]);
        };
        // Prune with the predicate on the partitioning column, if Athena sent one.
        let kept = match constraints
            .summary
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&column))
            .map(|(_, v)| v)
        {
            Some(ValueSet::SortedRange { ranges, .. }) => {
                self.partitions_of(&function, ranges, &numbers).await?
            }
            _ => None,
        };
        let numbers = kept.unwrap_or(numbers);
        Ok(numbers
            .into_iter()
            .map(|n| TableSlice {
                partition_by: Some((function.clone(), column.clone())),
                ..TableSlice::partition(n.to_string())
            })
            .collect())
    }

    async fn split_partition(
        &self,
        table: &TableInfo,
        partition: &TableSlice,
        target_bytes: u64,
    ) -> Result<Vec<TableSlice>, SourceError> {
        if !partition.is_whole_table() {
            return Ok(vec![partition.clone()]);
        }
        let qualified = SqlServer.qualified(&table.name.schema_name, &table.name.table_name)?;
        // Reading the sizes needs VIEW DATABASE STATE; without it a table is one split.
        let bytes = match self
            .rows(
                "SELECT CAST(SUM(used_page_count) * 8192 AS BIGINT) FROM sys.dm_db_partition_stats \
                 WHERE object_id = OBJECT_ID(@P1) AND index_id IN (0, 1)",
                &[Scalar::Utf8(qualified.clone())],
            )
            .await
        {
            Ok(rows) => rows
                .first()
                .map(|r| optional_integer(r, 0))
                .transpose()?
                .flatten(),
            Err(e) => {
                tracing::info!(error = %e, "table size unknown: one split");
                None
            }
        };
        let Some(bytes) = bytes.filter(|b| *b as u64 > target_bytes) else {
            return Ok(vec![partition.clone()]);
        };
        let Some(key) = self.integer_key(table).await? else {
            return Ok(vec![partition.clone()]);
        };
        let k = SqlServer.quote(&key)?;
        let rows = self
            .rows(
                &format!(
                    "SELECT CAST(MIN({k}) AS BIGINT), CAST(MAX({k}) AS BIGINT) FROM {qualified}"
                ),
                &[],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(vec![partition.clone()]);
        };
        let (Some(lo), Some(hi)) = (optional_integer(row, 0)?, optional_integer(row, 1)?) else {
            return Ok(vec![partition.clone()]);
        };
        Ok(partition.cut(lo, hi, (bytes as u64).div_ceil(target_bytes), Some(&key)))
    }

    fn statement(&self, read: &TableRead<'_>) -> Result<Query, SourceError> {
        let table = read.table;
        let from = SqlServer.qualified(&table.name.schema_name, &table.name.table_name)?;
        let mut ranges = Vec::new();
        if let Some((function, column)) = &read.split.partition_by {
            let n: i32 = read.split.partition.parse().map_err(|_| {
                SourceError::Unsupported(format!(
                    "split property partition_name is not a partition number: {}",
                    read.split.partition
                ))
            })?;
            // `$PARTITION.f(c) >= n AND < n + 1`: the partition, as a range the builder binds.
            ranges.push(RangePredicate {
                expr: format!(
                    "$PARTITION.{}({})",
                    SqlServer.quote(function)?,
                    table.resolve_column(column)?.select
                ),
                from: Some(Scalar::Int32(n)),
                to: Some(Scalar::Int32(n.saturating_add(1))),
                cast: None,
            });
        }
        read.select_keyed(&SqlServer, from, ranges)
    }

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
        if passthrough {
            check_passthrough(&sql)?;
        }
        let mut lent = self
            .pool
            .acquire(&self.connect, |u, p| login(&self.connect, u, p))
            .await?;
        let timeout = self.connect.statement_timeout();
        let read = async {
            if passthrough {
                lent.conn
                    .simple_query("SET XACT_ABORT ON; BEGIN TRANSACTION")
                    .await
                    .map_err(database_error)?
                    .into_results()
                    .await
                    .map_err(database_error)?;
            }
            tracing::debug!(sql, params = params.len(), "query");
            {
                let mut q = tiberius::Query::new(sql.clone());
                for p in &params {
                    values::bind(&mut q, p).map_err(SourceError::Unsupported)?;
                }
                let mut rows = q
                    .query(&mut lent.conn)
                    .await
                    .map_err(database_error)?
                    .into_row_stream();
                while let Some(row) = rows.try_next().await.map_err(database_error)? {
                    for (i, (builder, value)) in out.columns.iter_mut().zip(row).enumerate() {
                        values::append(builder, &value).map_err(|why| SourceError::Value {
                            column: names.get(i).cloned().unwrap_or_default(),
                            why,
                        })?;
                    }
                    if let Some(batch) = out.end_row() {
                        sink.push(batch).await?;
                    }
                }
            }
            if let Some(batch) = out.rest() {
                sink.push(batch).await?;
            }
            if passthrough {
                lent.conn
                    .simple_query("ROLLBACK")
                    .await
                    .map_err(database_error)?
                    .into_results()
                    .await
                    .map_err(database_error)?;
            }
            Ok(())
        };
        // T-SQL has no statement timeout: the read stops here, and its connection (with
        // the statement still running on it) is closed.
        let result = match tokio::time::timeout(timeout, read).await {
            Ok(r) => r,
            Err(_) => Err(SourceError::Database(crate::source::DatabaseError::new(
                format!(
                    "the statement ran past its timeout ({} s) and was abandoned",
                    timeout.as_secs()
                ),
            ))),
        };
        // A passthrough query's session state never reaches the next read.
        if passthrough {
            return result;
        }
        self.settle(lent, &result);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passthrough_queries_must_be_one_select() {
        let wrap = |q: &str| format!("SELECT q.[a] FROM ({q}) AS q");
        assert!(check_passthrough(&wrap("SELECT 1 AS a")).is_ok());
        assert!(check_passthrough(&wrap("  with x AS (SELECT 1 AS a) SELECT a FROM x")).is_ok());
        assert_eq!(
            check_passthrough(&wrap("DELETE FROM t"))
                .unwrap_err()
                .to_string(),
            "a SQL Server passthrough query must be one SELECT (or WITH … SELECT) statement"
        );
        assert_eq!(
            check_passthrough(&wrap("SELECT 1 AS a; DROP TABLE t"))
                .unwrap_err()
                .to_string(),
            "a SQL Server passthrough query must be one statement: it may not contain ';'"
        );
    }
}
