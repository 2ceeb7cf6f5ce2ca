//! The provisioning Lambda: one function, dispatching on the task the state machine names.
//! Input and output are the JSON the state machines pass (`sam/statemachines/*.asl.json`).
//!
//! The governance account's function runs `FanOut` and `ReportStatus`; each producer
//! account's runs the producer and consumer steps.
//!
//! `{"Step": "FanOut", "Event": <EventBridge event>}` → `{"Inputs": [WorkflowInput…]}`, each
//!   with its `ExecutionName` and either its `Target` (the producer account's state machine
//!   and the role to start it with), or `Refused` (why that account is not served), or
//!   neither (an asset without a Glue table: nothing to provision)
//! `{"Step": "ProducerGrant" | "ProducerRevoke", "Input": WorkflowInput}` → the step's output
//! `{"Step": "ConsumerGrant" | "ConsumerRevoke", "Input": WorkflowInput, "Producer": <output>}`
//! `{"Step": "ReportStatus", "Input": WorkflowInput, "Outcome": "InProgress" | "Succeeded" |
//!   "Failed", "Cause": string?}` → `{"Reported": bool}`
//! `{"Step": "MapAssets", "Request": MapRequest}` → the mapping report (run on a schedule by
//!   `sam/provisioning.yaml` or the toolkit's producer product, not by a state machine)
//!
//! [`handle_event`] takes everything the function receives: besides the steps, the
//! toolkit's CloudFormation custom resource requests ([`crate::toolkit::launch`]) and
//! DataZone environment events ([`crate::toolkit::environment`]).

use serde_json::{json, Value};

use crate::context::Context;
use crate::datazone::{DataZone, GrantStatus};
use crate::governance::{fan_out, Action, Routing, WorkflowInput};
use crate::steps::{self, Checkpoints, StepError};
use crate::toolkit::environment::{
    environment_access, is_environment_event, Accounts, EnvironmentSettings,
};
use crate::toolkit::launch::{self, CustomResourceRequest, LaunchClients};
use crate::toolkit::ToolkitError;

/// The step names the state machines use (checked against the ASL by the tests).
pub const STEPS: &[&str] = &[
    "FanOut",
    "ProducerGrant",
    "ConsumerGrant",
    "ProducerRevoke",
    "ConsumerRevoke",
    "ReportStatus",
];

/// Steps run on a schedule rather than by a state machine.
pub const SCHEDULED_STEPS: &[&str] = &["MapAssets"];

fn input<T: serde::de::DeserializeOwned>(event: &Value, key: &str) -> Result<T, StepError> {
    let v = event
        .get(key)
        .ok_or_else(|| StepError::Input(format!("missing {key}")))?;
    serde_json::from_value(v.clone()).map_err(|e| StepError::Input(format!("{key}: {e}")))
}

fn out<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("serializable")
}

/// A deleted environment: a revoke for every asset recorded as granted to it.
async fn environment_revokes(
    ctx: &Context,
    event: &Value,
) -> Result<Vec<WorkflowInput>, StepError> {
    let env = event
        .pointer("/detail/data/environmentId")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            StepError::Input(
                "Environment Deletion Started: missing detail.data.environmentId".into(),
            )
        })?;
    let tracking = crate::tracking::Tracking {
        db: ctx.dynamodb(),
        settings: &ctx.settings,
    };
    let rows = tracking
        .query(&ctx.settings.subscriptions_table, "environment_id", env)
        .await?;
    rows.iter()
        .filter_map(|r| r.get("subscription_details"))
        .map(|d| {
            let details = serde_json::from_str(d)
                .map_err(|e| StepError::Input(format!("recorded subscription details: {e}")))?;
            Ok(WorkflowInput {
                action: Action::Revoke,
                grant_id: None,
                subscription_details: details,
            })
        })
        .collect()
}

/// The failure DataZone shows: a failed child execution's own cause where the state machine
/// passes the whole `DescribeExecution` answer, bounded in length.
fn failure_cause(cause: &str) -> String {
    let inner = serde_json::from_str::<Value>(cause).ok().and_then(|v| {
        ["Cause", "cause"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_owned))
    });
    let cause = inner.as_deref().unwrap_or(cause);
    match cause.char_indices().nth(1000) {
        Some((i, _)) => format!("{}…", &cause[..i]),
        None => cause.to_owned(),
    }
}

pub async fn handle(
    ctx: &Context,
    dz: &dyn DataZone,
    routing: &Routing,
    event: Value,
) -> Result<Value, StepError> {
    let step = event
        .get("Step")
        .and_then(Value::as_str)
        .ok_or_else(|| StepError::Input("missing Step".into()))?;
    match step {
        "FanOut" => {
            let e = event
                .get("Event")
                .ok_or_else(|| StepError::Input("missing Event".into()))?;
            let inputs = if e.get("detail-type").and_then(Value::as_str)
                == Some(crate::toolkit::environment::DELETED_EVENT)
            {
                environment_revokes(ctx, e).await?
            } else {
                fan_out(dz, e, &routing.allowed_blueprints)
                    .await
                    .map_err(|e| StepError::Aws(e.to_string()))?
            };
            let inputs: Vec<Value> = inputs
                .iter()
                .map(|i| {
                    let mut v = out(i);
                    v["ExecutionName"] =
                        json!(i.execution_name(e.get("id").and_then(Value::as_str)));
                    match routing.target(i) {
                        Ok(Some(target)) => v["Target"] = out(&target),
                        Ok(None) => {}
                        Err(refused) => v["Refused"] = json!(refused),
                    }
                    v
                })
                .collect();
            Ok(json!({ "Inputs": inputs }))
        }
        "ProducerGrant" => {
            let i: WorkflowInput = input(&event, "Input")?;
            Ok(out(&steps::producer_grant(
                ctx,
                &i.subscription_details,
                &Checkpoints::none(),
            )
            .await?))
        }
        "ConsumerGrant" => {
            let i: WorkflowInput = input(&event, "Input")?;
            let p = input(&event, "Producer")?;
            Ok(out(&steps::consumer_grant(
                ctx,
                &i.subscription_details,
                &p,
                &Checkpoints::none(),
            )
            .await?))
        }
        "ProducerRevoke" => {
            let i: WorkflowInput = input(&event, "Input")?;
            Ok(out(&steps::producer_revoke(
                ctx,
                &i.subscription_details,
                &Checkpoints::none(),
            )
            .await?))
        }
        "ConsumerRevoke" => {
            let i: WorkflowInput = input(&event, "Input")?;
            let p = input(&event, "Producer")?;
            Ok(out(&steps::consumer_revoke(
                ctx,
                &i.subscription_details,
                &p,
                &Checkpoints::none(),
            )
            .await?))
        }
        "ReportStatus" => {
            let i: WorkflowInput = input(&event, "Input")?;
            let outcome: String = input(&event, "Outcome")?;
            let cause = event
                .get("Cause")
                .and_then(Value::as_str)
                .map(failure_cause);
            let status = match (i.action, outcome.as_str()) {
                (Action::Grant, "InProgress") => GrantStatus::GrantInProgress,
                (Action::Grant, "Succeeded") => GrantStatus::Granted,
                (Action::Grant, "Failed") => GrantStatus::GrantFailed,
                (Action::Revoke, "InProgress") => GrantStatus::RevokeInProgress,
                (Action::Revoke, "Succeeded") => GrantStatus::Revoked,
                (Action::Revoke, "Failed") => GrantStatus::RevokeFailed,
                (_, other) => {
                    return Err(StepError::Input(format!(
                        "Outcome \"{other}\" (expected InProgress, Succeeded or Failed)"
                    )))
                }
            };
            if let Some(grant) = &i.grant_id {
                let d = &i.subscription_details;
                dz.update_grant_status(&d.domain_id, grant, &d.asset_details.id, status, cause)
                    .await
                    .map_err(StepError::Aws)?;
            }
            Ok(json!({ "Reported": i.grant_id.is_some() }))
        }
        "MapAssets" => {
            let r: crate::map_assets::MapRequest = input(&event, "Request")?;
            Ok(out(&crate::map_assets::map_assets(ctx, &r).await?))
        }
        other => Err(StepError::Input(format!(
            "unknown Step \"{other}\" (expected one of {}, {})",
            STEPS.join(", "),
            SCHEDULED_STEPS.join(", ")
        ))),
    }
}

/// The toolkit's side of the function (`sam/toolkit.yaml`, and the governance function's
/// environment workflow).
pub struct Toolkit {
    pub accounts: Box<dyn Accounts>,
    pub environments: EnvironmentSettings,
    pub launch: LaunchClients,
}

/// What the function fails with.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Step(#[from] StepError),
    #[error(transparent)]
    Toolkit(#[from] ToolkitError),
}

impl HandlerError {
    /// The error name the Lambda reports (Step Functions' Retry/Catch match on it).
    pub fn name(&self) -> &'static str {
        match self {
            HandlerError::Step(e) => e.name(),
            HandlerError::Toolkit(e) => e.name(),
        }
    }
}

/// Any event the function receives: a custom resource request, a DataZone environment
/// event, or a step.
pub async fn handle_event(
    ctx: &Context,
    dz: &dyn DataZone,
    routing: &Routing,
    toolkit: &Toolkit,
    event: Value,
) -> Result<Value, HandlerError> {
    if CustomResourceRequest::is_one(&event) {
        return Ok(launch::handle(&toolkit.launch, event).await?);
    }
    if is_environment_event(&event) {
        let outcome = environment_access(
            dz,
            toolkit.accounts.as_ref(),
            &toolkit.environments,
            &routing.allowed_blueprints,
            &event,
        )
        .await?;
        return Ok(out(&outcome));
    }
    Ok(handle(ctx, dz, routing, event).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datazone::InMemoryDataZone;
    use crate::subscription::*;

    fn input(grant: Option<&str>, action: &str) -> Value {
        let details = SubscriptionDetails {
            domain_id: "dzd1".into(),
            producer_project_details: ProducerProject {
                project_id: "p".into(),
                project_name: "P".into(),
            },
            consumer_project_details: ConsumerProject {
                project_id: "c".into(),
                project_name: "C".into(),
                account_id: "222222222222".into(),
                region: "eu-west-1".into(),
                environment_id: "e1".into(),
                environment_name: "E1".into(),
            },
            listing_details: Listing {
                id: "l".into(),
                name: "L".into(),
                revision: "1".into(),
            },
            asset_details: Asset {
                asset_type: "GlueTableAssetType".into(),
                id: "ast1".into(),
                revision: "1".into(),
                glue_table_details: None,
            },
        };
        json!({"Action": action, "GrantId": grant, "SubscriptionDetails": details})
    }

    #[tokio::test]
    async fn report_status_maps_each_outcome_and_unwraps_a_child_executions_cause() {
        let ctx = Context::new(
            crate::context::Settings::from_env(),
            aws_config::SdkConfig::builder().build(),
        )
        .await;
        let dz = InMemoryDataZone::default();
        let routing = Routing::from_env();
        let report = |i: Value, outcome: &str, cause: Option<&str>| json!({"Step": "ReportStatus", "Input": i, "Outcome": outcome, "Cause": cause});
        // What a failed `startExecution.sync:2` passes on: the child's DescribeExecution.
        let child = json!({"ExecutionArn": "arn:x", "Status": "FAILED", "Error": "SubscriptionWorkflowFailed", "Cause": "database: permission denied"}).to_string();
        for (i, outcome, cause) in [
            (input(Some("g1"), "Grant"), "InProgress", None),
            (input(Some("g1"), "Grant"), "Succeeded", None),
            (input(Some("g1"), "Grant"), "Failed", Some(child.as_str())),
            (input(Some("g2"), "Revoke"), "InProgress", None),
            (input(Some("g2"), "Revoke"), "Succeeded", None),
            (input(Some("g2"), "Revoke"), "Failed", Some("plain cause")),
        ] {
            let out = handle(&ctx, &dz, &routing, report(i, outcome, cause))
                .await
                .unwrap();
            assert_eq!(out, json!({"Reported": true}));
        }
        let out = handle(
            &ctx,
            &dz,
            &routing,
            report(input(None, "Grant"), "Succeeded", None),
        )
        .await
        .unwrap();
        assert_eq!(
            out,
            json!({"Reported": false}),
            "no grant id: nothing to report"
        );
        let statuses: Vec<(String, GrantStatus, Option<String>)> = dz
            .statuses
            .lock()
            .unwrap()
            .iter()
            .map(|(g, _, s, c)| (g.clone(), *s, c.clone()))
            .collect();
        assert_eq!(
            statuses,
            [
                ("g1".into(), GrantStatus::GrantInProgress, None),
                ("g1".into(), GrantStatus::Granted, None),
                (
                    "g1".into(),
                    GrantStatus::GrantFailed,
                    Some("database: permission denied".into())
                ),
                ("g2".into(), GrantStatus::RevokeInProgress, None),
                ("g2".into(), GrantStatus::Revoked, None),
                (
                    "g2".into(),
                    GrantStatus::RevokeFailed,
                    Some("plain cause".into())
                ),
            ]
        );
        let bad = handle(
            &ctx,
            &dz,
            &routing,
            report(input(Some("g1"), "Grant"), "Done", None),
        )
        .await
        .unwrap_err()
        .to_string();
        assert_eq!(
            bad,
            "invalid input: Outcome \"Done\" (expected InProgress, Succeeded or Failed)"
        );
        assert_eq!(failure_cause(&"é".repeat(1500)).chars().count(), 1001);
    }
}
