"""`scancci data summary|check|generate`: look at a dataset in its native layout, or write the demo set."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sub-actions: summary NAME ROOT, check NAME ROOT, generate OUT."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("summary", "counts per class and the problems found in the lists"),
                         ("check", "summary, and open every image to find unreadable files")):
        sub = actions.add_parser(action, help=text, description=text)
        sub.add_argument("name", help="dataset name (see `scancci data list`)")
        sub.add_argument("root", type=Path, help="the dataset folder, in its owners' layout")
        sub.add_argument("--split", default=None,
                         help="split to read (default: every split the dataset has)")
        sub.add_argument("--num-classes", type=int, choices=(7, 8), default=None,
                         help="7- or 8-class view (default: the dataset's own)")
        sub.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                         help="reader option, e.g. label_mode=probability (repeatable)")
        sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    actions.add_parser("list", help="list the dataset names")
    gen = actions.add_parser("generate", help="write the synthetic demo dataset (RAF-DB layout)")
    gen.add_argument("out", type=Path, help="output folder (clean/, occluded/, masked/)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--per-class", type=int, default=300, help="train faces per class")
    gen.add_argument("--test-per-class", type=int, default=100, help="test faces per class")
    gen.add_argument("--image-size", type=int, default=100)


def _options(pairs: list[str]) -> dict[str, object]:
    from scancci.errors import InvalidInputError

    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"--option takes KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def run(args: argparse.Namespace) -> int:
    """Print the summaries (exit 1 from `check` when a problem was found or an expected split
    or label file is missing) or generate."""
    from scancci import data

    if args.action == "list":
        for name in data.list_datasets():
            print(name)
        return 0
    if args.action == "generate":
        paths = data.generate_demo_dataset(
            args.out, seed=args.seed, num_train_per_class=args.per_class,
            num_test_per_class=args.test_per_class, image_size=args.image_size, progress=True)
        for key, path in paths.items():
            print(f"{key}: {path}")
        print("synthetic faces for demonstration and testing; read with "
              f"open_dataset('rafdb', '{paths['clean']}', split='train')")
        return 0
    summaries = data.summarize_dataset(
        args.name, args.root, split=args.split, num_classes=args.num_classes,
        check=args.action == "check", **_options(args.option))
    if args.json:
        print(json.dumps([s.to_dict() for s in summaries], indent=2))
    else:
        print("\n\n".join(str(s) for s in summaries))
    missing = [s for s in summaries if s.missing is not None]
    for s in missing:
        print(f"scancci data {args.action}: {s.name} split {s.split!r} is missing: {s.missing}",
              file=sys.stderr)
    found = any(s.problems for s in summaries) or bool(missing)
    return 1 if args.action == "check" and found else 0
