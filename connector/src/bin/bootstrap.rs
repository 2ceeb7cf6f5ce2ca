//! The Lambda (`provided.al2023`, handler `bootstrap`): every federation request in, its
//! response out, as raw JSON. All logic is in [`Connector`]; clients, pools and secrets are
//! created on first use and reused across invocations, and a configuration error is
//! reported on the first request rather than failing the cold start.

use std::sync::Arc;

use athena_connector::handler::Connector;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::value::RawValue;

async fn handle(
    connector: Arc<Connector>,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Box<RawValue>, Diagnostic> {
    let request_id = event.context.request_id.clone();
    let span = tracing::info_span!("invocation", request_id = %request_id);
    let _enter = span.enter();
    match connector.handle(event.payload.get().as_bytes()).await {
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
    let connector = Arc::new(Connector::from_env());
    lambda_runtime::run(service_fn(move |event| handle(connector.clone(), event))).await
}
