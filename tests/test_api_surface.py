"""The public surface: every command's help and argument errors load neither PyTorch nor
onnxruntime (the CLI answers at once), and every name a lazy package lists resolves to what
its TYPE_CHECKING block says (what IDEs and type checkers see is what runs)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scancci._lazy import type_checking_imports
from scancci.cli import COMMANDS

LAZY_PACKAGES = ("scancci", "scancci.models", "scancci.data", "scancci.faces", "scancci.train",
                 "scancci.serve")
HEAVY = ("torch", "onnxruntime", "lightning", "fastapi")

# Runs in a fresh interpreter: each command's --help, then an argument error, then reports
# which heavy packages were imported along the way.
PROBE = """
import json, sys
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from scancci.cli import COMMANDS, main
for argv in [[name, "--help"] for name in COMMANDS] + [["export", "--model", "nope.pth",
             "--output", "x.onnx"], ["evaluate", "--model", "/nonexistent"],
             ["train", "--no-such-flag"], ["train", "--recipe", "nope"],
             ["reproduce", "nope", "--data", "x"]]:
    with redirect_stdout(StringIO()), redirect_stderr(StringIO()):
        try:
            main(argv)
        except SystemExit:
            pass
print(json.dumps(sorted(m for m in %r if m in sys.modules)))
"""


@pytest.mark.slow
def test_help_and_argument_errors_import_no_heavy_package() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE % (HEAVY,)], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert json.loads(out.splitlines()[-1]) == [], f"help of {list(COMMANDS)} imported {out}"


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_names_resolve_to_their_declared_modules(package: str) -> None:
    module = importlib.import_module(package)
    declared = type_checking_imports(Path(module.__file__).read_text(encoding="utf-8"))
    assert declared, f"{package} declares no public names"
    for name, (source, original) in declared.items():
        assert name in module.__all__
        assert getattr(module, name) is getattr(importlib.import_module(source), original)
