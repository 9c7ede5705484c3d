"""Fixtures of the face tests: one MTCNN detector and the landmarks of a few real photos."""

from __future__ import annotations

import numpy as np
import pytest

from scancci.faces import FaceDetector
from scancci.imaging import load_image


@pytest.fixture(scope="session")
def mtcnn() -> FaceDetector:
    """MTCNN with the weights shipped inside the facenet-pytorch wheel."""
    return FaceDetector("mtcnn")


@pytest.fixture(scope="session")
def happy(photos_dir, mtcnn) -> tuple[np.ndarray, object]:
    """The frontal happy photo as an RGB array and its detected face."""
    image = np.asarray(load_image(photos_dir / "0-f15-hao-ph.jpg"))
    faces = mtcnn.detect(image)
    assert len(faces) == 1
    return image, faces[0]
