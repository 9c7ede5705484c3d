"""`scancci reproduce RECIPE --data PATH`: a paper recipe, its evaluation and subsets, and
reproduce.md: the results, where to read the paper's figures (or yours, from a file), every
deviation from the recipe and what the protocol means for the comparison."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scancci.train.options import add_training_arguments

    parser.add_argument("recipe", help="recipe name: rafdb, ferplus, affectnet8, affectnet7, "
                        "affectnet_rafdb, sfew, ckplus, oulu (or a YAML file)")
    add_training_arguments(parser, recipe_flag=False)
    parser.add_argument("--paper-results", metavar="FILE",
                        help="YAML of the paper's figures to print beside yours (`set: "
                        "accuracy` lines, e.g. `test: 87.5`); without it the column says "
                        "where in the paper to read them")


def run(args: argparse.Namespace) -> int:
    from scancci.train.options import config_from_args

    config = config_from_args(args, recipe=args.recipe)  # mistakes stop here, before PyTorch
    from scancci.train.reproduce import reproduce

    result, report = reproduce(config, paper_results=args.paper_results)
    if result.primary:
        print(result.summary())
        print(f"report: {report}")
    return 0
