//! Query passthrough (`system.query`): the one argument Athena passes, checked as the
//! official connectors check it.

use super::*;

/// The passthrough table function, as Athena names it.
pub(super) const QPT_FUNCTION: &str = "SYSTEM.QUERY";
pub(super) const QPT_QUERY: &str = "QUERY";

impl Connector {
    pub(super) fn passthrough_query<'a>(
        &self,
        args: &'a IndexMap<String, String>,
    ) -> Result<&'a str, HandlerError> {
        if !self.config()?.query_passthrough {
            return Err(HandlerError::Request(
                "query passthrough is disabled (enable_query_passthrough=false)".into(),
            ));
        }
        let get = |k: &str| {
            args.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str())
        };
        match get("schemaFunctionName") {
            Some(f) if f.eq_ignore_ascii_case(QPT_FUNCTION) => {}
            _ => {
                return Err(HandlerError::Request(
                    "Function Signature doesn't match implementation's".into(),
                ))
            }
        }
        match get(QPT_QUERY) {
            None => Err(HandlerError::Request(
                "Missing Query Passthrough Argument: QUERY".into(),
            )),
            Some(q) if q.trim().is_empty() => Err(HandlerError::Request(
                "Missing Query Passthrough Value for Argument: QUERY".into(),
            )),
            Some(q) => Ok(q),
        }
    }
}
