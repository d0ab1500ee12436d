#!/usr/bin/env bash
# The whole test suite: formatting and lints first (fail fast), then unit and
# property tests, adapter and end-to-end tests through the real AWS SDK
# against DynamoDB Local and moto, the sample events, and the SAM template
# checks (sam validate, cfn-lint). Tests run with every feature on, so the
# demo's own unit tests run too.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

fail() { echo "test.sh: $*" >&2; exit 1; }

echo "test.sh: cargo fmt --all --check"
cargo fmt --all --check ||
  fail "formatting differs from rustfmt's (diff above); run 'cargo fmt --all' and commit the result"

echo "test.sh: cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings ||
  fail "clippy found warnings (denied; listed above); fix them before the tests run"
# The demo is behind a feature: lint that build of the CLI too.
echo "test.sh: cargo clippy -p synchub-cli --all-targets --features demo -- -D warnings"
cargo clippy -p synchub-cli --no-deps --all-targets --features demo --quiet -- -D warnings ||
  fail "clippy found warnings in the CLI's demo build (denied; listed above)"

echo "test.sh: python3 scripts/check-layers.py (the crates' dependency rules, ARCHITECTURE.md)"
python3 scripts/check-layers.py ||
  fail "a crate depends on one its layer may not (listed above; see ARCHITECTURE.md)"

bash scripts/bootstrap.sh
bash scripts/check-template.sh

if cargo nextest --version >/dev/null 2>&1; then
  # A failure's output right under its FAIL line, and again at the end.
  run_tests=(cargo nextest run --workspace --all-features --no-fail-fast --failure-output immediate-final)
else
  run_tests=(cargo test --workspace --all-features --no-fail-fast)
fi
cargo build --workspace --all-targets --all-features --quiet
# The tests that run the function binaries take these, as built just now;
# they would otherwise build them again, with other features, mid-suite, and
# one test's build could replace a binary while another test starts it.
export SYNCHUB_FUNCTIONS_BUILT=1
exec bash scripts/with-engines.sh "${run_tests[@]}"
