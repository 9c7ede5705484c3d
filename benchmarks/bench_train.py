"""Training speed on this machine, side by side:

1. training throughput (images/s: forward + scancci_loss + backward + SGD step, batch 16) of
   every model at 224 px (and 112 px for the small ones), against the plain baseline of the
   same backbone measured in the same run;
2. the data-loading rate of a folder of JPEGs with the training transform (decode, resize,
   flip, colour jitter, normalise), DataLoader with 0 workers (baseline) vs 2 workers;
3. the expected time per epoch on one GPU, derived from the FLOP count (stated assumption).

    .venv/bin/python benchmarks/bench_train.py           # about 5 minutes on 2 cores
    .venv/bin/python benchmarks/bench_train.py --quick   # fewer steps and models
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode

from scancci.data import build_transforms, generate_demo_dataset, open_dataset
from scancci.models import create_model, scancci_loss

# (model, input size): the paper's ResNet-50 at 224, the small ones also at the demo's 112
CASES = [("scancci_resnet50", 224), ("scancci_resnet18", 224), ("plain_resnet18", 224),
         ("scancci_mobilenetv2", 224), ("plain_mobilenetv2", 224),
         ("scancci_mobilenetv2", 112), ("plain_mobilenetv2", 112)]
QUICK = [("scancci_resnet18", 224), ("plain_resnet18", 224), ("scancci_mobilenetv2", 112),
         ("plain_mobilenetv2", 112)]
# GPU assumption for the per-epoch estimate: an A100 (312 TFLOP/s dense bf16) reaching 25 % of
# peak on these convnets (ResNet-50 training in mixed precision reaches roughly 20-35 %).
GPU_NAME, GPU_PEAK, GPU_UTIL = "A100 bf16", 312e12, 0.25
EPOCH_IMAGES = {"RAF-DB train (12,271)": 12271, "per 100,000 images": 100_000}


def train_flops(model: torch.nn.Module, size: int) -> float:
    """FLOPs of one training step per image (forward + backward), counted by PyTorch."""
    x = torch.randn(2, 3, size, size)
    y = torch.tensor([0, 1])
    with FlopCounterMode(display=False) as counter:
        scancci_loss(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / 2


def train_throughput(model: torch.nn.Module, size: int, batch: int, steps: int,
                     device: str = "cpu", bf16: bool = False) -> float:
    """Images per second of full SGD training steps (bf16 autocast when asked)."""
    model.to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x = torch.randn(batch, 3, size, size, device=device)
    y = torch.randint(0, model.config.num_classes, (batch,), device=device)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16,
                            enabled=bf16):
            loss = scancci_loss(model(x), y)
        loss.backward()
        optimizer.step()

    for _ in range(2 if device != "cpu" else 1):  # warm-up
        step()
    if device != "cpu":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device != "cpu":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def gpu_section(batch: int, steps: int) -> None:
    """Measured GPU training throughput, fp32 vs bf16 autocast, beside the FLOP estimate."""
    torch.backends.cudnn.benchmark = True
    print(f"GPU: {torch.cuda.get_device_name()}, batch {batch}")
    print(f"{'model':<22}{'size':>6}{'fp32 img/s':>12}{'bf16 img/s':>12}"
          f"{'RAF-DB epoch bf16':>20}{'TFLOP/s bf16':>14}")
    for name, size in CASES:
        model = create_model(name, num_classes=7, input_size=size)
        flops = train_flops(model, size)
        fp32 = train_throughput(model, size, batch, steps, "cuda", bf16=False)
        bf16 = train_throughput(model, size, batch, steps, "cuda", bf16=True)
        epoch = EPOCH_IMAGES["RAF-DB train (12,271)"] / bf16
        print(f"{name:<22}{size:>6}{fp32:>12.0f}{bf16:>12.0f}{epoch:>18.1f} s"
              f"{bf16 * flops / 1e12:>14.1f}")


def loading_rate(root: Path, workers: int, size: int, epochs: int = 2) -> float:
    """Images per second delivered by a DataLoader over JPEGs with the training transform."""
    data = open_dataset("rafdb", root, split="train",
                        transform=build_transforms(train=True, input_size=size))
    loader = DataLoader(data, batch_size=32, shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0)
    next(iter(loader))  # start the workers
    start, seen = time.perf_counter(), 0
    for _ in range(epochs):
        for images, _ in loader:
            seen += len(images)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--gpu", action="store_true",
                        help="measure training throughput on the GPU instead (batch 64)")
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.gpu:
        gpu_section(batch=64, steps=20)
        return
    steps = 2 if args.quick else 4
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")

    print(f"1. training throughput, CPU fp32, batch {args.batch} (images/s; baseline = the plain "
          "backbone of the same family)")
    print(f"{'model':<22}{'size':>6}{'GFLOP/img':>11}{'img/s':>9}   {'est. epoch on one GPU':>30}")
    rates: dict[tuple[str, int], float] = {}
    gpu_need: dict[tuple[str, int], float] = {}  # images/s the GPU would consume
    for name, size in QUICK if args.quick else CASES:
        model = create_model(name, num_classes=7, input_size=size)
        flops = train_flops(model, size)
        rate = train_throughput(model, size, args.batch, steps)
        rates[(name, size)] = rate
        gpu_need[(name, size)] = GPU_PEAK * GPU_UTIL / flops
        gpu_s = EPOCH_IMAGES["RAF-DB train (12,271)"] * flops / (GPU_PEAK * GPU_UTIL)
        print(f"{name:<22}{size:>6}{flops / 1e9:>11.2f}{rate:>9.1f}   "
              f"{gpu_s:>8.1f} s per RAF-DB epoch")
    for (name, size), rate in rates.items():
        base = name.replace("scancci_", "plain_")
        if name.startswith("scancci_") and (base, size) in rates:
            print(f"  {name} @ {size}: {rate / rates[(base, size)]:.2f}x the speed of {base}")
    print(f"  GPU estimate: training FLOPs per image x images / ({GPU_NAME} peak "
          f"{GPU_PEAK / 1e12:.0f} TFLOP/s x {GPU_UTIL:.0%} utilisation); data loading must "
          "keep up (section 2)")

    print("\n2. data loading, folder of JPEGs (100 px synthetic faces), training transform")
    with tempfile.TemporaryDirectory() as tmp:
        per_class = 30 if args.quick else 80
        root = generate_demo_dataset(tmp, num_train_per_class=per_class,
                                     num_test_per_class=1)["clean"]
        for size in (112, 224):
            base = loading_rate(root, 0, size)
            two = loading_rate(root, 2, size)
            print(f"  {size} px: 0 workers (baseline) {base:7.1f} img/s | 2 workers "
                  f"{two:7.1f} img/s ({two / base:.2f}x)")
            per_worker = two / 2
            for (name, msize), need in gpu_need.items():
                if msize == size and name in ("scancci_resnet50", "scancci_mobilenetv2"):
                    print(f"    {name} on one GPU would consume ~{need:,.0f} img/s: about "
                          f"{need / per_worker:.0f} loader workers of this CPU's speed")
    fastest = max(rates.values())
    print(f"  fastest CPU training rate above: {fastest:.1f} img/s -> on this CPU loading "
          f"{'keeps up with' if base > fastest else 'is slower than'} training even with 0 "
          "workers")


if __name__ == "__main__":
    main()
