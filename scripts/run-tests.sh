#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it.
set -euo pipefail
cd "$(dirname "$0")/.."
export SCANCCI_ASSETS="${SCANCCI_ASSETS:-$PWD/.venv/share/scancci-assets}"
export MPLBACKEND=Agg
.venv/bin/ruff check .
.venv/bin/python -m mypy  # the typed public API (settings: pyproject.toml)
# The web page is tested in a real headless Chromium (Debian package); install it if missing.
if [ -x scripts/ensure-browser.sh ]; then bash scripts/ensure-browser.sh; fi
# One worker per core, each taking whole test files (module fixtures such as the Ray instance
# start once); `make test ARGS="-n 0"`-style overrides pass through "$@".
.venv/bin/python -m pytest -n auto --dist loadfile "$@"
