"""The service with real Recognizers on real photos: a random-init SCAN-CCI MobileNetV2 with
MTCNN (attention maps), and the default baseline with BlazeFace (labels that mean something)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from scancci.inference import Recognizer
from scancci.serve import create_app


@pytest.fixture(scope="module")
def client() -> TestClient:
    from scancci.models import create_model

    torch.manual_seed(0)
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=112).eval()
    return TestClient(create_app(Recognizer(model, detector="mtcnn"), max_concurrency=2))


@pytest.fixture(scope="module")
def default() -> tuple[Recognizer, TestClient]:
    """The default baseline (onnxruntime) and a service over that same Recognizer."""
    recognizer = Recognizer()
    return recognizer, TestClient(create_app(recognizer))


def post(client: TestClient, path, query: str = "", **fields: str) -> dict:
    data = path.read_bytes() if hasattr(path, "read_bytes") else path
    response = client.post(f"/predict{query}", files={"file": ("photo.jpg", data, "image/jpeg")},
                           data=fields)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_face_of_a_group_photo_with_probabilities(client, photos_dir) -> None:
    result = post(client, photos_dir / "multi_face.jpg")
    classes = client.get("/info").json()["classes"]
    assert len(classes) == 7
    assert len(result["faces"]) == 5
    for face in result["faces"]:
        assert 0 <= face["x1"] < face["x2"] <= result["width"] + 1
        assert 0 <= face["y1"] < face["y2"] <= result["height"] + 1
        assert np.asarray(face["landmarks"]).shape == (5, 2)
        probs = {name: face[f"prob_{name}"] for name in classes}
        assert abs(sum(probs.values()) - 1) < 1e-4
        assert face["label"] == max(probs, key=probs.get)
        assert "attention_png" not in face


def test_a_face_has_the_same_fields_as_a_jsonl_row(default, photos_dir) -> None:
    recognizer, client = default
    path = photos_dir / "multi_face.jpg"
    served = post(client, path)
    rows = recognizer.predict(path).to_records()
    assert len(served["faces"]) == len(rows) == 5
    for face, row in zip(served["faces"], rows, strict=True):
        assert set(face) <= set(row)  # every field of a face is a column of its row
        assert face == {key: row[key] for key in face}
    assert (served["model"]["name"], served["model"]["version"]) == \
        (rows[0]["model"], rows[0]["model_version"]) == ("fer_mini_xception",
                                                         recognizer.identity.version)
    assert served["settings"]["detector"] == "blazeface"


def test_detector_none_reads_the_whole_image_as_one_face(default, photos_dir) -> None:
    recognizer, client = default
    photo = np.asarray(Image.open(photos_dir / "0-f15-hao-ph.jpg").convert("RGB"))
    face = recognizer.predict(photo).faces[0]
    crop = recognizer.crop(photo, _detected(face))  # what the model saw: a pre-cut face
    buffer = io.BytesIO()
    Image.fromarray(crop).save(buffer, format="PNG")
    result = post(client, buffer.getvalue(), detector="none")
    (whole,) = result["faces"]
    assert (whole["x1"], whole["y1"], whole["x2"], whole["y2"]) == (0, 0, *crop.shape[1::-1])
    assert whole["detection_score"] is None and whole["label"] == face.label == "happy"
    assert result["settings"]["detector"] == "none"
    assert post(client, buffer.getvalue())["faces"] == []  # too small for the detector


def test_request_thresholds_and_bad_fields(default, photos_dir) -> None:
    _, client = default
    path = photos_dir / "multi_face.jpg"
    assert len(post(client, path, min_face_size="100")["faces"]) == 4  # the 85 px face goes
    assert post(client, path, "?min_score=0.99")["faces"] == []
    for fields, words in (({"min_score": "2"}, "min_score must be between 0 and 1"),
                          ({"min_face_size": "big"}, "min_face_size: expected a number"),
                          ({"detector": "mtcnn"}, "this service runs blazeface"),
                          ({"attention": "true"}, "no attention maps")):
        response = client.post("/predict", files={"file": ("a.jpg", path.read_bytes())},
                               data=fields)
        assert response.status_code == 400 and words in response.json()["error"], response.text
    response = client.post("/predict?min_score=high", content=path.read_bytes(),
                           headers={"content-type": "image/jpeg"})
    assert response.status_code == 400 and "min_score" in response.json()["error"]


def test_attention_overlay_is_a_png_when_asked(client, photos_dir) -> None:
    face = post(client, photos_dir / "0-f15-hao-ph.jpg", "?attention=true")["faces"][0]
    overlay = Image.open(io.BytesIO(base64.b64decode(face["attention_png"])))
    assert overlay.format == "PNG" and overlay.mode == "RGBA"
    assert client.get("/info").json()["capabilities"]["attention_overlay"] is True


def test_photo_without_a_face_gives_an_empty_list(client, photos_dir) -> None:
    assert post(client, photos_dir / "free-mountain-vector-01.jpg")["faces"] == []


def test_openapi_documents_every_answer_and_docs_is_off(default) -> None:
    _, client = default
    schema = client.get("/openapi.json").json()
    face = schema["components"]["schemas"]["Face"]["properties"]
    assert {"x1", "y2", "detection_score", "rotation", "label", "landmarks",
            "prob_happy", "prob_neutral"} <= set(face)
    answers = schema["paths"]["/predict"]["post"]["responses"]
    assert {"200", "400", "408", "413", "415", "503", "504"} <= set(answers)
    assert "multipart/form-data" in schema["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert {"ModelOut", "InfoOut", "ErrorOut"} <= set(schema["components"]["schemas"])
    assert client.get("/docs").status_code == 404  # its scripts would come from a CDN


def _detected(face):
    from scancci.faces.boxes import DetectedFace

    return DetectedFace(face.box, np.asarray(face.landmarks, np.float32), 1.0)


def test_thin_images_are_answered_without_faces(default) -> None:
    _, client = default
    for shape in ((3, 3000), (3000, 3), (1, 40000)):
        buffer = io.BytesIO()
        Image.fromarray(np.full((*shape, 3), 128, np.uint8)).save(buffer, format="PNG")
        result = post(client, buffer.getvalue())
        assert (result["height"], result["width"]) == shape and result["faces"] == []
