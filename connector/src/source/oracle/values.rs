//! Oracle values: constraints' values as bind parameters, and the driver's values decoded
//! into Arrow builders.

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use oracle::sql_type::{Timestamp, ToSql};

use crate::protocol::{format_decimal, Scalar};
use crate::source::builder::ColumnBuilder;
use crate::source::decimal::parse_decimal;
use crate::sql::timestamp::utc_wall_clock;

/// One bind value, owned so the statement can run on a blocking thread.
pub type Param = Box<dyn ToSql + Send + Sync>;

/// A constraint value as the parameter Oracle compares with the column. Decimals are bound
/// as text (the session's `NLS_NUMERIC_CHARACTERS` is `.,`), so no digit is lost; booleans
/// as 1/0 (Oracle before 23ai has no boolean column).
pub fn bind(v: &Scalar) -> Result<Param, String> {
    Ok(match v {
        Scalar::Bool(b) => Box::new(i64::from(*b)),
        Scalar::Int8(x) => Box::new(i64::from(*x)),
        Scalar::Int16(x) => Box::new(i64::from(*x)),
        Scalar::Int32(x) => Box::new(i64::from(*x)),
        Scalar::Int64(x) => Box::new(*x),
        Scalar::UInt8(x) => Box::new(i64::from(*x)),
        Scalar::UInt16(x) => Box::new(i64::from(*x)),
        Scalar::UInt32(x) => Box::new(i64::from(*x)),
        Scalar::UInt64(x) => Box::new(x.to_string()),
        Scalar::Float32(x) => Box::new(f64::from(*x)),
        Scalar::Float64(x) => Box::new(*x),
        Scalar::Decimal { value, scale, .. } => Box::new(format_decimal(*value, *scale)),
        Scalar::Utf8(s) => Box::new(s.clone()),
        Scalar::Binary(b) => Box::new(b.clone()),
        Scalar::Date32(d) => {
            let t = arrow::temporal_conversions::date32_to_datetime(*d)
                .ok_or_else(|| out_of_range(v))?;
            Box::new(timestamp(t).ok_or_else(|| out_of_range(v))?)
        }
        Scalar::Date64(_) | Scalar::Timestamp { .. } => {
            let t = utc_wall_clock(v).ok_or_else(|| out_of_range(v))?;
            Box::new(timestamp(t).ok_or_else(|| out_of_range(v))?)
        }
    })
}

fn out_of_range(v: &Scalar) -> String {
    format!("{v} is out of range for Oracle, whose dates hold years -4712 to 9999")
}

fn timestamp(t: NaiveDateTime) -> Option<Timestamp> {
    use chrono::Datelike;
    if !(-4712..=9999).contains(&t.year()) {
        return None;
    }
    Timestamp::new(
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond(),
    )
    .ok()
}

/// A DATE or TIMESTAMP as epoch milliseconds (floored: Athena's timestamps hold
/// milliseconds), before 1970 too.
pub fn epoch_millis(t: &Timestamp) -> Result<i64, String> {
    NaiveDate::from_ymd_opt(t.year(), t.month(), t.day())
        .and_then(|d| d.and_hms_nano_opt(t.hour(), t.minute(), t.second(), t.nanosecond()))
        .map(|t| t.and_utc().timestamp_millis())
        .ok_or_else(|| format!("{t} is not a date Athena can hold"))
}

/// Appends column `i` of `row`.
pub fn append(builder: &mut ColumnBuilder, row: &oracle::Row, i: usize) -> Result<(), String> {
    let e = |e: oracle::Error| e.to_string();
    match builder {
        ColumnBuilder::Int16(b) => match row.get::<_, Option<i64>>(i).map_err(e)? {
            Some(x) => {
                b.append_value(i16::try_from(x).map_err(|_| format!("{x} overflows smallint"))?)
            }
            None => b.append_null(),
        },
        ColumnBuilder::Int32(b) => match row.get::<_, Option<i64>>(i).map_err(e)? {
            Some(x) => {
                b.append_value(i32::try_from(x).map_err(|_| format!("{x} overflows integer"))?)
            }
            None => b.append_null(),
        },
        ColumnBuilder::Int64(b) => b.append_option(row.get::<_, Option<i64>>(i).map_err(e)?),
        ColumnBuilder::Float32(b) => b.append_option(row.get::<_, Option<f32>>(i).map_err(e)?),
        ColumnBuilder::Float64(b) => b.append_option(row.get::<_, Option<f64>>(i).map_err(e)?),
        ColumnBuilder::Decimal {
            builder,
            precision,
            scale,
        } => match row.get::<_, Option<String>>(i).map_err(e)? {
            Some(text) => builder.append_value(number(&text, *precision, *scale)?),
            None => builder.append_null(),
        },
        ColumnBuilder::Utf8(b) => b.append_option(row.get::<_, Option<String>>(i).map_err(e)?),
        ColumnBuilder::Binary(b) => b.append_option(row.get::<_, Option<Vec<u8>>>(i).map_err(e)?),
        ColumnBuilder::Date64(b) => match row.get::<_, Option<Timestamp>>(i).map_err(e)? {
            Some(t) => b.append_value(epoch_millis(&t)?),
            None => b.append_null(),
        },
        _ => return Err("a type the Oracle mapping does not produce".into()),
    }
    Ok(())
}

/// A NUMBER's text (`-1.5`, `.25`, `1E+40`) at the column's scale, exactly.
pub fn number(text: &str, precision: u8, scale: i8) -> Result<i128, String> {
    let text = text.trim();
    // The driver writes small fractions without a leading zero and huge values with an
    // exponent; both become plain digits first.
    let plain = match text.split_once(['E', 'e']) {
        Some((mantissa, exponent)) => {
            let exponent: i32 = exponent
                .parse()
                .map_err(|_| format!("\"{text}\" is not a number"))?;
            shift(mantissa, exponent)
                .ok_or_else(|| format!("\"{text}\" does not fit decimal({precision},{scale})"))?
        }
        None => text.to_owned(),
    };
    let plain = match plain.strip_prefix("-.") {
        Some(rest) => format!("-0.{rest}"),
        None => match plain.strip_prefix('.') {
            Some(rest) => format!("0.{rest}"),
            None => plain,
        },
    };
    parse_decimal(&plain, precision, scale)
}

/// `mantissa × 10^exponent` as plain decimal text (`None` past 130 digits, beyond NUMBER).
fn shift(mantissa: &str, exponent: i32) -> Option<String> {
    let (negative, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all: String = format!("{int}{frac}");
    let point = int.len() as i32 + exponent;
    if !(-130..=130).contains(&point) {
        return None;
    }
    let body = if point <= 0 {
        format!("0.{}{all}", "0".repeat((-point) as usize))
    } else if point as usize >= all.len() {
        format!("{all}{}", "0".repeat(point as usize - all.len()))
    } else {
        format!("{}.{}", &all[..point as usize], &all[point as usize..])
    };
    Some(if negative { format!("-{body}") } else { body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_exact_in_every_form_the_driver_writes() {
        assert_eq!(number("-1.5", 10, 2), Ok(-150));
        assert_eq!(number(".25", 10, 2), Ok(25));
        assert_eq!(number("-.005", 10, 2), Ok(-1), "half up, away from zero");
        assert_eq!(number("1E+3", 10, 0), Ok(1000));
        assert_eq!(number("1.5E-2", 10, 3), Ok(15));
        assert_eq!(
            number("12345678901234567890123456789012345678", 38, 0),
            Ok(12345678901234567890123456789012345678)
        );
        assert_eq!(
            number("1E+40", 38, 0),
            Err("\"10000000000000000000000000000000000000000\" does not fit decimal(38,0)".into())
        );
        assert!(number("1E+200", 38, 0).is_err());
    }

    #[test]
    fn dates_are_epoch_milliseconds_before_1970_and_at_the_ends() {
        let t = |y, mo, d, h, mi, s, ns| Timestamp::new(y, mo, d, h, mi, s, ns).unwrap();
        assert_eq!(epoch_millis(&t(1970, 1, 1, 0, 0, 0, 0)), Ok(0));
        assert_eq!(
            epoch_millis(&t(1969, 12, 31, 23, 59, 59, 999_500_000)),
            Ok(-1)
        );
        assert_eq!(
            epoch_millis(&t(1, 1, 1, 0, 0, 0, 0)),
            Ok(-62_135_596_800_000)
        );
        assert_eq!(
            epoch_millis(&t(9999, 12, 31, 23, 59, 59, 999_999_999)),
            Ok(253_402_300_799_999)
        );
        // Oracle's years before 1 (-4712 is its first) are proleptic years chrono holds too.
        assert!(epoch_millis(&t(-4712, 1, 1, 0, 0, 0, 0)).is_ok());
    }

    #[test]
    fn dates_bind_as_timestamps_within_oracles_years() {
        assert!(bind(&Scalar::Date64(-1)).is_ok());
        assert!(bind(&Scalar::Date32(-719_162)).is_ok());
        assert_eq!(
            bind(&Scalar::Date32(3_000_000)).err(),
            Some(
                "Date32(3000000) is out of range for Oracle, whose dates hold years -4712 to 9999"
                    .into()
            )
            .map(|s: String| s.replace("Date32(3000000)", &Scalar::Date32(3_000_000).to_string()))
        );
    }
}
