#!/usr/bin/env bash
# One command: install what the atlas needs, then run it on its embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python app.py "$@"
