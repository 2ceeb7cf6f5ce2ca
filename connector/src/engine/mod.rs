//! The local engine: DataFusion playing Athena's part. Each registered catalog is a
//! connector reached through a [`Transport`] (in-process or `lambda:Invoke`); every call goes
//! through the JSON protocol, in the order Athena makes them.

pub mod athena_sql;
mod catalog;
pub mod demo;
pub mod lambda;
pub mod names;
pub mod pushdown;
mod table;
mod top_n;

use std::sync::Arc;

use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};

use crate::client::{Client, ClientError, Transport};
use crate::protocol::{
    GetDataSourceCapabilitiesRequest, Request, RequestHeader, Response, SerDeVersion, Split,
};
use crate::spill::store::BlockStore;

pub use table::{FederatedScanExec, Progress};

use catalog::FederatedCatalog;
use pushdown::Capabilities;
use table::CatalogState;

/// Where a catalog's spilled blocks are read from.
#[derive(Debug, Clone, Default)]
pub struct SpillReader {
    pub store: Option<Arc<dyn BlockStore>>,
    /// Each block is deleted once read (the engine's own local directory).
    pub delete_after_read: bool,
}

/// The block size the engine asks connectors for (`maxBlockSize`).
pub const ENGINE_BLOCK_SIZE: i64 = 4_000_000;

/// Page size for ListTables while registering a catalog.
const LIST_PAGE: i32 = 1000;

pub struct Engine {
    pub ctx: SessionContext,
    pub parallelism: usize,
    pub progress: Arc<Progress>,
}

impl Engine {
    /// An engine reading at most `parallelism` splits at once.
    pub fn new(parallelism: usize) -> Engine {
        let parallelism = parallelism.max(1);
        let config = SessionConfig::new()
            .with_target_partitions(parallelism)
            .with_information_schema(true);
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(top_n::PushTopN))
            .build();
        let ctx = SessionContext::new_with_state(state);
        athena_sql::register(&ctx);
        Engine {
            ctx,
            parallelism,
            progress: Arc::new(Progress::default()),
        }
    }

    /// Plans `sql` as Athena would read it: identifiers matched case-insensitively, quoted
    /// or not, and result columns named as Athena names them.
    pub async fn sql(&self, sql: &str) -> datafusion::error::Result<DataFrame> {
        let folded = names::fold_quoted_identifiers(sql)?;
        let df = self.ctx.sql(&folded).await?;
        names::athena_headers(sql, df)
    }

    /// Registers catalog `name`: Ping, capabilities, ListSchemas and ListTables (paged), as
    /// Athena does when it first browses a catalog. Spilled blocks are read from `spill`.
    pub async fn register(
        &self,
        name: &str,
        transport: Arc<dyn Transport>,
        spill: SpillReader,
    ) -> Result<Vec<String>, ClientError> {
        let mut client = Client::new(transport, name);
        // Smaller blocks than Athena's 16 MB: a split in flight holds a few blocks at each
        // stage (being read, encoded, encrypted, written; fetched, decrypted, decoded), so
        // the block size sets the engine's memory per split.
        client.max_block_size = ENGINE_BLOCK_SIZE;
        client.store = spill.store;
        client.delete_after_read = spill.delete_after_read;
        client.ping().await?;
        let capabilities = if client.version >= SerDeVersion::V4 {
            let header = RequestHeader {
                identity: client.identity.clone(),
                query_id: client.query_id.clone(),
                catalog_name: name.to_owned(),
            };
            match client
                .send(Request::GetDataSourceCapabilities(
                    GetDataSourceCapabilitiesRequest { header },
                ))
                .await?
            {
                Response::GetDataSourceCapabilities(c) => {
                    Capabilities::from_response(&c.capabilities)
                }
                _ => Capabilities::default(),
            }
        } else {
            Capabilities::default()
        };
        let mut schemas = Vec::new();
        for schema in client.list_schemas().await? {
            let tables = client
                .list_tables(&schema, LIST_PAGE)
                .await?
                .into_iter()
                .map(|t| t.table_name)
                .collect();
            schemas.push((schema, tables));
        }
        let names = schemas.iter().map(|(s, _)| s.clone()).collect();
        let state = Arc::new(CatalogState {
            client,
            capabilities,
            parallelism: self.parallelism,
            progress: self.progress.clone(),
        });
        self.ctx
            .register_catalog(name, Arc::new(FederatedCatalog { state, schemas }));
        Ok(names)
    }

    /// Every federated scan of a plan, with its splits (planned now) and, where the
    /// transport can tell, each split's SQL.
    pub async fn explain_scans(&self, plan: &Arc<dyn ExecutionPlan>) -> Vec<String> {
        let mut scans = Vec::new();
        collect_scans(plan, &mut scans);
        let mut out = Vec::new();
        for scan in scans {
            out.push(
                datafusion::physical_plan::displayable(scan.as_ref())
                    .one_line()
                    .to_string()
                    .trim_end()
                    .to_owned(),
            );
            let Some(s) = (scan.as_ref() as &dyn std::any::Any).downcast_ref::<FederatedScanExec>()
            else {
                continue;
            };
            match s.splits().await {
                Ok(splits) => {
                    out.push(format!("  {} split(s)", splits.len()));
                    for (i, split) in splits.iter().enumerate() {
                        out.push(format!("  split {i}: {}", describe_split(split)));
                        match s
                            .state
                            .client
                            .sql(
                                &s.table.table_name,
                                s.request_schema.clone(),
                                split.clone(),
                                &s.constraints,
                            )
                            .await
                        {
                            Some(Ok(q)) => {
                                out.push(format!("    {}", q.sql));
                                for (n, p) in q.params.iter().enumerate() {
                                    out.push(format!("    -- ${}: {p}", n + 1));
                                }
                            }
                            Some(Err(e)) => out.push(format!("    (no SQL: {e})")),
                            None => out.push("    (SQL not visible through this transport)".into()),
                        }
                    }
                }
                Err(e) => out.push(format!("  cannot plan splits: {e}")),
            }
        }
        out
    }
}

fn describe_split(s: &Split) -> String {
    let props: Vec<String> = s
        .properties
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{{{}}}", props.join(", "))
}

fn collect_scans(plan: &Arc<dyn ExecutionPlan>, out: &mut Vec<Arc<dyn ExecutionPlan>>) {
    if (plan.as_ref() as &dyn std::any::Any).is::<FederatedScanExec>() {
        out.push(plan.clone());
    }
    for c in plan.children() {
        collect_scans(c, out);
    }
}
