"""Every training and evaluation report, rendered from run records (`scancci.evaluate.record`).

One module for the Markdown of `scancci train` (report.md, k-fold included), `reproduce`
(reproduce.md), `evaluate` and `report`. Numbers in tables are percentages. Runs are grouped by
architecture, recipe, protocol and data; a mean ± std is only ever taken within a group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scancci.evaluate.metrics import ClassificationMetrics, mean_std
from scancci.evaluate.record import DataRecord, Provenance, RunRecord, slug

HEADLINE = (("accuracy", "accuracy"), ("balanced_accuracy", "balanced acc."),
            ("macro_f1", "macro-F1"), ("ece", "ECE"))
PAPER = "Gera & Balasubramanian, Pattern Recognition Letters 145 (2021), arXiv 2007.10298"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"


def metrics_table(results: Mapping[str, ClassificationMetrics],
                  paper: Mapping[str, str] | None = None) -> str:
    """Markdown table, one row per evaluated set (test, occlusion, pose, masked...), each with
    the split it was computed on ("?" for results written before splits were recorded);
    `paper` adds a column of ready cells (a figure from the user's file, or where to read it)."""
    header = ["set", "split", "images", *(label for _, label in HEADLINE)]
    if paper is not None:
        header.append("paper acc.")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, m in results.items():
        row = [name, m.split or "?", str(m.num_samples),
               *(_pct(getattr(m, key)) for key, _ in HEADLINE)]
        if paper is not None:
            row.append(paper.get(name, "-"))
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
    """Markdown table of mean ± std (%) over runs of ONE group, one row per set."""
    table = aggregate(runs)
    header = ["set", "runs", *(label for _, label in HEADLINE)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in table.items():
        count = max((v[2] for v in row.values()), default=0)
        cells = [f"{100 * row[k][0]:.2f} ± {100 * row[k][1]:.2f}" if k in row else "n/a"
                 for k, _ in HEADLINE]
        lines.append("| " + " | ".join([name, str(count), *cells]) + " |")
    return "\n".join(lines)


def protocol_line(p: Provenance | None) -> str:
    """The protocol in one line, the first line of every training report."""
    if p is None:
        return "protocol: unknown (no provenance recorded)"
    if p.original:
        return (f"protocol: original, as {p.original_script}: trained on all training data, "
                "epoch selected and temperature fitted on the TEST split, BatchNorm in eval mode "
                "from epoch 2")
    return "protocol: honest: epoch selected on validation, test evaluated once"


def _source(d: DataRecord) -> str:
    """One data source: reader, split, options, items and its list files with their digests."""
    files = ", ".join(f"`{f['path']}`" + (f" (sha256 {f['sha256'][:12]})" if f.get("sha256")
                                           else "") for f in d.files)
    text = f"{d.dataset} ({d.split}" + (f", {d.options}" if d.options else "") + ")"
    text += f", {d.items} items" if d.items is not None else ""
    return text + (f"; files: {files}" if files else "")


def provenance_lines(p: Provenance) -> list[str]:
    """The provenance as Markdown bullets: what was trained, on what data, how."""
    o = p.optim
    lines = [f"- model: `{p.architecture}` ({p.num_classes} classes: {', '.join(p.class_names)})"
             f", input {p.input_size} px; trunk: {p.trunk_init}"]
    if p.init_from:
        lines.append(f"- fine-tuned from `{p.init_from}`")
    for d in p.data:
        if d.role in ("train", "val", "test"):
            lines.append(f"- {d.role} data `{d.name}`: {_source(d)}")
    lines += [
        f"- selection and calibration split: {p.validation}",
        f"- seed {p.seed}; {p.epochs} epochs; precision {p.precision}; flip TTA "
        f"{'yes' if p.tta_flip else 'no'}",
        f"- batch {p.batch_size} per process x {p.processes} process(es) x {p.accumulate} "
        f"accumulation = {p.global_batch} images per step; lr scaling {p.lr_scaling}"
        + ("; SyncBatchNorm" if p.sync_batchnorm else ""),
        f"- SGD: trunk lr {o.get('trunk_lr'):.3g}, head lr {o.get('head_lr'):.3g}, weight decay "
        f"{o.get('weight_decay'):.3g}, momentum {o.get('momentum')}, lr x{o.get('lr_decay')} "
        "per epoch",
        f"- scancci {p.scancci_version}"]
    return lines


def warning_lines(p: Provenance | None) -> list[str]:
    """A "Not used or lost" section when the run skipped, dropped or started from random."""
    found = p.warnings() if p is not None else []
    return ["## Not used or lost", "", *(f"- {w}" for w in found), ""] if found else []


def _results_heading(p: Provenance | None) -> str:
    if p is not None and p.original:
        return ("## Test (the split the epoch was selected on: protocol original, the numbers "
                "are optimistic)")
    return "## Test (evaluated once, after training)"


def run_report(record: RunRecord, *, title: str | None = None,
               paper: Mapping[str, str] | None = None) -> str:
    """report.md of one training run (or of a k-fold run: mean ± std over its folds)."""
    p = record.provenance
    name = title or _title(record)
    lines = [f"# {name} ({protocol_line(p)})", ""]
    if p is not None and p.description:
        lines += [p.description, ""]
    if p is not None:
        lines += provenance_lines(p)
    if record.monitor:
        lines.append(f"- selected on `{record.monitor}`"
                     + (f" = {100 * record.best_score:.2f}%" if record.best_score is not None
                        else "") + (f" after {record.epochs} epochs" if record.epochs else ""))
    lines.append("")
    lines += warning_lines(p)
    if record.folds:
        lines += [f"## {len(record.folds)}-fold cross-validation: mean ± std over folds "
                  "(test split of each fold, evaluated once)", "",
                  aggregate_table([f.results for f in record.folds]), ""]
    elif record.results:
        lines += [_results_heading(p), "", metrics_table(record.results, paper), "",
                  "Per-class recall (%):", "", recall_table(record.results), ""]
        lines += [f"![confusion {s}](eval/confusion_{slug(s)}.png)" for s in record.results]
        lines.append("")
    if record.calibration:
        c = record.calibration
        where = "TEST" if p is not None and p.original else "validation"
        lines += ["## Calibration", "",
                  f"Temperature fitted on the {where} split: T = {c['temperature']:.3f}. "
                  f"On {c['set']}: ECE {100 * c['ece_before']:.2f}% -> "
                  f"{100 * c['ece_after']:.2f}%, NLL {c['nll_before']:.3f} -> "
                  f"{c['nll_after']:.3f}." + (f" {c['note'][0].upper()}{c['note'][1:]}."
                                              if c.get("note") else ""),
                  "", "![reliability](eval/reliability.png)", ""]
    return "\n".join(lines)


def _title(record: RunRecord) -> str:
    p = record.provenance
    if p is None:
        return record.label
    return f"{p.recipe}, fine-tuned from {p.init_from}" if p.init_from else p.recipe


def reproduce_report(record: RunRecord, *, deviations: Sequence[str],
                     paper: Mapping[str, str], paper_source: str | None) -> str:
    """reproduce.md: the run report with the paper's column, every deviation from the recipe,
    and what the protocol means for the comparison."""
    p = record.provenance
    body = run_report(record, title=f"Reproducing {p.recipe if p else record.label}",
                      paper=None if record.folds else paper)
    where = (f"from {paper_source} (your file)" if paper_source else
             f"not filled in: read each figure from the paper's results table for this "
             f"dataset ({PAPER}); `--paper-results FILE` fills the column from a YAML file of "
             "`set: accuracy` lines")
    lines = [body, "## Compared with the paper", "",
             f"The \"paper acc.\" column: {where}.", ""]
    if p is not None and p.original:
        lines.append("Protocol: original, as the paper: the epoch was selected on the test "
                     "split, so these test numbers are optimistic in the same way as the "
                     "paper's.")
    else:
        lines.append("Protocol: honest: the epoch was selected on a validation split and the "
                     "test split evaluated once. The paper selected its epoch on the test "
                     "split (`--protocol original` does the same), so its figures are "
                     "optimistic against these.")
    lines += ["", "### Deviations from the recipe", ""]
    lines += [f"- {d}" for d in deviations] or ["- none: the recipe as packaged"]
    return "\n".join(lines) + "\n"


def _group_title(p: Provenance | None, label: str) -> str:
    if p is None:
        return f"{label} (no provenance recorded: not averaged with any other run)"
    data = ", ".join(f"{d.role} {d.dataset}/{d.split}" for d in p.data
                     if d.role in ("train", "test"))
    text = f"`{p.architecture}`, recipe {p.recipe}, protocol {p.protocol}, data: {data}"
    if p.original:
        text += " (epoch selected on the TEST split)"
    return text


def _differences(members: Sequence[Provenance]) -> str:
    """The provenance fields that differ inside a group (seed, usually)."""
    fields = ("seed", "epochs", "precision", "trunk_init", "init_from", "batch_size",
              "processes", "tta_flip", "optim", "scancci_version")
    differ = []
    for name in fields:
        values = [getattr(p, name) for p in members]
        if any(v != values[0] for v in values):
            differ.append(f"{name} " + ", ".join(str(v) for v in values))
    return "; ".join(differ) or "nothing but the folder"


def group_runs(records: Sequence[RunRecord]) -> list[list[RunRecord]]:
    """Records grouped by architecture, recipe, protocol and data, in first-seen order; a
    record without provenance is a group of its own."""
    groups: dict[object, list[RunRecord]] = {}
    for record in records:
        p = record.provenance
        key = p.group_key() if p is not None else ("unknown", record.label)
        groups.setdefault(key, []).append(record)
    return list(groups.values())


def runs_report(records: Sequence[RunRecord], *, title: str = "Runs",
                skipped: Mapping[str, str] | None = None) -> str:
    """`scancci report` and `evaluate`: one section per group (its provenance, each run's
    table, and mean ± std over the group's runs when it has several); never pooled across
    groups."""
    groups = group_runs(records)
    lines = [f"# {title}", ""]
    if len(groups) > 1:
        lines += [f"{len(records)} runs in {len(groups)} groups. Runs are averaged only within "
                  "a group (same architecture, recipe, protocol and data); these groups "
                  "differ, so no number pools them.", ""]
    for index, members in enumerate(groups, 1):
        p = members[0].provenance
        lines += [f"## Group {index}: {_group_title(p, members[0].label)}", ""]
        if p is not None:
            lines += [protocol_line(p), "", *provenance_lines(p)]
            if len(members) > 1:
                lines.append("- differs between these runs: " + _differences(
                    [m.provenance for m in members if m.provenance is not None]))
            lines.append("")
            lines += warning_lines(p)
        runs = []
        for record in members:
            for fold, run in enumerate(record.folds or [record]):
                label = record.label + (f" (fold {fold})" if record.folds else "")
                lines += [f"### {label}", "", metrics_table(run.results), ""]
                runs.append(run.results)
        if len(runs) > 1:
            lines += [f"### Mean ± std over {len(runs)} runs (group {index})", "",
                      aggregate_table(runs), ""]
    lines += [f"- skipped {name}: {why}" for name, why in (skipped or {}).items()]
    return "\n".join(lines).rstrip() + "\n"
