//! A connector's schemas and tables as a DataFusion catalog, listed the way Athena lists
//! them (ListSchemas, ListTables with paging) and resolved with GetTable on use.
//!
//! Names behave as in Athena: schemas, tables and columns are presented in lower case and
//! matched case-insensitively; requests carry the real names the connector listed. A name
//! that matches two real ones (`Sales` and `sales`) is refused when used, naming both.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::common::{DataFusionError, Result};

use crate::protocol::TableName;

use super::table::{CatalogState, FederatedTable};

#[derive(Debug)]
pub struct FederatedCatalog {
    pub state: Arc<CatalogState>,
    /// Schema name → its table names, as the connector listed them (real case).
    pub schemas: Vec<(String, Vec<String>)>,
}

/// Every distinct lower-cased name, sorted.
fn lower_names<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    names
        .map(|n| n.to_lowercase())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Whether `real` is what the lower-case name `name` stands for.
fn stands_for(name: &str, real: &str) -> bool {
    real.to_lowercase() == name.to_lowercase()
}

/// The real names `name` stands for.
fn matches<'a>(names: impl Iterator<Item = &'a String>, name: &str) -> Vec<&'a String> {
    names.filter(|n| stands_for(name, n)).collect()
}

/// The official connectors' answer (`JDBCCaseResolver`) when a lower-case name matches
/// several real ones, as Athena relays it.
fn ambiguous(kind: &str, name: &str, within: &str, real: &[&String]) -> DataFusionError {
    let listed: Vec<String> = real.iter().map(|r| format!("\"{r}\"")).collect();
    let (what, from) = match kind {
        "Schema" => ("Schema", String::new()),
        _ => ("table", format!(" was returned from Database {within}")),
    };
    DataFusionError::Plan(format!(
        "GENERIC_USER_ERROR: {kind} name case insensitive match failed. More than one {what} that matches '{name}'{from} ({}; Athena matches names case-insensitively: rename one, or read it with a passthrough query)",
        listed.join(", ")
    ))
}

impl CatalogProvider for FederatedCatalog {
    fn schema_names(&self) -> Vec<String> {
        lower_names(self.schemas.iter().map(|(s, _)| s))
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        let found: Vec<&(String, Vec<String>)> = self
            .schemas
            .iter()
            .filter(|(s, _)| stands_for(name, s))
            .collect();
        if found.is_empty() {
            return None;
        }
        Some(Arc::new(FederatedSchema {
            state: self.state.clone(),
            name: name.to_lowercase(),
            schemas: found.into_iter().cloned().collect(),
        }))
    }
}

/// One lower-case schema name and the real schema(s) it stands for (two only when the
/// connector lists case twins; using either is then refused).
#[derive(Debug)]
pub struct FederatedSchema {
    state: Arc<CatalogState>,
    name: String,
    schemas: Vec<(String, Vec<String>)>,
}

#[async_trait]
impl SchemaProvider for FederatedSchema {
    fn table_names(&self) -> Vec<String> {
        lower_names(self.schemas.iter().flat_map(|(_, t)| t.iter()))
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        let [(schema, tables)] = self.schemas.as_slice() else {
            let real: Vec<&String> = self.schemas.iter().map(|(s, _)| s).collect();
            return Err(ambiguous("Schema", &self.name, "", &real));
        };
        let real = match matches(tables.iter(), name).as_slice() {
            [] => return Ok(None),
            [one] => (*one).clone(),
            many => return Err(ambiguous("Table", &name.to_lowercase(), schema, many)),
        };
        let table = self
            .state
            .client
            .get_table(&TableName::new(schema, &real), Default::default())
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(Some(Arc::new(FederatedTable::new(
            self.state.clone(),
            table,
        )?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.schemas
            .iter()
            .any(|(_, t)| t.iter().any(|t| stands_for(name, t)))
    }
}
