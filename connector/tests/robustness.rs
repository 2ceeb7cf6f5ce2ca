//! No input makes the protocol reader panic: seeded mutations of real messages (our
//! example, and the Java fixtures where `../shared` is present) at the byte and JSON level.
//! The cargo-fuzz target (`connector/fuzz`) explores further; this runs in every `cargo test`.

mod common;

use std::path::Path;

use athena_connector::protocol::{parse_message, SerDeVersion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = vec![std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/read-records-request.json"),
    )
    .unwrap()];
    if common::fixtures_dir().is_dir() {
        seeds.extend(common::all_fixtures().iter().map(|f| common::fixture(f)));
    }
    seeds
}

/// Parses, and writes back whatever parsed in every version.
fn exercise(bytes: &[u8]) {
    if let Ok(parsed) = parse_message(bytes) {
        for v in 2..=6 {
            let _ = parsed.message.to_json(SerDeVersion::new(v).unwrap());
        }
    }
}

fn mutate_value(v: &mut Value, rng: &mut StdRng) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let i = rng.random_range(0..map.len());
            match rng.random_range(0..4) {
                0 => {
                    let k = map.keys().nth(i).unwrap().clone();
                    map.remove(&k);
                }
                1 => {
                    let k = map.keys().nth(i).unwrap().clone();
                    map[&k] = random_scalar(rng);
                }
                _ => mutate_value(map.values_mut().nth(i).unwrap(), rng),
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = rng.random_range(0..items.len());
            if rng.random_bool(0.2) {
                items.remove(i);
            } else {
                mutate_value(&mut items[i], rng);
            }
        }
        Value::String(s) if !s.is_empty() => {
            // Corrupt base64/Arrow payloads and strings: flip, cut or pad characters.
            let mut bytes = s.clone().into_bytes();
            match rng.random_range(0..3) {
                0 => {
                    let i = rng.random_range(0..bytes.len());
                    bytes[i] = b"AB/+=xyz0"[rng.random_range(0..9)];
                }
                1 => bytes.truncate(rng.random_range(0..bytes.len())),
                _ => bytes.extend_from_slice(b"AAAA"),
            }
            *s = String::from_utf8_lossy(&bytes).into_owned();
        }
        other => *other = random_scalar(rng),
    }
}

fn random_scalar(rng: &mut StdRng) -> Value {
    match rng.random_range(0..6) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => Value::from(rng.random::<i64>()),
        3 => Value::from(-1),
        4 => Value::String("/////w==".into()),
        _ => Value::Array(vec![]),
    }
}

#[test]
fn json_level_mutations_never_panic() {
    let mut rng = StdRng::seed_from_u64(0xA7E1A);
    for seed in seeds() {
        let doc: Value = serde_json::from_slice(&seed).unwrap();
        for _ in 0..400 {
            let mut v = doc.clone();
            for _ in 0..rng.random_range(1..4) {
                mutate_value(&mut v, &mut rng);
            }
            exercise(serde_json::to_string(&v).unwrap().as_bytes());
        }
    }
}

#[test]
fn byte_level_mutations_never_panic() {
    let mut rng = StdRng::seed_from_u64(0xB17E5);
    for seed in seeds() {
        for _ in 0..200 {
            let mut b = seed.clone();
            for _ in 0..rng.random_range(1..8) {
                let i = rng.random_range(0..b.len());
                b[i] = rng.random();
            }
            if rng.random_bool(0.3) {
                b.truncate(rng.random_range(0..b.len()));
            }
            exercise(&b);
        }
    }
}
