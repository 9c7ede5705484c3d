"""`reproduce(config)`: a paper recipe end to end, and reproduce.md to paste into a paper.

reproduce.md is the run's report plus: a "paper acc." column that says where to read each
figure (the paper's results table for that dataset), or holds the figure from a small YAML
file of your own (`--paper-results FILE`, never a guess); every way the run deviated from the
packaged recipe (model, image size, learning rates, batch, epochs, trunk weights, precision,
TTA, ...); and what the honest or original protocol means for the comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scancci.errors import InvalidInputError
from scancci.evaluate.record import Provenance, RunRecord
from scancci.evaluate.report import reproduce_report
from scancci.train.build import model_options
from scancci.train.config import TrainConfig, flatten
from scancci.train.final import RunResult
from scancci.train.fitting import fit
from scancci.train.recipes import list_recipes, load_recipe

DATASET_TITLES = {"rafdb": "RAF-DB", "affectnet": "AffectNet", "ferplus": "FERPlus",
                  "sfew": "SFEW 2.0", "ckplus": "CK+", "oulu": "Oulu-CASIA", "fedro": "FED-RO"}
# What a run may change without deviating from the recipe: where and how it runs.
NOT_A_DEVIATION = ("name", "description", "run_dir", "resume", "overwrite", "tracking",
                   "data.root", "data.roots", "data.num_workers", "data.eval_batch_size",
                   "trainer.progress", "trainer.accelerator", "trainer.devices",
                   "trainer.num_nodes", "trainer.strategy", "trainer.seed",
                   "trainer.deterministic", "trainer.log_every_n_steps", "trainer.precision",
                   "trainer.compile", "trainer.channels_last", "protocol", "original",
                   "evaluation.calibrate", "model.class_names", "model.init_required")


def reproduce(config: TrainConfig, paper_results: str | Path | None = None
              ) -> tuple[RunResult, Path | None]:
    """Train, evaluate test + subsets once, and write reproduce.md in the run folder."""
    figures = read_paper_results(paper_results, config.name) if paper_results else None
    result = fit(config)
    if not result.primary:
        return result, None
    record = result.record
    text = reproduce_report(record, deviations=recipe_deviations(record.provenance),
                            paper=paper_cells(record, figures),
                            paper_source=str(paper_results) if paper_results else None)
    path = result.run_dir / "reproduce.md"
    path.write_text(text)
    return result, path


def read_paper_results(path: str | Path, recipe: str) -> dict[str, float]:
    """{set: accuracy %} from a YAML file: `set: accuracy` lines, or `recipe: {set: ...}`."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"--paper-results {path} does not exist (a YAML file of "
                                "`set: accuracy` lines, e.g. `test: 87.5`)")
    try:
        data: Any = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise InvalidInputError(f"--paper-results {path} is not valid YAML: {err}") from None
    if isinstance(data, dict) and isinstance(data.get(recipe), dict):
        data = data[recipe]
    if not isinstance(data, dict) or not all(isinstance(v, (int, float)) and
                                             not isinstance(v, bool) for v in data.values()):
        raise InvalidInputError(f"--paper-results {path} must map set names to accuracies in %"
                                f" (e.g. `test: 87.5`), optionally under `{recipe}:`")
    return {str(k): float(v) for k, v in data.items()}


def paper_cells(record: RunRecord, figures: dict[str, float] | None) -> dict[str, str]:
    """The "paper acc." cell of every row: the user's figure, or where to read it."""
    p = record.provenance
    test = p.test if p is not None else None
    title = DATASET_TITLES.get(test.dataset, test.dataset) if test is not None else "its dataset"
    cells = {}
    for name in record.results:
        if figures is not None and name in figures:
            cells[name] = f"{figures[name]:.2f}"
        elif test is not None and name == test.name:
            cells[name] = f"see the paper's {title} table"
        else:
            cells[name] = f"see the paper's {title} {name} results"
    return cells


def recipe_deviations(p: Provenance | None) -> list[str]:
    """Every way the run differs from its packaged recipe, and from the paper's setup (trunk
    weights, fp32 on one GPU, no TTA), one line each."""
    if p is None:
        return ["no provenance recorded: the deviations cannot be listed"]
    if p.recipe not in list_recipes():
        return [f"recipe {p.recipe!r} is not a packaged paper recipe: every setting is your own"]
    ran = TrainConfig.from_dict(p.config)
    paper = load_recipe(p.recipe, overrides=[f"protocol={ran.protocol}"])
    old, new = (flatten(c.to_dict(), leaves=("options", "augment")) for c in (paper, ran))
    lines = [f"{key}: {new.get(key)!r} (the recipe: {old.get(key)!r})"
             for key in sorted(set(old) | set(new))
             if old.get(key) != new.get(key) and not key.startswith(NOT_A_DEVIATION)]
    dropped = model_options(ran)[1]
    if dropped:
        lines.append(f"model options {', '.join(dropped)} dropped: {ran.model.name} has none "
                     "(SCAN-CCI's only)")
    if p.trunk_init == "random" and not ran.model.init_from:
        lines.append("trunk weights: random initialisation (the paper: VGGFace2 ResNet-50, "
                     "which no package ships; pass it with --backbone-weights FILE)")
    elif paper.model.name == "scancci_resnet50" and not ran.model.init_from:
        lines.append(f"trunk weights: {p.trunk_init} (the paper: VGGFace2 ResNet-50)")
    if p.precision != "32-true":
        lines.append(f"precision {p.precision} (the paper: fp32)")
    if p.processes > 1:
        lines.append(f"{p.processes} processes, {p.global_batch} images per step, lr scaling "
                     f"{p.lr_scaling} (the paper: one GPU)")
    if p.tta_flip:
        lines.append("flip test-time augmentation (the paper: none)")
    return lines
