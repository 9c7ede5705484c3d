"""The Recognizer's runtime switch: PyTorch and onnxruntime give the same faces and
probabilities; int8 stays close; the onnx backend is OnnxClassifier."""

from __future__ import annotations

import numpy as np
import pytest

from scancci.runtime.onnx_backend import OnnxClassifier

pytestmark = pytest.mark.slow  # exports to ONNX and quantises

PHOTO = "multi_face.jpg"


@pytest.fixture(scope="module")
def torch_prediction(small_model, photos_dir):
    from scancci.inference import Recognizer

    return Recognizer(small_model, backend="torch").predict(photos_dir / PHOTO)


def probabilities(prediction) -> np.ndarray:
    return np.array([[face.probabilities[c] for c in sorted(face.probabilities)]
                     for face in prediction.faces])


@pytest.mark.parametrize(("precision", "atol"), [("fp32", 1e-4), ("int8", 0.25)])
def test_onnx_backend_matches_torch(small_model, photos_dir, torch_prediction, precision,
                                    atol) -> None:
    from scancci.inference import Recognizer

    onnx = Recognizer(small_model, backend="onnx", precision=precision).predict(photos_dir / PHOTO)
    assert len(onnx.faces) == len(torch_prediction.faces) >= 1
    for a, b in zip(onnx.faces, torch_prediction.faces, strict=True):
        np.testing.assert_allclose(a.box, b.box, atol=1e-3)
    diff = np.abs(probabilities(onnx) - probabilities(torch_prediction))
    print(f"onnxruntime {precision} vs PyTorch fp32 on {PHOTO}: max |dprob| {diff.max():.2e}")
    assert diff.max() <= atol
    if precision == "fp32":
        assert [f.label for f in onnx.faces] == [f.label for f in torch_prediction.faces]


def test_create_classifier_dispatches_onnx_files(onnx_export) -> None:
    from scancci.inference.backends import create_classifier

    classifier = create_classifier(onnx_export.path, backend="onnx")
    assert isinstance(classifier, OnnxClassifier)
    assert classifier.config.input_size == 112
