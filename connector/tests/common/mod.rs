//! Helpers shared by the conformance and CLI tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use athena_connector::protocol::{ipc, Framing};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::Value;

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocol/fixtures")
}

pub fn fixture(relative: &str) -> Vec<u8> {
    let path = fixtures_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every message fixture (the spill vectors are not a message).
pub fn all_fixtures() -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![fixtures_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json")
                && !path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("spill_")
            {
                out.push(
                    path.strip_prefix(fixtures_dir())
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

/// The version a fixture's folder names (`v4/...` is 4; the root holds v2 Ping messages).
pub fn folder_version(relative: &str) -> u8 {
    relative
        .strip_prefix('v')
        .and_then(|r| r.split('/').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

/// Compares two JSON documents as *ordered* objects. Arrow payloads (`schema`, `records`,
/// `outputSchema`) are compared by decoded content and framing rather than bytes, since
/// another Arrow writer lays flatbuffers out differently (SPEC §7). Returns the differences.
pub fn diff(expected: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(expected, actual, "$", &mut out);
    out
}

fn walk(expected: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let ek: Vec<&String> = e.keys().collect();
            let ak: Vec<&String> = a.keys().collect();
            if ek != ak {
                out.push(format!("{path}: members {ek:?}, found {ak:?}"));
                return;
            }
            let schema = e
                .get("schema")
                .and_then(Value::as_str)
                .zip(a.get("schema").and_then(Value::as_str));
            for (k, ev) in e {
                let av = &a[k];
                let p = format!("{path}.{k}");
                match (k.as_str(), ev, av) {
                    ("schema" | "outputSchema", Value::String(es), Value::String(as_)) => {
                        compare_schema(es, as_, &p, out)
                    }
                    ("records", Value::String(er), Value::String(ar)) => match schema {
                        Some((es, as_)) => compare_records(es, er, as_, ar, &p, out),
                        None => out.push(format!("{p}: records without a schema")),
                    },
                    _ => walk(ev, av, &p, out),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!("{path}: {} elements, found {}", e.len(), a.len()));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                walk(ev, av, &format!("{path}[{i}]"), out);
            }
        }
        (e, a) if e == a => {}
        (e, a) => out.push(format!("{path}: expected {e}, found {a}")),
    }
}

/// Decodes a schema string: the schema, its framing and the message's metadata version.
pub fn schema_of(
    b64: &str,
) -> (
    arrow::datatypes::Schema,
    Framing,
    arrow::ipc::MetadataVersion,
) {
    let bytes = BASE64.decode(b64).expect("base64");
    let (schema, framing) = ipc::decode_schema(&bytes).expect("schema message");
    (schema, framing, metadata_version(&bytes))
}

pub fn metadata_version(bytes: &[u8]) -> arrow::ipc::MetadataVersion {
    let start = if bytes[..4] == [0xFF; 4] { 8 } else { 4 };
    arrow::ipc::root_as_message(&bytes[start..])
        .expect("message")
        .version()
}

fn compare_schema(expected: &str, actual: &str, path: &str, out: &mut Vec<String>) {
    let e = schema_of(expected);
    let a = schema_of(actual);
    if e != a {
        out.push(format!("{path}: Arrow schema {e:?}, found {a:?}"));
    }
}

fn compare_records(es: &str, er: &str, as_: &str, ar: &str, path: &str, out: &mut Vec<String>) {
    if er.is_empty() || ar.is_empty() {
        if er != ar {
            out.push(format!("{path}: expected {er:?}, found {ar:?}"));
        }
        return;
    }
    let decode = |schema: &str, records: &str| {
        let schema = std::sync::Arc::new(schema_of(schema).0);
        let bytes = BASE64.decode(records).expect("base64");
        let (batch, framing) = ipc::decode_batch(&bytes, &schema).expect("record batch");
        (batch, framing, metadata_version(&bytes))
    };
    let e = decode(es, er);
    let a = decode(as_, ar);
    if e != a {
        out.push(format!("{path}: record batch {e:?}, found {a:?}"));
    }
}
