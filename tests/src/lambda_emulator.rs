//! Runs the real function binaries as Lambda would: a local implementation of
//! the Lambda Runtime API (`/2018-06-01/runtime/invocation/next`, `/response`,
//! `/error`) that hands each process one invocation at a time. Used by the
//! benchmark, so each function's CPU, memory and cold start are its own.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<Result<Bytes, Bytes>>;

struct Invocation {
    id: String,
    event: Bytes,
    reply: Reply,
}

#[derive(Clone)]
struct Shared {
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    in_flight: Arc<Mutex<HashMap<String, Reply>>>,
    next_calls: Arc<AtomicUsize>,
}

/// One function's Runtime API endpoint.
pub struct RuntimeApi {
    pub address: String,
    sender: mpsc::UnboundedSender<Invocation>,
    next_calls: Arc<AtomicUsize>,
    counter: AtomicUsize,
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Shared {
            queue: Arc::new(tokio::sync::Mutex::new(receiver)),
            in_flight: Arc::default(),
            next_calls: Arc::default(),
        };
        let next_calls = shared.next_calls.clone();
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind runtime API");
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { address, sender, next_calls, counter: AtomicUsize::new(0) }
    }

    /// How many times any process has asked for its next invocation.
    pub fn next_calls(&self) -> usize {
        self.next_calls.load(Ordering::SeqCst)
    }

    /// Invokes the function with an event and waits for its answer.
    pub async fn invoke(&self, event: Bytes) -> Result<Bytes, Bytes> {
        let (reply, answer) = oneshot::channel();
        let id = format!("req-{}", self.counter.fetch_add(1, Ordering::Relaxed));
        self.sender.send(Invocation { id, event, reply }).map_err(|_| Bytes::from_static(b"runtime API stopped"))?;
        answer.await.unwrap_or_else(|_| Err(Bytes::from_static(b"invocation dropped")))
    }
}

async fn next(State(shared): State<Shared>) -> (StatusCode, HeaderMap, Bytes) {
    shared.next_calls.fetch_add(1, Ordering::SeqCst);
    let invocation = shared.queue.lock().await.recv().await;
    let Some(invocation) = invocation else { return (StatusCode::GONE, HeaderMap::new(), Bytes::new()) };
    let deadline = std::time::SystemTime::now() + Duration::from_secs(30);
    let deadline_ms = deadline.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", invocation.id.parse().unwrap());
    headers.insert("lambda-runtime-deadline-ms", deadline_ms.to_string().parse().unwrap());
    headers.insert("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:bench".parse().unwrap());
    headers.insert("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    shared.in_flight.lock().unwrap().insert(invocation.id.clone(), invocation.reply);
    (StatusCode::OK, headers, invocation.event)
}

async fn response(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    if let Some(reply) = shared.in_flight.lock().unwrap().remove(&id) {
        let _ = reply.send(Ok(body));
    }
    StatusCode::ACCEPTED
}

async fn error(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    if let Some(reply) = shared.in_flight.lock().unwrap().remove(&id) {
        let _ = reply.send(Err(body));
    }
    StatusCode::ACCEPTED
}

async fn init_error(body: Bytes) -> StatusCode {
    eprintln!("function init error: {}", String::from_utf8_lossy(&body));
    StatusCode::ACCEPTED
}

/// A pass-through proxy in front of an AWS endpoint that counts requests by
/// operation (`X-Amz-Target`), so "AWS requests per event" is measured, not guessed.
pub struct CountingProxy {
    pub url: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> Self {
        let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let state = ProxyState { upstream: upstream.trim_end_matches('/').to_owned(), client: reqwest::Client::new(), counts: counts.clone() };
        let app = Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, counts }
    }

    /// Requests seen so far, by operation.
    pub fn counts(&self) -> HashMap<String, usize> {
        self.counts.lock().unwrap().clone()
    }
}

async fn forward(State(state): State<ProxyState>, request: axum::extract::Request) -> (StatusCode, HeaderMap, Bytes) {
    let (parts, body) = request.into_parts();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{} {}", parts.method, parts.uri.path()));
    *state.counts.lock().unwrap().entry(operation).or_default() += 1;
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let url = format!("{}{}", state.upstream, parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut upstream = state.client.request(parts.method.clone(), url).body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name, value);
        }
    }
    match upstream.send().await {
        Ok(r) => {
            let status = r.status();
            let mut headers = HeaderMap::new();
            for (name, value) in r.headers() {
                if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                    headers.insert(name.clone(), value.clone());
                }
            }
            (status, headers, r.bytes().await.unwrap_or_default())
        }
        Err(e) => (StatusCode::BAD_GATEWAY, HeaderMap::new(), Bytes::from(e.to_string())),
    }
}
