//! What governance needs from DataZone, behind a trait: the real service (`aws-sdk-datazone`)
//! and an in-memory stand-in for tests (DataZone is not served locally).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

/// A published asset's listing.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingInfo {
    pub name: String,
    pub asset_id: String,
    pub asset_type: String,
    pub asset_revision: String,
    pub owning_project_id: String,
    /// The asset's forms, as the JSON text DataZone returns.
    pub forms: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentInfo {
    pub id: String,
    pub name: String,
    pub status: String,
    pub account_id: String,
    pub region: String,
    pub project_id: String,
    /// The environment's user role (its `userRoleArn` provisioned resource), when known.
    pub user_role_arn: Option<String>,
}

/// The status governance reports for a subscription grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantStatus {
    GrantInProgress,
    Granted,
    GrantFailed,
    RevokeInProgress,
    Revoked,
    RevokeFailed,
}

#[async_trait]
pub trait DataZone: Send + Sync {
    async fn listing(
        &self,
        domain: &str,
        listing_id: &str,
        revision: &str,
    ) -> Result<ListingInfo, String>;
    async fn project_name(&self, domain: &str, project_id: &str) -> Result<String, String>;
    /// One page of a project's environments, and the token of the next.
    async fn environments(
        &self,
        domain: &str,
        project_id: &str,
        token: Option<String>,
    ) -> Result<(Vec<EnvironmentInfo>, Option<String>), String>;
    async fn environment(
        &self,
        domain: &str,
        environment_id: &str,
    ) -> Result<EnvironmentInfo, String>;
    /// The name of the blueprint an environment was created from.
    async fn blueprint_name(&self, domain: &str, environment_id: &str) -> Result<String, String>;
    async fn update_grant_status(
        &self,
        domain: &str,
        grant_id: &str,
        asset_id: &str,
        status: GrantStatus,
        failure: Option<String>,
    ) -> Result<(), String>;
}

/// The service itself.
pub struct AwsDataZone {
    pub client: aws_sdk_datazone::Client,
}

fn err<E: std::error::Error + aws_sdk_glue::error::ProvideErrorMetadata + 'static>(
    what: &str,
    e: aws_sdk_datazone::error::SdkError<E, aws_sdk_datazone::config::http::HttpResponse>,
) -> String {
    format!("datazone:{what}: {}", crate::aws_error(&e))
}

#[async_trait]
impl DataZone for AwsDataZone {
    async fn listing(
        &self,
        domain: &str,
        listing_id: &str,
        revision: &str,
    ) -> Result<ListingInfo, String> {
        let out = self
            .client
            .get_listing()
            .domain_identifier(domain)
            .identifier(listing_id)
            .listing_revision(revision)
            .send()
            .await
            .map_err(|e| err("GetListing", e))?;
        let Some(aws_sdk_datazone::types::ListingItem::AssetListing(a)) = out.item() else {
            return Err(format!("listing {listing_id} is not an asset listing"));
        };
        Ok(ListingInfo {
            name: out.name().unwrap_or_default().to_owned(),
            asset_id: a.asset_id().unwrap_or_default().to_owned(),
            asset_type: a.asset_type().unwrap_or_default().to_owned(),
            asset_revision: a.asset_revision().unwrap_or_default().to_owned(),
            owning_project_id: a.owning_project_id().unwrap_or_default().to_owned(),
            forms: a.forms().unwrap_or_default().to_owned(),
        })
    }

    async fn project_name(&self, domain: &str, project_id: &str) -> Result<String, String> {
        let out = self
            .client
            .get_project()
            .domain_identifier(domain)
            .identifier(project_id)
            .send()
            .await
            .map_err(|e| err("GetProject", e))?;
        Ok(out.name().to_owned())
    }

    async fn environments(
        &self,
        domain: &str,
        project_id: &str,
        token: Option<String>,
    ) -> Result<(Vec<EnvironmentInfo>, Option<String>), String> {
        let out = self
            .client
            .list_environments()
            .domain_identifier(domain)
            .project_identifier(project_id)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| err("ListEnvironments", e))?;
        let items = out
            .items()
            .iter()
            .map(|e| EnvironmentInfo {
                id: e.id().unwrap_or_default().to_owned(),
                name: e.name().to_owned(),
                status: e
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                account_id: e.aws_account_id().unwrap_or_default().to_owned(),
                region: e.aws_account_region().unwrap_or_default().to_owned(),
                project_id: e.project_id().to_owned(),
                user_role_arn: None,
            })
            .collect();
        Ok((items, out.next_token().map(str::to_owned)))
    }

    async fn environment(
        &self,
        domain: &str,
        environment_id: &str,
    ) -> Result<EnvironmentInfo, String> {
        let e = self
            .client
            .get_environment()
            .domain_identifier(domain)
            .identifier(environment_id)
            .send()
            .await
            .map_err(|e| err("GetEnvironment", e))?;
        Ok(EnvironmentInfo {
            id: e.id().unwrap_or_default().to_owned(),
            name: e.name().to_owned(),
            status: e
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            account_id: e.aws_account_id().unwrap_or_default().to_owned(),
            region: e.aws_account_region().unwrap_or_default().to_owned(),
            project_id: e.project_id().to_owned(),
            user_role_arn: e
                .provisioned_resources()
                .iter()
                .find(|r| r.name() == Some("userRoleArn"))
                .map(|r| r.value().to_owned()),
        })
    }

    async fn blueprint_name(&self, domain: &str, environment_id: &str) -> Result<String, String> {
        let e = self
            .client
            .get_environment()
            .domain_identifier(domain)
            .identifier(environment_id)
            .send()
            .await
            .map_err(|e| err("GetEnvironment", e))?;
        let blueprint = e.environment_blueprint_id().unwrap_or_default().to_owned();
        let b = self
            .client
            .get_environment_blueprint()
            .domain_identifier(domain)
            .identifier(&blueprint)
            .send()
            .await
            .map_err(|e| err("GetEnvironmentBlueprint", e))?;
        Ok(b.name().to_owned())
    }

    async fn update_grant_status(
        &self,
        domain: &str,
        grant_id: &str,
        asset_id: &str,
        status: GrantStatus,
        failure: Option<String>,
    ) -> Result<(), String> {
        use aws_sdk_datazone::types::{FailureCause, SubscriptionGrantStatus as S};
        let s = match status {
            GrantStatus::GrantInProgress => S::GrantInProgress,
            GrantStatus::Granted => S::Granted,
            GrantStatus::GrantFailed => S::GrantFailed,
            GrantStatus::RevokeInProgress => S::RevokeInProgress,
            GrantStatus::Revoked => S::Revoked,
            GrantStatus::RevokeFailed => S::RevokeFailed,
        };
        let mut req = self
            .client
            .update_subscription_grant_status()
            .domain_identifier(domain)
            .identifier(grant_id)
            .asset_identifier(asset_id)
            .status(s);
        if let Some(message) = failure {
            req = req.failure_cause(FailureCause::builder().message(message).build());
        }
        req.send()
            .await
            .map_err(|e| err("UpdateSubscriptionGrantStatus", e))?;
        Ok(())
    }
}

/// A status report: grant id, asset id, status, failure cause.
pub type ReportedStatus = (String, String, GrantStatus, Option<String>);

/// A labelled in-memory stand-in for DataZone (it is not served locally): tests load it
/// with listings, projects and paged environments and read back the statuses reported.
#[derive(Default)]
pub struct InMemoryDataZone {
    pub listings: HashMap<String, ListingInfo>,
    pub projects: HashMap<String, String>,
    /// Per project, the pages ListEnvironments returns.
    pub environment_pages: HashMap<String, Vec<Vec<EnvironmentInfo>>>,
    /// Per environment, its blueprint's name.
    pub blueprints: HashMap<String, String>,
    pub statuses: Mutex<Vec<ReportedStatus>>,
}

#[async_trait]
impl DataZone for InMemoryDataZone {
    async fn listing(
        &self,
        _domain: &str,
        listing_id: &str,
        _revision: &str,
    ) -> Result<ListingInfo, String> {
        self.listings
            .get(listing_id)
            .cloned()
            .ok_or_else(|| format!("no listing {listing_id}"))
    }
    async fn project_name(&self, _domain: &str, project_id: &str) -> Result<String, String> {
        self.projects
            .get(project_id)
            .cloned()
            .ok_or_else(|| format!("no project {project_id}"))
    }
    async fn environments(
        &self,
        _domain: &str,
        project_id: &str,
        token: Option<String>,
    ) -> Result<(Vec<EnvironmentInfo>, Option<String>), String> {
        let pages = self
            .environment_pages
            .get(project_id)
            .cloned()
            .unwrap_or_default();
        let i: usize = token
            .as_deref()
            .map(|t| t.parse().map_err(|_| "bad token".to_owned()))
            .transpose()?
            .unwrap_or(0);
        let page = pages.get(i).cloned().unwrap_or_default();
        Ok((page, (i + 1 < pages.len()).then(|| (i + 1).to_string())))
    }
    async fn environment(
        &self,
        _domain: &str,
        environment_id: &str,
    ) -> Result<EnvironmentInfo, String> {
        self.environment_pages
            .values()
            .flatten()
            .flatten()
            .find(|e| e.id == environment_id)
            .cloned()
            .ok_or_else(|| format!("no environment {environment_id}"))
    }
    async fn blueprint_name(&self, _domain: &str, environment_id: &str) -> Result<String, String> {
        self.blueprints
            .get(environment_id)
            .cloned()
            .ok_or_else(|| format!("no environment {environment_id}"))
    }
    async fn update_grant_status(
        &self,
        _domain: &str,
        grant_id: &str,
        asset_id: &str,
        status: GrantStatus,
        failure: Option<String>,
    ) -> Result<(), String> {
        self.statuses.lock().expect("statuses").push((
            grant_id.to_owned(),
            asset_id.to_owned(),
            status,
            failure,
        ));
        Ok(())
    }
}
