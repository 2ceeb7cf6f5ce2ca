//! Drop-in parity with the official Athena JDBC connectors: `casing_mode` and its defaults
//! per engine and configuration style, `glue_connection` (a Glue connection in moto, its
//! AthenaProperties beneath the Lambda's variables), JDBC URL parameters, flags read as
//! leniently as the official connectors read them, and the official type mappings of
//! PostgreSQL's bit(1) and oid and MySQL's YEAR. Real PostgreSQL and MariaDB.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use athena_connector::client::Client;
use athena_connector::config::{CasingMode, Config};
use athena_connector::handler::Connector;
use athena_connector::protocol::{
    Constraints, GetDataSourceCapabilitiesRequest, Request, RequestHeader, Response, TableName,
    CONNECTOR_EXCEPTION,
};
use aws_sdk_glue::types::{ConnectionInput, ConnectionPropertyKey, ConnectionType};
use integration_tests::check::column_text;
use integration_tests::*;
use sqlx::{AssertSqlSafe, Executor, Row};

type Rows = Vec<Vec<Option<String>>>;

/// A client of catalog `pg` over the test PostgreSQL database, with `extra` variables.
async fn pg_client(extra: &[(&str, &str)]) -> Client {
    pg_client_at(&postgres_connection(), extra).await
}

/// A client of catalog `pg` with `default` = `connection` and `extra` variables.
async fn pg_client_at(connection: &str, extra: &[(&str, &str)]) -> Client {
    let mut vars: Vec<(&str, &str)> = vec![("default", connection)];
    vars.extend_from_slice(extra);
    client(connector(&vars).await, "pg").await
}

/// A client of catalog `my` over database `db` of the test MariaDB, with `extra` variables.
async fn my_client(db: &str, extra: &[(&str, &str)]) -> Client {
    let d = mysql_connection(db);
    let mut vars: Vec<(&str, &str)> = vec![("default", d.as_str())];
    vars.extend_from_slice(extra);
    client(connector(&vars).await, "my").await
}

/// The rows of `sql` on PostgreSQL, every column selected as text.
async fn pg_rows(pg: &sqlx::PgPool, sql: &str) -> Rows {
    sqlx::query(AssertSqlSafe(sql))
        .fetch_all(pg)
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (0..row.len())
                .map(|i| row.get::<Option<String>, _>(i))
                .collect()
        })
        .collect()
}

/// The rows of `sql` on MariaDB, every column selected as text (`CAST(… AS CHAR)`).
async fn my_rows(my: &sqlx::MySqlPool, sql: &str) -> Rows {
    sqlx::query(AssertSqlSafe(sql))
        .fetch_all(my)
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (0..row.len())
                .map(|i| row.get::<Option<String>, _>(i))
                .collect()
        })
        .collect()
}

/// `columns` of `batch` as text ([`column_text`]), one row each, ordered by the `id` column.
fn rows(batch: &RecordBatch, columns: &[&str]) -> Rows {
    let ids = column_text(batch, "id");
    let values: Vec<Vec<Option<String>>> = columns.iter().map(|c| column_text(batch, c)).collect();
    let mut order: Vec<usize> = (0..batch.num_rows()).collect();
    order.sort_by_key(|i| {
        ids[*i]
            .as_deref()
            .expect("ids are not null")
            .parse::<i64>()
            .expect("integer id")
    });
    order
        .iter()
        .map(|i| values.iter().map(|column| column[*i].clone()).collect())
        .collect()
}

/// Text rows from literals (`None` for NULL).
fn text(literal: &[&[Option<&str>]]) -> Rows {
    literal
        .iter()
        .map(|row| row.iter().map(|v| v.map(str::to_owned)).collect())
        .collect()
}

/// The real (schema, table) names a read resolved to.
fn real_name(r: &Read) -> (&str, &str) {
    (
        r.table.table_name.schema_name.as_str(),
        r.table.table_name.table_name.as_str(),
    )
}

/// The error the client reports when `request` on `on` (`catalog.schema.table`) fails
/// with `message`, as the handler words it.
fn failure(request: &str, on: &str, message: &str) -> String {
    format!("{request} failed: {CONNECTOR_EXCEPTION}: {request} on {on}: {message}")
}

/// The not-found message of a name that exists only in another case under an exact
/// `casing_mode` (`resolve_name`).
fn not_exact(kind: &str, wanted: &str, casing: &str, database_has: &str) -> String {
    format!(
        "{kind} {wanted} (casing_mode={casing} matches names exactly; the database has {database_has}: set casing_mode=case_insensitive_search to find it) not found"
    )
}

/// The constraints of a `system.query` passthrough of `query`.
fn passthrough(query: &str) -> Constraints {
    Constraints {
        query_passthrough_arguments: [
            ("schemaFunctionName".to_owned(), "system.query".to_owned()),
            ("QUERY".to_owned(), query.to_owned()),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    }
}

/// Every row of a passthrough query, as Athena reads it.
async fn run(c: &Client, query: &str) -> Result<RecordBatch, String> {
    let constraints = passthrough(query);
    let name = TableName::new("system", "query");
    let t = c
        .get_table(&name, constraints.query_passthrough_arguments.clone())
        .await
        .map_err(|e| e.to_string())?;
    let splits = c
        .splits(&t, &constraints)
        .await
        .map_err(|e| e.to_string())?;
    let mut batches = Vec::new();
    for s in splits {
        batches.extend(
            c.read_split(&name, t.schema.clone(), s, &constraints)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    arrow::compute::concat_batches(&t.schema, &batches).map_err(|e| e.to_string())
}

/// The capability names GetDataSourceCapabilities advertises.
async fn capability_names(c: &Client) -> Vec<String> {
    let r = c
        .send(Request::GetDataSourceCapabilities(
            GetDataSourceCapabilitiesRequest {
                header: RequestHeader {
                    identity: c.identity.clone(),
                    query_id: c.query_id.clone(),
                    catalog_name: c.catalog.clone(),
                },
            },
        ))
        .await
        .unwrap();
    let Response::GetDataSourceCapabilities(r) = r else {
        panic!("not a GetDataSourceCapabilitiesResponse");
    };
    r.capabilities.keys().cloned().collect()
}

/// `casing_mode` on PostgreSQL as the official connector reads it: unset, names from Athena
/// (always lower case) find the database's mixed-case names case-insensitively; `none`
/// matches them exactly and says which name the database has; `lower` and `upper` change
/// the case, then match exactly; and under a Glue connection the unset default is `none`,
/// as the official connector's is.
#[tokio::test]
async fn postgres_casing_mode_finds_names_as_the_official_connector_does() {
    let pg = postgres().await;
    pg.execute(
        r#"DROP SCHEMA IF EXISTS "dropin_Casing" CASCADE; CREATE SCHEMA "dropin_Casing";
           CREATE TABLE "dropin_Casing"."Sales" (id int);
           INSERT INTO "dropin_Casing"."Sales" VALUES (1), (2), (3);
           CREATE TABLE "dropin_Casing".sales_lower (id int);
           INSERT INTO "dropin_Casing".sales_lower VALUES (10), (11);
           DROP SCHEMA IF EXISTS dropin_lower CASCADE; CREATE SCHEMA dropin_lower;
           CREATE TABLE dropin_lower.items (id int);
           INSERT INTO dropin_lower.items VALUES (4), (5);
           DROP SCHEMA IF EXISTS "DROPIN_UP" CASCADE; CREATE SCHEMA "DROPIN_UP";
           CREATE TABLE "DROPIN_UP"."T1" (id int);
           INSERT INTO "DROPIN_UP"."T1" VALUES (6), (7)"#,
    )
    .await
    .unwrap();
    let sales = pg_rows(
        &pg,
        r#"SELECT id::text FROM "dropin_Casing"."Sales" ORDER BY id"#,
    )
    .await;
    assert_eq!(sales, text(&[&[Some("1")], &[Some("2")], &[Some("3")]]));
    let all = Constraints::default();

    // Unset: case_insensitive_search (the official default without a Glue connection).
    let unset_or_search: [&[(&str, &str)]; 2] =
        [&[], &[("casing_mode", "Case_Insensitive_Search")]];
    for extra in unset_or_search {
        let c = pg_client(extra).await;
        let r = read(&c, "dropin_casing", "sales", &["id"], &all)
            .await
            .unwrap();
        assert_eq!(real_name(&r), ("dropin_Casing", "Sales"), "{extra:?}");
        assert_eq!(rows(&r.batch, &["id"]), sales, "{extra:?}");
        let r = read(&c, "dropin_casing", "sales_lower", &["id"], &all)
            .await
            .unwrap();
        assert_eq!(real_name(&r), ("dropin_Casing", "sales_lower"));
        assert_eq!(
            rows(&r.batch, &["id"]),
            pg_rows(
                &pg,
                r#"SELECT id::text FROM "dropin_Casing".sales_lower ORDER BY id"#
            )
            .await
        );
    }

    // none: the name as Athena sent it, exactly; the error names the database's.
    let c = pg_client(&[("casing_mode", "none")]).await;
    let err = read(&c, "dropin_casing", "sales", &["id"], &all)
        .await
        .err()
        .expect("casing_mode=none does not find dropin_Casing");
    assert_eq!(
        err,
        failure(
            "GetTableRequest",
            "pg.dropin_casing.sales",
            &not_exact("schema", "dropin_casing", "none", "dropin_Casing")
        )
    );

    // lower: lower-cased, then exact.
    let c = pg_client(&[("casing_mode", "lower")]).await;
    let r = read(&c, "dropin_lower", "items", &["id"], &all)
        .await
        .unwrap();
    assert_eq!(real_name(&r), ("dropin_lower", "items"));
    assert_eq!(
        rows(&r.batch, &["id"]),
        pg_rows(&pg, "SELECT id::text FROM dropin_lower.items ORDER BY id").await
    );
    let err = read(&c, "dropin_casing", "sales", &["id"], &all)
        .await
        .err()
        .expect("casing_mode=lower does not find dropin_Casing");
    assert_eq!(
        err,
        failure(
            "GetTableRequest",
            "pg.dropin_casing.sales",
            &not_exact("schema", "dropin_casing", "lower", "dropin_Casing")
        )
    );

    // upper: upper-cased, then exact.
    let c = pg_client(&[("casing_mode", "UPPER")]).await;
    let r = read(&c, "dropin_up", "t1", &["id"], &all).await.unwrap();
    assert_eq!(real_name(&r), ("DROPIN_UP", "T1"));
    assert_eq!(
        rows(&r.batch, &["id"]),
        pg_rows(&pg, r#"SELECT id::text FROM "DROPIN_UP"."T1" ORDER BY id"#).await
    );
    assert_eq!(rows(&r.batch, &["id"]), text(&[&[Some("6")], &[Some("7")]]));

    // Under a Glue connection the official default for PostgreSQL is none. `from_vars`
    // fetches nothing from Glue: `default` is given directly, only the style changes.
    let c = pg_client(&[("glue_connection", "dropin_not_fetched")]).await;
    let err = read(&c, "dropin_casing", "sales", &["id"], &all)
        .await
        .err()
        .expect("the Glue-style default is none");
    assert_eq!(
        err,
        failure(
            "GetTableRequest",
            "pg.dropin_casing.sales",
            &not_exact("schema", "dropin_casing", "none", "dropin_Casing")
        )
    );
    // ... and casing_mode set beside it still wins.
    let c = pg_client(&[
        ("glue_connection", "dropin_not_fetched"),
        ("casing_mode", "case_insensitive_search"),
    ])
    .await;
    let r = read(&c, "dropin_casing", "sales", &["id"], &all)
        .await
        .unwrap();
    assert_eq!(rows(&r.batch, &["id"]), sales);
}

/// `casing_mode` on MySQL/MariaDB as the official connector reads it: unset, a database
/// with a mixed-case name is found from Athena's lower-case name; `none` matches exactly and
/// names what the database has; `case_insensitive_search` finds it again; a Glue
/// connection's default is `none`.
#[tokio::test]
async fn mysql_casing_mode_finds_names_as_the_official_connector_does() {
    let my = mysql().await;
    my.execute("DROP DATABASE IF EXISTS `dropin_MyCase`")
        .await
        .unwrap();
    my.execute("CREATE DATABASE `dropin_MyCase`").await.unwrap();
    my.execute(
        "CREATE TABLE `dropin_MyCase`.`Sales` (id INT); INSERT INTO `dropin_MyCase`.`Sales` VALUES (1), (2), (3)",
    )
    .await
    .unwrap();
    let sales = my_rows(
        &my,
        "SELECT CAST(id AS CHAR) FROM `dropin_MyCase`.`Sales` ORDER BY id",
    )
    .await;
    assert_eq!(sales, text(&[&[Some("1")], &[Some("2")], &[Some("3")]]));
    let all = Constraints::default();
    let unset_or_search: [&[(&str, &str)]; 2] =
        [&[], &[("casing_mode", "case_insensitive_search")]];
    for extra in unset_or_search {
        let c = my_client("dropin_MyCase", extra).await;
        let r = read(&c, "dropin_mycase", "sales", &["id"], &all)
            .await
            .unwrap();
        assert_eq!(real_name(&r), ("dropin_MyCase", "Sales"), "{extra:?}");
        assert_eq!(rows(&r.batch, &["id"]), sales, "{extra:?}");
    }
    let exact: [&[(&str, &str)]; 2] = [
        &[("casing_mode", "none")],
        &[("glue_connection", "dropin_not_fetched")],
    ];
    for extra in exact {
        let c = my_client("dropin_MyCase", extra).await;
        let err = read(&c, "dropin_mycase", "sales", &["id"], &all)
            .await
            .err()
            .expect("casing_mode=none does not find dropin_MyCase");
        assert_eq!(
            err,
            failure(
                "GetTableRequest",
                "my.dropin_mycase.sales",
                &not_exact("schema", "dropin_mycase", "none", "dropin_MyCase")
            ),
            "{extra:?}"
        );
    }
}

/// `glue_connection` end to end, as the official connectors read it: the Glue connection
/// (in moto) gives `default` from its JDBC_CONNECTION_URL and SECRET_ID (the secret in
/// Secrets Manager), and its AthenaProperties become variables (`casing_mode`,
/// `default_scale`); a variable the Lambda sets wins over the connection's; a connection
/// that does not exist is a configuration error naming it.
/// Reads "dropin_Glue"."Amounts" through `config`: the real names are found, and the unbounded
/// numeric `n` is decimal(38, `scale`) holding the database's values rounded to `scale`
/// (as unscaled integers), which are `want`.
async fn amounts_at_scale(
    pg: &sqlx::PgPool,
    sdk: &aws_config::SdkConfig,
    config: Config,
    scale: i8,
    want: &[&[Option<&str>]],
) {
    let c = client(Arc::new(Connector::with_aws(Ok(config), sdk.clone())), "pg").await;
    let r = read(
        &c,
        "dropin_glue",
        "amounts",
        &["id", "n"],
        &Constraints::default(),
    )
    .await
    .unwrap();
    assert_eq!(real_name(&r), ("dropin_Glue", "Amounts"));
    assert_eq!(
        r.table.schema.field_with_name("n").unwrap().data_type(),
        &DataType::Decimal128(38, scale)
    );
    let got = rows(&r.batch, &["id", "n"]);
    let truth = format!(
        r#"SELECT id::text, (round(n, {scale}) * 10::numeric ^ {scale})::numeric(60,0)::text FROM "dropin_Glue"."Amounts" ORDER BY id"#
    );
    assert_eq!(got, pg_rows(pg, &truth).await);
    assert_eq!(got, text(want));
}

#[tokio::test]
async fn a_glue_connection_configures_the_connector_beneath_the_lambda_variables() {
    let pg = postgres().await;
    pg.execute(
        r#"DROP SCHEMA IF EXISTS "dropin_Glue" CASCADE; CREATE SCHEMA "dropin_Glue";
           CREATE TABLE "dropin_Glue"."Amounts" (id int, n numeric);
           INSERT INTO "dropin_Glue"."Amounts" VALUES (1, 1.23456), (2, -2.0005), (3, 12345678.9), (4, NULL)"#,
    )
    .await
    .unwrap();
    let sdk = aws().await;
    let secret = "dropin_glue_secret";
    put_secret(secret, "athena", "athena").await;
    let connection = postgres_connection();
    let jdbc_url = connection
        .strip_prefix("postgres://")
        .and_then(|rest| rest.split_once('?'))
        .map(|(url, _)| url)
        .expect("postgres_connection() is postgres://jdbc:postgresql://HOST:PORT/DB?…");
    let name = "dropin_glue_pg";
    let glue = aws_sdk_glue::Client::new(&sdk);
    let _ = glue.delete_connection().connection_name(name).send().await;
    glue.create_connection()
        .connection_input(
            ConnectionInput::builder()
                .name(name)
                .connection_type(ConnectionType::Jdbc)
                .connection_properties(ConnectionPropertyKey::JdbcConnectionUrl, jdbc_url)
                .connection_properties(ConnectionPropertyKey::SecretId, secret)
                .athena_properties("casing_mode", "case_insensitive_search")
                .athena_properties("default_scale", "3")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let vars = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut all = vec![("glue_connection".to_owned(), name.to_owned())];
        all.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        all
    };
    let all = Constraints::default();

    // The connection's variables: casing_mode finds "dropin_Glue" (the Glue-style default,
    // none, would not), default_scale reads the unbounded numeric at scale 3.
    let config = Config::from_vars_and_glue(vars(&[]), &sdk).await.unwrap();
    assert_eq!(config.glue_connection.as_deref(), Some(name));
    assert_eq!(config.casing_mode, Some(CasingMode::CaseInsensitiveSearch));
    assert_eq!(config.default_scale, 3);
    amounts_at_scale(
        &pg,
        &sdk,
        config,
        3,
        &[
            &[Some("1"), Some("1235")],
            &[Some("2"), Some("-2001")],
            &[Some("3"), Some("12345678900")],
            &[Some("4"), None],
        ],
    )
    .await;

    // A Lambda variable wins over the connection's AthenaProperties.
    let config = Config::from_vars_and_glue(vars(&[("default_scale", "5")]), &sdk)
        .await
        .unwrap();
    assert_eq!(config.default_scale, 5);
    amounts_at_scale(
        &pg,
        &sdk,
        config,
        5,
        &[
            &[Some("1"), Some("123456")],
            &[Some("2"), Some("-200050")],
            &[Some("3"), Some("1234567890000")],
            &[Some("4"), None],
        ],
    )
    .await;
    let config = Config::from_vars_and_glue(vars(&[("casing_mode", "none")]), &sdk)
        .await
        .unwrap();
    assert_eq!(config.casing_mode, Some(CasingMode::None));
    let c = client(Arc::new(Connector::with_aws(Ok(config), sdk.clone())), "pg").await;
    let err = read(&c, "dropin_glue", "amounts", &["id"], &all)
        .await
        .err()
        .expect("the Lambda's casing_mode=none wins");
    assert_eq!(
        err,
        failure(
            "GetTableRequest",
            "pg.dropin_glue.amounts",
            &not_exact("schema", "dropin_glue", "none", "dropin_Glue")
        )
    );

    // A connection that does not exist: a configuration error naming it, which the
    // handler reports on the first request.
    let missing = vec![("glue_connection".to_owned(), "dropin_missing".to_owned())];
    let err = Config::from_vars_and_glue(missing.clone(), &sdk)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("glue:GetConnection dropin_missing: "),
        "{err}"
    );
    assert!(err.contains("EntityNotFoundException"), "{err}");
    let config = Config::from_vars_and_glue(missing, &sdk).await;
    let c = client(Arc::new(Connector::with_aws(config, sdk.clone())), "pg").await;
    let err = read(&c, "dropin_glue", "amounts", &["id"], &all)
        .await
        .err()
        .expect("no configuration without the connection");
    let prefix = failure(
        "GetTableRequest",
        "pg.dropin_glue.amounts",
        "glue:GetConnection dropin_missing: ",
    );
    assert!(err.starts_with(&prefix), "{err}");
}

/// JDBC URL parameters on PostgreSQL with pgjdbc's meaning: `ApplicationName` names the
/// session, `currentSchema` sets its search_path, `socketTimeout` (seconds, as pgjdbc counts
/// it) caps every statement; a parameter the connector does not know is refused by name.
#[tokio::test]
async fn postgres_jdbc_url_parameters_act_as_in_pgjdbc() {
    let pg = postgres().await;
    pg.execute(
        "DROP SCHEMA IF EXISTS dropin_cs CASCADE; CREATE SCHEMA dropin_cs;
         CREATE TABLE dropin_cs.t (id int); INSERT INTO dropin_cs.t VALUES (1), (2)",
    )
    .await
    .unwrap();
    let all = Constraints::default();
    let with = format!(
        "{}&ApplicationName=dropin_app&currentSchema=dropin_cs",
        postgres_connection()
    );
    let c = pg_client_at(&with, &[]).await;
    let r = read(&c, "dropin_cs", "t", &["id"], &all).await.unwrap();
    assert_eq!(
        rows(&r.batch, &["id"]),
        pg_rows(&pg, "SELECT id::text FROM dropin_cs.t ORDER BY id").await
    );
    // The pooled connection of that read, as the server names it.
    let sessions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dropin_app'",
    )
    .fetch_one(&pg)
    .await
    .unwrap();
    assert!(sessions >= 1, "no session named dropin_app");
    let b = run(
        &c,
        "SELECT current_setting('application_name') AS a, current_setting('search_path') AS p",
    )
    .await
    .unwrap();
    assert_eq!(
        rows_unordered(&b, &["a", "p"]),
        text(&[&[Some("dropin_app"), Some("dropin_cs")]])
    );
    // An unqualified name finds the table in currentSchema.
    let b = run(&c, "SELECT id FROM t").await.unwrap();
    assert_eq!(
        rows(&b, &["id"]),
        pg_rows(&pg, "SELECT id::text FROM dropin_cs.t ORDER BY id").await
    );

    // A parameter the connector does not know: the first request says which.
    let unknown = format!("{}&frobnicate=1", postgres_connection());
    let c = pg_client_at(&unknown, &[]).await;
    let err = read(&c, "dropin_cs", "t", &["id"], &all)
        .await
        .err()
        .expect("frobnicate is refused");
    assert_eq!(
        err,
        failure(
            "GetTableRequest",
            "pg.dropin_cs.t",
            "environment variable default: parameter frobnicate is not supported for postgres connection strings (the README's \"JDBC URL parameters\" lists those that are)"
        )
    );

    // socketTimeout=1 (one second): the server cancels a longer statement.
    let timeout = format!("{}&socketTimeout=1", postgres_connection());
    let c = pg_client_at(&timeout, &[]).await;
    let started = Instant::now();
    let err = run(&c, "SELECT 1 AS x FROM pg_sleep(3)")
        .await
        .map(|_| ())
        .expect_err("the statement outlives socketTimeout");
    let took = started.elapsed();
    assert_eq!(
        err,
        failure(
            "ReadRecordsRequest",
            "pg.system.query",
            "database error: canceling statement due to statement timeout (SQLSTATE 57014)"
        )
    );
    assert!(took < Duration::from_secs(3), "cancelled after {took:?}");
}

/// `columns` of `batch` as text rows, in the batch's order (a result without `id`).
fn rows_unordered(batch: &RecordBatch, columns: &[&str]) -> Rows {
    let values: Vec<Vec<Option<String>>> = columns.iter().map(|c| column_text(batch, c)).collect();
    (0..batch.num_rows())
        .map(|i| values.iter().map(|column| column[i].clone()).collect())
        .collect()
}

/// Flags read as leniently as the official connectors read them: only `true` (any case) is
/// true, so `enable_query_passthrough=yes` turns passthrough off (no `SYSTEM.QUERY`
/// capability, passthrough refused) and `disable_spill_encryption=yes` leaves spill
/// encryption on (every split carries a key).
#[tokio::test]
async fn flags_other_than_true_read_as_false() {
    let pg = postgres().await;
    pg.execute(
        "DROP SCHEMA IF EXISTS dropin_flags CASCADE; CREATE SCHEMA dropin_flags;
         CREATE TABLE dropin_flags.t (id int); INSERT INTO dropin_flags.t VALUES (1), (2), (3)",
    )
    .await
    .unwrap();
    let pushdown = [
        "supports_filter_pushdown",
        "supports_complex_expression_pushdown",
        "supports_limit_pushdown",
        "supports_top_n_pushdown",
    ];
    let with_passthrough: Vec<&str> = pushdown.iter().copied().chain(["SYSTEM.QUERY"]).collect();
    let c = pg_client(&[]).await;
    assert_eq!(capability_names(&c).await, with_passthrough);
    for value in ["yes", "1", "false"] {
        let c = pg_client(&[("enable_query_passthrough", value)]).await;
        assert_eq!(capability_names(&c).await, pushdown, "{value}");
        let err = run(&c, "SELECT 1 AS x")
            .await
            .map(|_| ())
            .expect_err("passthrough is off");
        assert_eq!(
            err,
            failure(
                "GetTableRequest",
                "pg.system.query",
                "query passthrough is disabled (enable_query_passthrough=false)"
            ),
            "{value}"
        );
    }
    let c = pg_client(&[("enable_query_passthrough", "TRUE")]).await;
    assert_eq!(capability_names(&c).await, with_passthrough);

    // (key length, nonce length) of each split's key.
    let keys = |c: Client| async move {
        let t = c
            .get_table(&TableName::new("dropin_flags", "t"), Default::default())
            .await
            .unwrap();
        let splits = c.splits(&t, &Constraints::default()).await.unwrap();
        assert!(!splits.is_empty());
        splits
            .iter()
            .map(|s| {
                s.encryption_key
                    .as_ref()
                    .map(|k| (k.key.len(), k.nonce.len()))
            })
            .collect::<Vec<_>>()
    };
    for value in ["yes", "1", "false"] {
        let c = pg_client(&[("disable_spill_encryption", value)]).await;
        let k = keys(c).await;
        assert!(
            k.iter().all(|key| *key == Some((32, 12))),
            "{value}: a 256-bit key and a 12-byte nonce per split, got {k:?}"
        );
    }
    for value in ["true", "True"] {
        let c = pg_client(&[("disable_spill_encryption", value)]).await;
        let k = keys(c).await;
        assert!(k.iter().all(Option::is_none), "{value}: no keys, got {k:?}");
    }
    let c = pg_client(&[("disable_spill_encryption", "yes")]).await;
    let r = read(&c, "dropin_flags", "t", &["id"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(
        rows(&r.batch, &["id"]),
        pg_rows(&pg, "SELECT id::text FROM dropin_flags.t ORDER BY id").await
    );
}

/// The one listing difference (README "Moving from the official connector"): system schemas
/// are not listed, where upstream lists every schema but information_schema; their tables
/// are still read by name, as Athena asks for a table.
#[tokio::test]
async fn system_schemas_are_not_listed_but_their_tables_read_by_name() {
    let c = pg_client(&[]).await;
    let schemas = c.list_schemas().await.unwrap();
    for hidden in ["pg_catalog", "information_schema", "pg_toast"] {
        assert!(
            !schemas.iter().any(|s| s == hidden),
            "{hidden} in {schemas:?}"
        );
    }
    assert!(schemas.iter().any(|s| s == "public"), "{schemas:?}");
    let am = read(
        &c,
        "pg_catalog",
        "pg_am",
        &["amname"],
        &Constraints::default(),
    )
    .await
    .unwrap();
    let names = integration_tests::check::column_text(&am.batch, "amname");
    assert!(names.contains(&Some("btree".to_owned())), "{names:?}");
}

/// PostgreSQL types as the official connector maps them: bit(1) is a boolean, oid a bigint
/// (unsigned 32-bit values beyond int's range stay exact), and a wider bit string is text.
#[tokio::test]
async fn postgres_bit1_is_boolean_and_oid_is_bigint() {
    let pg = postgres().await;
    pg.execute(
        "DROP SCHEMA IF EXISTS dropin_types CASCADE; CREATE SCHEMA dropin_types;
         CREATE TABLE dropin_types.t (id int, b bit(1), o oid, bb bit(4));
         INSERT INTO dropin_types.t VALUES
           (1, B'1', '4000000000', B'1010'), (2, B'0', '0', B'0000'), (3, NULL, NULL, NULL)",
    )
    .await
    .unwrap();
    let c = pg_client(&[]).await;
    let r = read(
        &c,
        "dropin_types",
        "t",
        &["id", "b", "o", "bb"],
        &Constraints::default(),
    )
    .await
    .unwrap();
    let types: Vec<(&str, DataType)> = r
        .table
        .schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type().clone()))
        .collect();
    assert_eq!(
        types,
        [
            ("id", DataType::Int32),
            ("b", DataType::Boolean),
            ("o", DataType::Int64),
            ("bb", DataType::Utf8),
        ]
    );
    let got = rows(&r.batch, &["b", "o", "bb"]);
    assert_eq!(
        got,
        pg_rows(
            &pg,
            "SELECT (b = B'1')::text, o::int8::text, bb::text FROM dropin_types.t ORDER BY id"
        )
        .await
    );
    assert_eq!(
        got,
        text(&[
            &[Some("true"), Some("4000000000"), Some("1010")],
            &[Some("false"), Some("0"), Some("0000")],
            &[None, None, None],
        ])
    );
}

/// MySQL's YEAR as the official connector reads it (Connector/J's yearIsDateType): a date,
/// January 1st of the year; the zero year (0000) and NULL are NULL.
#[tokio::test]
async fn mysql_year_is_january_first_of_the_year() {
    let my = mysql().await;
    my.execute("DROP DATABASE IF EXISTS dropin_year")
        .await
        .unwrap();
    my.execute("CREATE DATABASE dropin_year").await.unwrap();
    let mut conn = my.acquire().await.unwrap();
    conn.execute("SET SESSION sql_mode = ''").await.unwrap();
    conn.execute(
        "CREATE TABLE dropin_year.t (id INT, y YEAR);
         INSERT INTO dropin_year.t VALUES (1, 1901), (2, 2155), (3, 0), (4, NULL)",
    )
    .await
    .unwrap();
    drop(conn);
    assert_eq!(
        my_rows(
            &my,
            "SELECT CAST(y + 0 AS CHAR) FROM dropin_year.t ORDER BY id"
        )
        .await,
        text(&[&[Some("1901")], &[Some("2155")], &[Some("0")], &[None]]),
        "the database holds the zero year"
    );
    let c = my_client("dropin_year", &[]).await;
    let r = read(
        &c,
        "dropin_year",
        "t",
        &["id", "y"],
        &Constraints::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        r.table.schema.field_with_name("y").unwrap().data_type(),
        &DataType::Date32
    );
    let got = rows(&r.batch, &["y"]);
    assert_eq!(
        got,
        my_rows(
            &my,
            "SELECT CAST(IF(y = 0, NULL, DATEDIFF(MAKEDATE(y, 1), '1970-01-01')) AS CHAR) FROM dropin_year.t ORDER BY id"
        )
        .await
    );
    // 1901-01-01 and 2155-01-01, in days from the epoch.
    assert_eq!(
        got,
        text(&[&[Some("-25202")], &[Some("67570")], &[None], &[None]])
    );
}
