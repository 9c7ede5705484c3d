"""Reading one input image for prediction without raising: (RGB array, None) or (None, reason)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from scancci.errors import InvalidInputError
from scancci.faces.detect import as_rgb_array


def read_rgb(image: Any) -> tuple[np.ndarray | None, str | None]:
    """(H x W x 3 uint8 RGB, None), or (None, message) for an input that cannot be read."""
    try:
        return as_rgb_array(image), None
    except InvalidInputError as err:
        return None, str(err)
    except MemoryError:
        return None, f"{describe_source(image)}: not enough memory to decode this image"


def describe_source(image: Any) -> str:
    """A printable name for an input: its path, or its kind for in-memory images."""
    if isinstance(image, (str, Path)):
        return str(image)
    if isinstance(image, bytes):
        return "<bytes>"
    if isinstance(image, Image.Image):
        return "<PIL image>"
    return f"<{type(image).__name__}>"
