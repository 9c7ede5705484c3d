"""Reading images the way users have them (any mode, any bit depth, EXIF-rotated), and
turning face crops into a model's input: the one reader and the one preprocessing.

Every reader in the project (datasets, detection, prediction, the service) goes through
`load_image` (PIL) or its array forms `as_rgb_array` (raises) and `read_rgb` (returns the
reason instead), so grayscale, alpha, CMYK, palette and 16-bit files, and phone photos with an
EXIF orientation, all arrive as upright 8-bit RGB, and a broken file gives one clear error
naming it. `model_input` is what both prediction and evaluation feed a classifier.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from scancci.errors import InvalidInputError, error_detail

# Refuse decompression bombs with our own message instead of PIL's warning/exception.
MAX_PIXELS = 178_956_970
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm")
# 16/32-bit and float grey modes: their used range is stretched to 0..255
DEEP_MODES = ("I;16", "I;16B", "I;16L", "I", "F")
BLOCK_ROWS = 256  # rows converted at a time from a deep image (bounded temporary memory)
_T = TypeVar("_T")


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert a PIL image of any mode to 8-bit RGB (alpha composited on white)."""
    if image.mode == "RGB":
        return image
    if image.mode in DEEP_MODES:
        return Image.fromarray(grey8(image)).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def grey8(image: Image.Image) -> np.ndarray:
    """A 16/32-bit or float grey image as H x W uint8, its used range stretched to 0..255
    instead of clipped. Converted BLOCK_ROWS rows at a time, so the only full-size copy is the
    8-bit result (no float64 image: a 6300 x 6300 16-bit PNG once cost 627 MB here)."""
    lo, hi = image.getextrema()
    lo, hi = float(lo), float(hi)  # type: ignore[arg-type]
    width, height = image.size
    out = np.zeros((height, width), np.uint8)
    if not hi > lo:
        return out
    factor = 255.0 / (hi - lo)
    for top in range(0, height, BLOCK_ROWS):
        block = np.asarray(image.crop((0, top, width, min(height, top + BLOCK_ROWS))),
                           dtype=np.float32)
        out[top:top + block.shape[0]] = np.clip((block - lo) * factor, 0, 255)
    return out


def rgb_array(image: Image.Image) -> np.ndarray:
    """H x W x 3 uint8 RGB of a PIL image of any mode; grey images without a detour through a
    PIL RGB copy (which holds 4 bytes a pixel)."""
    if image.mode in DEEP_MODES or image.mode == "L":
        grey = grey8(image) if image.mode in DEEP_MODES else np.asarray(image)
        return np.repeat(grey[..., None], 3, axis=2)
    return np.asarray(to_rgb(image))


def load_image(source: str | Path | bytes | Image.Image | np.ndarray) -> Image.Image:
    """Open a file path, encoded bytes, PIL image or HxW(x3/4) uint8 array as upright RGB."""
    if isinstance(source, np.ndarray):
        return _array_to_image(source)
    return _decoded(source, to_rgb)


def _decoded(source: str | Path | bytes | Image.Image,
             convert: Callable[[Image.Image], _T]) -> _T:
    """`convert` applied to the decoded image turned upright from its EXIF orientation, while
    its file is open. Too many pixels, or unreadable data, is one InvalidInputError."""
    if isinstance(source, Image.Image):
        return convert(ImageOps.exif_transpose(source) or source)
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    handle: IO[bytes]
    try:
        if isinstance(source, bytes):
            if not source:
                raise InvalidInputError("empty image data")
            handle = io.BytesIO(source)
        else:
            path = Path(source)
            if not path.is_file():
                raise InvalidInputError(f"{path}: no such image file")
            if path.stat().st_size == 0:
                raise InvalidInputError(f"{path}: an empty file, not an image")
            handle = path.open("rb")
        with handle, Image.open(handle) as image:
            if image.width * image.height > MAX_PIXELS:
                raise InvalidInputError(_too_many_pixels(name, image.width, image.height))
            image.load()
            return convert(ImageOps.exif_transpose(image) or image)
    except InvalidInputError:
        raise
    except Image.DecompressionBombError:
        raise InvalidInputError(f"{name}: the image declares more than {MAX_PIXELS:,} pixels, "
                                "more than scancci decodes; resize it") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise InvalidInputError(f"{name}: not a readable image ({image_error(err)})") from err


def image_error(err: BaseException) -> str:
    """Why image bytes could not be decoded, in words (Pillow's message for an unknown format
    names a Python object: `cannot identify image file <_io.BufferedReader ...>`)."""
    if isinstance(err, UnidentifiedImageError):
        return "its bytes are in no image format Pillow reads"
    return error_detail(err)


def _too_many_pixels(name: str, width: int, height: int) -> str:
    return (f"{name}: {width}x{height} pixels is more than the {MAX_PIXELS:,} allowed; "
            "resize it")


def _array_to_image(array: np.ndarray) -> Image.Image:
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise InvalidInputError(
            f"an image array must be HxW, HxWx1, HxWx3 (RGB) or HxWx4 (RGBA); got shape "
            f"{tuple(array.shape)}"
        )
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            raise InvalidInputError("the image array contains NaN or infinite values")
        if np.issubdtype(array.dtype, np.floating) and array.max(initial=0) <= 1.0:
            array = array * 255.0
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    mode = "RGBA" if array.shape[2] == 4 else "RGB"
    return to_rgb(Image.fromarray(np.ascontiguousarray(array), mode=mode))


def is_image_file(path: str | Path) -> bool:
    """True when the file name has an image suffix (the content is checked only when read)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def as_rgb_array(image: Any) -> np.ndarray:
    """H x W x 3 uint8 RGB from anything `load_image` accepts (arrays already RGB pass as is),
    decoded at bounded memory: no float copy of the image, whatever its bit depth."""
    if isinstance(image, np.ndarray):
        if image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8:
            return image
        return np.asarray(_array_to_image(image))
    return _decoded(image, rgb_array)


def read_rgb(image: Any) -> tuple[np.ndarray | None, str | None]:
    """(H x W x 3 uint8 RGB, None), or (None, reason) for an input that cannot be read: what
    prediction uses, so one bad file becomes a row with its reason instead of an exception."""
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


def model_input(images: Sequence[np.ndarray], size: int, mean: Sequence[float],
                std: Sequence[float]) -> np.ndarray:
    """RGB uint8 images (face crops) -> normalised float32 B x 3 x S x S: the one preprocessing
    of prediction and evaluation. An image not already S x S is resized with PIL's bilinear
    filter (antialiased when shrinking), which is exactly what torchvision's `v2.Resize` does
    to the PIL images training sees; then x / 255, (x - mean) / std."""
    size = int(size)
    mean_ = np.asarray(mean, dtype=np.float32)
    std_ = np.asarray(std, dtype=np.float32)
    batch = np.empty((len(images), 3, size, size), dtype=np.float32)
    for i, image in enumerate(images):
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InvalidInputError(f"face crops must be H x W x 3 uint8 RGB, got shape "
                                    f"{image.shape} {image.dtype}")
        if image.shape[:2] != (size, size):
            image = np.asarray(Image.fromarray(image).resize((size, size),
                                                             Image.Resampling.BILINEAR))
        batch[i] = ((image.astype(np.float32) / 255.0 - mean_) / std_).transpose(2, 0, 1)
    return batch
