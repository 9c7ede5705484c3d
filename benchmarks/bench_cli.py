"""How fast the `scancci` command answers before any work: each sub-command's --help, and an
argument mistake, as whole processes (wall time and peak memory, median of --repeats runs).

The baseline in the same run is a bare `python -c pass`: what any Python command costs here.
Target (issue 23): under 1 s and 200 MB each, neither PyTorch nor onnxruntime imported.

    .venv/bin/python benchmarks/bench_cli.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from timing import cpu_flags  # noqa: E402

from scancci.cli import COMMANDS  # noqa: E402

MISTAKES = {"export --model nope.pth --output x.onnx": ["export", "--model", "nope.pth",
                                                       "--output", "x.onnx"],
            "train --recipe nope": ["train", "--recipe", "nope"],
            "predict (no source)": ["predict"]}


def run_once(argv: list[str]) -> tuple[float, float]:
    """(seconds, peak resident MB) of one child process, from its own rusage (os.wait4)."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0  # reaped here; keeps Popen from waiting again
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def measure(argv: list[str], repeats: int) -> tuple[float, float]:
    runs = [run_once(argv) for _ in range(repeats)]
    return statistics.median(s for s, _ in runs), max(m for _, m in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"# {cpu_flags()}")
    scancci = [sys.executable, "-m", "scancci"]
    rows = {"python -c pass (baseline)": [sys.executable, "-c", "pass"]}
    rows.update({f"{name} --help": [*scancci, name, "--help"] for name in COMMANDS})
    rows.update({label: [*scancci, *argv] for label, argv in MISTAKES.items()})
    print(f"{'command':<42} {'seconds':>8} {'peak MB':>8}")
    for label, argv in rows.items():
        seconds, peak = measure(argv, args.repeats)
        print(f"{label:<42} {seconds:8.2f} {peak:8.0f}")


if __name__ == "__main__":
    main()
