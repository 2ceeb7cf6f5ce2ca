//! MySQL and MariaDB: a user at an explicit host, SELECT on the table. String literals are
//! single-quoted, so `ANSI_QUOTES` does not change their meaning.

use athena_connector::sql::{Dialect, MySql};

use super::{literal, GrantSql, TableTarget};

pub struct MySqlGrants {
    /// The host part of the account (`%`: any).
    pub host: String,
}

impl Default for MySqlGrants {
    fn default() -> Self {
        MySqlGrants { host: "%".into() }
    }
}

impl MySqlGrants {
    fn account(&self, user: &str) -> String {
        format!("{}@{}", literal(user), literal(&self.host))
    }
}

fn q(name: &str) -> String {
    MySql
        .quote(name)
        .expect("names are validated before statements are built")
}

impl GrantSql for MySqlGrants {
    fn user_exists(&self) -> &'static str {
        "SELECT 1 FROM mysql.user WHERE User = ?"
    }
    fn create_user(&self, user: &str, password: &str) -> Vec<String> {
        vec![format!(
            "CREATE USER IF NOT EXISTS {} IDENTIFIED BY {}",
            self.account(user),
            literal(password)
        )]
    }
    fn set_password(&self, user: &str, password: &str) -> Vec<String> {
        vec![format!(
            "ALTER USER {} IDENTIFIED BY {}",
            self.account(user),
            literal(password)
        )]
    }
    fn grant(&self, user: &str, t: &TableTarget) -> Vec<String> {
        vec![format!(
            "GRANT SELECT ON {}.{} TO {}",
            q(&t.database),
            q(&t.table),
            self.account(user)
        )]
    }
    fn revoke(&self, user: &str, t: &TableTarget, _last_in_schema: bool) -> Vec<String> {
        vec![format!(
            "REVOKE SELECT ON {}.{} FROM {}",
            q(&t.database),
            q(&t.table),
            self.account(user)
        )]
    }
    fn drop_user(&self, user: &str) -> Vec<String> {
        vec![format!("DROP USER IF EXISTS {}", self.account(user))]
    }
}
