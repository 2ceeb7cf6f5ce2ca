//! SQLite → Arrow: the type-mapping table (README "Type mapping").
//!
//! SQLite types are affinities, so the declared type decides the Arrow type: INT →
//! bigint, REAL/FLOAT/DOUBLE → double, DECIMAL(p,s) → decimal(p,s), BOOLEAN → boolean,
//! DATE → date, DATETIME/TIMESTAMP → timestamp, BLOB → varbinary, anything else → varchar.
//! Dates and timestamps are selected through `date()`/`strftime()`, so whatever text format
//! a row holds, the value and the comparisons pushed down are canonical.

use arrow::datatypes::DataType;

use crate::source::Column;

/// Maps a declared type to the Arrow type and the SQL selecting the column.
pub fn map_column(quoted: &str, name: &str, declared: &str) -> Column {
    let t = declared.to_ascii_uppercase();
    let decimal = || {
        let args = t.split_once('(')?.1.trim_end_matches(')');
        let (p, s) = args.split_once(',').unwrap_or((args, "0"));
        let (p, s): (u8, i8) = (p.trim().parse().ok()?, s.trim().parse().ok()?);
        ((1..=38).contains(&p) && s >= 0 && s as u8 <= p).then_some(DataType::Decimal128(p, s))
    };
    let raw = |d: DataType| (quoted.to_owned(), d);
    let (select, data_type) = if t.contains("INT") {
        raw(DataType::Int64)
    } else if t.starts_with("BOOL") {
        raw(DataType::Boolean)
    } else if t.starts_with("DECIMAL") || t.starts_with("NUMERIC") {
        match decimal() {
            Some(d) => raw(d),
            None => raw(DataType::Float64),
        }
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        raw(DataType::Float64)
    } else if t == "DATE" {
        (format!("date({quoted})"), DataType::Date32)
    } else if t.starts_with("DATETIME") || t.starts_with("TIMESTAMP") {
        (
            format!("strftime('%Y-%m-%d %H:%M:%f', {quoted})"),
            DataType::Date64,
        )
    } else if t.contains("BLOB") {
        raw(DataType::Binary)
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        raw(DataType::Utf8)
    } else {
        (format!("CAST({quoted} AS TEXT)"), DataType::Utf8)
    };
    Column {
        name: name.to_owned(),
        select,
        data_type,
        output: None,
    }
}
