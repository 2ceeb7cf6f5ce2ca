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
