//! MySQL and MariaDB: a user at an explicit host, SELECT on the table. String literals are
//! single-quoted, so `ANSI_QUOTES` does not change their meaning.

use athena_connector::sql::{Dialect, MySql};

use super::{literal, verifier, GrantError, GrantSql, TableTarget};

pub struct MySqlGrants {
    /// The host part of the account (`%`: any).
    pub host: String,
    /// How the password is sent: MariaDB takes the `mysql_native_password` hash, so the
    /// password never reaches its logs; MySQL 8 has no hashed form for its default plugin
    /// (`caching_sha2_password`) but rewrites passwords out of its general, slow and binary
    /// logs itself.
    pub hashed: bool,
}

impl Default for MySqlGrants {
    fn default() -> Self {
        MySqlGrants {
            host: "%".into(),
            hashed: true,
        }
    }
}

impl MySqlGrants {
    /// The statements for a server reporting `version` (`SELECT VERSION()`).
    pub fn for_version(version: &str) -> MySqlGrants {
        MySqlGrants {
            hashed: version.to_ascii_lowercase().contains("mariadb") || version.starts_with("5."),
            ..MySqlGrants::default()
        }
    }

    fn account(&self, user: &str) -> String {
        format!("{}@{}", literal(user), literal(&self.host))
    }

    fn identified(&self, password: &str) -> String {
        if self.hashed {
            format!(
                "IDENTIFIED BY PASSWORD {}",
                literal(&verifier::mysql_native(password))
            )
        } else {
            format!("IDENTIFIED BY {}", literal(password))
        }
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
    fn create_user(&self, user: &str, password: &str) -> Result<Vec<String>, GrantError> {
        Ok(vec![format!(
            "CREATE USER IF NOT EXISTS {} {}",
            self.account(user),
            self.identified(password)
        )])
    }
    fn set_password(&self, user: &str, password: &str) -> Result<Vec<String>, GrantError> {
        Ok(vec![format!(
            "ALTER USER {} {}",
            self.account(user),
            self.identified(password)
        )])
    }
    fn grant(&self, user: &str, t: &TableTarget) -> Vec<String> {
        vec![format!(
            "GRANT SELECT ON {}.{} TO {}",
            q(&t.database),
            q(&t.table),
            self.account(user)
        )]
    }
    fn revoke(&self, user: &str, t: &TableTarget) -> Vec<String> {
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
