//! A connector's schemas and tables as a DataFusion catalog, listed the way Athena lists
//! them (ListSchemas, ListTables with paging) and resolved with GetTable on use.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::common::{DataFusionError, Result};

use crate::protocol::TableName;

use super::table::{CatalogState, FederatedTable};

#[derive(Debug)]
pub struct FederatedCatalog {
    pub state: Arc<CatalogState>,
    /// Schema name → its table names, as the connector listed them.
    pub schemas: Vec<(String, Vec<String>)>,
}

impl CatalogProvider for FederatedCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.schemas.iter().map(|(s, _)| s.clone()).collect()
    }

    /// DataFusion lower-cases unquoted names, as Athena does: match case-insensitively.
    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        let (schema, tables) = self.schemas.iter().find(|(s, _)| s == name).or_else(|| {
            self.schemas
                .iter()
                .find(|(s, _)| s.eq_ignore_ascii_case(name))
        })?;
        Some(Arc::new(FederatedSchema {
            state: self.state.clone(),
            schema: schema.clone(),
            tables: tables.clone(),
        }))
    }
}

#[derive(Debug)]
pub struct FederatedSchema {
    state: Arc<CatalogState>,
    schema: String,
    tables: Vec<String>,
}

#[async_trait]
impl SchemaProvider for FederatedSchema {
    fn table_names(&self) -> Vec<String> {
        self.tables.clone()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        if !self.table_exist(name) {
            return Ok(None);
        }
        let table = self
            .state
            .client
            .get_table(&TableName::new(&self.schema, name), Default::default())
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(Some(Arc::new(FederatedTable {
            state: self.state.clone(),
            table,
        })))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables.iter().any(|t| t.eq_ignore_ascii_case(name))
    }
}
