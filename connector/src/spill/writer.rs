//! Rows of one split into a response: inline while small, else blocks of at most
//! `maxBlockSize` spilled to S3 while reading continues (SPEC §4.2-4.4).

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use tokio::task::JoinSet;

use crate::protocol::{ipc, Framing, SpillLocation};
use crate::source::{BatchSink, SourceError};

use super::crypto::{BlockCrypto, TAG_BYTES};
use super::store::BlockStore;

/// The Lambda response limit is 6 MB; base64 and JSON must fit beneath it.
pub const MAX_INLINE_RESPONSE_BYTES: usize = 5_500_000;
/// Spilled blocks written concurrently while reading goes on.
const MAX_IN_FLIGHT: usize = 2;

/// Where and how to spill one split's blocks.
pub struct Spill {
    pub store: Arc<dyn BlockStore>,
    /// The split's directory (`directory: true`).
    pub location: SpillLocation,
    pub crypto: Option<Arc<BlockCrypto>>,
}

/// What a split's read produced.
#[derive(Debug)]
pub enum Outcome {
    Inline(RecordBatch),
    Spilled(Vec<SpillLocation>),
}

pub struct BlockWriter {
    schema: SchemaRef,
    pending: Vec<RecordBatch>,
    pending_bytes: usize,
    max_block: usize,
    max_inline: usize,
    spill: Option<Spill>,
    spilled: Vec<SpillLocation>,
    in_flight: JoinSet<Result<(), String>>,
    /// Rows and bytes written, for the logs.
    pub rows: usize,
}

impl BlockWriter {
    pub fn new(
        schema: SchemaRef,
        max_block: usize,
        max_inline: usize,
        spill: Option<Spill>,
    ) -> BlockWriter {
        BlockWriter {
            schema,
            pending: Vec::new(),
            pending_bytes: 0,
            max_block: max_block.max(1),
            max_inline,
            spill,
            spilled: Vec::new(),
            in_flight: JoinSet::new(),
            rows: 0,
        }
    }

    fn block(&mut self) -> Result<RecordBatch, String> {
        let batches = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        // The sources build batches of a block's size (`batch_bytes`): one batch is the
        // block as it is, with no copy.
        match <[RecordBatch; 1]>::try_from(batches) {
            Ok([block]) => Ok(block),
            Err(batches) => arrow::compute::concat_batches(&self.schema, &batches)
                .map_err(|e| format!("cannot assemble a block: {e}")),
        }
    }

    /// Starts writing the pending rows as the next block `<split key>.<N>`.
    async fn spill_pending(&mut self) -> Result<(), String> {
        let block = self.block()?;
        let Some(spill) = &self.spill else {
            return Err(format!(
                "the result of this split exceeds the inline limit ({} bytes) and no spill bucket is configured (set spill_bucket)",
                self.max_inline
            ));
        };
        // Spilled blocks always use the legacy framing (SPEC §4.4), with room for the tag
        // sealing appends.
        let plain = ipc::encode_batch_with_room(&block, Framing::Legacy, TAG_BYTES)
            .map_err(|e| format!("cannot encode a spilled block: {e}"))?;
        // The rows are in `plain` now: their arrays go before the block is sealed and sent.
        drop(block);
        let body = match &spill.crypto {
            Some(c) => c.seal(plain),
            None => plain,
        };
        let location = SpillLocation {
            bucket: spill.location.bucket.clone(),
            key: format!("{}.{}", spill.location.key, self.spilled.len()),
            directory: false,
        };
        let store = spill.store.clone();
        while self.in_flight.len() >= MAX_IN_FLIGHT {
            self.join_one().await?;
        }
        let at = location.clone();
        self.in_flight
            .spawn(async move { store.put(&at, body.into()).await.map_err(|e| e.to_string()) });
        self.spilled.push(location);
        Ok(())
    }

    async fn join_one(&mut self) -> Result<(), String> {
        match self.in_flight.join_next().await {
            Some(Ok(r)) => r,
            Some(Err(e)) => Err(format!("spill task failed: {e}")),
            None => Ok(()),
        }
    }

    /// All rows read: inline if nothing spilled and the block fits, else the rest spilled.
    pub async fn finish(mut self) -> Result<Outcome, String> {
        if self.spilled.is_empty() && self.pending_bytes < self.max_inline {
            let block = self.block()?;
            // The serialized response must also fit the Lambda limit (base64: 4/3). Only
            // measured here: the response encodes the block.
            let encoded = if block.num_rows() == 0 {
                0
            } else {
                ipc::encoded_batch_len(&block, Framing::Modern).unwrap_or(usize::MAX)
            };
            if encoded / 3 * 4 < MAX_INLINE_RESPONSE_BYTES {
                return Ok(Outcome::Inline(block));
            }
            self.pending = vec![block];
        }
        if !self.pending.is_empty() {
            self.spill_pending().await?;
        }
        while !self.in_flight.is_empty() {
            self.join_one().await?;
        }
        Ok(Outcome::Spilled(self.spilled))
    }
}

#[async_trait]
impl BatchSink for BlockWriter {
    fn batch_bytes(&self) -> Option<usize> {
        Some(self.max_block)
    }

    async fn push(&mut self, batch: RecordBatch) -> Result<(), SourceError> {
        self.rows += batch.num_rows();
        self.pending_bytes += batch.get_array_memory_size();
        self.pending.push(batch);
        if self.pending_bytes >= self.max_block {
            self.spill_pending().await.map_err(SourceError::Sink)?;
        }
        // A failed write stops the read at once.
        while let Some(done) = self.in_flight.try_join_next() {
            done.map_err(|e| SourceError::Sink(e.to_string()))?
                .map_err(SourceError::Sink)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use arrow::array::Int64Array;
    use bytes::Bytes;

    use super::*;
    use crate::protocol::EncryptionKey;
    use crate::spill::store::StoreError;

    /// Blocks kept in memory.
    #[derive(Debug, Default)]
    struct Memory(Mutex<HashMap<String, Bytes>>);

    #[async_trait]
    impl BlockStore for Memory {
        async fn put(&self, at: &SpillLocation, body: Bytes) -> Result<(), StoreError> {
            self.0.lock().unwrap().insert(at.key.clone(), body);
            Ok(())
        }
        async fn get(&self, at: &SpillLocation) -> Result<Bytes, StoreError> {
            self.0
                .lock()
                .unwrap()
                .get(&at.key)
                .cloned()
                .ok_or_else(|| StoreError {
                    operation: "reading spilled block",
                    url: self.url(at),
                    source: "absent".into(),
                })
        }
        async fn delete(&self, at: &SpillLocation) -> Result<(), StoreError> {
            self.0.lock().unwrap().remove(&at.key);
            Ok(())
        }
        fn url(&self, at: &SpillLocation) -> String {
            format!("memory:{}", at.key)
        }
    }

    fn ids(range: std::ops::Range<i64>) -> RecordBatch {
        RecordBatch::try_from_iter([(
            "id",
            Arc::new(Int64Array::from_iter_values(range)) as arrow::array::ArrayRef,
        )])
        .unwrap()
    }

    #[tokio::test]
    async fn batches_of_a_block_size_are_spilled_each_as_one_sealed_block() {
        let store = Arc::new(Memory::default());
        let key = EncryptionKey {
            key: vec![7; 32],
            nonce: vec![1; 12],
        };
        let crypto = Arc::new(BlockCrypto::new(&key).unwrap());
        let schema = ids(0..1).schema();
        let spill = Spill {
            store: store.clone(),
            location: SpillLocation {
                bucket: "spill".into(),
                key: "query/split".into(),
                directory: true,
            },
            crypto: Some(crypto.clone()),
        };
        let mut writer = BlockWriter::new(schema.clone(), 4_000, 100, Some(spill));
        // What the sources build their batches to.
        assert_eq!(writer.batch_bytes(), Some(4_000));
        // Two batches of a block's size (8,000 bytes of ids each), then the split's rest.
        let batches = [ids(0..1000), ids(1000..2000), ids(2000..2010)];
        for batch in &batches {
            writer.push(batch.clone()).await.unwrap();
        }
        let Outcome::Spilled(blocks) = writer.finish().await.unwrap() else {
            panic!("2,010 ids exceed the 100-byte inline limit");
        };
        let keys: Vec<&str> = blocks.iter().map(|b| b.key.as_str()).collect();
        assert_eq!(keys, ["query/split.0", "query/split.1", "query/split.2"]);
        for (block, batch) in blocks.iter().zip(&batches) {
            let sealed = store.get(block).await.unwrap();
            let plain = crypto.decrypt(&sealed).unwrap();
            let (decoded, framing) = ipc::decode_batch(&plain, &schema).unwrap();
            assert_eq!(framing, Framing::Legacy);
            assert_eq!(&decoded, batch);
        }
    }
}
