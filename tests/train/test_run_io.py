"""Training I/O failures end in one line, and the last good checkpoint survives them: a full
disk, a poisoned checkpoint, a write killed midway. Checkpoints are replaced atomically."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from scancci.cli import main
from scancci.errors import CheckpointError
from scancci.train import checkpoints, fit
from scancci.train.checkpoints import AtomicCheckpointIO, read_checkpoint

QUICK = ("evaluation.calibrate=false", "data.subsets=[]")


class _FullDisk:
    """A file whose device fills up after `room` bytes (the write raises ENOSPC midway)."""

    def __init__(self, handle, room: int) -> None:
        self.handle, self.room = handle, room

    def write(self, data) -> int:
        size = len(memoryview(data).cast("B"))
        if size > self.room:
            self.handle.write(bytes(memoryview(data).cast("B")[: self.room]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= size
        return self.handle.write(data)

    def __getattr__(self, name: str):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()


def _errors(stderr: str) -> str:
    """What the CLI itself printed to stderr (Python warnings of other packages left out)."""
    return "\n".join(line for line in stderr.splitlines() if line.startswith("scancci "))


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)["state_dict"]


@pytest.mark.slow  # two training runs
def test_a_full_disk_is_one_line_and_the_run_resumes_bit_exactly(
        tiny_config, tiny_cli, tmp_path, monkeypatch, capsys) -> None:
    whole = fit(tiny_config(*QUICK, run="whole"))  # the uninterrupted 2-epoch run
    run = tmp_path / "full"

    def fills_up_after_epoch_one(path: Path):
        handle = path.open("wb")  # epoch 1's checkpoints fit; epoch 2's do not
        return _FullDisk(handle, 4096) if (path.parent / "last.ckpt").exists() else handle

    monkeypatch.setattr(checkpoints, "open_for_writing", fills_up_after_epoch_one)
    assert main(["train", "--recipe", "demo", *tiny_cli(run, *QUICK), "--quiet"]) == 2
    err = _errors(capsys.readouterr().err)
    assert len(err.splitlines()) == 1 and err.startswith("scancci train: error: writing the run")
    assert "No space left on device" in err and "--resume --output" in err
    last = run / "checkpoints/last.ckpt"
    assert read_checkpoint(last)["epoch"] == 0  # epoch 1's checkpoint, whole
    assert not list(run.glob("checkpoints/.*.tmp"))  # the half-written file is gone
    monkeypatch.undo()
    assert main(["train", "--resume", "--output", str(run), "--quiet"]) == 0
    a, b = _weights(whole.run_dir / "checkpoints/last.ckpt"), _weights(last)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_folder_turned_read_only_is_one_line_and_keeps_the_last_checkpoint(
        tiny_config, tiny_cli, tmp_path, monkeypatch, capsys) -> None:
    run = tmp_path / "read-only"

    def read_only_after_epoch_one(path: Path):
        if (path.parent / "last.ckpt").exists():  # the folder turned read-only meanwhile
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return path.open("wb")

    monkeypatch.setattr(checkpoints, "open_for_writing", read_only_after_epoch_one)
    assert main(["train", "--recipe", "demo", *tiny_cli(run, *QUICK), "--quiet"]) == 2
    err = _errors(capsys.readouterr().err)
    assert len(err.splitlines()) == 1 and "Read-only file system" in err
    assert f"The last good checkpoint {run / 'checkpoints/last.ckpt'} is kept" in err
    assert read_checkpoint(run / "checkpoints/last.ckpt")["epoch"] == 0


def test_a_poisoned_checkpoint_given_to_resume_is_one_clear_error(tiny_config, tiny_cli,
                                                                  tmp_path, capsys) -> None:
    first = fit(tiny_config("trainer.epochs=1", *QUICK))
    last = first.run_dir / "checkpoints/last.ckpt"
    torch.save({"state_dict": {}, "payload": Path("/etc/passwd")}, last)  # not tensors only
    with pytest.raises(CheckpointError, match="cannot be loaded safely.*drop --resume"):
        read_checkpoint(last)
    assert main(["train", "--resume", "--output", str(first.run_dir), "--quiet"]) == 2
    err = _errors(capsys.readouterr().err)
    assert len(err.splitlines()) == 1 and "cannot be loaded safely" in err


CHILD = """
import sys, time
from pathlib import Path
import torch
from scancci.train import checkpoints

class Slow:  # a writer that takes its time, so the parent can kill it midway
    def __init__(self, handle):
        self.handle = handle
    def write(self, data):
        print("writing", flush=True)
        time.sleep(0.05)
        return self.handle.write(data)
    def __getattr__(self, name):
        return getattr(self.handle, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.handle.close()

checkpoints.open_for_writing = lambda path: Slow(path.open("wb"))
big = {"state_dict": {"w": torch.ones(4_000_000)}}
checkpoints.AtomicCheckpointIO().save_checkpoint(big, Path(sys.argv[1]))
"""


@pytest.mark.slow
def test_a_checkpoint_write_killed_midway_leaves_the_previous_file_intact(tmp_path) -> None:
    target = tmp_path / "checkpoints" / "last.ckpt"
    previous = {"state_dict": {"w": torch.arange(10.0)}, "epoch": 3}
    AtomicCheckpointIO().save_checkpoint(previous, target)
    before = target.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(target)], stdout=subprocess.PIPE,
                             text=True)
    assert child.stdout is not None
    for _ in range(3):  # a few chunks written: the new file is half there
        assert child.stdout.readline().strip() == "writing"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=60)
    time.sleep(0.1)
    assert target.read_bytes() == before
    assert torch.equal(read_checkpoint(target)["state_dict"]["w"], torch.arange(10.0))
    partial = list(target.parent.glob(".last.ckpt.*.tmp"))
    assert partial and partial[0].stat().st_size < 16_000_000  # killed while writing it
    AtomicCheckpointIO().save_checkpoint(previous, target)  # the next write clears it
    assert not list(target.parent.glob(".last.ckpt.*.tmp"))
