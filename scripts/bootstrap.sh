#!/usr/bin/env bash
# Prepare a fresh machine: system servers (redis, chromium for browser tests), bubblewrap (the python
# verifier's sandbox) and the Python venv.
# Sourced by scripts/serve.sh and scripts/test.sh; safe to run repeatedly.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${INTROSPECT_VENV:-$ROOT/.venv}"
EXTRAS="${1:-}"

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "${_APT_UPDATED:-}" ]; then $sudo apt-get update -qq; _APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

command -v redis-server >/dev/null 2>&1 || apt_install redis-server
# bubblewrap: the python verifier's sandbox (checks are refused without it).
command -v bwrap >/dev/null 2>&1 || apt_install bubblewrap
if [ "$EXTRAS" = "dev" ] && [ ! -x /usr/bin/chromium ]; then apt_install chromium; fi

if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
# torch first, from the CPU wheel: otherwise a torch requirement pulls a multi-GB CUDA build.
python -m pip install -q "torch==2.13.0"
if [ "$EXTRAS" = "dev" ]; then
  python -m pip install -q -c "$ROOT/constraints.txt" -e "$ROOT[dev]"
else
  python -m pip install -q -c "$ROOT/constraints.txt" -e "$ROOT"
fi
