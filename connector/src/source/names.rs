//! Names Athena sends (lower-cased) resolved to the database's own, as `casing_mode` says.

use crate::config::CasingMode;

use super::SourceError;

/// Resolves `wanted` against the database's `names` that equal it ignoring case; errors
/// name them after `qualifier` (a table's schema).
pub fn resolve_name(
    kind: &'static str,
    qualifier: Option<&str>,
    wanted: &str,
    names: Vec<String>,
    casing: CasingMode,
) -> Result<String, SourceError> {
    let qualified = |n: &str| match qualifier {
        Some(q) => format!("{q}.{n}"),
        None => n.to_owned(),
    };
    let shown = &qualified(wanted);
    match casing.pick(wanted, names) {
        Ok(name) => Ok(name),
        Err(candidates) if candidates.is_empty() => Err(SourceError::NotFound {
            kind,
            name: shown.to_owned(),
        }),
        Err(candidates) if casing == CasingMode::CaseInsensitiveSearch => {
            Err(SourceError::Ambiguous {
                kind,
                name: shown.to_owned(),
                candidates: candidates.iter().map(|c| qualified(c)).collect(),
            })
        }
        Err(candidates) => Err(SourceError::NotFound {
            kind,
            name: format!(
                "{shown} (casing_mode={casing} matches names exactly; the database has {}: set casing_mode=case_insensitive_search to find it)",
                candidates
                    .iter()
                    .map(|c| qualified(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}
