#!/usr/bin/env bash
# Runs a command with the local AWS engines up (DynamoDB Local, moto) and the
# standard AWS_ENDPOINT_URL_* variables pointing at them; the engines stop
# when the command ends, however it ends.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/bootstrap.sh

# engines.py lives as long as its stdin: the coprocess pipe closes when this shell exits.
coproc ENGINES { exec python3 scripts/engines.py; }
engines_pid=$ENGINES_PID
trap 'kill "$engines_pid" 2>/dev/null || true; wait "$engines_pid" 2>/dev/null || true' EXIT
while IFS= read -r -u "${ENGINES[0]}" line; do
  case "$line" in
    DYNAMODB_ENDPOINT=*) export AWS_ENDPOINT_URL_DYNAMODB="${line#*=}" ;;
    MOTO_ENDPOINT=*) export AWS_ENDPOINT_URL_SQS="${line#*=}" AWS_ENDPOINT_URL_SES="${line#*=}" AWS_ENDPOINT_URL_SSM="${line#*=}" ;;
    ENGINES_READY) break ;;
  esac
done
[[ -n "${AWS_ENDPOINT_URL_DYNAMODB:-}" && -n "${AWS_ENDPOINT_URL_SQS:-}" ]] || { echo "engines did not start (see .local/logs/)" >&2; exit 1; }
echo "engines: DynamoDB Local at $AWS_ENDPOINT_URL_DYNAMODB, moto (SQS, SES, SSM) at $AWS_ENDPOINT_URL_SQS"

# Credentials and region the local engines accept; nothing here reaches AWS.
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
unset AWS_PROFILE AWS_SESSION_TOKEN
"$@"
