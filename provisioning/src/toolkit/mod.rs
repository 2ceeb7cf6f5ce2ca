//! The self-service toolkits of `sam/toolkit.yaml`: a Service Catalog portfolio whose
//! producer product makes a Glue connection (mapped by `map-assets` on a schedule, or by a
//! crawler) and whose consumer product deploys the connector over the environment's
//! consumer secrets.
//!
//! - [`launch`]: the products' custom resource. It derives the DataZone domain, project and
//!   environment from the tags of whoever launched the product, never from parameters.
//! - [`environment`]: the environment workflow. When an environment becomes active it gets
//!   its connector role and the portfolio is shared with its user role; when the environment
//!   is deleted, both are taken away.
//! - [`portfolio`]: Service Catalog portfolio access, behind a trait.

pub mod environment;
pub mod launch;
pub mod portfolio;

/// The tags DataZone puts on an environment's user role, and that the toolkit puts on what
/// it makes.
pub const DOMAIN_TAG: &str = "AmazonDataZoneDomain";
pub const PROJECT_TAG: &str = crate::glue::PROJECT_TAG;
pub const ENVIRONMENT_TAG: &str = "AmazonDataZoneEnvironment";

/// The portfolio `sam/toolkit.yaml` creates (found by this display name).
pub const PORTFOLIO_NAME: &str = "athena-fed toolkit";

/// Where connector roles live (IAM path), so that the environment workflow's role and the
/// consumer product's launch role can be limited to them.
pub const CONNECTOR_ROLE_PATH: &str = "/athena-fed/";

/// The connector role of one environment.
pub fn connector_role_name(environment: &str) -> String {
    format!("athena-fed-connector-{environment}")
}

/// The permissions boundary every connector role carries (`sam/toolkit.yaml`).
pub const CONNECTOR_BOUNDARY_NAME: &str = "athena-fed-connector-boundary";

/// The spill bucket of an account's connectors (`sam/toolkit.yaml`); each environment
/// spills under its own prefix.
pub fn spill_bucket(account: &str, region: &str) -> String {
    format!("athena-fed-spill-{account}-{region}")
}

pub use crate::secrets::consumer_secret_prefix;

/// A DataZone id as tags and events carry it (`^[a-zA-Z0-9_-]{1,36}$`): anything else is
/// refused before it reaches a name, an ARN or a policy.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 36
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An ARN's parts: `arn:<partition>:<service>:<region>:<account>:<resource>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(arn: &'a str) -> Option<Arn<'a>> {
        match arn.splitn(6, ':').collect::<Vec<_>>().as_slice() {
            ["arn", partition, service, region, account, resource] => Some(Arn {
                partition,
                service,
                region,
                account,
                resource,
            }),
            _ => None,
        }
    }
}

/// What the toolkit's steps fail with.
#[derive(Debug, thiserror::Error)]
pub enum ToolkitError {
    #[error("invalid input: {0}")]
    Input(String),
    /// The launching principal, or what it names, does not belong where it claims.
    #[error("refused: {0}")]
    Forbidden(String),
    #[error("{call}: {message}")]
    Aws { call: String, message: String },
    #[error("cannot send the custom resource response: {0}")]
    Respond(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ToolkitError {
    /// An AWS SDK call's failure, as the service's code and message.
    pub(crate) fn aws<E, R>(call: &str, e: &aws_sdk_glue::error::SdkError<E, R>) -> ToolkitError
    where
        E: aws_sdk_glue::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        ToolkitError::Aws {
            call: call.to_owned(),
            message: crate::aws_error(e),
        }
    }

    /// The error name the Lambda reports.
    pub fn name(&self) -> &'static str {
        match self {
            ToolkitError::Input(_) => "InvalidInput",
            ToolkitError::Forbidden(_) => "Forbidden",
            ToolkitError::Aws { .. } => "AwsError",
            ToolkitError::Respond(_) => "RespondError",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_before_they_reach_names() {
        assert!(valid_id("5ql3mn1ja0jqi5"));
        assert!(valid_id("dzd_abc-1"));
        for bad in ["", "a/b", "a*", "x y", "é", &"a".repeat(37)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
        assert_eq!(connector_role_name("e1"), "athena-fed-connector-e1");
        assert_eq!(consumer_secret_prefix("e1"), "athena-fed-c-e1-");
        assert!(
            crate::secrets::consumer_secret_name("e1", "postgres://h:5432")
                .starts_with(&consumer_secret_prefix("e1"))
        );
    }
}
