//! `${name}` credentials: Secrets Manager secrets holding `username` and `password`,
//! cached for a TTL and re-fetched when the database rejects them (so rotation works
//! without a restart). Neither a secret's content nor a password appears in any error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;

use crate::config::Password;

/// Database credentials from a secret.
#[derive(Clone, PartialEq)]
pub struct Credentials {
    pub username: String,
    pub password: Password,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials {{ username: {:?}, password: <redacted> }}",
            self.username
        )
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum SecretError {
    #[error("secret \"{0}\" not found in Secrets Manager")]
    NotFound(String),
    #[error("cannot read secret \"{name}\" from Secrets Manager: {reason}")]
    Fetch { name: String, reason: String },
    /// Secrets Manager asked to slow down.
    #[error("Secrets Manager is throttling reads of secret \"{name}\": {reason}")]
    Throttled { name: String, reason: String },
    #[error("secret \"{name}\" {why} (it must be JSON with \"username\" and \"password\" keys)")]
    Shape { name: String, why: &'static str },
}

/// Where secrets come from.
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The secret's string value.
    async fn secret_string(&self, name: &str) -> Result<String, SecretError>;
}

/// AWS Secrets Manager.
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub fn new(config: &aws_config::SdkConfig) -> SecretsManager {
        SecretsManager {
            client: aws_sdk_secretsmanager::Client::new(config),
        }
    }
}

#[async_trait]
impl SecretStore for SecretsManager {
    async fn secret_string(&self, name: &str) -> Result<String, SecretError> {
        use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
        match self.client.get_secret_value().secret_id(name).send().await {
            Ok(out) => out
                .secret_string()
                .map(str::to_owned)
                .ok_or_else(|| SecretError::Shape {
                    name: name.to_owned(),
                    why: "has no string value",
                }),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Err(SecretError::NotFound(name.to_owned()))
            }
            Err(e) => {
                let reason = match (e.code(), e.message()) {
                    (Some(code), Some(message)) => format!("{code}: {message}"),
                    _ => DisplayErrorContext(&e).to_string(),
                };
                let name = name.to_owned();
                Err(if crate::throttle::is_aws_throttling(e.code()) {
                    SecretError::Throttled { name, reason }
                } else {
                    SecretError::Fetch { name, reason }
                })
            }
        }
    }
}

/// Parses `{"username": …, "password": …}` (keys matched case-insensitively).
pub fn parse_credentials(name: &str, secret: &str) -> Result<Credentials, SecretError> {
    let shape = |why| SecretError::Shape {
        name: name.to_owned(),
        why,
    };
    let value: Value = serde_json::from_str(secret).map_err(|_| shape("is not JSON"))?;
    let object = value
        .as_object()
        .ok_or_else(|| shape("is not a JSON object"))?;
    let field = |key: &str| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned)
    };
    Ok(Credentials {
        username: field("username").ok_or_else(|| shape("has no string \"username\""))?,
        password: Password::new(
            field("password").ok_or_else(|| shape("has no string \"password\""))?,
        ),
    })
}

/// Credentials by secret name, cached for a TTL.
pub struct SecretCache {
    store: Arc<dyn SecretStore>,
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Credentials)>>,
}

impl SecretCache {
    pub fn new(store: Arc<dyn SecretStore>, ttl: Duration) -> SecretCache {
        SecretCache {
            store,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub async fn credentials(&self, name: &str) -> Result<Credentials, SecretError> {
        if let Some((at, c)) = self.entries.lock().expect("secret cache lock").get(name) {
            if at.elapsed() < self.ttl {
                return Ok(c.clone());
            }
        }
        let credentials = parse_credentials(name, &self.store.secret_string(name).await?)?;
        self.entries
            .lock()
            .expect("secret cache lock")
            .insert(name.to_owned(), (Instant::now(), credentials.clone()));
        Ok(credentials)
    }

    /// Forgets `name`, so the next use fetches it again (after a rejected login).
    pub fn invalidate(&self, name: &str) {
        self.entries.lock().expect("secret cache lock").remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(AtomicUsize, Mutex<String>);

    #[async_trait]
    impl SecretStore for Counting {
        async fn secret_string(&self, _: &str) -> Result<String, SecretError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(self.1.lock().unwrap().clone())
        }
    }

    #[tokio::test]
    async fn caches_until_invalidated_or_expired() {
        let store = Arc::new(Counting(
            AtomicUsize::new(0),
            Mutex::new(r#"{"Username":"u","PASSWORD":"p1"}"#.into()),
        ));
        let cache = SecretCache::new(store.clone(), Duration::from_secs(60));
        assert_eq!(
            cache.credentials("s").await.unwrap().password.expose(),
            "p1"
        );
        *store.1.lock().unwrap() = r#"{"username":"u","password":"p2"}"#.into();
        assert_eq!(
            cache.credentials("s").await.unwrap().password.expose(),
            "p1"
        );
        assert_eq!(store.0.load(Ordering::SeqCst), 1);
        cache.invalidate("s");
        assert_eq!(
            cache.credentials("s").await.unwrap().password.expose(),
            "p2"
        );
        let expired = SecretCache::new(store.clone(), Duration::ZERO);
        expired.credentials("s").await.unwrap();
        expired.credentials("s").await.unwrap();
        assert_eq!(store.0.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn malformed_secrets_are_named_without_their_content() {
        let e = parse_credentials("db/app", "hunter2")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "secret \"db/app\" is not JSON (it must be JSON with \"username\" and \"password\" keys)");
        let e = parse_credentials("db/app", r#"{"username":"u","pass":"hunter2"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            !e.contains("hunter2") && e.contains("no string \"password\""),
            "{e}"
        );
        let c = parse_credentials("x", r#"{"username":"u","password":"hunter2"}"#).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
