"""Faces in raw photos: detection with 5 landmarks (MTCNN from the facenet-pytorch wheel, or
OpenCV's Haar cascade), alignment to a canonical template, synthetic surgical masks, and
dataset preparation (detect + align a whole dataset, keeping its layout)."""

from scancci.faces.align import TEMPLATES, align_face, alignment_matrix, crop_face, template_points
from scancci.faces.detect import DETECTORS, DetectedFace, FaceDetector
from scancci.faces.masks import apply_mask, mask_polygon
from scancci.faces.prepare import mask_dataset, mask_image, prepare_dataset

__all__ = [
    "DETECTORS",
    "TEMPLATES",
    "DetectedFace",
    "FaceDetector",
    "align_face",
    "alignment_matrix",
    "apply_mask",
    "crop_face",
    "mask_dataset",
    "mask_image",
    "mask_polygon",
    "prepare_dataset",
    "template_points",
]
