"""Ready-made runs of the stream loop, one per kind of input (what `scancci predict` calls):
the source, the sinks the options ask for, `run`, and the sinks closed.

- `predict_file`: one photo -> its Prediction (and its rows, an annotated copy);
- `predict_corpus`: a folder tree of photos and videos, or a list of them -> rows (resumable:
  finished files are skipped, an unfinished one is redone), annotated copies;
- `predict_video`: a video file or webcam -> per-frame rows, an annotated video;
- `predict_path`: whichever of the three a path or webcam index calls for.

This is the local engine: one process, source after source. `scancci.engines` runs the same
work on a Ray cluster and writes the same rows.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from scancci.errors import InvalidInputError, error_detail
from scancci.inference.recognizer import Recognizer
from scancci.inference.results import Prediction
from scancci.inference.sinks import (
    AnnotatedPictures,
    AnnotatedVideo,
    Draw,
    Rows,
    Sink,
    open_rows,
    rows_format,
)
from scancci.inference.sources import (
    Corpus,
    CorpusFile,
    ImageSource,
    PhotoFiles,
    VideoSource,
    WebcamSource,
    check_counts,
    file_key,
    open_corpus,
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


@dataclass
class CorpusSummary:
    """What a corpus run did: photos (faces, without a face, unreadable), videos (frames,
    faces, tracks, broken frames, unreadable), files skipped and ignored, and the outputs."""

    photos: int = 0
    photo_faces: int = 0
    no_face: int = 0
    unreadable: int = 0  # photos that could not be read
    videos: int = 0
    frames: int = 0
    frame_faces: int = 0
    tracks: int = 0
    broken_frames: int = 0
    failed_videos: int = 0  # videos that could not be opened or failed midway
    skipped: int = 0  # files already in the output
    ignored: int = 0  # files of the corpus's folders that are neither photos nor videos
    outputs: dict[str, Path] = field(default_factory=dict)

    def add_run(self, kind: str, run: Summary) -> None:
        """Count one stream run: all the photos ("image") or one video."""
        if kind == "image":
            self.photos += run.predictions
            self.photo_faces += run.faces
            self.no_face += run.no_face
            self.unreadable += len(run.errors)
            return
        self.videos += 1
        self.frames += run.predictions
        self.frame_faces += run.faces
        self.tracks += len(run.tracks)
        self.broken_frames += len(run.errors)

    def add(self, kind: str, records: list[dict[str, Any]]) -> None:
        """Count the rows of one finished file (an engine's workers send rows)."""
        failed = len(records) == 1 and records[0]["frame"] is None \
            and records[0]["status"] == "error"
        faces = sum(r["status"] == "face" for r in records)
        if kind == "image":
            self.photos += 1
            self.photo_faces += faces
            self.no_face += records[0]["status"] == "no_face"
            self.unreadable += failed
        elif failed:
            self.videos += 1
            self.failed_videos += 1
        else:
            self.videos += 1
            self.frames += len({r["frame"] for r in records})
            self.frame_faces += faces
            self.tracks += len({r["track_id"] for r in records if r["track_id"] is not None})
            self.broken_frames += sum(r["status"] == "error" for r in records)

    def __str__(self) -> str:
        parts = []
        if self.photos or not self.videos:
            parts.append(f"{self.photos} images, {self.photo_faces} faces, {self.no_face} "
                         f"without a face, {self.unreadable} unreadable")
        if self.videos:
            parts.append(f"{self.videos} videos, {self.frames} frames, {self.frame_faces} "
                         f"faces in {self.tracks} tracks, {self.broken_frames} broken frames, "
                         f"{self.failed_videos} unreadable")
        if self.skipped:
            parts.append(f"{self.skipped} already in the output (skipped)")
        if self.ignored:
            parts.append(f"{self.ignored} other files ignored")
        return "; ".join(parts) + "".join(f"; {label} -> {path}"
                                          for label, path in self.outputs.items())


def predict_corpus(recognizer: Recognizer, corpus: str | Path | Corpus, output: str | Path,
                   *, resume: bool = True, annotate_dir: str | Path | None = None,
                   attention: bool = False, every: int = 1, max_frames: int | None = None,
                   smoothing: float = 0.0, detect_every: int = DETECT_EVERY, chunk: int = 8,
                   progress: bool = True) -> CorpusSummary:
    """Every photo and video of a corpus (a folder tree, a .txt/.lst list, or a `Corpus`) to
    rows in `output` (.csv, .jsonl, or a Parquet folder). The photos go through one stream
    (decoded ahead, detected and classified `chunk` at a time), then each video through its
    own. With `resume`, files the output finished with this model are skipped (a file changed
    since is read again) and the rows of an unfinished one are dropped first. A file that
    cannot be read, or fails midway, is one row with the reason. Annotated photos and videos
    go to `annotate_dir` in the corpus's layout."""
    corpus = corpus if isinstance(corpus, Corpus) else open_corpus(corpus)
    options = StreamOptions(attention=attention, detect_every=detect_every,
                            smoothing=smoothing, chunk=chunk)
    check_counts(every, max_frames)
    identity = recognizer.identity
    with contextlib.ExitStack() as stack:
        rows = stack.enter_context(open_rows(output, recognizer.class_names, resume=resume))
        todo = [f for f in corpus.files
                if f.key(identity.name, identity.version) not in rows.done]
        summary = CorpusSummary(skipped=len(corpus.files) - len(todo), ignored=corpus.ignored,
                                outputs={"rows": rows.path})
        draw = _draw(recognizer, attention)
        pictures: list[Sink] = []
        if annotate_dir is not None:
            pictures.append(AnnotatedPictures(annotate_dir, draw))
            summary.outputs["pictures"] = Path(annotate_dir)
        photos = [(f.name, f.path) for f in todo if f.kind == "image"]
        if photos:
            summary.add_run("image", run(recognizer, PhotoFiles(photos), [rows, *pictures],
                                         options, progress=progress))
        for video in (f for f in todo if f.kind == "video"):
            _predict_one_video(recognizer, video, rows, options, every, max_frames,
                               annotate_dir, draw, summary, progress)
        return summary


def _predict_one_video(recognizer: Recognizer, video: CorpusFile, rows: Rows,
                       options: StreamOptions, every: int, max_frames: int | None,
                       annotate_dir: str | Path | None, draw: Draw, summary: CorpusSummary,
                       progress: bool) -> None:
    """One video of a corpus to rows, then recorded as finished; if it cannot be opened or
    fails midway, its rows so far are dropped and one error row says why."""
    identity = recognizer.identity
    key = video.key(identity.name, identity.version)
    try:
        with contextlib.ExitStack() as stack:
            source = stack.enter_context(VideoSource(video.path, every=every,
                                                     max_frames=max_frames, name=video.name))
            sinks: list[Sink] = [rows]
            if annotate_dir is not None:
                target = Path(annotate_dir) / f"{video.name}.annotated.mp4"
                sinks.append(stack.enter_context(AnnotatedVideo(target, source.fps or 30.0,
                                                                draw)))
            summary.add_run("video", run(recognizer, source, sinks, options,
                                         progress=progress))
    except Exception as err:  # noqa: BLE001 - a failure of one file is that file's row
        rows.discard()
        rows.write_records(failed_prediction(recognizer, video.name, failure(video, err))
                           .to_records())
        summary.videos += 1
        summary.failed_videos += 1
    rows.complete(key, video.name)


def failure(file: CorpusFile, err: BaseException) -> str:
    """Why a file failed: a user-facing error as it is, anything else named as a failure."""
    if isinstance(err, InvalidInputError):
        return str(err)
    return f"{file.name}: failed midway ({type(err).__name__}: {error_detail(err)})"


def failed_prediction(recognizer: Recognizer, name: str, message: str) -> Prediction:
    """The one-row Prediction of a file that could not be read at all."""
    return Prediction(source=name, width=0, height=0, error=message,
                      class_names=recognizer.class_names, model=recognizer.identity.name,
                      model_version=recognizer.identity.version)


def predict_video(recognizer: Recognizer, source: str | Path | int,
                  output: str | Path | None = None, *, annotate: str | Path | None = None,
                  every: int = 1, max_frames: int | None = None, smoothing: float = 0.0,
                  attention: bool = False, detect_every: int = DETECT_EVERY,
                  progress: bool = True) -> Summary:
    """A video file (or a webcam index) to per-frame rows (track ids, timestamps) in `output`
    (.csv/.jsonl/Parquet, overwritten) and an annotated video at `annotate` (.mp4)."""
    options = StreamOptions(attention=attention, detect_every=detect_every,
                            smoothing=smoothing)
    if output is not None:
        rows_format(output)  # a wrong suffix is refused before the video is opened
    index = webcam_index(source)
    with contextlib.ExitStack() as stack:
        video = stack.enter_context(
            WebcamSource(index, every=every, max_frames=max_frames) if index is not None
            else VideoSource(str(source), every=every, max_frames=max_frames))
        rows = None if output is None else \
            stack.enter_context(open_rows(output, recognizer.class_names, resume=False))
        sinks: list[Sink] = [] if rows is None else [rows]
        if annotate is not None:
            sinks.append(stack.enter_context(AnnotatedVideo(annotate, video.fps or 30.0,
                                                            _draw(recognizer, attention))))
        summary = run(recognizer, video, sinks, options, progress=progress)
        if rows is not None and video.file is not None:
            identity = recognizer.identity
            rows.complete(file_key(video.file, identity.name, identity.version), video.name)
        return summary


def predict_path(recognizer: Recognizer, path: str | Path | int, *,
                 output: str | Path | None = None, annotate_dir: str | Path | None = None,
                 attention: bool = False, resume: bool = True, every: int = 1,
                 max_frames: int | None = None, smoothing: float = 0.0,
                 detect_every: int = DETECT_EVERY, progress: bool = True
                 ) -> Prediction | Summary | CorpusSummary:
    """An image file (-> its Prediction), a corpus (a folder or a .txt/.lst list of photos and
    videos -> a CorpusSummary), or a video file or webcam (-> a Summary); rows go to `output`,
    pictures or annotated videos to `annotate_dir`. Corpora and videos need one of the two.
    A photo or video whose `output` already exists is added to it as a corpus of one (its
    earlier rows kept, the file skipped if that model already did it); `resume=False`
    overwrites it."""
    check_counts(every, max_frames)  # refused for a photo too: the same flags, the same rule
    StreamOptions(smoothing=smoothing, detect_every=detect_every)  # checks both
    kind = source_kind(path)
    adding = kind in ("image", "video") and output is not None and resume and Path(output).exists()
    if kind == "image" and not adding:
        return predict_file(recognizer, str(path), output=output, annotate_dir=annotate_dir,
                            attention=attention)
    if output is None and annotate_dir is None:
        raise InvalidInputError(f"{path} is a {kind}: give --output FILE.csv|FILE.jsonl|DIR "
                                "and/or --annotate DIR to keep the results")
    if kind in ("folder", "list") or adding:  # open_corpus reads one file as a corpus of one
        return predict_corpus(recognizer, str(path),
                              output or Path(annotate_dir or ".") / "predictions.csv",
                              resume=resume, annotate_dir=annotate_dir, attention=attention,
                              every=every, max_frames=max_frames, smoothing=smoothing,
                              detect_every=detect_every, progress=progress)
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
