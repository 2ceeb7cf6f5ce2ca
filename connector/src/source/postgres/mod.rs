//! PostgreSQL: catalog queries, partitions pruned by the planner, `ctid` page-range
//! splits, and reads through binary COPY.

mod copy;
mod types;

use arrow::array::RecordBatch;
use async_trait::async_trait;
use futures_util::future::BoxFuture;
use futures_util::TryStreamExt;
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{AssertSqlSafe, ConnectOptions, Row};

use crate::config::TlsMode;
use crate::deadline;
use crate::protocol::{format_decimal, Constraints, Scalar, TableName};
use crate::source::builder::BatchBuilder;
use crate::source::connect::{discard_on_error, RotatingPool, SERVER_IDLE_TIMEOUT};
use crate::sql::select::RangePredicate;
use crate::sql::timestamp::utc_wall_clock;
use crate::sql::{Dialect, Postgres, PostgresCopy, Query, SelectBuilder};

pub use copy::numeric_to_i128;
use copy::CopyDecoder;
pub use types::{map_column, Decode, PgColumn};

use super::{
    distinct_columns, BatchSink, Column, Connect, DatabaseError, Execution, Names, Source,
    SourceError, Statement, TableInfo, TableRead, TableSlice,
};

const PAGE_BYTES: u64 = 8192;

pub struct PostgresSource {
    connect: Connect,
    pool: RotatingPool<sqlx::Postgres>,
    default_scale: i8,
}

impl PostgresSource {
    pub fn new(connect: Connect, default_scale: i8) -> PostgresSource {
        PostgresSource {
            connect,
            pool: RotatingPool::with_session_setup(session_setup),
            default_scale,
        }
    }

    /// The driver's options for one login.
    fn options(&self, user: &str, password: Option<&crate::config::Password>) -> PgConnectOptions {
        let url = &self.connect.url;
        let mut options = PgConnectOptions::new_without_pgpass()
            .host(&url.host)
            .port(url.port_or_default())
            .username(user)
            .ssl_mode(match url.tls {
                TlsMode::Disable => PgSslMode::Disable,
                TlsMode::Prefer => PgSslMode::Prefer,
                TlsMode::Require => PgSslMode::Require,
                TlsMode::VerifyCa => PgSslMode::VerifyCa,
                TlsMode::VerifyFull => PgSslMode::VerifyFull,
            })
            .application_name(
                self.connect
                    .driver
                    .application_name
                    .as_deref()
                    .unwrap_or("athena-federation"),
            )
            .disable_statement_logging();
        // Naive timestamps are read as UTC wall clock, zoned ones as UTC instants.
        let mut settings = vec![("TimeZone", "UTC")];
        let driver = &self.connect.driver;
        if let Some(schema) = &driver.current_schema {
            settings.push(("search_path", schema));
        }
        options = options.options(settings);
        if let Some(cert) = &driver.ssl_root_cert {
            options = options.ssl_root_cert(cert);
        }
        if let Some(cert) = &driver.ssl_cert {
            options = options.ssl_client_cert(cert);
        }
        if let Some(key) = &driver.ssl_key {
            options = options.ssl_client_key(key);
        }
        if let Some(p) = &password {
            options = options.password(p.expose());
        }
        if let Some(db) = &url.database {
            options = options.database(db);
        }
        options
    }

    async fn conn(&self) -> Result<PoolConnection<sqlx::Postgres>, SourceError> {
        self.pool
            .acquire(&self.connect, |user, password| self.options(user, password))
            .await
    }

    /// A relation's columns, read on `conn` (a passthrough query's temporary view is
    /// visible only there).
    async fn columns_on(
        &self,
        conn: &mut PoolConnection<sqlx::Postgres>,
        schema: &str,
        table: &str,
    ) -> Result<Vec<Column>, SourceError> {
        let rows = sqlx::query(
            "SELECT a.attname::text, bt.typname::text, bt.typtype::text, et.typname::text, \
                    CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END \
             FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_type t ON t.oid = a.atttypid \
             JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
             LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A' \
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
        )
        .bind(schema)
        .bind(table)
        .fetch_all(&mut **conn)
        .await?;
        let mut columns = Vec::with_capacity(rows.len());
        for r in rows {
            let c = PgColumn {
                name: r.try_get(0)?,
                type_name: r.try_get(1)?,
                type_type: r.try_get(2)?,
                element: r.try_get(3)?,
                typmod: r.try_get(4)?,
            };
            let (column, _) = map_column(&Postgres.quote(&c.name)?, &c, self.default_scale);
            columns.push(column);
        }
        Ok(columns)
    }

    /// Runs a binary COPY statement, with its parameters bound through `set_config` in a read-only
    /// transaction, decoded into batches of `schema` from `columns`.
    ///
    /// Every read carries a statement timeout ([`deadline::statement_timeout`]), so the server
    /// cancels it before the Lambda's deadline. A passthrough read (`passthrough`: the
    /// SELECT inside the COPY) is first prepared through the extended protocol, which refuses
    /// a second statement (COPY goes through the simple protocol, which would run it), and
    /// its connection is closed afterwards: whatever session state the user's query set
    /// (`set_config`, advisory locks) never reaches the next read.
    async fn copy(&self, run: Execution<'_>, sink: &mut dyn BatchSink) -> Result<(), SourceError> {
        let names = run.names();
        let (sql, params, passthrough) = match run.statement {
            Statement::Table(q) => (q.sql, q.params, None),
            Statement::Passthrough(select) => (copy_of(&select), vec![], Some(select)),
        };
        let mut decoders = Vec::with_capacity(run.columns.len());
        for c in run.columns {
            decoders.push(Decode::for_column(c).ok_or_else(|| {
                SourceError::Unsupported(format!("column \"{}\" has type {}", c.name, c.data_type))
            })?);
        }
        let mut decoder = CopyDecoder::new(decoders, names);
        let mut out = BatchBuilder::new(run.schema)
            .map_err(SourceError::Unsupported)?
            .sized_for(sink.batch_bytes());
        let mut conn = self.conn().await?;
        if passthrough.is_some() {
            conn.close_on_drop();
        }
        let result: Result<(), SourceError> = async {
            sqlx::query("BEGIN READ ONLY").execute(&mut *conn).await?;
            if let Some(select) = &passthrough {
                sqlx::Executor::prepare(
                    &mut *conn,
                    sqlx::SqlSafeStr::into_sql_str(AssertSqlSafe(select.to_owned())),
                )
                .await?;
            }
            let settings = std::iter::once("set_config('statement_timeout', $1, true)".to_owned())
                .chain(
                    (1..=params.len())
                        .map(|i| format!("set_config('athena.p{i}', ${}, true)", i + 1)),
                )
                .collect::<Vec<_>>()
                .join(", ");
            let mut q = sqlx::query(AssertSqlSafe(format!("SELECT {settings}")))
                .bind(self.connect.statement_timeout().as_millis().to_string());
            for p in &params {
                q = q.bind(setting_text(p)?);
            }
            q.execute(&mut *conn).await?;
            let statement = sql.as_str();
            tracing::debug!(sql = %statement, params = params.len(), "copy");
            {
                let mut stream = conn.copy_out_raw(statement).await?;
                let mut ready: Vec<RecordBatch> = Vec::new();
                while let Some(chunk) = stream.try_next().await? {
                    decoder
                        .feed(&chunk, &mut out, &mut |b| {
                            ready.push(b.finish());
                            Ok(())
                        })
                        .map_err(|why| SourceError::Value {
                            column: "<copy>".into(),
                            why,
                        })?;
                    for batch in ready.drain(..) {
                        sink.push(batch).await?;
                    }
                }
                if !decoder.finished {
                    return Err(SourceError::Database(DatabaseError::new(
                        "the COPY stream ended before its trailer (connection lost?)",
                    )));
                }
            }
            if let Some(batch) = out.rest() {
                sink.push(batch).await?;
            }
            sqlx::query("COMMIT").execute(&mut *conn).await?;
            Ok(())
        }
        .await;
        discard_on_error(&mut conn, result)
    }

    /// Columns of a passthrough query, from a temporary view in a rolled-back transaction
    /// (so numeric precision and array types are known exactly).
    async fn describe_query(&self, query: &str) -> Result<Vec<Column>, SourceError> {
        let mut conn = self.conn().await?;
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        let result = async {
            sqlx::query(AssertSqlSafe(format!(
                "CREATE TEMPORARY VIEW athena_passthrough AS {query}"
            )))
            .execute(&mut *conn)
            .await?;
            let schema: String = sqlx::query_scalar(
                "SELECT nspname::text FROM pg_namespace WHERE oid = pg_my_temp_schema()",
            )
            .fetch_one(&mut *conn)
            .await?;
            self.columns_on(&mut conn, &schema, "athena_passthrough")
                .await
        }
        .await;
        sqlx::query("ROLLBACK").execute(&mut *conn).await?;
        result
    }
}

/// A new connection's server-side limits: idle sessions closed by the server (PostgreSQL 14
/// and later), so a frozen Lambda sandbox's pool does not hold connections, and a default
/// statement timeout for the metadata queries (reads set their own).
fn session_setup(conn: &mut sqlx::PgConnection) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    let idle = SERVER_IDLE_TIMEOUT.as_millis().to_string();
    let statement = deadline::DEFAULT_STATEMENT_TIMEOUT.as_millis().to_string();
    Box::pin(async move {
        sqlx::query(
            "SELECT set_config('idle_in_transaction_session_timeout', $1, false), \
                    set_config('statement_timeout', $2, false), \
                    CASE WHEN current_setting('server_version_num')::int >= 140000 \
                         THEN set_config('idle_session_timeout', $1, false) END",
        )
        .bind(idle)
        .bind(statement)
        .execute(conn)
        .await
        .map(drop)
    })
}

/// A value as `set_config` text, read back with a cast to its type.
fn setting_text(v: &Scalar) -> Result<String, SourceError> {
    Ok(match v {
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int8(x) => x.to_string(),
        Scalar::Int16(x) => x.to_string(),
        Scalar::Int32(x) => x.to_string(),
        Scalar::Int64(x) => x.to_string(),
        Scalar::UInt8(x) => x.to_string(),
        Scalar::UInt16(x) => x.to_string(),
        Scalar::UInt32(x) => x.to_string(),
        Scalar::UInt64(x) => x.to_string(),
        Scalar::Float32(x) => float_text(f64::from(*x)),
        Scalar::Float64(x) => float_text(*x),
        Scalar::Decimal { value, scale, .. } => format_decimal(*value, *scale),
        Scalar::Utf8(s) => s.clone(),
        Scalar::Binary(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
        Scalar::Date32(d) => pg_datetime(
            v,
            arrow::temporal_conversions::date32_to_datetime(*d),
            "-%m-%d",
        )?,
        // Read back as `timestamp`: the wall clock, compared with a `timestamptz` column in
        // the session's zone, UTC.
        Scalar::Date64(_) => pg_datetime(v, utc_wall_clock(v), "-%m-%d %H:%M:%S%.3f")?,
        // Read back as `timestamptz`: the instant (floored to PostgreSQL's microseconds).
        Scalar::Timestamp { .. } => pg_datetime(v, utc_wall_clock(v), "-%m-%d %H:%M:%S%.6f+00")?,
    })
}

/// A date or timestamp in PostgreSQL's input form: years before 1 as `BC` (chrono writes
/// them signed, which PostgreSQL does not read). PostgreSQL itself refuses what lies beyond
/// its own range (4713 BC to 294276 AD for timestamps).
fn pg_datetime(
    v: &Scalar,
    t: Option<chrono::NaiveDateTime>,
    rest: &str,
) -> Result<String, SourceError> {
    use chrono::Datelike;
    let t = t.ok_or_else(|| SourceError::Unsupported(format!("{v} is out of range")))?;
    let (year, era) = match t.year() {
        y if y < 1 => (1 - y, " BC"),
        y => (y, ""),
    };
    Ok(format!("{year:04}{}{era}", t.format(rest)))
}

fn float_text(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        // Rust's shortest round-trip representation.
        format!("{x:?}")
    }
}

/// Relations named in an EXPLAIN (FORMAT JSON, VERBOSE) plan (VERBOSE adds their schema).
fn plan_relations(v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            if let (Some(Value::String(s)), Some(Value::String(r))) =
                (m.get("Schema"), m.get("Relation Name"))
            {
                out.push((s.clone(), r.clone()));
            }
            m.values().for_each(|x| plan_relations(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| plan_relations(x, out)),
        _ => {}
    }
}

/// `COPY (<select>) TO STDOUT (FORMAT binary)`: rows in the binary form decoded here.
fn copy_of(select: &str) -> String {
    format!("COPY ({select}) TO STDOUT (FORMAT binary)")
}

/// A table read whole, named as the official connector names it.
fn whole_table() -> TableSlice {
    TableSlice::in_schema("*", "*")
}

#[async_trait]
impl Source for PostgresSource {
    async fn schemas(&self, like: Option<&str>) -> Result<Vec<String>, SourceError> {
        let mut conn = self.conn().await?;
        Ok(match like {
            None => {
                sqlx::query_scalar(
                    "SELECT nspname::text FROM pg_namespace \
                     WHERE nspname NOT IN ('information_schema', 'pg_catalog', 'pg_toast') \
                       AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%' \
                       AND has_schema_privilege(oid, 'USAGE') \
                     ORDER BY nspname COLLATE \"C\"",
                )
                .fetch_all(&mut *conn)
                .await?
            }
            Some(name) => {
                sqlx::query_scalar(
                    "SELECT nspname::text FROM pg_namespace WHERE lower(nspname) = lower($1)",
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
                    "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition \
                       AND ($2::text IS NULL OR c.relname COLLATE \"C\" > $2::text COLLATE \"C\") \
                     ORDER BY c.relname COLLATE \"C\" LIMIT $3",
                )
                .bind(schema)
                .bind(after)
                .bind(limit.map(|l| l as i64))
                .fetch_all(&mut *conn)
                .await?
            }
            Names::Like(name) => {
                sqlx::query_scalar(
                    "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 AND lower(c.relname) = lower($2) AND c.relkind IN ('r', 'v', 'm', 'p', 'f')",
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
        self.columns_on(&mut conn, &table.schema_name, &table.table_name)
            .await
    }

    async fn query_columns(&self, query: &str) -> Result<Vec<Column>, SourceError> {
        let columns = distinct_columns(self.describe_query(query).await?)?;
        // The view's columns are read from the query's alias, not the view.
        Ok(columns
            .into_values()
            .map(|c| {
                let quoted = Postgres.quote(&c.name).unwrap_or_default();
                let aliased = format!("q.{quoted}");
                Column {
                    select: c.select.replace(&quoted, &aliased),
                    output: c.output.as_ref().map(|o| o.replace(&quoted, &aliased)),
                    ..c
                }
            })
            .collect())
    }

    async fn partitions(
        &self,
        table: &TableInfo,
        constraints: &Constraints,
    ) -> Result<Vec<TableSlice>, SourceError> {
        let mut conn = self.conn().await?;
        let (schema, name) = (&table.name.schema_name, &table.name.table_name);
        // Leaf partitions (declarative, any depth) and inheritance children.
        let rows = sqlx::query(
            "WITH RECURSIVE tree AS ( \
                SELECT i.inhrelid AS oid FROM pg_inherits i \
                WHERE i.inhparent = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2) \
                UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid) \
             SELECT n.nspname::text, c.relname::text, c.relkind::text FROM tree t JOIN pg_class c ON c.oid = t.oid \
             JOIN pg_namespace n ON n.oid = c.relnamespace ORDER BY 1, 2",
        )
        .bind(schema)
        .bind(name)
        .fetch_all(&mut *conn)
        .await?;
        let parent_kind: String = sqlx::query_scalar(
            "SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
        )
        .bind(schema)
        .bind(name)
        .fetch_one(&mut *conn)
        .await?;
        let mut parts: Vec<TableSlice> = Vec::new();
        for r in rows {
            let kind: String = r.try_get(2)?;
            if kind != "p" {
                parts.push(TableSlice::in_schema(
                    r.try_get::<String, _>(0)?,
                    r.try_get::<String, _>(1)?,
                ));
            }
        }
        if parts.is_empty() {
            return Ok(if parent_kind == "p" {
                vec![]
            } else {
                vec![whole_table()]
            });
        }
        if parent_kind != "p" {
            // An inheritance parent holds rows of its own too.
            parts.insert(
                0,
                TableSlice {
                    only: true,
                    ..TableSlice::in_schema(schema.clone(), name.clone())
                },
            );
        }
        if constraints.summary.is_empty() && constraints.expression.is_empty() {
            return Ok(parts);
        }
        // Let the planner prune: only partitions it would scan can hold matching rows.
        let pruning = Constraints {
            summary: constraints.summary.clone(),
            expression: constraints.expression.clone(),
            ..Default::default()
        };
        let query = SelectBuilder {
            dialect: &Postgres,
            from: Postgres.qualified(schema, name)?,
            columns: &table.columns,
        }
        .build(&[], &pruning, &[])?;
        let mut explain = sqlx::query(AssertSqlSafe(format!(
            "EXPLAIN (FORMAT JSON, VERBOSE) {}",
            query.sql
        )));
        for p in &query.params {
            explain = explain.bind(setting_text(p)?);
        }
        // Parameters are typed by the casts in the placeholders; text is accepted by each.
        // Any failure here only costs pruning: every partition is kept.
        let plan: Result<Value, String> = match explain.fetch_one(&mut *conn).await {
            Ok(row) => row
                .try_get_raw(0)
                .map_err(|e| e.to_string())
                .and_then(|raw| {
                    raw.as_bytes()
                        .map_err(|e| e.to_string())
                        .map(<[u8]>::to_vec)
                })
                .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string())),
            Err(e) => Err(e.to_string()),
        };
        let plan = match plan {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "partition pruning skipped");
                return Ok(parts);
            }
        };
        let mut scanned = Vec::new();
        plan_relations(&plan, &mut scanned);
        parts.retain(|p| {
            scanned.iter().any(|(s, r)| {
                (p.schema.as_ref() == Some(s) && r == &p.partition)
                    || (p.only && s == schema && r == name)
            })
        });
        Ok(parts)
    }

    async fn split_partition(
        &self,
        table: &TableInfo,
        partition: &TableSlice,
        target_bytes: u64,
    ) -> Result<Vec<TableSlice>, SourceError> {
        let (schema, name) = match partition.is_whole_table() {
            true => (
                table.name.schema_name.clone(),
                table.name.table_name.clone(),
            ),
            false => (
                partition.schema.clone().unwrap_or_default(),
                partition.partition.clone(),
            ),
        };
        let mut conn = self.conn().await?;
        let row = sqlx::query(
            "SELECT c.relkind::text, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2",
        )
        .bind(&schema)
        .bind(&name)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else {
            return Ok(vec![partition.clone()]);
        };
        let kind: String = row.try_get(0)?;
        let bytes: i64 = row.try_get(1)?;
        let pages = (bytes.max(0) as u64).div_ceil(PAGE_BYTES);
        // Views and foreign tables have no pages to range over.
        if !(kind == "r" || kind == "m") || (bytes as u64) <= target_bytes || pages < 2 {
            return Ok(vec![partition.clone()]);
        }
        let n = (bytes as u64).div_ceil(target_bytes).min(pages);
        // Ranges of pages; the last is open, so pages added since this count are read too.
        Ok(partition.cut(0, pages as i64 - 1, n, None))
    }

    fn statement(&self, read: &TableRead<'_>) -> Result<Query, SourceError> {
        let d = &PostgresCopy;
        let (table, split) = (read.table, &read.split);
        let from = match split.is_whole_table() {
            true => d.qualified(&table.name.schema_name, &table.name.table_name)?,
            false => {
                let q = d.qualified(
                    split.schema.as_deref().unwrap_or_default(),
                    &split.partition,
                )?;
                if split.only {
                    format!("ONLY {q}")
                } else {
                    q
                }
            }
        };
        let page = |bound: Option<i64>, key: &str| -> Result<Option<Scalar>, SourceError> {
            bound
                .map(|n| {
                    u32::try_from(n)
                        .map(|n| Scalar::Utf8(format!("({n},0)")))
                        .map_err(|_| {
                            SourceError::Unsupported(format!(
                                "split property {key} is not a page number: {n}"
                            ))
                        })
                })
                .transpose()
        };
        let ranges = match &split.range {
            None => vec![],
            Some(r) => vec![RangePredicate {
                expr: "ctid".into(),
                from: page(r.from, "range_from")?,
                to: page(r.to, "range_to")?,
                cast: Some("tid"),
            }],
        };
        let query = read.select(d, from, &ranges)?;
        Ok(Query {
            sql: copy_of(&query.sql),
            params: query.params,
        })
    }

    async fn execute(
        &self,
        run: Execution<'_>,
        sink: &mut dyn BatchSink,
    ) -> Result<(), SourceError> {
        self.copy(run, sink).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_exact_text() {
        let text = |v: Scalar| setting_text(&v).unwrap();
        assert_eq!(text(Scalar::Float64(0.1)), "0.1");
        assert_eq!(text(Scalar::Float64(f64::NEG_INFINITY)), "-Infinity");
        assert_eq!(
            text(Scalar::Decimal {
                value: -5,
                precision: 3,
                scale: 2
            }),
            "-0.05"
        );
        assert_eq!(text(Scalar::Date32(-1)), "1969-12-31");
        assert_eq!(text(Scalar::Date64(-1)), "1969-12-31 23:59:59.999");
        assert_eq!(text(Scalar::Binary(vec![0, 255])), "00ff");
    }

    #[test]
    fn timestamps_are_exact_text_before_1970_and_before_year_1() {
        use arrow::datatypes::TimeUnit;
        let ts = |value, unit| Scalar::Timestamp {
            value,
            unit,
            tz: Some("America/New_York".into()),
        };
        let text = |v: Scalar| setting_text(&v).unwrap();
        // Floored, not truncated toward zero: -1 ns is in the microsecond before the epoch.
        assert_eq!(
            text(ts(-1, TimeUnit::Nanosecond)),
            "1969-12-31 23:59:59.999999+00"
        );
        assert_eq!(
            text(ts(-500_000_001, TimeUnit::Nanosecond)),
            "1969-12-31 23:59:59.499999+00"
        );
        assert_eq!(
            text(ts(-1, TimeUnit::Second)),
            "1969-12-31 23:59:59.000000+00"
        );
        assert_eq!(
            text(ts(-62_198_755_200, TimeUnit::Second)),
            "0002-01-01 00:00:00.000000+00 BC"
        );
        assert_eq!(text(Scalar::Date32(-719_163)), "0001-12-31 BC");
        // Seconds that overflow in microseconds, milliseconds beyond the calendar: errors.
        for v in [
            ts(10_000_000_000_000, TimeUnit::Second),
            ts(i64::MIN, TimeUnit::Second),
            Scalar::Date64(i64::MAX),
        ] {
            let e = setting_text(&v).unwrap_err().to_string();
            assert!(e.contains("out of range"), "{e}");
        }
    }

    #[test]
    fn plan_relations_are_found_at_any_depth() {
        let plan: Value = serde_json::json!([{"Plan": {"Node Type": "Append", "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "m_2024_01", "Schema": "public"},
            {"Node Type": "Seq Scan", "Relation Name": "m_2024_02", "Schema": "public"}]}}]);
        let mut out = Vec::new();
        plan_relations(&plan, &mut out);
        assert_eq!(
            out,
            [
                ("public".into(), "m_2024_01".into()),
                ("public".into(), "m_2024_02".into())
            ]
        );
    }
}
