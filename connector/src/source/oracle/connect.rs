//! Logging in to Oracle (the `oracle` crate: ODPI-C, with Oracle Instant Client loaded at
//! run time) and a small pool of connections used from blocking threads.

use crate::config::{JdbcUrl, Password, TlsMode, ORACLE_DESCRIPTOR, ORACLE_SID};
use crate::source::pool::{LoginFailure, LoginPool};
use crate::source::{Connect, SourceError};
/// ORA-01017: invalid username/password.
const INVALID_LOGIN: i32 = 1017;

/// The client's connect string for a parsed URL: the descriptor as written, a SID as a
/// descriptor, else Easy Connect (`[tcps://]host:port/service`).
pub fn connect_string(url: &JdbcUrl) -> String {
    if let Some(d) = url.params.get(ORACLE_DESCRIPTOR) {
        return d.clone();
    }
    let host = if url.host.contains(':') {
        format!("[{}]", url.host)
    } else {
        url.host.clone()
    };
    let port = url.port_or_default();
    let protocol = match url.tls {
        TlsMode::Disable | TlsMode::Prefer => "TCP",
        _ => "TCPS",
    };
    let database = url.database.as_deref().unwrap_or("");
    if url.params.contains_key(ORACLE_SID) {
        return format!(
            "(DESCRIPTION=(ADDRESS=(PROTOCOL={protocol})(HOST={})(PORT={port}))(CONNECT_DATA=(SID={database})))",
            url.host
        );
    }
    match protocol {
        "TCPS" => format!("tcps://{host}:{port}/{database}"),
        _ => format!("//{host}:{port}/{database}"),
    }
}

/// An Oracle error as the connector reports it; a missing Instant Client says which
/// library is missing and how to provide it.
pub fn oracle_error(target: &str, e: oracle::Error) -> SourceError {
    let message = e.to_string();
    if missing_client(&e) {
        return SourceError::connect(
            target,
            format!(
                "the Oracle Instant Client library (libclntsh.so) could not be loaded: deploy the connector with an Instant Client Lambda layer (sam/connector.yaml parameter OracleLayerArn; its lib/ is on the Lambda's library path) or, elsewhere, install Instant Client and put its directory on LD_LIBRARY_PATH. The driver said: {message}"
            ),
        );
    }
    SourceError::database(message, e)
}

/// DPI-1047: ODPI-C could not load the Oracle client library.
fn missing_client(e: &oracle::Error) -> bool {
    e.to_string().contains("DPI-1047")
}

fn is_invalid_login(e: &oracle::Error) -> bool {
    e.db_error().is_some_and(|d| d.code() == INVALID_LOGIN)
}

pub type Pool = LoginPool<oracle::Connection>;

/// Statements every new session runs: UTC (TIMESTAMP WITH LOCAL TIME ZONE and SYSDATE
/// arithmetic read as UTC), `.` as the decimal separator (decimals are bound as text), and
/// binary comparison and sorting (Athena's code-point order).
const SESSION_SETUP: &str = "ALTER SESSION SET TIME_ZONE = 'UTC' NLS_NUMERIC_CHARACTERS = '.,' NLS_SORT = BINARY NLS_COMP = BINARY";

/// Logs in once, on a blocking thread (ODPI-C is synchronous), and sets the session up,
/// within the connect timeout (`loginTimeout`/`connectTimeout`, else the default): past it
/// the login is abandoned (the blocking thread finishes on its own and drops it).
pub async fn login(
    connect: &Connect,
    user: String,
    password: Option<Password>,
) -> Result<oracle::Connection, LoginFailure> {
    let target = connect.target();
    let connect_string = connect_string(&connect.url);
    let timeout = connect.connect_timeout();
    let login = tokio::task::spawn_blocking(move || {
        let conn = oracle::Connector::new(
            user,
            password.as_ref().map(Password::expose).unwrap_or(""),
            connect_string,
        )
        .connect()?;
        conn.execute(SESSION_SETUP, &[])?;
        Ok::<_, oracle::Error>(conn)
    });
    let login = tokio::time::timeout(timeout, login)
        .await
        .map_err(|_| {
            LoginFailure::Other(SourceError::connect(
                target.clone(),
                format!("no login within {} s (loginTimeout)", timeout.as_secs()),
            ))
        })?
        .map_err(|e| LoginFailure::Other(SourceError::connect(target.clone(), e)))?;
    login.map_err(|e| match e {
        e if is_invalid_login(&e) => LoginFailure::Rejected(e.to_string()),
        e if missing_client(&e) => LoginFailure::Other(oracle_error(&target, e)),
        e => LoginFailure::Other(SourceError::connect(target, e)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(url: &str) -> String {
        connect_string(&JdbcUrl::parse(url).unwrap())
    }

    #[test]
    fn every_url_form_becomes_the_clients_connect_string() {
        assert_eq!(
            cs("jdbc:oracle:thin:@//ora.example.com:1521/ORCLPDB1"),
            "//ora.example.com:1521/ORCLPDB1"
        );
        assert_eq!(cs("jdbc:oracle:thin:@ora/svc"), "//ora:1521/svc");
        assert_eq!(
            cs("jdbc:oracle:thin:@tcps://ora:2484/svc"),
            "tcps://ora:2484/svc"
        );
        assert_eq!(
            cs("jdbc:oracle:thin:@ora:1522:ORCL"),
            "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=ora)(PORT=1522))(CONNECT_DATA=(SID=ORCL)))"
        );
        assert_eq!(
            cs("jdbc:oracle:thin:@//[2001:db8::5]:1521/svc"),
            "//[2001:db8::5]:1521/svc"
        );
        let d = "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=h)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=s)))";
        assert_eq!(cs(&format!("jdbc:oracle:thin:@{d}")), d);
    }
}
