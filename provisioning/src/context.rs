//! What the steps run with: AWS clients for the producer and consumer sides and for the
//! tracking tables (cross-account credentials come from refreshing providers or are assumed
//! per invocation, never once at start-up), and table and key settings.

use aws_config::sts::AssumeRoleProvider;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::SharedCredentialsProvider;

/// Settings, from the environment of the Lambda or the CLI.
#[derive(Debug, Clone)]
pub struct Settings {
    /// DynamoDB table of database users (per server and environment).
    pub users_table: String,
    /// DynamoDB table of consumer asset subscriptions.
    pub subscriptions_table: String,
    /// DynamoDB table mapping producer secrets to consumer copies.
    pub mappings_table: String,
    /// KMS key for the secrets (key id or ARN, not an alias: consumers get per-secret grants
    /// on it; default: the service key, which cannot be shared across accounts).
    pub kms_key_id: Option<String>,
    /// Role in the consumer account allowed to read producer secrets.
    pub consumer_role_name: String,
    /// Days before a deleted secret is gone.
    pub recovery_window_days: i64,
    /// Role to assume in the consumer account; `None`: the same credentials (one account).
    pub consumer_assume_role: Option<String>,
    /// Role in the governance account that writes the tracking tables; `None`: the tables
    /// are in this account (the governance Lambda, or everything in one account).
    pub tracking_role_arn: Option<String>,
}

/// Environment variable `key`, or `default` when it is unset or blank.
pub(crate) fn var(key: &str, default: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

impl Settings {
    pub fn from_env() -> Settings {
        Settings {
            users_table: var("USERS_TABLE", "athena_fed_database_users"),
            subscriptions_table: var("SUBSCRIPTIONS_TABLE", "athena_fed_asset_subscriptions"),
            mappings_table: var("MAPPINGS_TABLE", "athena_fed_secret_mappings"),
            kms_key_id: std::env::var("SECRETS_KMS_KEY_ID")
                .ok()
                .filter(|v| !v.is_empty()),
            consumer_role_name: var(
                "CONSUMER_ROLE_NAME",
                "athena_fed_consumer_provisioning_role",
            ),
            recovery_window_days: var("RECOVERY_WINDOW_IN_DAYS", "7")
                .parse()
                .unwrap_or(7)
                .clamp(7, 30),
            consumer_assume_role: std::env::var("CONSUMER_ASSUME_ROLE_NAME")
                .ok()
                .filter(|v| !v.is_empty()),
            tracking_role_arn: std::env::var("TRACKING_ROLE_ARN")
                .ok()
                .filter(|v| !v.is_empty()),
        }
    }
}

/// The clients the steps use.
#[derive(Clone)]
pub struct Context {
    pub settings: Settings,
    /// The producer account (Glue, database admin secrets, producer secrets, KMS).
    pub producer: SdkConfig,
    /// The tracking tables' account: `producer`, or the governance account through
    /// `tracking_role_arn` (assumed lazily, re-assumed before the credentials expire).
    pub tracking: SdkConfig,
}

impl Context {
    pub async fn new(settings: Settings, producer: SdkConfig) -> Context {
        let tracking = match &settings.tracking_role_arn {
            None => producer.clone(),
            Some(arn) => {
                let provider = AssumeRoleProvider::builder(arn)
                    .session_name("athena-fed-tracking")
                    .configure(&producer)
                    .build()
                    .await;
                producer
                    .to_builder()
                    .credentials_provider(SharedCredentialsProvider::new(provider))
                    .build()
            }
        };
        Context {
            settings,
            producer,
            tracking,
        }
    }

    pub fn glue(&self) -> aws_sdk_glue::Client {
        aws_sdk_glue::Client::new(&self.producer)
    }
    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.producer)
    }
    /// The tracking tables (in the governance account when `tracking_role_arn` is set).
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.tracking)
    }
    pub fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.producer)
    }

    /// Secrets Manager in the consumer account: a role assumed now, for this invocation.
    pub async fn consumer_secrets(
        &self,
        account: &str,
        region: &str,
    ) -> Result<aws_sdk_secretsmanager::Client, String> {
        let Some(role) = &self.settings.consumer_assume_role else {
            return Ok(self.secrets());
        };
        let config = assume_role(
            &self.producer,
            account,
            role,
            region,
            "athena-fed-provisioning",
        )
        .await?;
        Ok(aws_sdk_secretsmanager::Client::new(&config))
    }
}

/// `base`, with the credentials of role `role` of `account`, assumed now (15 minutes, one
/// invocation's worth) and region `region`: how the steps act in another account.
pub async fn assume_role(
    base: &SdkConfig,
    account: &str,
    role: &str,
    region: &str,
    session: &str,
) -> Result<SdkConfig, String> {
    let arn = format!("arn:aws:iam::{account}:role/{role}");
    let out = aws_sdk_sts::Client::new(base)
        .assume_role()
        .role_arn(&arn)
        .role_session_name(session)
        .duration_seconds(900)
        .send()
        .await
        .map_err(|e| format!("cannot assume {arn}: {}", crate::aws_error(&e)))?;
    let c = out
        .credentials()
        .ok_or_else(|| format!("assuming {arn} returned no credentials"))?;
    let creds = aws_sdk_secretsmanager::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "assumed-role",
    );
    Ok(base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .region(aws_config::Region::new(region.to_owned()))
        .build())
}
