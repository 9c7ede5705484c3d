"""Backbone weights: the packaged MobileNetV2, local torchvision files, the VGGFace2 pickle
through a refusing unpickler, and clear errors for everything else."""

from __future__ import annotations

import os
import pickle
import urllib.error

import numpy as np
import pytest
import torch
import torchvision

from scancci.errors import CheckpointError
from scancci.models import create_model, load_vggface2_pickle
from scancci.models.backbones import packaged_mobilenet_v2_path


def test_packaged_mobilenet_imagenet_weights():
    model = create_model("scancci_mobilenetv2", input_size=112, backbone_weights="imagenet")
    reference = torch.load(packaged_mobilenet_v2_path(), weights_only=True)
    for key, value in model.trunk.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(value, reference[key]), key
    assert model.config.mean == (0.485, 0.456, 0.406)
    plain = create_model("plain_mobilenetv2", input_size=64, backbone_weights="imagenet")
    assert torch.equal(plain.trunk.features[18][0].weight, reference["features.18.0.weight"])


def test_torchvision_checkpoint_from_local_file(tmp_path):
    net = torchvision.models.resnet18()
    path = tmp_path / "resnet18.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, path)
    model = create_model("scancci_resnet18", input_size=64, backbone_weights=path)
    assert torch.equal(model.trunk.layer3[1].conv2.weight, net.layer3[1].conv2.weight)
    with pytest.raises(CheckpointError, match="not a resnet50 checkpoint"):
        create_model("scancci_resnet50", backbone_weights=path)


def test_wrong_backbone_file_shapes(tmp_path):
    net = torchvision.models.resnet50()
    path = tmp_path / "resnet50.pth"
    torch.save(net.state_dict(), path)
    with pytest.raises(CheckpointError, match="shapes differ"):
        create_model("scancci_resnet18", input_size=64, backbone_weights=path)
    with pytest.raises(CheckpointError, match="does not exist"):
        create_model("scancci_resnet18", backbone_weights=tmp_path / "missing.pth")


def test_resnet_imagenet_offline_error(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.__class__,
                        "get_state_dict", offline)
    with pytest.raises(CheckpointError, match="backbone_weights=PATH"):
        create_model("scancci_resnet18", input_size=64, backbone_weights="imagenet")


def _vggface2_dict(depth: int = 18) -> dict[str, np.ndarray]:
    net = getattr(torchvision.models, f"resnet{depth}")()
    # the Caffe conversion holds float arrays and no BatchNorm batch counters
    return {k: v.numpy().astype(np.float64) for k, v in net.state_dict().items()
            if not k.endswith("num_batches_tracked")}


@pytest.mark.parametrize("protocol", [2, 4])
def test_vggface2_pickle_loads(tmp_path, protocol):
    arrays = _vggface2_dict()
    path = tmp_path / "resnet18_ft_weight.pkl"
    path.write_bytes(pickle.dumps(arrays, protocol=protocol))
    state = load_vggface2_pickle(path)
    assert state.keys() == arrays.keys() and state["conv1.weight"].dtype == torch.float32
    model = create_model("scancci_resnet18", input_size=64, backbone_weights=path)
    np.testing.assert_allclose(model.trunk.layer2[0].conv1.weight.detach().numpy(),
                               arrays["layer2.0.conv1.weight"], rtol=1e-6)


def test_numpy1_pickle_names_are_accepted(tmp_path):
    data = pickle.dumps({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, protocol=2)
    data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")  # numpy 1.x name
    path = tmp_path / "old.pkl"
    path.write_bytes(data)
    assert load_vggface2_pickle(path)["w"].tolist() == [[0, 1, 2], [3, 4, 5]]


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", ["os.system", "builtins.eval", "torch tensor"])
def test_crafted_pickle_is_refused_and_not_executed(tmp_path, payload):
    marker = tmp_path / "executed"
    if payload == "os.system":
        obj = {"conv1.weight": np.zeros(3), "evil": _Evil(marker)}
    elif payload == "builtins.eval":
        obj = {"conv1.weight": _EvalPayload(f"open({str(marker)!r}, 'w')")}
    else:
        obj = {"conv1.weight": torch.zeros(2)}
    path = tmp_path / "weights.pkl"
    path.write_bytes(pickle.dumps(obj, protocol=2))
    with pytest.raises(CheckpointError, match="refusing to load") as err:
        load_vggface2_pickle(path)
    assert "nothing in it was executed" in str(err.value)
    assert not marker.exists()
    with pytest.raises(CheckpointError):
        create_model("scancci_resnet18", input_size=64, backbone_weights=path)
    assert not marker.exists()


class _EvalPayload:
    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


def test_pickle_of_wrong_content(tmp_path):
    path = tmp_path / "list.pkl"
    path.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(CheckpointError, match="dict of numpy arrays"):
        load_vggface2_pickle(path)
    path.write_bytes(b"\x80\x02}q\x00(X")  # truncated
    with pytest.raises(CheckpointError, match="not a readable"):
        load_vggface2_pickle(path)
