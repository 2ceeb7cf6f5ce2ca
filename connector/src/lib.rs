//! An Athena Query Federation connector for relational databases.

pub mod client;
pub mod config;
pub mod deadline;
#[cfg(feature = "cli")]
pub mod engine;
pub mod handler;
pub mod protocol;
pub mod query_status;
pub mod rds_auth;
pub mod secrets;
pub mod source;
pub mod spill;
pub mod sql;
pub mod throttle;
