"""Pictures people would rather look at than read: boxes, labels, probability bars and SCAN
attention overlays drawn on the original image.

The attention map lives on the aligned crop; it is warped back into the image with the inverse
of the same alignment transform, so it lies on the face even for tilted heads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from scancci.faces.align import DEFAULT_TEMPLATE, face_matrix
from scancci.inference.results import Face, Prediction

# One colour per canonical class (RGB), so a label has the same colour everywhere. Each keeps a
# contrast ratio of at least 4.5:1 (WCAG AA) as text on PANEL_COLOR (tested).
LABEL_COLORS: dict[str, tuple[int, int, int]] = {
    "neutral": (200, 200, 200), "happy": (255, 200, 0), "sad": (90, 150, 255),
    "surprise": (255, 120, 220), "fear": (170, 120, 255), "disgust": (60, 200, 90),
    "anger": (255, 80, 80), "contempt": (255, 150, 60),
}
OTHER_COLOR = (0, 230, 0)  # classes without a colour of their own (class_0, ...)
PANEL_COLOR = (18, 18, 18)  # opaque label panels: their text is readable on any photo
TEXT_COLOR = (240, 240, 240)  # class names and probabilities beside the bars
# image, face box, landmarks -> the 2 x 3 crop transform the model's input came from
CropMatrix = Callable[[Sequence[float], object], np.ndarray]


def label_color(name: str) -> tuple[int, int, int]:
    """The colour of a class's boxes, title text and bar."""
    return LABEL_COLORS.get(name, OTHER_COLOR)


def contrast_ratio(a: Sequence[int], b: Sequence[int]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (1 to 21)."""
    def luminance(color: Sequence[int]) -> float:
        c = np.asarray(color, dtype=np.float64) / 255.0
        linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return float(linear @ [0.2126, 0.7152, 0.0722])
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def draw_prediction(image: np.ndarray, prediction: Prediction, *, attention: bool = False,
                    bars: bool = True, input_size: int = 224,
                    crop_matrix: CropMatrix | None = None, colormap: str = "jet"
                    ) -> np.ndarray:
    """A copy of the RGB image with every face of `prediction` drawn on it: boxes, one label
    panel per face placed inside the picture clear of other faces and panels, overlays. Text,
    lines and bars grow with the picture (the size of an 800 px picture's, scaled).
    `crop_matrix(box, landmarks)` is the crop the attention map lives on (default: the
    landmark template's)."""
    out = np.ascontiguousarray(image).copy()
    scale = max(out.shape[:2]) / 800.0  # line widths and fonts follow the image size
    for face in prediction.faces:
        if attention and face.attention is not None:
            out = overlay_attention(out, face, input_size=input_size, colormap=colormap,
                                    crop_matrix=crop_matrix)
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
    """Where a face's label panel goes: its box (x1, y1, x2, y2, pixels, end exclusive), the
    height of one text row (the title, then one bar per class when bars are drawn) and the
    width of the text column left of the bars."""

    box: tuple[int, int, int, int]
    row: int
    bars: bool
    text_width: int = 0


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
        row = max(8, min(max(12, int(round(17 * scale))), (height - 2) // rows))
        font, weight = _font_scale(row), _thickness(row)
        names = max(face.probabilities, key=len) if bars else ""
        text_width = cv2.getTextSize(f"{names} 0.00", cv2.FONT_HERSHEY_SIMPLEX, font * 0.9,
                                     weight)[0][0] + max(6, row // 2) if bars else 0
        title = cv2.getTextSize(_title(face), cv2.FONT_HERSHEY_SIMPLEX, font, weight)[0][0] + 6
        size = (min(width, max(title, text_width + 4 * row)), min(height, rows * row))
        box = _free_spot(_int_box(face.box), size, (width, height), obstacles + placed)
        placed.append(box)
        panels.append(Panel(box, row, bars, text_width))
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
                      opacity: float = 0.45, crop_matrix: CropMatrix | None = None
                      ) -> np.ndarray:
    """Blend the face's attention heatmap (matplotlib colormap) over the face region, warped
    back from the crop it was computed on (`crop_matrix`, default the landmark template's)."""
    from matplotlib import colormaps

    if face.attention is None:
        return image
    amap = stretch_attention(face.attention, input_size)
    heat = (colormaps[colormap](amap)[..., :3] * 255).astype(np.float32)
    matrix = crop_matrix(face.box, face.landmarks) if crop_matrix is not None else \
        face_matrix(face.box, face.landmarks, input_size, template)
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
    color = label_color(face.label)
    thickness = max(1, round(2 * scale))
    x1, y1, x2, y2 = _int_box(face.box)
    cv2.rectangle(image, (x1, y1), (x2, y2), color, thickness, lineType=cv2.LINE_AA)
    if face.landmarks is not None:
        for x, y in face.landmarks:
            cv2.circle(image, (int(round(x)), int(round(y))), thickness + 1, color, -1,
                       lineType=cv2.LINE_AA)


def _draw_panel(image: np.ndarray, face: Face, panel: Panel) -> None:
    """The title row in the label's colour, then one row per class (most probable first): its
    name and probability in light text, and a bar in its colour right of the text, all on an
    opaque dark panel, so no text sits on a bar or on the photo."""
    x1, y1, x2, y2 = panel.box
    row, font, weight = panel.row, _font_scale(panel.row), _thickness(panel.row)
    image[y1:y2, x1:x2] = PANEL_COLOR
    cv2.putText(image, _title(face), (x1 + 3, y1 + _baseline(row)), cv2.FONT_HERSHEY_SIMPLEX,
                font, label_color(face.label), weight, cv2.LINE_AA)
    if not panel.bars:
        return
    ranked = sorted(face.probabilities.items(), key=lambda kv: -kv[1])
    left = x1 + panel.text_width
    for k, (name, p) in enumerate(ranked, start=1):
        y = y1 + k * row
        cv2.putText(image, f"{name} {p:.2f}", (x1 + 3, y + _baseline(row)),
                    cv2.FONT_HERSHEY_SIMPLEX, font * 0.9, TEXT_COLOR, weight, cv2.LINE_AA)
        if p > 0 and x2 - 2 > left:
            cv2.rectangle(image, (left, y + 2), (left + int((x2 - 2 - left) * p), y + row - 3),
                          label_color(name), -1)


def _font_scale(row: int) -> float:
    """Hershey font scale whose capitals and descenders (32 px at scale 1) fit a text row of
    `row` pixels, so no text reaches into the next row."""
    return max(0.25, (row - 2 - _thickness(row)) / 32.0)


def _baseline(row: int) -> int:
    """Where text sits in a row of `row` pixels: its descenders end at the row's bottom."""
    return row - 1 - int(round(10 * _font_scale(row))) - _thickness(row) // 2


def _thickness(row: int) -> int:
    """Stroke width of text in a row of `row` pixels: 1 px in a 17 px row (an 800 px picture),
    growing with the row, so text on a large photo is as bold as on a small one."""
    return max(1, round(row / 17))


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float,
          color: tuple[int, int, int]) -> None:
    font_scale = max(0.35, 0.5 * scale)
    thickness = max(1, round(scale))
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0),
                thickness + 2, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, thickness,
                cv2.LINE_AA)
