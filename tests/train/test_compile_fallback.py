"""trainer.compile: compiled where Inductor can build kernels, else one line and eager training;
scancci.heap on for CPU training."""

from __future__ import annotations

import importlib
import logging
import sys

import pytest
from torch import nn

fit = importlib.import_module("scancci.train.fit")  # the module (scancci.train.fit is a function)


def test_without_a_cpp_compiler_training_runs_eager(monkeypatch, caplog) -> None:
    monkeypatch.setenv("CXX", "no-such-compiler-g++")
    model = nn.Linear(2, 2)
    with caplog.at_level(logging.WARNING):
        assert fit.compile_for_training(model, "cpu") is False
    assert model._compiled_call_impl is None
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "no C++ compiler (no-such-compiler-g++)" in lines[0]
    assert "training runs eager" in lines[0]


def test_with_a_compiler_the_model_is_compiled_in_place(monkeypatch) -> None:
    monkeypatch.setenv("CXX", sys.executable)  # found on disk: the check passes (nothing is built)
    model = nn.Linear(2, 2)
    keys = list(model.state_dict())
    assert fit.compile_for_training(model, "cpu") is True
    assert model._compiled_call_impl is not None and list(model.state_dict()) == keys


def test_on_a_gpu_without_triton(monkeypatch, caplog) -> None:
    monkeypatch.setattr(fit.importlib.util, "find_spec",
                        lambda name: None if name == "triton" else object())
    with caplog.at_level(logging.WARNING):
        assert fit.compile_for_training(nn.Linear(2, 2), "gpu") is False
    assert "Triton is not installed" in caplog.text


class _Stop(Exception):
    pass


def _memory_setting_calls(monkeypatch, **trainer: object) -> int:
    """How often _prepare turned on scancci.heap before building the model."""
    calls = []
    monkeypatch.setattr(fit, "reuse_freed_memory", lambda: calls.append(1))

    def stop(config: object) -> None:
        raise _Stop

    monkeypatch.setattr(fit, "model_for_training", stop)
    config = fit.TrainConfig()
    for key, value in trainer.items():
        setattr(config.trainer, key, value)
    with pytest.raises(_Stop):
        fit._prepare(config, fold=None)
    return len(calls)


def test_cpu_training_reuses_freed_memory(monkeypatch) -> None:
    assert _memory_setting_calls(monkeypatch, accelerator="cpu") == 1
    assert _memory_setting_calls(monkeypatch, accelerator="gpu") == 0
    monkeypatch.setattr(fit.torch.cuda, "is_available", lambda: False)
    assert _memory_setting_calls(monkeypatch, accelerator="auto") == 1
    monkeypatch.setattr(fit.torch.cuda, "is_available", lambda: True)
    assert _memory_setting_calls(monkeypatch, accelerator="auto") == 0
