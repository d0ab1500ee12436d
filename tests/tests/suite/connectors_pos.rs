//! Each shipped connector manifest pulls its data types from a local
//! stand-in of its POS (payloads made by hand in the shape of the vendor's
//! documented examples, never customer data, served with the POS's own
//! auth and pagination) through the engine into normalized changes.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use synchub_aws::connector_http::{ConnectorEngine, Pull};
use synchub_connectors::connector;
use synchub_core::domain::change::IntoChange;
use synchub_core::domain::DataType;
use synchub_core::domain::{EntityKind, PulledObject, TenantId};
use synchub_core::ports::PullWindow;
use wiremock::matchers::{
    body_partial_json, body_string_contains, header, method, path, query_param,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PULLED_AT: i64 = 1_780_308_000_000; // 2026-06-01T10:00:00Z

fn window() -> PullWindow {
    PullWindow {
        updated_after: Some("2026-05-25T10:00:00Z".into()),
        updated_before: Some("2026-06-01T10:00:00Z".into()),
    }
}

fn secrets(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Every page of one data type, normalized; each change must also pass the
/// worker's validation as it will receive it.
async fn pull(
    server: &MockServer,
    name: &str,
    environment: &str,
    settings: Value,
    secrets: &BTreeMap<String, String>,
    data_type: DataType,
) -> Vec<PulledObject> {
    let manifest = connector(name).unwrap();
    let engine =
        ConnectorEngine::new(3, std::time::Duration::from_secs(5)).with_origin(server.uri());
    let pull = Pull {
        manifest,
        environment,
        settings: &settings,
        secrets,
        tenant: "t1",
    };
    let (mut out, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let page = engine
            .page(&pull, data_type, &window(), cursor.as_deref())
            .await
            .unwrap_or_else(|e| panic!("{name} {data_type}: {e}"));
        for record in &page.records {
            let o = manifest
                .normalize(data_type, record, PULLED_AT)
                .unwrap_or_else(|e| panic!("{name} {data_type}: {e}"));
            o.clone()
                .into_change(TenantId::parse("t1").unwrap(), name, PULLED_AT)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            out.push(o);
        }
        pages += 1;
        assert!(pages < 20);
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

fn ids(objects: &[PulledObject]) -> Vec<&str> {
    objects.iter().map(|o| o.id.as_str()).collect()
}

#[tokio::test]
async fn flowhub_pulls_locations_catalog_inventory_and_orders() {
    let server = MockServer::start().await;
    let s = secrets(&[("client_id", "cid"), ("api_key", "key-1")]);
    let auth =
        |m: wiremock::MockBuilder| m.and(header("clientId", "cid")).and(header("key", "key-1"));
    auth(Mock::given(path("/v0/clientsLocations")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": 200, "data": [
            {"locationId": "loc-1", "locationName": "Main Street", "timeZone": "America/Denver", "importId": "imp-1", "licenseType": ["recreational"], "clientId": "c1",
             "address": {"streetAddress1": "1 Main St", "city": "Denver", "state": "CO", "zip": "80202", "country": "US"}}]})))
        .mount(&server).await;
    let inventory = json!({"status": 200, "data": [
        {"variantId": "var-1", "productId": "prod-1", "parentProductId": "pp-1", "productName": "Blue Dream 3.5g", "variantName": "3.5g", "brand": "Acme Farms",
         "category": "Flower", "strainName": "Blue Dream", "speciesName": "Hybrid", "productUpdatedAt": "2026-05-30T12:00:00.000Z", "quantity": 12, "locationId": "loc-1",
         "sku": "BD-35", "priceInMinorUnits": 3500, "currencyCode": "USD", "productWeight": 3.5, "productUnitOfMeasure": "g", "tags": ["staff pick"],
         "cannabinoidInformation": [{"name": "thc", "lowerRange": 20.1, "upperRange": 22.3, "unitOfMeasure": "%", "unitOfMeasureToGramsMultiplier": null}],
         "productPictureURL": "https://images.test/bd.png", "productDescription": "Sweet berry aroma", "inventoryUnitOfMeasure": "each"}]});
    auth(Mock::given(path("/v0/locations/loc-1/inventory")))
        .respond_with(ResponseTemplate::new(200).set_body_json(inventory))
        .expect(2)
        .mount(&server)
        .await;
    auth(Mock::given(path("/v1/orders/findByLocationId/imp-1")).and(query_param("page", "1")).and(query_param("created_after", "2026-05-25")).and(query_param("page_size", "100")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 1, "orders": [
            {"id": "sale-1", "orderId": "1001", "locationId": "loc-1", "createdAt": "2026-05-31T18:00:00.000Z", "completedOn": "2026-05-31T18:05:00.000Z",
             "orderStatus": "Sold", "orderType": "in-store", "voided": false, "totals": {"FinalTotal": 38.5, "SubTotal": 35.0, "TotalDiscounts": 0, "TotalFees": 0, "TotalTaxes": 3.5},
             "itemsInCart": [{"id": "li-1", "productId": "prod-1", "variantId": "var-1", "quantity": 1, "unitPrice": 35.0}]}]})))
        .expect(1).mount(&server).await;
    auth(Mock::given(path("/v1/orders/findByLocationId/imp-1")).and(query_param("page", "2")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total": 1, "orders": []})))
        .expect(1)
        .mount(&server)
        .await;
    let settings = json!({"locationIds": ["loc-1"], "importIds": ["imp-1"]});

    let locations = pull(
        &server,
        "flowhub",
        "production",
        settings.clone(),
        &s,
        DataType::Locations,
    )
    .await;
    assert_eq!(ids(&locations), ["loc-1"]);
    assert_eq!(locations[0].attributes["timezone"], "America/Denver");
    assert_eq!(locations[0].event_id, format!("flowhub-loc-1-p{PULLED_AT}"));
    let catalog = pull(
        &server,
        "flowhub",
        "production",
        settings.clone(),
        &s,
        DataType::Catalog,
    )
    .await;
    assert_eq!(ids(&catalog), ["var-1"]);
    let item = &catalog[0];
    assert_eq!(
        (item.kind, item.updated_at.as_str()),
        (EntityKind::Item, "2026-05-30T12:00:00.000Z")
    );
    assert_eq!(
        (
            item.attributes["brand"].as_str(),
            item.attributes["strain"].as_str()
        ),
        (Some("Acme Farms"), Some("Blue Dream"))
    );
    assert_eq!(item.attributes["cannabinoids"][0]["upperRange"], 22.3);
    let inventory = pull(
        &server,
        "flowhub",
        "production",
        settings.clone(),
        &s,
        DataType::Inventory,
    )
    .await;
    assert_eq!(ids(&inventory), ["var-1@loc-1"]);
    assert_eq!(inventory[0].attributes["quantity"], 12);
    let orders = pull(
        &server,
        "flowhub",
        "production",
        settings,
        &s,
        DataType::Orders,
    )
    .await;
    assert_eq!((ids(&orders), orders[0].deleted), (vec!["sale-1"], false));
    assert_eq!(orders[0].attributes["totals"]["FinalTotal"], 38.5);
}

#[tokio::test]
async fn dutchie_pulls_with_basic_auth_and_skip_take_pages() {
    let server = MockServer::start().await;
    let s = secrets(&[("location_key", "lk"), ("integrator_key", "ik")]);
    let basic = || header("Authorization", "Basic bGs6aWs="); // lk:ik
    Mock::given(path("/whoami")).and(basic())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"LocationName": "Uptown", "LocationId": 420140, "CompanyName": "Example Co", "CompanyId": 420134})))
        .mount(&server).await;
    Mock::given(path("/products")).and(basic()).and(query_param("offset", "0")).and(query_param("limit", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"productId": 101, "productName": "Sour Gummies 10pk", "sku": "SG-10", "brandName": "Chewy Co", "category": "Edibles", "masterCategory": "Edible",
             "strainType": "Hybrid", "price": 20.0, "recPrice": 20.0, "medPrice": 18.0, "thcContent": 100, "thcContentUnit": "mg", "cbdContent": 0, "cbdContentUnit": "mg",
             "productGrams": 40, "isActive": true, "imageUrl": "https://images.test/sg.png", "imageUrls": ["https://images.test/sg.png"], "tags": [], "lastModifiedDateUTC": "2026-05-28T08:00:00"},
            {"productId": 102, "productName": "Old Pre-roll", "sku": "PR-1", "isActive": false, "lastModifiedDateUTC": "2026-05-20T08:00:00"}])))
        .expect(1).mount(&server).await;
    Mock::given(path("/reporting/inventory")).and(basic()).and(query_param("Skip", "0")).and(query_param("Take", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"inventoryId": 9001, "productId": 101, "sku": "SG-10", "quantityAvailable": 42, "quantityUnits": "each", "batchNumber": "B-7", "packageId": "1A400000000000000000001",
             "testingStatus": "Passed", "labResults": [{"labTest": "THC", "value": 10.1, "labResultUnit": "mg"}], "expirationDate": "2027-01-01T00:00:00"}])))
        .expect(1).mount(&server).await;
    Mock::given(path("/reporting/transactions")).and(basic()).and(query_param("FromLastModifiedDateUTC", "2026-05-25T10:00:00Z"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"transactionId": 77, "customerId": 5, "transactionDate": "2026-05-30T15:00:00", "lastModifiedDateUTC": "2026-05-30T15:01:00", "isVoid": true, "total": 21.4, "items": []}])))
        .expect(1).mount(&server).await;

    let locations = pull(
        &server,
        "dutchie",
        "production",
        json!({}),
        &s,
        DataType::Locations,
    )
    .await;
    assert_eq!(
        (ids(&locations), locations[0].attributes["company"].as_str()),
        (vec!["420140"], Some("Example Co"))
    );
    let catalog = pull(
        &server,
        "dutchie",
        "production",
        json!({}),
        &s,
        DataType::Catalog,
    )
    .await;
    assert_eq!(ids(&catalog), ["101", "102"]);
    assert_eq!(
        (
            catalog[0].updated_at.as_str(),
            catalog[0].deleted,
            catalog[1].deleted
        ),
        ("2026-05-28T08:00:00.000Z", false, true)
    );
    assert_eq!(catalog[0].attributes["thcUnit"], "mg");
    // The typed fields: the unit read from its own field, dollars as cents.
    assert_eq!(
        (
            &catalog[0].attributes["catalog"]["thc"],
            &catalog[0].attributes["catalog"]["size"],
            &catalog[0].attributes["catalog"]["prices"][0]["amount"]
        ),
        (
            &json!({"value": 100.0, "unit": "mg"}),
            &json!({"value": 40.0, "unit": "g"}),
            &json!(2000)
        )
    );
    let inventory = pull(
        &server,
        "dutchie",
        "production",
        json!({}),
        &s,
        DataType::Inventory,
    )
    .await;
    assert_eq!(
        (ids(&inventory), &inventory[0].attributes["quantity"]),
        (vec!["9001"], &json!(42))
    );
    let orders = pull(
        &server,
        "dutchie",
        "production",
        json!({}),
        &s,
        DataType::Orders,
    )
    .await;
    assert_eq!((ids(&orders), orders[0].deleted), (vec!["77"], true));
}

#[tokio::test]
async fn treez_exchanges_its_keys_for_a_token_and_pages_by_fifty() {
    let server = MockServer::start().await;
    let s = secrets(&[("client_id", "partner-1"), ("api_key", "store-key")]);
    Mock::given(method("POST"))
        .and(path(
            "/v2.0/dispensary/partnersandbox2/config/api/gettokens",
        ))
        .and(body_string_contains("apikey=store-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"resultCode": "SUCCESS", "access_token": "tz-token", "expires_in": 7200}),
        ))
        // One token per engine (each data type here gets its own), reused across pages.
        .expect(2)
        .mount(&server)
        .await;
    let product = |n: u32| {
        json!({"product_id": format!("1bbe7975-0372-4d82-945c-{n:012}"), "product_status": "ACTIVE", "last_updated_at": "2019-06-25T02:43:08.000-07:00",
        "sellable_quantity": 65, "category_type": "EDIBLE",
        "product_configurable_fields": {"name": "ESPRESSO BEANS SAMPLE", "brand": "KIVA", "classification": "SATIVA", "amount": "3.5", "uom": "GRAMS", "sub_type": "COOKIE", "total_mg_thc": "3", "total_mg_cbd": "2"},
        "pricing": {"price_type": "FLAT", "price_sell": 54.5}, "product_barcodes": ["barcode1"], "e_commerce": {"all_images": [], "primary_image": "", "hide_from_menu": false}})
    };
    // The product list's inline discounts, shaped as Treez's sample response.
    let discounted = |n: u32| {
        let mut p = product(n);
        if n == 0 {
            p["discounts"] = json!([
                {"discount_id": "4b4d1c7e-0001", "discount_title": "15% Off Edibles", "discount_affinity": "Cart", "discount_amount": 15.0, "discount_method": "PERCENT", "discount_stackable": "No", "discount_condition_detail": []},
                {"discount_id": "4b4d1c7e-0002", "discount_title": "$5 Off", "discount_affinity": "Cart", "discount_amount": 5.0, "discount_method": "DOLLAR", "discount_stackable": "Yes", "discount_condition_detail": []},
                {"discount_id": "4b4d1c7e-0003", "discount_title": "BOGO Cookies", "discount_affinity": "Cart", "discount_amount": 100.0, "discount_method": "BOGO", "discount_stackable": "No", "discount_condition_detail": []}
            ]);
        }
        p
    };
    let page = |range: std::ops::Range<u32>| json!({"resultCode": "SUCCESS", "data": {"product_list": range.map(discounted).collect::<Vec<_>>()}});
    let treez = |p: &str| {
        Mock::given(path(
            "/v2.0/dispensary/partnersandbox2/product/product_list",
        ))
        .and(query_param("page", p))
        .and(query_param("active", "ALL"))
        .and(header("client_id", "partner-1"))
        .and(header("authorization", "Bearer tz-token"))
    };
    treez("1")
        .respond_with(ResponseTemplate::new(200).set_body_json(page(0..50)))
        .mount(&server)
        .await;
    treez("2")
        .respond_with(ResponseTemplate::new(200).set_body_json(page(50..53)))
        .mount(&server)
        .await;
    let settings = json!({"dispensary": "partnersandbox2"});

    let catalog = pull(
        &server,
        "treez",
        "sandbox",
        settings.clone(),
        &s,
        DataType::Catalog,
    )
    .await;
    assert_eq!(catalog.len(), 53);
    assert_eq!(catalog[0].updated_at, "2019-06-25T09:43:08.000Z");
    assert_eq!(
        (
            &catalog[0].attributes["catalog"]["thc"],
            &catalog[0].attributes["catalog"]["size"],
            &catalog[0].attributes["catalog"]["prices"][0]["amount"]
        ),
        (
            &json!({"value": 3.0, "unit": "mg"}),
            &json!({"value": 3.5, "unit": "g"}),
            &json!(5450)
        )
    );
    assert_eq!(
        (
            catalog[0].attributes["brand"].as_str(),
            &catalog[0].attributes["price"]
        ),
        (Some("KIVA"), &json!(54.5))
    );
    assert_eq!(
        catalog[0].attributes["catalog"]["promotions"],
        json!([
            {"id": "4b4d1c7e-0001", "name": "15% Off Edibles", "discount": {"kind": "percent", "value": 15.0}},
            {"id": "4b4d1c7e-0002", "name": "$5 Off", "discount": {"kind": "amount", "amount": 500}},
            {"id": "4b4d1c7e-0003", "name": "BOGO Cookies", "discount": {"kind": "other", "method": "BOGO", "value": 100.0}}
        ])
    );
    assert!(catalog[1].attributes["catalog"].get("promotions").is_none());
    let inventory = pull(
        &server,
        "treez",
        "sandbox",
        settings,
        &s,
        DataType::Inventory,
    )
    .await;
    assert_eq!(
        (inventory.len(), &inventory[52].attributes["quantity"]),
        (53, &json!(65))
    );
}

#[tokio::test]
async fn blaze_pulls_products_and_categories_with_its_two_keys() {
    let server = MockServer::start().await;
    let s = secrets(&[("partner_key", "pk"), ("dispensary_key", "dk")]);
    let keys = |m: wiremock::MockBuilder| {
        m.and(header("partner_key", "pk"))
            .and(header("Authorization", "dk"))
    };
    keys(Mock::given(path("/api/v1/partner/products")).and(query_param("start", "0")).and(query_param("limit", "200")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"skip": 0, "limit": 200, "total": 2, "values": [
            {"id": "5d1a2b3c4d5e6f7a8b9c0d1e", "name": "OG Kush 1g", "sku": "OGK-1", "categoryId": "cat-1", "brandId": "br-1", "unitPrice": 12.0, "thc": 24.5, "cbd": 0.1,
             "flowerType": "Indica", "weightPerUnit": "GRAM", "assets": [{"publicURL": "https://images.test/ogk.png"}], "active": true, "deleted": false, "modified": 1780300000000_i64},
            {"id": "5d1a2b3c4d5e6f7a8b9c0d1f", "name": "Retired", "deleted": true, "modified": 1780200000000_i64}]})))
        .expect(1).mount(&server).await;
    keys(Mock::given(path("/api/v1/partner/store/inventory/categories")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"values": [{"id": "cat-1", "name": "Flower", "cannabis": true, "modified": 1780000000000_i64, "deleted": false}], "total": 1})))
        .mount(&server).await;

    let catalog = pull(
        &server,
        "blaze",
        "production",
        json!({}),
        &s,
        DataType::Catalog,
    )
    .await;
    assert_eq!(
        (catalog.len(), catalog[0].deleted, catalog[1].deleted),
        (2, false, true)
    );
    assert_eq!(catalog[0].updated_at, "2026-06-01T07:46:40.000Z");
    let categories = pull(
        &server,
        "blaze",
        "production",
        json!({}),
        &s,
        DataType::Categories,
    )
    .await;
    assert_eq!(
        (ids(&categories), categories[0].kind),
        (vec!["cat-1"], EntityKind::Category)
    );
}

#[tokio::test]
async fn cova_takes_a_password_grant_token_and_pages_its_post_body() {
    let server = MockServer::start().await;
    let s = secrets(&[
        ("client_id", "Demo.Integration"),
        ("client_secret", "sec"),
        ("username", "Demo.APIUser"),
        ("password", "pw"),
    ]);
    Mock::given(method("POST"))
        .and(path("/v1/oauth2/token"))
        .and(body_string_contains("grant_type=password"))
        .and(body_string_contains("username=Demo.APIUser"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "cova-token", "expires_in": 3600, "refresh_token": "r"}),
        ))
        // One token per engine (each data type here gets its own), reused across pages.
        .expect(2)
        .mount(&server)
        .await;
    let products = json!({"Products": [{"ProductId": "prod-9", "Name": "Pink Kush 3.5g", "MasterProductName": "Pink Kush", "CatalogSku": "PK-35", "ShortDescription": "Dried flower",
        "CompanyLevelRegularPrice": {"Price": 32.99}, "Availability": [{"LocationId": 11, "InStockQuantity": 8, "UnitCost": 14.5, "UpdatedDateUtc": "2026-05-31T20:00:00"}]}]});
    let data = |skip: u64| {
        Mock::given(method("POST"))
            .and(path("/dataplatform/v1/Companies/C1/DetailedProductData"))
            .and(header("Authorization", "Bearer cova-token"))
            .and(body_partial_json(
                json!({"LocationId": 11, "Skip": skip, "Top": 500}),
            ))
    };
    data(0)
        .respond_with(ResponseTemplate::new(200).set_body_json(products))
        .expect(2)
        .mount(&server)
        .await;
    data(1)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Products": []})))
        .expect(2)
        .mount(&server)
        .await;
    let settings = json!({"companyId": "C1", "locationIds": [11]});

    let catalog = pull(
        &server,
        "cova",
        "production",
        settings.clone(),
        &s,
        DataType::Catalog,
    )
    .await;
    assert_eq!(
        (ids(&catalog), &catalog[0].attributes["price"]),
        (vec!["prod-9"], &json!(32.99))
    );
    let inventory = pull(
        &server,
        "cova",
        "production",
        settings,
        &s,
        DataType::Inventory,
    )
    .await;
    assert_eq!(
        (ids(&inventory), inventory[0].updated_at.as_str()),
        (vec!["prod-9@11"], "2026-05-31T20:00:00.000Z")
    );
    assert_eq!(inventory[0].attributes["quantity"], 8);
}

#[tokio::test]
async fn posabit_pages_until_its_page_count_with_a_bearer_venue_token() {
    let server = MockServer::start().await;
    let s = secrets(&[("venue_token", "venue-tok")]);
    let row = |id: u32, product: u32| {
        json!({"id": id, "product_id": product, "name": "Lemon Haze 1g", "sku": format!("LH-{id}"), "brand": "Sunny", "category": "Flower",
        "strain": "Lemon Haze", "flower_type": "sativa", "thc_measure": "21.3%", "cbd_measure": "0.4%", "unit": "g", "price": 1200, "med_price": 1100,
        "quantity_on_hand": "14.0", "sellable_quantity": "12.0", "image": ["https://images.test/lh.png"], "tags": ["new"], "active": true,
        "updated_at": format!("2026-05-3{id}T09:00:00.000-07:00"), "rooms": [["Sales Floor", "12.0"]]})
    };
    let venue = |p: &str| {
        Mock::given(path("/api/v2/venue/inventories"))
            .and(query_param("page", p))
            .and(header("Authorization", "Bearer venue-tok"))
    };
    venue("1").respond_with(ResponseTemplate::new(200).set_body_json(json!({"total_records": 3, "current_page": 1, "total_pages": 2, "per_page": 2, "inventory": [row(0, 500), row(1, 500)]}))).mount(&server).await;
    venue("2").respond_with(ResponseTemplate::new(200).set_body_json(json!({"total_records": 3, "current_page": 2, "total_pages": 2, "per_page": 2, "inventory": [row(1, 501)]}))).mount(&server).await;

    let catalog = pull(
        &server,
        "posabit",
        "sandbox",
        json!({}),
        &s,
        DataType::Catalog,
    )
    .await;
    // Two rows of product 500 (two batches): both are changes to one item; the worker keeps the newer.
    assert_eq!(ids(&catalog), ["500", "500", "501"]);
    assert!(catalog[1].updated_at > catalog[0].updated_at);
    assert_eq!(
        catalog[0].attributes["catalog"],
        json!({"brand": "Sunny", "strain": "Lemon Haze", "category": "Flower",
            "thc": {"value": 21.3, "unit": "percent"}, "cbd": {"value": 0.4, "unit": "percent"},
            "prices": [{"amount": 1200, "currency": "USD"}], "images": ["https://images.test/lh.png"]}),
        "one typed shape whatever the POS calls its fields"
    );
    let inventory = pull(
        &server,
        "posabit",
        "sandbox",
        json!({}),
        &s,
        DataType::Inventory,
    )
    .await;
    assert_eq!(
        (ids(&inventory), &inventory[0].attributes["quantity"]),
        (vec!["0", "1", "1"], &json!("14.0"))
    );
}

#[tokio::test]
async fn headset_is_pulled_only_outside_production_and_follows_links() {
    let server = MockServer::start().await;
    let s = secrets(&[("api_token", "hs")]);
    let next = "<https://api.headset.io/v1/stores/s1/products?limit=200&page=2>; rel=\"next\"";
    Mock::given(path("/v1/stores/s1/products")).and(query_param("limit", "200")).and(header("Authorization", "Bearer hs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": "h1", "name": "Gummies", "brand": "X", "updated_at": "2026-05-30T00:00:00Z"}]})).insert_header("Link", next))
        .up_to_n_times(1).mount(&server).await;
    Mock::given(path("/v1/stores/s1/products"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": [{"id": "h2", "name": "Vape", "updated_at": "2026-05-30T00:00:00Z"}]}),
        ))
        .mount(&server)
        .await;
    let catalog = pull(
        &server,
        "headset",
        "sandbox",
        json!({"storeId": "s1"}),
        &s,
        DataType::Catalog,
    )
    .await;
    assert_eq!(ids(&catalog), ["h1", "h2"]);
}
