//! `to_unixtime`, `from_unixtime` and `current_timezone`, which DataFusion either lacks or
//! types differently (its `to_unixtime` gives whole seconds as BIGINT, its `from_unixtime`
//! takes BIGINT seconds).

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Field, FieldRef, Float64Type, TimeUnit, TimestampMillisecondType,
};
use datafusion::common::{exec_datafusion_err, exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::common::{coerce_string, coerce_temporal, map_arrays, parse_zone, Temporal};

/// `to_unixtime(timestamp)` → DOUBLE seconds since the epoch, fraction included.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct ToUnixtime {
    signature: Signature,
}

impl ToUnixtime {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ToUnixtime {
    fn name(&self) -> &str {
        "to_unixtime"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [x] = args else {
            return plan_err!("to_unixtime: expected 1 argument, got {}", args.len());
        };
        Ok(vec![coerce_temporal(self.name(), x)?])
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_arrays(&args.args, |a| {
            let kind = Temporal::of(self.name(), a[0].data_type())?;
            let raw = kind.raw(&a[0])?;
            let out = raw.unary::<_, Float64Type>(|v| kind.to_nanos(v) as f64 / 1e9);
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

/// `from_unixtime(seconds [, zone])` → timestamp(3) with time zone (UTC unless a zone
/// literal is given), rounding to the millisecond as Trino does.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct FromUnixtime {
    signature: Signature,
}

impl FromUnixtime {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FromUnixtime {
    fn name(&self) -> &str {
        "from_unixtime"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let number = |t: &DataType| {
            if t.is_numeric() || t.is_null() {
                Ok(DataType::Float64)
            } else {
                plan_err!("from_unixtime: expected a numeric argument, got {t}")
            }
        };
        match args {
            [x] => Ok(vec![number(x)?]),
            [x, zone] => Ok(vec![number(x)?, coerce_string(self.name(), zone)?]),
            _ => plan_err!(
                "from_unixtime: expected 1 or 2 arguments, got {}",
                args.len()
            ),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        exec_err!("from_unixtime: return_field_from_args should be called")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let zone = match args.scalar_arguments.get(1) {
            None => "UTC".to_string(),
            Some(Some(ScalarValue::Utf8(Some(z))))
            | Some(Some(ScalarValue::LargeUtf8(Some(z))))
            | Some(Some(ScalarValue::Utf8View(Some(z)))) => {
                parse_zone(self.name(), z)?;
                z.clone()
            }
            Some(_) => return plan_err!("from_unixtime: the zone must be a string literal"),
        };
        let t = DataType::Timestamp(TimeUnit::Millisecond, Some(zone.into()));
        Ok(Arc::new(Field::new(self.name(), t, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let zone = match args.return_field.data_type() {
            DataType::Timestamp(_, z) => z.clone(),
            _ => None,
        };
        map_arrays(&args.args[..1], |a| {
            let out = a[0]
                .as_primitive::<Float64Type>()
                .try_unary::<_, TimestampMillisecondType, _>(|s| {
                    let ms = (s * 1000.0).round();
                    if !ms.is_finite() || ms.abs() >= 9.2e18 {
                        return Err(exec_datafusion_err!("from_unixtime: {s} is out of range"));
                    }
                    Ok(ms as i64)
                })?;
            Ok(Arc::new(out.with_timezone_opt(zone.clone())) as ArrayRef)
        })
    }
}

/// `current_timezone()`: the session's zone, which is UTC unless
/// `datafusion.execution.time_zone` says otherwise (Athena's is UTC).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct CurrentTimezone {
    signature: Signature,
}

impl CurrentTimezone {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::nullary(Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for CurrentTimezone {
    fn name(&self) -> &str {
        "current_timezone"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let zone = args
            .config_options
            .execution
            .time_zone
            .clone()
            .unwrap_or_else(|| "UTC".to_string());
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(zone))))
    }
}
