//! `Custom::DataZoneIds`, the toolkit products' custom resource: the DataZone domain, project
//! and environment of whoever launched the product, read from that principal's own tags.
//! The reference took them from product parameters, so anyone could launch a connector over
//! another environment's secret (its defect 7).
//!
//! Where the answer comes from, and why it can be trusted:
//! - the request's `StackId` is CloudFormation's, not the template's;
//! - Service Catalog tags the product's stack with `aws:servicecatalog:provisioningPrincipalArn`
//!   (an `aws:` tag nobody else can set);
//! - DataZone tags the environment's user role with its domain, project and environment.
//!
//! The template may pass two properties. Both are checked, neither is trusted:
//! - `AdminSecretArn`: refused unless the secret is tagged for the derived project (the grant
//!   checks the same tag later);
//! - `GlueConnectionName`: a connection named `<environment>-…`. It gets tagged with the
//!   derived ids (CloudFormation cannot tag a Glue connection), unless it already carries
//!   another project's or environment's tags.
//!
//! Every request is answered, FAILED with the reason when something is wrong, so a stack never
//! waits an hour for a response that will not come.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    connector_role_name, consumer_secret_prefix, spill_bucket, valid_id, Arn, ToolkitError,
    CONNECTOR_ROLE_PATH, DOMAIN_TAG, ENVIRONMENT_TAG, PROJECT_TAG,
};

/// The stack tag Service Catalog sets to the ARN of the principal that launched the product.
pub const PRINCIPAL_TAG: &str = "aws:servicecatalog:provisioningPrincipalArn";

/// A CloudFormation custom resource request (the fields used). Only the response URL is
/// required to read one: whatever else is missing or wrong is answered FAILED there, so the
/// stack does not wait an hour.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomResourceRequest {
    #[serde(default)]
    pub request_type: String,
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    #[serde(default)]
    pub stack_id: String,
    #[serde(default)]
    pub request_id: String,
    #[serde(default)]
    pub logical_resource_id: String,
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    #[serde(default)]
    pub resource_properties: Value,
}

impl CustomResourceRequest {
    /// Whether a Lambda event is a custom resource request.
    pub fn is_one(event: &Value) -> bool {
        event.get("RequestType").is_some() && event.get("ResponseURL").is_some()
    }
}

/// The ids of a launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchIds {
    pub domain: String,
    pub project: String,
    pub environment: String,
}

/// The AWS clients of the function's own account.
pub struct LaunchClients {
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub iam: aws_sdk_iam::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub glue: aws_sdk_glue::Client,
}

/// A stack ARN: `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>`.
fn stack_arn(stack_id: &str) -> Result<Arn<'_>, ToolkitError> {
    Arn::parse(stack_id)
        .filter(|a| a.service == "cloudformation" && a.resource.starts_with("stack/"))
        .ok_or_else(|| ToolkitError::Input(format!("StackId {stack_id:?} is not a stack ARN")))
}

/// The name of the role behind a principal ARN: an assumed-role session
/// (`arn:…:sts::<account>:assumed-role/<name>/<session>`) or a role
/// (`arn:…:iam::<account>:role/<path/><name>`). Users and root have no environment.
pub fn role_name(principal_arn: &str) -> Result<String, ToolkitError> {
    let name = Arn::parse(principal_arn).and_then(|a| match a.service {
        "sts" => a
            .resource
            .strip_prefix("assumed-role/")
            .and_then(|r| r.split('/').next()),
        "iam" => a
            .resource
            .strip_prefix("role/")
            .and_then(|r| r.rsplit('/').next()),
        _ => None,
    });
    name.filter(|n| !n.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            ToolkitError::Forbidden(format!(
                "the product was launched by {principal_arn}, which is not a role: launch it from a DataZone environment's role"
            ))
        })
}

/// The role that launched the product whose stack is `stack_id` (its ARN, path included),
/// and that role's DataZone ids.
pub async fn launch_ids(
    clients: &LaunchClients,
    stack_id: &str,
) -> Result<(String, LaunchIds), ToolkitError> {
    let stacks = clients
        .cloudformation
        .describe_stacks()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| ToolkitError::aws("cloudformation:DescribeStacks", &e))?;
    let principal = stacks
        .stacks()
        .first()
        .and_then(|s| {
            s.tags()
                .iter()
                .find(|t| t.key() == Some(PRINCIPAL_TAG))
                .and_then(|t| t.value())
        })
        .ok_or_else(|| {
            ToolkitError::Forbidden(format!(
                "stack {stack_id} has no {PRINCIPAL_TAG} tag: the toolkit's products are launched through Service Catalog"
            ))
        })?
        .to_owned();
    let role = role_name(&principal)?;
    let answer = clients
        .iam
        .get_role()
        .role_name(&role)
        .send()
        .await
        .map_err(|e| ToolkitError::aws("iam:GetRole", &e))?;
    let found = answer.role().ok_or_else(|| ToolkitError::Aws {
        call: "iam:GetRole".into(),
        message: format!("no role {role} returned"),
    })?;
    let role_arn = found.arn().to_owned();
    let tags: HashMap<&str, &str> = found.tags().iter().map(|t| (t.key(), t.value())).collect();
    let tag = |key: &str| -> Result<String, ToolkitError> {
        match tags.get(key) {
            Some(v) if valid_id(v) => Ok(v.to_string()),
            Some(v) => Err(ToolkitError::Forbidden(format!(
                "role {role} has tag {key}={v:?}, which is not a DataZone id"
            ))),
            None => Err(ToolkitError::Forbidden(format!(
                "role {role} has no {key} tag: launch the product from a DataZone environment's role"
            ))),
        }
    };
    Ok((
        role_arn,
        LaunchIds {
            domain: tag(DOMAIN_TAG)?,
            project: tag(PROJECT_TAG)?,
            environment: tag(ENVIRONMENT_TAG)?,
        },
    ))
}

/// The admin secret must belong to the launching project.
async fn check_admin_secret(
    clients: &LaunchClients,
    secret: &str,
    ids: &LaunchIds,
) -> Result<(), ToolkitError> {
    let d = clients
        .secrets
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| ToolkitError::aws("secretsmanager:DescribeSecret", &e))?;
    let tagged = d
        .tags()
        .iter()
        .any(|t| t.key() == Some(PROJECT_TAG) && t.value() == Some(ids.project.as_str()));
    if tagged {
        Ok(())
    } else {
        Err(ToolkitError::Forbidden(format!(
            "the admin secret {secret} is not tagged {PROJECT_TAG}={}: it does not belong to the launching project",
            ids.project
        )))
    }
}

/// Tags the product's Glue connection with the launch's ids. It must be named for the
/// environment, and must not already belong to someone else.
async fn tag_connection(
    clients: &LaunchClients,
    arn: &Arn<'_>,
    name: &str,
    ids: &LaunchIds,
) -> Result<(), ToolkitError> {
    if !name.starts_with(&format!("{}-", ids.environment)) {
        return Err(ToolkitError::Forbidden(format!(
            "Glue connection {name} is not named for environment {} (\"{}-…\")",
            ids.environment, ids.environment
        )));
    }
    let connection_arn = format!(
        "arn:{}:glue:{}:{}:connection/{name}",
        arn.partition, arn.region, arn.account
    );
    let existing = clients
        .glue
        .get_tags()
        .resource_arn(&connection_arn)
        .send()
        .await
        .map_err(|e| ToolkitError::aws("glue:GetTags", &e))?;
    let wanted = [
        (DOMAIN_TAG, &ids.domain),
        (PROJECT_TAG, &ids.project),
        (ENVIRONMENT_TAG, &ids.environment),
    ];
    for (key, value) in wanted {
        if let Some(other) = existing.tags().and_then(|t| t.get(key)) {
            if other != value {
                return Err(ToolkitError::Forbidden(format!(
                    "Glue connection {name} is tagged {key}={other}, not {value}"
                )));
            }
        }
    }
    clients
        .glue
        .tag_resource()
        .resource_arn(&connection_arn)
        .set_tags_to_add(Some(
            wanted
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
        .send()
        .await
        .map_err(|e| ToolkitError::aws("glue:TagResource", &e))?;
    Ok(())
}

/// Every `${secret}` placeholder of a connector's connection string must name one of the
/// environment's consumer secrets (its connector role could not read any other: this says
/// so at launch rather than at the first query).
fn check_secret_placeholders(
    connection_string: &str,
    environment: &str,
) -> Result<(), ToolkitError> {
    let prefix = consumer_secret_prefix(environment);
    let mut rest = connection_string;
    let mut found = false;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| {
            ToolkitError::Input("ConnectionString has an unclosed ${ placeholder".into())
        })?;
        let secret = &after[..end];
        if !secret.starts_with(&prefix) {
            return Err(ToolkitError::Forbidden(format!(
                "ConnectionString names secret {secret:?}: this environment's connectors read only {prefix}* secrets"
            )));
        }
        found = true;
        rest = &after[end + 1..];
    }
    if found {
        Ok(())
    } else {
        Err(ToolkitError::Input(format!(
            "ConnectionString names no secret: add ${{{prefix}…}} (the subscription's consumer secret)"
        )))
    }
}

/// What a Create or Update answers: the ids, and the names the products build from them.
async fn derive(
    clients: &LaunchClients,
    request: &CustomResourceRequest,
) -> Result<Value, ToolkitError> {
    let arn = stack_arn(&request.stack_id)?;
    let (role_arn, ids) = launch_ids(clients, &request.stack_id).await?;
    let property = |key: &str| {
        request
            .resource_properties
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    if let Some(secret) = property("AdminSecretArn") {
        check_admin_secret(clients, secret, &ids).await?;
    }
    if let Some(connection) = property("GlueConnectionName") {
        tag_connection(clients, &arn, connection, &ids).await?;
    }
    if let Some(connection_string) = property("ConnectionString") {
        check_secret_placeholders(connection_string, &ids.environment)?;
    }
    tracing::info!(
        stack = %request.stack_id,
        role = %role_arn,
        environment = %ids.environment,
        "launch ids derived"
    );
    let env = &ids.environment;
    Ok(json!({
        "LaunchRoleArn": role_arn,
        "DomainId": ids.domain,
        "ProjectId": ids.project,
        "EnvironmentId": env,
        "SecretPrefix": consumer_secret_prefix(env),
        "ConnectorRoleArn": format!(
            "arn:{}:iam::{}:role{CONNECTOR_ROLE_PATH}{}",
            arn.partition, arn.account, connector_role_name(env)
        ),
        "SpillBucket": spill_bucket(arn.account, arn.region),
        "SpillPrefix": env,
        "GlueDatabasePrefix": format!("athena_fed_{}", env.to_ascii_lowercase().replace('-', "_")),
    }))
}

/// The response CloudFormation reads from `ResponseURL`.
pub async fn response(clients: &LaunchClients, request: &CustomResourceRequest) -> Value {
    let physical = request
        .physical_resource_id
        .clone()
        .unwrap_or_else(|| format!("athena-fed-ids-{}", request.logical_resource_id));
    let base = json!({
        "StackId": request.stack_id,
        "RequestId": request.request_id,
        "LogicalResourceId": request.logical_resource_id,
        "PhysicalResourceId": physical,
    });
    let outcome = match request.request_type.as_str() {
        // Nothing to undo: the tags stay with the connection the stack deletes.
        "Delete" => Ok(json!({})),
        "Create" | "Update" => derive(clients, request).await,
        other => Err(ToolkitError::Input(format!("RequestType {other:?}"))),
    };
    let mut body = base;
    match outcome {
        Ok(data) => {
            body["Status"] = json!("SUCCESS");
            body["Data"] = data;
        }
        Err(e) => {
            tracing::warn!(stack = %request.stack_id, error = %e, "launch refused");
            body["Status"] = json!("FAILED");
            body["Reason"] = json!(e.to_string());
        }
    }
    body
}

/// Answers a custom resource request: derives the ids and PUTs the response to the
/// presigned `ResponseURL`.
pub async fn handle(clients: &LaunchClients, event: Value) -> Result<Value, ToolkitError> {
    let request: CustomResourceRequest = serde_json::from_value(event)
        .map_err(|e| ToolkitError::Input(format!("custom resource request: {e}")))?;
    let body = response(clients, &request).await;
    put_response(&request.response_url, &body).await?;
    Ok(body)
}

type Https = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<bytes::Bytes>,
>;

/// The HTTPS client of the responses, made once (the system's root certificates are read
/// once). It keeps no idle connection: responses are few and far between.
fn https() -> Result<&'static Https, ToolkitError> {
    static CLIENT: std::sync::OnceLock<Https> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
        .map_err(|e| ToolkitError::Respond(e.into()))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(CLIENT.get_or_init(|| {
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector)
    }))
}

/// PUT `body` to a presigned S3 URL, as CloudFormation expects it (no content type).
pub async fn put_response(url: &str, body: &Value) -> Result<(), ToolkitError> {
    let boxed = |e: Box<dyn std::error::Error + Send + Sync>| ToolkitError::Respond(e);
    let text = body.to_string();
    let request = hyper::Request::put(url)
        .header("content-type", "")
        .header("content-length", text.len())
        .body(http_body_util::Full::new(bytes::Bytes::from(text)))
        .map_err(|e| boxed(e.into()))?;
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        https()?.request(request),
    )
    .await
    .map_err(|e| boxed(e.into()))?
    .map_err(|e| boxed(e.into()))?;
    if !answer.status().is_success() {
        return Err(boxed(
            format!("the response URL answered {}", answer.status()).into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_behind_a_principal() {
        assert_eq!(
            role_name("arn:aws:sts::111122223333:assumed-role/datazone_usr_role_abc/sess").unwrap(),
            "datazone_usr_role_abc"
        );
        assert_eq!(
            role_name("arn:aws:iam::111122223333:role/service-role/datazone_usr_x").unwrap(),
            "datazone_usr_x"
        );
        for not_a_role in [
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:root",
            "arn:aws:sts::111122223333:federated-user/bob",
            "nonsense",
        ] {
            let e = role_name(not_a_role).unwrap_err().to_string();
            assert!(e.contains("is not a role"), "{not_a_role}: {e}");
        }
    }

    #[test]
    fn connection_strings_name_only_the_environments_secrets() {
        let ok = "postgres://jdbc:postgresql://h:5432/db?${athena-fed-c-e1-0a1b2c}";
        check_secret_placeholders(ok, "e1").unwrap();
        let other = "postgres://jdbc:postgresql://h:5432/db?${athena-fed-c-e2-0a1b2c}";
        assert_eq!(
            check_secret_placeholders(other, "e1").unwrap_err().to_string(),
            "refused: ConnectionString names secret \"athena-fed-c-e2-0a1b2c\": this environment's connectors read only athena-fed-c-e1-* secrets"
        );
        // e1's prefix is not a prefix of e10's secrets.
        assert!(check_secret_placeholders("x?${athena-fed-c-e10-ab}", "e1").is_err());
        assert!(
            check_secret_placeholders("postgres://jdbc:postgresql://h/db", "e1")
                .unwrap_err()
                .to_string()
                .contains("names no secret")
        );
        assert!(check_secret_placeholders("x?${athena-fed-c-e1-", "e1").is_err());
    }

    #[test]
    fn stack_ids_are_parsed() {
        let a =
            stack_arn("arn:aws:cloudformation:eu-west-1:111122223333:stack/SC-1-pp-x/abc").unwrap();
        assert_eq!(
            (a.partition, a.region, a.account),
            ("aws", "eu-west-1", "111122223333")
        );
        assert!(stack_arn("SC-1-pp-x").is_err());
    }
}
