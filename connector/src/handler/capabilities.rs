//! GetDataSourceCapabilities: what this connector really pushes down.

use super::passthrough::{QPT_FUNCTION, QPT_QUERY};
use super::*;
use crate::protocol::GetDataSourceCapabilitiesRequest;

impl Connector {
    pub(super) async fn get_capabilities(
        &self,
        r: &GetDataSourceCapabilitiesRequest,
    ) -> Result<Response, HandlerError> {
        let (_, engine) = self.source(&r.header.catalog_name).await?;
        Ok(Response::GetDataSourceCapabilities(
            GetDataSourceCapabilitiesResponse {
                catalog_name: r.header.catalog_name.clone(),
                capabilities: capabilities(engine, self.config()?.query_passthrough),
            },
        ))
    }
}

/// What this connector really pushes down (SPEC §5).
pub fn capabilities(
    engine: Engine,
    query_passthrough: bool,
) -> IndexMap<String, Vec<OptimizationSubType>> {
    let _ = engine;
    let functions: Vec<&str> = StandardFunction::ALL.iter().map(|f| f.as_str()).collect();
    let mut caps = IndexMap::from([
        (
            "supports_filter_pushdown".to_owned(),
            vec![
                OptimizationSubType::new("sorted_range_set", &[]),
                OptimizationSubType::new("equatable_range_set", &[]),
                OptimizationSubType::new("all_or_none_value_set", &[]),
                OptimizationSubType::new("nullable_comparison", &[]),
            ],
        ),
        (
            "supports_complex_expression_pushdown".to_owned(),
            vec![OptimizationSubType::new(
                "supported_function_expression_types",
                &functions,
            )],
        ),
        (
            "supports_limit_pushdown".to_owned(),
            vec![OptimizationSubType::new("integer_constant", &[])],
        ),
        (
            "supports_top_n_pushdown".to_owned(),
            vec![OptimizationSubType::new("SUPPORTS_ORDER_BY", &[])],
        ),
    ]);
    if query_passthrough {
        caps.insert(
            QPT_FUNCTION.to_owned(),
            vec![
                OptimizationSubType::new("query_passthrough_schema", &["system"]),
                OptimizationSubType::new("query_passthrough_name", &["query"]),
                OptimizationSubType::new("query_passthrough_arguments", &[QPT_QUERY]),
            ],
        );
    }
    caps
}
