//! JDBC URLs of the four engines, in every form Glue and the official connectors accept,
//! plus `sqlite://PATH` for the embedded engine. Also used by provisioning.

use std::fmt;

use indexmap::IndexMap;
use percent_encoding::percent_decode_str;

/// A database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    Postgres,
    MySql,
    SqlServer,
    Oracle,
    Sqlite,
}

impl Engine {
    pub fn default_port(self) -> Option<u16> {
        match self {
            Engine::Postgres => Some(5432),
            Engine::MySql => Some(3306),
            Engine::SqlServer => Some(1433),
            Engine::Oracle => Some(1521),
            Engine::Sqlite => None,
        }
    }

    /// The name used as connection-string prefix and Ping `sourceType`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::MySql => "mysql",
            Engine::SqlServer => "sqlserver",
            Engine::Oracle => "oracle",
            Engine::Sqlite => "sqlite",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A password that never reaches a log line or error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(p: impl Into<String>) -> Password {
        Password(p.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How to use TLS, mapped from `sslmode` / `useSSL` / `sslMode` / `encrypt` parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    Disable,
    /// TLS if the server offers it (the drivers' default).
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// A parsed JDBC URL (secret references already removed).
#[derive(Debug, Clone, PartialEq)]
pub struct JdbcUrl {
    pub engine: Engine,
    /// Host name or address; IPv6 without brackets. For SQLite: the file path.
    pub host: String,
    pub port: Option<u16>,
    /// Database (PostgreSQL, MySQL, SQL Server) or service name / SID (Oracle).
    pub database: Option<String>,
    pub user: Option<String>,
    pub password: Option<Password>,
    pub tls: TlsMode,
    /// Remaining parameters, as written.
    pub params: IndexMap<String, String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Clone)]
pub enum UrlError {
    #[error("unsupported JDBC URL (expected jdbc:postgresql://, jdbc:mysql://, jdbc:mariadb://, jdbc:sqlserver:// or jdbc:oracle:thin:@...): {0}")]
    Unsupported(String),
    #[error("JDBC URL has no host: {0}")]
    NoHost(String),
    #[error("invalid port \"{port}\" in JDBC URL {url}")]
    Port { port: String, url: String },
    #[error("invalid value \"{value}\" for parameter {name}")]
    Param { name: String, value: String },
    #[error("invalid value \"{value}\" for parameter {name}: expected {expected}")]
    ParamValue {
        name: String,
        value: String,
        expected: &'static str,
    },
    #[error("parameter {name} is not supported for {engine} connection strings (the README's \"JDBC URL parameters\" lists those that are)")]
    UnknownParam { name: String, engine: Engine },
}

impl JdbcUrl {
    pub fn port_or_default(&self) -> u16 {
        self.port.or(self.engine.default_port()).unwrap_or(0)
    }

    /// Parses a JDBC URL. Credentials embedded as parameters (`user`, `password`) are
    /// taken out of `params`. The URL text is never echoed in errors when it may hold a
    /// password: callers pass [`redact`]ed text to error messages.
    pub fn parse(url: &str) -> Result<JdbcUrl, UrlError> {
        let shown = redact(url);
        let lower = url.to_ascii_lowercase();
        if let Some(rest) = strip(&lower, url, "jdbc:postgresql://") {
            Self::parse_slash_style(Engine::Postgres, rest, '?', '&', &shown)
        } else if let Some(rest) =
            strip(&lower, url, "jdbc:mysql://").or_else(|| strip(&lower, url, "jdbc:mariadb://"))
        {
            Self::parse_slash_style(Engine::MySql, rest, '?', '&', &shown)
        } else if let Some(rest) = strip(&lower, url, "jdbc:sqlserver://") {
            Self::parse_sqlserver(rest, &shown)
        } else if let Some(rest) = strip(&lower, url, "jdbc:oracle:thin:") {
            Self::parse_oracle(rest, &shown)
        } else {
            Err(UrlError::Unsupported(shown))
        }
    }

    /// `host[:port][/database][?k=v&k=v]` (PostgreSQL, MySQL).
    fn parse_slash_style(
        engine: Engine,
        rest: &str,
        query: char,
        sep: char,
        shown: &str,
    ) -> Result<JdbcUrl, UrlError> {
        let (location, params) = rest.split_once(query).unwrap_or((rest, ""));
        // `user:password@host` (Connector/J, libpq URIs), percent-encoded; a password
        // holding an unencoded `/` still ends at the last `@`.
        let (userinfo, location) = match location.rsplit_once('@') {
            Some((u, l)) => (Some(u), l),
            None => (None, location),
        };
        let (authority, database) = location.split_once('/').unwrap_or((location, ""));
        // Multi-host URLs (failover lists): the first host is the primary.
        let authority = authority.split(',').next().unwrap_or_default();
        let (host, port) = host_port(authority, shown)?;
        let mut url = JdbcUrl {
            engine,
            host,
            port,
            database: non_empty(database),
            user: None,
            password: None,
            tls: TlsMode::default(),
            params: parse_params(params, sep),
        };
        url.take_common_params()?;
        if let Some(info) = userinfo {
            let decode = |t: &str| percent_decode_str(t).decode_utf8_lossy().into_owned();
            let (user, password) = match info.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (info, None),
            };
            // Parameters, where also given, win (as in Connector/J).
            if url.user.is_none() {
                url.user = non_empty(&decode(user));
            }
            if url.password.is_none() {
                url.password = password.map(|p| Password::new(decode(p)));
            }
        }
        Ok(url)
    }

    /// `host[\instance][:port][;databaseName=db;k=v...]`.
    fn parse_sqlserver(rest: &str, shown: &str) -> Result<JdbcUrl, UrlError> {
        let (authority, params) = rest.split_once(';').unwrap_or((rest, ""));
        let mut params = parse_braced_params(params);
        let (authority, instance) = match authority.split_once('\\') {
            Some((h, i)) => (h.to_owned(), Some(i.to_owned())),
            None => (authority.to_owned(), None),
        };
        // `host\instance:port` keeps the port after the instance.
        let (authority, instance) = match instance {
            Some(i) => match i.split_once(':') {
                Some((name, port)) => (format!("{authority}:{port}"), Some(name.to_owned())),
                None => (authority, Some(i)),
            },
            None => (authority, None),
        };
        let (host, port) = host_port(&authority, shown)?;
        if let Some(i) = instance {
            params.insert("instanceName".into(), i);
        }
        let database = ["databaseName", "database"]
            .iter()
            .find_map(|k| take_ci(&mut params, k));
        let mut url = JdbcUrl {
            engine: Engine::SqlServer,
            host,
            port,
            database,
            user: None,
            password: None,
            tls: TlsMode::default(),
            params,
        };
        // mssql-jdbc verifies the certificate unless told to trust it: kept for the driver.
        let trust = url
            .params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("trustServerCertificate"))
            .is_some_and(|(_, v)| v.eq_ignore_ascii_case("true"));
        url.take_common_params()?;
        if trust {
            url.params
                .insert("trustServerCertificate".into(), "true".into());
        }
        Ok(url)
    }

    /// `[user/password]@//host:port/service`, `@host:port:SID`, `@host:port/service`,
    /// and `@tcps://host:port/service`.
    fn parse_oracle(rest: &str, shown: &str) -> Result<JdbcUrl, UrlError> {
        let (creds, target) = rest
            .rsplit_once('@')
            .ok_or_else(|| UrlError::NoHost(shown.to_owned()))?;
        let (user, password) = match creds.split_once('/') {
            Some((u, p)) if !u.is_empty() => (Some(u.to_owned()), Some(Password::new(p))),
            _ => (None, None),
        };
        // A TNS descriptor, `(DESCRIPTION=…)`, is passed to the client as written.
        if target.trim_start().starts_with('(') {
            let host = descriptor_value(target, "HOST").unwrap_or_default();
            let tls = match descriptor_value(target, "PROTOCOL") {
                Some(p) if p.eq_ignore_ascii_case("tcps") => TlsMode::VerifyFull,
                _ => TlsMode::Disable,
            };
            return Ok(JdbcUrl {
                engine: Engine::Oracle,
                port: descriptor_value(target, "PORT").and_then(|p| p.parse().ok()),
                host,
                database: descriptor_value(target, "SERVICE_NAME")
                    .or_else(|| descriptor_value(target, "SID")),
                user,
                password,
                tls,
                params: IndexMap::from([(ORACLE_DESCRIPTOR.to_owned(), target.trim().to_owned())]),
            });
        }
        let (tls, target) = if let Some(t) = target.strip_prefix("tcps://") {
            (TlsMode::VerifyFull, t)
        } else {
            (
                TlsMode::Disable,
                target.strip_prefix("//").unwrap_or(target),
            )
        };
        let (target, params) = target.split_once('?').unwrap_or((target, ""));
        // host:port/service or host:port:SID
        let mut params = parse_params(params, '&');
        let (authority, database) = match target.split_once('/') {
            Some((a, d)) => (a.to_owned(), non_empty(d)),
            None => {
                // host:port:SID; mind IPv6 brackets.
                match target
                    .rfind(':')
                    .filter(|i| !target[..*i].ends_with(']') && target[..*i].contains(':'))
                {
                    Some(i) => {
                        params.insert(ORACLE_SID.to_owned(), "true".to_owned());
                        (target[..i].to_owned(), non_empty(&target[i + 1..]))
                    }
                    None => (target.to_owned(), None),
                }
            }
        };
        let (host, port) = host_port(&authority, shown)?;
        Ok(JdbcUrl {
            engine: Engine::Oracle,
            host,
            port,
            database,
            user,
            password,
            tls,
            params,
        })
    }

    /// `user`/`password` and the TLS parameters of every driver.
    fn take_common_params(&mut self) -> Result<(), UrlError> {
        if let Some(u) = take_ci(&mut self.params, "user") {
            self.user = Some(u);
        }
        if let Some(p) = take_ci(&mut self.params, "password") {
            self.password = Some(Password::new(p));
        }
        let bad = |name: &str, value: &str| UrlError::Param {
            name: name.to_owned(),
            value: value.to_owned(),
        };
        if let Some(v) = take_ci(&mut self.params, "sslmode") {
            self.tls = match v.to_ascii_lowercase().replace('_', "-").as_str() {
                "disable" | "disabled" => TlsMode::Disable,
                "allow" | "prefer" | "preferred" => TlsMode::Prefer,
                "require" | "required" => TlsMode::Require,
                "verify-ca" => TlsMode::VerifyCa,
                "verify-full" | "verify-identity" => TlsMode::VerifyFull,
                _ => return Err(bad("sslmode", &v)),
            };
        }
        for key in ["useSSL", "ssl", "encrypt", "requireSSL"] {
            if let Some(v) = take_ci(&mut self.params, key) {
                match v.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "strict" | "mandatory" => {
                        if self.tls < TlsMode::Require {
                            self.tls = TlsMode::Require;
                        }
                    }
                    "false" | "0" | "no" | "optional" => {
                        if key != "requireSSL" {
                            self.tls = TlsMode::Disable;
                        }
                    }
                    _ => return Err(bad(key, &v)),
                }
            }
        }
        if let Some(v) = take_ci(&mut self.params, "verifyServerCertificate") {
            if v.eq_ignore_ascii_case("true") && self.tls >= TlsMode::Require {
                self.tls = TlsMode::VerifyCa;
            }
        }
        if let Some(v) = take_ci(&mut self.params, "trustServerCertificate") {
            if v.eq_ignore_ascii_case("false") && self.tls >= TlsMode::Require {
                self.tls = TlsMode::VerifyFull;
            }
        }
        Ok(())
    }
}

impl PartialOrd for TlsMode {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some((*self as u8).cmp(&(*other as u8)))
    }
}

fn strip<'a>(lower: &str, original: &'a str, prefix: &str) -> Option<&'a str> {
    lower.starts_with(prefix).then(|| &original[prefix.len()..])
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn parse_params(text: &str, sep: char) -> IndexMap<String, String> {
    text.split(sep)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_owned(), v.trim().to_owned()),
            None => (p.trim().to_owned(), String::new()),
        })
        .collect()
}

/// The parameter an Oracle URL written as a TNS descriptor keeps it in (the client reads
/// the descriptor itself).
pub const ORACLE_DESCRIPTOR: &str = "(descriptor)";
/// The parameter marking an Oracle URL's database as a SID (`host:port:SID`), not a service.
pub const ORACLE_SID: &str = "(sid)";

/// `KEY=value` inside a TNS descriptor, the first one.
fn descriptor_value(descriptor: &str, key: &str) -> Option<String> {
    let upper = descriptor.to_ascii_uppercase();
    let at = upper.find(&format!("({key}="))? + key.len() + 2;
    let end = descriptor[at..].find(')')? + at;
    Some(descriptor[at..end].trim().to_owned())
}

/// mssql-jdbc's `k=v;k={v;with;semicolons}` (a `}` inside braces written `}}`).
fn parse_braced_params(text: &str) -> IndexMap<String, String> {
    let mut params = IndexMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = match rest.split_once('=') {
            Some((k, a)) if !k.contains(';') => (k, a),
            _ => {
                let (item, next) = rest.split_once(';').unwrap_or((rest, ""));
                if !item.trim().is_empty() {
                    params.insert(item.trim().to_owned(), String::new());
                }
                rest = next;
                continue;
            }
        };
        let (value, next) = match braced_value(after) {
            Some((v, used)) => (
                v,
                after[used..]
                    .trim_start()
                    .strip_prefix(';')
                    .unwrap_or(&after[used..]),
            ),
            None => {
                let (v, n) = after.split_once(';').unwrap_or((after, ""));
                (v.trim().to_owned(), n)
            }
        };
        params.insert(key.trim().to_owned(), value);
        rest = next;
    }
    params
}

/// A value `{…}` at the start of `text` (after blanks): the value and the bytes it used.
fn braced_value(text: &str) -> Option<(String, usize)> {
    let start = text.len() - text.trim_start().len();
    let body = text[start..].strip_prefix('{')?;
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '}' {
            if chars.peek().is_some_and(|(_, n)| *n == '}') {
                chars.next();
                value.push('}');
                continue;
            }
            return Some((value, start + 1 + i + 1));
        }
        value.push(c);
    }
    None
}

/// Removes a parameter, matching its name case-insensitively.
fn take_ci(params: &mut IndexMap<String, String>, name: &str) -> Option<String> {
    let key = params
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))?
        .clone();
    params.shift_remove(&key)
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn host_port(authority: &str, shown: &str) -> Result<(String, Option<u16>), UrlError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| UrlError::NoHost(shown.to_owned()))?;
        (host, after.strip_prefix(':'))
    } else if authority.matches(':').count() > 1 {
        // A bare IPv6 address without brackets has no port.
        (authority, None)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::NoHost(shown.to_owned()));
    }
    let port = match port.filter(|p| !p.is_empty()) {
        Some(p) => Some(p.parse().map_err(|_| UrlError::Port {
            port: p.to_owned(),
            url: shown.to_owned(),
        })?),
        None => None,
    };
    Ok((host.to_owned(), port))
}

/// The URL with password values replaced, for messages: `password=` (also `password1=` …
/// `password3=`, Connector/J's multi-factor forms, and any `…password=` key), the password of
/// `//user:password@host`, and Oracle's `user/password@`.
pub fn redact(url: &str) -> String {
    // ASCII lower-casing keeps byte offsets, so positions found in `lower` index `url`.
    let lower = url.to_ascii_lowercase();
    let mut out = String::with_capacity(url.len());
    let mut done = 0;
    let mut from = 0;
    while let Some(i) = lower[from..].find("password").map(|i| from + i) {
        // The value starts after `password`, an optional digit and `=`.
        let after = &lower[i + 8..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        from = i + 8 + digits;
        if after.as_bytes().get(digits) != Some(&b'=') {
            continue;
        }
        let value = from + 1;
        let end = match braced_value(&url[value..]) {
            Some((_, used)) => value + used,
            None => url[value..]
                .find(['&', ';'])
                .map_or(url.len(), |e| value + e),
        };
        out.push_str(&url[done..value]);
        out.push_str("***");
        done = end;
        from = end;
    }
    out.push_str(&url[done..]);
    // `scheme://user:password@host` (after the innermost `://`: a connection string nests
    // the JDBC URL): the user-info ends at the last `@` before the parameters, as the
    // parser reads it.
    let mut from = 0;
    while let Some(start) = out[from..].find("://").map(|i| from + i + 3) {
        let stop = out[start..]
            .find(['?', ';'])
            .map_or(out.len(), |e| start + e);
        if let Some(at) = out[start..stop].rfind('@').map(|a| start + a) {
            let info = &out[start..at];
            if !info.contains("://") {
                if let Some(colon) = info.find(':').map(|c| start + c) {
                    out.replace_range(colon + 1..at, "***");
                }
            }
        }
        from = start;
    }
    if let Some(thin) = out.find("thin:") {
        if let Some(at) = out[thin..].find('@') {
            let creds = &out[thin + 5..thin + at];
            if let Some((user, _)) = creds.split_once('/') {
                let replaced = format!("{user}/***");
                out.replace_range(thin + 5..thin + at, &replaced);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(u: &str) -> JdbcUrl {
        JdbcUrl::parse(u).unwrap_or_else(|e| panic!("{u}: {e}"))
    }

    #[test]
    fn postgres_and_mysql_forms() {
        let u = parse(
            "jdbc:postgresql://pg.example.com:6543/sales?sslmode=verify-full&ApplicationName=x",
        );
        assert_eq!(
            (u.engine, u.host.as_str(), u.port, u.database.as_deref()),
            (
                Engine::Postgres,
                "pg.example.com",
                Some(6543),
                Some("sales")
            )
        );
        assert_eq!(u.tls, TlsMode::VerifyFull);
        assert_eq!(
            u.params.get("ApplicationName").map(String::as_str),
            Some("x")
        );
        let u = parse("jdbc:postgresql://[2001:db8::1]/db");
        assert_eq!(
            (u.host.as_str(), u.port_or_default()),
            ("2001:db8::1", 5432)
        );
        let u = parse("jdbc:mysql://h1,h2:3307/shop?useSSL=true&user=app&password=s3cret");
        assert_eq!(
            (u.host.as_str(), u.port, u.user.as_deref()),
            ("h1", None, Some("app"))
        );
        assert_eq!(u.password.as_ref().map(Password::expose), Some("s3cret"));
        assert_eq!(u.tls, TlsMode::Require);
        assert!(!format!("{u:?}").contains("s3cret"));
        let u = parse("jdbc:mariadb://[::1]:3306/x?sslMode=DISABLED");
        assert_eq!(
            (u.engine, u.host.as_str(), u.port, u.tls),
            (Engine::MySql, "::1", Some(3306), TlsMode::Disable)
        );
        assert_eq!(parse("jdbc:mysql://db/").database, None);
    }

    #[test]
    fn sqlserver_forms() {
        let u = parse("jdbc:sqlserver://ms.example.com:1433;databaseName=sales;encrypt=true;trustServerCertificate=false");
        assert_eq!(
            (u.host.as_str(), u.port, u.database.as_deref(), u.tls),
            (
                "ms.example.com",
                Some(1433),
                Some("sales"),
                TlsMode::VerifyFull
            )
        );
        let u = parse("jdbc:sqlserver://ms\\SQLEXPRESS;database=db");
        assert_eq!((u.host.as_str(), u.port_or_default()), ("ms", 1433));
        assert_eq!(u.params["instanceName"], "SQLEXPRESS");
        let u = parse("jdbc:sqlserver://h;databaseName=d;user=sa;password={a;b}}c};encrypt=false");
        assert_eq!(u.password.as_ref().map(|p| p.expose()), Some("a;b}c"));
        assert_eq!((u.user.as_deref(), u.tls), (Some("sa"), TlsMode::Disable));
        assert_eq!(
            redact("jdbc:sqlserver://h;password={a;b}}c};encrypt=false"),
            "jdbc:sqlserver://h;password=***;encrypt=false"
        );
        let u = parse("jdbc:sqlserver://[fe80::1]:1533;databaseName=d");
        assert_eq!((u.host.as_str(), u.port), ("fe80::1", Some(1533)));
    }

    #[test]
    fn oracle_forms() {
        let u = parse("jdbc:oracle:thin:@//ora.example.com:1521/ORCLPDB1");
        assert_eq!(
            (u.host.as_str(), u.port, u.database.as_deref(), u.tls),
            (
                "ora.example.com",
                Some(1521),
                Some("ORCLPDB1"),
                TlsMode::Disable
            )
        );
        let u = parse("jdbc:oracle:thin:@ora:1522:ORCL");
        assert_eq!(
            (u.host.as_str(), u.port, u.database.as_deref()),
            ("ora", Some(1522), Some("ORCL"))
        );
        let u = parse("jdbc:oracle:thin:scott/tiger@tcps://ora:2484/svc");
        assert_eq!(
            (u.user.as_deref(), u.tls, u.port),
            (Some("scott"), TlsMode::VerifyFull, Some(2484))
        );
        let u = parse("jdbc:oracle:thin:@//[2001:db8::5]:1521/svc");
        assert_eq!(u.host, "2001:db8::5");
        assert_eq!(parse("jdbc:oracle:thin:@ora/svc").port_or_default(), 1521);
        assert!(parse("jdbc:oracle:thin:@ora:1522:ORCL")
            .params
            .contains_key(ORACLE_SID));
        let u = parse("jdbc:oracle:thin:@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCPS)(HOST=ora.example.com)(PORT=2484))(CONNECT_DATA=(SERVICE_NAME=svc)))");
        assert_eq!(
            (u.host.as_str(), u.port, u.database.as_deref(), u.tls),
            (
                "ora.example.com",
                Some(2484),
                Some("svc"),
                TlsMode::VerifyFull
            )
        );
        assert!(u.params[ORACLE_DESCRIPTOR].starts_with("(DESCRIPTION="));
    }

    #[test]
    fn errors_never_show_passwords() {
        assert_eq!(
            JdbcUrl::parse("jdbc:db2://h/x?password=p").unwrap_err().to_string(),
            "unsupported JDBC URL (expected jdbc:postgresql://, jdbc:mysql://, jdbc:mariadb://, jdbc:sqlserver:// or jdbc:oracle:thin:@...): jdbc:db2://h/x?password=***"
        );
        let e = JdbcUrl::parse("jdbc:mysql://h:99999/x?password=p&user=u")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid port \"99999\" in JDBC URL jdbc:mysql://h:99999/x?password=***&user=u"
        );
        assert_eq!(
            redact("jdbc:oracle:thin:scott/tiger@//h/s"),
            "jdbc:oracle:thin:scott/***@//h/s"
        );
        // Issue 11 item 9: user-info credentials are parsed, and redacted wherever shown.
        let u = JdbcUrl::parse("jdbc:mysql://app:p%40ss:w0rd@db:3306/x").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.user.as_deref()),
            ("db", Some(3306), Some("app"))
        );
        assert_eq!(u.password.as_ref().map(Password::expose), Some("p@ss:w0rd"));
        let u = JdbcUrl::parse("jdbc:postgresql://app@db/x?password=s").unwrap();
        assert_eq!((u.host.as_str(), u.user.as_deref()), ("db", Some("app")));
        assert_eq!(
            redact("mysql://jdbc:mysql://app:pw@db:3306/x?password2=two&wallet_password=w"),
            "mysql://jdbc:mysql://app:***@db:3306/x?password2=***&wallet_password=***"
        );
        let e = JdbcUrl::parse("jdbc:mysql://app:pw@db:99999/x")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("pw"), "{e}");
        // An unencoded `/` in the password neither splits the URL there nor escapes redaction.
        let u = JdbcUrl::parse("jdbc:mysql://app:pa/ss@db:3306/x").unwrap();
        assert_eq!((u.host.as_str(), u.database.as_deref()), ("db", Some("x")));
        assert_eq!(u.password.as_ref().map(Password::expose), Some("pa/ss"));
        assert_eq!(
            redact("mysql://jdbc:mysql://app:pa/ss@db:3306/x?useSSL=true"),
            "mysql://jdbc:mysql://app:***@db:3306/x?useSSL=true"
        );
        assert!(matches!(
            JdbcUrl::parse("jdbc:postgresql:///db"),
            Err(UrlError::NoHost(_))
        ));
        assert_eq!(
            JdbcUrl::parse("jdbc:postgresql://h/db?sslmode=maybe").unwrap_err(),
            UrlError::Param {
                name: "sslmode".into(),
                value: "maybe".into()
            }
        );
    }
}
