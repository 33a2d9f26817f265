#!/usr/bin/env bash
# Installs what the atlas needs into ./.venv. With --test, also what the tests need:
# the test extras and Debian's chromium + chromedriver + CJK fonts (browser tests, exports)
# and postgresql (the store's tests on PostgreSQL start a throwaway server).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras=""
if [ "${1:-}" = "--test" ]; then extras="[test,export]"; fi
stamp=".venv/.installed${extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extras}"
  touch "$stamp"
fi
# the project's own modules as bytecode: a start does not compile them again where
# PYTHONDONTWRITEBYTECODE is set (as on this machine), ~0.1 s of a 2 s start (#7)
.venv/bin/python -m compileall -q -j 0 app.py twinning components >/dev/null
if [ "${1:-}" = "--test" ]; then
  need=""
  command -v chromium >/dev/null 2>&1 || need="$need chromium"
  command -v chromedriver >/dev/null 2>&1 || need="$need chromium-driver"
  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need="$need fonts-noto-cjk"
  # the store tests start a throwaway PostgreSQL server (initdb, pg_ctl)
  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need="$need postgresql"
  # the accessibility tests inject axe-core, installed from npm below (#13)
  command -v npm >/dev/null 2>&1 || need="$need npm"
  if [ -n "$need" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
  fi
fi
if [ "${1:-}" = "--test" ]; then
  # axe-core for tests/browser/test_browser_a11y.py, pinned by tools/axe/package-lock.json:
  # fetched here, at set-up, so the tests read one local file and never the network
  axe=tools/axe/node_modules/axe-core/axe.min.js
  if [ ! -f "$axe" ] || [ tools/axe/package-lock.json -nt "$axe" ]; then
    npm ci --prefix tools/axe --no-audit --no-fund --loglevel=error
    touch "$axe"
  fi
fi
