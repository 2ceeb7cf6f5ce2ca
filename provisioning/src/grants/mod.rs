//! The statements that give a consumer environment's user SELECT on exactly one table, per
//! engine. Identifiers are validated and quoted by the connector's dialects; passwords are
//! generated (never user input) and still escaped as string literals, since DDL takes no
//! bind parameters.

mod mysql;
mod oracle;
mod postgres;
mod sqlserver;
mod verifier;

use athena_connector::config::Engine;
use athena_connector::sql::dialect::validate_identifier;

pub use mysql::MySqlGrants;
pub use oracle::OracleGrants;
pub use postgres::PostgresGrants;
pub use sqlserver::SqlServerGrants;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GrantError {
    #[error("invalid table location \"{location}\": {why}")]
    Location { location: String, why: String },
    #[error("invalid database user name \"{0}\": only a-z, 0-9 and _ are allowed, starting with a letter")]
    UserName(String),
    #[error("{0} is not supported for grants")]
    Engine(String),
    #[error("\"{location}\" is in a system catalog ({catalog}): system tables are never granted")]
    SystemCatalog { location: String, catalog: String },
    #[error("\"{location}\" is outside the schemas the Glue connection allows ({allowed}; AthenaProperties.allowed_schemas)")]
    OutOfScope { location: String, allowed: String },
    #[error(transparent)]
    Random(#[from] crate::password::RandomError),
}

/// The subscribed table, as `StorageDescriptor.Location` names it: `db.schema.table`, or
/// `db.table` on MySQL (its databases are schemas).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableTarget {
    pub database: String,
    pub schema: String,
    pub table: String,
}

impl TableTarget {
    pub fn parse(engine: Engine, location: &str) -> Result<TableTarget, GrantError> {
        let bad = |why: &str| GrantError::Location {
            location: location.to_owned(),
            why: why.to_owned(),
        };
        let parts: Vec<&str> = location.split('.').collect();
        let target = match (engine, parts.as_slice()) {
            (Engine::MySql, [db, table]) => TableTarget {
                database: (*db).into(),
                schema: (*db).into(),
                table: (*table).into(),
            },
            (Engine::MySql, _) => return Err(bad("expected database.table")),
            (_, [db, schema, table]) => TableTarget {
                database: (*db).into(),
                schema: (*schema).into(),
                table: (*table).into(),
            },
            _ => return Err(bad("expected database.schema.table")),
        };
        for part in [&target.database, &target.schema, &target.table] {
            validate_identifier(part).map_err(|e| bad(&e.to_string()))?;
            if part.trim() != part.as_str() {
                return Err(bad("names may not start or end with spaces"));
            }
        }
        Ok(target)
    }
}

/// Schemas (MySQL: databases) and databases that hold the server's own catalog, users and
/// passwords, per engine, lower case (compared case-insensitively). Matching names are
/// refused whatever the Glue table says: whoever can edit a Glue table must not reach
/// `mysql.user` or `pg_catalog.pg_authid` through the admin secret.
fn system_catalog(engine: Engine, t: &TableTarget) -> Option<String> {
    let schema = t.schema.to_ascii_lowercase();
    let database = t.database.to_ascii_lowercase();
    let schemas: &[&str] = match engine {
        Engine::Postgres => &["information_schema", "pg_catalog", "pg_toast"],
        Engine::MySql => &["mysql", "information_schema", "performance_schema", "sys"],
        Engine::SqlServer => &["sys", "information_schema"],
        Engine::Oracle => &[
            "sys",
            "system",
            "anonymous",
            "appqossys",
            "audsys",
            "ctxsys",
            "dbsfwuser",
            "dbsnmp",
            "dvf",
            "dvsys",
            "ggsys",
            "gsmadmin_internal",
            "lbacsys",
            "mdsys",
            "ojvmsys",
            "olapsys",
            "orddata",
            "ordsys",
            "outln",
            "rdsadmin",
            "remote_scheduler_agent",
            "sysbackup",
            "sysdg",
            "syskm",
            "sysrac",
            "wmsys",
            "xdb",
        ],
        Engine::Sqlite => &[],
    };
    let databases: &[&str] = match engine {
        Engine::Postgres => &["rdsadmin", "template0", "template1"],
        Engine::SqlServer => &["master", "model", "msdb", "tempdb", "rdsadmin"],
        _ => &[],
    };
    if schemas.contains(&schema.as_str())
        || (engine == Engine::Postgres && schema.starts_with("pg_"))
    {
        Some(t.schema.clone())
    } else if databases.contains(&database.as_str()) {
        Some(t.database.clone())
    } else {
        None
    }
}

impl TableTarget {
    /// Refuses system catalogs, and schemas outside `allowed` (the Glue connection's list,
    /// exact names; `None`: any other schema).
    pub fn check_scope(
        &self,
        engine: Engine,
        allowed: Option<&[String]>,
    ) -> Result<(), GrantError> {
        let location = format!("{}.{}.{}", self.database, self.schema, self.table);
        if let Some(catalog) = system_catalog(engine, self) {
            return Err(GrantError::SystemCatalog { location, catalog });
        }
        match allowed {
            Some(list) if !list.contains(&self.schema) => Err(GrantError::OutOfScope {
                location,
                allowed: list.join(", "),
            }),
            _ => Ok(()),
        }
    }
}

/// A database user name: `dz_<environment id>`, lower case, validated.
pub fn user_name(environment_id: &str) -> Result<String, GrantError> {
    let name = format!("dz_{}", environment_id.to_ascii_lowercase());
    let ok = name.len() <= 30
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
    if ok {
        Ok(name)
    } else {
        Err(GrantError::UserName(name))
    }
}

/// A string literal: single quotes, embedded quotes doubled.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One engine's grant statements.
pub trait GrantSql: Send + Sync {
    /// A query with one bind parameter (the user name) returning a row if the user exists.
    fn user_exists(&self) -> &'static str;
    /// Creates the user with `password` (sent as a verifier where the engine takes one).
    fn create_user(&self, user: &str, password: &str) -> Result<Vec<String>, GrantError>;
    /// Sets the existing user's password (so the database matches the stored secret).
    fn set_password(&self, user: &str, password: &str) -> Result<Vec<String>, GrantError>;
    /// SELECT on the table, and what the engine needs to reach it.
    fn grant(&self, user: &str, t: &TableTarget) -> Vec<String>;
    /// Undoes [`GrantSql::grant`] for the table.
    fn revoke(&self, user: &str, t: &TableTarget) -> Vec<String>;
    /// What reaching the table's schema needed, once no granted table remains in it.
    fn revoke_schema(&self, _user: &str, _t: &TableTarget) -> Vec<String> {
        vec![]
    }
    /// Removes the user.
    fn drop_user(&self, user: &str) -> Vec<String>;
}

pub fn for_engine(engine: Engine) -> Result<Box<dyn GrantSql>, GrantError> {
    Ok(match engine {
        Engine::Postgres => Box::new(PostgresGrants),
        Engine::MySql => Box::new(MySqlGrants::default()),
        Engine::SqlServer => Box::new(SqlServerGrants),
        Engine::Oracle => Box::new(OracleGrants),
        Engine::Sqlite => return Err(GrantError::Engine("SQLite".into())),
    })
}

#[cfg(test)]
mod tests;
