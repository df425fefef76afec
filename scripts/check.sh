#!/usr/bin/env bash
# The test suite: lint, format check, type check, then pytest. Run after `scripts/setup.sh dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
echo "== ruff check";  "$bin/ruff" check .
echo "== ruff format"; "$bin/ruff" format --check .
echo "== mypy";        "$bin/mypy"
echo "== pytest";      "$bin/python" -m pytest "$@"
