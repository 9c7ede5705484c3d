"""`scancci demo` (`make demo`): generate the synthetic demo set, train SCAN-CCI and a plain
baseline on the CPU, evaluate on clean / occluded / masked faces, write a report."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scancci.train.config import DemoSettings

    d = DemoSettings()
    parser.add_argument("--output", "-o", type=Path, default=d.out, help=f"output folder ({d.out})")
    parser.add_argument("--epochs", type=int, default=d.epochs)
    parser.add_argument("--train-per-class", type=int, default=d.train_per_class)
    parser.add_argument("--test-per-class", type=int, default=d.test_per_class)
    parser.add_argument("--input-size", type=int, default=d.input_size)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from scancci.train.config import DemoSettings
    from scancci.train.demo import run_demo

    result = run_demo(DemoSettings(out=args.output, train_per_class=args.train_per_class,
                                   test_per_class=args.test_per_class, epochs=args.epochs,
                                   input_size=args.input_size, seed=args.seed,
                                   progress=not args.quiet))
    print(f"\nSYNTHETIC demo finished in {result.seconds / 60:.1f} min")
    for label, run in result.runs.items():
        accs = ", ".join(f"{name} {100 * m.accuracy:.1f}%" for name, m in run.results.items())
        print(f"  {label}: {accs}")
    print(f"report: {result.report.resolve()}")
    return 0
