//! PostgreSQL: catalog queries, partitions pruned by the planner, `ctid` page-range
//! splits, and reads through binary COPY.

mod copy;
mod types;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use futures_util::future::BoxFuture;
use futures_util::TryStreamExt;
use indexmap::IndexMap;
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{AssertSqlSafe, ConnectOptions, Row};

use crate::config::TlsMode;
use crate::deadline;
use crate::protocol::{format_decimal, Constraints, Scalar, TableName};
use crate::source::builder::BatchBuilder;
use crate::source::connect::{discard_on_error, RotatingPool, SERVER_IDLE_TIMEOUT};
use crate::sql::timestamp::utc_wall_clock;
use crate::sql::{Column, Dialect, Postgres, PostgresCopy, Query, SelectBuilder};

pub use copy::numeric_to_i128;
use copy::CopyDecoder;
pub use types::{map_column, Decode, PgColumn};

use super::{
    passthrough_columns, passthrough_sql, resolve_name, BatchSink, Connect, ReadPlan, Source,
    SourceError, TableInfo, PARTITION_NAME, PARTITION_SCHEMA, RANGE_FROM, RANGE_TO,
};

/// Split property: read the named relation with `FROM ONLY` (an inheritance parent's own rows).
const PARTITION_ONLY: &str = "partition_only";
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

    async fn resolve_schema(
        &self,
        conn: &mut PoolConnection<sqlx::Postgres>,
        schema: &str,
    ) -> Result<String, SourceError> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace WHERE lower(nspname) = lower($1)",
        )
        .bind(schema)
        .fetch_all(&mut **conn)
        .await?;
        resolve_name("schema", None, schema, names, self.connect.casing)
    }

    async fn columns(
        &self,
        conn: &mut PoolConnection<sqlx::Postgres>,
        schema: &str,
        table: &str,
    ) -> Result<IndexMap<String, Column>, SourceError> {
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
        let mut columns = IndexMap::new();
        for r in rows {
            let c = PgColumn {
                name: r.try_get(0)?,
                type_name: r.try_get(1)?,
                type_type: r.try_get(2)?,
                element: r.try_get(3)?,
                typmod: r.try_get(4)?,
            };
            let (column, _) = map_column(&Postgres.quote(&c.name)?, &c, self.default_scale);
            columns.insert(c.name.clone(), column);
        }
        check_distinct_case(&columns)?;
        Ok(columns)
    }

    /// Runs the binary COPY statement `sql`, with `params` bound through `set_config` in a read-only
    /// transaction, decoded into batches of `schema` from `columns`.
    ///
    /// Every read carries a statement timeout ([`deadline::statement_timeout`]), so the server
    /// cancels it before the Lambda's deadline. A passthrough read (`passthrough`: the
    /// SELECT inside the COPY) is first prepared through the extended protocol, which refuses
    /// a second statement (COPY goes through the simple protocol, which would run it), and
    /// its connection is closed afterwards: whatever session state the user's query set
    /// (`set_config`, advisory locks) never reaches the next read.
    async fn copy(
        &self,
        sql: &str,
        params: &[Scalar],
        schema: SchemaRef,
        columns: &[&Column],
        sink: &mut dyn BatchSink,
        passthrough: Option<&str>,
    ) -> Result<(), SourceError> {
        let mut decoders = Vec::with_capacity(columns.len());
        for c in columns {
            decoders.push(Decode::for_column(c).ok_or_else(|| {
                SourceError::Unsupported(format!("column \"{}\" has type {}", c.name, c.data_type))
            })?);
        }
        let names = columns.iter().map(|c| c.name.clone()).collect();
        let mut decoder = CopyDecoder::new(decoders, names);
        let mut out = BatchBuilder::new(schema)
            .map_err(SourceError::Unsupported)?
            .sized_for(sink.batch_bytes());
        let mut conn = self.conn().await?;
        if passthrough.is_some() {
            conn.close_on_drop();
        }
        let result: Result<(), SourceError> = async {
            sqlx::query("BEGIN READ ONLY").execute(&mut *conn).await?;
            if let Some(select) = passthrough {
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
            for p in params {
                q = q.bind(setting_text(p)?);
            }
            q.execute(&mut *conn).await?;
            let statement = sql;
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
                    return Err(SourceError::Database(
                        "the COPY stream ended before its trailer (connection lost?)".into(),
                    ));
                }
            }
            if out.rows > 0 {
                sink.push(out.finish()).await?;
            }
            sqlx::query("COMMIT").execute(&mut *conn).await?;
            Ok(())
        }
        .await;
        discard_on_error(&mut conn, result)
    }

    /// Columns of a passthrough query, from a temporary view in a rolled-back transaction
    /// (so numeric precision and array types are known exactly).
    async fn describe_query(&self, query: &str) -> Result<IndexMap<String, Column>, SourceError> {
        let mut conn = self.conn().await?;
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        let result = async {
            sqlx::query(AssertSqlSafe(format!(
                "CREATE TEMPORARY VIEW athena_passthrough AS {}",
                trim_query(query)
            )))
            .execute(&mut *conn)
            .await?;
            let schema: String = sqlx::query_scalar(
                "SELECT nspname::text FROM pg_namespace WHERE oid = pg_my_temp_schema()",
            )
            .fetch_one(&mut *conn)
            .await?;
            self.columns(&mut conn, &schema, "athena_passthrough").await
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

/// A passthrough query without the trailing `;` users often type.
fn trim_query(query: &str) -> &str {
    query.trim().trim_end_matches(';').trim_end()
}

/// Two columns that differ only in case cannot be told apart by Athena.
fn check_distinct_case(columns: &IndexMap<String, Column>) -> Result<(), SourceError> {
    let mut seen: IndexMap<String, &str> = IndexMap::new();
    for name in columns.keys() {
        if let Some(other) = seen.insert(name.to_lowercase(), name) {
            return Err(SourceError::Ambiguous {
                kind: "column",
                name: name.to_lowercase(),
                candidates: vec![other.to_owned(), name.clone()],
            });
        }
    }
    Ok(())
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

fn whole_table() -> IndexMap<String, String> {
    IndexMap::from([
        (PARTITION_SCHEMA.to_owned(), "*".to_owned()),
        (PARTITION_NAME.to_owned(), "*".to_owned()),
    ])
}

#[async_trait]
impl Source for PostgresSource {
    async fn list_schemas(&self) -> Result<Vec<String>, SourceError> {
        let mut conn = self.conn().await?;
        Ok(sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace \
             WHERE nspname NOT IN ('information_schema', 'pg_catalog', 'pg_toast') \
               AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%' \
               AND has_schema_privilege(oid, 'USAGE') \
             ORDER BY nspname COLLATE \"C\"",
        )
        .fetch_all(&mut *conn)
        .await?)
    }

    async fn list_tables(
        &self,
        schema: &str,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<TableName>, SourceError> {
        let mut conn = self.conn().await?;
        let schema = self.resolve_schema(&mut conn, schema).await?;
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition \
               AND ($2::text IS NULL OR c.relname COLLATE \"C\" > $2::text COLLATE \"C\") \
             ORDER BY c.relname COLLATE \"C\" LIMIT $3",
        )
        .bind(&schema)
        .bind(after)
        .bind(limit.map(|l| l as i64))
        .fetch_all(&mut *conn)
        .await?;
        Ok(names
            .into_iter()
            .map(|t| TableName::new(schema.clone(), t))
            .collect())
    }

    async fn table(&self, name: &TableName) -> Result<TableInfo, SourceError> {
        let mut conn = self.conn().await?;
        let schema = self.resolve_schema(&mut conn, &name.schema_name).await?;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND lower(c.relname) = lower($2) AND c.relkind IN ('r', 'v', 'm', 'p', 'f')",
        )
        .bind(&schema)
        .bind(&name.table_name)
        .fetch_all(&mut *conn)
        .await?;
        let table = resolve_name(
            "table",
            Some(&schema),
            &name.table_name,
            tables,
            self.connect.casing,
        )?;
        let columns = self.columns(&mut conn, &schema, &table).await?;
        Ok(TableInfo {
            name: TableName::new(schema, table),
            columns,
        })
    }

    async fn query_columns(&self, query: &str) -> Result<IndexMap<String, Column>, SourceError> {
        let columns = self.describe_query(query).await?;
        // The view's columns are read from the query's alias, not the view.
        Ok(columns
            .into_iter()
            .map(|(n, c)| {
                let select = c.select.replace(
                    &Postgres.quote(&c.name).unwrap_or_default(),
                    &format!("q.{}", Postgres.quote(&c.name).unwrap_or_default()),
                );
                let output = c.output.as_ref().map(|o| {
                    o.replace(
                        &Postgres.quote(&c.name).unwrap_or_default(),
                        &format!("q.{}", Postgres.quote(&c.name).unwrap_or_default()),
                    )
                });
                (
                    n,
                    Column {
                        select,
                        output,
                        ..c
                    },
                )
            })
            .collect())
    }

    async fn partitions(
        &self,
        table: &TableInfo,
        constraints: &Constraints,
    ) -> Result<Vec<IndexMap<String, String>>, SourceError> {
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
        let mut parts: Vec<IndexMap<String, String>> = Vec::new();
        for r in rows {
            let kind: String = r.try_get(2)?;
            if kind != "p" {
                parts.push(IndexMap::from([
                    (PARTITION_SCHEMA.to_owned(), r.try_get::<String, _>(0)?),
                    (PARTITION_NAME.to_owned(), r.try_get::<String, _>(1)?),
                ]));
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
                IndexMap::from([
                    (PARTITION_SCHEMA.to_owned(), schema.clone()),
                    (PARTITION_NAME.to_owned(), name.clone()),
                    (PARTITION_ONLY.to_owned(), "true".to_owned()),
                ]),
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
            let only = p.contains_key(PARTITION_ONLY);
            scanned.iter().any(|(s, r)| {
                (s == &p[PARTITION_SCHEMA] && r == &p[PARTITION_NAME])
                    || (only && s == schema && r == name)
            })
        });
        Ok(parts)
    }

    async fn split_partition(
        &self,
        table: &TableInfo,
        partition: &IndexMap<String, String>,
        target_bytes: u64,
    ) -> Result<Vec<IndexMap<String, String>>, SourceError> {
        let (schema, name) = match partition.get(PARTITION_NAME).map(String::as_str) {
            Some("*") | None => (
                table.name.schema_name.clone(),
                table.name.table_name.clone(),
            ),
            Some(p) => (
                partition.get(PARTITION_SCHEMA).cloned().unwrap_or_default(),
                p.to_owned(),
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
        let per = pages.div_ceil(n);
        let mut splits = Vec::new();
        let mut from = 0;
        while from < pages {
            let to = from + per;
            let mut p = partition.clone();
            if from > 0 {
                p.insert(RANGE_FROM.to_owned(), from.to_string());
            }
            // The last range is open: pages added since this count are read too.
            if to < pages {
                p.insert(RANGE_TO.to_owned(), to.to_string());
            }
            splits.push(p);
            from = to;
        }
        Ok(splits)
    }

    fn sql(&self, plan: &ReadPlan<'_>) -> Result<Query, SourceError> {
        let d = &PostgresCopy;
        let table = plan.table;
        let from = match plan.split.get(PARTITION_NAME).map(String::as_str) {
            Some("*") | None => d.qualified(&table.name.schema_name, &table.name.table_name)?,
            Some(p) => {
                let q = d.qualified(
                    plan.split
                        .get(PARTITION_SCHEMA)
                        .map(String::as_str)
                        .unwrap_or_default(),
                    p,
                )?;
                if plan.split.contains_key(PARTITION_ONLY) {
                    format!("ONLY {q}")
                } else {
                    q
                }
            }
        };
        let page = |key: &str| -> Result<Option<Scalar>, SourceError> {
            plan.split
                .get(key)
                .map(|v| {
                    v.parse::<u32>()
                        .map(|n| Scalar::Utf8(format!("({n},0)")))
                        .map_err(|_| {
                            SourceError::Unsupported(format!(
                                "split property {key} is not a page number: {v}"
                            ))
                        })
                })
                .transpose()
        };
        let ranges = match (page(RANGE_FROM)?, page(RANGE_TO)?) {
            (None, None) => vec![],
            (from, to) => vec![crate::sql::select::RangePredicate {
                expr: "ctid".into(),
                from,
                to,
                cast: Some("tid"),
            }],
        };
        let columns = plan.columns()?;
        let projection: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let query = SelectBuilder {
            dialect: d,
            from,
            columns: &table.columns,
        }
        .build(&projection, plan.constraints, &ranges)?;
        Ok(Query {
            sql: format!("COPY ({}) TO STDOUT (FORMAT binary)", query.sql),
            params: query.params,
        })
    }

    async fn read(&self, plan: ReadPlan<'_>, sink: &mut dyn BatchSink) -> Result<(), SourceError> {
        let query = self.sql(&plan)?;
        let columns = plan.columns()?;
        self.copy(
            &query.sql,
            &query.params,
            plan.schema.clone(),
            &columns,
            sink,
            None,
        )
        .await
    }

    async fn read_query(
        &self,
        query: &str,
        schema: SchemaRef,
        sink: &mut dyn BatchSink,
    ) -> Result<(), SourceError> {
        let columns = self.query_columns(query).await?;
        let selected = passthrough_columns(&columns, &schema)?;
        let select = passthrough_sql(query, &selected);
        let sql = format!("COPY ({select}) TO STDOUT (FORMAT binary)");
        self.copy(&sql, &[], schema, &selected, sink, Some(&select))
            .await
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
