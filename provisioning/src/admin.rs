//! The producer database, as its administrator: runs the grant statements.
//!
//! PostgreSQL and MySQL/MariaDB are driven through sqlx, SQL Server through tiberius (the
//! connector's login), Oracle through the `oracle` crate on blocking threads (Oracle Instant
//! Client is loaded at run time; without it the error says which library is missing).

use std::sync::Arc;
use std::time::Duration;

use athena_connector::config::{DriverOptions, Engine, JdbcUrl, TlsMode};
use athena_connector::secrets::Credentials;
use athena_connector::source::sqlserver::connect::{self as mssql, MsClient, OpenError};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};

use crate::grants::{GrantSql, MySqlGrants, OracleGrants, PostgresGrants, SqlServerGrants};
use crate::steps::StepError;

pub enum Admin {
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
    SqlServer(Box<MsClient>),
    Oracle(Arc<oracle::Connection>),
}

/// Oracle errors meaning the target of a revoke is already gone: no such user (ORA-01918),
/// table (ORA-00942) or object (ORA-04043), a privilege not granted (ORA-01927).
const ORACLE_GONE: &[i32] = &[1918, 942, 4043, 1927];
/// ORA-01920: the user name conflicts with another user (a concurrent grant created it).
const ORACLE_USER_EXISTS: i32 = 1920;

fn ora_code(e: &oracle::Error) -> Option<i32> {
    e.db_error().map(|d| d.code())
}

/// An Oracle error: its message only (statements hold passwords); a missing Instant
/// Client is named with how to provide it.
fn ora_err(target: &str, e: oracle::Error) -> StepError {
    StepError::Database(
        athena_connector::source::oracle::connect::oracle_error(target, e).to_string(),
    )
}

/// Runs statements one by one on a blocking thread (ODPI-C is synchronous); Oracle DDL and
/// GRANTs commit themselves.
async fn run_ora(
    c: &Arc<oracle::Connection>,
    statements: &[String],
) -> Result<Result<(), oracle::Error>, StepError> {
    let (c, statements) = (c.clone(), statements.to_vec());
    blocking(move || {
        for s in &statements {
            c.execute(s, &[])?;
        }
        Ok(())
    })
    .await
}

/// Runs `f` on a blocking thread; a task that panicked or was cancelled is an error, not a
/// panic here.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StepError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StepError::Database(format!("the Oracle task stopped: {e}")))
}

/// How long the administrator's login to Oracle may take (ODPI-C's connect has no limit of
/// its own; the blocking thread is abandoned past it).
const ORACLE_LOGIN_TIMEOUT: Duration = Duration::from_secs(15);

/// SQL Server errors meaning the target of a revoke is already gone: no such login or user
/// (15151, 15007), database (911), object (208, 3701).
const SQL_SERVER_GONE: &[u32] = &[15151, 15007, 911, 208, 3701];
/// "The server principal already exists" (a concurrent grant created the login first).
const SQL_SERVER_PRINCIPAL_EXISTS: u32 = 15025;

/// A SQL Server error: only the server's message and number (statements hold password
/// hashes).
fn ms_err(e: tiberius::error::Error) -> StepError {
    match e {
        tiberius::error::Error::Server(t) => {
            StepError::Database(format!("{} (error {})", t.message(), t.code()))
        }
        other => StepError::Database(other.to_string()),
    }
}

fn ms_code(e: &tiberius::error::Error) -> Option<u32> {
    match e {
        tiberius::error::Error::Server(t) => Some(t.code()),
        _ => None,
    }
}

/// Runs statements one batch each, in order, on the same session (a `USE` carries over).
async fn run_ms(c: &mut MsClient, statements: &[String]) -> Result<(), tiberius::error::Error> {
    for s in statements {
        c.simple_query(s.as_str()).await?.into_results().await?;
    }
    Ok(())
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
            Engine::SqlServer => {
                let (driver, _) = DriverOptions::from_params(url.engine, &url.params)
                    .map_err(|e| StepError::Input(e.to_string()))?;
                let mut url = url.clone();
                url.database = Some(database.to_owned());
                let config = mssql::config(
                    &url,
                    &driver,
                    &admin.username,
                    Some(&admin.password),
                );
                match mssql::open(config, mssql::login_timeout(&driver)).await {
                    Ok(c) => Ok(Admin::SqlServer(Box::new(c))),
                    Err(OpenError::Rejected(m)) => Err(StepError::Database(format!(
                        "the administrator's login was rejected: {m}"
                    ))),
                    Err(OpenError::Other(e)) => Err(StepError::Database(format!(
                        "cannot connect to {}:{}: {e}",
                        url.host,
                        url.port_or_default()
                    ))),
                }
            }
            Engine::Oracle => {
                let target = format!("{}:{}", url.host, url.port_or_default());
                let connect_string = athena_connector::source::oracle::connect_string(url);
                let (user, password) = (admin.username.clone(), admin.password.clone());
                let login = blocking(move || {
                    oracle::Connector::new(user, password.expose(), connect_string).connect()
                });
                let conn = tokio::time::timeout(ORACLE_LOGIN_TIMEOUT, login)
                    .await
                    .map_err(|_| {
                        StepError::Database(format!(
                            "cannot connect to {target}: no login within {} s",
                            ORACLE_LOGIN_TIMEOUT.as_secs()
                        ))
                    })??
                    .map_err(|e| ora_err(&target, e))?;
                Ok(Admin::Oracle(Arc::new(conn)))
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
            Admin::SqlServer(_) => Box::new(SqlServerGrants),
            Admin::Oracle(_) => Box::new(OracleGrants),
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
            Admin::SqlServer(c) => {
                let mut q = tiberius::Query::new(query);
                q.bind(user);
                let rows = q.query(c).await.map_err(ms_err)?;
                !rows.into_first_result().await.map_err(ms_err)?.is_empty()
            }
            Admin::Oracle(c) => {
                let (c, user) = (c.clone(), user.to_owned());
                blocking(move || {
                    c.query(query, &[&user])
                        .map(|mut rows| rows.next().is_some())
                })
                .await?
                .map_err(|e| ora_err("oracle", e))?
            }
        })
    }

    /// Runs `statements` in order (in one transaction where the engine has transactional DDL).
    pub async fn run(&mut self, statements: &[String]) -> Result<(), StepError> {
        match self {
            Admin::Postgres(c) => run_pg(c, statements).await.map_err(db_err),
            Admin::MySql(c) => run_my(c, statements).await.map_err(db_err),
            Admin::SqlServer(c) => run_ms(c, statements).await.map_err(ms_err),
            Admin::Oracle(c) => run_ora(c, statements)
                .await?
                .map_err(|e| ora_err("oracle", e)),
        }
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
            Admin::Oracle(c) => {
                return match run_ora(c, create).await? {
                    Err(e) if ora_code(&e) == Some(ORACLE_USER_EXISTS) => self.run(alter).await,
                    other => other.map_err(|e| ora_err("oracle", e)),
                }
            }
            Admin::SqlServer(c) => {
                return match run_ms(c, create).await {
                    Err(e) if ms_code(&e) == Some(SQL_SERVER_PRINCIPAL_EXISTS) => {
                        self.run(alter).await
                    }
                    other => other.map_err(ms_err),
                }
            }
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
            if let Admin::Oracle(c) = self {
                match run_ora(c, std::slice::from_ref(s)).await? {
                    Err(e) if ora_code(&e).is_some_and(|n| ORACLE_GONE.contains(&n)) => {
                        tracing::info!(code = ora_code(&e), "target already gone");
                    }
                    other => other.map_err(|e| ora_err("oracle", e))?,
                }
                continue;
            }
            if let Admin::SqlServer(c) = self {
                match run_ms(c, std::slice::from_ref(s)).await {
                    Err(e) if ms_code(&e).is_some_and(|n| SQL_SERVER_GONE.contains(&n)) => {
                        tracing::info!(reason = %e, "target already gone");
                    }
                    other => other.map_err(ms_err)?,
                }
                continue;
            }
            let result = match self {
                // Each statement its own transaction, run again if it lost an ACL race.
                Admin::Postgres(c) => run_pg(c, std::slice::from_ref(s)).await,
                Admin::MySql(c) => c.execute(AssertSqlSafe(s.clone())).await.map(drop),
                Admin::SqlServer(_) | Admin::Oracle(_) => unreachable!("handled above"),
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
