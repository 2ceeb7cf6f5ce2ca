//! Provisioning a SQL Server table: grant and revoke run their statements as the database
//! administrator, through the TDS stand-in (hand-written, labelled: no SQL Server runs here).
//! What is checked is what SQL Server would receive: the statements in order, the password
//! only as a `HASHED` verifier, and a revoke that converges when the user is already gone.

use athena_provisioning::steps;
use integration_tests::provisioning::*;
use integration_tests::tds::{Answer, Col, TdsStandIn, Ty};

const ADMIN: &str = "sa_admin";
const ADMIN_PASSWORD: &str = "Adm1n;pw";

async fn stand_in() -> TdsStandIn {
    let server = TdsStandIn::start(ADMIN, ADMIN_PASSWORD).await;
    server
        .on(
            "FROM sys.server_principals WHERE name = @P1",
            Answer::Rows(
                vec![Col {
                    name: "x".into(),
                    ty: Ty::Int,
                }],
                vec![],
            ),
        )
        .on("CREATE LOGIN", Answer::Done)
        .on("USE [sales]", Answer::Done)
        .on("IF NOT EXISTS (SELECT 1 FROM sys.database_principals", Answer::Done)
        .on("GRANT SELECT ON", Answer::Done)
        .on("REVOKE SELECT ON", Answer::Done)
        // The user was dropped by hand: the revoke converges instead of failing.
        .on(
            "IF EXISTS (SELECT 1 FROM sys.database_principals",
            Answer::Error {
                number: 15151,
                message: "Cannot drop the user 'dz_envms', because it does not exist or you do not have permission.".into(),
            },
        )
        .on("IF EXISTS (SELECT 1 FROM sys.server_principals", Answer::Done);
    server
}

#[tokio::test]
async fn sql_server_grant_and_revoke_run_as_the_administrator() {
    let server = stand_in().await;
    glue_table(
        "msconn",
        &format!(
            "jdbc:sqlserver://127.0.0.1:{};databaseName=sales;encrypt=false",
            server.port
        ),
        ADMIN,
        ADMIN_PASSWORD,
        PRODUCER_PROJECT,
        "ms_orders",
        "sales.dbo.Orders",
    )
    .await;
    let c = ctx().await;
    let d = details("envms", "asset-ms", "ms_orders");
    let g = steps::grant(&c, &d).await.unwrap();
    assert!(g.producer.provisioned && g.consumer.provisioned);
    assert_eq!(g.producer.user_name, "dz_envms");
    let received = server.received();
    let sql: Vec<&str> = received.iter().map(|r| r.sql.as_str()).collect();
    assert_eq!(
        sql[0],
        "SELECT 1 FROM sys.server_principals WHERE name = @P1"
    );
    assert_eq!(received[0].params[1], "dz_envms");
    assert!(
        sql[1].starts_with("CREATE LOGIN [dz_envms] WITH PASSWORD = 0x0200")
            && sql[1].ends_with(" HASHED"),
        "{}",
        sql[1]
    );
    assert_eq!(
        &sql[2..],
        [
            "USE [sales]",
            "IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'dz_envms') CREATE USER [dz_envms] FOR LOGIN [dz_envms]",
            "GRANT SELECT ON [dbo].[Orders] TO [dz_envms]",
        ]
    );
    // The password the consumer gets never reaches the server in plain text.
    let secret = c
        .secrets()
        .get_secret_value()
        .secret_id(&g.producer.secret_arn)
        .send()
        .await
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(secret.secret_string().unwrap()).unwrap();
    let password = value["password"].as_str().unwrap();
    assert!(password.len() >= 16);
    assert!(received.iter().all(|r| !r.sql.contains(password)));

    let before = server.received().len();
    let r = steps::revoke(&c, &d).await.unwrap();
    assert!(r.producer.user_dropped);
    let revoke: Vec<String> = server.received()[before..]
        .iter()
        .map(|r| r.sql.clone())
        .collect();
    assert_eq!(
        revoke,
        [
            "USE [sales]",
            "REVOKE SELECT ON [dbo].[Orders] FROM [dz_envms]",
            "IF EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'dz_envms') DROP USER [dz_envms]",
            "IF EXISTS (SELECT 1 FROM sys.server_principals WHERE name = N'dz_envms') DROP LOGIN [dz_envms]",
        ]
    );
}

#[tokio::test]
async fn a_rejected_administrator_login_changes_nothing_and_says_why() {
    let server = stand_in().await;
    glue_table(
        "msconn_bad",
        &format!(
            "jdbc:sqlserver://127.0.0.1:{};databaseName=sales;encrypt=false",
            server.port
        ),
        ADMIN,
        "wrong-password",
        PRODUCER_PROJECT,
        "ms_orders_bad",
        "sales.dbo.Orders",
    )
    .await;
    let c = ctx().await;
    let e = steps::grant(&c, &details("envmsbad", "asset-ms-bad", "ms_orders_bad"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the administrator's login was rejected: Login failed for user 'sa_admin'."),
        "{e}"
    );
    assert!(!e.contains("wrong-password"), "{e}");
    assert!(server.received().is_empty());
}
