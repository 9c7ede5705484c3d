"""Write evaluation results: JSON, confusion matrices (CSV + PNG), Markdown tables.

Plots use matplotlib's Agg backend (no display needed). Numbers in tables are percentages.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scancci.errors import InvalidInputError
from scancci.evaluate.figures import pyplot, save_figure
from scancci.evaluate.metrics import ClassificationMetrics, mean_std

HEADLINE = (("accuracy", "accuracy"), ("balanced_accuracy", "balanced acc."),
            ("macro_f1", "macro-F1"), ("ece", "ECE"))
RESULTS_FILE = "results.json"

# The paper's own numbers, for the "paper (as reported)" column of `scancci reproduce`.
# Source: docs/training.md explains the policy. The spec this project follows
# (shared/spec/scan-cci.md) lists no accuracies, so nothing is filled in here: the column reads
# "n/a" rather than a number copied from memory. Add entries as
# {recipe: {subset: accuracy_percent}} only with a citation next to them.
PAPER_RESULTS: dict[str, dict[str, float]] = {}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_") or "set"


def metrics_table(results: Mapping[str, ClassificationMetrics],
                  paper: Mapping[str, float] | None = None) -> str:
    """Markdown table, one row per evaluated set (test, occlusion, pose, masked...), each with
    the split it was computed on ("?" for results written before splits were recorded)."""
    header = ["set", "split", "images", *(label for _, label in HEADLINE)]
    if paper is not None:
        header.append("paper acc. (as reported)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, m in results.items():
        row = [name, m.split or "?", str(m.num_samples),
               *(_pct(getattr(m, key)) for key, _ in HEADLINE)]
        if paper is not None:
            row.append(f"{paper[name]:.2f}" if name in paper else "n/a")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def recall_table(results: Mapping[str, ClassificationMetrics]) -> str:
    """Markdown table of per-class recall (%), one row per set."""
    names = next(iter(results.values())).class_names
    lines = ["| set | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
    for set_name, m in results.items():
        lines.append(f"| {set_name} | "
                     + " | ".join(_pct(m.per_class_recall.get(n)) for n in names) + " |")
    return "\n".join(lines)


def write_confusion_csv(metrics: ClassificationMetrics, path: str | Path) -> Path:
    """Counts, rows = true class, columns = predicted class, with class-name headers."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["true \\ predicted", *metrics.class_names])
        for name, row in zip(metrics.class_names, metrics.confusion, strict=True):
            writer.writerow([name, *(int(v) for v in row)])
    return path


def plot_confusion(metrics: ClassificationMetrics, path: str | Path, title: str = "") -> Path:
    """Row-normalised confusion matrix as a PNG, with the counts printed in each cell."""
    plt = pyplot()

    counts = metrics.confusion
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
    n = len(metrics.class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * n, 0.8 + 0.7 * n))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{counts[i, j]}", ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), metrics.class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), metrics.class_names)
    ax.set(xlabel="predicted", ylabel="true",
           title=title or f"accuracy {100 * metrics.accuracy:.1f}%")
    return save_figure(fig, path)


def write_results(results: Mapping[str, ClassificationMetrics], out_dir: str | Path,
                  extra: Mapping[str, Any] | None = None, plots: bool = True) -> Path:
    """results.json plus confusion_<set>.csv/.png for every set; returns the JSON path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, m in results.items():
        write_confusion_csv(m, out / f"confusion_{_slug(name)}.csv")
        if plots:
            plot_confusion(m, out / f"confusion_{_slug(name)}.png", title=name)
    payload = {"sets": {name: m.to_dict() for name, m in results.items()}, **(extra or {})}
    path = out / RESULTS_FILE
    path.write_text(json.dumps(payload, indent=2))
    return path


def read_results(path: str | Path) -> list[dict[str, ClassificationMetrics]]:
    """The per-run results under a run folder, results.json, or a k-fold run (one per fold)."""
    path = Path(path)
    if path.is_dir():
        files = next((found for found in (
            [p for p in (path / RESULTS_FILE, path / "eval" / RESULTS_FILE) if p.is_file()][:1],
            sorted(path.glob(f"fold_*/eval/{RESULTS_FILE}"))) if found), [])
    else:
        files = [path]
    if not files or not all(f.is_file() for f in files):
        raise InvalidInputError(f"{path} holds no {RESULTS_FILE}: pass a finished run folder "
                                "(scancci train / reproduce) or an evaluate --output folder")
    runs = []
    for file in files:
        data = json.loads(file.read_text())
        runs.append({name: ClassificationMetrics.from_dict(d) for name, d in data["sets"].items()})
    return runs


def aggregate(runs: Sequence[Mapping[str, ClassificationMetrics]]
              ) -> dict[str, dict[str, tuple[float, float, int]]]:
    """set -> metric -> (mean, std, number of runs), over the runs that evaluated that set."""
    table: dict[str, dict[str, tuple[float, float, int]]] = {}
    names = list(dict.fromkeys(name for run in runs for name in run))
    for name in names:
        have = [run[name] for run in runs if name in run]
        row: dict[str, tuple[float, float, int]] = {}
        for key, _ in HEADLINE:
            values = [getattr(m, key) for m in have if getattr(m, key) is not None]
            if values:
                row[key] = (*mean_std(values), len(values))
        table[name] = row
    return table


def aggregate_table(runs: Sequence[Mapping[str, ClassificationMetrics]]) -> str:
    """Markdown table of mean +- std (%) over runs, one row per set."""
    table = aggregate(runs)
    header = ["set", "runs", *(label for _, label in HEADLINE)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in table.items():
        count = max((v[2] for v in row.values()), default=0)
        cells = [f"{100 * row[k][0]:.2f} ± {100 * row[k][1]:.2f}" if k in row else "n/a"
                 for k, _ in HEADLINE]
        lines.append("| " + " | ".join([name, str(count), *cells]) + " |")
    return "\n".join(lines)


def runs_markdown(labelled: Sequence[tuple[str, dict[str, ClassificationMetrics]]], noun: str,
                  *, aggregate: bool) -> list[str]:
    """Markdown lines: one table per (label, run), then mean +- std over them if `aggregate`."""
    parts = []
    for label, run in labelled:
        parts += [f"## {label}", "", metrics_table(run), ""]
    if aggregate:
        runs = [run for _, run in labelled]
        parts += [f"## Mean ± std over {len(runs)} {noun}", "", aggregate_table(runs), ""]
    return parts


def runs_report(paths: Sequence[str | Path]) -> str:
    """Markdown: every run's own table, then mean +- std over all runs (`scancci report`)."""
    labelled = []
    for path in paths:
        found = read_results(path)
        labelled += [(f"{path}" + (f" (fold {index})" if len(found) > 1 else ""), run)
                     for index, run in enumerate(found)]
    return "\n".join(["# Runs", "", *runs_markdown(labelled, "runs", aggregate=True)])
