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

    /// The bytes of data appended so far (values, offsets, validity): what the array will
    /// hold, whatever the capacity reserved.
    fn data_bytes(&self) -> usize {
        let rows = self.len();
        let validity = rows.div_ceil(8);
        let offsets = 4 * (rows + 1);
        validity
            + match self {
                ColumnBuilder::Boolean(_) => rows.div_ceil(8),
                ColumnBuilder::Int8(_) => rows,
                ColumnBuilder::Int16(_) => 2 * rows,
                ColumnBuilder::Int32(_) | ColumnBuilder::Float32(_) | ColumnBuilder::Date32(_) => {
                    4 * rows
                }
                ColumnBuilder::Int64(_) | ColumnBuilder::Float64(_) | ColumnBuilder::Date64(_) => {
                    8 * rows
                }
                ColumnBuilder::Decimal { .. } => 16 * rows,
                ColumnBuilder::Utf8(b) => offsets + b.values_slice().len(),
                ColumnBuilder::Binary(b) => offsets + b.values_slice().len(),
                ColumnBuilder::List { child, .. } => offsets + child.data_bytes(),
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

/// The builders of one batch, handed on when [`BatchBuilder::is_full`].
pub struct BatchBuilder {
    schema: arrow::datatypes::SchemaRef,
    pub columns: Vec<ColumnBuilder>,
    pub rows: usize,
    /// At most this many rows a batch...
    max_rows: usize,
    /// ...and a batch is full once its data reaches this many bytes.
    max_bytes: usize,
}

/// Rows per record batch handed to a sink that wants no particular size.
pub const BATCH_ROWS: usize = 8192;
/// Bytes per record batch handed to a sink that wants no particular size: caps a batch of
/// wide rows (8,192 rows of 100 kB texts would be 800 MB).
pub const BATCH_BYTES: usize = 8 << 20;
/// How often (in rows) a batch's size in bytes is looked at.
const SIZE_CHECK_ROWS: usize = 64;

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
            max_rows: BATCH_ROWS,
            max_bytes: BATCH_BYTES,
        })
    }

    /// Batches of about `bytes` each, whatever their row count, for a sink that gathers
    /// rows into blocks of that size ([`crate::source::BatchSink::batch_bytes`]): a batch
    /// built to the block's size is the block, where gathering small batches into one would
    /// copy every row once more, and hold it twice.
    pub fn sized_for(mut self, bytes: Option<usize>) -> BatchBuilder {
        if let Some(bytes) = bytes {
            self.max_rows = usize::MAX;
            self.max_bytes = bytes.max(1);
        }
        self
    }

    /// Counts the row just appended; the batch when it is now full, to hand on.
    pub fn end_row(&mut self) -> Option<arrow::array::RecordBatch> {
        self.rows += 1;
        self.is_full().then(|| self.finish())
    }

    /// The rows not yet handed on, if any, as the last batch.
    pub fn rest(&mut self) -> Option<arrow::array::RecordBatch> {
        (self.rows > 0).then(|| self.finish())
    }

    pub fn is_full(&self) -> bool {
        self.rows >= self.max_rows
            || (self.rows.is_multiple_of(SIZE_CHECK_ROWS)
                && self.rows > 0
                && self.data_bytes() >= self.max_bytes)
    }

    fn data_bytes(&self) -> usize {
        self.columns.iter().map(ColumnBuilder::data_bytes).sum()
    }

    /// The rows so far as a batch (zero columns keep their row count).
    pub fn finish(&mut self) -> arrow::array::RecordBatch {
        // The next batch's builders, with room for a batch like this one and a quarter
        // more (within the row limit): a batch of a byte size varies in rows, and a buffer
        // that outgrows its capacity is copied into one twice as large. Room never written
        // takes no memory.
        let rows = (self.rows + self.rows / 4).min(self.max_rows);
        let columns = self
            .columns
            .iter_mut()
            .zip(self.schema.fields())
            .map(|(builder, field)| {
                let array = builder.finish();
                let bytes = match field.data_type() {
                    DataType::Utf8 => array.as_string::<i32>().values().len(),
                    DataType::Binary => array.as_binary::<i32>().values().len(),
                    _ => 0,
                };
                if let Some(next) =
                    ColumnBuilder::with_capacity(field.data_type(), rows, bytes + bytes / 4)
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

    /// Rows of a `note` text of `width` bytes and an `id`, through `out`: the rows of each
    /// batch handed on.
    fn batch_rows(mut out: BatchBuilder, rows: usize, width: usize) -> Vec<usize> {
        let note = "x".repeat(width);
        let mut handed = Vec::new();
        for i in 0..rows {
            match &mut out.columns[..] {
                [ColumnBuilder::Utf8(n), ColumnBuilder::Int64(id)] => {
                    n.append_value(&note);
                    id.append_value(i as i64);
                }
                _ => unreachable!("the schema below"),
            }
            out.rows += 1;
            if out.is_full() {
                handed.push(out.finish().num_rows());
            }
        }
        if out.rows > 0 {
            handed.push(out.finish().num_rows());
        }
        handed
    }

    fn notes() -> BatchBuilder {
        build(vec![
            Field::new("note", DataType::Utf8, true),
            Field::new("id", DataType::Int64, true),
        ])
        .unwrap()
    }

    #[test]
    fn batches_are_cut_by_rows_or_by_bytes() {
        // Narrow rows: 8,192 a batch.
        assert_eq!(batch_rows(notes(), 20_000, 10), [8192, 8192, 3616]);
        // 10 kB rows: cut at the first multiple of 64 rows holding 8 MiB
        // (896 rows: 2 validity bitmaps of 112 bytes, 3,588 of offsets, 8,960,000 of text,
        // 7,168 of ids: 8,970,980 bytes; 832 rows hold 8,330,196).
        assert_eq!(batch_rows(notes(), 2_000, 10_000), [896, 896, 208]);
    }

    #[test]
    fn batches_sized_for_a_sink_reach_its_size_whatever_their_rows() {
        // 22 bytes a row and the validity bits: 4,544 rows reach 100,000 bytes
        // (101,108), 4,480 do not (99,684).
        let sized = notes().sized_for(Some(100_000));
        assert_eq!(
            batch_rows(sized, 20_000, 10),
            [4544, 4544, 4544, 4544, 1824]
        );
        // A block larger than 8,192 narrow rows is one batch, not gathered from several.
        let sized = notes().sized_for(Some(1 << 20));
        assert_eq!(batch_rows(sized, 60_000, 10), [47168, 12832]);
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
