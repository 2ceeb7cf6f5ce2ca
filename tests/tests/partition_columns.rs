//! `partition_columns=true`: the official connectors' partition columns (`partition_name`,
//! and `partition_schema_name` on PostgreSQL), with the split's values in every row and
//! predicates on them pruning partitions; without the switch, tables have only their own
//! columns.

use arrow::datatypes::DataType;
use athena_connector::protocol::{Constraints, Range, Scalar, ValueSet};
use integration_tests::check::column_text;
use integration_tests::*;
use sqlx::{AssertSqlSafe, Executor};

/// `column = value` on a text column.
fn equals(column: &str, value: &str) -> Constraints {
    let mut c = Constraints::default();
    c.summary.insert(
        column.into(),
        ValueSet::ranges(
            &DataType::Utf8,
            vec![Range::equal(Scalar::Utf8(value.into()))],
            false,
        ),
    );
    c
}

/// Rows as (id, partition values…), sorted by id.
fn rows(batch: &arrow::array::RecordBatch, columns: &[&str]) -> Vec<Vec<Option<String>>> {
    let ids = column_text(batch, "id");
    let cols: Vec<_> = columns.iter().map(|c| column_text(batch, c)).collect();
    let mut out: Vec<Vec<Option<String>>> = (0..ids.len())
        .map(|i| {
            std::iter::once(ids[i].clone())
                .chain(cols.iter().map(|c| c[i].clone()))
                .collect()
        })
        .collect();
    out.sort_by_key(|r| r[0].as_ref().map(|id| id.parse::<i64>().unwrap()));
    out
}

fn row(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|v| Some((*v).to_owned())).collect()
}

#[tokio::test]
async fn postgres_tables_carry_partition_schema_and_name_and_prune_on_them() {
    let pg = postgres().await;
    pg.execute(
        "DROP SCHEMA IF EXISTS pcols CASCADE; CREATE SCHEMA pcols;
         CREATE TABLE pcols.events (id int, region text) PARTITION BY LIST (region);
         CREATE TABLE pcols.events_eu PARTITION OF pcols.events FOR VALUES IN ('eu');
         CREATE TABLE pcols.events_us PARTITION OF pcols.events FOR VALUES IN ('us');
         INSERT INTO pcols.events VALUES (1, 'eu'), (2, 'us'), (3, 'us');
         CREATE TABLE pcols.plain (id int); INSERT INTO pcols.plain VALUES (7);",
    )
    .await
    .unwrap();
    let on = client(
        connector(&[
            ("default", &postgres_connection()),
            ("partition_columns", "true"),
        ])
        .await,
        "pg",
    )
    .await;
    let cols = ["partition_schema_name", "partition_name"];
    let all = read(
        &on,
        "pcols",
        "events",
        &["id", cols[0], cols[1]],
        &Constraints::default(),
    )
    .await
    .unwrap();
    assert_eq!(all.table.partition_columns, cols);
    let names: Vec<&str> = all
        .table
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(
        names,
        ["id", "region", cols[0], cols[1]],
        "appended, as upstream"
    );
    assert_eq!(all.splits, 2);
    assert_eq!(
        rows(&all.batch, &cols),
        [
            row(&["1", "pcols", "events_eu"]),
            row(&["2", "pcols", "events_us"]),
            row(&["3", "pcols", "events_us"]),
        ]
    );
    // A predicate on partition_name prunes the other partition; the database never sees it.
    let us = read(
        &on,
        "pcols",
        "events",
        &["id", cols[1]],
        &equals(cols[1], "events_us"),
    )
    .await
    .unwrap();
    assert_eq!(us.splits, 1);
    assert_eq!(
        rows(&us.batch, &cols[1..]),
        [row(&["2", "events_us"]), row(&["3", "events_us"])]
    );
    let none = read(
        &on,
        "pcols",
        "events",
        &["id"],
        &equals(cols[0], "elsewhere"),
    )
    .await
    .unwrap();
    assert_eq!((none.splits, none.batch.num_rows()), (0, 0));
    // An unpartitioned table is partition `*` / `*`; the partition columns alone read too.
    let plain = read(
        &on,
        "pcols",
        "plain",
        &["id", cols[0], cols[1]],
        &Constraints::default(),
    )
    .await
    .unwrap();
    assert_eq!(rows(&plain.batch, &cols), [row(&["7", "*", "*"])]);
    let only = read(&on, "pcols", "plain", &[cols[1]], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(column_text(&only.batch, cols[1]), [Some("*".to_owned())]);
    // Off (the default): the table's own columns only.
    let off = client(
        connector(&[("default", &postgres_connection())]).await,
        "pg",
    )
    .await;
    let t = read(&off, "pcols", "events", &["id"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(t.table.schema.fields().len(), 2);
    assert!(t.table.partition_columns.is_empty());
}

#[tokio::test]
async fn mysql_tables_carry_partition_name() {
    let my = mysql().await;
    my.execute("DROP DATABASE IF EXISTS pcols").await.unwrap();
    my.execute("CREATE DATABASE pcols").await.unwrap();
    my.execute(AssertSqlSafe(
        "CREATE TABLE pcols.events (id int, region varchar(2)) PARTITION BY LIST COLUMNS (region) \
           (PARTITION p_eu VALUES IN ('eu'), PARTITION p_us VALUES IN ('us')); \
         INSERT INTO pcols.events VALUES (1, 'eu'), (2, 'us'), (3, 'us')"
            .to_owned(),
    ))
    .await
    .unwrap();
    let on = client(
        connector(&[
            ("default", &mysql_connection("pcols")),
            ("partition_columns", "true"),
        ])
        .await,
        "my",
    )
    .await;
    let all = read(
        &on,
        "pcols",
        "events",
        &["id", "partition_name"],
        &Constraints::default(),
    )
    .await
    .unwrap();
    assert_eq!(all.table.partition_columns, ["partition_name"]);
    assert!(all
        .table
        .schema
        .field_with_name("partition_schema_name")
        .is_err());
    assert_eq!(
        rows(&all.batch, &["partition_name"]),
        [
            row(&["1", "p_eu"]),
            row(&["2", "p_us"]),
            row(&["3", "p_us"])
        ]
    );
    let eu = read(
        &on,
        "pcols",
        "events",
        &["id"],
        &equals("partition_name", "p_eu"),
    )
    .await
    .unwrap();
    assert_eq!(
        (eu.splits, column_text(&eu.batch, "id")),
        (1, vec![Some("1".to_owned())])
    );
}
