"""Data pipeline speed: demo-face drawing, and dataset loading against a bare PIL loop.

Run: .venv/bin/python benchmarks/bench_data.py   (one process; numbers vary with the machine)
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader

from scancci.data import build_transforms, generate_demo_dataset, open_dataset


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:8.0f} img/s"


def main() -> None:
    # As in DataLoader workers: per-image tensor ops are slower with several intra-op threads.
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = generate_demo_dataset(Path(tmp), num_train_per_class=100, num_test_per_class=30)
        drawn = 7 * 100 + 3 * 7 * 30
        print(f"demo faces drawn and written (1 core)   {_rate(drawn, time.perf_counter() - start)}")
        dataset = open_dataset("rafdb", paths["clean"], split="train",
                               transform=build_transforms(train=True, input_size=224))
        files = [p for p, _ in dataset.samples]

        start = time.perf_counter()
        for path in files:
            with Image.open(path) as image:
                image.convert("RGB").resize((224, 224))
        baseline = time.perf_counter() - start
        start = time.perf_counter()
        for _batch, _ in DataLoader(dataset, batch_size=64, num_workers=0):
            pass
        ours = time.perf_counter() - start
        print(f"baseline: PIL open + convert + resize   {_rate(len(files), baseline)}")
        print(f"FERDataset + train transforms, loader   {_rate(len(files), ours)}")
        start = time.perf_counter()
        dataset.check(progress=False)
        print(f"check() (open every image)              {_rate(len(files), time.perf_counter() - start)}")


if __name__ == "__main__":
    main()
