//! How a source reaches its server: address from the JDBC URL, credentials from the
//! secret (or the URL), and what counts as a rejected login (to re-fetch a rotated secret).

use std::sync::Arc;

use crate::config::{JdbcUrl, Password};
use crate::secrets::SecretCache;

use super::SourceError;

pub struct Connect {
    pub url: JdbcUrl,
    pub secret: Option<String>,
    pub secrets: Arc<SecretCache>,
}

impl Connect {
    /// `host:port/database`, for messages (never credentials).
    pub fn target(&self) -> String {
        let host = if self.url.host.contains(':') {
            format!("[{}]", self.url.host)
        } else {
            self.url.host.clone()
        };
        format!(
            "{}:{}/{}",
            host,
            self.url.port_or_default(),
            self.url.database.as_deref().unwrap_or("")
        )
    }

    /// The user and password to log in with: the secret's, else the URL's.
    pub async fn credentials(&self) -> Result<(String, Option<Password>), SourceError> {
        match &self.secret {
            Some(name) => {
                let c = self.secrets.credentials(name).await?;
                Ok((c.username, Some(c.password)))
            }
            None => Ok((
                self.url.user.clone().unwrap_or_default(),
                self.url.password.clone(),
            )),
        }
    }

    /// After a rejected login: the next attempt fetches the secret again.
    pub fn invalidate(&self) {
        if let Some(name) = &self.secret {
            self.secrets.invalidate(name);
        }
    }

    /// The error for a failed connection attempt.
    pub fn connect_error(&self, user: &str, e: sqlx::Error) -> SourceError {
        if is_auth_error(&e) {
            let message = match &e {
                sqlx::Error::Database(db) => db.message().to_owned(),
                other => other.to_string(),
            };
            SourceError::Authentication {
                user: user.to_owned(),
                message,
            }
        } else {
            SourceError::Connect {
                target: self.target(),
                message: e.to_string(),
            }
        }
    }
}

/// PostgreSQL 28P01/28000 (invalid password / authorization), MySQL 1045 (access denied).
pub fn is_auth_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                return my.number() == 1045;
            }
            matches!(db.code().as_deref(), Some("28P01") | Some("28000"))
        }
        _ => false,
    }
}
