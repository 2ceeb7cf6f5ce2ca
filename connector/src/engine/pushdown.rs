//! DataFusion filters → federation constraints, limited to what the connector advertises.
//!
//! A filter on one column becomes that column's value set in `summary` (as Athena sends
//! them); further filters on the same column, and filters across columns, become
//! `expression` trees. A filter that cannot be expressed, or uses something the connector
//! did not advertise, stays with DataFusion.

use std::collections::HashSet;

use arrow::datatypes::{DataType, Schema, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use indexmap::IndexMap;

use crate::protocol::{
    value_block, ArrowType, Constraints, Expression, OptimizationSubType, Range, Scalar,
    StandardFunction, ValueSet,
};

/// What a connector said it pushes down (GetDataSourceCapabilities).
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    pub sorted_range_set: bool,
    pub equatable_value_set: bool,
    pub functions: HashSet<String>,
    pub limit: bool,
    pub top_n: bool,
}

impl Capabilities {
    pub fn from_response(caps: &IndexMap<String, Vec<OptimizationSubType>>) -> Capabilities {
        let has = |key: &str, sub: &str| {
            caps.get(key)
                .is_some_and(|v| v.iter().any(|s| s.sub_type == sub))
        };
        Capabilities {
            sorted_range_set: has("supports_filter_pushdown", "sorted_range_set"),
            equatable_value_set: has("supports_filter_pushdown", "equatable_range_set"),
            functions: caps
                .get("supports_complex_expression_pushdown")
                .into_iter()
                .flatten()
                .filter(|s| s.sub_type == "supported_function_expression_types")
                .flat_map(|s| s.properties.iter().cloned())
                .collect(),
            limit: has("supports_limit_pushdown", "integer_constant"),
            top_n: has("supports_top_n_pushdown", "SUPPORTS_ORDER_BY"),
        }
    }
}

/// Filters split into what the connector takes and what DataFusion keeps.
pub struct Translation {
    pub constraints: Constraints,
    /// Per input filter: whether it was pushed.
    pub pushed: Vec<bool>,
}

/// Translates `filters` (a conjunction) over a table of `schema`.
pub fn translate(filters: &[&Expr], schema: &Schema, caps: &Capabilities) -> Translation {
    let mut constraints = Constraints::default();
    let mut pushed = Vec::with_capacity(filters.len());
    for f in filters {
        if let Some((column, set)) =
            value_set(f, schema, caps).filter(|(c, _)| !constraints.summary.contains_key(c))
        {
            constraints.summary.insert(column, set);
            pushed.push(true);
        } else if let Some(e) = expression(f, schema, caps) {
            constraints.expression.push(e);
            pushed.push(true);
        } else {
            pushed.push(false);
        }
    }
    Translation {
        constraints,
        pushed,
    }
}

/// A column (through lossless casts DataFusion adds) and its table type.
fn column_of<'a>(e: &'a Expr, schema: &'a Schema) -> Option<(&'a str, &'a DataType)> {
    match e {
        Expr::Column(c) => schema
            .field_with_name(&c.name)
            .ok()
            .map(|f| (f.name().as_str(), f.data_type())),
        Expr::Cast(c) => {
            let (name, t) = column_of(&c.expr, schema)?;
            lossless(t, c.field.data_type()).then_some((name, t))
        }
        Expr::TryCast(c) => {
            let (name, t) = column_of(&c.expr, schema)?;
            lossless(t, c.field.data_type()).then_some((name, t))
        }
        _ => None,
    }
}

fn lossless(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    from == to
        || matches!(
            (from, to),
            (Int8, Int16 | Int32 | Int64)
                | (Int16, Int32 | Int64)
                | (Int32, Int64)
                | (Float32, Float64)
                | (Utf8, Utf8View | LargeUtf8)
                | (Date64, Timestamp(_, None))
                | (Date32, Date64 | Timestamp(_, None))
        )
}

/// A literal as a value of the column's type, when that is exact.
fn literal(v: &ScalarValue, column: &DataType) -> Option<Scalar> {
    if v.is_null() {
        return None;
    }
    let int = |x: i128| -> Option<Scalar> {
        Some(match column {
            DataType::Int8 => Scalar::Int8(i8::try_from(x).ok()?),
            DataType::Int16 => Scalar::Int16(i16::try_from(x).ok()?),
            DataType::Int32 => Scalar::Int32(i32::try_from(x).ok()?),
            DataType::Int64 => Scalar::Int64(i64::try_from(x).ok()?),
            DataType::Decimal128(p, s) => Scalar::Decimal {
                value: x.checked_mul(10i128.checked_pow(u32::try_from(*s).ok()?)?)?,
                precision: *p,
                scale: *s,
            },
            _ => return None,
        })
    };
    let ms = |x: i64, unit: &TimeUnit| -> Option<i64> {
        match unit {
            TimeUnit::Second => x.checked_mul(1000),
            TimeUnit::Millisecond => Some(x),
            TimeUnit::Microsecond => (x % 1000 == 0).then_some(x / 1000),
            TimeUnit::Nanosecond => (x % 1_000_000 == 0).then_some(x / 1_000_000),
        }
    };
    match (v, column) {
        (ScalarValue::Boolean(Some(b)), DataType::Boolean) => Some(Scalar::Bool(*b)),
        (ScalarValue::Int8(Some(x)), _) => int(i128::from(*x)),
        (ScalarValue::Int16(Some(x)), _) => int(i128::from(*x)),
        (ScalarValue::Int32(Some(x)), _) => int(i128::from(*x)),
        (ScalarValue::Int64(Some(x)), _) => int(i128::from(*x)),
        (ScalarValue::UInt8(Some(x)), _) => int(i128::from(*x)),
        (ScalarValue::UInt16(Some(x)), _) => int(i128::from(*x)),
        (ScalarValue::UInt32(Some(x)), _) => int(i128::from(*x)),
        (ScalarValue::UInt64(Some(x)), _) => int(i128::from(*x)),
        (ScalarValue::Float32(Some(x)), DataType::Float32) => Some(Scalar::Float32(*x)),
        (ScalarValue::Float32(Some(x)), DataType::Float64) => Some(Scalar::Float64(f64::from(*x))),
        (ScalarValue::Float64(Some(x)), DataType::Float64) => Some(Scalar::Float64(*x)),
        (ScalarValue::Decimal128(Some(x), _, s), DataType::Decimal128(p, cs)) => {
            let value = match cs.cmp(s) {
                std::cmp::Ordering::Equal => *x,
                std::cmp::Ordering::Greater => {
                    x.checked_mul(10i128.checked_pow(u32::try_from(cs - s).ok()?)?)?
                }
                std::cmp::Ordering::Less => {
                    let f = 10i128.checked_pow(u32::try_from(s - cs).ok()?)?;
                    if x % f != 0 {
                        return None;
                    }
                    x / f
                }
            };
            Some(Scalar::Decimal {
                value,
                precision: *p,
                scale: *cs,
            })
        }
        (
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
            DataType::Utf8,
        ) => Some(Scalar::Utf8(s.clone())),
        (
            ScalarValue::Binary(Some(b))
            | ScalarValue::BinaryView(Some(b))
            | ScalarValue::LargeBinary(Some(b)),
            DataType::Binary,
        ) => Some(Scalar::Binary(b.clone())),
        (ScalarValue::Date32(Some(d)), DataType::Date32) => Some(Scalar::Date32(*d)),
        (ScalarValue::Date32(Some(d)), DataType::Date64) => {
            Some(Scalar::Date64(i64::from(*d) * 86_400_000))
        }
        (ScalarValue::Date64(Some(d)), DataType::Date64) => Some(Scalar::Date64(*d)),
        (ScalarValue::TimestampSecond(Some(x), None), DataType::Date64) => {
            ms(*x, &TimeUnit::Second).map(Scalar::Date64)
        }
        (ScalarValue::TimestampMillisecond(Some(x), None), DataType::Date64) => {
            Some(Scalar::Date64(*x))
        }
        (ScalarValue::TimestampMicrosecond(Some(x), None), DataType::Date64) => {
            ms(*x, &TimeUnit::Microsecond).map(Scalar::Date64)
        }
        (ScalarValue::TimestampNanosecond(Some(x), None), DataType::Date64) => {
            ms(*x, &TimeUnit::Nanosecond).map(Scalar::Date64)
        }
        _ => None,
    }
}

fn lit_of(e: &Expr) -> Option<&ScalarValue> {
    match e {
        Expr::Literal(v, _) => Some(v),
        Expr::Cast(c) => lit_of(&c.expr),
        _ => None,
    }
}

/// A one-column predicate as the value set Athena would send.
fn value_set(e: &Expr, schema: &Schema, caps: &Capabilities) -> Option<(String, ValueSet)> {
    let ranges = |t: &DataType, rs: Vec<Range>, nulls: bool| ValueSet::ranges(t, rs, nulls);
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) if caps.sorted_range_set => {
            let (name, t, v, op) = match (
                column_of(left, schema),
                lit_of(right),
                lit_of(left),
                column_of(right, schema),
            ) {
                (Some((n, t)), Some(v), _, _) => (n, t, v, *op),
                (_, _, Some(v), Some((n, t))) => (n, t, v, op.swap()?),
                _ => return None,
            };
            let v = literal(v, t)?;
            let set = match op {
                Operator::Eq => ranges(t, vec![Range::equal(v)], false),
                Operator::NotEq => ranges(
                    t,
                    vec![
                        Range::between(t, None, Some((v.clone(), false))),
                        Range::between(t, Some((v, false)), None),
                    ],
                    false,
                ),
                Operator::Lt => ranges(t, vec![Range::between(t, None, Some((v, false)))], false),
                Operator::LtEq => ranges(t, vec![Range::between(t, None, Some((v, true)))], false),
                Operator::Gt => ranges(t, vec![Range::between(t, Some((v, false)), None)], false),
                Operator::GtEq => ranges(t, vec![Range::between(t, Some((v, true)), None)], false),
                _ => return None,
            };
            Some((name.to_owned(), set))
        }
        Expr::IsNull(inner) if caps.sorted_range_set => {
            let (name, t) = column_of(inner, schema)?;
            Some((name.to_owned(), ranges(t, vec![], true)))
        }
        Expr::IsNotNull(inner) if caps.sorted_range_set => {
            let (name, t) = column_of(inner, schema)?;
            Some((
                name.to_owned(),
                ranges(t, vec![Range::between(t, None, None)], false),
            ))
        }
        Expr::Between(b) if caps.sorted_range_set && !b.negated => {
            let (name, t) = column_of(&b.expr, schema)?;
            let (lo, hi) = (literal(lit_of(&b.low)?, t)?, literal(lit_of(&b.high)?, t)?);
            Some((
                name.to_owned(),
                ranges(
                    t,
                    vec![Range::between(t, Some((lo, true)), Some((hi, true)))],
                    false,
                ),
            ))
        }
        Expr::InList(list) => {
            let (name, t) = column_of(&list.expr, schema)?;
            let values: Vec<Scalar> = list
                .list
                .iter()
                .map(|x| lit_of(x).and_then(|v| literal(v, t)))
                .collect::<Option<_>>()?;
            if list.negated {
                caps.equatable_value_set.then(|| {
                    Some((
                        name.to_owned(),
                        ValueSet::values(t, &values, false, false).ok()?,
                    ))
                })?
            } else if caps.sorted_range_set {
                Some((
                    name.to_owned(),
                    ranges(t, values.into_iter().map(Range::equal).collect(), false),
                ))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// A literal as a constant of the type of the expression it is compared or combined with.
fn constant(v: &ScalarValue, other: &Expression) -> Option<Expression> {
    let t = other.arrow_type().to_data_type()?;
    let value = literal(v, &t)?;
    Some(Expression::Constant {
        values: value_block(&t, &[value]).ok()?,
        arrow_type: other.arrow_type().clone(),
    })
}

/// Any supported predicate as an expression tree.
fn expression(e: &Expr, schema: &Schema, caps: &Capabilities) -> Option<Expression> {
    let call = |f: StandardFunction, t: ArrowType, args: Vec<Expression>| -> Option<Expression> {
        caps.functions
            .contains(f.as_str())
            .then(|| Expression::FunctionCall {
                arrow_type: t,
                function_name: f.as_str().into(),
                arguments: args,
            })
    };
    let sub = |x: &Expr| expression(x, schema, caps);
    match e {
        Expr::Column(c) => {
            let f = schema.field_with_name(&c.name).ok()?;
            Some(Expression::Variable {
                column_name: f.name().clone(),
                arrow_type: ArrowType::from_data_type(f.data_type())?,
            })
        }
        Expr::Cast(c) if column_of(e, schema).is_some() => sub(&c.expr),
        Expr::Literal(..) | Expr::Cast(_) => None,
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            use StandardFunction as F;
            let f = match op {
                Operator::And => F::And,
                Operator::Or => F::Or,
                Operator::Eq => F::Equal,
                Operator::NotEq => F::NotEqual,
                Operator::Lt => F::LessThan,
                Operator::LtEq => F::LessThanOrEqual,
                Operator::Gt => F::GreaterThan,
                Operator::GtEq => F::GreaterThanOrEqual,
                Operator::IsDistinctFrom => F::IsDistinctFrom,
                Operator::Plus => F::Add,
                Operator::Minus => F::Subtract,
                Operator::Multiply => F::Multiply,
                Operator::Divide => F::Divide,
                Operator::Modulo => F::Modulus,
                _ => return None,
            };
            // A literal takes the type of the column (or sub-expression) it meets.
            let (l, r) = match (lit_of(left), lit_of(right)) {
                (Some(_), Some(_)) => return None,
                (Some(v), None) => {
                    let r = sub(right)?;
                    (constant(v, &r)?, r)
                }
                (None, Some(v)) => {
                    let l = sub(left)?;
                    let c = constant(v, &l)?;
                    (l, c)
                }
                (None, None) => (sub(left)?, sub(right)?),
            };
            let result = match f {
                F::Add | F::Subtract | F::Multiply | F::Divide | F::Modulus => {
                    l.arrow_type().clone()
                }
                _ => ArrowType::Bool,
            };
            call(f, result, vec![l, r])
        }
        Expr::Not(inner) => call(StandardFunction::Not, ArrowType::Bool, vec![sub(inner)?]),
        Expr::IsNull(inner) => call(StandardFunction::IsNull, ArrowType::Bool, vec![sub(inner)?]),
        Expr::IsNotNull(inner) => {
            let is_null = call(StandardFunction::IsNull, ArrowType::Bool, vec![sub(inner)?])?;
            call(StandardFunction::Not, ArrowType::Bool, vec![is_null])
        }
        Expr::Negative(inner) => {
            let x = sub(inner)?;
            call(StandardFunction::Negate, x.arrow_type().clone(), vec![x])
        }
        Expr::Like(l) if !l.negated && !l.case_insensitive && l.escape_char.is_none() => {
            let pattern = match lit_of(&l.pattern)? {
                ScalarValue::Utf8(Some(p))
                | ScalarValue::Utf8View(Some(p))
                | ScalarValue::LargeUtf8(Some(p)) => p.clone(),
                _ => return None,
            };
            let constant = Expression::Constant {
                values: value_block(&DataType::Utf8, &[Scalar::Utf8(pattern)]).ok()?,
                arrow_type: ArrowType::Utf8,
            };
            call(
                StandardFunction::LikePattern,
                ArrowType::Bool,
                vec![sub(&l.expr)?, constant],
            )
        }
        Expr::InList(list) if !list.list.is_empty() => {
            let (_, t) = column_of(&list.expr, schema)?;
            let values: Vec<Scalar> = list
                .list
                .iter()
                .map(|x| lit_of(x).and_then(|v| literal(v, t)))
                .collect::<Option<_>>()?;
            let items = Expression::Constant {
                values: value_block(t, &values).ok()?,
                arrow_type: ArrowType::from_data_type(t)?,
            };
            let array = call(StandardFunction::Array, ArrowType::List, vec![items])?;
            let inside = call(
                StandardFunction::In,
                ArrowType::Bool,
                vec![sub(&list.expr)?, array],
            )?;
            if list.negated {
                call(StandardFunction::Not, ArrowType::Bool, vec![inside])
            } else {
                Some(inside)
            }
        }
        _ => None,
    }
}
