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
    let rest = postgres_url().split_once('@').unwrap().1.to_owned();
    let d = format!("postgres://jdbc:postgresql://{rest}?user=athena&password=athena");
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
    // The configured timeout applies when it is shorter; the session's idle limits are set.
    let c = {
        let rest = postgres_url().split_once('@').unwrap().1.to_owned();
        let d = format!("postgres://jdbc:postgresql://{rest}?user=athena&password=athena");
        client(connector(&[("default", &d)]).await, "pg").await
    };
    let configured = Limits {
        deadline: None,
        statement_timeout: Some(Duration::from_millis(700)),
    };
    let started = Instant::now();
    let err = deadline::scope(configured, run(&c, "SELECT 1 AS x FROM pg_sleep(60)"))
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
