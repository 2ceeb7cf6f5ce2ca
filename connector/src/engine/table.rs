//! A federated table as DataFusion sees it: its scan drives the connector through the
//! protocol (GetTableLayout, GetSplits with continuation, ReadRecords per split).

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use arrow::array::{RecordBatch, RecordBatchOptions};
use arrow::datatypes::{Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::runtime::SpawnedTask;
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
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use crate::client::Client;
use crate::protocol::{Constraints, GetTableResponse, OrderByField, Split};

use super::pushdown::{translate, Capabilities, Translation};

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

/// A table as Athena presents it: the connector's schema with every column name in lower
/// case (`lower`, what SQL sees) beside the real names (`table.schema`, what requests carry;
/// same field order).
#[derive(Debug)]
pub struct FederatedTable {
    pub state: Arc<CatalogState>,
    pub table: GetTableResponse,
    pub lower: SchemaRef,
}

impl FederatedTable {
    /// Lower-cases the column names; two columns that differ only in case are refused, as
    /// Athena refuses them.
    pub fn new(state: Arc<CatalogState>, table: GetTableResponse) -> Result<FederatedTable> {
        let lower = lower_case_schema(&table.schema).map_err(|(a, b)| {
            DataFusionError::Plan(format!(
                "{CASE_TWIN_CODE}: Multiple entries with same key: {}={a} and {}={b} (table {} has columns whose names differ only in case; Athena cannot tell them apart)",
                a.to_lowercase(),
                b.to_lowercase(),
                table.table_name
            ))
        })?;
        Ok(FederatedTable {
            state,
            table,
            lower,
        })
    }

    /// Filters over lower-case names, translated into constraints on the real ones.
    fn translate(&self, filters: &[&Expr]) -> Result<Translation> {
        let real = filters
            .iter()
            .map(|f| real_names(f, &self.lower, &self.table.schema))
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&Expr> = real.iter().collect();
        Ok(translate(
            &refs,
            &self.table.schema,
            &self.state.capabilities,
        ))
    }
}

/// How Athena (Trino) fails on a table whose columns collide once lower-cased: its column
/// map is built with Guava's `ImmutableMap`, which refuses the second key.
pub const CASE_TWIN_CODE: &str = "GENERIC_INTERNAL_ERROR";

/// `schema` with lower-case field names, or the first two real names that collide.
pub fn lower_case_schema(schema: &SchemaRef) -> std::result::Result<SchemaRef, (String, String)> {
    let mut seen = std::collections::HashMap::new();
    let mut fields = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let name = f.name().to_lowercase();
        if let Some(first) = seen.insert(name.clone(), f.name().clone()) {
            return Err((first, f.name().clone()));
        }
        fields.push(f.as_ref().clone().with_name(name));
    }
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    )))
}

/// `e` with every column of `lower` renamed to its name in `real` (same field order).
fn real_names(e: &Expr, lower: &Schema, real: &Schema) -> Result<Expr> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    e.clone()
        .transform_up(|e| match e {
            Expr::Column(c) => match lower.index_of(&c.name) {
                Ok(i) => Ok(Transformed::yes(Expr::Column(
                    datafusion::common::Column::new(c.relation, real.field(i).name()),
                ))),
                Err(_) => Ok(Transformed::no(Expr::Column(c))),
            },
            other => Ok(Transformed::no(other)),
        })
        .map(|t| t.data)
}

#[async_trait]
impl TableProvider for FederatedTable {
    fn schema(&self) -> SchemaRef {
        self.lower.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(self
            .translate(filters)?
            .pushed
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
        let (schema, request_schema) = match projection {
            Some(p) => (
                Arc::new(self.lower.project(p)?),
                Arc::new(self.table.schema.project(p)?),
            ),
            None => (self.lower.clone(), self.table.schema.clone()),
        };
        let refs: Vec<&Expr> = filters.iter().collect();
        let mut constraints = self.translate(&refs)?.constraints;
        if let (Some(l), true) = (limit, self.state.capabilities.limit) {
            constraints.limit = l as i64;
        }
        Ok(Arc::new(FederatedScanExec::new(
            self.state.clone(),
            self.table.clone(),
            schema,
            request_schema,
            constraints,
        )))
    }
}

/// Reads a federated table: splits are planned on first execution and shared by the
/// partitions, each of which reads every `partitions`-th split.
#[derive(Clone)]
pub struct FederatedScanExec {
    pub state: Arc<CatalogState>,
    pub table: GetTableResponse,
    /// The columns read, as SQL names them (lower case).
    pub schema: SchemaRef,
    /// The same columns under their real names, as requests carry them.
    pub request_schema: SchemaRef,
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
        request_schema: SchemaRef,
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
            request_schema,
            constraints,
            splits: Arc::new(OnceCell::new()),
            properties,
        }
    }

    /// The same scan with ORDER BY … LIMIT n pushed down (top-N); `order_by` names columns
    /// as SQL does.
    pub fn with_top_n(&self, mut order_by: Vec<OrderByField>, limit: usize) -> FederatedScanExec {
        for o in &mut order_by {
            if let Ok(i) = self.schema.index_of(&o.column_name) {
                o.column_name = self.request_schema.field(i).name().clone();
            }
        }
        let constraints = Constraints {
            order_by,
            limit: limit as i64,
            ..self.constraints.clone()
        };
        FederatedScanExec::new(
            self.state.clone(),
            self.table.clone(),
            self.schema.clone(),
            self.request_schema.clone(),
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
        // Two batches of read-ahead per partition: memory stays at a few blocks per split
        // being read, whatever the table's size.
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let this = self.clone();
        // Aborted when the stream is dropped (LIMIT reached, query failed or done), so no
        // read outlives its query nor writes into a spill directory being removed.
        let task = SpawnedTask::spawn(async move {
            let result: Result<()> = async {
                let splits = this.splits().await?;
                for split in splits.iter().skip(partition).step_by(partitions) {
                    let mut blocks = this
                        .state
                        .client
                        .read_split_stream(
                            &this.table.table_name,
                            this.request_schema.clone(),
                            split.clone(),
                            &this.constraints,
                        )
                        .await
                        .map_err(|e| DataFusionError::External(Box::new(e)))?;
                    while let Some(block) = blocks.next().await {
                        let block = block.map_err(|e| DataFusionError::External(Box::new(e)))?;
                        // Same columns, presented under the names SQL uses.
                        let b = RecordBatch::try_new_with_options(
                            this.schema.clone(),
                            block.columns().to_vec(),
                            &RecordBatchOptions::new().with_row_count(Some(block.num_rows())),
                        )?;
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
        let stream = futures_util::stream::unfold((rx, task), |(mut rx, task)| async move {
            rx.recv().await.map(|x| (x, (rx, task)))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field};

    use super::*;

    #[test]
    fn columns_are_presented_in_lower_case_and_twins_refused_as_athena_refuses_them() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("Id", DataType::Int32, false),
            Field::new("CamelCol", DataType::Utf8, true),
        ]));
        let lower = lower_case_schema(&schema).unwrap();
        let names: Vec<&str> = lower.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["id", "camelcol"]);
        assert!(!lower.field(0).is_nullable());
        let twins = Arc::new(Schema::new(vec![
            Field::new("Name", DataType::Utf8, true),
            Field::new("name", DataType::Utf8, true),
        ]));
        assert_eq!(
            lower_case_schema(&twins).unwrap_err(),
            ("Name".to_owned(), "name".to_owned())
        );
    }
}
