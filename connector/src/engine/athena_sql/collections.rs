//! Array and map functions named or typed differently from DataFusion's: `element_at`
//! (DataFusion's is a `map_extract` alias returning a one-element list), `contains` on
//! arrays (DataFusion's is a string function) and `split`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::binary::comparison_coercion;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::common::{coerce_integer, coerce_string, map_arrays};

/// A list type with its element type replaced (fixed-size lists become lists).
fn list_of(list: &DataType, element: DataType) -> DataType {
    let field = Arc::new(Field::new_list_field(element, true));
    match list {
        DataType::LargeList(_) => DataType::LargeList(field),
        _ => DataType::List(field),
    }
}

/// A map's key and value types.
fn map_key_value(entries: &Field) -> Result<(&DataType, &DataType)> {
    match entries.data_type() {
        DataType::Struct(kv) if kv.len() == 2 => Ok((kv[0].data_type(), kv[1].data_type())),
        other => plan_err!("element_at: unexpected map entries {other}"),
    }
}

fn element_type(list: &DataType) -> Option<&DataType> {
    match list {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Some(f.data_type())
        }
        _ => None,
    }
}

/// `element_at(array, index)` (1-based, negative from the end, out of range → NULL) and
/// `element_at(map, key)` (missing key → NULL).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct ElementAt {
    signature: Signature,
}

impl ElementAt {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ElementAt {
    fn name(&self) -> &str {
        "element_at"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [container, key] = args else {
            return plan_err!("element_at: expected 2 arguments, got {}", args.len());
        };
        match container {
            DataType::Map(entries, _) => {
                Ok(vec![container.clone(), map_key_value(entries)?.0.clone()])
            }
            DataType::Null => Ok(vec![DataType::Null, key.clone()]),
            t => match element_type(t) {
                Some(e) => Ok(vec![
                    list_of(t, e.clone()),
                    coerce_integer(self.name(), key)?,
                ]),
                None => plan_err!("element_at: expected an array or a map, got {t}"),
            },
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match &args[0] {
            DataType::Map(entries, _) => Ok(map_key_value(entries)?.1.clone()),
            DataType::Null => Ok(DataType::Null),
            t => match element_type(t) {
                Some(e) => Ok(e.clone()),
                None => plan_err!("element_at: expected an array or a map, got {t}"),
            },
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let element = datafusion::functions_nested::extract::array_element_udf();
        match args.arg_fields[0].data_type() {
            DataType::Map(..) => {
                // map_extract gives [value] or []; the first element of that is the answer.
                let value = args.return_field.as_ref().clone().with_nullable(true);
                let list = Arc::new(Field::new(
                    "map_extract",
                    DataType::List(Arc::new(value.with_name("item"))),
                    true,
                ));
                let extracted = datafusion::functions_nested::map_extract::map_extract_udf()
                    .invoke_with_args(ScalarFunctionArgs {
                        return_field: Arc::clone(&list),
                        ..args.clone()
                    })?;
                let one = Arc::new(Field::new("index", DataType::Int64, false));
                element.invoke_with_args(ScalarFunctionArgs {
                    args: vec![
                        extracted,
                        ColumnarValue::Scalar(ScalarValue::Int64(Some(1))),
                    ],
                    arg_fields: vec![list, one],
                    ..args
                })
            }
            DataType::Null => Ok(ColumnarValue::Scalar(ScalarValue::Null)),
            _ => {
                // Trino rejects index 0 rather than returning NULL.
                let zero = match &args.args[1] {
                    ColumnarValue::Scalar(s) => s == &ScalarValue::Int64(Some(0)),
                    ColumnarValue::Array(a) => {
                        a.as_primitive::<Int64Type>().iter().any(|v| v == Some(0))
                    }
                };
                if zero {
                    return exec_err!("element_at: SQL array indices start at 1");
                }
                element.invoke_with_args(args)
            }
        }
    }
}

/// `contains(array, element)`; a string first argument keeps DataFusion's
/// `contains(string, substring)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Contains {
    signature: Signature,
}

impl Contains {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Contains {
    fn name(&self) -> &str {
        "contains"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [container, x] = args else {
            return plan_err!("contains: expected 2 arguments, got {}", args.len());
        };
        if let Some(e) = element_type(container) {
            let common = if x.is_null() {
                e.clone()
            } else {
                comparison_coercion(e, x).ok_or_else(|| {
                    datafusion::common::plan_datafusion_err!(
                        "contains: cannot look for {x} in an array of {e}"
                    )
                })?
            };
            return Ok(vec![list_of(container, common.clone()), common]);
        }
        Ok(vec![
            coerce_string(self.name(), container)?,
            coerce_string(self.name(), x)?,
        ])
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if element_type(args.arg_fields[0].data_type()).is_some() {
            datafusion::functions_nested::array_has::array_has_udf().invoke_with_args(args)
        } else {
            datafusion::functions::string::contains().invoke_with_args(args)
        }
    }
}

/// `split(string, delimiter [, limit])` → array(varchar); with a limit the last element
/// holds the rest of the string.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Split {
    signature: Signature,
}

impl Split {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Split {
    fn name(&self) -> &str {
        "split"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [s, d] => Ok(vec![coerce_string("split", s)?, coerce_string("split", d)?]),
            [s, d, n] => Ok(vec![
                coerce_string("split", s)?,
                coerce_string("split", d)?,
                coerce_integer("split", n)?,
            ]),
            _ => plan_err!("split: expected 2 or 3 arguments, got {}", args.len()),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(
            DataType::Utf8,
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_arrays(&args.args, |a| {
            let strings = a[0].as_string::<i32>();
            let delims = a[1].as_string::<i32>();
            let limits = a.get(2).map(|l| l.as_primitive::<Int64Type>());
            let mut out = ListBuilder::new(StringBuilder::new());
            for (i, (s, d)) in strings.iter().zip(delims).enumerate() {
                let limit = match limits {
                    Some(l) => l.is_valid(i).then(|| l.value(i)),
                    None => Some(i64::MAX),
                };
                let (Some(s), Some(d), Some(limit)) = (s, d, limit) else {
                    out.append_null();
                    continue;
                };
                if d.is_empty() {
                    return exec_err!("split: the delimiter may not be the empty string");
                }
                if limit <= 0 {
                    return exec_err!("split: limit must be positive, got {limit}");
                }
                let limit = usize::try_from(limit).unwrap_or(usize::MAX);
                for part in s.splitn(limit, d) {
                    out.values().append_value(part);
                }
                out.append(true);
            }
            Ok(Arc::new(out.finish()) as ArrayRef)
        })
    }
}
