//! The toolkit (`sam/toolkit.yaml`) against moto's CloudFormation, IAM, Glue and Secrets
//! Manager: the products' custom resource takes the DataZone ids from the launching role's
//! tags (never from what the template passes), and refuses what belongs to another project
//! or environment; the environment workflow gives an environment its connector role and the
//! portfolio, and takes both away when it is deleted. Service Catalog's portfolio principals
//! are not served by moto: the labelled in-memory stand-in records them.

use std::sync::Arc;

use athena_provisioning::datazone::{EnvironmentInfo, InMemoryDataZone};
use athena_provisioning::governance::Routing;
use athena_provisioning::handler::{handle_event, Toolkit};
use athena_provisioning::toolkit::environment::{
    connector_policy, environment_access, AccountClients, Accounts, EnvironmentSettings,
};
use athena_provisioning::toolkit::launch::LaunchClients;
use athena_provisioning::toolkit::portfolio::InMemoryPortfolios;
use athena_provisioning::toolkit::ToolkitError;
use integration_tests::provisioning::{
    cfn_response_url as response_url, ctx, launch_request, product_stack, project_secret,
    urldecode, user_role,
};
use integration_tests::*;
use serde_json::{json, Value};

/// moto's account.
const ACCOUNT: &str = "123456789012";

async fn launch_clients() -> LaunchClients {
    let aws = aws().await;
    LaunchClients {
        cloudformation: aws_sdk_cloudformation::Client::new(&aws),
        iam: aws_sdk_iam::Client::new(&aws),
        secrets: aws_sdk_secretsmanager::Client::new(&aws),
        glue: aws_sdk_glue::Client::new(&aws),
    }
}

fn env_tags(env: &str) -> [(&'static str, String); 3] {
    [
        ("AmazonDataZoneDomain", "dzd_toolkit".to_owned()),
        ("AmazonDataZoneProject", format!("proj-{env}")),
        ("AmazonDataZoneEnvironment", env.to_owned()),
    ]
}

async fn env_role(name: &str, env: &str) -> String {
    let tags = env_tags(env);
    let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (*k, v.as_str())).collect();
    user_role(name, &tags).await
}

/// Runs one custom resource request through `launch::handle`: the body CloudFormation got.
async fn launch(kind: &str, stack: &str, properties: Value) -> Value {
    let (url, got) = response_url().await;
    let answered = athena_provisioning::toolkit::launch::handle(
        &launch_clients().await,
        launch_request(kind, &url, stack, properties),
    )
    .await
    .unwrap();
    let (head, body) = got.await.unwrap();
    assert!(
        head.starts_with("PUT /cfn-response?X-Amz-Signature=abc HTTP/1.1"),
        "{head}"
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body, answered);
    body
}

fn reason(body: &Value) -> &str {
    assert_eq!(body["Status"], "FAILED", "{body}");
    body["Reason"].as_str().unwrap()
}

async fn toolkit(portfolios: Arc<InMemoryPortfolios>, settings: EnvironmentSettings) -> Toolkit {
    Toolkit {
        accounts: Box::new(MotoAccounts { portfolios }),
        environments: settings,
        launch: launch_clients().await,
    }
}

/// The environment's account is moto's; the portfolio is the stand-in.
struct MotoAccounts {
    portfolios: Arc<InMemoryPortfolios>,
}

#[async_trait::async_trait]
impl Accounts for MotoAccounts {
    async fn open(&self, account: &str, region: &str) -> Result<AccountClients, ToolkitError> {
        assert_eq!((account, region), (ACCOUNT, REGION));
        Ok(AccountClients {
            iam: aws_sdk_iam::Client::new(&aws().await),
            portfolios: self.portfolios.clone(),
        })
    }
}

fn routing() -> Routing {
    Routing {
        allowed_blueprints: vec!["DefaultDataLake".into()],
        producer_accounts: vec![],
        workflow_role_name: "athena-fed-governance-access".into(),
        state_machine_name: "athena-fed-subscription".into(),
    }
}

#[tokio::test]
async fn a_product_gets_the_ids_of_the_role_that_launched_it() {
    let role = env_role("datazone_usr_launch1", "envl1").await;
    let stack = product_stack(
        "SC-123456789012-pp-launch1",
        Some("arn:aws:sts::123456789012:assumed-role/datazone_usr_launch1/alice"),
    )
    .await;
    // What the template passes is not believed: a user cannot name another environment.
    let claims = json!({"ServiceToken": "x", "EnvironmentId": "victim", "ProjectId": "victim"});
    let (url, got) = response_url().await;
    let portfolios = Arc::new(InMemoryPortfolios::default());
    let settings = EnvironmentSettings {
        accounts: vec![],
        access_role_name: None,
    };
    let tk = toolkit(portfolios, settings).await;
    // Through the function's entry point, as CloudFormation invokes it.
    let answered = handle_event(
        &ctx().await,
        &InMemoryDataZone::default(),
        &routing(),
        &tk,
        launch_request("Create", &url, &stack, claims),
    )
    .await
    .unwrap();
    let (_, body) = got.await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), answered);
    assert_eq!(
        answered,
        json!({
            "Status": "SUCCESS",
            "StackId": stack,
            "RequestId": "req-1",
            "LogicalResourceId": "Ids",
            "PhysicalResourceId": "athena-fed-ids-Ids",
            "Data": {
                "LaunchRoleArn": role,
                "DomainId": "dzd_toolkit",
                "ProjectId": "proj-envl1",
                "EnvironmentId": "envl1",
                "SecretPrefix": "athena-fed-c-envl1-",
                "ConnectorRoleArn": "arn:aws:iam::123456789012:role/athena-fed/athena-fed-connector-envl1",
                "SpillBucket": "athena-fed-spill-123456789012-us-east-1",
                "SpillPrefix": "envl1",
                "GlueDatabasePrefix": "athena_fed_envl1",
            }
        })
    );
    // An update answers the same, under the physical id CloudFormation already has.
    let mut update = launch_request("Update", "", &stack, json!({}));
    update["PhysicalResourceId"] = json!("athena-fed-ids-Ids");
    let (url, got) = response_url().await;
    update["ResponseURL"] = json!(url);
    let body = athena_provisioning::toolkit::launch::handle(&launch_clients().await, update)
        .await
        .unwrap();
    got.await.unwrap();
    assert_eq!(body["Data"], answered["Data"]);
}

#[tokio::test]
async fn a_launch_that_cannot_be_traced_to_an_environment_fails_with_the_reason() {
    let untagged = product_stack("SC-123456789012-pp-untagged", None).await;
    assert_eq!(
        reason(&launch("Create", &untagged, json!({})).await),
        format!("refused: stack {untagged} has no aws:servicecatalog:provisioningPrincipalArn tag: the toolkit's products are launched through Service Catalog")
    );
    let by_user = product_stack(
        "SC-123456789012-pp-user",
        Some("arn:aws:iam::123456789012:user/bob"),
    )
    .await;
    assert_eq!(
        reason(&launch("Create", &by_user, json!({})).await),
        "refused: the product was launched by arn:aws:iam::123456789012:user/bob, which is not a role: launch it from a DataZone environment's role"
    );
    user_role("plain_role", &[]).await;
    let plain = product_stack(
        "SC-123456789012-pp-plain",
        Some("arn:aws:sts::123456789012:assumed-role/plain_role/s"),
    )
    .await;
    assert_eq!(
        reason(&launch("Create", &plain, json!({})).await),
        "refused: role plain_role has no AmazonDataZoneDomain tag: launch the product from a DataZone environment's role"
    );
    user_role(
        "odd_role",
        &[
            ("AmazonDataZoneDomain", "dzd_1"),
            ("AmazonDataZoneProject", "p/../x"),
            ("AmazonDataZoneEnvironment", "e1"),
        ],
    )
    .await;
    let odd = product_stack(
        "SC-123456789012-pp-odd",
        Some("arn:aws:sts::123456789012:assumed-role/odd_role/s"),
    )
    .await;
    assert_eq!(
        reason(&launch("Create", &odd, json!({})).await),
        "refused: role odd_role has tag AmazonDataZoneProject=\"p/../x\", which is not a DataZone id"
    );
    // A request missing its fields is still answered, FAILED, where CloudFormation waits.
    let (url, got) = response_url().await;
    let answered = athena_provisioning::toolkit::launch::handle(
        &launch_clients().await,
        json!({"ResponseURL": url, "RequestId": "req-2"}),
    )
    .await
    .unwrap();
    let (_, body) = got.await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), answered);
    assert_eq!(reason(&answered), "invalid input: RequestType \"\"");
    assert_eq!(answered["RequestId"], "req-2");

    // Deleting never waits on the checks.
    let mut delete = launch("Delete", &untagged, json!({})).await;
    assert_eq!(delete["Status"], "SUCCESS");
    assert_eq!(
        delete.as_object_mut().unwrap().remove("Data"),
        Some(json!({}))
    );
}

#[tokio::test]
async fn what_a_product_names_must_belong_to_the_launching_environment() {
    env_role("datazone_usr_owner", "envo1").await;
    let stack = product_stack(
        "SC-123456789012-pp-owner",
        Some("arn:aws:sts::123456789012:assumed-role/datazone_usr_owner/s"),
    )
    .await;
    let aws = aws().await;
    let mut secret_arns = Vec::new();
    for (name, project) in [("admin-ours", "proj-envo1"), ("admin-theirs", "proj-other")] {
        secret_arns.push(project_secret(name, "a", "b", project).await);
    }
    let ok = launch("Create", &stack, json!({"AdminSecretArn": secret_arns[0]})).await;
    assert_eq!(ok["Status"], "SUCCESS", "{ok}");
    assert_eq!(
        reason(&launch("Create", &stack, json!({"AdminSecretArn": secret_arns[1]})).await),
        format!("refused: the admin secret {} is not tagged AmazonDataZoneProject=proj-envo1: it does not belong to the launching project", secret_arns[1])
    );

    // The product's Glue connection is tagged for the launching project, so the grant
    // accepts it; one of another environment, or already someone else's, is refused.
    let glue = aws_sdk_glue::Client::new(&aws);
    for name in ["envo1-sales", "envo2-sales", "envo1-taken"] {
        glue.create_connection()
            .connection_input(
                aws_sdk_glue::types::ConnectionInput::builder()
                    .name(name)
                    .connection_type(aws_sdk_glue::types::ConnectionType::Jdbc)
                    .connection_properties(
                        aws_sdk_glue::types::ConnectionPropertyKey::JdbcConnectionUrl,
                        "jdbc:postgresql://h:5432/db",
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let arn = |n: &str| format!("arn:aws:glue:{REGION}:{ACCOUNT}:connection/{n}");
    glue.tag_resource()
        .resource_arn(arn("envo1-taken"))
        .tags_to_add("AmazonDataZoneProject", "proj-other")
        .send()
        .await
        .unwrap();
    let tagged = launch(
        "Create",
        &stack,
        json!({"GlueConnectionName": "envo1-sales"}),
    )
    .await;
    assert_eq!(tagged["Status"], "SUCCESS", "{tagged}");
    let tags = glue
        .get_tags()
        .resource_arn(arn("envo1-sales"))
        .send()
        .await
        .unwrap();
    let tags = tags.tags().unwrap();
    assert_eq!(tags.get("AmazonDataZoneProject").unwrap(), "proj-envo1");
    assert_eq!(tags.get("AmazonDataZoneEnvironment").unwrap(), "envo1");
    assert_eq!(tags.get("AmazonDataZoneDomain").unwrap(), "dzd_toolkit");
    assert_eq!(
        reason(
            &launch(
                "Create",
                &stack,
                json!({"GlueConnectionName": "envo2-sales"})
            )
            .await
        ),
        "refused: Glue connection envo2-sales is not named for environment envo1 (\"envo1-…\")"
    );
    assert_eq!(
        reason(&launch("Create", &stack, json!({"GlueConnectionName": "envo1-taken"})).await),
        "refused: Glue connection envo1-taken is tagged AmazonDataZoneProject=proj-other, not proj-envo1"
    );
    let untouched = glue
        .get_tags()
        .resource_arn(arn("envo1-taken"))
        .send()
        .await
        .unwrap();
    assert_eq!(untouched.tags().unwrap().len(), 1);

    // A connector over another environment's secret is refused at launch.
    let theirs = "postgres://jdbc:postgresql://h:5432/db?${athena-fed-c-envo2-0a1b2c3d4e5f}";
    assert_eq!(
        reason(&launch("Create", &stack, json!({"ConnectionString": theirs})).await),
        "refused: ConnectionString names secret \"athena-fed-c-envo2-0a1b2c3d4e5f\": this environment's connectors read only athena-fed-c-envo1-* secrets"
    );
    let ours = "postgres://jdbc:postgresql://h:5432/db?${athena-fed-c-envo1-0a1b2c3d4e5f}";
    let ok = launch("Create", &stack, json!({"ConnectionString": ours})).await;
    assert_eq!(ok["Status"], "SUCCESS", "{ok}");
}

fn environment(id: &str, user_role: &str) -> EnvironmentInfo {
    EnvironmentInfo {
        id: id.into(),
        name: format!("{id}-name"),
        status: "ACTIVE".into(),
        account_id: ACCOUNT.into(),
        region: REGION.into(),
        project_id: format!("proj-{id}"),
        user_role_arn: Some(user_role.into()),
    }
}

fn environment_event(kind: &str, env: &str) -> Value {
    json!({
        "source": "aws.datazone",
        "detail-type": kind,
        "detail": {"metadata": {"domain": "dzd_toolkit"}, "data": {"environmentId": env}}
    })
}

/// The boundary `sam/toolkit.yaml` creates.
async fn connector_boundary(iam: &aws_sdk_iam::Client) {
    let _ = iam
        .create_policy()
        .policy_name("athena-fed-connector-boundary")
        .path("/athena-fed/")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
        .send()
        .await;
}

#[tokio::test]
async fn the_environment_workflow_gives_and_takes_the_connector_role_and_the_portfolio() {
    let aws = aws().await;
    let iam = aws_sdk_iam::Client::new(&aws);
    connector_boundary(&iam).await;
    let user = env_role("datazone_usr_envw1", "envw1").await;
    let mut dz = InMemoryDataZone::default();
    dz.environment_pages.insert(
        "proj-envw1".into(),
        vec![vec![
            environment("envw1", &user),
            environment("envw2", &user),
            environment(
                "envw3",
                "arn:aws:iam::999999999999:role/datazone_usr_elsewhere",
            ),
            environment("envw4", &user),
        ]],
    );
    for e in ["envw1", "envw3", "envw4"] {
        dz.blueprints.insert(e.into(), "DefaultDataLake".into());
    }
    dz.blueprints
        .insert("envw2".into(), "CustomBlueprint".into());
    let portfolios = Arc::new(InMemoryPortfolios {
        id: Some("port-toolkit".into()),
        ..Default::default()
    });
    let settings = EnvironmentSettings {
        accounts: vec![ACCOUNT.into()],
        access_role_name: None,
    };
    let tk = toolkit(portfolios.clone(), settings.clone()).await;

    // Active: the role, with the boundary, tags and a policy naming only this environment.
    let active = environment_event("Environment Deployment Completed", "envw1");
    let outcome = handle_event(&ctx().await, &dz, &routing(), &tk, active.clone())
        .await
        .unwrap();
    let role_arn = "arn:aws:iam::123456789012:role/athena-fed/athena-fed-connector-envw1";
    assert_eq!(
        outcome,
        json!({
            "EnvironmentId": "envw1",
            "Change": "Active",
            "AccountId": ACCOUNT,
            "ConnectorRoleArn": role_arn,
            "UserRoleArn": user,
        })
    );
    let role = iam
        .get_role()
        .role_name("athena-fed-connector-envw1")
        .send()
        .await
        .unwrap();
    let role = role.role().unwrap();
    assert_eq!(role.path(), "/athena-fed/");
    assert_eq!(
        role.permissions_boundary()
            .unwrap()
            .permissions_boundary_arn(),
        Some("arn:aws:iam::123456789012:policy/athena-fed/athena-fed-connector-boundary")
    );
    let mut tags: Vec<(String, String)> = role
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            ("AmazonDataZoneDomain".to_owned(), "dzd_toolkit".to_owned()),
            ("AmazonDataZoneEnvironment".to_owned(), "envw1".to_owned()),
            ("AmazonDataZoneProject".to_owned(), "proj-envw1".to_owned()),
        ]
    );
    let policy = iam
        .get_role_policy()
        .role_name("athena-fed-connector-envw1")
        .policy_name("connector")
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(&urldecode(policy.policy_document())).unwrap();
    assert_eq!(policy, connector_policy("aws", ACCOUNT, REGION, "envw1"));
    assert_eq!(
        policy["Statement"][0]["Resource"],
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:athena-fed-c-envw1-*"
    );
    assert_eq!(
        portfolios
            .principals
            .lock()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        [&user]
    );
    // A redelivered event changes nothing.
    let again = handle_event(&ctx().await, &dz, &routing(), &tk, active)
        .await
        .unwrap();
    assert_eq!(again, outcome);

    // Deleted: no portfolio, no role (so no secret resolves through it); twice is fine.
    let deleted = environment_event("Environment Deletion Started", "envw1");
    for _ in 0..2 {
        let outcome = handle_event(&ctx().await, &dz, &routing(), &tk, deleted.clone())
            .await
            .unwrap();
        assert_eq!(outcome["Change"], "Deleted");
        assert!(portfolios.principals.lock().unwrap().is_empty());
        let gone = iam
            .get_role()
            .role_name("athena-fed-connector-envw1")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_sdk_iam::error::ProvideErrorMetadata::code(&gone),
            Some("NoSuchEntity")
        );
    }

    // Environments the toolkit does not serve are left alone, and say why.
    let other_blueprint = environment_access(
        &dz,
        tk.accounts.as_ref(),
        &settings,
        &routing().allowed_blueprints,
        &environment_event("Environment Deployment Completed", "envw2"),
    )
    .await
    .unwrap();
    assert_eq!(
        other_blueprint.skipped.as_deref(),
        Some("blueprint CustomBlueprint is not served")
    );
    let no_toolkit = EnvironmentSettings {
        accounts: vec!["111111111111".into()],
        ..settings.clone()
    };
    let skipped = environment_access(
        &dz,
        tk.accounts.as_ref(),
        &no_toolkit,
        &routing().allowed_blueprints,
        &environment_event("Environment Deployment Completed", "envw4"),
    )
    .await
    .unwrap();
    assert_eq!(
        skipped.skipped.as_deref(),
        Some("account 123456789012 does not run the toolkit (TOOLKIT_ACCOUNT_IDS)")
    );
    assert!(iam
        .get_role()
        .role_name("athena-fed-connector-envw4")
        .send()
        .await
        .is_err());

    // A user role in another account is not given this account's portfolio.
    let foreign = environment_access(
        &dz,
        tk.accounts.as_ref(),
        &settings,
        &routing().allowed_blueprints,
        &environment_event("Environment Deployment Completed", "envw3"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        foreign.to_string(),
        "refused: userRoleArn arn:aws:iam::999999999999:role/datazone_usr_elsewhere is not in the environment's account 123456789012"
    );

    // A role of that name the toolkit did not make is not taken over.
    iam.create_role()
        .path("/athena-fed/")
        .role_name("athena-fed-connector-envw4")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap();
    let taken = environment_access(
        &dz,
        tk.accounts.as_ref(),
        &settings,
        &routing().allowed_blueprints,
        &environment_event("Environment Deployment Completed", "envw4"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        taken.to_string(),
        "refused: role athena-fed-connector-envw4 exists but is not the toolkit's connector role of environment envw4 (no athena-fed-connector-boundary boundary or AmazonDataZoneEnvironment tag): it is left alone"
    );
    assert!(iam
        .list_role_policies()
        .role_name("athena-fed-connector-envw4")
        .send()
        .await
        .unwrap()
        .policy_names()
        .is_empty());

    // An event without its ids is an input error, not a panic.
    let bad = environment_access(
        &dz,
        tk.accounts.as_ref(),
        &settings,
        &routing().allowed_blueprints,
        &json!({"detail-type": "Environment Deployment Completed", "detail": {"metadata": {"domain": "dzd_toolkit"}, "data": {"environmentId": "../x"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        bad.to_string(),
        "invalid input: /detail/data/environmentId: missing or not a DataZone id"
    );
}

/// `scripts/package-toolkit.sh` puts the products' templates and the connector's code where
/// `sam/toolkit.yaml` points the portfolio and the consumer product (moto's S3 here).
#[tokio::test]
async fn the_packaging_script_uploads_what_the_toolkit_reads() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bucket = "toolkit-artifacts";
    create_bucket(bucket).await;
    let dir = std::env::temp_dir().join(format!("athena-fed-package-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The start of an x86-64 ELF executable (what the script checks: magic and e_machine).
    let bootstrap = dir.join("bootstrap");
    let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    elf.resize(18, 0);
    elf.extend_from_slice(&[0x3e, 0x00]);
    elf.extend_from_slice(b"a connector");
    std::fs::write(&bootstrap, &elf).unwrap();
    let out = std::process::Command::new(root.join("scripts/package-toolkit.sh"))
        .arg(bucket)
        .env("BOOTSTRAP", &bootstrap)
        .envs(moto_env())
        .env("AWS_DEFAULT_REGION", REGION)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let toolkit = std::fs::read_to_string(root.join("sam/toolkit.yaml")).unwrap();
    assert!(toolkit.contains("/${ArtifactPrefix}/producer.yaml"));
    assert!(toolkit.contains("/${ArtifactPrefix}/consumer.yaml"));
    assert!(toolkit.contains("Value: !Sub ${ArtifactPrefix}/connector-${Architecture}.zip"));
    let prefix = "athena-fed/toolkit/0.1.0";
    for product in ["producer.yaml", "consumer.yaml"] {
        let got = s3_object(bucket, &format!("{prefix}/{product}")).await;
        assert_eq!(
            got,
            std::fs::read(root.join("sam/products").join(product)).unwrap()
        );
    }
    let zip = s3_object(bucket, &format!("{prefix}/connector-x86_64.zip")).await;
    // A zip whose one entry is the executable `bootstrap` (Lambda's custom runtime entry).
    assert_eq!(&zip[..4], b"PK\x03\x04");
    assert_eq!(&zip[26..28], &[9, 0], "entry name length");
    assert_eq!(&zip[30..39], b"bootstrap");
    let central = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let mode = u32::from_le_bytes(zip[central + 38..central + 42].try_into().unwrap()) >> 16;
    assert_eq!(mode, 0o100755);

    // A binary of another architecture is not uploaded under this one's name.
    let wrong = std::process::Command::new(root.join("scripts/package-toolkit.sh"))
        .args([bucket, "athena-fed/toolkit/wrong", "arm64"])
        .env("BOOTSTRAP", &bootstrap)
        .envs(moto_env())
        .env("AWS_DEFAULT_REGION", REGION)
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains(
            "is built for x86_64, not arm64: build it for arm64 (cargo lambda build --release --arm64)"
        ),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );

    // Without the binary it says what to build.
    let missing = std::process::Command::new(root.join("scripts/package-toolkit.sh"))
        .arg(bucket)
        .env("BOOTSTRAP", dir.join("nothing"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("build the release connector first"));
    std::fs::remove_dir_all(&dir).unwrap();
}
