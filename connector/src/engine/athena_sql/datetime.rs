//! `date_diff`, `date_add` and `date_trunc` with Trino's calendar semantics.
//!
//! Like Trino (Joda's zoned chronology), units under a day act on the instant and units of
//! a day or more on the wall clock of the value's zone.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::{DataType, Field, FieldRef};
use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime};
use datafusion::common::{exec_datafusion_err, exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::common::{
    coerce_integer, coerce_string, coerce_temporal, days_in_month, map_arrays, naive_to_nanos,
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
            let mut out = Vec::with_capacity(r1.len());
            for i in 0..r1.len() {
                if units.is_null(i) || r1.is_null(i) || r2.is_null(i) {
                    out.push(None);
                    continue;
                }
                let s = units.value(i);
                let unit = Unit::parse(name, s)?;
                unit.check_date(name, s, &k1)?;
                unit.check_date(name, s, &k2)?;
                let (n1, n2) = (k1.to_nanos(r1.value(i)), k2.to_nanos(r2.value(i)));
                out.push(Some(diff(unit, &k1, n1, &k2, n2)?));
            }
            Ok(Arc::new(Int64Array::from(out)) as ArrayRef)
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
    let from_day = if to_day == days_in_month(to.year(), to.month()) {
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
    let since_new_year = |t: NaiveDateTime| {
        let jan1 = NaiveDate::from_ymd_opt(t.year(), 1, 1).unwrap_or(t.date());
        naive_to_nanos(t) - naive_to_nanos(jan1.and_time(NaiveTime::MIN))
    };
    let leap = |y: i32| NaiveDate::from_ymd_opt(y, 2, 29).is_some();
    let to_rem = since_new_year(to);
    let mut from_rem = since_new_year(from);
    if from_rem >= 59 * NANOS_PER_DAY {
        if leap(from.year()) && !leap(to.year()) {
            from_rem -= NANOS_PER_DAY;
        } else if !leap(from.year()) && leap(to.year()) {
            from_rem += NANOS_PER_DAY;
        }
    }
    let mut years = i64::from(to.year() - from.year());
    if to_rem < from_rem {
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
            let values = a[1].as_primitive::<arrow::datatypes::Int64Type>();
            let kind = Temporal::of(name, a[2].data_type())?;
            let raw = kind.raw(&a[2])?;
            let mut out = Vec::with_capacity(raw.len());
            for i in 0..raw.len() {
                if units.is_null(i) || values.is_null(i) || raw.is_null(i) {
                    out.push(None);
                    continue;
                }
                let s = units.value(i);
                let unit = Unit::parse(name, s)?;
                unit.check_date(name, s, &kind)?;
                let nanos = add(unit, &kind, kind.to_nanos(raw.value(i)), values.value(i))?;
                out.push(Some(kind.value_of_nanos(name, nanos)?));
            }
            kind.build(out)
        })
    }
}

fn add(unit: Unit, kind: &Temporal, nanos: i128, n: i64) -> Result<i128> {
    let name = "date_add";
    let overflow = || exec_datafusion_err!("{name}: result is out of range");
    if let Some(step) = unit.fixed_nanos() {
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
    Ok(kind.instant(moved))
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
                DataType::Timestamp(arrow::datatypes::TimeUnit::Nanosecond, None)
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
            let units = cast_utf8(&a[0])?;
            let units = units.as_string::<i32>();
            let days = a[1].as_primitive::<arrow::datatypes::Date32Type>();
            let mut out = Vec::with_capacity(days.len());
            for i in 0..days.len() {
                if units.is_null(i) || days.is_null(i) {
                    out.push(None);
                    continue;
                }
                let s = units.value(i);
                let unit = Unit::parse(name, s)?;
                unit.check_date(name, s, &Temporal::Date)?;
                let date = NaiveDate::from_num_days_from_ce_opt(days.value(i) + EPOCH_CE_DAYS)
                    .ok_or_else(|| exec_datafusion_err!("{name}: date is out of range"))?;
                let t = trunc_date(unit, date)
                    .ok_or_else(|| exec_datafusion_err!("{name}: date is out of range"))?;
                out.push(Some(i64::from(t.num_days_from_ce() - EPOCH_CE_DAYS)));
            }
            Temporal::Date.build(out)
        })
    }
}

/// Days from 0001-01-01 (chrono's CE day 1) to 1970-01-01.
const EPOCH_CE_DAYS: i32 = 719_163;

fn trunc_date(unit: Unit, d: NaiveDate) -> Option<NaiveDate> {
    match unit {
        Unit::Week => d.checked_sub_signed(Duration::days(i64::from(
            d.weekday().num_days_from_monday(),
        ))),
        Unit::Month => d.with_day(1),
        Unit::Quarter => NaiveDate::from_ymd_opt(d.year(), (d.month() - 1) / 3 * 3 + 1, 1),
        Unit::Year => NaiveDate::from_ymd_opt(d.year(), 1, 1),
        _ => Some(d),
    }
}

fn cast_utf8(a: &ArrayRef) -> Result<ArrayRef> {
    Ok(arrow::compute::cast(a, &DataType::Utf8)?)
}
