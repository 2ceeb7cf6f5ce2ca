//! `substr`/`substring` with Trino's positions: a negative start counts from the end
//! (`substr('hello', -3)` = 'llo'), where DataFusion follows PostgreSQL and clamps it.
//!
//! sqlparser turns `SUBSTR(...)`/`SUBSTRING(...)` into a syntax node that DataFusion plans
//! through its expression planners, not the function registry, so this comes with an
//! [`ExprPlanner`] that [`super::register`] puts ahead of DataFusion's.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::common::{coerce_integer, coerce_string, map_arrays};

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Substr {
    signature: Signature,
    aliases: Vec<String>,
}

impl Substr {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            aliases: vec!["substring".to_string()],
        }
    }
}

/// Trino's `substr` on code points: start 0, a start outside the string or a length ≤ 0
/// give ''.
fn substr(s: &str, start: i64, length: Option<i64>) -> &str {
    let chars = s.chars().count() as i64;
    let begin = if start > 0 { start - 1 } else { chars + start };
    if start == 0 || begin < 0 || begin >= chars || length.is_some_and(|l| l <= 0) {
        return "";
    }
    let end = match length {
        Some(l) => begin.saturating_add(l).min(chars),
        None => chars,
    };
    let byte = |c: i64| {
        s.char_indices()
            .nth(c as usize)
            .map(|(i, _)| i)
            .unwrap_or(s.len())
    };
    &s[byte(begin)..byte(end)]
}

impl ScalarUDFImpl for Substr {
    fn name(&self) -> &str {
        "substr"
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [s, start] => Ok(vec![
                coerce_string("substr", s)?,
                coerce_integer("substr", start)?,
            ]),
            [s, start, len] => Ok(vec![
                coerce_string("substr", s)?,
                coerce_integer("substr", start)?,
                coerce_integer("substr", len)?,
            ]),
            _ => plan_err!("substr: expected 2 or 3 arguments, got {}", args.len()),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_arrays(&args.args, |a| {
            let strings = a[0].as_string::<i32>();
            let starts = a[1].as_primitive::<Int64Type>();
            let lengths = a.get(2).map(|l| l.as_primitive::<Int64Type>());
            let out: StringArray = (0..strings.len())
                .map(|i| {
                    let length = match lengths {
                        Some(l) if l.is_null(i) => return None,
                        Some(l) => Some(l.value(i)),
                        None => None,
                    };
                    if strings.is_null(i) || starts.is_null(i) {
                        return None;
                    }
                    Some(substr(strings.value(i), starts.value(i), length))
                })
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

/// Plans `SUBSTRING(x FROM a FOR b)` / `SUBSTR(x, a, b)` syntax with [`Substr`].
#[derive(Debug)]
pub(super) struct SubstrPlanner(pub(super) Arc<ScalarUDF>);

impl ExprPlanner for SubstrPlanner {
    fn plan_substring(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(self.0.call(args)))
    }
}
