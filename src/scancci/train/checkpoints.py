"""Checkpoints written atomically on the run folder's own filesystem, and read back safely.

Lightning's default writer saves through an fsspec transaction whose temporary file may sit on
another filesystem; the final copy then overwrites the old checkpoint in place, so a full disk
or a kill during that copy leaves a truncated `last.ckpt` and loses the run. Here every
checkpoint goes to a temporary file beside its target, is flushed to disk, then renamed over it
with `os.replace` (atomic within one filesystem): the previous checkpoint stays whole until the
new one is.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import IO, Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

from scancci.errors import CheckpointError, error_detail


def open_for_writing(path: Path) -> IO[bytes]:
    """The binary file a checkpoint is written to (one place, so tests can inject faults)."""
    return path.open("wb")


def write_atomically(path: Path, write: Any) -> None:
    """Call `write(handle)` on a temporary file beside `path`, sync it, then rename it over
    `path`; on any failure the temporary file is removed and `path` is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open_for_writing(tmp) as raw:
            handle = _Recorder(raw)
            try:
                write(handle)
            except Exception as err:  # torch.save reports a failed write as a RuntimeError
                if handle.error is not None:
                    raise handle.error from err
                raise
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a writer that was killed
        stale.unlink(missing_ok=True)


class _Recorder:
    """A file that remembers the OSError its write raised (a full disk), so the caller sees
    that error and not the writer's own complaint about a short write."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self.handle.write(data)
        except OSError as err:
            self.error = err
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)


def _sync_folder(folder: Path) -> None:
    """Persist the rename itself (POSIX: fsync the directory); a no-op where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's torch.save checkpoints, written atomically and loaded as tensors only."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH,
                        storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        write_atomically(Path(path), lambda handle: torch.save(checkpoint, handle))

    def load_checkpoint(self, path: _PATH, map_location: Any | None = None,
                        weights_only: bool | None = None) -> dict[str, Any]:
        return read_checkpoint(Path(path), map_location=map_location or "cpu")


def read_checkpoint(path: Path, map_location: Any = "cpu") -> dict[str, Any]:
    """A checkpoint's contents, tensors and plain data only; a truncated, corrupted or
    object-pickling file is one CheckpointError that says how to go on."""
    fix = "delete it to restart the run, or drop --resume"
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError) as err:
        raise CheckpointError(f"{path} is truncated or corrupted ({error_detail(err)}); {fix}"
                              ) from err
    if broken is not None:
        raise CheckpointError(f"{path} is corrupted (member {broken}); {fix}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # unpickling raises many types; none is the user's bug to debug
        raise CheckpointError(f"{path} cannot be loaded safely ({error_detail(err)}); {fix}"
                              ) from err
