//! The deployment templates (`sam/*.yaml`) pass `cfn-lint` and `sam validate --lint`
//! (both offline), and set what the code reads.

use std::path::{Path, PathBuf};
use std::process::Command;

fn sam_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sam")
}

fn tool(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.venv-sam/bin")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/services.sh",
        path.display()
    );
    path
}

fn templates() -> Vec<PathBuf> {
    let mut t: Vec<PathBuf> = std::fs::read_dir(sam_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    t.sort();
    assert!(!t.is_empty());
    t
}

#[test]
fn every_template_passes_cfn_lint_and_sam_validate() {
    for t in templates() {
        let lint = Command::new(tool("cfn-lint")).arg(&t).output().unwrap();
        assert!(
            lint.status.success(),
            "cfn-lint {}:\n{}{}",
            t.display(),
            String::from_utf8_lossy(&lint.stdout),
            String::from_utf8_lossy(&lint.stderr)
        );
        let validate = Command::new(tool("sam"))
            .args(["validate", "--lint", "-t"])
            .arg(&t)
            .current_dir(sam_dir())
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("SAM_CLI_TELEMETRY", "0")
            .output()
            .unwrap();
        assert!(
            validate.status.success(),
            "sam validate {}:\n{}{}",
            t.display(),
            String::from_utf8_lossy(&validate.stdout),
            String::from_utf8_lossy(&validate.stderr)
        );
    }
}

/// The connector template sets the variables a deployment needs, under the names the
/// connector reads (`connector/src/config`).
#[test]
fn the_connector_template_sets_what_the_connector_reads() {
    let text = std::fs::read_to_string(sam_dir().join("connector.yaml")).unwrap();
    for var in [
        "default:",
        "spill_bucket:",
        "spill_prefix:",
        "disable_spill_encryption:",
        "kms_key_id:",
    ] {
        assert!(
            text.contains(&format!("          {var}")),
            "connector.yaml does not set {var}"
        );
        let name = var.trim_end_matches(':');
        let config = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../connector/src/config/mod.rs"),
        )
        .unwrap();
        assert!(
            config.contains(&format!("\"{name}\"")),
            "the connector does not read {name}"
        );
    }
    assert!(text.contains("Handler: bootstrap") && text.contains("Runtime: provided.al2023"));
}

/// Every environment variable the provisioning code reads is set by `provisioning.yaml`
/// and every variable the template sets is read; the Lambda's code location, the state
/// machine definitions and the substitutions they use exist.
#[test]
fn the_provisioning_template_matches_the_provisioning_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(sam_dir().join("provisioning.yaml")).unwrap();
    let mut code = String::new();
    for f in [
        "provisioning/src/context.rs",
        "provisioning/src/bin/provisioning-lambda.rs",
    ] {
        code += &std::fs::read_to_string(root.join(f)).unwrap();
    }
    // Environment variable names are the code's UPPER_SNAKE string literals.
    let read: std::collections::BTreeSet<String> = code
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.len() > 3 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(str::to_owned)
        .collect();
    let env_block = text
        .split("        Variables:\n")
        .nth(1)
        .expect("provisioning.yaml sets Environment.Variables");
    let set: std::collections::BTreeSet<String> = env_block
        .lines()
        .take_while(|l| l.starts_with("          "))
        .map(|l| l.trim().split(':').next().unwrap().to_owned())
        .collect();
    assert_eq!(read, set, "read by the code vs set by provisioning.yaml");
    assert!(read.contains("USERS_TABLE") && read.contains("ALLOWED_BLUEPRINTS"));

    assert!(text.contains("CodeUri: ../target/lambda/provisioning-lambda/"));
    assert!(root
        .join("provisioning/src/bin/provisioning-lambda.rs")
        .is_file());
    for (file, subs) in [
        (
            "governance.asl.json",
            &["ProvisioningFunctionArn", "SubscriptionStateMachineArn"][..],
        ),
        ("subscription.asl.json", &["ProvisioningFunctionArn"][..]),
    ] {
        assert!(text.contains(&format!("DefinitionUri: statemachines/{file}")));
        let asl = std::fs::read_to_string(sam_dir().join("statemachines").join(file)).unwrap();
        for s in subs {
            assert!(asl.contains(&format!("${{{s}}}")), "{file} uses ${{{s}}}");
            assert!(
                text.contains(&format!("        {s}: ")),
                "provisioning.yaml substitutes {s}"
            );
        }
    }
}

/// Least privilege in the provisioning templates (§9 defects 7, 9, 10): no `iam:PassRole`,
/// nothing touching Lake Formation settings, no consumer named in the key policy, and a
/// `"*"` resource only inside the key policy (where it means the key itself).
#[test]
fn the_provisioning_templates_grant_no_more_than_they_need() {
    for name in ["provisioning.yaml", "consumer.yaml"] {
        let text = std::fs::read_to_string(sam_dir().join(name)).unwrap();
        assert!(!text.contains("iam:PassRole"), "{name} allows iam:PassRole");
        assert!(
            !text.contains("LakeFormation"),
            "{name} touches Lake Formation"
        );
        let mut in_key_policy = false;
        for line in text.lines() {
            if line.starts_with("  ") && !line.starts_with("   ") {
                in_key_policy = false; // the next resource
            }
            if line.trim_start().starts_with("KeyPolicy:") {
                in_key_policy = true;
            }
            if line.contains("Resource: \"*\"") {
                assert!(
                    in_key_policy,
                    "{name}: `Resource: \"*\"` outside a key policy"
                );
            }
            if in_key_policy {
                assert!(
                    !line.contains("aws:PrincipalArn"),
                    "{name}: the key policy names consumers"
                );
            }
        }
    }
}
