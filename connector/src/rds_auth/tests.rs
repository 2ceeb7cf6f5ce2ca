//! Vectors from botocore's `generate_db_auth_token` (the AWS SDK for Python), made with
//! the same credentials at 2026-11-28T12:00:00Z.

use std::time::SystemTime;

use aws_credential_types::Credentials;

use super::*;

fn at_noon() -> SystemTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
        .into()
}

fn credentials(session: Option<&str>) -> Credentials {
    Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        session.map(str::to_owned),
        None,
        "test",
    )
}

#[test]
fn tokens_match_the_aws_sdks() {
    assert_eq!(
        auth_token(
            &credentials(None),
            "us-east-1",
            "mydb.c2rxxxxc.us-east-1.rds.amazonaws.com",
            5432,
            "iam_user",
            at_noon()
        )
        .unwrap(),
        "mydb.c2rxxxxc.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=iam_user\
         &X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIDEXAMPLE%2F20261128%2Fus-east-1%2Frds-db%2Faws4_request\
         &X-Amz-Date=20261128T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
         &X-Amz-Signature=72e6872d1aa6b6af29189baa9553dd8d939e29f9513162c0df22a5bcfff051e1"
    );
    // A session token (a Lambda role's credentials) is signed too; names are escaped. The
    // same parameters, the same signature (only their order in the query differs).
    let sorted = |token: &str| {
        let (path, query) = token.split_once('?').unwrap();
        let mut params: Vec<&str> = query.split('&').collect();
        params.sort();
        (path.to_owned(), params.join("&"))
    };
    let token = auth_token(
        &credentials(Some("SESSIONTOKEN/+=")),
        "eu-west-1",
        "db.internal",
        3306,
        "app user",
        at_noon(),
    )
    .unwrap();
    assert_eq!(
        sorted(&token),
        sorted(
            "db.internal:3306/?Action=connect&DBUser=app%20user\
         &X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIDEXAMPLE%2F20261128%2Feu-west-1%2Frds-db%2Faws4_request\
         &X-Amz-Date=20261128T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
         &X-Amz-Security-Token=SESSIONTOKEN%2F%2B%3D\
         &X-Amz-Signature=986a97da7e07c554140e8afeda985ce6c1c81f67433139cccc3ed8cafc9080ea"
        )
    );
}

#[test]
fn the_region_comes_from_an_rds_endpoint() {
    assert_eq!(
        endpoint_region("mydb.c2rxxxxc.eu-central-1.rds.amazonaws.com"),
        Some("eu-central-1")
    );
    assert_eq!(
        endpoint_region("c.cluster-ro-abc.cn-north-1.rds.amazonaws.com.cn"),
        Some("cn-north-1")
    );
    assert_eq!(endpoint_region("db.internal"), None);
}

#[tokio::test]
async fn a_token_is_reused_for_fourteen_and_a_half_minutes() {
    let aws = SdkConfig::builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials(None)),
        )
        .region(aws_config::Region::new("us-east-1"))
        .build();
    let tokens = RdsTokens::new(aws);
    let t0 = at_noon();
    let first = tokens.token_at("db.internal", 5432, "u", t0).await.unwrap();
    assert!(first.expose().contains("X-Amz-Date=20261128T120000Z"));
    let later = tokens
        .token_at("db.internal", 5432, "u", t0 + Duration::from_secs(869))
        .await
        .unwrap();
    assert_eq!(later, first, "reused before 14.5 minutes");
    let renewed = tokens
        .token_at("db.internal", 5432, "u", t0 + TOKEN_REUSE)
        .await
        .unwrap();
    assert!(
        renewed.expose().contains("X-Amz-Date=20261128T121430Z"),
        "made again at 14.5 minutes"
    );
    tokens.invalidate("db.internal", 5432, "u");
    let after_rejection = tokens
        .token_at(
            "db.internal",
            5432,
            "u",
            t0 + TOKEN_REUSE + Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert!(after_rejection
        .expose()
        .contains("X-Amz-Date=20261128T121431Z"));
    // Without a region the error says what to set.
    let no_region = RdsTokens::new(
        SdkConfig::builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials(None)),
            )
            .build(),
    );
    assert_eq!(
        no_region
            .token_at("db.internal", 5432, "u", t0)
            .await
            .unwrap_err(),
        RdsAuthError::Region {
            host: "db.internal".into()
        }
    );
}
