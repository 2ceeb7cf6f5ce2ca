//! Glue table → its connection → JDBC URL and admin secret, with ownership checked: the
//! connection and the admin secret must be tagged for the producer project, not merely be
//! named by the table.

use athena_connector::config::{Engine, JdbcUrl, TlsMode};

use crate::context::Context;
use crate::grants::TableTarget;
use crate::steps::StepError;
use crate::subscription::SubscriptionDetails;

/// The tag naming the DataZone project that owns a connection or secret.
pub const PROJECT_TAG: &str = "AmazonDataZoneProject";

/// The Glue connection's AthenaProperties key limiting the schemas it may grant from.
pub const ALLOWED_SCHEMAS: &str = "allowed_schemas";

/// A JDBC-backed subscribed table.
#[derive(Debug, Clone)]
pub struct JdbcTable {
    pub connection_arn: String,
    pub url: JdbcUrl,
    pub admin_secret: String,
    pub target: TableTarget,
    /// `engine://host:port`: users are per server and environment.
    pub server: String,
}

pub enum Resolution {
    Jdbc(Box<JdbcTable>),
    /// Not a JDBC-backed Glue table: grant and revoke are successful no-ops.
    NotJdbc(String),
}

pub async fn resolve(ctx: &Context, d: &SubscriptionDetails) -> Result<Resolution, StepError> {
    if d.asset_details.asset_type != "GlueTableAssetType" {
        return Ok(Resolution::NotJdbc(format!(
            "asset type {} is not a Glue table",
            d.asset_details.asset_type
        )));
    }
    let Some(g) = &d.asset_details.glue_table_details else {
        return Ok(Resolution::NotJdbc(
            "the asset has no Glue table details".into(),
        ));
    };
    let glue = ctx.glue();
    let table = glue
        .get_table()
        .catalog_id(&g.account_id)
        .database_name(&g.database_name)
        .name(&g.table_name)
        .send()
        .await
        .map_err(|e| {
            StepError::Aws(format!(
                "glue:GetTable {}.{}: {}",
                g.database_name,
                g.table_name,
                crate::aws_error(&e)
            ))
        })?;
    let table = table
        .table()
        .ok_or_else(|| StepError::Aws("glue:GetTable returned no table".into()))?;
    let params = table.parameters();
    let Some(connection) = params
        .and_then(|p| p.get("connectionName"))
        .filter(|c| !c.is_empty())
    else {
        return Ok(Resolution::NotJdbc(format!(
            "table {}.{} has no Glue connection (not JDBC-backed)",
            g.database_name, g.table_name
        )));
    };
    let location = table
        .storage_descriptor()
        .and_then(|s| s.location())
        .ok_or_else(|| {
            StepError::Input(format!(
                "table {}.{} has no StorageDescriptor.Location",
                g.database_name, g.table_name
            ))
        })?;
    let found = jdbc_connection(
        ctx,
        &g.account_id,
        &g.region,
        connection,
        &d.producer_project_details.project_id,
    )
    .await?;
    let conn = match found {
        Connection::Jdbc(c) => *c,
        Connection::NotJdbc(why) => return Ok(Resolution::NotJdbc(why)),
    };
    let target = TableTarget::parse(conn.url.engine, location)
        .map_err(|e| StepError::Input(e.to_string()))?;
    target
        .check_scope(conn.url.engine, conn.allowed_schemas.as_deref())
        .map_err(|e| {
            StepError::Forbidden(format!("table {}.{}: {e}", g.database_name, g.table_name))
        })?;
    if conn.url.engine == Engine::Sqlite {
        return Ok(Resolution::NotJdbc("SQLite is not a server".into()));
    }
    Ok(Resolution::Jdbc(Box::new(JdbcTable {
        connection_arn: conn.connection_arn,
        server: conn.server,
        url: conn.url,
        admin_secret: conn.admin_secret,
        target,
    })))
}

/// A Glue JDBC connection, checked to belong to the producer project.
#[derive(Debug, Clone)]
pub struct JdbcConnection {
    pub connection_arn: String,
    pub url: JdbcUrl,
    pub admin_secret: String,
    /// `engine://host:port`: users are per server and environment.
    pub server: String,
    /// The schemas it may grant from (`allowed_schemas`), if limited.
    pub allowed_schemas: Option<Vec<String>>,
}

pub enum Connection {
    Jdbc(Box<JdbcConnection>),
    /// Not a JDBC connection (why).
    NotJdbc(String),
}

/// Glue connection `connection` of account `account_id`: its JDBC URL and admin secret,
/// both tagged for project `producer` (a connection someone else's table names is refused).
pub async fn jdbc_connection(
    ctx: &Context,
    account_id: &str,
    region: &str,
    connection: &str,
    producer: &str,
) -> Result<Connection, StepError> {
    let glue = ctx.glue();
    let conn = glue
        .get_connection()
        .catalog_id(account_id)
        .name(connection)
        .send()
        .await
        .map_err(|e| {
            StepError::Aws(format!(
                "glue:GetConnection {connection}: {}",
                crate::aws_error(&e)
            ))
        })?;
    let conn = conn
        .connection()
        .ok_or_else(|| StepError::Aws("glue:GetConnection returned no connection".into()))?;
    let props = conn.connection_properties().cloned().unwrap_or_default();
    let prop = |k: &str| {
        props
            .iter()
            .find(|(key, _)| key.as_str() == k)
            .map(|(_, v)| v.clone())
    };
    // A JDBC URL makes it a JDBC connection (some APIs leave the type out).
    let declared = conn.connection_type().map(|t| t.as_str().to_owned());
    let Some(url_text) =
        prop("JDBC_CONNECTION_URL").filter(|_| declared.as_deref().is_none_or(|t| t == "JDBC"))
    else {
        return Ok(Connection::NotJdbc(format!(
            "connection {connection} is not a JDBC connection"
        )));
    };
    let admin_secret = prop("SECRET_ID").ok_or_else(|| {
        StepError::Input(format!(
            "connection {connection} has no SECRET_ID (an admin secret is required)"
        ))
    })?;
    let mut url = JdbcUrl::parse(&url_text)
        .map_err(|e| StepError::Input(format!("connection {connection}: {e}")))?;
    if prop("JDBC_ENFORCE_SSL").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        && url.tls < TlsMode::Require
    {
        url.tls = TlsMode::Require;
    }
    let connection_arn = format!("arn:aws:glue:{region}:{account_id}:connection/{connection}");
    // Ownership: both the connection and its admin secret belong to the producer project.
    let tags = glue
        .get_tags()
        .resource_arn(&connection_arn)
        .send()
        .await
        .map_err(|e| {
            StepError::Aws(format!(
                "glue:GetTags {connection_arn}: {}",
                crate::aws_error(&e)
            ))
        })?;
    if tags
        .tags()
        .and_then(|t| t.get(PROJECT_TAG))
        .map(String::as_str)
        != Some(producer)
    {
        return Err(StepError::Forbidden(format!("connection {connection} is not tagged {PROJECT_TAG}={producer}: it does not belong to the producer project")));
    }
    let secret = ctx
        .secrets()
        .describe_secret()
        .secret_id(&admin_secret)
        .send()
        .await
        .map_err(|e| {
            StepError::Aws(format!(
                "secretsmanager:DescribeSecret of the admin secret: {}",
                crate::aws_error(&e)
            ))
        })?;
    if !secret
        .tags()
        .iter()
        .any(|t| t.key() == Some(PROJECT_TAG) && t.value() == Some(producer))
    {
        return Err(StepError::Forbidden(format!(
            "the admin secret of connection {connection} is not tagged {PROJECT_TAG}={producer}"
        )));
    }
    // The schemas this connection may grant from: `allowed_schemas` in the connection's
    // AthenaProperties, comma-separated exact names (MySQL: databases).
    let allowed: Option<Vec<String>> = conn
        .athena_properties()
        .and_then(|p| p.get(ALLOWED_SCHEMAS))
        .map(|v| crate::governance::list(v));
    let server = format!(
        "{}://{}:{}",
        url.engine,
        url.host.to_ascii_lowercase(),
        url.port_or_default()
    );
    Ok(Connection::Jdbc(Box::new(JdbcConnection {
        connection_arn,
        url,
        admin_secret,
        server,
        allowed_schemas: allowed,
    })))
}
