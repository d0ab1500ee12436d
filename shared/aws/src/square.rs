//! Square's listing APIs for the daily pull, with cursor pagination and
//! retries (429 and 5xx with backoff and jitter, honouring `Retry-After`;
//! 401/403 never retried). Tokens are passed per call and never logged.

use super::http_retry::{backoff, client, retrying, send_json, HttpFailure};
use backon::ExponentialBuilder;
use serde_json::{json, Value};
use std::sync::atomic::AtomicU32;
use std::time::Duration;
use synchub_core::domain::DataType;
use synchub_core::ports::PortError;
use synchub_core::ports::{PosSource, PullWindow, SourcePage};
use synchub_core::ErrorClass;

/// Square's page size limits (the API caps them).
const CATALOG_PAGE: usize = 100;
const ORDERS_PAGE: usize = 500;
const INVENTORY_PAGE: usize = 1000;
/// SearchOrders takes at most ten locations per call.
const LOCATIONS_PER_SEARCH: usize = 10;
/// The API version every request pins.
pub const SQUARE_VERSION: &str = "2025-10-16";

#[derive(Clone)]
pub struct SquareClient {
    http: reqwest::Client,
    base_url: String,
    backoff: ExponentialBuilder,
    max_wait: Duration,
}

impl SquareClient {
    /// `base_url` is `https://connect.squareup.com` in production.
    pub fn new(base_url: impl Into<String>, attempts: usize, max_wait: Duration) -> Self {
        let http = client(Duration::from_secs(20), Duration::from_secs(3));
        Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            backoff: backoff(attempts, Duration::from_secs(4)),
            max_wait,
        }
    }

    async fn attempt(
        &self,
        token: &str,
        operation: &'static str,
        request: &Request,
    ) -> Result<Value, HttpFailure> {
        let url = format!("{}{}", self.base_url, request.path);
        let builder = match &request.body {
            Some(body) => self.http.post(&url).json(body),
            None => self.http.get(&url).query(&request.query),
        };
        let builder = builder
            .bearer_auth(token)
            .header("Square-Version", SQUARE_VERSION);
        send_json("Square", operation, builder, &[])
            .await
            .map(|(_, body)| body)
    }

    async fn call(
        &self,
        token: &str,
        operation: &'static str,
        request: &Request,
    ) -> Result<Value, PortError> {
        let attempts = AtomicU32::new(0);
        retrying(self.backoff, self.max_wait, &attempts, || {
            self.attempt(token, operation, request)
        })
        .await
        .map_err(|f| f.error)
    }

    async fn location_ids(&self, token: &str) -> Result<Vec<String>, PortError> {
        let body = self
            .call(
                token,
                "ListLocations",
                &Request::get("/v2/locations", vec![]),
            )
            .await?;
        Ok(body["locations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["id"].as_str().map(str::to_owned))
            .collect())
    }
}

struct Request {
    path: &'static str,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl Request {
    fn get(path: &'static str, query: Vec<(&'static str, String)>) -> Self {
        Self {
            path,
            query,
            body: None,
        }
    }
    fn post(path: &'static str, body: Value) -> Self {
        Self {
            path,
            query: vec![],
            body: Some(body),
        }
    }
}

fn objects(body: &Value, field: &str) -> Vec<Value> {
    body[field].as_array().cloned().unwrap_or_default()
}

fn next_cursor(body: &Value) -> Option<String> {
    body["cursor"]
        .as_str()
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
}

impl PosSource for SquareClient {
    async fn page(
        &self,
        token: &str,
        data_type: DataType,
        window: &PullWindow,
        cursor: Option<&str>,
    ) -> Result<SourcePage, PortError> {
        match data_type {
            DataType::Catalog => self.catalog_page(token, "ITEM", cursor).await,
            DataType::Categories => self.catalog_page(token, "CATEGORY", cursor).await,
            DataType::Locations => {
                let request = Request::get("/v2/locations", vec![]);
                let body = self.call(token, "ListLocations", &request).await?;
                Ok(SourcePage {
                    objects: objects(&body, "locations"),
                    cursor: None,
                })
            }
            DataType::Inventory => self.inventory_page(token, window, cursor).await,
            DataType::Orders => self.orders_page(token, window, cursor).await,
        }
    }
}

impl SquareClient {
    /// `ListCatalog` of one object type.
    async fn catalog_page(
        &self,
        token: &str,
        types: &str,
        cursor: Option<&str>,
    ) -> Result<SourcePage, PortError> {
        let mut query = vec![
            ("types", types.to_owned()),
            ("limit", CATALOG_PAGE.to_string()),
        ];
        if let Some(c) = cursor {
            query.push(("cursor", c.to_owned()));
        }
        let request = Request::get("/v2/catalog/list", query);
        let body = self.call(token, "ListCatalog", &request).await?;
        Ok(SourcePage {
            objects: objects(&body, "objects"),
            cursor: next_cursor(&body),
        })
    }

    /// `BatchRetrieveInventoryCounts` updated in the window.
    async fn inventory_page(
        &self,
        token: &str,
        window: &PullWindow,
        cursor: Option<&str>,
    ) -> Result<SourcePage, PortError> {
        let mut request = json!({"limit": INVENTORY_PAGE});
        if let Some(after) = &window.updated_after {
            request["updated_after"] = json!(after);
        }
        if let Some(c) = cursor {
            request["cursor"] = json!(c);
        }
        let request = Request::post("/v2/inventory/counts/batch-retrieve", request);
        let body = self
            .call(token, "BatchRetrieveInventoryCounts", &request)
            .await?;
        Ok(SourcePage {
            objects: objects(&body, "counts"),
            cursor: next_cursor(&body),
        })
    }

    /// `SearchOrders`, ten locations per call. Our cursor is
    /// "{group of ten locations}:{Square's cursor}".
    async fn orders_page(
        &self,
        token: &str,
        window: &PullWindow,
        cursor: Option<&str>,
    ) -> Result<SourcePage, PortError> {
        let locations = self.location_ids(token).await?;
        let groups: Vec<&[String]> = locations.chunks(LOCATIONS_PER_SEARCH).collect();
        let (group, square_cursor) = orders_cursor(cursor)?;
        let Some(ids) = groups.get(group) else {
            return Ok(SourcePage::default());
        };
        let mut request = json!({
            "location_ids": ids,
            "limit": ORDERS_PAGE,
            "query": {
                "filter": {"date_time_filter": {"updated_at": {"start_at": window.updated_after, "end_at": window.updated_before}}},
                "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"}
            }
        });
        if let Some(c) = square_cursor {
            request["cursor"] = json!(c);
        }
        let request = Request::post("/v2/orders/search", request);
        let body = self.call(token, "SearchOrders", &request).await?;
        let cursor = match next_cursor(&body) {
            Some(c) => Some(format!("{group}:{c}")),
            None if group + 1 < groups.len() => Some(format!("{}:", group + 1)),
            None => None,
        };
        Ok(SourcePage {
            objects: objects(&body, "orders"),
            cursor,
        })
    }
}

/// The location group and Square's own cursor of an orders checkpoint.
fn orders_cursor(cursor: Option<&str>) -> Result<(usize, Option<String>), PortError> {
    let Some((group, square)) = cursor.and_then(|c| c.split_once(':')) else {
        return Ok((0, None));
    };
    let group = group.parse::<usize>().map_err(|_| {
        PortError::new(
            "Square",
            "SearchOrders",
            ErrorClass::ValidationError,
            format!("bad checkpoint cursor {group:?}"),
        )
    })?;
    Ok((group, (!square.is_empty()).then(|| square.to_owned())))
}
