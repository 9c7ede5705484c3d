"""Folder prediction: every image under a folder, read and classified in batches, rows
streamed to CSV/JSONL, resumable, with one row for an image without a face or a file that
cannot be read (the rest is processed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from tqdm import tqdm

from scancci.errors import InvalidInputError
from scancci.imaging import is_image_file
from scancci.inference.images import read_rgb
from scancci.inference.results import Prediction
from scancci.inference.writer import ResultWriter, output_format

if TYPE_CHECKING:  # type hints only: the Recognizer imports this module
    from scancci.inference.recognizer import Recognizer


@dataclass
class FolderSummary:
    """What a folder run did: images predicted, faces, no-face images, unreadable files."""

    output: Path | None
    images: int = 0
    faces: int = 0
    no_face: int = 0
    errors: list[str] = field(default_factory=list)
    skipped_done: int = 0
    not_images: int = 0

    def __str__(self) -> str:
        text = (f"{self.images} images, {self.faces} faces, {self.no_face} without a face, "
                f"{len(self.errors)} unreadable")
        if self.skipped_done:
            text += f", {self.skipped_done} already in the output (skipped)"
        if self.not_images:
            text += f", {self.not_images} non-image files ignored"
        return text + (f" -> {self.output}" if self.output else "")


def list_images(folder: str | Path, *, recursive: bool = True) -> tuple[list[Path], int]:
    """Image files under `folder` (sorted) and the number of other files left out."""
    root = Path(folder)
    if not root.is_dir():
        raise InvalidInputError(f"{root}: no such folder")
    files = sorted(p for p in (root.rglob("*") if recursive else root.iterdir()) if p.is_file())
    images = [p for p in files if is_image_file(p)]
    return images, len(files) - len(images)


def iter_folder(recognizer: Recognizer, folder: str | Path, *, recursive: bool = True,
                skip: set[str] | None = None, attention: bool = False, chunk: int = 16,
                progress: bool = True, images: list[Path] | None = None
                ) -> Iterator[tuple[Prediction, np.ndarray | None]]:
    """(prediction, RGB image or None) for every image under `folder`, `chunk` images at a
    time. Sources are paths relative to the folder; those in `skip` are not read. `images`:
    the folder's images when the caller has already listed them."""
    root = Path(folder)
    if images is None:
        images, _ = list_images(root, recursive=recursive)
    todo = [p for p in images if p.relative_to(root).as_posix() not in (skip or set())]
    bar = tqdm(total=len(todo), unit="img", desc="predict", disable=not progress)
    try:
        for start in range(0, len(todo), max(1, chunk)):
            paths = todo[start:start + chunk]
            arrays, errors = zip(*(read_rgb(p) for p in paths), strict=True)
            sources = [p.relative_to(root).as_posix() for p in paths]
            predictions = recognizer.predict_arrays(list(arrays), sources, errors=list(errors),
                                                    attention=attention)
            yield from zip(predictions, arrays, strict=True)
            bar.update(len(paths))
    finally:
        bar.close()


def predict_folder(recognizer: Recognizer, folder: str | Path, output: str | Path, *,
                   recursive: bool = True, resume: bool = True, annotate_dir: str | Path | None
                   = None, attention: bool = False, chunk: int = 16, progress: bool = True
                   ) -> FolderSummary:
    """Predict every image under `folder` into `output` (.csv or .jsonl), skipping images
    already written there when `resume`; optionally save annotated copies to `annotate_dir`."""
    output_format(output)
    images, not_images = list_images(folder, recursive=recursive)
    summary = FolderSummary(output=Path(output), not_images=not_images)
    with ResultWriter(output, recognizer.class_names, resume=resume) as writer:
        summary.skipped_done = sum(1 for p in images
                                   if p.relative_to(folder).as_posix() in writer.done)
        for prediction, array in iter_folder(recognizer, folder, recursive=recursive,
                                             skip=writer.done, attention=attention,
                                             chunk=chunk, progress=progress, images=images):
            writer.write(prediction)
            _count(summary, prediction)
            if annotate_dir is not None and array is not None:
                save_annotated(recognizer, array, prediction, Path(annotate_dir), attention)
    return summary


def save_annotated(recognizer: Recognizer, array: np.ndarray, prediction: Prediction,
                   folder: Path, attention: bool, name: Path | None = None) -> Path:
    """Write the annotated image under `folder` at `name` (default: the prediction's relative
    source path, so a folder's layout is kept)."""
    drawn = recognizer.annotate(array, prediction, attention=attention)
    name = Path(prediction.source) if name is None else name
    if name.is_absolute() or name.parts[:1] == ("..",):
        name = Path(name.name)
    path = folder / name.with_suffix(".png" if name.suffix.lower() == ".png" else ".jpg")
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(drawn).save(path, quality=92)
    return path


def _count(summary: FolderSummary, prediction: Prediction) -> None:
    summary.images += 1
    summary.faces += len(prediction.faces)
    if prediction.error:
        summary.errors.append(prediction.error)
    elif not prediction.faces:
        summary.no_face += 1


def predict_image_file(recognizer: Recognizer, path: str | Path, output: str | Path | None,
                       *, annotate_dir: str | Path | None = None, attention: bool = False
                       ) -> Prediction:
    """One image file: predict, optionally write its rows and an annotated copy."""
    array, error = read_rgb(path)
    prediction = recognizer.predict_arrays([array], [str(path)], errors=[error],
                                           attention=attention)[0]
    if output is not None:
        with ResultWriter(output, recognizer.class_names, resume=False) as writer:
            writer.write(prediction)
    if annotate_dir is not None and array is not None:
        save_annotated(recognizer, array, prediction, Path(annotate_dir), attention,
                       name=Path(Path(path).name))  # one photo: DIR/photo.jpg
    return prediction
