"""`Recognizer`: faces in, expressions out. Detects every face, aligns it to the model's input
size, classifies the crops in batches and returns typed `Prediction`s.

Probabilities are softmax(mean logits / temperature): the mean of SCAN-CCI's 5 logit vectors is
what the model outputs, and the temperature is 1 unless the checkpoint was calibrated.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scancci.errors import InvalidInputError
from scancci.faces.align import DEFAULT_TEMPLATE, box_matrix, crop_face, landmark_box, warp
from scancci.faces.detect import DetectedFace, FaceDetector
from scancci.faces.names import DEFAULT_DETECTOR
from scancci.inference.annotate import draw_prediction
from scancci.inference.backends import create_classifier, default_backend
from scancci.inference.folder import iter_folder, predict_folder
from scancci.inference.images import describe_source, read_rgb
from scancci.inference.results import Face, Prediction
from scancci.inference.video import iter_video, predict_video
from scancci.models.zoo import DEFAULT_PRETRAINED, get_pretrained, list_pretrained
from scancci.runtime.batches import preprocess_crops, softmax
from scancci.runtime.classifier import classify


class Recognizer:
    """Facial expressions of every face in images, folders, videos and webcams.

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
        sources = list(sources) if sources is not None else [describe_source(i) for i in images]
        arrays: list[np.ndarray | None] = []
        errors: list[str | None] = []
        for image in images:
            array, error = read_rgb(image)
            arrays.append(array)
            errors.append(error)
        return self.predict_arrays(arrays, sources, errors=errors, attention=attention)

    def predict_arrays(self, arrays: Sequence[np.ndarray | None], sources: Sequence[str], *,
                       errors: Sequence[str | None] | None = None, attention: bool = False,
                       frames: Sequence[int | None] | None = None,
                       timestamps: Sequence[float | None] | None = None) -> list[Prediction]:
        """Predictions for already decoded RGB arrays (None where reading failed)."""
        readable = [i for i, a in enumerate(arrays) if a is not None]
        found = self.detector.detect_batch([arrays[i] for i in readable]) if readable else []
        detections: list[list[DetectedFace] | None] = [None] * len(arrays)
        for i, faces in zip(readable, found, strict=True):
            detections[i] = faces
        return self.predict_detected(arrays, detections, sources, errors=errors,
                                     attention=attention, frames=frames, timestamps=timestamps)

    def predict_detected(self, arrays: Sequence[np.ndarray | None],
                         detections: Sequence[Sequence[DetectedFace] | None],
                         sources: Sequence[str], *, errors: Sequence[str | None] | None = None,
                         attention: bool = False, frames: Sequence[int | None] | None = None,
                         timestamps: Sequence[float | None] | None = None) -> list[Prediction]:
        """Predictions for decoded RGB arrays whose faces are already known (a video's faces
        carried by the tracker between detections): every crop classified in one pass."""
        count = len(arrays)
        errors = list(errors or [None] * count)
        frames = list(frames or [None] * count)
        timestamps = list(timestamps or [None] * count)
        known = {i: list(found) for i, found in enumerate(detections)
                 if found is not None and arrays[i] is not None}
        faces = self._classify_all(arrays, known, attention)
        predictions = []
        for i, array in enumerate(arrays):
            height, width = (0, 0) if array is None else array.shape[:2]
            predictions.append(Prediction(
                source=sources[i], width=int(width), height=int(height),
                faces=tuple(faces.get(i, ())), error=errors[i] if array is None else None,
                frame=frames[i], timestamp=timestamps[i], class_names=self.class_names))
        return predictions

    def classify_crops(self, crops: Sequence[np.ndarray], *, attention: bool = False
                       ) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities (N x C) and optional attention maps (N x h x w) of aligned RGB crops,
        run in chunks of `batch_size`."""
        probabilities, maps = [], []
        for start in range(0, len(crops), self.batch_size):
            batch = preprocess_crops(crops[start:start + self.batch_size], self.config)
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

    def predict_folder(self, folder: str | Path, output: str | Path, **options: Any) -> Any:
        """Predict every image under `folder` into a CSV/JSONL file; see `predict_folder`."""
        return predict_folder(self, folder, output, **options)

    def iter_folder(self, folder: str | Path, **options: Any) -> Iterator[Prediction]:
        """Predictions for every image under `folder`, streamed in batches."""
        for prediction, _ in iter_folder(self, folder, **options):
            yield prediction

    def predict_video(self, source: str | Path | int, output: str | Path | None = None,
                      **options: Any) -> Any:
        """Per-frame predictions of a video file or webcam index; see `predict_video`."""
        return predict_video(self, source, output, **options)

    def iter_video(self, source: str | Path | int, **options: Any) -> Iterator[Prediction]:
        """Per-frame predictions with track ids, streamed with bounded memory."""
        for prediction, _ in iter_video(self, source, **options):
            yield prediction

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

    def _classify_all(self, arrays: Sequence[np.ndarray | None],
                      detections: dict[int, list[DetectedFace]], attention: bool
                      ) -> dict[int, list[Face]]:
        owners = [(i, face) for i, found in detections.items() for face in found]
        crops = [self.crop(arrays[i], face) for i, face in owners]
        probabilities, maps = self.classify_crops(crops, attention=attention)
        faces: dict[int, list[Face]] = {}
        for k, (i, detected) in enumerate(owners):
            faces.setdefault(i, []).append(self._face(detected, probabilities[k],
                                                      None if maps is None else maps[k]))
        return faces

    def _face(self, detected: DetectedFace, probabilities: np.ndarray,
              attention: np.ndarray | None) -> Face:
        names = self.class_names
        landmarks = None if detected.landmarks is None else \
            tuple((float(x), float(y)) for x, y in detected.landmarks)
        return Face(box=tuple(float(v) for v in detected.box), landmarks=landmarks,
                    detection_score=float(detected.score),
                    probabilities={n: float(p) for n, p in zip(names, probabilities, strict=True)},
                    label=names[int(np.argmax(probabilities))], attention=attention)


def resolve_pretrained(model: Any) -> Any:
    """The default baseline's name for None (announced on stderr: it is not SCAN-CCI); a
    misspelt zoo name that is no path is refused with the close name; anything else as is."""
    if model is None:
        print(f"model: {get_pretrained(DEFAULT_PRETRAINED).describe()}", file=sys.stderr)
        return DEFAULT_PRETRAINED
    if isinstance(model, str) and not Path(model).exists() and model not in list_pretrained() \
            and difflib.get_close_matches(model, list_pretrained(), n=1, cutoff=0.6):
        get_pretrained(model)  # raises, suggesting the close name
    return model
