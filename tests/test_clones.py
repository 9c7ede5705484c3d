"""Two clones that share the cached base environment each run their own code: the second
clone's `make venv` leaves the first clone's `.venv/bin/scancci` on the first clone's sources."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _base_cache() -> Path:
    stamp = REPO / ".venv" / ".scancci-base"
    if not stamp.is_file():
        pytest.fail("this checkout's .venv was not made by scripts/bootstrap-venv.sh: run make venv")
    return Path(stamp.read_text().strip()).parent


def _copy_checkout(target: Path) -> Path:
    """The files a clone of this checkout would have (tracked and untracked-not-ignored)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file() or source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name, follow_symlinks=False)
    return target


def _bootstrap(clone: Path, cache: Path) -> None:
    subprocess.run(["bash", "scripts/bootstrap-venv.sh"], cwd=clone, check=True,
                   env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()),
                        "SCANCCI_VENV_CACHE": str(cache)}, timeout=300)


def _run(clone: Path, *argv: str) -> str:
    return subprocess.run([str(clone / ".venv/bin" / argv[0]), *argv[1:]], cwd="/",
                          check=True, capture_output=True, text=True, timeout=120).stdout.strip()


@pytest.mark.slow  # clones the repository, child processes
def test_each_clone_runs_its_own_code(tmp_path: Path) -> None:
    cache = _base_cache()
    first = _copy_checkout(tmp_path / "first")
    second = _copy_checkout(tmp_path / "second")
    (second / "src/scancci/version.py").write_text('__version__ = "0.0.0+second"\n')
    _bootstrap(first, cache)
    _bootstrap(second, cache)  # shares the base with the first clone
    assert _run(first, "scancci", "--version") == "scancci " + _version(REPO)
    assert _run(second, "scancci", "--version") == "scancci 0.0.0+second"
    where = _run(first, "python", "-c", "import scancci; print(scancci.__file__)")
    assert Path(where).is_relative_to(first / "src"), where
    assert (first / ".venv/.scancci-base").read_text() == (second / ".venv/.scancci-base").read_text()
    base = Path((first / ".venv/.scancci-base").read_text().strip())
    assert not list(base.glob("lib/python*/site-packages/scancci*")), "scancci in the shared base"


def _version(repo: Path) -> str:
    text = (repo / "src/scancci/version.py").read_text()
    return text.split('"')[1]
