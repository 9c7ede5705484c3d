"""Expressions of every face in images, folders, videos and webcams.

Sources (`ImageSource`, `FolderSource`, `VideoSource`, `WebcamSource`) yield `Frame`s; the
`Recognizer` turns frames into typed `Prediction`s (one per image or frame, with a `Face` per
face); sinks (`open_rows` for CSV/JSONL, `AnnotatedPictures`, `AnnotatedVideo`) consume them;
`run` / `stream` is the one loop between them, and `predict_file`, `predict_folder`,
`predict_video` are its ready-made runs.
"""

from scancci.inference.frames import Frame
from scancci.inference.predict import predict_file, predict_folder, predict_path, predict_video
from scancci.inference.recognizer import Recognizer
from scancci.inference.results import Face, Prediction
from scancci.inference.sinks import AnnotatedPictures, AnnotatedVideo, open_rows
from scancci.inference.sources import FolderSource, ImageSource, VideoSource, WebcamSource
from scancci.inference.stream import StreamOptions, Summary, run, stream

__all__ = ["AnnotatedPictures", "AnnotatedVideo", "Face", "FolderSource", "Frame", "ImageSource",
           "Prediction", "Recognizer", "StreamOptions", "Summary", "VideoSource", "WebcamSource",
           "open_rows", "predict_file", "predict_folder", "predict_path", "predict_video", "run",
           "stream"]
