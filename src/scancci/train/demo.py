"""The CPU demo: synthetic faces, SCAN-CCI vs a plain backbone, clean / occluded / masked.

SYNTHETIC DATA: the demo shows the whole pipeline (data, training, selection on validation,
one-time test, calibration, robustness subsets, attention maps) in minutes on a laptop CPU.
Its accuracies say nothing about real faces.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn import functional as F

from scancci.data import generate_demo_dataset, open_dataset
from scancci.evaluate.evaluate import eval_transform
from scancci.evaluate.figures import pyplot, save_figure
from scancci.evaluate.metrics import ClassificationMetrics
from scancci.models import load_network
from scancci.train.config import DemoSettings
from scancci.train.final import RunResult
from scancci.train.fitting import fit
from scancci.train.recipes import load_recipe

# label -> (architecture, overrides). Same data, epochs, augmentation and trunk learning rate;
# the plain model's linear head takes the trunk's rate (at the SCAN-CCI head's 5e-2 it diverges:
# its pooled features are not L2-normalised).
MODELS = {"SCAN-CCI (MobileNetV2)": ("scancci_mobilenetv2", []),
          "plain MobileNetV2 (baseline)": ("plain_mobilenetv2", ["optim.head_lr=0.01"])}
SETS = ("clean", "occluded", "masked")



@dataclass
class DemoResult:
    report: Path
    runs: dict[str, RunResult] = field(default_factory=dict)
    seconds: float = 0.0


def run_demo(settings: DemoSettings | None = None) -> DemoResult:
    """Generate the data, train both models, evaluate, calibrate and write report.md."""
    s = settings or DemoSettings()
    start = time.perf_counter()
    out = Path(s.out)
    paths = generate_demo_dataset(out / "data", seed=s.seed,
                                  num_train_per_class=s.train_per_class,
                                  num_test_per_class=s.test_per_class, progress=s.progress)
    runs: dict[str, RunResult] = {}
    for label, (arch, extra) in MODELS.items():
        print(f"\n== training {label} ==", flush=True)
        run_dir = out / "runs" / arch
        config = load_recipe("demo", overrides=[
            f"model.name={arch}", f"model.input_size={s.input_size}",
            f"trainer.epochs={s.epochs}", f"trainer.seed={s.seed}",
            f"trainer.progress={str(s.progress).lower()}",
            f"data.root={paths['clean']}", f"data.roots.occluded={paths['occluded']}",
            f"data.roots.masked={paths['masked']}", f"run_dir={run_dir}",
            f"overwrite={str(run_dir.exists()).lower()}", *extra])
        runs[label] = fit(config)
    overlay = plot_attention_overlays(runs["SCAN-CCI (MobileNetV2)"].run_dir, paths,
                                      out / "attention.png")
    result = DemoResult(out / "report.md", runs, time.perf_counter() - start)
    result.report.write_text(demo_report(result, overlay, s))
    return result


def _pct(m: ClassificationMetrics | None, key: str = "accuracy") -> str:
    return "n/a" if m is None else f"{100 * getattr(m, key):.1f}"


def demo_report(result: DemoResult, overlay: Path, s: DemoSettings) -> str:
    """The demo's Markdown report (paths relative to its folder)."""
    base = result.report.parent
    lines = ["# scancci demo (SYNTHETIC data)", "",
             "Cartoon faces drawn by `scancci.data.generate_demo_dataset`: these numbers show the "
             "pipeline works; they say nothing about accuracy on real faces.", "",
             f"- {s.train_per_class} training and {s.test_per_class} test faces per class "
             f"(7 classes), {s.input_size} px, {s.epochs} epochs, CPU; "
             f"whole demo {result.seconds / 60:.1f} min",
             "- the model is selected on a validation split carved from train; the clean, "
             "occluded and masked test sets are evaluated once",
             "- occluded / masked: the same test faces with sunglasses, a hand or a patch / a "
             "surgical-style mask",
             "- SGD (momentum 0.9, lr x0.95 per epoch), trunk lr 1e-2 for both; head lr 5e-2 for "
             "SCAN-CCI, 1e-2 for the plain model (its un-normalised linear head diverges at 5e-2)",
             f"- ONE seed ({s.seed}): the figures move by several points between seeds and "
             "CPUs, so this table does not say which model is better; "
             "`benchmarks/demo_seeds.py` reports mean ± std over seeds",
             "",
             "## Accuracy (%) on the test sets", "",
             "| model | " + " | ".join(SETS) + " | balanced acc. (clean) | macro-F1 (clean) |",
             "|---|" + "---|" * (len(SETS) + 2)]
    for label, run in result.runs.items():
        r = run.results
        lines.append(f"| {label} | " + " | ".join(_pct(r.get(n)) for n in SETS)
                     + f" | {_pct(r.get('clean'), 'balanced_accuracy')} | "
                     f"{_pct(r.get('clean'), 'macro_f1')} |")
    lines.append("")
    for label, run in result.runs.items():
        rel = run.run_dir.relative_to(base) if run.run_dir.is_relative_to(base) else run.run_dir
        lines += [f"## {label}", "", f"Run folder: `{rel}` (config, history.csv, checkpoints, "
                  "model.safetensors, logs).", ""]
        if run.calibration:
            c = run.calibration
            how = c.get("note") or "fitted on validation"
            lines += [f"Temperature T = {c['temperature']:.2f} ({how}); "
                      f"ECE on the clean test set {100 * c['ece_before']:.1f}% -> "
                      f"{100 * c['ece_after']:.1f}%.", ""]
        lines += [f"![confusion clean]({rel}/eval/confusion_clean.png) "
                  f"![reliability]({rel}/eval/reliability.png)", ""]
    lines += ["## Where SCAN-CCI looks", "",
              "Global SCAN attention (mean over channels) on clean, occluded and masked test "
              "faces:", "", f"![attention]({overlay.relative_to(base)})", ""]
    return "\n".join(lines)


def plot_attention_overlays(run_dir: Path, paths: dict[str, Path], out: Path,
                            per_set: int = 4) -> Path:
    """A grid: rows = clean / occluded / masked, the same faces, attention heat map on top."""
    plt = pyplot()
    model = load_network(run_dir)
    transform = eval_transform(model)
    fig, axes = plt.subplots(len(SETS), per_set, figsize=(2.2 * per_set, 2.3 * len(SETS)),
                             squeeze=False)
    for row, name in enumerate(SETS):
        data = open_dataset("rafdb", paths[name], split="test", num_classes=7)
        for col in range(per_set):
            index = col * (len(data) - 1) // max(per_set - 1, 1)  # a spread of faces
            image = data.load(index)
            x = transform(image).unsqueeze(0)
            with torch.no_grad():
                output = model(x, return_attention=True)
            attention = output.attention["global"][:1, None].float()  # 1 x 1 x h x w
            heat = F.interpolate(attention, size=image.size[::-1], mode="bilinear",
                                 align_corners=False)[0, 0].numpy()
            heat = (heat - heat.min()) / max(float(heat.max() - heat.min()), 1e-6)
            predicted = model.config.class_names[int(output.logits.argmax())]
            ax = axes[row][col]
            ax.imshow(image)
            ax.imshow(heat, cmap="jet", alpha=0.45)
            ax.set_title(f"{name}: {data.classes[data.targets[index]]}\npred {predicted}",
                         fontsize=8)
            ax.axis("off")
    return save_figure(fig, out, dpi=100)
