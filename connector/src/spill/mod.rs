//! Spilling large results to S3, or to a local directory for the engine (SPEC §4).

pub mod crypto;
pub mod keys;
pub mod store;
pub mod writer;
