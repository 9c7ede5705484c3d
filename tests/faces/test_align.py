"""Alignment puts the eyes (and the other landmarks) where the template says, at any size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from scancci.errors import InvalidInputError, UnknownNameError
from scancci.faces import TEMPLATES, align_face, alignment_matrix, template_points
from scancci.faces.align import transform_points


def similarity(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array([[scale * np.cos(a), -scale * np.sin(a), shift[0]],
                     [scale * np.sin(a), scale * np.cos(a), shift[1]]])


@pytest.mark.parametrize("size", [64, 112, 224])
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_marked_eyes_land_on_the_template(size, template) -> None:
    """Paint two coloured eyes on a tilted, shifted 'face'; after alignment they sit where the
    template puts the eyes."""
    target = template_points(size, template)
    image_points = transform_points(target / size * 200, similarity(25, 1.3, (140, 60)))
    image = np.full((480, 520, 3), 90, np.uint8)
    for (x, y), color in zip(image_points[:2], [(255, 0, 0), (0, 255, 0)], strict=True):
        cv2.circle(image, (round(x), round(y)), 6, color, -1)
    crop = align_face(image, image_points, output_size=size, template=template)
    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
    for channel, (x, y) in zip((0, 1), target[:2], strict=True):
        ys, xs = np.nonzero((crop[..., channel] > 200) & (crop[..., 2] < 60))
        assert len(xs) > 0, "the painted eye is missing from the crop"
        assert abs(xs.mean() - x) < 1.0 and abs(ys.mean() - y) < 1.0


def test_real_face_realigned_has_its_landmarks_on_the_template(happy, mtcnn) -> None:
    image, face = happy
    size = 224
    crop = align_face(image, face.landmarks, output_size=size)
    mapped = transform_points(face.landmarks, alignment_matrix(face.landmarks, size))
    target = template_points(size)
    # The fit is a least-squares similarity: 5 real points never match exactly, but closely.
    assert np.abs(mapped - target).max() < 0.05 * size
    redetected = mtcnn.detect(crop)
    assert len(redetected) == 1
    np.testing.assert_allclose(redetected[0].landmarks[:2], target[:2], atol=0.04 * size)


def test_bad_landmarks_sizes_and_templates_are_refused(happy) -> None:
    image, face = happy
    with pytest.raises(InvalidInputError, match="5 finite"):
        align_face(image, face.landmarks[:3])
    with pytest.raises(InvalidInputError, match="output_size"):
        align_face(image, face.landmarks, output_size=0)
    with pytest.raises(UnknownNameError, match="rafdb"):
        align_face(image, face.landmarks, template="raf")
