"""Bounded load test of `scancci serve` on loopback: N requests at concurrency C, stopping by
itself after N requests or T seconds. Reports throughput, latency p50/p95/p99, errors and 503s.

    .venv/bin/python benchmarks/load_test_serve.py                    # 2,000 requests, 16 at once
    .venv/bin/python benchmarks/load_test_serve.py --requests 200 --max-seconds 60

Starts its own server (a subprocess, 127.0.0.1, free port) with --model or, by default, a
random-init scancci_mobilenetv2 (timings do not depend on the weights) and stops it at the end.
Only loopback addresses are ever contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("SCANCCI_ASSETS", REPO / ".venv/share/scancci-assets"))
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def default_model(folder: Path, input_size: int) -> Path:
    import torch

    from scancci.models import create_model, save_model

    torch.manual_seed(0)
    path = folder / "model.safetensors"
    save_model(create_model("scancci_mobilenetv2", num_classes=7, input_size=input_size), path)
    return path


def start_server(model: Path, port: int, args: argparse.Namespace) -> subprocess.Popen:
    command = [sys.executable, "-m", "scancci", "serve", "--model", str(model), "--host", HOST,
               "--port", str(port), "--max-concurrency", str(args.server_concurrency),
               "--backend", args.backend, "--precision", args.precision]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited: {server.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://{HOST}:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("the server did not answer /health within 120 s")


async def load(url: str, image: bytes, args: argparse.Namespace
               ) -> tuple[list[tuple[object, float]], Counter, float]:
    latencies: list[tuple[object, float]] = []
    statuses: Counter = Counter()
    issued = 0
    deadline = time.monotonic() + args.max_seconds
    limits = httpx.Limits(max_connections=args.concurrency)

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal issued
        while issued < args.requests and time.monotonic() < deadline:
            issued += 1
            start = time.perf_counter()
            try:
                response = await http.post(f"{url}/predict", content=image,
                                           headers={"content-type": "image/jpeg"})
                status: object = response.status_code
            except httpx.HTTPError as err:
                status = type(err).__name__
            statuses[status] += 1
            latencies.append((status, time.perf_counter() - start))

    started = time.perf_counter()
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        await asyncio.gather(*(worker(http) for _ in range(args.concurrency)))
    return latencies, statuses, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--image", type=Path, default=ASSETS / "feat/tests/data/single_face.jpg")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--server-concurrency", type=int, default=4,
                        help="the server's --max-concurrency (requests beyond it get 503)")
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    parser.add_argument("--precision", choices=("fp32", "bf16", "int8"), default="fp32")
    parser.add_argument("--input-size", type=int, default=112)
    args = parser.parse_args()
    image = args.image.read_bytes()
    with tempfile.TemporaryDirectory(prefix="scancci-load-") as tmp:
        model = args.model or default_model(Path(tmp), args.input_size)
        port = free_port()
        server = start_server(model, port, args)
        try:
            latencies, statuses, elapsed = asyncio.run(load(f"http://{HOST}:{port}", image, args))
        finally:
            server.terminate()
            server.wait(timeout=30)
    lat = np.asarray([t for _, t in latencies]) * 1000
    lat_ok = np.asarray([t for status, t in latencies if status == 200] or [np.nan]) * 1000
    ok = statuses.get(200, 0)
    errors = sum(n for code, n in statuses.items() if code not in (200, 503))
    print(f"model: {model if args.model else 'random-init scancci_mobilenetv2'} "
          f"({args.backend} {args.precision}), image {args.image.name} ({len(image):,} bytes)")
    print(f"server max concurrency {args.server_concurrency}, client concurrency "
          f"{args.concurrency}, {len(lat)} requests in {elapsed:.1f} s "
          f"(limits: {args.requests} requests, {args.max_seconds:g} s)")
    print(f"throughput: {len(lat) / elapsed:.1f} requests/s, {ok / elapsed:.1f} answered 200/s")
    for name, values in (("200 answers", lat_ok), ("all answers", lat)):
        print(f"latency ms ({name}): p50 {np.percentile(values, 50):.0f}  "
              f"p95 {np.percentile(values, 95):.0f}  p99 {np.percentile(values, 99):.0f}  "
              f"max {values.max():.0f}")
    print(f"status counts: {dict(sorted(statuses.items(), key=str))}; 503: "
          f"{statuses.get(503, 0)}; errors (not 200/503): {errors}")


if __name__ == "__main__":
    main()
