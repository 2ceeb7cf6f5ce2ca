//! `partition_columns=true`: tables carry the official connectors' partition columns
//! (`partition_name`, and `partition_schema_name` on PostgreSQL), whose values are those of
//! the split a row was read from, so `SELECT *` and queries naming them answer as there.
//! Predicates on them prune partitions here; the database never sees them.

use arrow::array::{new_null_array, ArrayRef, StringArray};
use arrow::datatypes::{Field, SchemaBuilder};

use super::*;
use crate::protocol::{Expression, ValueSet, NO_LIMIT};
use crate::source::{PARTITION_NAME, PARTITION_SCHEMA};

/// The partition columns of `engine`'s tables, in the official connectors' order.
pub fn names(engine: Engine) -> &'static [&'static str] {
    match engine {
        Engine::Postgres => &[PARTITION_SCHEMA, PARTITION_NAME],
        _ => &[PARTITION_NAME],
    }
}

/// `schema` with the partition columns appended (nullable text).
pub fn extend_schema(schema: &Schema, engine: Engine) -> SchemaRef {
    let mut builder = SchemaBuilder::from(schema.fields());
    for name in names(engine) {
        builder.push(Field::new(*name, DataType::Utf8, true));
    }
    Arc::new(builder.finish())
}

/// A partition's value of a partition column: `*` where the split does not name one (a
/// table read whole or in ranges), as the official connectors write it.
fn value<'a>(split: &'a IndexMap<String, String>, name: &str) -> &'a str {
    split.get(name).map_or("*", String::as_str)
}

/// The constraints the database can evaluate: predicates, expressions and ordering on
/// partition columns taken out (Athena filters the rows again); the summary predicates on
/// them are returned for pruning.
pub fn database_constraints(
    constraints: &Constraints,
    engine: Engine,
) -> (Constraints, IndexMap<String, ValueSet>) {
    let partition = |c: &str| names(engine).contains(&c);
    let mut database = constraints.clone();
    let (on_partitions, summary) = constraints
        .summary
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(k, _)| partition(k));
    database.summary = summary;
    database
        .expression
        .retain(|e| !mentions(e, &|c| partition(c)));
    // An ORDER BY on a partition column cannot be pushed down, nor its LIMIT without it.
    if database.order_by.iter().any(|o| partition(&o.column_name)) {
        database.order_by.clear();
        database.limit = NO_LIMIT;
    }
    (database, on_partitions)
}

fn mentions(e: &Expression, partition: &dyn Fn(&str) -> bool) -> bool {
    match e {
        Expression::Constant { .. } => false,
        Expression::Variable { column_name, .. } => partition(column_name),
        Expression::FunctionCall { arguments, .. } => {
            arguments.iter().any(|a| mentions(a, partition))
        }
    }
}

/// Whether a partition's values satisfy the predicates on partition columns.
pub fn admits(
    partition: &IndexMap<String, String>,
    predicates: &IndexMap<String, ValueSet>,
) -> Result<bool, HandlerError> {
    for (name, set) in predicates {
        let v = Scalar::Utf8(value(partition, name).to_owned());
        if !set
            .contains(Some(&v))
            .map_err(|e| HandlerError::Request(format!("the predicate on {name}: {e}")))?
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The request schema without its partition columns (what the database reads), and where
/// each partition column goes in the answer with its value for this split.
pub fn split_schema(
    schema: &SchemaRef,
    engine: Engine,
    split: &IndexMap<String, String>,
) -> (SchemaRef, Vec<(usize, String)>) {
    let mut constants = Vec::new();
    let mut database = SchemaBuilder::new();
    for (i, f) in schema.fields().iter().enumerate() {
        if names(engine).contains(&f.name().as_str()) {
            constants.push((i, value(split, f.name()).to_owned()));
        } else {
            database.push(f.clone());
        }
    }
    (Arc::new(database.finish()), constants)
}

/// A sink adding the constant partition columns to each batch the database produces.
pub struct WithConstants<'a> {
    pub inner: &'a mut dyn BatchSink,
    pub schema: SchemaRef,
    pub constants: &'a [(usize, String)],
}

#[async_trait::async_trait]
impl BatchSink for WithConstants<'_> {
    async fn push(&mut self, batch: RecordBatch) -> Result<(), SourceError> {
        let rows = batch.num_rows();
        let mut from_database = batch.columns().iter();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for (i, f) in self.schema.fields().iter().enumerate() {
            match self.constants.iter().find(|(at, _)| *at == i) {
                Some((_, v)) => columns.push(Arc::new(StringArray::from_iter_values(
                    std::iter::repeat_n(v, rows),
                ))),
                None => columns.push(
                    from_database
                        .next()
                        .cloned()
                        .unwrap_or_else(|| new_null_array(f.data_type(), rows)),
                ),
            }
        }
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(self.schema.clone(), columns, &options)
            .map_err(|e| SourceError::Sink(format!("adding the partition columns: {e}")))?;
        self.inner.push(batch).await
    }

    fn batch_bytes(&self) -> Option<usize> {
        self.inner.batch_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Range;

    #[test]
    fn partitions_are_pruned_by_their_values() {
        let only_p1 = IndexMap::from([(
            PARTITION_NAME.to_owned(),
            ValueSet::ranges(
                &DataType::Utf8,
                vec![Range::equal(Scalar::Utf8("p1".into()))],
                false,
            ),
        )]);
        let p = |n: &str| IndexMap::from([(PARTITION_NAME.to_owned(), n.to_owned())]);
        assert!(admits(&p("p1"), &only_p1).unwrap());
        assert!(!admits(&p("p2"), &only_p1).unwrap());
        // A table read whole is partition `*`.
        assert!(!admits(&IndexMap::new(), &only_p1).unwrap());
    }

    #[test]
    fn the_database_never_sees_partition_columns() {
        let mut c = Constraints::default();
        c.summary.insert(
            PARTITION_SCHEMA.into(),
            ValueSet::ranges(&DataType::Utf8, vec![], true),
        );
        c.summary.insert(
            "id".into(),
            ValueSet::ranges(&DataType::Int32, vec![], true),
        );
        let (db, pruning) = database_constraints(&c, Engine::Postgres);
        assert_eq!(db.summary.keys().collect::<Vec<_>>(), ["id"]);
        assert_eq!(pruning.keys().collect::<Vec<_>>(), [PARTITION_SCHEMA]);
        // MySQL has no partition_schema_name: a column of that name is the table's own.
        let (db, _) = database_constraints(&c, Engine::MySql);
        assert_eq!(db.summary.len(), 2);
    }

    #[test]
    fn split_values_fill_the_partition_columns_where_the_request_puts_them() {
        let schema = Arc::new(Schema::new(vec![
            Field::new(PARTITION_NAME, DataType::Utf8, true),
            Field::new("id", DataType::Int32, true),
            Field::new(PARTITION_SCHEMA, DataType::Utf8, true),
        ]));
        let split = IndexMap::from([
            (PARTITION_SCHEMA.to_owned(), "sales".to_owned()),
            (PARTITION_NAME.to_owned(), "orders_2024".to_owned()),
        ]);
        let (db, constants) = split_schema(&schema, Engine::Postgres, &split);
        assert_eq!(db.fields().len(), 1);
        assert_eq!(
            constants,
            [(0, "orders_2024".to_owned()), (2, "sales".to_owned())]
        );
        let (_, mysql) = split_schema(&schema, Engine::MySql, &IndexMap::new());
        assert_eq!(mysql, [(0, "*".to_owned())]);
    }
}
