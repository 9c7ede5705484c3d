"""Expressions of every face in images, folders, videos and webcams.

Sources (`ImageSource`, `PhotoFiles`, `FolderSource`, `VideoSource`, `WebcamSource`) yield
`Frame`s; the `Recognizer` turns frames into typed `Prediction`s (one per image or frame, with
a `Face` per face); sinks (`open_rows` for CSV/JSONL/Parquet, `AnnotatedPictures`,
`AnnotatedVideo`) consume them; `run` / `stream` is the one loop between them, and
`predict_file`, `predict_corpus` (a folder tree or list of photos and videos, resumable) and
`predict_video` are its ready-made runs.
"""

from scancci.inference.frames import Frame
from scancci.inference.predict import (
    CorpusSummary,
    predict_corpus,
    predict_file,
    predict_path,
    predict_video,
)
from scancci.inference.recognizer import Recognizer
from scancci.inference.results import Face, Prediction
from scancci.inference.sinks import AnnotatedPictures, AnnotatedVideo, open_rows
from scancci.inference.sources import (
    Corpus,
    FolderSource,
    ImageSource,
    PhotoFiles,
    VideoSource,
    WebcamSource,
    open_corpus,
)
from scancci.inference.stream import StreamOptions, Summary, run, stream

__all__ = ["AnnotatedPictures", "AnnotatedVideo", "Corpus", "CorpusSummary", "Face",
           "FolderSource", "Frame", "ImageSource", "PhotoFiles", "Prediction", "Recognizer",
           "StreamOptions", "Summary", "VideoSource", "WebcamSource", "open_corpus", "open_rows",
           "predict_corpus", "predict_file", "predict_path", "predict_video", "run", "stream"]
