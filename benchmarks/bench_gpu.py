"""SCAN-CCI on one GPU, bf16: the original's per-region loop against scancci eager and compiled.

One prepared script for a borrowed GPU (issue 13): scancci_resnet50 at 224 px, batch 64, bf16
autocast, channels-last; the forward pass and the training step (scancci_loss, SGD momentum
0.9) of the original's loop (tests/models/original_impl.py, same weights), scancci eager and
scancci under torch.compile, each as img/s and ratio to the original, with the compile time
(first call) and the largest logit difference from scancci eager. No test depends on it.

Run on a GPU machine (about 3-5 minutes, most of it compilation):
    .venv/bin/python benchmarks/bench_gpu.py [--batch 64] [--repeats 10] [--no-compile]
On a CPU, `--device cpu --batch 2 --repeats 1 --no-compile` checks the script itself.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable

import torch
from bench_model import resnet50_models, sgd_step  # benchmarks/ is on sys.path
from timing import fastest_seconds

from scancci import scancci_loss

CL = torch.channels_last


def synchronized(fn: Callable[[], object], device: str) -> Callable[[], object]:
    """`fn` followed by a device synchronisation, so wall time covers the kernels it queued."""
    def run() -> object:
        out = fn()
        if device == "cuda":
            torch.cuda.synchronize()
        return out
    return run


def first_call_seconds(fn: Callable[[], object]) -> float:
    """Seconds of the first call: compilation for a compiled variant."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_rows(fns: dict[str, Callable[[], object]], batch: int, repeats: int) -> dict[str, float]:
    """img/s of each callable: `timing.fastest_seconds` (the callables take turns)."""
    return {name: batch / seconds for name, seconds in fastest_seconds(fns, repeats).items()}


def models(device: str, compile_: bool) -> dict[str, torch.nn.Module]:
    """The original, scancci eager and (optionally) scancci compiled, same weights, on `device`."""
    original, ours = resnet50_models()
    out = {"original (loop over 25 regions)": original, "scancci eager": ours}
    if compile_:
        out["scancci torch.compile"] = torch.compile(copy.deepcopy(ours))
    return {name: m.to(device, memory_format=CL) for name, m in out.items()}


def logits_of(output: object) -> torch.Tensor:
    return output[0] if isinstance(output, tuple) else output.logits


def forward_section(nets: dict[str, torch.nn.Module], x: torch.Tensor, device: str,
                    repeats: int) -> None:
    """Inference img/s, ratio to the original, compile time, logit difference."""
    fns, first, outputs = {}, {}, {}
    for name, net in nets.items():
        net.eval()

        def forward(net: torch.nn.Module = net) -> torch.Tensor:
            with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16):
                return logits_of(net(x)).float()
        fns[name] = synchronized(forward, device)
        first[name] = first_call_seconds(fns[name])
        outputs[name] = fns[name]()
    rates = timed_rows(fns, x.shape[0], repeats)
    print(f"\nforward, bf16 autocast, batch {x.shape[0]}")
    report(rates, first, {n: (outputs[n] - outputs["scancci eager"]).abs().max().item()
                          for n in nets if n.startswith("scancci")})


def train_section(nets: dict[str, torch.nn.Module], x: torch.Tensor, y: torch.Tensor,
                  device: str, repeats: int) -> None:
    """Training-step img/s (bf16 autocast), ratio to the original, compile time."""
    fns, first = {}, {}
    for name, net in nets.items():
        net.train()
        loss = (lambda m: m.loss(x, y)) if name.startswith("original") else \
            (lambda m: scancci_loss(m(x), y))
        fns[name] = synchronized(sgd_step(net, loss, autocast=True, device=device), device)
        first[name] = first_call_seconds(fns[name])
    print(f"\ntraining step, bf16 autocast, batch {x.shape[0]} (SGD, momentum 0.9)")
    report(timed_rows(fns, x.shape[0], repeats), first, {})


def report(rates: dict[str, float], first: dict[str, float], diffs: dict[str, float]) -> None:
    base = next(iter(rates.values()))
    print(f"  {'variant':<34}{'img/s':>9}{'ratio':>8}{'first call':>12}{'max |diff|':>12}")
    for name, rate in rates.items():
        diff = f"{diffs[name]:.2e}" if name in diffs else "-"
        print(f"  {name:<34}{rate:9.1f}{rate / base:7.2f}x{first[name]:11.1f}s{diff:>12}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled rows")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.exit(2, "bench_gpu.py: no CUDA GPU is visible; this script measures a GPU "
                       "(--device cpu checks the script itself)\n")
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
        print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, "
              f"bf16 supported: {torch.cuda.is_bf16_supported()}")
    g = torch.Generator().manual_seed(64)
    x = torch.randn(args.batch, 3, 224, 224, generator=g)  # the original's code needs 224 px
    x = x.to(args.device).contiguous(memory_format=CL)
    y = (torch.arange(args.batch) % 7).to(args.device)
    nets = models(args.device, compile_=not args.no_compile)
    forward_section(nets, x, args.device, args.repeats)
    train_section(nets, x, y, args.device, args.repeats)


if __name__ == "__main__":
    main()
