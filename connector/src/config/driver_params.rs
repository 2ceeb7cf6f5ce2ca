//! The JDBC URL parameters a connection string may carry, and what each does here: passed to
//! the driver with the JDBC driver's meaning (and units), accepted with no effect (with a
//! warning saying why), or refused with an error naming it. None is silently ignored.
//!
//! [`PARAMETERS`] is the one list; the README's "JDBC URL parameters" table is checked
//! against it.

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;

use super::{Engine, UrlError};

/// What the connection string's parameters ask of each connection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DriverOptions {
    /// `connectTimeout` / `loginTimeout`: the longest a new connection may take.
    pub connect_timeout: Option<Duration>,
    /// `socketTimeout`: the longest the server may stay silent; here the cap of every
    /// statement's timeout (the server cancels it, and the connection stays usable).
    pub socket_timeout: Option<Duration>,
    /// `sslrootcert` (PostgreSQL), `serverSslCert` (MariaDB): the CA certificate file.
    pub ssl_root_cert: Option<PathBuf>,
    /// `sslcert` / `sslkey`: a client certificate and its key (PEM files).
    pub ssl_cert: Option<PathBuf>,
    pub ssl_key: Option<PathBuf>,
    /// `sslfactory=org.postgresql.ssl.NonValidatingFactory`: TLS without certificate checks.
    pub ssl_no_verify: bool,
    /// `ApplicationName` (PostgreSQL): shown in `pg_stat_activity`.
    pub application_name: Option<String>,
    /// `currentSchema` (PostgreSQL): the session's `search_path` (passthrough queries).
    pub current_schema: Option<String>,
    /// `zeroDateTimeBehavior` (MySQL): what a zero date reads as.
    pub zero_dates: ZeroDates,
}

/// MySQL's `0000-00-00` (and dates with a zero month or day), which are not calendar dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZeroDates {
    /// NULL (`convertToNull`; our default, where Connector/J's is `exception`).
    #[default]
    Null,
    /// The read fails, naming the column (`exception`).
    Error,
    /// The nearest date, `0001-01-01` (`round`).
    Round,
}

/// How a parameter is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Read while the URL is parsed (credentials, TLS, `iamAuth`).
    Url,
    /// Passed to the driver with the JDBC driver's meaning.
    Applied,
    /// Accepted; changes nothing here, for the reason given (logged as a warning).
    NoEffect(&'static str),
}

/// One parameter a connection string may carry.
#[derive(Debug, Clone, Copy)]
pub struct Parameter {
    pub name: &'static str,
    pub engines: &'static [Engine],
    pub handling: Handling,
}

const PG: &[Engine] = &[Engine::Postgres];
const MY: &[Engine] = &[Engine::MySql];
const BOTH: &[Engine] = &[Engine::Postgres, Engine::MySql];
const MS: &[Engine] = &[Engine::SqlServer];
const ALL: &[Engine] = &[Engine::Postgres, Engine::MySql, Engine::SqlServer];

const fn p(name: &'static str, engines: &'static [Engine], handling: Handling) -> Parameter {
    Parameter {
        name,
        engines,
        handling,
    }
}

const NO_PREPARE: Handling =
    Handling::NoEffect("every read is one statement; there is no statement cache to tune");
const STREAMED: Handling = Handling::NoEffect("rows are always streamed, never fetched whole");
const NO_WRITES: Handling = Handling::NoEffect("the connector never writes");
const KEEPALIVE: Handling = Handling::NoEffect(
    "connections are closed after 60 s idle (120 s by the server), before a keepalive would matter",
);
const LOGGING: Handling = Handling::NoEffect("the connector logs through its own RUST_LOG");

/// Every parameter a PostgreSQL, MySQL/MariaDB or SQL Server connection string may carry.
pub const PARAMETERS: &[Parameter] = &[
    // Read while the URL is parsed.
    p("user", BOTH, Handling::Url),
    p("password", BOTH, Handling::Url),
    p("iamAuth", BOTH, Handling::Url),
    p("sslmode", BOTH, Handling::Url),
    p("ssl", BOTH, Handling::Url),
    p("useSSL", MY, Handling::Url),
    p("requireSSL", MY, Handling::Url),
    p("verifyServerCertificate", MY, Handling::Url),
    p("trustServerCertificate", MY, Handling::Url),
    p("user", MS, Handling::Url),
    p("password", MS, Handling::Url),
    p("encrypt", MS, Handling::Url),
    p("databaseName", MS, Handling::Url),
    p("database", MS, Handling::Url),
    // Passed to the driver.
    p("connectTimeout", BOTH, Handling::Applied),
    p("loginTimeout", PG, Handling::Applied),
    p("socketTimeout", ALL, Handling::Applied),
    p("loginTimeout", MS, Handling::Applied),
    p("trustServerCertificate", MS, Handling::Applied),
    p("hostNameInCertificate", MS, Handling::Applied),
    p("instanceName", MS, Handling::Applied),
    p("applicationName", MS, Handling::Applied),
    p("applicationIntent", MS, Handling::Applied),
    p("sslrootcert", PG, Handling::Applied),
    p("sslcert", PG, Handling::Applied),
    p("sslkey", PG, Handling::Applied),
    p("sslfactory", PG, Handling::Applied),
    p("serverSslCert", MY, Handling::Applied),
    p("ApplicationName", PG, Handling::Applied),
    p("currentSchema", PG, Handling::Applied),
    p("zeroDateTimeBehavior", MY, Handling::Applied),
    // Accepted, no effect here.
    p("tcpKeepAlive", BOTH, KEEPALIVE),
    p("readOnly", PG, Handling::NoEffect("every read already runs read-only")),
    p("prepareThreshold", PG, NO_PREPARE),
    p("preparedStatementCacheQueries", PG, NO_PREPARE),
    p("preparedStatementCacheSizeMiB", PG, NO_PREPARE),
    p("cachePrepStmts", MY, NO_PREPARE),
    p("useServerPrepStmts", MY, NO_PREPARE),
    p("prepStmtCacheSize", MY, NO_PREPARE),
    p("prepStmtCacheSqlLimit", MY, NO_PREPARE),
    p("defaultRowFetchSize", PG, STREAMED),
    p("useCursorFetch", MY, STREAMED),
    p("defaultFetchSize", MY, STREAMED),
    p("binaryTransfer", PG, Handling::NoEffect("rows are always read in binary (COPY BINARY)")),
    p("reWriteBatchedInserts", PG, NO_WRITES),
    p("rewriteBatchedStatements", MY, NO_WRITES),
    p("assumeMinServerVersion", PG, Handling::NoEffect("the server version is read at connect")),
    p("loggerLevel", PG, LOGGING),
    p("loggerFile", PG, LOGGING),
    p("databaseTerm", BOTH, Handling::NoEffect("schemas are always schemas (MySQL: databases)")),
    p("serverTimezone", MY, Handling::NoEffect(
        "the session's time_zone is set to UTC, so TIMESTAMP values are exact instants whatever the server's zone",
    )),
    p("connectionTimeZone", MY, Handling::NoEffect(
        "the session's time_zone is set to UTC, so TIMESTAMP values are exact instants whatever the server's zone",
    )),
    p("useLegacyDatetimeCode", MY, Handling::NoEffect(
        "DATETIME keeps its wall clock and TIMESTAMP its instant, without time-zone shifts",
    )),
    p("useUnicode", MY, Handling::NoEffect("the connection always uses utf8mb4")),
    p("characterEncoding", MY, Handling::NoEffect("the connection always uses utf8mb4")),
    p("autoReconnect", MY, Handling::NoEffect(
        "a lost connection is replaced by the pool; a failed read fails its split, which Athena retries",
    )),
    p("sendStringParametersAsUnicode", MS, Handling::NoEffect(
        "values are bound as typed parameters (strings as nvarchar); columns are compared with a binary collation",
    )),
    p("selectMethod", MS, STREAMED),
    p("responseBuffering", MS, STREAMED),
    p("multiSubnetFailover", MS, Handling::NoEffect(
        "the listener's address is connected to as given; a failed connection fails its split, which Athena retries",
    )),
    p("lastUpdateCount", MS, NO_WRITES),
    p("allowPublicKeyRetrieval", MY, Handling::NoEffect(
        "the server's RSA key is requested when caching_sha2_password needs it without TLS",
    )),
];

/// Parameters accepted with no effect, each with its reason (for a warning).
pub type NoEffect = Vec<(String, &'static str)>;

/// The parameter named `name` (case-insensitively) for `engine`.
pub fn parameter(engine: Engine, name: &str) -> Option<&'static Parameter> {
    PARAMETERS
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name) && p.engines.contains(&engine))
}

impl DriverOptions {
    /// Reads the parameters left after URL parsing. Unknown ones are refused; the ones with no
    /// effect are returned with their reason, for a warning.
    pub fn from_params(
        engine: Engine,
        params: &IndexMap<String, String>,
    ) -> Result<(DriverOptions, NoEffect), UrlError> {
        let mut options = DriverOptions::default();
        let mut no_effect = Vec::new();
        // Oracle's URL parameters are not read by name yet: they are kept as written
        // (README "Oracle").
        if engine == Engine::Oracle {
            return Ok((options, no_effect));
        }
        let bad = |name: &str, value: &str, expected: &'static str| UrlError::ParamValue {
            name: name.to_owned(),
            value: value.to_owned(),
            expected,
        };
        // pgjdbc counts timeouts in seconds, Connector/J and MariaDB in milliseconds,
        // mssql-jdbc its login timeout in seconds and its socket timeout in milliseconds.
        let duration = |name: &str, value: &str| -> Result<Option<Duration>, UrlError> {
            let n: u64 = value
                .parse()
                .map_err(|_| bad(name, value, "a non-negative integer"))?;
            let seconds = engine == Engine::Postgres
                || (engine == Engine::SqlServer && name.eq_ignore_ascii_case("loginTimeout"));
            Ok((n > 0).then(|| match seconds {
                true => Duration::from_secs(n),
                false => Duration::from_millis(n),
            }))
        };
        for (name, value) in params {
            let Some(param) = parameter(engine, name) else {
                return Err(UrlError::UnknownParam {
                    name: name.clone(),
                    engine,
                });
            };
            match param.name {
                "connectTimeout" | "loginTimeout" => {
                    options.connect_timeout = duration(name, value)?;
                }
                "socketTimeout" => options.socket_timeout = duration(name, value)?,
                "sslrootcert" | "serverSslCert" => options.ssl_root_cert = Some(value.into()),
                "sslcert" => options.ssl_cert = Some(value.into()),
                "sslkey" => options.ssl_key = Some(value.into()),
                "sslfactory" => {
                    if value != "org.postgresql.ssl.NonValidatingFactory" {
                        return Err(bad(
                            name,
                            value,
                            "org.postgresql.ssl.NonValidatingFactory (other factories are Java classes; use sslmode and sslrootcert)",
                        ));
                    }
                    options.ssl_no_verify = true;
                }
                "ApplicationName" | "applicationName" => {
                    options.application_name = Some(value.clone())
                }
                "applicationIntent" => {
                    if !["ReadOnly", "ReadWrite"]
                        .iter()
                        .any(|v| v.eq_ignore_ascii_case(value))
                    {
                        return Err(bad(name, value, "ReadOnly or ReadWrite"));
                    }
                }
                "currentSchema" => options.current_schema = Some(value.clone()),
                "zeroDateTimeBehavior" => {
                    options.zero_dates = match value.to_ascii_lowercase().replace('_', "").as_str()
                    {
                        "converttonull" => ZeroDates::Null,
                        "exception" => ZeroDates::Error,
                        "round" => ZeroDates::Round,
                        _ => return Err(bad(name, value, "convertToNull, exception or round")),
                    }
                }
                // `iamAuth` is read by the connection string, beside the URL.
                "iamAuth" => {}
                _ => match param.handling {
                    Handling::NoEffect(why) => no_effect.push((param.name.to_owned(), why)),
                    Handling::Url | Handling::Applied => {}
                },
            }
        }
        Ok((options, no_effect))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        engine: Engine,
        params: &[(&str, &str)],
    ) -> Result<(DriverOptions, NoEffect), UrlError> {
        let params = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        DriverOptions::from_params(engine, &params)
    }

    #[test]
    fn timeouts_keep_each_drivers_units() {
        let (pg, _) = read(
            Engine::Postgres,
            &[("connectTimeout", "5"), ("socketTimeout", "30")],
        )
        .unwrap();
        assert_eq!(pg.connect_timeout, Some(Duration::from_secs(5)));
        assert_eq!(pg.socket_timeout, Some(Duration::from_secs(30)));
        let (my, _) = read(
            Engine::MySql,
            &[("connecttimeout", "5000"), ("socketTimeout", "0")],
        )
        .unwrap();
        assert_eq!(my.connect_timeout, Some(Duration::from_secs(5)));
        assert_eq!(
            my.socket_timeout, None,
            "0 is no timeout, as in the drivers"
        );
        assert_eq!(
            read(Engine::Postgres, &[("connectTimeout", "soon")])
                .unwrap_err()
                .to_string(),
            "invalid value \"soon\" for parameter connectTimeout: expected a non-negative integer"
        );
    }

    #[test]
    fn unknown_parameters_are_refused_by_name_and_inert_ones_reported() {
        assert_eq!(
            read(Engine::Postgres, &[("targetServerType", "primary")])
                .unwrap_err()
                .to_string(),
            "parameter targetServerType is not supported for postgres connection strings (the README's \"JDBC URL parameters\" lists those that are)"
        );
        // A MySQL parameter is unknown to PostgreSQL.
        assert!(read(Engine::Postgres, &[("zeroDateTimeBehavior", "round")]).is_err());
        let (_, inert) = read(
            Engine::MySql,
            &[("serverTimezone", "UTC"), ("useUnicode", "true")],
        )
        .unwrap();
        assert_eq!(
            inert.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["serverTimezone", "useUnicode"]
        );
    }

    #[test]
    fn applied_parameters_reach_the_options() {
        let (pg, inert) = read(
            Engine::Postgres,
            &[
                ("sslrootcert", "/opt/rds-ca.pem"),
                ("sslcert", "/opt/client.pem"),
                ("sslkey", "/opt/client.key"),
                ("ApplicationName", "reports"),
                ("currentSchema", "sales"),
                ("sslfactory", "org.postgresql.ssl.NonValidatingFactory"),
            ],
        )
        .unwrap();
        assert!(inert.is_empty());
        assert_eq!(pg.ssl_root_cert, Some("/opt/rds-ca.pem".into()));
        assert_eq!(pg.ssl_cert, Some("/opt/client.pem".into()));
        assert_eq!(pg.ssl_key, Some("/opt/client.key".into()));
        assert_eq!(pg.application_name.as_deref(), Some("reports"));
        assert_eq!(pg.current_schema.as_deref(), Some("sales"));
        assert!(pg.ssl_no_verify);
        for (value, want) in [
            ("CONVERT_TO_NULL", ZeroDates::Null),
            ("convertToNull", ZeroDates::Null),
            ("exception", ZeroDates::Error),
            ("ROUND", ZeroDates::Round),
        ] {
            let (my, _) = read(Engine::MySql, &[("zeroDateTimeBehavior", value)]).unwrap();
            assert_eq!(my.zero_dates, want, "{value}");
        }
        assert!(read(Engine::MySql, &[("zeroDateTimeBehavior", "ignore")]).is_err());
        assert!(read(
            Engine::Postgres,
            &[("sslfactory", "org.postgresql.ssl.DefaultJavaSSLFactory")]
        )
        .is_err());
    }
}
