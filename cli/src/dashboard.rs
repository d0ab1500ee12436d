//! `synchub dashboard`: the operator's page (`dashboard/` at the repository
//! root, compiled into the binary) served on 127.0.0.1, with `/api/*`
//! forwarded to the sync API the way `kubectl proxy` forwards to a cluster:
//!
//! - with `--api-url`, to the deployed sync API, each request signed with
//!   SigV4 (service `execute-api`) using the operator's own AWS credentials
//!   from the default provider chain ([`signing`]); the browser never sees a
//!   credential, and the API stays IAM-authorized;
//! - without it, in-process to the router the `sync-api` function runs
//!   (`handle_api`) on an `Api` built from the environment: the local stack,
//!   as the demo and the tests serve it ([`local_workers`] can stand in for
//!   Lambda's queue consumers there, so a started run finishes).
//!
//! Only this machine can reach the server, and it refuses what a web page
//! elsewhere could make a browser send it: a `Host` other than the loopback
//! (DNS rebinding), a cross-site request, and a change (`POST`, `PUT`, ...)
//! without the page's own header (which a cross-origin page cannot add
//! without a CORS preflight this server never grants).

pub mod local_workers;
pub mod signing;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use synchub_lambda::api::handle_api;
use synchub_lambda::Api;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub const INDEX_HTML: &str = include_str!("../../dashboard/index.html");
pub const APP_JS: &str = include_str!("../../dashboard/app.js");
pub const STYLE_CSS: &str = include_str!("../../dashboard/style.css");

/// The header the page sends with every API call; a change without it is refused.
pub const PAGE_HEADER: &str = "x-synchub-dashboard";
/// The largest request body forwarded (the API's bodies are small).
const MAX_BODY: usize = 256 * 1024;

/// `synchub dashboard`: serves until Ctrl-C.
pub async fn run(args: crate::args::DashboardArgs) -> Result<(), Error> {
    let (backend, serves) = match &args.api_url {
        Some(url) => {
            let upstream = signing::SignedApi::from_environment(url).await?;
            let what = format!(
                "{} (signed with your AWS credentials, region {})",
                upstream.base_url(),
                upstream.region()
            );
            (Backend::Signed(upstream), what)
        }
        None => {
            let config = synchub_lambda::config::Config::from_env(&[])?;
            let aws = synchub_lambda::aws_config().await;
            let api = Api::new(&aws, &config);
            (
                Backend::InProcess(Box::new(api)),
                "the sync API's code in this process, on the stack the AWS_* variables name".into(),
            )
        }
    };
    let workers = match args.local_workers {
        true => {
            let config = synchub_lambda::config::Config::from_env(&[])?;
            let aws = synchub_lambda::aws_config().await;
            Some(local_workers::LocalWorkers::start(&aws, &config))
        }
        false => None,
    };
    let serving = Dashboard::new(backend).start(args.port).await?;
    println!("dashboard   {}", serving.url());
    println!("            /api/* goes to {serves}");
    if workers.is_some() {
        println!("            consuming the runs and sync queues as Lambda would (local stack)");
    }
    println!("            Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    drop(workers);
    Ok(())
}

/// Where `/api/*` goes.
pub enum Backend {
    /// The router the sync-api function runs, on adapters built from the environment.
    InProcess(Box<Api>),
    /// The deployed sync API, each call signed with the operator's credentials.
    Signed(signing::SignedApi),
}

struct Shared {
    backend: Backend,
    /// API requests forwarded, for the benchmark's requests-per-refresh.
    forwarded: AtomicU64,
}

/// The dashboard server's routes, before it is bound.
#[derive(Clone)]
pub struct Dashboard {
    shared: Arc<Shared>,
}

impl Dashboard {
    pub fn new(backend: Backend) -> Self {
        Self {
            shared: Arc::new(Shared {
                backend,
                forwarded: AtomicU64::new(0),
            }),
        }
    }

    /// How many `/api/*` requests have been forwarded so far.
    pub fn forwarded(&self) -> u64 {
        self.shared.forwarded.load(Ordering::Relaxed)
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(|| page(INDEX_HTML, "text/html; charset=utf-8")))
            .route(
                "/index.html",
                get(|| page(INDEX_HTML, "text/html; charset=utf-8")),
            )
            .route(
                "/app.js",
                get(|| page(APP_JS, "text/javascript; charset=utf-8")),
            )
            .route(
                "/style.css",
                get(|| page(STYLE_CSS, "text/css; charset=utf-8")),
            )
            .route("/api/{*rest}", any(forward))
            .with_state(self.shared.clone())
            .layer(axum::middleware::from_fn(guard))
    }

    /// Binds 127.0.0.1:`port` (0: any free port) and serves until the task
    /// is dropped; answers the address it serves on.
    pub async fn start(&self, port: u16) -> Result<Serving, Error> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let address = listener.local_addr()?;
        let router = self.router();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                eprintln!("dashboard server stopped: {e}");
            }
        });
        Ok(Serving { address, task })
    }
}

/// A running dashboard server; stops when dropped.
pub struct Serving {
    pub address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Serving {
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn page(text: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            ),
        ],
        text,
    )
        .into_response()
}

/// Why a request was refused before it reached the API.
fn refused(status: StatusCode, message: String) -> Response {
    let body = json!({"error": {"class": "AUTH_ERROR", "retryable": false, "message": message}});
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The loopback names this server answers to, with any port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6
            .split(']')
            .next()
            .map(|h| format!("[{h}]"))
            .unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default().to_owned(),
    };
    matches!(name.as_str(), "127.0.0.1" | "localhost" | "[::1]")
}

/// Refuses what a page on another site could make a browser send here.
async fn guard(request: Request, next: axum::middleware::Next) -> Response {
    let headers = request.headers();
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let host = text(header::HOST).unwrap_or_default();
    if !is_loopback_host(host) {
        return refused(
            StatusCode::FORBIDDEN,
            format!("host {host:?} is not this machine's loopback address"),
        );
    }
    if let Some(origin) = text(header::ORIGIN) {
        let ours = origin.strip_prefix("http://").is_some_and(|o| o == host);
        if !ours {
            return refused(
                StatusCode::FORBIDDEN,
                format!("cross-origin request from {origin}"),
            );
        }
    }
    if text(header::HeaderName::from_static("sec-fetch-site")) == Some("cross-site") {
        return refused(StatusCode::FORBIDDEN, "cross-site request".into());
    }
    let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
    if changes && request.uri().path().starts_with("/api/") && !headers.contains_key(PAGE_HEADER) {
        return refused(
            StatusCode::FORBIDDEN,
            format!("a change must come from the dashboard page (header {PAGE_HEADER})"),
        );
    }
    next.run(request).await
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    shared.forwarded.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body unreadable or over {MAX_BODY} bytes: {e}"),
            )
        }
    };
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or_default();
    let content_type = parts.headers.get(header::CONTENT_TYPE).cloned();
    let answer = match &shared.backend {
        Backend::InProcess(api) => in_process(api, &parts.method, path, query, &body).await,
        Backend::Signed(upstream) => upstream
            .send(&parts.method, path, query, content_type.as_ref(), body)
            .await
            .unwrap_or_else(|e| upstream_error(&e)),
    };
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = answer.status;
    response.headers_mut().extend(answer.headers);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// What the API answered.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A failure reaching the deployed API, in the API's own error shape.
fn upstream_error(e: &Error) -> Answer {
    let body = json!({"error": {"class": "NETWORK_ERROR", "retryable": true,
        "message": format!("the sync API could not be reached: {}", crate::error_report(&**e))}});
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Answer {
        status: StatusCode::BAD_GATEWAY,
        headers,
        body: Bytes::from(body.to_string()),
    }
}

/// The HTTP API's payload v2 event for a request, as the sync-api function
/// receives it from API Gateway.
pub fn api_gateway_event(method: &Method, path: &str, query: &str, body: &[u8]) -> Value {
    let mut parameters = serde_json::Map::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        // API Gateway joins repeated parameters with commas.
        let joined = match parameters.get(k.as_ref()).and_then(Value::as_str) {
            Some(before) => format!("{before},{v}"),
            None => v.into_owned(),
        };
        parameters.insert(k.into_owned(), json!(joined));
    }
    let now = synchub_core::domain::time::now_millis();
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "host": "127.0.0.1"},
        "requestContext": {
            "accountId": "000000000000", "apiId": "dashboard", "domainName": "127.0.0.1",
            "domainPrefix": "127", "http": {"method": method.as_str(), "path": path,
            "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "synchub-dashboard"},
            "requestId": format!("dashboard-{now}-{:08x}", rand::random::<u32>()),
            "routeKey": "$default", "stage": "$default", "time": "", "timeEpoch": now
        },
        "isBase64Encoded": false
    });
    if !parameters.is_empty() {
        event["queryStringParameters"] = Value::Object(parameters);
    }
    if !body.is_empty() {
        event["body"] = json!(String::from_utf8_lossy(body));
    }
    event
}

/// Answers through the sync-api router in this process.
async fn in_process(api: &Api, method: &Method, path: &str, query: &str, body: &[u8]) -> Answer {
    let event = api_gateway_event(method, path, query, body);
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(e) => return upstream_error(&format!("could not build the API request: {e}").into()),
    };
    let response = handle_api(api, request).await;
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers() {
        headers.insert(name.clone(), value.clone());
    }
    let body = match response.body() {
        lambda_http::Body::Text(t) => Bytes::from(t.clone()),
        lambda_http::Body::Binary(b) => Bytes::from(b.clone()),
        _ => Bytes::new(),
    };
    Answer {
        status: response.status(),
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_are_served() {
        for ok in ["127.0.0.1:8787", "localhost:1", "localhost", "[::1]:8787"] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:8787",
            "127.0.0.1.evil.example",
            "",
            "[::2]:1",
            "localhost.evil",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn the_event_carries_the_query_as_api_gateway_does() {
        let event = api_gateway_event(
            &Method::GET,
            "/api/tenants/acme/trace",
            "kind=catalog_item&id=SKU%201&id=SKU-2",
            b"",
        );
        assert_eq!(event["rawPath"], "/api/tenants/acme/trace");
        assert_eq!(event["queryStringParameters"]["kind"], "catalog_item");
        assert_eq!(event["queryStringParameters"]["id"], "SKU 1,SKU-2");
        assert!(event.get("body").is_none());
        let request = lambda_http::request::from_str(&event.to_string()).expect("a valid event");
        assert_eq!(request.uri().path(), "/api/tenants/acme/trace");
    }

    #[test]
    fn the_page_is_compiled_in_whole() {
        assert!(INDEX_HTML.contains("<script src=\"app.js\""));
        assert!(
            APP_JS.contains(PAGE_HEADER),
            "the page sends the header changes need"
        );
        assert!(STYLE_CSS.contains(":focus-visible"));
    }
}
