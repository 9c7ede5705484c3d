"""Fixtures for the data tests: small demo sets generated once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from scancci.data import generate_demo_dataset


@pytest.fixture(scope="session")
def demo_small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A demo set of 100 train and 30 test faces per class (about 5 s to draw)."""
    root = tmp_path_factory.mktemp("demo")
    return generate_demo_dataset(root, seed=3, num_train_per_class=100, num_test_per_class=30)


def write_image(path: Path, kind: str = "rgb", size: int = 40, seed: int = 0) -> Path:
    """Write a small test image in a real file format; `kind` picks the awkward variant."""
    import io

    import numpy as np
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    if kind == "rgb":
        image.save(path, format=fmt)
    elif kind == "gray":
        image.convert("L").save(path, format=fmt)
    elif kind == "cmyk":
        image.convert("CMYK").save(path, format="JPEG")
    elif kind == "16bit":
        Image.fromarray(rng.integers(0, 65535, (size, size), dtype=np.uint16)).save(
            path, format="PNG")
    elif kind == "alpha":
        image.convert("RGBA").save(path, format="PNG")
    elif kind == "truncated":
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG")
        path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 3])
    elif kind == "text":
        path.write_text("this is not an image\n")
    else:
        raise ValueError(kind)
    return path


@pytest.fixture
def image_writer():
    """The `write_image(path, kind, size, seed)` helper, as a fixture."""
    return write_image
