//! The provisioning Lambda (`provided.al2023`): the state machines' tasks. Logic is in
//! [`athena_provisioning::handler`]; credentials come from the function's role (a refreshing
//! provider), the governance account's tracking role through a refreshing provider, and
//! consumer-account roles are assumed per invocation.

use std::sync::Arc;

use athena_provisioning::context::{Context, Settings};
use athena_provisioning::datazone::AwsDataZone;
use athena_provisioning::governance::Routing;
use athena_provisioning::handler::{self, Toolkit};
use athena_provisioning::toolkit::environment::{AssumedAccounts, EnvironmentSettings};
use athena_provisioning::toolkit::launch::LaunchClients;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .without_time()
        .init();
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dz = Arc::new(AwsDataZone {
        client: aws_sdk_datazone::Client::new(&aws),
    });
    let routing = Arc::new(Routing::from_env());
    let environments = EnvironmentSettings::from_env();
    let toolkit = Arc::new(Toolkit {
        accounts: Box::new(AssumedAccounts {
            base: aws.clone(),
            role_name: environments.access_role_name.clone(),
        }),
        environments,
        launch: LaunchClients {
            cloudformation: aws_sdk_cloudformation::Client::new(&aws),
            iam: aws_sdk_iam::Client::new(&aws),
            secrets: aws_sdk_secretsmanager::Client::new(&aws),
            glue: aws_sdk_glue::Client::new(&aws),
        },
    });
    // Built once: the tracking role's provider re-assumes it before its credentials expire.
    let ctx = Arc::new(Context::new(Settings::from_env(), aws).await);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (dz, routing, ctx, toolkit) =
            (dz.clone(), routing.clone(), ctx.clone(), toolkit.clone());
        async move {
            handler::handle_event(&ctx, dz.as_ref(), &routing, &toolkit, event.payload)
                .await
                .map_err(|e| Diagnostic {
                    error_type: e.name().into(),
                    error_message: e.to_string(),
                })
        }
    }))
    .await
}
