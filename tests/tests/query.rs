//! `athena-fed query`: SQL through DataFusion and the federation protocol, compared with the
//! databases' own answers to the same SQL.

use std::process::{Command, Output};

use integration_tests::*;
use sqlx::{AssertSqlSafe, Executor, Row};

/// This test process's `ATHENA_FED_HOME` (where the demo database is created).
fn home() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("athena-fed-home-{}", std::process::id()))
}

/// The demo database `athena-fed query` created, read-only, to cross-check its answers.
async fn demo_db() -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(home().join("demo.db"))
            .read_only(true),
    )
    .await
    .unwrap()
}

fn query(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(workspace_binary("athena-fed"));
    cmd.arg("query").args(args).env("ATHENA_FED_HOME", home());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("athena-fed runs")
}

fn csv_rows(o: &Output) -> Vec<String> {
    assert!(
        o.status.success(),
        "athena-fed failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

fn pg_catalog() -> String {
    format!("pg={}", postgres_connection())
}

#[tokio::test]
async fn sql_over_postgres_matches_postgres() {
    let pg = postgres().await;
    pg.execute(
        "DROP SCHEMA IF EXISTS qx CASCADE; CREATE SCHEMA qx;
         CREATE TABLE qx.sales (id int PRIMARY KEY, region text, amount numeric(10,2), sold date);
         INSERT INTO qx.sales SELECT g, (ARRAY['north','south','east','west'])[g % 4 + 1], (g * 37 % 1000) / 10.0, date '2024-01-01' + g % 300 FROM generate_series(1, 5000) g;
         CREATE TABLE qx.regions (name text, manager text); INSERT INTO qx.regions VALUES ('north','Ada'),('south','Grace'),('east','Linus');",
    )
    .await
    .unwrap();
    let cat = pg_catalog();
    let cases = [
        (
            "SELECT id, region, amount FROM pg.qx.sales WHERE amount > 50.5 AND region = 'north' AND sold < DATE '2024-03-01' ORDER BY id",
            "SELECT id || ',' || region || ',' || amount FROM qx.sales WHERE amount > 50.5 AND region = 'north' AND sold < DATE '2024-03-01' ORDER BY id",
        ),
        (
            "SELECT region, count(*) AS n, sum(amount) AS total FROM pg.qx.sales GROUP BY region ORDER BY region",
            "SELECT region || ',' || count(*) || ',' || sum(amount) FROM qx.sales GROUP BY region ORDER BY region",
        ),
        (
            "SELECT id, amount FROM pg.qx.sales ORDER BY amount DESC, id LIMIT 5",
            "SELECT id || ',' || amount FROM qx.sales ORDER BY amount DESC, id LIMIT 5",
        ),
        (
            "SELECT r.manager, count(*) AS n FROM pg.qx.sales s JOIN pg.qx.regions r ON r.name = s.region WHERE s.id % 7 = 0 GROUP BY r.manager ORDER BY r.manager",
            "SELECT r.manager || ',' || count(*) FROM qx.sales s JOIN qx.regions r ON r.name = s.region WHERE s.id % 7 = 0 GROUP BY r.manager ORDER BY r.manager",
        ),
    ];
    for (ours, theirs) in cases {
        let got = csv_rows(&query(&["--catalog", &cat, "--format", "csv", ours], &[]));
        let want: Vec<String> = sqlx::query_scalar(AssertSqlSafe(theirs))
            .fetch_all(&pg)
            .await
            .unwrap();
        assert_eq!(got, want, "{ours}");
    }
    // The plan shows what was pushed: the filter, and top-N.
    let explain = query(
        &[
            "--catalog",
            &cat,
            "--explain",
            "SELECT id FROM pg.qx.sales WHERE region = 'east' ORDER BY amount DESC LIMIT 3",
        ],
        &[],
    );
    let text = String::from_utf8(explain.stdout).unwrap();
    assert!(
        text.contains("pushed=[region = 'east']")
            && text.contains("order_by=[amount DESC_NULLS_FIRST]")
            && text.contains("limit=3"),
        "{text}"
    );
    assert!(text.contains("COPY (SELECT \"id\", \"amount\" FROM \"qx\".\"sales\" WHERE (\"region\" = (SELECT current_setting('athena.p1')::text)) ORDER BY \"amount\" DESC NULLS FIRST LIMIT 3)"), "{text}");
}

#[tokio::test]
async fn sql_over_mariadb_matches_mariadb() {
    let my = mysql().await;
    my.execute("DROP DATABASE IF EXISTS qm; CREATE DATABASE qm; CREATE TABLE qm.t (id INT PRIMARY KEY, name VARCHAR(20), qty INT UNSIGNED, price DECIMAL(8,2));
                INSERT INTO qm.t SELECT seq, CONCAT('item', seq % 17), seq * 3 % 1000, seq / 7 FROM seq_1_to_3000;")
        .await
        .unwrap();
    let cat = format!("my={}", mysql_connection("qm"));
    let got = csv_rows(&query(&["--catalog", &cat, "--format", "csv", "SELECT name, sum(qty) AS q, max(price) AS p FROM my.qm.t WHERE qty >= 500 AND name IN ('item1', 'item5') GROUP BY name ORDER BY name"], &[]));
    let want: Vec<String> = sqlx::query("SELECT CONCAT(name, ',', SUM(qty), ',', MAX(price)) FROM qm.t WHERE qty >= 500 AND BINARY name IN ('item1', 'item5') GROUP BY name ORDER BY name")
        .fetch_all(&my)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    assert_eq!(got, want);
}

/// Athena (Trino) SQL as users paste it, over a federated table, against SQLite's answer
/// to the same question in its own SQL.
#[tokio::test]
async fn athena_functions_over_the_demo_database_answer_like_sqlite() {
    let got = csv_rows(&query(
        &[
            "--format",
            "csv",
            "select date_format(ordered_at, '%Y-%m') as m, count(*) as n, \
             sum(date_diff('day', ordered_at, timestamp '2030-01-01 00:00:00')) as d, \
             max(element_at(split(status, 'p'), 1)) as s, \
             date_format(date_add('month', 1, date_trunc('month', min(ordered_at))), '%Y-%m-%d %H:%i:%s') as nxt \
             from orders where regexp_like(status, '^sh') and try_cast(shipping_fee as varchar) is not null \
             group by 1 order by 1 limit 5",
        ],
        &[],
    ));
    let lite = demo_db().await;
    let want: Vec<String> = sqlx::query_scalar(
        "SELECT m || ',' || n || ',' || d || ',' || s || ',' || nxt FROM ( \
         SELECT strftime('%Y-%m', ordered_at) AS m, count(*) AS n, \
         sum(CAST(julianday('2030-01-01') - julianday(ordered_at) AS INTEGER)) AS d, \
         max(substr(status, 1, instr(status, 'p') - 1)) AS s, \
         strftime('%Y-%m-%d %H:%M:%S', min(ordered_at), 'start of month', '+1 month') AS nxt \
         FROM orders WHERE status GLOB 'sh*' AND shipping_fee IS NOT NULL GROUP BY m ORDER BY m LIMIT 5)",
    )
    .fetch_all(&lite)
    .await
    .unwrap();
    assert_eq!(want.len(), 5);
    assert_eq!(got, want);
}

#[tokio::test]
async fn the_demo_database_answers_like_sqlite() {
    let out = query(
        &[
            "--format",
            "csv",
            "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status",
        ],
        &[],
    );
    let got = csv_rows(&out);
    let lite = demo_db().await;
    let want: Vec<String> = sqlx::query_scalar(
        "SELECT status || ',' || count(*) FROM orders GROUP BY status ORDER BY status",
    )
    .fetch_all(&lite)
    .await
    .unwrap();
    assert_eq!(got, want);
    assert_eq!(want.len(), 4);
    // JSON output, and unknown tables as a clean error.
    let json = query(
        &[
            "--format",
            "json",
            "SELECT id, name FROM customers WHERE id <= 2 ORDER BY id",
        ],
        &[],
    );
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["id"], 1);
    let bad = query(&["SELECT * FROM nosuch"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).starts_with("error: "),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[tokio::test]
async fn a_query_large_enough_to_spill_reads_the_blocks_back() {
    let pg = postgres().await;
    pg.execute("DROP SCHEMA IF EXISTS qbig CASCADE; CREATE SCHEMA qbig; CREATE TABLE qbig.t (id int8, s text); INSERT INTO qbig.t SELECT g, md5(g::text) || md5((g+1)::text) FROM generate_series(1, 150000) g;")
        .await
        .unwrap();
    create_bucket("query-spill").await;
    let cat = pg_catalog();
    let env = [
        ("spill_bucket", "query-spill"),
        ("spill_prefix", "athena-fed-test"),
        ("AWS_ENDPOINT_URL", moto_url()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", REGION),
    ];
    let got = csv_rows(&query(
        &[
            "--catalog",
            &cat,
            "--format",
            "csv",
            "SELECT count(*) AS n, sum(id) AS total, count(DISTINCT s) AS d FROM pg.qbig.t",
        ],
        &env,
    ));
    let want: String = sqlx::query_scalar(
        "SELECT count(*) || ',' || sum(id) || ',' || count(DISTINCT s) FROM qbig.t",
    )
    .fetch_one(&pg)
    .await
    .unwrap();
    assert_eq!(got, vec![want]);
    let listed = s3()
        .await
        .list_objects_v2()
        .bucket("query-spill")
        .prefix("athena-fed-test/")
        .send()
        .await
        .unwrap();
    assert!(
        listed.key_count().unwrap_or(0) >= 1,
        "the read spilled to S3"
    );
}

#[tokio::test]
async fn connector_errors_name_the_request_and_the_table() {
    let cat = pg_catalog();
    let pg = postgres().await;
    pg.execute(
        "DROP SCHEMA IF EXISTS qerr CASCADE; CREATE SCHEMA qerr; CREATE TABLE qerr.t (x numeric);
                INSERT INTO qerr.t VALUES (1e40);",
    )
    .await
    .unwrap();
    let out = query(&["--catalog", &cat, "SELECT * FROM pg.qerr.t"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ")
            && err.contains("ReadRecordsRequest on pg.qerr.t")
            && err.contains("value does not fit decimal(38,0)"),
        "{err}"
    );
}

/// Credentials in the URL's user-info (`app:pw@host`, as Connector/J accepts them) are used
/// as credentials, and the password appears in no message.
#[tokio::test]
async fn user_info_credentials_log_in_and_never_show() {
    let rest = mysql_server();
    let good = format!("my=mysql://jdbc:mysql://athena:athena@{rest}/athena_test");
    let got = csv_rows(&query(
        &["--catalog", &good, "--format", "csv", "SELECT 1 AS one"],
        &[],
    ));
    assert_eq!(got, ["1"]);
    let ok = query(
        &[
            "--catalog",
            &good,
            "SELECT count(*) FROM my.information_schema.nosuch",
        ],
        &[],
    );
    assert!(!String::from_utf8_lossy(&ok.stderr).contains("athena@"));
    for url in [
        format!("my=mysql://jdbc:mysql://app:s3cretPw@{rest}/x"),
        "my=mysql://jdbc:mysql://app:s3cretPw@127.0.0.1:1/x".to_owned(),
    ] {
        let out = query(&["--catalog", &url, "SELECT 1 FROM my.x.t"], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(!err.contains("s3cretPw"), "{err}");
        assert!(
            err.contains("user \"app\"") || err.contains("cannot connect to 127.0.0.1:1/x"),
            "{err}"
        );
    }
}
