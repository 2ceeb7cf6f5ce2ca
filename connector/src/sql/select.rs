//! One SELECT from a projection, constraints and a split's own predicates.

use arrow::datatypes::DataType;
use indexmap::IndexMap;

use crate::protocol::{Constraints, Expression, Scalar, StandardFunction, ValueSet};

use super::dialect::Dialect;
use super::timestamp::{epoch_nanos, MillisRange};
use super::SqlError;
use crate::source::{find_column, Column};

/// A statement and its parameters, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub sql: String,
    pub params: Vec<Scalar>,
}

/// `lower <= expr < upper`, either end open: the row range of one split.
#[derive(Debug, Clone, PartialEq)]
pub struct RangePredicate {
    pub expr: String,
    pub from: Option<Scalar>,
    pub to: Option<Scalar>,
    /// A cast applied to each bound (e.g. `tid` for PostgreSQL page ranges).
    pub cast: Option<&'static str>,
}

pub struct SelectBuilder<'a> {
    pub dialect: &'a dyn Dialect,
    /// The FROM target, already quoted (a table, a partition, or a sub-query).
    pub from: String,
    /// Every column of the table, by name.
    pub columns: &'a IndexMap<String, Column>,
}

struct Params<'a> {
    dialect: &'a dyn Dialect,
    values: Vec<Scalar>,
}

impl Params<'_> {
    fn bind(&mut self, value: Scalar) -> String {
        let p = self.dialect.placeholder(self.values.len() + 1, &value);
        self.values.push(value);
        p
    }
}

impl SelectBuilder<'_> {
    /// A column a constraint names: exactly, else its one case-insensitive match (Athena
    /// may send lower-cased names, as it does for projections).
    fn column(&self, name: &str) -> Result<&Column, SqlError> {
        find_column(self.columns, name).map_err(|found| match found.as_slice() {
            [] => SqlError::UnknownColumn(name.to_owned()),
            _ => SqlError::AmbiguousColumn(name.to_owned()),
        })
    }

    /// `SELECT <projection> FROM <from> [WHERE …] [ORDER BY …] [LIMIT n]`.
    ///
    /// An empty projection selects the constant `1` (a `count(*)`). ORDER BY is only
    /// emitted together with a limit (top-N); the limit applies with or without it.
    pub fn build(
        &self,
        projection: &[&str],
        constraints: &Constraints,
        split: &[RangePredicate],
    ) -> Result<Query, SqlError> {
        let d = self.dialect;
        let mut params = Params {
            dialect: d,
            values: Vec::new(),
        };
        let select = if projection.is_empty() {
            "1".to_owned()
        } else {
            projection
                .iter()
                .map(|name| {
                    let c = self.column(name)?;
                    let alias = d.quote(&c.name)?;
                    Ok(if c.projected() == alias {
                        alias
                    } else {
                        format!("{} AS {alias}", c.projected())
                    })
                })
                .collect::<Result<Vec<_>, SqlError>>()?
                .join(", ")
        };
        let mut conjuncts = Vec::new();
        for (name, set) in &constraints.summary {
            let c = self.column(name)?;
            conjuncts.push(self.value_set(c, set, &mut params)?);
        }
        for e in &constraints.expression {
            conjuncts.push(self.expression(e, &mut params)?);
        }
        for r in split {
            let cast = |p: String| match r.cast {
                Some(t) => format!("CAST({p} AS {t})"),
                None => p,
            };
            if let Some(from) = &r.from {
                conjuncts.push(format!("{} >= {}", r.expr, cast(params.bind(from.clone()))));
            }
            if let Some(to) = &r.to {
                conjuncts.push(format!("{} < {}", r.expr, cast(params.bind(to.clone()))));
            }
        }
        let top = match constraints.limit() {
            Some(n) if constraints.order_by.is_empty() => d.top(n),
            _ => None,
        };
        let mut sql = format!(
            "SELECT {}{select} FROM {}",
            top.as_deref().unwrap_or(""),
            self.from
        );
        if !conjuncts.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conjuncts.join(" AND "));
        }
        if let Some(limit) = constraints.limit() {
            if !constraints.order_by.is_empty() {
                let items = constraints
                    .order_by
                    .iter()
                    .map(|o| {
                        let c = self.column(&o.column_name)?;
                        let expr = if c.data_type == DataType::Utf8 {
                            d.ordered_text(&c.select)
                        } else {
                            c.select.clone()
                        };
                        Ok(d.order_by(&expr, o.direction))
                    })
                    .collect::<Result<Vec<_>, SqlError>>()?;
                sql.push_str(" ORDER BY ");
                sql.push_str(&items.join(", "));
            }
            if top.is_none() {
                sql.push_str(&d.limit(limit));
            }
        }
        Ok(Query {
            sql,
            params: params.values,
        })
    }

    /// A value set over one column, with the SDK's semantics (SPEC §3.4.1).
    fn value_set(
        &self,
        c: &Column,
        set: &ValueSet,
        params: &mut Params<'_>,
    ) -> Result<String, SqlError> {
        if c.data_type == DataType::Date64 {
            if let Some(sql) = self.timestamp_set(c, set, params)? {
                return Ok(sql);
            }
        }
        let d = self.dialect;
        let e = &c.select;
        let text = c.data_type == DataType::Utf8;
        let bad = |why: String| SqlError::Constraint {
            column: c.name.clone(),
            why,
        };
        let mut terms: Vec<String> = Vec::new();
        match set {
            ValueSet::AllOrNone { all, .. } => {
                if *all {
                    terms.push(format!("{e} IS NOT NULL"));
                }
            }
            ValueSet::Equatable {
                values, white_list, ..
            } => {
                let values = ValueSet::equatable_values(values).map_err(bad)?;
                match (values.is_empty(), white_list) {
                    (true, true) => {}
                    (true, false) => terms.push(format!("{e} IS NOT NULL")),
                    (false, true) => terms.push(self.membership(e, text, &values, params)),
                    (false, false) => {
                        let target = if text {
                            d.exact_text(e).unwrap_or_else(|| e.clone())
                        } else {
                            e.clone()
                        };
                        let list = self.list(&values, text, params);
                        terms.push(format!("{target} NOT IN ({list})"));
                    }
                }
            }
            ValueSet::SortedRange { ranges, .. } => {
                // Points first, bound in the order they appear (positional `?` placeholders).
                let mut points = Vec::new();
                let mut intervals = Vec::new();
                for r in ranges {
                    match r.single_value().map_err(&bad)? {
                        Some(v) => points.push(v),
                        None => intervals.push(r),
                    }
                }
                if !points.is_empty() {
                    terms.push(self.membership(e, text, &points, params));
                }
                for r in intervals {
                    let cmp = if text { d.ordered_text(e) } else { e.clone() };
                    let mut both = Vec::new();
                    if let Some((v, inclusive)) = r.lower().map_err(&bad)? {
                        let p = self.param(v, text, params);
                        both.push(format!("{cmp} {} {p}", if inclusive { ">=" } else { ">" }));
                    }
                    if let Some((v, inclusive)) = r.upper().map_err(&bad)? {
                        let p = self.param(v, text, params);
                        both.push(format!("{cmp} {} {p}", if inclusive { "<=" } else { "<" }));
                    }
                    terms.push(match both.len() {
                        0 => format!("{e} IS NOT NULL"),
                        1 => both.remove(0),
                        _ => format!("({})", both.join(" AND ")),
                    });
                }
            }
        }
        if set.null_allowed() {
            terms.insert(0, format!("{e} IS NULL"));
        }
        Ok(match terms.len() {
            0 => "(1 = 0)".to_owned(),
            1 => format!("({})", terms.remove(0)),
            _ => format!("({})", terms.join(" OR ")),
        })
    }

    /// A value set of timestamps over a timestamp (DATEMILLI) column: the values Athena sees
    /// (whole milliseconds) compared, as millisecond ranges of the database's own value
    /// (`sql::timestamp`). `None` when a value is not a timestamp (compared as it is).
    fn timestamp_set(
        &self,
        c: &Column,
        set: &ValueSet,
        params: &mut Params<'_>,
    ) -> Result<Option<String>, SqlError> {
        let e = &c.select;
        let bad = |why: String| SqlError::Constraint {
            column: c.name.clone(),
            why,
        };
        let is_timestamp = |v: &Scalar| epoch_nanos(v).is_some();
        let mut ranges = Vec::new();
        let mut negate = false;
        match set {
            ValueSet::AllOrNone { .. } => return Ok(None),
            ValueSet::Equatable {
                values, white_list, ..
            } => {
                let values = ValueSet::equatable_values(values).map_err(bad)?;
                if !values.iter().all(is_timestamp) {
                    return Ok(None);
                }
                for v in &values {
                    ranges.extend(MillisRange::point(v).map_err(bad)?);
                }
                negate = !white_list;
            }
            ValueSet::SortedRange { ranges: rs, .. } => {
                for r in rs {
                    let (lower, upper) = (r.lower().map_err(bad)?, r.upper().map_err(bad)?);
                    if !lower
                        .iter()
                        .chain(upper.iter())
                        .all(|(v, _)| is_timestamp(v))
                    {
                        return Ok(None);
                    }
                    ranges.extend(
                        match r.single_value().map_err(bad)? {
                            Some(v) => MillisRange::point(&v),
                            None => MillisRange::new(lower.as_ref(), upper.as_ref()),
                        }
                        .map_err(bad)?,
                    );
                }
            }
        }
        let mut terms: Vec<String> = ranges
            .into_iter()
            .map(|r| millis_range(e, r, params))
            .collect();
        if negate {
            terms = vec![if terms.is_empty() {
                format!("{e} IS NOT NULL")
            } else {
                format!("NOT ({})", terms.join(" OR "))
            }];
        }
        if set.null_allowed() {
            terms.insert(0, format!("{e} IS NULL"));
        }
        Ok(Some(match terms.len() {
            0 => "(1 = 0)".to_owned(),
            1 => format!("({})", terms.remove(0)),
            _ => format!("({})", terms.join(" OR ")),
        }))
    }

    /// `column <op> constant` (either side) over a timestamp (DATEMILLI) column, as
    /// [`Self::timestamp_set`] compares; `None` for any other comparison.
    fn timestamp_comparison(
        &self,
        f: StandardFunction,
        arguments: &[Expression],
        params: &mut Params<'_>,
    ) -> Result<Option<String>, SqlError> {
        use StandardFunction as F;
        let (column, constant, f) = match arguments {
            [Expression::Variable { column_name, .. }, Expression::Constant { values, .. }] => {
                (column_name, values, f)
            }
            [Expression::Constant { values, .. }, Expression::Variable { column_name, .. }] => (
                column_name,
                values,
                match f {
                    F::LessThan => F::GreaterThan,
                    F::LessThanOrEqual => F::GreaterThanOrEqual,
                    F::GreaterThan => F::LessThan,
                    F::GreaterThanOrEqual => F::LessThanOrEqual,
                    other => other,
                },
            ),
            _ => return Ok(None),
        };
        let c = self.column(column)?;
        let bad = |why: String| SqlError::Constraint {
            column: c.name.clone(),
            why,
        };
        let values = ValueSet::equatable_values(constant).map_err(bad)?;
        let [v] = values.as_slice() else {
            return Ok(None);
        };
        if c.data_type != DataType::Date64 || epoch_nanos(v).is_none() {
            return Ok(None);
        }
        let e = &c.select;
        let v = (v.clone(), true);
        let x = (v.0.clone(), false);
        Ok(Some(match f {
            F::GreaterThanOrEqual | F::GreaterThan | F::LessThanOrEqual | F::LessThan => {
                let range = match f {
                    F::GreaterThanOrEqual => MillisRange::new(Some(&v), None),
                    F::GreaterThan => MillisRange::new(Some(&x), None),
                    F::LessThanOrEqual => MillisRange::new(None, Some(&v)),
                    _ => MillisRange::new(None, Some(&x)),
                }
                .map_err(bad)?;
                match range {
                    Some(r) => format!("({})", millis_range(e, r, params)),
                    // Never holds, and is NULL for NULL, as the comparison.
                    None => format!("({e} <> {e})"),
                }
            }
            F::Equal | F::NotEqual => {
                let equal = F::Equal == f;
                match MillisRange::point(&v.0).map_err(bad)? {
                    Some(MillisRange {
                        from: Some(from),
                        to: Some(to),
                    }) => {
                        let (from, to) = (params.bind(from), params.bind(to));
                        if equal {
                            format!("({e} >= {from} AND {e} < {to})")
                        } else {
                            format!("({e} < {from} OR {e} >= {to})")
                        }
                    }
                    // Finer than a millisecond: equal to no value Athena sees.
                    _ => format!("({e} {} {e})", if equal { "<>" } else { "=" }),
                }
            }
            _ => return Ok(None),
        }))
    }

    /// `e = v` / `e IN (…)`; for text where `=` is inexact, the index-friendly test is
    /// kept and an exact one added.
    fn membership(
        &self,
        e: &str,
        text: bool,
        values: &[Scalar],
        params: &mut Params<'_>,
    ) -> String {
        let test = |target: &str, params: &mut Params<'_>, exact: bool| {
            let list = if exact {
                self.list(values, true, params)
            } else {
                self.list(values, false, params)
            };
            if values.len() == 1 {
                format!("{target} = {list}")
            } else {
                format!("{target} IN ({list})")
            }
        };
        match self.dialect.exact_text(e).filter(|_| text) {
            Some(exact) => {
                let loose = test(e, params, false);
                format!("({loose} AND {})", test(&exact, params, true))
            }
            None => test(e, params, false),
        }
    }

    fn list(&self, values: &[Scalar], exact_text: bool, params: &mut Params<'_>) -> String {
        values
            .iter()
            .map(|v| self.param(v.clone(), exact_text, params))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A parameter; text compared exactly or by order goes through the same transform as
    /// the column.
    fn param(&self, v: Scalar, text: bool, params: &mut Params<'_>) -> String {
        let p = params.bind(v);
        if text {
            self.dialect.exact_text(&p).unwrap_or(p)
        } else {
            p
        }
    }

    /// A federation expression (SPEC §3.4.2, §6.8), arity checked.
    fn expression(&self, e: &Expression, params: &mut Params<'_>) -> Result<String, SqlError> {
        let d = self.dialect;
        match e {
            Expression::Variable { column_name, .. } => {
                Ok(self.column(column_name)?.select.clone())
            }
            Expression::Constant { values, .. } => {
                let values =
                    ValueSet::equatable_values(values).map_err(|why| SqlError::Constraint {
                        column: "<constant>".into(),
                        why,
                    })?;
                Ok(values
                    .into_iter()
                    .map(|v| params.bind(v))
                    .collect::<Vec<_>>()
                    .join(", "))
            }
            Expression::FunctionCall {
                function_name,
                arguments,
                ..
            } => {
                let f = StandardFunction::from_name(function_name)
                    .ok_or_else(|| SqlError::UnsupportedFunction(function_name.clone()))?;
                let arity = |expected: &'static str, ok: bool| {
                    if ok {
                        Ok(())
                    } else {
                        Err(SqlError::Arity {
                            name: function_name.clone(),
                            expected,
                            found: arguments.len(),
                        })
                    }
                };
                let n = arguments.len();
                let is_text =
                    |x: &Expression| matches!(x.arrow_type(), crate::protocol::ArrowType::Utf8);
                let any_text = arguments.iter().any(is_text);
                use StandardFunction as F;
                match f {
                    F::And | F::Or => {
                        arity("one or more", n >= 1)?;
                        let parts = arguments
                            .iter()
                            .map(|a| self.expression(a, params))
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok(format!(
                            "({})",
                            parts.join(if f == F::And { " AND " } else { " OR " })
                        ))
                    }
                    F::Array => {
                        let parts = arguments
                            .iter()
                            .map(|a| self.expression(a, params))
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok(parts.join(", "))
                    }
                    F::Not | F::IsNull | F::Negate => {
                        arity("1", n == 1)?;
                        let a = self.expression(&arguments[0], params)?;
                        Ok(match f {
                            F::Not => format!("(NOT {a})"),
                            F::IsNull => format!("({a} IS NULL)"),
                            _ => format!("(-{a})"),
                        })
                    }
                    F::In => {
                        arity("2", n == 2)?;
                        let a = self.expression(&arguments[0], params)?;
                        let items = self.list_items(&arguments[1], params)?;
                        let t = |x: &str| {
                            if any_text {
                                d.exact_text(x).unwrap_or_else(|| x.to_owned())
                            } else {
                                x.to_owned()
                            }
                        };
                        let list: Vec<String> = items.iter().map(|i| t(i)).collect();
                        Ok(format!("({} IN ({}))", t(&a), list.join(", ")))
                    }
                    F::LikePattern => {
                        arity("2", n == 2)?;
                        let a = self.expression(&arguments[0], params)?;
                        let pattern = match &arguments[1] {
                            Expression::Constant { values, .. } => {
                                let values = ValueSet::equatable_values(values).map_err(|why| {
                                    SqlError::Constraint {
                                        column: "<pattern>".into(),
                                        why,
                                    }
                                })?;
                                let escaped: Vec<String> = values
                                    .into_iter()
                                    .map(|v| match v {
                                        Scalar::Utf8(s) => params
                                            .bind(Scalar::Utf8(d.like_pattern(&s).unwrap_or(s))),
                                        other => params.bind(other),
                                    })
                                    .collect();
                                escaped.join(", ")
                            }
                            other => self.expression(other, params)?,
                        };
                        Ok(d.like(&a, &pattern))
                    }
                    F::Equal
                    | F::NotEqual
                    | F::LessThan
                    | F::LessThanOrEqual
                    | F::GreaterThan
                    | F::GreaterThanOrEqual
                        if n == 2 && !any_text =>
                    {
                        match self.timestamp_comparison(f, arguments, params)? {
                            Some(sql) => Ok(sql),
                            None => self.binary(f, function_name, arguments, any_text, params),
                        }
                    }
                    _ => self.binary(f, function_name, arguments, any_text, params),
                }
            }
        }
    }

    /// A two-argument function: an infix operator, NULLIF or IS DISTINCT FROM.
    fn binary(
        &self,
        f: StandardFunction,
        function_name: &str,
        arguments: &[Expression],
        any_text: bool,
        params: &mut Params<'_>,
    ) -> Result<String, SqlError> {
        use StandardFunction as F;
        let d = self.dialect;
        let [a, b] = arguments else {
            return Err(SqlError::Arity {
                name: function_name.to_owned(),
                expected: "2",
                found: arguments.len(),
            });
        };
        let (ta, tb) = (a.arrow_type(), b.arrow_type());
        let a = self.expression(a, params)?;
        let b = self.expression(b, params)?;
        Ok(match f {
            F::NullIf => format!("NULLIF({a}, {b})"),
            F::IsDistinctFrom => d.is_distinct_from(&a, &b),
            F::Divide if is_integer(ta) && is_integer(tb) => d.integer_divide(&a, &b),
            F::Equal | F::NotEqual if any_text => {
                let t = |x: &str| d.exact_text(x).unwrap_or_else(|| x.to_owned());
                format!("({} {} {})", t(&a), f.infix().unwrap_or("="), t(&b))
            }
            F::LessThan | F::LessThanOrEqual | F::GreaterThan | F::GreaterThanOrEqual
                if any_text =>
            {
                format!(
                    "({} {} {})",
                    d.ordered_text(&a),
                    f.infix().unwrap_or("<"),
                    d.ordered_text(&b)
                )
            }
            _ => {
                let op = f
                    .infix()
                    .ok_or_else(|| SqlError::UnsupportedFunction(function_name.to_owned()))?;
                format!("({a} {op} {b})")
            }
        })
    }
}

impl SelectBuilder<'_> {
    /// The members of an IN list: a constant's rows, an `$array`'s arguments, or one item.
    fn list_items(&self, e: &Expression, params: &mut Params<'_>) -> Result<Vec<String>, SqlError> {
        match e {
            Expression::Constant { values, .. } => Ok(ValueSet::equatable_values(values)
                .map_err(|why| SqlError::Constraint {
                    column: "<constant>".into(),
                    why,
                })?
                .into_iter()
                .map(|v| params.bind(v))
                .collect()),
            Expression::FunctionCall {
                function_name,
                arguments,
                ..
            } if function_name == StandardFunction::Array.as_str() => {
                let mut out = Vec::new();
                for a in arguments {
                    out.extend(self.list_items(a, params)?);
                }
                Ok(out)
            }
            other => Ok(vec![self.expression(other, params)?]),
        }
    }
}

/// `from <= e < to`, each end bound (an open end left out).
fn millis_range(e: &str, r: MillisRange, params: &mut Params<'_>) -> String {
    match (r.from, r.to) {
        (Some(from), Some(to)) => {
            let from = params.bind(from);
            let to = params.bind(to);
            format!("({e} >= {from} AND {e} < {to})")
        }
        (Some(from), None) => format!("{e} >= {}", params.bind(from)),
        (None, Some(to)) => format!("{e} < {}", params.bind(to)),
        (None, None) => format!("{e} IS NOT NULL"),
    }
}

fn is_integer(t: &crate::protocol::ArrowType) -> bool {
    matches!(t, crate::protocol::ArrowType::Int { .. })
}

#[cfg(test)]
mod tests;
