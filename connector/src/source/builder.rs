//! Typed Arrow column builders the engines append decoded values to.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Date32Builder, Date64Builder,
    Decimal128Builder, Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder,
    Int8Builder, ListArray, NullBufferBuilder, StringBuilder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Decimal128Type, FieldRef, DECIMAL128_MAX_PRECISION};

/// One column being built; the variant fixes how values are appended.
pub enum ColumnBuilder {
    Boolean(BooleanBuilder),
    Int8(Int8Builder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Decimal {
        builder: Decimal128Builder,
        precision: u8,
        scale: i8,
    },
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Date32(Date32Builder),
    Date64(Date64Builder),
    List {
        field: FieldRef,
        offsets: Vec<i32>,
        nulls: NullBufferBuilder,
        child: Box<ColumnBuilder>,
    },
}

impl ColumnBuilder {
    /// A builder for `data_type`; `None` for types no source produces.
    pub fn new(data_type: &DataType) -> Option<ColumnBuilder> {
        ColumnBuilder::with_capacity(data_type, 0, 0)
    }

    /// A builder with room for `rows` values (and `bytes` of variable-length data), so a
    /// batch fills it without growing (copying) its buffers.
    fn with_capacity(data_type: &DataType, rows: usize, bytes: usize) -> Option<ColumnBuilder> {
        Some(match data_type {
            DataType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(rows)),
            DataType::Int8 => ColumnBuilder::Int8(Int8Builder::with_capacity(rows)),
            DataType::Int16 => ColumnBuilder::Int16(Int16Builder::with_capacity(rows)),
            DataType::Int32 => ColumnBuilder::Int32(Int32Builder::with_capacity(rows)),
            DataType::Int64 => ColumnBuilder::Int64(Int64Builder::with_capacity(rows)),
            DataType::Float32 => ColumnBuilder::Float32(Float32Builder::with_capacity(rows)),
            DataType::Float64 => ColumnBuilder::Float64(Float64Builder::with_capacity(rows)),
            DataType::Decimal128(p, s) => ColumnBuilder::Decimal {
                builder: Decimal128Builder::with_capacity(rows),
                precision: *p,
                scale: *s,
            },
            DataType::Utf8 => ColumnBuilder::Utf8(StringBuilder::with_capacity(rows, bytes)),
            DataType::Binary => ColumnBuilder::Binary(BinaryBuilder::with_capacity(rows, bytes)),
            DataType::Date32 => ColumnBuilder::Date32(Date32Builder::with_capacity(rows)),
            DataType::Date64 => ColumnBuilder::Date64(Date64Builder::with_capacity(rows)),
            DataType::List(field) => ColumnBuilder::List {
                field: Arc::clone(field),
                offsets: vec![0],
                nulls: NullBufferBuilder::new(0),
                child: Box::new(ColumnBuilder::new(field.data_type())?),
            },
            _ => return None,
        })
    }

    pub fn append_null(&mut self) {
        match self {
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::Int8(b) => b.append_null(),
            ColumnBuilder::Int16(b) => b.append_null(),
            ColumnBuilder::Int32(b) => b.append_null(),
            ColumnBuilder::Int64(b) => b.append_null(),
            ColumnBuilder::Float32(b) => b.append_null(),
            ColumnBuilder::Float64(b) => b.append_null(),
            ColumnBuilder::Decimal { builder, .. } => builder.append_null(),
            ColumnBuilder::Utf8(b) => b.append_null(),
            ColumnBuilder::Binary(b) => b.append_null(),
            ColumnBuilder::Date32(b) => b.append_null(),
            ColumnBuilder::Date64(b) => b.append_null(),
            ColumnBuilder::List { offsets, nulls, .. } => {
                offsets.push(*offsets.last().expect("offsets start with 0"));
                nulls.append_null();
            }
        }
    }

    /// Closes the current list element after its children were appended.
    pub fn close_list(&mut self) {
        if let ColumnBuilder::List {
            offsets,
            nulls,
            child,
            ..
        } = self
        {
            offsets.push(child.len() as i32);
            nulls.append_non_null();
        }
    }

    fn len(&self) -> usize {
        match self {
            ColumnBuilder::Boolean(b) => b.len(),
            ColumnBuilder::Int8(b) => b.len(),
            ColumnBuilder::Int16(b) => b.len(),
            ColumnBuilder::Int32(b) => b.len(),
            ColumnBuilder::Int64(b) => b.len(),
            ColumnBuilder::Float32(b) => b.len(),
            ColumnBuilder::Float64(b) => b.len(),
            ColumnBuilder::Decimal { builder, .. } => builder.len(),
            ColumnBuilder::Utf8(b) => b.len(),
            ColumnBuilder::Binary(b) => b.len(),
            ColumnBuilder::Date32(b) => b.len(),
            ColumnBuilder::Date64(b) => b.len(),
            ColumnBuilder::List { offsets, .. } => offsets.len() - 1,
        }
    }

    /// The column so far; the builder starts over empty.
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
            ColumnBuilder::Int8(b) => Arc::new(b.finish()),
            ColumnBuilder::Int16(b) => Arc::new(b.finish()),
            ColumnBuilder::Int32(b) => Arc::new(b.finish()),
            ColumnBuilder::Int64(b) => Arc::new(b.finish()),
            ColumnBuilder::Float32(b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal {
                builder,
                precision,
                scale,
            } => Arc::new(
                builder
                    .finish()
                    .with_precision_and_scale(*precision, *scale)
                    .expect("precision and scale were validated by BatchBuilder::new"),
            ),
            ColumnBuilder::Utf8(b) => Arc::new(b.finish()),
            ColumnBuilder::Binary(b) => Arc::new(b.finish()),
            ColumnBuilder::Date32(b) => Arc::new(b.finish()),
            ColumnBuilder::Date64(b) => Arc::new(b.finish()),
            ColumnBuilder::List {
                field,
                offsets,
                nulls,
                child,
            } => {
                let values = child.finish();
                let offsets = std::mem::replace(offsets, vec![0]);
                Arc::new(ListArray::new(
                    Arc::clone(field),
                    OffsetBuffer::new(offsets.into()),
                    values,
                    nulls.finish(),
                ))
            }
        }
    }
}

/// The builders of one batch, flushed every [`BATCH_ROWS`] rows.
pub struct BatchBuilder {
    schema: arrow::datatypes::SchemaRef,
    pub columns: Vec<ColumnBuilder>,
    pub rows: usize,
}

/// Rows per record batch handed to the sink.
pub const BATCH_ROWS: usize = 8192;

/// Why a column of an output schema cannot be built: checked before the first row, so that
/// assembling a batch never fails (nor panics) later.
fn unbuildable(field: &arrow::datatypes::Field) -> Option<String> {
    let name = field.name();
    if !field.is_nullable() {
        return Some(format!(
            "column \"{name}\" is declared non-nullable, but a source column may hold NULLs"
        ));
    }
    match field.data_type() {
        DataType::Decimal128(p, s) => {
            arrow::datatypes::validate_decimal_precision_and_scale::<Decimal128Type>(*p, *s)
                .err()
                .map(|_| {
                    format!(
                        "column \"{name}\" is declared decimal({p}, {s}): the precision must be 1 to {DECIMAL128_MAX_PRECISION} and the scale at most the precision"
                    )
                })
        }
        DataType::List(element) => unbuildable(element).map(|why| format!("{name}: {why}")),
        _ => None,
    }
}

impl BatchBuilder {
    pub fn new(schema: arrow::datatypes::SchemaRef) -> Result<BatchBuilder, String> {
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                if let Some(why) = unbuildable(f) {
                    return Err(why);
                }
                ColumnBuilder::with_capacity(f.data_type(), BATCH_ROWS, BATCH_ROWS * 16).ok_or_else(
                    || {
                        format!(
                            "column \"{}\" has unsupported type {}",
                            f.name(),
                            f.data_type()
                        )
                    },
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BatchBuilder {
            schema,
            columns,
            rows: 0,
        })
    }

    pub fn is_full(&self) -> bool {
        self.rows >= BATCH_ROWS
    }

    /// The rows so far as a batch (zero columns keep their row count).
    pub fn finish(&mut self) -> arrow::array::RecordBatch {
        let columns = self
            .columns
            .iter_mut()
            .zip(self.schema.fields())
            .map(|(builder, field)| {
                let array = builder.finish();
                // The next batch's builder, with room for a full batch like this one.
                let bytes = match field.data_type() {
                    DataType::Utf8 => array.as_string::<i32>().values().len(),
                    DataType::Binary => array.as_binary::<i32>().values().len(),
                    _ => 0,
                };
                if let Some(next) =
                    ColumnBuilder::with_capacity(field.data_type(), BATCH_ROWS, bytes)
                {
                    *builder = next;
                }
                array
            })
            .collect();
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        arrow::array::RecordBatch::try_new_with_options(Arc::clone(&self.schema), columns, &options)
            .expect("builders match the schema they were made from (nullable, valid decimals)")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn build(fields: Vec<Field>) -> Result<BatchBuilder, String> {
        BatchBuilder::new(Arc::new(Schema::new(fields)))
    }

    #[test]
    fn columns_that_would_fail_at_the_end_of_a_batch_are_refused_up_front() {
        // Each of these used to panic in `finish`, after the rows were read.
        let cases = [
            (
                Field::new("fee", DataType::Decimal128(60, 2), true),
                "column \"fee\" is declared decimal(60, 2): the precision must be 1 to 38",
            ),
            (
                Field::new("fee", DataType::Decimal128(4, 6), true),
                "column \"fee\" is declared decimal(4, 6)",
            ),
            (
                Field::new("note", DataType::Utf8, false),
                "column \"note\" is declared non-nullable, but a source column may hold NULLs",
            ),
            (
                Field::new(
                    "tags",
                    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, false))),
                    true,
                ),
                "tags: column \"item\" is declared non-nullable",
            ),
        ];
        for (field, want) in cases {
            let err = build(vec![field]).err().expect(want);
            assert!(err.starts_with(want), "{err}");
        }
        let mut ok = build(vec![
            Field::new("fee", DataType::Decimal128(38, 2), true),
            Field::new("note", DataType::Utf8, true),
        ])
        .unwrap();
        ok.columns[0].append_null();
        ok.columns[1].append_null();
        ok.rows = 1;
        assert_eq!(ok.finish().num_rows(), 1);
    }
}
