#!/usr/bin/env bash
# Throwaway venv for benchmarks/bench_fer.py: the `fer` PyPI package (FER2013 mini-Xception,
# Haar or MTCNN detector) next to scancci, without a second PyTorch and without touching the
# project's environment. Benchmark-only: TensorFlow is in no requirements file of the project.
#
#   bash benchmarks/fer_venv.sh      # idempotent; prints the venv's python at the end
#
# Layout: a venv at ${XDG_CACHE_HOME:-$HOME/.cache}/scancci/fer-bench-venv (FER_BENCH_VENV
# overrides) that holds only what the project's shared base venv (.venv/.scancci-base) lacks,
# every pin exact and installed with --no-deps, so pip resolves nothing and can neither upgrade
# nor downgrade torch, numpy or anything else. A .pth file then appends the base's
# site-packages to its sys.path (its own packages come first). The packages are installed
# before the .pth is written, so pip never even sees the base. The base's `pip freeze` is
# compared before and after.
set -euo pipefail
cd "$(dirname "$0")/.."

# What fer 25.10.3 needs that the base lacks or has in a version that does not fit:
# - tensorflow-cpu: fer/fer.py imports tensorflow unconditionally (tf.lite.Interpreter runs the
#   default quantised model); 2.20.0 is built for numpy 2 and Python 3.11. Its runtime
#   dependencies that the base lacks follow it (libclang, build-time only, is left out).
# - protobuf 5.x: TF 2.20's generated code is protobuf 5.28 and the base's protobuf 7 runtime
#   refuses it (cross-major check); 5.29.6 shadows the base's copy in this venv only.
# - tensorboard 2.20.0: TF 2.20 asks for tensorboard~=2.20.0 (the base has 2.21).
# - setuptools 80.9.0: fer/fer.py imports pkg_resources, gone from setuptools >= 81.
# - fer and facenet-pytorch (MTCNN), so the venv does not depend on the base shipping them.
PINS=(
  tensorflow-cpu==2.20.0
  protobuf==5.29.6
  tensorboard==2.20.0
  astunparse==1.6.3
  gast==0.6.0
  google-pasta==0.2.0
  opt-einsum==3.4.0
  six==1.17.0
  termcolor==3.3.0
  wrapt==1.17.3
  setuptools==80.9.0
  fer==25.10.3
  facenet-pytorch==2.6.0
)

[ -f .venv/.scancci-base ] || bash scripts/bootstrap-venv.sh
base=$(cat .venv/.scancci-base)
venv=${FER_BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/scancci/fer-bench-venv}
stamp="base=$base pins=${PINS[*]}"

if [ -f "$venv/.complete" ] && [ "$(cat "$venv/.complete")" = "$stamp" ]; then
  echo "[fer-venv] up to date: $venv (layered on $base)"
else
  before=$("$base/bin/pip" freeze --all 2>/dev/null)
  echo "[fer-venv] building $venv (layered on $base)"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$base/bin/python" -m venv "$venv"
  echo "[fer-venv] pip install --no-deps ${PINS[*]}"
  "$venv/bin/pip" install -q --no-deps "${PINS[@]}"
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  base_site=$("$base/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  echo "import site; site.addsitedir('$base_site')" > "$site/_scancci_base.pth"
  echo "[fer-venv] wrote $site/_scancci_base.pth -> $base_site"
  after=$("$base/bin/pip" freeze --all 2>/dev/null)
  if [ "$before" != "$after" ]; then
    echo "[fer-venv] ERROR: the base venv's packages changed:" >&2
    diff <(echo "$before") <(echo "$after") >&2 || true
    exit 1
  fi
  echo "[fer-venv] base venv untouched ($(echo "$after" | wc -l) packages, pip freeze identical)"
  echo "$stamp" > "$venv/.complete"
fi

"$venv/bin/python" - <<'PYEOF'
import importlib.metadata as md
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")
import numpy, tensorflow, torch  # noqa: E401  (the imports fer makes, checked here)
from fer.fer import FER  # noqa: F401

for name in ("fer", "tensorflow-cpu", "protobuf", "keras", "numpy", "torch", "facenet-pytorch",
             "opencv-python-headless", "setuptools"):
    dist = md.distribution(name)
    print(f"[fer-venv] {name:<24} {dist.version:<12} {dist.locate_file('')}")
PYEOF
echo "[fer-venv] disk: $(du -sh "$venv" | cut -f1) in $venv"
echo "[fer-venv] python: $venv/bin/python"
