//! No password reaches the logs of a grant and revoke, at any level. Its own test binary:
//! one global subscriber captures everything (tracing's callsite cache makes per-thread
//! capture unreliable next to other tests).

use std::sync::Arc;

use athena_provisioning::steps;
use integration_tests::provisioning::*;

/// No password reaches the logs of a grant and revoke.
#[tokio::test]
async fn passwords_never_reach_the_logs() {
    use tracing_subscriber::layer::SubscriberExt;
    let buffer = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let writer = {
        let b = buffer.clone();
        move || Writer(b.clone())
    };
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false),
        )
        .with(tracing_subscriber::filter::LevelFilter::TRACE);
    tracing::subscriber::set_global_default(subscriber)
        .expect("the only subscriber of this binary");
    let pg = pg_setup("prov6", &["t"]).await;
    pg_forget(&pg, "env6").await;
    glue_table(
        "pgconn6",
        &pg_jdbc(),
        "athena",
        "athena-admin-pw",
        PRODUCER_PROJECT,
        "t6",
        "athena_test.prov6.t",
    )
    .await;
    let c = ctx().await;
    let d = details("env6", "asset-t6", "t6");
    let g = steps::grant(&c, &d).await.unwrap();
    let v: serde_json::Value = serde_json::from_str(
        c.secrets()
            .get_secret_value()
            .secret_id(&g.producer.secret_arn)
            .send()
            .await
            .unwrap()
            .secret_string()
            .unwrap(),
    )
    .unwrap();
    steps::revoke(&c, &d).await.unwrap();
    let logs = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("granted"), "the steps log: {logs}");
    assert!(
        !logs.contains(v["password"].as_str().unwrap()),
        "the user's password is in the logs"
    );
    assert!(
        !logs.contains("athena-admin-pw"),
        "the admin password is in the logs"
    );
}

struct Writer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
