//! Shared plumbing: argument broadcasting, temporal values as nanoseconds, and Trino's
//! date/time units.

use arrow::array::timezone::Tz;
use arrow::array::{ArrayRef, AsArray, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDateTime, Offset, TimeZone};
use datafusion::common::{exec_datafusion_err, exec_err, plan_err, Result};
use datafusion::functions::utils::make_scalar_function;
use datafusion::logical_expr::ColumnarValue;

pub(super) const NANOS_PER_SECOND: i128 = 1_000_000_000;
pub(super) const NANOS_PER_DAY: i128 = 86_400 * NANOS_PER_SECOND;

/// Runs `f` over the arguments broadcast to arrays of one length, and gives back a scalar
/// when every argument was one (so constant folding keeps working): DataFusion's
/// `make_scalar_function` without hints.
pub(super) fn map_arrays(
    args: &[ColumnarValue],
    f: impl Fn(&[ArrayRef]) -> Result<ArrayRef>,
) -> Result<ColumnarValue> {
    make_scalar_function(f, vec![])(args)
}

/// The value parsed from the last string seen, so that a unit or format given as a literal
/// (the same string on every row) is parsed once per batch, not once per row.
pub(super) struct LastParsed<T> {
    last: Option<(String, T)>,
}

impl<T> LastParsed<T> {
    pub(super) fn new() -> Self {
        Self { last: None }
    }

    pub(super) fn get(&mut self, key: &str, parse: impl FnOnce(&str) -> Result<T>) -> Result<&T> {
        let entry = match self.last.take() {
            Some((k, v)) if k == key => (k, v),
            _ => (key.to_string(), parse(key)?),
        };
        Ok(&self.last.insert(entry).1)
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

/// A DATE or TIMESTAMP column's type, with its tick length and zone worked out once.
#[derive(Clone, Debug)]
pub(super) struct Temporal {
    data_type: DataType,
    /// Nanoseconds per stored tick (a day for DATE).
    factor: i128,
    zone: Option<Tz>,
}

impl Temporal {
    pub(super) fn of(name: &str, t: &DataType) -> Result<Temporal> {
        let (factor, zone) = match t {
            DataType::Date32 => (NANOS_PER_DAY, None),
            DataType::Timestamp(unit, tz) => (
                unit_nanos(*unit),
                tz.as_deref().map(|s| parse_zone(name, s)).transpose()?,
            ),
            other => {
                return exec_err!("{name}: expected a date or timestamp argument, got {other}")
            }
        };
        Ok(Temporal {
            data_type: t.clone(),
            factor,
            zone,
        })
    }

    pub(super) fn is_date(&self) -> bool {
        self.data_type == DataType::Date32
    }

    /// The stored values as i64 ticks (days or timestamp units).
    pub(super) fn raw(&self, array: &ArrayRef) -> Result<Int64Array> {
        Ok(cast(array, &DataType::Int64)?.as_primitive().clone())
    }

    /// Epoch nanoseconds of a stored value (i128 so no unit can overflow).
    pub(super) fn to_nanos(&self, raw: i64) -> i128 {
        i128::from(raw) * self.factor
    }

    /// Stored ticks for epoch nanoseconds, flooring to the type's precision.
    pub(super) fn value_of_nanos(&self, name: &str, nanos: i128) -> Result<i64> {
        let ticks = nanos.div_euclid(self.factor);
        if self.is_date() {
            i32::try_from(ticks).map(i64::from).ok()
        } else {
            i64::try_from(ticks).ok()
        }
        .ok_or_else(|| exec_datafusion_err!("{name}: result is out of range"))
    }

    /// Builds an array of this type from stored ticks.
    pub(super) fn build(&self, ticks: &Int64Array) -> Result<ArrayRef> {
        Ok(cast(ticks, &self.data_type)?)
    }

    /// Wall-clock time of an instant: in the column's zone, or as stored when it has none.
    pub(super) fn local(&self, name: &str, nanos: i128) -> Result<NaiveDateTime> {
        let utc = naive_from_nanos(name, nanos)?;
        Ok(match &self.zone {
            Some(tz) => tz.from_utc_datetime(&utc).naive_local(),
            None => utc,
        })
    }

    /// The instant of a wall-clock time; in a DST gap the offset before the gap is used.
    pub(super) fn instant(&self, name: &str, local: NaiveDateTime) -> Result<i128> {
        let utc = match &self.zone {
            Some(tz) => match tz.from_local_datetime(&local).earliest() {
                Some(dt) => Some(dt.naive_utc()),
                None => local.checked_sub_offset(tz.offset_from_utc_datetime(&local).fix()),
            },
            None => Some(local),
        };
        utc.map(naive_to_nanos)
            .ok_or_else(|| exec_datafusion_err!("{name}: result is out of range"))
    }
}

pub(super) fn parse_zone(name: &str, s: &str) -> Result<Tz> {
    s.parse::<Tz>()
        .map_err(|e| exec_datafusion_err!("{name}: invalid time zone '{s}': {e}"))
}

fn unit_nanos(unit: TimeUnit) -> i128 {
    match unit {
        TimeUnit::Second => NANOS_PER_SECOND,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

fn naive_from_nanos(name: &str, nanos: i128) -> Result<NaiveDateTime> {
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
    fn parse(name: &str, s: &str) -> Result<Unit> {
        const NAMES: [(&str, Unit); 9] = [
            ("millisecond", Unit::Millisecond),
            ("second", Unit::Second),
            ("minute", Unit::Minute),
            ("hour", Unit::Hour),
            ("day", Unit::Day),
            ("week", Unit::Week),
            ("month", Unit::Month),
            ("quarter", Unit::Quarter),
            ("year", Unit::Year),
        ];
        match NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
            Some(&(_, unit)) => Ok(unit),
            None => exec_err!("{name}: unknown unit '{s}'"),
        }
    }

    /// Parses a unit, rejecting time units when a value is a DATE, as Trino does ("'hour'
    /// is not a valid DATE field").
    pub(super) fn parse_for(name: &str, s: &str, on_date: bool) -> Result<Unit> {
        let unit = Unit::parse(name, s)?;
        if on_date && unit.fixed_nanos().is_some() {
            return exec_err!("{name}: '{s}' is not a valid DATE field");
        }
        Ok(unit)
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
}
