//! Governance against the in-memory DataZone stand-in.

use serde_json::json;

use super::*;
use crate::datazone::{EnvironmentInfo, InMemoryDataZone, ListingInfo};

fn env(id: &str, status: &str) -> EnvironmentInfo {
    EnvironmentInfo {
        id: id.into(),
        name: format!("{id}-name"),
        status: status.into(),
        account_id: "222222222222".into(),
        region: "eu-west-1".into(),
    }
}

fn datazone(asset_type: &str) -> InMemoryDataZone {
    let mut dz = InMemoryDataZone::default();
    let forms = json!({"GlueTableForm": {"catalogId": "111111111111", "region": "eu-west-1", "tableName": "orders", "tableArn": "arn:aws:glue:eu-west-1:111111111111:table/sales/orders", "sourceClassification": "postgresql"}}).to_string();
    dz.listings.insert(
        "lst1".into(),
        ListingInfo {
            name: "Orders".into(),
            asset_id: "ast1".into(),
            asset_type: asset_type.into(),
            asset_revision: "3".into(),
            owning_project_id: "prod".into(),
            forms,
        },
    );
    dz.projects.insert("prod".into(), "Producers".into());
    dz.projects.insert("cons".into(), "Consumers".into());
    dz.environment_pages.insert(
        "cons".into(),
        vec![
            vec![env("e1", "ACTIVE"), env("e2", "INACTIVE")],
            vec![env("e3", "ACTIVE"), env("e4", "ACTIVE")],
        ],
    );
    for (e, b) in [
        ("e1", "DefaultDataLake"),
        ("e2", "DefaultDataLake"),
        ("e3", "DefaultDataLake"),
        ("e4", "CustomBlueprint"),
    ] {
        dz.blueprints.insert(e.into(), b.into());
    }
    dz
}

fn subscription_event(kind: &str, status: &str) -> serde_json::Value {
    json!({"detail-type": kind, "detail": {"metadata": {"domain": "dzd1"}, "data": {"status": status, "subscribedListing": {"id": "lst1", "version": "7"}, "subscribedPrincipal": {"id": "cons"}}}})
}

#[tokio::test]
async fn subscription_events_fan_out_to_every_active_allowed_environment_on_every_page() {
    let dz = datazone("GlueTableAssetType");
    let allowed = vec!["DefaultDataLake".to_owned()];
    let inputs = fan_out(
        &dz,
        &subscription_event("Subscription Created", "APPROVED"),
        &allowed,
    )
    .await
    .unwrap();
    let envs: Vec<&str> = inputs
        .iter()
        .map(|i| {
            i.subscription_details
                .consumer_project_details
                .environment_id
                .as_str()
        })
        .collect();
    assert_eq!(
        envs,
        ["e1", "e3"],
        "page 2 included, inactive and other blueprints left out"
    );
    let d = &inputs[0].subscription_details;
    assert_eq!(inputs[0].action, Action::Grant);
    assert_eq!(
        (
            d.producer_project_details.project_name.as_str(),
            d.consumer_project_details.account_id.as_str()
        ),
        ("Producers", "222222222222")
    );
    let g = d.asset_details.glue_table_details.as_ref().unwrap();
    assert_eq!(
        (
            g.database_name.as_str(),
            g.table_name.as_str(),
            g.account_id.as_str()
        ),
        ("sales", "orders", "111111111111")
    );
    assert_eq!(inputs[0].execution_name(), "Grant-e1-ast1-7");
    let more = vec!["DefaultDataLake".to_owned(), "CustomBlueprint".to_owned()];
    assert_eq!(
        fan_out(
            &dz,
            &subscription_event("Subscription Created", "APPROVED"),
            &more
        )
        .await
        .unwrap()
        .len(),
        3
    );
    let revoke = fan_out(
        &dz,
        &subscription_event("Subscription Cancelled", "CANCELLED"),
        &allowed,
    )
    .await
    .unwrap();
    assert!(revoke.iter().all(|i| i.action == Action::Revoke) && revoke.len() == 2);
    assert!(fan_out(
        &dz,
        &subscription_event("Subscription Created", "PENDING"),
        &allowed
    )
    .await
    .unwrap()
    .is_empty());
    assert!(fan_out(
        &dz,
        &json!({"detail-type": "Something Else", "detail": {"metadata": {"domain": "d"}}}),
        &allowed
    )
    .await
    .unwrap()
    .is_empty());
}

#[tokio::test]
async fn grant_events_target_one_environment_and_report_status() {
    let dz = datazone("S3ObjectCollectionAssetType");
    let event = json!({"detail-type": "Subscription Grant Requested", "detail": {"metadata": {"domain": "dzd1", "id": "grant9"},
        "data": {"asset": {"listingId": "lst1", "listingVersion": "7"}, "projectId": "cons", "subscriptionTarget": {"environmentId": "e3"}}}});
    let inputs = fan_out(&dz, &event, &[]).await.unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].grant_id.as_deref(), Some("grant9"));
    assert_eq!(
        inputs[0].subscription_details.asset_details.asset_type, "S3ObjectCollectionAssetType",
        "the steps make this a no-op"
    );
    let ok: Result<(), String> = with_status(&dz, &inputs[0], async { Ok(()) }).await;
    assert!(ok.is_ok());
    let failed: Result<(), String> = with_status(&dz, &inputs[0], async {
        Err("database: connection refused".to_owned())
    })
    .await;
    assert!(failed.is_err());
    let statuses = dz.statuses.lock().unwrap().clone();
    assert_eq!(
        statuses,
        vec![
            (
                "grant9".into(),
                "ast1".into(),
                GrantStatus::GrantInProgress,
                None
            ),
            ("grant9".into(), "ast1".into(), GrantStatus::Granted, None),
            (
                "grant9".into(),
                "ast1".into(),
                GrantStatus::GrantInProgress,
                None
            ),
            (
                "grant9".into(),
                "ast1".into(),
                GrantStatus::GrantFailed,
                Some("database: connection refused".into())
            ),
        ]
    );
    let bad = fan_out(&dz, &json!({"detail-type": "Subscription Grant Requested", "detail": {"metadata": {"domain": "d"}}}), &[]).await.unwrap_err();
    assert_eq!(
        bad,
        GovernanceError::Event("missing data.asset.listingId".into())
    );
}
