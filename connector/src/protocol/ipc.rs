//! Single Arrow IPC messages (one schema, or one record batch) in either framing (SPEC §3).
//!
//! Athena carries schemas and record batches as separate IPC messages, with no stream
//! header or end-of-stream marker, so this module frames and unframes them itself and hands
//! the flatbuffers to `arrow-ipc`.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Once};

use arrow::array::RecordBatch;
use arrow::buffer::Buffer;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::ipc::reader::RecordBatchDecoder;
use arrow::ipc::writer::{
    write_message, DictionaryTracker, IpcDataGenerator, IpcWriteOptions, StreamEncoder,
};
use arrow::ipc::{convert, root_as_message, MessageHeader, MetadataVersion};

use super::version::Framing;

const CONTINUATION: u32 = 0xFFFF_FFFF;

fn options(framing: Framing) -> IpcWriteOptions {
    let result = match framing {
        Framing::Legacy => IpcWriteOptions::try_new(8, true, MetadataVersion::V4),
        Framing::Modern => IpcWriteOptions::try_new(8, false, MetadataVersion::V5),
    };
    result.expect("8-byte alignment with V4 legacy or V5 modern framing is a valid combination")
}

/// Encodes `schema` as one schema message.
pub fn encode_schema(schema: &Schema, framing: Framing) -> Result<Vec<u8>, ArrowError> {
    let opts = options(framing);
    let mut tracker = DictionaryTracker::new(false);
    let encoded = IpcDataGenerator::default().schema_to_bytes_with_dictionary_tracker(
        schema,
        &mut tracker,
        &opts,
    );
    let mut out = Vec::new();
    write_message(&mut out, encoded, &opts)?;
    Ok(out)
}

/// Encodes `batch` as one record-batch message (no schema).
pub fn encode_batch(batch: &RecordBatch, framing: Framing) -> Result<Vec<u8>, ArrowError> {
    encode_batch_with_room(batch, framing, 0)
}

/// [`encode_batch`] into a buffer with `room` spare bytes after the message, so that what is
/// appended to it (an AES-GCM tag) does not move the message.
///
/// The batch's buffers are copied once, straight into the result: `arrow-ipc`'s
/// `IpcDataGenerator::encode` gathers the body in a scratch buffer first, a second copy as
/// large as the batch (16 MB for a spilled block), where `StreamEncoder` hands out the
/// arrays' own buffers.
pub fn encode_batch_with_room(
    batch: &RecordBatch,
    framing: Framing,
    room: usize,
) -> Result<Vec<u8>, ArrowError> {
    let buffers = message_buffers(batch, framing)?;
    let len: usize = buffers.iter().map(Buffer::len).sum();
    let mut out = Vec::with_capacity(len + room);
    for buffer in &buffers {
        out.extend_from_slice(buffer.as_slice());
    }
    Ok(out)
}

/// The length of [`encode_batch`]'s message, without copying the batch into it.
pub fn encoded_batch_len(batch: &RecordBatch, framing: Framing) -> Result<usize, ArrowError> {
    Ok(message_buffers(batch, framing)?
        .iter()
        .map(Buffer::len)
        .sum())
}

/// The record-batch message as the pieces `StreamEncoder` hands out: its framing and
/// metadata, then the arrays' own buffers and padding.
fn message_buffers(batch: &RecordBatch, framing: Framing) -> Result<Vec<Buffer>, ArrowError> {
    let schema = batch.schema();
    if schema
        .fields()
        .iter()
        .any(|f| holds_dictionary(f.data_type()))
    {
        return Err(ArrowError::InvalidArgumentError(
            "dictionary-encoded columns cannot be sent to Athena".into(),
        ));
    }
    let mut encoder = StreamEncoder::try_new_with_options(&schema, options(framing))?;
    // A stream starts with its schema message: spent on an empty batch, so that the next
    // call yields the record batch message alone.
    encoder.encode(&RecordBatch::new_empty(schema.clone()))?;
    encoder.encode(batch)
}

/// Whether a column of this type is (or holds) a dictionary-encoded array.
fn holds_dictionary(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(..) => true,
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => holds_dictionary(f.data_type()),
        DataType::Struct(fields) => fields.iter().any(|f| holds_dictionary(f.data_type())),
        DataType::Union(fields, _) => fields.iter().any(|(_, f)| holds_dictionary(f.data_type())),
        DataType::RunEndEncoded(_, values) => holds_dictionary(values.data_type()),
        _ => false,
    }
}

/// Why bytes are not a usable IPC message.
pub type DecodeError = String;

/// Splits a framed message into its framing, flatbuffer metadata and the bytes after it.
fn unframe(bytes: &[u8]) -> Result<(Framing, &[u8], &[u8]), DecodeError> {
    let word = |at: usize| -> Result<u32, DecodeError> {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| format!("truncated: {} bytes, no message length", bytes.len()))
    };
    let (framing, len, start) = match word(0)? {
        CONTINUATION => (Framing::Modern, word(4)?, 8usize),
        len => (Framing::Legacy, len, 4),
    };
    let len = usize::try_from(len as i32)
        .map_err(|_| format!("negative metadata length {}", len as i32))?;
    let end = start
        .checked_add(len)
        .filter(|end| *end <= bytes.len())
        .ok_or_else(|| {
            format!(
                "truncated: metadata length {len} but only {} bytes follow",
                bytes.len() - start
            )
        })?;
    if len == 0 {
        return Err("empty message (end-of-stream marker)".into());
    }
    Ok((framing, &bytes[start..end], &bytes[end..]))
}

/// Decodes one schema message.
pub fn decode_schema(bytes: &[u8]) -> Result<(Schema, Framing), DecodeError> {
    let (framing, meta, _) = unframe(bytes)?;
    let message = root_as_message(meta).map_err(|e| format!("bad flatbuffer: {e}"))?;
    check_version(message.version(), framing)?;
    let fb = message.header_as_schema().ok_or_else(|| {
        format!(
            "expected a Schema message, found {}",
            header_name(message.header_type())
        )
    })?;
    let schema = guarded(|| convert::fb_to_schema(fb))?;
    Ok((schema, framing))
}

/// Decodes one record-batch message against `schema`.
pub fn decode_batch(
    bytes: &[u8],
    schema: &SchemaRef,
) -> Result<(RecordBatch, Framing), DecodeError> {
    let (framing, meta, rest) = unframe(bytes)?;
    let message = root_as_message(meta).map_err(|e| format!("bad flatbuffer: {e}"))?;
    let version = message.version();
    check_version(version, framing)?;
    let fb = message.header_as_record_batch().ok_or_else(|| {
        format!(
            "expected a RecordBatch message, found {}",
            header_name(message.header_type())
        )
    })?;
    let body_len = usize::try_from(message.bodyLength())
        .map_err(|_| format!("negative body length {}", message.bodyLength()))?;
    if rest.len() < body_len {
        return Err(format!(
            "truncated: body length {body_len} but only {} bytes follow the metadata",
            rest.len()
        ));
    }
    check_lengths(&fb, body_len)?;
    let body = Buffer::from(&rest[..body_len]);
    let dictionaries = HashMap::new();
    let batch = guarded(|| {
        RecordBatchDecoder::try_new(&body, fb, Arc::clone(schema), &dictionaries, &version)
            .and_then(|d| d.read_record_batch())
    })?
    .map_err(|e| e.to_string())?;
    Ok((batch, framing))
}

/// The most rows one block (and each column of it) may declare: the Java SDK and Arrow Java
/// count rows in an `int`, so Athena never sends more. A column with data is bounded by its
/// bytes as well, but a block of no columns or of null-typed columns is not: its row count
/// is only a number, and code that walks or allocates per row must not trust it further.
pub const MAX_BLOCK_ROWS: i64 = i32::MAX as i64;

/// Checks what a record batch declares against this limit and against the body that was
/// actually sent, before arrow-ipc (or anyone after it) sizes anything by it.
fn check_lengths(fb: &arrow::ipc::RecordBatch<'_>, body_len: usize) -> Result<(), DecodeError> {
    let rows = fb.length();
    if !(0..=MAX_BLOCK_ROWS).contains(&rows) {
        return Err(format!(
            "the block declares {rows} rows; a block holds 0 to {MAX_BLOCK_ROWS}"
        ));
    }
    for (i, node) in fb.nodes().iter().flatten().enumerate() {
        let (len, nulls) = (node.length(), node.null_count());
        if !(0..=MAX_BLOCK_ROWS).contains(&len) || !(0..=len).contains(&nulls) {
            return Err(format!(
                "column node {i} declares {len} rows ({nulls} null); a column holds 0 to {MAX_BLOCK_ROWS}, nulls at most its rows"
            ));
        }
    }
    for (i, buffer) in fb.buffers().iter().flatten().enumerate() {
        let (offset, len) = (buffer.offset(), buffer.length());
        let inside = offset >= 0
            && len >= 0
            && offset
                .checked_add(len)
                .is_some_and(|end| u64::try_from(end).is_ok_and(|end| end <= body_len as u64));
        if !inside {
            return Err(format!(
                "buffer {i} (offset {offset}, length {len}) lies outside the {body_len}-byte body"
            ));
        }
    }
    Ok(())
}

fn check_version(version: MetadataVersion, framing: Framing) -> Result<(), DecodeError> {
    match version {
        MetadataVersion::V4 | MetadataVersion::V5 => Ok(()),
        other => Err(format!(
            "unsupported metadata version {other:?} ({framing:?} framing)"
        )),
    }
}

fn header_name(h: MessageHeader) -> String {
    h.variant_name()
        .map_or_else(|| format!("header {}", h.0), str::to_owned)
}

thread_local! {
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs arrow-ipc code that may panic on corrupt input (`convert::fb_to_schema` and the
/// batch decoder assert on malformed flatbuffers) and turns the panic into an error, so
/// that no request can crash the process. The panic hook stays silent for these panics
/// only; every other panic is reported as usual.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, DecodeError> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(|g| g.get()) {
                previous(info);
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    result.map_err(|payload| {
        let what = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("malformed message");
        format!("malformed message: {what}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field};

    fn sample() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, true),
            Field::new("name", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])),
                Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn both_framings_round_trip() {
        let batch = sample();
        for framing in [Framing::Legacy, Framing::Modern] {
            let schema_bytes = encode_schema(&batch.schema(), framing).unwrap();
            assert_eq!(schema_bytes.len() % 8, 0);
            assert_eq!(schema_bytes[..4] == [0xFF; 4], framing == Framing::Modern);
            let (schema, seen) = decode_schema(&schema_bytes).unwrap();
            assert_eq!(seen, framing);
            assert_eq!(&schema, batch.schema().as_ref());
            let batch_bytes = encode_batch(&batch, framing).unwrap();
            let (decoded, seen) = decode_batch(&batch_bytes, &Arc::new(schema)).unwrap();
            assert_eq!(seen, framing);
            assert_eq!(decoded, batch);
        }
    }

    /// The bytes `arrow-ipc`'s own message writer produces.
    fn arrow_message(batch: &RecordBatch, framing: Framing) -> Vec<u8> {
        let opts = options(framing);
        let (_, encoded) = IpcDataGenerator::default()
            .encode(
                batch,
                &mut DictionaryTracker::new(false),
                &opts,
                &mut arrow::ipc::writer::IpcWriteContext::default(),
            )
            .unwrap();
        let mut out = Vec::new();
        write_message(&mut out, encoded, &opts).unwrap();
        out
    }

    #[test]
    fn batches_encode_as_arrow_writes_them_with_the_room_asked_for() {
        let batch = sample();
        // A slice: its buffers start inside the arrays', and offsets are rebased.
        for batch in [batch.clone(), batch.slice(1, 2), batch.slice(3, 0)] {
            for framing in [Framing::Legacy, Framing::Modern] {
                let roomy = encode_batch_with_room(&batch, framing, 16).unwrap();
                assert_eq!(roomy, arrow_message(&batch, framing));
                assert_eq!(roomy, encode_batch(&batch, framing).unwrap());
                assert_eq!(encoded_batch_len(&batch, framing).unwrap(), roomy.len());
                assert!(roomy.capacity() >= roomy.len() + 16);
            }
        }
    }

    #[test]
    fn dictionary_columns_are_refused_even_inside_a_list() {
        use arrow::array::{ArrayRef, DictionaryArray, ListArray};
        use arrow::buffer::OffsetBuffer;
        use arrow::datatypes::Int32Type;
        let dictionary: ArrayRef = Arc::new(DictionaryArray::<Int32Type>::from_iter(["a", "b"]));
        let item = Arc::new(Field::new("item", dictionary.data_type().clone(), true));
        let list: ArrayRef = Arc::new(ListArray::new(
            item,
            OffsetBuffer::from_lengths([2]),
            dictionary.clone(),
            None,
        ));
        for column in [dictionary, list] {
            let batch = RecordBatch::try_from_iter([("c", column)]).unwrap();
            assert_eq!(
                encode_batch(&batch, Framing::Modern)
                    .unwrap_err()
                    .to_string(),
                "Invalid argument error: dictionary-encoded columns cannot be sent to Athena"
            );
        }
    }

    #[test]
    fn truncated_and_garbage_inputs_are_errors() {
        let batch = sample();
        let bytes = encode_batch(&batch, Framing::Modern).unwrap();
        for cut in [0, 3, 7, 20, bytes.len() - 1] {
            let err = decode_batch(&bytes[..cut], &batch.schema()).unwrap_err();
            assert!(
                err.contains("truncated") || err.contains("flatbuffer"),
                "{cut}: {err}"
            );
        }
        assert_eq!(
            decode_schema(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]).unwrap_err(),
            "empty message (end-of-stream marker)"
        );
        let schema_bytes = encode_schema(&batch.schema(), Framing::Legacy).unwrap();
        assert!(decode_batch(&schema_bytes, &batch.schema())
            .unwrap_err()
            .starts_with("expected a RecordBatch message, found Schema"));
    }

    #[test]
    fn declared_lengths_are_checked_before_decoding() {
        let batch = sample();
        let bytes = encode_batch(&batch, Framing::Modern).unwrap();
        let meta_len = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        let (meta, body_len) = (8..8 + meta_len, bytes.len() - 8 - meta_len);
        // Each i64 of the metadata holding 3 (the row count, both column nodes' lengths)
        // or a buffer's offset/length, replaced by what a crafted request might declare.
        let positions: Vec<usize> = meta
            .clone()
            .step_by(8)
            .filter(|&i| i + 8 <= meta.end)
            .filter(|&i| i64::from_le_bytes(bytes[i..i + 8].try_into().unwrap()) == 3)
            .collect();
        assert!(positions.len() >= 3, "{positions:?}");
        for at in positions {
            for declared in [1_i64 << 40, -1, i64::MAX] {
                let mut b = bytes.clone();
                b[at..at + 8].copy_from_slice(&declared.to_le_bytes());
                let err = decode_batch(&b, &batch.schema()).unwrap_err();
                assert!(err.contains(&declared.to_string()), "{at}: {err}");
            }
        }
        // A buffer reaching past the body (the name column's validity buffer sits at 24).
        let outside = meta
            .clone()
            .step_by(8)
            .filter(|&i| i + 8 <= meta.end)
            .filter(|&i| i64::from_le_bytes(bytes[i..i + 8].try_into().unwrap()) == 24)
            .filter(|&at| {
                let mut b = bytes.clone();
                b[at..at + 8].copy_from_slice(&(body_len as i64 * 1000).to_le_bytes());
                decode_batch(&b, &batch.schema())
                    .unwrap_err()
                    .contains("outside the")
            })
            .count();
        assert_eq!(outside, 1);
    }

    #[test]
    fn every_single_byte_corruption_is_an_error_or_a_value_never_a_panic() {
        let batch = sample();
        let schema_bytes = encode_schema(&batch.schema(), Framing::Modern).unwrap();
        let batch_bytes = encode_batch(&batch, Framing::Modern).unwrap();
        for i in 0..schema_bytes.len() {
            for v in [0x00, 0x7F, 0xFF] {
                let mut b = schema_bytes.clone();
                b[i] = v;
                let _ = decode_schema(&b);
            }
        }
        for i in 0..batch_bytes.len() {
            for v in [0x00, 0x7F, 0xFF] {
                let mut b = batch_bytes.clone();
                b[i] = v;
                let _ = decode_batch(&b, &batch.schema());
            }
        }
    }
}
