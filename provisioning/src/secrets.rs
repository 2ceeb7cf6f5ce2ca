//! The producer secret (KMS key, tags, a resource policy naming only the consumer's
//! provisioning role) and its consumer copy. Names are deterministic, so a retry finds and
//! updates what an earlier attempt created, never duplicates it.

use aws_sdk_secretsmanager::types::Tag;
use aws_sdk_secretsmanager::Client;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::steps::StepError;

/// What a subscription secret holds: the connector reads `username`/`password`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretValue {
    pub engine: String,
    pub host: String,
    pub port: String,
    pub dbname: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecretValue {{ {}://{}@{}:{}/{}, password: <redacted> }}",
            self.engine, self.username, self.host, self.port, self.dbname
        )
    }
}

fn short_hash(server: &str) -> String {
    Sha256::digest(server.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn producer_secret_name(environment: &str, server: &str) -> String {
    format!("athena-fed-p-{environment}-{}", short_hash(server))
}

/// The prefix of every consumer secret of `environment` (what its connector role may read).
pub fn consumer_secret_prefix(environment: &str) -> String {
    format!("athena-fed-c-{environment}-")
}

pub fn consumer_secret_name(environment: &str, server: &str) -> String {
    format!(
        "{}{}",
        consumer_secret_prefix(environment),
        short_hash(server)
    )
}

fn aws<E: std::error::Error + aws_sdk_glue::error::ProvideErrorMetadata + 'static>(
    what: &str,
    e: aws_sdk_secretsmanager::error::SdkError<
        E,
        aws_sdk_secretsmanager::config::http::HttpResponse,
    >,
) -> StepError {
    StepError::Aws(format!("secretsmanager:{what}: {}", crate::aws_error(&e)))
}

/// A secret found by [`existing`].
pub struct Existing {
    pub arn: String,
    pub value: SecretValue,
    /// It was scheduled for deletion, and has been restored.
    pub restored: bool,
}

/// The secret if it exists, restored if it was scheduled for deletion. Always asked before
/// creating: Secrets Manager refuses CreateSecret under a name pending deletion
/// (`InvalidRequestException`) for the whole recovery window.
pub async fn existing(client: &Client, name: &str) -> Result<Option<Existing>, StepError> {
    let described = match client.describe_secret().secret_id(name).send().await {
        Ok(d) => d,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(aws("DescribeSecret", e)),
    };
    let restored = described.deleted_date().is_some();
    if restored {
        client
            .restore_secret()
            .secret_id(name)
            .send()
            .await
            .map_err(|e| aws("RestoreSecret", e))?;
    }
    let value = client
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .map_err(|e| aws("GetSecretValue", e))?;
    let parsed: SecretValue = serde_json::from_str(value.secret_string().unwrap_or_default())
        .map_err(|_| {
            StepError::Input(format!("secret {name} does not hold a subscription secret"))
        })?;
    Ok(Some(Existing {
        arn: described.arn().unwrap_or_default().to_owned(),
        value: parsed,
        restored,
    }))
}

/// Creates the secret, or (if another attempt got there first) returns what it holds.
/// Callers ask [`existing`] first; this only settles a concurrent creation.
pub async fn create_or_get(
    client: &Client,
    name: &str,
    value: &SecretValue,
    kms: Option<&str>,
    tags: &[(&str, &str)],
) -> Result<Existing, StepError> {
    let json = serde_json::to_string(value).expect("serializable");
    let mut req = client
        .create_secret()
        .name(name)
        .secret_string(json)
        .description(
            "Database credentials of an approved data subscription (athena-fed provisioning)",
        );
    if let Some(k) = kms {
        req = req.kms_key_id(k);
    }
    for (k, v) in tags {
        req = req.tags(Tag::builder().key(*k).value(*v).build());
    }
    match req.send().await {
        Ok(out) => Ok(Existing {
            arn: out.arn().unwrap_or_default().to_owned(),
            value: value.clone(),
            restored: false,
        }),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_exists_exception()) =>
        {
            existing(client, name)
                .await?
                .ok_or_else(|| StepError::Aws(format!("secret {name} exists but cannot be read")))
        }
        Err(e) => Err(aws("CreateSecret", e)),
    }
}

/// Writes `value` to the secret `name`, creating it if needed (the consumer copy).
pub async fn upsert(
    client: &Client,
    name: &str,
    value: &SecretValue,
    kms: Option<&str>,
    tags: &[(&str, &str)],
) -> Result<String, StepError> {
    if let Some(Existing {
        arn,
        value: current,
        ..
    }) = existing(client, name).await?
    {
        if &current != value {
            let json = serde_json::to_string(value).expect("serializable");
            client
                .put_secret_value()
                .secret_id(&arn)
                .secret_string(json)
                .send()
                .await
                .map_err(|e| aws("PutSecretValue", e))?;
        }
        let tags: Vec<Tag> = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
            .collect();
        client
            .tag_resource()
            .secret_id(&arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| aws("TagResource", e))?;
        return Ok(arn);
    }
    Ok(create_or_get(client, name, value, kms, tags).await?.arn)
}

/// Only the consumer account's provisioning role may read the producer secret.
pub fn resource_policy(secret_arn: &str, consumer_role_arn: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ConsumerProvisioningRoleReadsTheSubscriptionSecret",
            "Effect": "Allow",
            "Principal": {"AWS": consumer_role_arn},
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": secret_arn
        }]
    })
    .to_string()
}

pub async fn put_policy(
    client: &Client,
    secret_arn: &str,
    consumer_role_arn: &str,
) -> Result<(), StepError> {
    client
        .put_resource_policy()
        .secret_id(secret_arn)
        .resource_policy(resource_policy(secret_arn, consumer_role_arn))
        .block_public_policy(true)
        .send()
        .await
        .map_err(|e| aws("PutResourcePolicy", e))?;
    Ok(())
}

/// Schedules deletion (idempotent); returns when the secret will be gone (RFC 3339 UTC).
pub async fn schedule_deletion(
    client: &Client,
    secret: &str,
    days: i64,
) -> Result<Option<String>, StepError> {
    match client
        .delete_secret()
        .secret_id(secret)
        .recovery_window_in_days(days)
        .send()
        .await
    {
        Ok(out) => Ok(out.deletion_date().map(|d| d.to_string())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_invalid_request_exception()) =>
        {
            // Already scheduled.
            let d = client
                .describe_secret()
                .secret_id(secret)
                .send()
                .await
                .map_err(|e| aws("DescribeSecret", e))?;
            Ok(d.deleted_date().map(|d| d.to_string()))
        }
        Err(e) => Err(aws("DeleteSecret", e)),
    }
}
