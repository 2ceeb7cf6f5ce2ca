//! Producer grant, consumer grant, and password rotation.

use crate::context::Context;
use crate::glue::{resolve, JdbcTable, Resolution};
use crate::grants::{self, user_name};
use crate::key_grants;
use crate::password;
use crate::secrets::{self, SecretValue};
use crate::subscription::{ConsumerGrant, ProducerGrant, SubscriptionDetails};
use crate::tracking::UserRecord;

use super::{admin, location, tags, tracking, Checkpoints, StepError};

/// Producer grant: the environment's user on the table's server has SELECT on the table,
/// and its credentials are in the producer secret, readable by the consumer role.
pub async fn producer_grant(
    ctx: &Context,
    d: &SubscriptionDetails,
    cp: &Checkpoints<'_>,
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
    // An engine without grant support fails here, before any change.
    grants::for_engine(t.url.engine).map_err(|e| StepError::Unsupported(e.to_string()))?;
    let tracking = tracking(ctx);
    let name = secrets::producer_secret_name(env, &t.server);
    // 1. The asset, recorded before anything changes: a concurrent revoke of the
    //    environment's last asset now sees it and keeps the user (or, if it is dropping the
    //    user already, this fails with Busy and is retried after it).
    let record = UserRecord {
        server: t.server.clone(),
        environment_id: env.clone(),
        user_name: user.clone(),
        secret_arn: String::new(),
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
    let updated = tracking
        .claim_asset(&record, &extra, &d.asset_details.id, &location(&t.target))
        .await?;
    cp.reach("record").await?;
    // 2. The credentials, persisted before the database is changed (deterministic name: a
    //    retry finds them).
    let (secret_arn, value) = producer_secret(ctx, d, &t, &user, &name).await?;
    tracking.set_secret_arn(&t.server, env, &secret_arn).await?;
    cp.reach("secret").await?;
    // 3. The database matches the secret.
    let mut db = admin(ctx, &t).await?;
    let sql = db.grant_sql().await?;
    let set_password = sql
        .set_password(&user, &value.password)
        .map_err(|e| StepError::Aws(e.to_string()))?;
    if db.user_exists(sql.user_exists(), &user).await? {
        db.run(&set_password).await?;
    } else {
        let create = sql
            .create_user(&user, &value.password)
            .map_err(|e| StepError::Aws(e.to_string()))?;
        // A concurrent grant of another asset may create the user first.
        db.create_or_alter(&create, &set_password).await?;
    }
    cp.reach("user").await?;
    db.run(&sql.grant(&user, &t.target)).await?;
    cp.reach("grant").await?;
    // 4. The consumer role may read the secret.
    let consumer_role = format!(
        "arn:aws:iam::{}:role/{}",
        d.consumer_project_details.account_id, ctx.settings.consumer_role_name
    );
    let sm = ctx.secrets();
    secrets::put_policy(&sm, &secret_arn, &consumer_role).await?;
    if let Some(key) = &ctx.settings.kms_key_id {
        key_grants::grant_decrypt(&ctx.kms(), key, &secret_arn, &name, &consumer_role).await?;
    }
    cp.reach("asset").await?;
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

/// The producer secret: reused if it exists, restored (with a fresh password: its user was
/// dropped) if it was scheduled for deletion, created otherwise.
async fn producer_secret(
    ctx: &Context,
    d: &SubscriptionDetails,
    t: &JdbcTable,
    user: &str,
    name: &str,
) -> Result<(String, SecretValue), StepError> {
    let sm = ctx.secrets();
    let kms = ctx.settings.kms_key_id.as_deref();
    let fresh = SecretValue {
        engine: t.url.engine.name().to_owned(),
        host: t.url.host.clone(),
        port: t.url.port_or_default().to_string(),
        dbname: t.target.database.clone(),
        username: user.to_owned(),
        password: password::generate().map_err(|e| StepError::Aws(e.to_string()))?,
    };
    let found = match secrets::existing(&sm, name).await? {
        Some(found) => found,
        None => secrets::create_or_get(&sm, name, &fresh, kms, &tags(d)).await?,
    };
    let usable = !found.restored
        && password::meets_policy(&found.value.password)
        && found.value.username == user;
    if usable {
        return Ok((found.arn, found.value));
    }
    // Restored, or edited by hand: a fresh password rather than old or foreign text in DDL.
    let value = SecretValue {
        username: user.to_owned(),
        password: fresh.password,
        ..found.value
    };
    let arn = secrets::upsert(&sm, name, &value, kms, &tags(d)).await?;
    Ok((arn, value))
}

/// Consumer grant: the producer secret copied into the consumer account under a
/// deterministic name (a retry updates it, a copy pending deletion is restored), and the
/// subscription recorded.
pub async fn consumer_grant(
    ctx: &Context,
    d: &SubscriptionDetails,
    p: &ProducerGrant,
    cp: &Checkpoints<'_>,
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
    let producer = secrets::existing(&consumer, &p.secret_arn)
        .await?
        .ok_or_else(|| StepError::Aws(format!("producer secret {} not found", p.secret_arn)))?;
    let name = secrets::consumer_secret_name(&c.environment_id, &p.server);
    let arn = secrets::upsert(&consumer, &name, &producer.value, None, &tags(d)).await?;
    cp.reach("copy").await?;
    let tracking = tracking(ctx);
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
    let Some(record) = tracking(ctx).user(&t.server, env).await? else {
        return Err(StepError::Input(format!(
            "nothing is granted to environment {env} on {}",
            t.server
        )));
    };
    let sm = ctx.secrets();
    let current = secrets::existing(&sm, &record.secret_name)
        .await?
        .ok_or_else(|| StepError::Aws(format!("secret {} is missing", record.secret_name)))?;
    let value = SecretValue {
        password: password::generate().map_err(|e| StepError::Aws(e.to_string()))?,
        ..current.value
    };
    secrets::upsert(
        &sm,
        &record.secret_name,
        &value,
        ctx.settings.kms_key_id.as_deref(),
        &tags(d),
    )
    .await?;
    let mut db = admin(ctx, &t).await?;
    let statements = db
        .grant_sql()
        .await?
        .set_password(&record.user_name, &value.password)
        .map_err(|e| StepError::Aws(e.to_string()))?;
    db.run(&statements).await?;
    let producer = ProducerGrant {
        provisioned: true,
        skipped_reason: None,
        server: t.server.clone(),
        user_name: record.user_name.clone(),
        secret_arn: current.arn,
        secret_name: record.secret_name.clone(),
        assets: record.grants.keys().cloned().collect(),
    };
    consumer_grant(ctx, d, &producer, &Checkpoints::none()).await
}
