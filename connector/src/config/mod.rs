//! Configuration from the environment, under the official connectors' variable names
//! (SPEC §6.1), and catalog multiplexing (§6.3).

mod casing;
mod connection_string;
mod driver_params;
pub mod glue_connection;
mod jdbc_url;

use std::collections::HashMap;
use std::time::Duration;

pub use casing::{CasingError, CasingMode};
pub use connection_string::{secret_reference, ConnectionString, ConnectionStringError, Target};
pub use driver_params::{parameter, DriverOptions, Handling, Parameter, ZeroDates, PARAMETERS};
pub use jdbc_url::{
    redact, Engine, JdbcUrl, Password, TlsMode, UrlError, ORACLE_DESCRIPTOR, ORACLE_SID,
};

/// The spill prefix when `spill_prefix` is unset (the SDK's default).
pub const DEFAULT_SPILL_PREFIX: &str = "athena-federation-spill";

/// How spilled blocks are encrypted.
#[derive(Debug, Clone, PartialEq)]
pub enum SpillEncryption {
    /// `disable_spill_encryption=true`: splits carry no key.
    Disabled,
    /// A fresh 256-bit key from the OS CSPRNG per split.
    Local,
    /// `kms_key_id`: a KMS data key (AES-128) per split.
    Kms { key_id: String },
}

#[derive(Clone, PartialEq)]
pub struct SpillConfig {
    pub bucket: Option<String>,
    pub prefix: String,
    pub encryption: SpillEncryption,
    /// `MAX_BLOCK_SIZE_BYTES`: overrides the request's `maxBlockSize`.
    pub max_block_size: Option<u64>,
    /// `spill_put_request_headers`: a JSON object of HTTP headers added to every spill
    /// PutObject (e.g. `{"x-amz-server-side-encryption": "aws:kms"}`).
    pub put_request_headers: Vec<(String, String)>,
}

/// Header values are left out: one may carry a key (SSE-C).
impl std::fmt::Debug for SpillConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self
            .put_request_headers
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        f.debug_struct("SpillConfig")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("encryption", &self.encryption)
            .field("max_block_size", &self.max_block_size)
            .field("put_request_headers", &headers)
            .finish()
    }
}

/// Everything the connector reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `default`: the connection string for catalog `default` and `lambda:<function>`.
    pub default: Option<ConnectionString>,
    /// `<catalog>_connection_string`, keyed by lower-cased catalog name.
    pub catalogs: HashMap<String, ConnectionString>,
    /// `AWS_LAMBDA_FUNCTION_NAME`, for the `lambda:<name>` alias.
    pub function_name: Option<String>,
    pub spill: SpillConfig,
    /// `default_scale`: scale of unbounded NUMERIC columns (default 0, as upstream).
    pub default_scale: i8,
    /// `enable_query_passthrough` (default true): advertise `system.query`.
    pub query_passthrough: bool,
    /// `split_target_bytes` (default 128 MiB): tables larger than this are read in ranges.
    pub split_target_bytes: u64,
    /// `secret_cache_ttl_seconds` (default 60, the SDK's cache time).
    pub secret_cache_ttl: Duration,
    /// `splits_per_page` (default 1000): splits per GetSplits response before continuing.
    pub splits_per_page: usize,
    /// `statement_timeout_seconds`: the longest a database statement may run (default: the
    /// time left before the Lambda's deadline, at most 900 s; never beyond the deadline).
    pub statement_timeout: Option<Duration>,
    /// `casing_mode`; unset, each engine's official default ([`CasingMode::default_for`]).
    pub casing_mode: Option<CasingMode>,
    /// `glue_connection`: the configuration came from this Glue connection.
    pub glue_connection: Option<String>,
    /// `partition_columns` (default false): tables carry the official connectors'
    /// `partition_name` (and PostgreSQL's `partition_schema_name`) columns.
    pub partition_columns: bool,
    /// `is_fips_enabled` / `is_FIPS_Enabled`: TLS to the database with FIPS-approved cipher
    /// suites only.
    pub fips: bool,
}

/// Every variable the connector reads, for the README's table (checked by a test).
/// `<catalog>_connection_string` stands for the whole family.
pub const VARIABLES: &[&str] = &[
    "default",
    "<catalog>_connection_string",
    "glue_connection",
    "spill_bucket",
    "spill_prefix",
    "disable_spill_encryption",
    "kms_key_id",
    "MAX_BLOCK_SIZE_BYTES",
    "default_scale",
    "enable_query_passthrough",
    "split_target_bytes",
    "splits_per_page",
    "secret_cache_ttl_seconds",
    "statement_timeout_seconds",
    "spill_put_request_headers",
    "casing_mode",
    "partition_columns",
    "is_fips_enabled",
    "is_FIPS_Enabled",
];

impl Config {
    /// The casing of names for `engine`: `casing_mode`, else the official default.
    pub fn casing_for(&self, engine: Engine) -> CasingMode {
        self.casing_mode
            .unwrap_or_else(|| CasingMode::default_for(engine, self.glue_connection.is_some()))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Clone)]
pub enum ConfigError {
    #[error("environment variable {var}: {source}")]
    ConnectionString {
        var: String,
        #[source]
        source: ConnectionStringError,
    },
    #[error("environment variable {var}: expected {expected}, found \"{value}\"")]
    Value {
        var: String,
        expected: &'static str,
        value: String,
    },
    /// Values are not shown: a header may carry a key (SSE-C).
    #[error("environment variable spill_put_request_headers: {0}")]
    SpillHeaders(String),
    #[error("environment variable casing_mode: {0}")]
    Casing(#[source] CasingError),
    #[error(transparent)]
    GlueConnection(#[from] glue_connection::GlueConnectionError),
    #[error("no connection string: set `default` (e.g. postgres://jdbc:postgresql://host:5432/db?${{secret}}) or `<catalog>_connection_string`")]
    NoCatalog,
    #[error("Catalog is not supported in multiplexer. After registering the catalog in Athena, must set '{catalog}_connection_string' environment variable in Lambda.")]
    UnknownCatalog { catalog: String },
}

const SUFFIX: &str = "_connection_string";

/// `spill_put_request_headers`: a JSON object of header names to string values.
fn put_request_headers(json: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let e = |why: String| ConfigError::SpillHeaders(why);
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|_| e("expected a JSON object of header names to string values".into()))?;
    object
        .into_iter()
        .map(|(name, value)| {
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if name.is_empty() || !name.chars().all(token) {
                return Err(e(format!("\"{name}\" is not an HTTP header name")));
            }
            match value {
                serde_json::Value::String(v)
                    if v.chars().all(|c| c == '\t' || (' '..='~').contains(&c)) =>
                {
                    Ok((name.to_ascii_lowercase(), v))
                }
                serde_json::Value::String(_) => Err(e(format!(
                    "the value of \"{name}\" has characters an HTTP header cannot carry"
                ))),
                _ => Err(e(format!("the value of \"{name}\" is not a string"))),
            }
        })
        .collect()
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(std::env::vars())
    }

    /// Reads the process environment beneath the variables of the Glue connection
    /// `glue_connection` names, if any (fetched from Glue: this is the Lambda's way).
    pub async fn from_env_and_glue(aws: &aws_config::SdkConfig) -> Result<Config, ConfigError> {
        Config::from_vars_and_glue(std::env::vars().collect(), aws).await
    }

    /// [`Config::from_vars`] beneath the Glue connection's variables.
    pub async fn from_vars_and_glue(
        vars: Vec<(String, String)>,
        aws: &aws_config::SdkConfig,
    ) -> Result<Config, ConfigError> {
        let vars = glue_connection::resolve(vars, &aws_sdk_glue::Client::new(aws)).await?;
        Config::from_vars(vars)
    }

    /// Reads configuration from `(name, value)` pairs (the environment, or a test's).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars.into_iter().collect();
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let conn = |var: &str, value: &str| {
            ConnectionString::parse(value).map_err(|source| ConfigError::ConnectionString {
                var: var.to_owned(),
                source,
            })
        };
        let default = get("default").map(|v| conn("default", v)).transpose()?;
        let mut catalogs = HashMap::new();
        for (name, value) in &vars {
            if let Some(catalog) = name.strip_suffix(SUFFIX).filter(|c| !c.is_empty()) {
                if !value.trim().is_empty() {
                    catalogs.insert(catalog.to_ascii_lowercase(), conn(name, value)?);
                }
            }
        }
        // As the official connectors read flags: `true` (any case) is true, anything else
        // false; a value other than true/false is logged, since it is likely a mistake.
        let flag = |name: &str, default: bool| -> bool {
            match get(name) {
                None => default,
                Some(v) if v.eq_ignore_ascii_case("true") => true,
                Some(v) if v.eq_ignore_ascii_case("false") => false,
                Some(v) => {
                    tracing::warn!(
                        variable = name,
                        value = v,
                        "not true or false: read as false, as the official connectors do"
                    );
                    false
                }
            }
        };
        let number = |name: &str| -> Result<Option<u64>, ConfigError> {
            get(name)
                .map(|v| {
                    v.parse::<u64>().map_err(|_| ConfigError::Value {
                        var: name.into(),
                        expected: "a non-negative integer",
                        value: v.into(),
                    })
                })
                .transpose()
        };
        let encryption = if flag("disable_spill_encryption", false) {
            SpillEncryption::Disabled
        } else if let Some(key_id) = get("kms_key_id") {
            SpillEncryption::Kms {
                key_id: key_id.to_owned(),
            }
        } else {
            SpillEncryption::Local
        };
        let default_scale = match get("default_scale") {
            None => 0,
            Some(v) => v
                .parse::<i8>()
                .ok()
                .filter(|s| (0..=38).contains(s))
                .ok_or_else(|| ConfigError::Value {
                    var: "default_scale".into(),
                    expected: "an integer from 0 to 38",
                    value: v.into(),
                })?,
        };
        let casing_mode = match get("casing_mode") {
            None => None,
            Some(v) => match CasingMode::parse(v).map_err(ConfigError::Casing)? {
                Some(mode) => Some(mode),
                // ANNOTATION (Snowflake and SAP HANA's) means nothing for these engines.
                None => {
                    return Err(ConfigError::Casing(CasingError::Annotation(
                        default.as_ref().map_or(Engine::Postgres, |d| d.engine()),
                    )))
                }
            },
        };
        Ok(Config {
            default,
            catalogs,
            function_name: get("AWS_LAMBDA_FUNCTION_NAME").map(str::to_owned),
            spill: SpillConfig {
                bucket: get("spill_bucket").map(|b| b.trim_end_matches('/').to_owned()),
                prefix: get("spill_prefix")
                    .unwrap_or(DEFAULT_SPILL_PREFIX)
                    .trim_matches('/')
                    .to_owned(),
                encryption,
                max_block_size: number("MAX_BLOCK_SIZE_BYTES")?,
                put_request_headers: match get("spill_put_request_headers") {
                    None => Vec::new(),
                    Some(v) => put_request_headers(v)?,
                },
            },
            default_scale,
            query_passthrough: flag("enable_query_passthrough", true),
            split_target_bytes: number("split_target_bytes")?.unwrap_or(128 << 20).max(1),
            secret_cache_ttl: Duration::from_secs(
                number("secret_cache_ttl_seconds")?.unwrap_or(60),
            ),
            splits_per_page: number("splits_per_page")?.unwrap_or(1000).max(1) as usize,
            statement_timeout: number("statement_timeout_seconds")?
                .filter(|s| *s > 0)
                .map(Duration::from_secs),
            casing_mode,
            glue_connection: get("glue_connection").map(str::to_owned),
            partition_columns: flag("partition_columns", false),
            fips: flag("is_fips_enabled", false) || flag("is_FIPS_Enabled", false),
        })
    }

    /// The connection string serving `catalog`: `<catalog>_connection_string`, else
    /// `default` for `default`, `lambda:<function>` or (without multiplexing) any catalog.
    pub fn connection_for(&self, catalog: &str) -> Result<(&str, &ConnectionString), ConfigError> {
        let key = catalog.to_ascii_lowercase();
        if let Some((name, c)) = self.catalogs.get_key_value(&key) {
            return Ok((name.as_str(), c));
        }
        let default = self.default.as_ref().ok_or(ConfigError::NoCatalog)?;
        let is_alias = key == "default"
            || self
                .function_name
                .as_ref()
                .is_some_and(|f| key == format!("lambda:{}", f.to_ascii_lowercase()));
        if is_alias || self.catalogs.is_empty() {
            Ok(("default", default))
        } else {
            Err(ConfigError::UnknownCatalog {
                catalog: catalog.to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
    }

    #[test]
    fn defaults_and_overrides() {
        let c = config(&[("default", "sqlite://demo.db")]).unwrap();
        assert_eq!(c.spill.prefix, DEFAULT_SPILL_PREFIX);
        assert_eq!(c.spill.encryption, SpillEncryption::Local);
        assert_eq!((c.default_scale, c.query_passthrough), (0, true));
        let c = config(&[
            ("default", "sqlite://demo.db"),
            ("spill_bucket", "b/"),
            ("spill_prefix", "/athena-spill/"),
            ("kms_key_id", "alias/spill"),
            ("default_scale", "6"),
            ("MAX_BLOCK_SIZE_BYTES", "1000"),
            ("enable_query_passthrough", "FALSE"),
        ])
        .unwrap();
        assert_eq!(
            (c.spill.bucket.as_deref(), c.spill.prefix.as_str()),
            (Some("b"), "athena-spill")
        );
        assert_eq!(
            c.spill.encryption,
            SpillEncryption::Kms {
                key_id: "alias/spill".into()
            }
        );
        assert_eq!(
            (c.default_scale, c.spill.max_block_size, c.query_passthrough),
            (6, Some(1000), false)
        );
        let c = config(&[
            ("default", "sqlite://d"),
            ("disable_spill_encryption", "True"),
            ("kms_key_id", "k"),
        ])
        .unwrap();
        assert_eq!(c.spill.encryption, SpillEncryption::Disabled);
    }

    #[test]
    fn flags_are_read_as_leniently_as_the_official_connectors_read_them() {
        // Only `true` (any case) is true; anything else is false (and logged).
        let c = config(&[
            ("default", "sqlite://d"),
            ("disable_spill_encryption", "yes"),
            ("enable_query_passthrough", "1"),
            ("partition_columns", "TRUE"),
            ("is_FIPS_Enabled", "true"),
        ])
        .unwrap();
        assert_eq!(c.spill.encryption, SpillEncryption::Local);
        assert!(!c.query_passthrough);
        assert!(c.partition_columns && c.fips);
        let c = config(&[("default", "sqlite://d")]).unwrap();
        assert!(c.query_passthrough && !c.partition_columns && !c.fips);
        assert_eq!(c.casing_mode, None);
    }

    #[test]
    fn casing_defaults_per_engine_and_configuration_style() {
        let pg = "postgres://jdbc:postgresql://h/db?${s}";
        let c = config(&[("default", pg)]).unwrap();
        assert_eq!(
            c.casing_for(Engine::Postgres),
            CasingMode::CaseInsensitiveSearch
        );
        assert_eq!(c.casing_for(Engine::Oracle), CasingMode::Upper);
        let c = config(&[("default", pg), ("glue_connection", "shop")]).unwrap();
        assert_eq!(c.glue_connection.as_deref(), Some("shop"));
        assert_eq!(c.casing_for(Engine::Postgres), CasingMode::None);
        assert_eq!(c.casing_for(Engine::SqlServer), CasingMode::Lower);
        let c = config(&[
            ("default", pg),
            ("glue_connection", "shop"),
            ("casing_mode", "CASE_INSENSITIVE_SEARCH"),
        ])
        .unwrap();
        assert_eq!(
            c.casing_for(Engine::Postgres),
            CasingMode::CaseInsensitiveSearch
        );
    }

    #[test]
    fn spill_put_request_headers_are_a_json_object_of_strings() {
        let c = config(&[
            ("default", "sqlite://d"),
            (
                "spill_put_request_headers",
                r#"{"x-amz-server-side-encryption": "aws:kms", "X-Amz-Acl": "bucket-owner-full-control"}"#,
            ),
        ])
        .unwrap();
        assert_eq!(
            c.spill.put_request_headers,
            [
                (
                    "x-amz-server-side-encryption".to_owned(),
                    "aws:kms".to_owned()
                ),
                (
                    "x-amz-acl".to_owned(),
                    "bucket-owner-full-control".to_owned()
                ),
            ]
        );
        assert!(config(&[("default", "sqlite://d")])
            .unwrap()
            .spill
            .put_request_headers
            .is_empty());
        for (json, why) in [
            ("[1]", "expected a JSON object of header names to string values"),
            (r#"{"bad name": "v"}"#, "\"bad name\" is not an HTTP header name"),
            (r#"{"x-n": 1}"#, "the value of \"x-n\" is not a string"),
            (
                r#"{"x-amz-server-side-encryption-customer-key": "sec\nret"}"#,
                "the value of \"x-amz-server-side-encryption-customer-key\" has characters an HTTP header cannot carry",
            ),
        ] {
            let err = config(&[("default", "sqlite://d"), ("spill_put_request_headers", json)])
                .unwrap_err()
                .to_string();
            assert_eq!(
                err,
                format!("environment variable spill_put_request_headers: {why}")
            );
            assert!(!err.contains("sec"), "values never shown: {err}");
        }
        let with_key = config(&[
            ("default", "sqlite://d"),
            (
                "spill_put_request_headers",
                r#"{"x-amz-server-side-encryption-customer-key": "c2VjcmV0LWtleQ=="}"#,
            ),
        ])
        .unwrap();
        let shown = format!("{with_key:?}");
        assert!(
            shown.contains("x-amz-server-side-encryption-customer-key")
                && !shown.contains("c2VjcmV0LWtleQ=="),
            "{shown}"
        );
    }

    #[test]
    fn catalogs_are_multiplexed_by_name() {
        let c = config(&[
            ("default", "sqlite://d.db"),
            (
                "Sales_connection_string",
                "postgres://jdbc:postgresql://h/sales?${s}",
            ),
            ("AWS_LAMBDA_FUNCTION_NAME", "my-connector"),
        ])
        .unwrap();
        assert_eq!(
            c.connection_for("sales").unwrap().1.engine(),
            Engine::Postgres
        );
        assert_eq!(
            c.connection_for("default").unwrap().1.engine(),
            Engine::Sqlite
        );
        assert_eq!(
            c.connection_for("lambda:my-connector").unwrap().0,
            "default"
        );
        assert_eq!(
            c.connection_for("hr").unwrap_err().to_string(),
            "Catalog is not supported in multiplexer. After registering the catalog in Athena, must set 'hr_connection_string' environment variable in Lambda."
        );
        // Without multiplexing, the default serves every catalog name.
        let c = config(&[("default", "sqlite://d.db")]).unwrap();
        assert_eq!(c.connection_for("anything").unwrap().0, "default");
    }

    #[test]
    fn bad_values_are_named() {
        assert_eq!(
            config(&[("default_scale", "-1")]).unwrap_err().to_string(),
            "environment variable default_scale: expected an integer from 0 to 38, found \"-1\""
        );
        assert_eq!(
            config(&[]).unwrap().connection_for("x").unwrap_err(),
            ConfigError::NoCatalog
        );
        let e = config(&[(
            "default",
            "postgres://jdbc:postgresql://h/db?password=pw&ApplicationName=x",
        )])
        .unwrap();
        assert!(!format!("{e:?}").contains("pw&"));
        let e = config(&[(
            "default",
            "postgres://jdbc:postgresql://h/db?password=pw&frobnicate=1",
        )])
        .unwrap_err()
        .to_string();
        assert_eq!(e, "environment variable default: parameter frobnicate is not supported for postgres connection strings (the README's \"JDBC URL parameters\" lists those that are)");
        assert!(!e.contains("pw"));
        assert_eq!(
            config(&[("default", "sqlite://d"), ("casing_mode", "annotation")])
                .unwrap_err()
                .to_string(),
            "environment variable casing_mode: casing_mode ANNOTATION is not supported for sqlite (the official connectors accept it only for Snowflake and SAP HANA); use case_insensitive_search"
        );
        assert_eq!(
            config(&[("default", "sqlite://d"), ("casing_mode", "title")])
                .unwrap_err()
                .to_string(),
            "environment variable casing_mode: expected none, lower, upper or case_insensitive_search, found \"title\""
        );
        assert!(config(&[("default", "nope")])
            .unwrap_err()
            .to_string()
            .starts_with("environment variable default: connection string must look like"));
    }
}
