//! Connection strings as the official connectors take them: `<engine>://<jdbc-url>` with an
//! optional `${secret}` reference, plus `sqlite://PATH` for the embedded engine (SPEC §6.2).

use std::fmt;
use std::path::PathBuf;

use super::driver_params::DriverOptions;
use super::jdbc_url::{redact, Engine, JdbcUrl, TlsMode, UrlError};

/// Where a catalog's data lives and how to authenticate.
#[derive(Clone, PartialEq)]
pub struct ConnectionString {
    pub target: Target,
    /// The Secrets Manager secret whose `username`/`password` are the credentials.
    pub secret: Option<String>,
    /// `iamAuth=true`: log in as the URL's `user` with an RDS IAM token ([`crate::rds_auth`]).
    pub iam_auth: bool,
    /// What the URL's driver parameters ask of each connection.
    pub driver: DriverOptions,
    /// The original text with passwords redacted, for messages.
    shown: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Server(JdbcUrl),
    Sqlite(PathBuf),
}

#[derive(Debug, thiserror::Error, PartialEq, Clone)]
pub enum ConnectionStringError {
    #[error("connection string must look like <engine>://<jdbc url> (postgres://jdbc:postgresql://host:5432/db?${{secret}}), or sqlite://PATH; found \"{0}\"")]
    Shape(String),
    #[error("unknown engine \"{engine}\" in connection string (expected postgres, mysql, mariadb, sqlserver, oracle or sqlite)")]
    Engine { engine: String },
    #[error("connection string for {prefix} holds a {url} URL")]
    EngineMismatch { prefix: String, url: Engine },
    #[error("iamAuth=true {0}")]
    IamAuth(&'static str),
    #[error(transparent)]
    Url(#[from] UrlError),
}

impl ConnectionString {
    pub fn parse(text: &str) -> Result<ConnectionString, ConnectionStringError> {
        let shown = redact(text.trim());
        let text = text.trim();
        let (prefix, rest) = text
            .split_once("://")
            .filter(|(p, _)| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
            .ok_or_else(|| ConnectionStringError::Shape(shown.clone()))?;
        let prefix = prefix.to_ascii_lowercase();
        if prefix == "sqlite" {
            if rest.is_empty() {
                return Err(ConnectionStringError::Shape(shown));
            }
            return Ok(ConnectionString {
                target: Target::Sqlite(PathBuf::from(rest)),
                secret: None,
                iam_auth: false,
                driver: DriverOptions::default(),
                shown,
            });
        }
        let expected = match prefix.as_str() {
            "postgres" | "postgresql" => Engine::Postgres,
            "mysql" | "mariadb" => Engine::MySql,
            "sqlserver" => Engine::SqlServer,
            "oracle" => Engine::Oracle,
            other => {
                return Err(ConnectionStringError::Engine {
                    engine: other.to_owned(),
                })
            }
        };
        let secret = secret_reference(rest);
        let mut url = JdbcUrl::parse(&strip_secret_references(rest))?;
        if url.engine != expected {
            return Err(ConnectionStringError::EngineMismatch {
                prefix,
                url: url.engine,
            });
        }
        let iam_auth = match url
            .params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("iamAuth"))
            .map(|(_, v)| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ConnectionStringError::IamAuth(
                    "is the only other value of iamAuth (false is the default)",
                ))
            }
        };
        if iam_auth {
            let e = ConnectionStringError::IamAuth;
            if !matches!(url.engine, Engine::Postgres | Engine::MySql) {
                return Err(e("is for PostgreSQL and MySQL/MariaDB on RDS or Aurora"));
            }
            if secret.is_some() {
                return Err(e(
                    "cannot be combined with a ${secret}: the token is the password",
                ));
            }
            if url.password.is_some() {
                return Err(e(
                    "cannot be combined with a password: the token is the password",
                ));
            }
            if url.user.as_deref().unwrap_or_default().is_empty() {
                return Err(e("needs user=<database user> (a user granted rds_iam)"));
            }
            // The token travels as the password: never without TLS.
            match url.tls {
                TlsMode::Disable => {
                    return Err(e("needs TLS: the token is sent as the password (drop sslmode=disable / useSSL=false)"))
                }
                TlsMode::Prefer => url.tls = TlsMode::Require,
                _ => {}
            }
        }
        let (driver, no_effect) = DriverOptions::from_params(url.engine, &url.params)?;
        for (name, why) in no_effect {
            tracing::warn!(parameter = %name, "JDBC URL parameter accepted with no effect: {why}");
        }
        // pgjdbc's NonValidatingFactory: TLS as asked, the certificate not checked.
        if driver.ssl_no_verify && url.tls > TlsMode::Require {
            url.tls = TlsMode::Require;
        }
        Ok(ConnectionString {
            target: Target::Server(url),
            secret,
            iam_auth,
            driver,
            shown,
        })
    }

    pub fn engine(&self) -> Engine {
        match &self.target {
            Target::Server(u) => u.engine,
            Target::Sqlite(_) => Engine::Sqlite,
        }
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionString({})", self.shown)
    }
}

/// Redacted: safe for logs and messages.
impl fmt::Display for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// The first `${name}` naming a secret: letters, digits and `:/_+=.@-`, optionally
/// prefixed with `word!` (the SDK's pattern).
pub fn secret_reference(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let name = &after[..end];
        let (prefix, body) = match name.split_once('!') {
            Some((p, b)) => (Some(p), b),
            None => (None, name),
        };
        let prefix_ok = prefix
            .is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
        let body_ok = !body.is_empty()
            && body
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ":/_+=.@-".contains(c));
        if prefix_ok && body_ok {
            return Some(name.to_owned());
        }
        rest = &after[end + 1..];
    }
    None
}

/// Deletes every `${...}` token, as the SDK does before connecting.
fn strip_secret_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        match rest[start..].find('}') {
            Some(end) => {
                out.push_str(&rest[..start]);
                rest = &rest[start + end + 1..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    // A reference alone after `?`/`&`/`;` leaves an empty parameter; drop the separator.
    out.trim_end_matches(['?', '&', ';'])
        .replace("?&", "?")
        .replace("&&", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_examples_parse() {
        let c =
            ConnectionString::parse("mysql://jdbc:mysql://mysql1.host:3306/db?${Test/RDS/MySql1}")
                .unwrap();
        assert_eq!(c.engine(), Engine::MySql);
        assert_eq!(c.secret.as_deref(), Some("Test/RDS/MySql1"));
        let Target::Server(u) = &c.target else {
            panic!()
        };
        assert_eq!(
            (u.host.as_str(), u.database.as_deref()),
            ("mysql1.host", Some("db"))
        );
        assert!(u.params.is_empty());

        let c = ConnectionString::parse(
            "postgres://jdbc:postgresql://pg.host:5432/db?sslmode=require&${pgsecret}",
        )
        .unwrap();
        assert_eq!(c.secret.as_deref(), Some("pgsecret"));
        let c =
            ConnectionString::parse("oracle://jdbc:oracle:thin:${orasecret}@//ora.host:1521/ORCL")
                .unwrap();
        assert_eq!(
            (c.engine(), c.secret.as_deref()),
            (Engine::Oracle, Some("orasecret"))
        );
        let c = ConnectionString::parse(
            "sqlserver://jdbc:sqlserver://ms.host:1433;databaseName=db;${mssecret}",
        )
        .unwrap();
        let Target::Server(u) = &c.target else {
            panic!()
        };
        assert_eq!(
            (u.database.as_deref(), c.secret.as_deref()),
            (Some("db"), Some("mssecret"))
        );
        let c = ConnectionString::parse("mysql://jdbc:mysql://h/db?${arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf}").unwrap();
        assert_eq!(
            c.secret.as_deref(),
            Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf")
        );
        assert_eq!(
            ConnectionString::parse("sqlite://demo.db").unwrap().target,
            Target::Sqlite("demo.db".into())
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(matches!(
            ConnectionString::parse("jdbc:mysql://h/db"),
            Err(ConnectionStringError::Shape(_))
        ));
        assert_eq!(
            ConnectionString::parse("db2://jdbc:db2://h/x").unwrap_err().to_string(),
            "unknown engine \"db2\" in connection string (expected postgres, mysql, mariadb, sqlserver, oracle or sqlite)"
        );
        assert_eq!(
            ConnectionString::parse("mysql://jdbc:postgresql://h/db").unwrap_err(),
            ConnectionStringError::EngineMismatch {
                prefix: "mysql".into(),
                url: Engine::Postgres
            }
        );
        let c =
            ConnectionString::parse("postgres://jdbc:postgresql://h/db?user=u&password=hunter2")
                .unwrap();
        assert_eq!(
            c.to_string(),
            "postgres://jdbc:postgresql://h/db?user=u&password=***"
        );
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    /// RDS IAM auth (upstream #721), in upstream PR #3570's form.
    #[test]
    fn iam_auth_takes_a_user_and_nothing_else_as_credentials() {
        for text in [
            "postgres://jdbc:postgresql://pg.c2r.us-east-1.rds.amazonaws.com:5432/db?iamAuth=true&user=reader",
            "mysql://jdbc:mysql://my.c2r.us-east-1.rds.amazonaws.com:3306/db?user=reader&IAMAUTH=TRUE&useSSL=true",
        ] {
            let c = ConnectionString::parse(text).unwrap();
            assert!(c.iam_auth, "{text}");
            assert_eq!(c.secret, None);
            let Target::Server(u) = &c.target else {
                panic!()
            };
            assert!(
                matches!(u.tls, TlsMode::Require),
                "TLS is required where it was only preferred: {text}"
            );
        }
        assert!(
            !ConnectionString::parse("postgres://jdbc:postgresql://h/db?iamAuth=false&${s}")
                .unwrap()
                .iam_auth
        );
        for (text, why) in [
            (
                "postgres://jdbc:postgresql://h/db?iamAuth=true&${s}",
                "cannot be combined with a ${secret}: the token is the password",
            ),
            (
                "postgres://jdbc:postgresql://h/db?iamAuth=true&user=u&password=p",
                "cannot be combined with a password: the token is the password",
            ),
            (
                "postgres://jdbc:postgresql://h/db?iamAuth=true",
                "needs user=<database user> (a user granted rds_iam)",
            ),
            (
                "postgres://jdbc:postgresql://h/db?iamAuth=yes&user=u",
                "is the only other value of iamAuth (false is the default)",
            ),
            (
                "mysql://jdbc:mysql://h/db?iamAuth=true&user=u&useSSL=false",
                "needs TLS: the token is sent as the password (drop sslmode=disable / useSSL=false)",
            ),
            (
                "sqlserver://jdbc:sqlserver://h;databaseName=d;iamAuth=true;user=u",
                "is for PostgreSQL and MySQL/MariaDB on RDS or Aurora",
            ),
        ] {
            assert_eq!(
                ConnectionString::parse(text).unwrap_err().to_string(),
                format!("iamAuth=true {why}"),
                "{text}"
            );
        }
    }
}
