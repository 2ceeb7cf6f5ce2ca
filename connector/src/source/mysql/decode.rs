//! MySQL and MariaDB values: constraints' values bound as parameters, and result rows
//! decoded into Arrow builders.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use sqlx::mysql::MySqlRow;
use sqlx::{Column as _, Row, TypeInfo};

use crate::config::ZeroDates;
use crate::protocol::Scalar;
use crate::source::builder::{BatchBuilder, ColumnBuilder};
use crate::source::decimal::parse_decimal;
use crate::source::SourceError;
use crate::sql::timestamp::utc_wall_clock;

pub fn bind<'q>(
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
pub fn decode_row(
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
