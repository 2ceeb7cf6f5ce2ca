//! AWS answers moto cannot give, as HTTP clients for an SDK configuration (hand-written
//! stand-ins, labelled as such): every call throttled.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// Answers every AWS JSON-protocol call with `ThrottlingException` (HTTP 400), as Secrets
/// Manager and KMS do when a request rate is exceeded.
#[derive(Debug, Clone)]
pub struct AlwaysThrottled;

impl HttpClient for AlwaysThrottled {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for AlwaysThrottled {
    fn call(
        &self,
        _: aws_smithy_runtime_api::client::orchestrator::HttpRequest,
    ) -> HttpConnectorFuture {
        HttpConnectorFuture::ready(Ok({
            let mut r = HttpResponse::new(
                StatusCode::try_from(400u16).expect("a status"),
                SdkBody::from(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
            );
            r.headers_mut()
                .insert("content-type", "application/x-amz-json-1.1");
            r
        }))
    }
}

/// An SDK configuration whose every call is throttled.
pub async fn throttled_aws() -> aws_config::SdkConfig {
    crate::aws()
        .await
        .to_builder()
        .http_client(AlwaysThrottled)
        .build()
}

/// Passes every call through to `inner` (moto), counting how many calls whose
/// `x-amz-target` is `target` were in flight at once.
#[derive(Debug, Clone)]
pub struct CountingInFlight {
    pub inner: aws_smithy_runtime_api::client::http::SharedHttpClient,
    pub target: &'static str,
    pub in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    pub most: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

#[derive(Debug)]
struct CountingConnector {
    inner: SharedHttpConnector,
    counter: CountingInFlight,
}

impl HttpClient for CountingInFlight {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CountingConnector {
            inner: self.inner.http_connector(settings, components),
            counter: self.clone(),
        })
    }
}

impl HttpConnector for CountingConnector {
    fn call(
        &self,
        request: aws_smithy_runtime_api::client::orchestrator::HttpRequest,
    ) -> HttpConnectorFuture {
        use std::sync::atomic::Ordering;
        let counted = request.headers().get("x-amz-target") == Some(self.counter.target);
        let (inner, c) = (self.inner.clone(), self.counter.clone());
        HttpConnectorFuture::new(async move {
            if counted {
                let now = c.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                c.most.fetch_max(now, Ordering::SeqCst);
                // Long enough for concurrent callers to overlap.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            let out = inner.call(request).await;
            if counted {
                c.in_flight.fetch_sub(1, Ordering::SeqCst);
            }
            out
        })
    }
}
