"""`scancci export`: a model to ONNX (optionally also int8) or TorchScript, verified."""

from __future__ import annotations

import argparse
from pathlib import Path

from scancci.commands.arguments import model_source
from scancci.errors import InvalidInputError

FORMATS = ("onnx", "torchscript")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=model_source, required=True,
                        help="saved model (.safetensors, .json, its folder, or an original .pth)")
    parser.add_argument("--format", choices=FORMATS, default="onnx")
    parser.add_argument("--output", required=True, type=Path,
                        help="file to write, e.g. model.onnx or model.pt")
    parser.add_argument("--int8", action="store_true",
                        help="ONNX only: also write an int8 copy (OUTPUT with .int8.onnx), "
                             "statically quantised on the check images")
    parser.add_argument("--images", type=Path, default=None,
                        help="folder of face images to check (and calibrate) the export on; "
                             "default: synthetic demo faces")
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset (17 or newer)")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="largest accepted |logit| difference (default 1e-3 ONNX, 1e-4 "
                             "TorchScript)")


def run(args: argparse.Namespace) -> int:
    from scancci.export import export_onnx, export_torchscript, quantize_onnx
    from scancci.export.samples import synthetic_faces

    if args.int8 and args.format != "onnx":
        raise InvalidInputError("--int8 applies to --format onnx only (TorchScript stays fp32)")
    images = args.images if args.images is not None else synthetic_faces()
    extra = {} if args.tolerance is None else {"tolerance": args.tolerance}
    if args.format == "torchscript":
        print(export_torchscript(args.model, args.output, images=images, **extra))
        return 0
    result = export_onnx(args.model, args.output, opset=args.opset, images=images, **extra)
    print(result)
    if args.int8:
        print(quantize_onnx(result.path, images=images))
    return 0
