//! `athena-fed query` over tables far larger than a Lambda response, with nothing configured
//! but `--catalog`: every split spills to the engine's local directory and streams back
//! into DataFusion. Answers equal the database's own; peak memory does not grow with the
//! table (the same query over 4x the rows peaks at about the same RSS); the spill directory
//! is empty afterwards.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use integration_tests::*;
use sqlx::{AssertSqlSafe, Executor, Row};

/// Runs `athena-fed query` and returns its output and its own peak resident set in MiB
/// (`wait4`'s rusage: this process alone, whatever ran before it).
// The child is reaped by `wait4` below (which also gives its rusage), not by `wait()`.
#[allow(clippy::zombie_processes)]
fn query(home: &Path, catalog: &str, sql: &str, extra: &[(&str, &str)]) -> (Output, f64) {
    let mut child = Command::new(workspace_binary("athena-fed"))
        .args(["query", "--format", "csv", "--catalog", catalog])
        .args(
            extra
                .iter()
                .filter(|(k, _)| k.starts_with("--"))
                .flat_map(|(k, v)| [*k, *v]),
        )
        .arg(sql)
        .envs(extra.iter().filter(|(k, _)| !k.starts_with("--")).copied())
        .env("ATHENA_FED_HOME", home)
        // The connector's per-split log line says how many blocks each split spilled.
        .env("RUST_LOG", "athena_connector::handler=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("athena-fed runs");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            r.read_to_end(&mut buf).map(|_| buf)
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; writes into values we own.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    let out = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: stdout.join().unwrap().unwrap(),
        stderr: stderr.join().unwrap().unwrap(),
    };
    assert!(
        out.status.success(),
        "athena-fed failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out, usage.ru_maxrss as f64 / 1024.0) // Linux reports KiB
}

/// The result rows (header dropped) and the spilled-block count of every split read.
fn rows_and_spills(out: &Output) -> (Vec<String>, Vec<usize>) {
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect();
    let spills = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("read split"))
        .filter_map(|l| {
            let (_, rest) = l.split_once("spilled_blocks")?;
            rest.trim_start_matches(|c: char| !c.is_ascii_digit())
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect();
    (rows, spills)
}

fn fresh_home(name: &str) -> PathBuf {
    let home = std::env::temp_dir().join(format!("athena-fed-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    home
}

/// Everything left under the engine's home directory (it should hold nothing).
fn leftovers(home: &Path) -> Vec<PathBuf> {
    let mut left = Vec::new();
    let mut stack = vec![home.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            left.push(p);
        }
    }
    left
}

const AGGREGATES: &str = "count(*), sum(id), sum(length(pad)), min(pad), max(pad)";

/// Runs the aggregate query over `table` at two sizes and checks answers, spills, memory
/// and cleanup. `expect` gives the database's own answer as one CSV line.
async fn check_engine<F, Fut>(name: &str, catalog: &str, tables: [(&str, f64); 2], expect: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let home = fresh_home(name);
    let mut peaks = Vec::new();
    for (table, mib) in tables {
        let sql = format!("SELECT {AGGREGATES} FROM {table}");
        let (out, peak) = query(&home, catalog, &sql, &[]);
        let (rows, spills) = rows_and_spills(&out);
        let want = expect(table.rsplit('.').next().unwrap().to_owned()).await;
        assert_eq!(rows, [want], "{name} {table}: the database's own answer");
        // Every split was larger than a Lambda response: none came back inline.
        assert!(
            !spills.is_empty() && spills.iter().all(|&n| n > 0),
            "{name} {table}: splits spilled {spills:?}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let left = leftovers(&home);
        assert!(left.is_empty(), "{name}: left behind {left:?}");
        eprintln!(
            "{name} {table}: ~{mib:.0} MiB in {} split(s) ({spills:?} blocks), peak RSS {peak:.0} MiB",
            spills.len()
        );
        peaks.push(peak);
    }
    // Memory, all else equal: each table read as one split, one split at a time. Four times
    // the rows (+165 MiB of data) should leave the peak about where it was: it depends on
    // the block size (and, by default, on the splits in flight), not on the table. The
    // allocator makes single peaks noisy by some 50 MiB (debug build, measured: 148-201
    // MiB for the small table, 164-211 for the large, ~110 MiB of it the process itself),
    // so each is the lower of two runs, and growth in proportion to the rows (+165 MiB)
    // fails by a wide margin.
    let one_split = [
        ("--parallelism", "1"),
        ("split_target_bytes", "100000000000"),
    ];
    let mut one = Vec::new();
    for (table, _) in tables {
        let sql = format!("SELECT {AGGREGATES} FROM {table}");
        let runs = [
            query(&home, catalog, &sql, &one_split).1,
            query(&home, catalog, &sql, &one_split).1,
        ];
        one.push(runs[0].min(runs[1]));
    }
    eprintln!(
        "{name}: one split at a time, peak RSS {:.0} then {:.0} MiB",
        one[0], one[1]
    );
    assert!(
        one[1] - one[0] < 64.0,
        "{name}: peak RSS {:.0} MiB, then {:.0} MiB over 4x the rows: memory grows with the table",
        one[0],
        one[1]
    );
    // By default (4 splits at once) it stays well under the table's size too.
    assert!(peaks.iter().all(|&p| p < 320.0), "{name}: peaks {peaks:?}");
    std::fs::remove_dir_all(&home).unwrap();
}

/// ~230 bytes a row: 250,000 rows are ~55 MiB, 1,000,000 ~220 MiB.
const SMALL: i64 = 250_000;
const LARGE: i64 = 1_000_000;

#[tokio::test]
async fn postgres_tables_of_any_size_need_no_configuration() {
    let pg = postgres().await;
    for (table, rows) in [("small", SMALL), ("large", LARGE)] {
        let have: Option<i64> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM big.{table}")))
                .fetch_one(&pg)
                .await
                .ok();
        if have != Some(rows) {
            pg.execute(AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS big; DROP TABLE IF EXISTS big.{table};
                 CREATE TABLE big.{table} (id int8, pad text);
                 INSERT INTO big.{table} SELECT g, repeat(md5(g::text), 6) || g FROM generate_series(1, {rows}) g;
                 ANALYZE big.{table};"
            )))
            .await
            .unwrap();
        }
    }
    let catalog = format!("pg={}", postgres_connection());
    check_engine(
        "postgres",
        &catalog,
        [("pg.big.small", 55.0), ("pg.big.large", 220.0)],
        |table| {
            let pg = pg.clone();
            async move {
                let r = sqlx::query(AssertSqlSafe(format!(
                    "SELECT count(*)::text || ',' || sum(id) || ',' || sum(length(pad)) || ',' || min(pad COLLATE \"C\") || ',' || max(pad COLLATE \"C\") FROM big.{table}"
                )))
                .fetch_one(&pg)
                .await
                .unwrap();
                r.get::<String, _>(0)
            }
        },
    )
    .await;
}

#[tokio::test]
async fn mariadb_tables_of_any_size_need_no_configuration() {
    let my = mysql().await;
    for (table, rows) in [("small", SMALL), ("large", LARGE)] {
        let have: Option<i64> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM big.{table}")))
                .fetch_one(&my)
                .await
                .ok();
        if have != Some(rows) {
            for statement in [
                "CREATE DATABASE IF NOT EXISTS big".to_owned(),
                format!("DROP TABLE IF EXISTS big.{table}"),
                format!("CREATE TABLE big.{table} (id BIGINT PRIMARY KEY, pad VARCHAR(250))"),
                format!("INSERT INTO big.{table} SELECT seq, CONCAT(REPEAT(MD5(seq), 6), seq) FROM seq_1_to_{rows}"),
                format!("ANALYZE TABLE big.{table}"),
            ] {
                my.execute(AssertSqlSafe(statement)).await.unwrap();
            }
        }
    }
    let catalog = format!("my={}", mysql_connection("big"));
    check_engine(
        "mariadb",
        &catalog,
        [("my.big.small", 55.0), ("my.big.large", 220.0)],
        |table| {
            let my = my.clone();
            async move {
                // Athena compares strings by code point: min/max over the bytes.
                let r = sqlx::query(AssertSqlSafe(format!(
                    "SELECT CONCAT(count(*), ',', sum(id), ',', sum(length(pad)), ',', min(BINARY pad), ',', max(BINARY pad)) FROM big.{table}"
                )))
                .fetch_one(&my)
                .await
                .unwrap();
                String::from_utf8(r.get::<Vec<u8>, _>(0)).unwrap()
            }
        },
    )
    .await;
}
