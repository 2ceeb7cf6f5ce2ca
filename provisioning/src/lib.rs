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
pub mod toolkit;
pub mod tracking;

/// An AWS SDK error as one line: the service's error code and message when the service
/// answered (not the raw HTTP response), else what went wrong on the way there.
pub fn aws_error<E, R>(e: &aws_sdk_glue::error::SdkError<E, R>) -> String
where
    E: aws_sdk_glue::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_glue::error::SdkError;
    if let SdkError::ServiceError(s) = e {
        let err = s.err();
        match (err.code(), err.message()) {
            (Some(code), Some(message)) => return format!("{code}: {message}"),
            (Some(code), None) => return code.to_owned(),
            _ => {}
        }
    }
    aws_sdk_glue::error::DisplayErrorContext(e).to_string()
}
