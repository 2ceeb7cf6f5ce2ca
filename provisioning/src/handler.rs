//! The provisioning Lambda: one function, dispatching on the task the state machine names.
//! Input and output are the JSON the state machines pass (`sam/statemachines/*.asl.json`).
//!
//! `{"Step": "FanOut", "Event": <EventBridge event>}` → `{"Inputs": [WorkflowInput…]}`
//! `{"Step": "ProducerGrant" | "ProducerRevoke", "Input": WorkflowInput}` → the step's output
//! `{"Step": "ConsumerGrant" | "ConsumerRevoke", "Input": WorkflowInput, "Producer": <output>}`
//! `{"Step": "ReportStatus", "Input": WorkflowInput, "Succeeded": bool, "Cause": string?}`

use serde_json::{json, Value};

use crate::context::Context;
use crate::datazone::{DataZone, GrantStatus};
use crate::governance::{fan_out, Action, WorkflowInput};
use crate::steps::{self, StepError};

/// The step names the state machines use (checked against the ASL by the tests).
pub const STEPS: &[&str] = &[
    "FanOut",
    "ProducerGrant",
    "ConsumerGrant",
    "ProducerRevoke",
    "ConsumerRevoke",
    "ReportStatus",
];

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

pub async fn handle(
    ctx: &Context,
    dz: &dyn DataZone,
    allowed_blueprints: &[String],
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
                == Some("Environment Deletion Started")
            {
                environment_revokes(ctx, e).await?
            } else {
                fan_out(dz, e, allowed_blueprints)
                    .await
                    .map_err(|e| StepError::Aws(e.to_string()))?
            };
            let inputs: Vec<Value> = inputs
                .iter()
                .map(|i| {
                    let mut v = out(i);
                    v["ExecutionName"] = json!(i.execution_name());
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
                None,
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
                None,
            )
            .await?))
        }
        "ProducerRevoke" => {
            let i: WorkflowInput = input(&event, "Input")?;
            Ok(out(&steps::producer_revoke(
                ctx,
                &i.subscription_details,
                None,
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
            )
            .await?))
        }
        "ReportStatus" => {
            let i: WorkflowInput = input(&event, "Input")?;
            let succeeded = event
                .get("Succeeded")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let cause = event
                .get("Cause")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let status = match (i.action, succeeded) {
                (Action::Grant, true) => GrantStatus::Granted,
                (Action::Grant, false) => GrantStatus::GrantFailed,
                (Action::Revoke, true) => GrantStatus::Revoked,
                (Action::Revoke, false) => GrantStatus::RevokeFailed,
            };
            if let Some(grant) = &i.grant_id {
                let d = &i.subscription_details;
                dz.update_grant_status(&d.domain_id, grant, &d.asset_details.id, status, cause)
                    .await
                    .map_err(StepError::Aws)?;
            }
            Ok(json!({ "Reported": i.grant_id.is_some() }))
        }
        other => Err(StepError::Input(format!(
            "unknown Step \"{other}\" (expected one of {})",
            STEPS.join(", ")
        ))),
    }
}
