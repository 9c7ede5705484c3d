"""Inputs for checking an export: real images (resized and normalised as the model expects)
and random tensors, as named float32 batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from scancci.errors import InvalidInputError
from scancci.imaging import as_rgb_array, is_image_file, model_input

ImageLike = str | Path | Image.Image | np.ndarray


def collect_images(source: ImageLike | Sequence[ImageLike] | None) -> list[ImageLike]:
    """Expand a folder (its image files, sorted), one image or a list of images into a list."""
    if source is None:
        return []
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and is_image_file(p))
            if not files:
                raise InvalidInputError(f"{path}: no image files in this folder")
            return list(files)
        return [path]
    if isinstance(source, (Image.Image, np.ndarray)):
        return [source]
    return list(source)


def preprocess(images: Iterable[ImageLike], config: Any) -> np.ndarray:
    """Resize each image to the model's square input and normalise: N x 3 x S x S float32."""
    return model_input([as_rgb_array(image) for image in images], config.input_size,
                       config.mean, config.std)


def random_batch(config: Any, count: int, seed: int = 0) -> np.ndarray:
    """Standard-normal inputs (the range a normalised image covers and a bit beyond)."""
    size = int(config.input_size)
    rng = np.random.default_rng(seed)
    return rng.standard_normal((count, 3, size, size)).astype(np.float32)


def check_batches(config: Any, images: ImageLike | Sequence[ImageLike] | None, *,
                  num_random: int = 4, max_images: int = 16, seed: int = 0,
                  preprocessed: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Named batches to compare an export on: "real" (when images are given) and "random".

    `preprocessed`: the images already run through `preprocess` (used instead of `images`)."""
    batches: dict[str, np.ndarray] = {}
    if preprocessed is None:
        preprocessed = preprocess(collect_images(images)[:max_images], config)
    if len(preprocessed):
        batches["real"] = preprocessed[:max_images]
    if num_random > 0:
        batches["random"] = random_batch(config, num_random, seed)
    if not batches:
        raise InvalidInputError("nothing to verify the export on: give images or num_random > 0")
    return batches
