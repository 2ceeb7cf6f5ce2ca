//! Provisioning: when a data-catalog subscription to a database table is approved, give the
//! consumer environment its own database user with SELECT on exactly that table, and its
//! credentials in a secret it can read; revoke undoes it.

pub mod admin;
pub mod context;
pub mod datazone;
pub mod glue;
pub mod governance;
pub mod grants;
pub mod handler;
pub mod key_grants;
pub mod map_assets;
pub mod password;
pub mod secrets;
pub mod steps;
pub mod subscription;
pub mod tracking;
