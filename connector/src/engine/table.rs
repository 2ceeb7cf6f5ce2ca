//! A federated table as DataFusion sees it: its scan drives the connector through the
//! protocol (GetTableLayout, GetSplits with continuation, ReadRecords per split).

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use tokio::sync::OnceCell;

use crate::client::Client;
use crate::protocol::{Constraints, GetTableResponse, OrderByField, Split};

use super::pushdown::{translate, Capabilities};

/// Splits done, rows read: for the progress line.
#[derive(Debug, Default)]
pub struct Progress {
    pub splits_total: AtomicUsize,
    pub splits_done: AtomicUsize,
    pub rows: AtomicU64,
}

/// What every table of one catalog shares.
pub struct CatalogState {
    pub client: Client,
    pub capabilities: Capabilities,
    pub parallelism: usize,
    pub progress: Arc<Progress>,
}

impl fmt::Debug for CatalogState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CatalogState({})", self.client.catalog)
    }
}

#[derive(Debug)]
pub struct FederatedTable {
    pub state: Arc<CatalogState>,
    pub table: GetTableResponse,
}

#[async_trait]
impl TableProvider for FederatedTable {
    fn schema(&self) -> SchemaRef {
        self.table.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        let t = translate(filters, &self.table.schema, &self.state.capabilities);
        Ok(t.pushed
            .into_iter()
            .map(|p| {
                if p {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = match projection {
            Some(p) => Arc::new(self.table.schema.project(p)?),
            None => self.table.schema.clone(),
        };
        let refs: Vec<&Expr> = filters.iter().collect();
        let mut constraints =
            translate(&refs, &self.table.schema, &self.state.capabilities).constraints;
        if let (Some(l), true) = (limit, self.state.capabilities.limit) {
            constraints.limit = l as i64;
        }
        Ok(Arc::new(FederatedScanExec::new(
            self.state.clone(),
            self.table.clone(),
            schema,
            constraints,
        )))
    }
}

/// Reads a federated table: splits are planned on first execution and shared by the
/// partitions, each of which reads every `partitions`-th split.
pub struct FederatedScanExec {
    pub state: Arc<CatalogState>,
    pub table: GetTableResponse,
    pub schema: SchemaRef,
    pub constraints: Constraints,
    splits: Arc<OnceCell<Vec<Split>>>,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for FederatedScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FederatedScanExec({})", self.table.table_name)
    }
}

impl FederatedScanExec {
    pub fn new(
        state: Arc<CatalogState>,
        table: GetTableResponse,
        schema: SchemaRef,
        constraints: Constraints,
    ) -> FederatedScanExec {
        // A pushed-down limit is read as one split (the connector makes it so).
        let partitions = if constraints.limit().is_some() {
            1
        } else {
            state.parallelism.max(1)
        };
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        FederatedScanExec {
            state,
            table,
            schema,
            constraints,
            splits: Arc::new(OnceCell::new()),
            properties,
        }
    }

    /// The same scan with ORDER BY … LIMIT n pushed down (top-N).
    pub fn with_top_n(&self, order_by: Vec<OrderByField>, limit: usize) -> FederatedScanExec {
        let constraints = Constraints {
            order_by,
            limit: limit as i64,
            ..self.constraints.clone()
        };
        FederatedScanExec::new(
            self.state.clone(),
            self.table.clone(),
            self.schema.clone(),
            constraints,
        )
    }

    /// GetTableLayout and every page of GetSplits, once.
    pub async fn splits(&self) -> Result<&Vec<Split>> {
        self.splits
            .get_or_try_init(|| async {
                let splits = self
                    .state
                    .client
                    .splits(&self.table, &self.constraints)
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                self.state
                    .progress
                    .splits_total
                    .fetch_add(splits.len(), Ordering::Relaxed);
                Ok::<_, DataFusionError>(splits)
            })
            .await
    }
}

impl DisplayAs for FederatedScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut pushed: Vec<String> = self
            .constraints
            .summary
            .iter()
            .map(|(c, s)| s.describe(c))
            .collect();
        pushed.extend(self.constraints.expression.iter().map(ToString::to_string));
        write!(
            f,
            "FederatedScanExec: table={}.{}",
            self.state.client.catalog, self.table.table_name
        )?;
        write!(
            f,
            ", columns=[{}]",
            self.schema
                .fields()
                .iter()
                .map(|c| c.name().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        if !pushed.is_empty() {
            write!(f, ", pushed=[{}]", pushed.join(" AND "))?;
        }
        if !self.constraints.order_by.is_empty() {
            let order: Vec<String> = self
                .constraints
                .order_by
                .iter()
                .map(|o| format!("{} {}", o.column_name, o.direction))
                .collect();
            write!(f, ", order_by=[{}]", order.join(", "))?;
        }
        if let Some(l) = self.constraints.limit() {
            write!(f, ", limit={l}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for FederatedScanExec {
    fn name(&self) -> &str {
        "FederatedScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(
            &Arc<dyn datafusion::physical_expr::PhysicalExpr>,
        ) -> Result<datafusion::common::tree_node::TreeNodeRecursion>,
    ) -> Result<datafusion::common::tree_node::TreeNodeRecursion> {
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let partitions = self.properties.partitioning.partition_count();
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let this = FederatedScanExec {
            state: self.state.clone(),
            table: self.table.clone(),
            schema: self.schema.clone(),
            constraints: self.constraints.clone(),
            splits: self.splits.clone(),
            properties: self.properties.clone(),
        };
        tokio::spawn(async move {
            let result: Result<()> = async {
                let splits = this.splits().await?;
                for split in splits.iter().skip(partition).step_by(partitions) {
                    let batches = this
                        .state
                        .client
                        .read_split(
                            &this.table.table_name,
                            this.schema.clone(),
                            split.clone(),
                            &this.constraints,
                        )
                        .await
                        .map_err(|e| DataFusionError::External(Box::new(e)))?;
                    for b in batches {
                        this.state
                            .progress
                            .rows
                            .fetch_add(b.num_rows() as u64, Ordering::Relaxed);
                        if tx.send(Ok(b)).await.is_err() {
                            return Ok(()); // the consumer stopped (e.g. LIMIT reached)
                        }
                    }
                    this.state
                        .progress
                        .splits_done
                        .fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            }
            .await;
            if let Err(e) = result {
                let _ = tx.send(Err(e)).await;
            }
        });
        let stream =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|x| (x, rx)) },
            );
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}
