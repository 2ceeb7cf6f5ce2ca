//! The connector under limits (issue 11, items 6 and 8): statements cancelled by the server
//! before the Lambda's deadline, idle sessions closed by the server, and passthrough reads
//! that leave no session state behind and run exactly one statement. Real PostgreSQL and
//! MariaDB.

use std::time::{Duration, Instant};

use arrow::array::Array;
use athena_connector::client::Client;
use athena_connector::deadline::{self, Limits};
use athena_connector::protocol::{Constraints, TableName};
use integration_tests::*;
use sqlx::{AssertSqlSafe, Executor};

async fn pg_client() -> Client {
    let d = postgres_connection();
    client(connector(&[("default", &d)]).await, "pg").await
}

async fn my_client(db: &str) -> Client {
    let d = mysql_connection(db);
    client(connector(&[("default", &d)]).await, "my").await
}

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

/// The one column of a passthrough query's rows, as text.
async fn run(c: &Client, query: &str) -> Result<Vec<Option<String>>, String> {
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
    let mut out = Vec::new();
    for s in splits {
        for b in c
            .read_split(&name, t.schema.clone(), s, &constraints)
            .await
            .map_err(|e| e.to_string())?
        {
            let col = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
            let col = col
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .unwrap();
            out.extend((0..col.len()).map(|i| col.is_valid(i).then(|| col.value(i).to_owned())));
        }
    }
    Ok(out)
}

/// Polls `check` for up to five seconds (a closed connection's locks go when the server
/// notices the close).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..50 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}");
}

#[tokio::test]
async fn postgres_passthrough_leaves_no_session_state_and_runs_one_statement() {
    let pg = postgres().await;
    let c = pg_client().await;
    let default_path = run(&c, "SELECT current_setting('search_path') AS p")
        .await
        .unwrap();
    for _ in 0..5 {
        assert_eq!(
            run(
                &c,
                "SELECT set_config('search_path', 'nowhere', false) AS p"
            )
            .await
            .unwrap(),
            [Some("nowhere".to_owned())]
        );
        assert_eq!(
            run(&c, "SELECT set_config('TimeZone', 'EST5EDT', false) AS z")
                .await
                .unwrap(),
            [Some("EST5EDT".to_owned())]
        );
        assert_eq!(
            run(&c, "SELECT current_setting('search_path') AS p")
                .await
                .unwrap(),
            default_path,
            "the next read sees the default search_path"
        );
        assert_eq!(
            run(&c, "SELECT current_setting('TimeZone') AS z")
                .await
                .unwrap(),
            [Some("UTC".to_owned())]
        );
    }
    run(&c, "SELECT pg_advisory_lock(424242)::text AS l")
        .await
        .unwrap();
    let held = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242",
        )
        .fetch_one(&pg)
        .await
        .unwrap()
    };
    eventually(
        "the advisory lock is released with its connection",
        || async { held().await == 0 },
    )
    .await;
    // A text that would be two statements inside COPY (simple protocol) is refused.
    let escape = "SELECT 1 AS x) AS q) TO STDOUT (FORMAT binary); SELECT pg_advisory_lock(434343); COPY (SELECT 1 AS x FROM (SELECT 1 AS x";
    let err = run(&c, escape).await.unwrap_err();
    assert!(err.contains("syntax error"), "{err}");
    let two = "SELECT 1 AS x; SELECT pg_advisory_lock(434343)";
    let err = run(&c, two).await.unwrap_err();
    assert!(
        err.contains("cannot insert multiple commands into a prepared statement")
            || err.contains("syntax error"),
        "{err}"
    );
    let locks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 434343",
    )
    .fetch_one(&pg)
    .await
    .unwrap();
    assert_eq!(locks, 0, "no second statement ran");
}

#[tokio::test]
async fn mariadb_passthrough_leaves_no_session_state() {
    let my = mysql().await;
    my.execute("CREATE DATABASE IF NOT EXISTS my_limits")
        .await
        .unwrap();
    let c = my_client("my_limits").await;
    for _ in 0..5 {
        assert_eq!(
            run(&c, "SELECT CAST((@athena_v := 42) AS SIGNED) AS v")
                .await
                .unwrap(),
            [Some("42".to_owned())]
        );
        assert_eq!(
            run(&c, "SELECT CAST(COALESCE(@athena_v, -1) AS SIGNED) AS v")
                .await
                .unwrap(),
            [Some("-1".to_owned())],
            "the next read does not see the variable"
        );
    }
    run(&c, "SELECT GET_LOCK('athena_limits', 0) AS l")
        .await
        .unwrap();
    eventually("the named lock is released with its connection", || async {
        sqlx::query_scalar::<_, Option<i64>>("SELECT IS_USED_LOCK('athena_limits')")
            .fetch_one(&my)
            .await
            .unwrap()
            .is_none()
    })
    .await;
    let err = run(&c, "SELECT 1 AS x; SELECT GET_LOCK('athena_two', 0)")
        .await
        .unwrap_err();
    assert!(err.contains("SQL syntax"), "{err}");
}

/// What the server runs for the connector's user (`application_name`/`db`), other than the
/// probe itself.
async fn pg_running(pg: &sqlx::PgPool, like: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'athena-federation' AND state = 'active' AND query LIKE $1",
    )
    .bind(like)
    .fetch_one(pg)
    .await
    .unwrap()
}

#[tokio::test]
async fn postgres_statements_are_cancelled_by_the_server_before_the_deadline() {
    let pg = postgres().await;
    pg.execute("DROP SCHEMA IF EXISTS lim CASCADE; CREATE SCHEMA lim; CREATE VIEW lim.slow AS SELECT g AS id FROM generate_series(1, 3) g, pg_sleep(60)")
        .await
        .unwrap();
    let c = pg_client().await;
    let limits = Limits {
        deadline: Some(Instant::now() + Duration::from_secs(5)),
        statement_timeout: None,
    };
    let started = Instant::now();
    let err = deadline::scope(
        limits,
        read(&c, "lim", "slow", &["id"], &Constraints::default()),
    )
    .await
    .err()
    .expect("the read fails");
    let took = started.elapsed();
    assert!(
        err.contains("canceling statement due to statement timeout"),
        "{err}"
    );
    assert!(
        took < Duration::from_secs(4),
        "cancelled at the margin before the deadline, after {took:?}"
    );
    assert_eq!(
        pg_running(&pg, "%pg_sleep%").await + pg_running(&pg, "%lim%slow%").await,
        0,
        "nothing is left running"
    );
    // The configured timeout (`statement_timeout_seconds`) applies when it is shorter; the
    // session's idle limits are set.
    let c = {
        let d = postgres_connection();
        client(
            connector(&[("default", &d), ("statement_timeout_seconds", "1")]).await,
            "pg",
        )
        .await
    };
    let started = Instant::now();
    let err = run(&c, "SELECT 1 AS x FROM pg_sleep(60)")
        .await
        .unwrap_err();
    assert!(err.contains("statement timeout"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        run(
            &c,
            "SELECT current_setting('idle_session_timeout') || ' ' || current_setting('idle_in_transaction_session_timeout') AS t"
        )
        .await
        .unwrap(),
        [Some("2min 2min".to_owned())]
    );
}

#[tokio::test]
async fn mariadb_statements_are_cancelled_by_the_server_before_the_deadline() {
    let my = mysql().await;
    my.execute(
        "DROP DATABASE IF EXISTS my_lim; CREATE DATABASE my_lim; CREATE VIEW my_lim.slow AS SELECT SLEEP(60) AS id",
    )
    .await
    .unwrap();
    let c = my_client("my_lim").await;
    let limits = Limits {
        deadline: Some(Instant::now() + Duration::from_secs(5)),
        statement_timeout: None,
    };
    let started = Instant::now();
    let err = deadline::scope(
        limits,
        read(&c, "my_lim", "slow", &["id"], &Constraints::default()),
    )
    .await
    .err()
    .expect("the read fails");
    assert!(err.contains("max_statement_time exceeded"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4));
    let running: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '%SLEEP(60)%' AND info NOT LIKE '%processlist%'",
    )
    .fetch_one(&my)
    .await
    .unwrap();
    assert_eq!(running, 0, "nothing is left running");
    assert_eq!(
        run(&c, "SELECT @@session.wait_timeout AS t").await.unwrap(),
        [Some("120".to_owned())]
    );
    let _ = my.execute(AssertSqlSafe("DROP DATABASE my_lim")).await;
}

/// The connector as the Lambda runs it: `handle_until` with a deadline.
struct UntilDeadline(
    std::sync::Arc<athena_connector::handler::Connector>,
    Instant,
);

#[async_trait::async_trait]
impl athena_connector::client::Transport for UntilDeadline {
    async fn call(
        &self,
        request: Vec<u8>,
    ) -> Result<Vec<u8>, athena_connector::protocol::FunctionError> {
        self.0.handle_until(&request, Some(self.1)).await
    }
}

#[tokio::test]
async fn a_request_near_the_lambda_deadline_ends_cleanly_with_an_error() {
    let pg = postgres().await;
    pg.execute("DROP SCHEMA IF EXISTS lim2 CASCADE; CREATE SCHEMA lim2; CREATE VIEW lim2.slow AS SELECT g AS id FROM generate_series(1, 3) g, pg_sleep(60)")
        .await
        .unwrap();
    let d = postgres_connection();
    let connector = connector(&[("default", &d)]).await;
    // Metadata first, without a deadline; then the read with 5 s left.
    let plain = client(connector.clone(), "pg").await;
    let t = plain
        .get_table(&TableName::new("lim2", "slow"), Default::default())
        .await
        .unwrap();
    let splits = plain.splits(&t, &Constraints::default()).await.unwrap();
    let mut c = Client::new(
        std::sync::Arc::new(UntilDeadline(
            connector,
            Instant::now() + Duration::from_secs(5),
        )),
        "pg",
    );
    c.version = plain.version;
    let started = Instant::now();
    let err = c
        .read_split(
            &t.table_name,
            t.schema.clone(),
            splits[0].clone(),
            &Constraints::default(),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("canceling statement due to statement timeout"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(pg_running(&pg, "%pg_sleep%").await, 0);
}

#[tokio::test]
async fn a_split_stops_reading_once_athena_reports_its_query_over() {
    let pg = postgres().await;
    pg.execute("DROP SCHEMA IF EXISTS lim3 CASCADE; CREATE SCHEMA lim3; CREATE VIEW lim3.many AS SELECT g AS id FROM generate_series(1, 5000000) g; CREATE VIEW lim3.few AS SELECT g AS id FROM generate_series(1, 100000) g")
        .await
        .unwrap();
    let aws = aws().await;
    let athena = aws_sdk_athena::Client::new(&aws);
    let started = athena
        .start_query_execution()
        .query_string("SELECT * FROM pg.lim3.many")
        .result_configuration(
            aws_sdk_athena::types::ResultConfiguration::builder()
                .output_location("s3://athena-results/")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let query_id = started.query_execution_id().unwrap().to_owned();
    athena
        .stop_query_execution()
        .query_execution_id(&query_id)
        .send()
        .await
        .unwrap();
    let d = postgres_connection();
    let config = athena_connector::config::Config::from_vars([("default".to_owned(), d)]);
    let states = std::sync::Arc::new(athena_connector::query_status::AthenaQueryStates::new(&aws));
    let connector = std::sync::Arc::new(
        athena_connector::handler::Connector::with_aws(config, aws)
            .with_query_states(states, Duration::from_millis(100)),
    );
    let mut c = client(connector, "pg").await;
    c.query_id = query_id;
    let rows = |r: &Read| r.batch.num_rows();
    let cancelled = read(&c, "lim3", "many", &["id"], &Constraints::default())
        .await
        .expect("a cancelled query's split answers what it read");
    assert!(
        rows(&cancelled) < 5_000_000,
        "stopped early: {} rows",
        rows(&cancelled)
    );
    // A query Athena does not know (here: the local engine's ids) is read to the end.
    c.query_id = "not-an-athena-query".into();
    let unknown = read(&c, "lim3", "few", &["id"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(rows(&unknown), 100_000);
}

/// GetTable's error, which must be of the SDK's throttle type.
async fn throttled_get_table(c: &Client, schema: &str) -> String {
    let err = c
        .get_table(&TableName::new(schema, "x"), Default::default())
        .await
        .unwrap_err();
    let athena_connector::client::ClientError::Connector { error, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        error.error_type.as_deref(),
        Some(athena_connector::protocol::THROTTLE_EXCEPTION),
        "{err}"
    );
    err.to_string()
}

#[tokio::test]
async fn throttling_is_reported_as_athena_retries_it() {
    // A role whose connection limit is reached (PostgreSQL 53300).
    let pg = postgres().await;
    pg.execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lim_full') THEN CREATE ROLE lim_full LOGIN PASSWORD 'lim-full' CONNECTION LIMIT 0 IN ROLE athena_password_auth; END IF; END $$; GRANT USAGE ON SCHEMA lim3 TO lim_full")
        .await
        .ok();
    let rest = postgres_url()
        .split_once('@')
        .unwrap()
        .1
        .split_once('/')
        .unwrap()
        .0
        .to_owned();
    let d =
        format!("postgres://jdbc:postgresql://{rest}/athena_test?user=lim_full&password=lim-full");
    let c = client(connector(&[("default", &d)]).await, "pg").await;
    let err = throttled_get_table(&c, "public").await;
    assert!(err.contains("has no connection to spare"), "{err}");
    // MariaDB: an account at its MAX_USER_CONNECTIONS.
    let my = mysql().await;
    my.execute("CREATE USER IF NOT EXISTS 'lim_one'@'%' IDENTIFIED BY 'lim-one' WITH MAX_USER_CONNECTIONS 1; GRANT SELECT ON athena_test.* TO 'lim_one'@'%'")
        .await
        .unwrap();
    let server = mysql_server();
    let hold = sqlx::MySqlPool::connect(&format!(
        "mysql://lim_one:lim-one@{}/athena_test",
        server.trim_start_matches("mysql://")
    ))
    .await;
    let held = match &hold {
        Ok(p) => Some(p.acquire().await.unwrap()),
        Err(e) => panic!("holding the one connection: {e}"),
    };
    let d = format!(
        "mysql://jdbc:mysql://{}/athena_test?user=lim_one&password=lim-one",
        server.trim_start_matches("mysql://")
    );
    let c = client(connector(&[("default", &d)]).await, "my").await;
    let err = throttled_get_table(&c, "athena_test").await;
    assert!(err.contains("has no connection to spare"), "{err}");
    drop(held);
    // Secrets Manager throttling the connection's secret.
    let d = format!("postgres://jdbc:postgresql://{rest}/athena_test?${{lim/secret}}");
    let config = athena_connector::config::Config::from_vars([("default".to_owned(), d)]);
    let connector = std::sync::Arc::new(athena_connector::handler::Connector::with_aws(
        config,
        integration_tests::stand_ins::throttled_aws().await,
    ));
    let mut c = Client::new(
        std::sync::Arc::new(athena_connector::client::InProcess(connector)),
        "pg",
    );
    c.version = athena_connector::protocol::SerDeVersion::new(5).unwrap();
    let err = throttled_get_table(&c, "public").await;
    assert!(err.contains("Secrets Manager is throttling"), "{err}");
}

/// GetSplits pages hold at most `splits_per_page` splits, also within one partition.
#[tokio::test]
async fn get_splits_pages_within_one_partition() {
    let pg = postgres().await;
    pg.execute("DROP SCHEMA IF EXISTS lim4 CASCADE; CREATE SCHEMA lim4; CREATE TABLE lim4.t (id int8 PRIMARY KEY, s text); INSERT INTO lim4.t SELECT g, md5(g::text) FROM generate_series(1, 20000) g; ANALYZE lim4.t")
        .await
        .unwrap();
    let d = postgres_connection();
    let connector = connector(&[
        ("default", &d),
        ("split_target_bytes", "50000"),
        ("splits_per_page", "3"),
    ])
    .await;
    let pages = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    struct Pages(
        std::sync::Arc<athena_connector::handler::Connector>,
        std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
    );
    #[async_trait::async_trait]
    impl athena_connector::client::Transport for Pages {
        async fn call(
            &self,
            request: Vec<u8>,
        ) -> Result<Vec<u8>, athena_connector::protocol::FunctionError> {
            let out = self.0.handle(&request).await?;
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            if v["@type"] == "GetSplitsResponse" {
                self.1
                    .lock()
                    .unwrap()
                    .push(v["splits"].as_array().unwrap().len());
            }
            Ok(out)
        }
    }
    let mut c = Client::new(std::sync::Arc::new(Pages(connector, pages.clone())), "pg");
    c.ping().await.unwrap();
    let r = read(&c, "lim4", "t", &["id"], &Constraints::default())
        .await
        .unwrap();
    let pages = pages.lock().unwrap().clone();
    assert!(pages.len() > 2, "several pages: {pages:?}");
    assert!(pages.iter().all(|n| *n <= 3), "{pages:?}");
    assert_eq!(pages.iter().sum::<usize>(), r.splits);
    let mut ids: Vec<i64> = (0..r.batch.num_rows())
        .map(|i| {
            r.batch
                .column(0)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .unwrap()
                .value(i)
        })
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        (1..=20000).collect::<Vec<_>>(),
        "every row exactly once"
    );
}

/// With `kms_key_id`, the data keys of one GetSplits page are fetched concurrently, one per
/// split.
#[tokio::test]
async fn kms_data_keys_are_fetched_concurrently() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pg = postgres().await;
    pg.execute("DROP SCHEMA IF EXISTS lim5 CASCADE; CREATE SCHEMA lim5; CREATE TABLE lim5.t (id int8 PRIMARY KEY, s text); INSERT INTO lim5.t SELECT g, md5(g::text) FROM generate_series(1, 20000) g; ANALYZE lim5.t")
        .await
        .unwrap();
    let key = aws_sdk_kms::Client::new(&aws().await)
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_owned();
    let most = std::sync::Arc::new(AtomicUsize::new(0));
    let sdk = aws()
        .await
        .to_builder()
        .http_client(integration_tests::stand_ins::CountingInFlight {
            inner: aws_smithy_http_client::Builder::new().build_http(),
            target: "TrentService.GenerateDataKey",
            in_flight: std::sync::Arc::new(AtomicUsize::new(0)),
            most: most.clone(),
        })
        .build();
    let d = postgres_connection();
    let config = athena_connector::config::Config::from_vars(
        [
            ("default", d.as_str()),
            ("split_target_bytes", "50000"),
            ("kms_key_id", &key),
            ("spill_bucket", "kms-spill"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    create_bucket("kms-spill").await;
    let connector =
        std::sync::Arc::new(athena_connector::handler::Connector::with_aws(config, sdk));
    let c = client(connector, "pg").await;
    let t = c
        .get_table(&TableName::new("lim5", "t"), Default::default())
        .await
        .unwrap();
    let splits = c.splits(&t, &Constraints::default()).await.unwrap();
    assert!(splits.len() > 4, "{} splits", splits.len());
    let keys: std::collections::HashSet<Vec<u8>> = splits
        .iter()
        .map(|s| {
            s.encryption_key
                .as_ref()
                .expect("a key per split")
                .key
                .clone()
        })
        .collect();
    assert_eq!(keys.len(), splits.len(), "one data key per split");
    assert!(
        most.load(Ordering::SeqCst) > 1,
        "GenerateDataKey calls overlapped: at most {} at once",
        most.load(Ordering::SeqCst)
    );
    let r = read(&c, "lim5", "t", &["id"], &Constraints::default())
        .await
        .unwrap();
    assert_eq!(r.batch.num_rows(), 20000);
}
