//! PostgreSQL → Arrow: the type-mapping table (README "Type mapping").
//!
//! Each column gets an Arrow type, the SQL that selects it, and how its binary COPY value
//! is decoded. Types with no exact Arrow/Athena counterpart are selected as `::text`
//! (never dropped), so the server formats them.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field};

use crate::source::Column;

/// How a binary COPY value becomes an Arrow value.
#[derive(Debug, Clone, PartialEq)]
pub enum Decode {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// `numeric`, rescaled to the column's scale (HALF_UP, as the Java connectors do).
    Numeric {
        precision: u8,
        scale: i8,
    },
    /// UTF-8 text (text, varchar, and anything selected `::text`).
    Text,
    /// `CHAR(n)`: UTF-8 text without its trailing blanks (as `rtrim` would return it).
    TextTrimmed,
    Bytea,
    /// Days since 2000-01-01 → days since 1970-01-01.
    Date,
    /// Microseconds since 2000-01-01 (timestamp: wall clock; timestamptz: UTC) → epoch ms.
    Timestamp,
    /// A one-dimensional array of the element decoding.
    Array(Box<Decode>),
}

impl Decode {
    /// The decoding of a table or passthrough column as [`map_column`] mapped it: its
    /// projected value is in `data_type`'s binary form, except `CHAR(n)` (read padded
    /// through `Column::output`, trimmed here).
    pub fn for_column(c: &Column) -> Option<Decode> {
        match (&c.output, &c.data_type) {
            (Some(_), DataType::Utf8) => Some(Decode::TextTrimmed),
            _ => Decode::for_type(&c.data_type),
        }
    }

    /// The decoding of a column returned as `data_type` (its select expression makes the
    /// binary format match: `::text`, `::numeric(19,2)`, `::text[]`).
    pub fn for_type(data_type: &DataType) -> Option<Decode> {
        Some(match data_type {
            DataType::Boolean => Decode::Bool,
            DataType::Int16 => Decode::Int2,
            DataType::Int32 => Decode::Int4,
            DataType::Int64 => Decode::Int8,
            DataType::Float32 => Decode::Float4,
            DataType::Float64 => Decode::Float8,
            DataType::Decimal128(p, s) => Decode::Numeric {
                precision: *p,
                scale: *s,
            },
            DataType::Utf8 => Decode::Text,
            DataType::Binary => Decode::Bytea,
            DataType::Date32 => Decode::Date,
            DataType::Date64 => Decode::Timestamp,
            DataType::List(f) => Decode::Array(Box::new(Decode::for_type(f.data_type())?)),
            _ => return None,
        })
    }
}

/// What the catalog says of a column.
#[derive(Debug, Clone)]
pub struct PgColumn {
    pub name: String,
    /// `pg_type.typname` of the column's (domain-resolved) type.
    pub type_name: String,
    /// `pg_type.typtype`: `b` base, `e` enum, `r` range, `c` composite…
    pub type_type: String,
    /// For arrays, the element's typname.
    pub element: Option<String>,
    /// `atttypmod` (`-1` when unconstrained).
    pub typmod: i32,
}

/// Precision and scale of `numeric(p,s)` from its typmod; `None` when unbounded.
fn numeric_typmod(typmod: i32) -> Option<(i32, i32)> {
    if typmod < 4 {
        return None;
    }
    let t = typmod - 4;
    let precision = (t >> 16) & 0xFFFF;
    // Scale is an 11-bit signed field since PostgreSQL 15 (negative scales).
    let raw = t & 0x7FF;
    let scale = if raw & 0x400 != 0 { raw - 0x800 } else { raw };
    Some((precision, scale))
}

/// The Arrow type and decoding of a scalar type, or `None` to select it as text.
fn scalar(type_name: &str, typmod: i32, default_scale: i8) -> Option<(DataType, Decode)> {
    Some(match type_name {
        "bool" => (DataType::Boolean, Decode::Bool),
        "int2" => (DataType::Int16, Decode::Int2),
        "int4" => (DataType::Int32, Decode::Int4),
        "int8" => (DataType::Int64, Decode::Int8),
        "float4" => (DataType::Float32, Decode::Float4),
        "float8" => (DataType::Float64, Decode::Float8),
        "numeric" => {
            let (p, s) = match numeric_typmod(typmod) {
                None => (38, i32::from(default_scale)),
                Some((p, s)) if s < 0 => (p - s, 0),
                Some((p, s)) if s > p => (s, s),
                Some(ps) => ps,
            };
            if p > 38 {
                return None; // beyond decimal(38): exact text, as upstream
            }
            let (p, s) = (p as u8, s as i8);
            (
                DataType::Decimal128(p, s),
                Decode::Numeric {
                    precision: p,
                    scale: s,
                },
            )
        }
        "text" | "varchar" | "bpchar" => (DataType::Utf8, Decode::Text),
        "bytea" => (DataType::Binary, Decode::Bytea),
        "date" => (DataType::Date32, Decode::Date),
        "timestamp" | "timestamptz" => (DataType::Date64, Decode::Timestamp),
        _ => return None,
    })
}

/// Maps one column: its Arrow type, the SQL selecting it, and its decoding.
pub fn map_column(quoted: &str, c: &PgColumn, default_scale: i8) -> (Column, Decode) {
    let column = |select: String, data_type: DataType| Column {
        name: c.name.clone(),
        select,
        data_type,
        output: None,
    };
    if c.type_type == "b" && c.element.is_none() {
        if c.type_name == "money" {
            // money's binary form depends on lc_monetary; numeric is exact.
            return (
                column(
                    format!("{quoted}::numeric(19,2)"),
                    DataType::Decimal128(19, 2),
                ),
                Decode::Numeric {
                    precision: 19,
                    scale: 2,
                },
            );
        }
        // As the official connector: bit(1) is a boolean, oid a bigint (unsigned 32-bit, so
        // it needs the wider type).
        if c.type_name == "bit" && c.typmod == 1 {
            return (
                column(format!("({quoted} = B'1')"), DataType::Boolean),
                Decode::Bool,
            );
        }
        if c.type_name == "oid" {
            return (
                column(format!("{quoted}::int8"), DataType::Int64),
                Decode::Int8,
            );
        }
        if let Some((t, d)) = scalar(&c.type_name, c.typmod, default_scale) {
            // char(n) is blank-padded; Athena sees the trimmed text, as upstream. An
            // unbounded numeric is seen at `default_scale`: filters and ORDER BY must compare
            // that value too, not the stored one (12345.6 is 12346 at scale 0).
            if c.type_name == "bpchar" {
                // Read padded, trimmed by the decoder; compared trimmed.
                let mut trimmed = column(format!("rtrim({quoted})"), t);
                trimmed.output = Some(quoted.to_owned());
                return (trimmed, Decode::TextTrimmed);
            }
            let select = if c.type_name == "numeric" && numeric_typmod(c.typmod).is_none() {
                format!("round({quoted}, {default_scale})")
            } else {
                quoted.to_owned()
            };
            return (column(select, t), d);
        }
    }
    if let Some(element) = &c.element {
        let item = |t: DataType| DataType::List(Arc::new(Field::new("", t, true)));
        if let Some((t, d)) =
            scalar(element, c.typmod, default_scale).filter(|_| element != "bpchar")
        {
            return (
                column(quoted.to_owned(), item(t)),
                Decode::Array(Box::new(d)),
            );
        }
        return (
            column(format!("{quoted}::text[]"), item(DataType::Utf8)),
            Decode::Array(Box::new(Decode::Text)),
        );
    }
    // uuid, json(b), enums, time(tz), interval, inet, bit, ranges, xml, … and unknown types.
    (
        column(format!("{quoted}::text"), DataType::Utf8),
        Decode::Text,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(type_name: &str, typmod: i32) -> PgColumn {
        PgColumn {
            name: "c".into(),
            type_name: type_name.into(),
            type_type: "b".into(),
            element: None,
            typmod,
        }
    }

    fn typmod(p: i32, s: i32) -> i32 {
        ((p << 16) | (s & 0x7FF)) + 4
    }

    #[test]
    fn numeric_precision_and_scale() {
        assert_eq!(
            map_column("\"c\"", &col("numeric", typmod(12, 2)), 0)
                .0
                .data_type,
            DataType::Decimal128(12, 2)
        );
        let (unbounded, _) = map_column("\"c\"", &col("numeric", -1), 6);
        assert_eq!(
            (unbounded.select.as_str(), &unbounded.data_type),
            ("round(\"c\", 6)", &DataType::Decimal128(38, 6)),
            "filtered and ordered at the scale Athena sees"
        );
        assert_eq!(
            map_column("\"c\"", &col("numeric", typmod(12, 2)), 6)
                .0
                .select,
            "\"c\""
        );
        let (c, d) = map_column("\"c\"", &col("numeric", typmod(50, 10)), 0);
        assert_eq!(
            (c.select.as_str(), &c.data_type, d),
            ("\"c\"::text", &DataType::Utf8, Decode::Text)
        );
        assert_eq!(
            map_column("\"c\"", &col("numeric", typmod(5, -3)), 0)
                .0
                .data_type,
            DataType::Decimal128(8, 0)
        );
        assert_eq!(numeric_typmod(typmod(38, 4)), Some((38, 4)));
    }

    #[test]
    fn text_fallbacks_and_arrays() {
        assert_eq!(
            map_column("\"c\"", &col("uuid", -1), 0).0.select,
            "\"c\"::text"
        );
        let mut e = col("_int4", -1);
        e.element = Some("int4".into());
        let (c, d) = map_column("\"c\"", &e, 0);
        assert_eq!(d, Decode::Array(Box::new(Decode::Int4)));
        assert_eq!(
            c.data_type,
            DataType::List(Arc::new(Field::new("", DataType::Int32, true)))
        );
        e.element = Some("uuid".into());
        assert_eq!(map_column("\"c\"", &e, 0).0.select, "\"c\"::text[]");
        let mut en = col("mood", -1);
        en.type_type = "e".into();
        assert_eq!(map_column("\"c\"", &en, 0).0.data_type, DataType::Utf8);
        // CHAR(n): compared trimmed, read padded and trimmed by the decoder.
        let (c, d) = map_column("\"c\"", &col("bpchar", 14), 0);
        assert_eq!(
            (c.select.as_str(), c.projected(), d),
            ("rtrim(\"c\")", "\"c\"", Decode::TextTrimmed)
        );
        assert_eq!(
            map_column("\"c\"", &col("money", -1), 0).0.data_type,
            DataType::Decimal128(19, 2)
        );
    }

    #[test]
    fn bit_1_and_oid_follow_the_official_connector() {
        let (c, d) = map_column("\"c\"", &col("bit", 1), 0);
        assert_eq!(
            (c.select.as_str(), &c.data_type, d),
            ("(\"c\" = B'1')", &DataType::Boolean, Decode::Bool)
        );
        let (c, _) = map_column("\"c\"", &col("bit", 8), 0);
        assert_eq!(
            (c.select.as_str(), &c.data_type),
            ("\"c\"::text", &DataType::Utf8)
        );
        let (c, d) = map_column("\"c\"", &col("oid", -1), 0);
        assert_eq!(
            (c.select.as_str(), &c.data_type, d),
            ("\"c\"::int8", &DataType::Int64, Decode::Int8)
        );
    }
}
