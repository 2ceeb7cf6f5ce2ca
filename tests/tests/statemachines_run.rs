//! The provisioning state machines (`sam/statemachines`): valid ASL (asl-validator), and run in
//! moto's Step Functions with every Lambda task replaced by a Pass state carrying a recorded
//! output, reaching the expected end on success and on a caught failure.

use std::path::Path;
use std::time::Duration;

use integration_tests::*;
use serde_json::{json, Value};

fn definition(name: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../sam/statemachines")
                .join(name),
        )
        .unwrap(),
    )
    .unwrap()
}

#[test]
fn definitions_are_valid_asl() {
    let validator =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../.node/node_modules/.bin/asl-validator");
    assert!(
        validator.is_file(),
        "{} is missing: run scripts/services.sh",
        validator.display()
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sam/statemachines");
    let out = std::process::Command::new(validator)
        .args([
            "--json-path",
            dir.join("subscription.asl.json").to_str().unwrap(),
            "--json-path",
            dir.join("governance.asl.json").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Replaces each task by a Pass state with `recorded[Step]` as its result (or by a failing
/// Parallel state for the steps in `failing`), keeping its result path and transitions.
fn stub(states: &mut Value, recorded: &Value, failing: &[&str]) {
    for (_, s) in states.as_object_mut().unwrap().iter_mut() {
        if s["Type"] == "Map" {
            stub(&mut s["ItemProcessor"]["States"], recorded, failing);
            continue;
        }
        if s["Type"] != "Task" {
            continue;
        }
        let step = s["Parameters"]["Payload"]["Step"]
            .as_str()
            .unwrap_or("StartExecution")
            .to_owned();
        let mut stubbed = json!({"ResultPath": s["ResultPath"].clone()});
        for k in ["Next", "End"] {
            if let Some(v) = s.get(k) {
                stubbed[k] = v.clone();
            }
        }
        if failing.contains(&step.as_str()) {
            stubbed["Type"] = json!("Parallel");
            stubbed["Branches"] = json!([{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "DatabaseError", "Cause": "injected: connection refused"}}}]);
            stubbed["Catch"] = s["Catch"].clone();
        } else {
            // What the task's ResultSelector would make of the Lambda's {"Payload": …} (or
            // of the started execution's description).
            let answer = recorded.get(&step).cloned().unwrap_or(json!({}));
            let invoke = if step == "StartExecution" {
                answer
            } else {
                json!({ "Payload": answer })
            };
            let mut result = serde_json::Map::new();
            for (k, path) in s["ResultSelector"].as_object().into_iter().flatten() {
                let mut v = &invoke;
                for part in path.as_str().unwrap().trim_start_matches("$.").split('.') {
                    v = &v[part];
                }
                result.insert(k.trim_end_matches(".$").to_owned(), v.clone());
            }
            stubbed["Type"] = json!("Pass");
            stubbed["Result"] = Value::Object(result);
        }
        *s = stubbed;
    }
}

async fn run(definition: Value, input: Value) -> (String, Option<String>, Vec<String>, Value) {
    let url = format!("{}/moto-api/config", moto_url());
    http_post(
        &url,
        &json!({"stepfunctions": {"execute_state_machine": true}}).to_string(),
    )
    .await;
    let sfn = aws_sdk_sfn::Client::new(&aws().await);
    let name = format!(
        "m{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let arn = sfn
        .create_state_machine()
        .name(&name)
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/stepfunctions")
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_owned();
    let exec = sfn
        .start_execution()
        .state_machine_arn(&arn)
        .input(input.to_string())
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_owned();
    for _ in 0..100 {
        let d = sfn
            .describe_execution()
            .execution_arn(&exec)
            .send()
            .await
            .unwrap();
        if d.status().as_str() != "RUNNING" {
            let history = sfn
                .get_execution_history()
                .execution_arn(&exec)
                .send()
                .await
                .unwrap();
            let entered: Vec<String> = history
                .events()
                .iter()
                .filter_map(|e| e.state_entered_event_details().map(|s| s.name().to_owned()))
                .collect();
            let output = d
                .output()
                .map(|o| serde_json::from_str(o).unwrap())
                .unwrap_or(Value::Null);
            return (
                d.status().as_str().to_owned(),
                d.error().map(str::to_owned),
                entered,
                output,
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the execution did not finish");
}

fn workflow_input(action: &str) -> Value {
    json!({"Action": action, "GrantId": "grant1", "SubscriptionDetails": {"DomainId": "d"}})
}

/// A FanOut input routed to a producer account's workflow.
fn routed(action: &str) -> Value {
    let mut i = workflow_input(action);
    i["ExecutionName"] = json!(format!("{action}-e1-a1-1"));
    i["Target"] = json!({"StateMachineArn": "arn:aws:states:us-east-1:111111111111:stateMachine:athena-fed-subscription", "RoleArn": "arn:aws:iam::111111111111:role/athena-fed-governance-access"});
    i
}

fn recorded_with(fan_out: Vec<Value>) -> Value {
    let mut r = recorded();
    r["FanOut"] = json!({ "Inputs": fan_out });
    r
}

fn recorded() -> Value {
    json!({
        "ProducerGrant": {"Provisioned": true, "Server": "postgres://db:5432", "UserName": "dz_e1", "SecretArn": "arn:p", "SecretName": "p", "Assets": ["a1"]},
        "ConsumerGrant": {"Provisioned": true, "SecretArn": "arn:c", "SecretName": "c"},
        "ProducerRevoke": {"Provisioned": true, "UserDropped": true, "SecretArn": "arn:p"},
        "ConsumerRevoke": {"Provisioned": true, "SecretDeleted": true},
        "ReportStatus": {"Reported": true},
        "StartExecution": {"Status": "SUCCEEDED"},
        "FanOut": {"Inputs": [routed("Grant"), routed("Revoke")]},
    })
}

fn count(entered: &[String], state: &str) -> usize {
    entered.iter().filter(|s| *s == state).count()
}

#[tokio::test]
async fn the_subscription_workflow_succeeds_and_undoes_a_failed_consumer_grant() {
    let mut grant = definition("subscription.asl.json");
    stub(&mut grant["States"], &recorded(), &[]);
    let (status, _, entered, output) = run(grant.clone(), workflow_input("Grant")).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(
        entered,
        ["WhichAction", "ProducerGrant", "ConsumerGrant", "Done"]
    );
    assert_eq!(output["Consumer"]["Output"]["SecretArn"], "arn:c");
    let (status, _, entered, _) = run(grant, workflow_input("Revoke")).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(
        entered,
        ["WhichAction", "ProducerRevoke", "ConsumerRevoke", "Done"]
    );
    // The consumer step fails for good: the producer grant is undone and the execution
    // fails with the consumer step's cause (which the governance workflow reports).
    let mut failing = definition("subscription.asl.json");
    stub(&mut failing["States"], &recorded(), &["ConsumerGrant"]);
    let (status, error, entered, _) = run(failing, workflow_input("Grant")).await;
    assert_eq!(
        (status.as_str(), error.as_deref()),
        ("FAILED", Some("SubscriptionWorkflowFailed"))
    );
    // ("F" is the stub's failing branch inside ConsumerGrant.)
    let entered: Vec<&str> = entered
        .iter()
        .map(String::as_str)
        .filter(|s| *s != "F")
        .collect();
    assert_eq!(
        entered,
        [
            "WhichAction",
            "ProducerGrant",
            "ConsumerGrant",
            "UndoProducerGrant",
            "Failed"
        ]
    );
}

#[tokio::test]
async fn the_governance_workflow_runs_each_environment_in_its_producer_account_and_reports() {
    let event = json!({"detail-type": "Subscription Created", "detail": {}});
    // Two routed inputs and one asset without a Glue table (nothing to provision).
    let mut gov = definition("governance.asl.json");
    let mut unrouted = workflow_input("Grant");
    unrouted["ExecutionName"] = json!("Grant-e2-a2-1");
    stub(
        &mut gov["States"],
        &recorded_with(vec![routed("Grant"), routed("Revoke"), unrouted]),
        &[],
    );
    let (status, error, entered, output) = run(gov, event.clone()).await;
    assert_eq!(status, "SUCCEEDED", "{error:?} {entered:?} {output}");
    assert_eq!(count(&entered, "RunSubscriptionWorkflow"), 2, "{entered:?}");
    assert_eq!(count(&entered, "ReportInProgress"), 2, "{entered:?}");
    assert_eq!(count(&entered, "ReportSuccess"), 2, "{entered:?}");
    assert_eq!(count(&entered, "NothingToProvision"), 1, "{entered:?}");
    assert_eq!(
        output["Outcomes"],
        json!(["Succeeded", "Succeeded", "NothingToProvision"])
    );

    // A producer account this deployment does not serve: reported failed, while the other
    // environment still runs; the execution fails at the end.
    let mut gov = definition("governance.asl.json");
    let mut refused = workflow_input("Grant");
    refused["ExecutionName"] = json!("Grant-e3-a3-1");
    refused["Refused"] = json!("producer account 999999999999 is not served by this deployment");
    stub(
        &mut gov["States"],
        &recorded_with(vec![routed("Grant"), refused]),
        &[],
    );
    let (status, error, entered, output) = run(gov, event.clone()).await;
    assert_eq!(
        (status.as_str(), error.as_deref()),
        ("FAILED", Some("SubscriptionWorkflowsFailed")),
        "{entered:?} {output}"
    );
    assert_eq!(count(&entered, "ReportRefused"), 1, "{entered:?}");
    assert_eq!(count(&entered, "RunSubscriptionWorkflow"), 1, "{entered:?}");
    assert_eq!(count(&entered, "ReportSuccess"), 1, "{entered:?}");

    // The producer account's workflow fails: the failure is reported, the execution fails.
    let mut gov = definition("governance.asl.json");
    stub(&mut gov["States"], &recorded(), &["StartExecution"]);
    let (status, error, entered, _) = run(gov, event).await;
    assert_eq!(
        (status.as_str(), error.as_deref()),
        ("FAILED", Some("SubscriptionWorkflowsFailed"))
    );
    assert_eq!(count(&entered, "ReportFailure"), 2, "{entered:?}");
    assert_eq!(count(&entered, "ReportSuccess"), 0, "{entered:?}");

    // FanOut fails for good.
    let mut gov = definition("governance.asl.json");
    stub(&mut gov["States"], &recorded(), &["FanOut"]);
    let (status, error, _, _) = run(gov, json!({})).await;
    assert_eq!(
        (status.as_str(), error.as_deref()),
        ("FAILED", Some("FanOutFailed"))
    );
}
