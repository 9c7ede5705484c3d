"""Build the network a TrainConfig asks for: fresh, or fine-tuned from a checkpoint.

Fine-tuning starts from anything `load_model` reads (a scancci model or run folder, or an
original SCAN-CCI `.pth`). A checkpoint whose classes differ from the recipe's is an error
unless `model.reset_classifier` (or `linear_probe`) asks for a new classifier: never a silent
reset. `linear_probe` trains a new classifier on the frozen network.
"""

from __future__ import annotations

import logging
from typing import Any

from scancci.data import class_names
from scancci.errors import CheckpointError, InvalidInputError
from scancci.models import create_model, load_network
from scancci.models.base import ExpressionModel
from scancci.models.registry import MODELS, get_entry
from scancci.train.config import TrainConfig

log = logging.getLogger(__name__)


def target_class_names(config: TrainConfig) -> tuple[str, ...]:
    """The class names the trained model will predict."""
    m = config.model
    if not m.class_names and m.num_classes not in (7, 8):
        raise InvalidInputError(f"num_classes {m.num_classes} needs your class names: pass "
                                "--classes NAME,NAME,... (your folders' or labels' names; on the paper's datasets "
                                "a subset of neutral,happy,sad,surprise,fear,disgust,anger,contempt)")
    names = tuple(m.class_names) if m.class_names else class_names(m.num_classes)
    if len(names) != m.num_classes:
        raise InvalidInputError(f"model.class_names has {len(names)} names but num_classes is "
                                f"{m.num_classes}")
    return names


def model_options(config: TrainConfig) -> tuple[dict[str, Any], list[str]]:
    """The recipe's model options this architecture takes, and those it drops: options that
    only other architectures have (a baseline running a SCAN-CCI recipe as it is drops
    `local_scan`). An option no architecture has stays, so create_model names the typo."""
    m = config.model
    own = get_entry(m.name).options
    others = {key for entry in MODELS.values() for key in entry.options}
    dropped = sorted(k for k in m.options if k not in own and k in others)
    return {k: v for k, v in m.options.items() if k not in dropped}, dropped


def model_for_training(config: TrainConfig) -> ExpressionModel:
    """The model to train, in train mode."""
    m = config.model
    names = target_class_names(config)
    if m.init_from:
        model = _from_checkpoint(config, m.init_from, names)
    else:
        if m.init_required:
            raise InvalidInputError(
                f"recipe {config.name!r} fine-tunes an earlier model (see its YAML): pass "
                "--init-from PATH (a run folder, model.safetensors or an original .pth), or "
                "--set model.init_required=false to start from scratch")
        options, dropped = model_options(config)
        if dropped:
            log.warning("scancci: %s has no option %s (other architectures' only): dropped; "
                        "recipe %s runs otherwise as it is", m.name, ", ".join(dropped),
                        config.name)
        model = create_model(m.name, num_classes=m.num_classes, class_names=list(names),
                             backbone_weights=m.backbone_weights, input_size=m.input_size,
                             **options)
    if m.linear_probe:
        freeze_for_linear_probe(model, names)
    return model.train()


def _from_checkpoint(config: TrainConfig, source: str, names: tuple[str, ...]
                     ) -> ExpressionModel:
    m = config.model
    model = load_network(source, map_location="cpu")
    if model.config.arch != m.name:
        log.warning("fine-tuning a %s checkpoint; the recipe names %s: keeping the checkpoint's "
                    "architecture", model.config.arch, m.name)
    have = tuple(model.config.class_names)
    if have != names and not m.linear_probe:
        if not m.reset_classifier:
            raise CheckpointError(
                f"{source} predicts {list(have)} but this run needs {list(names)}: pass "
                "--reset-classifier to train a new classifier for your labels (the rest of the "
                "network is kept)")
        model.reset_classifier(len(names), list(names))
    return model


def freeze_for_linear_probe(model: ExpressionModel, names: tuple[str, ...]) -> None:
    """Freeze everything, then give the model a new, trainable classifier for `names`.

    The classifier is what `reset_classifier` replaces, so this holds for every architecture
    without naming its layers.
    """
    before = {id(p) for p in model.parameters()}
    model.reset_classifier(len(names), list(names))
    fresh = [p for p in model.parameters() if id(p) not in before]
    if not fresh:
        raise CheckpointError(f"{model.config.arch}: reset_classifier made no new parameters; "
                              "cannot tell the classifier apart for a linear probe")
    for p in model.parameters():
        p.requires_grad_(False)
    for p in fresh:
        p.requires_grad_(True)
