//! Fixtures for the provisioning tests: Glue tables and admin secrets in moto, schemas in
//! PostgreSQL, subscription details, and logging in with a consumer secret.

use athena_provisioning::context::{Context, Settings};
use athena_provisioning::subscription::*;
use sqlx::{Connection, Executor};

use crate::*;

pub const PRODUCER_PROJECT: &str = "prodproj1";

pub fn settings() -> Settings {
    Settings {
        users_table: "prov_users".into(),
        subscriptions_table: "prov_subscriptions".into(),
        mappings_table: "prov_mappings".into(),
        kms_key_id: None,
        consumer_role_name: "athena_fed_consumer_provisioning_role".into(),
        recovery_window_days: 7,
        consumer_assume_role: None,
        tracking_role_arn: None,
    }
}

pub async fn ctx() -> Context {
    let ctx = Context::new(settings(), aws().await).await;
    athena_provisioning::tracking::create_tables(&ctx.dynamodb(), &ctx.settings)
        .await
        .unwrap();
    ctx
}

/// A Glue database `gdb`, a JDBC connection `conn` tagged for `project`, an admin secret,
/// and a Glue table `table` located at `location`.
/// [`glue_table_with`] without extra connection properties.
pub async fn glue_table(
    conn: &str,
    jdbc_url: &str,
    admin_user: &str,
    admin_password: &str,
    project: &str,
    table: &str,
    location: &str,
) {
    glue_table_with(
        conn,
        jdbc_url,
        admin_user,
        admin_password,
        project,
        table,
        location,
        &[],
    )
    .await
}

/// A Glue database `gdb`, a JDBC connection `conn` (with `extra` properties) tagged for
/// `project`, an admin secret, and a Glue table `table` located at `location`.
#[allow(clippy::too_many_arguments)]
pub async fn glue_table_with(
    conn: &str,
    jdbc_url: &str,
    admin_user: &str,
    admin_password: &str,
    project: &str,
    table: &str,
    location: &str,
    extra: &[(aws_sdk_glue::types::ConnectionPropertyKey, &str)],
) {
    let a = aws().await;
    let glue = aws_sdk_glue::Client::new(&a);
    let _ = glue
        .create_database()
        .database_input(
            aws_sdk_glue::types::DatabaseInput::builder()
                .name("gdb")
                .build()
                .unwrap(),
        )
        .send()
        .await;
    let arn = project_secret(
        &format!("admin/{conn}"),
        admin_user,
        admin_password,
        project,
    )
    .await;
    let _ = glue.delete_connection().connection_name(conn).send().await;
    let _ = glue
        .create_connection()
        .connection_input(
            aws_sdk_glue::types::ConnectionInput::builder()
                .name(conn)
                .connection_type(aws_sdk_glue::types::ConnectionType::Jdbc)
                .connection_properties(
                    aws_sdk_glue::types::ConnectionPropertyKey::JdbcConnectionUrl,
                    jdbc_url,
                )
                .connection_properties(aws_sdk_glue::types::ConnectionPropertyKey::SecretId, &arn)
                .set_connection_properties(Some({
                    let mut p = std::collections::HashMap::from([
                        (
                            aws_sdk_glue::types::ConnectionPropertyKey::JdbcConnectionUrl,
                            jdbc_url.to_owned(),
                        ),
                        (
                            aws_sdk_glue::types::ConnectionPropertyKey::SecretId,
                            arn.clone(),
                        ),
                    ]);
                    p.extend(extra.iter().map(|(k, v)| (k.clone(), (*v).to_owned())));
                    p
                }))
                .build()
                .unwrap(),
        )
        .tags("AmazonDataZoneProject", project)
        .send()
        .await;
    let _ = glue
        .delete_table()
        .database_name("gdb")
        .name(table)
        .send()
        .await;
    glue.create_table()
        .database_name("gdb")
        .table_input(
            aws_sdk_glue::types::TableInput::builder()
                .name(table)
                .parameters("connectionName", conn)
                .parameters("UPDATED_BY_CRAWLER", "crawler")
                .storage_descriptor(
                    aws_sdk_glue::types::StorageDescriptor::builder()
                        .location(location)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

pub fn details(env: &str, asset: &str, table: &str) -> SubscriptionDetails {
    SubscriptionDetails {
        domain_id: "dzd_test".into(),
        producer_project_details: ProducerProject {
            project_id: PRODUCER_PROJECT.into(),
            project_name: "producer".into(),
        },
        consumer_project_details: ConsumerProject {
            project_id: "consproj1".into(),
            project_name: "consumer".into(),
            account_id: "123456789012".into(),
            region: REGION.into(),
            environment_id: env.into(),
            environment_name: "analysts".into(),
        },
        listing_details: Listing {
            id: format!("listing-{asset}"),
            name: table.into(),
            revision: "1".into(),
        },
        asset_details: Asset {
            asset_type: "GlueTableAssetType".into(),
            id: asset.into(),
            revision: "1".into(),
            glue_table_details: Some(GlueTable {
                account_id: "123456789012".into(),
                region: REGION.into(),
                database_name: "gdb".into(),
                table_name: table.into(),
                table_arn: String::new(),
                source_classification: "postgresql".into(),
            }),
        },
    }
}

pub fn pg_jdbc() -> String {
    let hostport = postgres_url()
        .split_once('@')
        .unwrap()
        .1
        .rsplit_once('/')
        .unwrap()
        .0
        .to_owned();
    format!("jdbc:postgresql://{hostport}/athena_test")
}

pub async fn pg_setup(schema: &str, tables: &[&str]) -> sqlx::PgPool {
    let pg = postgres().await;
    pg.execute(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE; CREATE SCHEMA \"{schema}\""
    )))
    .await
    .unwrap();
    for t in tables {
        pg.execute(sqlx::AssertSqlSafe(format!("CREATE TABLE \"{schema}\".\"{t}\" (id int); INSERT INTO \"{schema}\".\"{t}\" VALUES (1), (2)"))).await.unwrap();
    }
    pg
}

/// The test PostgreSQL server as the tracking tables key it.
pub fn pg_server() -> String {
    format!(
        "postgres://{}",
        postgres_url()
            .split_once('@')
            .unwrap()
            .1
            .rsplit_once('/')
            .unwrap()
            .0
    )
}

/// Removes what an earlier run of a test left: the role and its record.
pub async fn pg_forget(pg: &sqlx::PgPool, env: &str) {
    let user = format!("dz_{env}");
    let drop = format!(
        "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') THEN EXECUTE 'DROP OWNED BY {user}'; EXECUTE 'DROP ROLE {user}'; END IF; END $$"
    );
    // Tests run in parallel and also change the database's ACL (GRANT CONNECT): PostgreSQL
    // then answers "tuple concurrently updated"; trying again is the documented remedy.
    for attempt in 1.. {
        match pg.execute(sqlx::AssertSqlSafe(drop.clone())).await {
            Ok(_) => break,
            Err(e) if attempt < 10 && e.to_string().contains("tuple concurrently updated") => {
                tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await
            }
            Err(e) => panic!("dropping {user}: {e}"),
        }
    }
    let c = ctx().await;
    let _ = c
        .dynamodb()
        .delete_item()
        .table_name("prov_users")
        .key(
            "server",
            aws_sdk_dynamodb::types::AttributeValue::S(pg_server()),
        )
        .key(
            "environment_id",
            aws_sdk_dynamodb::types::AttributeValue::S(env.into()),
        )
        .send()
        .await;
}

/// Logs in with the consumer secret's credentials (password checked: the role must
/// authenticate even where the server trusts local connections).
pub async fn login(pg: &sqlx::PgPool, consumer_secret: &str) -> Result<sqlx::PgConnection, String> {
    let sm = aws_sdk_secretsmanager::Client::new(&aws().await);
    let v: serde_json::Value = serde_json::from_str(
        sm.get_secret_value()
            .secret_id(consumer_secret)
            .send()
            .await
            .unwrap()
            .secret_string()
            .unwrap(),
    )
    .unwrap();
    let user = v["username"].as_str().unwrap().to_owned();
    pg.execute(sqlx::AssertSqlSafe(format!(
        "GRANT athena_password_auth TO \"{user}\""
    )))
    .await
    .unwrap();
    let url = postgres_url();
    let hostport = url.split_once('@').unwrap().1;
    let options: sqlx::postgres::PgConnectOptions =
        format!("postgres://{hostport}").parse().unwrap();
    let options = options
        .username(&user)
        .password(v["password"].as_str().unwrap());
    sqlx::PgConnection::connect_with(&options)
        .await
        .map_err(|e| e.to_string())
}

pub async fn count(conn: &mut sqlx::PgConnection, table: &str) -> Result<i64, String> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| e.to_string())
}

/// A secret holding `username` and `password`, tagged `AmazonDataZoneProject` = `project`:
/// its ARN (the one there already, when it exists).
pub async fn project_secret(name: &str, username: &str, password: &str, project: &str) -> String {
    let sm = aws_sdk_secretsmanager::Client::new(&aws().await);
    let value = serde_json::json!({"username": username, "password": password}).to_string();
    match sm
        .create_secret()
        .name(name)
        .secret_string(&value)
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("AmazonDataZoneProject")
                .value(project)
                .build(),
        )
        .send()
        .await
    {
        Ok(o) => o.arn().unwrap().to_owned(),
        Err(_) => sm
            .describe_secret()
            .secret_id(name)
            .send()
            .await
            .unwrap()
            .arn()
            .unwrap()
            .to_owned(),
    }
}

/// `provision <args>` with [`cli_env`]: asserts it succeeded, and returns its JSON answer.
pub fn provision_cli(args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(workspace_binary("provision"))
        .args(args)
        .envs(cli_env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `athena-fed query --format csv` over catalog `sub`: the test PostgreSQL through consumer
/// secret `secret_name`, whose user (`dz_<env>`) must log in with its password (see
/// [`login`]).
pub async fn consumer_query_cli(
    pg: &sqlx::PgPool,
    env: &str,
    secret_name: &str,
) -> impl Fn(&str) -> std::process::Output {
    pg.execute(sqlx::AssertSqlSafe(format!(
        "GRANT athena_password_auth TO \"dz_{env}\""
    )))
    .await
    .unwrap();
    let hostport = postgres_url().split_once('@').unwrap().1.to_owned();
    let catalog = format!("sub=postgres://jdbc:postgresql://{hostport}?${{{secret_name}}}");
    move |sql: &str| {
        std::process::Command::new(workspace_binary("athena-fed"))
            .args(["query", "--catalog", &catalog, "--format", "csv", sql])
            .envs(cli_env())
            .output()
            .unwrap()
    }
}

/// The inverse of [`urlencode`] (IAM answers policy documents URL-encoded).
pub fn urldecode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A context whose AWS traffic follows Secrets Manager's documented rule where moto differs:
/// CreateSecret under a name scheduled for deletion fails with `InvalidRequestException`
/// ("already scheduled for deletion") for the whole recovery window, where moto answers
/// `ResourceExistsException`. A hand-written layer over moto's HTTP traffic (it asks moto
/// whether the name is pending deletion); every other call passes through unchanged.
pub async fn ctx_with_aws_secret_rules() -> Context {
    let sdk = aws()
        .await
        .to_builder()
        .http_client(aws_rules::SecretsManagerRules {
            inner: aws_smithy_http_client::Builder::new().build_http(),
        })
        .build();
    let ctx = Context::new(settings(), sdk).await;
    athena_provisioning::tracking::create_tables(&ctx.dynamodb(), &ctx.settings)
        .await
        .unwrap();
    ctx
}

mod aws_rules {
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::byte_stream::ByteStream;

    #[derive(Debug)]
    pub struct SecretsManagerRules {
        pub inner: SharedHttpClient,
    }

    impl HttpClient for SecretsManagerRules {
        fn http_connector(
            &self,
            settings: &HttpConnectorSettings,
            components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            SharedHttpConnector::new(Connector {
                inner: self.inner.http_connector(settings, components),
            })
        }
    }

    #[derive(Debug)]
    struct Connector {
        inner: SharedHttpConnector,
    }

    fn io(e: impl std::error::Error + Send + Sync + 'static) -> ConnectorError {
        ConnectorError::other(Box::new(e), None)
    }

    /// Whether moto holds `name` as scheduled for deletion (moto does not check signatures,
    /// so the original request's headers are reused).
    async fn pending_deletion(
        inner: &SharedHttpConnector,
        original: &HttpRequest,
        name: &str,
    ) -> Result<bool, ConnectorError> {
        let mut describe = HttpRequest::new(SdkBody::from(
            serde_json::json!({ "SecretId": name }).to_string(),
        ));
        describe.set_uri(original.uri()).map_err(io)?;
        describe.set_method("POST").map_err(io)?;
        for (k, v) in original.headers() {
            if !k.eq_ignore_ascii_case("content-length") && !k.eq_ignore_ascii_case("x-amz-target")
            {
                describe.headers_mut().insert(k.to_owned(), v.to_owned());
            }
        }
        describe
            .headers_mut()
            .insert("x-amz-target", "secretsmanager.DescribeSecret");
        let response = inner.call(describe).await?;
        let body = ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(io)?
            .into_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        Ok(v.get("DeletedDate").is_some_and(|d| !d.is_null()))
    }

    impl HttpConnector for Connector {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let inner = self.inner.clone();
            HttpConnectorFuture::new(async move {
                if request.headers().get("x-amz-target") == Some("secretsmanager.CreateSecret") {
                    let body: serde_json::Value =
                        serde_json::from_slice(request.body().bytes().unwrap_or_default())
                            .unwrap_or_default();
                    if let Some(name) = body["Name"].as_str() {
                        if pending_deletion(&inner, &request, name).await? {
                            let mut refused = HttpResponse::new(
                                StatusCode::try_from(400u16).map_err(io)?,
                                SdkBody::from(
                                    serde_json::json!({
                                        "__type": "InvalidRequestException",
                                        "Message": "You can't create this secret because a secret with this name is already scheduled for deletion."
                                    })
                                    .to_string(),
                                ),
                            );
                            refused
                                .headers_mut()
                                .insert("content-type", "application/x-amz-json-1.1");
                            return Ok(refused);
                        }
                    }
                }
                inner.call(request).await
            })
        }
    }
}

/// The environment the `provision` and `athena-fed` CLIs run with in the tests: AWS at moto,
/// the tracking tables of [`settings`].
pub fn cli_env() -> [(&'static str, &'static str); 7] {
    let [endpoint, key, secret, region] = moto_env();
    [
        endpoint,
        key,
        secret,
        region,
        ("USERS_TABLE", "prov_users"),
        ("SUBSCRIPTIONS_TABLE", "prov_subscriptions"),
        ("MAPPINGS_TABLE", "prov_mappings"),
    ]
}

/// A one-shot HTTP server standing where CloudFormation's presigned response URL would be:
/// the URL, and the body of the PUT it receives.
pub async fn cfn_response_url() -> (String, tokio::task::JoinHandle<(String, String)>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/cfn-response?X-Amz-Signature=abc",
        listener.local_addr().unwrap()
    );
    let task = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut s, &mut chunk)
                .await
                .unwrap();
            assert!(n > 0, "connection closed before the body");
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let head = text[..end].to_owned();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .expect("a content length");
                if buf.len() >= end + 4 + length {
                    tokio::io::AsyncWriteExt::write_all(
                        &mut s,
                        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
                    )
                    .await
                    .unwrap();
                    return (head, text[end + 4..end + 4 + length].to_owned());
                }
            }
        }
    });
    (url, task)
}

/// A role as DataZone makes an environment's user role: tagged with its ids.
pub async fn user_role(name: &str, tags: &[(&str, &str)]) -> String {
    let iam = aws_sdk_iam::Client::new(&aws().await);
    let mut req = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#);
    for (k, v) in tags {
        req = req.tags(
            aws_sdk_iam::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .unwrap(),
        );
    }
    req.send().await.unwrap().role().unwrap().arn().to_owned()
}

/// A product's stack as Service Catalog launches it: tagged with the launching principal.
pub async fn product_stack(name: &str, principal: Option<&str>) -> String {
    let cfn = aws_sdk_cloudformation::Client::new(&aws().await);
    let mut req = cfn.create_stack().stack_name(name).template_body(
        r#"{"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {}}}}"#,
    );
    if let Some(p) = principal {
        req = req.tags(
            aws_sdk_cloudformation::types::Tag::builder()
                .key("aws:servicecatalog:provisioningPrincipalArn")
                .value(p)
                .build(),
        );
    }
    req.send().await.unwrap().stack_id().unwrap().to_owned()
}

/// A custom resource request as CloudFormation sends it for `Custom::DataZoneIds`.
pub fn launch_request(
    kind: &str,
    url: &str,
    stack: &str,
    properties: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": stack,
        "RequestId": "req-1",
        "ResourceType": "Custom::DataZoneIds",
        "LogicalResourceId": "Ids",
        "ResourceProperties": properties,
    })
}
