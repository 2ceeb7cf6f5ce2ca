//! The subscription details the governance step produces (the reference system's shape),
//! and the outputs of each step.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionDetails {
    pub domain_id: String,
    pub producer_project_details: ProducerProject,
    pub consumer_project_details: ConsumerProject,
    pub listing_details: Listing,
    pub asset_details: Asset,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProducerProject {
    pub project_id: String,
    #[serde(default)]
    pub project_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumerProject {
    pub project_id: String,
    #[serde(default)]
    pub project_name: String,
    pub account_id: String,
    pub region: String,
    pub environment_id: String,
    #[serde(default)]
    pub environment_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Listing {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub revision: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Asset {
    /// `GlueTableAssetType` for tables; anything else is a no-op.
    #[serde(rename = "Type")]
    pub asset_type: String,
    pub id: String,
    #[serde(default)]
    pub revision: String,
    pub glue_table_details: Option<GlueTable>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlueTable {
    pub account_id: String,
    pub region: String,
    pub database_name: String,
    pub table_name: String,
    #[serde(default)]
    pub table_arn: String,
    #[serde(default)]
    pub source_classification: String,
}

/// What the producer grant did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProducerGrant {
    /// `false` when the asset is not a JDBC-backed Glue table (nothing was done).
    pub provisioned: bool,
    #[serde(default)]
    pub skipped_reason: Option<String>,
    #[serde(default)]
    pub server: String,
    #[serde(default)]
    pub user_name: String,
    #[serde(default)]
    pub secret_arn: String,
    #[serde(default)]
    pub secret_name: String,
    #[serde(default)]
    pub assets: Vec<String>,
}

/// What the consumer grant did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumerGrant {
    pub provisioned: bool,
    #[serde(default)]
    pub secret_arn: String,
    #[serde(default)]
    pub secret_name: String,
}

/// What the producer revoke did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProducerRevoke {
    pub provisioned: bool,
    #[serde(default)]
    pub skipped_reason: Option<String>,
    /// Whether this revoke removed the user (the environment's last asset on the server).
    pub user_dropped: bool,
    /// `engine://host:port` of the user (the consumer revoke checks for a new grant there).
    #[serde(default)]
    pub server: String,
    #[serde(default)]
    pub secret_arn: String,
    /// RFC 3339 UTC, when the producer secret will be deleted.
    #[serde(default)]
    pub secret_deletion_date: Option<String>,
    #[serde(default)]
    pub remaining_assets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumerRevoke {
    pub provisioned: bool,
    pub secret_deleted: bool,
    #[serde(default)]
    pub secret_arn: String,
}
