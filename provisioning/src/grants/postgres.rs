//! PostgreSQL: a login role (its password sent as a SCRAM verifier), USAGE on the schema,
//! SELECT on the table.

use athena_connector::sql::{Dialect, Postgres};

use super::{literal, verifier, GrantError, GrantSql, TableTarget};

pub struct PostgresGrants;

fn q(name: &str) -> String {
    Postgres
        .quote(name)
        .expect("names are validated before statements are built")
}

/// The SCRAM-SHA-256 verifier, with a fresh salt: PostgreSQL stores it as given, so the
/// password itself is never in a statement.
fn scram(password: &str) -> Result<String, GrantError> {
    Ok(verifier::scram_sha256(password, &crate::password::salt()?))
}

impl GrantSql for PostgresGrants {
    fn user_exists(&self) -> &'static str {
        "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1"
    }
    fn create_user(&self, user: &str, password: &str) -> Result<Vec<String>, GrantError> {
        Ok(vec![format!(
            "CREATE ROLE {} LOGIN PASSWORD {}",
            q(user),
            literal(&scram(password)?)
        )])
    }
    fn set_password(&self, user: &str, password: &str) -> Result<Vec<String>, GrantError> {
        Ok(vec![format!(
            "ALTER ROLE {} WITH LOGIN PASSWORD {}",
            q(user),
            literal(&scram(password)?)
        )])
    }
    fn grant(&self, user: &str, t: &TableTarget) -> Vec<String> {
        vec![
            format!(
                "GRANT CONNECT ON DATABASE {} TO {}",
                q(&t.database),
                q(user)
            ),
            format!("GRANT USAGE ON SCHEMA {} TO {}", q(&t.schema), q(user)),
            format!(
                "GRANT SELECT ON TABLE {}.{} TO {}",
                q(&t.schema),
                q(&t.table),
                q(user)
            ),
        ]
    }
    fn revoke(&self, user: &str, t: &TableTarget) -> Vec<String> {
        vec![format!(
            "REVOKE SELECT ON TABLE {}.{} FROM {}",
            q(&t.schema),
            q(&t.table),
            q(user)
        )]
    }
    fn revoke_schema(&self, user: &str, t: &TableTarget) -> Vec<String> {
        vec![format!(
            "REVOKE USAGE ON SCHEMA {} FROM {}",
            q(&t.schema),
            q(user)
        )]
    }
    fn drop_user(&self, user: &str) -> Vec<String> {
        vec![
            format!("DROP OWNED BY {}", q(user)),
            format!("DROP ROLE IF EXISTS {}", q(user)),
        ]
    }
}
