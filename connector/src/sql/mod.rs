//! SQL from a federation request: the projection, the constraints and the split's own
//! predicate become one SELECT per engine, with every value a bound parameter.

pub mod dialect;
pub mod select;
pub mod timestamp;

pub use dialect::{Dialect, MySql, Oracle, Postgres, PostgresCopy, SqlServer, Sqlite};
pub use select::{Query, SelectBuilder};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SqlError {
    #[error("invalid identifier \"{name}\": {why}")]
    Identifier { name: String, why: &'static str },
    #[error("column \"{0}\" is not in the table")]
    UnknownColumn(String),
    #[error("column \"{0}\" matches several columns that differ only in case")]
    AmbiguousColumn(String),
    #[error("function {name} takes {expected} argument(s), found {found}")]
    Arity {
        name: String,
        expected: &'static str,
        found: usize,
    },
    #[error("function {0} cannot be pushed down")]
    UnsupportedFunction(String),
    #[error("unusable constraint on \"{column}\": {why}")]
    Constraint { column: String, why: String },
}
