//! Oracle: catalog queries on the `ALL_*` views, a split per partition (`PARTITION (p)`)
//! or integer key ranges of a large table, and rows read on a blocking thread (the driver,
//! ODPI-C, is synchronous) and handed over a batch at a time.
//!
//! Oracle Instant Client is loaded when the first Oracle request connects: a Lambda without
//! it starts, serves its other catalogs, and answers Oracle requests with an error saying
//! which library is missing and how to provide it.

pub mod connect;
mod types;
mod values;

use arrow::datatypes::DataType;
use async_trait::async_trait;

use crate::protocol::{Constraints, TableName};
use crate::source::Run;
use crate::sql::{Dialect, Oracle, Query};

use super::{
    BatchSink, Column, Connect, Execution, Names, Source, SourceError, TableInfo, TableRead,
    TableSlice,
};
pub use connect::connect_string;
use connect::{login, oracle_error, Pool};
pub use types::{map_column, OraColumn};
pub use values::{epoch_millis, number};

/// Oracle's block size unless the catalog says otherwise.
const BLOCK_BYTES: i64 = 8192;

pub struct OracleSource {
    connect: Connect,
    pool: Pool,
    default_scale: i8,
}

/// A catalog query's rows, every cell as text.
type TextRows = Vec<Vec<Option<String>>>;

impl OracleSource {
    pub fn new(connect: Connect, default_scale: i8) -> OracleSource {
        OracleSource {
            connect,
            pool: Pool::default(),
            default_scale,
        }
    }

    /// Runs `f` on a pooled connection on a blocking thread (ODPI-C is synchronous), each
    /// round trip bounded by the statement timeout; the connection goes back to the pool
    /// unless `f` failed.
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&oracle::Connection) -> oracle::Result<T> + Send + 'static,
    ) -> Result<T, SourceError> {
        let lent = self
            .pool
            .acquire(&self.connect, |u, p| login(&self.connect, u, p))
            .await?;
        let target = self.connect.target();
        let timeout = self.connect.statement_timeout();
        let (lent, result) = tokio::task::spawn_blocking(move || {
            let result = lent
                .conn
                .set_call_timeout(Some(timeout))
                .and_then(|()| f(&lent.conn));
            (lent, result)
        })
        .await
        .map_err(|e| SourceError::connect(target.clone(), e))?;
        let value = result.map_err(|e| oracle_error(&target, e))?;
        self.pool.give_back(lent);
        Ok(value)
    }

    /// Runs a catalog query, every value bound as text, and returns its rows as text.
    async fn rows(
        &self,
        sql: impl Into<String>,
        params: Vec<String>,
    ) -> Result<TextRows, SourceError> {
        let sql = sql.into();
        self.with_conn(move |conn| {
            let binds: Vec<&dyn oracle::sql_type::ToSql> = params
                .iter()
                .map(|p| p as &dyn oracle::sql_type::ToSql)
                .collect();
            let mut out = Vec::new();
            for row in conn.query(&sql, &binds)? {
                let row = row?;
                let n = row.sql_values().len();
                out.push(
                    (0..n)
                        .map(|i| row.get::<_, Option<String>>(i))
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            Ok(out)
        })
        .await
    }

    async fn names(
        &self,
        sql: impl Into<String>,
        params: Vec<String>,
    ) -> Result<Vec<String>, SourceError> {
        Ok(self
            .rows(sql, params)
            .await?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect())
    }

    /// The first column of the primary key, when it is an integer.
    async fn integer_key(&self, table: &TableInfo) -> Result<Option<String>, SourceError> {
        let keys = self
            .names(
                "SELECT cc.column_name FROM all_constraints c \
                 JOIN all_cons_columns cc ON cc.owner = c.owner AND cc.constraint_name = c.constraint_name \
                 WHERE c.owner = :1 AND c.table_name = :2 AND c.constraint_type = 'P' AND cc.position = 1",
                vec![table.name.schema_name.clone(), table.name.table_name.clone()],
            )
            .await?;
        Ok(keys.into_iter().next().filter(|k| {
            matches!(
                table.columns.get(k).map(|c| &c.data_type),
                Some(DataType::Int16 | DataType::Int32 | DataType::Int64)
            ) || matches!(table.columns.get(k).map(|c| &c.data_type), Some(DataType::Decimal128(p, 0)) if *p <= 18)
        }))
    }
}

/// The partitions of a partitioned table as splits (a table without any: read whole).
pub fn partition_slices(partitions: Vec<String>) -> Vec<TableSlice> {
    if partitions.is_empty() {
        return vec![TableSlice::whole_table()];
    }
    partitions.into_iter().map(TableSlice::partition).collect()
}

#[async_trait]
impl Source for OracleSource {
    async fn schemas(&self, like: Option<&str>) -> Result<Vec<String>, SourceError> {
        match like {
            None => {
                self.names(
                    "SELECT username FROM all_users WHERE oracle_maintained = 'N' ORDER BY username",
                    vec![],
                )
                .await
            }
            Some(name) => {
                self.names(
                    "SELECT username FROM all_users WHERE LOWER(username) = LOWER(:1)",
                    vec![name.to_owned()],
                )
                .await
            }
        }
    }

    async fn tables(&self, schema: &str, names: Names<'_>) -> Result<Vec<String>, SourceError> {
        let all = "SELECT table_name AS name FROM all_tables WHERE owner = :1 AND secondary = 'N' \
                   UNION SELECT view_name FROM all_views WHERE owner = :2";
        let s = schema.to_owned();
        match names {
            Names::Page { after, limit } => {
                let mut sql = format!(
                    "SELECT name FROM ({all}) WHERE (:3 IS NULL OR name > :4) ORDER BY name"
                );
                if let Some(limit) = limit {
                    sql.push_str(&format!(" FETCH FIRST {limit} ROWS ONLY"));
                }
                let after = after.unwrap_or_default().to_owned();
                self.names(sql, vec![s.clone(), s, after.clone(), after])
                    .await
            }
            Names::Like(name) => {
                self.names(
                    format!("SELECT name FROM ({all}) WHERE LOWER(name) = LOWER(:3)"),
                    vec![s.clone(), s, name.to_owned()],
                )
                .await
            }
        }
    }

    async fn columns(&self, table: &TableName) -> Result<Vec<Column>, SourceError> {
        let rows = self
            .rows(
                "SELECT column_name, data_type, data_precision, data_scale FROM all_tab_columns \
                 WHERE owner = :1 AND table_name = :2 ORDER BY column_id",
                vec![table.schema_name.clone(), table.table_name.clone()],
            )
            .await?;
        rows.into_iter()
            .map(|r| {
                let int = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<i64>().ok());
                let c = OraColumn {
                    name: r[0].clone().unwrap_or_default(),
                    data_type: r[1].clone().unwrap_or_default(),
                    precision: int(&r[2]),
                    scale: int(&r[3]),
                };
                Ok(map_column(&Oracle.quote(&c.name)?, &c, self.default_scale))
            })
            .collect()
    }

    async fn query_columns(&self, query: &str) -> Result<Vec<Column>, SourceError> {
        let sql = format!("SELECT * FROM ({query}) WHERE 1 = 0");
        let described = self
            .with_conn(move |conn| {
                Ok(conn
                    .query(&sql, &[])?
                    .column_info()
                    .iter()
                    .map(|c| types::describe(c.name(), c.oracle_type()))
                    .collect::<Vec<_>>())
            })
            .await?;
        described
            .iter()
            .map(|c| {
                let quoted = format!("q.{}", Oracle.quote(&c.name)?);
                Ok(map_column(&quoted, c, self.default_scale))
            })
            .collect()
    }

    async fn partitions(
        &self,
        table: &TableInfo,
        _constraints: &Constraints,
    ) -> Result<Vec<TableSlice>, SourceError> {
        let names = self
            .names(
                "SELECT partition_name FROM all_tab_partitions WHERE table_owner = :1 AND table_name = :2 \
                 ORDER BY partition_position",
                vec![table.name.schema_name.clone(), table.name.table_name.clone()],
            )
            .await?;
        Ok(partition_slices(names))
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
        // The optimizer's statistics (blocks as last gathered): no statistics, one split.
        let blocks = self
            .names(
                "SELECT TO_CHAR(blocks) FROM all_tables WHERE owner = :1 AND table_name = :2",
                vec![
                    table.name.schema_name.clone(),
                    table.name.table_name.clone(),
                ],
            )
            .await?;
        let bytes = blocks
            .first()
            .and_then(|b| b.parse::<i64>().ok())
            .map(|b| b * BLOCK_BYTES);
        let Some(bytes) = bytes.filter(|b| *b as u64 > target_bytes) else {
            return Ok(vec![partition.clone()]);
        };
        let Some(key) = self.integer_key(table).await? else {
            return Ok(vec![partition.clone()]);
        };
        let k = Oracle.quote(&key)?;
        let from = Oracle.qualified(&table.name.schema_name, &table.name.table_name)?;
        let rows = self
            .rows(
                format!("SELECT TO_CHAR(MIN({k})), TO_CHAR(MAX({k})) FROM {from}"),
                vec![],
            )
            .await?;
        let bound = |i: usize| {
            rows.first()
                .and_then(|r| r[i].as_deref())
                .and_then(|v| v.parse::<i64>().ok())
        };
        let (Some(lo), Some(hi)) = (bound(0), bound(1)) else {
            return Ok(vec![partition.clone()]);
        };
        Ok(partition.cut(lo, hi, (bytes as u64).div_ceil(target_bytes), Some(&key)))
    }

    fn statement(&self, read: &TableRead<'_>) -> Result<Query, SourceError> {
        let table = read.table;
        let mut from = Oracle.qualified(&table.name.schema_name, &table.name.table_name)?;
        if !read.split.is_whole_table() {
            from = format!(
                "{from} PARTITION ({})",
                Oracle.quote(&read.split.partition)?
            );
        }
        read.select_keyed(&Oracle, from, vec![])
    }

    /// Reads on a blocking thread, a batch at a time over a channel of one: memory holds
    /// at most the batch being built and the one being sent. A passthrough query runs in
    /// a read-only transaction and its connection is closed afterwards.
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
        let binds = params
            .iter()
            .map(values::bind)
            .collect::<Result<Vec<_>, _>>()
            .map_err(SourceError::Unsupported)?;
        let lent = self
            .pool
            .acquire(&self.connect, |u, p| login(&self.connect, u, p))
            .await?;
        let target = self.connect.target();
        let timeout = self.connect.statement_timeout();
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        tracing::debug!(sql, params = binds.len(), "query");
        let error_target = target.clone();
        let reader = tokio::task::spawn_blocking(move || {
            let result = (|| -> Result<(), SourceError> {
                let conn = &lent.conn;
                let db = |e: oracle::Error| oracle_error(&error_target, e);
                // Each round trip (execute, every fetch) within the request's deadline.
                conn.set_call_timeout(Some(timeout)).map_err(db)?;
                if passthrough {
                    conn.execute("SET TRANSACTION READ ONLY", &[]).map_err(db)?;
                }
                let refs: Vec<&dyn oracle::sql_type::ToSql> = binds
                    .iter()
                    .map(|b| b.as_ref() as &dyn oracle::sql_type::ToSql)
                    .collect();
                let mut stmt = conn
                    .statement(&sql)
                    .fetch_array_size(1024)
                    .build()
                    .map_err(db)?;
                for row in stmt.query(&refs).map_err(db)? {
                    let row = row.map_err(db)?;
                    for (i, builder) in out.columns.iter_mut().enumerate() {
                        values::append(builder, &row, i).map_err(|why| SourceError::Value {
                            column: names.get(i).cloned().unwrap_or_default(),
                            why,
                        })?;
                    }
                    if let Some(batch) = out.end_row() {
                        if tx.blocking_send(batch).is_err() {
                            return Ok(()); // the reader stopped: it reports why
                        }
                    }
                }
                if let Some(batch) = out.rest() {
                    let _ = tx.blocking_send(batch);
                }
                if passthrough {
                    conn.rollback().map_err(db)?;
                }
                Ok(())
            })();
            (lent, result)
        });
        let mut pushed = Ok(());
        while let Some(batch) = rx.recv().await {
            if let Err(e) = sink.push(batch).await {
                pushed = Err(e);
                break;
            }
        }
        drop(rx);
        let (lent, read) = reader.await.map_err(|e| SourceError::connect(target, e))?;
        let result = pushed.and(read);
        if result.is_ok() && !passthrough {
            self.pool.give_back(lent);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_become_splits_and_a_plain_table_one() {
        assert_eq!(partition_slices(vec![]), vec![TableSlice::whole_table()]);
        let s = partition_slices(vec!["P2023".into(), "P2024".into()]);
        assert_eq!(
            s.iter().map(|s| s.partition.as_str()).collect::<Vec<_>>(),
            ["P2023", "P2024"]
        );
    }
}
