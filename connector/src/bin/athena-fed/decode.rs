//! `athena-fed decode`: any message in, canonical JSON (or an explanation) out.

use athena_connector::protocol::{parse_message, SerDeVersion};

use crate::{explain, UsageError};

pub fn run(bytes: &[u8], serde_version: Option<i64>, explain: bool) -> Result<String, UsageError> {
    let version = serde_version
        .map(|v| {
            SerDeVersion::new(v)
                .ok_or_else(|| UsageError(format!("--serde-version must be 2 to 6, found {v}")))
        })
        .transpose()?;
    let parsed = parse_message(bytes).map_err(|e| UsageError(e.to_string()))?;
    let version = version.unwrap_or_else(|| parsed.detected.inferred());
    if explain {
        return Ok(explain::message(&parsed.message, version));
    }
    let json = parsed
        .message
        .to_json(version)
        .map_err(|e| UsageError(e.to_string()))?;
    let mut text = serde_json::to_string_pretty(&json).map_err(|e| UsageError(e.to_string()))?;
    text.push('\n');
    Ok(text)
}
