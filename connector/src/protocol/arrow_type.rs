//! Arrow types written as JSON objects (`ArrowTypeSerDe`, SPEC §3.3): value-set and
//! expression types. They name a type without its children, so they are modelled on their
//! own rather than as `arrow::datatypes::DataType`.

use arrow::datatypes::{DataType, IntervalUnit, TimeUnit};
use serde_json::Value;

use super::error::Result;
use super::json::{Node, ObjectWriter};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArrowType {
    Null,
    Struct,
    List,
    Map,
    Utf8,
    Binary,
    Bool,
    Int {
        bit_width: i32,
        signed: bool,
    },
    FloatingPoint(Precision),
    Decimal {
        precision: i32,
        scale: i32,
    },
    Date(DateUnit),
    Time {
        unit: Unit,
        bit_width: i32,
    },
    Timestamp {
        unit: Unit,
        timezone: Option<String>,
    },
    Interval(IntervalKind),
    FixedSizeBinary {
        byte_width: i32,
    },
    FixedSizeList {
        list_size: i32,
    },
}

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
            #[allow(dead_code)] // not every wire enum is read
            pub(crate) fn read(node: Node<'_>) -> Result<Self> {
                let s = node.as_str()?;
                match s {
                    $($text => Ok($name::$variant),)*
                    other => Err(node.invalid(format!(
                        "expected one of {}, found \"{other}\"",
                        [$($text),*].join(", ")
                    ))),
                }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum!(Precision { Half = "HALF", Single = "SINGLE", Double = "DOUBLE" });
wire_enum!(DateUnit { Day = "DAY", Millisecond = "MILLISECOND" });
wire_enum!(Unit { Second = "SECOND", Millisecond = "MILLISECOND", Microsecond = "MICROSECOND", Nanosecond = "NANOSECOND" });
wire_enum!(IntervalKind { YearMonth = "YEAR_MONTH", DayTime = "DAY_TIME", MonthDayNano = "MONTH_DAY_NANO" });

impl ArrowType {
    pub(crate) fn read(node: Node<'_>) -> Result<ArrowType> {
        let tag = node.type_tag()?;
        Ok(match tag {
            "Null" => ArrowType::Null,
            "Struct" => ArrowType::Struct,
            "List" => ArrowType::List,
            "Map" => ArrowType::Map,
            "Utf8" => ArrowType::Utf8,
            "Binary" => ArrowType::Binary,
            "Bool" => ArrowType::Bool,
            "Int" => {
                let bit_width = node.field("bitWidth", |n| n.as_i32())?;
                if ![8, 16, 32, 64].contains(&bit_width) {
                    return Err(node.invalid(format!(
                        "Int bitWidth must be 8, 16, 32 or 64, found {bit_width}"
                    )));
                }
                ArrowType::Int {
                    bit_width,
                    signed: node.bool("isSigned")?,
                }
            }
            "FloatingPoint" => ArrowType::FloatingPoint(node.field("precision", Precision::read)?),
            "Decimal" => ArrowType::Decimal {
                precision: node.field("precision", |n| n.as_i32())?,
                scale: node.field("scale", |n| n.as_i32())?,
            },
            "Date" => ArrowType::Date(node.field("unit", DateUnit::read)?),
            "Time" => ArrowType::Time {
                unit: node.field("unit", Unit::read)?,
                bit_width: node.field("bitWidth", |n| n.as_i32())?,
            },
            "Timestamp" => ArrowType::Timestamp {
                unit: node.field("unit", Unit::read)?,
                timezone: node.opt_string("timezone")?,
            },
            "Interval" => ArrowType::Interval(node.field("unit", IntervalKind::read)?),
            "FixedSizeBinary" => ArrowType::FixedSizeBinary {
                byte_width: node.field("byteWidth", |n| n.as_i32())?,
            },
            "FixedSizeList" => ArrowType::FixedSizeList {
                list_size: node.field("listSize", |n| n.as_i32())?,
            },
            "Union" => {
                return Err(node.invalid(
                    "Union types are not supported (the Java SDK cannot read them back either)",
                ))
            }
            other => return Err(node.unknown_type(other)),
        })
    }

    pub(crate) fn write(&self) -> Value {
        let w = |t| ObjectWriter::typed(t);
        match self {
            ArrowType::Null => w("Null"),
            ArrowType::Struct => w("Struct"),
            ArrowType::List => w("List"),
            ArrowType::Map => w("Map"),
            ArrowType::Utf8 => w("Utf8"),
            ArrowType::Binary => w("Binary"),
            ArrowType::Bool => w("Bool"),
            ArrowType::Int { bit_width, signed } => w("Int")
                .put("bitWidth", *bit_width)
                .put("isSigned", *signed),
            ArrowType::FloatingPoint(p) => w("FloatingPoint").put("precision", p.as_str()),
            ArrowType::Decimal { precision, scale } => w("Decimal")
                .put("precision", *precision)
                .put("scale", *scale),
            ArrowType::Date(unit) => w("Date").put("unit", unit.as_str()),
            ArrowType::Time { unit, bit_width } => w("Time")
                .put("unit", unit.as_str())
                .put("bitWidth", *bit_width),
            ArrowType::Timestamp { unit, timezone } => w("Timestamp")
                .put("unit", unit.as_str())
                .put("timezone", super::json::opt_string(timezone)),
            ArrowType::Interval(kind) => w("Interval").put("unit", kind.as_str()),
            ArrowType::FixedSizeBinary { byte_width } => {
                w("FixedSizeBinary").put("byteWidth", *byte_width)
            }
            ArrowType::FixedSizeList { list_size } => {
                w("FixedSizeList").put("listSize", *list_size)
            }
        }
        .build()
    }

    /// The Arrow data type of a scalar descriptor (`None` for nested types and units the
    /// protocol's values never take).
    pub fn to_data_type(&self) -> Option<DataType> {
        let unit = |u: &Unit| match u {
            Unit::Second => TimeUnit::Second,
            Unit::Millisecond => TimeUnit::Millisecond,
            Unit::Microsecond => TimeUnit::Microsecond,
            Unit::Nanosecond => TimeUnit::Nanosecond,
        };
        Some(match self {
            ArrowType::Bool => DataType::Boolean,
            ArrowType::Int {
                bit_width: 8,
                signed: true,
            } => DataType::Int8,
            ArrowType::Int {
                bit_width: 16,
                signed: true,
            } => DataType::Int16,
            ArrowType::Int {
                bit_width: 32,
                signed: true,
            } => DataType::Int32,
            ArrowType::Int {
                bit_width: 64,
                signed: true,
            } => DataType::Int64,
            ArrowType::Int {
                bit_width: 8,
                signed: false,
            } => DataType::UInt8,
            ArrowType::Int {
                bit_width: 16,
                signed: false,
            } => DataType::UInt16,
            ArrowType::Int {
                bit_width: 32,
                signed: false,
            } => DataType::UInt32,
            ArrowType::Int {
                bit_width: 64,
                signed: false,
            } => DataType::UInt64,
            ArrowType::FloatingPoint(Precision::Single) => DataType::Float32,
            ArrowType::FloatingPoint(Precision::Double) => DataType::Float64,
            ArrowType::Decimal { precision, scale } => {
                DataType::Decimal128(u8::try_from(*precision).ok()?, i8::try_from(*scale).ok()?)
            }
            ArrowType::Utf8 => DataType::Utf8,
            ArrowType::Binary => DataType::Binary,
            ArrowType::Date(DateUnit::Day) => DataType::Date32,
            ArrowType::Date(DateUnit::Millisecond) => DataType::Date64,
            ArrowType::Timestamp { unit: u, timezone } => {
                DataType::Timestamp(unit(u), timezone.as_deref().map(Into::into))
            }
            _ => return None,
        })
    }

    /// The descriptor of an Arrow data type (children are not part of a descriptor).
    pub fn from_data_type(t: &DataType) -> Option<ArrowType> {
        let unit = |u: &TimeUnit| match u {
            TimeUnit::Second => Unit::Second,
            TimeUnit::Millisecond => Unit::Millisecond,
            TimeUnit::Microsecond => Unit::Microsecond,
            TimeUnit::Nanosecond => Unit::Nanosecond,
        };
        let int = |bit_width, signed| ArrowType::Int { bit_width, signed };
        Some(match t {
            DataType::Null => ArrowType::Null,
            DataType::Boolean => ArrowType::Bool,
            DataType::Int8 => int(8, true),
            DataType::Int16 => int(16, true),
            DataType::Int32 => int(32, true),
            DataType::Int64 => int(64, true),
            DataType::UInt8 => int(8, false),
            DataType::UInt16 => int(16, false),
            DataType::UInt32 => int(32, false),
            DataType::UInt64 => int(64, false),
            DataType::Float16 => ArrowType::FloatingPoint(Precision::Half),
            DataType::Float32 => ArrowType::FloatingPoint(Precision::Single),
            DataType::Float64 => ArrowType::FloatingPoint(Precision::Double),
            DataType::Decimal128(p, s) => ArrowType::Decimal {
                precision: i32::from(*p),
                scale: i32::from(*s),
            },
            DataType::Utf8 => ArrowType::Utf8,
            DataType::Binary => ArrowType::Binary,
            DataType::Date32 => ArrowType::Date(DateUnit::Day),
            DataType::Date64 => ArrowType::Date(DateUnit::Millisecond),
            DataType::Time32(u) => ArrowType::Time {
                unit: unit(u),
                bit_width: 32,
            },
            DataType::Time64(u) => ArrowType::Time {
                unit: unit(u),
                bit_width: 64,
            },
            DataType::Timestamp(u, tz) => ArrowType::Timestamp {
                unit: unit(u),
                timezone: tz.as_ref().map(|t| t.to_string()),
            },
            DataType::Interval(k) => ArrowType::Interval(match k {
                IntervalUnit::YearMonth => IntervalKind::YearMonth,
                IntervalUnit::DayTime => IntervalKind::DayTime,
                IntervalUnit::MonthDayNano => IntervalKind::MonthDayNano,
            }),
            DataType::FixedSizeBinary(w) => ArrowType::FixedSizeBinary { byte_width: *w },
            DataType::FixedSizeList(_, n) => ArrowType::FixedSizeList { list_size: *n },
            DataType::List(_) => ArrowType::List,
            DataType::Struct(_) => ArrowType::Struct,
            DataType::Map(_, _) => ArrowType::Map,
            _ => return None,
        })
    }
}

impl std::fmt::Display for ArrowType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArrowType::Int { bit_width, signed } => {
                write!(f, "{}int{bit_width}", if *signed { "" } else { "u" })
            }
            ArrowType::FloatingPoint(p) => write!(f, "float({p})"),
            ArrowType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            ArrowType::Date(u) => write!(f, "date({u})"),
            ArrowType::Time { unit, bit_width } => write!(f, "time{bit_width}({unit})"),
            ArrowType::Timestamp { unit, timezone } => {
                write!(
                    f,
                    "timestamp({unit}, {})",
                    timezone.as_deref().unwrap_or("no time zone")
                )
            }
            ArrowType::Interval(k) => write!(f, "interval({k})"),
            ArrowType::FixedSizeBinary { byte_width } => {
                write!(f, "fixed_size_binary({byte_width})")
            }
            ArrowType::FixedSizeList { list_size } => write!(f, "fixed_size_list({list_size})"),
            other => write!(f, "{}", format!("{other:?}").to_lowercase()),
        }
    }
}
