//! SQL Server → Arrow: the type-mapping table (README "Type mapping").
//!
//! Exact where the official connector is not: `decimal`/`numeric` keep their precision and
//! scale (upstream reads `numeric` as double), `money`/`smallmoney` are decimals of their
//! exact scale, `tinyint` (0 to 255) widens to smallint, `datetimeoffset` is its instant.
//! Types with no Arrow counterpart are selected as text by the server (`CONVERT`).

use arrow::datatypes::DataType;

use crate::source::Column;

/// What `sys.columns` and `sys.types` say of a column.
#[derive(Debug, Clone)]
pub struct MsColumn {
    pub name: String,
    /// The base type's name, lower case (`int`, `decimal`, `nvarchar`, …; an alias type's
    /// base type; `geometry` and the other CLR types by their own name).
    pub type_name: String,
    pub precision: u8,
    pub scale: u8,
}

/// Maps one column to its Arrow type and the SQL selecting it (`quoted` is its quoted
/// name, or `q.[name]` in a passthrough query).
pub fn map_column(quoted: &str, c: &MsColumn) -> Column {
    let raw = |t: DataType| (quoted.to_owned(), t);
    let converted = |sql_type: &str, t: DataType| (format!("CONVERT({sql_type}, {quoted})"), t);
    let (select, data_type) = match c.type_name.as_str() {
        "bit" => raw(DataType::Boolean),
        // Unsigned 0 to 255: Athena's tinyint is signed.
        "tinyint" => raw(DataType::Int16),
        "smallint" => raw(DataType::Int16),
        "int" => raw(DataType::Int32),
        "bigint" => raw(DataType::Int64),
        "decimal" | "numeric" if (1..=38).contains(&c.precision) && c.scale <= c.precision => {
            raw(DataType::Decimal128(c.precision, c.scale as i8))
        }
        // The driver reads money as a double: the server converts it exactly.
        "money" => converted("DECIMAL(19,4)", DataType::Decimal128(19, 4)),
        "smallmoney" => converted("DECIMAL(10,4)", DataType::Decimal128(10, 4)),
        "real" => raw(DataType::Float32),
        "float" => raw(DataType::Float64),
        "date" => raw(DataType::Date32),
        "datetime" | "datetime2" | "smalldatetime" => raw(DataType::Date64),
        // Decoded as its UTC instant.
        "datetimeoffset" => raw(DataType::Date64),
        "time" => converted("VARCHAR(16)", DataType::Utf8),
        "uniqueidentifier" => converted("CHAR(36)", DataType::Utf8),
        "char" | "varchar" | "nchar" | "nvarchar" | "text" | "ntext" | "sysname" => {
            raw(DataType::Utf8)
        }
        "binary" | "varbinary" | "image" | "timestamp" | "rowversion" => raw(DataType::Binary),
        "xml" => converted("NVARCHAR(MAX)", DataType::Utf8),
        "sql_variant" => converted("NVARCHAR(4000)", DataType::Utf8),
        "geometry" | "geography" => (format!("{quoted}.STAsText()"), DataType::Utf8),
        // hierarchyid and anything else: the server's text.
        _ => converted("NVARCHAR(MAX)", DataType::Utf8),
    };
    Column::new(c.name.clone(), select, data_type)
}

/// A type as `sp_describe_first_result_set` names it (`decimal(10,2)`, `nvarchar(max)`,
/// `int`): its base name, precision and scale.
pub fn parse_type_name(system_type_name: &str) -> (String, u8, u8) {
    let lower = system_type_name.trim().to_ascii_lowercase();
    let (name, args) = match lower.split_once('(') {
        Some((n, rest)) => (n.trim().to_owned(), rest.trim_end_matches(')').to_owned()),
        None => (lower, String::new()),
    };
    let mut numbers = args.split(',').map(|a| a.trim().parse::<u8>().ok());
    let precision = numbers.next().flatten().unwrap_or(0);
    let scale = numbers.next().flatten().unwrap_or(0);
    match name.as_str() {
        // `datetime2(3)` and `time(7)` name a scale, not a precision.
        "decimal" | "numeric" => (name, precision, scale),
        _ => (name, 0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(type_name: &str, precision: u8, scale: u8) -> (String, DataType) {
        let c = map_column(
            "[c]",
            &MsColumn {
                name: "c".into(),
                type_name: type_name.into(),
                precision,
                scale,
            },
        );
        (c.select, c.data_type)
    }

    #[test]
    fn every_type_has_its_arrow_type_and_select() {
        let raw = |t: DataType| ("[c]".to_owned(), t);
        let cases: &[(&str, u8, u8, (String, DataType))] = &[
            ("bit", 1, 0, raw(DataType::Boolean)),
            ("tinyint", 3, 0, raw(DataType::Int16)),
            ("smallint", 5, 0, raw(DataType::Int16)),
            ("int", 10, 0, raw(DataType::Int32)),
            ("bigint", 19, 0, raw(DataType::Int64)),
            ("decimal", 38, 10, raw(DataType::Decimal128(38, 10))),
            ("numeric", 12, 2, raw(DataType::Decimal128(12, 2))),
            (
                "money",
                19,
                4,
                (
                    "CONVERT(DECIMAL(19,4), [c])".into(),
                    DataType::Decimal128(19, 4),
                ),
            ),
            (
                "smallmoney",
                10,
                4,
                (
                    "CONVERT(DECIMAL(10,4), [c])".into(),
                    DataType::Decimal128(10, 4),
                ),
            ),
            ("real", 24, 0, raw(DataType::Float32)),
            ("float", 53, 0, raw(DataType::Float64)),
            ("date", 10, 0, raw(DataType::Date32)),
            ("datetime", 23, 3, raw(DataType::Date64)),
            ("datetime2", 27, 7, raw(DataType::Date64)),
            ("smalldatetime", 16, 0, raw(DataType::Date64)),
            ("datetimeoffset", 34, 7, raw(DataType::Date64)),
            (
                "time",
                16,
                7,
                ("CONVERT(VARCHAR(16), [c])".into(), DataType::Utf8),
            ),
            (
                "uniqueidentifier",
                0,
                0,
                ("CONVERT(CHAR(36), [c])".into(), DataType::Utf8),
            ),
            ("char", 0, 0, raw(DataType::Utf8)),
            ("varchar", 0, 0, raw(DataType::Utf8)),
            ("nchar", 0, 0, raw(DataType::Utf8)),
            ("nvarchar", 0, 0, raw(DataType::Utf8)),
            ("text", 0, 0, raw(DataType::Utf8)),
            ("ntext", 0, 0, raw(DataType::Utf8)),
            ("binary", 0, 0, raw(DataType::Binary)),
            ("varbinary", 0, 0, raw(DataType::Binary)),
            ("image", 0, 0, raw(DataType::Binary)),
            ("timestamp", 0, 0, raw(DataType::Binary)),
            (
                "xml",
                0,
                0,
                ("CONVERT(NVARCHAR(MAX), [c])".into(), DataType::Utf8),
            ),
            (
                "sql_variant",
                0,
                0,
                ("CONVERT(NVARCHAR(4000), [c])".into(), DataType::Utf8),
            ),
            ("geography", 0, 0, ("[c].STAsText()".into(), DataType::Utf8)),
            (
                "hierarchyid",
                0,
                0,
                ("CONVERT(NVARCHAR(MAX), [c])".into(), DataType::Utf8),
            ),
        ];
        for (name, p, s, want) in cases {
            assert_eq!(&mapped(name, *p, *s), want, "{name}");
        }
    }

    #[test]
    fn described_type_names_give_base_type_precision_and_scale() {
        assert_eq!(parse_type_name("decimal(10,2)"), ("decimal".into(), 10, 2));
        assert_eq!(parse_type_name("NUMERIC(38, 0)"), ("numeric".into(), 38, 0));
        assert_eq!(parse_type_name("nvarchar(max)"), ("nvarchar".into(), 0, 0));
        assert_eq!(parse_type_name("datetime2(3)"), ("datetime2".into(), 0, 0));
        assert_eq!(parse_type_name("int"), ("int".into(), 0, 0));
    }
}
