"""`scancci mask`: a synthetic surgical mask on every face of an image or a whole dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from scancci.faces.names import DEFAULT_DETECTOR, DETECTORS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="image file or dataset folder")
    parser.add_argument("output", type=Path,
                        help="output image file, or output folder (same layout as the input)")
    parser.add_argument("--detector", choices=DETECTORS, default=DEFAULT_DETECTOR,
                        help=f"face detector (default {DEFAULT_DETECTOR})")
    parser.add_argument("--aligned", action="store_true",
                        help="images are aligned face crops (e.g. RAF-DB aligned): place the "
                             "mask from the alignment template, no detection")
    parser.add_argument("--copy-failed", action="store_true",
                        help="copy images where no face was found unchanged (default: leave "
                             "them out; they are listed in the report either way)")
    parser.add_argument("--no-resume", action="store_true",
                        help="redo images already in the output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from scancci.faces.prepare import mask_dataset, mask_image

    if args.input.is_dir():
        report = mask_dataset(args.input, args.output, detector=args.detector,
                              aligned=args.aligned, copy_failed=args.copy_failed,
                              resume=not args.no_resume, progress=not args.quiet)
        print(f"scancci mask: {report}")
        return 0
    faces = mask_image(args.input, args.output, detector=args.detector, aligned=args.aligned)
    print(f"scancci mask: {faces} face(s) masked -> {args.output}")
    return 0
