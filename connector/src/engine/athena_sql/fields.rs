//! Trino's one-field extractors (`year(x)`, `day_of_week(x)`, ...), each a BIGINT read
//! from the wall clock of the value's zone: arrow's `date_part` kernel, widened.

use arrow::array::Array;
use arrow::compute::{cast, date_part, DatePart};
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::common::{coerce_temporal, map_arrays};

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

    /// Arrow's equivalent (arrow's `DatePart` is not `Hash`, which UDFs need).
    fn arrow(self) -> DatePart {
        match self {
            Part::Year => DatePart::Year,
            Part::Quarter => DatePart::Quarter,
            Part::Month => DatePart::Month,
            Part::Week => DatePart::WeekISO,
            Part::Day => DatePart::Day,
            Part::DayOfWeek => DatePart::DayOfWeekMonday1,
            Part::DayOfYear => DatePart::DayOfYear,
            Part::YearOfWeek => DatePart::YearISO,
            Part::Hour => DatePart::Hour,
            Part::Minute => DatePart::Minute,
            Part::Second => DatePart::Second,
            Part::Millisecond => DatePart::Millisecond,
        }
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
            let parts = date_part(&a[0], self.part.arrow())?;
            // Arrow gives NULL for values beyond chrono's range (±262,143 years).
            if parts.null_count() != a[0].null_count() {
                return exec_err!("{}: timestamp is out of range", self.name);
            }
            Ok(cast(&parts, &DataType::Int64)?)
        })
    }
}
