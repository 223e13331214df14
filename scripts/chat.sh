#!/usr/bin/env bash
# Set up, build (or update) the index of the bundled corpus, then start the browser chat on
# http://127.0.0.1:7860 (it prints the URL once ready). Options go to `ttqa serve`, e.g.
#   scripts/chat.sh --port 8000 --data-dir /srv/ttqa-data
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ttqa index --corpus corpus --index indexes/default
exec .venv/bin/ttqa serve --index indexes/default --corpus corpus "$@"
