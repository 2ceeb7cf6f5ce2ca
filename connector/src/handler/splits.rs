//! GetTableLayout's partitions block and GetSplits: splits a page at a time, a data key each.

use super::*;
use crate::protocol::GetSplitsRequest;

impl Connector {
    /// Splits of the requested partitions, a page at a time.
    pub(super) async fn get_splits(&self, r: &GetSplitsRequest) -> Result<Response, HandlerError> {
        let config = self.config()?;
        let (source, engine) = self.source(&r.header.catalog_name).await?;
        let (constraints, _) = self.database_constraints(&r.constraints, engine)?;
        let partitions = block_rows(&r.partitions)?;
        let (start, skip) = match &r.continuation_token {
            Some(t) => parse_split_token(t)?,
            None => (0, 0),
        };
        let mut properties: Vec<IndexMap<String, String>> = Vec::new();
        let mut next = None;
        if r.constraints.is_query_passthrough() {
            properties.push(r.constraints.query_passthrough_arguments.clone());
        } else if constraints.limit().is_some() {
            // A pushed-down LIMIT (or top-N) is only exact over one split.
            if start == 0 && !partitions.is_empty() {
                properties.push(TableSlice::whole_table().to_properties());
            }
        } else {
            let table = self
                .table(&r.header.catalog_name, source.as_ref(), &r.table_name)
                .await?;
            // Pages hold at most `splits_per_page` splits, also within one partition's
            // ranges (a huge table's answer must stay under Athena's 6 MB): the token
            // is `<partition>:<splits of it already sent>`.
            let mut skip = skip;
            for (i, partition) in partitions.iter().enumerate().skip(start) {
                let partition =
                    TableSlice::from_properties(partition).map_err(SourceError::from)?;
                let ranges: Vec<_> = source
                    .split_partition(&table, &partition, config.split_target_bytes)
                    .await?
                    .iter()
                    .map(TableSlice::to_properties)
                    .collect();
                let room = config.splits_per_page - properties.len();
                let left = ranges.len().saturating_sub(skip);
                properties.extend(ranges.into_iter().skip(skip).take(room));
                if left > room {
                    next = Some(format!("{i}:{}", skip + room));
                    break;
                }
                skip = 0;
                if properties.len() >= config.splits_per_page && i + 1 < partitions.len() {
                    next = Some((i + 1).to_string());
                    break;
                }
            }
        }
        let kms = match &config.spill.encryption {
            crate::config::SpillEncryption::Kms { .. } => {
                Some(aws_sdk_kms::Client::new(self.aws().await))
            }
            _ => None,
        };
        // One data key per split, fetched concurrently (KMS answers in milliseconds,
        // a thousand of them one after the other would take seconds).
        let kms = kms.as_ref();
        let keys: Vec<_> = futures_util::stream::iter(0..properties.len())
            .map(|_| split_key(&config.spill, kms))
            .buffered(KEY_CONCURRENCY)
            .collect()
            .await;
        let mut splits = Vec::with_capacity(properties.len());
        for (p, key) in properties.into_iter().zip(keys) {
            splits.push(Split {
                spill_location: split_location(
                    &config.spill,
                    &r.header.identity.config_options,
                    &r.header.query_id,
                    self.local_spill.is_some(),
                ),
                encryption_key: key.map_err(|e| match e {
                    KeyError::Throttled { .. } => HandlerError::Throttled(e.to_string()),
                    e => HandlerError::Spill(e.to_string()),
                })?,
                properties: p,
            });
        }
        Ok(Response::GetSplits(GetSplitsResponse {
            catalog_name: r.header.catalog_name.clone(),
            splits,
            continuation_token: next,
        }))
    }
}

/// Data keys requested from KMS at once while planning splits.
const KEY_CONCURRENCY: usize = 16;

/// A GetSplits continuation token: `<partition>` or `<partition>:<splits already sent>`.
fn parse_split_token(t: &str) -> Result<(usize, usize), HandlerError> {
    let bad = || HandlerError::Request(format!("invalid continuation token \"{t}\""));
    let (partition, skip) = t.split_once(':').unwrap_or((t, "0"));
    Ok((
        partition.parse().map_err(|_| bad())?,
        skip.parse().map_err(|_| bad())?,
    ))
}

/// One row per partition, one Utf8 column per property (the union, in first-seen order).
pub(super) fn partitions_block(
    allocator: &str,
    partitions: &[IndexMap<String, String>],
) -> Result<Block, HandlerError> {
    let mut names: Vec<&str> = Vec::new();
    for p in partitions {
        for k in p.keys() {
            if !names.contains(&k.as_str()) {
                names.push(k);
            }
        }
    }
    if names.is_empty() {
        names.push("partition_name");
    }
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let columns = names
        .iter()
        .map(|n| {
            Arc::new(StringArray::from(
                partitions
                    .iter()
                    .map(|p| p.get(*n).cloned())
                    .collect::<Vec<_>>(),
            )) as arrow::array::ArrayRef
        })
        .collect();
    let batch =
        RecordBatch::try_new(schema, columns).map_err(|e| HandlerError::Request(e.to_string()))?;
    Ok(Block::new(allocator, batch))
}

/// The partitions block's rows as property maps (non-null string cells).
fn block_rows(block: &Block) -> Result<Vec<IndexMap<String, String>>, HandlerError> {
    let batch = &block.batch;
    // Before a map per row is allocated: a block of no (or null) columns declares its row
    // count without sending a byte per row.
    if batch.num_rows() > MAX_PARTITIONS {
        return Err(HandlerError::TooManyPartitions {
            rows: batch.num_rows(),
        });
    }
    let mut rows = vec![IndexMap::new(); batch.num_rows()];
    for (f, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let text = arrow::compute::cast(column, &DataType::Utf8)
            .map_err(|e| HandlerError::Request(format!("partition column {}: {e}", f.name())))?;
        let text = text
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8");
        for (i, row) in rows.iter_mut().enumerate() {
            if !text.is_null(i) {
                row.insert(f.name().clone(), text.value(i).to_owned());
            }
        }
    }
    Ok(rows)
}
