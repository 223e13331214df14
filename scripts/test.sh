#!/usr/bin/env bash
# Set up (venv, dev tools, chromium for the browser tests, the models) and run lint, types and the test suite.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Debian chromium for the browser tests..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "warning: could not install chromium; browser tests will be skipped" >&2
fi
export TTQA_CACHE_DIR="${TTQA_CACHE_DIR:-$PWD/.cache/ttqa}"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
.venv/bin/ttqa prepare  # the models converted and exported once, before the suite
exec .venv/bin/python -m pytest "$@"
