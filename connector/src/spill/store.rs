//! Where spilled blocks are kept: S3 for the Lambda (and for `spill_bucket`), a local
//! directory for the engine on a laptop. The writer (connector side) and the reader
//! (Athena's side: the engine, the tests) see one small trait and never which store it is.
//!
//! The local backend is `object_store`'s file system store (atomic writes through a
//! temporary file, paths validated against `..` and the like). S3 stays on the AWS SDK rather
//! than `object_store`'s own S3 client: the Lambda already has the SDK for Secrets Manager
//! and KMS, so a second HTTP and credentials stack would only weigh on its cold start, and
//! the SDK signs `spill_put_request_headers` on PutObject alone.

use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::ObjectStoreExt;

use crate::protocol::SpillLocation;

/// The pseudo-bucket of the local store: locations in it are files under its root.
pub const LOCAL_BUCKET: &str = "athena-fed-local";

type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
#[error("{operation} {url} failed: {source}")]
pub struct StoreError {
    pub operation: &'static str,
    pub url: String,
    #[source]
    pub source: Cause,
}

/// One place spilled blocks are written to and read from.
#[async_trait]
pub trait BlockStore: Send + Sync + std::fmt::Debug {
    async fn put(&self, at: &SpillLocation, body: Bytes) -> Result<(), StoreError>;
    async fn get(&self, at: &SpillLocation) -> Result<Bytes, StoreError>;
    async fn delete(&self, at: &SpillLocation) -> Result<(), StoreError>;
    /// The location as a user would name it (`s3://…`, a file path), for messages.
    fn url(&self, at: &SpillLocation) -> String;
}

/// S3 through the AWS SDK.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    /// Extra headers on every PutObject (`spill_put_request_headers`); never shown.
    put_headers: Arc<Vec<(String, String)>>,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client) -> S3Store {
        S3Store {
            client,
            put_headers: Arc::new(Vec::new()),
        }
    }

    /// A client for `aws`, path-style: that works with every endpoint (and with bucket
    /// names holding dots).
    pub fn from_config(aws: &aws_config::SdkConfig) -> S3Store {
        S3Store::new(aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(aws)
                .force_path_style(true)
                .build(),
        ))
    }

    pub fn with_put_headers(mut self, headers: Vec<(String, String)>) -> S3Store {
        self.put_headers = Arc::new(headers);
        self
    }

    fn fail<E>(&self, operation: &'static str, at: &SpillLocation, e: E) -> StoreError
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        StoreError {
            operation,
            url: self.url(at),
            source: aws_sdk_s3::error::DisplayErrorContext(e).to_string().into(),
        }
    }
}

#[async_trait]
impl BlockStore for S3Store {
    async fn put(&self, at: &SpillLocation, body: Bytes) -> Result<(), StoreError> {
        let headers = self.put_headers.clone();
        self.client
            .put_object()
            .bucket(&at.bucket)
            .key(&at.key)
            .body(aws_sdk_s3::primitives::ByteStream::from(body))
            .customize()
            // The block is not hashed for SigV4 (a SHA-256 pass over every spilled byte):
            // its integrity rests on the SDK's CRC32 checksum, and on TLS to S3.
            .disable_payload_signing()
            // Before signing, so the headers are signed too.
            .mutate_request(move |request| {
                for (name, value) in headers.iter() {
                    request.headers_mut().insert(name.clone(), value.clone());
                }
            })
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.fail("spill write to", at, e))
    }

    async fn get(&self, at: &SpillLocation) -> Result<Bytes, StoreError> {
        let object = self
            .client
            .get_object()
            .bucket(&at.bucket)
            .key(&at.key)
            .send()
            .await
            .map_err(|e| self.fail("reading spilled block", at, e))?;
        Ok(object
            .body
            .collect()
            .await
            .map_err(|e| self.fail("reading spilled block", at, e))?
            .into_bytes())
    }

    async fn delete(&self, at: &SpillLocation) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&at.bucket)
            .key(&at.key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.fail("deleting spilled block", at, e))
    }

    fn url(&self, at: &SpillLocation) -> String {
        format!("s3://{}/{}", at.bucket, at.key)
    }
}

/// Files under a directory (`<root>/<key>`), for bucket [`LOCAL_BUCKET`] only.
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
    fs: LocalFileSystem,
    /// Set when the directory is being removed: late writes are refused, not re-creating it.
    closed: AtomicBool,
}

impl LocalStore {
    /// A store rooted at `root`, created if missing.
    pub fn new(root: impl AsRef<FsPath>) -> std::io::Result<LocalStore> {
        let root = root.as_ref();
        std::fs::create_dir_all(root)?;
        let fs = LocalFileSystem::new_with_prefix(root)
            .map_err(std::io::Error::other)?
            // Deleting a split's last block removes its emptied directories.
            .with_automatic_cleanup(true);
        Ok(LocalStore {
            root: root.to_owned(),
            fs,
            closed: AtomicBool::new(false),
        })
    }

    pub fn root(&self) -> &FsPath {
        &self.root
    }

    fn fail(&self, operation: &'static str, at: &SpillLocation, source: Cause) -> StoreError {
        StoreError {
            operation,
            url: self.url(at),
            source,
        }
    }

    fn path(&self, operation: &'static str, at: &SpillLocation) -> Result<Path, StoreError> {
        if at.bucket != LOCAL_BUCKET {
            let why = format!("the local spill store holds bucket {LOCAL_BUCKET} only");
            return Err(self.fail(operation, at, why.into()));
        }
        // `parse` refuses `..`, empty segments and the like: a key never leaves the root.
        Path::parse(&at.key).map_err(|e| self.fail(operation, at, e.into()))
    }
}

#[async_trait]
impl BlockStore for LocalStore {
    async fn put(&self, at: &SpillLocation, body: Bytes) -> Result<(), StoreError> {
        const OP: &str = "spill write to";
        let path = self.path(OP, at)?;
        if self.closed.load(Ordering::Acquire) {
            let why = "the query is over and its spill directory removed";
            return Err(self.fail(OP, at, why.into()));
        }
        match self.fs.put(&path, body.into()).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.fail(OP, at, e.into())),
        }
    }

    async fn get(&self, at: &SpillLocation) -> Result<Bytes, StoreError> {
        const OP: &str = "reading spilled block";
        let path = self.path(OP, at)?;
        let read = match self.fs.get(&path).await {
            Ok(object) => object.bytes().await,
            Err(e) => Err(e),
        };
        read.map_err(|e| self.fail(OP, at, e.into()))
    }

    async fn delete(&self, at: &SpillLocation) -> Result<(), StoreError> {
        const OP: &str = "deleting spilled block";
        let path = self.path(OP, at)?;
        self.fs
            .delete(&path)
            .await
            .map_err(|e| self.fail(OP, at, e.into()))
    }

    fn url(&self, at: &SpillLocation) -> String {
        self.root.join(&at.key).display().to_string()
    }
}

/// A per-run spill directory, removed with everything in it when dropped (the engine holds
/// one for the length of a query).
#[derive(Debug)]
pub struct TempSpillDir {
    store: Arc<LocalStore>,
}

impl TempSpillDir {
    /// A fresh directory `<parent>/spill-<uuid>`.
    pub fn new(parent: impl AsRef<FsPath>) -> std::io::Result<TempSpillDir> {
        let dir = parent
            .as_ref()
            .join(format!("spill-{}", uuid::Uuid::new_v4()));
        Ok(TempSpillDir {
            store: Arc::new(LocalStore::new(dir)?),
        })
    }

    pub fn store(&self) -> Arc<LocalStore> {
        self.store.clone()
    }
}

impl Drop for TempSpillDir {
    fn drop(&mut self) {
        self.store.closed.store(true, Ordering::Release);
        let _ = std::fs::remove_dir_all(self.store.root());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(key: &str) -> SpillLocation {
        SpillLocation {
            bucket: LOCAL_BUCKET.into(),
            key: key.into(),
            directory: false,
        }
    }

    #[tokio::test]
    async fn local_blocks_round_trip_and_the_directory_goes_with_its_guard() {
        let parent = std::env::temp_dir().join(format!("store-test-{}", uuid::Uuid::new_v4()));
        let dir = TempSpillDir::new(&parent).unwrap();
        let store = dir.store();
        store
            .put(&at("prefix/q1/split.0"), Bytes::from_static(b"block"))
            .await
            .unwrap();
        assert_eq!(
            store.get(&at("prefix/q1/split.0")).await.unwrap(),
            Bytes::from_static(b"block")
        );
        store.delete(&at("prefix/q1/split.0")).await.unwrap();
        let missing = store.get(&at("prefix/q1/split.0")).await.unwrap_err();
        assert_eq!(missing.operation, "reading spilled block");
        assert!(missing.url.ends_with("prefix/q1/split.0"), "{missing}");
        let root = store.root().to_owned();
        assert!(root.exists());
        drop(store);
        drop(dir);
        assert!(!root.exists());
        std::fs::remove_dir_all(parent).unwrap();
    }

    #[tokio::test]
    async fn local_keys_cannot_leave_the_root_nor_name_another_bucket() {
        let parent = std::env::temp_dir().join(format!("store-test-{}", uuid::Uuid::new_v4()));
        let dir = TempSpillDir::new(&parent).unwrap();
        let store = dir.store();
        let escape = store
            .put(&at("../../etc/evil"), Bytes::from_static(b"x"))
            .await
            .unwrap_err();
        assert_eq!(escape.operation, "spill write to");
        let other = SpillLocation {
            bucket: "my-bucket".into(),
            ..at("k")
        };
        let e = store.get(&other).await.unwrap_err();
        assert!(
            e.to_string().contains("holds bucket athena-fed-local only"),
            "{e}"
        );
        drop(dir);
        std::fs::remove_dir_all(parent).unwrap();
    }
}
