//! SQL Server: a login, a database user for it, SELECT on the table, and nothing more (no
//! database-wide VIEW DEFINITION or VIEW DATABASE STATE).

use super::{verifier, GrantError, GrantSql, TableTarget};

pub struct SqlServerGrants;

/// `[name]` with `]` doubled.
fn q(name: &str) -> String {
    format!("[{}]", name.replace(']', "]]"))
}

/// `N'…'` with quotes doubled.
fn n(s: &str) -> String {
    format!("N'{}'", s.replace('\'', "''"))
}

/// The password as SQL Server stores it (`HASHED`: never in the statement in plain text).
fn hashed(password: &str) -> Result<String, GrantError> {
    let salt = crate::password::salt()?;
    Ok(verifier::sql_server(password, &salt[..4]))
}

impl GrantSql for SqlServerGrants {
    fn user_exists(&self) -> &'static str {
        "SELECT 1 FROM sys.server_principals WHERE name = @P1"
    }
    fn create_user(&self, user: &str, password: &str) -> Result<Vec<String>, GrantError> {
        Ok(vec![format!(
            "CREATE LOGIN {} WITH PASSWORD = {} HASHED",
            q(user),
            hashed(password)?
        )])
    }
    fn set_password(&self, user: &str, password: &str) -> Result<Vec<String>, GrantError> {
        Ok(vec![format!(
            "ALTER LOGIN {} WITH PASSWORD = {} HASHED",
            q(user),
            hashed(password)?
        )])
    }
    fn grant(&self, user: &str, t: &TableTarget) -> Vec<String> {
        vec![
            format!("USE {}", q(&t.database)),
            format!("IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = {}) CREATE USER {} FOR LOGIN {}", n(user), q(user), q(user)),
            format!("GRANT SELECT ON {}.{} TO {}", q(&t.schema), q(&t.table), q(user)),
        ]
    }
    fn revoke(&self, user: &str, t: &TableTarget) -> Vec<String> {
        vec![
            format!("USE {}", q(&t.database)),
            format!(
                "REVOKE SELECT ON {}.{} FROM {}",
                q(&t.schema),
                q(&t.table),
                q(user)
            ),
        ]
    }
    fn drop_user(&self, user: &str) -> Vec<String> {
        vec![
            format!(
                "IF EXISTS (SELECT 1 FROM sys.database_principals WHERE name = {}) DROP USER {}",
                n(user),
                q(user)
            ),
            format!(
                "IF EXISTS (SELECT 1 FROM sys.server_principals WHERE name = {}) DROP LOGIN {}",
                n(user),
                q(user)
            ),
        ]
    }
}
