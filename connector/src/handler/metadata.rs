//! The metadata calls: schemas, tables, a table's schema and its partitions.

use super::*;
use crate::protocol::{
    GetTableLayoutRequest, GetTableRequest, ListSchemasRequest, ListTablesRequest,
};

impl Connector {
    pub(super) async fn list_schemas(
        &self,
        r: &ListSchemasRequest,
    ) -> Result<Response, HandlerError> {
        let (source, _) = self.source(&r.header.catalog_name).await?;
        Ok(Response::ListSchemas(ListSchemasResponse {
            catalog_name: r.header.catalog_name.clone(),
            schemas: source.list_schemas().await?,
        }))
    }

    pub(super) async fn list_tables(
        &self,
        r: &ListTablesRequest,
    ) -> Result<Response, HandlerError> {
        let (source, _) = self.source(&r.header.catalog_name).await?;
        let (tables, next_token) = match &r.schema_name {
            Some(schema) => {
                let page =
                    (r.page_size != UNLIMITED_PAGE_SIZE).then(|| r.page_size.max(1) as usize);
                let mut tables = source
                    .list_tables(schema, r.next_token.as_deref(), page.map(|p| p + 1))
                    .await?;
                let more = page.is_some_and(|p| tables.len() > p);
                if let Some(p) = page {
                    tables.truncate(p);
                }
                let token = if more {
                    tables.last().map(|t| t.table_name.clone())
                } else {
                    None
                };
                (tables, token)
            }
            None => {
                let mut all = Vec::new();
                for schema in source.list_schemas().await? {
                    all.extend(source.list_tables(&schema, None, None).await?);
                }
                (all, None)
            }
        };
        Ok(Response::ListTables(ListTablesResponse {
            tables,
            catalog_name: r.header.catalog_name.clone(),
            next_token,
        }))
    }

    pub(super) async fn get_table(&self, r: &GetTableRequest) -> Result<Response, HandlerError> {
        let (source, engine) = self.source(&r.header.catalog_name).await?;
        if !r.query_passthrough_arguments.is_empty() {
            let query = self.passthrough_query(&r.query_passthrough_arguments)?;
            let columns = source.query_columns(query).await?;
            let info = TableInfo {
                name: r.table_name.clone(),
                columns,
            };
            return Ok(Response::GetTable(GetTableResponse {
                catalog_name: r.header.catalog_name.clone(),
                table_name: r.table_name.clone(),
                schema: info.schema(),
                partition_columns: vec![],
            }));
        }
        let table = self
            .table(&r.header.catalog_name, source.as_ref(), &r.table_name)
            .await?;
        let (schema, partition_columns) = if self.config()?.partition_columns {
            (
                partition_columns::extend_schema(&table.schema(), engine),
                partition_columns::names(engine)
                    .iter()
                    .map(|n| (*n).to_owned())
                    .collect(),
            )
        } else {
            (table.schema(), vec![])
        };
        Ok(Response::GetTable(GetTableResponse {
            catalog_name: r.header.catalog_name.clone(),
            table_name: table.name.clone(),
            schema,
            partition_columns,
        }))
    }

    pub(super) async fn get_table_layout(
        &self,
        r: &GetTableLayoutRequest,
    ) -> Result<Response, HandlerError> {
        let (source, engine) = self.source(&r.header.catalog_name).await?;
        let partitions = if r.constraints.is_query_passthrough() {
            vec![TableSlice::whole_table().to_properties()]
        } else {
            let table = self
                .table(&r.header.catalog_name, source.as_ref(), &r.table_name)
                .await?;
            let (constraints, on_partitions) = self.database_constraints(&r.constraints, engine)?;
            let mut kept = Vec::new();
            for p in source.partitions(&table, &constraints).await? {
                let p = p.to_properties();
                if partition_columns::admits(&p, &on_partitions)? {
                    kept.push(p);
                }
            }
            kept
        };
        Ok(Response::GetTableLayout(GetTableLayoutResponse {
            catalog_name: r.header.catalog_name.clone(),
            table_name: r.table_name.clone(),
            partitions: splits::partitions_block(&r.header.query_id, &partitions)?,
        }))
    }

    /// The constraints the database evaluates, and the predicates on the partition
    /// columns (`partition_columns=true`), which prune partitions instead. Without the
    /// switch, the request's own constraints (not copied).
    pub(super) fn database_constraints<'c>(
        &self,
        constraints: &'c Constraints,
        engine: Engine,
    ) -> Result<
        (
            std::borrow::Cow<'c, Constraints>,
            IndexMap<String, crate::protocol::ValueSet>,
        ),
        HandlerError,
    > {
        Ok(if self.config()?.partition_columns {
            let (database, on_partitions) =
                partition_columns::database_constraints(constraints, engine);
            (std::borrow::Cow::Owned(database), on_partitions)
        } else {
            (std::borrow::Cow::Borrowed(constraints), IndexMap::new())
        })
    }

    /// What the database reads for a table's ReadRecords request: its constraints and
    /// schema without the partition columns, and where each of those goes in the answer
    /// with this split's value (`partition_columns=true`; none otherwise).
    pub(super) fn database_read<'r>(
        &self,
        r: &'r ReadRecordsRequest,
        engine: Engine,
    ) -> Result<DatabaseRead<'r>, HandlerError> {
        let (constraints, _) = self.database_constraints(&r.constraints, engine)?;
        let (schema, constants) = match self.config()?.partition_columns {
            true => partition_columns::split_schema(&r.schema, engine, &r.split.properties),
            false => (r.schema.clone(), vec![]),
        };
        Ok(DatabaseRead {
            constraints,
            schema,
            constants,
        })
    }
}
