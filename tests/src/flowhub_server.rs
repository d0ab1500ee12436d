//! A Flowhub stand-in (its v0 and v1 endpoints as its portal documents
//! them) and a tenant set up on it through `synchub tenant set`'s use case,
//! for the tests of connector tenants.

use crate::{TestStack, TestTenant};
use serde_json::{json, Value};
use std::time::Duration;
use synchub_aws::dynamodb::DynamoTenantDirectory;
use synchub_aws::ssm::SsmSecretStore;
use synchub_lambda::DailySync;
use synchub_ops::tenants::{self, Credentials, SettingsChange, TenantPorts};
use wiremock::matchers::{header, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// One inventory variant as Flowhub sends it.
pub fn variant(id: &str, name: &str, updated: &str, quantity: i64) -> Value {
    json!({"variantId": id, "productId": format!("p-{id}"), "parentProductId": "pp-1", "productName": name, "variantName": "3.5g",
           "brand": "Acme Farms", "category": "Flower", "strainName": "Blue Dream", "speciesName": "Hybrid", "productUpdatedAt": updated,
           "quantity": quantity, "locationId": "loc-1", "sku": format!("SKU-{id}"), "priceInMinorUnits": 3500, "currencyCode": "USD",
           "productWeight": 3.5, "productUnitOfMeasure": "g", "inventoryUnitOfMeasure": "each"})
}

/// Flowhub's v0 and v1 endpoints as its portal documents them, behind its
/// two key headers; `variants` is the location's inventory.
pub async fn flowhub(server: &MockServer, variants: Vec<Value>) {
    server.reset().await;
    let auth = |m: wiremock::MockBuilder| {
        m.and(header("clientId", "cid-7"))
            .and(header("key", "key-7"))
    };
    auth(Mock::given(path("/v0/clientsLocations")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": 200, "data": [
            {"locationId": "loc-1", "locationName": "Main Street", "timeZone": "America/Denver", "importId": "imp-1", "licenseType": ["recreational"]}]})))
        .mount(server)
        .await;
    auth(Mock::given(path("/v0/locations/loc-1/inventory")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"status": 200, "data": variants})),
        )
        .mount(server)
        .await;
    auth(Mock::given(path("/v1/orders/findByLocationId/imp-1")).and(query_param("page", "1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 1, "orders": [
            {"id": "sale-1", "orderId": "1001", "locationId": "loc-1", "createdAt": "2026-12-01T18:00:00.000Z", "orderStatus": "Sold",
             "orderType": "in-store", "voided": false, "totals": {"FinalTotal": 38.5}, "itemsInCart": []}]})))
        .mount(server)
        .await;
    auth(Mock::given(path("/v1/orders/findByLocationId/imp-1")).and(query_param("page", "2")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 1, "orders": []})))
        .mount(server)
        .await;
}

/// The operator's `synchub tenant set`, through its use case, on the
/// stack's tenants table and SSM path.
pub struct Operator {
    admin: DynamoTenantDirectory,
    vault: SsmSecretStore,
}

impl Operator {
    pub fn new(stack: &TestStack) -> Self {
        Self {
            admin: DynamoTenantDirectory::new(
                stack.dynamo(),
                &stack.config.tenants_table,
                Duration::ZERO,
            ),
            vault: SsmSecretStore::new(
                aws_sdk_ssm::Client::new(&stack.aws),
                &stack.config.tenant_secrets_path,
                Duration::ZERO,
            ),
        }
    }

    /// `synchub tenant set` for `tenant`: what it changed, or why not.
    pub async fn set(
        &self,
        tenant: &str,
        change: &SettingsChange,
        keys: &Credentials,
    ) -> Result<tenants::Changed, tenants::TenantAdminError> {
        let ports = TenantPorts {
            admin: &self.admin,
            vault: &self.vault,
        };
        tenants::set(&ports, tenant, change, keys).await
    }
}

/// A Flowhub stand-in serving `variants`, started.
pub async fn start(variants: Vec<Value>) -> MockServer {
    let server = MockServer::start().await;
    flowhub(&server, variants).await;
    server
}

/// A tenant on Flowhub (location loc-1, import imp-1, keys cid-7/key-7),
/// and the daily sync pointed at `server`.
pub async fn flowhub_tenant(stack: &mut TestStack, server: &MockServer) -> (TestTenant, DailySync) {
    let tenant = stack.tenant(None).await;
    let change = SettingsChange {
        pos: Some(
            serde_json::from_value(json!([{"connector": "flowhub", "settings": {"locationIds": ["loc-1"], "importIds": ["imp-1"]}}]))
                .unwrap(),
        ),
        ..Default::default()
    };
    let keys = Credentials {
        pos_secrets: vec![(
            "flowhub".into(),
            r#"{"client_id": "cid-7", "api_key": "key-7"}"#.into(),
        )],
        ..Default::default()
    };
    Operator::new(stack)
        .set(&tenant.id, &change, &keys)
        .await
        .unwrap();
    stack.config.connector_origin = Some(server.uri());
    let sync = DailySync::new(&stack.aws, &stack.config);
    (tenant, sync)
}
