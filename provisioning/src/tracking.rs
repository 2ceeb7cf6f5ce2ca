//! DynamoDB records. Updates are atomic: assets are a string set changed with ADD/DELETE and
//! creation is conditional, so concurrent grants and revokes for one environment never lose
//! an update. Timestamps are RFC 3339 UTC. A revoke drops a user only under a condition on
//! its record (no asset, its own drop mark), so a grant that recorded its asset first wins.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;

use crate::context::Settings;
use crate::steps::StepError;

/// How long a revoke's drop mark holds off grants; an older mark is a revoke that died
/// between marking and deleting the record, and a grant takes the record over.
pub const DROP_MARK_LEASE: chrono::Duration = chrono::Duration::minutes(15);

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn aws<E: std::error::Error + aws_sdk_glue::error::ProvideErrorMetadata + 'static>(
    what: &str,
    e: aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> StepError {
    StepError::Aws(format!("dynamodb:{what}: {}", crate::aws_error(&e)))
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// The database user of one consumer environment on one server.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub server: String,
    pub environment_id: String,
    pub user_name: String,
    pub secret_arn: String,
    pub secret_name: String,
    /// Asset id → the table location it granted (`db.schema.table`).
    pub grants: HashMap<String, String>,
}

impl UserRecord {
    fn from_item(item: &HashMap<String, AttributeValue>) -> Option<UserRecord> {
        let get = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        let grants = item
            .get("grants")
            .and_then(|v| v.as_m().ok())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        Some(UserRecord {
            server: get("server")?,
            environment_id: get("environment_id")?,
            user_name: get("user_name")?,
            secret_arn: get("secret_arn").unwrap_or_default(),
            secret_name: get("secret_name").unwrap_or_default(),
            grants,
        })
    }
}

/// Creates the three tables (tests and `provision init`; SAM creates them in AWS).
pub async fn create_tables(db: &Client, settings: &Settings) -> Result<(), StepError> {
    let tables = [
        (&settings.users_table, "server", Some("environment_id")),
        (
            &settings.subscriptions_table,
            "environment_id",
            Some("asset_id"),
        ),
        (&settings.mappings_table, "producer_secret_arn", None),
    ];
    for (name, hash, range) in tables {
        let mut req = db
            .create_table()
            .table_name(name.as_str())
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(hash)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("complete"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(hash)
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("complete"),
            );
        if let Some(r) = range {
            req = req
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(r)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .expect("complete"),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(r)
                        .key_type(KeyType::Range)
                        .build()
                        .expect("complete"),
                );
        }
        match req.send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) => {}
            Err(e) => return Err(aws("CreateTable", e)),
        }
    }
    Ok(())
}

pub struct Tracking<'a> {
    pub db: Client,
    pub settings: &'a Settings,
}

impl Tracking<'_> {
    fn user_key(&self, server: &str, env: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("server".to_owned(), s(server)),
            ("environment_id".to_owned(), s(env)),
        ])
    }

    pub async fn user(&self, server: &str, env: &str) -> Result<Option<UserRecord>, StepError> {
        let out = self
            .db
            .get_item()
            .table_name(&self.settings.users_table)
            .set_key(Some(self.user_key(server, env)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws("GetItem", e))?;
        Ok(out.item().and_then(UserRecord::from_item))
    }

    /// Creates the record unless one exists; returns the record that holds.
    pub async fn create_user(
        &self,
        r: &UserRecord,
        extra: &[(&str, &str)],
    ) -> Result<UserRecord, StepError> {
        let mut item = self.user_key(&r.server, &r.environment_id);
        item.insert("user_name".into(), s(&r.user_name));
        item.insert("secret_arn".into(), s(&r.secret_arn));
        item.insert("secret_name".into(), s(&r.secret_name));
        item.insert("grants".into(), AttributeValue::M(HashMap::new()));
        item.insert("version".into(), AttributeValue::N("0".into()));
        item.insert("created_at".into(), s(&now()));
        item.insert("updated_at".into(), s(&now()));
        for (k, v) in extra {
            item.insert((*k).to_owned(), s(v));
        }
        match self
            .db
            .put_item()
            .table_name(&self.settings.users_table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#s)")
            .expression_attribute_names("#s", "server")
            .send()
            .await
        {
            Ok(_) => Ok(r.clone()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                self.user(&r.server, &r.environment_id)
                    .await?
                    .ok_or_else(|| {
                        StepError::Busy(format!(
                            "the user record of {} on {} was removed by a concurrent revoke",
                            r.environment_id, r.server
                        ))
                    })
            }
            Err(e) => Err(aws("PutItem", e)),
        }
    }

    /// Records an asset (and the table it grants) on the user's record, creating the record
    /// if needed, before any database change. Refused with [`StepError::Busy`] while a revoke
    /// is dropping the user (its mark younger than [`DROP_MARK_LEASE`]) or has just deleted
    /// the record.
    pub async fn claim_asset(
        &self,
        r: &UserRecord,
        extra: &[(&str, &str)],
        asset: &str,
        location: &str,
    ) -> Result<UserRecord, StepError> {
        let existing = self.create_user(r, extra).await?;
        let stale = (chrono::Utc::now() - DROP_MARK_LEASE)
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let out = self
            .db
            .update_item()
            .table_name(&self.settings.users_table)
            .set_key(Some(self.user_key(&r.server, &r.environment_id)))
            .update_expression(
                "ADD assets :a, version :one SET grants.#id = :loc, updated_at = :now REMOVE dropping_since",
            )
            .condition_expression(
                "attribute_exists(#s) AND (attribute_not_exists(dropping_since) OR dropping_since < :stale)",
            )
            .expression_attribute_names("#s", "server")
            .expression_attribute_names("#id", asset)
            .expression_attribute_values(":a", AttributeValue::Ss(vec![asset.to_owned()]))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":loc", s(location))
            .expression_attribute_values(":now", s(&now()))
            .expression_attribute_values(":stale", s(&stale))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(o) => o
                .attributes()
                .and_then(UserRecord::from_item)
                .ok_or_else(|| StepError::Aws("UpdateItem returned no record".into())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(StepError::Busy(format!(
                    "a revoke is dropping user {} on {}; the grant is retried after it",
                    existing.user_name, r.server
                )))
            }
            Err(e) => Err(aws("UpdateItem", e)),
        }
    }

    /// Records the producer secret's ARN (known once the secret exists).
    pub async fn set_secret_arn(
        &self,
        server: &str,
        env: &str,
        arn: &str,
    ) -> Result<(), StepError> {
        self.db
            .update_item()
            .table_name(&self.settings.users_table)
            .set_key(Some(self.user_key(server, env)))
            .update_expression("SET secret_arn = :arn")
            .condition_expression("attribute_exists(#s)")
            .expression_attribute_names("#s", "server")
            .expression_attribute_values(":arn", s(arn))
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_conditional_check_failed_exception() => StepError::Busy(format!(
                    "the user record of {env} on {server} was removed by a concurrent revoke; the grant is retried"
                )),
                _ => aws("UpdateItem", e),
            })?;
        Ok(())
    }

    /// Removes an asset atomically; `None` if there is no record (nothing was granted).
    pub async fn remove_asset(
        &self,
        server: &str,
        env: &str,
        asset: &str,
    ) -> Result<Option<UserRecord>, StepError> {
        let out = self
            .db
            .update_item()
            .table_name(&self.settings.users_table)
            .set_key(Some(self.user_key(server, env)))
            .update_expression(
                "DELETE assets :a ADD version :one REMOVE grants.#id SET updated_at = :now",
            )
            .condition_expression("attribute_exists(#s)")
            .expression_attribute_names("#s", "server")
            .expression_attribute_names("#id", asset)
            .expression_attribute_values(":a", AttributeValue::Ss(vec![asset.to_owned()]))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":now", s(&now()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(o) => Ok(o.attributes().and_then(UserRecord::from_item)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws("UpdateItem", e)),
        }
    }

    /// Marks the record as being dropped, only if it holds no asset; the mark, or `None`
    /// when an asset was recorded (a grant won) or the record is gone.
    pub async fn mark_dropping(
        &self,
        server: &str,
        env: &str,
    ) -> Result<Option<String>, StepError> {
        let mark = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        match self
            .db
            .update_item()
            .table_name(&self.settings.users_table)
            .set_key(Some(self.user_key(server, env)))
            .update_expression("SET dropping_since = :m")
            .condition_expression("attribute_exists(#s) AND attribute_not_exists(assets)")
            .expression_attribute_names("#s", "server")
            .expression_attribute_values(":m", s(&mark))
            .send()
            .await
        {
            Ok(_) => Ok(Some(mark)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws("UpdateItem", e)),
        }
    }

    /// Deletes the record if it still carries `mark` and no asset; whether it did.
    pub async fn delete_if_dropping(
        &self,
        server: &str,
        env: &str,
        mark: &str,
    ) -> Result<bool, StepError> {
        match self
            .db
            .delete_item()
            .table_name(&self.settings.users_table)
            .set_key(Some(self.user_key(server, env)))
            .condition_expression("dropping_since = :m AND attribute_not_exists(assets)")
            .expression_attribute_values(":m", s(mark))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(aws("DeleteItem", e)),
        }
    }

    /// Upserts a row (`key` attributes plus `fields`), setting `updated_at`.
    pub async fn upsert(
        &self,
        table: &str,
        key: &[(&str, &str)],
        fields: &[(&str, &str)],
    ) -> Result<(), StepError> {
        let mut update = vec![
            "updated_at = :now".to_owned(),
            "created_at = if_not_exists(created_at, :now)".to_owned(),
        ];
        let mut req = self
            .db
            .update_item()
            .table_name(table)
            .expression_attribute_values(":now", s(&now()));
        for (k, v) in key {
            req = req.key(*k, s(v));
        }
        for (i, (k, v)) in fields.iter().enumerate() {
            update.push(format!("#f{i} = :v{i}"));
            req = req
                .expression_attribute_names(format!("#f{i}"), *k)
                .expression_attribute_values(format!(":v{i}"), s(v));
        }
        req.update_expression(format!("SET {}", update.join(", ")))
            .send()
            .await
            .map_err(|e| aws("UpdateItem", e))?;
        Ok(())
    }

    pub async fn get(
        &self,
        table: &str,
        key: &[(&str, &str)],
    ) -> Result<Option<HashMap<String, String>>, StepError> {
        let mut req = self.db.get_item().table_name(table).consistent_read(true);
        for (k, v) in key {
            req = req.key(*k, s(v));
        }
        let out = req.send().await.map_err(|e| aws("GetItem", e))?;
        Ok(out.item().map(|i| {
            i.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone())))
                .collect()
        }))
    }

    /// Every row of `table` whose hash key `key` is `value` (all pages).
    pub async fn query(
        &self,
        table: &str,
        key: &str,
        value: &str,
    ) -> Result<Vec<HashMap<String, String>>, StepError> {
        let mut rows = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .db
                .query()
                .table_name(table)
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", key)
                .expression_attribute_values(":v", s(value))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| aws("Query", e))?;
            rows.extend(out.items().iter().map(|i| {
                i.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone())))
                    .collect()
            }));
            match out.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(rows),
            }
        }
    }

    pub async fn delete(&self, table: &str, key: &[(&str, &str)]) -> Result<(), StepError> {
        let mut req = self.db.delete_item().table_name(table);
        for (k, v) in key {
            req = req.key(*k, s(v));
        }
        req.send().await.map_err(|e| aws("DeleteItem", e))?;
        Ok(())
    }
}
