//! Constraints: what Athena pushes down to a connector (SPEC §3.4).
//!
//! The model keeps the wire data (value blocks with their allocator ids) so a message
//! re-serializes exactly, and offers typed views (`Scalar`s, `contains`, `Display` as a
//! predicate) for the code that turns constraints into SQL.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};

use indexmap::IndexMap;
use serde_json::Value;

use super::arrow_type::{wire_enum, ArrowType};
use super::block::Block;
use super::error::Result;
use super::json::{self, Node, ObjectWriter};
use super::scalar::Scalar;
use super::version::{Framing, SerDeVersion};

/// `summary`, `expression`, `orderByClause`, `limit`, `queryPassthroughArguments`, `queryPlan`.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraints {
    /// Per-column predicates, ANDed together. Keeps wire order.
    pub summary: IndexMap<String, ValueSet>,
    /// Boolean expressions ANDed with the summary (v4+).
    pub expression: Vec<Expression>,
    /// ORDER BY, only sent with a limit to connectors advertising top-N (v4+).
    pub order_by: Vec<OrderByField>,
    /// Row limit, `-1` for none (v4+).
    pub limit: i64,
    /// Non-empty for a `system.query` passthrough (v5+).
    pub query_passthrough_arguments: IndexMap<String, String>,
    /// The Substrait plan (v6).
    pub query_plan: Option<QueryPlan>,
}

pub const NO_LIMIT: i64 = -1;

impl Default for Constraints {
    fn default() -> Self {
        Constraints {
            summary: IndexMap::new(),
            expression: Vec::new(),
            order_by: Vec::new(),
            limit: NO_LIMIT,
            query_passthrough_arguments: IndexMap::new(),
            query_plan: None,
        }
    }
}

impl Constraints {
    /// The limit, if one applies (`0` and negative values mean none, as in the SDK).
    pub fn limit(&self) -> Option<u64> {
        u64::try_from(self.limit).ok().filter(|l| *l > 0)
    }

    pub fn is_query_passthrough(&self) -> bool {
        !self.query_passthrough_arguments.is_empty()
    }

    pub(crate) fn read(node: Node<'_>) -> Result<Constraints> {
        let summary = node
            .opt_field("summary", |n| n.map_object(ValueSet::read))?
            .unwrap_or_default();
        let mut c = Constraints {
            summary,
            ..Constraints::default()
        };
        if node.has("expression") || node.has("orderByClause") || node.has("limit") {
            node.seen.requires(SerDeVersion::V4);
        }
        if let Some(e) = node.opt_field("expression", |n| n.map_array(Expression::read))? {
            c.expression = e;
        }
        if let Some(o) = node.opt_field("orderByClause", |n| n.map_array(OrderByField::read))? {
            c.order_by = o;
        }
        if let Some(l) = node.opt_field("limit", |n| n.as_i64())? {
            c.limit = l;
        }
        if node.has("queryPassthroughArguments") {
            node.seen.requires(SerDeVersion::V5);
            c.query_passthrough_arguments = node
                .opt_field("queryPassthroughArguments", |n| n.string_map())?
                .unwrap_or_default();
        }
        if node.has("queryPlan") {
            node.seen.requires(SerDeVersion::V6);
            c.query_plan = node.opt_field("queryPlan", QueryPlan::read)?;
        }
        Ok(c)
    }

    pub(crate) fn write(&self, version: SerDeVersion) -> Result<Value> {
        let framing = version.framing();
        let mut summary = serde_json::Map::new();
        for (column, set) in &self.summary {
            summary.insert(column.clone(), set.write(framing)?);
        }
        let mut w = ObjectWriter::new().put("summary", Value::Object(summary));
        if version >= SerDeVersion::V4 {
            let expression = self
                .expression
                .iter()
                .map(|e| e.write(framing))
                .collect::<Result<Vec<_>>>()?;
            let order_by: Vec<Value> = self.order_by.iter().map(OrderByField::write).collect();
            w = w
                .put("expression", expression)
                .put("orderByClause", order_by)
                .put("limit", self.limit);
        }
        if version >= SerDeVersion::V5 {
            w = w.put(
                "queryPassthroughArguments",
                json::string_map(&self.query_passthrough_arguments),
            );
        }
        if version >= SerDeVersion::V6 {
            w = w.put(
                "queryPlan",
                self.query_plan
                    .as_ref()
                    .map_or(Value::Null, QueryPlan::write),
            );
        }
        Ok(w.build())
    }
}

/// The predicate on one column.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueSet {
    /// A union of disjoint sorted ranges.
    SortedRange {
        arrow_type: ArrowType,
        ranges: Vec<Range>,
        null_allowed: bool,
    },
    /// `IN (values)` when `white_list`, else `NOT IN (values)`; values are column `col1`.
    Equatable {
        values: Block,
        white_list: bool,
        null_allowed: bool,
    },
    /// Every non-null value (`all`) or none.
    AllOrNone {
        arrow_type: ArrowType,
        all: bool,
        null_allowed: bool,
    },
}

impl ValueSet {
    pub fn null_allowed(&self) -> bool {
        match self {
            ValueSet::SortedRange { null_allowed, .. }
            | ValueSet::Equatable { null_allowed, .. }
            | ValueSet::AllOrNone { null_allowed, .. } => *null_allowed,
        }
    }

    /// Whether `value` (`None` = SQL NULL) satisfies the predicate, with the SDK's semantics.
    pub fn contains(&self, value: Option<&Scalar>) -> Result<bool, String> {
        let Some(value) = value else {
            return Ok(self.null_allowed());
        };
        match self {
            ValueSet::AllOrNone { all, .. } => Ok(*all),
            ValueSet::Equatable {
                values, white_list, ..
            } => {
                let column = single_column(values)?;
                for row in 0..column.len() {
                    if let Some(v) = Scalar::from_array(column.as_ref(), row)? {
                        if v.compare(value) == Some(Ordering::Equal) {
                            return Ok(*white_list);
                        }
                    }
                }
                Ok(!*white_list)
            }
            ValueSet::SortedRange { ranges, .. } => {
                for range in ranges {
                    if range.contains(value)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }

    /// The equatable set's values, in order.
    pub fn equatable_values(values: &Block) -> Result<Vec<Scalar>, String> {
        let column = single_column(values)?;
        (0..column.len())
            .filter_map(|row| Scalar::from_array(column.as_ref(), row).transpose())
            .collect()
    }

    pub(crate) fn read(node: Node<'_>) -> Result<ValueSet> {
        match node.type_tag()? {
            "SortedRangeSet" => Ok(ValueSet::SortedRange {
                arrow_type: node.field("type", ArrowType::read)?,
                ranges: node.field("ranges", |n| n.map_array(Range::read))?,
                null_allowed: node.bool("nullAllowed")?,
            }),
            "EquatableValueSet" => {
                let values = node.field("valueBlock", Block::read)?;
                if values.batch.num_columns() != 1 {
                    return Err(node.invalid(format!(
                        "valueBlock must have one column, found {}",
                        values.batch.num_columns()
                    )));
                }
                Ok(ValueSet::Equatable {
                    values,
                    white_list: node.bool("whiteList")?,
                    null_allowed: node.bool("nullAllowed")?,
                })
            }
            "AllOrNoneValueSet" => Ok(ValueSet::AllOrNone {
                arrow_type: node.field("type", ArrowType::read)?,
                all: node.bool("all")?,
                null_allowed: node.bool("nullAllowed")?,
            }),
            other => Err(node.unknown_type(other)),
        }
    }

    pub(crate) fn write(&self, framing: Framing) -> Result<Value> {
        Ok(match self {
            ValueSet::SortedRange {
                arrow_type,
                ranges,
                null_allowed,
            } => ObjectWriter::typed("SortedRangeSet")
                .put("type", arrow_type.write())
                .put(
                    "ranges",
                    ranges
                        .iter()
                        .map(|r| r.write(framing))
                        .collect::<Result<Vec<_>>>()?,
                )
                .put("nullAllowed", *null_allowed),
            ValueSet::Equatable {
                values,
                white_list,
                null_allowed,
            } => ObjectWriter::typed("EquatableValueSet")
                .put("valueBlock", values.write(framing)?)
                .put("whiteList", *white_list)
                .put("nullAllowed", *null_allowed),
            ValueSet::AllOrNone {
                arrow_type,
                all,
                null_allowed,
            } => ObjectWriter::typed("AllOrNoneValueSet")
                .put("type", arrow_type.write())
                .put("all", *all)
                .put("nullAllowed", *null_allowed),
        }
        .build())
    }

    /// The predicate as SQL-like text over `column`, for people (`--explain`).
    pub fn describe(&self, column: &str) -> String {
        let mut terms = Vec::new();
        match self {
            ValueSet::AllOrNone { all: true, .. } => terms.push(format!("{column} IS NOT NULL")),
            ValueSet::AllOrNone { all: false, .. } => {}
            ValueSet::Equatable {
                values, white_list, ..
            } => {
                let list = match ValueSet::equatable_values(values) {
                    Ok(v) => v
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    Err(e) => format!("<{e}>"),
                };
                let op = if *white_list { "IN" } else { "NOT IN" };
                terms.push(format!("{column} {op} ({list})"));
            }
            ValueSet::SortedRange { ranges, .. } => {
                for r in ranges {
                    terms.push(r.describe(column));
                }
            }
        }
        if self.null_allowed() {
            terms.insert(0, format!("{column} IS NULL"));
        }
        match terms.len() {
            0 => "FALSE".into(),
            1 => terms.remove(0),
            _ => format!("({})", terms.join(" OR ")),
        }
    }
}

/// A value block: one nullable column `col1` of `data_type` holding `values`.
pub fn value_block(data_type: &DataType, values: &[Scalar]) -> Result<Block, String> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "col1",
        data_type.clone(),
        true,
    )]));
    let column = if values.is_empty() {
        arrow::array::new_empty_array(data_type)
    } else {
        let arrays: Vec<ArrayRef> = values.iter().map(Scalar::to_array).collect();
        let refs: Vec<&dyn arrow::array::Array> = arrays.iter().map(|a| a.as_ref()).collect();
        let joined = arrow::compute::concat(&refs).map_err(|e| e.to_string())?;
        if joined.data_type() != data_type {
            return Err(format!(
                "values of type {} in a {data_type} block",
                joined.data_type()
            ));
        }
        joined
    };
    RecordBatch::try_new(schema, vec![column])
        .map(|b| Block::new("athena-fed", b))
        .map_err(|e| e.to_string())
}

impl Marker {
    /// A marker at `value`.
    pub fn at(value: Scalar, bound: Bound) -> Marker {
        let block = value_block(&value.data_type(), std::slice::from_ref(&value))
            .expect("a scalar forms a one-row block of its own type");
        Marker {
            value_block: block,
            bound,
            null_value: false,
        }
    }

    /// −∞ (as a low marker, bound ABOVE) or +∞ (as a high marker, bound BELOW).
    pub fn unbounded(data_type: &DataType, bound: Bound) -> Marker {
        let block = value_block(data_type, &[]).expect("an empty block of any type");
        Marker {
            value_block: block,
            bound,
            null_value: true,
        }
    }
}

impl Range {
    /// `low <op> x <op> high`; `None` ends are unbounded; `bool`s say inclusive.
    pub fn between(
        data_type: &DataType,
        low: Option<(Scalar, bool)>,
        high: Option<(Scalar, bool)>,
    ) -> Range {
        Range {
            low: match low {
                Some((v, inclusive)) => Marker::at(
                    v,
                    if inclusive {
                        Bound::Exactly
                    } else {
                        Bound::Above
                    },
                ),
                None => Marker::unbounded(data_type, Bound::Above),
            },
            high: match high {
                Some((v, inclusive)) => Marker::at(
                    v,
                    if inclusive {
                        Bound::Exactly
                    } else {
                        Bound::Below
                    },
                ),
                None => Marker::unbounded(data_type, Bound::Below),
            },
        }
    }

    /// `x = value`.
    pub fn equal(value: Scalar) -> Range {
        Range {
            low: Marker::at(value.clone(), Bound::Exactly),
            high: Marker::at(value, Bound::Exactly),
        }
    }
}

impl ValueSet {
    pub fn ranges(data_type: &DataType, ranges: Vec<Range>, null_allowed: bool) -> ValueSet {
        ValueSet::SortedRange {
            arrow_type: ArrowType::from_data_type(data_type).unwrap_or(ArrowType::Null),
            ranges,
            null_allowed,
        }
    }

    /// `IN (values)` (`white_list`) or `NOT IN (values)`.
    pub fn values(
        data_type: &DataType,
        values: &[Scalar],
        white_list: bool,
        null_allowed: bool,
    ) -> Result<ValueSet, String> {
        Ok(ValueSet::Equatable {
            values: value_block(data_type, values)?,
            white_list,
            null_allowed,
        })
    }
}

fn single_column(block: &Block) -> Result<&arrow::array::ArrayRef, String> {
    match block.batch.columns() {
        [column] => Ok(column),
        other => Err(format!(
            "a value block has one column, found {}",
            other.len()
        )),
    }
}

wire_enum!(
    /// Where a marker sits relative to its value.
    Bound { Below = "BELOW", Exactly = "EXACTLY", Above = "ABOVE" }
);

/// One end of a range: a value (or none, for an unbounded end) and a bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Column `col1`; row 0 is the value unless `null_value`.
    pub value_block: Block,
    pub bound: Bound,
    /// True for an unbounded end (−∞ as a low marker, +∞ as a high marker).
    pub null_value: bool,
}

impl Marker {
    /// The bound value; `None` for an unbounded end.
    pub fn value(&self) -> Result<Option<Scalar>, String> {
        if self.null_value {
            return Ok(None);
        }
        let column = single_column(&self.value_block)?;
        Scalar::from_array(column.as_ref(), 0)
    }

    fn read(node: Node<'_>) -> Result<Marker> {
        let marker = Marker {
            value_block: node.field("valueBlock", Block::read)?,
            bound: node.field("bound", Bound::read)?,
            null_value: node.bool("nullValue")?,
        };
        if !marker.null_value {
            if marker.value_block.num_rows() == 0 {
                return Err(node.invalid(
                    "a bounded marker (nullValue false) has no value: its valueBlock is empty",
                ));
            }
            match marker.value() {
                Ok(Some(_)) => {}
                Ok(None) => return Err(node.invalid("a bounded marker's value is null")),
                Err(e) => return Err(node.invalid(format!("marker without a usable value: {e}"))),
            }
        }
        Ok(marker)
    }

    fn write(&self, framing: Framing) -> Result<Value> {
        Ok(ObjectWriter::new()
            .put("valueBlock", self.value_block.write(framing)?)
            .put("bound", self.bound.as_str())
            .put("nullValue", self.null_value)
            .build())
    }
}

/// `low..high`; a value lies in it when `low <= (value, EXACTLY) <= high` in marker order.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub low: Marker,
    pub high: Marker,
}

impl Range {
    /// A single value: both ends `EXACTLY` the same value.
    pub fn single_value(&self) -> Result<Option<Scalar>, String> {
        if self.low.bound != Bound::Exactly || self.high.bound != Bound::Exactly {
            return Ok(None);
        }
        match (self.low.value()?, self.high.value()?) {
            (Some(a), Some(b)) if a.compare(&b) == Some(Ordering::Equal) => Ok(Some(a)),
            _ => Ok(None),
        }
    }

    /// The lower limit as (value, inclusive); `None` when unbounded.
    pub fn lower(&self) -> Result<Option<(Scalar, bool)>, String> {
        Ok(self
            .low
            .value()?
            .map(|v| (v, self.low.bound != Bound::Above)))
    }

    /// The upper limit as (value, inclusive); `None` when unbounded.
    pub fn upper(&self) -> Result<Option<(Scalar, bool)>, String> {
        Ok(self
            .high
            .value()?
            .map(|v| (v, self.high.bound != Bound::Below)))
    }

    pub fn contains(&self, value: &Scalar) -> Result<bool, String> {
        let within = |limit: Option<(Scalar, bool)>, want: Ordering| -> Result<bool, String> {
            Ok(match limit {
                None => true,
                Some((bound, inclusive)) => match value.compare(&bound) {
                    Some(Ordering::Equal) => inclusive,
                    Some(o) => o == want,
                    None => {
                        return Err(format!(
                            "cannot compare {value} with a bound of another type ({bound})"
                        ))
                    }
                },
            })
        };
        Ok(within(self.lower()?, Ordering::Greater)? && within(self.upper()?, Ordering::Less)?)
    }

    fn describe(&self, column: &str) -> String {
        if let Ok(Some(v)) = self.single_value() {
            return format!("{column} = {v}");
        }
        let mut parts = Vec::new();
        match self.lower() {
            Ok(Some((v, true))) => parts.push(format!("{column} >= {v}")),
            Ok(Some((v, false))) => parts.push(format!("{column} > {v}")),
            Ok(None) => {}
            Err(e) => parts.push(format!("<{e}>")),
        }
        match self.upper() {
            Ok(Some((v, true))) => parts.push(format!("{column} <= {v}")),
            Ok(Some((v, false))) => parts.push(format!("{column} < {v}")),
            Ok(None) => {}
            Err(e) => parts.push(format!("<{e}>")),
        }
        match parts.len() {
            0 => format!("{column} IS NOT NULL"),
            1 => parts.remove(0),
            _ => format!("({})", parts.join(" AND ")),
        }
    }

    fn read(node: Node<'_>) -> Result<Range> {
        let low = node.field("low", Marker::read)?;
        let high = node.field("high", Marker::read)?;
        if low.null_value && low.bound == Bound::Below {
            return Err(node.invalid("low marker cannot be upper unbounded (BELOW with no value)"));
        }
        if high.null_value && high.bound == Bound::Above {
            return Err(node.invalid("high marker cannot be lower unbounded (ABOVE with no value)"));
        }
        Ok(Range { low, high })
    }

    fn write(&self, framing: Framing) -> Result<Value> {
        Ok(ObjectWriter::new()
            .put("low", self.low.write(framing)?)
            .put("high", self.high.write(framing)?)
            .build())
    }
}

/// A federation expression tree (v4+).
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    /// One or more constant values (column `col1`; several for `$in` lists).
    Constant {
        values: Block,
        arrow_type: ArrowType,
    },
    /// A column reference.
    Variable {
        column_name: String,
        arrow_type: ArrowType,
    },
    /// `$name(arguments…)`; see [`StandardFunction`].
    FunctionCall {
        arrow_type: ArrowType,
        function_name: String,
        arguments: Vec<Expression>,
    },
}

impl Expression {
    pub fn arrow_type(&self) -> &ArrowType {
        match self {
            Expression::Constant { arrow_type, .. }
            | Expression::Variable { arrow_type, .. }
            | Expression::FunctionCall { arrow_type, .. } => arrow_type,
        }
    }

    pub(crate) fn read(node: Node<'_>) -> Result<Expression> {
        match node.type_tag()? {
            "ConstantExpression" => {
                let values = node.field("valueBlock", Block::read)?;
                if values.batch.num_columns() != 1 {
                    return Err(
                        node.invalid("a constant's valueBlock must have exactly one column")
                    );
                }
                Ok(Expression::Constant {
                    values,
                    arrow_type: node.field("type", ArrowType::read)?,
                })
            }
            "VariableExpression" => Ok(Expression::Variable {
                column_name: node.string("columnName")?,
                arrow_type: node.field("type", ArrowType::read)?,
            }),
            "FunctionCallExpression" => Ok(Expression::FunctionCall {
                arrow_type: node.field("type", ArrowType::read)?,
                function_name: node.field("functionName", |n| n.string("functionName"))?,
                arguments: node.field("arguments", |n| n.map_array(Expression::read))?,
            }),
            other => Err(node.unknown_type(other)),
        }
    }

    pub(crate) fn write(&self, framing: Framing) -> Result<Value> {
        Ok(match self {
            Expression::Constant { values, arrow_type } => {
                ObjectWriter::typed("ConstantExpression")
                    .put("valueBlock", values.write(framing)?)
                    .put("type", arrow_type.write())
            }
            Expression::Variable {
                column_name,
                arrow_type,
            } => ObjectWriter::typed("VariableExpression")
                .put("columnName", column_name.as_str())
                .put("type", arrow_type.write()),
            Expression::FunctionCall {
                arrow_type,
                function_name,
                arguments,
            } => ObjectWriter::typed("FunctionCallExpression")
                .put("type", arrow_type.write())
                .put(
                    "functionName",
                    ObjectWriter::new()
                        .put("functionName", function_name.as_str())
                        .build(),
                )
                .put(
                    "arguments",
                    arguments
                        .iter()
                        .map(|a| a.write(framing))
                        .collect::<Result<Vec<_>>>()?,
                ),
        }
        .build())
    }
}

/// Infix rendering for people (`--explain`); SQL generation lives in the dialect code.
impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expression::Variable { column_name, .. } => f.write_str(column_name),
            Expression::Constant { values, .. } => match ValueSet::equatable_values(values) {
                Ok(v) => {
                    let list: Vec<String> = v.iter().map(ToString::to_string).collect();
                    f.write_str(&list.join(", "))
                }
                Err(e) => write!(f, "<{e}>"),
            },
            Expression::FunctionCall {
                function_name,
                arguments,
                ..
            } => {
                let args: Vec<String> = arguments.iter().map(ToString::to_string).collect();
                let a = |i: usize| args.get(i).map_or("?", String::as_str);
                match StandardFunction::from_name(function_name) {
                    Some(func) => match func.infix() {
                        Some(op) if args.len() == 2 => write!(f, "({} {op} {})", a(0), a(1)),
                        _ => match func {
                            StandardFunction::And => write!(f, "({})", args.join(" AND ")),
                            StandardFunction::Or => write!(f, "({})", args.join(" OR ")),
                            StandardFunction::Not => write!(f, "(NOT {})", a(0)),
                            StandardFunction::Negate => write!(f, "(-{})", a(0)),
                            StandardFunction::IsNull => write!(f, "({} IS NULL)", a(0)),
                            StandardFunction::NullIf => write!(f, "NULLIF({}, {})", a(0), a(1)),
                            StandardFunction::In => {
                                let list = args.get(1..).unwrap_or_default().join(", ");
                                write!(f, "({} IN ({list}))", a(0))
                            }
                            StandardFunction::Array => f.write_str(&args.join(", ")),
                            _ => write!(f, "{function_name}({})", args.join(", ")),
                        },
                    },
                    None => write!(f, "{function_name}({})", args.join(", ")),
                }
            }
        }
    }
}

wire_enum!(
    /// The SDK's `StandardFunctions`, in enum order (which capabilities list them in).
    StandardFunction {
        And = "$and",
        Or = "$or",
        Not = "$not",
        IsNull = "$is_null",
        NullIf = "$nullif",
        Equal = "$equal",
        NotEqual = "$not_equal",
        LessThan = "$less_than",
        LessThanOrEqual = "$less_than_or_equal",
        GreaterThan = "$greater_than",
        GreaterThanOrEqual = "$greater_than_or_equal",
        IsDistinctFrom = "$is_distinct_from",
        Add = "$add",
        Subtract = "$subtract",
        Multiply = "$multiply",
        Divide = "$divide",
        Modulus = "$modulus",
        Negate = "$negate",
        LikePattern = "$like_pattern",
        In = "$in",
        Array = "$array",
    }
);

impl StandardFunction {
    pub fn from_name(name: &str) -> Option<StandardFunction> {
        StandardFunction::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == name)
    }

    /// The binary SQL operator, for the functions that are one.
    pub fn infix(self) -> Option<&'static str> {
        use StandardFunction::*;
        Some(match self {
            Equal => "=",
            NotEqual => "<>",
            LessThan => "<",
            LessThanOrEqual => "<=",
            GreaterThan => ">",
            GreaterThanOrEqual => ">=",
            IsDistinctFrom => "IS DISTINCT FROM",
            Add => "+",
            Subtract => "-",
            Multiply => "*",
            Divide => "/",
            Modulus => "%",
            LikePattern => "LIKE",
            _ => return None,
        })
    }
}

wire_enum!(SortDirection {
    AscNullsFirst = "ASC_NULLS_FIRST",
    AscNullsLast = "ASC_NULLS_LAST",
    DescNullsFirst = "DESC_NULLS_FIRST",
    DescNullsLast = "DESC_NULLS_LAST",
});

impl SortDirection {
    pub fn ascending(self) -> bool {
        matches!(
            self,
            SortDirection::AscNullsFirst | SortDirection::AscNullsLast
        )
    }

    pub fn nulls_first(self) -> bool {
        matches!(
            self,
            SortDirection::AscNullsFirst | SortDirection::DescNullsFirst
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderByField {
    pub column_name: String,
    pub direction: SortDirection,
}

impl OrderByField {
    fn read(node: Node<'_>) -> Result<OrderByField> {
        Ok(OrderByField {
            column_name: node.string("columnName")?,
            direction: node.field("direction", SortDirection::read)?,
        })
    }

    fn write(&self) -> Value {
        ObjectWriter::new()
            .put("columnName", self.column_name.as_str())
            .put("direction", self.direction.as_str())
            .build()
    }
}

/// A Substrait plan (v6): base64 of a `Plan` protobuf, kept opaque.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPlan {
    pub substrait_version: String,
    pub substrait_plan: String,
}

impl QueryPlan {
    fn read(node: Node<'_>) -> Result<QueryPlan> {
        Ok(QueryPlan {
            substrait_version: node.string("substraitVersion")?,
            substrait_plan: node.string("substraitPlan")?,
        })
    }

    fn write(&self) -> Value {
        ObjectWriter::new()
            .put("substraitVersion", self.substrait_version.as_str())
            .put("substraitPlan", self.substrait_plan.as_str())
            .build()
    }
}
