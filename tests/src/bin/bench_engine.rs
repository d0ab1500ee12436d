//! Engine overhead per object: the manifest engine (POSaBIT's manifest)
//! against Square's hand-written path, on the part of a pull that differs
//! between them: a page's body as text → parsed → records selected →
//! normalized into changes (typed catalog fields included) → each change
//! serialized as the queue message's body. Pages of 100, as both APIs
//! send them; the same number of objects of about the same size. The HTTP
//! calls, checkpoints and SendMessageBatch that follow are the same code for
//! both (see `synchub-bench-sync` for the whole pull). One source per
//! process, so peak RSS is the source's own.
//!
//! `--source square-manifest` runs the engine on Square's own pages with a
//! manifest that keeps what the hand-written path keeps
//! (`tests/bench/square-catalog.yaml`): the same pull, the same output, so
//! the ratio is the engine's own overhead.
//!
//! cargo build --release -p synchub-tests --bin synchub-bench-engine
//! target/release/synchub-bench-engine --source square --objects 100000
//! target/release/synchub-bench-engine --source square-manifest --objects 100000
//! target/release/synchub-bench-engine --source posabit --objects 100000

use clap::Parser;
use serde_json::{json, Value};
use synchub_connectors as connector;
use synchub_core::domain::square;
use synchub_core::domain::DataType;
use synchub_tests::square_server;

/// Square's catalog pull as a manifest, for this benchmark only.
const SQUARE_MANIFEST: &str = include_str!("../../bench/square-catalog.yaml");

#[derive(Parser)]
struct Args {
    /// square, square-manifest or posabit.
    #[arg(long)]
    source: String,
    #[arg(long, default_value_t = 100_000)]
    objects: usize,
}

/// Process CPU seconds (user + system) and peak RSS in KiB, from /proc.
fn usage() -> (f64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the name).
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let hwm = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    (cpu, hwm)
}

/// Page `page`'s body as the API sends it.
fn body(source: &str, page: usize, objects: usize) -> String {
    let range = page * 100..((page + 1) * 100).min(objects);
    match source {
        "square" | "square-manifest" => json!({"objects": square_server::items_in(range), "cursor": format!("c{page}")}),
        "posabit" => {
            let rows: Vec<Value> = range.map(square_server::posabit_row).collect();
            json!({"total_records": objects, "current_page": page + 1, "total_pages": objects.div_ceil(100), "per_page": 100, "inventory": rows})
        }
        other => panic!("--source {other}: square, square-manifest or posabit"),
    }
    .to_string()
}

fn main() {
    let args = Args::parse();
    let manifest = match args.source.as_str() {
        "square-manifest" => Box::leak(Box::new(
            connector::load("tests/bench/square-catalog.yaml", SQUARE_MANIFEST)
                .expect("the benchmark's Square manifest loads"),
        )),
        _ => connector::connector("posabit").expect("the posabit manifest loads"),
    };
    let selector = &manifest.streams[&DataType::Catalog].records;
    let pages = args.objects.div_ceil(100);
    // Making a page's body is the stand-in's work, not the source's: only
    // what follows it is timed, on this thread's CPU clock.
    let (mut cpu, mut made) = (0.0, 0usize);
    let mut changes = 0usize;
    let mut bytes = 0usize;
    for page in 0..pages {
        let body = body(&args.source, page, args.objects);
        made += body.len();
        let start = synchub_tests::thread_cpu();
        let parsed: Value = serde_json::from_str(&body).expect("a JSON page");
        let records: Vec<&Value> = match args.source.as_str() {
            "square" => parsed["objects"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default(),
            _ => connector::mapping::records(&parsed, selector),
        };
        for record in records {
            let object = match args.source.as_str() {
                "square" => square::normalize(DataType::Catalog, record, 0),
                _ => manifest.normalize(DataType::Catalog, record, 0),
            }
            .expect("a valid object");
            bytes += serde_json::to_vec(&object).expect("serializes").len();
            changes += 1;
        }
        drop(parsed);
        cpu += synchub_tests::thread_cpu() - start;
    }
    let (_, rss) = usage();
    println!(
        "{}: {changes} objects ({:.0} bytes a page), {:.3} CPU-s ({:.4} CPU-s per 1,000), {:.0} bytes per change, peak RSS {:.1} MiB",
        args.source,
        made as f64 / pages as f64,
        cpu,
        cpu / changes as f64 * 1000.0,
        bytes as f64 / changes as f64,
        rss as f64 / 1024.0
    );
}
