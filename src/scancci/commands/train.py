"""`scancci train`: train a model from a recipe (configs/) or a YAML config file."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scancci.train.options import add_training_arguments

    add_training_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from scancci.train.options import config_from_args, parse_seeds

    seeds = parse_seeds(args.seeds)
    config = config_from_args(args)  # a wrong recipe, flag or value stops here, before PyTorch
    from scancci.train.fitting import fit, fit_seeds

    if seeds is not None:
        results = fit_seeds(config, seeds)
        if results and results[0].primary:
            print(f"{len(results)} seeds; mean ± std: {results[0].run_dir.parent / 'report.md'}")
        return 0
    result = fit(config)
    if result.primary:
        print(result.summary())
    return 0
