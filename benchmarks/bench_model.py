"""SCAN-CCI on this CPU: the original's per-region loop against scancci eager and its fast path.

Prints, in one run: the machine (CPU flags, threads, load), the measured fp32 / bf16 / int8
matmul rates, then for scancci_resnet50 at 224 px (shared local SCAN) each variant's img/s at
batch 1, 8 and 32, its ratio to the original's loop (the test-only transcription of the original
code, tests/models/reference_impl.py, holding the same weights), its achieved GFLOP/s as % of the
matching matmul rate and its largest logit difference from the original; the training step at
batch 16; and the same for scancci_mobilenetv2 at 112 px against a plain torchvision MobileNetV2
of the same input. Timings interleave the variants round by round and keep each one's fastest
round (the cores are shared). bf16 rows run only where the CPU has native bf16 (AVX512-BF16 or
AMX); int8 runs on onnxruntime (static, calibrated on demo faces).

Run: .venv/bin/python benchmarks/bench_model.py [--quick] [--repeats N] [--compile]
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

from scancci import create_model, load_reference_checkpoint, scancci_loss
from scancci.models import optimize_for_inference
from scancci.models.fast import bf16_native

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "models"))
from reference_impl import OriginalModel, randomize, save_original_checkpoint  # noqa: E402
from timing import cpu_flags, fastest_seconds  # noqa: E402

CL = torch.channels_last
Variant = tuple[str, Callable[[torch.Tensor], torch.Tensor], str, float, str | None]
# (label, x -> logits, matmul dtype it is compared with, forward FLOPs/image, reference label)


def matmul_gflops(dtype: torch.dtype, n: int, repeats: int) -> float:
    """Dense matmul rate (GFLOP/s) for fp32 / bf16 in PyTorch: the ceiling of those variants."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    return 2 * n**3 / fastest_seconds({"mm": lambda: a @ b}, repeats)["mm"] / 1e9


def int8_matmul_gflops(n: int, repeats: int) -> float:
    """onnxruntime's MatMulInteger rate (uint8 x int8, GOP/s): the ceiling of the int8 variant
    (it runs on onnxruntime; torch's CPU int8 GEMM is a slow reference kernel here)."""
    try:
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError:
        return float("nan")
    node = helper.make_node("MatMulInteger", ["a", "b"], ["y"])
    graph = helper.make_graph([node], "mm", [
        helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n]),
        helper.make_tensor_value_info("b", TensorProto.INT8, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [n, n])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(proto.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    feed = {"a": np.random.randint(0, 255, (n, n), dtype=np.uint8),
            "b": np.random.randint(-127, 127, (n, n), dtype=np.int8)}
    onnx.checker.check_model(proto)
    return 2 * n**3 / fastest_seconds({"mm": lambda: session.run(None, feed)}, repeats)["mm"] / 1e9


def matmul_rates(repeats: int) -> dict[str, float]:
    """fp32, bf16 (small matrices where bf16 is emulated: it is ~100x slower) and int8 rates."""
    return {"fp32": matmul_gflops(torch.float32, 2048, repeats),
            "bf16": matmul_gflops(torch.bfloat16, 2048 if bf16_native() else 256, repeats),
            "int8": int8_matmul_gflops(2048, repeats)}


def flops_per_image(fn: Callable[[torch.Tensor], object], size: int) -> float:
    """FLOPs of one forward pass (torch's counter: 2 per multiply-add)."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        fn(torch.randn(1, 3, size, size))
    return float(counter.get_total_flops())


def forward_table(title: str, variants: list[Variant], size: int, batches: tuple[int, ...],
                  repeats: int, peak: dict[str, float]) -> None:
    """img/s, ratio to the first variant, % of the matmul rate, max logit diff per batch size."""
    print(f"\n{title}")
    print(f"{'batch':>5} {'variant':<40} {'img/s':>8} {'ratio':>7} {'GFLOP/s':>8} {'% peak':>7} "
          f"{'max |diff|':>11}")
    for batch in batches:
        x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            outputs = {name: fn(x).float() for name, fn, *_ in variants}
            seconds = fastest_seconds({name: (lambda f=fn, x=x: f(x)) for name, fn, *_ in variants},
                                      repeats)
        base = batch / seconds[variants[0][0]]
        for name, _, dtype, flops, ref in variants:
            rate = batch / seconds[name]
            gflops = flops * rate / 1e9
            diff = "-" if ref is None else f"{(outputs[name] - outputs[ref]).abs().max():.2e}"
            print(f"{batch:>5} {name:<40} {rate:8.2f} {rate / base:6.2f}x {gflops:8.1f} "
                  f"{100 * gflops / peak[dtype]:6.0f}% {diff:>11}")


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


def scancci_train_rows(name: str, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor
                       ) -> list[tuple[str, torch.nn.Module, Callable, bool]]:
    """Training-step rows of a scancci model: fp32, fp32 channels-last (what scancci's trainer
    runs) and, where bf16 is native, bf16 autocast."""
    x_cl = x.contiguous(memory_format=CL)
    model_cl = copy.deepcopy(model).to(memory_format=CL)
    rows = [(f"{name} fp32", model, lambda m: scancci_loss(m(x), y), False),
            (f"{name} fp32 channels-last", model_cl, lambda m: scancci_loss(m(x_cl), y), False)]
    if bf16_native():
        rows.append((f"{name} bf16 autocast", model, lambda m: scancci_loss(m(x), y), True))
    return rows


def train_table(title: str, rows: list[tuple[str, torch.nn.Module, Callable, bool]],
                repeats: int) -> None:
    """Training-step img/s at batch 16 and the ratio to the first row."""
    print(f"\n{title}")
    steps = {}
    for name, model, loss_fn, autocast in rows:
        model.train()
        steps[name] = sgd_step(model, loss_fn, autocast)
    seconds = fastest_seconds(steps, repeats)
    base = 16 / seconds[rows[0][0]]
    for name, model, *_ in rows:
        print(f"  {name:<40} {16 / seconds[name]:7.1f} img/s  {16 / seconds[name] / base:5.2f}x")
        model.eval()


def resnet50_models() -> tuple[OriginalModel, torch.nn.Module]:
    """The original and scancci_resnet50, same weights (an original checkpoint imported)."""
    original = randomize(OriginalModel(num_classes=7, shared=True)).eval()
    with tempfile.TemporaryDirectory() as tmp:
        ours = load_reference_checkpoint(save_original_checkpoint(original, Path(tmp) / "c.pth"))
    return original, ours.eval()


def int8_variant(model: torch.nn.Module, flops: float) -> list[Variant]:
    """onnxruntime int8 (static QDQ, calibrated on 16 demo faces) of `model`, or none."""
    try:
        from scancci.export import export_onnx, quantize_onnx
        from scancci.export.samples import synthetic_faces
        from scancci.runtime.onnx_backend import OnnxClassifier
    except ImportError as err:
        print(f"int8: onnxruntime path unavailable ({err}); skipped")
        return []
    tmp = Path(tempfile.mkdtemp(prefix="scancci-bench-"))
    try:
        export_onnx(model, tmp / "m.onnx", num_random=1)
        quantize_onnx(tmp / "m.onnx", tmp / "m.int8.onnx", images=synthetic_faces(16),
                      num_random=1)
        session = OnnxClassifier(tmp / "m.int8.onnx", precision="int8")
    except Exception as err:  # a benchmark row, not a product path: say why and go on
        print(f"int8: export or quantisation failed ({err}); skipped")
        return []
    return [("onnxruntime int8 (static)",
             lambda x: torch.from_numpy(session.logits(x.numpy())), "int8", flops, None)]


def bf16_rows(label: str, fn: Callable[[torch.Tensor], torch.Tensor], flops: float,
              ref: str) -> list[Variant]:
    """A bf16 row where the CPU runs bf16 natively; elsewhere none (it would be emulated)."""
    return [(label, fn, "bf16", flops, ref)] if bf16_native() else []


def bench_resnet50(args: argparse.Namespace, peak: dict[str, float]) -> None:
    original, ours = resnet50_models()
    eager_cl = copy.deepcopy(ours).to(memory_format=CL)
    fast = optimize_for_inference(ours)
    fast_bf16 = optimize_for_inference(ours, precision="bf16") if bf16_native() else None
    flops = flops_per_image(original, 224)  # the computation's own (border taps not counted)
    print(f"\nscancci_resnet50 forward FLOPs per image: {flops / 1e9:.2f} GFLOP")
    base = "original (loop over 25 regions) fp32"
    variants: list[Variant] = [
        (base, lambda x: original(x)[0], "fp32", flops, None),
        ("scancci eager fp32 channels-last",
         lambda x: eager_cl(x.contiguous(memory_format=CL)).logits, "fp32", flops, base),
        ("scancci fast fp32", lambda x: fast(x).logits, "fp32", flops, base),
        *bf16_rows("scancci fast bf16", lambda x: fast_bf16(x).logits, flops, base),
    ]
    if not args.quick:
        variants += int8_variant(ours, flops)
    forward_table("scancci_resnet50, 224 px, inference (ratio: x the original's loop)", variants,
                  224, args.batches, args.repeats, peak)
    x = torch.randn(16, 3, 224, 224, generator=torch.Generator().manual_seed(16))
    y = torch.arange(16) % 7
    rows = [("original (loop) fp32", original, lambda m: m.loss(x, y), False),
            *scancci_train_rows("scancci", ours, x, y)]
    if args.compile:
        compiled = torch.compile(ours)
        rows.append(("scancci fp32 torch.compile", compiled,
                     lambda m: scancci_loss(m(x), y), False))
    train_table("scancci_resnet50 training step, batch 16, 224 px (SGD, momentum 0.9)", rows,
                args.repeats)


def bench_mobilenet(args: argparse.Namespace, peak: dict[str, float]) -> None:
    plain = torchvision.models.mobilenet_v2(num_classes=7).eval()
    plain_fp32 = copy.deepcopy(plain).to(memory_format=CL)
    ours = randomize(create_model("scancci_mobilenetv2", num_classes=7, input_size=112)).eval()
    fast = optimize_for_inference(ours)
    fast_bf16 = optimize_for_inference(ours, precision="bf16") if bf16_native() else None
    plain_flops, our_flops = flops_per_image(plain, 112), flops_per_image(ours, 112)
    print(f"\nFLOPs per image at 112 px: plain MobileNetV2 {plain_flops / 1e9:.3f} GFLOP, "
          f"scancci_mobilenetv2 {our_flops / 1e9:.3f} GFLOP")

    def plain_bf16(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return plain_fp32(x.contiguous(memory_format=CL))

    eager = "scancci_mobilenetv2 eager fp32"
    variants: list[Variant] = [
        ("plain MobileNetV2 fp32 channels-last",
         lambda x: plain_fp32(x.contiguous(memory_format=CL)), "fp32", plain_flops, None),
        *bf16_rows("plain MobileNetV2 bf16 autocast", plain_bf16, plain_flops, None),
        (eager, lambda x: ours(x).logits, "fp32", our_flops, None),
        ("scancci_mobilenetv2 fast fp32", lambda x: fast(x).logits, "fp32", our_flops, eager),
        *bf16_rows("scancci_mobilenetv2 fast bf16", lambda x: fast_bf16(x).logits, our_flops,
                   eager),
    ]
    forward_table("MobileNetV2 at 112 px, inference (ratio: x plain MobileNetV2 fp32)", variants,
                  112, args.batches, args.repeats, peak)
    x = torch.randn(16, 3, 112, 112, generator=torch.Generator().manual_seed(16))
    y = torch.arange(16) % 7
    rows = [("plain MobileNetV2 fp32", plain,
             lambda m: torch.nn.functional.cross_entropy(m(x), y), False),
            *scancci_train_rows("scancci_mobilenetv2", ours, x, y)]
    train_table("MobileNetV2 training step, batch 16, 112 px", rows, args.repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="batch 1 and 8, one timed round, no int8 export")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per variant")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--compile", action="store_true",
                        help="also time a torch.compile training step (minutes to compile)")
    args = parser.parse_args()
    args.batches = (1, 8) if args.quick else (1, 8, 32)
    args.repeats = 1 if args.quick else args.repeats
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, native bf16: {bf16_native()}")
    print(f"CPU: {cpu_flags()}; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    peak = matmul_rates(max(args.repeats, 3))
    print("measured matmul rate: " + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in peak.items()))
    if not bf16_native():
        print("bf16: not native on this CPU (oneDNN emulates it at the rate above): bf16 rows "
              "skipped; optimize_for_inference(precision='bf16') runs fp32 here")
    bench_resnet50(args, peak)
    bench_mobilenet(args, peak)
    print(f"\nload average at the end {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
