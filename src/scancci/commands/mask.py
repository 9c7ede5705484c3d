"""`scancci mask`: a synthetic surgical mask on every face of an image or a whole dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from scancci.commands.predict import add_detector_arguments
from scancci.errors import InvalidInputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="image file or dataset folder")
    parser.add_argument("output", type=Path,
                        help="output image file (.jpg, .png, ...), or output folder (same "
                             "layout as the input)")
    add_detector_arguments(parser)
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
    from scancci.faces.detect import FaceDetector
    from scancci.faces.prepare import mask_dataset, mask_image

    if not args.input.exists():
        raise InvalidInputError(f"{args.input}: no such image file or folder")
    if not args.input.is_dir():
        check_image_output(args.output)
    elif args.output.is_file():
        raise InvalidInputError(f"{args.output} is a file: the masked copy of a folder is a "
                                "folder; give a folder name")
    detector = FaceDetector(args.detector, min_score=args.min_score,
                            min_face_size=args.min_face_size, rotation=args.rotation)
    if args.input.is_dir():
        report = mask_dataset(args.input, args.output, detector=detector,
                              aligned=args.aligned, copy_failed=args.copy_failed,
                              resume=not args.no_resume, progress=not args.quiet)
        print(f"scancci mask: {report}")
        return 0
    faces = mask_image(args.input, args.output, detector=detector, aligned=args.aligned)
    print(f"scancci mask: {faces} face(s) masked -> {args.output}")
    return 0


def check_image_output(path: Path) -> None:
    """Refuse an output file name whose suffix names no image format Pillow writes."""
    from PIL import Image

    suffix = path.suffix.lower()
    formats = Image.registered_extensions()
    if formats.get(suffix) not in Image.SAVE:
        raise InvalidInputError(
            f"{path}: {'no file suffix' if not suffix else f'unknown image type {suffix!r}'}; "
            "name the output .jpg, .png, .webp or .bmp")
