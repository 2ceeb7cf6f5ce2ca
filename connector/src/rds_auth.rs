//! RDS IAM database authentication (`iamAuth=true&user=<db user>` in the JDBC URL, as in
//! upstream PR #3570 for #721): the password is a token, a SigV4-presigned `connect` URL
//! for service `rds-db`, made from the function's own AWS credentials. A token is valid for
//! 15 minutes; one is reused for 14.5, then made again (or at once after a rejected login).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;

use crate::config::Password;

/// How long RDS accepts a token.
const TOKEN_LIFETIME: Duration = Duration::from_secs(900);
/// How long a token is reused: its lifetime less a margin for the login itself.
pub const TOKEN_REUSE: Duration = Duration::from_secs(870);

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum RdsAuthError {
    #[error("iamAuth: no AWS credentials to sign the database token with: {0}")]
    Credentials(String),
    #[error("iamAuth: no AWS region for {host} (set AWS_REGION)")]
    Region { host: String },
    #[error("iamAuth: cannot sign the database token: {0}")]
    Sign(String),
}

/// The token for `user` at `host:port`, signed for `region` with `credentials` at `time`:
/// `host:port/?Action=connect&DBUser=user&X-Amz-…` (the URL without its scheme).
pub fn auth_token(
    credentials: &Credentials,
    region: &str,
    host: &str,
    port: u16,
    user: &str,
    time: SystemTime,
) -> Result<String, RdsAuthError> {
    let sign_error = |e: &dyn std::fmt::Display| RdsAuthError::Sign(e.to_string());
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("rds-db")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| sign_error(&e))?
        .into();
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let url = format!(
        "https://{host}:{port}/?Action=connect&DBUser={}",
        query_escape(user)
    );
    let request = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| sign_error(&e))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| sign_error(&e))?
        .into_parts();
    let mut request = http::Request::builder()
        .uri(&url)
        .body(())
        .map_err(|e| sign_error(&e))?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(request
        .uri()
        .to_string()
        .trim_start_matches("https://")
        .to_owned())
}

/// RFC 3986 unreserved characters kept, everything else percent-encoded (as SigV4 does).
fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The region of an RDS endpoint (`<name>.<id>.<region>.rds.amazonaws.com[.cn]`).
fn endpoint_region(host: &str) -> Option<&str> {
    let host = host.trim_end_matches(".cn");
    let stem = host.strip_suffix(".rds.amazonaws.com")?;
    stem.rsplit('.').next().filter(|r| !r.is_empty())
}

/// Tokens by `user@host:port`, made from the function's credentials and reused while valid.
pub struct RdsTokens {
    aws: SdkConfig,
    tokens: Mutex<HashMap<String, (SystemTime, Password)>>,
}

impl RdsTokens {
    pub fn new(aws: SdkConfig) -> RdsTokens {
        RdsTokens {
            aws,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn key(host: &str, port: u16, user: &str) -> String {
        format!("{user}@{host}:{port}")
    }

    /// The password to log in as `user` at `host:port` now.
    pub async fn token(&self, host: &str, port: u16, user: &str) -> Result<Password, RdsAuthError> {
        self.token_at(host, port, user, SystemTime::now()).await
    }

    async fn token_at(
        &self,
        host: &str,
        port: u16,
        user: &str,
        now: SystemTime,
    ) -> Result<Password, RdsAuthError> {
        let key = Self::key(host, port, user);
        if let Some((made, token)) = self.tokens.lock().expect("tokens").get(&key) {
            let age = now.duration_since(*made).unwrap_or(Duration::MAX);
            if age < TOKEN_REUSE {
                return Ok(token.clone());
            }
        }
        let provider = self
            .aws
            .credentials_provider()
            .ok_or_else(|| RdsAuthError::Credentials("no credentials provider".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| RdsAuthError::Credentials(e.to_string()))?;
        let region = endpoint_region(host)
            .map(str::to_owned)
            .or_else(|| self.aws.region().map(|r| r.to_string()))
            .ok_or_else(|| RdsAuthError::Region {
                host: host.to_owned(),
            })?;
        let token = Password::new(auth_token(&credentials, &region, host, port, user, now)?);
        self.tokens
            .lock()
            .expect("tokens")
            .insert(key, (now, token.clone()));
        Ok(token)
    }

    /// After a rejected login: the next login gets a new token.
    pub fn invalidate(&self, host: &str, port: u16, user: &str) {
        self.tokens
            .lock()
            .expect("tokens")
            .remove(&Self::key(host, port, user));
    }
}

#[cfg(test)]
mod tests;
