//! Provisioning under re-subscription, races, logging servers, drifted databases and hostile
//! Glue locations (issue 11, items 1–5). Glue, Secrets Manager and DynamoDB from moto (with
//! Secrets Manager's documented answer where moto differs), grants on the real PostgreSQL
//! and MariaDB.

use std::sync::{Arc, Mutex};

use athena_provisioning::context::Context;
use athena_provisioning::steps::{self, Checkpoints, GrantResult, StepError};
use athena_provisioning::subscription::SubscriptionDetails;
use athena_provisioning::tracking::Tracking;
use integration_tests::provisioning::*;
use integration_tests::*;
use sqlx::{Connection, Executor};

async fn secret_value(c: &Context, id: &str) -> serde_json::Value {
    let v = c
        .secrets()
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .unwrap();
    serde_json::from_str(v.secret_string().unwrap()).unwrap()
}

async fn pending_deletion(c: &Context, id: &str) -> bool {
    c.secrets()
        .describe_secret()
        .secret_id(id)
        .send()
        .await
        .unwrap()
        .deleted_date()
        .is_some()
}

async fn recorded_assets(c: &Context, env: &str) -> Option<Vec<String>> {
    let tracking = Tracking {
        db: c.dynamodb(),
        settings: &c.settings,
    };
    let record = tracking.user(&pg_server(), env).await.unwrap()?;
    let mut assets: Vec<String> = record.grants.into_keys().collect();
    assets.sort();
    Some(assets)
}

#[tokio::test]
async fn subscribing_again_after_the_last_revoke_restores_both_secrets_with_a_fresh_password() {
    let pg = pg_setup("prov18", &["t"]).await;
    pg_forget(&pg, "env18").await;
    glue_table(
        "pgconn18",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "t18",
        "athena_test.prov18.t",
    )
    .await;
    let c = ctx_with_aws_secret_rules().await;
    let d = details("env18", "asset-t18", "t18");
    let first = steps::grant(&c, &d).await.unwrap();
    let old_password = secret_value(&c, &first.consumer.secret_arn).await["password"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = steps::revoke(&c, &d).await.unwrap();
    assert!(r.producer.user_dropped && r.consumer.secret_deleted);
    // What AWS answers (and the layer over moto reproduces): the name is taken for the
    // whole recovery window.
    let refused = c
        .secrets()
        .create_secret()
        .name(&first.producer.secret_name)
        .secret_string("{}")
        .send()
        .await
        .unwrap_err();
    assert!(
        refused
            .as_service_error()
            .is_some_and(|e| e.is_invalid_request_exception()),
        "{refused:?}"
    );
    let again = steps::grant(&c, &d).await.unwrap();
    assert_eq!(
        (&again.producer.secret_arn, &again.consumer.secret_arn),
        (&first.producer.secret_arn, &first.consumer.secret_arn),
        "both secrets are restored and reused"
    );
    assert!(!pending_deletion(&c, &again.producer.secret_arn).await);
    assert!(!pending_deletion(&c, &again.consumer.secret_arn).await);
    let copy = secret_value(&c, &again.consumer.secret_arn).await;
    assert_eq!(copy, secret_value(&c, &again.producer.secret_arn).await);
    assert_ne!(
        copy["password"].as_str().unwrap(),
        old_password,
        "a fresh password"
    );
    let mut conn = login(&pg, &again.consumer.secret_arn).await.unwrap();
    assert_eq!(count(&mut conn, "prov18.t").await, Ok(2));
}

const GRANT_POINTS: [&str; 6] = ["record", "secret", "user", "grant", "asset", "copy"];
const REVOKE_POINTS: [&str; 8] = [
    "revoke",
    "unrecorded",
    "schema_revoked",
    "marked",
    "dropped",
    "scheduled",
    "consumer_checked",
    "consumer_scheduled",
];

/// Environment `env` holds asset A (table a of `schema`) only; returns A's and B's
/// subscriptions.
async fn one_asset_granted(
    c: &Context,
    pg: &sqlx::PgPool,
    schema: &str,
    env: &str,
) -> (SubscriptionDetails, SubscriptionDetails) {
    pg_forget(pg, env).await;
    let (a, b) = (
        details(env, "asset-a", &format!("a_{schema}")),
        details(env, "asset-b", &format!("b_{schema}")),
    );
    steps::grant(c, &a).await.unwrap();
    (a, b)
}

/// After a revoke of A and a grant of B, in any order: B is granted and readable with the
/// consumer secret, A is not, and neither secret is pending deletion.
async fn only_b_is_granted(c: &Context, pg: &sqlx::PgPool, schema: &str, env: &str, at: &str) {
    assert_eq!(
        recorded_assets(c, env).await,
        Some(vec!["asset-b".to_owned()]),
        "{at}"
    );
    let producer = athena_provisioning::secrets::producer_secret_name(env, &pg_server());
    let consumer = athena_provisioning::secrets::consumer_secret_name(env, &pg_server());
    assert!(
        !pending_deletion(c, &producer).await,
        "{at}: producer secret"
    );
    assert!(
        !pending_deletion(c, &consumer).await,
        "{at}: consumer secret"
    );
    let mut conn = login(pg, &consumer)
        .await
        .unwrap_or_else(|e| panic!("{at}: the consumer secret logs in: {e}"));
    assert_eq!(
        count(&mut conn, &format!("{schema}.b")).await,
        Ok(2),
        "{at}"
    );
    let denied = count(&mut conn, &format!("{schema}.a")).await.unwrap_err();
    assert!(denied.contains("permission denied"), "{at}: {denied}");
}

/// Tables a and b in `schema` (each test its own: tests run in parallel), as Glue tables
/// a_<schema> and b_<schema>.
async fn race_setup(schema: &str) -> (Arc<Context>, sqlx::PgPool) {
    let pg = pg_setup(schema, &["a", "b"]).await;
    for (table, loc) in [
        (format!("a_{schema}"), format!("athena_test.{schema}.a")),
        (format!("b_{schema}"), format!("athena_test.{schema}.b")),
    ] {
        glue_table(
            &format!("pgconn{schema}"),
            &pg_jdbc(),
            "athena",
            "athena",
            PRODUCER_PROJECT,
            &table,
            &loc,
        )
        .await;
    }
    (Arc::new(ctx().await), pg)
}

#[tokio::test]
async fn a_grant_interleaved_with_the_last_revoke_at_every_step_boundary_is_kept() {
    const SCHEMA: &str = "prov13";
    let (c, pg) = race_setup(SCHEMA).await;
    // The whole revoke of A runs at each boundary of the grant of B...
    for (i, point) in GRANT_POINTS.into_iter().enumerate() {
        let env = format!("env13g{i}");
        let (a, b) = one_asset_granted(&c, &pg, SCHEMA, &env).await;
        let revoked = Arc::new(Mutex::new(None));
        let slot = revoked.clone();
        let revoke_a = {
            let c = c.clone();
            async move {
                let r = steps::revoke_with(&c, &a, &Checkpoints::none()).await;
                *slot.lock().unwrap() = Some(r.map(|r| r.producer.user_dropped));
            }
        };
        steps::grant_with(&c, &b, &Checkpoints::run_at(point, revoke_a))
            .await
            .unwrap_or_else(|e| panic!("grant with a revoke at {point}: {e}"));
        let revoked = revoked.lock().unwrap().take().expect("the revoke ran");
        assert_eq!(
            revoked.map_err(|e| e.to_string()),
            Ok(false),
            "revoke at grant's {point}: B was recorded first, so the user stays"
        );
        only_b_is_granted(&c, &pg, SCHEMA, &env, point).await;
    }
    // ...and the whole grant of B at each boundary of the revoke of A.
    for (i, point) in REVOKE_POINTS.into_iter().enumerate() {
        let env = format!("env13r{i}");
        let (a, b) = one_asset_granted(&c, &pg, SCHEMA, &env).await;
        let granted: Arc<Mutex<Option<Result<GrantResult, StepError>>>> =
            Arc::new(Mutex::new(None));
        let slot = granted.clone();
        let grant_b = {
            let (c, b) = (c.clone(), b.clone());
            async move {
                let g = steps::grant_with(&c, &b, &Checkpoints::none()).await;
                *slot.lock().unwrap() = Some(g);
            }
        };
        steps::revoke_with(&c, &a, &Checkpoints::run_at(point, grant_b))
            .await
            .unwrap_or_else(|e| panic!("revoke with a grant at {point}: {e}"));
        let granted = granted.lock().unwrap().take().expect("the grant ran");
        match granted {
            Ok(_) => {}
            // The revoke was dropping the user: the grant waits for it (Step Functions
            // retries Busy), then succeeds.
            Err(StepError::Busy(_)) if ["marked", "dropped", "scheduled"].contains(&point) => {
                steps::grant(&c, &b).await.unwrap();
            }
            Err(e) => panic!("grant at revoke's {point}: {e}"),
        }
        only_b_is_granted(&c, &pg, SCHEMA, &env, point).await;
    }
}

/// The same race through the CLI: `provision revoke A` and `provision grant B` started
/// together, several times.
#[tokio::test]
async fn parallel_cli_grant_and_last_revoke_keep_the_grant() {
    const SCHEMA: &str = "prov17";
    let (c, pg) = race_setup(SCHEMA).await;
    let dir = std::env::temp_dir().join(format!("prov-race-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cli = |action: &str, d: &SubscriptionDetails, name: &str| {
        let file = dir.join(name);
        std::fs::write(&file, serde_json::to_vec(d).unwrap()).unwrap();
        tokio::process::Command::new(workspace_binary("provision"))
            .args([action, file.to_str().unwrap()])
            .envs(cli_env())
            .output()
    };
    for round in 0..4 {
        let env = format!("env13p{round}");
        let (a, b) = one_asset_granted(&c, &pg, SCHEMA, &env).await;
        let (revoke, grant) = tokio::join!(cli("revoke", &a, "a.json"), cli("grant", &b, "b.json"));
        for (what, out) in [("revoke", revoke.unwrap()), ("grant", grant.unwrap())] {
            assert!(
                out.status.success(),
                "round {round}: {what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        only_b_is_granted(&c, &pg, SCHEMA, &env, &format!("CLI round {round}")).await;
    }
}

/// The PostgreSQL server log since `offset` (read by the server: the test may not own it).
async fn pg_log_since(pg: &sqlx::PgPool, offset: i64) -> String {
    let path = pg_log_path(pg).await;
    sqlx::query_scalar("SELECT pg_read_file($1, $2, (pg_stat_file($1)).size - $2)")
        .bind(&path)
        .bind(offset)
        .fetch_one(pg)
        .await
        .unwrap_or_else(|e| panic!("reading the server log {path}: {e}"))
}

/// Where `pg_ctlcluster` (scripts/services.sh) sends the server log.
async fn pg_log_path(pg: &sqlx::PgPool) -> String {
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(pg)
        .await
        .unwrap();
    let major = version.split('.').next().unwrap();
    format!("/var/log/postgresql/postgresql-{major}-main.log")
}

#[tokio::test]
async fn no_generated_password_reaches_the_server_logs() {
    // PostgreSQL: an admin whose every statement is logged.
    let pg = pg_setup("prov14", &["t"]).await;
    pg_forget(&pg, "env14").await;
    pg.execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'prov14_admin') THEN CREATE ROLE prov14_admin LOGIN SUPERUSER PASSWORD 'prov14-admin'; END IF; END $$;
         ALTER ROLE prov14_admin SET log_statement = 'all'",
    )
    .await
    .unwrap();
    glue_table(
        "pgconn14",
        &pg_jdbc(),
        "prov14_admin",
        "prov14-admin",
        PRODUCER_PROJECT,
        "t14",
        "athena_test.prov14.t",
    )
    .await;
    let c = ctx().await;
    let d = details("env14", "asset-t14", "t14");
    let path = pg_log_path(&pg).await;
    let offset: i64 = sqlx::query_scalar("SELECT (pg_stat_file($1)).size")
        .bind(&path)
        .fetch_one(&pg)
        .await
        .unwrap();
    let g = steps::grant(&c, &d).await.unwrap();
    let first = secret_value(&c, &g.consumer.secret_arn).await;
    steps::rotate(&c, &d).await.unwrap();
    let second = secret_value(&c, &g.consumer.secret_arn).await;
    let log = pg_log_since(&pg, offset).await;
    assert!(
        log.contains("CREATE ROLE \"dz_env14\" LOGIN PASSWORD 'SCRAM-SHA-256$4096:"),
        "the statements were logged, with a verifier: {log}"
    );
    assert!(log.contains("ALTER ROLE \"dz_env14\" WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:"));
    for v in [&first, &second] {
        let password = v["password"].as_str().unwrap();
        assert!(
            !log.contains(password),
            "a generated password is in the log"
        );
    }
    // The verifier is right: the (rotated) password logs in.
    let mut conn = login(&pg, &g.consumer.secret_arn).await.unwrap();
    assert_eq!(count(&mut conn, "prov14.t").await, Ok(2));
    drop(conn);
    steps::revoke(&c, &d).await.unwrap();

    // MariaDB: the general log, as a table.
    let my = mysql().await;
    my.execute("DROP DATABASE IF EXISTS prov14; CREATE DATABASE prov14; CREATE TABLE prov14.t (id INT); INSERT INTO prov14.t VALUES (1); DROP USER IF EXISTS 'dz_env14m'@'%'")
        .await
        .unwrap();
    forget_mysql_record(&c, "env14m").await;
    let hostport = mysql_server();
    glue_table(
        "myconn14",
        &format!("jdbc:mysql://{hostport}/prov14"),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "t14m",
        "prov14.t",
    )
    .await;
    let d = details("env14m", "asset-t14m", "t14m");
    my.execute("SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 'ON'")
        .await
        .unwrap();
    let granted = steps::grant(&c, &d).await;
    let rotated = steps::rotate(&c, &d).await;
    my.execute("SET GLOBAL general_log = 'OFF'").await.unwrap();
    let g = granted.unwrap();
    rotated.unwrap();
    let logged: Vec<String> = sqlx::query_scalar(
        "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log WHERE argument LIKE '%dz_env14m%'",
    )
    .fetch_all(&my)
    .await
    .unwrap();
    let log = logged.join("\n");
    assert!(
        log.contains("CREATE USER IF NOT EXISTS 'dz_env14m'@'%' IDENTIFIED BY PASSWORD '*")
            && log.contains("ALTER USER 'dz_env14m'@'%' IDENTIFIED BY PASSWORD '*"),
        "the statements were logged, with the hash: {log}"
    );
    let v = secret_value(&c, &g.consumer.secret_arn).await;
    let password = v["password"].as_str().unwrap();
    assert!(
        !log.contains(password),
        "the password is in the general log"
    );
    let url = format!(
        "mysql://dz_env14m:{}@{hostport}/prov14",
        urlencode(password)
    );
    let mut conn = sqlx::MySqlConnection::connect(&url)
        .await
        .expect("the hashed password logs in");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM prov14.t")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 1);
    drop(conn);
    my.execute("TRUNCATE TABLE mysql.general_log")
        .await
        .unwrap();
    steps::revoke(&c, &d).await.unwrap();
}

async fn forget_mysql_record(c: &Context, env: &str) {
    let _ = c
        .dynamodb()
        .delete_item()
        .table_name("prov_users")
        .key(
            "server",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("mysql://{}", mysql_server())),
        )
        .key(
            "environment_id",
            aws_sdk_dynamodb::types::AttributeValue::S(env.into()),
        )
        .send()
        .await;
}

#[tokio::test]
async fn revoking_what_the_database_no_longer_has_converges() {
    // MariaDB: the grant was revoked by hand, then the table dropped.
    let my = mysql().await;
    my.execute("DROP DATABASE IF EXISTS prov15; CREATE DATABASE prov15; CREATE TABLE prov15.t (id INT); DROP USER IF EXISTS 'dz_env15'@'%'")
        .await
        .unwrap();
    let c = ctx().await;
    forget_mysql_record(&c, "env15").await;
    glue_table(
        "myconn15",
        &format!("jdbc:mysql://{}/prov15", mysql_server()),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "t15",
        "prov15.t",
    )
    .await;
    let d = details("env15", "asset-t15", "t15");
    steps::grant(&c, &d).await.unwrap();
    my.execute("REVOKE SELECT ON prov15.t FROM 'dz_env15'@'%'; DROP TABLE prov15.t")
        .await
        .unwrap();
    let r = steps::revoke(&c, &d).await.unwrap();
    assert!(r.producer.user_dropped && r.consumer.secret_deleted);
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mysql.user WHERE User = 'dz_env15'")
        .fetch_one(&my)
        .await
        .unwrap();
    assert_eq!(users, 0);

    // PostgreSQL: the schema was dropped, and the user too.
    let pg = pg_setup("prov15", &["t"]).await;
    pg_forget(&pg, "env15").await;
    glue_table(
        "pgconn15",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "t15p",
        "athena_test.prov15.t",
    )
    .await;
    let d = details("env15", "asset-t15p", "t15p");
    steps::grant(&c, &d).await.unwrap();
    // Other tests change the database's ACL at the same time: PostgreSQL may answer "tuple
    // concurrently updated", and the documented remedy is to run it again.
    for attempt in 1.. {
        match pg
            .execute("DROP SCHEMA prov15 CASCADE; DROP OWNED BY dz_env15; DROP ROLE dz_env15")
            .await
        {
            Ok(_) => break,
            Err(e) if attempt < 10 && e.to_string().contains("tuple concurrently updated") => {
                tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await
            }
            Err(e) => panic!("drifting the database: {e}"),
        }
    }
    let r = steps::revoke(&c, &d).await.unwrap();
    assert!(r.producer.user_dropped && r.consumer.secret_deleted);
    assert_eq!(
        recorded_assets(&c, "env15").await,
        None,
        "the record is gone"
    );
    let again = steps::revoke(&c, &d).await.unwrap();
    assert_eq!(
        again.producer.skipped_reason.as_deref(),
        Some("nothing was granted")
    );
}

#[tokio::test]
async fn system_catalogs_and_schemas_outside_the_connection_are_refused() {
    let pg = pg_setup("prov16", &["t"]).await;
    pg_forget(&pg, "env16").await;
    let c = ctx().await;
    for (table, location) in [
        ("authid16", "athena_test.pg_catalog.pg_authid"),
        ("info16", "athena_test.information_schema.tables"),
    ] {
        glue_table(
            "pgconn16",
            &pg_jdbc(),
            "athena",
            "athena",
            PRODUCER_PROJECT,
            table,
            location,
        )
        .await;
        let err = steps::grant(&c, &details("env16", table, table))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StepError::Forbidden(m) if m.contains("system catalog")),
            "{location}: {err}"
        );
    }
    glue_table(
        "myconn16",
        &format!("jdbc:mysql://{}/mysql", mysql_server()),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "user16",
        "mysql.user",
    )
    .await;
    let err = steps::grant(&c, &details("env16", "user16", "user16"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "refused: table gdb.user16: \"mysql.mysql.user\" is in a system catalog (mysql): system tables are never granted"
    );
    // A connection limited to other schemas refuses this one; listing it grants it.
    for (i, (allowed, ok)) in [("sales, marketing", false), ("sales,prov16", true)]
        .into_iter()
        .enumerate()
    {
        // The admin secret and a first connection; then (moto has no UpdateConnection) a
        // connection like it with AthenaProperties, and the table on that one.
        let base = format!("pgconn16b{i}");
        glue_table(
            &base,
            &pg_jdbc(),
            "athena",
            "athena",
            PRODUCER_PROJECT,
            "t16",
            "athena_test.prov16.t",
        )
        .await;
        let glue = aws_sdk_glue::Client::new(&aws().await);
        let props = glue
            .get_connection()
            .name(&base)
            .send()
            .await
            .unwrap()
            .connection()
            .unwrap()
            .connection_properties()
            .cloned();
        let limited = format!("pgconn16l{i}");
        glue.create_connection()
            .connection_input(
                aws_sdk_glue::types::ConnectionInput::builder()
                    .name(&limited)
                    .connection_type(aws_sdk_glue::types::ConnectionType::Jdbc)
                    .set_connection_properties(props)
                    .athena_properties("allowed_schemas", allowed)
                    .build()
                    .unwrap(),
            )
            .tags("AmazonDataZoneProject", PRODUCER_PROJECT)
            .send()
            .await
            .unwrap();
        glue.delete_table()
            .database_name("gdb")
            .name("t16")
            .send()
            .await
            .unwrap();
        glue.create_table()
            .database_name("gdb")
            .table_input(
                aws_sdk_glue::types::TableInput::builder()
                    .name("t16")
                    .parameters("connectionName", &limited)
                    .storage_descriptor(
                        aws_sdk_glue::types::StorageDescriptor::builder()
                            .location("athena_test.prov16.t")
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let result = steps::grant(&c, &details("env16", "asset-t16", "t16")).await;
        if ok {
            result.unwrap();
        } else {
            let err = result.unwrap_err();
            assert_eq!(
                err.to_string(),
                "refused: table gdb.t16: \"athena_test.prov16.t\" is outside the schemas the Glue connection allows (sales, marketing; AthenaProperties.allowed_schemas)"
            );
            assert_eq!(
                recorded_assets(&c, "env16").await,
                None,
                "nothing was changed"
            );
        }
    }
    steps::revoke(&c, &details("env16", "asset-t16", "t16"))
        .await
        .unwrap();
}
