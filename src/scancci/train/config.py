"""The training configuration: one dataclass tree, read from YAML over shared defaults.

A recipe file (`configs/<name>.yaml`) states only what differs from the defaults below, which
follow the original SCAN-CCI recipe (spec section 2). `base: other_recipe` inherits another
recipe; `overrides` are dotted `key=value` strings (`optim.head_lr=0.001`) applied last.
Unknown keys are errors with close-match suggestions, so a typo never trains silently with a
default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scancci.errors import InvalidInputError, unknown_name

CONFIG_FILE = "config.yaml"  # the resolved config a run folder keeps (resume reads it)


@dataclass
class ModelSettings:
    """Which network to build, or which checkpoint to start from."""

    name: str = "scancci_resnet50"  # any name of scancci.list_models()
    num_classes: int = 7
    class_names: list[str] | None = None  # None: the canonical names for num_classes
    backbone_weights: str | None = None  # None (random), "imagenet" (packaged), or a file path
    input_size: int = 224
    options: dict[str, Any] = field(default_factory=dict)  # create_model options (local_scan...)
    init_from: str | None = None  # fine-tune from a scancci model or an original .pth checkpoint
    init_required: bool = False  # the recipe is a fine-tuning recipe: refuse to start without
    reset_classifier: bool = False  # allow a checkpoint with other classes: new classifier
    linear_probe: bool = False  # train only the final classifier layers, everything else frozen


@dataclass
class DataSource:
    """One dataset split: `open_dataset(dataset, root, split=split, **options)`."""

    dataset: str = "rafdb"
    split: str = "train"
    root: str | None = None  # a path, or a key of DataSettings.roots; None: roots[dataset]/root
    options: dict[str, Any] = field(default_factory=dict)
    name: str | None = None  # label in tables (default: dataset or dataset/split)
    optional: bool = False  # skip (with a note) when its root or list file is missing

    @property
    def label(self) -> str:
        return self.name or self.dataset


@dataclass
class DataSettings:
    """Training, validation and test data, class balance and augmentation."""

    root: str | None = None  # default root of every source (the CLI's --data PATH)
    roots: dict[str, str] = field(default_factory=dict)  # per-source roots (--data NAME=PATH)
    train: list[DataSource] = field(default_factory=lambda: [DataSource()])
    val: DataSource | None = None  # None: a stratified, seeded carve of the training data
    val_fraction: float = 0.1
    test: DataSource | None = field(default_factory=lambda: DataSource(split="test"))
    subsets: list[DataSource] = field(default_factory=list)  # evaluated once, with the test set
    folds: int | None = None  # k-fold protocols (CK+, Oulu-CASIA): options fold=0..k-1
    fold_scheme: str = "round_robin"  # subjects to folds: "round_robin" or "contiguous" blocks
    fold_lists: str | None = None  # CK+: folder of the original's train_ids_<k>/test_ids_<k>.csv
    balance: str = "resample"  # "resample" (1/count sampling), "reweight" (CE weights), "none"
    reweight_beta: float = 0.9999
    augment: dict[str, Any] = field(default_factory=dict)  # build_transforms options
    batch_size: int = 64
    eval_batch_size: int | None = None  # None: batch_size
    num_workers: int = 2


@dataclass
class OptimSettings:
    """SGD with three parameter groups (trunk, attention, cci) as the original."""

    trunk_lr: float = 1e-4
    head_lr: float = 1e-2  # attention and CCI branches (plain baselines: their head)
    weight_decay: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = False
    lr_decay: float = 0.95  # every lr multiplied by this after each epoch; 1.0 = constant
    # Several processes (DDP) multiply the images per step: "none" keeps the recipe's lrs (the
    # default: the paper's recipe as it is), "linear" scales them by global batch /
    # reference_batch (Goyal et al. 2017), "sqrt" by its square root
    lr_scaling: str = "none"
    reference_batch: int = 64  # the global batch the recipe's lrs are stated for


@dataclass
class LossSettings:
    """scancci_loss weights: 0.2 * CE(attention) + 0.8 * sum of the 4 region CEs."""

    attention_weight: float = 0.2
    region_weight: float = 0.8
    label_smoothing: float = 0.0


@dataclass
class TrainerSettings:
    """Lightning Trainer settings."""

    epochs: int = 60
    precision: str = "auto"  # "auto" (bf16-mixed where bf16 is native), "bf16-mixed", "32-true"...
    compile: bool = False  # torch.compile the model's forward (nn.Module.compile)
    channels_last: bool = True  # NHWC weights and batches (scancci.speed.channels_last)
    # glibc keeps freed memory for reuse: faster CPU steps, more resident memory until the
    # process exits (scancci.speed.reuse_freed_memory; docs/model.md)
    reuse_freed_memory: bool = False
    accumulate_grad_batches: int = 1
    gradient_clip_val: float | None = None
    accelerator: str = "auto"  # "cpu", "gpu", "auto"
    devices: Any = "auto"  # int, list or "auto"
    num_nodes: int = 1
    strategy: str = "auto"  # "ddp" for several GPUs or CPU processes (gloo)
    sync_batchnorm: bool = False  # BatchNorm statistics over every process's batch (DDP)
    seed: int = 0
    deterministic: bool = False
    monitor: str = "val/acc"  # model selection metric (maximised)
    progress: bool = True
    limit_train_batches: float | int = 1.0
    limit_val_batches: float | int = 1.0
    log_every_n_steps: int = 10


PROTOCOLS = ("honest", "original")
LR_SCALING = ("none", "linear", "sqrt")


@dataclass
class OriginalSettings:
    """How this recipe's `protocol: original` reproduces the authors' script (docs/training.md).

    The shared items (no validation carve, selection and calibration on the evaluation split,
    BatchNorm in eval mode from epoch 2, flip/jitter before the resize, no dropped batch) need
    no setting; these are the recipe's own.
    """

    script: str | None = None  # the authors' main_*.py this recipe reproduces; None: no original
    carry_optimizer: bool = False  # fine-tuning loads the parent checkpoint's optimizer state
    overrides: list[str] = field(default_factory=list)  # dotted key=value applied under original


@dataclass
class EvalSettings:
    """How the final, one-time test evaluation runs."""

    tta_flip: bool = False
    calibrate: bool = True  # fit the temperature on the validation split after training


@dataclass
class TrackingSettings:
    """Where the curves go besides the run folder's CSV and TensorBoard logs."""

    mlflow: bool = False  # Lightning's MLFlowLogger (the `scancci[mlflow]` extra)
    mlflow_uri: str | None = None  # None: sqlite:///<run folder>/mlflow.db
    experiment: str | None = None  # None: the recipe's name


@dataclass
class TrainConfig:
    """Everything one training run needs; `to_dict()` is what the run folder stores."""

    name: str = "custom"
    description: str = ""
    run_dir: str | None = None  # None: runs/<name>
    model: ModelSettings = field(default_factory=ModelSettings)
    data: DataSettings = field(default_factory=DataSettings)
    optim: OptimSettings = field(default_factory=OptimSettings)
    loss: LossSettings = field(default_factory=LossSettings)
    trainer: TrainerSettings = field(default_factory=TrainerSettings)
    protocol: str = "honest"  # "honest" (selection on a validation carve) or "original"
    original: OriginalSettings = field(default_factory=OriginalSettings)
    evaluation: EvalSettings = field(default_factory=EvalSettings)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    resume: bool = False  # continue the run in run_dir from its last checkpoint
    overwrite: bool = False  # delete what run_dir holds before starting

    def to_dict(self) -> dict[str, Any]:
        """A plain, YAML-ready dict."""
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @property
    def original_protocol(self) -> bool:
        """True when the run reproduces the authors' protocol (`protocol: original`)."""
        return self.protocol == "original"

    @property
    def selection_stage(self) -> str:
        """The name the selection split's metrics carry: "val", or "test" under the original
        protocol (it selects on the test split, and its curves say so)."""
        return "test" if self.original_protocol else "val"

    @property
    def monitor(self) -> str:
        """`trainer.monitor` on the split selection really uses (val/acc -> test/acc under the
        original protocol)."""
        stage, _, metric = self.trainer.monitor.partition("/")
        return f"{self.selection_stage}/{metric}" if stage == "val" and metric else \
            self.trainer.monitor

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a (partial) dict over the defaults; unknown keys raise."""
        if isinstance(data, dict) and isinstance(data.get("protocol"), dict):
            raise InvalidInputError(
                "config key 'protocol' is one switch now: protocol: original (the authors' "
                "protocol: selection on test, BatchNorm quirk, ...) or protocol: honest")
        config = _build(cls, data, "")
        if config.protocol not in PROTOCOLS:
            raise unknown_name("protocol", str(config.protocol), PROTOCOLS)
        if config.optim.lr_scaling not in LR_SCALING:
            raise unknown_name("optim.lr_scaling", str(config.optim.lr_scaling), LR_SCALING)
        return config

    def for_protocol(self, overrides: list[str] | None = None) -> TrainConfig:
        """Under `protocol: original`, this recipe's original settings, then `overrides` again
        (what the user asked for wins); unchanged under `honest`."""
        if not self.original_protocol:
            return self
        if self.original.script is None:
            raise InvalidInputError(
                f"--protocol original: recipe {self.name!r} has no counterpart in the authors' "
                "code (their scripts cover rafdb, ferplus, affectnet8/7, affectnet_rafdb, "
                "sfew, ckplus and oulu); use --protocol honest")
        return self.with_overrides([*self.original.overrides, *(overrides or [])])

    def with_overrides(self, overrides: list[str] | None) -> TrainConfig:
        """A copy with dotted `key=value` overrides applied (values parsed as YAML)."""
        data = self.to_dict()
        for item in overrides or []:
            key, value = parse_override(item)
            set_dotted(data, key, value)
        return TrainConfig.from_dict(data)


def parse_override(item: str) -> tuple[str, Any]:
    """`optim.head_lr=1e-3` -> ("optim.head_lr", 0.001)."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise InvalidInputError(f"override {item!r} is not KEY=VALUE (e.g. optim.head_lr=0.001)")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as err:
        raise InvalidInputError(f"override {item!r}: value is not valid YAML ({err})") from None
    return key.strip(), value


def flatten(data: Any, prefix: str = "", *, leaves: tuple[str, ...] = ()) -> dict[str, Any]:
    """A config dict as {"a.b.c": value} (the keys `set_dotted` takes); a section whose key
    ends with one of `leaves` stays one value (its whole dict), and an empty one vanishes."""
    if not isinstance(data, dict) or prefix.endswith(leaves):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key), leaves=leaves))
    return out


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """Set data[a][b][c] = value for key "a.b.c"; unknown keys raise with suggestions."""
    parts = key.split(".")
    node: Any = data
    for depth, part in enumerate(parts):
        if not isinstance(node, (dict, list)):
            where = ".".join(parts[:depth])
            hint = (" (protocol is one switch now: protocol=original or protocol=honest)"
                    if where == "protocol" else "")
            raise InvalidInputError(f"config key {where!r} holds a value, not a section: "
                                    f"{key!r} does not exist{hint}")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            index: Any = int(part)
        elif isinstance(node, dict) and (part in node or _free_form(parts[:depth])):
            index = part
        else:
            valid = node.keys() if isinstance(node, dict) else [str(i) for i in range(len(node))]
            raise unknown_name("config key", ".".join(parts[: depth + 1]), valid)
        if depth == len(parts) - 1:
            node[index] = value
        else:
            if node[index] is None:
                node[index] = {}
            node = node[index]


def _free_form(path: list[str]) -> bool:
    """Dict fields whose keys are the user's (options, roots, augment)."""
    return bool(path) and path[-1] in {"options", "roots", "augment"}


def _build(cls: type, data: Any, where: str) -> Any:
    """Recursively build dataclass `cls` from `data`, checking key names."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInputError(f"config section {where or 'top level'!r} must be a mapping, "
                                f"got {type(data).__name__}: {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in names:
            raise unknown_name("config key", path, [f"{where}.{n}" if where else n for n in names])
        kwargs[key] = _convert(hints[key], value, path)
    return cls(**kwargs)


def _convert(hint: Any, value: Any, path: str) -> Any:
    """Convert a YAML value to the field's type (nested dataclasses and lists of them)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, path) if len(inner) == 1 else value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):  # a class, not an instance
        return value if isinstance(value, hint) else _build(hint, value, path)
    if origin is list:
        if not isinstance(value, list):
            raise InvalidInputError(f"config key {path!r} must be a list, got {value!r}")
        return [_convert(args[0], v, f"{path}.{i}") for i, v in enumerate(value)]
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):  # YAML 1.1 reads `1e-2` as a string
        try:
            return float(value)
        except ValueError:
            pass
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise InvalidInputError(
            f"config key {path!r} must be {hint.__name__}, got {value!r}")
    return value


@dataclass
class DemoSettings:
    """`scancci demo`: sizes chosen so the whole demo fits in about 10 minutes on 2 CPU cores."""

    out: Path = Path("demo-output")
    train_per_class: int = 200
    test_per_class: int = 60
    epochs: int = 8
    input_size: int = 112
    seed: int = 0
    progress: bool = True
