//! The environment workflow: DataZone's "Environment Deployment Completed" and "Environment
//! Deletion Started" events, handled in the environment's account.
//!
//! - **Active**: the environment gets its connector role, `athena-fed-connector-<env>`. The
//!   role carries the toolkit's permissions boundary and may read only that environment's
//!   consumer secrets and spill prefix. The toolkit portfolio is shared with the
//!   environment's user role, so its members can launch the products.
//! - **Deleted**: the portfolio is no longer shared and the connector role is deleted, so the
//!   environment's connectors cannot resolve a secret any more (the subscriptions' revokes
//!   delete the secrets too).
//!
//! Both converge: run twice, they change nothing the second time.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use serde::Serialize;
use serde_json::{json, Value};

use super::portfolio::{Portfolios, ServiceCatalog};
use super::{
    connector_role_name, consumer_secret_prefix, spill_bucket, valid_id, Arn, ToolkitError,
    CONNECTOR_BOUNDARY_NAME, CONNECTOR_ROLE_PATH, DOMAIN_TAG, ENVIRONMENT_TAG, PROJECT_TAG,
};
use crate::datazone::DataZone;

pub const ACTIVE_EVENT: &str = "Environment Deployment Completed";
pub const DELETED_EVENT: &str = "Environment Deletion Started";

/// The inline policy of a connector role.
pub const CONNECTOR_POLICY_NAME: &str = "connector";

/// Whether a Lambda event is a DataZone environment event.
pub fn is_environment_event(event: &Value) -> bool {
    event.get("Step").is_none()
        && matches!(
            event.get("detail-type").and_then(Value::as_str),
            Some(ACTIVE_EVENT | DELETED_EVENT)
        )
}

/// Which accounts are served, and how they are reached (which blueprints are served is the
/// governance routing's `allowed_blueprints`, as for subscriptions).
#[derive(Debug, Clone)]
pub struct EnvironmentSettings {
    /// Accounts running `sam/toolkit.yaml`; environments elsewhere are skipped.
    pub accounts: Vec<String>,
    /// Role assumed in those accounts; `None`: this function's own credentials.
    pub access_role_name: Option<String>,
}

impl EnvironmentSettings {
    pub fn from_env() -> EnvironmentSettings {
        EnvironmentSettings {
            accounts: crate::governance::list(&crate::context::var("TOOLKIT_ACCOUNT_IDS", "")),
            access_role_name: std::env::var("ENVIRONMENT_ACCESS_ROLE_NAME")
                .ok()
                .filter(|v| !v.is_empty()),
        }
    }
}

/// IAM and the portfolio in one environment's account.
pub struct AccountClients {
    pub iam: aws_sdk_iam::Client,
    pub portfolios: Arc<dyn Portfolios>,
}

/// Opens an environment's account.
#[async_trait]
pub trait Accounts: Send + Sync {
    async fn open(&self, account: &str, region: &str) -> Result<AccountClients, ToolkitError>;
}

/// The real path: the access role assumed in the environment's account, for this event.
pub struct AssumedAccounts {
    pub base: SdkConfig,
    pub role_name: Option<String>,
}

#[async_trait]
impl Accounts for AssumedAccounts {
    async fn open(&self, account: &str, region: &str) -> Result<AccountClients, ToolkitError> {
        let config = match &self.role_name {
            None => self.base.clone(),
            Some(role) => crate::context::assume_role(
                &self.base,
                account,
                role,
                region,
                "athena-fed-environment",
            )
            .await
            .map_err(|message| ToolkitError::Aws {
                call: "sts:AssumeRole".into(),
                message,
            })?,
        };
        Ok(AccountClients {
            iam: aws_sdk_iam::Client::new(&config),
            portfolios: Arc::new(ServiceCatalog {
                client: aws_sdk_servicecatalog::Client::new(&config),
            }),
        })
    }
}

/// What the workflow did for one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnvironmentOutcome {
    pub environment_id: String,
    pub change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_role_arn: Option<String>,
    /// The user role the portfolio is shared with (Active) or no longer shared with (Deleted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_role_arn: Option<String>,
    /// Why nothing was done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// The user role's partition and account, from its ARN (`arn:<partition>:iam::<account>:role/…`).
fn role_arn_parts(arn: &str) -> Option<(&str, &str)> {
    Arn::parse(arn)
        .filter(|a| a.service == "iam" && a.region.is_empty() && a.resource.starts_with("role/"))
        .map(|a| (a.partition, a.account))
}

/// The connector role's inline policy: this environment's consumer secrets, its spill
/// prefix, its functions' logs, and the network interfaces of a connector in a VPC.
pub fn connector_policy(partition: &str, account: &str, region: &str, environment: &str) -> Value {
    let bucket = spill_bucket(account, region);
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EnvironmentSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": format!(
                    "arn:{partition}:secretsmanager:{region}:{account}:secret:{}*",
                    consumer_secret_prefix(environment)
                ),
            },
            {
                "Sid": "Spill",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": format!("arn:{partition}:s3:::{bucket}/{environment}/*"),
            },
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": format!(
                    "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/athena-fed-{environment}-*"
                ),
            },
            {
                // These EC2 actions have no resource-level permissions.
                "Sid": "VpcNetworkInterfaces",
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses"
                ],
                "Resource": "*",
            }
        ]
    })
}

fn trust_policy(account: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}}
        }]
    })
}

/// Who an environment is.
struct Environment<'a> {
    partition: &'a str,
    account: &'a str,
    region: &'a str,
    domain: &'a str,
    project: &'a str,
    id: &'a str,
}

/// Creates the environment's connector role, or checks the one there is the toolkit's, and
/// (re)writes its policy. Returns its ARN.
async fn ensure_connector_role(
    iam: &aws_sdk_iam::Client,
    env: &Environment<'_>,
) -> Result<String, ToolkitError> {
    let name = connector_role_name(env.id);
    let boundary = format!(
        "arn:{}:iam::{}:policy{CONNECTOR_ROLE_PATH}{CONNECTOR_BOUNDARY_NAME}",
        env.partition, env.account
    );
    let tag = |k: &str, v: &str| {
        aws_sdk_iam::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .expect("key and value are set")
    };
    let created = iam
        .create_role()
        .path(CONNECTOR_ROLE_PATH)
        .role_name(&name)
        .description(format!(
            "athena-fed connector of DataZone environment {}",
            env.id
        ))
        .assume_role_policy_document(trust_policy(env.account).to_string())
        .permissions_boundary(&boundary)
        .tags(tag(DOMAIN_TAG, env.domain))
        .tags(tag(PROJECT_TAG, env.project))
        .tags(tag(ENVIRONMENT_TAG, env.id))
        .send()
        .await;
    let arn = match created {
        Ok(out) => out.role().map(|r| r.arn().to_owned()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_already_exists_exception()) =>
        {
            let role = iam
                .get_role()
                .role_name(&name)
                .send()
                .await
                .map_err(|e| ToolkitError::aws("iam:GetRole", &e))?;
            let role = role.role().ok_or_else(|| ToolkitError::Aws {
                call: "iam:GetRole".into(),
                message: format!("no role {name} returned"),
            })?;
            let ours = role
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                == Some(boundary.as_str())
                && role
                    .tags()
                    .iter()
                    .any(|t| t.key() == ENVIRONMENT_TAG && t.value() == env.id);
            if !ours {
                return Err(ToolkitError::Forbidden(format!(
                    "role {name} exists but is not the toolkit's connector role of environment {} (no {CONNECTOR_BOUNDARY_NAME} boundary or {ENVIRONMENT_TAG} tag): it is left alone",
                    env.id
                )));
            }
            Some(role.arn().to_owned())
        }
        Err(e) => return Err(ToolkitError::aws("iam:CreateRole", &e)),
    }
    .ok_or_else(|| ToolkitError::Aws {
        call: "iam:CreateRole".into(),
        message: format!("no role {name} returned"),
    })?;
    iam.put_role_policy()
        .role_name(&name)
        .policy_name(CONNECTOR_POLICY_NAME)
        .policy_document(
            connector_policy(env.partition, env.account, env.region, env.id).to_string(),
        )
        .send()
        .await
        .map_err(|e| ToolkitError::aws("iam:PutRolePolicy", &e))?;
    Ok(arn)
}

/// Deletes the environment's connector role (already gone: nothing to do).
async fn delete_connector_role(
    iam: &aws_sdk_iam::Client,
    environment: &str,
) -> Result<(), ToolkitError> {
    let name = connector_role_name(environment);
    match iam
        .delete_role_policy()
        .role_name(&name)
        .policy_name(CONNECTOR_POLICY_NAME)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) => {}
        Err(e) => return Err(ToolkitError::aws("iam:DeleteRolePolicy", &e)),
    }
    match iam.delete_role().role_name(&name).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(ToolkitError::aws("iam:DeleteRole", &e)),
    }
}

/// Handles one environment event.
pub async fn environment_access(
    dz: &dyn DataZone,
    accounts: &dyn Accounts,
    settings: &EnvironmentSettings,
    allowed_blueprints: &[String],
    event: &Value,
) -> Result<EnvironmentOutcome, ToolkitError> {
    let change = match event.get("detail-type").and_then(Value::as_str) {
        Some(ACTIVE_EVENT) => "Active",
        Some(DELETED_EVENT) => "Deleted",
        other => {
            return Err(ToolkitError::Input(format!(
                "detail-type {other:?} is not an environment event"
            )))
        }
    };
    let field = |pointer: &str| -> Result<&str, ToolkitError> {
        event
            .pointer(pointer)
            .and_then(Value::as_str)
            .filter(|v| valid_id(v))
            .ok_or_else(|| ToolkitError::Input(format!("{pointer}: missing or not a DataZone id")))
    };
    let domain = field("/detail/metadata/domain")?;
    let environment_id = field("/detail/data/environmentId")?;
    let mut outcome = EnvironmentOutcome {
        environment_id: environment_id.to_owned(),
        change,
        account_id: None,
        connector_role_arn: None,
        user_role_arn: None,
        skipped: None,
    };
    if settings.accounts.is_empty() {
        outcome.skipped = Some("no account runs the toolkit (TOOLKIT_ACCOUNT_IDS is empty)".into());
        return Ok(outcome);
    }
    let dz_err = |e: String| ToolkitError::Aws {
        call: "datazone".into(),
        message: e,
    };
    let info = dz
        .environment(domain, environment_id)
        .await
        .map_err(dz_err)?;
    outcome.account_id = Some(info.account_id.clone());
    if !settings.accounts.contains(&info.account_id) {
        outcome.skipped = Some(format!(
            "account {} does not run the toolkit (TOOLKIT_ACCOUNT_IDS)",
            info.account_id
        ));
        return Ok(outcome);
    }
    let blueprint = dz
        .blueprint_name(domain, environment_id)
        .await
        .map_err(dz_err)?;
    if !allowed_blueprints.contains(&blueprint) {
        outcome.skipped = Some(format!("blueprint {blueprint} is not served"));
        return Ok(outcome);
    }
    let clients = accounts.open(&info.account_id, &info.region).await?;
    if change == "Deleted" {
        // The role first: whatever fails after, the environment's connectors have lost
        // their way to its secrets.
        delete_connector_role(&clients.iam, environment_id).await?;
    }
    let user_role = info.user_role_arn.as_deref().ok_or_else(|| {
        ToolkitError::Input(format!(
            "environment {environment_id} has no userRoleArn among its provisioned resources"
        ))
    })?;
    let (partition, role_account) = role_arn_parts(user_role).ok_or_else(|| {
        ToolkitError::Input(format!("userRoleArn {user_role:?} is not a role ARN"))
    })?;
    if role_account != info.account_id {
        return Err(ToolkitError::Forbidden(format!(
            "userRoleArn {user_role} is not in the environment's account {}",
            info.account_id
        )));
    }
    let portfolio = clients.portfolios.toolkit_portfolio().await?;
    outcome.user_role_arn = Some(user_role.to_owned());
    if change == "Active" {
        if !valid_id(&info.project_id) {
            return Err(ToolkitError::Input(format!(
                "environment {environment_id} has project id {:?}",
                info.project_id
            )));
        }
        let env = Environment {
            partition,
            account: &info.account_id,
            region: &info.region,
            domain,
            project: &info.project_id,
            id: environment_id,
        };
        outcome.connector_role_arn = Some(ensure_connector_role(&clients.iam, &env).await?);
        clients.portfolios.share(&portfolio, user_role).await?;
    } else {
        clients.portfolios.unshare(&portfolio, user_role).await?;
    }
    tracing::info!(
        environment = environment_id,
        change,
        "environment access updated"
    );
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_role_arns_are_parsed() {
        assert_eq!(
            role_arn_parts("arn:aws:iam::111122223333:role/datazone_usr_x"),
            Some(("aws", "111122223333"))
        );
        assert_eq!(
            role_arn_parts("arn:aws-cn:iam::111122223333:role/p/datazone_usr_x"),
            Some(("aws-cn", "111122223333"))
        );
        assert_eq!(role_arn_parts("arn:aws:iam::111122223333:user/x"), None);
        assert_eq!(
            role_arn_parts("arn:aws:sts::111122223333:assumed-role/x/y"),
            None
        );
    }

    #[test]
    fn a_connector_policy_names_only_its_environment() {
        let p = connector_policy("aws", "111122223333", "eu-west-1", "env1").to_string();
        assert!(p.contains("secret:athena-fed-c-env1-*"), "{p}");
        assert!(
            p.contains("athena-fed-spill-111122223333-eu-west-1/env1/*"),
            "{p}"
        );
        assert!(!p.contains("athena-fed-c-*"), "{p}");
    }
}
