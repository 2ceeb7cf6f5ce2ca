//! Producer revoke and consumer revoke.

use crate::context::Context;
use crate::glue::{resolve, Resolution};
use crate::grants::{self, TableTarget};
use crate::key_grants;
use crate::secrets;
use crate::subscription::{ConsumerRevoke, ProducerRevoke, SubscriptionDetails};
use crate::tracking::UserRecord;

use super::{admin, tracking, Checkpoints, StepError};

/// Producer revoke: REVOKE exactly what the recorded grant gave (a target already gone is a
/// no-op); the environment's last asset on the server drops the user and schedules the
/// producer secret's deletion. Revoking what was never granted succeeds and changes nothing.
pub async fn producer_revoke(
    ctx: &Context,
    d: &SubscriptionDetails,
    cp: &Checkpoints<'_>,
) -> Result<ProducerRevoke, StepError> {
    let none = |why: Option<String>| ProducerRevoke {
        provisioned: false,
        skipped_reason: why,
        user_dropped: false,
        server: String::new(),
        secret_arn: String::new(),
        secret_deletion_date: None,
        remaining_assets: vec![],
    };
    let t = match resolve(ctx, d).await? {
        Resolution::Jdbc(t) => t,
        Resolution::NotJdbc(why) => return Ok(none(Some(why))),
    };
    let env = &d.consumer_project_details.environment_id;
    let tracking = tracking(ctx);
    let Some(before) = tracking.user(&t.server, env).await? else {
        return Ok(none(Some("nothing was granted".into())));
    };
    // An engine without grant support fails here, before any change.
    grants::for_engine(t.url.engine).map_err(|e| StepError::Unsupported(e.to_string()))?;
    let mut db = admin(ctx, &t).await?;
    let sql = db.grant_sql().await?;
    // Revoke the table the grant recorded (not whatever Glue says today).
    let target = before
        .grants
        .get(&d.asset_details.id)
        .map(|l| location_target(l));
    if let Some(target) = &target {
        db.run_ignoring_missing(&sql.revoke(&before.user_name, target))
            .await?;
    }
    cp.reach("revoke").await?;
    let after = tracking
        .remove_asset(&t.server, env, &d.asset_details.id)
        .await?;
    cp.reach("unrecorded").await?;
    // The schema's access goes with its last granted table, decided on the record after this
    // asset left it; a grant that recorded a table of the schema meanwhile may have granted
    // before this REVOKE, so the record is read again and its tables granted again.
    if let Some(target) = &target {
        if schema_tables(after.as_ref(), target).is_empty() {
            db.run_ignoring_missing(&sql.revoke_schema(&before.user_name, target))
                .await?;
            cp.reach("schema_revoked").await?;
            let now = tracking.user(&t.server, env).await?;
            for other in schema_tables(now.as_ref(), target) {
                db.run_ignoring_missing(&sql.grant(&before.user_name, &other))
                    .await?;
            }
        }
    }
    let remaining: Vec<String> = after
        .as_ref()
        .map(|r| r.grants.keys().cloned().collect())
        .unwrap_or_default();
    let mut result = ProducerRevoke {
        provisioned: true,
        skipped_reason: None,
        user_dropped: false,
        server: t.server.clone(),
        secret_arn: before.secret_arn.clone(),
        secret_deletion_date: None,
        remaining_assets: remaining.clone(),
    };
    // The last asset: mark the record (only while it holds no asset: a grant that recorded
    // one first wins), drop the user, schedule the secret's deletion, then delete the record
    // (only if the mark is still ours). A grant meanwhile fails with Busy and is retried
    // after the record is gone, restoring the secret with a fresh password.
    if remaining.is_empty() {
        if let Some(mark) = tracking.mark_dropping(&t.server, env).await? {
            cp.reach("marked").await?;
            db.run_ignoring_missing(&sql.drop_user(&before.user_name))
                .await?;
            cp.reach("dropped").await?;
            result.secret_deletion_date = secrets::schedule_deletion(
                &ctx.secrets(),
                &before.secret_name,
                ctx.settings.recovery_window_days,
            )
            .await?;
            if let Some(key) = &ctx.settings.kms_key_id {
                key_grants::revoke(&ctx.kms(), key, &before.secret_name).await?;
            }
            cp.reach("scheduled").await?;
            if !tracking.delete_if_dropping(&t.server, env, &mark).await? {
                return Err(StepError::Busy(format!(
                    "a grant took over user {} on {} while it was being dropped (the drop mark had expired); run that grant again",
                    before.user_name, t.server
                )));
            }
            result.user_dropped = true;
        }
    }
    tracing::info!(server = %t.server, user = %before.user_name, asset = %d.asset_details.id, dropped = result.user_dropped, "revoked");
    Ok(result)
}

/// A recorded location (`db.schema.table`) as a target.
fn location_target(location: &str) -> TableTarget {
    let parts: Vec<&str> = location.splitn(3, '.').collect();
    TableTarget {
        database: parts[0].into(),
        schema: parts.get(1).copied().unwrap_or_default().into(),
        table: parts.get(2).copied().unwrap_or_default().into(),
    }
}

/// The tables `record` grants in `target`'s database and schema.
fn schema_tables(record: Option<&UserRecord>, target: &TableTarget) -> Vec<TableTarget> {
    record
        .into_iter()
        .flat_map(|r| r.grants.values())
        .map(|l| location_target(l))
        .filter(|o| o.database == target.database && o.schema == target.schema)
        .collect()
}

/// Consumer revoke: the subscription record goes; with the user, the consumer secret is
/// scheduled for deletion and the mapping removed, unless a grant has recorded the
/// environment's user again meanwhile (then the copy is restored and kept).
pub async fn consumer_revoke(
    ctx: &Context,
    d: &SubscriptionDetails,
    p: &ProducerRevoke,
    cp: &Checkpoints<'_>,
) -> Result<ConsumerRevoke, StepError> {
    let c = &d.consumer_project_details;
    let tracking = tracking(ctx);
    tracking
        .delete(
            &ctx.settings.subscriptions_table,
            &[
                ("environment_id", &c.environment_id),
                ("asset_id", &d.asset_details.id),
            ],
        )
        .await?;
    let kept = ConsumerRevoke {
        provisioned: p.provisioned,
        secret_deleted: false,
        secret_arn: String::new(),
    };
    if !p.user_dropped {
        return Ok(kept);
    }
    let regranted = || async {
        // Older inputs have no server: then no grant can be told apart, keep the old rule.
        Ok::<_, StepError>(
            !p.server.is_empty() && tracking.user(&p.server, &c.environment_id).await?.is_some(),
        )
    };
    if regranted().await? {
        return Ok(kept);
    }
    cp.reach("consumer_checked").await?;
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
    cp.reach("consumer_scheduled").await?;
    // A grant that recorded the user after the check above may have copied the secret
    // before the deletion was scheduled: it needs the copy, so it is restored.
    if regranted().await? {
        secrets::existing(&consumer, &arn).await?;
        return Ok(kept);
    }
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
