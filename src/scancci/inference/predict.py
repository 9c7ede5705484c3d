"""Ready-made runs of the stream loop, one per kind of input (what `scancci predict` calls):
the source, the sinks the options ask for, `run`, and the sinks closed.

- `predict_file`: one photo -> its Prediction (and its rows, an annotated copy);
- `predict_folder`: every photo under a folder -> rows (resumable), annotated copies;
- `predict_video`: a video file or webcam -> per-frame rows, an annotated video;
- `predict_path`: whichever of the three a path or webcam index calls for.
"""

from __future__ import annotations

import contextlib
from functools import partial
from pathlib import Path

from scancci.errors import InvalidInputError
from scancci.inference.recognizer import Recognizer
from scancci.inference.results import Prediction
from scancci.inference.sinks import (
    AnnotatedPictures,
    AnnotatedVideo,
    Draw,
    Sink,
    open_rows,
    rows_format,
)
from scancci.inference.sources import (
    FolderSource,
    ImageSource,
    VideoSource,
    WebcamSource,
    source_kind,
    webcam_index,
)
from scancci.inference.stream import DETECT_EVERY, StreamOptions, Summary, run, stream


def predict_file(recognizer: Recognizer, path: str | Path, *, output: str | Path | None = None,
                 annotate_dir: str | Path | None = None, attention: bool = False) -> Prediction:
    """One photo: its Prediction, its rows written to `output` (.csv/.jsonl, overwritten) and
    an annotated copy to `annotate_dir`/NAME."""
    with contextlib.ExitStack() as stack:
        sinks: list[Sink] = []
        if output is not None:
            sinks.append(stack.enter_context(open_rows(output, recognizer.class_names,
                                                       resume=False)))
        if annotate_dir is not None:
            sinks.append(AnnotatedPictures(annotate_dir, _draw(recognizer, attention), flat=True))
        ((prediction, frame),) = stream(recognizer, ImageSource(path),
                                        StreamOptions(attention=attention))
        for sink in sinks:
            sink.write(prediction, frame)
    return prediction


def predict_folder(recognizer: Recognizer, folder: str | Path, output: str | Path, *,
                   resume: bool = True, annotate_dir: str | Path | None = None,
                   attention: bool = False, recursive: bool = True, chunk: int = 8,
                   progress: bool = True) -> Summary:
    """Every photo under `folder` to rows in `output` (.csv/.jsonl); with `resume`, photos
    already in the output are skipped, so an interrupted run continues where it stopped.
    Annotated copies go to `annotate_dir` in the folder's layout."""
    with contextlib.ExitStack() as stack:
        rows = stack.enter_context(open_rows(output, recognizer.class_names, resume=resume))
        source = FolderSource(folder, recursive=recursive, skip=rows.done)
        sinks: list[Sink] = [rows]
        if annotate_dir is not None:
            sinks.append(AnnotatedPictures(annotate_dir, _draw(recognizer, attention)))
        return run(recognizer, source, sinks, StreamOptions(attention=attention, chunk=chunk),
                   progress=progress)


def predict_video(recognizer: Recognizer, source: str | Path | int,
                  output: str | Path | None = None, *, annotate: str | Path | None = None,
                  every: int = 1, max_frames: int | None = None, smoothing: float = 0.0,
                  attention: bool = False, detect_every: int = DETECT_EVERY,
                  progress: bool = True) -> Summary:
    """A video file (or a webcam index) to per-frame rows (track ids, timestamps) in `output`
    (.csv/.jsonl, overwritten) and an annotated video at `annotate` (.mp4)."""
    options = StreamOptions(attention=attention, detect_every=detect_every,
                            smoothing=smoothing)
    if output is not None:
        rows_format(output)  # a wrong suffix is refused before the video is opened
    index = webcam_index(source)
    with contextlib.ExitStack() as stack:
        video = stack.enter_context(
            WebcamSource(index, every=every, max_frames=max_frames) if index is not None
            else VideoSource(str(source), every=every, max_frames=max_frames))
        sinks: list[Sink] = []
        if output is not None:
            sinks.append(stack.enter_context(open_rows(output, recognizer.class_names,
                                                       resume=False)))
        if annotate is not None:
            sinks.append(stack.enter_context(AnnotatedVideo(annotate, video.fps or 30.0,
                                                            _draw(recognizer, attention))))
        return run(recognizer, video, sinks, options, progress=progress)


def predict_path(recognizer: Recognizer, path: str | Path | int, *,
                 output: str | Path | None = None, annotate_dir: str | Path | None = None,
                 attention: bool = False, resume: bool = True, every: int = 1,
                 max_frames: int | None = None, smoothing: float = 0.0,
                 detect_every: int = DETECT_EVERY, progress: bool = True
                 ) -> Prediction | Summary:
    """An image file (-> its Prediction), a folder or a video file or webcam (-> a Summary);
    rows go to `output`, pictures or the annotated video to `annotate_dir`. Folders and videos
    need at least one of the two."""
    kind = source_kind(path)
    if kind == "image":
        return predict_file(recognizer, str(path), output=output, annotate_dir=annotate_dir,
                            attention=attention)
    if output is None and annotate_dir is None:
        raise InvalidInputError(f"{path} is a {kind}: give --output FILE.csv|FILE.jsonl "
                                "and/or --annotate DIR to keep the results")
    if kind == "folder":
        return predict_folder(recognizer, str(path),
                              output or Path(annotate_dir or ".") / "predictions.csv",
                              resume=resume, annotate_dir=annotate_dir, attention=attention,
                              progress=progress)
    video = None if annotate_dir is None else \
        Path(annotate_dir) / f"{_stem(path)}.annotated.mp4"
    return predict_video(recognizer, path, output, annotate=video, every=every,
                         max_frames=max_frames, smoothing=smoothing, attention=attention,
                         detect_every=detect_every, progress=progress)


def _stem(path: str | Path | int) -> str:
    index = webcam_index(path)
    return f"webcam{index}" if index is not None else Path(str(path)).stem


def _draw(recognizer: Recognizer, attention: bool) -> Draw:
    return partial(recognizer.annotate, attention=attention)
