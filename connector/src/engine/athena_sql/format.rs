//! `date_format` and `date_parse` with the MySQL specifiers as Trino implements them (Joda
//! printers/parsers): `%D %U %u %V %w %X` are rejected as in Trino, `%f` prints milliseconds
//! as 6 digits, and any other `%x` stands for `x`.
//!
//! DataFusion's `date_format` is an alias of `to_char` (chrono's `strftime` specifiers), so
//! this one replaces it under that name; `to_char` itself is left alone.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, StringArray, TimestampMillisecondArray};
use arrow::datatypes::{DataType, TimeUnit};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::common::{coerce_string, coerce_temporal, map_arrays, LastParsed, Temporal};

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    Lit(char),
    Spec(char),
}

/// Splits a format into literals and specifiers; a trailing lone `%` is dropped as in Trino.
fn compile(name: &str, format: &str) -> Result<Vec<Tok>> {
    let mut out = Vec::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(Tok::Lit(c));
            continue;
        }
        match chars.next() {
            None => break,
            Some(s @ ('D' | 'U' | 'u' | 'V' | 'w' | 'X')) => {
                return exec_err!("{name}: %{s} not supported in date format string")
            }
            Some(
                s @ ('a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'H' | 'h' | 'I' | 'i' | 'j' | 'k' | 'l'
                | 'M' | 'm' | 'p' | 'r' | 'S' | 's' | 'T' | 'v' | 'W' | 'x' | 'Y' | 'y'),
            ) => out.push(Tok::Spec(s)),
            Some(other) => out.push(Tok::Lit(other)),
        }
    }
    Ok(out)
}

/// 1..=12, as `%h %I %l %r` print it.
fn clock_hour(t: NaiveDateTime) -> u32 {
    t.hour12().1
}

fn print(tokens: &[Tok], t: NaiveDateTime) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let day = DAYS[t.weekday().num_days_from_monday() as usize];
    let month = MONTHS[t.month0() as usize];
    let ampm = if t.hour() < 12 { "AM" } else { "PM" };
    for tok in tokens {
        // Writing to a String cannot fail.
        let _ = match *tok {
            Tok::Lit(c) => write!(s, "{c}"),
            Tok::Spec(c) => match c {
                'a' => write!(s, "{}", &day[..3]),
                'W' => write!(s, "{day}"),
                'b' => write!(s, "{}", &month[..3]),
                'M' => write!(s, "{month}"),
                'c' => write!(s, "{}", t.month()),
                'm' => write!(s, "{:02}", t.month()),
                'd' => write!(s, "{:02}", t.day()),
                'e' => write!(s, "{}", t.day()),
                'f' => write!(
                    s,
                    "{:06}",
                    t.nanosecond() % 1_000_000_000 / 1_000_000 * 1000
                ),
                'H' => write!(s, "{:02}", t.hour()),
                'k' => write!(s, "{}", t.hour()),
                'h' | 'I' => write!(s, "{:02}", clock_hour(t)),
                'l' => write!(s, "{}", clock_hour(t)),
                'i' => write!(s, "{:02}", t.minute()),
                'j' => write!(s, "{:03}", t.ordinal()),
                'p' => write!(s, "{ampm}"),
                'r' => write!(
                    s,
                    "{:02}:{:02}:{:02} {ampm}",
                    clock_hour(t),
                    t.minute(),
                    t.second()
                ),
                'S' | 's' => write!(s, "{:02}", t.second()),
                'T' => write!(s, "{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
                'v' => write!(s, "{:02}", t.iso_week().week()),
                'x' => write!(s, "{:04}", t.iso_week().year()),
                'Y' => write!(s, "{:04}", t.year()),
                'y' => write!(s, "{:02}", t.year().rem_euclid(100)),
                other => write!(s, "{other}"),
            },
        };
    }
    s
}

/// Fields read by `date_parse`; unset ones default to 1970-01-01 00:00:00.
#[derive(Default)]
struct Fields {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    week: Option<i64>,
    week_year: Option<i64>,
    weekday: Option<usize>,
    hour: Option<i64>,
    clock_hour: Option<i64>,
    pm: Option<bool>,
    minute: i64,
    second: i64,
    nanos: i64,
}

struct Input<'a> {
    s: &'a str,
}

impl Input<'_> {
    /// Up to `max` digits (at least one), with an optional sign when `signed`.
    fn number(&mut self, max: usize, signed: bool) -> Option<i64> {
        let neg = signed && self.s.starts_with('-');
        let body = if neg { &self.s[1..] } else { self.s };
        let n = body
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if n == 0 {
            return None;
        }
        let v: i64 = body[..n].parse().ok()?;
        self.s = &body[n..];
        Some(if neg { -v } else { v })
    }

    /// Fraction digits as nanoseconds.
    fn fraction(&mut self) -> Option<i64> {
        let n = self.s.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let kept = &self.s[..n.min(9)];
        let v: i64 = kept.parse().ok()?;
        self.s = &self.s[n..];
        Some(v * 10_i64.pow(9 - u32::try_from(kept.len()).ok()?))
    }

    /// One of `names` (or its first three letters when `short`), ignoring case.
    fn name(&mut self, names: &[&str], short: bool) -> Option<usize> {
        names.iter().position(|full| {
            let n = if short { &full[..3] } else { full };
            let ok = self
                .s
                .get(..n.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(n));
            if ok {
                self.s = &self.s[n.len()..];
            }
            ok
        })
    }

    fn lit(&mut self, c: char) -> Option<()> {
        let mut it = self.s.chars();
        let got = it.next()?;
        got.eq_ignore_ascii_case(&c).then(|| self.s = it.as_str())
    }

    fn ampm(&mut self) -> Option<bool> {
        self.name(&["AM", "PM"], false).map(|i| i == 1)
    }
}

fn parse(tokens: &[Tok], s: &str) -> Option<NaiveDateTime> {
    let mut f = Fields::default();
    let mut input = Input { s };
    for tok in tokens {
        match *tok {
            Tok::Lit(c) => input.lit(c)?,
            Tok::Spec(c) => match c {
                'a' => f.weekday = Some(input.name(&DAYS, true)?),
                'W' => f.weekday = Some(input.name(&DAYS, false)?),
                'b' => f.month = Some(input.name(&MONTHS, true)? as i64 + 1),
                'M' => f.month = Some(input.name(&MONTHS, false)? as i64 + 1),
                'c' | 'm' => f.month = Some(input.number(2, false)?),
                'd' | 'e' => f.day = Some(input.number(2, false)?),
                'f' => f.nanos = input.fraction()?,
                'H' | 'k' => f.hour = Some(input.number(2, false)?),
                'h' | 'I' | 'l' => f.clock_hour = Some(input.number(2, false)?),
                'i' => f.minute = input.number(2, false)?,
                'j' => f.day_of_year = Some(input.number(3, false)?),
                'p' => f.pm = Some(input.ampm()?),
                'r' => {
                    f.clock_hour = Some(input.number(2, false)?);
                    input.lit(':')?;
                    f.minute = input.number(2, false)?;
                    input.lit(':')?;
                    f.second = input.number(2, false)?;
                    input.lit(' ')?;
                    f.pm = Some(input.ampm()?);
                }
                'S' | 's' => f.second = input.number(2, false)?,
                'T' => {
                    f.hour = Some(input.number(2, false)?);
                    input.lit(':')?;
                    f.minute = input.number(2, false)?;
                    input.lit(':')?;
                    f.second = input.number(2, false)?;
                }
                'v' => f.week = Some(input.number(2, false)?),
                'x' => f.week_year = Some(input.number(4, true)?),
                'Y' => f.year = Some(input.number(4, true)?),
                'y' => {
                    // Two digits, pivoting into 1970..2069.
                    let before = input.s.len();
                    let yy = input.number(2, false)?;
                    if before - input.s.len() != 2 {
                        return None;
                    }
                    f.year = Some(if yy >= 70 { 1900 + yy } else { 2000 + yy });
                }
                _ => return None,
            },
        }
    }
    if !input.s.is_empty() {
        return None;
    }
    resolve(&f)
}

fn resolve(f: &Fields) -> Option<NaiveDateTime> {
    let year = i32::try_from(f.year.unwrap_or(1970)).ok()?;
    let mut date = if let Some(doy) = f.day_of_year {
        NaiveDate::from_yo_opt(year, u32::try_from(doy).ok()?)?
    } else if f.week.is_some() || f.week_year.is_some() {
        let wy = i32::try_from(f.week_year.unwrap_or(i64::from(year))).ok()?;
        let w = u32::try_from(f.week.unwrap_or(1)).ok()?;
        NaiveDate::from_isoywd_opt(wy, w, Weekday::Mon)?
    } else {
        NaiveDate::from_ymd_opt(
            year,
            u32::try_from(f.month.unwrap_or(1)).ok()?,
            u32::try_from(f.day.unwrap_or(1)).ok()?,
        )?
    };
    // Joda sets a parsed weekday within the date's Monday-based week.
    if let Some(wd) = f.weekday {
        let shift = wd as i64 - i64::from(date.weekday().num_days_from_monday());
        date = date.checked_add_signed(Duration::days(shift))?;
    }
    let hour = match (f.hour, f.clock_hour) {
        (Some(h), _) => h,
        (None, Some(ch)) if (1..=12).contains(&ch) => {
            ch % 12 + if f.pm == Some(true) { 12 } else { 0 }
        }
        (None, Some(_)) => return None,
        (None, None) => {
            if f.pm == Some(true) {
                12
            } else {
                0
            }
        }
    };
    let time = NaiveTime::from_hms_nano_opt(
        u32::try_from(hour).ok()?,
        u32::try_from(f.minute).ok()?,
        u32::try_from(f.second).ok()?,
        u32::try_from(f.nanos).ok()?,
    )?;
    Some(date.and_time(time))
}

/// `date_format(timestamp, format)` → VARCHAR.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct DateFormat {
    signature: Signature,
}

impl DateFormat {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateFormat {
    fn name(&self) -> &str {
        "date_format"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [x, format] = args else {
            return plan_err!(
                "date_format: expected 2 arguments (timestamp, format), got {}",
                args.len()
            );
        };
        Ok(vec![
            coerce_temporal(self.name(), x)?,
            coerce_string(self.name(), format)?,
        ])
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        map_arrays(&args.args, |a| {
            let kind = Temporal::of(name, a[0].data_type())?;
            let raw = kind.raw(&a[0])?;
            // Each row's format is compiled, unless it is the previous row's.
            let mut compiled = LastParsed::new();
            let out: StringArray = raw
                .iter()
                .zip(a[1].as_string::<i32>())
                .map(|row| {
                    let (Some(v), Some(format)) = row else {
                        return Ok(None);
                    };
                    let tokens = compiled.get(format, |f| compile(name, f))?;
                    let local = kind.local(name, kind.to_nanos(v))?;
                    Ok(Some(print(tokens, local)))
                })
                .collect::<Result<_>>()?;
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

/// `date_parse(string, format)` → timestamp(3), the inverse of `date_format`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct DateParse {
    signature: Signature,
}

impl DateParse {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateParse {
    fn name(&self) -> &str {
        "date_parse"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [s, format] = args else {
            return plan_err!(
                "date_parse: expected 2 arguments (string, format), got {}",
                args.len()
            );
        };
        Ok(vec![
            coerce_string(self.name(), s)?,
            coerce_string(self.name(), format)?,
        ])
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Millisecond, None))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        map_arrays(&args.args, |a| {
            let mut compiled = LastParsed::new();
            let out: TimestampMillisecondArray = a[0]
                .as_string::<i32>()
                .iter()
                .zip(a[1].as_string::<i32>())
                .map(|row| {
                    let (Some(s), Some(format)) = row else {
                        return Ok(None);
                    };
                    match parse(compiled.get(format, |f| compile(name, f))?, s) {
                        // chrono's range (±262,143 years) fits in i64 milliseconds.
                        Some(t) => Ok(Some(t.and_utc().timestamp_millis())),
                        None => exec_err!("{name}: invalid value '{s}' for format '{format}'"),
                    }
                })
                .collect::<Result<_>>()?;
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}
