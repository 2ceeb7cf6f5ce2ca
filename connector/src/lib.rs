//! An Athena Query Federation connector for relational databases.

pub mod client;
pub mod config;
pub mod handler;
pub mod protocol;
pub mod secrets;
pub mod source;
pub mod spill;
pub mod sql;
