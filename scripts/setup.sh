#!/usr/bin/env bash
# Create .venv and install ttqa into it (idempotent; reinstalls only when pyproject.toml or constraints.txt changes).
# Usage: scripts/setup.sh [dev|train]   (an extra of pyproject.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "ttqa needs Python >= 3.11 (found: $("$py" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$py" -m venv .venv
stamp=".venv/.ttqa-installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)${extra:+-$extra}"
if [ ! -f "$stamp" ]; then
    echo "installing ttqa${extra:+ [$extra]} into .venv (first run takes a few minutes)..." >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    # torch is pinned in pyproject.toml to the CPU build that pip finds locally; the libraries
    # the models' numbers depend on, to the versions in constraints.txt.
    .venv/bin/python -m pip install --quiet -c constraints.txt -e ".${extra:+[$extra]}"
    touch "$stamp"
fi
