//! Athena's rules for names in SQL text and in results.
//!
//! Athena (Trino) matches every identifier case-insensitively, quoted or not. Its result
//! headers are a column's or alias's name as the query spells it (`SELECT Name` prints
//! `Name`, `*` prints the table's lower-case names), and an expression without an alias is
//! named by its position (`_col0`, `_col1`, …; Trino's `LogicalPlanner`). DataFusion
//! lower-cases only unquoted identifiers and names expressions by their text; these two
//! functions close the gap.

use datafusion::common::{DataFusionError, Result};
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::Expr;
use datafusion::sql::sqlparser::ast::{Expr as SqlExpr, Query, SelectItem, SetExpr, Statement};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// `sql` with every double-quoted (or back-quoted) identifier in lower case, so that
/// `"CamelCol"` finds the column Athena presents as `camelcol`. String literals and
/// everything else are left exactly as written.
pub fn fold_quoted_identifiers(sql: &str) -> Result<String> {
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| DataFusionError::SQL(Box::new(e.into()), None))?;
    // Byte offset of each line's start, to turn (line, column) into a byte range.
    let mut line_starts = vec![0usize];
    line_starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
    let offset = |line: u64, column: u64| -> Option<usize> {
        let start = *line_starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let rest = &sql[start..];
        let column = usize::try_from(column).ok()?.checked_sub(1)?;
        Some(
            start
                + rest
                    .char_indices()
                    .nth(column)
                    .map_or(rest.len(), |(i, _)| i),
        )
    };
    let mut out = String::with_capacity(sql.len());
    let mut done = 0;
    for t in tokens {
        let Token::Word(w) = &t.token else { continue };
        if w.quote_style.is_none() || w.value.to_lowercase() == w.value {
            continue;
        }
        let (Some(start), Some(end)) = (
            offset(t.span.start.line, t.span.start.column),
            offset(t.span.end.line, t.span.end.column),
        ) else {
            continue;
        };
        if start < done || end > sql.len() || start >= end {
            continue;
        }
        out.push_str(&sql[done..start]);
        out.push_str(&sql[start..end].to_lowercase());
        done = end;
    }
    out.push_str(&sql[done..]);
    Ok(out)
}

/// How Athena names the result column of one select item.
#[derive(Debug, PartialEq, Eq)]
enum Header {
    /// An alias, a column or a struct field (`r.x`): the last name, as the query spells it.
    Spelled(String),
    /// Any other expression: `_col<position>`.
    Positional,
    /// `*` or `t.*`: as many columns as it expands to, each keeping its name.
    Wildcard,
}

fn header(item: &SelectItem) -> Header {
    match item {
        SelectItem::UnnamedExpr(e) => expression_header(e),
        SelectItem::ExprWithAlias { alias, .. } => Header::Spelled(alias.value.clone()),
        SelectItem::ExprWithAliases { .. } => Header::Positional,
        SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => Header::Wildcard,
    }
}

fn expression_header(e: &SqlExpr) -> Header {
    match e {
        SqlExpr::Identifier(id) => Header::Spelled(id.value.clone()),
        // `t.a` is named `a`; `r.x` (a struct field) `x`.
        SqlExpr::CompoundIdentifier(parts) => match parts.last() {
            Some(last) => Header::Spelled(last.value.clone()),
            None => Header::Positional,
        },
        SqlExpr::Nested(inner) => expression_header(inner),
        _ => Header::Positional,
    }
}

/// The select list that names a query's result columns (the leftmost of a set operation).
fn select_items(query: &Query) -> Option<&Vec<SelectItem>> {
    let mut body = query.body.as_ref();
    loop {
        match body {
            SetExpr::Select(s) => return Some(&s.projection),
            SetExpr::SetOperation { left, .. } => body = left.as_ref(),
            SetExpr::Query(q) => body = q.body.as_ref(),
            _ => return None,
        }
    }
}

/// Renames `df`'s columns the way Athena would print them for `sql` (the query as the user
/// wrote it). Left as it is where the select list cannot be matched to the columns
/// (several `*`), or where names would repeat.
pub fn athena_headers(sql: &str, df: DataFrame) -> Result<DataFrame> {
    let Ok(statements) = Parser::parse_sql(&GenericDialect {}, sql) else {
        return Ok(df);
    };
    let [Statement::Query(query)] = statements.as_slice() else {
        return Ok(df);
    };
    let Some(items) = select_items(query) else {
        return Ok(df);
    };
    let headers: Vec<Header> = items.iter().map(header).collect();
    let fields = df.schema().fields().len();
    let wildcards = headers.iter().filter(|h| **h == Header::Wildcard).count();
    let expanded = match wildcards {
        0 if headers.len() == fields => 0,
        1 if fields + 1 >= headers.len() => fields + 1 - headers.len(),
        _ => return Ok(df),
    };
    let mut names = Vec::with_capacity(fields);
    for h in &headers {
        match h {
            Header::Wildcard => names.extend((0..expanded).map(|_| None)),
            Header::Spelled(f) => names.push(Some(f.clone())),
            Header::Positional => names.push(Some(format!("_col{}", names.len()))),
        }
    }
    let schema = df.schema().clone();
    let mut exprs: Vec<Expr> = Vec::with_capacity(fields);
    let mut seen = std::collections::HashSet::new();
    for (i, name) in names.into_iter().enumerate() {
        let (qualifier, field) = schema.qualified_field(i);
        let name = name.unwrap_or_else(|| field.name().to_lowercase());
        if !seen.insert(name.clone()) {
            return Ok(df);
        }
        let column = Expr::Column(datafusion::common::Column::new(
            qualifier.cloned(),
            field.name(),
        ));
        exprs.push(if *field.name() == name {
            column
        } else {
            column.alias(name)
        });
    }
    if exprs.iter().all(|e| matches!(e, Expr::Column(_))) {
        return Ok(df);
    }
    df.select(exprs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_quoted_identifiers_are_folded() {
        assert_eq!(
            fold_quoted_identifiers(
                "SELECT \"CamelCol\", Other, 'KeepMe' AS \"Alias\"\nFROM \"MixedCase\" WHERE x = 'It''s \"Q\"'"
            )
            .unwrap(),
            "SELECT \"camelcol\", Other, 'KeepMe' AS \"alias\"\nFROM \"mixedcase\" WHERE x = 'It''s \"Q\"'"
        );
        assert_eq!(
            fold_quoted_identifiers("select \"Émilie\" from t").unwrap(),
            "select \"émilie\" from t"
        );
    }

    #[tokio::test]
    async fn headers_are_positional_for_expressions_and_lower_case_otherwise() {
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.sql("CREATE TABLE t (a INT, b INT)").await.unwrap();
        let names = |sql: &'static str| {
            let ctx = ctx.clone();
            async move {
                let df = ctx.sql(sql).await.unwrap();
                let df = athena_headers(sql, df).unwrap();
                df.schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(names("SELECT count(*) FROM t").await, ["_col0"]);
        assert_eq!(
            names("SELECT A, count(*), max(b) AS Top FROM t GROUP BY a").await,
            ["A", "_col1", "Top"]
        );
        assert_eq!(names("SELECT *, a + 1 FROM t").await, ["a", "b", "_col2"]);
        assert_eq!(
            names("SELECT t.B, 1 + 1 AS \"Two\" FROM t").await,
            ["B", "Two"]
        );
        assert_eq!(
            names("SELECT a FROM t UNION ALL SELECT b FROM t").await,
            ["a"]
        );
    }
}
