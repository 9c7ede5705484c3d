"""One entry point for `scancci predict`: an image file, a folder, a video file or a webcam
index, each sent to the right streaming path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scancci.errors import InvalidInputError
from scancci.inference.folder import FolderSummary, predict_folder, predict_image_file
from scancci.inference.recognizer import Recognizer
from scancci.inference.results import Prediction
from scancci.inference.video import (
    DETECT_EVERY,
    VideoSummary,
    is_video_file,
    predict_video,
    webcam_index,
)


def source_kind(source: str | Path | int) -> str:
    """"webcam", "folder", "video" or "image" (by suffix; content is checked when read)."""
    if webcam_index(source) is not None and not Path(str(source)).exists():
        return "webcam"
    path = Path(source)
    if path.is_dir():
        return "folder"
    if is_video_file(path):
        return "video"
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file, folder or webcam index")
    return "image"


def predict_source(recognizer: Recognizer, source: str | Path | int, *,
                   output: str | Path | None = None, annotate_dir: str | Path | None = None,
                   attention: bool = False, resume: bool = True, every: int = 1,
                   max_frames: int | None = None, smoothing: float = 0.0,
                   detect_every: int = DETECT_EVERY, progress: bool = True
                   ) -> Prediction | FolderSummary | VideoSummary:
    """Predict whatever `source` is; rows go to `output` (.csv/.jsonl), pictures to
    `annotate_dir`. Folders and videos need at least one of the two."""
    kind = source_kind(source)
    if kind == "image":
        return predict_image_file(recognizer, source, output, annotate_dir=annotate_dir,
                                  attention=attention)
    if output is None and annotate_dir is None:
        raise InvalidInputError(f"{source} is a {kind}: give --output FILE.csv|FILE.jsonl "
                                "and/or --annotate DIR to keep the results")
    if kind == "folder":
        if output is None:
            output = Path(annotate_dir) / "predictions.csv"
        return predict_folder(recognizer, source, output, resume=resume,
                              annotate_dir=annotate_dir, attention=attention, progress=progress)
    video_out = _annotated_video_path(source, annotate_dir) if annotate_dir else None
    return predict_video(recognizer, source, output, annotate=video_out, every=every,
                         max_frames=max_frames, smoothing=smoothing, attention=attention,
                         detect_every=detect_every, progress=progress)


def _annotated_video_path(source: Any, folder: str | Path) -> Path:
    index = webcam_index(source)
    stem = f"webcam{index}" if index is not None else Path(source).stem
    return Path(folder) / f"{stem}.annotated.mp4"
