"""`scancci convert ORIGINAL.pth OUT.safetensors`: import a checkpoint of the original code."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Input .pth of the original SCAN-CCI code and the output .safetensors path."""
    parser.add_argument("original", type=Path, help="checkpoint written by 1980x/SCAN-CCI-FER")
    parser.add_argument("out", type=Path, help="output weights, e.g. out/model.safetensors "
                                               "(the config goes to out/model.json)")
    parser.add_argument("--class-names", default=None,
                        help="comma-separated names in logit order (default: AffectNet order, "
                             "which the original maps every dataset to)")


def run(args: argparse.Namespace) -> int:
    """Load with the original layout, save as safetensors + JSON, print what was found."""
    from scancci.models import load_original_checkpoint, save_model

    names = args.class_names.split(",") if args.class_names else None
    model = load_original_checkpoint(args.original, class_names=names)
    path = save_model(model, args.out)
    c = model.config
    print(f"{args.original} -> {path} (+ {path.with_suffix('.json').name})")
    print(f"  {c.arch}, {c.options['local_scan']} local SCAN, patch layout "
          f"{c.options['patch_layout']}, {c.num_classes} classes: {', '.join(c.class_names)}")
    print(f"  {model.num_parameters():,} parameters; input {c.input_size} px, "
          f"mean {c.mean}, std {c.std}")
    return 0
