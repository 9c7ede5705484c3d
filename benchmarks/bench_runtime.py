"""CPU runtimes side by side: PyTorch fp32 (baseline), PyTorch bf16 (autocast), onnxruntime fp32
and onnxruntime int8 (static, calibrated on demo train faces), for scancci_resnet50 and
scancci_mobilenetv2 at batch 1 and 32: images/s, latency p50/p95 per call, and agreement with
PyTorch fp32 (top-1 agreement, largest probability difference) on the synthetic demo test set.

    .venv/bin/python benchmarks/bench_runtime.py            # a few minutes on 2 cores
    .venv/bin/python benchmarks/bench_runtime.py --quick    # shorter timing, fewer images

Models are random-init (seeded) unless saved-model paths are given: timings do not depend on
the weights, agreement does (a trained model has larger margins, so usually agrees more).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from scancci.export import export_onnx, quantize_onnx
from scancci.export.agreement import compare_runtimes
from scancci.export.inputs import preprocess
from scancci.inference.backends import create_classifier
from scancci.runtime.onnx_backend import OnnxClassifier

DEFAULT_MODELS = ("scancci_resnet50", "scancci_mobilenetv2")


def build_model(name_or_path: str, input_size: int) -> torch.nn.Module:
    from scancci.models import create_model, load_network

    if Path(name_or_path).exists():
        return load_network(name_or_path).eval()
    torch.manual_seed(0)
    return create_model(name_or_path, num_classes=7, input_size=input_size).eval()


def demo_images(root: Path, per_class: int) -> tuple[list[Path], list[Path]]:
    """Synthetic demo faces: (train images for calibration, test images for agreement)."""
    from scancci.data import generate_demo_dataset, open_dataset

    paths = generate_demo_dataset(root, seed=0, num_train_per_class=max(2, per_class // 4),
                                  num_test_per_class=per_class)
    train = [Path(p) for p, _ in open_dataset("rafdb", paths["clean"], split="train").samples]
    test = [Path(p) for p, _ in open_dataset("rafdb", paths["clean"], split="test").samples]
    return train, test


def time_calls(classifier: Any, batch: np.ndarray, *, budget_s: float, min_runs: int
               ) -> list[float]:
    """Seconds per `classifier.logits(batch)` call, after one warm-up call."""
    classifier.logits(batch)
    latencies: list[float] = []
    while len(latencies) < min_runs or sum(latencies) < budget_s:
        start = time.perf_counter()
        classifier.logits(batch)
        latencies.append(time.perf_counter() - start)
        if len(latencies) >= 200:
            break
    return latencies


def bench_model(name: str, args: argparse.Namespace, train: list[Path], test: list[Path],
                workdir: Path) -> list[str]:
    model = build_model(name, args.input_size)
    arch = model.config.arch
    print(f"\n== {arch} ({'random init, seed 0' if not Path(name).exists() else name}) "
          f"input {model.config.input_size}")
    fp32_path = workdir / f"{arch}.onnx"
    print(export_onnx(model, fp32_path, images=test[:8], num_random=2).report)
    print(quantize_onnx(fp32_path, workdir / f"{arch}.int8.onnx", images=train,
                        num_random=2).report)
    runtimes = {
        "pytorch fp32": create_classifier(model, backend="torch", precision="fp32"),
        "pytorch bf16": create_classifier(model, backend="torch", precision="bf16"),
        "onnxruntime fp32": OnnxClassifier(fp32_path),
        "onnxruntime int8": OnnxClassifier(workdir / f"{arch}.int8.onnx", precision="int8"),
    }
    images = preprocess(test, model.config)
    agree = {a.runtime: a for a in compare_runtimes(runtimes["pytorch fp32"], runtimes, images)}
    rows = []
    cells = [(r, b) for r in runtimes for b in args.batches]
    for runtime, batch_size in tqdm(cells, desc=arch, leave=False):
        batch = images[np.arange(batch_size) % len(images)]
        lat = np.asarray(time_calls(runtimes[runtime], batch, budget_s=args.seconds,
                                    min_runs=args.min_runs if batch_size > 1 else 3 * args.min_runs))
        a = agree[runtime]
        rows.append(f"| {arch} | {runtime} | {batch_size} | {batch_size * len(lat) / lat.sum():8.1f}"
                    f" | {np.percentile(lat, 50) * 1000:8.1f} | {np.percentile(lat, 95) * 1000:8.1f}"
                    f" | {a.top1_agreement:7.2%} | {a.max_prob_diff:.4f} | {len(lat)} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS),
                        help="architecture names (random init) or saved-model paths")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--quick", action="store_true", help="1 s per cell, 10 test faces/class")
    args = parser.parse_args()
    args.seconds = 1.0 if args.quick else 4.0
    args.min_runs = 2 if args.quick else 3
    per_class = 10 if args.quick else 30
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    started = time.perf_counter()
    header = ["| model | runtime | batch | images/s | p50 ms | p95 ms | top-1 agree vs fp32 "
              "| max abs prob diff | calls |", "|---|---|---|---|---|---|---|---|---|"]
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="scancci-bench-") as tmp:
        train, test = demo_images(Path(tmp) / "demo", per_class)
        print(f"demo set: {len(train)} train faces (int8 calibration), {len(test)} test faces "
              "(agreement)")
        for name in args.models:
            rows += bench_model(name, args, train, test, Path(tmp))
    print("\n" + "\n".join(header + rows))
    print(f"\n(total {time.perf_counter() - started:.0f} s; latency = one call on the whole "
          "batch; the CPU is shared, so timings are noisy)")


if __name__ == "__main__":
    main()
