//! SQL Server values: constraints' values bound as parameters, and the driver's values
//! (`ColumnData`) decoded into Arrow builders.

#[cfg(test)]
use chrono::NaiveDate;
use chrono::{Datelike, NaiveDateTime};
use tiberius::numeric::Numeric;
use tiberius::time::{Date, DateTime2, Time};
use tiberius::ColumnData;

use crate::protocol::Scalar;
use crate::source::builder::ColumnBuilder;
use crate::sql::timestamp::utc_wall_clock;

/// Days from 0001-01-01 (SQL Server's `date`) to 1970-01-01.
const DAYS_TO_EPOCH_FROM_YEAR_1: i64 = 719_162;
/// Days from 1900-01-01 (`datetime`, `smalldatetime`) to 1970-01-01.
const DAYS_TO_EPOCH_FROM_1900: i64 = 25_567;
const MS_PER_DAY: i64 = 86_400_000;

/// Binds one constraint value as the parameter of its SQL Server type.
pub fn bind(q: &mut tiberius::Query<'_>, v: &Scalar) -> Result<(), String> {
    match v {
        Scalar::Bool(b) => q.bind(*b),
        Scalar::Int8(x) => q.bind(i16::from(*x)),
        Scalar::Int16(x) => q.bind(*x),
        Scalar::Int32(x) => q.bind(*x),
        Scalar::Int64(x) => q.bind(*x),
        Scalar::UInt8(x) => q.bind(i16::from(*x)),
        Scalar::UInt16(x) => q.bind(i32::from(*x)),
        Scalar::UInt32(x) => q.bind(i64::from(*x)),
        Scalar::UInt64(x) => q.bind(Numeric::new_with_scale(i128::from(*x), 0)),
        Scalar::Float32(x) => q.bind(*x),
        Scalar::Float64(x) => q.bind(*x),
        Scalar::Decimal { value, scale, .. } => {
            let scale = u8::try_from(*scale)
                .map_err(|_| format!("{v}: SQL Server decimals have no negative scale"))?;
            q.bind(Numeric::new_with_scale(*value, scale))
        }
        Scalar::Utf8(s) => q.bind(s.clone()),
        Scalar::Binary(b) => q.bind(b.clone()),
        Scalar::Date32(d) => q.bind(
            arrow::temporal_conversions::date32_to_datetime(*d)
                .filter(|t| (1..=9999).contains(&t.year()))
                .ok_or_else(|| out_of_range(v))?
                .date(),
        ),
        // The instant's UTC wall clock, as a datetime2: datetime columns compare with it
        // exactly (they convert up), datetimeoffset columns as the same instant.
        Scalar::Date64(_) | Scalar::Timestamp { .. } => q.bind(
            utc_wall_clock(v)
                .filter(|t: &NaiveDateTime| (1..=9999).contains(&t.year()))
                .ok_or_else(|| out_of_range(v))?,
        ),
    }
    Ok(())
}

fn out_of_range(v: &Scalar) -> String {
    format!("{v} is out of range for SQL Server, whose dates hold years 1 to 9999")
}

/// Appends one value; `Err` says why it does not fit the column.
pub fn append(builder: &mut ColumnBuilder, value: &ColumnData<'_>) -> Result<(), String> {
    use ColumnData as D;
    if is_null(value) {
        builder.append_null();
        return Ok(());
    }
    let wrong = || format!("holds a {} value", kind(value));
    match (builder, value) {
        (ColumnBuilder::Boolean(b), D::Bit(Some(x))) => b.append_value(*x),
        (ColumnBuilder::Int16(b), D::U8(Some(x))) => b.append_value(i16::from(*x)),
        (ColumnBuilder::Int16(b), D::I16(Some(x))) => b.append_value(*x),
        (ColumnBuilder::Int32(b), D::I32(Some(x))) => b.append_value(*x),
        (ColumnBuilder::Int64(b), D::I64(Some(x))) => b.append_value(*x),
        (ColumnBuilder::Float32(b), D::F32(Some(x))) => b.append_value(*x),
        (ColumnBuilder::Float64(b), D::F64(Some(x))) => b.append_value(*x),
        (
            ColumnBuilder::Decimal {
                builder,
                precision,
                scale,
            },
            D::Numeric(Some(n)),
        ) => builder.append_value(rescale(n.value(), n.scale(), *precision, *scale)?),
        (ColumnBuilder::Utf8(b), D::String(Some(s))) => b.append_value(s),
        (ColumnBuilder::Utf8(b), D::Guid(Some(g))) => {
            b.append_value(g.hyphenated().to_string().to_uppercase())
        }
        (ColumnBuilder::Utf8(b), D::Xml(Some(x))) => b.append_value(x.to_string()),
        (ColumnBuilder::Utf8(b), D::Time(Some(t))) => b.append_value(time_text(*t)),
        (ColumnBuilder::Binary(b), D::Binary(Some(x))) => b.append_value(x),
        (ColumnBuilder::Date32(b), D::Date(Some(d))) => {
            b.append_value(epoch_days(*d).try_into().map_err(|_| wrong())?)
        }
        (ColumnBuilder::Date64(b), D::DateTime(Some(t))) => {
            let ms = (i64::from(t.seconds_fragments()) * 10 + 1) / 3;
            b.append_value((i64::from(t.days()) - DAYS_TO_EPOCH_FROM_1900) * MS_PER_DAY + ms)
        }
        (ColumnBuilder::Date64(b), D::SmallDateTime(Some(t))) => b.append_value(
            (i64::from(t.days()) - DAYS_TO_EPOCH_FROM_1900) * MS_PER_DAY
                + i64::from(t.seconds_fragments()) * 60_000,
        ),
        (ColumnBuilder::Date64(b), D::DateTime2(Some(t))) => b.append_value(epoch_millis(*t)),
        // The wire holds the UTC instant and the offset apart: the instant is Athena's value.
        (ColumnBuilder::Date64(b), D::DateTimeOffset(Some(t))) => {
            b.append_value(epoch_millis(t.datetime2()))
        }
        _ => return Err(wrong()),
    }
    Ok(())
}

fn is_null(v: &ColumnData<'_>) -> bool {
    use ColumnData as D;
    match v {
        D::U8(x) => x.is_none(),
        D::I16(x) => x.is_none(),
        D::I32(x) => x.is_none(),
        D::I64(x) => x.is_none(),
        D::F32(x) => x.is_none(),
        D::F64(x) => x.is_none(),
        D::Bit(x) => x.is_none(),
        D::String(x) => x.is_none(),
        D::Guid(x) => x.is_none(),
        D::Binary(x) => x.is_none(),
        D::Numeric(x) => x.is_none(),
        D::Xml(x) => x.is_none(),
        D::DateTime(x) => x.is_none(),
        D::SmallDateTime(x) => x.is_none(),
        D::Time(x) => x.is_none(),
        D::Date(x) => x.is_none(),
        D::DateTime2(x) => x.is_none(),
        D::DateTimeOffset(x) => x.is_none(),
    }
}

fn kind(v: &ColumnData<'_>) -> &'static str {
    use ColumnData as D;
    match v {
        D::U8(_) => "tinyint",
        D::I16(_) => "smallint",
        D::I32(_) => "int",
        D::I64(_) => "bigint",
        D::F32(_) => "real",
        D::F64(_) => "float",
        D::Bit(_) => "bit",
        D::String(_) => "string",
        D::Guid(_) => "uniqueidentifier",
        D::Binary(_) => "binary",
        D::Numeric(_) => "decimal",
        D::Xml(_) => "xml",
        D::DateTime(_) => "datetime",
        D::SmallDateTime(_) => "smalldatetime",
        D::Time(_) => "time",
        D::Date(_) => "date",
        D::DateTime2(_) => "datetime2",
        D::DateTimeOffset(_) => "datetimeoffset",
    }
}

/// An unscaled decimal at `from` scale, at the column's `to` scale (rounded half up when
/// digits are dropped), within its precision.
fn rescale(value: i128, from: u8, precision: u8, to: i8) -> Result<i128, String> {
    let to = u8::try_from(to).map_err(|_| format!("decimal scale {to} is negative"))?;
    let overflow = || format!("{value}e-{from} does not fit decimal({precision},{to})");
    let scaled = if to >= from {
        10i128
            .checked_pow(u32::from(to - from))
            .and_then(|f| value.checked_mul(f))
            .ok_or_else(overflow)?
    } else {
        let f = 10i128
            .checked_pow(u32::from(from - to))
            .ok_or_else(overflow)?;
        let (q, r) = (value / f, value % f);
        if r.unsigned_abs() * 2 >= f.unsigned_abs() {
            q + value.signum()
        } else {
            q
        }
    };
    if 10u128
        .checked_pow(u32::from(precision))
        .is_some_and(|limit| scaled.unsigned_abs() >= limit)
    {
        return Err(overflow());
    }
    Ok(scaled)
}

fn epoch_days(d: Date) -> i64 {
    i64::from(d.days()) - DAYS_TO_EPOCH_FROM_YEAR_1
}

/// A time of day in milliseconds (floored: Athena's timestamps hold milliseconds).
fn time_millis(t: Time) -> i64 {
    let increments = t.increments() as i64;
    match t.scale() {
        s if s >= 3 => increments / 10i64.pow(u32::from(s) - 3),
        s => increments * 10i64.pow(3 - u32::from(s)),
    }
}

fn epoch_millis(t: DateTime2) -> i64 {
    epoch_days(t.date()) * MS_PER_DAY + time_millis(t.time())
}

/// `hh:mm:ss.fffffff`, as the server writes a `time(7)`.
fn time_text(t: Time) -> String {
    let scale = u32::from(t.scale());
    let ticks = t.increments() as u128 * 10u128.pow(7 - scale.min(7));
    let (secs, frac) = (ticks / 10_000_000, ticks % 10_000_000);
    format!(
        "{:02}:{:02}:{:02}.{frac:07}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The date a `date` value is, for tests and messages.
#[cfg(test)]
fn naive_date(d: Date) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(epoch_days(d))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Date32Type, Date64Type, Decimal128Type, Int16Type};
    use tiberius::time::{DateTime, DateTimeOffset, SmallDateTime};

    use super::*;

    fn decoded(data_type: DataType, values: &[ColumnData<'_>]) -> arrow::array::ArrayRef {
        let mut b = ColumnBuilder::new(&data_type).expect("buildable");
        for v in values {
            append(&mut b, v).unwrap();
        }
        b.finish()
    }

    #[test]
    fn dates_before_1970_and_at_the_ends_of_the_calendar_are_exact() {
        // 0001-01-01, 1969-12-31, 9999-12-31 as days since 0001-01-01.
        let days = [0u32, 719_161, 3_652_058];
        let a = decoded(
            DataType::Date32,
            &days.map(|d| ColumnData::Date(Some(Date::new(d)))),
        );
        let got: Vec<i32> = a.as_primitive::<Date32Type>().values().to_vec();
        assert_eq!(got, [-719_162, -1, 2_932_896]);
        assert_eq!(
            naive_date(Date::new(719_161)),
            NaiveDate::from_ymd_opt(1969, 12, 31).unwrap()
        );
    }

    #[test]
    fn timestamps_of_every_kind_are_epoch_milliseconds() {
        // 1969-12-31 23:59:59.997 as datetime: day -1 from 1900 epoch... (25566 days, 3/300 s
        // fragments: 86399 s * 300 + 299 = 25_919_999 fragments).
        let dt = ColumnData::DateTime(Some(DateTime::new(25_566, 25_919_999)));
        // 1970-01-01 00:01 as smalldatetime.
        let sdt = ColumnData::SmallDateTime(Some(SmallDateTime::new(25_567, 1)));
        // 2024-02-29 12:00:00.1234567 as datetime2(7).
        let d2 = DateTime2::new(Date::new(738_944), Time::new(432_001_234_567, 7));
        // The same instant as a datetimeoffset written at +02:00 (the wire holds UTC).
        let dto = ColumnData::DateTimeOffset(Some(DateTimeOffset::new(d2, 120)));
        let a = decoded(
            DataType::Date64,
            &[
                dt,
                sdt,
                ColumnData::DateTime2(Some(d2)),
                dto,
                ColumnData::DateTime2(None),
            ],
        );
        let a = a.as_primitive::<Date64Type>();
        assert_eq!(a.values()[0], -3); // .997: 299 fragments round to 997 ms
        assert_eq!(a.values()[1], 60_000);
        let noon = NaiveDate::from_ymd_opt(2024, 2, 29)
            .unwrap()
            .and_hms_milli_opt(12, 0, 0, 123)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        assert_eq!((a.values()[2], a.values()[3]), (noon, noon));
        assert!(a.is_null(4));
    }

    #[test]
    fn decimals_take_the_columns_scale_and_refuse_what_does_not_fit() {
        let n = |v: i128, s: u8| ColumnData::Numeric(Some(Numeric::new_with_scale(v, s)));
        let a = decoded(
            DataType::Decimal128(10, 2),
            &[n(12345, 3), n(-12345, 3), n(7, 0)],
        );
        assert_eq!(
            a.as_primitive::<Decimal128Type>().values().to_vec(),
            [1235, -1235, 700]
        );
        let mut b = ColumnBuilder::new(&DataType::Decimal128(3, 0)).unwrap();
        assert_eq!(
            append(&mut b, &n(1000, 0)).unwrap_err(),
            "1000e-0 does not fit decimal(3,0)"
        );
        // 38 digits, the most SQL Server holds.
        let max = 10i128.pow(38) - 1;
        let a = decoded(DataType::Decimal128(38, 0), &[n(max, 0)]);
        assert_eq!(a.as_primitive::<Decimal128Type>().value(0), max);
    }

    #[test]
    fn small_values_widen_and_mismatches_are_named() {
        let a = decoded(
            DataType::Int16,
            &[
                ColumnData::U8(Some(255)),
                ColumnData::I16(Some(-7)),
                ColumnData::U8(None),
            ],
        );
        let a = a.as_primitive::<Int16Type>();
        assert_eq!((a.value(0), a.value(1), a.is_null(2)), (255, -7, true));
        let mut b = ColumnBuilder::new(&DataType::Int32).unwrap();
        assert_eq!(
            append(&mut b, &ColumnData::String(Some(Cow::Borrowed("x")))).unwrap_err(),
            "holds a string value"
        );
        let g = tiberius::Uuid::parse_str("6f9619ff-8b86-d011-b42d-00c04fc964ff").unwrap();
        let t = decoded(
            DataType::Utf8,
            &[
                ColumnData::Guid(Some(g)),
                ColumnData::Time(Some(Time::new(452_961_234_567, 7))),
            ],
        );
        let t = t.as_string::<i32>();
        assert_eq!(t.value(0), "6F9619FF-8B86-D011-B42D-00C04FC964FF");
        assert_eq!(t.value(1), "12:34:56.1234567");
    }
}
