//! A local stand-in for Square's Connect v2 listing APIs, for tests and
//! benchmarks: the paths, methods and JSON shapes of `ListCatalog`,
//! `ListLocations`, `SearchOrders` and `BatchRetrieveInventoryCounts`, with
//! opaque cursors, Square's error envelope
//! (`{"errors":[{"category","code","detail"}]}`), bearer-token checks and
//! injectable faults (429 with `Retry-After`, 500, 401, 403).
//!
//! Time filters compare RFC 3339 strings; the fixtures all use
//! `YYYY-MM-DDTHH:MM:SS.mmmZ`, so text order is time order.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct SquareData {
    pub items: Vec<Value>,
    pub categories: Vec<Value>,
    pub locations: Vec<Value>,
    pub orders: Vec<Value>,
    pub counts: Vec<Value>,
}

impl SquareData {
    pub fn empty() -> Self {
        Self::default()
    }
}

/// A fault for the next requests whose path starts with a prefix.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    RateLimited { retry_after_secs: u64 },
    ServerError,
    Unauthorized,
    Forbidden,
}

struct State {
    data: SquareData,
    page_size: usize,
    faults: VecDeque<(String, Fault)>,
    log: Vec<(String, String)>,
    authorizations: Vec<String>,
}

pub struct SquareServer {
    pub url: String,
    state: Arc<Mutex<State>>,
}

fn error(status: StatusCode, category: &str, code: &str, detail: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"errors": [{"category": category, "code": code, "detail": detail}]}).to_string(),
    )
        .into_response()
}

fn ok(body: Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::RateLimited { retry_after_secs } => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMIT_ERROR",
                "RATE_LIMITED",
                "Rate limit exceeded.",
            );
            r.headers_mut()
                .insert("retry-after", retry_after_secs.to_string().parse().unwrap());
            r
        }
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "API_ERROR",
            "INTERNAL_SERVER_ERROR",
            "An internal error occurred.",
        ),
        Fault::Unauthorized => error(
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_ERROR",
            "UNAUTHORIZED",
            "This request could not be authorized.",
        ),
        Fault::Forbidden => error(
            StatusCode::FORBIDDEN,
            "AUTHORIZATION_ERROR",
            "FORBIDDEN",
            "You do not have permission.",
        ),
    }
}

/// One page of `all` from `cursor`; the next cursor when more remain.
fn page(all: Vec<Value>, cursor: Option<&str>, size: usize, field: &str) -> Response {
    let start = match cursor {
        None => 0,
        Some(c) => match c.strip_prefix('c').and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n <= all.len() => n,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_REQUEST_ERROR",
                    "INVALID_CURSOR",
                    "The cursor is not valid.",
                )
            }
        },
    };
    let end = (start + size).min(all.len());
    let mut body = json!({ field: all[start..end].to_vec() });
    if end < all.len() {
        body["cursor"] = json!(format!("c{end}"));
    }
    ok(body)
}

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|kv| {
        kv.split_once('=')
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.replace("%2C", ","))
    })
}

fn handle(
    state: &Mutex<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = state.lock().unwrap();
    let path = uri.path().to_owned();
    s.log.push((
        method.to_string(),
        uri.path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
    ));
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    s.authorizations.push(auth.clone());
    if let Some(i) = s
        .faults
        .iter()
        .position(|(prefix, _)| path.starts_with(prefix.as_str()))
    {
        let (_, fault) = s.faults.remove(i).unwrap();
        return fault_response(fault);
    }
    if !auth.starts_with("Bearer ") || auth.len() <= "Bearer ".len() {
        return fault_response(Fault::Unauthorized);
    }
    let request: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let limit = |default: usize| {
        request["limit"]
            .as_u64()
            .map(|l| (l as usize).min(default))
            .unwrap_or(default)
    };
    let size = s.page_size;
    match (method.as_str(), path.as_str()) {
        ("GET", "/v2/catalog/list") => {
            let types = query_param(&uri, "types").unwrap_or_default();
            let wanted: Vec<&str> = types.split(',').collect();
            let all: Vec<Value> = s
                .data
                .items
                .iter()
                .chain(&s.data.categories)
                .filter(|o| wanted.contains(&o["type"].as_str().unwrap_or_default()))
                .cloned()
                .collect();
            let size = query_param(&uri, "limit")
                .and_then(|l| l.parse().ok())
                .map_or(size, |l: usize| l.min(size));
            page(all, query_param(&uri, "cursor").as_deref(), size, "objects")
        }
        ("GET", "/v2/locations") => ok(json!({"locations": s.data.locations})),
        ("POST", "/v2/orders/search") => {
            let ids: Vec<&str> = request["location_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if ids.is_empty() || ids.len() > 10 {
                return error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_REQUEST_ERROR",
                    "INVALID_VALUE",
                    "location_ids must hold 1 to 10 location ids.",
                );
            }
            let range = &request["query"]["filter"]["date_time_filter"]["updated_at"];
            let (start, end) = (range["start_at"].as_str(), range["end_at"].as_str());
            let mut all: Vec<Value> = s
                .data
                .orders
                .iter()
                .filter(|o| ids.contains(&o["location_id"].as_str().unwrap_or_default()))
                .filter(|o| {
                    let t = o["updated_at"].as_str().unwrap_or_default();
                    start.is_none_or(|s| t >= s) && end.is_none_or(|e| t < e)
                })
                .cloned()
                .collect();
            all.sort_by(|a, b| a["updated_at"].as_str().cmp(&b["updated_at"].as_str()));
            page(all, request["cursor"].as_str(), limit(size), "orders")
        }
        ("POST", "/v2/inventory/counts/batch-retrieve") => {
            let after = request["updated_after"].as_str();
            // The optional list filters apply only when set, as Square documents.
            let listed = |field: &str, c: &Value, key: &str| {
                request[field]
                    .as_array()
                    .is_none_or(|l| l.iter().any(|v| v.as_str() == c[key].as_str()))
            };
            let all: Vec<Value> = s
                .data
                .counts
                .iter()
                .filter(|c| {
                    after.is_none_or(|a| c["calculated_at"].as_str().unwrap_or_default() >= a)
                })
                .filter(|c| {
                    listed("location_ids", c, "location_id")
                        && listed("catalog_object_ids", c, "catalog_object_id")
                        && listed("states", c, "state")
                })
                .cloned()
                .collect();
            page(all, request["cursor"].as_str(), limit(size), "counts")
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "INVALID_REQUEST_ERROR",
            "NOT_FOUND",
            "Unknown endpoint.",
        ),
    }
}

impl SquareServer {
    pub async fn start(data: SquareData, page_size: usize) -> Self {
        let state = Arc::new(Mutex::new(State {
            data,
            page_size: page_size.max(1),
            faults: VecDeque::new(),
            log: Vec::new(),
            authorizations: Vec::new(),
        }));
        let shared = state.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let shared = shared.clone();
                async move { handle(&shared, method, uri, headers, body) }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Square stand-in");
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, state }
    }

    /// The next `times` requests under `path_prefix` get `fault`.
    pub fn inject(&self, path_prefix: &str, fault: Fault, times: usize) {
        let mut s = self.state.lock().unwrap();
        for _ in 0..times {
            s.faults.push_back((path_prefix.to_owned(), fault));
        }
    }

    pub fn requests(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn requests_to(&self, path_prefix: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|(_, p)| p.starts_with(path_prefix))
            .count()
    }

    pub fn authorizations(&self) -> Vec<String> {
        self.state.lock().unwrap().authorizations.clone()
    }

    pub fn set_data(&self, data: SquareData) {
        self.state.lock().unwrap().data = data;
    }
}

const BASE_SECONDS: i64 = 1_780_272_000; // 2026-06-01T00:00:00Z

pub fn at(seconds_after_base: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(BASE_SECONDS + seconds_after_base).unwrap();
    synchub_core::domain::time::canonical_time(t)
}

/// A POSaBIT venue's inventory row, as its POS API documents them (for
/// the benchmarks that set the manifest engine beside Square's path).
pub fn posabit_row(i: usize) -> Value {
    json!({
        "id": i, "product_id": i, "name": format!("Item {i}"), "sku": format!("SKU-{i:06}"), "brand": "Sunny", "vendor": "Sunny Farms",
        "category": "Flower", "product_type": "Flower", "strain": "Lemon Haze", "flower_type": "sativa", "thc_measure": "21.3%",
        "cbd_measure": "0.4%", "unit": "g", "price": 100 * i, "med_price": 90 * i, "quantity_on_hand": "14.0", "sellable_quantity": "12.0",
        "image": [], "tags": [], "active": true, "updated_at": at(36_000 + i as i64)
    })
}

/// Catalog ITEMs `ITEM{i:06}`, one variation each (`SKU-{i:06}`).
pub fn items(n: usize) -> Vec<Value> {
    items_in(0..n)
}

/// The ITEMs of `items` numbered in `range`.
pub fn items_in(range: std::ops::Range<usize>) -> Vec<Value> {
    range
        .map(|i| {
            json!({
                "type": "ITEM", "id": format!("ITEM{i:06}"), "version": 1000 + i as i64, "is_deleted": false,
                "updated_at": at(36_000 + i as i64), "present_at_all_locations": true,
                "item_data": {"name": format!("Item {i}"), "variations": [{
                    "type": "ITEM_VARIATION", "id": format!("VAR{i:06}"),
                    "item_variation_data": {"item_id": format!("ITEM{i:06}"), "sku": format!("SKU-{i:06}"), "pricing_type": "FIXED_PRICING", "price_money": {"amount": 100 * i as i64, "currency": "USD"}}
                }]}
            })
        })
        .collect()
}

pub fn categories(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({"type": "CATEGORY", "id": format!("CAT{i:04}"), "version": 500 + i as i64, "is_deleted": false, "updated_at": at(3_600 + i as i64), "category_data": {"name": format!("Category {i}")}})).collect()
}

pub fn locations(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({"id": format!("LOC{i:03}"), "name": format!("Store {i}"), "status": "ACTIVE", "timezone": "America/New_York", "currency": "USD", "created_at": at(-86_400 * 30)})).collect()
}

pub fn orders(n: usize, locations: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "id": format!("ORD{i:06}"), "location_id": format!("LOC{:03}", i % locations.max(1)), "version": 1 + (i % 3) as i64,
                "state": if i % 2 == 0 { "OPEN" } else { "COMPLETED" }, "created_at": at(i as i64 * 60), "updated_at": at(i as i64 * 60 + 30),
                "total_money": {"amount": 1_000 + i as i64, "currency": "USD"}
            })
        })
        .collect()
}

pub fn counts(n: usize, locations: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"catalog_object_id": format!("VAR{i:06}"), "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK", "location_id": format!("LOC{:03}", i % locations.max(1)), "quantity": i.to_string(), "calculated_at": at(7_200 + i as i64)}))
        .collect()
}
