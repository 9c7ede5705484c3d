"""`scancci prepare`: detect and align the faces of a raw dataset, keeping its layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from scancci.commands.predict import add_detector_arguments
from scancci.faces.align import DEFAULT_TEMPLATE, TEMPLATES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="raw dataset folder (e.g. SFEW's Train/)")
    parser.add_argument("output", type=Path, help="folder for the aligned copy (same layout)")
    parser.add_argument("--size", type=int, default=224, help="side of the aligned crops")
    parser.add_argument("--template", choices=sorted(TEMPLATES), default=DEFAULT_TEMPLATE,
                        help="where the eyes, nose and mouth go in the crop")
    add_detector_arguments(parser)
    parser.add_argument("--no-resume", action="store_true",
                        help="redo images already in the output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from scancci.faces.detect import FaceDetector
    from scancci.faces.prepare import prepare_dataset

    detector = FaceDetector(args.detector, min_score=args.min_score,
                            min_face_size=args.min_face_size, rotation=args.rotation)
    report = prepare_dataset(args.input, args.output, detector=detector,
                             output_size=args.size, template=args.template,
                             resume=not args.no_resume, progress=not args.quiet)
    print(f"scancci prepare: {report}")
    return 0
