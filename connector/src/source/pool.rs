//! A pool of connections for drivers that have none (tiberius, ODPI-C): idle connections
//! with the credentials they logged in with, permits bounding how many exist, and one login
//! retry with the secret fetched again when the server rejects it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::connect::IDLE_TIMEOUT;
use super::{Connect, SourceError};
use crate::config::Password;

/// Connections a source opens at most (as the sqlx pools of the other engines).
const MAX_CONNECTIONS: usize = 8;

pub struct LoginPool<C> {
    idle: Mutex<Vec<Idle<C>>>,
    permits: Arc<Semaphore>,
}

struct Idle<C> {
    conn: C,
    since: Instant,
    user: String,
    password: Option<Password>,
}

/// A connection lent by the pool; [`LoginPool::give_back`] returns it, dropping it closes it.
pub struct Lent<C> {
    pub conn: C,
    user: String,
    password: Option<Password>,
    _permit: OwnedSemaphorePermit,
}

/// Why a login failed.
pub enum LoginFailure {
    /// The server rejected the credentials (its message): the secret may have rotated.
    Rejected(String),
    Other(SourceError),
}

impl<C> Default for LoginPool<C> {
    fn default() -> Self {
        LoginPool {
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        }
    }
}

impl<C> LoginPool<C> {
    /// A connection: an idle one logged in with the current credentials, else one `login`
    /// makes (retried once with the credentials fetched again when it is rejected).
    pub async fn acquire<F, Fut>(&self, connect: &Connect, login: F) -> Result<Lent<C>, SourceError>
    where
        F: Fn(String, Option<Password>) -> Fut,
        Fut: Future<Output = Result<C, LoginFailure>>,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| SourceError::Throttled("the connection pool is closed".into()))?;
        for attempt in 0..2 {
            let (user, password) = connect.credentials().await?;
            if let Some(conn) = self.take_idle(&user, &password) {
                return Ok(Lent {
                    conn,
                    user,
                    password,
                    _permit: permit,
                });
            }
            match login(user.clone(), password.clone()).await {
                Ok(conn) => {
                    return Ok(Lent {
                        conn,
                        user,
                        password,
                        _permit: permit,
                    })
                }
                Err(LoginFailure::Rejected(message)) if attempt == 0 => {
                    // The server's message (no password in it): why the cached secret failed.
                    tracing::warn!(target = %connect.target(), error = %message, "login rejected; fetching the secret again");
                    connect.invalidate();
                }
                Err(LoginFailure::Rejected(message)) => {
                    return Err(SourceError::Authentication { user, message })
                }
                Err(LoginFailure::Other(e)) => return Err(e),
            }
        }
        unreachable!("the second attempt returns")
    }

    /// An idle connection of these credentials; connections idle too long (the server may
    /// have closed them) or logged in with credentials since rotated are retired.
    fn take_idle(&self, user: &str, password: &Option<Password>) -> Option<C> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|i| {
            i.since.elapsed() < IDLE_TIMEOUT && i.user == user && &i.password == password
        });
        idle.pop().map(|i| i.conn)
    }

    /// Returns a connection whose work ended cleanly, for the next read.
    pub fn give_back(&self, lent: Lent<C>) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Idle {
                conn: lent.conn,
                since: Instant::now(),
                user: lent.user,
                password: lent.password,
            });
    }
}
