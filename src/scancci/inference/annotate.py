"""Pictures people would rather look at than read: boxes, labels, probability bars and SCAN
attention overlays drawn on the original image.

The attention map lives on the aligned crop; it is warped back into the image with the inverse
of the same alignment transform, so it lies on the face even for tilted heads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from scancci.faces.align import DEFAULT_TEMPLATE, face_matrix
from scancci.inference.results import Face, Prediction

# One colour per canonical class (RGB), so a label has the same colour everywhere.
LABEL_COLORS: dict[str, tuple[int, int, int]] = {
    "neutral": (200, 200, 200), "happy": (255, 200, 0), "sad": (70, 130, 255),
    "surprise": (255, 120, 220), "fear": (160, 90, 255), "disgust": (60, 200, 90),
    "anger": (255, 60, 60), "contempt": (255, 150, 60),
}


def draw_prediction(image: np.ndarray, prediction: Prediction, *, attention: bool = False,
                    bars: bool = True, input_size: int = 224, template: str = DEFAULT_TEMPLATE,
                    colormap: str = "jet") -> np.ndarray:
    """A copy of the RGB image with every face of `prediction` drawn on it: boxes, one label
    panel per face placed inside the picture clear of other faces and panels, overlays."""
    out = np.ascontiguousarray(image).copy()
    scale = max(out.shape[:2]) / 800.0  # line widths and fonts follow the image size
    for face in prediction.faces:
        if attention and face.attention is not None:
            out = overlay_attention(out, face, input_size=input_size, template=template,
                                    colormap=colormap)
    layout = panel_layout(prediction.faces, out.shape, scale=scale, bars=bars)
    for face, panel in zip(prediction.faces, layout, strict=True):
        _draw_face(out, face, scale)
        _draw_panel(out, face, panel)
    if prediction.timestamp is not None:
        _text(out, f"t={prediction.timestamp:.2f}s", (int(8 * scale) + 4, int(24 * scale) + 8),
              scale, (255, 255, 255))
    return out


@dataclass(frozen=True)
class Panel:
    """Where a face's label panel goes: its box (x1, y1, x2, y2, pixels, end exclusive) and the
    height of one text row (the title, then one bar per class when bars are drawn)."""

    box: tuple[int, int, int, int]
    row: int
    bars: bool


def panel_layout(faces: Sequence[Face], shape: tuple[int, ...], *, scale: float = 1.0,
                 bars: bool = True) -> list[Panel]:
    """One panel per face (same order), greedily placed: every panel lies fully inside the
    image; each takes the first free spot (below, above, right of, left of its face, then the
    nearest free spot) overlapping no face and no panel placed before it; only when no such
    spot exists does it take the spot with the least overlap."""
    height, width = shape[:2]
    obstacles = [_int_box(face.box) for face in faces]
    placed: list[tuple[int, int, int, int]] = []
    panels = []
    for face in faces:
        rows = 1 + (len(face.probabilities) if bars else 0)
        row = max(8, min(max(12, int(round(15 * scale))), (height - 2) // rows))
        text_width = max(cv2.getTextSize(_title(face) if k == 0 else "surprise 0.00",
                                         cv2.FONT_HERSHEY_SIMPLEX, _font_scale(row), 1)[0][0]
                         for k in range(2 if bars else 1))
        size = (min(width, max(text_width + 6, 7 * row)), min(height, rows * row))
        box = _free_spot(_int_box(face.box), size, (width, height), obstacles + placed)
        placed.append(box)
        panels.append(Panel(box, row, bars))
    return panels


def _free_spot(face: tuple[int, int, int, int], size: tuple[int, int], image: tuple[int, int],
               taken: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """The best top-left corner for a panel of `size` near `face` (see panel_layout)."""
    (w, h), (width, height), gap = size, image, 3
    x1, y1, x2, y2 = face
    sides = [(x1, y2 + gap), (x1, y1 - gap - h), (x2 + gap, y1), (x1 - gap - w, y1)]
    step = max(4, h // 8)
    grid = [(x, y) for y in range(0, height - h + 1, step) for x in range(0, width - w + 1, step)]
    grid.sort(key=lambda p: (p[0] - x1) ** 2 + (p[1] - y2) ** 2)
    candidates = [_clamp(x, y, w, h, width, height) for x, y in sides + grid]
    boxes = np.array([(x, y, x + w, y + h) for x, y in candidates], dtype=np.int64)
    overlap = _overlap_area(boxes, np.array(taken, dtype=np.int64).reshape(-1, 4))
    free = np.flatnonzero(overlap == 0)
    best = int(free[0]) if len(free) else int(np.argmin(overlap))
    return tuple(int(v) for v in boxes[best])  # type: ignore[return-value]


def _clamp(x: int, y: int, w: int, h: int, width: int, height: int) -> tuple[int, int]:
    return min(max(0, x), max(0, width - w)), min(max(0, y), max(0, height - h))


def _overlap_area(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Total intersection area of each of `boxes` (N x 4) with all of `others` (M x 4)."""
    if not len(others):
        return np.zeros(len(boxes), dtype=np.int64)
    ix = np.minimum(boxes[:, None, 2], others[None, :, 2]) - \
        np.maximum(boxes[:, None, 0], others[None, :, 0])
    iy = np.minimum(boxes[:, None, 3], others[None, :, 3]) - \
        np.maximum(boxes[:, None, 1], others[None, :, 1])
    return (np.clip(ix, 0, None) * np.clip(iy, 0, None)).sum(axis=1)


def _int_box(box: Sequence[float]) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    return x1, y1, x2, y2


def stretch_attention(attention: np.ndarray, size: int) -> np.ndarray:
    """An h x w attention map stretched to [0, 1] for contrast (NaN -> 0), resized to
    size x size float32: what both the picture overlays and the web page draw."""
    amap = np.nan_to_num(np.asarray(attention, dtype=np.float32))
    lo, hi = float(amap.min()), float(amap.max())
    amap = (amap - lo) / (hi - lo) if hi > lo else np.zeros_like(amap)
    return cv2.resize(amap, (size, size), interpolation=cv2.INTER_CUBIC).clip(0.0, 1.0)


def overlay_attention(image: np.ndarray, face: Face, *, input_size: int,
                      template: str = DEFAULT_TEMPLATE, colormap: str = "jet",
                      opacity: float = 0.45) -> np.ndarray:
    """Blend the face's attention heatmap (matplotlib colormap) over the face region."""
    from matplotlib import colormaps

    if face.attention is None:
        return image
    amap = stretch_attention(face.attention, input_size)
    heat = (colormaps[colormap](amap)[..., :3] * 255).astype(np.float32)
    matrix = face_matrix(face.box, face.landmarks, input_size, template)
    height, width = image.shape[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    heat = cv2.warpAffine(heat, matrix, (width, height), flags=flags)
    weight = cv2.warpAffine(np.full((input_size, input_size), opacity, np.float32), matrix,
                            (width, height), flags=flags)
    weight = (weight * face_mask(face.box, (height, width)))[..., None]  # only inside the box
    blended = image.astype(np.float32) * (1 - weight) + heat * weight
    return np.clip(blended, 0, 255).astype(np.uint8)


def face_mask(box: Sequence[float], shape: tuple[int, int]) -> np.ndarray:
    """1 inside the face box (pixels whose centre lies in it), 0 elsewhere: H x W float32."""
    height, width = shape
    x1, y1, x2, y2 = box
    xs, ys = np.arange(width) + 0.5, np.arange(height) + 0.5
    inside_x = (xs >= x1) & (xs <= x2)
    inside_y = (ys >= y1) & (ys <= y2)
    return (inside_y[:, None] & inside_x[None, :]).astype(np.float32)


def _title(face: Face) -> str:
    title = f"{face.label} {face.confidence:.0%}"
    return title if face.track_id is None else f"#{face.track_id} {title}"


def _draw_face(image: np.ndarray, face: Face, scale: float) -> None:
    color = LABEL_COLORS.get(face.label, (0, 255, 0))
    thickness = max(1, round(2 * scale))
    x1, y1, x2, y2 = _int_box(face.box)
    cv2.rectangle(image, (x1, y1), (x2, y2), color, thickness, lineType=cv2.LINE_AA)
    if face.landmarks is not None:
        for x, y in face.landmarks:
            cv2.circle(image, (int(round(x)), int(round(y))), thickness + 1, color, -1,
                       lineType=cv2.LINE_AA)


def _draw_panel(image: np.ndarray, face: Face, panel: Panel) -> None:
    """The title row, then one bar per class (most probable first), on a dark panel."""
    x1, y1, x2, y2 = panel.box
    row, color = panel.row, LABEL_COLORS.get(face.label, (0, 255, 0))
    image[y1:y2, x1:x2] = (image[y1:y2, x1:x2] * 0.25 + 10).astype(np.uint8)
    font = _font_scale(row)
    cv2.putText(image, _title(face), (x1 + 3, y1 + row - 3), cv2.FONT_HERSHEY_SIMPLEX, font,
                color, 1, cv2.LINE_AA)
    if not panel.bars:
        return
    ranked = sorted(face.probabilities.items(), key=lambda kv: -kv[1])
    for k, (name, p) in enumerate(ranked, start=1):
        y = y1 + k * row
        cv2.rectangle(image, (x1, y), (x1 + int((x2 - x1 - 1) * p), y + row - 2),
                      LABEL_COLORS.get(name, (0, 255, 0)), -1)
        cv2.putText(image, f"{name} {p:.2f}", (x1 + 3, y + row - 4), cv2.FONT_HERSHEY_SIMPLEX,
                    font * 0.9, (255, 255, 255), 1, cv2.LINE_AA)


def _font_scale(row: int) -> float:
    """Hershey font scale whose capitals fit a text row of `row` pixels."""
    return max(0.25, (row - 4) / 22.0)


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float,
          color: tuple[int, int, int]) -> None:
    font_scale = max(0.35, 0.5 * scale)
    thickness = max(1, round(scale))
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0),
                thickness + 2, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, thickness,
                cv2.LINE_AA)
