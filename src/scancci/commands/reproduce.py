"""`scancci reproduce DATASET --data PATH`: a paper recipe, its evaluation and subsets, and a
Markdown report next to the paper's numbers."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scancci.train.options import add_training_arguments

    parser.add_argument("recipe", help="recipe name: rafdb, ferplus, affectnet8, affectnet7, "
                        "affectnet_rafdb, sfew, ckplus, oulu (or a YAML file)")
    add_training_arguments(parser, recipe_flag=False)


def run(args: argparse.Namespace) -> int:
    from scancci.train.options import config_from_args
    from scancci.train.reproduce import reproduce

    result, report = reproduce(config_from_args(args, recipe=args.recipe))
    if result.primary:
        print(result.summary())
        print(f"report: {report}")
    return 0
