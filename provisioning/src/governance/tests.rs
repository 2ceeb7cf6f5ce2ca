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
        project_id: "consumer-project".into(),
        user_role_arn: None,
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
    assert_eq!(inputs[0].execution_name(None), "Grant-e1-ast1-7");
    // A redelivered event (same id) gets the same name; a later event (a new subscription
    // after a revoke) another.
    let first = inputs[0].execution_name(Some("0f1e2d3c-event"));
    assert_eq!(first, inputs[0].execution_name(Some("0f1e2d3c-event")));
    assert_ne!(first, inputs[0].execution_name(Some("another-event")));
    assert!(
        first.starts_with("Grant-e1-ast1-7-") && first.len() == 15 + 17,
        "{first}"
    );
    let mut long = inputs[0].clone();
    long.subscription_details.asset_details.id = "a/".repeat(60);
    let name = long.execution_name(Some("0f1e2d3c-event"));
    assert_eq!(name.len(), 80, "{name}");
    assert!(name[..63]
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_eq!(&name[63..], &first[15..]);
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

fn routing(accounts: &[&str]) -> Routing {
    Routing {
        allowed_blueprints: vec!["DefaultDataLake".into()],
        producer_accounts: accounts.iter().map(|a| a.to_string()).collect(),
        workflow_role_name: "athena-fed-governance-access".into(),
        state_machine_name: "athena-fed-subscription".into(),
    }
}

#[tokio::test]
async fn each_input_runs_in_the_producer_account_of_its_glue_table() {
    let dz = datazone("GlueTableAssetType");
    let event = subscription_event("Subscription Created", "APPROVED");
    let inputs = fan_out(&dz, &event, &["DefaultDataLake".to_owned()])
        .await
        .unwrap();
    // The table is in 111111111111; the consumer environments are in 222222222222.
    assert_eq!(
        routing(&["111111111111", "333333333333"]).target(&inputs[0]),
        Ok(Some(Target {
            state_machine_arn:
                "arn:aws:states:eu-west-1:111111111111:stateMachine:athena-fed-subscription".into(),
            role_arn: "arn:aws:iam::111111111111:role/athena-fed-governance-access".into(),
        }))
    );
    assert!(
        routing(&[]).target(&inputs[0]).unwrap().is_some(),
        "empty list: any account"
    );
    assert_eq!(
        routing(&["333333333333"]).target(&inputs[0]),
        Err("producer account 111111111111 is not served by this deployment (PRODUCER_ACCOUNT_IDS: 333333333333)".into())
    );
    // The form's account and region become ARNs: anything else is refused.
    let mut hostile = inputs[0].clone();
    let table = hostile
        .subscription_details
        .asset_details
        .glue_table_details
        .as_mut()
        .unwrap();
    table.account_id = "111111111111:role/admin#".into();
    assert_eq!(
        routing(&[]).target(&hostile),
        Err("the Glue table form names account \"111111111111:role/admin#\", not a 12-digit AWS account id".into())
    );
    let table = hostile
        .subscription_details
        .asset_details
        .glue_table_details
        .as_mut()
        .unwrap();
    table.account_id = "111111111111".into();
    table.region = "eu-west-1:*".into();
    assert_eq!(
        routing(&[]).target(&hostile),
        Err("the Glue table form names region \"eu-west-1:*\", not an AWS region".into())
    );
    // No Glue table: nothing of ours to provision, so nowhere to run.
    let mut other = inputs[0].clone();
    other.subscription_details.asset_details.glue_table_details = None;
    assert_eq!(routing(&[]).target(&other), Ok(None));
}
