"""`Recognizer`: faces in, expressions out. Detects every face of a batch of frames, aligns
each to the model's input size, classifies all the crops in batches and scatters the results
back as typed `Prediction`s, one per frame.

It knows nothing of where frames come from or where results go: sources, sinks and the stream
loop that joins them (`scancci.inference.stream`) sit above it, and per-stream state (faces
followed between detections, track ids, smoothing) lives in that loop.

Probabilities are softmax(mean logits / temperature): the mean of SCAN-CCI's 5 logit vectors is
what the model outputs, and the temperature is 1 unless the checkpoint was calibrated.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scancci.errors import InvalidInputError
from scancci.faces.align import DEFAULT_TEMPLATE, box_matrix, crop_face, landmark_box, warp
from scancci.faces.detect import DetectedFace, FaceDetector
from scancci.faces.names import DEFAULT_DETECTOR
from scancci.imaging import describe_source, model_input, read_rgb
from scancci.inference.annotate import draw_prediction
from scancci.inference.backends import create_classifier, default_backend
from scancci.inference.frames import Frame
from scancci.inference.identity import model_identity
from scancci.inference.results import Face, Prediction
from scancci.models.zoo import DEFAULT_PRETRAINED, get_pretrained, list_pretrained
from scancci.runtime.batches import softmax
from scancci.runtime.classifier import classify


class Recognizer:
    """Facial expressions of every face in images and frames.

    model: a saved model (anything `load_model` accepts), a scancci module, an .onnx file
    (backend="onnx"), a classifier object, or the name of a pretrained baseline
    (`scancci.list_pretrained()`); None: the default baseline, named in one line on stderr
    (no trained SCAN-CCI weights exist). detector: "blazeface" (default),
    "mtcnn", "opencv" or a FaceDetector.
    backend/precision: "torch" with "fp32"/"bf16", or "onnx" with "fp32"/"int8"; backend
    None runs .onnx files and the pretrained baselines (fp32, CPU: converted to ONNX once) on
    onnxruntime, without importing PyTorch, and everything else on PyTorch.
    """

    def __init__(self, model: Any = None, *, detector: str | FaceDetector = DEFAULT_DETECTOR,
                 device: str = "cpu", batch_size: int = 32, backend: str | None = None,
                 precision: str = "fp32", template: str = DEFAULT_TEMPLATE) -> None:
        if int(batch_size) < 1:
            raise InvalidInputError(f"batch_size must be at least 1, got {batch_size}")
        model = resolve_pretrained(model)
        self.classifier = create_classifier(model, backend=backend, precision=precision,
                                            device=device)
        self.detector = detector if isinstance(detector, FaceDetector) else \
            FaceDetector(detector, device=device)
        self.config = self.classifier.config
        self.identity = model_identity(model, self.config)  # in every row and JSON object
        self.backend = backend or default_backend(model, device, precision)
        self.precision = getattr(self.classifier, "precision", precision)
        self.batch_size = int(batch_size)
        self.template = template

    @property
    def class_names(self) -> tuple[str, ...]:
        """The model's class names, in logit order."""
        return tuple(self.config.class_names)

    @property
    def temperature(self) -> float:
        """Softmax temperature from the checkpoint (1.0 when not calibrated)."""
        return float(getattr(self.config, "temperature", 1.0) or 1.0)

    def predict(self, image: Any, *, attention: bool = False, source: str | None = None
                ) -> Prediction:
        """Every face of one image (path, bytes, PIL image or RGB array). An unreadable input
        gives a Prediction with `error` set instead of an exception."""
        return self.predict_batch([image], attention=attention,
                                  sources=None if source is None else [source])[0]

    def predict_batch(self, images: Sequence[Any], *, attention: bool = False,
                      sources: Sequence[str] | None = None) -> list[Prediction]:
        """Predictions for several images: one detection batch, one classification pass."""
        names = list(sources) if sources is not None else [describe_source(i) for i in images]
        frames = []
        for name, image in zip(names, images, strict=True):
            array, error = read_rgb(image)
            frames.append(Frame(name, array, error=error))
        return self.predict_frames(frames, attention=attention)

    def predict_frames(self, frames: Sequence[Frame], *,
                       faces: Sequence[Sequence[DetectedFace] | None] | None = None,
                       attention: bool = False) -> list[Prediction]:
        """One Prediction per frame: the frames whose `faces` are None (all of them by default)
        detected in one batch, then every face of every frame cropped and classified in one
        pass, and the results scattered back to their frames. An undecodable frame (no image)
        gives a Prediction with its error."""
        found: list[Sequence[DetectedFace] | None] = \
            list(faces) if faces is not None else [None] * len(frames)
        if len(found) != len(frames):
            raise InvalidInputError(f"faces: {len(found)} entries for {len(frames)} frames")
        images = {i: f.image for i, f in enumerate(frames) if f.image is not None}
        todo = [i for i in images if found[i] is None]
        for i, faces_of in zip(todo, self.detect([images[i] for i in todo]), strict=True):
            found[i] = faces_of
        owners = [(i, face) for i in images for face in found[i] or ()]
        probabilities, maps = self.classify_crops(
            [self.crop(images[i], face) for i, face in owners], attention=attention)
        per_frame: list[list[Face]] = [[] for _ in frames]
        for k, (i, face) in enumerate(owners):
            per_frame[i].append(self._face(face, probabilities[k],
                                           None if maps is None else maps[k]))
        return [self._prediction(frame, tuple(faces_of))
                for frame, faces_of in zip(frames, per_frame, strict=True)]

    def detect(self, images: Sequence[np.ndarray]) -> list[list[DetectedFace]]:
        """The faces of decoded RGB images (largest first), in the detector's batches."""
        return self.detector.detect_batch(list(images)) if len(images) else []

    def classify_crops(self, crops: Sequence[np.ndarray], *, attention: bool = False
                       ) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities (N x C) and optional attention maps (N x h x w) of aligned RGB crops,
        run in chunks of `batch_size`."""
        probabilities, maps = [], []
        for start in range(0, len(crops), self.batch_size):
            batch = model_input(crops[start:start + self.batch_size], self.config.input_size,
                                self.config.mean, self.config.std)
            logits, amap = classify(self.classifier, batch, attention=attention)
            probabilities.append(softmax(logits, self.temperature))
            if amap is not None:
                maps.append(amap)
        if not probabilities:
            return np.zeros((0, len(self.class_names))), None
        return np.concatenate(probabilities), np.concatenate(maps) if maps else None

    def crop(self, image: np.ndarray, face: DetectedFace) -> np.ndarray:
        """The face aligned to the model's input size (box crop when it has no landmarks), or
        the upright box crop with the model's own margin when its config sets `crop_margin`
        (the box rebuilt from the landmarks, so every detector gives the same crop)."""
        size = int(self.config.input_size)
        margin = getattr(self.config, "crop_margin", None)
        if margin is not None:
            box = face.box if face.landmarks is None else landmark_box(face.landmarks)
            return warp(image, box_matrix(box, size, float(margin)), size)
        return crop_face(image, face.box, face.landmarks, output_size=size,
                         template=self.template)

    def annotate(self, image: Any, prediction: Prediction, *, attention: bool = False
                 ) -> np.ndarray:
        """The image with boxes, labels, probability bars and optionally attention overlays."""
        array, error = read_rgb(image)
        if array is None:
            raise InvalidInputError(error or "unreadable image")
        return draw_prediction(array, prediction, attention=attention,
                               input_size=int(self.config.input_size), template=self.template)

    def __repr__(self) -> str:
        return (f"Recognizer({self.config.arch!r}, detector={self.detector.backend!r}, "
                f"backend={self.backend!r}, precision={self.precision!r})")

    def _prediction(self, frame: Frame, faces: tuple[Face, ...]) -> Prediction:
        height, width = (0, 0) if frame.image is None else frame.image.shape[:2]
        return Prediction(source=frame.source, width=int(width), height=int(height),
                          faces=faces, error=frame.error if frame.image is None else None,
                          frame=frame.index, timestamp=frame.timestamp,
                          class_names=self.class_names, model=self.identity.name,
                          model_version=self.identity.version)

    def _face(self, detected: DetectedFace, probabilities: np.ndarray,
              attention: np.ndarray | None) -> Face:
        names = self.class_names
        landmarks = None if detected.landmarks is None else \
            tuple((float(x), float(y)) for x, y in detected.landmarks)
        x1, y1, x2, y2 = (float(v) for v in detected.box)
        return Face(box=(x1, y1, x2, y2), landmarks=landmarks,
                    detection_score=float(detected.score),
                    probabilities={n: float(p) for n, p in zip(names, probabilities, strict=True)},
                    label=names[int(np.argmax(probabilities))], attention=attention)


def resolve_pretrained(model: Any) -> Any:
    """The default baseline's name for None; a baseline (the default or a named one) is
    announced in one stderr line (it is not SCAN-CCI); a misspelt zoo name that is no path is
    refused with the close name; anything else as is."""
    model = DEFAULT_PRETRAINED if model is None else model
    if isinstance(model, str) and model in list_pretrained() and not Path(model).exists():
        print(f"model: {get_pretrained(model).describe()}", file=sys.stderr)
        return model
    if isinstance(model, str) and not Path(model).exists() and model not in list_pretrained() \
            and difflib.get_close_matches(model, list_pretrained(), n=1, cutoff=0.6):
        get_pretrained(model)  # raises, suggesting the close name
    return model
