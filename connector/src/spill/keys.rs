//! Per-split spill locations and encryption keys (SPEC §4.1).

use rand::rngs::OsRng;
use rand::TryRngCore;

use crate::config::{SpillConfig, SpillEncryption};
use crate::protocol::{EncryptionKey, SpillLocation};

use super::store::LOCAL_BUCKET;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    #[error("KMS could not generate a spill key with key {key_id}: {reason}")]
    Kms { key_id: String, reason: String },
    /// KMS asked to slow down.
    #[error("KMS is throttling data keys of key {key_id}: {reason}")]
    Throttled { key_id: String, reason: String },
}

fn random(len: usize) -> Result<Vec<u8>, KeyError> {
    let mut buf = vec![0u8; len];
    OsRng
        .try_fill_bytes(&mut buf)
        .map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(buf)
}

/// A fresh key for one split: `None` when encryption is disabled; a 256-bit key from the OS
/// CSPRNG; or a KMS data key (AES-128, as the SDK's `KmsKeyFactory`).
pub async fn split_key(
    config: &SpillConfig,
    kms: Option<&aws_sdk_kms::Client>,
) -> Result<Option<EncryptionKey>, KeyError> {
    match &config.encryption {
        SpillEncryption::Disabled => Ok(None),
        SpillEncryption::Local => Ok(Some(EncryptionKey {
            key: random(32)?,
            nonce: random(12)?,
        })),
        SpillEncryption::Kms { key_id } => {
            let kms = kms.ok_or_else(|| KeyError::Kms {
                key_id: key_id.clone(),
                reason: "no KMS client".into(),
            })?;
            let fail = |e: String| KeyError::Kms {
                key_id: key_id.clone(),
                reason: e,
            };
            let key = kms
                .generate_data_key()
                .key_id(key_id)
                .key_spec(aws_sdk_kms::types::DataKeySpec::Aes128)
                .send()
                .await
                .map_err(|e| {
                    use aws_sdk_kms::error::ProvideErrorMetadata;
                    let reason = aws_sdk_kms::error::DisplayErrorContext(&e).to_string();
                    if crate::throttle::is_aws_throttling(e.code()) {
                        KeyError::Throttled {
                            key_id: key_id.clone(),
                            reason,
                        }
                    } else {
                        fail(reason)
                    }
                })?;
            let plaintext = key
                .plaintext()
                .ok_or_else(|| fail("no plaintext key returned".into()))?
                .as_ref()
                .to_vec();
            Ok(Some(EncryptionKey {
                key: plaintext,
                nonce: random(12)?,
            }))
        }
    }
}

/// `s3://bucket/<prefix>/<queryId>/<uuid>`, a directory unique to one split. Without a
/// bucket: the local store's pseudo-bucket where the connector has one (`local`), else
/// `None` (results must then fit inline). `configOptions` may override bucket and prefix.
pub fn split_location(
    config: &SpillConfig,
    overrides: &indexmap::IndexMap<String, String>,
    query_id: &str,
    local: bool,
) -> Option<SpillLocation> {
    let pick = |key: &str| {
        overrides
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let bucket = pick("spill_bucket")
        .map(str::to_owned)
        .or_else(|| config.bucket.clone())
        .or_else(|| local.then(|| LOCAL_BUCKET.to_owned()))?;
    let prefix = pick("spill_prefix")
        .map(|p| p.trim_matches('/').to_owned())
        .unwrap_or_else(|| config.prefix.clone());
    let id = uuid::Uuid::new_v4();
    let key = if prefix.contains(query_id) {
        format!("{prefix}/{id}")
    } else {
        format!("{prefix}/{query_id}/{id}")
    };
    Some(SpillLocation {
        bucket: bucket.trim_end_matches('/').to_owned(),
        key: key.trim_start_matches('/').to_owned(),
        directory: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn config(encryption: SpillEncryption) -> SpillConfig {
        SpillConfig {
            bucket: Some("b".into()),
            prefix: "athena-spill".into(),
            encryption,
            max_block_size: None,
            put_request_headers: Vec::new(),
        }
    }

    #[tokio::test]
    async fn local_keys_are_fresh_and_full_length() {
        let c = config(SpillEncryption::Local);
        let a = split_key(&c, None).await.unwrap().unwrap();
        let b = split_key(&c, None).await.unwrap().unwrap();
        assert_eq!((a.key.len(), a.nonce.len()), (32, 12));
        assert_ne!(a.key, b.key);
        assert!(split_key(&config(SpillEncryption::Disabled), None)
            .await
            .unwrap()
            .is_none());
    }

    #[test]
    fn locations_are_unique_per_split_and_honour_overrides() {
        let c = config(SpillEncryption::Local);
        let a = split_location(&c, &IndexMap::new(), "q1", false).unwrap();
        let b = split_location(&c, &IndexMap::new(), "q1", false).unwrap();
        assert!(a.key.starts_with("athena-spill/q1/") && a.directory);
        assert_ne!(a.key, b.key);
        let o = IndexMap::from([
            ("spill_bucket".to_owned(), "other".to_owned()),
            ("spill_prefix".to_owned(), "/x/".to_owned()),
        ]);
        let l = split_location(&c, &o, "q1", false).unwrap();
        assert_eq!(l.bucket, "other");
        assert!(l.key.starts_with("x/q1/"));
        let none = SpillConfig { bucket: None, ..c };
        assert!(split_location(&none, &IndexMap::new(), "q", false).is_none());
        // With a local store and no bucket anywhere, splits spill locally.
        let local = split_location(&none, &IndexMap::new(), "q", true).unwrap();
        assert_eq!(local.bucket, LOCAL_BUCKET);
        assert!(local.key.starts_with("athena-spill/q/"));
        // A bucket, configured or per query, still wins.
        let c = config(SpillEncryption::Local);
        assert_eq!(
            split_location(&c, &IndexMap::new(), "q", true)
                .unwrap()
                .bucket,
            "b"
        );
    }
}
