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
    timeout: Duration,
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    in_flight: Arc<Mutex<HashMap<String, (Reply, Instant)>>>,
    next_calls: Arc<AtomicUsize>,
    durations: Arc<Mutex<Vec<Duration>>>,
}

/// One function's Runtime API endpoint.
pub struct RuntimeApi {
    pub address: String,
    sender: mpsc::UnboundedSender<Invocation>,
    next_calls: Arc<AtomicUsize>,
    counter: AtomicUsize,
    durations: Arc<Mutex<Vec<Duration>>>,
}

impl RuntimeApi {
    /// Invocations get a 30 s deadline.
    pub async fn start() -> Self {
        Self::with_timeout(Duration::from_secs(30)).await
    }

    /// Invocations get `timeout` until their deadline (the function's Timeout).
    pub async fn with_timeout(timeout: Duration) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Shared {
            timeout,
            queue: Arc::new(tokio::sync::Mutex::new(receiver)),
            in_flight: Arc::default(),
            next_calls: Arc::default(),
            durations: Arc::default(),
        };
        let next_calls = shared.next_calls.clone();
        let durations = shared.durations.clone();
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind runtime API");
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            address,
            sender,
            next_calls,
            counter: AtomicUsize::new(0),
            durations,
        }
    }

    /// Each answered invocation's duration as Lambda bills it: from handing
    /// the event to the process to its response (or error).
    pub fn durations(&self) -> Vec<Duration> {
        self.durations.lock().unwrap().clone()
    }

    /// How many times any process has asked for its next invocation.
    pub fn next_calls(&self) -> usize {
        self.next_calls.load(Ordering::SeqCst)
    }

    /// Invokes the function with an event and waits for its answer.
    pub async fn invoke(&self, event: Bytes) -> Result<Bytes, Bytes> {
        let (reply, answer) = oneshot::channel();
        let id = format!("req-{}", self.counter.fetch_add(1, Ordering::Relaxed));
        self.sender
            .send(Invocation { id, event, reply })
            .map_err(|_| Bytes::from_static(b"runtime API stopped"))?;
        answer
            .await
            .unwrap_or_else(|_| Err(Bytes::from_static(b"invocation dropped")))
    }
}

async fn next(State(shared): State<Shared>) -> (StatusCode, HeaderMap, Bytes) {
    shared.next_calls.fetch_add(1, Ordering::SeqCst);
    let invocation = shared.queue.lock().await.recv().await;
    let Some(invocation) = invocation else {
        return (StatusCode::GONE, HeaderMap::new(), Bytes::new());
    };
    let deadline = std::time::SystemTime::now() + shared.timeout;
    let deadline_ms = deadline
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        invocation.id.parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline_ms.to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:bench"
            .parse()
            .unwrap(),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0"
            .parse()
            .unwrap(),
    );
    headers.insert("content-type", "application/json".parse().unwrap());
    shared
        .in_flight
        .lock()
        .unwrap()
        .insert(invocation.id.clone(), (invocation.reply, Instant::now()));
    (StatusCode::OK, headers, invocation.event)
}

async fn response(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    if let Some((reply, started)) = shared.in_flight.lock().unwrap().remove(&id) {
        shared.durations.lock().unwrap().push(started.elapsed());
        let _ = reply.send(Ok(body));
    }
    StatusCode::ACCEPTED
}

async fn error(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    if let Some((reply, started)) = shared.in_flight.lock().unwrap().remove(&id) {
        shared.durations.lock().unwrap().push(started.elapsed());
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
        let state = ProxyState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            counts: counts.clone(),
        };
        let app = Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, counts }
    }

    /// Requests seen so far, by operation.
    pub fn counts(&self) -> HashMap<String, usize> {
        self.counts.lock().unwrap().clone()
    }
}

async fn forward(
    State(state): State<ProxyState>,
    request: axum::extract::Request,
) -> (StatusCode, HeaderMap, Bytes) {
    let (parts, body) = request.into_parts();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{} {}", parts.method, parts.uri.path()));
    *state.counts.lock().unwrap().entry(operation).or_default() += 1;
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let url = format!(
        "{}{}",
        state.upstream,
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
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
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            HeaderMap::new(),
            Bytes::from(e.to_string()),
        ),
    }
}

// Process helpers for the benchmarks: start function binaries, read their CPU and memory.

use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// A function binary running as `envs` execution environments.
pub struct Function {
    pub name: &'static str,
    pub children: Vec<Child>,
    pub cold_starts: Vec<Duration>,
    pub cpu_at_ready: Vec<f64>,
}

fn ticks_per_second() -> f64 {
    100.0 // USER_HZ on Linux
}

/// (user + system CPU seconds, peak RSS in KiB) of a process.
pub fn usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    (ticks / ticks_per_second(), hwm)
}

/// Starts the release binary `name` (beside the running executable) `envs`
/// times against `api`, timing each cold start to its first `next` call.
pub async fn start_function(
    name: &'static str,
    envs: usize,
    api: &RuntimeApi,
    env: &[(String, String)],
    log: &str,
) -> Function {
    let binary = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .join(name);
    assert!(
        binary.exists(),
        "{} missing: build it with --release first",
        binary.display()
    );
    let mut f = Function {
        name,
        children: Vec::new(),
        cold_starts: Vec::new(),
        cpu_at_ready: Vec::new(),
    };
    for i in 0..envs {
        let before = api.next_calls();
        // With SYNCHUB_BENCH_LOG_DIR set, each environment's stdout (its JSON
        // log and EMF lines) goes to `{dir}/{name}-{i}.jsonl`, for the cost model.
        let stdout = match std::env::var_os("SYNCHUB_BENCH_LOG_DIR") {
            Some(dir) => Stdio::from(
                std::fs::File::create(std::path::Path::new(&dir).join(format!("{name}-{i}.jsonl")))
                    .expect("log file"),
            ),
            None => Stdio::null(),
        };
        let started = Instant::now();
        let child = Command::new(&binary)
            .envs(env.iter().cloned())
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("RUST_LOG", log)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn function");
        while api.next_calls() == before {
            tokio::time::sleep(Duration::from_micros(200)).await;
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{name} never asked for an invocation"
            );
        }
        f.cold_starts.push(started.elapsed());
        f.cpu_at_ready.push(usage(child.id()).0);
        f.children.push(child);
    }
    f
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

impl Function {
    /// (CPU seconds after init, CPU seconds total, peak RSS in KiB, median cold start in ms) over all environments.
    pub fn report(&self) -> (f64, f64, u64, f64) {
        let (mut cpu, mut init, mut rss) = (0.0, 0.0, 0u64);
        for (child, ready) in self.children.iter().zip(&self.cpu_at_ready) {
            let (c, r) = usage(child.id());
            cpu += c;
            init += ready;
            rss = rss.max(r);
        }
        (
            cpu - init,
            cpu,
            rss,
            median(
                self.cold_starts
                    .iter()
                    .map(|d| d.as_secs_f64() * 1000.0)
                    .collect(),
            ),
        )
    }

    pub fn stop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
        }
    }
}
