//! ReadRecords: one split read into inline or spilled blocks, stopping when the query is
//! over; the request schema checked against what fills it.

use super::*;

impl Connector {
    /// Reads one split; also the entry point of the local engine.
    pub async fn read_records(
        &self,
        r: &ReadRecordsRequest,
    ) -> Result<(Response, ReadStats), HandlerError> {
        let config = self.config()?;
        let (source, engine) = self.source(&r.header.catalog_name).await?;
        // What the database reads: the request without the partition columns, which are
        // the split's values (a passthrough query has none).
        let DatabaseRead {
            constraints,
            schema,
            constants,
        } = self.database_read(r, engine)?;
        // The request schema against what the read produces, once and before any row: a
        // mismatch is an error naming the column, never a failure assembling a batch.
        let table = if r.constraints.is_query_passthrough() {
            let query = self.passthrough_query(&r.constraints.query_passthrough_arguments)?;
            let columns = source.query_columns(query).await?;
            check_schema(
                &r.schema,
                &passthrough_columns(&columns, &r.schema)?,
                "passthrough query",
            )?;
            None
        } else {
            let table = self
                .table(&r.header.catalog_name, source.as_ref(), &r.table_name)
                .await?;
            let columns = schema
                .fields()
                .iter()
                .map(|f| table.resolve_column(f.name()))
                .collect::<Result<Vec<_>, _>>()?;
            check_schema(&schema, &columns, "table")?;
            Some(table)
        };
        let (max_block, max_inline) = block_sizes(config.spill.max_block_size, r);
        let spill = match &r.split.spill_location {
            Some(location) => {
                if !location.directory {
                    return Err(HandlerError::Request(
                        "the split's spill location is not a directory".into(),
                    ));
                }
                let crypto = match &r.split.encryption_key {
                    Some(k) => Some(Arc::new(
                        BlockCrypto::new(k).map_err(|e| HandlerError::Spill(e.to_string()))?,
                    )),
                    None => None,
                };
                let store = match &self.local_spill {
                    Some(local) if location.bucket == LOCAL_BUCKET => local.clone(),
                    _ => self.spill_s3().await?,
                };
                Some(Spill {
                    store,
                    location: location.clone(),
                    crypto,
                })
            }
            None => None,
        };
        let mut writer = BlockWriter::new(r.schema.clone(), max_block, max_inline, spill);
        let watch = self.query_states.as_ref().map(|(states, interval)| {
            Watch::start(states.clone(), r.header.query_id.clone(), *interval)
        });
        let mut sink = WatchedSink {
            inner: &mut writer,
            watch: watch.as_ref(),
        };
        let read = if let Some(table) = &table {
            let plan = ReadPlan {
                table,
                schema,
                constraints: &constraints,
                split: &r.split.properties,
            };
            if constants.is_empty() {
                source.read(plan, &mut sink).await
            } else {
                let mut sink = partition_columns::WithConstants {
                    inner: &mut sink,
                    schema: r.schema.clone(),
                    constants: &constants,
                };
                source.read(plan, &mut sink).await
            }
        } else {
            let query = self.passthrough_query(&r.constraints.query_passthrough_arguments)?;
            source.read_query(query, r.schema.clone(), &mut sink).await
        };
        match read {
            Ok(()) => {}
            // Nobody reads the rest: what was read is answered, as the official connectors do.
            Err(SourceError::QueryFinished(state)) => {
                tracing::info!(query_id = %r.header.query_id, state, rows = writer.rows, "the query is over; split stopped reading");
            }
            Err(e) => return Err(e.into()),
        }
        let mut stats = ReadStats {
            rows: writer.rows,
            spilled_blocks: 0,
        };
        let response = match writer.finish().await.map_err(HandlerError::Spill)? {
            Outcome::Inline(batch) => Response::ReadRecords(ReadRecordsResponse {
                catalog_name: r.header.catalog_name.clone(),
                records: Block::new(r.header.query_id.clone(), batch),
            }),
            Outcome::Spilled(blocks) => {
                stats.spilled_blocks = blocks.len();
                Response::RemoteReadRecords(RemoteReadRecordsResponse {
                    catalog_name: r.header.catalog_name.clone(),
                    schema: r.schema.clone(),
                    remote_blocks: blocks,
                    encryption_key: r.split.encryption_key.clone(),
                })
            }
        };
        tracing::info!(query_id = %r.header.query_id, table = %r.table_name, split = ?r.split.properties, rows = stats.rows, spilled_blocks = stats.spilled_blocks, "read split");
        Ok((response, stats))
    }

    /// The statement a ReadRecordsRequest would run (`athena-fed sql`).
    pub async fn read_sql(&self, r: &ReadRecordsRequest) -> Result<Query, HandlerError> {
        let (source, engine) = self.source(&r.header.catalog_name).await?;
        if r.constraints.is_query_passthrough() {
            let query = self.passthrough_query(&r.constraints.query_passthrough_arguments)?;
            return Ok(Query {
                sql: query.to_owned(),
                params: vec![],
            });
        }
        let table = self
            .table(&r.header.catalog_name, source.as_ref(), &r.table_name)
            .await?;
        let DatabaseRead {
            constraints,
            schema,
            ..
        } = self.database_read(r, engine)?;
        let plan = ReadPlan {
            table: &table,
            schema,
            constraints: &constraints,
            split: &r.split.properties,
        };
        Ok(source.sql(&plan)?)
    }
}

/// A request schema that the table (or the passthrough query) cannot fill.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("column \"{column}\" is declared {declared}: {why}")]
    Invalid {
        column: String,
        declared: DataType,
        why: String,
    },
    #[error("column \"{column}\" is {actual} in the {of} but {declared} in the request")]
    Type {
        column: String,
        of: &'static str,
        actual: DataType,
        declared: DataType,
    },
    #[error("column \"{column}\" is declared non-nullable in the request, but the {of}'s column may hold NULLs (every column this connector describes is nullable)")]
    NonNullable { column: String, of: &'static str },
}

/// The read's sink, stopping the read once its query is over (a flag set by [`Watch`]).
struct WatchedSink<'a> {
    inner: &'a mut BlockWriter,
    watch: Option<&'a Watch>,
}

#[async_trait::async_trait]
impl BatchSink for WatchedSink<'_> {
    async fn push(&mut self, batch: RecordBatch) -> Result<(), SourceError> {
        if let Some(state) = self.watch.and_then(Watch::finished) {
            return Err(SourceError::QueryFinished(state));
        }
        self.inner.push(batch).await
    }

    fn batch_bytes(&self) -> Option<usize> {
        self.inner.batch_bytes()
    }
}

/// The largest block a request may ask for (`maxBlockSize`; Athena asks for 16 MB). A split's
/// rows are held until a block is full, so this bounds a read's memory: four times Athena's
/// size stays well within a Lambda's. The operator's `MAX_BLOCK_SIZE_BYTES` is not capped.
pub const MAX_REQUEST_BLOCK_BYTES: usize = 64 << 20;

/// The block and inline sizes of one read, from the configuration and the request.
fn block_sizes(configured: Option<u64>, r: &ReadRecordsRequest) -> (usize, usize) {
    let requested = r.max_block_size.clamp(1, MAX_REQUEST_BLOCK_BYTES as i64) as usize;
    let max_block = configured.map_or(requested, |c| c as usize);
    // An inline block beyond the Lambda response limit could never be sent inline anyway.
    let max_inline = r
        .max_inline_block_size
        .clamp(0, MAX_INLINE_RESPONSE_BYTES as i64) as usize;
    (max_block, max_inline)
}

/// Checks the request schema against the columns that fill it (`of`: the table or the
/// passthrough query): each declared type valid and the source's, and nullable, since no
/// source column promises to hold no NULLs.
fn check_schema(schema: &Schema, columns: &[&Column], of: &'static str) -> Result<(), SchemaError> {
    for (field, column) in schema.fields().iter().zip(columns) {
        let declared = field.data_type();
        if let Some(why) = invalid_type(declared) {
            return Err(SchemaError::Invalid {
                column: field.name().clone(),
                declared: declared.clone(),
                why,
            });
        }
        if &column.data_type != declared {
            return Err(SchemaError::Type {
                column: field.name().clone(),
                of,
                actual: column.data_type.clone(),
                declared: declared.clone(),
            });
        }
        if !field.is_nullable() {
            return Err(SchemaError::NonNullable {
                column: field.name().clone(),
                of,
            });
        }
    }
    Ok(())
}

/// Why a declared type cannot hold values at all (Arrow's own limits), if it cannot.
fn invalid_type(t: &DataType) -> Option<String> {
    use arrow::datatypes::{Decimal128Type, Decimal256Type, DECIMAL128_MAX_PRECISION};
    match t {
        DataType::Decimal128(p, s) => {
            arrow::datatypes::validate_decimal_precision_and_scale::<Decimal128Type>(*p, *s)
                .err()
                .map(|_| {
                    format!(
                        "a decimal's precision is 1 to {DECIMAL128_MAX_PRECISION} and its scale at most its precision"
                    )
                })
        }
        DataType::Decimal256(p, s) => {
            arrow::datatypes::validate_decimal_precision_and_scale::<Decimal256Type>(*p, *s)
                .err()
                .map(|e| e.to_string())
        }
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            invalid_type(f.data_type())
        }
        DataType::Struct(fields) => fields.iter().find_map(|f| invalid_type(f.data_type())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(max_block_size: i64, max_inline_block_size: i64) -> ReadRecordsRequest {
        ReadRecordsRequest {
            header: Default::default(),
            table_name: TableName::new("main", "t"),
            schema: Arc::new(Schema::empty()),
            split: Split {
                spill_location: None,
                encryption_key: None,
                properties: IndexMap::new(),
            },
            constraints: Default::default(),
            max_block_size,
            max_inline_block_size,
        }
    }

    #[test]
    fn request_block_sizes_are_bounded() {
        // What Athena sends is taken as it is.
        assert_eq!(
            block_sizes(None, &read(16_000_000, 5_242_880)),
            (16_000_000, 5_242_880)
        );
        // Beyond the ceilings: clamped (the block to MAX_REQUEST_BLOCK_BYTES, the inline
        // block to what fits a Lambda response), below zero: the least.
        assert_eq!(
            block_sizes(None, &read(i64::MAX, i64::MAX)),
            (MAX_REQUEST_BLOCK_BYTES, MAX_INLINE_RESPONSE_BYTES)
        );
        assert_eq!(block_sizes(None, &read(1 << 40, 1 << 40)).0, 64 << 20);
        assert_eq!(block_sizes(None, &read(-1, i64::MIN)), (1, 0));
        // The operator's MAX_BLOCK_SIZE_BYTES wins, uncapped.
        assert_eq!(block_sizes(Some(1 << 30), &read(1, 1)), (1 << 30, 1));
    }
}
