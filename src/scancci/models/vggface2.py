"""Read the VGGFace2 ResNet-50 pickle the paper started from, without executing it.

The file (`resnet50_ft_weight.pkl` / `vgg_msceleb_resnet50_ft_weight.pkl`, from the VGGFace2
authors' Caffe models as converted for PyTorch) is a Python pickle of a dict: torchvision ResNet
key -> numpy array. A pickle can run any code while loading, so this reader uses an Unpickler that
only resolves numpy's array reconstruction, dtypes, plain containers and the bytes encoder of
protocol-2 pickles; anything else (os.system,
eval, subprocess, ...) is refused before it can run.

Note: those weights were trained on BGR 0-255 images minus a mean; the original SCAN-CCI code fed
them RGB normalised with mean = std = 0.5 anyway (scancci_resnet50's default normalisation).
"""

from __future__ import annotations

import codecs
import collections
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy._core import multiarray

from scancci.errors import CheckpointError, error_detail

# (module, name) a numpy-array pickle needs; numpy 1.x wrote numpy.core, numpy 2 numpy._core
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): multiarray.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("_codecs", "encode"): codecs.encode,  # how Python 3 writes array bytes at protocol 2
}


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle asked for a function or class outside the allow-list."""


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only numpy arrays, dtypes and OrderedDict; refuses all else."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED.get((module, name))
        if allowed is None:
            raise RefusedGlobal(
                f"refusing to load {module}.{name}: only numpy arrays and plain containers are "
                "allowed in a weights pickle")
        return allowed


def load_vggface2_pickle(path: str | Path) -> dict[str, torch.Tensor]:
    """The pickle's arrays as tensors, keyed by torchvision ResNet names (`conv1.weight`, ...)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"VGGFace2 weights file {path} does not exist")
    try:
        with path.open("rb") as f:
            data = RestrictedUnpickler(f, encoding="latin1").load()
    except RefusedGlobal as err:
        raise CheckpointError(f"{path} was refused: {error_detail(err)}. It is not a plain weights pickle; "
                              "nothing in it was executed") from err
    except Exception as err:  # truncated or not a pickle at all
        raise CheckpointError(f"{path} is not a readable weights pickle: {error_detail(err)}") from err
    if not isinstance(data, dict) or not all(isinstance(v, np.ndarray) for v in data.values()):
        raise CheckpointError(f"{path} does not hold a dict of numpy arrays (name -> weights)")
    return {str(k): torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in data.items()}
