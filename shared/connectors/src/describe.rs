//! What a manifest would request for each data type, in words an operator
//! checks against the vendor's reference (`synchub connector check`). Pure.

use super::manifest::{Auth, Manifest, Method, Pagination, Stop};
use serde::Serialize;
use synchub_model::DataType;

/// One data type's requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamPlan {
    pub data_type: DataType,
    pub method: &'static str,
    /// The path template under each environment's base URL.
    pub path: String,
    /// (name, template) of the query parameters.
    pub query: Vec<(String, String)>,
    /// Whether a JSON or form body is sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<&'static str>,
    /// `settings.locationIds` when the request runs once per item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_each: Option<String>,
    pub records: String,
    pub pagination: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incremental: Option<String>,
    pub id: String,
    pub updated_at: String,
}

/// The manifest as the requests it would send.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestPlan {
    pub name: String,
    pub title: String,
    pub version: u64,
    pub status: String,
    pub environments: Vec<(String, String)>,
    pub auth: String,
    pub secrets: Vec<String>,
    pub settings: Vec<String>,
    pub streams: Vec<StreamPlan>,
}

fn auth(a: &Auth) -> String {
    match a {
        Auth::None => "none".into(),
        Auth::ApiKey { headers } => format!(
            "api key headers {}",
            headers.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        Auth::Bearer { .. } => "bearer token".into(),
        Auth::Basic { .. } => "basic".into(),
        Auth::Oauth2 { token_url, .. } => {
            format!("OAuth2 token from {token_url} (cached, refreshed after a 401)")
        }
    }
}

fn pagination(p: &Pagination) -> String {
    let stop = |s: &Stop| match s {
        Stop::EmptyPage => "an empty page",
        Stop::ShortPage => "a short page",
    };
    match p {
        Pagination::None => "one request (no pages)".into(),
        Pagination::Cursor {
            cursor_path,
            cursor_header,
        } => format!(
            "cursor from {} until it is absent",
            cursor_path
                .as_deref()
                .map(|c| format!("body {c}"))
                .or_else(|| cursor_header.as_deref().map(|h| format!("header {h}")))
                .unwrap_or_default()
        ),
        Pagination::PageNumber {
            start,
            page_size,
            stop: s,
            total_pages_path,
        } => format!(
            "page numbers from {start}, {page_size} per page, until {}",
            total_pages_path
                .as_deref()
                .map_or_else(|| stop(s).to_owned(), |t| format!("the page count at {t}"))
        ),
        Pagination::Offset {
            page_size,
            stop: s,
            total_path,
        } => format!(
            "offset/limit, {page_size} per page, until {}",
            total_path
                .as_deref()
                .map_or_else(|| stop(s).to_owned(), |t| format!("the count at {t}"))
        ),
        Pagination::LinkHeader { rel } => format!("Link header rel=\"{rel}\" until absent"),
    }
}

/// What `m` would request, data type by data type.
pub fn describe(m: &Manifest) -> ManifestPlan {
    let streams = m
        .streams
        .iter()
        .map(|(data_type, s)| StreamPlan {
            data_type: *data_type,
            method: match s.request.method {
                Method::Get => "GET",
                Method::Post => "POST",
            },
            path: s.request.path.clone(),
            query: s
                .request
                .query
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body: match (&s.request.body, &s.request.form) {
                (Some(_), _) => Some("json"),
                (None, Some(_)) => Some("form"),
                _ => None,
            },
            for_each: s.for_each.clone(),
            records: match s.records.as_str() {
                "" => "the body".into(),
                r => r.to_owned(),
            },
            pagination: pagination(&s.pagination),
            incremental: s.incremental.as_ref().map(|i| {
                format!(
                    "{}{}",
                    i.field,
                    if i.filter { " (filtered here)" } else { "" }
                )
            }),
            id: s.mapping.id.paths().join("@"),
            updated_at: s.mapping.updated_at.clone(),
        })
        .collect();
    ManifestPlan {
        name: m.name.clone(),
        title: m.title.clone(),
        version: m.version,
        status: format!("{:?}", m.documentation.status).to_lowercase(),
        environments: m
            .environments
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        auth: auth(&m.auth),
        secrets: m.secrets.clone(),
        settings: m.settings.clone(),
        streams,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flowhub_orders_page_by_number_once_per_import_id() {
        let plan = describe(crate::connector("flowhub").unwrap());
        let orders = plan
            .streams
            .iter()
            .find(|s| s.data_type == DataType::Orders)
            .unwrap();
        assert_eq!(orders.path, "/v1/orders/findByLocationId/{{ item }}");
        assert_eq!(orders.for_each.as_deref(), Some("settings.importIds"));
        assert_eq!(
            orders.pagination,
            "page numbers from 1, 100 per page, until an empty page"
        );
        assert_eq!(plan.auth, "api key headers clientId, key");
        assert_eq!(plan.streams.len(), 4);
    }
}
