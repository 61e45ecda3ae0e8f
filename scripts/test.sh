#!/usr/bin/env bash
# The test command: sets up a fresh machine, then runs ruff, mypy and pytest against throwaway
# PostgreSQL and Redis servers that the test fixtures start (and migrate) themselves.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source "$ROOT/scripts/bootstrap.sh" dev
# The tests marked real_model run on SmolLM2-135M-Instruct: pulled once (a no-op when cached), and
# required -- a missing model fails them instead of skipping them.
introspect models pull smollm2-135m-instruct >/dev/null
export INTROSPECT_REQUIRE_REAL_MODEL=1

ruff check .
ruff format --check .
mypy

set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  exit 1
fi
exit "$status"
