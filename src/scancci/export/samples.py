"""Face-like inputs for checking and calibrating exports when the user gives no images.

The synthetic demo faces (`scancci.data.generate_demo_dataset`) have the structure of aligned
face crops, unlike random noise, and are generated offline. Real photos are better: pass them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from PIL import Image

from scancci.data import generate_demo_dataset, open_dataset
from scancci.imaging import load_image


def synthetic_faces(count: int = 32, seed: int = 0) -> list[Image.Image]:
    """`count` synthetic demo faces (test split) loaded in memory; the files are removed."""
    with tempfile.TemporaryDirectory(prefix="scancci-samples-") as tmp:
        paths = generate_demo_dataset(Path(tmp), seed=seed, num_train_per_class=1,
                                      num_test_per_class=max(1, count // 7 + 1))
        samples = open_dataset("rafdb", paths["clean"], split="test").samples
        return [load_image(path) for path, _ in samples[:count]]
