//! Oracle. No Oracle database or Instant Client runs here: what can be checked is that a
//! connector without Instant Client starts, serves its other catalogs, and answers an Oracle
//! request with an error that names the missing library and how to provide it. The type
//! mapping, value decoding, connect strings and split planning are unit-tested in
//! `connector/src/source/oracle/`; the SQL in `dialect_sql.rs`.
//!
//! `real_server_*` run against a real Oracle database when `ORACLE_URL` is set at build time
//! (`jdbc:oracle:thin:user/password@//host:port/service`, with Instant Client installed);
//! without it they are reported as ignored.

use athena_connector::protocol::Constraints;
use integration_tests::check::column_text;
use integration_tests::*;

/// Whether this machine can load Oracle Instant Client (then the missing-library test
/// cannot show its error).
fn instant_client_present() -> bool {
    std::env::var("LD_LIBRARY_PATH")
        .unwrap_or_default()
        .split(':')
        .chain([
            "/usr/lib",
            "/usr/lib64",
            "/opt/lib",
            "/usr/lib/x86_64-linux-gnu",
        ])
        .any(|d| std::path::Path::new(d).join("libclntsh.so").exists())
}

#[tokio::test]
#[cfg_attr(
    oracle_server,
    ignore = "Instant Client is present: the missing-library path cannot run"
)]
async fn without_instant_client_oracle_fails_clearly_and_nothing_else_does() {
    assert!(
        !instant_client_present(),
        "Instant Client is installed here: this test shows the error of a machine without it"
    );
    let oracle = "oracle://jdbc:oracle:thin:scott/tiger@//127.0.0.1:1521/FREEPDB1";
    let pg = postgres_connection();
    let c = connector(&[
        ("ora_connection_string", oracle),
        ("pg_connection_string", pg.as_str()),
    ])
    .await;
    let ora = client(c.clone(), "ora").await;
    let e = ora.list_schemas().await.unwrap_err().to_string();
    assert!(
        e.contains("the Oracle Instant Client library (libclntsh.so) could not be loaded: deploy the connector with an Instant Client Lambda layer (sam/connector.yaml parameter OracleLayerArn"),
        "{e}"
    );
    assert!(
        e.contains("DPI-1047"),
        "the driver's own words are kept: {e}"
    );
    assert!(!e.contains("tiger"), "no password in errors: {e}");
    // The same connector still serves PostgreSQL.
    let pg = client(c, "pg").await;
    assert!(pg
        .list_schemas()
        .await
        .unwrap()
        .contains(&"public".to_owned()));
}

/// Against a real Oracle database (`ORACLE_URL`): the mapped types, cross-checked with the
/// values written.
#[tokio::test]
#[cfg_attr(not(oracle_server), ignore = "ORACLE_URL is unset: did not run")]
async fn real_server_types_and_values() {
    let url = std::env::var("ORACLE_URL").expect("ORACLE_URL");
    let jdbc = athena_connector::config::JdbcUrl::parse(&url).expect("a jdbc:oracle:thin: URL");
    let conn = oracle::Connection::connect(
        jdbc.user.clone().unwrap_or_default(),
        jdbc.password.as_ref().map(|p| p.expose()).unwrap_or(""),
        athena_connector::source::oracle::connect_string(&jdbc),
    )
    .unwrap();
    let _ = conn.execute("DROP TABLE athena_types", &[]);
    conn.execute(
        "CREATE TABLE athena_types (id NUMBER(9) PRIMARY KEY, n NUMBER, d NUMBER(12,2), big NUMBER(38), \
         dt DATE, ts TIMESTAMP(6), tz TIMESTAMP WITH TIME ZONE, f BINARY_DOUBLE, s VARCHAR2(20), r RAW(4), c CLOB)",
        &[],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO athena_types VALUES (1, 123.456, -12.34, 12345678901234567890123456789012345678, \
         DATE '1969-07-20', TIMESTAMP '1900-01-01 00:00:00.5', TIMESTAMP '2024-02-29 14:00:00 +02:00', \
         0.5, 'Ünï', HEXTORAW('00FF'), 'long text')",
        &[],
    )
    .unwrap();
    conn.commit().unwrap();
    let c = client(
        connector(&[
            ("default", format!("oracle://{url}").as_str()),
            ("default_scale", "3"),
        ])
        .await,
        "ora",
    )
    .await;
    let user = jdbc.user.clone().unwrap_or_default().to_lowercase();
    let columns = ["ID", "N", "D", "BIG", "DT", "TS", "TZ", "F", "S", "R", "C"];
    let r = read(&c, &user, "athena_types", &columns, &Constraints::default())
        .await
        .unwrap();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(column_text(&r.batch, "N"), [s("123456")]);
    assert_eq!(column_text(&r.batch, "D"), [s("-1234")]);
    assert_eq!(
        column_text(&r.batch, "BIG"),
        [s("12345678901234567890123456789012345678")]
    );
    assert_eq!(column_text(&r.batch, "DT"), [s("-14256000000")]);
    assert_eq!(column_text(&r.batch, "TS"), [s("-2208988799500")]);
    assert_eq!(column_text(&r.batch, "TZ"), [s("1709208000000")]);
    assert_eq!(column_text(&r.batch, "S"), [s("Ünï")]);
    assert_eq!(column_text(&r.batch, "R"), [s("00ff")]);
}

/// Provisioning an Oracle table on a machine without Instant Client: the grant stops at the
/// administrator's login with the missing library named, before any database change.
#[tokio::test]
#[cfg_attr(
    oracle_server,
    ignore = "Instant Client is present: the missing-library path cannot run"
)]
async fn provisioning_oracle_without_instant_client_says_what_is_missing() {
    use integration_tests::provisioning::*;
    glue_table(
        "oraconn",
        "jdbc:oracle:thin:@//127.0.0.1:1521/FREEPDB1",
        "system",
        "admin-pw",
        PRODUCER_PROJECT,
        "ora_orders",
        "FREEPDB1.SALES.ORDERS",
    )
    .await;
    let c = ctx().await;
    let e = athena_provisioning::steps::grant(&c, &details("envora", "asset-ora", "ora_orders"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the Oracle Instant Client library (libclntsh.so) could not be loaded"),
        "{e}"
    );
    assert!(!e.contains("admin-pw"), "{e}");
}
