"""Pictures people would rather look at than read: boxes, labels, probability bars and SCAN
attention overlays drawn on the original image.

The attention map lives on the aligned crop; it is warped back into the image with the inverse
of the same alignment transform, so it lies on the face even for tilted heads.
"""

from __future__ import annotations

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
    """A copy of the RGB image with every face of `prediction` drawn on it."""
    out = np.ascontiguousarray(image).copy()
    scale = max(out.shape[:2]) / 800.0  # line widths and fonts follow the image size
    for face in prediction.faces:
        if attention and face.attention is not None:
            out = overlay_attention(out, face, input_size=input_size, template=template,
                                    colormap=colormap)
    for face in prediction.faces:
        _draw_face(out, face, scale, bars)
    if prediction.timestamp is not None:
        _text(out, f"t={prediction.timestamp:.2f}s", (int(8 * scale) + 4, int(24 * scale) + 8),
              scale, (255, 255, 255))
    return out


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

    amap = stretch_attention(face.attention, input_size)
    heat = (colormaps[colormap](amap)[..., :3] * 255).astype(np.float32)
    matrix = face_matrix(face.box, face.landmarks, input_size, template)
    height, width = image.shape[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    heat = cv2.warpAffine(heat, matrix, (width, height), flags=flags)
    weight = cv2.warpAffine(np.full((input_size, input_size), opacity, np.float32), matrix,
                            (width, height), flags=flags)[..., None]
    blended = image.astype(np.float32) * (1 - weight) + heat * weight
    return np.clip(blended, 0, 255).astype(np.uint8)


def _draw_face(image: np.ndarray, face: Face, scale: float, bars: bool) -> None:
    color = LABEL_COLORS.get(face.label, (0, 255, 0))
    thickness = max(1, round(2 * scale))
    x1, y1, x2, y2 = (int(round(v)) for v in face.box)
    cv2.rectangle(image, (x1, y1), (x2, y2), color, thickness, lineType=cv2.LINE_AA)
    if face.landmarks is not None:
        for x, y in face.landmarks:
            cv2.circle(image, (int(round(x)), int(round(y))), thickness + 1, color, -1,
                       lineType=cv2.LINE_AA)
    title = f"{face.label} {face.confidence:.0%}"
    if face.track_id is not None:
        title = f"#{face.track_id} {title}"
    _text(image, title, (x1, max(int(14 * scale) + 4, y1 - 6)), scale, color)
    if bars:
        _draw_bars(image, face, (x1, y2 + 4), max(60, x2 - x1), scale)


def _draw_bars(image: np.ndarray, face: Face, origin: tuple[int, int], width: int,
               scale: float) -> None:
    """One horizontal bar per class under the box, longest for the most probable."""
    row = max(10, int(round(13 * scale)))
    x0, y0 = origin
    for k, (name, p) in enumerate(sorted(face.probabilities.items(), key=lambda kv: -kv[1])):
        y = y0 + k * row
        if y + row > image.shape[0]:
            break
        color = LABEL_COLORS.get(name, (0, 255, 0))
        cv2.rectangle(image, (x0, y), (x0 + width, y + row - 2), (40, 40, 40), -1)
        cv2.rectangle(image, (x0, y), (x0 + int(width * p), y + row - 2), color, -1)
        _text(image, f"{name} {p:.2f}", (x0 + 2, y + row - 4), scale * 0.75, (255, 255, 255),
              outline=False)


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float,
          color: tuple[int, int, int], outline: bool = True) -> None:
    font_scale = max(0.35, 0.5 * scale)
    thickness = max(1, round(scale))
    if outline:
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0),
                    thickness + 2, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, thickness,
                cv2.LINE_AA)
