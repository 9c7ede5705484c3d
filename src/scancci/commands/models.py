"""`scancci models [PATH]`: list the architectures, or show a saved model's config."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Optional PATH of a saved model (folder, .safetensors, .json or original .pth)."""
    parser.add_argument("path", nargs="?", type=Path,
                        help="a saved model: show its config and parameter count")
    parser.add_argument("--pattern", default="*", help="filter names, e.g. 'scancci_*'")


def run(args: argparse.Namespace) -> int:
    """Print the table of architectures or one model's config."""
    from scancci.models import MODELS, list_models, load_model

    if args.path is None:
        names = list_models(args.pattern)
        width = max((len(n) for n in names), default=0)
        for name in names:
            print(f"{name:<{width}}  {MODELS[name].description}")
        return 0
    model = load_model(args.path)
    print(json.dumps({**model.config.to_dict(), "parameters": model.num_parameters()}, indent=2))
    return 0
