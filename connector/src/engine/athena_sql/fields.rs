//! Trino's one-field extractors (`year(x)`, `day_of_week(x)`, ...), each a BIGINT read
//! from the wall clock of the value's zone.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array};
use arrow::datatypes::DataType;
use chrono::{Datelike, NaiveDateTime, Timelike};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::common::{coerce_temporal, map_arrays, Temporal};

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum Part {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    DayOfWeek,
    DayOfYear,
    YearOfWeek,
    Hour,
    Minute,
    Second,
    Millisecond,
}

impl Part {
    fn of_time(self) -> bool {
        matches!(
            self,
            Part::Hour | Part::Minute | Part::Second | Part::Millisecond
        )
    }

    fn get(self, t: NaiveDateTime) -> i64 {
        i64::from(match self {
            Part::Year => t.year(),
            Part::Quarter => (t.month0() / 3 + 1) as i32,
            Part::Month => t.month() as i32,
            Part::Week => t.iso_week().week() as i32,
            Part::Day => t.day() as i32,
            Part::DayOfWeek => t.weekday().number_from_monday() as i32,
            Part::DayOfYear => t.ordinal() as i32,
            Part::YearOfWeek => t.iso_week().year(),
            Part::Hour => t.hour() as i32,
            Part::Minute => t.minute() as i32,
            Part::Second => t.second() as i32,
            Part::Millisecond => (t.nanosecond() % 1_000_000_000 / 1_000_000) as i32,
        })
    }
}

/// All extractors with their Trino aliases.
pub(super) fn udfs() -> Vec<ScalarUDF> {
    [
        ("year", Part::Year, &[][..]),
        ("quarter", Part::Quarter, &[]),
        ("month", Part::Month, &[]),
        ("week", Part::Week, &["week_of_year"]),
        ("day", Part::Day, &["day_of_month"]),
        ("day_of_week", Part::DayOfWeek, &["dow"]),
        ("day_of_year", Part::DayOfYear, &["doy"]),
        ("year_of_week", Part::YearOfWeek, &["yow"]),
        ("hour", Part::Hour, &[]),
        ("minute", Part::Minute, &[]),
        ("second", Part::Second, &[]),
        ("millisecond", Part::Millisecond, &[]),
    ]
    .into_iter()
    .map(|(name, part, aliases)| {
        ScalarUDF::new_from_impl(Extract {
            name,
            part,
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            signature: Signature::user_defined(Volatility::Immutable),
        })
    })
    .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Extract {
    name: &'static str,
    part: Part,
    aliases: Vec<String>,
    signature: Signature,
}

impl ScalarUDFImpl for Extract {
    fn name(&self) -> &str {
        self.name
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [x] = args else {
            return plan_err!("{}: expected 1 argument, got {}", self.name, args.len());
        };
        Ok(vec![coerce_temporal(self.name, x)?])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if self.part.of_time() && args.first() == Some(&DataType::Date32) {
            return plan_err!("{}: unexpected argument type DATE", self.name);
        }
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_arrays(&args.args, |a| {
            let kind = Temporal::of(self.name, a[0].data_type())?;
            let raw = kind.raw(&a[0])?;
            let mut out = Vec::with_capacity(raw.len());
            for i in 0..raw.len() {
                if raw.is_null(i) {
                    out.push(None);
                } else {
                    let local = kind.local(self.name, kind.to_nanos(raw.value(i)))?;
                    out.push(Some(self.part.get(local)));
                }
            }
            Ok(Arc::new(Int64Array::from(out)) as ArrayRef)
        })
    }
}
