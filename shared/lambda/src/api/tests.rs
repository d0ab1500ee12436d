//! The router's pure parts: routes, statuses, bodies.

use super::reads::entity_kind;
use super::*;
use synchub_core::domain::DataType;
use synchub_core::domain::EntityKind;

#[test]
fn routes_name_the_question_and_the_tenant() {
    assert_eq!(Route::parse("/api/health"), Some(Route::Health));
    assert_eq!(Route::parse("/api/health/"), Some(Route::Health));
    assert_eq!(
        Route::parse("/api/tenants/acme/status"),
        Some(Route::Status("acme"))
    );
    assert_eq!(
        Route::parse("/api/tenants/acme/trace"),
        Some(Route::Trace("acme"))
    );
    assert_eq!(
        Route::parse("/api/tenants/acme/runs"),
        Some(Route::Runs("acme"))
    );
    for none in [
        "/api",
        "/api/tenants/acme",
        "/api/tenants/acme/other",
        "/api/tenants/a/b/status",
        "/webhooks/supplier/acme",
    ] {
        assert_eq!(Route::parse(none), None, "{none}");
    }
}

#[test]
fn each_error_has_one_status() {
    let invalid = ApiError::Invalid(ValidationError::new("kind", "must be one of"));
    assert_eq!(invalid.status(), 400);
    assert_eq!(error_body(&invalid)["error"]["field"], "kind");
    assert_eq!(ApiError::UnknownTenant("x".into()).status(), 404);
    let network = ApiError::Port(PortError::new(
        "SQS",
        "GetQueueAttributes",
        ErrorClass::NetworkError,
        "timed out",
    ));
    assert_eq!(network.status(), 503);
    assert_eq!(error_body(&network)["error"]["retryable"], true);
    let token = ApiError::Sync(SyncError::NoToken {
        tenant: "acme".into(),
    });
    assert_eq!(token.status(), 500);
    assert_eq!(error_body(&token)["error"]["class"], "AUTH_ERROR");
}

#[test]
fn a_kind_is_one_of_the_seven() {
    assert_eq!(
        entity_kind(Some("catalog_item")),
        Ok(EntityKind::CatalogItem)
    );
    assert_eq!(entity_kind(Some("customer")), Ok(EntityKind::Customer));
    assert_eq!(entity_kind(Some("sku")).unwrap_err().field, "kind");
    assert_eq!(entity_kind(None).unwrap_err().field, "kind");
}

#[test]
fn the_runs_body_names_the_bad_field() {
    assert_eq!(RunsRequest::parse(b"").unwrap(), RunsRequest::default());
    let r =
        RunsRequest::parse(br#"{"dataTypes": ["catalog", "catalog", "orders"], "force": true}"#)
            .unwrap();
    assert_eq!(r.data_types(), vec![DataType::Catalog, DataType::Orders]);
    assert!(r.force && !r.dry_run);
    assert_eq!(
        RunsRequest::parse(br#"{"dataTypes": ["books"]}"#)
            .unwrap_err()
            .field,
        "dataTypes[0]"
    );
    assert_eq!(
        RunsRequest::parse(br#"{"dataTypes": []}"#)
            .unwrap_err()
            .field,
        "dataTypes"
    );
    assert_eq!(
        RunsRequest::parse(br#"{"dryRun": "yes"}"#)
            .unwrap_err()
            .field,
        "dryRun"
    );
    assert_eq!(RunsRequest::parse(b"{").unwrap_err().field, "body");
}
