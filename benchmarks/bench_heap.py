"""Freed memory reused (`scancci.heap`, on in CPU training and evaluation) against glibc's
defaults, on this CPU.

glibc maps fresh pages for every block over 32 MB, and the setting lasts for the process, so
each side runs in its own child process, the two alternating: each child times the training
step at batch 16, 224 px (the original's loop and scancci_resnet50 channels-last, as `scancci
train` runs it) and scancci_resnet50's fast fp32 path at batch 64 (as `scancci evaluate` runs
it), and keeps each one's fastest of `--repeats` rounds. Prints each child's figures, then the
median over children of each side and the ratio.

Run: .venv/bin/python benchmarks/bench_heap.py [--children N] [--repeats N]  (about 8 minutes)
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from scancci import scancci_loss
from scancci.heap import reuse_freed_memory
from scancci.models import optimize_for_inference

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_model import resnet50_models, sgd_step  # noqa: E402
from timing import cpu_flags, fastest_seconds  # noqa: E402

CL = torch.channels_last
TRAIN, EVAL = 16, 64  # batch sizes
# the original's training step, scancci's channels-last one, scancci's fast fp32 forward
ROWS = ("original train", "scancci train", "scancci eval")


def child(reuse: bool, repeats: int) -> dict[str, float]:
    """Images per second of the three rows in this process, freed memory reused or not."""
    if reuse and not reuse_freed_memory():
        raise SystemExit("scancci.heap is not available here (not glibc, or malloc settings "
                         "in the environment)")
    torch.manual_seed(0)
    original, ours = resnet50_models()
    fast = optimize_for_inference(ours)
    ours_cl = copy.deepcopy(ours).to(memory_format=CL).train()
    original.train()
    x = torch.randn(TRAIN, 3, 224, 224, generator=torch.Generator().manual_seed(16))
    x_cl, y = x.contiguous(memory_format=CL), torch.arange(TRAIN) % 7
    batch = torch.randn(EVAL, 3, 224, 224)

    def infer() -> None:
        with torch.inference_mode():
            fast(batch)

    fns = {ROWS[0]: sgd_step(original, lambda m: m.loss(x, y), False),
           ROWS[1]: sgd_step(ours_cl, lambda m: scancci_loss(m(x_cl), y), False),
           ROWS[2]: infer}
    seconds = fastest_seconds(fns, repeats)
    rates = {name: (EVAL if name == ROWS[2] else TRAIN) / s for name, s in seconds.items()}
    return rates | {f"{name} faults": page_faults(fn) for name, fn in fns.items()}


def page_faults(fn: Callable[[], object]) -> float:
    """Minor page faults (fresh 4 KB pages) of one call of `fn`, in thousands."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=2, help="child processes per side")
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds per child")
    parser.add_argument("--child", choices=("default", "reuse"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child == "reuse", args.repeats)))
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; CPU: {cpu_flags()}")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MALLOC_") and k != "SCANCCI_REUSE_MEMORY"}
    rates: dict[str, list[dict[str, float]]] = {"default": [], "reuse": []}
    print("img/s (training at batch 16, eval at 64), then thousands of page faults per call")
    columns = [*ROWS, *(f"{name} faults" for name in ROWS)]
    print(f"{'process':<16}" + "".join(f"{name:>16}" for name in ROWS) + " " * 10
          + "".join(f"{'faults':>10}" for _ in ROWS))
    for k in range(args.children):
        for side in ("default", "reuse"):
            out = subprocess.run([sys.executable, __file__, "--child", side, "--repeats",
                                  str(args.repeats)], env=env, check=True, capture_output=True,
                                 text=True).stdout
            rates[side].append(json.loads(out.splitlines()[-1]))
            print(f"{side + ' ' + str(k + 1):<16}" + row(rates[side][-1], columns), flush=True)
    medians = {side: {name: statistics.median(r[name] for r in runs) for name in columns}
               for side, runs in rates.items()}
    for side in ("default", "reuse"):
        print(f"{'median ' + side:<16}" + row(medians[side], columns))
    print(f"{'reuse / default':<16}"
          + "".join(f"{medians['reuse'][n] / medians['default'][n]:15.2f}x" for n in ROWS))
    for side in ("default", "reuse"):
        print(f"scancci step / original step, {side}: "
              f"{medians[side][ROWS[1]] / medians[side][ROWS[0]]:.2f}x")


def row(values: dict[str, float], columns: list[str]) -> str:
    """One printed line: the img/s columns, then the page-fault columns."""
    rates = "".join(f"{values[name]:16.2f}" for name in columns[:len(ROWS)])
    return rates + " " * 10 + "".join(f"{values[name]:10.1f}" for name in columns[len(ROWS):])


if __name__ == "__main__":
    main()
