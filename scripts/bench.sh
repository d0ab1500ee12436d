#!/usr/bin/env bash
# The benchmarks (see BENCHMARKS.md), release builds on the local engines,
# RUNS times (default 3):
#   scripts/bench.sh [args]            the spine end to end (synchub-bench), e.g. --events 1000
#   scripts/bench.sh notifier [args]   the failure notifier (synchub-bench-notifier), e.g. --failures 1000
#   scripts/bench.sh sync [args]       the daily pull (synchub-bench-sync), e.g. --objects 100000
#   scripts/bench.sh metrics [args]    metrics and gate over seeded audit rows (synchub-bench-metrics), e.g. --rows 1000000
#   scripts/bench.sh ensure [args]     ensure direct vs queued (synchub-bench-ensure), e.g. --objects 1000 --samples 7
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bench=synchub-bench
case "${1:-}" in
  notifier) bench=synchub-bench-notifier; shift ;;
  sync) bench=synchub-bench-sync; shift ;;
  metrics) bench=synchub-bench-metrics; shift ;;
  ensure) bench=synchub-bench-ensure; shift ;;
esac
# metrics, gate and ensure run in process: they need no function binary.
[[ $bench == synchub-bench-metrics || $bench == synchub-bench-ensure ]] || cargo build --release --quiet -p webhook-ingest -p sync-worker -p failure-notifier -p daily-sync
cargo build --release --quiet -p synchub-tests --bin "$bench"
runs="${RUNS:-3}"
exec bash scripts/with-engines.sh bash -c 'for i in $(seq '"$runs"'); do target/release/'"$bench"' "$@"; echo; done' bench "$@"
