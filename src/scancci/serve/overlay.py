"""Attention maps as transparent PNG heatmaps the page draws over each face."""

from __future__ import annotations

import base64

import cv2
import numpy as np

from scancci.inference.annotate import stretch_attention


def attention_png(attention: np.ndarray, size: int = 112) -> str:
    """An h x w map in [0, 1] as a size x size RGBA PNG (JET colours, alpha = attention), base64."""
    amap = stretch_attention(attention, size)
    levels = (amap * 255).astype(np.uint8)
    bgr = cv2.applyColorMap(levels, cv2.COLORMAP_JET)
    alpha = (64 + levels.astype(np.float32) * (160 / 255)).astype(np.uint8)  # never fully opaque
    ok, png = cv2.imencode(".png", np.dstack([bgr, alpha]))
    if not ok:  # pragma: no cover - OpenCV always encodes a small uint8 image
        raise RuntimeError("could not encode the attention overlay")
    return base64.b64encode(png.tobytes()).decode("ascii")
