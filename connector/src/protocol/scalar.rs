//! Single values taken out of Arrow arrays: range bounds, IN-lists and expression constants.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Date64Array, Decimal128Array,
    Float32Array, Float64Array, Int16Array, Int32Array, Int64Array, Int8Array, StringArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type, Int16Type,
    Int32Type, Int64Type, Int8Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow::temporal_conversions::{date32_to_datetime, date64_to_datetime};

/// A non-null value of one of the types Athena puts in constraints.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    UInt8(u8),
    UInt16(u16),
    UInt32(u32),
    UInt64(u64),
    Float32(f32),
    Float64(f64),
    /// Unscaled value with the column's precision and scale.
    Decimal {
        value: i128,
        precision: u8,
        scale: i8,
    },
    Utf8(String),
    Binary(Vec<u8>),
    /// Days since 1970-01-01.
    Date32(i32),
    /// Milliseconds since the epoch; Athena's `timestamp` (wall clock read as UTC).
    Date64(i64),
    Timestamp {
        value: i64,
        unit: TimeUnit,
        tz: Option<Arc<str>>,
    },
}

impl Scalar {
    /// The value at `row`, `None` when it is null; an error for types constraints never carry.
    pub fn from_array(array: &dyn Array, row: usize) -> Result<Option<Scalar>, String> {
        if row >= array.len() {
            return Err(format!("row {row} out of {} rows", array.len()));
        }
        if array.is_null(row) {
            return Ok(None);
        }
        macro_rules! prim {
            ($t:ty, $variant:ident) => {
                Scalar::$variant(array.as_primitive::<$t>().value(row))
            };
        }
        Ok(Some(match array.data_type() {
            DataType::Boolean => Scalar::Bool(array.as_boolean().value(row)),
            DataType::Int8 => prim!(Int8Type, Int8),
            DataType::Int16 => prim!(Int16Type, Int16),
            DataType::Int32 => prim!(Int32Type, Int32),
            DataType::Int64 => prim!(Int64Type, Int64),
            DataType::UInt8 => prim!(UInt8Type, UInt8),
            DataType::UInt16 => prim!(UInt16Type, UInt16),
            DataType::UInt32 => prim!(UInt32Type, UInt32),
            DataType::UInt64 => prim!(UInt64Type, UInt64),
            DataType::Float32 => prim!(Float32Type, Float32),
            DataType::Float64 => prim!(Float64Type, Float64),
            DataType::Date32 => prim!(Date32Type, Date32),
            DataType::Date64 => prim!(Date64Type, Date64),
            DataType::Decimal128(precision, scale) => Scalar::Decimal {
                value: array.as_primitive::<Decimal128Type>().value(row),
                precision: *precision,
                scale: *scale,
            },
            DataType::Utf8 => Scalar::Utf8(array.as_string::<i32>().value(row).to_owned()),
            DataType::Binary => Scalar::Binary(array.as_binary::<i32>().value(row).to_vec()),
            DataType::Timestamp(unit, tz) => Scalar::Timestamp {
                value: match unit {
                    TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                    TimeUnit::Millisecond => {
                        array.as_primitive::<TimestampMillisecondType>().value(row)
                    }
                    TimeUnit::Microsecond => {
                        array.as_primitive::<TimestampMicrosecondType>().value(row)
                    }
                    TimeUnit::Nanosecond => {
                        array.as_primitive::<TimestampNanosecondType>().value(row)
                    }
                },
                unit: *unit,
                tz: tz.clone(),
            },
            other => {
                return Err(format!(
                    "values of type {other} cannot be used in a constraint"
                ))
            }
        }))
    }

    pub fn data_type(&self) -> DataType {
        match self {
            Scalar::Bool(_) => DataType::Boolean,
            Scalar::Int8(_) => DataType::Int8,
            Scalar::Int16(_) => DataType::Int16,
            Scalar::Int32(_) => DataType::Int32,
            Scalar::Int64(_) => DataType::Int64,
            Scalar::UInt8(_) => DataType::UInt8,
            Scalar::UInt16(_) => DataType::UInt16,
            Scalar::UInt32(_) => DataType::UInt32,
            Scalar::UInt64(_) => DataType::UInt64,
            Scalar::Float32(_) => DataType::Float32,
            Scalar::Float64(_) => DataType::Float64,
            Scalar::Decimal {
                precision, scale, ..
            } => DataType::Decimal128(*precision, *scale),
            Scalar::Utf8(_) => DataType::Utf8,
            Scalar::Binary(_) => DataType::Binary,
            Scalar::Date32(_) => DataType::Date32,
            Scalar::Date64(_) => DataType::Date64,
            Scalar::Timestamp { unit, tz, .. } => DataType::Timestamp(*unit, tz.clone()),
        }
    }

    /// A one-element array holding this value.
    pub fn to_array(&self) -> ArrayRef {
        match self {
            Scalar::Bool(v) => Arc::new(BooleanArray::from(vec![*v])),
            Scalar::Int8(v) => Arc::new(Int8Array::from(vec![*v])),
            Scalar::Int16(v) => Arc::new(Int16Array::from(vec![*v])),
            Scalar::Int32(v) => Arc::new(Int32Array::from(vec![*v])),
            Scalar::Int64(v) => Arc::new(Int64Array::from(vec![*v])),
            Scalar::UInt8(v) => Arc::new(UInt8Array::from(vec![*v])),
            Scalar::UInt16(v) => Arc::new(UInt16Array::from(vec![*v])),
            Scalar::UInt32(v) => Arc::new(UInt32Array::from(vec![*v])),
            Scalar::UInt64(v) => Arc::new(UInt64Array::from(vec![*v])),
            Scalar::Float32(v) => Arc::new(Float32Array::from(vec![*v])),
            Scalar::Float64(v) => Arc::new(Float64Array::from(vec![*v])),
            Scalar::Decimal {
                value,
                precision,
                scale,
            } => Arc::new(
                Decimal128Array::from(vec![*value])
                    .with_precision_and_scale(*precision, *scale)
                    .unwrap_or_else(|_| Decimal128Array::from(vec![*value])),
            ),
            Scalar::Utf8(v) => Arc::new(StringArray::from(vec![v.as_str()])),
            Scalar::Binary(v) => Arc::new(BinaryArray::from(vec![v.as_slice()])),
            Scalar::Date32(v) => Arc::new(Date32Array::from(vec![*v])),
            Scalar::Date64(v) => Arc::new(Date64Array::from(vec![*v])),
            Scalar::Timestamp { value, unit, tz } => {
                let tz = tz.clone();
                match unit {
                    TimeUnit::Second => {
                        Arc::new(TimestampSecondArray::from(vec![*value]).with_timezone_opt(tz))
                    }
                    TimeUnit::Millisecond => Arc::new(
                        TimestampMillisecondArray::from(vec![*value]).with_timezone_opt(tz),
                    ),
                    TimeUnit::Microsecond => Arc::new(
                        TimestampMicrosecondArray::from(vec![*value]).with_timezone_opt(tz),
                    ),
                    TimeUnit::Nanosecond => {
                        Arc::new(TimestampNanosecondArray::from(vec![*value]).with_timezone_opt(tz))
                    }
                }
            }
        }
    }

    /// Orders two values of the same type; `None` for different types (or NaN).
    pub fn compare(&self, other: &Scalar) -> Option<Ordering> {
        use Scalar::*;
        match (self, other) {
            (Bool(a), Bool(b)) => a.partial_cmp(b),
            (Int8(a), Int8(b)) => a.partial_cmp(b),
            (Int16(a), Int16(b)) => a.partial_cmp(b),
            (Int32(a), Int32(b)) => a.partial_cmp(b),
            (Int64(a), Int64(b)) => a.partial_cmp(b),
            (UInt8(a), UInt8(b)) => a.partial_cmp(b),
            (UInt16(a), UInt16(b)) => a.partial_cmp(b),
            (UInt32(a), UInt32(b)) => a.partial_cmp(b),
            (UInt64(a), UInt64(b)) => a.partial_cmp(b),
            (Float32(a), Float32(b)) => a.partial_cmp(b),
            (Float64(a), Float64(b)) => a.partial_cmp(b),
            (
                Decimal {
                    value: a,
                    scale: sa,
                    ..
                },
                Decimal {
                    value: b,
                    scale: sb,
                    ..
                },
            ) => {
                let (a, b) = rescale_pair(*a, *sa, *b, *sb)?;
                a.partial_cmp(&b)
            }
            (Utf8(a), Utf8(b)) => a.partial_cmp(b),
            (Binary(a), Binary(b)) => a.partial_cmp(b),
            (Date32(a), Date32(b)) => a.partial_cmp(b),
            (Date64(a), Date64(b)) => a.partial_cmp(b),
            (
                Timestamp {
                    value: a, unit: ua, ..
                },
                Timestamp {
                    value: b, unit: ub, ..
                },
            ) if ua == ub => a.partial_cmp(b),
            _ => None,
        }
    }
}

fn rescale_pair(a: i128, sa: i8, b: i128, sb: i8) -> Option<(i128, i128)> {
    let up = |v: i128, by: i8| {
        10i128
            .checked_pow(u32::from(by.unsigned_abs()))
            .and_then(|f| v.checked_mul(f))
    };
    match sa.cmp(&sb) {
        Ordering::Equal => Some((a, b)),
        Ordering::Less => Some((up(a, sb - sa)?, b)),
        Ordering::Greater => Some((a, up(b, sa - sb)?)),
    }
}

/// Formats an unscaled decimal, e.g. `12345` with scale 2 as `123.45`.
pub fn format_decimal(value: i128, scale: i8) -> String {
    if scale <= 0 {
        let zeros = "0".repeat(scale.unsigned_abs() as usize);
        return if value == 0 {
            "0".into()
        } else {
            format!("{value}{zeros}")
        };
    }
    let digits = value.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if value < 0 { "-" } else { "" })
}

/// SQL-literal style, for people reading `--explain` output.
impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(v) => write!(f, "{v}"),
            Scalar::Int8(v) => write!(f, "{v}"),
            Scalar::Int16(v) => write!(f, "{v}"),
            Scalar::Int32(v) => write!(f, "{v}"),
            Scalar::Int64(v) => write!(f, "{v}"),
            Scalar::UInt8(v) => write!(f, "{v}"),
            Scalar::UInt16(v) => write!(f, "{v}"),
            Scalar::UInt32(v) => write!(f, "{v}"),
            Scalar::UInt64(v) => write!(f, "{v}"),
            Scalar::Float32(v) => write!(f, "{v:?}"),
            Scalar::Float64(v) => write!(f, "{v:?}"),
            Scalar::Decimal { value, scale, .. } => write!(f, "{}", format_decimal(*value, *scale)),
            Scalar::Utf8(v) => write!(f, "'{}'", v.replace('\'', "''")),
            Scalar::Binary(v) => {
                f.write_str("X'")?;
                for b in v {
                    write!(f, "{b:02X}")?;
                }
                f.write_str("'")
            }
            Scalar::Date32(v) => match date32_to_datetime(*v) {
                Some(d) => write!(f, "DATE '{}'", d.date()),
                None => write!(f, "DATE({v} days)"),
            },
            Scalar::Date64(v) => match date64_to_datetime(*v) {
                Some(d) => write!(f, "TIMESTAMP '{}'", d.format("%Y-%m-%d %H:%M:%S%.3f")),
                None => write!(f, "TIMESTAMP({v} ms)"),
            },
            Scalar::Timestamp { value, unit, tz } => {
                let tz = tz.as_deref().unwrap_or("UTC");
                write!(f, "TIMESTAMP({value} {unit:?}, {tz})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_format_with_their_scale() {
        assert_eq!(format_decimal(12345, 2), "123.45");
        assert_eq!(format_decimal(-5, 3), "-0.005");
        assert_eq!(format_decimal(0, 2), "0.00");
        assert_eq!(format_decimal(7, -2), "700");
        assert_eq!(format_decimal(i128::MAX, 0), i128::MAX.to_string());
    }

    #[test]
    fn decimals_of_different_scales_compare_by_value() {
        let a = Scalar::Decimal {
            value: 150,
            precision: 10,
            scale: 2,
        }; // 1.50
        let b = Scalar::Decimal {
            value: 15,
            precision: 10,
            scale: 1,
        }; // 1.5
        assert_eq!(a.compare(&b), Some(Ordering::Equal));
        assert_eq!(Scalar::Int32(1).compare(&Scalar::Int64(1)), None);
    }

    #[test]
    fn display_is_sql_like() {
        assert_eq!(Scalar::Utf8("it's".into()).to_string(), "'it''s'");
        assert_eq!(Scalar::Date32(-1).to_string(), "DATE '1969-12-31'");
        assert_eq!(
            Scalar::Date64(1_000).to_string(),
            "TIMESTAMP '1970-01-01 00:00:01.000'"
        );
        assert_eq!(Scalar::Float64(-10000.0).to_string(), "-10000.0");
        assert_eq!(Scalar::Binary(vec![0, 255]).to_string(), "X'00FF'");
    }

    #[test]
    fn round_trips_through_an_array() {
        for s in [
            Scalar::Bool(true),
            Scalar::Int64(-7),
            Scalar::Decimal {
                value: -12345,
                precision: 38,
                scale: 4,
            },
            Scalar::Utf8("x".into()),
            Scalar::Date64(86_400_000),
            Scalar::Timestamp {
                value: 5,
                unit: TimeUnit::Microsecond,
                tz: Some("UTC".into()),
            },
        ] {
            let a = s.to_array();
            assert_eq!(Scalar::from_array(a.as_ref(), 0).unwrap(), Some(s));
        }
    }
}
