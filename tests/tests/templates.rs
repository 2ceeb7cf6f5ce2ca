//! The deployment templates (`sam/*.yaml`) pass `cfn-lint` and `sam validate --lint`
//! (both offline), and set what the code reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
    let mut t: Vec<PathBuf> = [sam_dir(), sam_dir().join("products")]
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    t.sort();
    assert!(!t.is_empty());
    t
}

fn cfn_lint(template: &Path) -> Output {
    Command::new(tool("cfn-lint"))
        .arg(template)
        .output()
        .unwrap()
}

fn sam_validate(template: &Path) -> Output {
    Command::new(tool("sam"))
        .args(["validate", "--lint", "-t"])
        .arg(template)
        .current_dir(sam_dir())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .unwrap()
}

/// Asserts that a tool accepted a template, showing what it said otherwise.
fn assert_passed(what: &str, template: &Path, output: &Output) {
    assert!(
        output.status.success(),
        "{what} {}:\n{}{}",
        template.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_template_passes_cfn_lint_and_sam_validate() {
    for t in templates() {
        assert_passed("cfn-lint", &t, &cfn_lint(&t));
        assert_passed("sam validate", &t, &sam_validate(&t));
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
    // RDS IAM authentication (iamAuth=true): rds-db:connect for exactly the named user.
    assert!(text.contains(
        "Action: rds-db:connect\n                  Resource: !Sub arn:${AWS::Partition}:rds-db:${AWS::Region}:${AWS::AccountId}:dbuser:${IamAuthDbUser}\n"
    ));
    // Subnets without a NAT (upstream #134, #125, #406, #1337): optional endpoints for every
    // service the connector calls.
    for (service, condition) in [
        ("secretsmanager", "CreateEndpoints"),
        ("s3", "CreateS3Endpoint"),
        ("kms", "CreateKmsEndpoint"),
    ] {
        let at = text
            .find(&format!(
                "ServiceName: !Sub com.amazonaws.${{AWS::Region}}.{service}\n"
            ))
            .unwrap_or_else(|| panic!("connector.yaml has no {service} endpoint"));
        // The resource's own lines: back to its two-space-indented logical id.
        let resource: Vec<&str> = text[..at]
            .lines()
            .rev()
            .take_while(|l| !l.starts_with("  ") || l.starts_with("   "))
            .collect();
        assert!(
            resource.contains(&format!("    Condition: {condition}").as_str()),
            "the {service} endpoint is created under {condition}"
        );
    }
}

/// The variables one template sets in its functions' `Environment.Variables`.
fn env_vars_set(text: &str) -> BTreeSet<String> {
    text.split("        Variables:\n")
        .skip(1)
        .flat_map(|block| {
            block
                .lines()
                .take_while(|l| l.starts_with("          "))
                .filter(|l| !l.trim_start().starts_with('#'))
                .map(|l| l.trim().split(':').next().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A template parameter's default.
fn default_of(text: &str, parameter: &str) -> String {
    let block = text
        .split(&format!("\n  {parameter}:\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no parameter {parameter}"));
    block
        .lines()
        .take_while(|l| l.starts_with("    "))
        .find_map(|l| l.trim().strip_prefix("Default: "))
        .unwrap_or_else(|| panic!("{parameter} has no default"))
        .to_owned()
}

/// Every environment variable the provisioning code reads is set by `governance.yaml` or
/// `provisioning.yaml` and every variable they set is read; the Lambda's code location, the
/// state machine definitions and the substitutions they use exist.
#[test]
fn the_provisioning_templates_match_the_provisioning_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let governance = std::fs::read_to_string(sam_dir().join("governance.yaml")).unwrap();
    let producer = std::fs::read_to_string(sam_dir().join("provisioning.yaml")).unwrap();
    let mut code = String::new();
    for f in [
        "provisioning/src/context.rs",
        "provisioning/src/governance.rs",
        "provisioning/src/bin/provisioning-lambda.rs",
        "provisioning/src/toolkit/environment.rs",
    ] {
        code += &std::fs::read_to_string(root.join(f)).unwrap();
    }
    // Environment variables are read as `var("NAME"` (a helper or `std::env::var`; rustfmt
    // may break the line after the parenthesis).
    let read: BTreeSet<String> = code
        .split("var(")
        .skip(1)
        .filter_map(|rest| rest.trim_start().strip_prefix('"'))
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect();
    let mut set = env_vars_set(&governance);
    set.extend(env_vars_set(&producer));
    assert_eq!(read, set, "read by the code vs set by the templates");
    assert!(read.contains("USERS_TABLE") && read.contains("ALLOWED_BLUEPRINTS"));
    assert!(env_vars_set(&producer).contains("TRACKING_ROLE_ARN"));
    assert!(env_vars_set(&governance).contains("PRODUCER_ACCOUNT_IDS"));

    for text in [&governance, &producer] {
        assert!(text.contains("CodeUri: ../target/lambda/provisioning-lambda/"));
    }
    assert!(root
        .join("provisioning/src/bin/provisioning-lambda.rs")
        .is_file());
    for (template, file, subs) in [
        (&governance, "governance.asl.json", "GovernanceFunctionArn"),
        (
            &producer,
            "subscription.asl.json",
            "ProvisioningFunctionArn",
        ),
    ] {
        assert!(template.contains(&format!("DefinitionUri: statemachines/{file}")));
        let asl = std::fs::read_to_string(sam_dir().join("statemachines").join(file)).unwrap();
        assert!(
            asl.contains(&format!("${{{subs}}}")),
            "{file} uses ${{{subs}}}"
        );
        assert!(
            template.contains(&format!("        {subs}: ")),
            "the template of {file} substitutes {subs}"
        );
    }
}

/// The names the governance and producer templates use for each other's roles, state
/// machine and tables agree, with each other and with the code's defaults.
#[test]
fn the_governance_and_producer_templates_name_the_same_things() {
    let governance = std::fs::read_to_string(sam_dir().join("governance.yaml")).unwrap();
    let producer = std::fs::read_to_string(sam_dir().join("provisioning.yaml")).unwrap();
    let routing = athena_provisioning::governance::Routing::from_env();
    for (g, p, code) in [
        ("ProducerRoleName", "ProvisioningRoleName", None),
        (
            "ProducerWorkflowRoleName",
            "WorkflowRoleName",
            Some(&routing.workflow_role_name),
        ),
        (
            "SubscriptionStateMachineName",
            "SubscriptionStateMachineName",
            Some(&routing.state_machine_name),
        ),
        ("TrackingRoleName", "TrackingRoleName", None),
    ] {
        assert_eq!(
            default_of(&governance, g),
            default_of(&producer, p),
            "{g} / {p}"
        );
        if let Some(code) = code {
            assert_eq!(
                &default_of(&governance, g),
                code,
                "{g} / the code's default"
            );
        }
    }
    let consumer = std::fs::read_to_string(sam_dir().join("consumer.yaml")).unwrap();
    assert_eq!(
        default_of(&consumer, "ProducerProvisioningRoleName"),
        default_of(&producer, "ProvisioningRoleName")
    );
    assert_eq!(
        default_of(&consumer, "ConsumerRoleName"),
        default_of(&producer, "ConsumerRoleName")
    );
    // The producer's tracking variables name the governance account's tables.
    let settings = athena_provisioning::context::Settings::from_env();
    for (var, table) in [
        ("USERS_TABLE", &settings.users_table),
        ("SUBSCRIPTIONS_TABLE", &settings.subscriptions_table),
        ("MAPPINGS_TABLE", &settings.mappings_table),
    ] {
        assert!(
            producer.contains(&format!("          {var}: {table}\n")),
            "provisioning.yaml sets {var} to {table}"
        );
        assert!(
            governance.contains(&format!("      TableName: {table}\n")),
            "governance.yaml creates {table}"
        );
    }
    // A parameter described as "<Output> output of <template>" names an output there.
    let mut outputs_named = 0;
    for text in [&producer, &consumer] {
        for line in text.lines() {
            let Some((before, after)) = line.split_once(" output of ") else {
                continue;
            };
            let output = before.rsplit(' ').next().unwrap();
            let template = after
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches(['.', ',']);
            let other = std::fs::read_to_string(sam_dir().join(template)).unwrap();
            let outputs = other.split("\nOutputs:\n").nth(1).unwrap();
            assert!(
                outputs.contains(&format!("\n  {output}:\n"))
                    || outputs.starts_with(&format!("  {output}:\n")),
                "{template} has no output {output}"
            );
            outputs_named += 1;
        }
    }
    assert_eq!(outputs_named, 3);
    // Only the governance state machine may use the workflow role.
    assert!(producer.contains("sts:ExternalId: !Ref GovernanceStateMachineArn"));
    // The state machine the governance role starts is the one the producer names.
    assert!(producer.contains("      Name: !Ref SubscriptionStateMachineName\n"));
    assert!(producer.contains("      RoleName: !Ref WorkflowRoleName\n"));
    assert!(producer.contains("      RoleName: !Ref ProvisioningRoleName\n"));
    assert!(governance.contains("      RoleName: !Ref TrackingRoleName\n"));
}

/// Least privilege in the provisioning templates (§9 defects 7, 9, 10): no `iam:PassRole`,
/// nothing touching Lake Formation settings, no consumer named in the key policy, and a
/// `"*"` resource only inside the key policy (where it means the key itself).
#[test]
fn the_provisioning_templates_grant_no_more_than_they_need() {
    for name in ["governance.yaml", "provisioning.yaml", "consumer.yaml"] {
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

/// The README's deployment commands pass only parameters their template has, and every
/// parameter the template requires (no default).
#[test]
fn the_readme_deploy_commands_match_the_templates() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    // Shell commands, continuation lines joined.
    let joined = readme.replace("\\\n", " ");
    let mut checked = 0;
    for command in joined.lines().filter(|l| l.contains("sam deploy -t sam/")) {
        let template = command
            .split("-t sam/")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        let text = std::fs::read_to_string(sam_dir().join(template)).unwrap();
        let parameters_block = text
            .split("\nParameters:\n")
            .nth(1)
            .unwrap()
            .split("\n\n")
            .take_while(|b| !b.starts_with(|c: char| c.is_ascii_alphabetic()))
            .collect::<Vec<_>>()
            .join("\n\n");
        let declared: Vec<(String, bool)> = parameters_block
            .split('\n')
            .enumerate()
            .filter(|(_, l)| l.starts_with("  ") && !l.starts_with("   ") && l.ends_with(':'))
            .map(|(i, l)| {
                let name = l.trim().trim_end_matches(':').to_owned();
                let has_default = parameters_block
                    .split('\n')
                    .skip(i + 1)
                    .take_while(|l| l.starts_with("    "))
                    .any(|l| l.trim_start().starts_with("Default:"));
                (name, has_default)
            })
            .collect();
        let given: Vec<String> = command
            .split("--parameter-overrides")
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|t| t.trim_start_matches('\'').split_once('='))
            .map(|(k, _)| k.to_owned())
            .collect();
        for k in &given {
            assert!(
                declared.iter().any(|(d, _)| d == k),
                "README passes {k} to {template}, which has no such parameter"
            );
        }
        for (d, has_default) in &declared {
            assert!(
                *has_default || given.contains(d),
                "README's {template} command misses the required {d}"
            );
        }
        checked += 1;
    }
    assert_eq!(
        checked, 7,
        "connector, connector-connection, governance twice, producer, consumer, toolkit"
    );

    // The products launched in the walkthrough get every parameter they require, and only
    // parameters they have.
    let mut launched = 0;
    for command in joined
        .lines()
        .filter(|l| l.contains("servicecatalog provision-product"))
    {
        let product = if command.contains("athena-fed producer") {
            "producer.yaml"
        } else {
            "consumer.yaml"
        };
        let text = std::fs::read_to_string(sam_dir().join("products").join(product)).unwrap();
        let params = parameter_types(&text);
        let given: Vec<&str> = command
            .split("Key=")
            .skip(1)
            .map(|kv| kv.split(',').next().unwrap())
            .collect();
        for k in &given {
            assert!(params.contains_key(*k), "README passes {k} to {product}");
        }
        for name in params.keys() {
            let block = text.split(&format!("\n  {name}:\n")).nth(1).unwrap();
            let has_default = block
                .lines()
                .take_while(|l| l.starts_with("    "))
                .any(|l| l.trim_start().starts_with("Default:"));
            assert!(
                has_default || given.contains(&name.as_str()),
                "README's {product} launch misses the required {name}"
            );
        }
        launched += 1;
    }
    assert_eq!(launched, 2, "the producer and consumer products");
}

const SECURITY_GROUPS: &str = "List<AWS::EC2::SecurityGroup::Id>";
const SUBNETS: &str = "List<AWS::EC2::Subnet::Id>";

/// A template's parameters: (name, type).
type Parameters = &'static [(&'static str, &'static str)];

/// The parameters (name, type) of the official templates (awslabs/aws-athena-query-federation),
/// with the template of ours that replaces each.
const OFFICIAL_PARAMETERS: &[(&str, &str, Parameters)] = &[
    (
        "athena-postgresql.yaml",
        "connector.yaml",
        &[
            ("LambdaFunctionName", "String"),
            ("DefaultConnectionString", "String"),
            ("SecretNamePrefix", "String"),
            ("SpillBucket", "String"),
            ("SpillPrefix", "String"),
            ("LambdaTimeout", "Number"),
            ("LambdaMemory", "Number"),
            ("DisableSpillEncryption", "String"),
            ("LambdaRoleARN", "String"),
            ("SecurityGroupIds", SECURITY_GROUPS),
            ("SubnetIds", SUBNETS),
            ("CompositeHandler", "String"),
            ("PermissionsBoundaryARN", "String"),
            ("DefaultScale", "Number"),
        ],
    ),
    (
        "athena-mysql.yaml",
        "connector.yaml",
        &[
            ("LambdaFunctionName", "String"),
            ("DefaultConnectionString", "String"),
            ("SecretNamePrefix", "String"),
            ("SpillBucket", "String"),
            ("SpillPrefix", "String"),
            ("LambdaTimeout", "Number"),
            ("LambdaMemory", "Number"),
            ("LambdaRoleARN", "String"),
            ("DisableSpillEncryption", "String"),
            ("SecurityGroupIds", SECURITY_GROUPS),
            ("SubnetIds", SUBNETS),
            ("PermissionsBoundaryARN", "String"),
        ],
    ),
    (
        "athena-postgresql-connection.yaml",
        "connector-connection.yaml",
        &[
            ("LambdaFunctionName", "String"),
            ("SecretName", "String"),
            ("SpillBucket", "String"),
            ("GlueConnection", "String"),
            ("LambdaRoleArn", "String"),
            ("SecurityGroupIds", SECURITY_GROUPS),
            ("SubnetIds", SUBNETS),
            ("CompositeHandler", "String"),
            ("DefaultScale", "Number"),
            ("KmsKeyId", "String"),
        ],
    ),
    (
        "athena-mysql-connection.yaml",
        "connector-connection.yaml",
        &[
            ("LambdaFunctionName", "String"),
            ("SecretName", "String"),
            ("SpillBucket", "String"),
            ("GlueConnection", "String"),
            ("LambdaRoleArn", "String"),
            ("SecurityGroupIds", SECURITY_GROUPS),
            ("SubnetIds", SUBNETS),
            ("KmsKeyId", "String"),
        ],
    ),
];

/// A template's parameters and their types (the `Type:` lines of its `Parameters:` section).
fn parameter_types(text: &str) -> BTreeMap<String, String> {
    let section = text
        .split("\nParameters:\n")
        .nth(1)
        .expect("no Parameters section");
    let mut types = BTreeMap::new();
    let mut parameter = None;
    for line in section.lines() {
        if line.starts_with(|c: char| c.is_ascii_alphabetic()) {
            break; // the next section
        }
        if line.starts_with("  ") && !line.starts_with("   ") && line.ends_with(':') {
            parameter = Some(line.trim().trim_end_matches(':').to_owned());
        } else if let (Some(name), Some(t)) = (&parameter, line.strip_prefix("    Type: ")) {
            types.insert(name.clone(), t.trim().trim_matches(['"', '\'']).to_owned());
        }
    }
    types
}

/// Our templates declare every parameter of the official ones, with the same type. The one
/// exception: SecurityGroupIds and SubnetIds are optional comma-delimited lists (the VPC is
/// optional, as in the official SQL Server and Oracle templates), which take the values of the
/// official `List<AWS::EC2::...::Id>` types unchanged.
#[test]
fn our_templates_declare_the_official_parameters_with_their_types() {
    for (official, ours, parameters) in OFFICIAL_PARAMETERS {
        let text = std::fs::read_to_string(sam_dir().join(ours)).unwrap();
        let declared = parameter_types(&text);
        for (name, official_type) in *parameters {
            let our_type = declared
                .get(*name)
                .unwrap_or_else(|| panic!("{ours} lacks {name} of the official {official}"));
            if matches!(*name, "SecurityGroupIds" | "SubnetIds") {
                assert!(official_type.starts_with("List<AWS::EC2::"));
                assert_eq!(
                    (our_type.as_str(), default_of(&text, name).as_str()),
                    ("CommaDelimitedList", "\"\""),
                    "{ours}'s {name} is an optional list"
                );
            } else {
                assert_eq!(
                    our_type, official_type,
                    "{ours}'s {name} (the official {official})"
                );
            }
        }
    }
}

/// A parent template that declares an official template's parameters with their official
/// types and passes every one to `nested` (plus `extra`, a literal, when given).
fn parent_template(nested: &Path, parameters: &[(&str, &str)], extra: Option<&str>) -> String {
    let mut declared = String::new();
    let mut passed = String::new();
    for (name, ty) in parameters {
        declared += &format!("  {name}:\n    Type: {ty}\n");
        passed += &if ty.starts_with("List<") {
            format!("        {name}: !Join [\",\", !Ref {name}]\n")
        } else {
            format!("        {name}: !Ref {name}\n")
        };
    }
    if let Some(extra) = extra {
        passed += &format!("        {extra}: x\n");
    }
    format!(
        "AWSTemplateFormatVersion: \"2010-09-09\"\n\
         Transform: AWS::Serverless-2016-10-31\n\
         Description: An official template's parameters, passed to ours.\n\
         Parameters:\n{declared}\
         Resources:\n\
         \x20 Connector:\n\
         \x20   Type: AWS::Serverless::Application\n\
         \x20   Properties:\n\
         \x20     Location: {}\n\
         \x20     Parameters:\n{passed}",
        nested.display()
    )
}

/// A parameter file written for an official template deploys unchanged with ours: a parent
/// stack holding the official parameters, with their official types, can pass each to ours
/// (cfn-lint's E3043 reads the nested template's parameters and rejects one it lacks, and a
/// required one not passed).
#[test]
fn an_official_parameter_file_deploys_unchanged() {
    let dir =
        std::env::temp_dir().join(format!("athena-official-parameters-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (official, ours, parameters) in OFFICIAL_PARAMETERS {
        let nested = sam_dir().join(ours).canonicalize().unwrap();
        let parent = dir.join(official);
        std::fs::write(&parent, parent_template(&nested, parameters, None)).unwrap();
        assert_passed("cfn-lint", &parent, &cfn_lint(&parent));
        assert_passed("sam validate", &parent, &sam_validate(&parent));

        // cfn-lint passes silently when it cannot read the nested template: a parameter ours
        // lacks must fail it, or the pass above proves nothing.
        let control = dir.join(format!("unknown-parameter-{official}"));
        std::fs::write(
            &control,
            parent_template(&nested, parameters, Some("NotAParameterOfOurs")),
        )
        .unwrap();
        let lint = cfn_lint(&control);
        let said = String::from_utf8_lossy(&lint.stdout);
        assert!(
            !lint.status.success()
                && said.contains("E3043")
                && said.contains("NotAParameterOfOurs"),
            "cfn-lint did not check the parameters passed to {ours}:\n{said}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The connector template passes the official parameters that mean something here to the
/// variables the connector reads; the connection template leaves everything to the Glue
/// connection and may read it.
#[test]
fn the_official_parameters_reach_the_connector() {
    let connector = std::fs::read_to_string(sam_dir().join("connector.yaml")).unwrap();
    for (var, parameter) in [
        ("default_scale", "DefaultScale"),
        ("is_FIPS_Enabled", "IsFIPSEnabled"),
    ] {
        assert!(
            env_vars_set(&connector).contains(var),
            "connector.yaml does not set {var}"
        );
        assert!(
            connector.contains(&format!("          {var}: !Ref {parameter}\n")),
            "connector.yaml sets {var} from {parameter}"
        );
    }
    // The official defaults.
    assert_eq!(default_of(&connector, "DefaultScale"), "0");
    assert_eq!(default_of(&connector, "IsFIPSEnabled"), "\"false\"");
    assert_eq!(
        default_of(&connector, "CompositeHandler"),
        "PostGreSqlMuxCompositeHandler"
    );
    let config = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../connector/src/config/mod.rs"),
    )
    .unwrap();
    for var in ["default_scale", "is_FIPS_Enabled", "glue_connection"] {
        assert!(
            config.contains(&format!("\"{var}\"")),
            "the connector does not read {var}"
        );
    }

    let connection = std::fs::read_to_string(sam_dir().join("connector-connection.yaml")).unwrap();
    // A Lambda variable overrides the Glue connection's property, so none but its name.
    assert_eq!(
        env_vars_set(&connection),
        BTreeSet::from(["glue_connection".to_owned()])
    );
    assert!(connection.contains("          glue_connection: !Ref GlueConnection\n"));
    assert!(connection.contains(
        "Action: glue:GetConnection\n\
         \x20               Resource:\n\
         \x20                 - !Sub arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:connection/${GlueConnection}\n\
         \x20                 - !Sub arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog\n"
    ));
    // As in connector.yaml, the only unscoped grant is ENI management.
    for text in [&connector, &connection] {
        assert_eq!(text.matches("Resource: \"*\"").count(), 1);
    }
}

/// The IAM statements of a template, as (Sid, text of the statement) — a statement starts at
/// a `- Sid:` line (every statement of the toolkit's templates has one) and ends where the
/// indentation goes back.
fn statements(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, usize, String)> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some((sid, depth, body)) = current.take() {
            if line.trim().is_empty() || indent > depth {
                current = Some((sid, depth, body + line + "\n"));
                continue;
            }
            out.push((sid, body));
        }
        if let Some(sid) = line.trim_start().strip_prefix("- Sid: ") {
            current = Some((sid.to_owned(), indent, String::new()));
        }
    }
    if let Some((sid, _, body)) = current {
        out.push((sid, body));
    }
    out
}

/// Least privilege in the toolkit (issue 14, the reference's defect 7): no launch role can
/// create roles; `iam:PassRole` only to the toolkit's own roles, each for one service;
/// roles are created only with the connector boundary, under the toolkit's path; `"*"`
/// only for actions that have no resource-level permissions.
#[test]
fn the_toolkit_grants_no_more_than_it_needs() {
    // Actions IAM cannot limit to a resource.
    let unscoped: BTreeSet<&str> = [
        "cloudformation:ValidateTemplate",
        "cloudformation:GetTemplateSummary",
        "servicecatalog:ListPortfolios",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeRouteTables",
        "ec2:CreateTags",
    ]
    .into();
    let text = std::fs::read_to_string(sam_dir().join("toolkit.yaml")).unwrap();
    let all = statements(&text);
    // Every statement is read (each has a Sid; trust policies are the other `Effect:`s).
    assert_eq!(
        all.len() + text.matches("AssumeRolePolicyDocument:").count(),
        text.matches("Effect:").count(),
        "a statement without a Sid would escape these checks"
    );
    let actions = |body: &str| -> Vec<String> {
        let line = body
            .lines()
            .find(|l| l.trim_start().starts_with("Action:"))
            .unwrap_or_default();
        line.split_once(':')
            .map(|(_, a)| a)
            .unwrap_or_default()
            .trim()
            .trim_matches(['[', ']'])
            .split(',')
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect()
    };
    for (sid, body) in &all {
        let acts = actions(body);
        assert!(!acts.is_empty(), "{sid}: no Action line");
        if body.contains("Resource: \"*\"") {
            for a in &acts {
                assert!(unscoped.contains(a.as_str()), "{sid}: {a} on \"*\"");
            }
        }
        for a in &acts {
            assert!(!a.contains('*'), "{sid}: wildcard action {a}");
            assert!(
                !a.starts_with("lakeformation:")
                    && a != "iam:CreatePolicy"
                    && a != "iam:AttachRolePolicy",
                "{sid}: {a}"
            );
        }
        if acts.iter().any(|a| a == "iam:PassRole") {
            assert!(
                body.contains("iam:PassedToService:"),
                "{sid}: PassRole for any service"
            );
            assert!(
                body.contains("Resource: !GetAtt CrawlerRole.Arn")
                    || body.contains(":role/athena-fed/athena-fed-connector-*"),
                "{sid}: PassRole beyond the toolkit's roles:\n{body}"
            );
        }
        if acts
            .iter()
            .any(|a| a == "iam:CreateRole" || a == "iam:PutRolePolicy")
        {
            assert_eq!(sid, "ConnectorRolesWithTheBoundary");
            assert!(body.contains("iam:PermissionsBoundary: !Ref ConnectorBoundary"));
            assert!(body.contains(":role/athena-fed/athena-fed-connector-*"));
        }
    }
    // Only the environment workflow's role creates roles; the launch roles pass exactly one
    // kind each.
    let create: Vec<&String> = all
        .iter()
        .filter(|(_, b)| actions(b).iter().any(|a| a.starts_with("iam:Create")))
        .map(|(s, _)| s)
        .collect();
    assert_eq!(create, ["ConnectorRolesWithTheBoundary"]);
    let pass: Vec<&String> = all
        .iter()
        .filter(|(_, b)| actions(b).iter().any(|a| a == "iam:PassRole"))
        .map(|(s, _)| s)
        .collect();
    assert_eq!(pass, ["CrawlerRoleOnly", "ConnectorRolesOnly"]);
    // The connector boundary is what the code names, at the path the code uses.
    assert!(text.contains(&format!(
        "ManagedPolicyName: {}",
        athena_provisioning::toolkit::CONNECTOR_BOUNDARY_NAME
    )));
    assert!(text.contains(&format!(
        "Path: {}",
        athena_provisioning::toolkit::CONNECTOR_ROLE_PATH
    )));
    assert!(text.contains(&format!(
        "DisplayName: {}",
        athena_provisioning::toolkit::PORTFOLIO_NAME
    )));
    assert!(text.contains("BucketName: !Sub athena-fed-spill-${AWS::AccountId}-${AWS::Region}"));
    assert_eq!(
        athena_provisioning::toolkit::spill_bucket("1", "r"),
        "athena-fed-spill-1-r"
    );
}

/// The products take no DataZone ids, secret names or roles as parameters: every such value
/// comes from the `Custom::DataZoneIds` resource, whose attributes are the ones the code
/// answers with, served by the toolkit's launch function.
#[test]
fn the_products_derive_the_datazone_ids_from_the_launching_role() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let launch = std::fs::read_to_string(root.join("provisioning/src/toolkit/launch.rs")).unwrap();
    let toolkit = std::fs::read_to_string(sam_dir().join("toolkit.yaml")).unwrap();
    assert!(toolkit.contains("FunctionName: athena-fed-launch-ids"));
    for product in ["producer.yaml", "consumer.yaml"] {
        let text = std::fs::read_to_string(sam_dir().join("products").join(product)).unwrap();
        let params = parameter_types(&text);
        for p in params.keys() {
            let lower = p.to_ascii_lowercase();
            for forbidden in [
                "domain",
                "project",
                "environment",
                "role",
                "secretname",
                "secretprefix",
            ] {
                assert!(
                    !lower.contains(forbidden),
                    "{product}: parameter {p} must come from the launching role"
                );
            }
        }
        assert!(text.contains("Type: Custom::DataZoneIds"), "{product}");
        assert!(
            text.contains("ServiceToken: !Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:athena-fed-launch-ids"),
            "{product}"
        );
        // Every attribute read from the custom resource is one the code returns.
        for (i, _) in text.match_indices("Ids.") {
            let attr: String = text[i + 4..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            assert!(
                launch.contains(&format!("\"{attr}\":")),
                "{product}: Ids.{attr} is not an attribute of Custom::DataZoneIds"
            );
        }
    }
    let consumer = std::fs::read_to_string(sam_dir().join("products/consumer.yaml")).unwrap();
    assert!(consumer.contains("Role: !GetAtt Ids.ConnectorRoleArn"));
    assert!(consumer.contains("FunctionName: !Sub athena-fed-${Ids.EnvironmentId}-"));
    // The code location comes from the toolkit's parameters, not from the user.
    for (i, _) in consumer.match_indices("{{resolve:ssm:") {
        let name: String = consumer[i + 14..]
            .chars()
            .take_while(|c| *c != '}')
            .collect();
        assert!(
            toolkit.contains(&format!("Name: {name}\n")),
            "consumer.yaml resolves {name}, which toolkit.yaml does not set"
        );
    }
    let producer = std::fs::read_to_string(sam_dir().join("products/producer.yaml")).unwrap();
    assert!(producer.contains("\"Project\": \"${Ids.ProjectId}\""));
    assert!(producer.contains("Name: !Sub ${Ids.EnvironmentId}-${ConnectionName}"));
    assert!(producer.contains("Name: !Sub athena-fed-map-"));
    assert!(producer.contains(":function:athena-fed-provisioning"));
    let provisioning = std::fs::read_to_string(sam_dir().join("provisioning.yaml")).unwrap();
    // The admin secret is one the provisioning role may read (map-assets and grants).
    assert!(producer.contains(&format!(
        ":secret:{}[",
        default_of(&provisioning, "DatabaseAdminSecretPrefix")
    )));
    assert!(provisioning.contains("FunctionName: athena-fed-provisioning\n"));
    assert!(provisioning.contains(":rule/athena-fed-map-*"));
}

/// The governance template sends the environment events the code handles to the governance
/// function, which may assume only the toolkit's access role, which trusts only it.
#[test]
fn the_environment_workflow_is_wired() {
    use athena_provisioning::toolkit::environment::{ACTIVE_EVENT, DELETED_EVENT};
    let governance = std::fs::read_to_string(sam_dir().join("governance.yaml")).unwrap();
    let toolkit = std::fs::read_to_string(sam_dir().join("toolkit.yaml")).unwrap();
    for event in [ACTIVE_EVENT, DELETED_EVENT] {
        assert!(
            governance.contains(&format!("                - {event}\n")),
            "{event}"
        );
    }
    assert_eq!(
        default_of(&governance, "EnvironmentAccessRoleName"),
        default_of(&toolkit, "EnvironmentAccessRoleName")
    );
    assert_eq!(
        default_of(&governance, "GovernanceFunctionRoleName"),
        default_of(&toolkit, "GovernanceFunctionRoleName")
    );
    assert!(governance.contains("      RoleName: !Ref GovernanceFunctionRoleName\n"));
    // An event the function fails on is kept, not dropped after Lambda's retries.
    assert!(governance.contains(
        "          OnFailure:\n            Type: SQS\n            Destination: !GetAtt EnvironmentEventFailures.Arn\n"
    ));
    assert!(toolkit.contains("      RoleName: !Ref EnvironmentAccessRoleName\n"));
    assert!(toolkit.contains(
        "aws:PrincipalArn: !Sub arn:${AWS::Partition}:iam::${GovernanceAccountId}:role/${GovernanceFunctionRoleName}"
    ));
}
