//! `provision map-assets` against moto's Glue and the real PostgreSQL: mapped tables match
//! the database's catalog column by column, a rerun writes nothing, source changes are picked
//! up, hand edits are reported, gone tables are removed only when asked, and the grant step
//! grants a mapped table.

use athena_provisioning::map_assets::{map_assets, MapReport, MapRequest};
use athena_provisioning::steps;
use integration_tests::provisioning::*;
use integration_tests::*;
use sqlx::{Executor, Row};

fn request(prune: bool, overwrite: bool) -> MapRequest {
    MapRequest {
        connection: "mapconn".into(),
        producer_project: PRODUCER_PROJECT.into(),
        database: "gdb".into(),
        tables: vec!["mapsrc.*".into()],
        prune,
        overwrite,
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The Glue table `table` of database `gdb` as it is now.
async fn glue_table_now(table: &str) -> aws_sdk_glue::types::Table {
    aws_sdk_glue::Client::new(&aws().await)
        .get_table()
        .database_name("gdb")
        .name(table)
        .send()
        .await
        .unwrap()
        .table()
        .unwrap()
        .clone()
}

async fn glue_columns(table: &str) -> (String, Vec<(String, String)>, Option<String>) {
    let t = glue_table_now(table).await;
    let sd = t.storage_descriptor().unwrap();
    (
        sd.location().unwrap().to_owned(),
        sd.columns()
            .iter()
            .map(|c| (c.name().to_owned(), c.r#type().unwrap().to_owned()))
            .collect(),
        t.parameters()
            .and_then(|p| p.get("connectionName"))
            .cloned(),
    )
}

#[tokio::test]
async fn tables_are_mapped_kept_in_step_with_the_source_and_granted() {
    let pg = postgres().await;
    pg.execute(
        r#"DROP SCHEMA IF EXISTS "MapSrc" CASCADE; CREATE SCHEMA "MapSrc";
           CREATE TABLE "MapSrc"."Orders" (id int PRIMARY KEY, "CustomerName" text, amount numeric(12,2),
             big bigint, small smallint, ratio real, score double precision, paid boolean,
             placed date, created timestamp, seen timestamptz, code char(3), payload bytea,
             tags text[], unbounded numeric, doc jsonb);
           INSERT INTO "MapSrc"."Orders" (id, "CustomerName") VALUES (1, 'a'), (2, 'b');
           CREATE TABLE "MapSrc".items (id bigint, note varchar(20));"#,
    )
    .await
    .unwrap();
    pg_forget(&pg, "envmap").await;
    // The connection and its admin secret, tagged for the producer project (the helper also
    // makes a Glue table of its own, which the mapper leaves alone).
    glue_table(
        "mapconn",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "handmade",
        "athena_test.public.handmade",
    )
    .await;
    let glue = aws_sdk_glue::Client::new(&aws().await);
    for t in ["mapsrc_orders", "mapsrc_items"] {
        let _ = glue
            .delete_table()
            .database_name("gdb")
            .name(t)
            .send()
            .await;
    }
    let c = ctx().await;

    let first = map_assets(&c, &request(false, false)).await.unwrap();
    assert_eq!(
        first,
        MapReport {
            created: names(&["mapsrc_items", "mapsrc_orders"]),
            ..Default::default()
        }
    );
    let (location, columns, connection) = glue_columns("mapsrc_orders").await;
    assert_eq!(location, "athena_test.MapSrc.Orders");
    assert_eq!(connection.as_deref(), Some("mapconn"));
    // Column by column against the database's own catalog, in its order.
    let catalog: Vec<String> = sqlx::query(
        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'MapSrc' AND table_name = 'Orders' ORDER BY ordinal_position",
    )
    .fetch_all(&pg)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>(0).to_lowercase())
    .collect();
    assert_eq!(
        columns.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        catalog
    );
    let types: Vec<&str> = columns.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "int",
            "string",
            "decimal(12,2)",
            "bigint",
            "smallint",
            "float",
            "double",
            "boolean",
            "date",
            "timestamp",
            "timestamp",
            "string",
            "binary",
            "array<string>",
            "decimal(38,0)",
            "string"
        ]
    );

    // Nothing changed: nothing written.
    let before = glue_table_now("mapsrc_orders").await;
    let again = map_assets(&c, &request(false, false)).await.unwrap();
    assert_eq!(
        again,
        MapReport {
            unchanged: names(&["mapsrc_items", "mapsrc_orders"]),
            ..Default::default()
        }
    );
    let after = glue_table_now("mapsrc_orders").await;
    assert_eq!(before.update_time(), after.update_time());
    assert_eq!(before.version_id(), after.version_id());

    // A new column is picked up.
    pg.execute(r#"ALTER TABLE "MapSrc"."Orders" ADD COLUMN "Region" varchar(10)"#)
        .await
        .unwrap();
    let changed = map_assets(&c, &request(false, false)).await.unwrap();
    assert_eq!(changed.updated, names(&["mapsrc_orders"]));
    assert_eq!(changed.unchanged, names(&["mapsrc_items"]));
    let (_, columns, _) = glue_columns("mapsrc_orders").await;
    assert_eq!(
        columns.last().unwrap(),
        &("region".to_owned(), "string".to_owned())
    );

    // A hand edit is reported, not overwritten, unless told to.
    let edited = glue_table_now("mapsrc_items").await;
    let mut input = aws_sdk_glue::types::TableInput::builder()
        .name(edited.name())
        .set_parameters(edited.parameters().cloned())
        .storage_descriptor(
            aws_sdk_glue::types::StorageDescriptor::builder()
                .location(edited.storage_descriptor().unwrap().location().unwrap())
                .columns(
                    aws_sdk_glue::types::Column::builder()
                        .name("id")
                        .r#type("string")
                        .comment("edited by hand")
                        .build()
                        .unwrap(),
                )
                .build(),
        );
    input = input.table_type("EXTERNAL_TABLE");
    glue.update_table()
        .database_name("gdb")
        .table_input(input.build().unwrap())
        .send()
        .await
        .unwrap();
    let kept = map_assets(&c, &request(false, false)).await.unwrap();
    assert_eq!(kept.edited, names(&["mapsrc_items"]));
    assert_eq!(
        glue_columns("mapsrc_items").await.1.len(),
        1,
        "left as edited"
    );
    let forced = map_assets(&c, &request(false, true)).await.unwrap();
    assert_eq!(forced.updated, names(&["mapsrc_items"]));
    assert_eq!(glue_columns("mapsrc_items").await.1.len(), 2);

    // The grant step grants a mapped table.
    let g = steps::grant(&c, &details("envmap", "asset-mapped", "mapsrc_orders"))
        .await
        .unwrap();
    let mut conn = login(&pg, &g.consumer.secret_arn).await.unwrap();
    assert_eq!(count(&mut conn, "\"MapSrc\".\"Orders\"").await, Ok(2));
    let denied = count(&mut conn, "\"MapSrc\".items").await.unwrap_err();
    assert!(denied.contains("permission denied"), "{denied}");
    steps::revoke(&c, &details("envmap", "asset-mapped", "mapsrc_orders"))
        .await
        .unwrap();

    // A dropped source table is reported, and removed only with prune.
    pg.execute(r#"DROP TABLE "MapSrc".items"#).await.unwrap();
    let stale = map_assets(&c, &request(false, false)).await.unwrap();
    assert_eq!(stale.stale, names(&["mapsrc_items"]));
    let pruned = map_assets(&c, &request(true, false)).await.unwrap();
    assert_eq!(pruned.deleted, names(&["mapsrc_items"]));
    assert!(glue
        .get_table()
        .database_name("gdb")
        .name("mapsrc_items")
        .send()
        .await
        .is_err());
    // The table the mapper did not make is untouched.
    assert!(glue
        .get_table()
        .database_name("gdb")
        .name("handmade")
        .send()
        .await
        .is_ok());
}

#[tokio::test]
async fn a_connection_of_another_project_is_refused() {
    glue_table(
        "mapconn_other",
        &pg_jdbc(),
        "athena",
        "athena",
        "someoneelse",
        "other_t",
        "athena_test.public.other_t",
    )
    .await;
    let c = ctx().await;
    let e = map_assets(
        &c,
        &MapRequest {
            connection: "mapconn_other".into(),
            ..request(false, false)
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        format!("refused: connection mapconn_other is not tagged AmazonDataZoneProject={PRODUCER_PROJECT}: it does not belong to the producer project")
    );
    let missing = map_assets(
        &c,
        &MapRequest {
            connection: "no_such_connection".into(),
            ..request(false, false)
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(
        missing,
        "glue:GetConnection no_such_connection: EntityNotFoundException: Connection no_such_connection not found"
    );
}

/// MariaDB: a database's tables, mixed-case names and the MySQL type-mapping table, against
/// the server's own catalog.
#[tokio::test]
async fn mariadb_tables_are_mapped_with_their_types() {
    let my = mysql().await;
    my.execute("DROP DATABASE IF EXISTS MapMy").await.unwrap();
    my.execute("CREATE DATABASE MapMy").await.unwrap();
    my.execute(
        "CREATE TABLE MapMy.Orders (id INT PRIMARY KEY, CustomerName VARCHAR(40), flag TINYINT(1), \
           tiny TINYINT, utiny TINYINT UNSIGNED, small SMALLINT, med MEDIUMINT, uint INT UNSIGNED, \
           big BIGINT, ubig BIGINT UNSIGNED, amount DECIMAL(12,2), wide DECIMAL(50,4), f FLOAT, d DOUBLE, \
           y YEAR, dt DATE, ts DATETIME(3), stamp TIMESTAMP NULL, body TEXT, bin VARBINARY(8), \
           bits BIT(4), t TIME, e ENUM('a','b'), j JSON)",
    )
    .await
    .unwrap();
    glue_table(
        "mapconn_my",
        &format!("jdbc:mysql://{}/athena_test", mysql_server()),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "handmade_my",
        "athena_test.handmade_my",
    )
    .await;
    let glue = aws_sdk_glue::Client::new(&aws().await);
    let _ = glue
        .delete_table()
        .database_name("gdb")
        .name("mapmy_orders")
        .send()
        .await;
    let c = ctx().await;
    let report = map_assets(
        &c,
        &MapRequest {
            connection: "mapconn_my".into(),
            tables: vec!["MapMy.*".into()],
            ..request(false, false)
        },
    )
    .await
    .unwrap();
    assert_eq!(report.created, names(&["mapmy_orders"]));
    let (location, columns, _) = glue_columns("mapmy_orders").await;
    assert_eq!(location, "MapMy.Orders");
    let catalog: Vec<String> = sqlx::query(
        "SELECT CAST(column_name AS CHAR) FROM information_schema.columns WHERE table_schema = 'MapMy' AND table_name = 'Orders' ORDER BY ordinal_position",
    )
    .fetch_all(&my)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>(0).to_lowercase())
    .collect();
    assert_eq!(
        columns.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        catalog
    );
    let types: Vec<&str> = columns.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "int",
            "string",
            "boolean",
            "tinyint",
            "smallint",
            "smallint",
            "int",
            "bigint",
            "bigint",
            "decimal(20,0)",
            "decimal(12,2)",
            "string",
            "float",
            "double",
            "date",
            "date",
            "timestamp",
            "timestamp",
            "string",
            "binary",
            "binary",
            "string",
            "string",
            "string"
        ]
    );
}

/// As a producer and a consumer would: `provision map-assets` maps a schema, `provision
/// grant` grants one mapped table, and `athena-fed query` reads it through the consumer
/// secret and is refused the other.
#[tokio::test]
async fn map_then_grant_then_query_through_the_clis() {
    let pg = postgres().await;
    pg.execute(
        r#"DROP SCHEMA IF EXISTS mape2e CASCADE; CREATE SCHEMA mape2e;
           CREATE TABLE mape2e."Sales" (id int, "Amount" numeric(10,2));
           INSERT INTO mape2e."Sales" VALUES (1, 2.50), (2, 4.00);
           CREATE TABLE mape2e.other (id int);"#,
    )
    .await
    .unwrap();
    pg_forget(&pg, "envmap2").await;
    glue_table(
        "mapconn2",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "handmade2",
        "athena_test.public.handmade2",
    )
    .await;
    ctx().await;
    let mapped = provision_cli(&[
        "map-assets",
        "--connection",
        "mapconn2",
        "--project",
        PRODUCER_PROJECT,
        "--database",
        "gdb",
        "--tables",
        "mape2e.*",
    ]);
    let created: Vec<&str> = mapped["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        created.contains(&"mape2e_sales") && created.contains(&"mape2e_other"),
        "{mapped}"
    );
    let file = std::env::temp_dir().join(format!("map-subscription-{}.json", std::process::id()));
    std::fs::write(
        &file,
        serde_json::to_vec(&details("envmap2", "asset-sales", "mape2e_sales")).unwrap(),
    )
    .unwrap();
    let granted = provision_cli(&["grant", file.to_str().unwrap()]);
    let consumer_secret = granted["Consumer"]["SecretName"].as_str().unwrap();
    let query = consumer_query_cli(&pg, "envmap2", consumer_secret).await;
    let ok = query("select count(*) as n, sum(amount) as total from sub.mape2e.sales");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8(ok.stdout).unwrap(), "n,total\n2,6.50\n");
    let denied = query("select count(*) as n from sub.mape2e.other");
    assert_eq!(denied.status.code(), Some(1));
    let err = String::from_utf8_lossy(&denied.stderr);
    assert!(err.contains("permission denied for table other"), "{err}");
}

/// The scheduled Lambda step: the input `sam/provisioning.yaml`'s rule sends (its `!Sub`
/// text, filled in as CloudFormation would) maps the tables through the Lambda's handler.
#[tokio::test]
async fn the_scheduled_rule_input_maps_through_the_lambda_handler() {
    let pg = postgres().await;
    pg.execute(
        "DROP SCHEMA IF EXISTS mapsched CASCADE; CREATE SCHEMA mapsched; \
         CREATE TABLE mapsched.a (id int); CREATE TABLE mapsched.xb (id int); CREATE TABLE mapsched.c (id int);",
    )
    .await
    .unwrap();
    glue_table(
        "mapconn3",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "handmade3",
        "athena_test.public.handmade3",
    )
    .await;
    let glue = aws_sdk_glue::Client::new(&aws().await);
    for t in ["mapsched_a", "mapsched_xb", "mapsched_c"] {
        let _ = glue
            .delete_table()
            .database_name("gdb")
            .name(t)
            .send()
            .await;
    }
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sam/provisioning.yaml"),
    )
    .unwrap();
    let sub = template
        .lines()
        .find(|l| l.contains(r#"{"Step": "MapAssets""#))
        .expect("the rule's input")
        .trim()
        .trim_start_matches("- ")
        .trim_matches('\'');
    // MapAssetsTables "mapsched.a mapsched.x*" split on spaces and joined, as the template does.
    let tables = ["mapsched.a", "mapsched.x*"].join("\", \"");
    let input = sub
        .replace("${MapAssetsConnection}", "mapconn3")
        .replace("${MapAssetsProject}", PRODUCER_PROJECT)
        .replace("${MapAssetsDatabase}", "gdb")
        .replace("${Tables}", &tables);
    assert!(
        !input.contains("${"),
        "a placeholder the test does not fill: {input}"
    );
    let event: serde_json::Value = serde_json::from_str(&input).unwrap();
    let c = ctx().await;
    let dz = athena_provisioning::datazone::InMemoryDataZone::default();
    let routing = athena_provisioning::governance::Routing {
        allowed_blueprints: vec![],
        producer_accounts: vec!["123456789012".into()],
        workflow_role_name: "athena-fed-governance-access".into(),
        state_machine_name: "athena-fed-subscription".into(),
    };
    let out = athena_provisioning::handler::handle(&c, &dz, &routing, event)
        .await
        .unwrap();
    assert_eq!(
        out["created"],
        serde_json::json!(["mapsched_a", "mapsched_xb"])
    );
}

/// Two selections mapped into one Glue database: pruning one never touches the other's
/// tables, even when their sources are gone too.
#[tokio::test]
async fn pruning_one_selection_leaves_another_selections_tables() {
    let pg = postgres().await;
    pg.execute(
        "DROP SCHEMA IF EXISTS mapsel_a CASCADE; DROP SCHEMA IF EXISTS mapsel_b CASCADE; \
         CREATE SCHEMA mapsel_a; CREATE SCHEMA mapsel_b; \
         CREATE TABLE mapsel_a.t (id int); CREATE TABLE mapsel_b.t (id int);",
    )
    .await
    .unwrap();
    glue_table(
        "mapconn4",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "handmade4",
        "athena_test.public.handmade4",
    )
    .await;
    let c = ctx().await;
    let selection = |schema: &str, prune: bool| MapRequest {
        connection: "mapconn4".into(),
        producer_project: PRODUCER_PROJECT.into(),
        database: "gdbsel".into(),
        tables: vec![format!("{schema}.*")],
        prune,
        overwrite: false,
    };
    let a = map_assets(&c, &selection("mapsel_a", false)).await.unwrap();
    assert_eq!(a.created, names(&["mapsel_a_t"]));
    let b = map_assets(&c, &selection("mapsel_b", false)).await.unwrap();
    assert_eq!(b.created, names(&["mapsel_b_t"]));
    // Both sources gone; pruning selection a deletes a's table only.
    pg.execute("DROP TABLE mapsel_a.t; DROP TABLE mapsel_b.t")
        .await
        .unwrap();
    let pruned = map_assets(&c, &selection("mapsel_a", true)).await.unwrap();
    assert_eq!(pruned.deleted, names(&["mapsel_a_t"]));
    assert!(pruned.stale.is_empty(), "{pruned:?}");
    let glue = aws_sdk_glue::Client::new(&aws().await);
    let left: Vec<String> = glue
        .get_tables()
        .database_name("gdbsel")
        .send()
        .await
        .unwrap()
        .table_list()
        .iter()
        .map(|t| t.name().to_owned())
        .collect();
    assert_eq!(left, ["mapsel_b_t"]);
    let b = map_assets(&c, &selection("mapsel_b", false)).await.unwrap();
    assert_eq!(b.stale, names(&["mapsel_b_t"]));
}
