#!/usr/bin/env bash
# The whole test suite: unit and property tests, adapter and end-to-end tests
# through the real AWS SDK against DynamoDB Local and moto, the sample events,
# and the SAM template checks (sam validate, cfn-lint).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/bootstrap.sh
bash scripts/check-template.sh

if cargo nextest --version >/dev/null 2>&1; then
  run_tests=(cargo nextest run --workspace --no-fail-fast --failure-output final)
else
  run_tests=(cargo test --workspace --no-fail-fast)
fi
cargo build --workspace --all-targets --quiet
exec bash scripts/with-engines.sh "${run_tests[@]}"
