#!/usr/bin/env bash
# The end-to-end benchmark (see BENCHMARKS.md): release builds of both
# functions run as separate processes behind a local Lambda Runtime API, on
# the local engines. Extra arguments go to synchub-bench (e.g. --events 5000).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build --release --quiet -p webhook-ingest -p sync-worker
cargo build --release --quiet -p synchub-tests --bin synchub-bench
runs="${RUNS:-3}"
exec bash scripts/with-engines.sh bash -c 'for i in $(seq '"$runs"'); do target/release/synchub-bench "$@"; echo; done' bench "$@"
