//! Harsh conditions for the real function binaries: a fault-injecting HTTP
//! proxy in front of a local engine (the functions reach it through the
//! standard `AWS_ENDPOINT_URL_*` variables), and a Lambda execution
//! environment that can be killed mid-invocation and that tells when an
//! invocation ran past its timeout.
//!
//! Each proxy draws its faults from its own seeded generator, at rates per
//! service: throttling answered the way that service answers it, 5xx,
//! delays of 0.1–0.8 s, and connections dropped before the request is
//! forwarded (nothing happened) or after (it took effect, the answer is lost).

use crate::lambda_emulator::RuntimeApi;
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which AWS service a proxy stands in front of: each answers throttling
/// and server errors in its own shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    DynamoDb,
    Sqs,
    Ssm,
}

/// How often each fault is injected, as a share of requests (0.0–1.0).
/// Throttling, 5xx and the two drops exclude one another; a delay may come
/// on top of any of them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FaultRates {
    pub throttle: f64,
    pub server_error: f64,
    pub delay: f64,
    pub drop_before: f64,
    pub drop_after: f64,
}

impl FaultRates {
    /// `failing` of all requests fail, split between throttling, 5xx and
    /// the two drops; `delay` of them are delayed.
    pub fn failing(failing: f64, delay: f64) -> Self {
        Self {
            throttle: failing * 0.3,
            server_error: failing * 0.3,
            drop_before: failing * 0.2,
            drop_after: failing * 0.2,
            delay,
        }
    }
}

/// A fault the proxy injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    Throttled,
    ServerError,
    Delayed,
    DroppedBefore,
    DroppedAfter,
}

/// The connection is closed without an answer (hyper drops it when the
/// service fails).
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

struct ProxyState {
    service: Service,
    upstream: String,
    client: reqwest::Client,
    rates: Mutex<FaultRates>,
    rng: Mutex<StdRng>,
    faults: Mutex<BTreeMap<Fault, usize>>,
    requests: AtomicUsize,
    /// Throttle the next n requests whose `X-Amz-Target` contains the text.
    throttle_next: Mutex<Option<(String, usize)>>,
}

/// A fault-injecting proxy in front of one engine, for one service.
pub struct FaultyProxy {
    pub url: String,
    state: Arc<ProxyState>,
}

impl FaultyProxy {
    /// Starts a proxy to `upstream` on 127.0.0.1, injecting nothing until
    /// [`FaultyProxy::set_rates`].
    pub async fn start(service: Service, upstream: &str, seed: u64) -> Self {
        let state = Arc::new(ProxyState {
            service,
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            rates: Mutex::new(FaultRates::default()),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            faults: Mutex::default(),
            requests: AtomicUsize::new(0),
            throttle_next: Mutex::new(None),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fault proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let serving = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = state.clone();
                        async move { handle(&state, request).await }
                    });
                    // An error here is a connection dropped on purpose (or by the client).
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, state }
    }

    pub fn set_rates(&self, rates: FaultRates) {
        *self.state.rates.lock().unwrap() = rates;
    }

    /// Throttles the next `n` requests whose operation (`X-Amz-Target`)
    /// contains `operation`, whatever the rates say.
    pub fn throttle_next(&self, operation: &str, n: usize) {
        *self.state.throttle_next.lock().unwrap() = Some((operation.to_owned(), n));
    }

    /// Faults injected so far, by kind.
    pub fn faults(&self) -> BTreeMap<Fault, usize> {
        self.state.faults.lock().unwrap().clone()
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

/// What the proxy does with one request, drawn from its generator.
struct Plan {
    fault: Option<Fault>,
    delay: Option<Duration>,
}

fn plan(state: &ProxyState) -> Plan {
    let rates = *state.rates.lock().unwrap();
    let mut rng = state.rng.lock().unwrap();
    let roll: f64 = rng.random();
    let mut bound = 0.0;
    let mut fault = None;
    for (rate, kind) in [
        (rates.throttle, Fault::Throttled),
        (rates.server_error, Fault::ServerError),
        (rates.drop_before, Fault::DroppedBefore),
        (rates.drop_after, Fault::DroppedAfter),
    ] {
        bound += rate;
        if roll < bound {
            fault = Some(kind);
            break;
        }
    }
    let delay = (rng.random::<f64>() < rates.delay)
        .then(|| Duration::from_millis(rng.random_range(100..=800)));
    Plan { fault, delay }
}

fn count(state: &ProxyState, fault: Fault) {
    *state.faults.lock().unwrap().entry(fault).or_default() += 1;
}

async fn handle(
    state: &ProxyState,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let mut plan = plan(state);
    if let Some((operation, left)) = state.throttle_next.lock().unwrap().as_mut() {
        let target = parts.headers.get("x-amz-target");
        let target = target.and_then(|v| v.to_str().ok()).unwrap_or_default();
        if *left > 0 && target.contains(operation.as_str()) {
            *left -= 1;
            plan.fault = Some(Fault::Throttled);
        }
    }
    if let Some(delay) = plan.delay {
        count(state, Fault::Delayed);
        tokio::time::sleep(delay).await;
    }
    match plan.fault {
        Some(Fault::DroppedBefore) => {
            count(state, Fault::DroppedBefore);
            return Err(Dropped);
        }
        Some(kind @ (Fault::Throttled | Fault::ServerError)) => {
            count(state, kind);
            let throttled = kind == Fault::Throttled;
            let pick = state.rng.lock().unwrap().random::<bool>();
            return Ok(error_answer(state.service, throttled, pick));
        }
        _ => {}
    }
    let url = format!(
        "{}{}",
        state.upstream,
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut upstream = state.client.request(parts.method, url).body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.send().await.map_err(|_| Dropped)?;
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.map_err(|_| Dropped)?;
    if plan.fault == Some(Fault::DroppedAfter) {
        // The engine did it; the caller never hears so.
        count(state, Fault::DroppedAfter);
        return Err(Dropped);
    }
    Ok(response.body(Full::new(bytes)).expect("a valid answer"))
}

/// A throttling or server error, shaped as `service` returns it; `pick`
/// chooses between the two shapes each service has.
fn error_answer(service: Service, throttled: bool, pick: bool) -> Response<Full<Bytes>> {
    let (status, kind, query_error, message) = match (service, throttled, pick) {
        (Service::DynamoDb, true, true) => (
            400,
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            None,
            "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
        ),
        (Service::DynamoDb, true, false) => (
            400,
            "com.amazon.coral.availability#ThrottlingException",
            None,
            "Rate of requests exceeds the allowed throughput.",
        ),
        (Service::DynamoDb, false, true) => (
            500,
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
            None,
            "Internal server error",
        ),
        (Service::DynamoDb, false, false) => (
            503,
            "com.amazon.coral.availability#ServiceUnavailableException",
            None,
            "Service unavailable",
        ),
        (Service::Sqs, true, _) => (
            400,
            "com.amazonaws.sqs#RequestThrottled",
            Some("RequestThrottled;Sender"),
            "Request is throttled.",
        ),
        (Service::Sqs, false, true) => (
            500,
            "com.amazonaws.sqs#InternalError",
            Some("InternalError;Receiver"),
            "We encountered an internal error. Please try again.",
        ),
        (Service::Sqs, false, false) => (
            503,
            "com.amazonaws.sqs#ServiceUnavailable",
            Some("ServiceUnavailable;Receiver"),
            "The request has failed due to a temporary failure of the server.",
        ),
        (Service::Ssm, true, _) => (400, "ThrottlingException", None, "Rate exceeded"),
        (Service::Ssm, false, _) => (500, "InternalServerError", None, "An error occurred"),
    };
    let content_type = match service {
        Service::Ssm => "application/x-amz-json-1.1",
        _ => "application/x-amz-json-1.0",
    };
    let body = serde_json::json!({"__type": kind, "message": message}).to_string();
    let mut response = Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", content_type)
        .header(
            "x-amzn-requestid",
            format!("chaos-{:016x}", rand::random::<u64>()),
        );
    if let Some(code) = query_error {
        response = response.header("x-amzn-query-error", code);
    }
    response
        .body(Full::new(Bytes::from(body)))
        .expect("a valid answer")
}

/// How an invocation ended, as Lambda would see it.
#[derive(Debug)]
pub enum Ended {
    /// The function answered (`Err`: it reported an error).
    Answered(Result<Bytes, Bytes>),
    /// The process was killed while it held the invocation.
    Killed,
    /// No answer by the function's timeout: Lambda stops the environment.
    TimedOut,
}

/// One execution environment of a function binary on its own Runtime API,
/// which the test may kill (SIGKILL) mid-invocation; Lambda starts a new one.
pub struct Environment {
    api: RuntimeApi,
    binary: PathBuf,
    env: Vec<(String, String)>,
    log: PathBuf,
    timeout: Duration,
    child: Mutex<Child>,
    pub timed_out: AtomicUsize,
    pub killed: AtomicUsize,
}

/// The workspace's function packages.
pub const FUNCTIONS: [&str; 5] = [
    "webhook-ingest",
    "sync-worker",
    "sync-api",
    "daily-sync",
    "failure-notifier",
];

/// A function binary of this workspace's debug build (`target/debug/{name}`).
/// The first call of a process builds all of [`FUNCTIONS`] in one cargo
/// call, so the test never runs a stale one, and every test asks for the same
/// set with the same features, so one test's build never replaces a binary
/// another has started; `SYNCHUB_FUNCTIONS_BUILT` says the caller (the test
/// script) just built the workspace.
pub fn function_binary(name: &str) -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        if std::env::var_os("SYNCHUB_FUNCTIONS_BUILT").is_some() {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--quiet"])
            .current_dir(crate::repo_root());
        for function in FUNCTIONS {
            build.args(["-p", function]);
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "cargo build of {FUNCTIONS:?} failed");
    });
    // The test binary sits in target/debug/deps.
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(|deps| deps.parent()).unwrap();
    debug.join(name)
}

impl Environment {
    /// Starts `binary` against a new Runtime API whose invocations time out
    /// after `timeout`; its log lines go to `log`.
    pub async fn start(
        binary: PathBuf,
        env: Vec<(String, String)>,
        timeout: Duration,
        log: PathBuf,
    ) -> Self {
        let api = RuntimeApi::with_timeout(timeout).await;
        let child = spawn(&binary, &env, &api, &log);
        let environment = Self {
            api,
            binary,
            env,
            log,
            timeout,
            child: Mutex::new(child),
            timed_out: AtomicUsize::new(0),
            killed: AtomicUsize::new(0),
        };
        environment.wait_ready(0).await;
        environment
    }

    /// Waits until the process asks for an invocation (`before` asks seen).
    async fn wait_ready(&self, before: usize) {
        let started = std::time::Instant::now();
        while self.api.next_calls() <= before {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{} never asked for an invocation (log: {})",
                self.binary.display(),
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Invokes the function; when `kill_after` is given and the function has
    /// not answered by then, the process is killed mid-invocation.
    pub async fn invoke(&self, event: Bytes, kill_after: Option<Duration>) -> Ended {
        let kill_at = kill_after.unwrap_or(Duration::MAX);
        let started = std::time::Instant::now();
        let ended = tokio::select! {
            answer = self.api.invoke(event) => Ended::Answered(answer),
            _ = tokio::time::sleep(kill_at.min(self.timeout)) => {
                if kill_at < self.timeout { Ended::Killed } else { Ended::TimedOut }
            }
        };
        // Lambda stops an invocation at its deadline: an answer later than
        // that (measured from before the hand-over, so never too early) is lost.
        let ended = match ended {
            Ended::Answered(_) if started.elapsed() > self.timeout => Ended::TimedOut,
            other => other,
        };
        match ended {
            Ended::Killed => {
                self.killed.fetch_add(1, Ordering::SeqCst);
                self.restart().await;
            }
            Ended::TimedOut => {
                self.timed_out.fetch_add(1, Ordering::SeqCst);
                self.restart().await;
            }
            Ended::Answered(_) => {}
        }
        ended
    }

    /// SIGKILLs the process and starts a fresh one, as Lambda does after a
    /// crash or a timeout.
    async fn restart(&self) {
        let before = self.api.next_calls();
        {
            let mut child = self.child.lock().unwrap();
            let _ = child.kill();
            let _ = child.wait();
            *child = spawn(&self.binary, &self.env, &self.api, &self.log);
        }
        self.wait_ready(before).await;
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn spawn(binary: &PathBuf, env: &[(String, String)], api: &RuntimeApi, log: &PathBuf) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("open the function's log");
    Command::new(binary)
        .envs(env.iter().cloned())
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env(
            "AWS_LAMBDA_FUNCTION_NAME",
            binary.file_name().unwrap_or_default(),
        )
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log handle"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", binary.display()))
}
