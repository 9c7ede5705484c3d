"""A 2-process CPU DDP run (gloo) through `scancci train`, as a user would start it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch


def test_two_process_cpu_ddp_trains_and_writes_the_run(tiny_faces, tmp_path) -> None:
    run_dir = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "scancci", "train", "--recipe", "demo",
        "--data", str(tiny_faces["clean"]), "--output", str(run_dir),
        "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp",
        "--epochs", "1", "--batch-size", "8", "--input-size", "64", "--quiet",
        "--set", "data.subsets=[]", "--set", "evaluation.calibrate=false",
        "--set", "data.val_fraction=0.2",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "MEMBER: 1/2" in output and "MEMBER: 2/2" in output  # both ranks joined
    # each process took half of the 56 training faces: 28 per rank, 3 full batches of 8
    steps = torch.load(run_dir / "checkpoints/last.ckpt", weights_only=True)["global_step"]
    assert steps == 28 // 8
    assert (run_dir / "model.safetensors").is_file()
    assert (run_dir / "eval/results.json").is_file()
    assert "run folder:" in done.stdout and done.stdout.count("run folder:") == 1
    assert Path(run_dir / "history.csv").read_text().count("\n") == 2  # header + 1 epoch
