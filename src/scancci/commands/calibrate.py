"""`scancci calibrate`: fit the temperature of a model on a validation split and store it."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="saved model or run folder")
    parser.add_argument("--data", required=True, type=Path, help="dataset folder")
    parser.add_argument("--dataset", default="rafdb", help="reader name (rafdb, ferplus, ...)")
    parser.add_argument("--split", default="train",
                        help="split holding the validation items (default train, carved)")
    parser.add_argument("--val-fraction", type=float, default=0.1,
                        help="carve this stratified fraction of --split (the carve `scancci "
                             "train` used with the same --seed); 0 = use the whole split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", "-o", required=True, type=Path,
                        help="folder for the calibrated model and the reliability diagram")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from scancci.evaluate.session import calibrate_model

    result = calibrate_model(args.model, args.dataset, args.data, out=args.output,
                             split=args.split, val_fraction=args.val_fraction or None,
                             seed=args.seed, device=args.device, progress=not args.quiet)
    print(result)
    return 0
