"""Whole datasets through the face tools, written back in their native layout:
`prepare_dataset` detects and aligns every image (SFEW, AffectNet, your folders) and
`mask_dataset` draws synthetic masks. Both copy the other files (label lists) unchanged, are
resumable (existing outputs and images already reported are skipped), and write a CSV report of
images with no face or that could not be read. Every file is written under a temporary name and
renamed into place, so an interrupted run (kill -9) never leaves a half-written image that a
resumed run would take as done.

A run is `plan_dataset` (the images left to do; the other files copied) then
`process_images` chunk after chunk (one outcome per image) folded into the report; the Ray
engine (`scancci.engines.prepare`) runs the same chunks as tasks.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from scancci.errors import InvalidInputError
from scancci.faces.align import DEFAULT_TEMPLATE, crop_face, template_points
from scancci.faces.detect import DetectedFace, FaceDetector
from scancci.faces.masks import apply_mask
from scancci.faces.names import DEFAULT_DETECTOR
from scancci.imaging import is_image_file, load_image

REPORT_NAME = {"prepare": "scancci-prepare-report.csv", "mask": "scancci-mask-report.csv"}

# image (RGB array), its faces (largest first) -> output image, or None when it has no face
Processor = Callable[[np.ndarray, list[DetectedFace]], np.ndarray | None]
# what became of one image: "written" | "no_face" | "error", a message, the faces found
Outcome = tuple[str, str, int]


@dataclass
class DatasetReport:
    """Counts of a dataset run and the images it could not process (path, reason)."""

    written: int = 0
    skipped: int = 0
    copied: int = 0
    multi_face: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # path, status, message
    report: Path | None = None

    def add(self, path: str, outcome: Outcome) -> None:
        """Fold in one image's outcome."""
        status, message, faces = outcome
        self.multi_face += faces > 1
        if status == "written":
            self.written += 1
        else:
            self.failures.append((path, status, message))

    def __str__(self) -> str:
        no_face = sum(1 for _, status, _ in self.failures if status == "no_face")
        errors = len(self.failures) - no_face
        return (f"{self.written} images written, {self.skipped} already done, {no_face} without "
                f"a face, {errors} unreadable, {self.multi_face} with several faces, "
                f"{self.copied} other files copied" + (f"; report: {self.report}"
                                                        if self.report else ""))


def prepare_dataset(source: str | Path, destination: str | Path, *,
                    detector: str | FaceDetector = DEFAULT_DETECTOR, output_size: int = 224,
                    template: str = DEFAULT_TEMPLATE, resume: bool = True,
                    progress: bool = True) -> DatasetReport:
    """Detect and align the largest face of every image under `source` into `destination`
    (same relative paths), as `output_size` squares."""
    align = Aligner(output_size, template)  # validated before any file is touched
    return process_dataset(source, destination, align, detector=_detector(detector),
                           kind="prepare", resume=resume, progress=progress)


@dataclass(frozen=True)
class Aligner:
    """The Processor of `prepare`: the largest face aligned to an `output_size` square."""

    output_size: int = 224
    template: str = DEFAULT_TEMPLATE

    def __post_init__(self) -> None:
        template_points(self.output_size, self.template)  # a bad size or template, now

    def __call__(self, image: np.ndarray, faces: list[DetectedFace]) -> np.ndarray | None:
        if not faces:
            return None
        face = faces[0]
        return crop_face(image, face.box, face.landmarks, output_size=self.output_size,
                         template=self.template)


def mask_dataset(source: str | Path, destination: str | Path, *,
                 detector: str | FaceDetector = DEFAULT_DETECTOR, aligned: bool = False,
                 template: str = DEFAULT_TEMPLATE, copy_failed: bool = False,
                 resume: bool = True, progress: bool = True) -> DatasetReport:
    """Draw a surgical mask on every face of every image under `source` into `destination`.

    aligned: the images are already aligned crops (RAF-DB aligned, prepared sets): the mask is
    placed from the template's landmarks, no detection. copy_failed: copy images where no face
    was found unchanged (otherwise they are left out and listed in the report).
    """

    def mask(image: np.ndarray, faces: list[DetectedFace]) -> np.ndarray | None:
        return _mask_faces(image, faces) if faces else None

    return process_dataset(source, destination, mask,
                           detector=None if aligned else _detector(detector), kind="mask",
                           template=template, copy_failed=copy_failed, resume=resume,
                           progress=progress)


def mask_image(source: str | Path, destination: str | Path, *,
               detector: str | FaceDetector = DEFAULT_DETECTOR, aligned: bool = False,
               template: str = DEFAULT_TEMPLATE) -> int:
    """Mask every face of one image file into `destination`; returns the number of faces."""
    image = np.asarray(load_image(source))
    faces = [_template_face(image, template)] if aligned else _detector(detector).detect(image)
    faces = [f for f in faces if f.landmarks is not None]
    if not faces:
        raise InvalidInputError(f"{source}: no face found to mask; use --aligned if it is an "
                                "aligned face crop")
    _save(_mask_faces(image, faces), Path(destination))
    return len(faces)


def _mask_faces(image: np.ndarray, faces: list[DetectedFace]) -> np.ndarray:
    """The image with a synthetic mask on every face that has landmarks."""
    for face in faces:
        if face.landmarks is not None:
            image = apply_mask(image, face.landmarks)
    return image


def process_dataset(source: str | Path, destination: str | Path, processor: Processor, *,
                    detector: FaceDetector | None, kind: str, template: str = DEFAULT_TEMPLATE,
                    copy_failed: bool = False, resume: bool = True, progress: bool = True,
                    chunk: int = 16) -> DatasetReport:
    """Run `processor` on every image (faces from `detector`, or template landmarks for
    aligned crops when it is None), copy every other file, and write the report."""
    plan = plan_dataset(source, destination, kind=kind, resume=resume)
    with tqdm(total=len(plan.todo), unit="img", desc=kind, disable=not progress) as bar:
        for paths in _chunks(plan.todo, chunk):
            outcomes = process_images(paths, plan.src, plan.dst, processor, detector,
                                      template=template, copy_failed=copy_failed)
            for path, outcome in zip(paths, outcomes, strict=True):
                plan.report.add(plan.relative(path), outcome)
            write_report(plan.report)
            bar.update(len(paths))
    write_report(plan.report)
    return plan.report


@dataclass
class DatasetPlan:
    """A dataset run before its images: the folders, the images left to do (sorted) and the
    report so far (the failures of earlier runs, the files copied and skipped)."""

    src: Path
    dst: Path
    todo: list[Path]
    report: DatasetReport

    def relative(self, path: Path) -> str:
        """An image's path in the report (relative to the source, `/`-separated)."""
        return path.relative_to(self.src).as_posix()


def plan_dataset(source: str | Path, destination: str | Path, *, kind: str,
                 resume: bool = True) -> DatasetPlan:
    """Check the folders, copy the files that are not images, and list the images left to do
    (with `resume`: those without an output and not in the report)."""
    src, dst = Path(source), Path(destination)
    if not src.is_dir():
        raise InvalidInputError(f"{src}: no such dataset folder")
    if dst.resolve() == src.resolve() or src.resolve() in dst.resolve().parents:
        raise InvalidInputError(f"{dst}: write to a folder outside the source dataset {src}")
    dst.mkdir(parents=True, exist_ok=True)
    report = DatasetReport(report=dst / REPORT_NAME[kind])
    reported = _read_report(report.report) if resume and report.report else {}
    report.failures.extend((p, s, m) for p, (s, m) in reported.items())
    files = sorted(p for p in src.rglob("*") if p.is_file())
    images = [p for p in files if is_image_file(p)]
    report.copied = _copy_others([p for p in files if not is_image_file(p)], src, dst, resume)
    todo = []
    for path in images:
        rel = path.relative_to(src).as_posix()
        if resume and ((dst / rel).exists() or rel in reported):
            report.skipped += 1
        else:
            todo.append(path)
    return DatasetPlan(src, dst, todo, report)


def process_images(paths: list[Path], src: Path, dst: Path, processor: Processor,
                   detector: FaceDetector | None, *, template: str = DEFAULT_TEMPLATE,
                   copy_failed: bool = False) -> list[Outcome]:
    """One chunk of images: read, detected in one batch, processed and saved at their path
    under `dst`; the outcome of each, in order."""
    outcomes: dict[Path, Outcome] = {}
    loaded: list[tuple[Path, np.ndarray]] = []
    for path in paths:
        try:
            loaded.append((path, np.asarray(load_image(path))))
        except InvalidInputError as err:
            outcomes[path] = ("error", str(err), 0)
    if detector is not None:
        found = detector.detect_batch([image for _, image in loaded]) if loaded else []
    else:
        found = [[_template_face(image, template)] for _, image in loaded]
    for (path, image), faces in zip(loaded, found, strict=True):
        target = dst / path.relative_to(src)
        result = processor(image, faces)
        if result is None:
            outcomes[path] = ("no_face", "no face detected", len(faces))
            if copy_failed:
                _copy(path, target)
            continue
        _save(result, target)
        outcomes[path] = ("written", "", len(faces))
    return [outcomes[path] for path in paths]


def _template_face(image: np.ndarray, template: str) -> DetectedFace:
    """The face of an already aligned crop: the template's landmarks scaled to the image."""
    height, width = image.shape[:2]
    points = template_points(100, template) / 100.0 * np.array([width, height], np.float32)
    return DetectedFace((0.0, 0.0, float(width), float(height)), points, 1.0, True)


def _save(image: np.ndarray, path: Path) -> None:
    suffix = path.suffix.lower()
    options: dict[str, Any] = {"quality": 95} if suffix in (".jpg", ".jpeg", ".webp") else {}
    with _in_place(path) as temporary:
        Image.fromarray(image).save(temporary, format=Image.registered_extensions()
                                    .get(suffix), **options)


def _copy(source: Path, target: Path) -> None:
    with _in_place(target) as temporary:
        shutil.copy2(source, temporary)


class _in_place:  # noqa: N801 - used as a context manager, like open()
    """A temporary name beside `path` that is renamed to it when the block succeeds (and
    removed when it fails): readers, and a resumed run, see the whole file or none."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self.temporary

    def __exit__(self, kind: object, *exc: object) -> None:
        if kind is None:
            os.replace(self.temporary, self.path)
        else:
            self.temporary.unlink(missing_ok=True)


def _copy_others(paths: list[Path], src: Path, dst: Path, resume: bool) -> int:
    copied = 0
    for path in paths:
        target = dst / path.relative_to(src)
        if resume and target.exists():
            continue
        _copy(path, target)
        copied += 1
    return copied


def _chunks(items: list[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _read_report(path: Path) -> dict[str, tuple[str, str]]:
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["path"]: (row["status"], row["message"]) for row in csv.DictReader(handle)}


def write_report(report: DatasetReport) -> None:
    """The report's failures as CSV (path, status, message), replaced whole."""
    if report.report is None:
        return
    with _in_place(report.report) as temporary, \
            temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["path", "status", "message"])
        writer.writerows(report.failures)


def _detector(detector: str | FaceDetector) -> FaceDetector:
    return detector if isinstance(detector, FaceDetector) else FaceDetector(detector)
