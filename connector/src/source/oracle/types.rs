//! Oracle → Arrow: the type-mapping table (README "Type mapping").
//!
//! `NUMBER` is exact: integers (`NUMBER(p)`, p ≤ 18) as integers, `NUMBER(p,s)` as
//! `decimal(p,s)`, `NUMBER` without precision as `decimal(38, default_scale)` (rounded half
//! up, an error past 38 digits, never truncated). `DATE` holds a time of day, so it is a
//! timestamp; `TIMESTAMP WITH TIME ZONE` is read as its UTC instant.

use arrow::datatypes::DataType;

use crate::source::Column;

/// What `ALL_TAB_COLUMNS` says of a column.
#[derive(Debug, Clone)]
pub struct OraColumn {
    pub name: String,
    /// `DATA_TYPE`, as Oracle writes it (`NUMBER`, `TIMESTAMP(6) WITH TIME ZONE`, …).
    pub data_type: String,
    pub precision: Option<i64>,
    pub scale: Option<i64>,
}

/// Maps one column to its Arrow type and the SQL selecting it (`quoted` is its quoted
/// name, or `q."NAME"` in a passthrough query).
pub fn map_column(quoted: &str, c: &OraColumn, default_scale: i8) -> Column {
    let raw = |t: DataType| (quoted.to_owned(), t);
    let text = || (format!("TO_CHAR({quoted})"), DataType::Utf8);
    let t = c.data_type.to_ascii_uppercase();
    let (select, data_type) = if t == "NUMBER" || t == "INTEGER" {
        match (c.precision, c.scale) {
            // NUMBER without precision: any value, read at `default_scale`.
            (None, None) => raw(DataType::Decimal128(38, default_scale)),
            // INTEGER is NUMBER(*,0).
            (None, Some(0)) => raw(DataType::Decimal128(38, 0)),
            (Some(p), Some(0)) if p <= 4 => raw(DataType::Int16),
            (Some(p), Some(0)) if p <= 9 => raw(DataType::Int32),
            (Some(p), Some(0)) if p <= 18 => raw(DataType::Int64),
            (Some(p), Some(s)) if (1..=38).contains(&p) && (0..=p).contains(&s) => {
                raw(DataType::Decimal128(p as u8, s as i8))
            }
            // NUMBER(p,-s): integers rounded to 10^s, up to p + s digits.
            (Some(p), Some(s)) if s < 0 && p - s <= 38 => {
                raw(DataType::Decimal128((p - s) as u8, 0))
            }
            // Scale beyond precision (NUMBER(3,5): 0.00xyz) or no fitting decimal: exact text.
            _ => text(),
        }
    } else if t == "FLOAT" {
        // FLOAT(b) is a decimal NUMBER of b binary digits: a double, as upstream.
        raw(DataType::Float64)
    } else if t == "BINARY_FLOAT" {
        raw(DataType::Float32)
    } else if t == "BINARY_DOUBLE" {
        raw(DataType::Float64)
    } else if t == "DATE" || (t.starts_with("TIMESTAMP") && !t.ends_with("TIME ZONE")) {
        raw(DataType::Date64)
    } else if t.starts_with("TIMESTAMP") && t.ends_with("WITH LOCAL TIME ZONE") {
        // Shown in the session's zone, which is UTC.
        raw(DataType::Date64)
    } else if t.starts_with("TIMESTAMP") {
        (format!("SYS_EXTRACT_UTC({quoted})"), DataType::Date64)
    } else if matches!(
        t.as_str(),
        "VARCHAR2" | "NVARCHAR2" | "CHAR" | "NCHAR" | "CLOB" | "NCLOB" | "LONG" | "VARCHAR"
    ) {
        raw(DataType::Utf8)
    } else if matches!(t.as_str(), "RAW" | "BLOB" | "LONG RAW") {
        raw(DataType::Binary)
    } else if t == "ROWID" || t == "UROWID" || t.starts_with("INTERVAL") {
        text()
    } else {
        // XMLTYPE, JSON, spatial and object types: the server's text where it has one.
        (format!("CAST({quoted} AS VARCHAR2(4000))"), DataType::Utf8)
    };
    Column::new(c.name.clone(), select, data_type)
}

/// A passthrough query's column, known by the driver's type, as a catalog column.
pub fn describe(name: &str, t: &oracle::sql_type::OracleType) -> OraColumn {
    use oracle::sql_type::OracleType as O;
    let (data_type, precision, scale): (&str, Option<i64>, Option<i64>) = match t {
        // The driver reports NUMBER without precision as precision 0, scale -127.
        O::Number(0, -127) => ("NUMBER", None, None),
        O::Number(0, s) => ("NUMBER", None, Some(i64::from(*s))),
        O::Number(p, s) => ("NUMBER", Some(i64::from(*p)), Some(i64::from(*s))),
        O::Float(_) => ("FLOAT", None, None),
        O::BinaryFloat => ("BINARY_FLOAT", None, None),
        O::BinaryDouble => ("BINARY_DOUBLE", None, None),
        O::Date => ("DATE", None, None),
        O::Timestamp(_) => ("TIMESTAMP", None, None),
        O::TimestampTZ(_) => ("TIMESTAMP WITH TIME ZONE", None, None),
        O::TimestampLTZ(_) => ("TIMESTAMP WITH LOCAL TIME ZONE", None, None),
        O::Varchar2(_) | O::NVarchar2(_) | O::Char(_) | O::NChar(_) | O::Long => {
            ("VARCHAR2", None, None)
        }
        O::CLOB | O::NCLOB => ("CLOB", None, None),
        O::Raw(_) | O::BLOB | O::LongRaw => ("RAW", None, None),
        O::Rowid => ("ROWID", None, None),
        O::IntervalDS(..) | O::IntervalYM(_) => ("INTERVAL", None, None),
        _ => ("OTHER", None, None),
    };
    OraColumn {
        name: name.to_owned(),
        data_type: data_type.to_owned(),
        precision,
        scale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(t: &str, p: Option<i64>, s: Option<i64>) -> (String, DataType) {
        let c = map_column(
            "\"C\"",
            &OraColumn {
                name: "C".into(),
                data_type: t.into(),
                precision: p,
                scale: s,
            },
            4,
        );
        (c.select, c.data_type)
    }

    /// Data type, precision, scale, and the expected select and Arrow type.
    type Case = (&'static str, Option<i64>, Option<i64>, (String, DataType));

    #[test]
    fn every_type_has_its_arrow_type_and_select() {
        let raw = |t: DataType| ("\"C\"".to_owned(), t);
        let cases: &[Case] = &[
            ("NUMBER", None, None, raw(DataType::Decimal128(38, 4))),
            ("NUMBER", None, Some(0), raw(DataType::Decimal128(38, 0))),
            ("NUMBER", Some(1), Some(0), raw(DataType::Int16)),
            ("NUMBER", Some(4), Some(0), raw(DataType::Int16)),
            ("NUMBER", Some(9), Some(0), raw(DataType::Int32)),
            ("NUMBER", Some(18), Some(0), raw(DataType::Int64)),
            (
                "NUMBER",
                Some(19),
                Some(0),
                raw(DataType::Decimal128(19, 0)),
            ),
            (
                "NUMBER",
                Some(38),
                Some(10),
                raw(DataType::Decimal128(38, 10)),
            ),
            ("NUMBER", Some(5), Some(-2), raw(DataType::Decimal128(7, 0))),
            (
                "NUMBER",
                Some(3),
                Some(5),
                ("TO_CHAR(\"C\")".into(), DataType::Utf8),
            ),
            ("FLOAT", Some(126), None, raw(DataType::Float64)),
            ("BINARY_FLOAT", None, None, raw(DataType::Float32)),
            ("BINARY_DOUBLE", None, None, raw(DataType::Float64)),
            ("DATE", None, None, raw(DataType::Date64)),
            ("TIMESTAMP(6)", None, Some(6), raw(DataType::Date64)),
            (
                "TIMESTAMP(9) WITH TIME ZONE",
                None,
                Some(9),
                ("SYS_EXTRACT_UTC(\"C\")".into(), DataType::Date64),
            ),
            (
                "TIMESTAMP(6) WITH LOCAL TIME ZONE",
                None,
                Some(6),
                raw(DataType::Date64),
            ),
            ("VARCHAR2", None, None, raw(DataType::Utf8)),
            ("NVARCHAR2", None, None, raw(DataType::Utf8)),
            ("CHAR", None, None, raw(DataType::Utf8)),
            ("CLOB", None, None, raw(DataType::Utf8)),
            ("NCLOB", None, None, raw(DataType::Utf8)),
            ("RAW", None, None, raw(DataType::Binary)),
            ("BLOB", None, None, raw(DataType::Binary)),
            (
                "ROWID",
                None,
                None,
                ("TO_CHAR(\"C\")".into(), DataType::Utf8),
            ),
            (
                "INTERVAL DAY(2) TO SECOND(6)",
                None,
                None,
                ("TO_CHAR(\"C\")".into(), DataType::Utf8),
            ),
            (
                "XMLTYPE",
                None,
                None,
                ("CAST(\"C\" AS VARCHAR2(4000))".into(), DataType::Utf8),
            ),
        ];
        for (t, p, s, want) in cases {
            assert_eq!(&mapped(t, *p, *s), want, "{t}({p:?},{s:?})");
        }
    }

    #[test]
    fn described_numbers_keep_their_precision() {
        use oracle::sql_type::OracleType as O;
        let d = describe("N", &O::Number(0, -127));
        assert_eq!((d.precision, d.scale), (None, None));
        let d = describe("N", &O::Number(10, 2));
        assert_eq!(
            (d.data_type.as_str(), d.precision, d.scale),
            ("NUMBER", Some(10), Some(2))
        );
        assert_eq!(
            describe("T", &O::TimestampTZ(6)).data_type,
            "TIMESTAMP WITH TIME ZONE"
        );
    }
}
