//! The state machine definitions (`sam/statemachines`) against the Lambda they drive: every
//! transition names a state that exists, every task names a step the Lambda handles, and
//! every task retries transient errors and catches the rest into a reported failure.

use std::collections::HashSet;
use std::path::Path;

use athena_provisioning::handler::STEPS;
use serde_json::Value;

fn definition(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sam/statemachines")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks one `States` object (and nested Map processors); returns the steps invoked.
fn check(states: &Value, start: &str, where_: &str, steps: &mut HashSet<String>) {
    let states = states
        .as_object()
        .unwrap_or_else(|| panic!("{where_}: States is not an object"));
    assert!(
        states.contains_key(start),
        "{where_}: StartAt {start} is not a state"
    );
    for (name, s) in states {
        let mut targets: Vec<&str> = Vec::new();
        targets.extend(s.get("Next").and_then(Value::as_str));
        targets.extend(s.get("Default").and_then(Value::as_str));
        for list in ["Choices", "Catch"] {
            for c in s.get(list).and_then(Value::as_array).into_iter().flatten() {
                targets.extend(c.get("Next").and_then(Value::as_str));
            }
        }
        for t in targets {
            assert!(
                states.contains_key(t),
                "{where_}.{name}: transition to missing state {t}"
            );
        }
        let kind = s["Type"].as_str().unwrap();
        let terminal = matches!(kind, "Succeed" | "Fail" | "Choice")
            || s.get("End") == Some(&Value::Bool(true));
        assert!(
            terminal || s.get("Next").is_some(),
            "{where_}.{name}: neither Next nor End"
        );
        if kind == "Task" {
            let retry = s["Retry"]
                .as_array()
                .unwrap_or_else(|| panic!("{where_}.{name}: no Retry"));
            assert!(!retry.is_empty(), "{where_}.{name}: empty Retry");
            let catch = s["Catch"]
                .as_array()
                .unwrap_or_else(|| panic!("{where_}.{name}: no Catch"));
            assert!(
                catch.iter().any(|c| c["ErrorEquals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e == "States.ALL")),
                "{where_}.{name}: Catch does not cover States.ALL"
            );
            assert!(
                s.get("TimeoutSeconds").is_some(),
                "{where_}.{name}: no timeout"
            );
            if s["Resource"] == "arn:aws:states:::lambda:invoke" {
                let retried: Vec<&str> = retry
                    .iter()
                    .flat_map(|r| r["ErrorEquals"].as_array().unwrap())
                    .filter_map(Value::as_str)
                    .collect();
                for e in [
                    "Lambda.TooManyRequestsException",
                    "Lambda.ServiceException",
                    "AwsError",
                    "DatabaseError",
                ] {
                    assert!(retried.contains(&e), "{where_}.{name}: {e} is not retried");
                }
                // A grant meeting a concurrent revoke of the same user waits for it.
                let step = s["Parameters"]["Payload"]["Step"]
                    .as_str()
                    .unwrap_or_default();
                if step.starts_with("Producer") || step.starts_with("Consumer") {
                    assert!(
                        retried.contains(&"Busy"),
                        "{where_}.{name}: Busy is not retried"
                    );
                }
                steps.insert(
                    s["Parameters"]["Payload"]["Step"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{where_}.{name}: no Step"))
                        .to_owned(),
                );
            }
        }
        if kind == "Map" {
            let p = &s["ItemProcessor"];
            check(
                &p["States"],
                p["StartAt"].as_str().unwrap(),
                &format!("{where_}.{name}"),
                steps,
            );
        }
    }
}

#[test]
fn definitions_are_consistent_with_the_lambda() {
    let mut used = HashSet::new();
    for file in ["governance.asl.json", "subscription.asl.json"] {
        let d = definition(file);
        check(
            &d["States"],
            d["StartAt"].as_str().unwrap(),
            file,
            &mut used,
        );
    }
    let handled: HashSet<String> = STEPS.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        used, handled,
        "every step the Lambda handles is used, and only those"
    );
    // A failed consumer grant undoes the producer grant before reporting.
    let sub = definition("subscription.asl.json");
    assert_eq!(
        sub["States"]["ConsumerGrant"]["Catch"][0]["Next"],
        "UndoProducerGrant"
    );
    assert_eq!(
        sub["States"]["UndoProducerGrant"]["Parameters"]["Payload"]["Step"],
        "ProducerRevoke"
    );
    // Redelivered events: the same execution name, and "already exists" is success.
    let gov = definition("governance.asl.json");
    let run =
        &gov["States"]["EachEnvironment"]["ItemProcessor"]["States"]["RunSubscriptionWorkflow"];
    assert_eq!(run["Parameters"]["Name.$"], "$.ExecutionName");
    assert_eq!(
        run["Catch"][0]["ErrorEquals"][0],
        "StepFunctions.ExecutionAlreadyExistsException"
    );
    // It runs in the producer account FanOut names, with the role FanOut names.
    let target = serde_json::to_value(athena_provisioning::governance::Target {
        state_machine_arn: "s".into(),
        role_arn: "r".into(),
    })
    .unwrap();
    assert_eq!(
        target,
        serde_json::json!({"StateMachineArn": "s", "RoleArn": "r"})
    );
    assert_eq!(run["Credentials"]["RoleArn.$"], "$.Target.RoleArn");
    assert_eq!(
        run["Parameters"]["StateMachineArn.$"],
        "$.Target.StateMachineArn"
    );
    // DataZone is called from the governance account only; databases and secrets from the
    // producer account only.
    for (file, steps) in [
        ("governance.asl.json", &["FanOut", "ReportStatus"][..]),
        (
            "subscription.asl.json",
            &[
                "ProducerGrant",
                "ConsumerGrant",
                "ProducerRevoke",
                "ConsumerRevoke",
            ][..],
        ),
    ] {
        let mut used = HashSet::new();
        let d = definition(file);
        check(
            &d["States"],
            d["StartAt"].as_str().unwrap(),
            file,
            &mut used,
        );
        let expected: HashSet<String> = steps.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(used, expected, "{file}");
    }
}
