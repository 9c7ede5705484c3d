#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it.
set -euo pipefail
cd "$(dirname "$0")/.."
export SCANCCI_ASSETS="${SCANCCI_ASSETS:-$PWD/.venv/share/scancci-assets}"
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
