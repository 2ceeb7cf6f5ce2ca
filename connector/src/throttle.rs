//! What counts as throttling: Athena retries a function error of the SDK's throttle type
//! (`FederationThrottleException`) with backoff, where any other error fails the query.
//! Connection pool exhaustion, a server's "too many connections" and AWS throttling answers
//! are all "slow down", not failures.

/// AWS error codes meaning "slow down" (Secrets Manager, KMS, S3, STS).
pub fn is_aws_throttling(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ThrottlingException"
                | "Throttling"
                | "ThrottledException"
                | "TooManyRequestsException"
                | "RequestLimitExceeded"
                | "SlowDown"
                | "LimitExceededException"
        )
    )
}

/// Database errors meaning the server has no connection to spare: PostgreSQL
/// `too_many_connections` (53300, also a role's CONNECTION LIMIT), MySQL/MariaDB
/// `ER_CON_COUNT_ERROR` (1040), `ER_TOO_MANY_USER_CONNECTIONS` (1203) and
/// `ER_USER_LIMIT_REACHED` (1226, an account's MAX_USER_CONNECTIONS).
pub fn is_database_throttling(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => {
            if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                return matches!(my.number(), 1040 | 1203 | 1226);
            }
            db.code().as_deref() == Some("53300")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_codes() {
        assert!(is_aws_throttling(Some("ThrottlingException")));
        assert!(is_aws_throttling(Some("SlowDown")));
        assert!(!is_aws_throttling(Some("AccessDeniedException")));
        assert!(!is_aws_throttling(None));
        assert!(is_database_throttling(&sqlx::Error::PoolTimedOut));
        assert!(!is_database_throttling(&sqlx::Error::RowNotFound));
    }
}
