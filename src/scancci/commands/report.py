"""`scancci report`: collect finished runs into tables, grouped by what they trained."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path,
                        help="run folders (scancci train / reproduce) or evaluate --output folders")
    parser.add_argument("--output", "-o", type=Path, help="also write the Markdown to this file")


def run(args: argparse.Namespace) -> int:
    from scancci.evaluate import read_run, runs_report

    text = runs_report([read_run(path) for path in args.runs])
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        print(f"written to {args.output}")
    return 0
