"""`reproduce(config)`: a paper recipe end to end, reported next to the paper's numbers."""

from __future__ import annotations

from pathlib import Path

from scancci.evaluate.report import PAPER_RESULTS, aggregate_table
from scancci.train.config import TrainConfig
from scancci.train.final import protocol_line, run_report
from scancci.train.fit import RunResult, fit


def reproduce(config: TrainConfig) -> tuple[RunResult, Path | None]:
    """Train, evaluate test + subsets once, and write reproduce.md in the run folder."""
    result = fit(config)
    if not result.primary:
        return result, None
    paper = PAPER_RESULTS.get(config.name, {})
    if result.folds:
        body = (f"# Reproducing {config.name} ({config.data.folds}-fold; "
                f"{protocol_line(config)})\n\n"
                f"{aggregate_table([f.results for f in result.folds])}\n")
    else:
        body = run_report(config, result, paper=paper, title=f"Reproducing {config.name}")
    note = ("\n\nThe column \"paper acc. (as reported)\" holds the paper's own accuracy where "
            "this project records it with a source (scancci.evaluate.report.PAPER_RESULTS); "
            "\"n/a\" means no number is recorded. The paper picked its epoch on the test "
            "split; " + ("so did this run (protocol original).\n" if config.original_protocol
                         else "these numbers are selected on validation and tested once.\n"))
    path = result.run_dir / "reproduce.md"
    path.write_text(body + note)
    return result, path
