//! How a source reaches its server: address from the JDBC URL, credentials from the
//! secret (or the URL), and what counts as a rejected login (to re-fetch a rotated secret).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::pool::{PoolConnection, PoolOptions};
use sqlx::{ConnectOptions, Connection, Database, Pool};
use tokio::sync::Mutex;

use crate::config::{CasingMode, DriverOptions, JdbcUrl, Password};
use crate::rds_auth::RdsTokens;
use crate::secrets::SecretCache;

use super::SourceError;

/// A read that failed may have left its connection inside a transaction, a COPY or a
/// half-read result: it is closed instead of going back to the pool, so the next read never
/// meets "current transaction is aborted" (upstream #3495).
pub fn discard_on_error<DB: Database, T, E>(
    conn: &mut PoolConnection<DB>,
    result: Result<T, E>,
) -> Result<T, E> {
    if result.is_err() {
        conn.close_on_drop();
    }
    result
}

pub struct Connect {
    pub url: JdbcUrl,
    pub secret: Option<String>,
    pub secrets: Arc<SecretCache>,
    /// `iamAuth=true`: RDS IAM tokens as passwords for the URL's user.
    pub iam: Option<Arc<RdsTokens>>,
    /// The URL's driver parameters.
    pub driver: DriverOptions,
    /// How names from Athena find the database's (`casing_mode`).
    pub casing: CasingMode,
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

    /// The user and password to log in with: an IAM token for the URL's user, the
    /// secret's, else the URL's.
    pub async fn credentials(&self) -> Result<(String, Option<Password>), SourceError> {
        if let Some(tokens) = &self.iam {
            let user = self.url.user.clone().unwrap_or_default();
            let token = tokens
                .token(&self.url.host, self.url.port_or_default(), &user)
                .await
                .map_err(|e| SourceError::connect(self.target(), e))?;
            return Ok((user, Some(token)));
        }
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

    /// After a rejected login: the next attempt fetches the secret (or makes a token) again.
    pub fn invalidate(&self) {
        if let Some(name) = &self.secret {
            self.secrets.invalidate(name);
        }
        if let Some(tokens) = &self.iam {
            let user = self.url.user.as_deref().unwrap_or_default();
            tokens.invalidate(&self.url.host, self.url.port_or_default(), user);
        }
    }

    /// The error for a failed connection attempt.
    pub fn connect_error(&self, user: &str, e: sqlx::Error) -> SourceError {
        if crate::throttle::is_database_throttling(&e) && !matches!(e, sqlx::Error::PoolTimedOut) {
            return SourceError::Throttled(format!(
                "{} has no connection to spare: {}",
                self.target(),
                e
            ));
        }
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
            SourceError::connect(self.target(), e)
        }
    }
}

/// How long a read waits for one of the pool's connections to come free.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a connection may sit idle: in the pool (closed by the pool's reaper), and on the
/// server (the session setup asks the server to close it), so the connections of a frozen
/// Lambda sandbox, whose reaper does not run, do not pile up against `max_connections`.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The server side of [`IDLE_TIMEOUT`]: a little longer, so a live pool closes first.
pub const SERVER_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the first connection of a pool may take (the drivers' usual connect timeout):
/// the pool would retry a refused connection until `ACQUIRE_TIMEOUT`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Connect {
    /// `connectTimeout` / `loginTimeout`, else [`CONNECT_TIMEOUT`].
    pub(crate) fn connect_timeout(&self) -> Duration {
        self.driver.connect_timeout.unwrap_or(CONNECT_TIMEOUT)
    }

    /// The timeout of a statement starting now: the deadline's, capped by `socketTimeout`
    /// (the server cancels the statement, where a driver's socket timeout would drop the
    /// connection).
    pub fn statement_timeout(&self) -> Duration {
        let t = crate::deadline::statement_timeout();
        self.driver.socket_timeout.map_or(t, |s| t.min(s))
    }
}

/// A pool created on first use with the credentials of [`Connect`], and made anew when they
/// change (a rotated secret once its cache expires, the next IAM token): existing
/// connections finish their work. A rejected login drops it, fetches the credentials again
/// and retries once, so a rotated password needs no restart.
pub struct RotatingPool<DB: Database> {
    slot: Mutex<Option<LivePool<DB>>>,
    setup: Option<SessionSetup<DB>>,
}

/// Statements a new connection runs before its first use (server-side idle timeouts).
pub type SessionSetup<DB> =
    for<'c> fn(&'c mut <DB as Database>::Connection) -> BoxFuture<'c, Result<(), sqlx::Error>>;

/// The pool and the user and password its connections log in with.
struct LivePool<DB: Database> {
    pool: Pool<DB>,
    user: String,
    password: Option<Password>,
}

impl<DB: Database> Default for RotatingPool<DB> {
    fn default() -> Self {
        RotatingPool {
            slot: Mutex::new(None),
            setup: None,
        }
    }
}

impl<DB: Database> RotatingPool<DB> {
    /// A pool whose new connections run `setup` first.
    pub fn with_session_setup(setup: SessionSetup<DB>) -> Self {
        RotatingPool {
            slot: Mutex::new(None),
            setup: Some(setup),
        }
    }

    /// A connection; `options` builds the driver's options for a user and password.
    pub async fn acquire(
        &self,
        connect: &Connect,
        options: impl Fn(&str, Option<&Password>) -> <DB::Connection as Connection>::Options,
    ) -> Result<PoolConnection<DB>, SourceError> {
        for attempt in 0..2 {
            let (user, password) = connect.credentials().await?;
            let pool = {
                let mut slot = self.slot.lock().await;
                match slot.as_ref() {
                    Some(live) if live.user == user && live.password == password => {
                        live.pool.clone()
                    }
                    _ => {
                        let mut p = PoolOptions::<DB>::new()
                            .max_connections(8)
                            .min_connections(0)
                            .acquire_timeout(ACQUIRE_TIMEOUT)
                            .idle_timeout(IDLE_TIMEOUT);
                        if let Some(setup) = self.setup {
                            p = p.after_connect(move |conn, _| setup(conn));
                        }
                        let p = p.connect_lazy_with(options(&user, password.as_ref()));
                        *slot = Some(LivePool {
                            pool: p.clone(),
                            user: user.clone(),
                            password: password.clone(),
                        });
                        p
                    }
                }
            };
            let acquired = if pool.size() == 0 {
                tokio::time::timeout(connect.connect_timeout(), pool.acquire())
                    .await
                    .unwrap_or(Err(sqlx::Error::PoolTimedOut))
            } else {
                pool.acquire().await
            };
            match acquired {
                Ok(c) => return Ok(c),
                // Every connection of the pool busy for the whole wait: slow down.
                Err(sqlx::Error::PoolTimedOut) if pool.size() > 0 => {
                    return Err(SourceError::Throttled(format!(
                        "all {} connections to {} are busy (waited {}s)",
                        pool.size(),
                        connect.target(),
                        ACQUIRE_TIMEOUT.as_secs()
                    )));
                }
                Err(e) if attempt == 0 && is_auth_error(&e) => {
                    tracing::warn!(target = %connect.target(), "login rejected; fetching the secret again");
                    connect.invalidate();
                    self.slot.lock().await.take();
                    pool.close().await;
                }
                // The pool retries a refused connection until its timeout and then only
                // says it timed out: one direct attempt tells why (refused, unknown host).
                Err(sqlx::Error::PoolTimedOut) if pool.size() == 0 => {
                    let direct = options(&user, password.as_ref());
                    let why =
                        match tokio::time::timeout(connect.connect_timeout(), direct.connect())
                            .await
                        {
                            Ok(Ok(c)) => {
                                let _ = c.close().await;
                                sqlx::Error::PoolTimedOut
                            }
                            Ok(Err(e)) => e,
                            Err(_) => sqlx::Error::PoolTimedOut,
                        };
                    return Err(connect.connect_error(&user, why));
                }
                Err(e) => return Err(connect.connect_error(&user, e)),
            }
        }
        unreachable!("the second attempt returns")
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
