"""Save/load round trips, `scancci.load_model` on every model file, and refusing broken,
foreign or non-model files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from scancci import load_model
from scancci.cli import main
from scancci.errors import CheckpointError
from scancci.models import create_model, save_model
from scancci.runtime.onnx_backend import OnnxClassifier


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
        for where in (path, path.with_suffix(".json"), path.parent, str(path.parent)):
            loaded = load_model(where)
            assert not loaded.training
            assert loaded.config == model.config
            assert torch.equal(loaded(x).logits, expected)


def test_an_original_checkpoint_loads(shared_original, face_batch):
    original, path = shared_original
    model = load_model(path)
    assert model.config.options["patch_layout"] == "original"
    with torch.no_grad():
        torch.testing.assert_close(model(face_batch).logits, original(face_batch)[0],
                                   atol=1e-4, rtol=0)


def test_a_pretrained_baseline_loads_by_name():
    model = load_model("pyemotion_cnn")
    assert model.config.pretrained == "pyemotion_cnn" and not model.training
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        assert torch.equal(model(x).logits, create_model("pyemotion_cnn", pretrained=True)(x).logits)


@pytest.mark.slow  # ONNX export
def test_an_onnx_export_loads_as_its_classifier(tmp_path):
    from scancci.export import export_onnx

    model = create_model("mini_xception", num_classes=3, input_size=64).eval()
    path = export_onnx(model, tmp_path / "m.onnx", num_random=1).path
    loaded = load_model(path)
    assert isinstance(loaded, OnnxClassifier) and loaded.config == model.config
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        np.testing.assert_allclose(loaded.logits(x.numpy()), model(x).logits.numpy(), atol=1e-4)
    assert main(["models", str(path)]) == 0


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


def test_a_config_saved_with_the_old_layout_name_loads(tmp_path):
    model = create_model("scancci_resnet18", num_classes=7, patch_layout="original")
    path = save_model(model, tmp_path / "model.safetensors")
    config = json.loads(path.with_suffix(".json").read_text())
    config["options"]["patch_layout"] = "reference"  # as scancci wrote it before the rename
    path.with_suffix(".json").write_text(json.dumps(config))
    assert load_model(tmp_path).config.options["patch_layout"] == "original"


def test_corrupted_file(saved, tmp_path):
    _, path = saved
    broken = tmp_path / "model.safetensors"
    broken.write_bytes(path.read_bytes()[: 5000])
    with pytest.raises(CheckpointError, match="safetensors"):
        load_model(broken)


@pytest.mark.parametrize("name", ["face.jpg", "face.pth", "notes.txt", "notes.json",
                                  "notes.pth.tar"])
def test_a_file_that_is_no_model_is_named_as_such(tmp_path, name):
    path = tmp_path / name
    if name.startswith("face"):
        Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(path, format="JPEG")
    else:
        path.write_text('{"shopping": ["milk"]}' if name.endswith(".json") else "some notes\n")
    with pytest.raises(CheckpointError, match="is not a model file: expected") as err:
        load_model(path)
    assert "pickle" not in str(err.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.timeout(20)
def test_a_fifo_is_refused_before_it_is_opened(tmp_path):
    for name in ("pipe.pth", "pipe.json", "pipe.onnx"):
        os.mkfifo(tmp_path / name)  # opening one for reading would block: nothing writes
        with pytest.raises(CheckpointError, match="not a regular file"):
            load_model(tmp_path / name)


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
    with pytest.raises(CheckpointError, match="does not exist.*fer_mini_xception"):
        load_model("fer_mini_xceptoin")
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
