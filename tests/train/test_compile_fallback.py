"""trainer.compile: compiled where Inductor can build kernels, else one line and eager training;
`training_precision` picks bf16 only where it is native."""

from __future__ import annotations

import importlib
import logging
import shutil

import pytest
import torch
from torch import nn

from scancci import devices

fit = importlib.import_module("scancci.train.fitting")


class _Probe(nn.Linear):
    """Records, at every forward pass, whether torch.compile is tracing it."""

    def __init__(self) -> None:
        super().__init__(2, 2)
        self.compiled: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.compiled.append(torch.compiler.is_compiling())
        return super().forward(x)


def test_without_a_cpp_compiler_training_runs_eager(monkeypatch, caplog) -> None:
    monkeypatch.setenv("CXX", "no-such-compiler-g++")
    model = _Probe()
    with caplog.at_level(logging.WARNING):
        assert fit.compile_for_training(model, "cpu") is False
    model(torch.randn(3, 2))
    assert model.compiled == [False]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "no C++ compiler (no-such-compiler-g++)" in lines[0]
    assert "training runs eager" in lines[0]


@pytest.mark.slow  # Inductor builds a C++ kernel (about 8 s)
@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a C++ compiler")
def test_with_a_compiler_the_model_is_compiled_in_place(monkeypatch) -> None:
    monkeypatch.setenv("CXX", "g++")
    model = _Probe()
    keys = list(model.state_dict())
    assert fit.compile_for_training(model, "cpu") is True
    x = torch.randn(3, 2)
    assert torch.allclose(model(x), nn.functional.linear(x, model.weight, model.bias))
    assert model.compiled == [True] and list(model.state_dict()) == keys


def test_on_a_gpu_without_triton(monkeypatch, caplog) -> None:
    monkeypatch.setattr(fit.importlib.util, "find_spec",
                        lambda name: None if name == "triton" else object())
    with caplog.at_level(logging.WARNING):
        assert fit.compile_for_training(nn.Linear(2, 2), "gpu") is False
    assert "Triton is not installed" in caplog.text


def test_training_precision_auto(monkeypatch) -> None:
    monkeypatch.setattr(devices, "bf16_native", lambda: False)  # a CPU without bf16
    assert devices.training_precision("auto", "cpu") == "32-true"
    assert devices.training_precision("16-mixed", "cpu") == "16-mixed"
    monkeypatch.setattr(devices, "bf16_native", lambda: True)
    assert devices.training_precision("auto", "cpu") == "bf16-mixed"
