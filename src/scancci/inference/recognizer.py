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

import copy
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scancci.errors import InvalidInputError
from scancci.faces.align import (
    DEFAULT_TEMPLATE,
    box_matrix,
    face_matrix,
    upright_box_matrix,
    warp,
)
from scancci.faces.boxes import whole_image_face
from scancci.faces.detect import DetectedFace, FaceDetector
from scancci.faces.names import DEFAULT_DETECTOR, NO_DETECTOR
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
    "mtcnn", "opencv", a FaceDetector, or None ("none"): each whole image (or frame) is one
    face, for pre-cut face crops. min_score, min_face_size, rotation: the detector's settings
    (None: its defaults; see `FaceDetector`).
    backend/precision: "torch" with "fp32"/"bf16", or "onnx" with "fp32"/"int8"; backend
    None runs .onnx files and the pretrained baselines (fp32, CPU: converted to ONNX once) on
    onnxruntime, without importing PyTorch, and everything else on PyTorch.
    """

    def __init__(self, model: Any = None, *,
                 detector: str | FaceDetector | None = DEFAULT_DETECTOR, device: str = "cpu",
                 batch_size: int = 32, backend: str | None = None, precision: str = "fp32",
                 template: str = DEFAULT_TEMPLATE, min_score: float | None = None,
                 min_face_size: float | None = None, rotation: int | str | None = None
                 ) -> None:
        if int(batch_size) < 1:
            raise InvalidInputError(f"--batch-size must be at least 1, got {batch_size}")
        self.detector = make_detector(detector, device=device, min_score=min_score,
                                      min_face_size=min_face_size, rotation=rotation)
        model = resolve_pretrained(model)
        self.classifier = create_classifier(model, backend=backend, precision=precision,
                                            device=device)
        self.config = self.classifier.config
        self.identity = model_identity(model, self.config)  # in every row and JSON object
        self.backend = backend or default_backend(model, device, precision)
        self.precision = getattr(self.classifier, "precision", precision)
        self.batch_size = int(batch_size)
        self.template = template

    def configured(self, *, no_detector: bool = False, min_score: float | None = None,
                   min_face_size: float | None = None, rotation: int | str | None = None
                   ) -> Recognizer:
        """A copy sharing the loaded classifier and detector network, with other detector
        settings (None keeps this one's), or without a detector (each whole image one face)."""
        other = copy.copy(self)
        if no_detector or self.detector is None:
            other.detector = None
        else:
            other.detector = self.detector.configured(min_score=min_score,
                                                      min_face_size=min_face_size,
                                                      rotation=rotation)
        return other

    @property
    def class_names(self) -> tuple[str, ...]:
        """The model's class names, in logit order."""
        return tuple(self.config.class_names)

    @property
    def has_attention(self) -> bool:
        """True when the model computes SCAN attention maps (SCAN-CCI models)."""
        known = getattr(self.classifier, "has_attention", None)
        return bool(known) if known is not None else \
            str(self.config.arch).startswith("scancci")

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
        if attention:
            self.check_attention()
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

    def detect(self, images: Sequence[np.ndarray], *, rotation: int | str | None = None
               ) -> list[list[DetectedFace]]:
        """The faces of decoded RGB images (largest first), in the detector's batches; without
        a detector, each whole image. `rotation` overrides the detector's for this call."""
        if self.detector is None:
            return [[whole_image_face(image.shape)] for image in images]
        return self.detector.detect_batch(list(images), rotation=rotation) if len(images) \
            else []

    def check_attention(self) -> None:
        """Refuse a request for attention maps the model cannot give."""
        if not self.has_attention:
            raise InvalidInputError(
                f"--attention: the model {self.identity.name} has no attention maps (only "
                "SCAN-CCI models compute them); run without --attention")

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
        """The face as the model was trained to see it, at its input size (`crop_matrix`)."""
        size = int(self.config.input_size)
        return warp(image, self.crop_matrix(face.box, face.landmarks), size)

    def crop_matrix(self, box: Sequence[float], landmarks: Any | None) -> np.ndarray:
        """The 2 x 3 transform from image to crop pixels, with the crop geometry the model was
        trained with, always upright (turned by the eye line): aligned to the landmark
        template; or, when the config sets `crop_margin`, the square box crop with that margin
        (the box rebuilt from the landmarks, so every detector gives the same crop). Without a
        detector the whole image is the crop; without landmarks, a square around the box."""
        size = int(self.config.input_size)
        margin = getattr(self.config, "crop_margin", None)
        if self.detector is None:
            return box_matrix(box, size, 0.0)
        if margin is not None:
            if landmarks is None:
                return box_matrix(box, size, float(margin))
            return upright_box_matrix(landmarks, size, float(margin))
        return face_matrix(box, landmarks, size, self.template)

    def annotate(self, image: Any, prediction: Prediction, *, attention: bool = False
                 ) -> np.ndarray:
        """The image with boxes, labels, probability bars and optionally attention overlays."""
        array, error = read_rgb(image)
        if array is None:
            raise InvalidInputError(error or "unreadable image")
        return draw_prediction(array, prediction, attention=attention,
                               input_size=int(self.config.input_size),
                               crop_matrix=self.crop_matrix)

    def __repr__(self) -> str:
        detector = NO_DETECTOR if self.detector is None else self.detector.backend
        return (f"Recognizer({self.config.arch!r}, detector={detector!r}, "
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
                    detection_score=None if self.detector is None else float(detected.score),
                    probabilities={n: float(p) for n, p in zip(names, probabilities, strict=True)},
                    label=names[int(np.argmax(probabilities))], attention=attention,
                    rotation=int(detected.rotation))


def make_detector(detector: str | FaceDetector | None, *, device: str = "cpu",
                  min_score: float | None = None, min_face_size: float | None = None,
                  rotation: int | str | None = None) -> FaceDetector | None:
    """The FaceDetector a Recognizer uses: built from a name with these settings (None or
    "none": no detector), or a given one with the settings that are not None applied."""
    if detector is None or detector == NO_DETECTOR:
        return None
    if isinstance(detector, FaceDetector):
        return detector.configured(min_score=min_score, min_face_size=min_face_size,
                                   rotation=rotation)
    return FaceDetector(detector, device=device, min_score=min_score,
                        min_face_size=min_face_size, rotation=rotation)


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
