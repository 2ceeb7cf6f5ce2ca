//! Oracle: a user (names are upper case, quoted exactly), CREATE SESSION, SELECT on the table.

use athena_connector::sql::{Dialect, Oracle};

use super::{GrantError, GrantSql, TableTarget};

pub struct OracleGrants;

fn q(name: &str) -> String {
    Oracle
        .quote(name)
        .expect("names are validated before statements are built")
}

/// Oracle folds unquoted user names to upper case; the quoted name must match that.
fn u(user: &str) -> String {
    q(&user.to_ascii_uppercase())
}

impl GrantSql for OracleGrants {
    fn user_exists(&self) -> &'static str {
        "SELECT 1 FROM all_users WHERE username = UPPER(:1)"
    }
    fn create_user(&self, user: &str, password: &str) -> Result<Vec<String>, GrantError> {
        // Passwords are quoted identifiers in Oracle; generated ones never contain `"`.
        // One statement: Oracle commits each DDL statement, and a retry after a failure
        // between two would find the user and only set its password. CREATE SESSION is
        // granted with each table instead (repeatable).
        Ok(vec![format!(
            "CREATE USER {} IDENTIFIED BY \"{password}\"",
            u(user)
        )])
    }
    fn set_password(&self, user: &str, password: &str) -> Result<Vec<String>, GrantError> {
        Ok(vec![format!(
            "ALTER USER {} IDENTIFIED BY \"{password}\" ACCOUNT UNLOCK",
            u(user)
        )])
    }
    fn grant(&self, user: &str, t: &TableTarget) -> Vec<String> {
        vec![
            format!("GRANT CREATE SESSION TO {}", u(user)),
            format!(
                "GRANT SELECT ON {}.{} TO {}",
                q(&t.schema),
                q(&t.table),
                u(user)
            ),
        ]
    }
    fn revoke(&self, user: &str, t: &TableTarget) -> Vec<String> {
        vec![format!(
            "REVOKE SELECT ON {}.{} FROM {}",
            q(&t.schema),
            q(&t.table),
            u(user)
        )]
    }
    fn drop_user(&self, user: &str) -> Vec<String> {
        vec![format!("DROP USER {} CASCADE", u(user))]
    }
}
