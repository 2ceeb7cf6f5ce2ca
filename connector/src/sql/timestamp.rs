//! Timestamp bounds as the database compares them.
//!
//! Athena sees a timestamp column (DATEMILLI, what every source reports for `timestamp`,
//! `timestamptz`, `DATETIME` and `TIMESTAMP`) in whole milliseconds, floored, while the
//! database may hold microseconds, and a bound may be finer still (an Arrow timestamp in
//! micro- or nanoseconds). A comparison is therefore one of the value Athena sees, rewritten
//! as one the database answers from its own value (and index), with `floor`/`ceil` to whole
//! milliseconds (toward −∞/+∞, so values before 1970 are not shifted):
//!
//! | Athena | database |
//! |---|---|
//! | `seen >= v` | `db >= ceil(v)` |
//! | `seen > v` | `db >= floor(v) + 1 ms` |
//! | `seen <= v` | `db < floor(v) + 1 ms` |
//! | `seen < v` | `db < ceil(v)` |
//! | `seen = v` | `floor(v) <= db < floor(v) + 1 ms` for a whole millisecond `v`, else no row |
//!
//! An Arrow timestamp counts from the UTC epoch whatever its zone (the zone only says how to
//! show it), so with or without one it is the same instant, and it is compared in UTC: every
//! source's session time zone is UTC, so a zoned column (`timestamptz`, MySQL `TIMESTAMP`)
//! compares as that instant, and a column without a zone (`timestamp`, `DATETIME`) compares
//! its wall clock with the instant's UTC wall clock, which is how the connector returns it.

use chrono::{DateTime, NaiveDateTime};

use crate::protocol::Scalar;
use arrow::datatypes::TimeUnit;

const NANOS_PER_MILLI: i128 = 1_000_000;

/// A timestamp (DATEMILLI or any Arrow timestamp) in nanoseconds since the epoch; `None` for
/// other values. `i128`: no unit overflows.
pub fn epoch_nanos(v: &Scalar) -> Option<i128> {
    match v {
        Scalar::Date64(ms) => Some(i128::from(*ms) * NANOS_PER_MILLI),
        Scalar::Timestamp { value, unit, .. } => Some(
            i128::from(*value)
                * match unit {
                    TimeUnit::Second => 1_000_000_000,
                    TimeUnit::Millisecond => 1_000_000,
                    TimeUnit::Microsecond => 1_000,
                    TimeUnit::Nanosecond => 1,
                },
        ),
        _ => None,
    }
}

/// A timestamp as UTC wall clock, floored to microseconds (the finest any source stores);
/// `None` for other values and for instants beyond chrono's calendar (±262143 years).
pub fn utc_wall_clock(v: &Scalar) -> Option<NaiveDateTime> {
    let micros = i64::try_from(epoch_nanos(v)?.div_euclid(1_000)).ok()?;
    DateTime::from_timestamp_micros(micros).map(|t| t.naive_utc())
}

/// `[from, to)` of database values in epoch milliseconds (as DATEMILLI); `None` ends are open.
#[derive(Debug, Clone, PartialEq)]
pub struct MillisRange {
    pub from: Option<Scalar>,
    pub to: Option<Scalar>,
}

fn floor_ms(n: i128) -> i128 {
    n.div_euclid(NANOS_PER_MILLI)
}

fn ceil_ms(n: i128) -> i128 {
    -(-n).div_euclid(NANOS_PER_MILLI)
}

/// A millisecond bound as DATEMILLI, checked against chrono's calendar.
fn millis(ms: i128, bound: &Scalar) -> Result<Scalar, String> {
    i64::try_from(ms)
        .ok()
        .filter(|ms| arrow::temporal_conversions::date64_to_datetime(*ms).is_some())
        .map(Scalar::Date64)
        .ok_or_else(|| format!("timestamp bound {bound} is out of range"))
}

impl MillisRange {
    /// The database values whose millisecond lies within `lower..upper` (each `(value,
    /// inclusive)`, `None` when open); `Ok(None)` when none can. `Err` for a value that is not
    /// a timestamp or lies beyond the calendar.
    pub fn new(
        lower: Option<&(Scalar, bool)>,
        upper: Option<&(Scalar, bool)>,
    ) -> Result<Option<MillisRange>, String> {
        let nanos = |v: &Scalar| epoch_nanos(v).ok_or_else(|| format!("{v} is not a timestamp"));
        let from = match lower {
            None => None,
            Some((v, true)) => Some((ceil_ms(nanos(v)?), v)),
            Some((v, false)) => Some((floor_ms(nanos(v)?) + 1, v)),
        };
        let to = match upper {
            None => None,
            Some((v, true)) => Some((floor_ms(nanos(v)?) + 1, v)),
            Some((v, false)) => Some((ceil_ms(nanos(v)?), v)),
        };
        if let (Some((f, _)), Some((t, _))) = (&from, &to) {
            if f >= t {
                return Ok(None);
            }
        }
        Ok(Some(MillisRange {
            from: from.map(|(ms, v)| millis(ms, v)).transpose()?,
            to: to.map(|(ms, v)| millis(ms, v)).transpose()?,
        }))
    }

    /// The database values Athena sees as exactly `v`: one millisecond, or none when `v` is
    /// finer than a millisecond.
    pub fn point(v: &Scalar) -> Result<Option<MillisRange>, String> {
        let n = epoch_nanos(v).ok_or_else(|| format!("{v} is not a timestamp"))?;
        if n.rem_euclid(NANOS_PER_MILLI) != 0 {
            return Ok(None);
        }
        let ms = n / NANOS_PER_MILLI;
        Ok(Some(MillisRange {
            from: Some(millis(ms, v)?),
            to: Some(millis(ms + 1, v)?),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(v: i64) -> Scalar {
        Scalar::Timestamp {
            value: v,
            unit: TimeUnit::Nanosecond,
            tz: Some("+02:00".into()),
        }
    }

    fn range(from: Option<i64>, to: Option<i64>) -> Option<MillisRange> {
        Some(MillisRange {
            from: from.map(Scalar::Date64),
            to: to.map(Scalar::Date64),
        })
    }

    #[test]
    fn bounds_round_toward_the_millisecond_athena_sees_before_1970_too() {
        let r = |lower: Option<(Scalar, bool)>, upper: Option<(Scalar, bool)>| {
            MillisRange::new(lower.as_ref(), upper.as_ref()).unwrap()
        };
        // -1 ns is 1969-12-31 23:59:59.999999999, in millisecond -1.
        assert_eq!(r(Some((ns(-1), true)), None), range(Some(0), None));
        assert_eq!(r(Some((ns(-1), false)), None), range(Some(0), None));
        assert_eq!(r(None, Some((ns(-1), true))), range(None, Some(0)));
        assert_eq!(r(None, Some((ns(-1), false))), range(None, Some(0)));
        assert_eq!(r(Some((ns(-1_000_000), false)), None), range(Some(0), None));
        assert_eq!(r(None, Some((ns(-1_000_000), true))), range(None, Some(0)));
        assert_eq!(
            r(None, Some((ns(-1_000_000), false))),
            range(None, Some(-1))
        );
        // Both ends within one millisecond that Athena never sees between them.
        assert_eq!(r(Some((ns(-999_999), true)), Some((ns(-1), true))), None);
        assert_eq!(
            MillisRange::point(&ns(-2_000_000)).unwrap(),
            range(Some(-2), Some(-1))
        );
        assert_eq!(MillisRange::point(&ns(-1)).unwrap(), None);
        let seconds = |v| Scalar::Timestamp {
            value: v,
            unit: TimeUnit::Second,
            tz: None,
        };
        assert_eq!(r(None, Some((seconds(-1), true))), range(None, Some(-999)));
        // Beyond the calendar: an error naming the bound, never a wrapped value.
        let err = MillisRange::new(Some(&(seconds(10_000_000_000_000), true)), None).unwrap_err();
        assert!(err.contains("out of range"), "{err}");
        assert!(MillisRange::new(None, Some(&(seconds(i64::MAX), true))).is_err());
        assert!(MillisRange::point(&Scalar::Date64(i64::MIN)).is_err());
    }

    #[test]
    fn wall_clocks_floor_to_microseconds() {
        let t = utc_wall_clock(&ns(-1)).unwrap();
        assert_eq!(t.to_string(), "1969-12-31 23:59:59.999999");
        let t = utc_wall_clock(&Scalar::Date64(-1)).unwrap();
        assert_eq!(t.to_string(), "1969-12-31 23:59:59.999");
        assert_eq!(
            utc_wall_clock(&Scalar::Timestamp {
                value: i64::MAX,
                unit: TimeUnit::Second,
                tz: None
            }),
            None
        );
    }
}
