"""Recognizer on real photos: every face, probabilities = softmax(mean logits / temperature),
batching and precision, and every kind of bad input giving a Prediction with an error."""

from __future__ import annotations

import copy
import dataclasses
import io

import numpy as np
import pytest
import torch
from PIL import Image

from scancci.errors import InvalidInputError, UnknownNameError
from scancci.imaging import model_input, read_rgb
from scancci.inference import Frame, Recognizer


def probability_matrix(prediction, names) -> np.ndarray:
    return np.array([[face.probabilities[n] for n in names] for face in prediction.faces])


def test_every_face_of_the_group_photo(recognizer, photos_dir) -> None:
    prediction = recognizer.predict(photos_dir / "multi_face.jpg")
    names = recognizer.class_names
    assert prediction.ok and (prediction.width, prediction.height) == (1000, 667)
    assert len(prediction.faces) == 5
    for face in prediction.faces:
        assert tuple(face.probabilities) == names
        assert abs(sum(face.probabilities.values()) - 1.0) < 1e-6
        assert face.label == max(face.probabilities, key=face.probabilities.get)
        assert len(face.landmarks) == 5 and face.detection_score >= 0.5
        assert face.attention is None
    assert len(prediction.to_records()) == 5


def test_probabilities_are_softmax_of_mean_logits_over_temperature(small_model,
                                                                   photos_dir) -> None:
    model = copy.deepcopy(small_model)
    model.config = dataclasses.replace(model.config, temperature=2.5)
    recognizer = Recognizer(model)
    image, _ = read_rgb(photos_dir / "0-f15-hao-ph.jpg")
    prediction = recognizer.predict(image)
    detected = recognizer.detector.detect(image)[0]
    config = model.config
    batch = torch.from_numpy(model_input([recognizer.crop(image, detected)], config.input_size,
                                         config.mean, config.std))
    with torch.no_grad():
        logits = model(batch).logits.double()
    expected = torch.softmax(logits / 2.5, dim=1)[0].numpy()
    got = probability_matrix(prediction, recognizer.class_names)[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, torch.softmax(logits, dim=1)[0].numpy(), atol=1e-3)


def test_batch_size_does_not_change_results(small_model, recognizer, photos_dir) -> None:
    one_by_one = Recognizer(small_model, detector=recognizer.detector, batch_size=1)
    a = recognizer.predict(photos_dir / "multi_face.jpg")
    b = one_by_one.predict(photos_dir / "multi_face.jpg")
    names = recognizer.class_names
    np.testing.assert_allclose(probability_matrix(a, names), probability_matrix(b, names),
                               atol=1e-5)


def test_bf16_stays_close_to_fp32(small_model, recognizer, photos_dir) -> None:
    bf16 = Recognizer(copy.deepcopy(small_model), detector=recognizer.detector,
                      precision="bf16")
    names = recognizer.class_names
    a = probability_matrix(recognizer.predict(photos_dir / "multi_face.jpg"), names)
    b = probability_matrix(bf16.predict(photos_dir / "multi_face.jpg"), names)
    assert a.shape == b.shape == (5, len(names))
    assert np.abs(a - b).max() < 0.05


def test_saved_model_path_gives_the_same_probabilities(model_path, recognizer,
                                                       photos_dir) -> None:
    from_file = Recognizer(str(model_path), detector=recognizer.detector)
    names = recognizer.class_names
    photo = photos_dir / "0-f1-su-ph.jpg"
    np.testing.assert_allclose(probability_matrix(from_file.predict(photo), names),
                               probability_matrix(recognizer.predict(photo), names), atol=1e-5)


def test_bad_inputs_give_error_predictions_and_the_rest_is_processed(recognizer,
                                                                     photos_dir) -> None:
    jpeg = (photos_dir / "single_face.jpg").read_bytes()
    gray = np.asarray(Image.open(photos_dir / "single_face.jpg").convert("L"))
    inputs = [b"not an image at all", jpeg[: len(jpeg) // 2], gray,
              Image.open(photos_dir / "Image_with_alpha.png"), photos_dir / "missing.jpg",
              photos_dir / "free-mountain-vector-01.jpg"]
    predictions = recognizer.predict_batch(inputs)
    assert [p.error is not None for p in predictions] == [True, True, False, False, True, False]
    assert "not a readable image" in predictions[0].error
    assert "missing.jpg" in predictions[4].error
    assert [len(p.faces) for p in predictions] == [0, 0, 1, 1, 0, 0]
    assert predictions[5].to_records()[0]["status"] == "no_face"


def test_attention_maps_when_asked(recognizer, photos_dir) -> None:
    prediction = recognizer.predict(photos_dir / "0-f15-hao-ph.jpg", attention=True)
    amap = prediction.faces[0].attention
    assert amap is not None and amap.ndim == 2
    assert amap.min() >= 0.0 and amap.max() <= 1.0


def test_annotated_picture_draws_on_the_face(recognizer, photos_dir) -> None:
    photo = photos_dir / "0-f15-hao-ph.jpg"
    prediction = recognizer.predict(photo, attention=True)
    image, _ = read_rgb(photo)
    plain = recognizer.annotate(photo, prediction)
    overlay = recognizer.annotate(photo, prediction, attention=True)
    x1, y1, x2, y2 = (int(v) for v in prediction.faces[0].box)
    assert plain.shape == image.shape
    assert (plain[y1:y2, x1] != image[y1:y2, x1]).any()  # the box's left edge
    cx = (x1 + x2) // 2
    inner = (slice(y1 + 15, y1 + 35), slice(cx - 20, cx + 20))  # forehead: no landmark there
    assert np.array_equal(plain[inner], image[inner])  # no overlay without attention
    assert np.abs(overlay[inner].astype(int) - image[inner]).mean() > 5


def test_opencv_detector_and_bad_options(small_model, photos_dir) -> None:
    prediction = Recognizer(small_model, detector="opencv").predict(photos_dir / "single_face.jpg")
    assert len(prediction.faces) == 1
    with pytest.raises(UnknownNameError, match="torch"):
        Recognizer(small_model, backend="tensorflow")
    with pytest.raises(InvalidInputError, match="--precision int8 runs on onnxruntime"):
        Recognizer(small_model, backend="torch", precision="int8")
    with pytest.raises(InvalidInputError, match="--batch-size"):
        Recognizer(small_model, batch_size=0)


def test_encoded_bytes_and_pil_give_the_same_faces(recognizer, photos_dir) -> None:
    path = photos_dir / "0-f15-hao-ph.jpg"
    buffer = io.BytesIO(path.read_bytes())
    a = recognizer.predict(buffer.getvalue())
    b = recognizer.predict(Image.open(path))
    assert a.source == "<bytes>" and len(a.faces) == len(b.faces) == 1
    np.testing.assert_allclose(a.faces[0].box, b.faces[0].box, atol=1e-3)


def test_frames_are_detected_together_and_scattered_back_in_order(recognizer,
                                                                    photos_dir) -> None:
    """One predict_frames call: every face of every frame back on its own frame, frames
    without an image keep their error, and faces given by the caller are used as they are."""
    group, _ = read_rgb(photos_dir / "multi_face.jpg")
    landscape, _ = read_rgb(photos_dir / "free-mountain-vector-01.jpg")
    single, _ = read_rgb(photos_dir / "single_face.jpg")
    frames = [Frame("group", group, 3, 0.1), Frame("broken", None, 4, 0.2, "cannot decode"),
              Frame("landscape", landscape), Frame("single", single)]
    predictions = recognizer.predict_frames(frames)
    assert [p.source for p in predictions] == ["group", "broken", "landscape", "single"]
    assert [len(p.faces) for p in predictions] == [5, 0, 0, 1]
    assert (predictions[0].frame, predictions[0].timestamp) == (3, 0.1)
    assert predictions[1].error == "cannot decode" and predictions[2].error is None
    alone = [recognizer.predict(frame.image) for frame in (frames[0], frames[3])]
    names = recognizer.class_names
    np.testing.assert_allclose(probability_matrix(predictions[0], names),
                               probability_matrix(alone[0], names), atol=1e-5)
    given = recognizer.predict_frames(frames[3:], faces=[[]])  # the caller says: no face
    assert given[0].faces == ()
    known = recognizer.detect([single])
    again = recognizer.predict_frames(frames[3:], faces=known)
    assert again[0].faces[0].box == predictions[3].faces[0].box
