"""Temperature scaling lowers the ECE of a deliberately over-confident model."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from scancci.evaluate import Calibration, calibrate, expected_calibration_error


class OverConfident(nn.Module):
    """Logits = 8 x the true log-odds: right ranking, far too sure."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight * 8.0)
        self.config = SimpleNamespace(temperature=1.0, class_names=("a", "b", "c"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight


def _data(seed: int, weight: torch.Tensor) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(600, 4, generator=g)
    y = torch.multinomial(torch.softmax(x @ weight, 1), 1, generator=g).squeeze(1)
    return TensorDataset(x, y)


def test_temperature_lowers_ece_on_held_out_data(tmp_path) -> None:
    weight = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    model = OverConfident(weight)
    val, test = _data(1, weight), _data(2, weight)
    fitted = calibrate(model, DataLoader(val, batch_size=100), progress=False)
    temperature = fitted.temperature
    assert temperature > 2.0  # it was 8x over-confident
    assert model.config.temperature == temperature
    assert fitted.items == 600 and fitted.nll_after < fitted.nll_before
    x, y = test.tensors
    with torch.no_grad():
        logits = model(x)
    before = expected_calibration_error(torch.softmax(logits, 1), y)
    after = expected_calibration_error(torch.softmax(logits / temperature, 1), y)
    assert after < before / 2
    shown = Calibration.measure(logits, y, temperature)  # the fitted T on held-out items
    assert shown.nll_after < shown.nll_before and shown.ece_after == pytest.approx(after)
    refit = Calibration.measure(logits, y)  # fitted on these logits themselves
    assert refit.nll_after <= shown.nll_after + 1e-9
    png = shown.plot(tmp_path / "reliability.png")
    assert png.stat().st_size > 1000


def test_ece_of_a_perfectly_calibrated_toy_is_zero() -> None:
    probs = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(probs, torch.tensor([0, 1])) == pytest.approx(0.0)


def test_no_error_to_learn_from_keeps_t_at_1_and_says_why() -> None:
    """Every item right: the NLL falls without end as T -> 0, so no temperature is fitted."""
    targets = torch.tensor([0, 1, 2, 0, 1, 2])
    logits = torch.nn.functional.one_hot(targets, 3).double() * 3.0
    fitted = Calibration.measure(logits, targets)
    assert fitted.temperature == 1.0 and fitted.nll_after == fitted.nll_before
    assert "not fitted" in fitted.note and "not fitted" in str(fitted)
    assert "not fitted" in fitted.to_dict()["note"]
    one_wrong = logits.clone()
    one_wrong[0] = torch.tensor([0.0, 3.0, 0.0], dtype=torch.float64)
    refit = Calibration.measure(one_wrong, targets)  # one error: a real fit
    assert refit.note == "" and refit.temperature != 1.0
