//! The workflow's tasks: producer grant, consumer grant, producer revoke, consumer revoke.
//!
//! Each is idempotent and converges when retried after a failure at any point: the asset is
//! recorded before the database changes (so a concurrent revoke keeps the user), credentials
//! are persisted (the secret) before the database is made to match them (`ALTER … PASSWORD`),
//! and the user is dropped only under a condition on its record (no asset left, a drop mark
//! this revoke set), never after a read.

mod checkpoints;
mod grant;
mod revoke;

use athena_connector::secrets::parse_credentials;
use serde::{Deserialize, Serialize};

use crate::admin::Admin;
use crate::context::Context;
use crate::glue::JdbcTable;
use crate::grants::TableTarget;
use crate::subscription::{
    ConsumerGrant, ConsumerRevoke, ProducerGrant, ProducerRevoke, SubscriptionDetails,
};
use crate::tracking::Tracking;

pub use checkpoints::Checkpoints;
pub use grant::{consumer_grant, producer_grant, rotate};
pub use revoke::{consumer_revoke, producer_revoke};

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("invalid input: {0}")]
    Input(String),
    #[error("refused: {0}")]
    Forbidden(String),
    #[error("{0}")]
    Aws(String),
    #[error("database: {0}")]
    Database(String),
    #[error("{0}")]
    Unsupported(String),
    /// A concurrent grant or revoke of the same environment's user is under way; retrying
    /// after it finishes succeeds.
    #[error("busy: {0}")]
    Busy(String),
    /// A test's injected failure at a checkpoint.
    #[error("injected failure after {0}")]
    Injected(&'static str),
}

impl StepError {
    /// The Step Functions error name (for Retry/Catch).
    pub fn name(&self) -> &'static str {
        match self {
            StepError::Input(_) => "InvalidInput",
            StepError::Forbidden(_) => "Forbidden",
            StepError::Aws(_) => "AwsError",
            StepError::Database(_) => "DatabaseError",
            StepError::Unsupported(_) => "Unsupported",
            StepError::Busy(_) => "Busy",
            StepError::Injected(_) => "Injected",
        }
    }
}

fn location(t: &TableTarget) -> String {
    format!("{}.{}.{}", t.database, t.schema, t.table)
}

fn tracking(ctx: &Context) -> Tracking<'_> {
    Tracking {
        db: ctx.dynamodb(),
        settings: &ctx.settings,
    }
}

async fn admin(ctx: &Context, t: &JdbcTable) -> Result<Admin, StepError> {
    let value = ctx
        .secrets()
        .get_secret_value()
        .secret_id(&t.admin_secret)
        .send()
        .await
        .map_err(|e| {
            StepError::Aws(format!(
                "secretsmanager:GetSecretValue of the admin secret: {}",
                crate::aws_error(&e)
            ))
        })?;
    let creds = parse_credentials(&t.admin_secret, value.secret_string().unwrap_or_default())
        .map_err(|e| StepError::Input(e.to_string()))?;
    Admin::connect(&t.url, &t.target.database, &creds).await
}

fn tags(d: &SubscriptionDetails) -> [(&'static str, &str); 3] {
    [
        ("AmazonDataZoneDomain", d.domain_id.as_str()),
        (
            "AmazonDataZoneProject",
            d.consumer_project_details.project_id.as_str(),
        ),
        (
            "AmazonDataZoneEnvironment",
            d.consumer_project_details.environment_id.as_str(),
        ),
    ]
}

/// Both grant steps, as `provision grant` runs them.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantResult {
    pub producer: ProducerGrant,
    pub consumer: ConsumerGrant,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeResult {
    pub producer: ProducerRevoke,
    pub consumer: ConsumerRevoke,
}

/// How long the in-process runs wait for a concurrent run of the same environment
/// (Step Functions retries `Busy` itself).
const BUSY_RETRIES: u32 = 20;

async fn retry_busy<T, F, Fut>(mut run: F) -> Result<T, StepError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StepError>>,
{
    let mut attempt = 0;
    loop {
        match run().await {
            Err(StepError::Busy(why)) if attempt < BUSY_RETRIES => {
                attempt += 1;
                tracing::info!(attempt, %why, "waiting for a concurrent run");
                let jitter = u64::from(rand::random::<u8>());
                tokio::time::sleep(std::time::Duration::from_millis(
                    100 * u64::from(attempt.min(10)) + jitter,
                ))
                .await;
            }
            other => return other,
        }
    }
}

/// Both grant steps with checkpoints (tests interleave other runs at them).
pub async fn grant_with(
    ctx: &Context,
    d: &SubscriptionDetails,
    cp: &Checkpoints<'_>,
) -> Result<GrantResult, StepError> {
    let producer = producer_grant(ctx, d, cp).await?;
    let consumer = consumer_grant(ctx, d, &producer, cp).await?;
    Ok(GrantResult { producer, consumer })
}

/// Both revoke steps with checkpoints.
pub async fn revoke_with(
    ctx: &Context,
    d: &SubscriptionDetails,
    cp: &Checkpoints<'_>,
) -> Result<RevokeResult, StepError> {
    let producer = producer_revoke(ctx, d, cp).await?;
    let consumer = consumer_revoke(ctx, d, &producer, cp).await?;
    Ok(RevokeResult { producer, consumer })
}

/// Grant, waiting out a concurrent revoke of the same environment's user.
pub async fn grant(ctx: &Context, d: &SubscriptionDetails) -> Result<GrantResult, StepError> {
    let none = Checkpoints::none();
    retry_busy(|| grant_with(ctx, d, &none)).await
}

pub async fn revoke(ctx: &Context, d: &SubscriptionDetails) -> Result<RevokeResult, StepError> {
    let none = Checkpoints::none();
    retry_busy(|| revoke_with(ctx, d, &none)).await
}
