//! DataZone subscription events → one workflow input per consumer environment, with the
//! subscription details gathered (listing, asset, Glue table form, projects), and the
//! subscription grant's status reported back where DataZone tracks one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::datazone::{DataZone, GrantStatus};
use crate::subscription::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Grant,
    Revoke,
}

/// What one producer+consumer workflow execution takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkflowInput {
    pub action: Action,
    /// The subscription grant whose status is reported (newer grant events only).
    pub grant_id: Option<String>,
    pub subscription_details: SubscriptionDetails,
}

impl WorkflowInput {
    /// A deterministic execution name: a redelivered event starts no second execution, and
    /// a later event about the same asset (a new subscription after a revoke) gets its own.
    /// `event_id` is the EventBridge event's `id` (absent for hand-made events).
    pub fn execution_name(&self, event_id: Option<&str>) -> String {
        use sha2::Digest;
        let d = &self.subscription_details;
        let raw = format!(
            "{:?}-{}-{}-{}",
            self.action,
            d.consumer_project_details.environment_id,
            d.asset_details.id,
            d.listing_details.revision
        );
        let base: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        match event_id {
            None => base.chars().take(80).collect(),
            Some(id) => {
                let hash = sha2::Sha256::digest(id.as_bytes());
                let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
                // Names are at most 80 characters: the event's part always fits.
                format!("{}-{hex}", base.chars().take(80 - 17).collect::<String>())
            }
        }
    }
}

/// Which producer accounts and blueprints this deployment serves, and where each producer
/// account's subscription workflow runs (the governance Lambda's settings).
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    /// Environment blueprints whose subscriptions are provisioned.
    pub allowed_blueprints: Vec<String>,
    /// Producer accounts provisioned for; empty: any.
    pub producer_accounts: Vec<String>,
    /// Role in each producer account that the governance state machine assumes to start
    /// the subscription workflow there.
    pub workflow_role_name: String,
    /// Name of the subscription state machine in each producer account.
    pub state_machine_name: String,
}

/// Where one workflow input runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    pub state_machine_arn: String,
    pub role_arn: String,
}

/// A comma-separated setting as its non-blank items.
pub(crate) fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

impl Routing {
    pub fn from_env() -> Routing {
        use crate::context::var;
        Routing {
            allowed_blueprints: list(&var("ALLOWED_BLUEPRINTS", "DefaultDataLake")),
            producer_accounts: list(&var("PRODUCER_ACCOUNT_IDS", "")),
            workflow_role_name: var(
                "PRODUCER_WORKFLOW_ROLE_NAME",
                "athena-fed-governance-access",
            ),
            state_machine_name: var("SUBSCRIPTION_STATE_MACHINE_NAME", "athena-fed-subscription"),
        }
    }

    /// The producer account's workflow for `input`: `Ok(None)` for an asset without a Glue
    /// table (nothing of ours to provision), `Err` naming why an account is not served.
    pub fn target(&self, input: &WorkflowInput) -> Result<Option<Target>, String> {
        let Some(t) = &input.subscription_details.asset_details.glue_table_details else {
            return Ok(None);
        };
        // Both come from the listing's Glue table form: checked before they become ARNs.
        let account_ok =
            t.account_id.len() == 12 && t.account_id.bytes().all(|b| b.is_ascii_digit());
        if !account_ok {
            return Err(format!(
                "the Glue table form names account \"{}\", not a 12-digit AWS account id",
                t.account_id
            ));
        }
        let region_ok = !t.region.is_empty()
            && t.region.len() <= 32
            && t.region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(format!(
                "the Glue table form names region \"{}\", not an AWS region",
                t.region
            ));
        }
        if !self.producer_accounts.is_empty() && !self.producer_accounts.contains(&t.account_id) {
            return Err(format!(
                "producer account {} is not served by this deployment (PRODUCER_ACCOUNT_IDS: {})",
                t.account_id,
                self.producer_accounts.join(", ")
            ));
        }
        Ok(Some(Target {
            state_machine_arn: format!(
                "arn:aws:states:{}:{}:stateMachine:{}",
                t.region, t.account_id, self.state_machine_name
            ),
            role_arn: format!(
                "arn:aws:iam::{}:role/{}",
                t.account_id, self.workflow_role_name
            ),
        }))
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GovernanceError {
    #[error("event: {0}")]
    Event(String),
    #[error("{0}")]
    DataZone(String),
}

fn field<'a>(v: &'a Value, path: &[&str]) -> Result<&'a str, GovernanceError> {
    let mut cur = v;
    for p in path {
        cur = cur
            .get(p)
            .ok_or_else(|| GovernanceError::Event(format!("missing {}", path.join("."))))?;
    }
    cur.as_str()
        .ok_or_else(|| GovernanceError::Event(format!("{} is not a string", path.join("."))))
}

/// Where an event points.
struct Parsed {
    action: Action,
    domain: String,
    listing_id: String,
    listing_revision: String,
    consumer_project: String,
    /// Grant events name the environment and the grant; subscription events do not.
    environment: Option<String>,
    grant_id: Option<String>,
}

fn parse(event: &Value) -> Result<Option<Parsed>, GovernanceError> {
    let kind = field(event, &["detail-type"])?;
    let d = event
        .get("detail")
        .ok_or_else(|| GovernanceError::Event("missing detail".into()))?;
    let domain = field(d, &["metadata", "domain"])?.to_owned();
    Ok(Some(match kind {
        "Subscription Created" | "Subscription Revoked" | "Subscription Cancelled" => {
            let action = match (kind, d.pointer("/data/status").and_then(Value::as_str)) {
                ("Subscription Created", Some("APPROVED") | None) => Action::Grant,
                ("Subscription Created", _) => return Ok(None),
                _ => Action::Revoke,
            };
            Parsed {
                action,
                domain,
                listing_id: field(d, &["data", "subscribedListing", "id"])?.to_owned(),
                listing_revision: field(d, &["data", "subscribedListing", "version"])?.to_owned(),
                consumer_project: field(d, &["data", "subscribedPrincipal", "id"])?.to_owned(),
                environment: None,
                grant_id: None,
            }
        }
        "Subscription Grant Requested" | "Subscription Grant Revoke Requested" => Parsed {
            action: if kind == "Subscription Grant Requested" {
                Action::Grant
            } else {
                Action::Revoke
            },
            domain,
            listing_id: field(d, &["data", "asset", "listingId"])?.to_owned(),
            listing_revision: field(d, &["data", "asset", "listingVersion"])?.to_owned(),
            consumer_project: field(d, &["data", "projectId"])?.to_owned(),
            environment: Some(
                field(d, &["data", "subscriptionTarget", "environmentId"])?.to_owned(),
            ),
            grant_id: Some(field(d, &["metadata", "id"])?.to_owned()),
        },
        _ => return Ok(None),
    }))
}

/// The Glue table form of an asset's forms, if it has one.
fn glue_table(forms: &str) -> Option<GlueTable> {
    let forms: Value = serde_json::from_str(forms).ok()?;
    let form = forms.get("GlueTableForm")?;
    let form: Value = match form {
        Value::String(s) => serde_json::from_str(s).ok()?,
        other => other.clone(),
    };
    let s = |k: &str| {
        form.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let arn = s("tableArn");
    // arn:aws:glue:<region>:<account>:table/<database>/<table>
    let database = arn.split('/').nth(1).unwrap_or_default().to_owned();
    Some(GlueTable {
        account_id: s("catalogId"),
        region: s("region"),
        database_name: database,
        table_name: s("tableName"),
        table_arn: arn,
        source_classification: s("sourceClassification"),
    })
}

/// One workflow input per consumer environment the event concerns: the grant's target, or
/// every ACTIVE environment of the consumer project (all pages) whose blueprint is allowed.
pub async fn fan_out(
    dz: &dyn DataZone,
    event: &Value,
    allowed_blueprints: &[String],
) -> Result<Vec<WorkflowInput>, GovernanceError> {
    let Some(p) = parse(event)? else {
        return Ok(vec![]);
    };
    let e = GovernanceError::DataZone;
    let listing = dz
        .listing(&p.domain, &p.listing_id, &p.listing_revision)
        .await
        .map_err(e)?;
    let producer_name = dz
        .project_name(&p.domain, &listing.owning_project_id)
        .await
        .map_err(GovernanceError::DataZone)?;
    let consumer_name = dz
        .project_name(&p.domain, &p.consumer_project)
        .await
        .map_err(GovernanceError::DataZone)?;
    let environments = match &p.environment {
        Some(id) => vec![dz
            .environment(&p.domain, id)
            .await
            .map_err(GovernanceError::DataZone)?],
        None => {
            let mut all = Vec::new();
            let mut token = None;
            loop {
                let (page, next) = dz
                    .environments(&p.domain, &p.consumer_project, token)
                    .await
                    .map_err(GovernanceError::DataZone)?;
                all.extend(page);
                match next {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
            let mut kept = Vec::new();
            for env in all {
                // Revokes also reach environments that are being deleted.
                let live = env.status == "ACTIVE"
                    || (p.action == Action::Revoke && env.status.starts_with("DELET"));
                if live
                    && allowed_blueprints.contains(
                        &dz.blueprint_name(&p.domain, &env.id)
                            .await
                            .map_err(GovernanceError::DataZone)?,
                    )
                {
                    kept.push(env);
                }
            }
            kept
        }
    };
    let table = glue_table(&listing.forms);
    Ok(environments
        .into_iter()
        .map(|env| WorkflowInput {
            action: p.action,
            grant_id: p.grant_id.clone(),
            subscription_details: SubscriptionDetails {
                domain_id: p.domain.clone(),
                producer_project_details: ProducerProject {
                    project_id: listing.owning_project_id.clone(),
                    project_name: producer_name.clone(),
                },
                consumer_project_details: ConsumerProject {
                    project_id: p.consumer_project.clone(),
                    project_name: consumer_name.clone(),
                    account_id: env.account_id,
                    region: env.region,
                    environment_id: env.id,
                    environment_name: env.name,
                },
                listing_details: Listing {
                    id: p.listing_id.clone(),
                    name: listing.name.clone(),
                    revision: p.listing_revision.clone(),
                },
                asset_details: Asset {
                    asset_type: listing.asset_type.clone(),
                    id: listing.asset_id.clone(),
                    revision: listing.asset_revision.clone(),
                    glue_table_details: table.clone(),
                },
            },
        })
        .collect())
}

/// Reports the grant's status around `work` (when DataZone tracks a grant).
pub async fn with_status<T, E: std::fmt::Display>(
    dz: &dyn DataZone,
    input: &WorkflowInput,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let d = &input.subscription_details;
    let (start, done, failed) = match input.action {
        Action::Grant => (
            GrantStatus::GrantInProgress,
            GrantStatus::Granted,
            GrantStatus::GrantFailed,
        ),
        Action::Revoke => (
            GrantStatus::RevokeInProgress,
            GrantStatus::Revoked,
            GrantStatus::RevokeFailed,
        ),
    };
    let report = |status, failure: Option<String>| async move {
        if let Some(grant) = &input.grant_id {
            if let Err(e) = dz
                .update_grant_status(&d.domain_id, grant, &d.asset_details.id, status, failure)
                .await
            {
                tracing::warn!(error = %e, "cannot report the subscription grant status");
            }
        }
    };
    report(start, None).await;
    let result = work.await;
    match &result {
        Ok(_) => report(done, None).await,
        Err(e) => report(failed, Some(e.to_string())).await,
    }
    result
}

#[cfg(test)]
mod tests;
