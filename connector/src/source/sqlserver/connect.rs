//! Logging in to SQL Server (tiberius over TCP, TLS by rustls) and a small pool of
//! connections: tiberius has none, and a split's read holds one connection throughout.

use std::time::Duration;

use tiberius::{AuthMethod, Client, Config, EncryptionLevel, SqlBrowser};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use crate::config::{DriverOptions, JdbcUrl, Password, TlsMode};
use crate::source::pool::{LoginFailure, LoginPool};
use crate::source::{Cause, Connect, SourceError};

pub type MsClient = Client<Compat<TcpStream>>;

/// How long a login may take unless `loginTimeout` says otherwise (mssql-jdbc's default
/// is 30 s; a Lambda should learn sooner that a server is unreachable).
const LOGIN_TIMEOUT: Duration = Duration::from_secs(15);
/// SQL Server's "Login failed for user" error number.
const LOGIN_FAILED: u32 = 18456;

/// The driver's configuration for one login to the server `url` names (also used by the
/// provisioning steps, which log in as the database's administrator).
pub fn config(
    url: &JdbcUrl,
    driver: &DriverOptions,
    user: &str,
    password: Option<&Password>,
) -> Config {
    let param = |name: &str| {
        url.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let mut config = Config::new();
    config.host(&url.host);
    config.port(url.port_or_default());
    if let Some(db) = &url.database {
        config.database(db);
    }
    if let Some(instance) = param("instanceName") {
        config.instance_name(instance);
    }
    config.application_name(
        driver
            .application_name
            .as_deref()
            .unwrap_or("athena-federation"),
    );
    // `applicationIntent=ReadOnly`: an availability group routes the login to a readable
    // secondary.
    if param("applicationIntent").is_some_and(|v| v.eq_ignore_ascii_case("ReadOnly")) {
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
    if param("trustServerCertificate").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        config.trust_cert();
    } else if let Some(ca) = &driver.ssl_root_cert {
        config.trust_cert_ca(ca.display());
    }
    if let Some(name) = param("hostNameInCertificate") {
        config.hostname_in_certificate(name);
    }
    config
}

/// How long a login may take: `loginTimeout`, else 15 s (also the provisioning steps').
pub fn login_timeout(driver: &DriverOptions) -> Duration {
    driver.connect_timeout.unwrap_or(LOGIN_TIMEOUT)
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

pub type Pool = LoginPool<MsClient>;
pub type Lent = crate::source::pool::Lent<MsClient>;

/// Logs in once: TCP (SQL Browser for a named instance), then TDS with TLS as configured.
pub async fn login(
    connect: &Connect,
    user: String,
    password: Option<Password>,
) -> Result<MsClient, LoginFailure> {
    let config = config(&connect.url, &connect.driver, &user, password.as_ref());
    open(config, login_timeout(&connect.driver))
        .await
        .map_err(|e| match e {
            OpenError::Rejected(message) => LoginFailure::Rejected(message),
            OpenError::Other(cause) => {
                LoginFailure::Other(SourceError::connect(connect.target(), cause))
            }
        })
}

/// Why a connection could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The server rejected the credentials (its message).
    Rejected(String),
    Other(Cause),
}

/// Opens one connection: TCP (SQL Browser for a named instance), then TDS with TLS as
/// configured, within `timeout`.
pub async fn open(config: Config, timeout: Duration) -> Result<MsClient, OpenError> {
    let login = async {
        let tcp = TcpStream::connect_named(&config)
            .await
            .map_err(|e| OpenError::Other(e.into()))?;
        tcp.set_nodelay(true)
            .map_err(|e| OpenError::Other(e.into()))?;
        Client::connect(config, tcp.compat_write())
            .await
            .map_err(|e| match e {
                tiberius::error::Error::Server(t) if t.code() == LOGIN_FAILED => {
                    OpenError::Rejected(t.message().to_owned())
                }
                e => OpenError::Other(e.into()),
            })
    };
    match tokio::time::timeout(timeout, login).await {
        Ok(result) => result,
        Err(_) => Err(OpenError::Other(
            format!("no login within {} s (loginTimeout)", timeout.as_secs()).into(),
        )),
    }
}
