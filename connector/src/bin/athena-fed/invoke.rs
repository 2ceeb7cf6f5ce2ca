//! `athena-fed invoke` and `athena-fed sql`: one request, handled in-process.

use athena_connector::handler::Connector;
use athena_connector::protocol::{parse_request, Request};

use crate::{Failure, UsageError};

/// The response JSON, exactly as the Lambda would return it (pretty-printed).
pub async fn invoke(bytes: &[u8]) -> Result<String, Failure> {
    parse_request(bytes).map_err(|e| UsageError(e.to_string()))?;
    let connector = Connector::from_env().await;
    match connector.handle(bytes).await {
        Ok(response) => {
            let value: serde_json::Value =
                serde_json::from_slice(&response).map_err(|e| Failure::Connector(e.to_string()))?;
            Ok(serde_json::to_string_pretty(&value)
                .map_err(|e| Failure::Connector(e.to_string()))?
                + "\n")
        }
        Err(e) => Err(Failure::Connector(e.to_string())),
    }
}

/// The statement and its parameters, one per line after it.
pub async fn sql(bytes: &[u8]) -> Result<String, Failure> {
    let parsed = parse_request(bytes).map_err(|e| UsageError(e.to_string()))?;
    let Request::ReadRecords(r) = parsed.message else {
        return Err(UsageError(format!(
            "athena-fed sql takes a ReadRecordsRequest, found a {}",
            parsed.message.type_name()
        ))
        .into());
    };
    let query = Connector::from_env()
        .await
        .read_sql(&r)
        .await
        .map_err(|e| Failure::Connector(e.to_string()))?;
    let mut out = query.sql + "\n";
    for (i, p) in query.params.iter().enumerate() {
        out.push_str(&format!("-- ${}: {p} ({})\n", i + 1, p.data_type()));
    }
    Ok(out)
}
