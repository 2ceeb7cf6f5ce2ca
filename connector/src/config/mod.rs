//! Configuration from the environment, under the official connectors' variable names
//! (SPEC §6.1), and catalog multiplexing (§6.3).

mod connection_string;
mod jdbc_url;

use std::collections::HashMap;
use std::time::Duration;

pub use connection_string::{secret_reference, ConnectionString, ConnectionStringError, Target};
pub use jdbc_url::{redact, Engine, JdbcUrl, Password, TlsMode, UrlError};

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
        let flag = |name: &str, default: bool| -> Result<bool, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
                Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
                Some(v) => Err(ConfigError::Value {
                    var: name.into(),
                    expected: "true or false",
                    value: v.into(),
                }),
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
        let encryption = if flag("disable_spill_encryption", false)? {
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
            query_passthrough: flag("enable_query_passthrough", true)?,
            split_target_bytes: number("split_target_bytes")?.unwrap_or(128 << 20).max(1),
            secret_cache_ttl: Duration::from_secs(
                number("secret_cache_ttl_seconds")?.unwrap_or(60),
            ),
            splits_per_page: number("splits_per_page")?.unwrap_or(1000).max(1) as usize,
            statement_timeout: number("statement_timeout_seconds")?
                .filter(|s| *s > 0)
                .map(Duration::from_secs),
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
        let e = config(&[("default", "postgres://jdbc:postgresql://h/db?password=pw&x")]).unwrap();
        assert!(!format!("{e:?}").contains("pw&"));
        assert!(config(&[("default", "nope")])
            .unwrap_err()
            .to_string()
            .starts_with("environment variable default: connection string must look like"));
    }
}
