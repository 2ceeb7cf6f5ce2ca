//! Provisioning end to end: Glue, Secrets Manager and DynamoDB from moto, grants on the real
//! PostgreSQL and MariaDB. DataZone is not involved here (the governance step's output, the
//! subscription details, is the input).

use std::sync::Arc;

use athena_provisioning::steps::{self, Checkpoints, StepError};
use integration_tests::provisioning::*;
use integration_tests::*;
use sqlx::{Connection, Executor};

#[tokio::test]
async fn grant_reads_only_the_table_then_revoke_removes_everything() {
    let pg = pg_setup("prov1", &["orders", "customers", "secret_stuff"]).await;
    pg_forget(&pg, "env1").await;
    glue_table(
        "pgconn1",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "orders1",
        "athena_test.prov1.orders",
    )
    .await;
    // A second Glue connection to the same server: the environment still has one user.
    glue_table(
        "pgconn1b",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "customers1",
        "athena_test.prov1.customers",
    )
    .await;
    let c = ctx().await;
    let orders = details("env1", "asset-orders", "orders1");
    let g = steps::grant(&c, &orders).await.unwrap();
    assert!(g.producer.provisioned && g.consumer.provisioned);
    assert_eq!(g.producer.user_name, "dz_env1");
    let mut conn = login(&pg, &g.consumer.secret_arn)
        .await
        .expect("the consumer secret's credentials log in");
    assert_eq!(count(&mut conn, "prov1.orders").await, Ok(2));
    let denied = count(&mut conn, "prov1.secret_stuff").await.unwrap_err();
    assert!(denied.contains("permission denied"), "{denied}");
    // The producer secret's policy names only the consumer role.
    let sm = c.secrets();
    let policy = sm
        .get_resource_policy()
        .secret_id(&g.producer.secret_arn)
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value =
        serde_json::from_str(policy.resource_policy().unwrap()).unwrap();
    let principals: Vec<&serde_json::Value> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["Principal"]["AWS"])
        .collect();
    assert_eq!(
        principals,
        vec![&serde_json::json!(
            "arn:aws:iam::123456789012:role/athena_fed_consumer_provisioning_role"
        )]
    );
    let described = sm
        .describe_secret()
        .secret_id(&g.consumer.secret_arn)
        .send()
        .await
        .unwrap();
    let tags: Vec<(String, String)> = described
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .collect();
    assert!(
        tags.contains(&("AmazonDataZoneEnvironment".into(), "env1".into())),
        "{tags:?}"
    );
    // A second asset on the same connection reuses the user and the secrets.
    let customers = details("env1", "asset-customers", "customers1");
    let g2 = steps::grant(&c, &customers).await.unwrap();
    assert_eq!(
        (
            g2.producer.secret_arn.as_str(),
            g2.consumer.secret_arn.as_str()
        ),
        (
            g.producer.secret_arn.as_str(),
            g.consumer.secret_arn.as_str()
        )
    );
    assert_eq!(g2.producer.assets, vec!["asset-customers", "asset-orders"]);
    assert_eq!(count(&mut conn, "prov1.customers").await, Ok(2));
    // Revoking one keeps the other readable.
    let r = steps::revoke(&c, &orders).await.unwrap();
    assert!(!r.producer.user_dropped);
    assert_eq!(r.producer.remaining_assets, vec!["asset-customers"]);
    assert!(count(&mut conn, "prov1.orders")
        .await
        .unwrap_err()
        .contains("permission denied"));
    assert_eq!(count(&mut conn, "prov1.customers").await, Ok(2));
    drop(conn);
    // Revoking again, or what was never granted, succeeds and changes nothing.
    let again = steps::revoke(&c, &orders).await.unwrap();
    assert!(
        !again.producer.user_dropped && again.producer.remaining_assets == vec!["asset-customers"]
    );
    // The last asset drops the user and schedules both secrets' deletion.
    let last = steps::revoke(&c, &customers).await.unwrap();
    assert!(last.producer.user_dropped && last.consumer.secret_deleted);
    assert!(last.producer.secret_deletion_date.is_some());
    let exists: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM pg_roles WHERE rolname = 'dz_env1'")
            .fetch_optional(&pg)
            .await
            .unwrap();
    assert_eq!(exists, None, "the user is dropped");
    assert!(sm
        .describe_secret()
        .secret_id(&g.producer.secret_arn)
        .send()
        .await
        .unwrap()
        .deleted_date()
        .is_some());
    assert!(sm
        .describe_secret()
        .secret_id(&g.consumer.secret_arn)
        .send()
        .await
        .unwrap()
        .deleted_date()
        .is_some());
    let none = steps::revoke(&c, &customers).await.unwrap();
    assert_eq!(
        none.producer.skipped_reason.as_deref(),
        Some("nothing was granted")
    );
}

#[tokio::test]
async fn every_step_is_idempotent_and_a_failure_at_any_point_converges_on_retry() {
    let pg = pg_setup("prov2", &["t"]).await;
    for point in ["secret", "record", "user", "grant", "asset"] {
        let env = format!("env2{point}");
        pg_forget(&pg, &env).await;
        glue_table(
            "pgconn2",
            &pg_jdbc(),
            "athena",
            "athena",
            PRODUCER_PROJECT,
            "t2",
            "athena_test.prov2.t",
        )
        .await;
        let c = ctx().await;
        let d = details(&env, "asset-t2", "t2");
        let err = steps::producer_grant(&c, &d, &Checkpoints::fail_after(point))
            .await
            .unwrap_err();
        assert!(matches!(err, StepError::Injected(p) if p == point));
        let p = steps::producer_grant(&c, &d, &Checkpoints::none())
            .await
            .unwrap();
        let p2 = steps::producer_grant(&c, &d, &Checkpoints::none())
            .await
            .unwrap();
        assert_eq!(p, p2, "a second run gives the same state");
        let g = steps::consumer_grant(&c, &d, &p, &Checkpoints::fail_after("copy")).await;
        assert!(g.is_err());
        let g = steps::consumer_grant(&c, &d, &p, &Checkpoints::none())
            .await
            .unwrap();
        let g2 = steps::consumer_grant(&c, &d, &p, &Checkpoints::none())
            .await
            .unwrap();
        assert_eq!(
            (&g.secret_arn, &g.secret_name),
            (&g2.secret_arn, &g2.secret_name),
            "retries update one consumer secret"
        );
        let mut conn = login(&pg, &g.secret_arn)
            .await
            .unwrap_or_else(|e| panic!("after a failure at {point}: {e}"));
        assert_eq!(
            count(&mut conn, "prov2.t").await,
            Ok(2),
            "after a failure at {point}"
        );
        drop(conn);
        let r = steps::producer_revoke(&c, &d, &Checkpoints::fail_after("revoke")).await;
        assert!(r.is_err());
        let r = steps::producer_revoke(&c, &d, &Checkpoints::none())
            .await
            .unwrap();
        assert!(
            r.user_dropped,
            "after a failed revoke, the retry finishes it"
        );
    }
}

#[tokio::test]
async fn concurrent_grants_for_one_environment_keep_both_assets() {
    let pg = pg_setup("prov3", &["a", "b"]).await;
    pg_forget(&pg, "env3").await;
    glue_table(
        "pgconn3",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "a3",
        "athena_test.prov3.a",
    )
    .await;
    glue_table(
        "pgconn3",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "b3",
        "athena_test.prov3.b",
    )
    .await;
    let c = Arc::new(ctx().await);
    let (x, y) = (
        details("env3", "asset-a", "a3"),
        details("env3", "asset-b", "b3"),
    );
    let (c1, c2) = (c.clone(), c.clone());
    let (r1, r2) = tokio::join!(async move { steps::grant(&c1, &x).await }, async move {
        steps::grant(&c2, &y).await
    });
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert_eq!(r1.producer.secret_arn, r2.producer.secret_arn, "one secret");
    let last = steps::producer_grant(&c, &details("env3", "asset-a", "a3"), &Checkpoints::none())
        .await
        .unwrap();
    assert_eq!(
        last.assets,
        vec!["asset-a", "asset-b"],
        "neither grant lost the other's asset"
    );
    let mut conn = login(&pg, &r1.consumer.secret_arn).await.unwrap();
    assert_eq!(
        (
            count(&mut conn, "prov3.a").await,
            count(&mut conn, "prov3.b").await
        ),
        (Ok(2), Ok(2))
    );
}

#[tokio::test]
async fn hostile_locations_foreign_connections_and_plain_s3_assets() {
    let pg = pg_setup("Prov4", &["My Table"]).await;
    pg_forget(&pg, "env4").await;
    let c = ctx().await;
    // A mixed-case name with a space is quoted, not rejected.
    glue_table(
        "pgconn4",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "mixed",
        "athena_test.Prov4.My Table",
    )
    .await;
    let g = steps::grant(&c, &details("env4", "asset-mixed", "mixed"))
        .await
        .unwrap();
    let mut conn = login(&pg, &g.consumer.secret_arn).await.unwrap();
    assert_eq!(count(&mut conn, "\"Prov4\".\"My Table\"").await, Ok(2));
    // An injection attempt through the location is rejected before any SQL.
    glue_table(
        "pgconn4",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "evil",
        "athena_test.Prov4.x; DROP TABLE t\u{0}",
    )
    .await;
    let err = steps::producer_grant(
        &c,
        &details("env4", "asset-evil", "evil"),
        &Checkpoints::none(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("invalid table location"), "{err}");
    glue_table(
        "pgconn4",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "twodots",
        "athena_test.Prov4.a.b",
    )
    .await;
    assert!(steps::producer_grant(
        &c,
        &details("env4", "asset-2", "twodots"),
        &Checkpoints::none()
    )
    .await
    .is_err());
    // A table naming another project's connection is refused.
    glue_table(
        "foreignconn",
        &pg_jdbc(),
        "athena",
        "athena",
        "someoneelse",
        "foreign",
        "athena_test.Prov4.My Table",
    )
    .await;
    let err = steps::producer_grant(
        &c,
        &details("env4", "asset-f", "foreign"),
        &Checkpoints::none(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StepError::Forbidden(_)), "{err}");
    // A plain S3 table (no connection) and a non-table asset: successful no-ops, both ways.
    let glue = aws_sdk_glue::Client::new(&aws().await);
    let _ = glue
        .create_table()
        .database_name("gdb")
        .table_input(
            aws_sdk_glue::types::TableInput::builder()
                .name("s3only")
                .storage_descriptor(
                    aws_sdk_glue::types::StorageDescriptor::builder()
                        .location("s3://bucket/path/")
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await;
    for d in [details("env4", "asset-s3", "s3only"), {
        let mut d = details("env4", "asset-x", "x");
        d.asset_details.asset_type = "S3ObjectCollectionAssetType".into();
        d
    }] {
        let g = steps::grant(&c, &d).await.unwrap();
        assert!(
            !g.producer.provisioned && !g.consumer.provisioned,
            "{:?}",
            g.producer.skipped_reason
        );
        let r = steps::revoke(&c, &d).await.unwrap();
        assert!(!r.producer.provisioned);
    }
}

#[tokio::test]
async fn mariadb_grant_and_revoke() {
    let my = mysql().await;
    my.execute("DROP DATABASE IF EXISTS prov5; CREATE DATABASE prov5; CREATE TABLE prov5.items (id INT); INSERT INTO prov5.items VALUES (1), (2), (3); CREATE TABLE prov5.hidden (id INT);
                DROP USER IF EXISTS 'dz_env5'@'%';")
        .await
        .unwrap();
    let c = ctx().await;
    let server = format!(
        "mysql://{}",
        mysql_url()
            .split_once('@')
            .unwrap()
            .1
            .rsplit_once('/')
            .unwrap()
            .0
    );
    let _ = c
        .dynamodb()
        .delete_item()
        .table_name("prov_users")
        .key("server", aws_sdk_dynamodb::types::AttributeValue::S(server))
        .key(
            "environment_id",
            aws_sdk_dynamodb::types::AttributeValue::S("env5".into()),
        )
        .send()
        .await;
    let hostport = mysql_url()
        .split_once('@')
        .unwrap()
        .1
        .rsplit_once('/')
        .unwrap()
        .0
        .to_owned();
    glue_table(
        "myconn5",
        &format!("jdbc:mysql://{hostport}/prov5"),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "items5",
        "prov5.items",
    )
    .await;
    let d = details("env5", "asset-items", "items5");
    let g = steps::grant(&c, &d).await.unwrap();
    let sm = c.secrets();
    let v: serde_json::Value = serde_json::from_str(
        sm.get_secret_value()
            .secret_id(&g.consumer.secret_arn)
            .send()
            .await
            .unwrap()
            .secret_string()
            .unwrap(),
    )
    .unwrap();
    let url = format!(
        "mysql://{}:{}@{hostport}/prov5",
        v["username"].as_str().unwrap(),
        urlencode(v["password"].as_str().unwrap())
    );
    let mut conn = sqlx::MySqlConnection::connect(&url)
        .await
        .expect("the consumer credentials log in");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM prov5.items")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 3);
    let denied = sqlx::query("SELECT * FROM prov5.hidden")
        .fetch_all(&mut conn)
        .await
        .unwrap_err()
        .to_string();
    assert!(denied.contains("denied"), "{denied}");
    drop(conn);
    let r = steps::revoke(&c, &d).await.unwrap();
    assert!(r.producer.user_dropped);
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mysql.user WHERE User = 'dz_env5'")
        .fetch_one(&my)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

/// The whole path: `provision grant` (the CLI), then `athena-fed query` with a connection
/// string naming the consumer secret reads the granted table, and is refused another.
#[tokio::test]
async fn provision_grant_then_query_through_the_consumer_secret() {
    let pg = pg_setup("prov7", &["granted", "other"]).await;
    pg_forget(&pg, "env7").await;
    glue_table(
        "pgconn7",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "granted7",
        "athena_test.prov7.granted",
    )
    .await;
    ctx().await;
    let file = std::env::temp_dir().join(format!("subscription-{}.json", std::process::id()));
    std::fs::write(
        &file,
        serde_json::to_vec(&details("env7", "asset-granted", "granted7")).unwrap(),
    )
    .unwrap();
    let result = provision_cli(&["grant", file.to_str().unwrap()]);
    let consumer_secret = result["Consumer"]["SecretName"].as_str().unwrap();
    let query = consumer_query_cli(&pg, "env7", consumer_secret).await;
    let ok = query("SELECT count(*) AS n FROM sub.prov7.granted");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8(ok.stdout).unwrap(), "n\n2\n");
    let denied = query("SELECT count(*) AS n FROM sub.prov7.other");
    assert_eq!(denied.status.code(), Some(1));
    let err = String::from_utf8_lossy(&denied.stderr);
    assert!(err.contains("permission denied for table other"), "{err}");
    let bad = std::process::Command::new(workspace_binary("provision"))
        .args(["grant", "/nonexistent.json"])
        .envs(cli_env())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).starts_with("error: cannot read /nonexistent.json")
    );
}

/// Rotation: the old password stops working, the consumer copy follows, and logins work.
#[tokio::test]
async fn rotation_resyncs_the_consumer_copy() {
    let pg = pg_setup("prov8", &["t"]).await;
    pg_forget(&pg, "env8").await;
    glue_table(
        "pgconn8",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "t8",
        "athena_test.prov8.t",
    )
    .await;
    let c = ctx().await;
    let d = details("env8", "asset-t8", "t8");
    let g = steps::grant(&c, &d).await.unwrap();
    let secret = |arn: String| {
        let c = c.clone();
        async move {
            c.secrets()
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .unwrap()
                .secret_string()
                .unwrap()
                .to_owned()
        }
    };
    let before = secret(g.consumer.secret_arn.clone()).await;
    login(&pg, &g.consumer.secret_arn).await.unwrap();
    let r = steps::rotate(&c, &d).await.unwrap();
    assert_eq!(r.secret_arn, g.consumer.secret_arn);
    let after = secret(g.consumer.secret_arn.clone()).await;
    assert_ne!(before, after, "the consumer copy has the new password");
    assert_eq!(
        after,
        secret(g.producer.secret_arn.clone()).await,
        "producer and consumer agree"
    );
    let mut conn = login(&pg, &g.consumer.secret_arn)
        .await
        .expect("the rotated credentials log in");
    assert_eq!(count(&mut conn, "prov8.t").await, Ok(2));
    let old: serde_json::Value = serde_json::from_str(&before).unwrap();
    let hostport = postgres_url().split_once('@').unwrap().1.to_owned();
    let options: sqlx::postgres::PgConnectOptions =
        format!("postgres://{hostport}").parse().unwrap();
    let stale = sqlx::PgConnection::connect_with(
        &options
            .username("dz_env8")
            .password(old["password"].as_str().unwrap()),
    )
    .await;
    assert!(stale.is_err(), "the old password no longer works");
}

/// Deleting an environment revokes what was granted to it, through the Lambda's FanOut.
#[tokio::test]
async fn environment_deletion_revokes_its_grants() {
    let pg = pg_setup("prov9", &["t"]).await;
    pg_forget(&pg, "env9").await;
    glue_table(
        "pgconn9",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "t9",
        "athena_test.prov9.t",
    )
    .await;
    let c = ctx().await;
    let d = details("env9", "asset-t9", "t9");
    steps::grant(&c, &d).await.unwrap();
    let dz = athena_provisioning::datazone::InMemoryDataZone::default();
    let routing = athena_provisioning::governance::Routing {
        allowed_blueprints: vec![],
        producer_accounts: vec!["123456789012".into()],
        workflow_role_name: "athena-fed-governance-access".into(),
        state_machine_name: "athena-fed-subscription".into(),
    };
    let event = serde_json::json!({"Step": "FanOut", "Event": {"detail-type": "Environment Deletion Started", "detail": {"metadata": {"domain": "dzd_test"}, "data": {"environmentId": "env9"}}}});
    let out = athena_provisioning::handler::handle(&c, &dz, &routing, event)
        .await
        .unwrap();
    let inputs = out["Inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(
        (
            inputs[0]["Action"].as_str(),
            inputs[0]["ExecutionName"].as_str()
        ),
        (Some("Revoke"), Some("Revoke-env9-asset-t9-1"))
    );
    // Routed to the producer account's workflow, through its role.
    assert_eq!(
        inputs[0]["Target"],
        serde_json::json!({
            "StateMachineArn": format!("arn:aws:states:{REGION}:123456789012:stateMachine:athena-fed-subscription"),
            "RoleArn": "arn:aws:iam::123456789012:role/athena-fed-governance-access"
        })
    );
    let r = athena_provisioning::handler::handle(
        &c,
        &dz,
        &routing,
        serde_json::json!({"Step": "ProducerRevoke", "Input": inputs[0]}),
    )
    .await
    .unwrap();
    assert_eq!(r["UserDropped"], true);
    let bad = athena_provisioning::handler::handle(
        &c,
        &dz,
        &routing,
        serde_json::json!({"Step": "Nope"}),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        bad.starts_with("invalid input: unknown Step \"Nope\""),
        "{bad}"
    );
}

/// `JDBC_ENFORCE_SSL=true`: a server without TLS (this MariaDB) is refused before any change;
/// one with TLS (this PostgreSQL) works.
#[tokio::test]
async fn enforced_tls_is_required() {
    use aws_sdk_glue::types::ConnectionPropertyKey::JdbcEnforceSsl;
    let my = mysql().await;
    my.execute("DROP DATABASE IF EXISTS prov10; CREATE DATABASE prov10; CREATE TABLE prov10.t (id INT); DROP USER IF EXISTS 'dz_env10'@'%';").await.unwrap();
    let hostport = mysql_url()
        .split_once('@')
        .unwrap()
        .1
        .rsplit_once('/')
        .unwrap()
        .0
        .to_owned();
    glue_table_with(
        "myconn10",
        &format!("jdbc:mysql://{hostport}/prov10"),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "t10",
        "prov10.t",
        &[(JdbcEnforceSsl, "true")],
    )
    .await;
    let c = ctx().await;
    let err = steps::producer_grant(
        &c,
        &details("env10", "asset-t10", "t10"),
        &Checkpoints::none(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.to_lowercase().contains("tls") || err.to_lowercase().contains("ssl"),
        "{err}"
    );
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mysql.user WHERE User = 'dz_env10'")
        .fetch_one(&my)
        .await
        .unwrap();
    assert_eq!(users, 0, "nothing was created");
    let pg = pg_setup("prov11", &["t"]).await;
    pg_forget(&pg, "env11").await;
    glue_table_with(
        "pgconn11",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "t11",
        "athena_test.prov11.t",
        &[(JdbcEnforceSsl, "true")],
    )
    .await;
    steps::producer_grant(
        &c,
        &details("env11", "asset-t11", "t11"),
        &Checkpoints::none(),
    )
    .await
    .expect("PostgreSQL here has TLS");
}

/// With a consumer role configured, the consumer steps assume it (per invocation) and the
/// consumer secret lands in the consumer account.
#[tokio::test]
async fn consumer_steps_assume_the_consumer_role() {
    let pg = pg_setup("prov12", &["t"]).await;
    pg_forget(&pg, "env12").await;
    glue_table(
        "pgconn12",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "t12",
        "athena_test.prov12.t",
    )
    .await;
    let mut c = ctx().await;
    c.settings.consumer_assume_role = Some("athena_fed_consumer_provisioning_role".into());
    let g = steps::grant(&c, &details("env12", "asset-t12", "t12"))
        .await
        .unwrap();
    assert!(
        g.consumer
            .secret_arn
            .contains(":123456789012:secret:athena-fed-c-env12-"),
        "{}",
        g.consumer.secret_arn
    );
    let mut conn = login(&pg, &g.consumer.secret_arn).await.unwrap();
    assert_eq!(count(&mut conn, "prov12.t").await, Ok(2));
}

/// With a customer key, the consumer role gets a KMS grant to decrypt exactly its producer
/// secret (the key policy names no consumer); a retried grant keeps one grant, and the
/// revoke that removes the user removes the grant.
#[tokio::test]
async fn the_consumer_role_gets_a_decrypt_grant_for_exactly_its_secret() {
    let pg = pg_setup("prov_kms", &["orders"]).await;
    pg_forget(&pg, "envkms").await;
    glue_table(
        "pgconnkms",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "orderskms",
        "athena_test.prov_kms.orders",
    )
    .await;
    let mut c = ctx().await;
    let kms = c.kms();
    let key = kms.create_key().send().await.unwrap();
    let key_arn = key.key_metadata().unwrap().arn().unwrap().to_owned();
    c.settings.kms_key_id = Some(key_arn.clone());
    let orders = details("envkms", "asset-orders-kms", "orderskms");
    let g = steps::grant(&c, &orders).await.unwrap();
    steps::grant(&c, &orders).await.unwrap();

    let described = c
        .secrets()
        .describe_secret()
        .secret_id(&g.producer.secret_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.kms_key_id(), Some(key_arn.as_str()));
    let grants = kms.list_grants().key_id(&key_arn).send().await.unwrap();
    let grants = grants.grants();
    assert_eq!(grants.len(), 1, "{grants:?}");
    let grant = &grants[0];
    assert_eq!(
        grant.name(),
        Some(format!("athena-fed-{}", g.producer.secret_name).as_str())
    );
    assert_eq!(
        grant.grantee_principal(),
        Some("arn:aws:iam::123456789012:role/athena_fed_consumer_provisioning_role")
    );
    assert_eq!(
        grant.operations(),
        &[aws_sdk_kms::types::GrantOperation::Decrypt]
    );
    let context = grant
        .constraints()
        .and_then(|c| c.encryption_context_subset())
        .unwrap();
    assert_eq!(context.len(), 1);
    assert_eq!(context.get("SecretARN"), Some(&g.producer.secret_arn));

    let r = steps::revoke(&c, &orders).await.unwrap();
    assert!(r.producer.user_dropped);
    let grants = kms.list_grants().key_id(&key_arn).send().await.unwrap();
    assert!(grants.grants().is_empty(), "{:?}", grants.grants());
}

/// With `TRACKING_ROLE_ARN` (a producer account, tables in the governance account), every
/// tracking record is written through the assumed role into the governance account, and
/// none into the producer account.
#[tokio::test]
async fn tracking_goes_to_the_governance_account_through_its_role() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let pg = pg_setup("prov13", &["t"]).await;
    pg_forget(&pg, "env13").await;
    glue_table(
        "pgconn13",
        &pg_jdbc(),
        "athena",
        "athena",
        PRODUCER_PROJECT,
        "t13",
        "athena_test.prov13.t",
    )
    .await;
    let mut settings = settings();
    settings.users_table = "gov_users".into();
    settings.subscriptions_table = "gov_subscriptions".into();
    settings.mappings_table = "gov_mappings".into();
    settings.tracking_role_arn = Some("arn:aws:iam::222222222222:role/athena-fed-tracking".into());
    let c = athena_provisioning::context::Context::new(settings, aws().await).await;
    athena_provisioning::tracking::create_tables(&c.dynamodb(), &c.settings)
        .await
        .unwrap();
    let governance = c.dynamodb();
    let producer = aws_sdk_dynamodb::Client::new(&aws().await);
    let _ = governance
        .delete_item()
        .table_name("gov_users")
        .key("server", AttributeValue::S(pg_server()))
        .key("environment_id", AttributeValue::S("env13".into()))
        .send()
        .await;

    let g = steps::grant(&c, &details("env13", "asset-t13", "t13"))
        .await
        .unwrap();
    let mut conn = login(&pg, &g.consumer.secret_arn).await.unwrap();
    assert_eq!(count(&mut conn, "prov13.t").await, Ok(2));
    let subscriptions = governance
        .query()
        .table_name("gov_subscriptions")
        .key_condition_expression("environment_id = :e")
        .expression_attribute_values(":e", AttributeValue::S("env13".into()))
        .send()
        .await
        .unwrap();
    let assets: Vec<&str> = subscriptions
        .items()
        .iter()
        .filter_map(|i| i.get("asset_id")?.as_s().ok().map(String::as_str))
        .collect();
    assert_eq!(assets, ["asset-t13"]);
    let user = governance
        .get_item()
        .table_name("gov_users")
        .key("server", AttributeValue::S(pg_server()))
        .key("environment_id", AttributeValue::S("env13".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        user.item()
            .and_then(|i| i.get("user_name"))
            .and_then(|v| v.as_s().ok()),
        Some(&"dz_env13".to_owned())
    );
    let mapping = governance
        .get_item()
        .table_name("gov_mappings")
        .key(
            "producer_secret_arn",
            AttributeValue::S(g.producer.secret_arn.clone()),
        )
        .send()
        .await
        .unwrap();
    assert!(mapping.item().is_some());
    // Nothing in the producer account: its tables do not even exist.
    for table in ["gov_users", "gov_subscriptions", "gov_mappings"] {
        let e = producer
            .describe_table()
            .table_name(table)
            .send()
            .await
            .unwrap_err();
        assert!(
            e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()),
            "{table} in the producer account: {e:?}"
        );
    }

    steps::revoke(&c, &details("env13", "asset-t13", "t13"))
        .await
        .unwrap();
    let user = governance
        .get_item()
        .table_name("gov_users")
        .key("server", AttributeValue::S(pg_server()))
        .key("environment_id", AttributeValue::S("env13".into()))
        .send()
        .await
        .unwrap();
    assert!(
        user.item().is_none(),
        "the last revoke removes the user record"
    );
}
