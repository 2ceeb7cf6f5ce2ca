//! SQLite values: constraints' values bound as parameters, and rows decoded by each
//! value's storage class.

use chrono::{NaiveDate, NaiveDateTime};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, TypeInfo, ValueRef};

use crate::protocol::{format_decimal, Scalar};
use crate::source::builder::{BatchBuilder, ColumnBuilder};
use crate::source::decimal::parse_decimal;
use crate::source::SourceError;

const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.3f";

/// Binds one constraint value.
pub fn bind<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, SqliteArguments>,
    p: &Scalar,
) -> Result<sqlx::query::Query<'q, sqlx::Sqlite, SqliteArguments>, SourceError> {
    Ok(match p {
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
    })
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

pub fn decode_row(
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
                builder.append_value(parse_decimal(&text, *precision, *scale).map_err(err)?);
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
