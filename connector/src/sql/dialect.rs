//! How each engine spells what Athena asks for: identifier quoting, placeholders, string
//! comparison by code point (Athena's semantics), NULL ordering and row limits.

use crate::protocol::{Scalar, SortDirection};

use super::SqlError;

/// The SQL shape of one engine.
pub trait Dialect: Send + Sync {
    fn name(&self) -> &'static str;

    /// The identifier's quote character; embedded ones are doubled.
    fn quote_char(&self) -> char;

    /// A quoted identifier. Names come from Athena (and so from any caller that may invoke
    /// the Lambda): they are validated, never trusted.
    fn quote(&self, name: &str) -> Result<String, SqlError> {
        validate_identifier(name)?;
        let q = self.quote_char();
        let mut out = String::with_capacity(name.len() + 2);
        out.push(q);
        for c in name.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        Ok(out)
    }

    /// `schema.table`, both quoted.
    fn qualified(&self, schema: &str, table: &str) -> Result<String, SqlError> {
        Ok(format!("{}.{}", self.quote(schema)?, self.quote(table)?))
    }

    /// The placeholder for the `index`-th (1-based) parameter, with any cast `value` needs.
    fn placeholder(&self, index: usize, value: &Scalar) -> String;

    /// `expr` in a form whose `<`/`>` order strings by code point, as Athena does.
    fn ordered_text(&self, expr: &str) -> String {
        expr.to_owned()
    }

    /// `expr` in a form whose `=` compares strings exactly (case and trailing spaces), or
    /// `None` when plain `=` already does.
    fn exact_text(&self, _expr: &str) -> Option<String> {
        None
    }

    /// `a IS DISTINCT FROM b`.
    fn is_distinct_from(&self, a: &str, b: &str) -> String {
        format!("({a} IS DISTINCT FROM {b})")
    }

    /// Integer division truncating toward zero, as Athena's.
    fn integer_divide(&self, a: &str, b: &str) -> String {
        format!("({a} / {b})")
    }

    /// `a LIKE pattern` with Athena's semantics: no escape character, case-sensitive.
    fn like(&self, a: &str, pattern: &str) -> String {
        format!("({a} LIKE {pattern})")
    }

    /// A LIKE pattern constant as the engine must read it to match what Athena's pattern
    /// matches (`None`: as it is). MySQL takes `\\` as an escape, T-SQL `[` as a class.
    fn like_pattern(&self, _pattern: &str) -> Option<String> {
        None
    }

    /// One ORDER BY item.
    fn order_by(&self, expr: &str, direction: SortDirection) -> String {
        format!(
            "{expr} {} NULLS {}",
            if direction.ascending() { "ASC" } else { "DESC" },
            if direction.nulls_first() {
                "FIRST"
            } else {
                "LAST"
            }
        )
    }

    /// The clause appended for a row limit.
    fn limit(&self, n: u64) -> String {
        format!(" LIMIT {n}")
    }

    /// What follows `SELECT` for a row limit without ORDER BY, where the engine's limit
    /// clause needs an ORDER BY (T-SQL's `TOP (n)`); `None`: [`Dialect::limit`] is used.
    fn top(&self, _n: u64) -> Option<String> {
        None
    }
}

/// Rejects names no catalog object can have, whatever the quoting.
pub fn validate_identifier(name: &str) -> Result<(), SqlError> {
    if name.is_empty() {
        return Err(SqlError::Identifier {
            name: name.into(),
            why: "it is empty",
        });
    }
    if name.chars().count() > 128 {
        return Err(SqlError::Identifier {
            name: name.chars().take(40).collect::<String>() + "…",
            why: "it is longer than 128 characters",
        });
    }
    if name.chars().any(|c| c == '\0' || c.is_control()) {
        return Err(SqlError::Identifier {
            name: name.escape_debug().to_string(),
            why: "it contains a control character",
        });
    }
    Ok(())
}

pub struct Postgres;

/// PostgreSQL read through `COPY (query) TO STDOUT`, which takes no bind parameters: each
/// value is bound to `set_config('athena.pN', $N, true)` in the same transaction and read
/// back, cast, once per query through an uncorrelated sub-select.
pub struct PostgresCopy;

pub struct MySql;
pub struct Sqlite;
pub struct SqlServer;
pub struct Oracle;

fn pg_cast(value: &Scalar) -> &'static str {
    match value {
        Scalar::Bool(_) => "boolean",
        Scalar::Int8(_) | Scalar::Int16(_) | Scalar::UInt8(_) => "int2",
        Scalar::Int32(_) | Scalar::UInt16(_) => "int4",
        Scalar::Int64(_) | Scalar::UInt32(_) => "int8",
        Scalar::UInt64(_) | Scalar::Decimal { .. } => "numeric",
        Scalar::Float32(_) => "float4",
        Scalar::Float64(_) => "float8",
        Scalar::Utf8(_) => "text",
        Scalar::Binary(_) => "bytea",
        Scalar::Date32(_) => "date",
        Scalar::Date64(_) => "timestamp",
        Scalar::Timestamp { .. } => "timestamptz",
    }
}

impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }
    fn quote_char(&self) -> char {
        '"'
    }
    fn placeholder(&self, index: usize, value: &Scalar) -> String {
        format!("${index}::{}", pg_cast(value))
    }
    fn ordered_text(&self, expr: &str) -> String {
        format!("({expr} COLLATE \"C\")")
    }
    fn like(&self, a: &str, pattern: &str) -> String {
        format!("({a} LIKE {pattern} ESCAPE '')")
    }
}

impl Dialect for PostgresCopy {
    fn name(&self) -> &'static str {
        "postgres"
    }
    fn quote_char(&self) -> char {
        '"'
    }
    fn placeholder(&self, index: usize, value: &Scalar) -> String {
        match value {
            // bytea travels as hex text.
            Scalar::Binary(_) => {
                format!("(SELECT decode(current_setting('athena.p{index}'), 'hex'))")
            }
            _ => format!(
                "(SELECT current_setting('athena.p{index}')::{})",
                pg_cast(value)
            ),
        }
    }
    fn ordered_text(&self, expr: &str) -> String {
        Postgres.ordered_text(expr)
    }
    fn like(&self, a: &str, pattern: &str) -> String {
        Postgres.like(a, pattern)
    }
}

impl Dialect for MySql {
    fn name(&self) -> &'static str {
        "mysql"
    }
    fn quote_char(&self) -> char {
        '`'
    }
    fn placeholder(&self, _index: usize, value: &Scalar) -> String {
        match value {
            // A DECIMAL compared with a string would be compared as DOUBLE.
            Scalar::Decimal {
                precision, scale, ..
            } => format!("CAST(? AS DECIMAL({precision},{scale}))"),
            Scalar::UInt64(_) => "CAST(? AS DECIMAL(20,0))".into(),
            _ => "?".into(),
        }
    }
    /// Default collations are case-insensitive and pad spaces; compare the UTF-8 bytes.
    fn ordered_text(&self, expr: &str) -> String {
        format!("CAST(CONVERT({expr} USING utf8mb4) AS BINARY)")
    }
    fn exact_text(&self, expr: &str) -> Option<String> {
        Some(self.ordered_text(expr))
    }
    fn is_distinct_from(&self, a: &str, b: &str) -> String {
        format!("(NOT ({a} <=> {b}))")
    }
    fn integer_divide(&self, a: &str, b: &str) -> String {
        format!("({a} DIV {b})")
    }
    fn like(&self, a: &str, pattern: &str) -> String {
        format!(
            "({} LIKE {})",
            self.ordered_text(a),
            self.ordered_text(pattern)
        )
    }
    fn like_pattern(&self, pattern: &str) -> Option<String> {
        Some(pattern.replace('\\', "\\\\"))
    }
    /// MySQL has no NULLS FIRST/LAST; its NULLs sort first ascending, last descending.
    fn order_by(&self, expr: &str, direction: SortDirection) -> String {
        match direction {
            SortDirection::AscNullsFirst => format!("{expr} ASC"),
            SortDirection::DescNullsLast => format!("{expr} DESC"),
            SortDirection::AscNullsLast => format!("ISNULL({expr}) ASC, {expr} ASC"),
            SortDirection::DescNullsFirst => format!("ISNULL({expr}) DESC, {expr} DESC"),
        }
    }
}

impl Dialect for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn quote_char(&self) -> char {
        '"'
    }
    fn placeholder(&self, index: usize, _value: &Scalar) -> String {
        format!("?{index}")
    }
    fn is_distinct_from(&self, a: &str, b: &str) -> String {
        format!("({a} IS NOT {b})")
    }
    // LIKE is made case-sensitive per connection (`PRAGMA case_sensitive_like = ON`).
}

impl Dialect for SqlServer {
    fn name(&self) -> &'static str {
        "sqlserver"
    }
    fn quote_char(&self) -> char {
        ']'
    }
    /// `[name]`, `]` doubled: brackets quote whatever `QUOTED_IDENTIFIER` is set to.
    fn quote(&self, name: &str) -> Result<String, SqlError> {
        validate_identifier(name)?;
        Ok(format!("[{}]", name.replace(']', "]]")))
    }
    fn placeholder(&self, index: usize, _value: &Scalar) -> String {
        format!("@P{index}")
    }
    fn ordered_text(&self, expr: &str) -> String {
        format!("({expr} COLLATE Latin1_General_100_BIN2)")
    }
    fn exact_text(&self, expr: &str) -> Option<String> {
        Some(self.ordered_text(expr))
    }
    fn order_by(&self, expr: &str, direction: SortDirection) -> String {
        // T-SQL has no NULLS FIRST/LAST (upstream emits invalid SQL here).
        let nulls = if direction.nulls_first() { 0 } else { 1 };
        format!(
            "CASE WHEN {expr} IS NULL THEN {nulls} ELSE {} END, {expr} {}",
            1 - nulls,
            if direction.ascending() { "ASC" } else { "DESC" }
        )
    }
    fn is_distinct_from(&self, a: &str, b: &str) -> String {
        // IS DISTINCT FROM is SQL Server 2022's; INTERSECT compares NULLs as equal anywhere.
        format!("(NOT EXISTS (SELECT {a} INTERSECT SELECT {b}))")
    }
    fn like(&self, a: &str, pattern: &str) -> String {
        format!("({a} COLLATE Latin1_General_100_BIN2 LIKE {pattern})")
    }
    fn like_pattern(&self, pattern: &str) -> Option<String> {
        Some(pattern.replace('[', "[[]"))
    }
    fn limit(&self, n: u64) -> String {
        format!(" OFFSET 0 ROWS FETCH NEXT {n} ROWS ONLY")
    }
    fn top(&self, n: u64) -> Option<String> {
        Some(format!("TOP ({n}) "))
    }
}

impl Dialect for Oracle {
    fn name(&self) -> &'static str {
        "oracle"
    }
    fn quote_char(&self) -> char {
        '"'
    }
    fn placeholder(&self, index: usize, _value: &Scalar) -> String {
        format!(":{index}")
    }
    fn is_distinct_from(&self, a: &str, b: &str) -> String {
        format!("(DECODE({a}, {b}, 0, 1) = 1)")
    }
    fn integer_divide(&self, a: &str, b: &str) -> String {
        format!("TRUNC({a} / {b})")
    }
    fn ordered_text(&self, expr: &str) -> String {
        format!("NLSSORT({expr}, 'NLS_SORT=BINARY')")
    }
    fn limit(&self, n: u64) -> String {
        format!(" FETCH FIRST {n} ROWS ONLY")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote_and_rejects_impossible_names() {
        assert_eq!(Postgres.quote("My\"Table").unwrap(), "\"My\"\"Table\"");
        assert_eq!(MySql.quote("a`b").unwrap(), "`a``b`");
        assert_eq!(
            MySql.qualified("s", "t; DROP TABLE x").unwrap(),
            "`s`.`t; DROP TABLE x`"
        );
        assert!(Postgres.quote("").is_err());
        assert_eq!(
            Postgres.quote("a\0b").unwrap_err().to_string(),
            "invalid identifier \"a\\0b\": it contains a control character"
        );
        assert!(Oracle.quote(&"x".repeat(129)).is_err());
    }

    #[test]
    fn order_by_matches_each_engine() {
        assert_eq!(
            Postgres.order_by("\"a\"", SortDirection::DescNullsLast),
            "\"a\" DESC NULLS LAST"
        );
        assert_eq!(
            MySql.order_by("`a`", SortDirection::AscNullsLast),
            "ISNULL(`a`) ASC, `a` ASC"
        );
        assert_eq!(
            SqlServer.order_by("\"a\"", SortDirection::AscNullsLast),
            "CASE WHEN \"a\" IS NULL THEN 1 ELSE 0 END, \"a\" ASC"
        );
        assert_eq!(Oracle.limit(10), " FETCH FIRST 10 ROWS ONLY");
    }

    #[test]
    fn placeholders_carry_the_casts_values_need() {
        let d = Scalar::Decimal {
            value: 1,
            precision: 12,
            scale: 2,
        };
        assert_eq!(MySql.placeholder(1, &d), "CAST(? AS DECIMAL(12,2))");
        assert_eq!(Postgres.placeholder(3, &Scalar::Date64(0)), "$3::timestamp");
        assert_eq!(
            PostgresCopy.placeholder(2, &Scalar::Int64(0)),
            "(SELECT current_setting('athena.p2')::int8)"
        );
        assert_eq!(SqlServer.placeholder(1, &Scalar::Int64(0)), "@P1");
        assert_eq!(Oracle.placeholder(4, &Scalar::Int64(0)), ":4");
    }
}
