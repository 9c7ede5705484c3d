"""Synthetic surgical masks drawn onto the lower face from the 5 landmarks.

The paper's masked test sets were built by warping a mask image from the nose bridge to the chin.
With 5 points there is no chin or nose-bridge landmark, so both are estimated along the
eyes-to-mouth axis: the bridge at 30 % of the way from the eye centre to the mouth centre
(above the nose tip, below the eyes) and the chin at 62 % of that distance below the mouth
(face proportions of the ArcFace template). The mask follows the face's roll, scale and
(roughly) yaw, because all its points are built from the landmarks.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from scancci.errors import InvalidInputError
from scancci.imaging import as_rgb_array

SURGICAL_BLUE = (168, 205, 228)


def mask_polygon(landmarks: Any) -> np.ndarray:
    """N x 2 outline of the mask (image pixels) for 5 landmarks, clockwise from the bridge."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (5, 2) or not np.isfinite(points).all():
        raise InvalidInputError(f"apply_mask needs 5 x 2 landmarks, got shape {points.shape}")
    left_eye, right_eye, _, left_mouth, right_mouth = points
    eyes = (left_eye + right_eye) / 2.0
    mouth = (left_mouth + right_mouth) / 2.0
    down = mouth - eyes  # eyes-to-mouth axis
    across = right_eye - left_eye
    if np.linalg.norm(down) < 1e-3 or np.linalg.norm(across) < 1e-3:
        raise InvalidInputError("landmarks are degenerate (eyes or mouth on top of each other)")
    # Half-widths are in eye distances (a face is about 2.2 eye distances wide at the cheeks).
    outline = [
        eyes + 0.30 * down,                      # nose bridge
        eyes + 0.45 * down + 0.55 * across,
        eyes + 0.60 * down + 1.00 * across,      # right cheek, under the eye
        mouth + 0.05 * down + 1.05 * across,
        mouth + 0.40 * down + 0.80 * across,
        mouth + 0.62 * down + 0.35 * across,
        mouth + 0.68 * down,                     # chin
        mouth + 0.62 * down - 0.35 * across,
        mouth + 0.40 * down - 0.80 * across,
        mouth + 0.05 * down - 1.05 * across,
        eyes + 0.60 * down - 1.00 * across,      # left cheek
        eyes + 0.45 * down - 0.55 * across,
    ]
    return _smooth_closed(np.array(outline))


def apply_mask(image: Any, landmarks: Any, *, color: tuple[int, int, int] = SURGICAL_BLUE,
               pleats: bool = True) -> np.ndarray:
    """A copy of the RGB image with a surgical-style mask over the face with these landmarks."""
    out = as_rgb_array(image).copy()
    outline = mask_polygon(landmarks)
    region = np.zeros(out.shape[:2], dtype=np.uint8)
    cv2.fillPoly(region, [np.round(outline).astype(np.int32)], 255, lineType=cv2.LINE_AA)
    layer = np.empty_like(out)
    layer[:] = color
    if pleats:
        _draw_pleats(layer, np.asarray(landmarks, dtype=np.float64), color)
    alpha = (region.astype(np.float32) / 255.0)[..., None]
    blended = out.astype(np.float32) * (1.0 - alpha) + layer.astype(np.float32) * alpha
    out = np.clip(blended, 0, 255).astype(np.uint8)
    edge = tuple(int(c * 0.75) for c in color)
    cv2.polylines(out, [np.round(outline).astype(np.int32)], True, edge,
                  thickness=max(1, round(_eye_distance(landmarks) / 40)), lineType=cv2.LINE_AA)
    return out


def _draw_pleats(layer: np.ndarray, points: np.ndarray, color: tuple[int, int, int]) -> None:
    """Three darker horizontal folds across the mask, following the face's roll."""
    eyes = (points[0] + points[1]) / 2.0
    down = (points[3] + points[4]) / 2.0 - eyes
    across = points[1] - points[0]
    shade = tuple(int(c * 0.82) for c in color)
    width = max(1, round(np.linalg.norm(across) / 25))
    for t in (0.70, 0.95, 1.20):
        a = eyes + t * down - 1.1 * across
        b = eyes + t * down + 1.1 * across
        cv2.line(layer, tuple(int(v) for v in np.round(a)), tuple(int(v) for v in np.round(b)),
                 shade, width, lineType=cv2.LINE_AA)


def _eye_distance(landmarks: Any) -> float:
    points = np.asarray(landmarks, dtype=np.float64)
    return float(np.linalg.norm(points[1] - points[0]))


def _smooth_closed(points: np.ndarray, samples: int = 8) -> np.ndarray:
    """Catmull-Rom spline through a closed polygon: a rounded mask outline."""
    out = []
    n = len(points)
    for i in range(n):
        p0, p1, p2, p3 = points[i - 1], points[i], points[(i + 1) % n], points[(i + 2) % n]
        for t in np.linspace(0.0, 1.0, samples, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                              + (3 * p1 - p0 - 3 * p2 + p3) * t3))
    return np.array(out)
