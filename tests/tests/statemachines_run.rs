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
            // What the task's ResultSelector would make of the Lambda's {"Payload": …}.
            let invoke = json!({"Payload": recorded.get(&step).cloned().unwrap_or(json!({}))});
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

fn recorded() -> Value {
    json!({
        "ProducerGrant": {"Provisioned": true, "Server": "postgres://db:5432", "UserName": "dz_e1", "SecretArn": "arn:p", "SecretName": "p", "Assets": ["a1"]},
        "ConsumerGrant": {"Provisioned": true, "SecretArn": "arn:c", "SecretName": "c"},
        "ProducerRevoke": {"Provisioned": true, "UserDropped": true, "SecretArn": "arn:p"},
        "ConsumerRevoke": {"Provisioned": true, "SecretDeleted": true},
        "ReportStatus": {"Reported": true},
        "FanOut": {"Inputs": [workflow_input("Grant"), workflow_input("Revoke")]},
    })
}

#[tokio::test]
async fn the_subscription_workflow_succeeds_and_undoes_a_failed_consumer_grant() {
    let mut grant = definition("subscription.asl.json");
    stub(&mut grant["States"], &recorded(), &[]);
    let (status, _, entered, output) = run(grant.clone(), workflow_input("Grant")).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(
        entered,
        [
            "WhichAction",
            "ProducerGrant",
            "ConsumerGrant",
            "ReportSuccess",
            "Done"
        ]
    );
    assert_eq!(output["Consumer"]["Output"]["SecretArn"], "arn:c");
    let (status, _, entered, _) = run(grant, workflow_input("Revoke")).await;
    assert_eq!((status.as_str(), entered.len()), ("SUCCEEDED", 5));
    assert_eq!(entered[1..3], ["ProducerRevoke", "ConsumerRevoke"]);
    // The consumer step fails for good: the producer grant is undone, the failure reported.
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
            "ReportFailure",
            "Failed"
        ]
    );
}

#[tokio::test]
async fn the_governance_workflow_runs_one_subscription_workflow_per_environment() {
    let mut gov = definition("governance.asl.json");
    stub(&mut gov["States"], &recorded(), &[]);
    let (status, error, entered, output) = run(
        gov,
        json!({"detail-type": "Subscription Created", "detail": {}}),
    )
    .await;
    assert_eq!(status, "SUCCEEDED", "{error:?} {entered:?} {output}");
    assert_eq!(
        entered
            .iter()
            .filter(|s| *s == "RunSubscriptionWorkflow")
            .count(),
        2,
        "{entered:?}"
    );
    let mut gov = definition("governance.asl.json");
    stub(&mut gov["States"], &recorded(), &["FanOut"]);
    let (status, error, _, _) = run(gov, json!({})).await;
    assert_eq!(
        (status.as_str(), error.as_deref()),
        ("FAILED", Some("FanOutFailed"))
    );
}
