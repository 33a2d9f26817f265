#!/usr/bin/env bash
# One command: install what the tests need (Python packages, Debian's chromium and
# postgresql), lint, run them all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
