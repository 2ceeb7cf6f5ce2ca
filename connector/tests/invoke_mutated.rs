//! Black box: mutated requests through `athena-fed invoke` (and `decode --explain`) end
//! with exit status 0, 1 or 2 only: never a panic (101), an abort or another signal, nor a
//! hang. Seeds: a valid request of every type over the demo database (recorded from the
//! client), the project's examples (`examples/`), and the Java SDK's fixtures where
//! `../shared` is present (read in place). Mutations are seeded, so every run tries the same
//! inputs: byte flips, truncation, numbers made huge or negative, nullable flags flipped
//! and types swapped inside Arrow schemas, blocks declaring huge row counts, members
//! dropped or replaced. `INVOKE_MUTANTS` sets how many (default 800, about 35 s in a debug build).

mod common;
mod demo_requests;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::array::{NullArray, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use athena_connector::protocol::{ipc, Framing};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// A run of one command longer than this is a hang.
const TIMEOUT: Duration = Duration::from_secs(60);

fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = demo_requests::requests().to_vec();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for f in files {
        seeds.push((
            format!("examples/{}", f.file_name().unwrap().to_string_lossy()),
            std::fs::read(&f).unwrap(),
        ));
    }
    if common::fixtures_dir().is_dir() {
        for f in common::all_fixtures() {
            seeds.push((format!("fixtures/{f}"), common::fixture(&f)));
        }
    } else {
        println!(
            "{} is absent: the Java SDK fixtures were not mutated (only the demo requests and examples/)",
            common::fixtures_dir().display()
        );
    }
    seeds
}

// --- Mutations --------------------------------------------------------------------------

/// Numbers a request might carry, at and beyond every bound.
const HUGE: &[i64] = &[
    i64::MAX,
    i64::MIN,
    -1,
    0,
    1 << 40,
    i32::MAX as i64 + 1,
    u32::MAX as i64,
    -(1 << 31),
];

fn huge(rng: &mut StdRng) -> Value {
    let n = HUGE[rng.random_range(0..HUGE.len())];
    match rng.random_range(0..3) {
        0 => Value::from(n),
        1 => Value::String(n.to_string()),
        _ => Value::from(n as f64 * 1e10),
    }
}

/// Types a schema field may be swapped to: each one a source cannot produce, or another
/// type than the table's.
fn some_type(rng: &mut StdRng) -> DataType {
    let types = [
        DataType::Null,
        DataType::Boolean,
        DataType::Int8,
        DataType::Int32,
        DataType::Int64,
        DataType::UInt64,
        DataType::Float32,
        DataType::Float64,
        DataType::Utf8,
        DataType::Binary,
        DataType::Date32,
        DataType::Date64,
        DataType::Decimal128(38, 2),
        DataType::Decimal128(8, 2),
        DataType::Decimal128(60, 2),
        DataType::Decimal128(10, 12),
        DataType::Decimal256(60, 2),
        DataType::Timestamp(TimeUnit::Millisecond, None),
        DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
        DataType::List(Arc::new(Field::new_list_field(
            DataType::Decimal128(60, 2),
            true,
        ))),
        DataType::Struct(vec![Field::new("a", DataType::Int64, true)].into()),
    ];
    types[rng.random_range(0..types.len())].clone()
}

/// Rewrites an Arrow schema string: a field's nullability flipped or its type swapped.
fn mutate_schema(b64: &str, rng: &mut StdRng) -> Option<String> {
    let bytes = BASE64.decode(b64).ok()?;
    let (schema, framing) = ipc::decode_schema(&bytes).ok()?;
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    if fields.is_empty() {
        fields.push(Field::new("x", some_type(rng), rng.random()));
    } else {
        let i = rng.random_range(0..fields.len());
        fields[i] = if rng.random_bool(0.5) {
            let nullable = fields[i].is_nullable();
            fields[i].clone().with_nullable(!nullable)
        } else {
            fields[i].clone().with_data_type(some_type(rng))
        };
    }
    let bytes = ipc::encode_schema(&Schema::new(fields), framing).ok()?;
    Some(BASE64.encode(bytes))
}

/// A block of no columns or one null column, declaring `rows` rows over a few bytes.
fn declaring_block(rows: i64, null_column: bool) -> (String, String) {
    const MARK: i64 = 0x0005_A5A5;
    let batch = if null_column {
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("col1", DataType::Null, true)])),
            vec![Arc::new(NullArray::new(MARK as usize))],
        )
        .unwrap()
    } else {
        RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(MARK as usize)),
        )
        .unwrap()
    };
    let mut bytes = ipc::encode_batch(&batch, Framing::Modern).unwrap();
    for i in 0..bytes.len() - 8 {
        if bytes[i..i + 8] == MARK.to_le_bytes() {
            bytes[i..i + 8].copy_from_slice(&rows.to_le_bytes());
        }
    }
    let schema = ipc::encode_schema(&batch.schema(), Framing::Modern).unwrap();
    (BASE64.encode(schema), BASE64.encode(bytes))
}

/// Every path to a member named `name` (objects only).
fn paths_to(v: &Value, name: &str, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                at.push(k.clone());
                if k == name {
                    out.push(at.clone());
                }
                paths_to(child, name, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                at.push(i.to_string());
                paths_to(child, name, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn at_path<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Array(items) => &mut items[k.parse::<usize>().unwrap()],
        other => &mut other[k.as_str()],
    })
}

/// Every leaf that is a number or a string holding one.
fn numeric_leaves(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Number(_) => out.push(at.clone()),
        Value::String(s) if !s.is_empty() && s.parse::<i64>().is_ok() => out.push(at.clone()),
        Value::Object(map) => {
            for (k, child) in map {
                at.push(k.clone());
                numeric_leaves(child, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                at.push(i.to_string());
                numeric_leaves(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// A member removed or replaced, somewhere.
fn structural(v: &mut Value, rng: &mut StdRng) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let k = map
                .keys()
                .nth(rng.random_range(0..map.len()))
                .unwrap()
                .clone();
            match rng.random_range(0..5) {
                0 => {
                    map.remove(&k);
                }
                1 => map[&k] = huge(rng),
                2 => map[&k] = Value::Null,
                _ => structural(&mut map[&k], rng),
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = rng.random_range(0..items.len());
            match rng.random_range(0..4) {
                0 => {
                    items.remove(i);
                }
                1 => {
                    let copy = items[i].clone();
                    items.push(copy);
                }
                _ => structural(&mut items[i], rng),
            }
        }
        other => *other = huge(rng),
    }
}

fn mutate(seed: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let kind = rng.random_range(0..8);
    if kind < 2 {
        let mut b = seed.to_vec();
        if kind == 0 || b.len() < 2 {
            for _ in 0..rng.random_range(1..8) {
                let i = rng.random_range(0..b.len());
                b[i] = rng.random();
            }
        } else {
            b.truncate(rng.random_range(0..b.len()));
        }
        return b;
    }
    let Ok(mut v) = serde_json::from_slice::<Value>(seed) else {
        return seed.to_vec();
    };
    for _ in 0..rng.random_range(1..3) {
        match rng.random_range(0..5) {
            0 => {
                let mut leaves = Vec::new();
                numeric_leaves(&v, &mut vec![], &mut leaves);
                if !leaves.is_empty() {
                    let p = &leaves[rng.random_range(0..leaves.len())];
                    *at_path(&mut v, p) = huge(rng);
                }
            }
            1 | 2 => {
                let mut schemas = Vec::new();
                paths_to(&v, "schema", &mut vec![], &mut schemas);
                if !schemas.is_empty() {
                    let p = &schemas[rng.random_range(0..schemas.len())];
                    let slot = at_path(&mut v, p);
                    if let Some(s) = slot.as_str().and_then(|s| mutate_schema(s, rng)) {
                        *slot = Value::String(s);
                    }
                }
            }
            3 => {
                let mut blocks = Vec::new();
                paths_to(&v, "records", &mut vec![], &mut blocks);
                if !blocks.is_empty() {
                    let mut p = blocks[rng.random_range(0..blocks.len())].clone();
                    let rows = HUGE[rng.random_range(0..HUGE.len())];
                    let (schema, records) = declaring_block(rows, rng.random());
                    *at_path(&mut v, &p) = Value::String(records);
                    p.pop();
                    let parent = at_path(&mut v, &p);
                    if parent.get("schema").is_some() {
                        parent["schema"] = Value::String(schema);
                    }
                }
            }
            _ => structural(&mut v, rng),
        }
    }
    serde_json::to_vec(&v).unwrap()
}

// --- Running the binary -----------------------------------------------------------------

fn run(args: &[&str], input: &[u8]) -> (Output, Duration) {
    let started = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_athena-fed"));
    cmd.args(args)
        .env_clear()
        .envs(demo_requests::connector_vars())
        .envs(demo_requests::OFFLINE_AWS.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("athena-fed runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let id = child.id();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            while started.elapsed() < TIMEOUT {
                if done.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if !done.load(Ordering::SeqCst) {
                // SAFETY: kill(2) on the child this test started; no memory is touched.
                unsafe {
                    libc::kill(id as i32, libc::SIGKILL);
                }
            }
        })
    };
    let out = child.wait_with_output().unwrap();
    done.store(true, Ordering::SeqCst);
    let _ = watchdog.join();
    let _ = writer.join();
    (out, started.elapsed())
}

/// Exit 0, 1 or 2; otherwise the input is kept for replay and described.
fn check(args: &[&str], name: &str, input: &[u8]) -> Result<(), String> {
    let (out, took) = run(args, input);
    match out.status.code() {
        Some(0..=2) if took < TIMEOUT => Ok(()),
        code => {
            let dir = std::env::temp_dir().join("athena-fed-invoke-mutated");
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{}.json", name.replace('/', "_")));
            std::fs::write(&file, input).unwrap();
            Err(format!(
                "athena-fed {} {} : {} after {took:?} (input kept in {}): {}",
                args.join(" "),
                name,
                match code {
                    Some(c) => format!("exit {c}"),
                    None => "killed by a signal (abort, or the hang watchdog)".into(),
                },
                file.display(),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .take(6)
                    .collect::<Vec<_>>()
                    .join(" | ")
            ))
        }
    }
}

#[test]
fn mutated_requests_exit_0_1_or_2_only() {
    let seeds = seeds();
    let total: usize = std::env::var("INVOKE_MUTANTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(800);
    let mut rng = StdRng::seed_from_u64(0x1A0E_D10C);
    let mut mutants: Vec<(String, Vec<u8>)> = Vec::with_capacity(total);
    for i in 0..total {
        let (name, seed) = &seeds[i % seeds.len()];
        mutants.push((format!("{name}#{i}"), mutate(seed, &mut rng)));
    }
    let mutants = Arc::new(mutants);
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (mutants, next, failures) = (mutants.clone(), next.clone(), failures.clone());
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((name, input)) = mutants.get(i) else {
                    return;
                };
                // Every fourth also through the explainer, which reads any message.
                let commands: &[&[&str]] = if i % 4 == 0 {
                    &[&["invoke"], &["decode", "--explain"]]
                } else {
                    &[&["invoke"]]
                };
                for args in commands {
                    if let Err(e) = check(args, name, input) {
                        failures.lock().unwrap().push(e);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    println!(
        "{} mutants of {} seeds in {:?}",
        mutants.len(),
        seeds.len(),
        started.elapsed()
    );
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The confirmed case of the issue: `note` declared non-nullable over the demo `orders`
/// made `athena-fed invoke` panic (exit 101). Now: exit 1 and an error naming the column.
#[test]
fn non_nullable_note_over_the_demo_orders_exits_1_naming_the_column() {
    let mut r = demo_requests::read_records();
    r.schema = Arc::new(Schema::new(
        r.schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(f.name() != "note"))
            .collect::<Vec<_>>(),
    ));
    let input = demo_requests::to_json(&athena_connector::protocol::Request::ReadRecords(r));
    let (out, _) = run(&["invoke"], &input);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("\"note\"") && err.contains("non-nullable"),
        "{err}"
    );
}

/// `$in` without arguments made `decode --explain` panic.
#[test]
fn explain_shows_an_in_call_without_arguments() {
    let mut v: Value = serde_json::from_slice(
        &demo_requests::requests()
            .iter()
            .find(|(n, _)| n.ends_with("ReadRecordsRequest"))
            .unwrap()
            .1,
    )
    .unwrap();
    v["constraints"]["expression"] = serde_json::json!([{
        "@type": "FunctionCallExpression",
        "type": {"@type": "Bool"},
        "functionName": {"functionName": "$in"},
        "arguments": []
    }]);
    let input = serde_json::to_vec(&v).unwrap();
    let (out, _) = run(&["decode", "--explain"], &input);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("(? IN ())"), "{text}");
    // Invoked, the SQL generator refuses it with an error.
    let (out, _) = run(&["invoke"], &input);
    assert_eq!(out.status.code(), Some(1));
}

/// Writes the demo requests as the fuzz target's seed corpus when `FUZZ_SEEDS_DIR` is set.
#[test]
fn write_fuzz_seeds() {
    let Some(dir) = std::env::var_os("FUZZ_SEEDS_DIR") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in demo_requests::requests() {
        std::fs::write(Path::new(&dir).join(format!("{name}.json")), bytes).unwrap();
    }
}
