#!/usr/bin/env bash
# The service command: sets up a fresh machine and starts `introspect serve` with embedded
# defaults (SQLite under ./.introspect/, in-process worker, the bundled demo model).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source "$ROOT/scripts/bootstrap.sh"
introspect db upgrade
exec introspect serve "$@"
