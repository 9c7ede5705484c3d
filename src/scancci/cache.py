"""Files that scancci derives once and keeps: ONNX conversions of the shipped networks (the
default detector and pretrained classifier run on onnxruntime without importing PyTorch).

Each file lives in `cache_dir()` ($SCANCCI_CACHE, else $XDG_CACHE_HOME/scancci/models, else
~/.cache/scancci/models) under a name that encodes what it was built from, with a
`.sha256` file written beside it after the build; a file whose bytes no longer match is rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from scancci.errors import ScanCCIError, error_detail


def cache_dir() -> Path:
    """Where derived model files are kept (created on first use)."""
    override = os.environ.get("SCANCCI_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "scancci" / "models"


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks (cached files and the shipped weights alike)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cached_file(name: str, build: Callable[[Path], None], *, what: str) -> Path:
    """The cached file `name`, built by `build(path)` when missing or altered since it was
    written (one line on stderr says so: the build may take seconds)."""
    folder = cache_dir()
    path, stamp = folder / name, folder / f"{name}.sha256"
    if path.is_file() and stamp.is_file() and stamp.read_text().strip() == file_sha256(path):
        return path
    print(f"scancci: converting {what} for onnxruntime, once (kept in {folder})",
          file=sys.stderr)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".build-") as tmp:
            built = Path(tmp) / name
            build(built)
            digest = file_sha256(built)
            os.replace(built, path)  # atomic: a concurrent reader sees the old or the new file
        stamp.write_text(digest + "\n")
    except OSError as err:
        raise ScanCCIError(f"cannot write {what} to the cache {folder} ({error_detail(err)}); "
                           "set SCANCCI_CACHE to a writable folder") from err
    return path
