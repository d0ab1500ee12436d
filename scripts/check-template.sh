#!/usr/bin/env bash
# Checks template.yaml offline with both SAM's validator and cfn-lint: each
# catches errors the other misses. Any finding (even informational) fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[[ -x .venv/bin/sam && -x .venv/bin/cfn-lint ]] || bash scripts/bootstrap.sh

# sam wants a region and credentials even for offline validation; these are
# never used for a request.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-offline}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-offline}"
export SAM_CLI_TELEMETRY=0

status=0
.venv/bin/sam validate --region us-east-1 --template-file template.yaml || status=1
.venv/bin/cfn-lint --include-checks I -- template.yaml || status=1
if (( status )); then
  echo "check-template: template.yaml has findings (see above)" >&2
else
  echo "check-template: template.yaml passes sam validate and cfn-lint"
fi
exit "$status"
