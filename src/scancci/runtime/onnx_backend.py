"""onnxruntime as a classifier backend: `OnnxClassifier` implements the Classifier interface
(`.config`, `.logits(batch)`, `.attention(batch)`) used by `scancci.inference.Recognizer`.

The ONNX file carries its model config (metadata), so the file alone is enough. To run a
scancci model (module or saved model) here, export it first: `scancci.export.onnx_classifier`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from scancci.errors import CheckpointError, InvalidInputError
from scancci.runtime.metadata import ATTENTION, INPUT, LOGITS, config_from_dict, read_onnx_metadata
from scancci.sessions import onnx_session

PRECISIONS = ("fp32", "int8")


class OnnxClassifier:
    """An exported SCAN-CCI classifier run by onnxruntime on the CPU."""

    def __init__(self, path: str | Path, *, precision: str | None = None,
                 threads: int | None = None, keep_alive: Any = None) -> None:
        if precision is not None and precision not in PRECISIONS:
            raise InvalidInputError(
                f"onnxruntime precision {precision!r} is not supported; use one of {PRECISIONS} "
                "(bf16 runs on the PyTorch backend)"
            )
        self._keep_alive = keep_alive  # e.g. the temporary folder holding an on-the-fly export
        self.path = Path(path)
        if self.path.suffix.lower() != ".onnx" or not self.path.is_file():
            raise CheckpointError(f"{self.path}: no such ONNX file")
        self.session = onnx_session(self.path, threads)
        meta = read_onnx_metadata(self.session.get_modelmeta().custom_metadata_map, str(self.path))
        self.config = config_from_dict(meta["config"])
        self.precision: str = meta["precision"]
        self.version: str = meta["version"]
        if precision is not None and precision != self.precision:
            raise InvalidInputError(
                f"{self.path} holds a {self.precision} model, not {precision}; export it with "
                f"`scancci export --format onnx{' --int8' if precision == 'int8' else ''}` "
                "or pass the scancci model instead of the ONNX file"
            )
        self._outputs = [o.name for o in self.session.get_outputs()]
        _check_matches_config(self.session, self.config, self.path)

    @property
    def has_attention(self) -> bool:
        """True when the graph also computes the global SCAN attention map."""
        return ATTENTION in self._outputs

    def run(self, batch: np.ndarray, *, attention: bool = True
            ) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits (B x C) and attention (B x h x w, or None when the graph has none or it is
        not asked for) for a normalised B x 3 x S x S batch; the graph computes both at once."""
        batch = self._check_batch(batch)
        values = dict(zip(self._outputs, self.session.run(None, {INPUT: batch}), strict=True))
        return values[LOGITS], values.get(ATTENTION) if attention else None

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits, B x C (apply softmax(logits / config.temperature) for probabilities)."""
        batch = self._check_batch(batch)
        return self.session.run([LOGITS], {INPUT: batch})[0]

    def attention(self, batch: np.ndarray) -> np.ndarray | None:
        """Global SCAN attention maps in [0, 1], B x h x w; None for models without attention."""
        if not self.has_attention:
            return None
        return self.session.run([ATTENTION], {INPUT: self._check_batch(batch)})[0]

    def __repr__(self) -> str:
        return f"OnnxClassifier({str(self.path)!r}, precision={self.precision!r})"

    def _check_batch(self, batch: np.ndarray) -> np.ndarray:
        size = int(self.config.input_size)
        batch = np.asarray(batch)
        if batch.ndim != 4 or batch.shape[1:] != (3, size, size):
            raise InvalidInputError(
                f"expected a B x 3 x {size} x {size} batch for this model, got shape "
                f"{tuple(batch.shape)}"
            )
        return np.ascontiguousarray(batch, dtype=np.float32)


def _check_matches_config(session: ort.InferenceSession, config: Any, path: Path) -> None:
    """Refuse a file whose graph disagrees with its stored config (size or class count)."""
    inputs = session.get_inputs()
    if [i.name for i in inputs] != [INPUT] or LOGITS not in [o.name for o in session.get_outputs()]:
        raise CheckpointError(f"{path}: not a scancci export (expects input {INPUT!r}, "
                              f"output {LOGITS!r})")
    shape = inputs[0].shape  # ['batch', 3, S, S]
    size = int(config.input_size)
    if list(shape[1:]) != [3, size, size]:
        raise CheckpointError(
            f"{path}: the graph takes {shape[1:]} inputs but its config says 3 x {size} x {size}; "
            "the file and its metadata do not belong together: export the model again"
        )
    logits = next(o for o in session.get_outputs() if o.name == LOGITS).shape
    names = tuple(config.class_names)
    if logits[-1] != config.num_classes or len(names) != config.num_classes:
        raise CheckpointError(
            f"{path}: the graph outputs {logits[-1]} classes but its config lists "
            f"{config.num_classes} ({', '.join(names)}); export the model again"
        )
