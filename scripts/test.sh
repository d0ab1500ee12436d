#!/usr/bin/env bash
# The whole test suite: formatting, the crate rules and lints first (fail
# fast), then unit and property tests, adapter and end-to-end tests through
# the real AWS SDK against DynamoDB Local and moto, the sample events, and
# the SAM template checks (sam validate, cfn-lint). Tests run with every
# feature on, so the demo's own unit tests run too.
#
# Time: the engines' install and the template checks need no compiler, so
# they run beside the build; and the workspace is compiled once, linted as
# it is built (clippy's driver compiles each workspace crate), so the
# dependencies are compiled once, not once for clippy and again for tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

fail() { echo "test.sh: $*" >&2; exit 1; }

echo "test.sh: cargo fmt --all --check"
cargo fmt --all --check ||
  fail "formatting differs from rustfmt's (diff above); run 'cargo fmt --all' and commit the result"

echo "test.sh: python3 scripts/check-layers.py (the crates' dependency rules, ARCHITECTURE.md)"
python3 scripts/check-layers.py ||
  fail "a crate or file breaks a rule of ARCHITECTURE.md (listed above)"

mkdir -p .local/logs
prepare_log=.local/logs/test-prepare.log
echo "test.sh: installing the engines and checking the template beside the build (log: $prepare_log)"
(bash scripts/bootstrap.sh && bash scripts/check-template.sh) >"$prepare_log" 2>&1 &
prepare=$!

# clippy -D warnings on every workspace crate, every target, every feature
# (the features are additive: this build compiles every line), with the
# workspace lints of Cargo.toml (no function over 60 lines in production).
echo "test.sh: cargo build --workspace --all-targets --all-features, linted by clippy -D warnings"
clippy_driver="$(rustc --print sysroot)/bin/clippy-driver"
[[ -x "$clippy_driver" ]] || fail "clippy is not installed (rustup component add clippy)"
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
if ! cargo build --workspace --all-targets --all-features --quiet; then
  wait "$prepare" || true
  fail "the build or clippy failed (denied warnings are listed above)"
fi

if ! wait "$prepare"; then
  cat "$prepare_log" >&2
  fail "installing the engines or the template checks failed (above)"
fi
cat "$prepare_log"

if cargo nextest --version >/dev/null 2>&1; then
  # A failure's output right under its FAIL line, and again at the end.
  run_tests=(cargo nextest run --workspace --all-features --no-fail-fast --failure-output immediate-final)
else
  run_tests=(cargo test --workspace --all-features --no-fail-fast)
fi
# The tests that run the function binaries take these, as built just now;
# they would otherwise build them again, with other features, mid-suite, and
# one test's build could replace a binary while another test starts it.
export SYNCHUB_FUNCTIONS_BUILT=1
exec bash scripts/with-engines.sh "${run_tests[@]}"
