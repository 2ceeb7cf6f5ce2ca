//! A deployed connector reached with `lambda:Invoke` (`athena-fed query --lambda`).

use async_trait::async_trait;

use crate::client::Transport;
use crate::protocol::{FunctionError, CONNECTOR_EXCEPTION};

pub struct LambdaTransport {
    pub client: aws_sdk_lambda::Client,
    pub function: String,
}

#[async_trait]
impl Transport for LambdaTransport {
    async fn call(&self, request: Vec<u8>) -> Result<Vec<u8>, FunctionError> {
        let out = self
            .client
            .invoke()
            .function_name(&self.function)
            .payload(aws_sdk_lambda::primitives::Blob::new(request))
            .send()
            .await
            .map_err(|e| {
                FunctionError::new(
                    "LambdaInvokeError",
                    format!(
                        "invoking {}: {}",
                        self.function,
                        aws_sdk_lambda::error::DisplayErrorContext(&e)
                    ),
                )
            })?;
        let payload = out.payload.map(|p| p.into_inner()).unwrap_or_default();
        if out.function_error.is_some() {
            // The body is the function error Athena would read.
            let parsed =
                crate::protocol::parse_message(&payload)
                    .ok()
                    .and_then(|p| match p.message {
                        crate::protocol::Message::Error(e) => Some(e),
                        _ => None,
                    });
            return Err(parsed.unwrap_or_else(|| {
                FunctionError::new(
                    CONNECTOR_EXCEPTION,
                    String::from_utf8_lossy(&payload).into_owned(),
                )
            }));
        }
        Ok(payload)
    }
}
