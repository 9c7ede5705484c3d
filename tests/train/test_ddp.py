"""A 2-process CPU DDP run (gloo) through `scancci train`, as a user would start it: the same
metrics format as one process, the global batch and the lr scaling recorded and stated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from scancci.train import fit


def _header(run_dir: Path) -> list[str]:
    return (run_dir / "history.csv").read_text().splitlines()[0].split(",")


@pytest.mark.slow
def test_two_process_cpu_ddp_trains_and_writes_the_run(tiny_faces, tiny_config, tmp_path) -> None:
    run_dir = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "scancci", "train", "--recipe", "demo",
        "--data", str(tiny_faces["clean"]), "--output", str(run_dir),
        "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp",
        "--epochs", "1", "--batch-size", "8", "--input-size", "64", "--quiet",
        "--lr-scaling", "linear", "--set", "data.subsets=[]",
        "--set", "evaluation.calibrate=false", "--set", "data.val_fraction=0.2",
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
    # the global batch, per-process batch and lr rule: recorded, printed and in the report
    stated = "batch 8 per process x 2 process(es) x 1 accumulation = 16 images per step"
    assert stated in done.stderr and stated in (run_dir / "report.md").read_text()
    provenance = json.loads((run_dir / "provenance.json").read_text())
    assert provenance["processes"] == 2 and provenance["batch_size"] == 8
    assert provenance["lr_scaling"] == "linear"
    assert provenance["optim"]["head_lr"] == pytest.approx(5e-2 * 16 / 64)  # demo head lr 5e-2
    # the same metrics format as a single-process run
    single = fit(tiny_config("trainer.epochs=1", "data.subsets=[]", "evaluation.calibrate=false",
                             run="single"))
    assert sorted(_header(run_dir)) == sorted(_header(single.run_dir))
    metrics = json.loads((run_dir / "eval/results.json").read_text())["sets"]["clean"]
    assert set(metrics) == set(json.loads((single.run_dir / "eval/results.json").read_text())
                               ["sets"]["clean"])
