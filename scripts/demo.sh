#!/usr/bin/env bash
# The local stack and a demo: installs and starts the engines, creates the
# resources as template.yaml names them, seeds a tenant, fires a few hundred
# signed supplier webhooks at the real ingest handler while the real worker
# consumes the queue, and prints what happened.
# It ends by serving the operator dashboard on the demo's data (URL
# printed) until Ctrl-C; anything that runs it unattended passes
# --no-dashboard, which ends at once.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
echo "building the synchub CLI (first run compiles the AWS SDK: a few minutes)"
# The demo and its stand-in servers are behind the CLI's `demo` feature.
cargo build --quiet -p synchub-cli --features demo
exec bash scripts/with-engines.sh target/debug/synchub demo "$@"
