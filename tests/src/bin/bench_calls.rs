//! CPU per outbound call, the part of an event's CPU the handler does not
//! decide: the functions' own SQS client (their `aws_config`, the
//! `SqsQueue` adapter's `SendMessage`) against a bare keep-alive HTTP POST
//! of the same body, each hot (back to back) and spaced (5 ms apart, as
//! calls are between invocations), against one local server that answers
//! at once with SQS's JSON and keeps the connection open (moto closes it
//! after every answer, which would add a TCP connect to every call). The
//! client runs on this thread's current-thread runtime, as the functions
//! do; the server on a thread of its own; only the client thread's CPU
//! clock is read.
//!
//! cargo build --release -p synchub-tests --bin synchub-bench-calls
//! target/release/synchub-bench-calls --calls 2000

use clap::Parser;
use std::time::{Duration, Instant};
use synchub_core::ports::{MessageQueue, OutgoingMessage};

#[derive(Parser)]
struct Args {
    /// Calls per measure.
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// The pause between spaced calls, in milliseconds.
    #[arg(long, default_value_t = 5)]
    spacing_ms: u64,
}

/// The body every call sends, and SQS's answer to it (its MD5 included).
const BODY_LEN: usize = 400;
const ANSWER: &str = r#"{"MD5OfMessageBody":"0d723d1c244281678c8cd2957f0744b2","MessageId":"5fea7756-0ea4-451a-a703-a558b933e274"}"#;

/// An SQS-shaped server on its own thread; its address.
fn serve() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().fallback(|| async {
                (
                    [
                        ("content-type", "application/x-amz-json-1.0"),
                        ("x-amzn-requestid", "bench"),
                    ],
                    ANSWER,
                )
            });
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    address
}

/// Microseconds of this thread's CPU per call of `call`, over `n` calls
/// `spacing` apart (the pauses' own wake-ups included), after a warm-up.
async fn per_call<F, Fut>(n: usize, spacing: Duration, mut call: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..20 {
        call().await;
    }
    let start = synchub_tests::thread_cpu();
    for _ in 0..n {
        call().await;
        if !spacing.is_zero() {
            tokio::time::sleep(spacing).await;
        }
    }
    (synchub_tests::thread_cpu() - start) * 1e6 / n as f64
}

/// The same pause loop with no call in it: what spacing costs by itself.
async fn pauses(n: usize, spacing: Duration) -> f64 {
    per_call(n, spacing, || async {}).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    let server = serve();
    // The functions' own SDK configuration, pointed at the local server.
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_REGION", "us-east-1"),
    ] {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
    std::env::set_var("AWS_ENDPOINT_URL_SQS", &server);
    let aws = synchub_lambda::aws_config().await;
    let url = format!("{server}/000000000000/bench");
    let queue = synchub_aws::sqs::SqsQueue::new(aws_sdk_sqs::Client::new(&aws), url.clone());
    let message = OutgoingMessage {
        group_id: "tenant".into(),
        body: "x".repeat(BODY_LEN),
        attributes: vec![("tenantId", "tenant".into())],
        delay_seconds: 0,
    };
    let http = reqwest::Client::new();
    let body = "x".repeat(BODY_LEN);
    let sdk = || async {
        queue.send(&message).await.expect("SendMessage");
    };
    let bare = || async {
        let answer = http
            .post(&url)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", "AmazonSQS.SendMessage")
            .body(body.clone())
            .send()
            .await
            .expect("POST");
        answer.bytes().await.expect("answer");
    };
    let spaced = Duration::from_millis(args.spacing_ms);
    let n = args.calls;
    let t0 = Instant::now();
    let lines = [
        (
            "bare keep-alive HTTP POST, hot",
            per_call(n, Duration::ZERO, bare).await,
        ),
        (
            "SQS SendMessage (SDK, the functions' config), hot",
            per_call(n, Duration::ZERO, sdk).await,
        ),
        (
            "bare keep-alive HTTP POST, spaced",
            per_call(n, spaced, bare).await - pauses(n, spaced).await,
        ),
        (
            "SQS SendMessage (SDK), spaced",
            per_call(n, spaced, sdk).await - pauses(n, spaced).await,
        ),
    ];
    for (what, us) in lines {
        println!("{what:<52} {us:>7.1} us CPU per call");
    }
    println!(
        "({n} calls each, spaced {} ms apart, pauses' own CPU taken off; {:.1} s)",
        args.spacing_ms,
        t0.elapsed().as_secs_f64()
    );
}
