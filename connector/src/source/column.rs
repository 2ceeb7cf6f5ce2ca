//! The column model: how a source reads a column (its select expression and Arrow type),
//! and a table as the connector knows it.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use indexmap::IndexMap;

use crate::protocol::TableName;

use super::SourceError;

/// A column as the source reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The name as Athena knows it (the source's own case).
    pub name: String,
    /// The SQL producing the value: the quoted column, or a cast the type mapping needs.
    pub select: String,
    /// The Arrow type the value is returned as.
    pub data_type: DataType,
    /// What the projection reads instead of `select`, when the source finishes the value
    /// itself: PostgreSQL reads `CHAR(n)` padded and trims it while decoding (cheaper than
    /// the server's `rtrim`), while predicates and ordering keep comparing `select`.
    pub output: Option<String>,
}

impl Column {
    /// A column read as it is: `select` is the quoted name.
    pub fn new(name: impl Into<String>, select: impl Into<String>, data_type: DataType) -> Column {
        Column {
            name: name.into(),
            select: select.into(),
            data_type,
            output: None,
        }
    }

    /// The expression the projection reads.
    pub fn projected(&self) -> &str {
        self.output.as_deref().unwrap_or(&self.select)
    }
}

/// The column `name` names: exactly, else its one case-insensitive match (Athena lower-cases
/// names). `Err` holds every case-insensitive match: none, or several (ambiguous).
pub fn find_column<'a>(
    columns: &'a IndexMap<String, Column>,
    name: &str,
) -> Result<&'a Column, Vec<&'a Column>> {
    if let Some(c) = columns.get(name) {
        return Ok(c);
    }
    let found: Vec<&Column> = columns
        .values()
        .filter(|c| c.name.eq_ignore_ascii_case(name))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        _ => Err(found),
    }
}

/// Columns by name, refusing two that differ only in case: Athena, which lower-cases
/// names, could not tell them apart.
pub fn distinct_columns(
    columns: impl IntoIterator<Item = Column>,
) -> Result<IndexMap<String, Column>, SourceError> {
    let mut by_name: IndexMap<String, Column> = IndexMap::new();
    for c in columns {
        if let Some(other) = by_name.keys().find(|k| k.eq_ignore_ascii_case(&c.name)) {
            return Err(SourceError::Ambiguous {
                kind: "column",
                name: c.name.to_lowercase(),
                candidates: vec![other.clone(), c.name.clone()],
            });
        }
        by_name.insert(c.name.clone(), c);
    }
    Ok(by_name)
}

/// A table as a source reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// The name with the source's real casing.
    pub name: TableName,
    /// Every column, in table order, by its real name.
    pub columns: IndexMap<String, Column>,
}

impl TableInfo {
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .values()
                .map(|c| Field::new(&c.name, c.data_type.clone(), true))
                .collect::<Vec<_>>(),
        ))
    }

    /// The real name of a column Athena names (it lower-cases names).
    pub fn resolve_column(&self, name: &str) -> Result<&Column, SourceError> {
        let found = match find_column(&self.columns, name) {
            Ok(c) => return Ok(c),
            Err(found) => found,
        };
        match found.as_slice() {
            [] => Err(SourceError::NotFound {
                kind: "column",
                name: format!("{name} in {}", self.name),
            }),
            many => Err(SourceError::Ambiguous {
                kind: "column",
                name: name.to_owned(),
                candidates: many.iter().map(|c| c.name.clone()).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_differing_only_in_case_are_refused_by_name() {
        let err = distinct_columns([
            Column::new("Id", "\"Id\"", DataType::Int32),
            Column::new("ID", "\"ID\"", DataType::Int32),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "column name \"id\" is ambiguous: Id, ID differ only in case (use a passthrough query, system.query, to reach one)"
        );
    }
}
