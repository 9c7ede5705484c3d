"""`scancci export` end to end: a saved model to verified ONNX + int8 and TorchScript."""

from __future__ import annotations

import pytest

from scancci.cli import main
from scancci.runtime.onnx_backend import OnnxClassifier

pytestmark = pytest.mark.slow  # ONNX/TorchScript export through the CLI


def test_cli_writes_verified_onnx_and_int8(small_model, photos_dir, tmp_path, capsys) -> None:
    from scancci.models import save_model

    save_model(small_model, tmp_path / "model" / "model.safetensors")
    out = tmp_path / "out" / "model.onnx"
    code = main(["export", "--model", str(tmp_path / "model" / "model.safetensors"),
                 "--format", "onnx", "--int8", "--images", str(photos_dir), "--output", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "worst logits difference" in printed and "top-1 agree" in printed
    assert OnnxClassifier(out).precision == "fp32"
    assert OnnxClassifier(out.with_suffix(".int8.onnx")).precision == "int8"


def test_cli_torchscript_and_bad_model_path(small_model, photos_dir, tmp_path, capsys) -> None:
    from scancci.models import save_model

    save_model(small_model, tmp_path / "model.safetensors")
    code = main(["export", "--model", str(tmp_path / "model.safetensors"), "--format",
                 "torchscript", "--images", str(photos_dir), "--output", str(tmp_path / "m.pt")])
    assert code == 0 and (tmp_path / "m.pt").is_file()
    code = main(["export", "--model", str(tmp_path / "missing.safetensors"),
                 "--output", str(tmp_path / "x.onnx"), "--images", str(photos_dir)])
    assert code == 2
    assert "missing.safetensors" in capsys.readouterr().err


def test_the_default_baseline_quantises_with_its_infinite_max_pool_padding(photos_dir, tmp_path,
                                                                           capsys) -> None:
    """fer_mini_xception pads with -inf before its max pools: those nodes stay fp32, so the
    static int8 copy is calibrated (a NaN scale made every prediction wrong) and verified."""
    out = tmp_path / "fer.onnx"
    assert main(["export", "--model", "fer_mini_xception", "--format", "onnx", "--int8",
                 "--images", str(photos_dir), "--output", str(out)]) == 0
    int8_line = [line for line in capsys.readouterr().out.splitlines()
                 if line.startswith("onnxruntime int8 static")][0]
    assert int8_line.endswith("OK")
    assert OnnxClassifier(out.with_suffix(".int8.onnx")).precision == "int8"
