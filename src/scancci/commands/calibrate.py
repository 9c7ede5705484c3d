"""`scancci calibrate`: refit a model's temperature on its run's validation split and store it."""

from __future__ import annotations

import argparse
from pathlib import Path

from scancci.commands.arguments import model_source


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=model_source, required=True, help="saved model or run folder")
    parser.add_argument("--output", "-o", required=True, type=Path,
                        help="folder for the calibrated model and the reliability diagram")
    parser.add_argument("--data", type=Path, help="dataset folder (default: the one the model's "
                        "run read, from its provenance)")
    parser.add_argument("--dataset", help="calibrate on a held-out split of this dataset "
                        "instead of the run's own validation (with --split)")
    parser.add_argument("--split", help="the held-out split (never one the model trained on); "
                        "for a model without provenance: the split to carve (default train)")
    parser.add_argument("--val-fraction", type=float, help="models without provenance only: "
                        "the stratified fraction of --split their training carved (default "
                        "0.1; 0 = the whole split)")
    parser.add_argument("--seed", type=int, help="models without provenance only: the seed of "
                        "that carve (default 0)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from scancci.train.calibrate import calibrate_run

    result = calibrate_run(args.model, out=args.output, root=args.data, dataset=args.dataset,
                           split=args.split, val_fraction=args.val_fraction, seed=args.seed,
                           device=args.device, progress=not args.quiet)
    print(result)
    return 0
