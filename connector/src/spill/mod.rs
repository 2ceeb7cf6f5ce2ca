//! Spilling large results to S3 (SPEC §4).

pub mod crypto;
pub mod keys;
pub mod writer;
