"""`scancci train`: train a model from a recipe (configs/) or a YAML config file."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scancci.train.options import add_training_arguments

    add_training_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from scancci.train import fit
    from scancci.train.options import config_from_args

    result = fit(config_from_args(args))
    if result.primary:
        print(result.summary())
    return 0
