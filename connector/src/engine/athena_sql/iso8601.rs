//! `from_iso8601_timestamp`, `from_iso8601_timestamp_nanos` and `from_iso8601_date`, parsing
//! the ISO 8601 forms Trino's (Joda's) parser takes: `yyyy[-MM[-dd]]`, `yyyy-Www[-d]`,
//! `yyyy-DDD`, then optionally `Thh[:mm[:ss[.f…]]]` and `Z` or `±hh[[:]mm]`.
//!
//! Arrow keeps one zone per column, so a literal argument's own offset becomes the result's
//! zone (`+01:00`, as Trino shows it) while a column's values are returned in UTC (the same
//! instants).

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Date32Array, Int64Array};
use arrow::datatypes::{DataType, Date32Type, Field, FieldRef, TimeUnit};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use datafusion::common::{exec_datafusion_err, exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::common::{coerce_string, map_arrays, naive_to_nanos, Temporal, NANOS_PER_SECOND};

/// A parsed value: wall-clock time and its offset in seconds (`None` when absent, which
/// means the session zone, UTC).
struct Parsed {
    local: NaiveDateTime,
    offset: Option<i32>,
}

impl Parsed {
    fn nanos(&self) -> i128 {
        naive_to_nanos(self.local) - i128::from(self.offset.unwrap_or(0)) * NANOS_PER_SECOND
    }

    /// The zone Trino displays: `UTC` for `Z` or no offset, else `±hh:mm`.
    fn zone(&self) -> String {
        match self.offset {
            None | Some(0) => "UTC".to_string(),
            Some(s) => {
                let sign = if s < 0 { '-' } else { '+' };
                let a = s.unsigned_abs();
                format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60)
            }
        }
    }
}

/// A cursor over the input.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Between 1 and `max` digits, as Joda's lenient numeric fields read them.
    fn number(&mut self, max: usize) -> Option<(i64, usize)> {
        let start = self.pos;
        let mut v: i64 = 0;
        while self.pos - start < max {
            match self.peek() {
                Some(c @ b'0'..=b'9') => {
                    v = v * 10 + i64::from(c - b'0');
                    self.pos += 1;
                }
                _ => break,
            }
        }
        (self.pos > start).then_some((v, self.pos - start))
    }
}

/// The date element; of Joda's alternatives the one reading the most input wins.
fn date(c: &mut Cursor) -> Option<NaiveDate> {
    let start = c.pos;
    let negative = c.eat(b'-');
    let (y, _) = c.number(9)?;
    let year = i32::try_from(if negative { -y } else { y }).ok()?;
    let after_year = c.pos;

    // yyyy[-MM[-dd]]
    let mut best = (after_year, NaiveDate::from_ymd_opt(year, 1, 1));
    if c.eat(b'-') {
        if let Some((m, _)) = c.number(2) {
            let month = u32::try_from(m).ok()?;
            let mut day = 1;
            let save = c.pos;
            if c.eat(b'-') {
                match c.number(2) {
                    Some((d, _)) => day = u32::try_from(d).ok()?,
                    None => c.pos = save,
                }
            }
            best = (c.pos, NaiveDate::from_ymd_opt(year, month, day));
        }
    }
    // yyyy-DDD
    c.pos = after_year;
    if c.eat(b'-') {
        if let Some((d, n)) = c.number(3) {
            if n == 3 && c.pos > best.0 {
                best = (c.pos, NaiveDate::from_yo_opt(year, u32::try_from(d).ok()?));
            }
        }
    }
    // yyyy-Www[-d]
    c.pos = after_year;
    if c.eat(b'-') && c.eat(b'W') {
        if let Some((w, _)) = c.number(2) {
            let mut dow = 1;
            let save = c.pos;
            if c.eat(b'-') {
                match c.number(1) {
                    Some((d, _)) => dow = d,
                    None => c.pos = save,
                }
            }
            // chrono numbers weekdays from Monday = 0; ISO from Monday = 1.
            let weekday = Weekday::try_from(u8::try_from(dow - 1).ok()?).ok()?;
            if c.pos > best.0 {
                best = (
                    c.pos,
                    NaiveDate::from_isoywd_opt(year, u32::try_from(w).ok()?, weekday),
                );
            }
        }
    }
    if best.0 == start {
        return None;
    }
    c.pos = best.0;
    best.1
}

/// `hh[:mm[:ss[.fraction]]]` after the `T`.
fn time(c: &mut Cursor) -> Option<NaiveTime> {
    let (h, _) = c.number(2)?;
    let (mut m, mut s, mut nanos) = (0, 0, 0);
    if c.eat(b':') {
        m = c.number(2)?.0;
        if c.eat(b':') {
            s = c.number(2)?.0;
            if c.eat(b'.') || c.eat(b',') {
                let (f, digits) = c.number(9)?;
                nanos = f * 10_i64.pow(9 - u32::try_from(digits).ok()?);
                // Joda reads more digits but keeps what fits.
                while matches!(c.peek(), Some(b'0'..=b'9')) {
                    c.pos += 1;
                }
            }
        }
    }
    NaiveTime::from_hms_nano_opt(
        u32::try_from(h).ok()?,
        u32::try_from(m).ok()?,
        u32::try_from(s).ok()?,
        u32::try_from(nanos).ok()?,
    )
}

/// `Z` or `±hh[[:]mm]`, in seconds east of UTC.
fn offset(c: &mut Cursor) -> Option<Option<i32>> {
    if c.eat(b'Z') {
        return Some(Some(0));
    }
    let sign = if c.eat(b'+') {
        1
    } else if c.eat(b'-') {
        -1
    } else {
        return Some(None);
    };
    let (h, _) = c.number(2)?;
    c.eat(b':');
    let m = c.number(2).map(|(m, _)| m).unwrap_or(0);
    if h > 23 || m > 59 {
        return None;
    }
    Some(Some(sign * i32::try_from(h * 3600 + m * 60).ok()?))
}

fn parse_timestamp(s: &str) -> Option<Parsed> {
    let mut c = Cursor {
        s: s.trim().as_bytes(),
        pos: 0,
    };
    let day = if c.peek() == Some(b'T') {
        NaiveDate::from_ymd_opt(1970, 1, 1)?
    } else {
        date(&mut c)?
    };
    let (t, off) = if c.eat(b'T') {
        (time(&mut c)?, offset(&mut c)?)
    } else {
        (NaiveTime::MIN, None)
    };
    (c.pos == c.s.len()).then_some(Parsed {
        local: day.and_time(t),
        offset: off,
    })
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let mut c = Cursor {
        s: s.trim().as_bytes(),
        pos: 0,
    };
    let d = date(&mut c)?;
    (c.pos == c.s.len()).then_some(d)
}

/// Maps each string of a Utf8 array with `f` into an array; NULL stays NULL.
fn parse_each<A, T>(strings: &ArrayRef, f: impl Fn(&str) -> Result<T>) -> Result<A>
where
    A: FromIterator<Option<T>>,
{
    strings
        .as_string::<i32>()
        .iter()
        .map(|s| s.map(&f).transpose())
        .collect()
}

/// `from_iso8601_timestamp` (milliseconds) and `from_iso8601_timestamp_nanos`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct FromIso8601Timestamp {
    name: &'static str,
    unit: TimeUnit,
    signature: Signature,
}

impl FromIso8601Timestamp {
    pub(super) fn new(name: &'static str, unit: TimeUnit) -> Self {
        Self {
            name,
            unit,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FromIso8601Timestamp {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [s] = args else {
            return plan_err!("{}: expected 1 argument, got {}", self.name, args.len());
        };
        Ok(vec![coerce_string(self.name, s)?])
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        exec_err!("{}: return_field_from_args should be called", self.name)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let zone = match args.scalar_arguments.first() {
            Some(Some(ScalarValue::Utf8(Some(s))))
            | Some(Some(ScalarValue::LargeUtf8(Some(s))))
            | Some(Some(ScalarValue::Utf8View(Some(s)))) => parse_timestamp(s)
                .map(|p| p.zone())
                .unwrap_or_else(|| "UTC".into()),
            _ => "UTC".into(),
        };
        let t = DataType::Timestamp(self.unit, Some(zone.into()));
        Ok(Arc::new(Field::new(self.name, t, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // The return type has `self.unit`, so storing truncates to it (Joda keeps
        // milliseconds).
        let kind = Temporal::of(self.name, args.return_field.data_type())?;
        map_arrays(&args.args, |a| {
            let ticks: Int64Array = parse_each(&a[0], |s| {
                let p = parse_timestamp(s).ok_or_else(|| {
                    exec_datafusion_err!("{}: invalid ISO 8601 timestamp '{s}'", self.name)
                })?;
                kind.value_of_nanos(self.name, p.nanos())
            })?;
            kind.build(&ticks)
        })
    }
}

/// `from_iso8601_date(string)` → DATE.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct FromIso8601Date {
    signature: Signature,
}

impl FromIso8601Date {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FromIso8601Date {
    fn name(&self) -> &str {
        "from_iso8601_date"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [s] = args else {
            return plan_err!("from_iso8601_date: expected 1 argument, got {}", args.len());
        };
        Ok(vec![coerce_string(self.name(), s)?])
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_arrays(&args.args, |a| {
            let days: Date32Array = parse_each(&a[0], |s| {
                parse_date(s)
                    .map(Date32Type::from_naive_date)
                    .ok_or_else(|| {
                        exec_datafusion_err!("from_iso8601_date: invalid ISO 8601 date '{s}'")
                    })
            })?;
            Ok(Arc::new(days) as ArrayRef)
        })
    }
}
