"""Freed memory reused (`scancci.speed.reuse_freed_memory`, the opt-in training setting
`trainer.reuse_freed_memory`) against glibc's defaults, on this CPU.

glibc maps fresh pages for every block over 32 MB, and the setting lasts for the process, so
each side runs in its own child process, the two alternating. Each child times three training
steps (the original's loop and scancci_resnet50 channels-last at batch 16, 224 px; and
scancci_mobilenetv2 channels-last at batch 32, 224 px), keeps each one's fastest of `--repeats`
rounds, counts the page faults of one more step of each and reports its peak resident memory.
Prints each child's figures, then the median over children of each side and the ratio.

Run: .venv/bin/python benchmarks/bench_heap.py [--children N] [--repeats N]  (about 8 minutes)
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from scancci import create_model, scancci_loss
from scancci.speed import reuse_freed_memory

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_model import resnet50_models, sgd_step  # noqa: E402
from timing import cpu_flags, fastest_seconds  # noqa: E402

CL = torch.channels_last
# the original's training step, scancci_resnet50's and scancci_mobilenetv2's (channels-last)
ROWS = ("original", "scancci_resnet50", "mobilenetv2 b32")
BATCHES = (16, 16, 32)


def child(reuse: bool, repeats: int) -> dict[str, float]:
    """Images per second and page faults (thousands) of the three training steps in this
    process, freed memory reused or not, and its peak resident memory."""
    if reuse and not reuse_freed_memory():
        raise SystemExit("reuse_freed_memory is not available here (not glibc)")
    torch.manual_seed(0)
    original, ours = resnet50_models()
    ours_cl = copy.deepcopy(ours).to(memory_format=CL).train()
    small = create_model("scancci_mobilenetv2", num_classes=7, input_size=224)
    small = small.to(memory_format=CL).train()
    original.train()
    x = torch.randn(16, 3, 224, 224, generator=torch.Generator().manual_seed(16))
    x_cl, y = x.contiguous(memory_format=CL), torch.arange(16) % 7
    x32 = torch.randn(32, 3, 224, 224).contiguous(memory_format=CL)
    y32 = torch.arange(32) % 7
    fns = {ROWS[0]: sgd_step(original, lambda m: m.loss(x, y), False),
           ROWS[1]: sgd_step(ours_cl, lambda m: scancci_loss(m(x_cl), y), False),
           ROWS[2]: sgd_step(small, lambda m: scancci_loss(m(x32), y32), False)}
    seconds = fastest_seconds(fns, repeats)
    rates = {name: batch / seconds[name] for name, batch in zip(ROWS, BATCHES, strict=True)}
    faults = {f"{name} faults": page_faults(fn) for name, fn in fns.items()}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KB -> GB
    return rates | faults | {"peak GB": peak}


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
    rates: dict[str, list[dict[str, float]]] = {"default": [], "reuse": []}
    print("training steps: img/s, then thousands of page faults per step, then the child's "
          "peak resident memory")
    columns = [*ROWS, *(f"{name} faults" for name in ROWS), "peak GB"]
    print(f"{'process':<16}" + "".join(f"{name:>17}" for name in ROWS) + "  "
          + "".join(f"{'faults':>8}" for _ in ROWS) + f"{'peak GB':>9}")
    for k in range(args.children):
        for side in ("default", "reuse"):
            out = subprocess.run([sys.executable, __file__, "--child", side, "--repeats",
                                  str(args.repeats)], check=True, capture_output=True,
                                 text=True).stdout
            rates[side].append(json.loads(out.splitlines()[-1]))
            print(f"{side + ' ' + str(k + 1):<16}" + row(rates[side][-1], columns), flush=True)
    medians = {side: {name: statistics.median(r[name] for r in runs) for name in columns}
               for side, runs in rates.items()}
    for side in ("default", "reuse"):
        print(f"{'median ' + side:<16}" + row(medians[side], columns))
    print(f"{'reuse / default':<16}"
          + "".join(f"{medians['reuse'][n] / medians['default'][n]:16.2f}x" for n in columns[:3])
          + " " * 26 + f"{medians['reuse']['peak GB'] / medians['default']['peak GB']:8.2f}x")
    for side in ("default", "reuse"):
        print(f"scancci step / original step, {side}: "
              f"{medians[side][ROWS[1]] / medians[side][ROWS[0]]:.2f}x")


def row(values: dict[str, float], columns: list[str]) -> str:
    """One printed line: the img/s columns, the page-fault columns, the peak memory."""
    rates = "".join(f"{values[name]:17.2f}" for name in columns[:3])
    faults = "".join(f"{values[name]:8.1f}" for name in columns[3:6])
    return f"{rates}  {faults}{values['peak GB']:9.2f}"


if __name__ == "__main__":
    main()
