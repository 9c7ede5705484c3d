"""SCAN-CCI (ResNet-50, 224 px) on this CPU: scancci against the original's per-region loop.

The baseline is the test-only transcription of the original code (tests/models/reference_impl.py:
its unfold-based patches and Python loop over the 25 regions). Both models hold the same
weights (an original checkpoint imported with `load_reference_checkpoint`), so the outputs are
compared as well as the speed. Achieved GFLOP/s is printed next to the machine's measured
matmul rate.

Run: .venv/bin/python benchmarks/bench_model.py [--repeats N]   (numbers vary with the machine)
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from scancci import load_reference_checkpoint, scancci_loss

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "models"))
from reference_impl import OriginalModel, randomize, save_original_checkpoint  # noqa: E402
from timing import median_seconds  # noqa: E402


def matmul_gflops(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float:
    """The machine's dense matmul rate (GFLOP/s) for `dtype`: the ceiling to compare with."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    return 2 * n**3 / median_seconds(lambda: a @ b, repeats) / 1e9


def forward_flops(model: torch.nn.Module, x: torch.Tensor) -> float:
    """FLOPs of one forward pass (torch's counter: 2 per multiply-add)."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return float(counter.get_total_flops())


def models() -> tuple[OriginalModel, torch.nn.Module]:
    """The original and scancci, same weights, eval mode."""
    original = randomize(OriginalModel(num_classes=7, shared=True)).eval()
    with tempfile.TemporaryDirectory() as tmp:
        ours = load_reference_checkpoint(save_original_checkpoint(original, Path(tmp) / "c.pth"))
    return original, ours.eval()


def bench_forward(original: OriginalModel, ours: torch.nn.Module, repeats: int,
                  peak: dict[str, float]) -> None:
    flops = forward_flops(ours, torch.randn(1, 3, 224, 224))
    ours_cl = copy.deepcopy(ours).to(memory_format=torch.channels_last)
    print(f"forward FLOPs per image: {flops / 1e9:.2f} GFLOP")
    print(f"{'batch':>5} {'variant':<34} {'img/s':>8} {'x loop':>7} {'GFLOP/s':>8} "
          f"{'% peak':>7} {'max |diff|':>11}")
    for batch in (1, 8, 32):
        x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            reference = original(x)[0]
        base = None
        for name, run, dtype in variants(original, ours, ours_cl, x):
            with torch.no_grad():
                seconds = median_seconds(run, repeats)
                diff = (run().float() - reference).abs().max().item()
            rate = batch / seconds
            base = base or rate
            gflops = flops * batch / seconds / 1e9
            print(f"{batch:>5} {name:<34} {rate:8.1f} {rate / base:6.2f}x {gflops:8.1f} "
                  f"{100 * gflops / peak[dtype]:6.0f}% {diff:11.2e}")


def variants(original: OriginalModel, ours: torch.nn.Module, ours_cl: torch.nn.Module,
             x: torch.Tensor) -> list[tuple[str, Callable[[], torch.Tensor], str]]:
    """(label, forward returning the mean logits, matmul dtype it is compared with)."""
    x_cl = x.contiguous(memory_format=torch.channels_last)

    def bf16() -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return ours_cl(x_cl).logits

    return [("original (loop over 25 regions) fp32", lambda: original(x)[0], "fp32"),
            ("scancci fp32", lambda: ours(x).logits, "fp32"),
            ("scancci fp32 channels-last", lambda: ours_cl(x_cl).logits, "fp32"),
            ("scancci bf16 autocast channels-last", bf16, "bf16")]


def sgd_step(model: torch.nn.Module, loss_fn: Callable[[torch.nn.Module], torch.Tensor],
             autocast: bool) -> Callable[[], None]:
    """One training step of `model` (zero grads, loss, backward, SGD update) as a callable."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = loss_fn(model)
        loss.backward()
        optimizer.step()

    return step


def bench_train_step(original: OriginalModel, ours: torch.nn.Module, repeats: int) -> None:
    """One SGD step (forward, the SCAN-CCI loss, backward, update) at batch 16."""
    x = torch.randn(16, 3, 224, 224, generator=torch.Generator().manual_seed(16))
    y = torch.arange(16) % 7
    print("\ntraining step, batch 16 (SGD, momentum 0.9)")
    base = None
    for name, model, loss_fn, autocast in [
        ("original (loop) fp32", original, lambda m: m.loss(x, y), False),
        ("scancci fp32", ours, lambda m: scancci_loss(m(x), y), False),
        ("scancci bf16 autocast", ours, lambda m: scancci_loss(m(x), y), True)]:
        model.train()
        rate = 16 / median_seconds(sgd_step(model, loss_fn, autocast), repeats)
        base = base or rate
        print(f"  {name:<28} {rate:7.1f} img/s  {rate / base:5.2f}x")
        model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    peak = {"fp32": matmul_gflops(torch.float32), "bf16": matmul_gflops(torch.bfloat16)}
    print(f"torch {torch.__version__}, {args.threads} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}")
    print(f"measured matmul rate: fp32 {peak['fp32']:.0f} GFLOP/s, bf16 {peak['bf16']:.0f} GFLOP/s")
    original, ours = models()
    bench_forward(original, ours, args.repeats, peak)
    bench_train_step(original, ours, args.repeats)


if __name__ == "__main__":
    main()
