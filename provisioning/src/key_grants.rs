//! KMS grants that let one consumer role decrypt one producer secret: the key policy names
//! no consumer, so a consumer account can decrypt only the secret it was granted (§9
//! defect 9). The grant is constrained to Secrets Manager's encryption context for that
//! secret and named after it, so a retry finds it and revoke removes exactly it.

use aws_sdk_kms::types::{GrantConstraints, GrantOperation};
use aws_sdk_kms::Client;

use crate::steps::StepError;

fn aws<E: std::error::Error + aws_sdk_glue::error::ProvideErrorMetadata + 'static>(
    what: &str,
    e: aws_sdk_kms::error::SdkError<E, aws_sdk_kms::config::http::HttpResponse>,
) -> StepError {
    StepError::Aws(format!("kms:{what}: {}", crate::aws_error(&e)))
}

/// The grant's name: the secret's name (unique per environment and server).
pub fn grant_name(secret_name: &str) -> String {
    format!("athena-fed-{secret_name}")
}

/// Lets `grantee` decrypt `secret_arn` with `key_id` (idempotent: an existing grant of the
/// same name and grantee is kept).
pub async fn grant_decrypt(
    kms: &Client,
    key_id: &str,
    secret_arn: &str,
    secret_name: &str,
    grantee: &str,
) -> Result<String, StepError> {
    let name = grant_name(secret_name);
    if let Some(id) = find(kms, key_id, &name, Some(grantee)).await?.pop() {
        return Ok(id);
    }
    let out = kms
        .create_grant()
        .key_id(key_id)
        .grantee_principal(grantee)
        .operations(GrantOperation::Decrypt)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_subset("SecretARN", secret_arn)
                .build(),
        )
        .name(&name)
        .send()
        .await
        .map_err(|e| aws("CreateGrant", e))?;
    Ok(out.grant_id().unwrap_or_default().to_owned())
}

/// Revokes every grant named after `secret_name` (none: nothing to do).
pub async fn revoke(kms: &Client, key_id: &str, secret_name: &str) -> Result<u32, StepError> {
    let name = grant_name(secret_name);
    let mut revoked = 0;
    // One listing, then the revokes: ListGrants is eventually consistent, so listing again
    // after a revoke could show the same grant and never end.
    for id in find(kms, key_id, &name, None).await? {
        kms.revoke_grant()
            .key_id(key_id)
            .grant_id(&id)
            .send()
            .await
            .map_err(|e| aws("RevokeGrant", e))?;
        revoked += 1;
    }
    Ok(revoked)
}

/// The ids of the grants on `key_id` named `name` (and given to `grantee`, if named).
async fn find(
    kms: &Client,
    key_id: &str,
    name: &str,
    grantee: Option<&str>,
) -> Result<Vec<String>, StepError> {
    let mut pages = kms
        .list_grants()
        .key_id(key_id)
        .into_paginator()
        .items()
        .send();
    let mut ids = Vec::new();
    while let Some(g) = pages.next().await {
        let g = g.map_err(|e| aws("ListGrants", e))?;
        if g.name() == Some(name) && grantee.is_none_or(|p| g.grantee_principal() == Some(p)) {
            ids.extend(g.grant_id().map(str::to_owned));
        }
    }
    Ok(ids)
}
