//! Shared plumbing: argument broadcasting, temporal values as nanoseconds, and Trino's
//! date/time units.

use std::sync::Arc;

use arrow::array::timezone::Tz;
use arrow::array::{
    ArrayRef, AsArray, Date32Array, Int64Array, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, TimeUnit};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone};
use datafusion::common::{exec_datafusion_err, exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::ColumnarValue;

pub(super) const NANOS_PER_SECOND: i128 = 1_000_000_000;
pub(super) const NANOS_PER_DAY: i128 = 86_400 * NANOS_PER_SECOND;

/// Runs `f` over the arguments broadcast to arrays of one length, and gives back a scalar
/// when every argument was one (so constant folding keeps working).
pub(super) fn map_arrays(
    args: &[ColumnarValue],
    f: impl FnOnce(&[ArrayRef]) -> Result<ArrayRef>,
) -> Result<ColumnarValue> {
    let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let arrays = ColumnarValue::values_to_arrays(args)?;
    let out = f(&arrays)?;
    if all_scalar {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
    } else {
        Ok(ColumnarValue::Array(out))
    }
}

/// Any string type is read as Utf8; NULL literals become Utf8 nulls.
pub(super) fn coerce_string(name: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            Ok(DataType::Utf8)
        }
        DataType::Dictionary(_, v) if v.is_string() => Ok(DataType::Utf8),
        other => plan_err!("{name}: expected a varchar argument, got {other}"),
    }
}

pub(super) fn coerce_integer(name: &str, t: &DataType) -> Result<DataType> {
    if t.is_integer() || t.is_null() {
        Ok(DataType::Int64)
    } else {
        plan_err!("{name}: expected an integer argument, got {t}")
    }
}

/// DATE and TIMESTAMP (any unit, any zone) are taken as they are; Date64 (the federation
/// SDK's DATEMILLI, which Athena reads as TIMESTAMP) becomes a millisecond timestamp, and an
/// untyped NULL a plain timestamp.
pub(super) fn coerce_temporal(name: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Date32 | DataType::Timestamp(_, _) => Ok(t.clone()),
        DataType::Date64 => Ok(DataType::Timestamp(TimeUnit::Millisecond, None)),
        DataType::Null => Ok(DataType::Timestamp(TimeUnit::Nanosecond, None)),
        other => plan_err!("{name}: expected a date or timestamp argument, got {other}"),
    }
}

/// A DATE or TIMESTAMP column's type, with its zone parsed once.
#[derive(Clone, Debug)]
pub(super) enum Temporal {
    Date,
    Timestamp(TimeUnit, Option<Arc<str>>, Option<Tz>),
}

impl Temporal {
    pub(super) fn of(name: &str, t: &DataType) -> Result<Temporal> {
        match t {
            DataType::Date32 => Ok(Temporal::Date),
            DataType::Timestamp(unit, tz) => {
                let zone = match tz {
                    Some(s) => Some(parse_zone(name, s)?),
                    None => None,
                };
                Ok(Temporal::Timestamp(*unit, tz.clone(), zone))
            }
            other => exec_err!("{name}: expected a date or timestamp argument, got {other}"),
        }
    }

    pub(super) fn is_date(&self) -> bool {
        matches!(self, Temporal::Date)
    }

    pub(super) fn zone(&self) -> Option<&Tz> {
        match self {
            Temporal::Timestamp(_, _, z) => z.as_ref(),
            Temporal::Date => None,
        }
    }

    /// Nanoseconds per stored tick.
    fn factor(&self) -> i128 {
        match self {
            Temporal::Date => NANOS_PER_DAY,
            Temporal::Timestamp(u, _, _) => unit_nanos(*u),
        }
    }

    /// The stored values as i64 ticks (days or timestamp units).
    pub(super) fn raw(&self, array: &ArrayRef) -> Result<Int64Array> {
        match self {
            Temporal::Date => Ok(array.as_primitive::<Date32Type>().unary(i64::from)),
            Temporal::Timestamp(..) => Ok(cast(array, &DataType::Int64)?.as_primitive().clone()),
        }
    }

    /// Epoch nanoseconds of a stored value (i128 so no unit can overflow).
    pub(super) fn to_nanos(&self, raw: i64) -> i128 {
        i128::from(raw) * self.factor()
    }

    /// Stored ticks for epoch nanoseconds, flooring to the type's precision.
    pub(super) fn value_of_nanos(&self, name: &str, nanos: i128) -> Result<i64> {
        let ticks = nanos.div_euclid(self.factor());
        match self {
            Temporal::Date => i32::try_from(ticks).map(i64::from).ok(),
            Temporal::Timestamp(..) => i64::try_from(ticks).ok(),
        }
        .ok_or_else(|| exec_datafusion_err!("{name}: result is out of range"))
    }

    /// Builds an array of this type from stored ticks.
    pub(super) fn build(&self, values: Vec<Option<i64>>) -> Result<ArrayRef> {
        Ok(match self {
            Temporal::Date => Arc::new(Date32Array::from(
                values
                    .into_iter()
                    .map(|v| v.and_then(|d| i32::try_from(d).ok()))
                    .collect::<Vec<_>>(),
            )),
            Temporal::Timestamp(unit, tz, _) => {
                let tz = tz.clone();
                match unit {
                    TimeUnit::Second => {
                        Arc::new(TimestampSecondArray::from(values).with_timezone_opt(tz))
                    }
                    TimeUnit::Millisecond => {
                        Arc::new(TimestampMillisecondArray::from(values).with_timezone_opt(tz))
                    }
                    TimeUnit::Microsecond => {
                        Arc::new(TimestampMicrosecondArray::from(values).with_timezone_opt(tz))
                    }
                    TimeUnit::Nanosecond => {
                        Arc::new(TimestampNanosecondArray::from(values).with_timezone_opt(tz))
                    }
                }
            }
        })
    }

    /// Wall-clock time of an instant: in the column's zone, or as stored when it has none.
    pub(super) fn local(&self, name: &str, nanos: i128) -> Result<NaiveDateTime> {
        let utc = naive_from_nanos(name, nanos)?;
        Ok(match self.zone() {
            Some(tz) => tz.from_utc_datetime(&utc).naive_local(),
            None => utc,
        })
    }

    /// The instant of a wall-clock time; in a DST gap the offset before the gap is used.
    pub(super) fn instant(&self, local: NaiveDateTime) -> i128 {
        let utc = match self.zone() {
            Some(tz) => match tz.from_local_datetime(&local).earliest() {
                Some(dt) => dt.naive_utc(),
                None => local - tz.offset_from_utc_datetime(&local).fix(),
            },
            None => local,
        };
        naive_to_nanos(utc)
    }
}

pub(super) fn parse_zone(name: &str, s: &str) -> Result<Tz> {
    s.parse::<Tz>()
        .map_err(|e| exec_datafusion_err!("{name}: invalid time zone '{s}': {e}"))
}

pub(super) fn unit_nanos(unit: TimeUnit) -> i128 {
    match unit {
        TimeUnit::Second => NANOS_PER_SECOND,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

pub(super) fn naive_from_nanos(name: &str, nanos: i128) -> Result<NaiveDateTime> {
    let secs = i64::try_from(nanos.div_euclid(NANOS_PER_SECOND)).ok();
    let sub = u32::try_from(nanos.rem_euclid(NANOS_PER_SECOND)).ok();
    secs.zip(sub)
        .and_then(|(s, n)| DateTime::from_timestamp(s, n))
        .map(|dt| dt.naive_utc())
        .ok_or_else(|| exec_datafusion_err!("{name}: timestamp is out of range"))
}

pub(super) fn naive_to_nanos(t: NaiveDateTime) -> i128 {
    let utc = t.and_utc();
    i128::from(utc.timestamp()) * NANOS_PER_SECOND + i128::from(utc.timestamp_subsec_nanos())
}

pub(super) fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map(|d| d.day())
        .unwrap_or(31)
}

/// Trino's date/time units (`date_add`, `date_diff`, `date_trunc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unit {
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    pub(super) fn parse(name: &str, s: &str) -> Result<Unit> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "millisecond" => Unit::Millisecond,
            "second" => Unit::Second,
            "minute" => Unit::Minute,
            "hour" => Unit::Hour,
            "day" => Unit::Day,
            "week" => Unit::Week,
            "month" => Unit::Month,
            "quarter" => Unit::Quarter,
            "year" => Unit::Year,
            _ => return exec_err!("{name}: unknown unit '{s}'"),
        })
    }

    /// Units shorter than a day are exact durations; longer ones follow the calendar.
    pub(super) fn fixed_nanos(self) -> Option<i128> {
        match self {
            Unit::Millisecond => Some(1_000_000),
            Unit::Second => Some(NANOS_PER_SECOND),
            Unit::Minute => Some(60 * NANOS_PER_SECOND),
            Unit::Hour => Some(3_600 * NANOS_PER_SECOND),
            _ => None,
        }
    }

    /// Rejects time units on DATE values, as Trino does ("'hour' is not a valid DATE field").
    pub(super) fn check_date(self, name: &str, s: &str, t: &Temporal) -> Result<()> {
        if t.is_date() && self.fixed_nanos().is_some() {
            return exec_err!("{name}: '{s}' is not a valid DATE field");
        }
        Ok(())
    }
}
