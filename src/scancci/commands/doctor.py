"""`scancci doctor`: what is installed, what is missing, and the command that adds it."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--missing", action="store_true", help="show only what is missing")


def run(args: argparse.Namespace) -> int:
    from scancci.doctor import format_report, run_checks  # PyTorch: imported when it runs

    checks = run_checks()
    shown = [c for c in checks if not c.ok] if args.missing else checks
    print(format_report(shown))
    return 0
