//! The embedded engine (SQLite), and `athena-fed invoke` / `athena-fed sql` as a user runs them.

use std::process::Command;

use arrow::datatypes::DataType;
use athena_connector::protocol::{Constraints, Range, Scalar, ValueSet};
use integration_tests::check::{column_text, ids};
use integration_tests::*;
use sqlx::Executor;

async fn sample_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("athena-fed-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.db"));
    let _ = std::fs::remove_file(&path);
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    pool.execute(
        "CREATE TABLE Orders (id INTEGER PRIMARY KEY, customer TEXT, amount DECIMAL(10,2), placed DATE, shipped_at DATETIME, paid BOOLEAN, ratio REAL, note);
         INSERT INTO Orders VALUES
          (1, 'Alice', 19.99, '2024-01-05', '2024-01-06 10:00:00', 1, 0.5, 'x'),
          (2, 'alice', 5, '1969-07-20', '1969-07-21T20:17:40.5', 0, NULL, 3),
          (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (4, 'Bob''s', -0.01, '2000-02-29', '2000-02-29 23:59:59.999', 1, -1e10, X'00');",
    )
    .await
    .unwrap();
    pool.close().await;
    path
}

#[tokio::test]
async fn sqlite_types_and_predicates() {
    let path = sample_db("types").await;
    let conn = format!("sqlite://{}", path.display());
    let c = client(connector(&[("default", conn.as_str())]).await, "local").await;
    assert_eq!(c.list_schemas().await.unwrap(), vec!["main"]);
    let r = read(
        &c,
        "main",
        "orders",
        &[
            "id",
            "customer",
            "amount",
            "placed",
            "shipped_at",
            "paid",
            "ratio",
            "note",
        ],
        &Constraints::default(),
    )
    .await
    .unwrap();
    let types: Vec<DataType> = r
        .table
        .schema
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        [
            DataType::Int64,
            DataType::Utf8,
            DataType::Decimal128(10, 2),
            DataType::Date32,
            DataType::Date64,
            DataType::Boolean,
            DataType::Float64,
            DataType::Utf8
        ]
    );
    assert_eq!(r.table.table_name.table_name, "Orders");
    let by_id = |col: &str| {
        let idv = column_text(&r.batch, "id");
        let vals = column_text(&r.batch, col);
        let mut pairs: Vec<(String, Option<String>)> =
            idv.into_iter().map(Option::unwrap).zip(vals).collect();
        pairs.sort();
        pairs.into_iter().map(|(_, v)| v).collect::<Vec<_>>()
    };
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(by_id("amount"), vec![s("1999"), s("500"), None, s("-1")]);
    assert_eq!(
        by_id("placed"),
        vec![s("19727"), s("-165"), None, s("11016")]
    );
    assert_eq!(
        by_id("shipped_at"),
        vec![
            s("1704535200000"),
            s("-14096539500"),
            None,
            s("951868799999")
        ]
    );
    assert_eq!(by_id("paid"), vec![s("true"), s("false"), None, s("true")]);
    assert_eq!(by_id("note"), vec![s("x"), s("3"), None, s("\0")]);
    let exact = Constraints {
        summary: [(
            "customer".to_owned(),
            ValueSet::ranges(
                &DataType::Utf8,
                vec![Range::equal(Scalar::Utf8("alice".into()))],
                false,
            ),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    assert_eq!(
        ids(
            &read(&c, "main", "orders", &["id"], &exact)
                .await
                .unwrap()
                .batch,
            "id"
        ),
        vec![2],
        "case-sensitive"
    );
    let before = Constraints {
        summary: [(
            "shipped_at".to_owned(),
            ValueSet::ranges(
                &DataType::Date64,
                vec![Range::between(
                    &DataType::Date64,
                    None,
                    Some((Scalar::Date64(951868799999), true)),
                )],
                false,
            ),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    assert_eq!(
        ids(
            &read(&c, "main", "orders", &["id"], &before)
                .await
                .unwrap()
                .batch,
            "id"
        ),
        vec![2, 4],
        "timestamps compare in canonical form"
    );
}

fn athena_fed() -> Command {
    // The binary of the connector package, built by `cargo test --workspace`.
    let exe = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/athena-fed");
    Command::new(exe)
}

#[tokio::test]
async fn invoke_and_sql_run_one_request_like_the_lambda() {
    let path = sample_db("cli").await;
    let conn = format!("sqlite://{}", path.display());
    let c = client(connector(&[("default", conn.as_str())]).await, "local").await;
    let t = c
        .get_table(
            &athena_connector::protocol::TableName::new("main", "orders"),
            Default::default(),
        )
        .await
        .unwrap();
    let constraints = Constraints {
        summary: [(
            "id".to_owned(),
            ValueSet::ranges(
                &DataType::Int64,
                vec![Range::between(
                    &DataType::Int64,
                    Some((Scalar::Int64(2), false)),
                    None,
                )],
                false,
            ),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let split = c.splits(&t, &constraints).await.unwrap().remove(0);
    let request = athena_connector::protocol::Request::ReadRecords(
        athena_connector::protocol::ReadRecordsRequest {
            header: athena_connector::protocol::RequestHeader {
                identity: c.identity.clone(),
                query_id: "q-1".into(),
                catalog_name: "local".into(),
            },
            table_name: t.table_name.clone(),
            schema: t.schema.clone(),
            split,
            constraints,
            max_block_size: 16_000_000,
            max_inline_block_size: 5_242_880,
        },
    );
    let file = path.with_extension("json");
    std::fs::write(
        &file,
        serde_json::to_vec(
            &request
                .to_json(athena_connector::protocol::SerDeVersion::V5)
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();

    let out = athena_fed()
        .args(["sql", file.to_str().unwrap()])
        .env("default", &conn)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "SELECT \"id\", \"customer\", \"amount\", date(\"placed\") AS \"placed\", strftime('%Y-%m-%d %H:%M:%f', \"shipped_at\") AS \"shipped_at\", \"paid\", \"ratio\", CAST(\"note\" AS TEXT) AS \"note\" FROM \"main\".\"Orders\" WHERE (\"id\" > ?1)\n-- $1: 2 (Int64)\n"
    );
    let out = athena_fed()
        .args(["invoke", file.to_str().unwrap()])
        .env("default", &conn)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed = athena_connector::protocol::parse_response(&out.stdout).unwrap();
    let athena_connector::protocol::Response::ReadRecords(r) = parsed.message else {
        panic!("inline response expected")
    };
    assert_eq!(ids(&r.records.batch, "id"), vec![3, 4]);

    let out = athena_fed()
        .args(["invoke", "-"])
        .env("default", &conn)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: not valid JSON: EOF while parsing a value at line 1 column 0"
    );
    let out = athena_fed()
        .args(["invoke", file.to_str().unwrap()])
        .env("default", "sqlite:///nonexistent/x.db")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: ") && err.contains("ReadRecordsRequest on local.main.Orders: cannot connect to /nonexistent/x.db: no such SQLite database file"), "{err}");
}
