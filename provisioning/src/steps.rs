//! The workflow's tasks: producer grant, consumer grant, producer revoke, consumer revoke.
//!
//! Each is idempotent and converges when retried after a failure at any point: credentials
//! are persisted (the secret) before the database is changed, and the database is then made
//! to match them (`ALTER … PASSWORD`); DynamoDB updates are atomic set operations.

use athena_connector::secrets::parse_credentials;
use serde::{Deserialize, Serialize};

use crate::admin::Admin;
use crate::context::Context;
use crate::glue::{resolve, JdbcTable, Resolution};
use crate::grants::{self, user_name, TableTarget};
use crate::key_grants;
use crate::password;
use crate::secrets::{self, SecretValue};
use crate::subscription::{
    ConsumerGrant, ConsumerRevoke, ProducerGrant, ProducerRevoke, SubscriptionDetails,
};
use crate::tracking::Tracking;

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
            StepError::Injected(_) => "Injected",
        }
    }
}

/// Where tests stop a step (after this checkpoint) to prove that a retry converges.
pub type FailAfter = Option<&'static str>;

fn checkpoint(fail: FailAfter, here: &'static str) -> Result<(), StepError> {
    match fail {
        Some(f) if f == here => Err(StepError::Injected(here)),
        _ => Ok(()),
    }
}

fn location(t: &TableTarget) -> String {
    format!("{}.{}.{}", t.database, t.schema, t.table)
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
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
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

/// Producer grant: the environment's user on the table's server has SELECT on the table,
/// and its credentials are in the producer secret, readable by the consumer role.
pub async fn producer_grant(
    ctx: &Context,
    d: &SubscriptionDetails,
    fail: FailAfter,
) -> Result<ProducerGrant, StepError> {
    let t = match resolve(ctx, d).await? {
        Resolution::Jdbc(t) => t,
        Resolution::NotJdbc(why) => {
            return Ok(ProducerGrant {
                provisioned: false,
                skipped_reason: Some(why),
                server: String::new(),
                user_name: String::new(),
                secret_arn: String::new(),
                secret_name: String::new(),
                assets: vec![],
            })
        }
    };
    let env = &d.consumer_project_details.environment_id;
    let user = user_name(env).map_err(|e| StepError::Input(e.to_string()))?;
    let sql =
        grants::for_engine(t.url.engine).map_err(|e| StepError::Unsupported(e.to_string()))?;
    let tracking = Tracking {
        db: ctx.dynamodb(),
        settings: &ctx.settings,
    };
    let sm = ctx.secrets();
    // 1. The credentials, persisted first (deterministic name: a retry finds them).
    let name = secrets::producer_secret_name(env, &t.server);
    let fresh = SecretValue {
        engine: t.url.engine.name().to_owned(),
        host: t.url.host.clone(),
        port: t.url.port_or_default().to_string(),
        dbname: t.target.database.clone(),
        username: user.clone(),
        password: password::generate().map_err(|e| StepError::Aws(e.to_string()))?,
    };
    let (secret_arn, mut value, _) = secrets::create_or_get(
        &sm,
        &name,
        &fresh,
        ctx.settings.kms_key_id.as_deref(),
        &tags(d),
    )
    .await?;
    if !password::meets_policy(&value.password) || value.username != user {
        // A secret edited by hand: replace its password rather than put it into DDL.
        value = SecretValue {
            username: user.clone(),
            password: fresh.password.clone(),
            ..value
        };
        secrets::upsert(
            &sm,
            &name,
            &value,
            ctx.settings.kms_key_id.as_deref(),
            &tags(d),
        )
        .await?;
    }
    checkpoint(fail, "secret")?;
    // 2. The user record (one per server and environment, whatever the Glue connection).
    let record = crate::tracking::UserRecord {
        server: t.server.clone(),
        environment_id: env.clone(),
        user_name: user.clone(),
        secret_arn: secret_arn.clone(),
        secret_name: name.clone(),
        grants: Default::default(),
    };
    let extra = [
        (
            "consumer_account",
            d.consumer_project_details.account_id.as_str(),
        ),
        (
            "consumer_project_id",
            d.consumer_project_details.project_id.as_str(),
        ),
        ("domain_id", d.domain_id.as_str()),
    ];
    tracking.create_user(&record, &extra).await?;
    checkpoint(fail, "record")?;
    // 3. The database matches the secret.
    let mut db = admin(ctx, &t).await?;
    let statements = if db.user_exists(sql.user_exists(), &user).await? {
        sql.set_password(&user, &value.password)
    } else {
        sql.create_user(&user, &value.password)
    };
    db.run(&statements).await?;
    checkpoint(fail, "user")?;
    db.run(&sql.grant(&user, &t.target)).await?;
    checkpoint(fail, "grant")?;
    // 4. The asset, recorded; the consumer role may read the secret.
    let updated = tracking
        .add_asset(&t.server, env, &d.asset_details.id, &location(&t.target))
        .await?;
    let consumer_role = format!(
        "arn:aws:iam::{}:role/{}",
        d.consumer_project_details.account_id, ctx.settings.consumer_role_name
    );
    secrets::put_policy(&sm, &secret_arn, &consumer_role).await?;
    if let Some(key) = &ctx.settings.kms_key_id {
        key_grants::grant_decrypt(&ctx.kms(), key, &secret_arn, &name, &consumer_role).await?;
    }
    checkpoint(fail, "asset")?;
    let mut assets: Vec<String> = updated.grants.keys().cloned().collect();
    assets.sort();
    tracing::info!(server = %t.server, user = %user, asset = %d.asset_details.id, "granted");
    Ok(ProducerGrant {
        provisioned: true,
        skipped_reason: None,
        server: t.server,
        user_name: user,
        secret_arn,
        secret_name: name,
        assets,
    })
}

/// Consumer grant: the producer secret copied into the consumer account under a
/// deterministic name (a retry updates it), and the subscription recorded.
pub async fn consumer_grant(
    ctx: &Context,
    d: &SubscriptionDetails,
    p: &ProducerGrant,
    fail: FailAfter,
) -> Result<ConsumerGrant, StepError> {
    if !p.provisioned {
        return Ok(ConsumerGrant {
            provisioned: false,
            secret_arn: String::new(),
            secret_name: String::new(),
        });
    }
    let c = &d.consumer_project_details;
    let consumer = ctx
        .consumer_secrets(&c.account_id, &c.region)
        .await
        .map_err(StepError::Aws)?;
    // The consumer reads the producer secret with its own role (the resource policy).
    let (_, value) = secrets::existing(&consumer, &p.secret_arn)
        .await?
        .ok_or_else(|| StepError::Aws(format!("producer secret {} not found", p.secret_arn)))?;
    let name = secrets::consumer_secret_name(&c.environment_id, &p.server);
    let arn = secrets::upsert(&consumer, &name, &value, None, &tags(d)).await?;
    checkpoint(fail, "copy")?;
    let tracking = Tracking {
        db: ctx.dynamodb(),
        settings: &ctx.settings,
    };
    let details_json = serde_json::to_string(d).expect("serializable");
    tracking
        .upsert(
            &ctx.settings.mappings_table,
            &[("producer_secret_arn", &p.secret_arn)],
            &[
                ("consumer_secret_arn", &arn),
                ("consumer_secret_name", &name),
                ("environment_id", &c.environment_id),
                ("consumer_account", &c.account_id),
                ("domain_id", &d.domain_id),
            ],
        )
        .await?;
    tracking
        .upsert(
            &ctx.settings.subscriptions_table,
            &[
                ("environment_id", &c.environment_id),
                ("asset_id", &d.asset_details.id),
            ],
            &[
                ("consumer_project_id", &c.project_id),
                ("domain_id", &d.domain_id),
                ("listing_id", &d.listing_details.id),
                ("listing_name", &d.listing_details.name),
                ("listing_revision", &d.listing_details.revision),
                ("asset_revision", &d.asset_details.revision),
                ("asset_type", &d.asset_details.asset_type),
                ("producer_secret_arn", &p.secret_arn),
                ("consumer_secret_arn", &arn),
                ("consumer_secret_name", &name),
                // What an environment deletion revokes, without asking DataZone again.
                ("subscription_details", &details_json),
            ],
        )
        .await?;
    Ok(ConsumerGrant {
        provisioned: true,
        secret_arn: arn,
        secret_name: name,
    })
}

/// Producer revoke: REVOKE exactly what the recorded grant gave; the environment's last
/// asset on the server drops the user and schedules the producer secret's deletion.
/// Revoking what was never granted succeeds and changes nothing.
pub async fn producer_revoke(
    ctx: &Context,
    d: &SubscriptionDetails,
    fail: FailAfter,
) -> Result<ProducerRevoke, StepError> {
    let none = |why: Option<String>| ProducerRevoke {
        provisioned: false,
        skipped_reason: why,
        user_dropped: false,
        secret_arn: String::new(),
        secret_deletion_date: None,
        remaining_assets: vec![],
    };
    let t = match resolve(ctx, d).await? {
        Resolution::Jdbc(t) => t,
        Resolution::NotJdbc(why) => return Ok(none(Some(why))),
    };
    let env = &d.consumer_project_details.environment_id;
    let tracking = Tracking {
        db: ctx.dynamodb(),
        settings: &ctx.settings,
    };
    let Some(before) = tracking.user(&t.server, env).await? else {
        return Ok(none(Some("nothing was granted".into())));
    };
    let sql =
        grants::for_engine(t.url.engine).map_err(|e| StepError::Unsupported(e.to_string()))?;
    let mut db = admin(ctx, &t).await?;
    if let Some(granted) = before.grants.get(&d.asset_details.id) {
        // Revoke the table the grant recorded (not whatever Glue says today).
        let target = {
            let parts: Vec<&str> = granted.splitn(3, '.').collect();
            TableTarget {
                database: parts[0].into(),
                schema: parts.get(1).copied().unwrap_or_default().into(),
                table: parts.get(2).copied().unwrap_or_default().into(),
            }
        };
        let same_schema = before
            .grants
            .iter()
            .filter(|(a, loc)| {
                *a != &d.asset_details.id
                    && loc.rsplit_once('.').map(|x| x.0) == granted.rsplit_once('.').map(|x| x.0)
            })
            .count();
        db.run(&sql.revoke(&before.user_name, &target, same_schema == 0))
            .await?;
    }
    checkpoint(fail, "revoke")?;
    let after = tracking
        .remove_asset(&t.server, env, &d.asset_details.id)
        .await?;
    let remaining: Vec<String> = after
        .as_ref()
        .map(|r| r.grants.keys().cloned().collect())
        .unwrap_or_default();
    let mut result = ProducerRevoke {
        provisioned: true,
        skipped_reason: None,
        user_dropped: false,
        secret_arn: before.secret_arn.clone(),
        secret_deletion_date: None,
        remaining_assets: remaining.clone(),
    };
    if remaining.is_empty() && tracking.delete_user_if_unused(&t.server, env).await? {
        checkpoint(fail, "record")?;
        db.run(&sql.drop_user(&before.user_name)).await?;
        result.user_dropped = true;
        result.secret_deletion_date = secrets::schedule_deletion(
            &ctx.secrets(),
            &before.secret_arn,
            ctx.settings.recovery_window_days,
        )
        .await?;
        if let Some(key) = &ctx.settings.kms_key_id {
            key_grants::revoke(&ctx.kms(), key, &before.secret_name).await?;
        }
    }
    tracing::info!(server = %t.server, user = %before.user_name, asset = %d.asset_details.id, dropped = result.user_dropped, "revoked");
    Ok(result)
}

/// Consumer revoke: the subscription record goes; with the user, the consumer secret is
/// scheduled for deletion and the mapping removed.
pub async fn consumer_revoke(
    ctx: &Context,
    d: &SubscriptionDetails,
    p: &ProducerRevoke,
) -> Result<ConsumerRevoke, StepError> {
    let c = &d.consumer_project_details;
    let tracking = Tracking {
        db: ctx.dynamodb(),
        settings: &ctx.settings,
    };
    tracking
        .delete(
            &ctx.settings.subscriptions_table,
            &[
                ("environment_id", &c.environment_id),
                ("asset_id", &d.asset_details.id),
            ],
        )
        .await?;
    if !p.user_dropped {
        return Ok(ConsumerRevoke {
            provisioned: p.provisioned,
            secret_deleted: false,
            secret_arn: String::new(),
        });
    }
    let mapping = tracking
        .get(
            &ctx.settings.mappings_table,
            &[("producer_secret_arn", &p.secret_arn)],
        )
        .await?;
    let Some(arn) = mapping.and_then(|m| m.get("consumer_secret_arn").cloned()) else {
        return Ok(ConsumerRevoke {
            provisioned: true,
            secret_deleted: false,
            secret_arn: String::new(),
        });
    };
    let consumer = ctx
        .consumer_secrets(&c.account_id, &c.region)
        .await
        .map_err(StepError::Aws)?;
    secrets::schedule_deletion(&consumer, &arn, ctx.settings.recovery_window_days).await?;
    tracking
        .delete(
            &ctx.settings.mappings_table,
            &[("producer_secret_arn", &p.secret_arn)],
        )
        .await?;
    Ok(ConsumerRevoke {
        provisioned: true,
        secret_deleted: true,
        secret_arn: arn,
    })
}

/// Rotation: a fresh password in the producer secret, then in the database, then in the
/// consumer copy (each step idempotent, so a retry after any failure converges).
pub async fn rotate(ctx: &Context, d: &SubscriptionDetails) -> Result<ConsumerGrant, StepError> {
    let t = match resolve(ctx, d).await? {
        Resolution::Jdbc(t) => t,
        Resolution::NotJdbc(_) => {
            return Ok(ConsumerGrant {
                provisioned: false,
                secret_arn: String::new(),
                secret_name: String::new(),
            })
        }
    };
    let env = &d.consumer_project_details.environment_id;
    let tracking = Tracking {
        db: ctx.dynamodb(),
        settings: &ctx.settings,
    };
    let Some(record) = tracking.user(&t.server, env).await? else {
        return Err(StepError::Input(format!(
            "nothing is granted to environment {env} on {}",
            t.server
        )));
    };
    let sm = ctx.secrets();
    let (_, current) = secrets::existing(&sm, &record.secret_name)
        .await?
        .ok_or_else(|| StepError::Aws(format!("secret {} is missing", record.secret_name)))?;
    let value = SecretValue {
        password: password::generate().map_err(|e| StepError::Aws(e.to_string()))?,
        ..current
    };
    secrets::upsert(
        &sm,
        &record.secret_name,
        &value,
        ctx.settings.kms_key_id.as_deref(),
        &tags(d),
    )
    .await?;
    let sql =
        grants::for_engine(t.url.engine).map_err(|e| StepError::Unsupported(e.to_string()))?;
    admin(ctx, &t)
        .await?
        .run(&sql.set_password(&record.user_name, &value.password))
        .await?;
    let producer = ProducerGrant {
        provisioned: true,
        skipped_reason: None,
        server: t.server.clone(),
        user_name: record.user_name.clone(),
        secret_arn: record.secret_arn.clone(),
        secret_name: record.secret_name.clone(),
        assets: record.grants.keys().cloned().collect(),
    };
    consumer_grant(ctx, d, &producer, None).await
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

pub async fn grant(ctx: &Context, d: &SubscriptionDetails) -> Result<GrantResult, StepError> {
    let producer = producer_grant(ctx, d, None).await?;
    let consumer = consumer_grant(ctx, d, &producer, None).await?;
    Ok(GrantResult { producer, consumer })
}

pub async fn revoke(ctx: &Context, d: &SubscriptionDetails) -> Result<RevokeResult, StepError> {
    let producer = producer_revoke(ctx, d, None).await?;
    let consumer = consumer_revoke(ctx, d, &producer).await?;
    Ok(RevokeResult { producer, consumer })
}
