//! `provision map-assets`: a JDBC database's tables into the Glue catalog without a crawler,
//! with the connector's own metadata and type mapping, so what Athena reads through the
//! connector is what the catalog says.
//!
//! One Glue table per source table, named `<schema>_<table>` in lower case (Glue's names
//! are), its location the real names as the grant step reads them (`database.schema.table`,
//! MySQL `database.table`), its columns the Glue/Hive types of the Athena types the connector
//! serves, and in its parameters the connection, the classification and a fingerprint of
//! the source's definition. A run that finds nothing changed writes nothing; a table edited
//! by hand since it was mapped is reported, not overwritten, unless told to; a source table
//! that is gone is removed only when told to.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::DataType;
use athena_connector::config::{CasingMode, DriverOptions, Engine};
use athena_connector::protocol::TableName;
use athena_connector::secrets::{SecretCache, SecretsManager};
use athena_connector::source::{open_server, Connect, Database, TableInfo};
use aws_sdk_glue::types::{Column as GlueColumn, StorageDescriptor, Table, TableInput};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::context::Context;
use crate::glue::{jdbc_connection, Connection, JdbcConnection};
use crate::grants::TableTarget;
use crate::steps::StepError;

/// Table parameter marking a table this mapper made.
pub const MAPPED_BY: &str = "athena_fed_mapped_by";
/// Table parameter: the fingerprint of the definition the mapper wrote.
pub const FINGERPRINT: &str = "athena_fed_fingerprint";
const MAPPER: &str = "provision map-assets";

/// What to map (as the scheduled Lambda step receives it: `{"Connection": …, "Project": …,
/// "Database": …, "Tables": […], "Prune": false, "Overwrite": false}`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MapRequest {
    /// The Glue connection (JDBC URL and admin secret) of the source database.
    pub connection: String,
    /// The project the connection and its admin secret must be tagged for.
    #[serde(rename = "Project")]
    pub producer_project: String,
    /// The Glue database the tables are written to (created when missing; Glue names are
    /// lower case).
    pub database: String,
    /// `schema.table` patterns (`*` matches any run of characters; case-insensitive).
    pub tables: Vec<String>,
    /// Remove mapped tables whose source table is gone.
    #[serde(default)]
    pub prune: bool,
    /// Overwrite tables edited since they were mapped (or not made by the mapper).
    #[serde(default)]
    pub overwrite: bool,
}

/// What a run did, by Glue table name.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct MapReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    /// Edited since mapped, or not made by the mapper: left as they are.
    pub edited: Vec<String>,
    /// Their source table is gone; kept (run with `prune` to remove them).
    pub stale: Vec<String>,
    pub deleted: Vec<String>,
}

/// A Glue table as the mapper writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub name: String,
    pub location: String,
    /// (name, Glue type), in table order.
    pub columns: Vec<(String, String)>,
}

/// The Glue/Hive type of an Athena type the connector serves.
pub fn glue_type(t: &DataType) -> Option<String> {
    Some(match t {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal128(p, s) => format!("decimal({p},{s})"),
        DataType::Utf8 => "string".into(),
        DataType::Binary => "binary".into(),
        DataType::Date32 => "date".into(),
        DataType::Date64 => "timestamp".into(),
        DataType::List(f) => format!("array<{}>", glue_type(f.data_type())?),
        _ => return None,
    })
}

/// The Glue table for a source table of `database` (the URL's database).
pub fn mapped(engine: Engine, database: &str, t: &TableInfo) -> Result<Mapped, StepError> {
    let (schema, table) = (&t.name.schema_name, &t.name.table_name);
    let location = match engine {
        Engine::MySql => format!("{schema}.{table}"),
        _ => format!("{database}.{schema}.{table}"),
    };
    let columns = t
        .columns
        .values()
        .map(|c| {
            glue_type(&c.data_type)
                .map(|g| (c.name.to_lowercase(), g))
                .ok_or_else(|| {
                    StepError::Input(format!(
                        "{schema}.{table}.{}: no Glue type for {}",
                        c.name, c.data_type
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(Mapped {
        name: format!("{schema}_{table}").to_lowercase(),
        location,
        columns,
    })
}

impl Mapped {
    /// A digest of the location and the columns: equal definitions, equal fingerprints.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.location, &self.columns)
    }

    fn table_input(&self, connection: &str, engine: Engine) -> Result<TableInput, StepError> {
        let columns = self
            .columns
            .iter()
            .map(|(n, t)| GlueColumn::builder().name(n).r#type(t).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StepError::Input(e.to_string()))?;
        TableInput::builder()
            .name(&self.name)
            .table_type("EXTERNAL_TABLE")
            .parameters("connectionName", connection)
            .parameters("classification", classification(engine))
            .parameters("typeOfData", "table")
            .parameters(MAPPED_BY, MAPPER)
            .parameters(FINGERPRINT, self.fingerprint())
            .storage_descriptor(
                StorageDescriptor::builder()
                    .location(&self.location)
                    .set_columns(Some(columns))
                    .build(),
            )
            .build()
            .map_err(|e| StepError::Input(e.to_string()))
    }
}

fn fingerprint(location: &str, columns: &[(String, String)]) -> String {
    let mut h = Sha256::new();
    h.update(location.as_bytes());
    for (n, t) in columns {
        h.update([0]);
        h.update(n.as_bytes());
        h.update([1]);
        h.update(t.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The classification crawlers write for each engine.
fn classification(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "postgresql",
        Engine::MySql => "mysql",
        Engine::SqlServer => "sqlserver",
        Engine::Oracle => "oracle",
        Engine::Sqlite => "sqlite",
    }
}

/// Whether `name` matches `pattern` (`*` any run of characters), ignoring case.
pub fn matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// The definition a Glue table holds now (as [`Mapped`]), and the fingerprint the mapper
/// wrote on it, if it made it.
fn current(t: &Table) -> (Mapped, Option<String>) {
    let sd = t.storage_descriptor();
    let definition = Mapped {
        name: t.name().to_owned(),
        location: sd.and_then(|s| s.location()).unwrap_or_default().to_owned(),
        columns: sd
            .map(|s| s.columns())
            .unwrap_or_default()
            .iter()
            .map(|c| {
                (
                    c.name().to_owned(),
                    c.r#type().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
    };
    let params = t.parameters();
    let ours = params
        .and_then(|p| p.get(MAPPED_BY))
        .is_some_and(|m| m == MAPPER);
    let stored = params
        .and_then(|p| p.get(FINGERPRINT))
        .filter(|_| ours)
        .cloned();
    (definition, stored)
}

fn aws<E>(what: &str, e: aws_sdk_glue::error::SdkError<E>) -> StepError
where
    E: std::error::Error + aws_sdk_glue::error::ProvideErrorMetadata + 'static,
{
    StepError::Aws(format!("{what}: {}", crate::aws_error(&e)))
}

/// Opens the source database through the connector, as the admin secret's user.
fn open(ctx: &Context, c: &JdbcConnection) -> Result<Database, StepError> {
    let (driver, _) = DriverOptions::from_params(c.url.engine, &c.url.params)
        .map_err(|e| StepError::Input(e.to_string()))?;
    let secrets = Arc::new(SecretCache::new(
        Arc::new(SecretsManager::new(&ctx.producer)),
        Duration::from_secs(60),
    ));
    open_server(
        Connect {
            url: c.url.clone(),
            secret: Some(c.admin_secret.clone()),
            secrets,
            iam: None,
            driver,
            casing: CasingMode::None,
        },
        0,
    )
    .map_err(|e| StepError::Input(e.to_string()))
}

/// Maps the selected tables of the request's connection into its Glue database.
pub async fn map_assets(ctx: &Context, r: &MapRequest) -> Result<MapReport, StepError> {
    let account = aws_sdk_sts::Client::new(&ctx.producer)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| StepError::Aws(format!("sts:GetCallerIdentity: {}", crate::aws_error(&e))))?
        .account()
        .unwrap_or_default()
        .to_owned();
    let region = ctx
        .producer
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let c =
        match jdbc_connection(ctx, &account, &region, &r.connection, &r.producer_project).await? {
            Connection::Jdbc(c) => c,
            Connection::NotJdbc(why) => return Err(StepError::Input(why)),
        };
    let engine = c.url.engine;
    let database = c.url.database.clone().unwrap_or_default();
    // Glue keeps database names in lower case.
    let glue_database = r.database.to_lowercase();
    let source = open(ctx, &c)?;
    // `schema.table` patterns; a bare pattern means every table of the schemas it matches.
    let patterns: Vec<(&str, &str)> = r
        .tables
        .iter()
        .map(|p| p.split_once('.').unwrap_or((p, "*")))
        .collect();
    let selected = |schema: &str, table: &str| {
        patterns
            .iter()
            .any(|(ps, pt)| matches(ps, schema) && matches(pt, table))
    };
    // The source's tables, mapped.
    let mut wanted: BTreeMap<String, Mapped> = BTreeMap::new();
    let source_error =
        |e: athena_connector::source::SourceError| StepError::Database(e.to_string());
    for schema in source.list_schemas().await.map_err(source_error)? {
        if !patterns.iter().any(|(ps, _)| matches(ps, &schema)) {
            continue;
        }
        for t in source
            .list_tables(&schema, None, None)
            .await
            .map_err(source_error)?
        {
            // Only what a grant would accept: the connection's allowed schemas, and no
            // system catalog (the grant step's own check).
            let target = TableTarget {
                database: database.clone(),
                schema: t.schema_name.clone(),
                table: t.table_name.clone(),
            };
            if !selected(&t.schema_name, &t.table_name)
                || target
                    .check_scope(engine, c.allowed_schemas.as_deref())
                    .is_err()
            {
                continue;
            }
            let info = source
                .table(&TableName::new(t.schema_name.clone(), t.table_name.clone()))
                .await
                .map_err(source_error)?;
            let m = mapped(engine, &database, &info)?;
            if let Some(other) = wanted.get(&m.name) {
                return Err(StepError::Input(format!(
                    "{} and {} would both be Glue table {} (Glue names are lower case)",
                    other.location, m.location, m.name
                )));
            }
            wanted.insert(m.name.clone(), m);
        }
    }
    // The Glue database's tables now.
    let glue = ctx.glue();
    // Created only when missing: a rerun with nothing changed makes no write call.
    if let Err(e) = glue.get_database().name(&glue_database).send().await {
        if !e
            .as_service_error()
            .is_some_and(|s| s.is_entity_not_found_exception())
        {
            return Err(aws("glue:GetDatabase", e));
        }
        glue.create_database()
            .database_input(
                aws_sdk_glue::types::DatabaseInput::builder()
                    .name(&glue_database)
                    .build()
                    .map_err(|e| StepError::Input(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| aws("glue:CreateDatabase", e))?;
    }
    let mut existing: BTreeMap<String, Table> = BTreeMap::new();
    let mut pages = glue
        .get_tables()
        .database_name(&glue_database)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for t in page.map_err(|e| aws("glue:GetTables", e))?.table_list() {
            existing.insert(t.name().to_owned(), t.clone());
        }
    }
    let mut report = MapReport::default();
    for (name, m) in &wanted {
        let input = m.table_input(&r.connection, engine)?;
        match existing.get(name) {
            None => {
                glue.create_table()
                    .database_name(&glue_database)
                    .table_input(input)
                    .send()
                    .await
                    .map_err(|e| aws("glue:CreateTable", e))?;
                report.created.push(name.clone());
            }
            Some(t) => {
                let (now, stored) = current(t);
                let now = now.fingerprint();
                let untouched = stored.as_deref() == Some(now.as_str());
                if untouched && now == m.fingerprint() {
                    report.unchanged.push(name.clone());
                } else if untouched || r.overwrite {
                    glue.update_table()
                        .database_name(&glue_database)
                        .table_input(input)
                        .send()
                        .await
                        .map_err(|e| aws("glue:UpdateTable", e))?;
                    report.updated.push(name.clone());
                } else {
                    report.edited.push(name.clone());
                }
            }
        }
    }
    // Mapped tables of this connection and selection whose source is gone (another
    // selection's tables in the same database are not this run's to report or prune).
    let in_selection = |t: &Table| {
        t.storage_descriptor()
            .and_then(|sd| sd.location())
            .and_then(|l| TableTarget::parse(engine, l).ok())
            .is_some_and(|target| selected(&target.schema, &target.table))
    };
    let gone: BTreeSet<&String> = existing
        .iter()
        .filter(|(name, t)| {
            !wanted.contains_key(*name)
                && current(t).1.is_some()
                && t.parameters().and_then(|p| p.get("connectionName")) == Some(&r.connection)
                && in_selection(t)
        })
        .map(|(name, _)| name)
        .collect();
    for name in gone {
        if r.prune {
            glue.delete_table()
                .database_name(&glue_database)
                .name(name)
                .send()
                .await
                .map_err(|e| aws("glue:DeleteTable", e))?;
            report.deleted.push(name.clone());
        } else {
            report.stale.push(name.clone());
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_any_run_ignoring_case() {
        assert!(matches("*", "Orders"));
        assert!(matches("ord*", "Orders"));
        assert!(matches("*_2024", "sales_2024"));
        assert!(!matches("ord*", "customers"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXbYY"));
    }

    #[test]
    fn every_athena_type_has_its_glue_type() {
        use arrow::datatypes::Field;
        let cases = [
            (DataType::Boolean, "boolean"),
            (DataType::Int8, "tinyint"),
            (DataType::Int16, "smallint"),
            (DataType::Int32, "int"),
            (DataType::Int64, "bigint"),
            (DataType::Float32, "float"),
            (DataType::Float64, "double"),
            (DataType::Decimal128(38, 10), "decimal(38,10)"),
            (DataType::Utf8, "string"),
            (DataType::Binary, "binary"),
            (DataType::Date32, "date"),
            (DataType::Date64, "timestamp"),
            (
                DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
                "array<int>",
            ),
        ];
        for (t, g) in cases {
            assert_eq!(glue_type(&t).as_deref(), Some(g), "{t}");
        }
        assert_eq!(glue_type(&DataType::Null), None);
    }
}
