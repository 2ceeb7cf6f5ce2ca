//! SQLite, the embedded default: one schema (`main`), opened read-only.
//!
//! SQLite types are affinities, so the declared type decides the Arrow type: INT →
//! bigint, REAL/FLOAT/DOUBLE → double, DECIMAL(p,s) → decimal(p,s), BOOLEAN → boolean,
//! DATE → date, DATETIME/TIMESTAMP → timestamp, BLOB → varbinary, anything else → varchar.
//! Dates and timestamps are selected through `date()`/`strftime()`, so whatever text format
//! a row holds, the value and the comparisons pushed down are canonical.

use std::path::PathBuf;

use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use chrono::{NaiveDate, NaiveDateTime};
use futures_util::TryStreamExt;
use indexmap::IndexMap;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{AssertSqlSafe, ConnectOptions, Row, TypeInfo, ValueRef};
use tokio::sync::OnceCell;

use crate::config::CasingMode;
use crate::protocol::{format_decimal, Constraints, Scalar, TableName};
use crate::source::builder::{BatchBuilder, ColumnBuilder};
use crate::sql::{Column, Dialect, Query, SelectBuilder, Sqlite};

use super::{
    passthrough_columns, passthrough_sql, resolve_name, BatchSink, ReadPlan, Source, SourceError,
    TableInfo,
};

const SCHEMA: &str = "main";
const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.3f";

pub struct SqliteSource {
    path: PathBuf,
    pool: OnceCell<SqlitePool>,
}

/// Maps a declared type to the Arrow type and the SQL selecting the column.
pub fn map_column(quoted: &str, name: &str, declared: &str) -> Column {
    let t = declared.to_ascii_uppercase();
    let decimal = || {
        let args = t.split_once('(')?.1.trim_end_matches(')');
        let (p, s) = args.split_once(',').unwrap_or((args, "0"));
        let (p, s): (u8, i8) = (p.trim().parse().ok()?, s.trim().parse().ok()?);
        ((1..=38).contains(&p) && s >= 0 && s as u8 <= p).then_some(DataType::Decimal128(p, s))
    };
    let raw = |d: DataType| (quoted.to_owned(), d);
    let (select, data_type) = if t.contains("INT") {
        raw(DataType::Int64)
    } else if t.starts_with("BOOL") {
        raw(DataType::Boolean)
    } else if t.starts_with("DECIMAL") || t.starts_with("NUMERIC") {
        match decimal() {
            Some(d) => raw(d),
            None => raw(DataType::Float64),
        }
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        raw(DataType::Float64)
    } else if t == "DATE" {
        (format!("date({quoted})"), DataType::Date32)
    } else if t.starts_with("DATETIME") || t.starts_with("TIMESTAMP") {
        (
            format!("strftime('%Y-%m-%d %H:%M:%f', {quoted})"),
            DataType::Date64,
        )
    } else if t.contains("BLOB") {
        raw(DataType::Binary)
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        raw(DataType::Utf8)
    } else {
        (format!("CAST({quoted} AS TEXT)"), DataType::Utf8)
    };
    Column {
        name: name.to_owned(),
        select,
        data_type,
        output: None,
    }
}

/// A date or timestamp as the text the column's `date()`/`strftime()` selects, to compare
/// with it as text: `YYYY-MM-DD`, or the UTC wall clock with milliseconds (nine digits for a
/// timestamp finer than that, which orders right and equals no millisecond text), floored,
/// so values before 1970 are not shifted. SQLite's date functions know years 0 to 9999 only.
fn datetime_text(v: &Scalar) -> Result<String, SourceError> {
    use chrono::Datelike;
    let out_of_range = || {
        SourceError::Unsupported(format!(
            "{v} is out of range for SQLite, whose dates hold years 0 to 9999"
        ))
    };
    let (t, format) = match v {
        Scalar::Date32(d) => (
            arrow::temporal_conversions::date32_to_datetime(*d),
            "%Y-%m-%d",
        ),
        _ => {
            let nanos = crate::sql::timestamp::epoch_nanos(v).ok_or_else(out_of_range)?;
            let t = i64::try_from(nanos.div_euclid(1_000_000_000))
                .ok()
                .and_then(|s| {
                    chrono::DateTime::from_timestamp(s, nanos.rem_euclid(1_000_000_000) as u32)
                })
                .map(|t| t.naive_utc());
            let format = if nanos % 1_000_000 == 0 {
                TIMESTAMP_FORMAT
            } else {
                "%Y-%m-%d %H:%M:%S%.9f"
            };
            (t, format)
        }
    };
    t.filter(|t| (0..=9999).contains(&t.year()))
        .map(|t| t.format(format).to_string())
        .ok_or_else(out_of_range)
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
                    return Err(SourceError::Connect {
                        target: self.path.display().to_string(),
                        message: "no such SQLite database file".into(),
                    });
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

    fn check_schema(schema: &str) -> Result<(), SourceError> {
        if schema.eq_ignore_ascii_case(SCHEMA) {
            Ok(())
        } else {
            Err(SourceError::NotFound {
                kind: "schema",
                name: schema.to_owned(),
            })
        }
    }

    async fn stream(
        &self,
        sql: &str,
        params: &[Scalar],
        schema: SchemaRef,
        names: &[String],
        sink: &mut dyn BatchSink,
    ) -> Result<(), SourceError> {
        let mut out = BatchBuilder::new(schema)
            .map_err(SourceError::Unsupported)?
            .sized_for(sink.batch_bytes());
        let pool = self.pool().await?;
        let mut q = sqlx::query(AssertSqlSafe(sql.to_owned()));
        for p in params {
            q = match p {
                Scalar::Bool(b) => q.bind(*b),
                Scalar::Int8(x) => q.bind(i64::from(*x)),
                Scalar::Int16(x) => q.bind(i64::from(*x)),
                Scalar::Int32(x) => q.bind(i64::from(*x)),
                Scalar::Int64(x) => q.bind(*x),
                Scalar::UInt8(x) => q.bind(i64::from(*x)),
                Scalar::UInt16(x) => q.bind(i64::from(*x)),
                Scalar::UInt32(x) => q.bind(i64::from(*x)),
                Scalar::UInt64(x) => q.bind(x.to_string()),
                Scalar::Float32(x) => q.bind(f64::from(*x)),
                Scalar::Float64(x) => q.bind(*x),
                // Numeric affinity converts the text exactly.
                Scalar::Decimal { value, scale, .. } => q.bind(format_decimal(*value, *scale)),
                Scalar::Utf8(s) => q.bind(s.clone()),
                Scalar::Binary(b) => q.bind(b.clone()),
                Scalar::Date32(_) | Scalar::Date64(_) | Scalar::Timestamp { .. } => {
                    q.bind(datetime_text(p)?)
                }
            };
        }
        tracing::debug!(sql, params = params.len(), "query");
        let mut rows = q.fetch(pool);
        while let Some(row) = rows.try_next().await? {
            decode_row(&row, &mut out, names)?;
            out.rows += 1;
            if out.is_full() {
                sink.push(out.finish()).await?;
            }
        }
        if out.rows > 0 {
            sink.push(out.finish()).await?;
        }
        Ok(())
    }
}

fn decode_row(
    row: &SqliteRow,
    out: &mut BatchBuilder,
    names: &[String],
) -> Result<(), SourceError> {
    for (i, builder) in out.columns.iter_mut().enumerate() {
        let err = |why: String| SourceError::Value {
            column: names.get(i).cloned().unwrap_or_default(),
            why,
        };
        let raw = row.try_get_raw(i).map_err(|e| err(e.to_string()))?;
        if raw.is_null() {
            builder.append_null();
            continue;
        }
        let storage = raw.type_info().name().to_owned();
        let get_text = || {
            row.try_get_unchecked::<String, _>(i)
                .map_err(|e| err(e.to_string()))
        };
        let get_i64 = || {
            row.try_get_unchecked::<i64, _>(i)
                .map_err(|e| err(e.to_string()))
        };
        let get_f64 = || {
            row.try_get_unchecked::<f64, _>(i)
                .map_err(|e| err(e.to_string()))
        };
        let wrong = |want: &str| err(format!("holds a {storage} value where {want} is declared"));
        match builder {
            ColumnBuilder::Boolean(b) => b.append_value(match storage.as_str() {
                "INTEGER" | "BOOLEAN" => get_i64()? != 0,
                _ => return Err(wrong("a boolean")),
            }),
            ColumnBuilder::Int64(b) => match storage.as_str() {
                "INTEGER" | "BOOLEAN" => b.append_value(get_i64()?),
                _ => return Err(wrong("an integer")),
            },
            ColumnBuilder::Float64(b) => match storage.as_str() {
                "INTEGER" => b.append_value(get_i64()? as f64),
                "REAL" => b.append_value(get_f64()?),
                _ => return Err(wrong("a real")),
            },
            ColumnBuilder::Decimal {
                builder,
                precision,
                scale,
            } => {
                let text = match storage.as_str() {
                    "INTEGER" => get_i64()?.to_string(),
                    "REAL" => format!("{:.*}", (*scale).max(0) as usize, get_f64()?),
                    _ => get_text()?,
                };
                builder.append_value(
                    super::mysql::parse_decimal(&text, *precision, *scale).map_err(err)?,
                );
            }
            ColumnBuilder::Utf8(b) => b.append_value(match storage.as_str() {
                "INTEGER" => get_i64()?.to_string(),
                "REAL" => get_f64()?.to_string(),
                _ => get_text()?,
            }),
            ColumnBuilder::Binary(b) => b.append_value(
                row.try_get_unchecked::<Vec<u8>, _>(i)
                    .map_err(|e| err(e.to_string()))?,
            ),
            ColumnBuilder::Date32(b) => {
                let t = get_text()?;
                let d = NaiveDate::parse_from_str(&t, "%Y-%m-%d")
                    .map_err(|_| err(format!("\"{t}\" is not a date")))?;
                b.append_value(
                    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32,
                );
            }
            ColumnBuilder::Date64(b) => {
                let t = get_text()?;
                let ts = NaiveDateTime::parse_from_str(&t, TIMESTAMP_FORMAT)
                    .map_err(|_| err(format!("\"{t}\" is not a timestamp")))?;
                b.append_value(ts.and_utc().timestamp_millis());
            }
            _ => return Err(err("unsupported column type for SQLite".into())),
        }
    }
    Ok(())
}

#[async_trait]
impl Source for SqliteSource {
    async fn list_schemas(&self) -> Result<Vec<String>, SourceError> {
        self.pool().await?;
        Ok(vec![SCHEMA.to_owned()])
    }

    async fn list_tables(
        &self,
        schema: &str,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<TableName>, SourceError> {
        Self::check_schema(schema)?;
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
               AND (?1 IS NULL OR name > ?1) ORDER BY name LIMIT ?2",
        )
        .bind(after)
        .bind(limit.map_or(-1, |l| l as i64))
        .fetch_all(self.pool().await?)
        .await?;
        Ok(names
            .into_iter()
            .map(|t| TableName::new(SCHEMA, t))
            .collect())
    }

    async fn table(&self, name: &TableName) -> Result<TableInfo, SourceError> {
        Self::check_schema(&name.schema_name)?;
        let pool = self.pool().await?;
        let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND lower(name) = lower(?1)")
            .bind(&name.table_name)
            .fetch_all(pool)
            .await?;
        // SQLite is not an official engine: its names are always found ignoring case.
        let table = resolve_name(
            "table",
            None,
            &name.table_name,
            tables,
            CasingMode::CaseInsensitiveSearch,
        )?;
        let rows = sqlx::query("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")
            .bind(&table)
            .fetch_all(pool)
            .await?;
        let mut columns = IndexMap::new();
        for r in rows {
            let (n, t): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            columns.insert(n.clone(), map_column(&Sqlite.quote(&n)?, &n, &t));
        }
        Ok(TableInfo {
            name: TableName::new(SCHEMA, table),
            columns,
        })
    }

    async fn query_columns(&self, query: &str) -> Result<IndexMap<String, Column>, SourceError> {
        let pool = self.pool().await?;
        let q = query.trim().trim_end_matches(';');
        let statement = sqlx::Executor::prepare(
            pool,
            sqlx::SqlSafeStr::into_sql_str(AssertSqlSafe(q.to_owned())),
        )
        .await?;
        let mut columns = IndexMap::new();
        for c in sqlx::Statement::columns(&statement) {
            let name = sqlx::Column::name(c).to_owned();
            let quoted = format!("q.{}", Sqlite.quote(&name)?);
            columns.insert(
                name.clone(),
                map_column(&quoted, &name, sqlx::Column::type_info(c).name()),
            );
        }
        Ok(columns)
    }

    async fn partitions(
        &self,
        _table: &TableInfo,
        _constraints: &Constraints,
    ) -> Result<Vec<IndexMap<String, String>>, SourceError> {
        Ok(vec![super::whole_table()])
    }

    async fn split_partition(
        &self,
        _table: &TableInfo,
        partition: &IndexMap<String, String>,
        _target_bytes: u64,
    ) -> Result<Vec<IndexMap<String, String>>, SourceError> {
        // A local file: one split reads it at disk speed.
        Ok(vec![partition.clone()])
    }

    fn sql(&self, plan: &ReadPlan<'_>) -> Result<Query, SourceError> {
        let columns = plan.columns()?;
        let projection: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let from = Sqlite.qualified(SCHEMA, &plan.table.name.table_name)?;
        Ok(SelectBuilder {
            dialect: &Sqlite,
            from,
            columns: &plan.table.columns,
        }
        .build(&projection, plan.constraints, &[])?)
    }

    async fn read(&self, plan: ReadPlan<'_>, sink: &mut dyn BatchSink) -> Result<(), SourceError> {
        let query = self.sql(&plan)?;
        let names: Vec<String> = plan.columns()?.iter().map(|c| c.name.clone()).collect();
        self.stream(&query.sql, &query.params, plan.schema.clone(), &names, sink)
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
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::TimeUnit;

    #[test]
    fn dates_and_timestamps_bind_as_the_text_their_columns_select() {
        let ts = |value, unit| Scalar::Timestamp {
            value,
            unit,
            tz: Some("+02:00".into()),
        };
        let text = |v: Scalar| datetime_text(&v).unwrap();
        assert_eq!(text(Scalar::Date32(-1)), "1969-12-31");
        assert_eq!(text(Scalar::Date64(-1)), "1969-12-31 23:59:59.999");
        assert_eq!(text(ts(-1, TimeUnit::Second)), "1969-12-31 23:59:59.000");
        assert_eq!(
            text(ts(-1, TimeUnit::Nanosecond)),
            "1969-12-31 23:59:59.999999999"
        );
        assert_eq!(
            text(ts(-1_000, TimeUnit::Nanosecond)),
            "1969-12-31 23:59:59.999999000"
        );
        assert_eq!(
            text(ts(1_500_000, TimeUnit::Microsecond)),
            "1970-01-01 00:00:01.500"
        );
        for v in [
            ts(10_000_000_000_000, TimeUnit::Second),
            ts(253_402_300_800, TimeUnit::Second),
            Scalar::Date64(i64::MIN),
        ] {
            let e = datetime_text(&v).unwrap_err().to_string();
            assert!(e.contains("out of range"), "{e}");
        }
    }
}
