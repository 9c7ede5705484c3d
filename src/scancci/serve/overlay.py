"""Attention maps as transparent PNG heatmaps the page draws over each face."""

from __future__ import annotations

import base64

import cv2
import numpy as np


def attention_png(attention: np.ndarray, size: int = 112) -> str:
    """An h x w map in [0, 1] as a size x size RGBA PNG (JET colours, alpha = attention), base64."""
    amap = np.nan_to_num(np.asarray(attention, dtype=np.float32), nan=0.0)
    lo, hi = float(amap.min()), float(amap.max())
    amap = (amap - lo) / (hi - lo) if hi > lo else np.zeros_like(amap)  # stretch for visibility
    amap = cv2.resize(amap, (size, size), interpolation=cv2.INTER_CUBIC).clip(0.0, 1.0)
    levels = (amap * 255).astype(np.uint8)
    bgr = cv2.applyColorMap(levels, cv2.COLORMAP_JET)
    alpha = (64 + levels.astype(np.float32) * (160 / 255)).astype(np.uint8)  # never fully opaque
    ok, png = cv2.imencode(".png", np.dstack([bgr, alpha]))
    if not ok:  # pragma: no cover - OpenCV always encodes a small uint8 image
        raise RuntimeError("could not encode the attention overlay")
    return base64.b64encode(png.tobytes()).decode("ascii")
