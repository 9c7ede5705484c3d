"""`scancci evaluate`: accuracy, balanced accuracy, macro-F1, per-class recall, confusion
matrix, for the test split and every robustness subset in one table. A model saved by a
training run names its own test data (its provenance): `--model RUN --data D` is enough."""

from __future__ import annotations

import argparse
from pathlib import Path

from scancci.commands.arguments import model_source


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=model_source, action="append", required=True,
                        help="saved model or run folder; repeat for mean +- std over runs")
    parser.add_argument("--data", type=Path, help="dataset folder (default: the folder the "
                        "model's run was tested on, from its provenance)")
    parser.add_argument("--dataset", help="reader name (rafdb, affectnet, ferplus, sfew, folder, "
                        "...; default: the model's run's test data)")
    parser.add_argument("--split", help="split to evaluate (default: the run's test split, else "
                        "the dataset's evaluation split: test, or val for affectnet and sfew)")
    parser.add_argument("--subsets", default="auto",
                        help="auto (every list found under DATA/subsets/), none, or a comma list "
                             "of occlusion,pose30,pose45")
    parser.add_argument("--masked", type=Path, help="a masked copy of the dataset "
                        "(`scancci mask`), evaluated as the 'masked' row")
    parser.add_argument("--tta", action="store_true", help="flip test-time augmentation")
    parser.add_argument("--output", "-o", type=Path, help="folder for results.json, confusion CSV/PNG")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from scancci.evaluate.session import evaluate_models

    subsets: list[str] | None = {"auto": None, "none": []}.get(args.subsets)
    if subsets is None and args.subsets != "auto":
        subsets = [s.strip() for s in args.subsets.split(",") if s.strip()]
    session = evaluate_models(args.model, args.dataset, args.data, split=args.split,
                              subsets=subsets,
                              masked=args.masked, tta_flip=args.tta, device=args.device,
                              batch_size=args.batch_size, out=args.output,
                              progress=not args.quiet)
    print(session.markdown())
    if args.output:
        print(f"\nwritten to {args.output}")
    return 0
