"""SCAN-CCI on this CPU: every speed transform beside torch.compile and onnxruntime, one run.

Prints the machine (CPU flags, threads, load) and the measured fp32 / bf16 matmul rates, then
for scancci_resnet50 at 224 px (shared local SCAN), all holding the same weights:
- inference at batch 1 and 8: the original's loop (the test-only transcription of the original
  code, tests/models/original_impl.py: the baseline of the ratio column), scancci eager fp32,
  eager channels-last (`speed.channels_last`), `speed.optimize_for_inference` (fp32, and bf16
  where the CPU has it natively), torch.compile with Inductor freezing (its cold compile time), and
  onnxruntime fp32 (exported once; its export time); img/s, ratio, largest logit difference
  from scancci eager;
- the training step at batch 16 (scancci_loss, SGD momentum 0.9): the original's loop, scancci
  eager channels-last (what `fit` runs), under torch.compile (`trainer.compile`), and last,
  once the process has switched it on, eager with `speed.reuse_freed_memory` (the opt-in
  `trainer.reuse_freed_memory`; process-wide, so it cannot alternate with the others).
Timings interleave the variants round by round and keep each one's fastest round (the cores
may be shared).

Run: .venv/bin/python benchmarks/bench_model.py [--repeats N] [--no-train]  (6-8 minutes on
2 cores, most of it compilation)
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from scancci import scancci_loss
from scancci.devices import bf16_native
from scancci.models import load_original_checkpoint
from scancci.speed import channels_last, optimize_for_inference, reuse_freed_memory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "models"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from original_impl import OriginalModel, randomize, save_original_checkpoint  # noqa: E402
from timing import cpu_flags, fastest_seconds  # noqa: E402

CL = torch.channels_last
# Dynamo notes that it traces through regions.py's cache of the region layout (plain ints)
warnings.filterwarnings("ignore", message="Dynamo detected a call to a `functools.lru_cache`")
Forward = Callable[[torch.Tensor], torch.Tensor]  # normalised batch -> logits


def matmul_gflops(dtype: torch.dtype, n: int, repeats: int) -> float:
    """Dense matmul rate (GFLOP/s) in PyTorch: the ceiling of a variant in that dtype."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    return 2 * n**3 / fastest_seconds({"mm": lambda: a @ b}, repeats)["mm"] / 1e9


def first_call_seconds(fn: Callable[[], object]) -> float:
    """Seconds of one call: compilation for a compiled variant."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def resnet50_models() -> tuple[OriginalModel, torch.nn.Module]:
    """The original and scancci_resnet50, same weights (an original checkpoint imported)."""
    original = randomize(OriginalModel(num_classes=7, shared=True)).eval()
    with tempfile.TemporaryDirectory() as tmp:
        ours = load_original_checkpoint(save_original_checkpoint(original, Path(tmp) / "c.pth"))
    return original, ours.eval()


def sgd_step(model: torch.nn.Module, loss_fn: Callable[[torch.nn.Module], torch.Tensor],
             autocast: bool, device: str = "cpu") -> Callable[[], None]:
    """One training step of `model` (zero grads, loss, backward, SGD update) as a callable;
    `autocast`: bf16 autocast on `device`."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=autocast):
            loss = loss_fn(model)
        loss.backward()
        optimizer.step()

    return step


def onnx_forward(model: torch.nn.Module, notes: list[str]) -> Forward | None:
    """onnxruntime fp32 on the exported model (torch's threads), or None where it cannot run."""
    try:
        from scancci.export import export_onnx
        from scancci.runtime.onnx_backend import OnnxClassifier
    except ImportError as err:
        notes.append(f"onnxruntime: unavailable ({err})")
        return None
    path = Path(tempfile.mkdtemp(prefix="scancci-bench-")) / "m.onnx"
    start = time.perf_counter()
    export_onnx(model, path, num_random=1)
    notes.append(f"onnxruntime: export took {time.perf_counter() - start:.0f} s (once)")
    session = OnnxClassifier(path, threads=torch.get_num_threads())
    return lambda x: torch.from_numpy(session.logits(x.numpy()))


def inference_variants(original: torch.nn.Module, ours: torch.nn.Module, notes: list[str]
                       ) -> dict[str, Forward]:
    """Label -> forward, the original's loop first (the ratio's baseline)."""
    eager_cl = channels_last(copy.deepcopy(ours))
    fast = optimize_for_inference(ours)
    variants: dict[str, Forward] = {
        "original (loop over 25 regions)": lambda x: original(x)[0],
        "scancci eager fp32": lambda x: ours(x).logits,
        "eager + channels_last": lambda x: eager_cl(x).logits,
        "optimize_for_inference fp32": lambda x: fast(x).logits,
    }
    if bf16_native():
        fast_bf16 = optimize_for_inference(ours, precision="bf16")
        variants["optimize_for_inference bf16"] = lambda x: fast_bf16(x).logits
    compiled = torch.compile(channels_last(copy.deepcopy(ours)), dynamic=False,
                             options={"freezing": True})
    variants["torch.compile (Inductor, freezing)"] = lambda x: compiled(x).logits
    ort = onnx_forward(ours, notes)
    if ort is not None:
        variants["onnxruntime fp32"] = ort
    return variants


def inference_table(variants: dict[str, Forward], batches: tuple[int, ...], repeats: int) -> None:
    """img/s, ratio to the first variant, first-call seconds and max logit diff per batch."""
    print(f"\n{'batch':>5} {'variant':<36} {'img/s':>7} {'ratio':>7} {'1st call':>9} "
          f"{'max |diff|':>11}")
    for batch in batches:
        x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            first = {n: first_call_seconds(lambda f=f, x=x: f(x)) for n, f in variants.items()}
            eager = variants["scancci eager fp32"](x)
            diffs = {n: float((f(x).float() - eager).abs().max()) for n, f in variants.items()}
            seconds = fastest_seconds({n: (lambda f=f, x=x: f(x)) for n, f in variants.items()},
                                      repeats)
        base = batch / next(iter(seconds.values()))
        for name in variants:
            rate = batch / seconds[name]
            print(f"{batch:>5} {name:<36} {rate:7.2f} {rate / base:6.2f}x {first[name]:8.1f}s "
                  f"{diffs[name]:11.2e}")


def train_table(original: torch.nn.Module, ours: torch.nn.Module, repeats: int) -> None:
    """Training-step img/s at batch 16, ratio to the original's, first-step seconds."""
    x = torch.randn(16, 3, 224, 224, generator=torch.Generator().manual_seed(16))
    y = torch.arange(16) % 7
    eager = channels_last(copy.deepcopy(ours)).train()
    compiled = channels_last(copy.deepcopy(ours)).train()
    compiled.compile()  # as trainer.compile does (nn.Module.compile)
    steps = {
        "original (loop over 25 regions)": sgd_step(original.train(), lambda m: m.loss(x, y),
                                                    False),
        "scancci eager channels-last": sgd_step(eager, lambda m: scancci_loss(m(x), y), False),
        "torch.compile (Inductor)": sgd_step(compiled, lambda m: scancci_loss(m(x), y), False),
    }
    first = {name: first_call_seconds(step) for name, step in steps.items()}
    seconds = fastest_seconds(steps, repeats)
    base = 16 / seconds[next(iter(steps))]
    print(f"\ntraining step, batch 16, 224 px (scancci_loss, SGD momentum 0.9)\n"
          f"{'variant':<36} {'img/s':>7} {'ratio':>7} {'1st step':>9}")
    for name in steps:
        rate = 16 / seconds[name]
        print(f"{name:<36} {rate:7.2f} {rate / base:6.2f}x {first[name]:8.1f}s")
    # The allocator setting is process-wide and one-way: timed last, after the rows above
    if reuse_freed_memory():
        name = "eager cl + reuse_freed_memory"
        rate = 16 / fastest_seconds({name: steps["scancci eager channels-last"]}, repeats)[name]
        print(f"{name:<36} {rate:7.2f} {rate / base:6.2f}x {'-':>9}")
    original.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per variant")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--no-train", action="store_true", help="inference rows only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # a fresh Inductor cache: "1st call" is a cold compilation, as on a user's first run
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="scancci-inductor-")
    print(f"torch {torch.__version__}, {args.threads} threads, PyTorch CPU kernels "
          f"{torch.backends.cpu.get_cpu_capability()}, native bf16: {bf16_native()}")
    print(f"CPU: {cpu_flags()}; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    rates = {"fp32": matmul_gflops(torch.float32, 2048, 3),
             "bf16": matmul_gflops(torch.bfloat16, 2048 if bf16_native() else 512, 3)}
    print("matmul rate: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in rates.items())
          + ("" if bf16_native() else " (bf16 emulated: optimize_for_inference runs fp32)"))
    original, ours = resnet50_models()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        original(torch.randn(1, 3, 224, 224))
    print(f"scancci_resnet50, 224 px: {counter.get_total_flops() / 1e9:.2f} GFLOP per image "
          f"(forward)\n\ninference (ratio: x the original's loop)")
    notes: list[str] = []
    variants = inference_variants(original, ours, notes)
    inference_table(variants, (1, 8), args.repeats)
    print("\n".join(notes))
    if not args.no_train:
        train_table(original, ours, args.repeats)
    print(f"\nload average at the end {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
