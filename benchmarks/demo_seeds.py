"""The demo over several seeds: SCAN-CCI against the plain MobileNetV2, mean +- std.

One demo run says nothing about which model is better: the figures move by several points
between seeds and between CPUs. This study runs `scancci demo` (same data sizes, epochs and
recipes) once per seed, each seed drawing its own synthetic faces and initialisation, and
prints per-seed accuracies and mean +- sample std on the clean, occluded and masked test
faces. SYNTHETIC data: the figures say nothing about real faces.

    .venv/bin/python benchmarks/demo_seeds.py                    # 3 seeds x ~8 min on 2 cores
    .venv/bin/python benchmarks/demo_seeds.py --seeds 0 1 2 3 4  # more seeds
    .venv/bin/python benchmarks/demo_seeds.py --epochs 3 --train-per-class 60 --input-size 64
                                                                 # a quick, REDUCED study
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from scancci.evaluate.metrics import mean_std
from scancci.train.demo import SETS, DemoSettings, run_demo


def _cpu() -> str:
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores, torch {torch.__version__}"


def main() -> None:
    d = DemoSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=d.epochs)
    parser.add_argument("--train-per-class", type=int, default=d.train_per_class)
    parser.add_argument("--test-per-class", type=int, default=d.test_per_class)
    parser.add_argument("--input-size", type=int, default=d.input_size)
    parser.add_argument("--output", "-o", type=Path, default=Path("demo-seeds-output"),
                        help="folder of the per-seed demo runs")
    args = parser.parse_args()
    if len(args.seeds) < 2:
        parser.error("give at least 2 seeds (--seeds 0 1 2): a spread needs several runs")
    reduced = (args.epochs, args.train_per_class, args.test_per_class, args.input_size) != (
        d.epochs, d.train_per_class, d.test_per_class, d.input_size)
    start = time.perf_counter()
    accuracy: dict[str, dict[str, list[float]]] = {}
    for seed in args.seeds:
        result = run_demo(DemoSettings(out=args.output / f"seed_{seed}", seed=seed,
                                       epochs=args.epochs, train_per_class=args.train_per_class,
                                       test_per_class=args.test_per_class,
                                       input_size=args.input_size, progress=False))
        for label, run in result.runs.items():
            row = accuracy.setdefault(label, {name: [] for name in SETS})
            for name in SETS:
                row[name].append(100 * run.results[name].accuracy)
        print(f"seed {seed}: " + "; ".join(
            f"{label} " + " / ".join(f"{accuracy[label][n][-1]:.1f}" for n in SETS)
            for label in accuracy), flush=True)
    minutes = (time.perf_counter() - start) / 60
    print(f"\n{'REDUCED study (not the demo settings): ' if reduced else ''}"
          f"{len(args.seeds)} seeds {args.seeds}, {args.train_per_class} train / "
          f"{args.test_per_class} test faces per class, {args.input_size} px, {args.epochs} "
          f"epochs; {minutes:.1f} min on {_cpu()}\n")
    print("| model | " + " | ".join(f"{n} (%)" for n in SETS) + " |")
    print("|---|" + "---|" * len(SETS))
    for label, row in accuracy.items():
        cells = [f"{m:.1f} ± {s:.1f}" for m, s in (mean_std(row[n]) for n in SETS)]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("\nmean ± sample std over seeds; SYNTHETIC faces: nothing here is about real faces.")


if __name__ == "__main__":
    main()
