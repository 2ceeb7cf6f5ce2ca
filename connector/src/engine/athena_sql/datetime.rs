//! `date_diff`, `date_add` and `date_trunc` with Trino's calendar semantics.
//!
//! Like Trino (Joda's zoned chronology), units under a day act on the instant and units of
//! a day or more on the wall clock of the value's zone.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Date32Array, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Field, FieldRef, Int64Type, TimeUnit};
use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, Weekday};
use datafusion::common::{exec_datafusion_err, exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::common::{
    coerce_integer, coerce_string, coerce_temporal, map_arrays, naive_to_nanos, LastParsed,
    Temporal, Unit, NANOS_PER_DAY,
};

/// `date_diff(unit, t1, t2)`: whole units from `t1` to `t2`, truncated toward zero.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct DateDiff {
    signature: Signature,
}

impl DateDiff {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateDiff {
    fn name(&self) -> &str {
        "date_diff"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [unit, t1, t2] = args else {
            return plan_err!(
                "date_diff: expected 3 arguments (unit, t1, t2), got {}",
                args.len()
            );
        };
        Ok(vec![
            coerce_string(self.name(), unit)?,
            coerce_temporal(self.name(), t1)?,
            coerce_temporal(self.name(), t2)?,
        ])
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        map_arrays(&args.args, |a| {
            let units = a[0].as_string::<i32>();
            let (k1, k2) = (
                Temporal::of(name, a[1].data_type())?,
                Temporal::of(name, a[2].data_type())?,
            );
            let (r1, r2) = (k1.raw(&a[1])?, k2.raw(&a[2])?);
            let on_date = k1.is_date() || k2.is_date();
            let mut parsed = LastParsed::new();
            let out: Int64Array = units
                .iter()
                .zip(r1.iter().zip(&r2))
                .map(|row| match row {
                    (Some(s), (Some(v1), Some(v2))) => {
                        let unit = *parsed.get(s, |s| Unit::parse_for(name, s, on_date))?;
                        diff(unit, &k1, k1.to_nanos(v1), &k2, k2.to_nanos(v2)).map(Some)
                    }
                    _ => Ok(None),
                })
                .collect::<Result<_>>()?;
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

fn diff(unit: Unit, k1: &Temporal, n1: i128, k2: &Temporal, n2: i128) -> Result<i64> {
    let name = "date_diff";
    let units = match unit.fixed_nanos() {
        Some(step) => (n2 - n1) / step,
        None => {
            let (l1, l2) = (k1.local(name, n1)?, k2.local(name, n2)?);
            match unit {
                Unit::Day => (naive_to_nanos(l2) - naive_to_nanos(l1)) / NANOS_PER_DAY,
                Unit::Week => (naive_to_nanos(l2) - naive_to_nanos(l1)) / (7 * NANOS_PER_DAY),
                Unit::Month => i128::from(month_diff(l1, l2)),
                Unit::Quarter => i128::from(month_diff(l1, l2) / 3),
                _ => i128::from(year_diff(l1, l2)),
            }
        }
    };
    i64::try_from(units).map_err(|_| exec_datafusion_err!("{name}: result is out of range"))
}

/// Joda's month difference: a month ending on its last day counts as a whole month
/// (2012-01-31 to 2012-02-29 is one month).
fn month_diff(from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    if to < from {
        return -month_diff(to, from);
    }
    let mut months =
        i64::from(to.year() - from.year()) * 12 + i64::from(to.month()) - i64::from(from.month());
    let to_day = to.day();
    let from_day = if to_day == u32::from(to.num_days_in_month()) {
        from.day().min(to_day)
    } else {
        from.day()
    };
    if (to_day, to.time()) < (from_day, from.time()) {
        months -= 1;
    }
    months
}

/// Joda's year difference: February 29th lines up with March 1st in other years.
fn year_diff(from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    if to < from {
        return -year_diff(to, from);
    }
    // Days since New Year, `from`'s shifted by the leap day it has and `to` lacks (or the
    // other way round) once past February 28th.
    let mut from_day = i64::from(from.ordinal0());
    if from_day >= 59 {
        from_day += i64::from(to.date().leap_year()) - i64::from(from.date().leap_year());
    }
    let mut years = i64::from(to.year() - from.year());
    if (i64::from(to.ordinal0()), to.time()) < (from_day, from.time()) {
        years -= 1;
    }
    years
}

/// `date_add(unit, value, x)`: same type as `x`; months clamp to the month's last day.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct DateAdd {
    signature: Signature,
}

impl DateAdd {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateAdd {
    fn name(&self) -> &str {
        "date_add"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [unit, value, x] = args else {
            return plan_err!(
                "date_add: expected 3 arguments (unit, value, x), got {}",
                args.len()
            );
        };
        Ok(vec![
            coerce_string(self.name(), unit)?,
            coerce_integer(self.name(), value)?,
            coerce_temporal(self.name(), x)?,
        ])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[2].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        map_arrays(&args.args, |a| {
            let units = a[0].as_string::<i32>();
            let values = a[1].as_primitive::<Int64Type>();
            let kind = Temporal::of(name, a[2].data_type())?;
            let raw = kind.raw(&a[2])?;
            let mut parsed = LastParsed::new();
            let out: Int64Array = units
                .iter()
                .zip(values.iter().zip(&raw))
                .map(|row| match row {
                    (Some(s), (Some(n), Some(v))) => {
                        let unit = *parsed.get(s, |s| Unit::parse_for(name, s, kind.is_date()))?;
                        let nanos = add(unit, &kind, kind.to_nanos(v), n)?;
                        kind.value_of_nanos(name, nanos).map(Some)
                    }
                    _ => Ok(None),
                })
                .collect::<Result<_>>()?;
            kind.build(&out)
        })
    }
}

fn add(unit: Unit, kind: &Temporal, nanos: i128, n: i64) -> Result<i128> {
    let name = "date_add";
    let overflow = || exec_datafusion_err!("{name}: result is out of range");
    if let Some(step) = unit.fixed_nanos() {
        // i64 × at most 3.6e12 ns fits in i128; the result's range is checked by the caller.
        return Ok(nanos + i128::from(n) * step);
    }
    let local = kind.local(name, nanos)?;
    let moved = match unit {
        Unit::Day | Unit::Week => {
            let days = if unit == Unit::Week {
                n.checked_mul(7)
            } else {
                Some(n)
            };
            days.and_then(Duration::try_days)
                .and_then(|d| local.checked_add_signed(d))
        }
        _ => {
            let per = match unit {
                Unit::Quarter => 3,
                Unit::Year => 12,
                _ => 1,
            };
            let months = n.checked_mul(per).ok_or_else(overflow)?;
            let m = u32::try_from(months.unsigned_abs()).map_err(|_| overflow())?;
            if months >= 0 {
                local.checked_add_months(Months::new(m))
            } else {
                local.checked_sub_months(Months::new(m))
            }
        }
    }
    .ok_or_else(overflow)?;
    kind.instant(name, moved)
}

/// `date_trunc(unit, x)`: DataFusion's for timestamps and times; for DATE Trino returns a
/// DATE, which DataFusion's (casting to TIMESTAMP) does not, so dates are handled here.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct DateTrunc {
    signature: Signature,
}

impl DateTrunc {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateTrunc {
    fn name(&self) -> &str {
        "date_trunc"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [unit, x] = args else {
            return plan_err!(
                "date_trunc: expected 2 arguments (unit, x), got {}",
                args.len()
            );
        };
        // DataFusion's implementation reads the unit as any string type.
        let unit = match unit {
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => unit.clone(),
            other => coerce_string(self.name(), other)?,
        };
        let x = match x {
            DataType::Time32(_) | DataType::Time64(_) => x.clone(),
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => {
                DataType::Timestamp(TimeUnit::Nanosecond, None)
            }
            other => coerce_temporal(self.name(), other)?,
        };
        Ok(vec![unit, x])
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        exec_err!("date_trunc: return_field_from_args should be called")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let x = &args.arg_fields[1];
        if x.data_type() == &DataType::Date32 {
            return Ok(Arc::new(Field::new(
                self.name(),
                DataType::Date32,
                x.is_nullable(),
            )));
        }
        datafusion::functions::datetime::date_trunc().return_field_from_args(args)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.args[1].data_type() != DataType::Date32 {
            return datafusion::functions::datetime::date_trunc().invoke_with_args(args);
        }
        let name = self.name();
        map_arrays(&args.args, |a| {
            // The unit may be any string type (see coerce_types).
            let units = cast(&a[0], &DataType::Utf8)?;
            let days = a[1].as_primitive::<Date32Type>();
            let mut parsed = LastParsed::new();
            let out: Date32Array = units
                .as_string::<i32>()
                .iter()
                .zip(days)
                .map(|row| {
                    let (Some(s), Some(day)) = row else {
                        return Ok(None);
                    };
                    let unit = *parsed.get(s, |s| Unit::parse_for(name, s, true))?;
                    Date32Type::to_naive_date_opt(day)
                        .and_then(|date| trunc_date(unit, date))
                        .map(|t| Some(Date32Type::from_naive_date(t)))
                        .ok_or_else(|| exec_datafusion_err!("{name}: date is out of range"))
                })
                .collect::<Result<_>>()?;
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

fn trunc_date(unit: Unit, d: NaiveDate) -> Option<NaiveDate> {
    match unit {
        Unit::Week => d.week(Weekday::Mon).checked_first_day(),
        Unit::Month => d.with_day(1),
        Unit::Quarter => NaiveDate::from_ymd_opt(d.year(), (d.quarter() - 1) * 3 + 1, 1),
        Unit::Year => d.with_ordinal(1),
        _ => Some(d),
    }
}
