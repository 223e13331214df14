#!/usr/bin/env bash
# Set up, build the index of the bundled corpus (first run only) and start the chat.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/ttqa serve --corpus corpus --index indexes/default "$@"
