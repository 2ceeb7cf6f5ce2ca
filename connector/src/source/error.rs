//! What can go wrong reading a database, each error with its cause.

use crate::secrets::SecretError;
use crate::sql::SqlError;

use super::split::SplitError;

/// A driver's error, kept as the cause of a [`SourceError`].
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{kind} {name} not found")]
    NotFound { kind: &'static str, name: String },
    #[error("{kind} name \"{name}\" is ambiguous: {} differ only in case (use a passthrough query, system.query, to reach one)", candidates.join(", "))]
    Ambiguous {
        kind: &'static str,
        name: String,
        candidates: Vec<String>,
    },
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("the database rejected the credentials of user \"{user}\": {message}")]
    Authentication { user: String, message: String },
    #[error("cannot connect to {target}: {cause}")]
    Connect {
        target: String,
        #[source]
        cause: Cause,
    },
    /// The database failed a statement, or the connection to it was lost.
    #[error("database error: {0}")]
    Database(#[source] DatabaseError),
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error(transparent)]
    Split(#[from] SplitError),
    #[error("column \"{column}\": {why}")]
    Value { column: String, why: String },
    #[error("{0}")]
    Unsupported(String),
    /// The sink (spilling) failed; reading stops.
    #[error("{0}")]
    Sink(String),
    /// The server or the pool has no connection to spare: Athena should retry later.
    #[error("{0}")]
    Throttled(String),
    /// The Athena query is over (finished or cancelled): nobody reads the rest.
    #[error("the query is {0}: reading stopped")]
    QueryFinished(String),
}

/// A database's error as users read it (its message and code), with the driver's error
/// as the cause.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DatabaseError {
    pub message: String,
    #[source]
    pub cause: Option<Cause>,
}

impl DatabaseError {
    /// An error the connector found in the database's answer (no driver error behind it).
    pub fn new(message: impl Into<String>) -> DatabaseError {
        DatabaseError {
            message: message.into(),
            cause: None,
        }
    }
}

impl SourceError {
    /// Whether Athena should retry with backoff rather than fail the query.
    pub fn is_throttling(&self) -> bool {
        matches!(
            self,
            SourceError::Throttled(_) | SourceError::Secret(SecretError::Throttled { .. })
        )
    }

    /// A statement failed: `message`, with the driver's `cause`.
    pub fn database(message: impl Into<String>, cause: impl Into<Cause>) -> SourceError {
        SourceError::Database(DatabaseError {
            message: message.into(),
            cause: Some(cause.into()),
        })
    }

    /// A failed connection attempt to `target`.
    pub fn connect(target: impl Into<String>, cause: impl Into<Cause>) -> SourceError {
        SourceError::Connect {
            target: target.into(),
            cause: cause.into(),
        }
    }
}

impl From<sqlx::Error> for SourceError {
    fn from(e: sqlx::Error) -> SourceError {
        let message = match &e {
            sqlx::Error::Database(db) => match db.code() {
                Some(code) => format!("{} (SQLSTATE {code})", db.message()),
                None => db.message().to_owned(),
            },
            sqlx::Error::Io(io) => format!("the connection to the database was lost: {io}"),
            other => other.to_string(),
        };
        SourceError::database(message, e)
    }
}
