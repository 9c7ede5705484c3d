"""MTCNN (facenet-pytorch's PNet, RNet, ONet with the weights its wheel ships), loaded
`weights_only`, as a `scancci.faces.detect` backend; PyTorch is imported only when it is used."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scancci.devices import resolve_device
from scancci.errors import MissingDependencyError, ScanCCIError, error_detail
from scancci.faces.boxes import DetectedFace


class MtcnnBackend:
    """facenet-pytorch's MTCNN stages, with its packaged weights loaded `weights_only`."""

    def __init__(self, device: str | torch.device, min_face_size: int,
                 thresholds: tuple[float, float, float]) -> None:
        detect_face, nets = _load_mtcnn()
        self._detect_face = detect_face
        self.device = resolve_device(device)
        self.nets = [net.to(self.device).eval() for net in nets]
        self.min_face_size = min_face_size
        self.thresholds = list(thresholds)

    def detect(self, images: list[np.ndarray], min_score: float = 0.0
               ) -> list[list[DetectedFace]]:
        """Faces of same-size images (the detector applies `min_score` afterwards)."""
        if min(images[0].shape[:2]) < max(12, self.min_face_size):
            return [[] for _ in images]  # smaller than the smallest face MTCNN can see
        batch = np.ascontiguousarray(np.stack(images))
        with torch.inference_mode():
            boxes, points = self._detect_face(batch, self.min_face_size, *self.nets,
                                              self.thresholds, 0.709, self.device)
        # facenet-pytorch returns object arrays (one entry per image) under numpy 2.
        return [_mtcnn_faces(b, p) for b, p in zip(boxes, points, strict=True)]


def _mtcnn_faces(boxes: Any, points: Any) -> list[DetectedFace]:
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 5)  # x1, y1, x2, y2, score
    points = np.asarray(points, dtype=np.float32).reshape(-1, 5, 2)
    return [DetectedFace((float(b[0]), float(b[1]), float(b[2]), float(b[3])), p.copy(),
                         float(b[4]))
            for b, p in zip(boxes, points, strict=True)]


def _load_mtcnn() -> tuple[Any, list[torch.nn.Module]]:
    """PNet, RNet, ONet with the weights from the facenet-pytorch wheel (no download)."""
    if importlib.util.find_spec("facenet_pytorch") is None:
        raise ScanCCIError(
            "the MTCNN face detector needs the facenet-pytorch package, which is not installed. "
            "Install it without its outdated pins: `pip install --no-deps facenet-pytorch==2.6.0`"
            ", or use the OpenCV detector (detector='opencv' / --detector opencv)"
        )
    try:
        import facenet_pytorch
        from facenet_pytorch.models.mtcnn import ONet, PNet, RNet
        from facenet_pytorch.models.utils.detect_face import detect_face
    except ImportError as err:
        missing = getattr(err, "name", None)
        if missing and not missing.startswith("facenet_pytorch"):  # one of its own imports
            raise MissingDependencyError(
                f"facenet-pytorch (the MTCNN detector) imports {missing}, which is not installed "
                f"(--no-deps left it out): pip install {missing}, or use detector='blazeface'"
            ) from err
        raise MissingDependencyError(
            f"facenet-pytorch is installed but cannot be imported ({error_detail(err)}); "
            "reinstall it with `pip install --no-deps facenet-pytorch==2.6.0` or use "
            "detector='blazeface'") from err
    data = Path(facenet_pytorch.__file__).parent / "data"
    nets = []
    for cls, name in ((PNet, "pnet"), (RNet, "rnet"), (ONet, "onet")):
        path = data / f"{name}.pt"
        if not path.is_file():
            raise ScanCCIError(f"{path}: MTCNN weights missing from the facenet-pytorch package; "
                               "reinstall it or use detector='opencv'")
        net = cls(pretrained=False)
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        nets.append(net)
    return detect_face, nets


