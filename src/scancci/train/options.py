"""Command-line options shared by `scancci train` and `scancci reproduce`, mapped to a config.

Every flag is a shortcut for a config key (`--epochs 3` is `--set trainer.epochs=3`), so the
YAML file, the flags and `--set` all describe the same TrainConfig.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scancci.errors import InvalidInputError
from scancci.train.config import CONFIG_FILE, TrainConfig
from scancci.train.recipes import load_recipe

# flag dest -> config key
FLAG_KEYS = {
    "epochs": "trainer.epochs", "batch_size": "data.batch_size", "devices": "trainer.devices",
    "accelerator": "trainer.accelerator", "strategy": "trainer.strategy",
    "num_nodes": "trainer.num_nodes", "precision": "trainer.precision",
    "accumulate": "trainer.accumulate_grad_batches", "seed": "trainer.seed",
    "workers": "data.num_workers", "init_from": "model.init_from",
    "backbone_weights": "model.backbone_weights", "model": "model.name",
    "input_size": "model.input_size", "protocol": "protocol",
    "lr_scaling": "optim.lr_scaling",
}


def add_training_arguments(parser: argparse.ArgumentParser, *, recipe_flag: bool = True) -> None:
    """The flags of `scancci train` (reproduce takes the recipe as a positional argument)."""
    if recipe_flag:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--recipe", help="packaged recipe: rafdb, ferplus, affectnet8, "
                           "affectnet7, affectnet_rafdb, sfew, ckplus, oulu, demo")
        which.add_argument("--config", type=Path, help="your own YAML config (may say base: "
                           "RECIPE); neither with --resume: the run folder's config.yaml")
    parser.add_argument("--data", action="append", default=[], metavar="[NAME=]PATH",
                        help="dataset folder; NAME=PATH for recipes with several sources "
                             "(e.g. --data affectnet=/d/affectnet --data rafdb=/d/rafdb, "
                             "--data masked=/d/rafdb-masked)")
    parser.add_argument("--output", "-o", type=Path, help="run folder (default runs/<recipe>)")
    if recipe_flag:
        parser.add_argument("--seeds", help="comma-separated seeds (0,1,2): the recipe once per "
                            "seed under OUTPUT/seed_<k>/, then mean ± std in OUTPUT/report.md")
    state = parser.add_mutually_exclusive_group()
    state.add_argument("--resume", action="store_true",
                       help="continue the run in --output from its last checkpoint, with the "
                       "config.yaml it stored (flags may change epochs, devices, workers)")
    state.add_argument("--overwrite", action="store_true",
                       help="replace what the run folder holds")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int, help="images per step PER PROCESS: with DDP "
                        "the global batch is this x processes x --accumulate")
    parser.add_argument("--model", help="architecture (see `scancci models`)")
    parser.add_argument("--input-size", type=int)
    parser.add_argument("--backbone-weights", help='"imagenet" or a local weights file')
    parser.add_argument("--accelerator", help="cpu, gpu or auto")
    parser.add_argument("--devices", help="number of devices (or auto)")
    parser.add_argument("--num-nodes", type=int)
    parser.add_argument("--strategy", help="auto, ddp (several GPUs or CPU processes), ...")
    parser.add_argument("--precision", help="auto (default: bf16-mixed where the GPU/CPU "
                        "runs bf16 natively, else 32-true), 32-true, bf16-mixed or 16-mixed")
    parser.add_argument("--accumulate", type=int, help="gradient accumulation steps")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--sync-batchnorm", action="store_true",
                        help="DDP: BatchNorm statistics over every process's batch")
    parser.add_argument("--lr-scaling", help="DDP learning-rate rule: none (default: the "
                        "recipe's lrs as they are), linear or sqrt (x global batch / "
                        "optim.reference_batch)")
    parser.add_argument("--mlflow", nargs="?", const="", metavar="URI",
                        help="also log to MLflow (scancci[mlflow]): a local SQLite store in the "
                        "run folder, or the tracking URI given")
    parser.add_argument("--deterministic", action="store_true",
                        help="deterministic algorithms (bit-exact reruns, slower)")
    parser.add_argument("--workers", type=int, help="data loader worker processes")
    parser.add_argument("--init-from", help="fine-tune from a scancci model / run folder or an "
                        "original SCAN-CCI .pth checkpoint")
    parser.add_argument("--reset-classifier", action="store_true",
                        help="new classifier when --init-from predicts other classes")
    parser.add_argument("--linear-probe", action="store_true",
                        help="train only a new classifier on the frozen network")
    parser.add_argument("--classes", help="comma-separated class names of your label set: "
                        "any names for your own folder/CSV data (no_pain,mild_pain,...), a "
                        "subset of the canonical ones for the paper's datasets "
                        "(neutral,happy,sad,...)")
    parser.add_argument("--protocol", help="honest (default: select and calibrate on a "
                        "validation carve) or original (the authors' protocol exactly, for "
                        "recipes with an original script; see docs/training.md)")
    parser.add_argument("--tta", action="store_true", help="flip test-time augmentation")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        dest="overrides", help="any config key, e.g. optim.head_lr=0.001")


def _stored_config(args: argparse.Namespace) -> Path:
    """The config.yaml of the run `--resume --output RUN` continues."""
    if not args.resume:
        raise InvalidInputError("say what to train: --recipe NAME or --config FILE (or "
                                "--resume --output RUN to continue a run)")
    if args.output is None:
        raise InvalidInputError("--resume without --recipe/--config needs --output RUN: the run "
                                "folder whose config.yaml it continues")
    stored = args.output / CONFIG_FILE
    if not stored.is_file():
        raise InvalidInputError(f"--resume: {stored} does not exist; pass the run folder with "
                                "--output (or the recipe with --recipe)")
    return stored


def parse_seeds(text: str | None) -> list[int] | None:
    """`--seeds 0,1,2` -> [0, 1, 2]; None when not given."""
    if text is None:
        return None
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise InvalidInputError(f"--seeds takes comma-separated integers, e.g. 0,1,2; got "
                                f"{text!r}") from None
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise InvalidInputError(f"--seeds needs at least two distinct seeds, e.g. 0,1,2; got "
                                f"{text!r}")
    return seeds


def _data_overrides(items: list[str]) -> list[str]:
    out = []
    for item in items:
        name, sep, path = item.partition("=")
        if sep and name and "/" not in name:
            out.append(f"data.roots.{name}={path}")
        else:
            out.append(f"data.root={item}")
    return out


def config_from_args(args: argparse.Namespace, recipe: str | Path | None = None) -> TrainConfig:
    """The TrainConfig the command line describes (recipe, then flags, then --set); with
    `--resume` and no recipe, the run folder's own config.yaml."""
    source = recipe or getattr(args, "recipe", None) or args.config
    if source is None:
        source = _stored_config(args)
    overrides = _data_overrides(args.data)
    for dest, key in FLAG_KEYS.items():
        value = getattr(args, dest, None)
        if value is not None:
            overrides.append(f"{key}={value}")
    if getattr(args, "mlflow", None) is not None:
        overrides.append("tracking.mlflow=true")
        if args.mlflow:
            overrides.append(f"tracking.mlflow_uri={args.mlflow}")
    for flag, key in (("deterministic", "trainer.deterministic"),
                      ("sync_batchnorm", "trainer.sync_batchnorm"),
                      ("reset_classifier", "model.reset_classifier"),
                      ("linear_probe", "model.linear_probe"), ("tta", "evaluation.tta_flip"),
                      ("resume", "resume"), ("overwrite", "overwrite")):
        if getattr(args, flag, False):
            overrides.append(f"{key}=true")
    if args.quiet:
        overrides.append("trainer.progress=false")
    if args.output is not None:
        overrides.append(f"run_dir={args.output}")
    if args.classes:
        names = [c.strip() for c in args.classes.split(",") if c.strip()]
        if len(names) < 2:
            raise InvalidInputError(f"--classes needs at least 2 names, got {args.classes!r}")
        overrides += [f"model.class_names=[{', '.join(names)}]",
                      f"model.num_classes={len(names)}"]
    return load_recipe(source, overrides=[*overrides, *args.overrides])
