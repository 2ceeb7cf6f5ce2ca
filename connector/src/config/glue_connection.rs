//! `glue_connection`: the configuration a Glue connection stands for, built as the official
//! connectors build it. The connection's `HOST`, `PORT`, `DATABASE` and `JDBC_PARAMS` (or,
//! for a `JDBC` connection, its `JDBC_CONNECTION_URL`) and its secret make `default`; its
//! AthenaProperties become variables of the same names (`spill_kms_key_id` as `kms_key_id`);
//! the Lambda's own variables win over both.

use std::collections::HashMap;

use aws_sdk_glue::types::{Connection, ConnectionType};

use super::Engine;

#[derive(Debug, thiserror::Error, PartialEq, Clone)]
pub enum GlueConnectionError {
    /// The AWS error, rendered (the SDK's error types are neither `Clone` nor `PartialEq`).
    #[error("glue:GetConnection {name}: {message}")]
    Fetch { name: String, message: String },
    #[error("Glue connection {name}: {why}")]
    Invalid { name: String, why: String },
}

/// The variable naming the Glue connection.
pub const VARIABLE: &str = "glue_connection";

/// `vars` with the Glue connection's variables beneath them, when `glue_connection` is set;
/// `vars` unchanged otherwise.
pub async fn resolve(
    vars: Vec<(String, String)>,
    glue: &aws_sdk_glue::Client,
) -> Result<Vec<(String, String)>, GlueConnectionError> {
    let Some(name) = vars
        .iter()
        .find(|(k, v)| k == VARIABLE && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
    else {
        return Ok(vars);
    };
    let answer = glue
        .get_connection()
        .name(&name)
        .hide_password(true)
        .send()
        .await
        .map_err(|e| GlueConnectionError::Fetch {
            name: name.clone(),
            message: aws_sdk_glue::error::DisplayErrorContext(&e).to_string(),
        })?;
    let connection = answer
        .connection()
        .ok_or_else(|| GlueConnectionError::Fetch {
            name: name.clone(),
            message: "the answer holds no connection".into(),
        })?;
    Ok(overlay(variables(&name, connection)?, vars))
}

/// The Lambda's variables over the connection's: a variable set in both keeps the Lambda's.
pub fn overlay(
    from_connection: Vec<(String, String)>,
    lambda: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut merged: indexmap::IndexMap<String, String> = from_connection.into_iter().collect();
    merged.extend(lambda);
    merged.into_iter().collect()
}

/// The variables `connection` stands for: `default` and its AthenaProperties.
pub fn variables(
    name: &str,
    connection: &Connection,
) -> Result<Vec<(String, String)>, GlueConnectionError> {
    let invalid = |why: String| GlueConnectionError::Invalid {
        name: name.to_owned(),
        why,
    };
    let props: HashMap<&str, &str> = connection
        .connection_properties()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let prop = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    // The secret: the connection's authentication (an ARN: the whole ARN names it exactly,
    // where the official connectors cut its random suffix off), else a JDBC connection's
    // SECRET_ID.
    let secret = connection
        .authentication_configuration()
        .and_then(|a| a.secret_arn())
        .filter(|a| !a.is_empty())
        .or_else(|| prop("SECRET_ID"));
    if secret.is_none() && prop("PASSWORD").is_some() {
        return Err(invalid(
            "holds a PASSWORD in its properties: give it a Secrets Manager secret instead (SecretArn in its authentication, or SECRET_ID)".into(),
        ));
    }
    let secret = secret.map(|s| format!("${{{s}}}"));
    let engine = match connection.connection_type() {
        Some(ConnectionType::Postgresql) => Some(Engine::Postgres),
        Some(ConnectionType::Mysql) => Some(Engine::MySql),
        Some(ConnectionType::Sqlserver) => Some(Engine::SqlServer),
        Some(ConnectionType::Oracle) => Some(Engine::Oracle),
        Some(ConnectionType::Jdbc) | None => None,
        Some(other) => {
            return Err(invalid(format!(
                "is a {} connection; expected POSTGRESQL, MYSQL, SQLSERVER, ORACLE or JDBC",
                other.as_str()
            )))
        }
    };
    let default = match engine {
        Some(engine) => {
            let need = |key: &str| {
                prop(key).ok_or_else(|| {
                    invalid(format!(
                        "has no {key} property (a {} connection needs HOST, PORT and DATABASE)",
                        engine
                    ))
                })
            };
            let (host, port, database) = (need("HOST")?, need("PORT")?, need("DATABASE")?);
            // As the official connectors: ENFORCE_SSL at any value means TLS.
            let enforce_ssl = props.contains_key("ENFORCE_SSL");
            if prop("ENFORCE_SSL").is_some_and(|v| v.eq_ignore_ascii_case("false")) {
                tracing::warn!(connection = name, "ENFORCE_SSL=false still enforces TLS, as in the official connectors: remove the property to connect without it");
            }
            built_url(
                engine,
                host,
                port,
                database,
                prop("JDBC_PARAMS"),
                secret.as_deref(),
                enforce_ssl,
            )
        }
        None => {
            let url = prop("JDBC_CONNECTION_URL").ok_or_else(|| {
                invalid("has neither a connection type with HOST, PORT and DATABASE nor a JDBC_CONNECTION_URL".into())
            })?;
            let enforce_ssl =
                prop("JDBC_ENFORCE_SSL").is_some_and(|v| v.eq_ignore_ascii_case("true"));
            from_jdbc_url(url, secret.as_deref(), enforce_ssl).map_err(invalid)?
        }
    };
    let mut vars = vec![("default".to_owned(), default)];
    let mut athena: Vec<(String, String)> = connection
        .athena_properties()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let k = if k == "spill_kms_key_id" {
                "kms_key_id"
            } else {
                k
            };
            (k.to_owned(), v.clone())
        })
        .collect();
    athena.sort();
    vars.extend(athena);
    Ok(vars)
}

/// `default` from HOST, PORT, DATABASE and JDBC_PARAMS, in the official connectors' forms.
fn built_url(
    engine: Engine,
    host: &str,
    port: &str,
    database: &str,
    params: Option<&str>,
    secret: Option<&str>,
    enforce_ssl: bool,
) -> String {
    let joined = |sep: &str| {
        [params, secret]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(sep)
    };
    match engine {
        Engine::Postgres | Engine::MySql | Engine::Sqlite => {
            let (prefix, scheme) = match engine {
                Engine::MySql => ("mysql", "mysql"),
                _ => ("postgres", "postgresql"),
            };
            let rest = joined("&");
            let query = if rest.is_empty() {
                String::new()
            } else {
                format!("?{rest}")
            };
            format!("{prefix}://jdbc:{scheme}://{host}:{port}/{database}{query}")
        }
        Engine::SqlServer => {
            let rest = joined(";");
            let tail = if rest.is_empty() {
                String::new()
            } else {
                format!(";{rest}")
            };
            format!("sqlserver://jdbc:sqlserver://{host}:{port};databaseName={database}{tail}")
        }
        // The official connector ignores JDBC_PARAMS for Oracle; so do we, saying so.
        Engine::Oracle => {
            if params.is_some() {
                tracing::warn!("Oracle Glue connection: JDBC_PARAMS is ignored, as the official connector ignores it");
            }
            let protocol = if enforce_ssl { "tcps://" } else { "//" };
            format!(
                "oracle://jdbc:oracle:thin:{}@{protocol}{host}:{port}/{database}",
                secret.unwrap_or_default()
            )
        }
    }
}

/// `default` from a JDBC connection's URL: the engine prefix, the secret, and TLS required
/// when the connection enforces it.
fn from_jdbc_url(url: &str, secret: Option<&str>, enforce_ssl: bool) -> Result<String, String> {
    let parsed = super::JdbcUrl::parse(url).map_err(|e| format!("JDBC_CONNECTION_URL: {e}"))?;
    let mut extra: Vec<&str> = Vec::new();
    if enforce_ssl {
        extra.push(match parsed.engine {
            Engine::SqlServer => "encrypt=true",
            _ => "sslmode=require",
        });
    }
    extra.extend(secret);
    let url = url.trim();
    Ok(match parsed.engine {
        Engine::Oracle => {
            let (head, tail) = url.split_at("jdbc:oracle:thin:".len());
            format!("oracle://{head}{}{tail}", secret.unwrap_or_default())
        }
        Engine::SqlServer => {
            let mut text = format!("sqlserver://{url}");
            for e in extra {
                text.push(';');
                text.push_str(e);
            }
            text
        }
        engine => {
            let mut text = format!("{}://{url}", engine.name());
            for e in extra {
                text.push(if text.contains('?') { '&' } else { '?' });
                text.push_str(e);
            }
            text
        }
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_glue::types::{AuthenticationConfiguration, ConnectionPropertyKey};

    use super::*;

    fn connection(
        kind: ConnectionType,
        props: &[(&str, &str)],
        athena: &[(&str, &str)],
        secret_arn: Option<&str>,
    ) -> Connection {
        let mut c = Connection::builder().name("shop").connection_type(kind);
        for (k, v) in props {
            c = c.connection_properties(ConnectionPropertyKey::from(*k), *v);
        }
        for (k, v) in athena {
            c = c.athena_properties(*k, *v);
        }
        if let Some(arn) = secret_arn {
            c = c.authentication_configuration(
                AuthenticationConfiguration::builder()
                    .secret_arn(arn)
                    .build(),
            );
        }
        c.build()
    }

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop-reader-AbCdEf";

    #[test]
    fn each_engine_gets_the_official_connection_string() {
        let props = [
            ("HOST", "db.example.com"),
            ("PORT", "5432"),
            ("DATABASE", "shop"),
            ("JDBC_PARAMS", "sslmode=require"),
        ];
        let cases = [
            (ConnectionType::Postgresql, "postgres://jdbc:postgresql://db.example.com:5432/shop?sslmode=require&${arn:aws:secretsmanager:us-east-1:123456789012:secret:shop-reader-AbCdEf}"),
            (ConnectionType::Mysql, "mysql://jdbc:mysql://db.example.com:5432/shop?sslmode=require&${arn:aws:secretsmanager:us-east-1:123456789012:secret:shop-reader-AbCdEf}"),
            (ConnectionType::Sqlserver, "sqlserver://jdbc:sqlserver://db.example.com:5432;databaseName=shop;sslmode=require;${arn:aws:secretsmanager:us-east-1:123456789012:secret:shop-reader-AbCdEf}"),
            (ConnectionType::Oracle, "oracle://jdbc:oracle:thin:${arn:aws:secretsmanager:us-east-1:123456789012:secret:shop-reader-AbCdEf}@//db.example.com:5432/shop"),
        ];
        for (kind, want) in cases {
            let vars =
                variables("shop", &connection(kind.clone(), &props, &[], Some(ARN))).unwrap();
            assert_eq!(vars, [("default".to_owned(), want.to_owned())], "{kind:?}");
            super::super::ConnectionString::parse(want).unwrap();
        }
        let vars = variables(
            "shop",
            &connection(ConnectionType::Postgresql, &props[..3], &[], None),
        )
        .unwrap();
        assert_eq!(
            vars[0].1,
            "postgres://jdbc:postgresql://db.example.com:5432/shop"
        );
        let oracle = variables(
            "o",
            &connection(
                ConnectionType::Oracle,
                &[
                    ("HOST", "h"),
                    ("PORT", "1521"),
                    ("DATABASE", "orcl"),
                    ("ENFORCE_SSL", "false"),
                ],
                &[],
                None,
            ),
        )
        .unwrap();
        assert_eq!(oracle[0].1, "oracle://jdbc:oracle:thin:@tcps://h:1521/orcl");
    }

    #[test]
    fn athena_properties_become_variables_and_the_lambdas_win() {
        let c = connection(
            ConnectionType::Postgresql,
            &[("HOST", "h"), ("PORT", "5432"), ("DATABASE", "d")],
            &[
                ("spill_bucket", "spill"),
                ("spill_kms_key_id", "alias/k"),
                ("casing_mode", "lower"),
            ],
            Some(ARN),
        );
        let vars = variables("shop", &c).unwrap();
        assert_eq!(
            vars[1..],
            [
                ("casing_mode".to_owned(), "lower".to_owned()),
                ("kms_key_id".to_owned(), "alias/k".to_owned()),
                ("spill_bucket".to_owned(), "spill".to_owned()),
            ]
        );
        let merged: HashMap<String, String> = overlay(
            vars,
            vec![
                ("glue_connection".into(), "shop".into()),
                ("spill_bucket".into(), "mine".into()),
            ],
        )
        .into_iter()
        .collect();
        assert_eq!(merged["spill_bucket"], "mine");
        assert_eq!(merged["casing_mode"], "lower");
        assert!(merged["default"].starts_with("postgres://jdbc:postgresql://h:5432/d?${arn:"));
    }

    #[test]
    fn jdbc_connections_and_bad_ones() {
        let c = connection(
            ConnectionType::Jdbc,
            &[
                ("JDBC_CONNECTION_URL", "jdbc:mysql://db:3306/shop"),
                ("SECRET_ID", "shop-admin"),
                ("JDBC_ENFORCE_SSL", "true"),
            ],
            &[],
            None,
        );
        assert_eq!(
            variables("j", &c).unwrap()[0].1,
            "mysql://jdbc:mysql://db:3306/shop?sslmode=require&${shop-admin}"
        );
        let missing = connection(
            ConnectionType::Postgresql,
            &[("HOST", "h"), ("PORT", "1")],
            &[],
            None,
        );
        assert_eq!(
            variables("p", &missing).unwrap_err().to_string(),
            "Glue connection p: has no DATABASE property (a postgres connection needs HOST, PORT and DATABASE)"
        );
        let password = connection(
            ConnectionType::Jdbc,
            &[
                ("JDBC_CONNECTION_URL", "jdbc:postgresql://h/d"),
                ("USERNAME", "u"),
                ("PASSWORD", "hunter2"),
            ],
            &[],
            None,
        );
        let err = variables("p", &password).unwrap_err().to_string();
        assert!(
            err.contains("holds a PASSWORD") && !err.contains("hunter2"),
            "{err}"
        );
        let kafka = connection(ConnectionType::Kafka, &[], &[], None);
        assert_eq!(
            variables("k", &kafka).unwrap_err().to_string(),
            "Glue connection k: is a KAFKA connection; expected POSTGRESQL, MYSQL, SQLSERVER, ORACLE or JDBC"
        );
    }
}
