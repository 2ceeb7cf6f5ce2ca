//! Logging in to SQL Server (tiberius over TCP, TLS by rustls) and a small pool of
//! connections: tiberius has none, and a split's read holds one connection throughout.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tiberius::{AuthMethod, Client, Config, EncryptionLevel, SqlBrowser};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use crate::config::{Password, TlsMode};
use crate::source::connect::IDLE_TIMEOUT;
use crate::source::{Connect, SourceError};

pub type MsClient = Client<Compat<TcpStream>>;

/// Connections a source opens at most (as the sqlx pools of the other engines).
const MAX_CONNECTIONS: usize = 8;
/// How long a login may take unless `loginTimeout` says otherwise (mssql-jdbc's default
/// is 30 s; a Lambda should learn sooner that a server is unreachable).
const LOGIN_TIMEOUT: Duration = Duration::from_secs(15);
/// SQL Server's "Login failed for user" error number.
const LOGIN_FAILED: u32 = 18456;

/// The driver's configuration for one login.
pub fn config(connect: &Connect, user: &str, password: Option<&Password>) -> Config {
    let url = &connect.url;
    let mut config = Config::new();
    config.host(&url.host);
    config.port(url.port_or_default());
    if let Some(db) = &url.database {
        config.database(db);
    }
    if let Some(instance) = param(connect, "instanceName") {
        config.instance_name(instance);
    }
    config.application_name(
        connect
            .driver
            .application_name
            .as_deref()
            .unwrap_or("athena-federation"),
    );
    // `applicationIntent=ReadOnly`: an availability group routes the login to a readable
    // secondary.
    if param(connect, "applicationIntent").is_some_and(|v| v.eq_ignore_ascii_case("ReadOnly")) {
        config.readonly(true);
    }
    config.authentication(AuthMethod::sql_server(
        user,
        password.map(Password::expose).unwrap_or(""),
    ));
    // mssql-jdbc: `encrypt` (true by default since 10.2) and `trustServerCertificate`.
    config.encryption(match url.tls {
        TlsMode::Disable => EncryptionLevel::NotSupported,
        TlsMode::Prefer => EncryptionLevel::On,
        TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => EncryptionLevel::Required,
    });
    if param(connect, "trustServerCertificate").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        config.trust_cert();
    } else if let Some(ca) = &connect.driver.ssl_root_cert {
        config.trust_cert_ca(ca.display());
    }
    if let Some(name) = param(connect, "hostNameInCertificate") {
        config.hostname_in_certificate(name);
    }
    config
}

fn param<'a>(connect: &'a Connect, name: &str) -> Option<&'a str> {
    connect
        .url
        .params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn login_timeout(connect: &Connect) -> Duration {
    connect.driver.connect_timeout.unwrap_or(LOGIN_TIMEOUT)
}

/// Whether the server refused the credentials (to fetch a rotated secret again).
pub fn is_login_failure(e: &tiberius::error::Error) -> bool {
    matches!(e, tiberius::error::Error::Server(t) if t.code() == LOGIN_FAILED)
}

/// A driver error as the connector reports it: the server's message and number, or what
/// happened to the connection.
pub fn database_error(e: tiberius::error::Error) -> SourceError {
    let message = match &e {
        tiberius::error::Error::Server(t) => format!("{} (error {})", t.message(), t.code()),
        tiberius::error::Error::Io { message, .. } => {
            format!("the connection to the database was lost: {message}")
        }
        other => other.to_string(),
    };
    SourceError::database(message, e)
}

/// Idle connections, and permits bounding how many exist.
pub struct Pool {
    idle: Mutex<VecDeque<Idle>>,
    permits: std::sync::Arc<Semaphore>,
}

struct Idle {
    client: MsClient,
    since: Instant,
    user: String,
    password: Option<Password>,
}

/// A connection lent by the pool; [`Pool::give_back`] returns it, dropping it closes it.
pub struct Lent {
    pub client: MsClient,
    user: String,
    password: Option<Password>,
    _permit: OwnedSemaphorePermit,
}

impl Default for Pool {
    fn default() -> Self {
        Pool {
            idle: Mutex::new(VecDeque::new()),
            permits: std::sync::Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        }
    }
}

impl Pool {
    /// A connection: an idle one logged in with the current credentials, else a new login
    /// (retried once with the secret fetched again when the server refuses it).
    pub async fn acquire(&self, connect: &Connect) -> Result<Lent, SourceError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| SourceError::Throttled("the connection pool is closed".into()))?;
        for attempt in 0..2 {
            let (user, password) = connect.credentials().await?;
            {
                let mut idle = self.idle.lock().await;
                // Connections idle too long may have been closed by the server; others
                // logged in with credentials since rotated are retired.
                idle.retain(|i| {
                    i.since.elapsed() < IDLE_TIMEOUT && i.user == user && i.password == password
                });
                if let Some(i) = idle.pop_back() {
                    return Ok(Lent {
                        client: i.client,
                        user: i.user,
                        password: i.password,
                        _permit: permit,
                    });
                }
            }
            match self.login(connect, &user, password.as_ref()).await {
                Ok(client) => {
                    return Ok(Lent {
                        client,
                        user,
                        password,
                        _permit: permit,
                    })
                }
                Err(LoginError::Rejected(e)) if attempt == 0 => {
                    tracing::warn!(target = %connect.target(), error = %e, "login rejected; fetching the secret again");
                    connect.invalidate();
                }
                Err(LoginError::Rejected(e)) => {
                    return Err(SourceError::Authentication {
                        user,
                        message: match &e {
                            tiberius::error::Error::Server(t) => t.message().to_owned(),
                            other => other.to_string(),
                        },
                    })
                }
                Err(LoginError::Other(e)) => return Err(e),
            }
        }
        unreachable!("the second attempt returns")
    }

    async fn login(
        &self,
        connect: &Connect,
        user: &str,
        password: Option<&Password>,
    ) -> Result<MsClient, LoginError> {
        let config = config(connect, user, password);
        let timeout = login_timeout(connect);
        let login = async {
            let tcp = TcpStream::connect_named(&config)
                .await
                .map_err(|e| LoginError::Other(SourceError::connect(connect.target(), e)))?;
            tcp.set_nodelay(true)
                .map_err(|e| LoginError::Other(SourceError::connect(connect.target(), e)))?;
            Client::connect(config, tcp.compat_write())
                .await
                .map_err(|e| match is_login_failure(&e) {
                    true => LoginError::Rejected(e),
                    false => LoginError::Other(SourceError::connect(connect.target(), e)),
                })
        };
        match tokio::time::timeout(timeout, login).await {
            Ok(result) => result,
            Err(_) => Err(LoginError::Other(SourceError::connect(
                connect.target(),
                format!("no login within {} s (loginTimeout)", timeout.as_secs()),
            ))),
        }
    }

    /// Returns a connection whose work ended cleanly, for the next read.
    pub async fn give_back(&self, lent: Lent) {
        self.idle.lock().await.push_back(Idle {
            client: lent.client,
            since: Instant::now(),
            user: lent.user,
            password: lent.password,
        });
    }
}

enum LoginError {
    Rejected(tiberius::error::Error),
    Other(SourceError),
}
