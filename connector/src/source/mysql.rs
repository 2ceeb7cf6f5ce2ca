//! MySQL and MariaDB: catalog queries, native partitions pruned by `EXPLAIN`, integer
//! primary-key range splits, and a streamed (unbuffered) result set.
//!
//! Type mapping (README "Type mapping"): unsigned integers widen (TINYINT UNSIGNED →
//! smallint, SMALLINT UNSIGNED → integer, INT UNSIGNED → bigint, BIGINT UNSIGNED →
//! decimal(20,0)) instead of overflowing as upstream; DECIMAL(p>38) and types without an
//! Athena counterpart are selected as text.

use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use futures_util::future::BoxFuture;
use futures_util::TryStreamExt;
use indexmap::IndexMap;
use sqlx::mysql::{MySqlConnectOptions, MySqlRow, MySqlSslMode};
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Column as _, ConnectOptions, Row, TypeInfo};

use crate::config::{TlsMode, ZeroDates};
use crate::protocol::{Constraints, Scalar, TableName};
use crate::source::builder::{BatchBuilder, ColumnBuilder};
use crate::source::connect::{discard_on_error, RotatingPool, SERVER_IDLE_TIMEOUT};
use crate::sql::select::RangePredicate;
use crate::sql::timestamp::utc_wall_clock;
use crate::sql::{Column, Dialect, MySql, Query, SelectBuilder};

use super::{
    passthrough_columns, passthrough_sql, resolve_name, BatchSink, Connect, ReadPlan, Source,
    SourceError, TableInfo, PARTITION_NAME, RANGE_FROM, RANGE_TO,
};

/// Split property: the integer primary-key column a range split is over.
const RANGE_COLUMN: &str = "range_column";
const SYSTEM_SCHEMAS: &str = "('information_schema', 'mysql', 'performance_schema', 'sys')";

pub struct MySqlSource {
    connect: Connect,
    pool: RotatingPool<sqlx::MySql>,
}

/// What `information_schema.columns` says of a column.
#[derive(Debug, Clone)]
pub struct MyColumn {
    pub name: String,
    /// `data_type`, lower case (`int`, `decimal`, …).
    pub data_type: String,
    /// `column_type`, lower case (`int(10) unsigned`, `tinyint(1)`, …).
    pub column_type: String,
    pub precision: Option<i64>,
    pub scale: Option<i64>,
}

/// Maps one column to its Arrow type and the SQL selecting it.
pub fn map_column(quoted: &str, c: &MyColumn) -> Column {
    let unsigned = c.column_type.contains("unsigned");
    let as_text = || (format!("CAST({quoted} AS CHAR)"), DataType::Utf8);
    let raw = |t: DataType| (quoted.to_owned(), t);
    let (select, data_type) = match c.data_type.as_str() {
        "tinyint" if c.column_type == "tinyint(1)" => raw(DataType::Boolean),
        "tinyint" => raw(if unsigned {
            DataType::Int16
        } else {
            DataType::Int8
        }),
        "smallint" => raw(if unsigned {
            DataType::Int32
        } else {
            DataType::Int16
        }),
        "mediumint" => raw(DataType::Int32),
        "int" | "integer" => raw(if unsigned {
            DataType::Int64
        } else {
            DataType::Int32
        }),
        "bigint" => raw(if unsigned {
            DataType::Decimal128(20, 0)
        } else {
            DataType::Int64
        }),
        "decimal" | "numeric" => match (c.precision, c.scale) {
            (Some(p), Some(s)) if (1..=38).contains(&p) => {
                raw(DataType::Decimal128(p as u8, s as i8))
            }
            _ => as_text(),
        },
        "float" => raw(DataType::Float32),
        "double" | "real" => raw(DataType::Float64),
        "bit" if c.column_type == "bit(1)" => raw(DataType::Boolean),
        "bit" => raw(DataType::Binary),
        // As the official connector (Connector/J's yearIsDateType): January 1st of the year;
        // YEAR 0 (MySQL's zero value) is NULL.
        "year" => (
            format!("MAKEDATE(NULLIF({quoted}, 0), 1)"),
            DataType::Date32,
        ),
        "date" => raw(DataType::Date32),
        "datetime" | "timestamp" => raw(DataType::Date64),
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => raw(DataType::Utf8),
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "geometry"
        | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" => raw(DataType::Binary),
        // time, enum, set, json, and whatever else: the server's text.
        _ => as_text(),
    };
    Column {
        name: c.name.clone(),
        select,
        data_type,
        output: None,
    }
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

    async fn resolve_schema(
        &self,
        conn: &mut PoolConnection<sqlx::MySql>,
        schema: &str,
    ) -> Result<String, SourceError> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata WHERE lower(schema_name) = lower(?)",
        )
        .bind(schema)
        .fetch_all(&mut **conn)
        .await?;
        resolve_name("schema", None, schema, names, self.connect.casing)
    }

    /// Streams `sql` with `params` into `sink` as batches of `schema`, under a statement
    /// timeout ([`with_statement_timeout`]). A passthrough read runs in a read-only
    /// transaction (one statement: it is a prepared statement) and its connection is closed
    /// afterwards, so session state the user's query set (variables, `GET_LOCK`) never
    /// reaches the next read.
    async fn stream(
        &self,
        sql: &str,
        params: &[Scalar],
        schema: SchemaRef,
        names: &[String],
        sink: &mut dyn BatchSink,
        passthrough: bool,
    ) -> Result<(), SourceError> {
        let mut out = BatchBuilder::new(schema)
            .map_err(SourceError::Unsupported)?
            .sized_for(sink.batch_bytes());
        let mut conn = self.conn().await?;
        if passthrough {
            conn.close_on_drop();
        }
        let sql = with_statement_timeout(sql, self.connect.statement_timeout());
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
                for p in params {
                    q = bind(q, p)?;
                }
                let mut rows = q.fetch(&mut *conn);
                while let Some(row) = rows.try_next().await? {
                    decode_row(&row, &mut out, names, self.connect.driver.zero_dates)?;
                    out.rows += 1;
                    if out.is_full() {
                        sink.push(out.finish()).await?;
                    }
                }
            }
            if out.rows > 0 {
                sink.push(out.finish()).await?;
            }
            if passthrough {
                sqlx::query("COMMIT").execute(&mut *conn).await?;
            }
            Ok(())
        }
        .await;
        discard_on_error(&mut conn, result)
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

fn bind<'q>(
    q: sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments>,
    v: &Scalar,
) -> Result<sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments>, SourceError> {
    Ok(match v {
        Scalar::Bool(b) => q.bind(*b),
        Scalar::Int8(x) => q.bind(*x),
        Scalar::Int16(x) => q.bind(*x),
        Scalar::Int32(x) => q.bind(*x),
        Scalar::Int64(x) => q.bind(*x),
        Scalar::UInt8(x) => q.bind(*x),
        Scalar::UInt16(x) => q.bind(*x),
        Scalar::UInt32(x) => q.bind(*x),
        Scalar::UInt64(x) => q.bind(x.to_string()),
        Scalar::Float32(x) => q.bind(*x),
        Scalar::Float64(x) => q.bind(*x),
        Scalar::Decimal { value, scale, .. } => {
            q.bind(crate::protocol::format_decimal(*value, *scale))
        }
        Scalar::Utf8(s) => q.bind(s.clone()),
        Scalar::Binary(b) => q.bind(b.clone()),
        Scalar::Date32(d) => {
            q.bind(datetime_param(v, arrow::temporal_conversions::date32_to_datetime(*d))?.date())
        }
        Scalar::Date64(_) | Scalar::Timestamp { .. } => {
            q.bind(datetime_param(v, utc_wall_clock(v))?)
        }
    })
}

/// A date or timestamp bound as a DATETIME: the instant's UTC wall clock (the session's zone
/// is UTC, so a TIMESTAMP column compares as the same instant and a DATETIME column as its
/// wall clock, which is how both are returned), within DATETIME's years 0 to 9999.
fn datetime_param(v: &Scalar, t: Option<NaiveDateTime>) -> Result<NaiveDateTime, SourceError> {
    t.filter(|t| (0..=9999).contains(&t.year())).ok_or_else(|| {
        SourceError::Unsupported(format!(
            "{v} is out of range for MySQL, whose dates hold years 0 to 9999"
        ))
    })
}

/// Parses decimal text (`-12.5`) as an unscaled value at `scale`, rounding half up.
pub fn parse_decimal(text: &str, precision: u8, scale: i8) -> Result<i128, String> {
    let bad = || format!("\"{text}\" does not fit decimal({precision},{scale})");
    let (negative, digits) = match text.trim().strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.trim().trim_start_matches('+')),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let scale_u = scale.max(0) as usize;
    let mut value: i128 = 0;
    for c in int
        .chars()
        .chain(frac.chars().chain(std::iter::repeat('0')).take(scale_u))
    {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(c as u8 - b'0')))
            .ok_or_else(bad)?;
    }
    if frac.len() > scale_u && frac.as_bytes()[scale_u] >= b'5' {
        value = value.checked_add(1).ok_or_else(bad)?;
    }
    // 10^precision overflows beyond 38 digits, where i128 itself is the bound.
    if 10u128
        .checked_pow(u32::from(precision))
        .is_some_and(|limit| value.unsigned_abs() >= limit)
    {
        return Err(bad());
    }
    Ok(if negative { -value } else { value })
}

/// A DATE, DATETIME or TIMESTAMP value as the server sent it: binary (a length byte, then
/// year as u16 LE, month, day, and optionally hour, minute, second, microseconds as u32 LE)
/// or text (`YYYY-MM-DD[ HH:MM:SS[.ffffff]]`). `Ok(None)` for what is not a calendar date
/// (zero dates, a zero month or day).
fn datetime_value(raw: &[u8]) -> Result<Option<NaiveDateTime>, String> {
    let malformed = || format!("malformed date/time value {raw:?}");
    let (y, mo, d, h, mi, s, micros) = match raw.first() {
        None => return Err(malformed()),
        // Binary: the length byte is 0, 4, 7 or 11, below any ASCII digit.
        Some(&len) if len < b'0' => {
            let b = &raw[1..];
            if b.len() != usize::from(len) || !matches!(len, 0 | 4 | 7 | 11) {
                return Err(malformed());
            }
            if len == 0 {
                return Ok(None);
            }
            let (h, mi, s) = if len >= 7 {
                (b[4], b[5], b[6])
            } else {
                (0, 0, 0)
            };
            let micros = if len == 11 {
                u32::from_le_bytes([b[7], b[8], b[9], b[10]])
            } else {
                0
            };
            (
                i32::from(u16::from_le_bytes([b[0], b[1]])),
                u32::from(b[2]),
                u32::from(b[3]),
                u32::from(h),
                u32::from(mi),
                u32::from(s),
                micros,
            )
        }
        Some(_) => {
            let text = std::str::from_utf8(raw).map_err(|_| malformed())?;
            let (date, time) = text.split_once(' ').unwrap_or((text, "00:00:00"));
            let num = |v: &str| v.parse::<u32>().map_err(|_| malformed());
            let mut date = date.splitn(3, '-');
            let mut part = || date.next().ok_or_else(malformed);
            let (y, mo, d) = (num(part()?)?, num(part()?)?, num(part()?)?);
            let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
            let mut hms = hms.splitn(3, ':');
            let mut part = || hms.next().ok_or_else(malformed);
            let (h, mi, s) = (num(part()?)?, num(part()?)?, num(part()?)?);
            let micros = if frac.is_empty() {
                0
            } else if frac.len() <= 6 {
                num(frac)? * 10u32.pow(6 - frac.len() as u32)
            } else {
                return Err(malformed());
            };
            (y as i32, mo, d, h, mi, s, micros)
        }
    };
    let Some(date) = NaiveDate::from_ymd_opt(y, mo, d) else {
        return Ok(None);
    };
    date.and_hms_micro_opt(h, mi, s, micros)
        .map(Some)
        .ok_or_else(malformed)
}

/// A date/time value's bytes, zero dates included (`None` only for NULL): the driver's
/// `Option` decoding reads a zero date as NULL, which `zeroDateTimeBehavior` must tell apart.
fn date_bytes(row: &MySqlRow, i: usize) -> Result<Option<&[u8]>, sqlx::Error> {
    match row.try_get_unchecked::<&[u8], _>(i) {
        Ok(raw) => Ok(Some(raw)),
        Err(sqlx::Error::ColumnDecode { source, .. })
            if source.is::<sqlx::error::UnexpectedNullError>() =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// [`datetime_value`], with what is not a calendar date treated as `zeroDateTimeBehavior`
/// says: NULL, an error, or `0001-01-01 00:00:00` (Connector/J's `round`).
fn calendar_value(raw: &[u8], zero_dates: ZeroDates) -> Result<Option<NaiveDateTime>, String> {
    match (datetime_value(raw)?, zero_dates) {
        (Some(t), _) => Ok(Some(t)),
        (None, ZeroDates::Null) => Ok(None),
        (None, ZeroDates::Error) => Err(
            "a zero date is not a calendar date (zeroDateTimeBehavior=exception; convertToNull reads it as NULL)".into(),
        ),
        (None, ZeroDates::Round) => Ok(NaiveDate::from_ymd_opt(1, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))),
    }
}

/// Appends one row, decoding each value by its result column's runtime type.
fn decode_row(
    row: &MySqlRow,
    out: &mut BatchBuilder,
    names: &[String],
    zero_dates: ZeroDates,
) -> Result<(), SourceError> {
    for (i, builder) in out.columns.iter_mut().enumerate() {
        let column = &row.columns()[i];
        let type_name = column.type_info().name();
        let err = |why: String| SourceError::Value {
            column: names.get(i).cloned().unwrap_or_default(),
            why,
        };
        let fail = |e: sqlx::Error| err(e.to_string());
        macro_rules! get {
            ($t:ty) => {
                row.try_get_unchecked::<Option<$t>, _>(i).map_err(fail)?
            };
        }
        macro_rules! put {
            ($b:expr, $v:expr) => {
                match $v {
                    Some(v) => $b.append_value(v),
                    None => $b.append_null(),
                }
            };
        }
        match builder {
            ColumnBuilder::Boolean(b) => match type_name {
                "BIT" => put!(b, get!(&[u8]).map(|v| v.iter().any(|x| *x != 0))),
                _ => put!(b, get!(i8).map(|v| v != 0)),
            },
            ColumnBuilder::Int8(b) => put!(b, get!(i8)),
            ColumnBuilder::Int16(b) => match type_name {
                "TINYINT UNSIGNED" => put!(b, get!(u8).map(i16::from)),
                "TINYINT" | "BOOLEAN" => put!(b, get!(i8).map(i16::from)),
                _ => put!(b, get!(i16)),
            },
            ColumnBuilder::Int32(b) => match type_name {
                "SMALLINT UNSIGNED" => put!(b, get!(u16).map(i32::from)),
                "SMALLINT" | "YEAR" => put!(b, get!(i16).map(i32::from)),
                _ => put!(b, get!(i32)),
            },
            ColumnBuilder::Int64(b) => match type_name {
                "INT UNSIGNED" | "MEDIUMINT UNSIGNED" => put!(b, get!(u32).map(i64::from)),
                "INT" | "MEDIUMINT" => put!(b, get!(i32).map(i64::from)),
                _ => put!(b, get!(i64)),
            },
            ColumnBuilder::Float32(b) => put!(b, get!(f32)),
            ColumnBuilder::Float64(b) => match type_name {
                "FLOAT" => put!(b, get!(f32).map(f64::from)),
                _ => put!(b, get!(f64)),
            },
            ColumnBuilder::Decimal {
                builder,
                precision,
                scale,
            } => match type_name {
                "BIGINT UNSIGNED" => match get!(u64) {
                    Some(v) => builder.append_value(
                        i128::from(v) * 10i128.pow(scale.max(&mut 0).unsigned_abs().into()),
                    ),
                    None => builder.append_null(),
                },
                _ => match get!(&str) {
                    Some(t) => {
                        builder.append_value(parse_decimal(t, *precision, *scale).map_err(err)?)
                    }
                    None => builder.append_null(),
                },
            },
            ColumnBuilder::Utf8(b) => put!(b, get!(&str)),
            ColumnBuilder::Binary(b) => put!(b, get!(&[u8])),
            // Decoded from the wire here: MySQL's zero dates ('0000-00-00') and dates with a
            // zero month or day are not calendar dates and read as `zeroDateTimeBehavior`
            // says (NULL by default, where Connector/J's default fails the whole read,
            // upstream #362).
            ColumnBuilder::Date32(b) => put!(
                b,
                date_bytes(row, i)
                    .map_err(fail)?
                    .map(|raw| calendar_value(raw, zero_dates))
                    .transpose()
                    .map_err(err)?
                    .flatten()
                    .map(
                        |t| (t.date() - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
                            .num_days() as i32
                    )
            ),
            ColumnBuilder::Date64(b) => put!(
                b,
                date_bytes(row, i)
                    .map_err(fail)?
                    .map(|raw| calendar_value(raw, zero_dates))
                    .transpose()
                    .map_err(err)?
                    .flatten()
                    .map(|t| t.and_utc().timestamp_millis())
            ),
            ColumnBuilder::List { .. } => return Err(err("MySQL has no array type".into())),
        }
    }
    Ok(())
}

#[async_trait]
impl Source for MySqlSource {
    async fn list_schemas(&self) -> Result<Vec<String>, SourceError> {
        let mut conn = self.conn().await?;
        Ok(sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata \
             WHERE schema_name NOT IN {SYSTEM_SCHEMAS} ORDER BY CAST(schema_name AS BINARY)"
        )))
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
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = ? \
               AND (? IS NULL OR CAST(table_name AS BINARY) > CAST(? AS BINARY)) \
             ORDER BY CAST(table_name AS BINARY) LIMIT ?",
        )
        .bind(&schema)
        .bind(after)
        .bind(after)
        .bind(limit.map_or(i64::MAX, |l| l as i64))
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
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = ? AND lower(table_name) = lower(?)",
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
        let rows = sqlx::query(
            "SELECT CAST(column_name AS CHAR), CAST(lower(data_type) AS CHAR), CAST(lower(column_type) AS CHAR), \
                    CAST(numeric_precision AS SIGNED), CAST(numeric_scale AS SIGNED) \
             FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        )
        .bind(&schema)
        .bind(&table)
        .fetch_all(&mut *conn)
        .await?;
        let mut columns = IndexMap::new();
        for r in rows {
            let c = MyColumn {
                name: r.try_get(0)?,
                data_type: r.try_get(1)?,
                column_type: r.try_get(2)?,
                precision: r.try_get(3)?,
                scale: r.try_get(4)?,
            };
            if let Some(other) = columns
                .keys()
                .find(|k: &&String| k.eq_ignore_ascii_case(&c.name))
            {
                return Err(SourceError::Ambiguous {
                    kind: "column",
                    name: c.name.to_lowercase(),
                    candidates: vec![other.clone(), c.name.clone()],
                });
            }
            columns.insert(c.name.clone(), map_column(&MySql.quote(&c.name)?, &c));
        }
        Ok(TableInfo {
            name: TableName::new(schema, table),
            columns,
        })
    }

    async fn query_columns(&self, query: &str) -> Result<IndexMap<String, Column>, SourceError> {
        let mut conn = self.conn().await?;
        let q = query.trim().trim_end_matches(';');
        let statement = sqlx::Executor::prepare(
            &mut *conn,
            sqlx::SqlSafeStr::into_sql_str(AssertSqlSafe(q.to_owned())),
        )
        .await?;
        let mut columns = IndexMap::new();
        for c in sqlx::Statement::columns(&statement) {
            let name = c.name().to_owned();
            let quoted = format!("q.{}", MySql.quote(&name)?);
            let type_name = c.type_info().name();
            let (select, data_type) = match type_name {
                "BOOLEAN" => (quoted, DataType::Boolean),
                "TINYINT" => (quoted, DataType::Int8),
                "TINYINT UNSIGNED" | "SMALLINT" => (quoted, DataType::Int16),
                "YEAR" => (
                    format!("MAKEDATE(NULLIF({quoted}, 0), 1)"),
                    DataType::Date32,
                ),
                "SMALLINT UNSIGNED" | "MEDIUMINT" | "MEDIUMINT UNSIGNED" | "INT" => {
                    (quoted, DataType::Int32)
                }
                "INT UNSIGNED" | "BIGINT" => (quoted, DataType::Int64),
                "BIGINT UNSIGNED" => (quoted, DataType::Decimal128(20, 0)),
                "FLOAT" => (quoted, DataType::Float32),
                "DOUBLE" => (quoted, DataType::Float64),
                "DATE" => (quoted, DataType::Date32),
                "DATETIME" | "TIMESTAMP" => (quoted, DataType::Date64),
                "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" => {
                    (quoted, DataType::Utf8)
                }
                "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB"
                | "GEOMETRY" => (quoted, DataType::Binary),
                // DECIMAL's precision is not known before running: exact text.
                _ => (format!("CAST({quoted} AS CHAR)"), DataType::Utf8),
            };
            columns.insert(
                name.clone(),
                Column {
                    name,
                    select,
                    data_type,
                    output: None,
                },
            );
        }
        Ok(columns)
    }

    async fn partitions(
        &self,
        table: &TableInfo,
        constraints: &Constraints,
    ) -> Result<Vec<IndexMap<String, String>>, SourceError> {
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
        let part = |p: &str| IndexMap::from([(PARTITION_NAME.to_owned(), p.to_owned())]);
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
        partition: &IndexMap<String, String>,
        target_bytes: u64,
    ) -> Result<Vec<IndexMap<String, String>>, SourceError> {
        let mut conn = self.conn().await?;
        let p = partition
            .get(PARTITION_NAME)
            .map(String::as_str)
            .unwrap_or("*");
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
        let n = (bytes as u64).div_ceil(target_bytes).max(1) as i128;
        let span = i128::from(hi) - i128::from(lo) + 1;
        if span < 2 || n < 2 {
            return Ok(vec![partition.clone()]);
        }
        let step = (span + n - 1) / n;
        let mut out = Vec::new();
        let mut start = i128::from(lo);
        while start <= i128::from(hi) {
            let end = start + step;
            let mut s = partition.clone();
            s.insert(RANGE_COLUMN.to_owned(), key.clone());
            // First and last ranges are open, so rows added outside [min, max] are read too.
            if start > i128::from(lo) {
                s.insert(RANGE_FROM.to_owned(), start.to_string());
            }
            if end <= i128::from(hi) {
                s.insert(RANGE_TO.to_owned(), end.to_string());
            }
            out.push(s);
            start = end;
        }
        Ok(out)
    }

    fn sql(&self, plan: &ReadPlan<'_>) -> Result<Query, SourceError> {
        let table = plan.table;
        let p = plan
            .split
            .get(PARTITION_NAME)
            .map(String::as_str)
            .unwrap_or("*");
        let from = source_from(table, p)?;
        let mut ranges = Vec::new();
        if let Some(key) = plan.split.get(RANGE_COLUMN) {
            let c = table.resolve_column(key)?;
            let bound = |k: &str| -> Result<Option<Scalar>, SourceError> {
                plan.split
                    .get(k)
                    .map(|v| {
                        v.parse::<i64>().map(Scalar::Int64).map_err(|_| {
                            SourceError::Unsupported(format!(
                                "split property {k} is not an integer: {v}"
                            ))
                        })
                    })
                    .transpose()
            };
            ranges.push(RangePredicate {
                expr: c.select.clone(),
                from: bound(RANGE_FROM)?,
                to: bound(RANGE_TO)?,
                cast: None,
            });
        }
        let columns = plan.columns()?;
        let projection: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        Ok(SelectBuilder {
            dialect: &MySql,
            from,
            columns: &table.columns,
        }
        .build(&projection, plan.constraints, &ranges)?)
    }

    async fn read(&self, plan: ReadPlan<'_>, sink: &mut dyn BatchSink) -> Result<(), SourceError> {
        let query = self.sql(&plan)?;
        let names: Vec<String> = plan.columns()?.iter().map(|c| c.name.clone()).collect();
        self.stream(
            &query.sql,
            &query.params,
            plan.schema.clone(),
            &names,
            sink,
            false,
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
        let names: Vec<String> = selected.iter().map(|c| c.name.clone()).collect();
        self.stream(
            &passthrough_sql(query, &selected),
            &[],
            schema,
            &names,
            sink,
            true,
        )
        .await
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
mod date_tests {
    use super::datetime_value;
    use chrono::NaiveDate;

    #[test]
    fn zero_and_partial_zero_dates_are_null_and_real_ones_exact() {
        let dt = |y, mo, d, h, mi, s, us| {
            NaiveDate::from_ymd_opt(y, mo, d)
                .unwrap()
                .and_hms_micro_opt(h, mi, s, us)
        };
        // Binary protocol.
        assert_eq!(datetime_value(&[0]), Ok(None), "0000-00-00");
        assert_eq!(
            datetime_value(&[4, 0xe4, 0x07, 0, 15]),
            Ok(None),
            "2020-00-15"
        );
        assert_eq!(
            datetime_value(&[4, 0xe4, 0x07, 1, 15]),
            Ok(dt(2020, 1, 15, 0, 0, 0, 0))
        );
        assert_eq!(
            datetime_value(&[7, 0xe4, 0x07, 1, 15, 10, 30, 5]),
            Ok(dt(2020, 1, 15, 10, 30, 5, 0))
        );
        assert_eq!(
            datetime_value(&[11, 0xe4, 0x07, 1, 15, 10, 30, 5, 0x40, 0xe2, 0x01, 0]),
            Ok(dt(2020, 1, 15, 10, 30, 5, 123_456))
        );
        // Text protocol.
        assert_eq!(datetime_value(b"0000-00-00"), Ok(None));
        assert_eq!(datetime_value(b"0000-00-00 00:00:00"), Ok(None));
        assert_eq!(datetime_value(b"2020-01-00 10:00:00"), Ok(None));
        assert_eq!(
            datetime_value(b"2020-01-15 10:30:05.12"),
            Ok(dt(2020, 1, 15, 10, 30, 5, 120_000))
        );
        // Anything else names the problem.
        for bad in [
            &[][..],
            &[4, 1, 2],
            &[5, 1, 2, 3, 4, 5],
            b"2020-01",
            b"2020-01-15 25:00:00",
        ] {
            assert!(
                datetime_value(bad)
                    .unwrap_err()
                    .starts_with("malformed date/time value"),
                "{bad:?}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_at_and_beyond_i128_is_an_error_not_an_overflow() {
        let max = i128::MAX.to_string();
        assert_eq!(parse_decimal(&max, 60, 0), Ok(i128::MAX));
        assert!(
            parse_decimal(&format!("{max}.9"), 60, 0).is_err(),
            "rounding up overflows"
        );
        assert!(parse_decimal(&format!("{max}0"), 60, 0).is_err());
        assert_eq!(parse_decimal("12.345", 5, 2), Ok(1235));
        assert!(parse_decimal("1234.5", 5, 2).is_err());
    }

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

    fn col(data_type: &str, column_type: &str, p: Option<i64>, s: Option<i64>) -> DataType {
        map_column(
            "`c`",
            &MyColumn {
                name: "c".into(),
                data_type: data_type.into(),
                column_type: column_type.into(),
                precision: p,
                scale: s,
            },
        )
        .data_type
    }

    #[test]
    fn unsigned_integers_widen() {
        assert_eq!(
            col("tinyint", "tinyint(3) unsigned", None, None),
            DataType::Int16
        );
        assert_eq!(col("tinyint", "tinyint(1)", None, None), DataType::Boolean);
        assert_eq!(
            col("smallint", "smallint(5) unsigned", None, None),
            DataType::Int32
        );
        assert_eq!(col("int", "int(10) unsigned", None, None), DataType::Int64);
        assert_eq!(
            col("bigint", "bigint(20) unsigned", None, None),
            DataType::Decimal128(20, 0)
        );
        assert_eq!(
            col("decimal", "decimal(65,4)", Some(65), Some(4)),
            DataType::Utf8
        );
        assert_eq!(
            col("decimal", "decimal(12,2)", Some(12), Some(2)),
            DataType::Decimal128(12, 2)
        );
        assert_eq!(col("json", "json", None, None), DataType::Utf8);
        assert_eq!(col("enum", "enum('a','b')", None, None), DataType::Utf8);
    }

    #[test]
    fn decimal_text_parses_exactly() {
        assert_eq!(parse_decimal("-12.345", 10, 2), Ok(-1235));
        assert_eq!(
            parse_decimal("99999999999999999999999999999999999999", 38, 0),
            Ok(99999999999999999999999999999999999999)
        );
        assert!(parse_decimal("100", 2, 0).is_err());
        assert!(parse_decimal("1e5", 10, 0).is_err());
        assert_eq!(parse_decimal("0.5", 3, 0), Ok(1));
    }
}
