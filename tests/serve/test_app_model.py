"""The service with a real Recognizer (random-init SCAN-CCI MobileNetV2, MTCNN) on real photos."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from scancci.serve import create_app


@pytest.fixture(scope="module")
def client() -> TestClient:
    from scancci.inference import Recognizer
    from scancci.models import create_model

    torch.manual_seed(0)
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=112).eval()
    return TestClient(create_app(Recognizer(model, detector="mtcnn"), max_concurrency=2))


def post(client: TestClient, path, query: str = "") -> dict:
    data = path.read_bytes()
    response = client.post(f"/predict{query}", files={"file": (path.name, data, "image/jpeg")})
    assert response.status_code == 200, response.text
    return response.json()


def test_every_face_of_a_group_photo_with_probabilities(client, photos_dir) -> None:
    result = post(client, photos_dir / "multi_face.jpg")
    classes = client.get("/info").json()["classes"]
    assert len(classes) == 7
    assert len(result["faces"]) == 5
    for face in result["faces"]:
        x1, y1, x2, y2 = face["box"]
        assert 0 <= x1 < x2 <= result["width"] + 1 and 0 <= y1 < y2 <= result["height"] + 1
        assert np.asarray(face["landmarks"]).shape == (5, 2)
        assert set(face["probabilities"]) == set(classes)
        assert abs(sum(face["probabilities"].values()) - 1) < 1e-4
        assert face["label"] == max(face["probabilities"], key=face["probabilities"].get)
        assert "attention_png" not in face


def test_attention_overlay_is_a_png_when_asked(client, photos_dir) -> None:
    face = post(client, photos_dir / "0-f15-hao-ph.jpg", "?attention=true")["faces"][0]
    overlay = Image.open(io.BytesIO(base64.b64decode(face["attention_png"])))
    assert overlay.format == "PNG" and overlay.mode == "RGBA"
    assert client.get("/info").json()["capabilities"]["attention_overlay"] is True


def test_photo_without_a_face_gives_an_empty_list(client, photos_dir) -> None:
    assert post(client, photos_dir / "free-mountain-vector-01.jpg")["faces"] == []
