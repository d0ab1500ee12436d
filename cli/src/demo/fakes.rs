//! The demo's stand-ins for the systems synchub talks to: a storefront that
//! takes cache-bust POSTs, Square's and HubSpot's customer APIs, and Square's
//! locations for a pull, answering as their documentation shows. Local HTTP
//! servers, so the demo runs offline.

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A storefront accepting every cache-bust POST.
pub(super) struct Storefront(MockServer);

impl Storefront {
    pub(super) async fn start() -> Self {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&server)
            .await;
        Self(server)
    }

    pub(super) fn uri(&self) -> String {
        self.0.uri()
    }

    /// How many cache-bust POSTs it has received.
    pub(super) async fn publishes(&self) -> usize {
        self.0.received_requests().await.unwrap_or_default().len()
    }
}

/// Square's Customers API and HubSpot's contacts batch upsert, on one server.
pub(super) struct CustomerTargets(MockServer);

impl CustomerTargets {
    pub(super) async fn start() -> Self {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/customers"))
            .respond_with(|r: &Request| {
                let sent: Value = serde_json::from_slice(&r.body).unwrap_or_default();
                let id = format!("SQ-{}", sent["reference_id"].as_str().unwrap_or("?"));
                ResponseTemplate::new(200)
                    .set_body_json(json!({"customer": {"id": id, "version": 0}}))
            })
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/crm/v3/objects/contacts/batch/upsert"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"status": "COMPLETE", "results": [{"id": "901", "new": true}]}),
            ))
            .mount(&server)
            .await;
        Self(server)
    }

    pub(super) fn uri(&self) -> String {
        self.0.uri()
    }

    /// How many requests both targets have received.
    pub(super) async fn requests(&self) -> usize {
        self.0.received_requests().await.unwrap_or_default().len()
    }
}

/// Square's Locations API with the merchant's two stores, for a pull, and
/// an empty catalog, inventory and order history (so every data type's pull
/// or dry run from the dashboard answers).
pub(super) struct SquareLocations(MockServer);

impl SquareLocations {
    pub(super) async fn start() -> Self {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v2/locations"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"locations": [
                {"id": "LDEMO1", "name": "Demo Shop Downtown", "status": "ACTIVE", "timezone": "Europe/Berlin", "currency": "EUR"},
                {"id": "LDEMO2", "name": "Demo Shop Harbour", "status": "ACTIVE", "timezone": "Europe/Berlin", "currency": "EUR"}
            ]})))
            .mount(&server)
            .await;
        for (verb, route, empty) in [
            ("GET", "/v2/catalog/list", json!({"objects": []})),
            (
                "POST",
                "/v2/inventory/counts/batch-retrieve",
                json!({"counts": []}),
            ),
            ("POST", "/v2/orders/search", json!({"orders": []})),
        ] {
            Mock::given(method(verb))
                .and(path(route))
                .respond_with(ResponseTemplate::new(200).set_body_json(empty))
                .mount(&server)
                .await;
        }
        Self(server)
    }

    pub(super) fn uri(&self) -> String {
        self.0.uri()
    }
}
