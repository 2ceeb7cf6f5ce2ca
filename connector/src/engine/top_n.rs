//! ORDER BY … LIMIT n pushed into a federated scan (top-N), when the connector advertises it.
//!
//! DataFusion has no sort pushdown into table providers, so this physical rule finds a
//! `SortExec` with a fetch whose input reaches a [`FederatedScanExec`] through plain column
//! projections and repartitioning only (no filter DataFusion still evaluates), and gives the
//! scan the order and the limit. The sort stays in place: it is cheap on n rows.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::Result;
use datafusion::config::ConfigOptions;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::ExecutionPlan;

use crate::protocol::{OrderByField, SortDirection};

use super::table::FederatedScanExec;

#[derive(Debug, Default)]
pub struct PushTopN;

impl PhysicalOptimizerRule for PushTopN {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_down(|node| {
            let Some(sort) = (node.as_ref() as &dyn std::any::Any).downcast_ref::<SortExec>()
            else {
                return Ok(Transformed::no(node));
            };
            let Some(fetch) = sort.fetch() else {
                return Ok(Transformed::no(node));
            };
            let mut order = Vec::new();
            for e in sort.expr().iter() {
                let Some(c) = (e.expr.as_ref() as &dyn std::any::Any).downcast_ref::<Column>()
                else {
                    return Ok(Transformed::no(node));
                };
                let direction = match (e.options.descending, e.options.nulls_first) {
                    (false, true) => SortDirection::AscNullsFirst,
                    (false, false) => SortDirection::AscNullsLast,
                    (true, true) => SortDirection::DescNullsFirst,
                    (true, false) => SortDirection::DescNullsLast,
                };
                order.push(OrderByField {
                    column_name: c.name().to_owned(),
                    direction,
                });
            }
            match push(sort.input(), &mut order, fetch)? {
                Some(input) => Ok(Transformed::yes(recompute(node.clone(), input)?)),
                None => Ok(Transformed::no(node)),
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "push_top_n_to_federated_scan"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Rebuilds `plan` with the top-N scan at its bottom, or `None` if it cannot be pushed.
fn push(
    plan: &Arc<dyn ExecutionPlan>,
    order: &mut [OrderByField],
    fetch: usize,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let any = plan.as_ref() as &dyn std::any::Any;
    if let Some(scan) = any.downcast_ref::<FederatedScanExec>() {
        let pushable = scan.state.capabilities.top_n
            && scan.constraints.limit().is_none()
            && scan.constraints.order_by.is_empty();
        return Ok(pushable
            .then(|| Arc::new(scan.with_top_n(order.to_vec(), fetch)) as Arc<dyn ExecutionPlan>));
    }
    if let Some(p) = any.downcast_ref::<ProjectionExec>() {
        // Only plain column renames: map each order column back to the input's name.
        for o in order.iter_mut() {
            let source = p
                .expr()
                .iter()
                .find(|e| e.alias == o.column_name)
                .and_then(|e| (e.expr.as_ref() as &dyn std::any::Any).downcast_ref::<Column>());
            match source {
                Some(c) => o.column_name = c.name().to_owned(),
                None => return Ok(None),
            }
        }
    } else if any.downcast_ref::<RepartitionExec>().is_none()
        && any.downcast_ref::<CoalescePartitionsExec>().is_none()
    {
        return Ok(None);
    }
    let children = plan.children();
    let [child] = children.as_slice() else {
        return Ok(None);
    };
    match push(child, order, fetch)? {
        Some(new_child) => Ok(Some(recompute(plan.clone(), new_child)?)),
        None => Ok(None),
    }
}

/// `plan` over a new single child; properties are recomputed (the scan's partitioning changes).
fn recompute(
    plan: Arc<dyn ExecutionPlan>,
    child: Arc<dyn ExecutionPlan>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.replace_children(
        vec![child],
        ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
    )
}
