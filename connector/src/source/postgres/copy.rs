//! `COPY … TO STDOUT (FORMAT binary)` parsed straight into Arrow builders.
//!
//! Layout: an 11-byte signature, flags and a header extension; then per tuple an `int16`
//! field count (`-1` ends the data) and per field an `int32` length (`-1` for NULL) and the
//! value in the type's binary send format. Chunks from the server need not align with
//! tuples, so incomplete tails are kept for the next chunk.

use crate::source::builder::{BatchBuilder, ColumnBuilder};

use super::types::Decode;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
/// 2000-01-01 in days and milliseconds since 1970-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;
const PG_EPOCH_MS: i64 = 946_684_800_000;

pub struct CopyDecoder {
    decoders: Vec<Decode>,
    names: Vec<String>,
    pending: Vec<u8>,
    header_done: bool,
    pub finished: bool,
}

fn be_i16(b: &[u8]) -> i16 {
    i16::from_be_bytes([b[0], b[1]])
}
fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
fn be_i64(b: &[u8]) -> i64 {
    i64::from_be_bytes(b[..8].try_into().expect("8 bytes"))
}

impl CopyDecoder {
    /// `decoders`/`names` per output column; empty for a count-only read.
    pub fn new(decoders: Vec<Decode>, names: Vec<String>) -> CopyDecoder {
        CopyDecoder {
            decoders,
            names,
            pending: Vec::new(),
            header_done: false,
            finished: false,
        }
    }

    /// Decodes every complete tuple of `chunk` (after what was pending) into `out`,
    /// calling `flush` whenever `out` is full.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        out: &mut BatchBuilder,
        flush: &mut dyn FnMut(&mut BatchBuilder) -> Result<(), String>,
    ) -> Result<(), String> {
        // PostgreSQL sends about one row per chunk: decode it in place, and copy only when a
        // row spans chunks.
        let joined;
        let data: &[u8] = if self.pending.is_empty() {
            chunk
        } else {
            let mut d = std::mem::take(&mut self.pending);
            d.extend_from_slice(chunk);
            joined = d;
            &joined
        };
        let mut at = 0;
        if !self.header_done {
            if data.len() < SIGNATURE.len() + 8 {
                self.pending = data.to_vec();
                return Ok(());
            }
            if &data[..SIGNATURE.len()] != SIGNATURE {
                return Err("not a binary COPY stream (bad signature)".into());
            }
            let ext = be_i32(&data[SIGNATURE.len() + 4..]) as usize;
            at = SIGNATURE.len() + 8 + ext;
            if data.len() < at {
                self.pending = data.to_vec();
                return Ok(());
            }
            self.header_done = true;
        }
        while at + 2 <= data.len() {
            let fields = be_i16(&data[at..]);
            if fields == -1 {
                self.finished = true;
                at += 2;
                break;
            }
            let Some(end) = tuple_end(data, at + 2, fields)? else {
                break;
            };
            self.decode_tuple(&data[at + 2..end], fields, out)?;
            out.rows += 1;
            if out.is_full() {
                flush(out)?;
            }
            at = end;
        }
        self.pending = data[at..].to_vec();
        Ok(())
    }

    fn decode_tuple(
        &self,
        mut b: &[u8],
        fields: i16,
        out: &mut BatchBuilder,
    ) -> Result<(), String> {
        if self.decoders.is_empty() {
            return Ok(()); // count-only
        }
        if fields as usize != self.decoders.len() {
            return Err(format!(
                "COPY row has {fields} fields, expected {}",
                self.decoders.len()
            ));
        }
        for (i, (decode, builder)) in self.decoders.iter().zip(out.columns.iter_mut()).enumerate() {
            let len = be_i32(b);
            b = &b[4..];
            if len < 0 {
                builder.append_null();
                continue;
            }
            let (value, rest) = b.split_at(len as usize);
            b = rest;
            decode_value(decode, value, builder)
                .map_err(|why| format!("column \"{}\": {why}", self.names[i]))?;
        }
        Ok(())
    }
}

/// The end of the tuple whose fields start at `at`, or `None` if it is not all here yet.
fn tuple_end(data: &[u8], mut at: usize, fields: i16) -> Result<Option<usize>, String> {
    if fields < 0 {
        return Err(format!("invalid COPY field count {fields}"));
    }
    for _ in 0..fields {
        if at + 4 > data.len() {
            return Ok(None);
        }
        let len = be_i32(&data[at..]);
        at += 4;
        if len > 0 {
            at += len as usize;
        } else if len < -1 {
            return Err(format!("invalid COPY field length {len}"));
        }
    }
    Ok((at <= data.len()).then_some(at))
}

fn need(value: &[u8], n: usize) -> Result<(), String> {
    if value.len() == n {
        Ok(())
    } else {
        Err(format!("expected {n} bytes, found {}", value.len()))
    }
}

fn decode_value(decode: &Decode, v: &[u8], builder: &mut ColumnBuilder) -> Result<(), String> {
    match (decode, builder) {
        (Decode::Bool, ColumnBuilder::Boolean(b)) => {
            need(v, 1)?;
            b.append_value(v[0] != 0);
        }
        (Decode::Int2, ColumnBuilder::Int16(b)) => {
            need(v, 2)?;
            b.append_value(be_i16(v));
        }
        (Decode::Int4, ColumnBuilder::Int32(b)) => {
            need(v, 4)?;
            b.append_value(be_i32(v));
        }
        (Decode::Int8, ColumnBuilder::Int64(b)) => {
            need(v, 8)?;
            b.append_value(be_i64(v));
        }
        (Decode::Float4, ColumnBuilder::Float32(b)) => {
            need(v, 4)?;
            b.append_value(f32::from_bits(be_i32(v) as u32));
        }
        (Decode::Float8, ColumnBuilder::Float64(b)) => {
            need(v, 8)?;
            b.append_value(f64::from_bits(be_i64(v) as u64));
        }
        (Decode::Numeric { precision, scale }, ColumnBuilder::Decimal { builder, .. }) => {
            builder.append_value(numeric_to_i128(v, *precision, *scale)?);
        }
        (Decode::TextTrimmed, ColumnBuilder::Utf8(b)) => {
            let end = v.iter().rposition(|c| *c != b' ').map_or(0, |i| i + 1);
            b.append_value(
                std::str::from_utf8(&v[..end]).map_err(|e| format!("invalid UTF-8 text: {e}"))?,
            );
        }
        (Decode::Text, ColumnBuilder::Utf8(b)) => {
            b.append_value(std::str::from_utf8(v).map_err(|e| format!("invalid UTF-8 text: {e}"))?);
        }
        (Decode::Bytea, ColumnBuilder::Binary(b)) => b.append_value(v),
        (Decode::Date, ColumnBuilder::Date32(b)) => {
            need(v, 4)?;
            let days = be_i32(v);
            if days == i32::MAX || days == i32::MIN {
                return Err("infinite dates have no Athena value".into());
            }
            b.append_value(days.checked_add(PG_EPOCH_DAYS).ok_or("date out of range")?);
        }
        (Decode::Timestamp, ColumnBuilder::Date64(b)) => {
            need(v, 8)?;
            let micros = be_i64(v);
            if micros == i64::MAX || micros == i64::MIN {
                return Err("infinite timestamps have no Athena value".into());
            }
            b.append_value(micros.div_euclid(1000) + PG_EPOCH_MS);
        }
        (Decode::Array(element), builder @ ColumnBuilder::List { .. }) => {
            decode_array(element, v, builder)?;
        }
        (d, _) => {
            return Err(format!(
                "internal: decoder {d:?} does not match its builder"
            ))
        }
    }
    Ok(())
}

/// `int32 ndim, int32 flags, oid element, ndim × (int32 size, int32 lbound), elements`.
fn decode_array(element: &Decode, v: &[u8], builder: &mut ColumnBuilder) -> Result<(), String> {
    if v.len() < 12 {
        return Err("truncated array".into());
    }
    let ndim = be_i32(v);
    let ColumnBuilder::List { child, .. } = builder else {
        unreachable!("matched by the caller")
    };
    let mut at = 12;
    let count = match ndim {
        0 => 0,
        1 => {
            if v.len() < 20 {
                return Err("truncated array".into());
            }
            at += 8;
            be_i32(&v[12..]).max(0) as usize
        }
        n => {
            return Err(format!(
            "{n}-dimensional arrays are not supported (only one dimension maps to an Athena array)"
        ))
        }
    };
    for _ in 0..count {
        if at + 4 > v.len() {
            return Err("truncated array element".into());
        }
        let len = be_i32(&v[at..]);
        at += 4;
        if len < 0 {
            child.append_null();
            continue;
        }
        let end = at + len as usize;
        if end > v.len() {
            return Err("truncated array element".into());
        }
        decode_value(element, &v[at..end], child)?;
        at = end;
    }
    builder.close_list();
    Ok(())
}

/// A `numeric` in binary form (base-10000 digits) as an unscaled value at `scale`,
/// rounding half away from zero; an error if it does not fit `precision` digits.
/// 10^0 ..= 10^38, the powers a decimal128 can hold (a lookup on the hot path).
const POW10: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

pub fn numeric_to_i128(v: &[u8], precision: u8, scale: i8) -> Result<i128, String> {
    if v.len() < 8 {
        return Err("truncated numeric".into());
    }
    let ndigits = i32::from(be_i16(v));
    let weight = i32::from(be_i16(&v[2..]));
    let sign = u16::from_be_bytes([v[4], v[5]]);
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("NaN has no decimal value".into()),
        0xD000 | 0xF000 => return Err("infinity has no decimal value".into()),
        other => return Err(format!("invalid numeric sign {other:#x}")),
    }
    if v.len() != 8 + 2 * ndigits.max(0) as usize {
        return Err("truncated numeric".into());
    }
    let overflow = || format!("value does not fit decimal({precision},{scale})");
    // The value is below 10^(4·(weight + 1)), so its unscaled form below 10^(that + scale):
    // within 10^38 no step can overflow i128, and the checked (libcall) arithmetic is only
    // needed beyond it.
    let exact = 4 * (weight + 1) + i32::from(scale) <= 38;
    // Group i holds 4 digits whose last one is worth 10^(4·(weight − i)); in the unscaled
    // value that is 10^(4·(weight − i) + scale). Groups past the scale only round.
    let mut unscaled: i128 = 0;
    let mut rounding: Option<bool> = None;
    for i in 0..ndigits {
        let d = i128::from(be_i16(&v[8 + 2 * i as usize..]));
        let exp = 4 * (weight - i) + i32::from(scale);
        if exp >= 0 {
            let f = *POW10.get(exp as usize).ok_or_else(overflow)?;
            unscaled = if exact {
                unscaled + d * f
            } else {
                d.checked_mul(f)
                    .and_then(|x| unscaled.checked_add(x))
                    .ok_or_else(overflow)?
            };
        } else if rounding.is_none() {
            // The first group reaching below the scale decides HALF_UP rounding.
            match POW10
                .get((-exp) as usize)
                .copied()
                .filter(|div| *div <= 10_000)
            {
                Some(div) => {
                    unscaled = unscaled.checked_add(d / div).ok_or_else(overflow)?;
                    rounding = Some((d % div) * 2 >= div);
                }
                None => rounding = Some(false),
            }
        }
    }
    if rounding == Some(true) {
        unscaled = unscaled.checked_add(1).ok_or_else(overflow)?;
    }
    if sign == 0x4000 {
        unscaled = -unscaled;
    }
    if unscaled.unsigned_abs() >= POW10[usize::from(precision.min(38))].unsigned_abs() {
        return Err(overflow());
    }
    Ok(unscaled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_values_lose_only_their_trailing_blanks() {
        let mut b = ColumnBuilder::new(&arrow::datatypes::DataType::Utf8).unwrap();
        for v in [&b"TRUCK     "[..], b"  a b  ", b"", b"   ", "é ".as_bytes()] {
            decode_value(&Decode::TextTrimmed, v, &mut b).unwrap();
        }
        let array = b.finish();
        let text = array
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        assert_eq!(
            text.iter().map(Option::unwrap).collect::<Vec<_>>(),
            ["TRUCK", "  a b", "", "", "é"]
        );
    }

    /// Binary numeric for digits (base 10000), weight, negative.
    fn numeric(digits: &[i16], weight: i16, negative: bool, dscale: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(digits.len() as i16).to_be_bytes());
        v.extend_from_slice(&weight.to_be_bytes());
        v.extend_from_slice(&(if negative { 0x4000u16 } else { 0 }).to_be_bytes());
        v.extend_from_slice(&dscale.to_be_bytes());
        for d in digits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numerics_rescale_and_round_half_up() {
        // 12345.678 = [1, 2345, 6780] weight 1
        let n = numeric(&[1, 2345, 6780], 1, false, 3);
        assert_eq!(numeric_to_i128(&n, 10, 3), Ok(12_345_678));
        assert_eq!(numeric_to_i128(&n, 10, 2), Ok(1_234_568));
        assert_eq!(numeric_to_i128(&n, 10, 0), Ok(12_346));
        assert_eq!(
            numeric_to_i128(&numeric(&[1, 2345, 6780], 1, true, 3), 10, 1),
            Ok(-123_457)
        );
        // 0.0005 = [5] weight -1 → 0.001 at scale 3, 0 at scale 2
        assert_eq!(numeric_to_i128(&numeric(&[5], -1, false, 4), 5, 3), Ok(1));
        assert_eq!(numeric_to_i128(&numeric(&[], 0, false, 0), 5, 2), Ok(0));
        // 38 significant digits at scale 10: groups reach past the scale.
        let big = numeric(
            &[1234, 5678, 9012, 3456, 7890, 1234, 5678, 123, 4567, 8900],
            6,
            false,
            10,
        );
        assert_eq!(
            numeric_to_i128(&big, 38, 10),
            Ok(12345678901234567890123456780123456789)
        );
        assert_eq!(
            numeric_to_i128(&big, 38, 3),
            Ok(1234567890123456789012345678012)
        );
        // 0.00001 at scale 2 is 0.00; 0.005 is 0.01
        assert_eq!(
            numeric_to_i128(&numeric(&[1000], -2, false, 5), 5, 2),
            Ok(0)
        );
        assert_eq!(numeric_to_i128(&numeric(&[50], -1, false, 3), 5, 2), Ok(1));
        // 10^40 does not fit decimal(38, 0)
        assert_eq!(
            numeric_to_i128(&numeric(&[1], 10, false, 0), 38, 0),
            Err("value does not fit decimal(38,0)".into())
        );
        assert!(numeric_to_i128(&[0, 0, 0, 0, 0xC0, 0, 0, 0], 38, 0)
            .unwrap_err()
            .contains("NaN"));
    }

    #[test]
    fn tuples_split_across_chunks() {
        let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("a", arrow::datatypes::DataType::Int32, true),
            arrow::datatypes::Field::new("b", arrow::datatypes::DataType::Utf8, true),
        ]));
        let mut stream = Vec::new();
        stream.extend_from_slice(SIGNATURE);
        stream.extend_from_slice(&[0; 8]);
        for (a, b) in [
            (Some(7i32), Some("x")),
            (None, Some("héllo")),
            (Some(-1), None),
        ] {
            stream.extend_from_slice(&2i16.to_be_bytes());
            match a {
                Some(a) => {
                    stream.extend_from_slice(&4i32.to_be_bytes());
                    stream.extend_from_slice(&a.to_be_bytes());
                }
                None => stream.extend_from_slice(&(-1i32).to_be_bytes()),
            }
            match b {
                Some(b) => {
                    stream.extend_from_slice(&(b.len() as i32).to_be_bytes());
                    stream.extend_from_slice(b.as_bytes());
                }
                None => stream.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        stream.extend_from_slice(&(-1i16).to_be_bytes());
        for chunk in [1usize, 3, 7, stream.len()] {
            let mut d = CopyDecoder::new(
                vec![Decode::Int4, Decode::Text],
                vec!["a".into(), "b".into()],
            );
            let mut out = BatchBuilder::new(schema.clone()).unwrap();
            for c in stream.chunks(chunk) {
                d.feed(c, &mut out, &mut |_| Ok(())).unwrap();
            }
            assert!(d.finished);
            let batch = out.finish();
            assert_eq!(batch.num_rows(), 3, "chunk {chunk}");
            assert_eq!(
                arrow::util::pretty::pretty_format_batches(&[batch]).unwrap().to_string(),
                "+----+-------+\n| a  | b     |\n+----+-------+\n| 7  | x     |\n|    | héllo |\n| -1 |       |\n+----+-------+"
            );
        }
    }
}
