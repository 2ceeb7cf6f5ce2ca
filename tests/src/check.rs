//! Comparing what the connector returned with what the database says.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type, Int16Type,
    Int32Type, Int64Type, Int8Type,
};

/// A column's values as the text the cross-check queries produce: integers (dates as
/// days, timestamps as epoch ms, decimals unscaled), `true`/`false`, floats, text, and
/// binary as lower-case hex.
pub fn column_text(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let a = batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"));
    (0..a.len())
        .map(|i| {
            if a.is_null(i) {
                return None;
            }
            Some(match a.data_type() {
                DataType::Boolean => a.as_boolean().value(i).to_string(),
                DataType::Int8 => a.as_primitive::<Int8Type>().value(i).to_string(),
                DataType::Int16 => a.as_primitive::<Int16Type>().value(i).to_string(),
                DataType::Int32 => a.as_primitive::<Int32Type>().value(i).to_string(),
                DataType::Int64 => a.as_primitive::<Int64Type>().value(i).to_string(),
                DataType::Float32 => format!("{:?}", a.as_primitive::<Float32Type>().value(i)),
                DataType::Float64 => format!("{:?}", a.as_primitive::<Float64Type>().value(i)),
                DataType::Decimal128(_, _) => {
                    a.as_primitive::<Decimal128Type>().value(i).to_string()
                }
                DataType::Date32 => a.as_primitive::<Date32Type>().value(i).to_string(),
                DataType::Date64 => a.as_primitive::<Date64Type>().value(i).to_string(),
                DataType::Utf8 => a.as_string::<i32>().value(i).to_owned(),
                DataType::Binary => a
                    .as_binary::<i32>()
                    .value(i)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
                DataType::List(_) => {
                    let list = a.as_list::<i32>().value(i);
                    let items: Vec<String> = (0..list.len())
                        .map(|j| {
                            if list.is_null(j) {
                                "NULL".to_owned()
                            } else {
                                arrow::util::display::array_value_to_string(&list, j)
                                    .unwrap_or_default()
                            }
                        })
                        .collect();
                    format!("{{{}}}", items.join(","))
                }
                other => panic!("no text form for {other}"),
            })
        })
        .collect()
}

/// Floats compare by value (text forms differ between engines).
pub fn same_value(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) if x != y => match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(p), Ok(q)) => p == q || ((p - q) / p.abs().max(q.abs())).abs() < 1e-6,
            _ => false,
        },
        (x, y) => x == y,
    }
}

/// The `id` column (any integer type) as i64, to compare row sets.
pub fn ids(batch: &RecordBatch, name: &str) -> Vec<i64> {
    let mut v: Vec<i64> = column_text(batch, name)
        .into_iter()
        .map(|x| x.expect("ids are not null").parse().expect("integer id"))
        .collect();
    v.sort_unstable();
    v
}
