"""`scancci demo` end to end at toy size: both models trained, three test sets, a report."""

from __future__ import annotations

from pathlib import Path

import pytest

from scancci.cli import main


@pytest.mark.slow  # the whole demo, tiny
def test_demo_writes_the_report_for_both_models(tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo"
    code = main(["demo", "--output", str(out), "--epochs", "1", "--train-per-class", "8",
                 "--test-per-class", "3", "--input-size", "64", "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    report = (out / "report.md").read_text()
    assert "SYNTHETIC" in report
    for label in ("SCAN-CCI (MobileNetV2)", "plain MobileNetV2 (baseline)"):
        row = next(line for line in report.splitlines() if line.startswith(f"| {label} |"))
        cells = [c.strip() for c in row.strip("|").split("|")[1:4]]
        assert all(0.0 <= float(c) <= 100.0 for c in cells), row  # clean, occluded, masked
        assert label in printed
    assert (out / "attention.png").stat().st_size > 0
    for arch in ("scancci_mobilenetv2", "plain_mobilenetv2"):
        assert (out / "runs" / arch / "model.safetensors").is_file()
        assert (out / "runs" / arch / "eval" / "confusion_clean.png").is_file()
    assert str((out / "report.md").resolve()) in printed
