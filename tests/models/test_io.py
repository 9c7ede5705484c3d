"""Save/load round trips and refusing broken or foreign files."""

from __future__ import annotations

import json

import pytest
import torch

from scancci.cli import main
from scancci.errors import CheckpointError
from scancci.models import create_model, load_model, save_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=112,
                         local_scan="independent", class_names=list("abcdefg")).eval()
    with torch.no_grad():  # make BN statistics non-trivial so a lost buffer would show
        model.attention.local_scan.running_mean.normal_()
    model.config.temperature = 1.5
    path = save_model(model, tmp_path_factory.mktemp("m") / "run" / "model.safetensors")
    return model, path


def test_round_trip_identical_logits(saved):
    model, path = saved
    x = torch.randn(2, 3, 112, 112)
    with torch.no_grad():
        expected = model(x).logits
        for where in (path, path.with_suffix(".json"), path.parent):
            loaded = load_model(where)
            assert not loaded.training
            assert loaded.config == model.config
            assert torch.equal(loaded(x).logits, expected)


def test_config_in_safetensors_metadata(saved, tmp_path):
    model, path = saved
    lone = tmp_path / "lone.safetensors"
    lone.write_bytes(path.read_bytes())  # no JSON beside it
    assert load_model(lone).config == model.config


def test_json_is_readable(saved):
    _, path = saved
    data = json.loads(path.with_suffix(".json").read_text())
    assert data["arch"] == "scancci_mobilenetv2" and data["class_names"] == list("abcdefg")
    assert data["options"]["local_scan"] == "independent" and data["temperature"] == 1.5


def test_corrupted_file(saved, tmp_path):
    _, path = saved
    broken = tmp_path / "model.safetensors"
    broken.write_bytes(path.read_bytes()[: 5000])
    with pytest.raises(CheckpointError, match="safetensors"):
        load_model(broken)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="could not be read"):
        load_model(garbage)


def test_checkpoint_of_another_architecture(saved, tmp_path):
    _, path = saved
    (tmp_path / "model.safetensors").write_bytes(path.read_bytes())
    config = json.loads(path.with_suffix(".json").read_text())
    config["arch"] = "scancci_resnet18"
    (tmp_path / "model.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="another architecture"):
        load_model(tmp_path)


def test_missing_things(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nothing.safetensors")
    with pytest.raises(CheckpointError, match="holds no model.safetensors"):
        load_model(tmp_path)
    with pytest.raises(CheckpointError, match=".safetensors"):
        save_model(create_model("plain_mobilenetv2", input_size=64), tmp_path / "model.pt")


def test_models_command(saved, capsys):
    _, path = saved
    assert main(["models"]) == 0
    assert "scancci_resnet50" in capsys.readouterr().out
    assert main(["models", str(path.parent)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["arch"] == "scancci_mobilenetv2" and shown["parameters"] > 0
    assert main(["models", str(path.parent / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
