//! The Lambda (`provided.al2023`, handler `bootstrap`): every federation request in, its
//! response out, as raw JSON. All logic is in [`Connector`]; clients, pools and secrets are
//! created on first use and reused across invocations, and a configuration error is
//! reported on the first request rather than failing the cold start.

use std::sync::Arc;

use athena_connector::config::Config;
use athena_connector::handler::Connector;
use athena_connector::query_status::{self, AthenaQueryStates};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::value::RawValue;

async fn handle(
    connector: Arc<Connector>,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Box<RawValue>, Diagnostic> {
    let request_id = event.context.request_id.clone();
    let span = tracing::info_span!("invocation", request_id = %request_id);
    let _enter = span.enter();
    // The Lambda's deadline (milliseconds since the epoch) as an instant of this clock.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let deadline = std::time::Instant::now()
        + std::time::Duration::from_millis(event.context.deadline.saturating_sub(now_ms));
    match connector
        .handle_until(event.payload.get().as_bytes(), Some(deadline))
        .await
    {
        // The connector wrote valid JSON; hand it over without parsing it again.
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|e| Diagnostic {
                error_type: "InternalError".into(),
                error_message: e.to_string(),
            })?;
            RawValue::from_string(text).map_err(|e| Diagnostic {
                error_type: "InternalError".into(),
                error_message: e.to_string(),
            })
        }
        Err(e) => Err(Diagnostic {
            error_type: e
                .error_type
                .unwrap_or_else(|| athena_connector::protocol::CONNECTOR_EXCEPTION.into()),
            error_message: e.error_message.unwrap_or_default(),
        }),
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // JSON lines for CloudWatch; the timestamp comes from CloudWatch itself.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(true)
        .without_time()
        .with_target(false)
        .init();
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // Splits stop reading once Athena reports their query finished or cancelled.
    let states = Arc::new(AthenaQueryStates::new(&aws));
    let connector = Arc::new(
        Connector::with_aws(Config::from_env_and_glue(&aws).await, aws)
            .with_query_states(states, query_status::DEFAULT_INTERVAL),
    );
    lambda_runtime::run(service_fn(move |event| handle(connector.clone(), event))).await
}
