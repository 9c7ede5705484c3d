"""evaluate_model() over a dataset, flip TTA, result files, and mean +- std over runs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from scancci.evaluate import (
    Provenance,
    RunRecord,
    aggregate_table,
    compute_metrics,
    evaluate_model,
    read_run,
    runs_report,
    write_record,
)
from scancci.evaluate.evaluate import inference_model
from scancci.evaluate.record import DataRecord
from scancci.models import create_model
from scancci.speed import InferenceModel, inference, optimize_for_inference

NAMES = ("a", "b", "c")


class ReadsLogits(nn.Module):
    """The 'image' is 1 x 1 x C logits: output = mean over the two leading axes."""

    def __init__(self) -> None:
        super().__init__()
        self.config = SimpleNamespace(temperature=1.0, class_names=NAMES, num_classes=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2))


def _data(n: int = 40, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 1, 1, 3, generator=g) * 3
    targets = torch.randint(0, 3, (n,), generator=g)
    return TensorDataset(logits, targets)


def test_evaluate_scores_the_whole_dataset_and_flip_tta() -> None:
    data = _data()
    x, y = data.tensors
    report = evaluate_model(ReadsLogits(), data, batch_size=7, progress=False)
    expected = compute_metrics(x[:, 0, 0].argmax(1), y, NAMES)
    assert report.metrics.confusion.tolist() == expected.confusion.tolist()
    assert report.metrics.accuracy == pytest.approx(expected.accuracy)
    assert report.metrics.ece is not None
    tta = evaluate_model(ReadsLogits(), data, batch_size=7, progress=False, tta_flip=True)
    mirrored = (x[:, 0, 0] + x[:, 0, 0].flip(1)) / 2
    assert torch.allclose(tta.logits, mirrored)


def test_a_scancci_model_is_scored_by_its_optimized_copy_with_the_eager_logits() -> None:
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=64).eval()
    with torch.no_grad():  # BatchNorm statistics that are not the identity
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images = torch.randn(10, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    data = TensorDataset(images, torch.arange(10) % 7)
    report = evaluate_model(model, data, batch_size=4, progress=False)
    with torch.no_grad():
        eager = model(images).logits
    assert (report.logits - eager).abs().max() <= 1e-4
    assert report.logits.argmax(1).tolist() == eager.argmax(1).tolist()
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert isinstance(inference_model(model, "cpu"), InferenceModel)


def test_a_copy_made_for_another_precision_is_evaluated_as_it_is(monkeypatch) -> None:
    monkeypatch.setattr(inference, "bf16_native", lambda: True)
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=64).eval()
    bf16 = optimize_for_inference(model, precision="bf16")
    assert inference_model(bf16, "cpu") is bf16


def _provenance(arch: str, seed: int, protocol: str = "honest") -> Provenance:
    data = [DataRecord("train", "rafdb", "rafdb", "train", items=40),
            DataRecord("test", "test", "rafdb", "test", items=40)]
    return Provenance(recipe="rafdb", architecture=arch, num_classes=3, class_names=list(NAMES),
                      input_size=64, protocol=protocol, seed=seed, data=data,
                      validation="a carve", val_fraction=0.1, trunk_init="imagenet",
                      precision="32-true", optim={"trunk_lr": 1e-4, "head_lr": 1e-2,
                                                  "weight_decay": 1e-3, "momentum": 0.9,
                                                  "lr_decay": 0.95},
                      batch_size=8, processes=1, accumulate=1, epochs=2, tta_flip=False,
                      scancci_version="test")


def test_result_files_and_mean_std_within_a_group(tmp_path) -> None:
    runs = []
    for seed in range(2):
        data = _data(seed=seed)
        report = evaluate_model(ReadsLogits(), data, progress=False)
        occluded = evaluate_model(ReadsLogits(), _data(seed=seed + 10), progress=False)
        results = {"test": report.metrics, "occlusion": occluded.metrics}
        write_record(RunRecord(f"run{seed}", results, provenance=_provenance("scancci", seed)),
                     tmp_path / f"run{seed}" / "eval")
        runs.append(results)
    assert (tmp_path / "run0/eval/confusion_test.csv").read_text().startswith(
        "true \\ predicted,a,b,c")
    assert (tmp_path / "run0/eval/confusion_occlusion.png").stat().st_size > 1000
    back = read_run(tmp_path / "run1")
    assert back.results["test"].confusion.tolist() == runs[1]["test"].confusion.tolist()
    assert back.provenance == _provenance("scancci", 1)
    table = aggregate_table(runs)
    accs = [r["test"].accuracy for r in runs]
    assert f"{100 * np.mean(accs):.2f} ± {100 * np.std(accs, ddof=1):.2f}" in table
    text = runs_report([read_run(tmp_path / "run0"), read_run(tmp_path / "run1")])
    assert "Mean ± std over 2 runs" in text and "occlusion" in text
    assert "differs between these runs: seed 0, 1" in text


def test_runs_of_different_groups_are_never_pooled() -> None:
    """Two SCAN-CCI runs and two plain runs, and an original-protocol run: three groups, a
    mean ± std inside each group of two, none over all five."""
    records = []
    for index, (arch, protocol) in enumerate([("scancci", "honest"), ("scancci", "honest"),
                                              ("plain", "honest"), ("plain", "honest"),
                                              ("scancci", "original")]):
        metrics = evaluate_model(ReadsLogits(), _data(seed=index), progress=False).metrics
        records.append(RunRecord(f"r{index}", {"test": metrics},
                                 provenance=_provenance(arch, index, protocol)))
    text = runs_report(records)
    assert "5 runs in 3 groups" in text and "no number pools them" in text
    assert text.count("Mean ± std over 2 runs") == 2
    assert "over 4 runs" not in text and "over 5 runs" not in text
    group3 = text[text.index("## Group 3"):]
    assert "protocol original" in group3 and "epoch selected on the TEST split" in group3
    pooled = [r["test"].accuracy for r in ({"test": rec.results["test"]} for rec in records[:4])]
    assert f"{100 * np.mean(pooled):.2f} ±" not in text


def test_the_report_says_why_a_temperature_was_not_fitted() -> None:
    """The note is a sentence in the calibration paragraph, its wording (T, not t) kept."""
    from scancci.evaluate import Calibration
    from scancci.evaluate.report import run_report

    targets = torch.tensor([0, 1, 2, 0, 1, 2])
    logits = torch.nn.functional.one_hot(targets, 3).double() * 3.0
    kept = Calibration.measure(logits, targets)
    metrics = evaluate_model(ReadsLogits(), _data(seed=0), progress=False).metrics
    record = RunRecord("run", {"test": metrics}, provenance=_provenance("scancci", 0),
                       calibration={"set": "test", **kept.to_dict()})
    text = run_report(record)
    assert "Not fitted: the model classifies every item right" in text
    assert "as T falls to 0; T stays 1." in text
