"""The synthetic mask covers the lower face (nose, mouth, chin) and never the eyes."""

from __future__ import annotations

import numpy as np
import pytest

from scancci.errors import InvalidInputError
from scancci.faces import apply_mask, mask_polygon
from scancci.faces.align import transform_points
from scancci.faces.masks import SURGICAL_BLUE


def changed(before: np.ndarray, after: np.ndarray, x: float, y: float, r: int) -> float:
    """Fraction of pixels changed in a (2r+1) square around (x, y)."""
    x, y = round(x), round(y)
    a = before[y - r:y + r + 1, x - r:x + r + 1].astype(int)
    b = after[y - r:y + r + 1, x - r:x + r + 1].astype(int)
    return float((np.abs(a - b).sum(axis=2) > 0).mean())


def test_mask_covers_mouth_nose_and_chin_not_eyes(happy) -> None:
    image, face = happy
    masked = apply_mask(image, face.landmarks)
    assert masked.shape == image.shape and not np.shares_memory(masked, image)
    left_eye, right_eye, nose, left_mouth, right_mouth = face.landmarks
    r = max(3, round(np.linalg.norm(right_eye - left_eye) * 0.12))
    for point in (nose, left_mouth, right_mouth, (left_mouth + right_mouth) / 2):
        assert changed(image, masked, *point, r) == 1.0
    mouth = (left_mouth + right_mouth) / 2
    below = mouth + 0.4 * (mouth - (left_eye + right_eye) / 2)  # between mouth and chin
    assert changed(image, masked, *below, r) == 1.0
    for eye in (left_eye, right_eye):
        assert changed(image, masked, *eye, r) == 0.0
    # The mask is the mask colour, give or take its pleats and anti-aliased border.
    x, y = np.round(mouth).astype(int)
    assert np.abs(masked[y, x].astype(int) - SURGICAL_BLUE).max() < 60


def test_mask_follows_a_tilted_head(happy) -> None:
    image, face = happy
    centre = np.array(image.shape[1::-1]) / 2
    angle = np.deg2rad(30)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = np.hstack([rotation, (centre - rotation @ centre)[:, None]])
    turned = transform_points(face.landmarks, matrix)
    np.testing.assert_allclose(mask_polygon(turned),
                               transform_points(mask_polygon(face.landmarks), matrix), atol=1e-6)


def test_degenerate_landmarks_are_refused(happy) -> None:
    image, _ = happy
    with pytest.raises(InvalidInputError, match="degenerate"):
        apply_mask(image, np.zeros((5, 2)))
    with pytest.raises(InvalidInputError, match="5 x 2"):
        apply_mask(image, np.zeros((4, 2)))
