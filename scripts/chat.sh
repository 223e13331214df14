#!/usr/bin/env bash
# Set up, build (or update) the index of the bundled corpus, then answer an example question.
# The browser chat (`ttqa serve`) replaces the last step once it lands.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ttqa index --corpus corpus --index indexes/default
if .venv/bin/ttqa serve --help >/dev/null 2>&1; then
    exec .venv/bin/ttqa serve --index indexes/default "$@"
fi
exec .venv/bin/ttqa ask --index indexes/default "${1:-Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường?}"
