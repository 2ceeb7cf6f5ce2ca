//! The producer database, as its administrator: runs the grant statements.
//!
//! PostgreSQL and MySQL/MariaDB are driven through sqlx. SQL Server and Oracle statements are
//! generated (and checked) but this build has no driver for them: provisioning those engines
//! fails with a clear error before any change.

use athena_connector::config::{Engine, JdbcUrl, TlsMode};
use athena_connector::secrets::Credentials;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};

use crate::grants::{GrantSql, MySqlGrants, PostgresGrants};
use crate::steps::StepError;

pub enum Admin {
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
}

fn db_err(e: sqlx::Error) -> StepError {
    // Statements hold passwords: only the server's message is reported.
    match e {
        sqlx::Error::Database(db) => StepError::Database(db.message().to_owned()),
        other => StepError::Database(other.to_string()),
    }
}

impl Admin {
    pub async fn connect(
        url: &JdbcUrl,
        database: &str,
        admin: &Credentials,
    ) -> Result<Admin, StepError> {
        match url.engine {
            Engine::Postgres => {
                let options = sqlx::postgres::PgConnectOptions::new_without_pgpass()
                    .host(&url.host)
                    .port(url.port_or_default())
                    .username(&admin.username)
                    .password(admin.password.expose())
                    .database(database)
                    .ssl_mode(match url.tls {
                        TlsMode::Disable => sqlx::postgres::PgSslMode::Disable,
                        TlsMode::Prefer => sqlx::postgres::PgSslMode::Prefer,
                        TlsMode::Require => sqlx::postgres::PgSslMode::Require,
                        TlsMode::VerifyCa => sqlx::postgres::PgSslMode::VerifyCa,
                        TlsMode::VerifyFull => sqlx::postgres::PgSslMode::VerifyFull,
                    })
                    // Statements carry passwords: sqlx must never log them.
                    .disable_statement_logging();
                Ok(Admin::Postgres(sqlx::PgConnection::connect_with(&options).await.map_err(db_err)?))
            }
            Engine::MySql => {
                let options = sqlx::mysql::MySqlConnectOptions::new()
                    .host(&url.host)
                    .port(url.port_or_default())
                    .username(&admin.username)
                    .password(admin.password.expose())
                    .ssl_mode(match url.tls {
                        TlsMode::Disable => sqlx::mysql::MySqlSslMode::Disabled,
                        TlsMode::Prefer => sqlx::mysql::MySqlSslMode::Preferred,
                        TlsMode::Require => sqlx::mysql::MySqlSslMode::Required,
                        TlsMode::VerifyCa => sqlx::mysql::MySqlSslMode::VerifyCa,
                        TlsMode::VerifyFull => sqlx::mysql::MySqlSslMode::VerifyIdentity,
                    })
                    .disable_statement_logging();
                Ok(Admin::MySql(sqlx::MySqlConnection::connect_with(&options).await.map_err(db_err)?))
            }
            other => Err(StepError::Unsupported(format!(
                "{other}: grant statements are generated, but this build has no {other} driver to run them"
            ))),
        }
    }

    /// The grant statements for this server (MySQL and MariaDB differ in password forms).
    pub async fn grant_sql(&mut self) -> Result<Box<dyn GrantSql>, StepError> {
        Ok(match self {
            Admin::Postgres(_) => Box::new(PostgresGrants),
            Admin::MySql(c) => {
                let version: String = sqlx::query_scalar("SELECT VERSION()")
                    .fetch_one(&mut *c)
                    .await
                    .map_err(db_err)?;
                Box::new(MySqlGrants::for_version(&version))
            }
        })
    }

    pub async fn user_exists(
        &mut self,
        query: &'static str,
        user: &str,
    ) -> Result<bool, StepError> {
        Ok(match self {
            Admin::Postgres(c) => sqlx::query(query)
                .bind(user)
                .fetch_optional(&mut *c)
                .await
                .map_err(db_err)?
                .is_some(),
            Admin::MySql(c) => sqlx::query(query)
                .bind(user)
                .fetch_optional(&mut *c)
                .await
                .map_err(db_err)?
                .is_some(),
        })
    }

    /// Runs `statements` in order (in one transaction where the engine has transactional DDL).
    pub async fn run(&mut self, statements: &[String]) -> Result<(), StepError> {
        match self {
            Admin::Postgres(c) => run_pg(c, statements).await,
            Admin::MySql(c) => run_my(c, statements).await,
        }
        .map_err(db_err)
    }

    /// Runs `create`; if the user appeared meanwhile (a concurrent grant), runs `alter`.
    pub async fn create_or_alter(
        &mut self,
        create: &[String],
        alter: &[String],
    ) -> Result<(), StepError> {
        let created = match self {
            Admin::Postgres(c) => run_pg(c, create).await,
            Admin::MySql(c) => run_my(c, create).await,
        };
        match created {
            Err(sqlx::Error::Database(db))
                if matches!(db.code().as_deref(), Some("42710" | "23505")) =>
            {
                self.run(alter).await
            }
            other => other.map_err(db_err),
        }
    }

    /// Runs `statements` one by one, treating "the target is already gone" (a dropped table,
    /// schema, database or user, a grant that no longer exists) as done: a revoke converges
    /// on a database that drifted, and a retried revoke succeeds.
    pub async fn run_ignoring_missing(&mut self, statements: &[String]) -> Result<(), StepError> {
        for s in statements {
            let result = match self {
                // Each statement its own transaction, run again if it lost an ACL race.
                Admin::Postgres(c) => run_pg(c, std::slice::from_ref(s)).await,
                Admin::MySql(c) => c.execute(AssertSqlSafe(s.clone())).await.map(drop),
            };
            match result {
                Err(sqlx::Error::Database(db)) if already_gone(db.as_ref()) => {
                    tracing::info!(reason = db.message(), "target already gone");
                }
                other => other.map_err(db_err)?,
            }
        }
        Ok(())
    }
}

/// Concurrent GRANTs on one database or schema race on its ACL row; that error is
/// transient, and the transaction is simply run again.
async fn run_pg(c: &mut sqlx::PgConnection, statements: &[String]) -> Result<(), sqlx::Error> {
    let mut attempt = 0;
    loop {
        let result = async {
            let mut tx = c.begin().await?;
            for s in statements {
                tx.execute(AssertSqlSafe(s.clone())).await?;
            }
            tx.commit().await
        }
        .await;
        match result {
            Err(e) if attempt < 5 && concurrently_updated(&e) => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
            }
            other => return other,
        }
    }
}

/// PostgreSQL's "tuple concurrently updated" (XX000): two sessions changed one catalog row,
/// an ACL that concurrent GRANTs or REVOKEs on one schema or database both rewrite.
fn concurrently_updated(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.message().contains("tuple concurrently updated"))
}

async fn run_my(c: &mut sqlx::MySqlConnection, statements: &[String]) -> Result<(), sqlx::Error> {
    for s in statements {
        c.execute(AssertSqlSafe(s.clone())).await?;
    }
    Ok(())
}

/// Errors meaning a REVOKE's or DROP's target does not exist (any more).
fn already_gone(db: &dyn sqlx::error::DatabaseError) -> bool {
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // ER_NONEXISTING_GRANT, ER_NONEXISTING_TABLE_GRANT, ER_NO_SUCH_TABLE, ER_BAD_DB_ERROR.
        return matches!(my.number(), 1141 | 1147 | 1146 | 1049);
    }
    // undefined_table, invalid_schema_name, undefined_object (role), invalid_catalog_name.
    matches!(
        db.code().as_deref(),
        Some("42P01" | "3F000" | "42704" | "3D000")
    )
}
