//! MySQL and MariaDB → Arrow: the type-mapping tables (README "Type mapping").
//!
//! Unsigned integers widen (TINYINT UNSIGNED → smallint, SMALLINT UNSIGNED → integer, INT
//! UNSIGNED → bigint, BIGINT UNSIGNED → decimal(20,0)) instead of overflowing as upstream;
//! DECIMAL(p>38) and types without an Athena counterpart are selected as text.

use arrow::datatypes::DataType;

use crate::source::Column;

/// What `information_schema.columns` says of a column.
#[derive(Debug, Clone)]
pub struct MyColumn {
    pub name: String,
    /// `data_type`, lower case (`int`, `decimal`, …).
    pub data_type: String,
    /// `column_type`, lower case (`int(10) unsigned`, `tinyint(1)`, …).
    pub column_type: String,
    pub precision: Option<i64>,
    pub scale: Option<i64>,
}

/// Maps one column to its Arrow type and the SQL selecting it.
pub fn map_column(quoted: &str, c: &MyColumn) -> Column {
    let unsigned = c.column_type.contains("unsigned");
    let as_text = || (format!("CAST({quoted} AS CHAR)"), DataType::Utf8);
    let raw = |t: DataType| (quoted.to_owned(), t);
    let (select, data_type) = match c.data_type.as_str() {
        "tinyint" if c.column_type == "tinyint(1)" => raw(DataType::Boolean),
        "tinyint" => raw(if unsigned {
            DataType::Int16
        } else {
            DataType::Int8
        }),
        "smallint" => raw(if unsigned {
            DataType::Int32
        } else {
            DataType::Int16
        }),
        "mediumint" => raw(DataType::Int32),
        "int" | "integer" => raw(if unsigned {
            DataType::Int64
        } else {
            DataType::Int32
        }),
        "bigint" => raw(if unsigned {
            DataType::Decimal128(20, 0)
        } else {
            DataType::Int64
        }),
        "decimal" | "numeric" => match (c.precision, c.scale) {
            (Some(p), Some(s)) if (1..=38).contains(&p) => {
                raw(DataType::Decimal128(p as u8, s as i8))
            }
            _ => as_text(),
        },
        "float" => raw(DataType::Float32),
        "double" | "real" => raw(DataType::Float64),
        "bit" if c.column_type == "bit(1)" => raw(DataType::Boolean),
        "bit" => raw(DataType::Binary),
        // As the official connector (Connector/J's yearIsDateType): January 1st of the year;
        // YEAR 0 (MySQL's zero value) is NULL.
        "year" => (
            format!("MAKEDATE(NULLIF({quoted}, 0), 1)"),
            DataType::Date32,
        ),
        "date" => raw(DataType::Date32),
        "datetime" | "timestamp" => raw(DataType::Date64),
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => raw(DataType::Utf8),
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "geometry"
        | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" => raw(DataType::Binary),
        // time, enum, set, json, and whatever else: the server's text.
        _ => as_text(),
    };
    Column {
        name: c.name.clone(),
        select,
        data_type,
        output: None,
    }
}

/// Maps a passthrough query's result column, known only by the driver's type name, to its
/// Arrow type and the SQL selecting it (`quoted` is `q.<name>`).
pub fn map_result_column(quoted: String, type_name: &str) -> (String, DataType) {
    match type_name {
        "BOOLEAN" => (quoted, DataType::Boolean),
        "TINYINT" => (quoted, DataType::Int8),
        "TINYINT UNSIGNED" | "SMALLINT" => (quoted, DataType::Int16),
        "YEAR" => (
            format!("MAKEDATE(NULLIF({quoted}, 0), 1)"),
            DataType::Date32,
        ),
        "SMALLINT UNSIGNED" | "MEDIUMINT" | "MEDIUMINT UNSIGNED" | "INT" => {
            (quoted, DataType::Int32)
        }
        "INT UNSIGNED" | "BIGINT" => (quoted, DataType::Int64),
        "BIGINT UNSIGNED" => (quoted, DataType::Decimal128(20, 0)),
        "FLOAT" => (quoted, DataType::Float32),
        "DOUBLE" => (quoted, DataType::Float64),
        "DATE" => (quoted, DataType::Date32),
        "DATETIME" | "TIMESTAMP" => (quoted, DataType::Date64),
        "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" => {
            (quoted, DataType::Utf8)
        }
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" | "GEOMETRY" => {
            (quoted, DataType::Binary)
        }
        // DECIMAL's precision is not known before running: exact text.
        _ => (format!("CAST({quoted} AS CHAR)"), DataType::Utf8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(data_type: &str, column_type: &str, p: Option<i64>, s: Option<i64>) -> DataType {
        map_column(
            "`c`",
            &MyColumn {
                name: "c".into(),
                data_type: data_type.into(),
                column_type: column_type.into(),
                precision: p,
                scale: s,
            },
        )
        .data_type
    }

    #[test]
    fn unsigned_integers_widen() {
        assert_eq!(
            col("tinyint", "tinyint(3) unsigned", None, None),
            DataType::Int16
        );
        assert_eq!(col("tinyint", "tinyint(1)", None, None), DataType::Boolean);
        assert_eq!(
            col("smallint", "smallint(5) unsigned", None, None),
            DataType::Int32
        );
        assert_eq!(col("int", "int(10) unsigned", None, None), DataType::Int64);
        assert_eq!(
            col("bigint", "bigint(20) unsigned", None, None),
            DataType::Decimal128(20, 0)
        );
        assert_eq!(
            col("decimal", "decimal(65,4)", Some(65), Some(4)),
            DataType::Utf8
        );
        assert_eq!(
            col("decimal", "decimal(12,2)", Some(12), Some(2)),
            DataType::Decimal128(12, 2)
        );
        assert_eq!(col("json", "json", None, None), DataType::Utf8);
        assert_eq!(col("enum", "enum('a','b')", None, None), DataType::Utf8);
    }
}
