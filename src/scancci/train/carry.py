"""The original's fine-tuning: carry the parent checkpoint's optimizer state into the new run.

main_sfew.py:214, main_ckplus.py:181 and main_oulucasia.py:176 build their SGD with the
nominal rates, then `optimizer.load_state_dict(checkpoint['optimizer'])`, which replaces every
group's lr, weight decay and momentum with the saved ones (the parent's rates after its
epochs of 0.95 decay) and restores its momentum buffers. Under `protocol: original` a recipe
with `original.carry_optimizer` does the same, from an original `.pth` (its three groups:
base, attention, region) or from a scancci run folder (the SGD state in checkpoints/best.ckpt,
the epoch the parent selected, as the original's model_best).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from scancci.errors import CheckpointError, InvalidInputError
from scancci.models.base import ExpressionModel
from scancci.models.original import _map_attention, _map_region, read_original_checkpoint
from scancci.train.config import TrainConfig

HYPER = ("lr", "momentum", "weight_decay", "dampening", "nesterov")
GROUPS = ("trunk", "attention", "cci")  # scancci's groups, in the original's order
_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


@dataclass
class ParentOptimizer:
    """Per group: the saved hyper-parameters; per parameter name: its momentum buffer."""

    source: Path
    hyper: dict[str, dict[str, object]]
    momentum: dict[str, torch.Tensor]

    def apply(self, optimizer: torch.optim.Optimizer, model: nn.Module) -> None:
        """Overwrite `optimizer`'s group settings and momentum buffers with the parent's."""
        names = {id(p): n for n, p in model.named_parameters()}
        for group in optimizer.param_groups:
            saved = self.hyper.get(group["name"])
            if saved is None:
                raise CheckpointError(f"{self.source}: no saved optimizer group for "
                                      f"{group['name']!r}")
            group.update(saved)
            for param in group["params"]:
                buffer = self.momentum.get(names[id(param)])
                if buffer is not None:
                    optimizer.state[param]["momentum_buffer"] = buffer.to(param).clone()


def parent_optimizer(config: TrainConfig, model: ExpressionModel) -> ParentOptimizer | None:
    """The parent's optimizer state when the recipe's original protocol carries it, else None."""
    if not (config.original_protocol and config.original.carry_optimizer):
        return None
    source = config.model.init_from
    if source is None:
        raise InvalidInputError(f"--protocol original: recipe {config.name!r} fine-tunes its "
                                "parent with the parent's optimizer state: pass --init-from")
    path = Path(source).expanduser()
    if path.is_dir() and (path / "checkpoints" / "best.ckpt").is_file():
        return _from_run(path / "checkpoints" / "best.ckpt", model)
    if path.is_file() and path.suffix in (".pth", ".tar", ".pt"):
        return _from_original(path, model)
    raise InvalidInputError(
        f"--protocol original: {path} holds no optimizer state to carry (the original loads "
        "its parent's, e.g. main_sfew.py:214): pass an original .pth checkpoint or a scancci "
        "run folder with checkpoints/best.ckpt")


def _from_run(checkpoint: Path, model: ExpressionModel) -> ParentOptimizer:
    """A scancci parent: its SGD groups are named and ordered as this model's."""
    data = torch.load(checkpoint, map_location="cpu", weights_only=True)
    saved = data.get("optimizer_states") or [None]
    if not isinstance(saved[0], dict):
        raise CheckpointError(f"{checkpoint} holds no optimizer state")
    state, groups = saved[0]["state"], saved[0]["param_groups"]
    names = {id(p): n for n, p in model.named_parameters()}
    hyper, momentum = {}, {}
    ours = {name: [p for p in params if p.requires_grad]
            for name, params in model.parameter_groups().items()}
    for group in groups:
        params = ours.get(group.get("name"), [])
        if len(params) != len(group["params"]):
            raise CheckpointError(f"{checkpoint}: optimizer group {group.get('name')!r} has "
                                  f"{len(group['params'])} parameters, this model "
                                  f"{len(params)}: not the same architecture")
        hyper[group["name"]] = {k: group[k] for k in HYPER}
        for param, index in zip(params, group["params"], strict=True):
            if index in state and "momentum_buffer" in state[index]:
                momentum[names[id(param)]] = state[index]["momentum_buffer"]
    return ParentOptimizer(checkpoint, hyper, momentum)


def _from_original(path: Path, model: ExpressionModel) -> ParentOptimizer:
    """An original parent: groups base, attention, region, state indexed over their params."""
    data = read_original_checkpoint(path)
    saved = data.get("optimizer")
    if not isinstance(saved, dict) or len(saved.get("param_groups", [])) != 3:
        raise CheckpointError(f"{path}: no optimizer state with the original's three groups")
    state, groups = saved["state"], saved["param_groups"]
    parts = ("base_state_dict", "attention_state_dict", "region_state_dict")
    local = model.config.options.get("local_scan", "shared")
    hyper, momentum = {}, {}
    for ours, part, group in zip(GROUPS, parts, groups, strict=True):
        # parameters() order = state-dict order without buffers; the region branch's
        # `classifiers` are its `region_net` again (one module), counted once
        names = [k for k in data[part] if not k.endswith(_BUFFERS)
                 and not (part == "region_state_dict" and k.startswith("classifiers."))]
        if len(names) != len(group["params"]):
            raise CheckpointError(f"{path}: optimizer group {ours} lists {len(group['params'])} "
                                  f"parameters, {part} has {len(names)}")
        hyper[ours] = {k: group[k] for k in HYPER if k in group}
        buffers = {n: state[i]["momentum_buffer"] for n, i in zip(names, group["params"],
                                                                   strict=True)
                   if i in state and state[i].get("momentum_buffer") is not None}
        if part == "base_state_dict":
            momentum.update({"trunk." + k: v for k, v in buffers.items()
                             if not k.startswith(("layer4.", "fc."))})
        elif part == "attention_state_dict":
            momentum.update(_map_attention(buffers, local) if buffers else {})
        else:
            momentum.update(_map_region(buffers, "shared") if buffers else {})
    known = dict(model.named_parameters())
    unknown = sorted(set(momentum) - set(known))
    if unknown:
        raise CheckpointError(f"{path}: optimizer state for tensors this model lacks: "
                              f"{', '.join(unknown[:3])}")
    return ParentOptimizer(path, hyper, momentum)
