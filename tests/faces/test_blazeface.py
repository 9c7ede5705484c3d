"""The default detector, BlazeFace full range ported to PyTorch and run by onnxruntime on the
CPU: both give the TFLite runtime's numbers; every face of every real photo, none on the no-face
ones, landmarks that agree with MTCNN."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scancci.errors import ScanCCIError
from scancci.faces import DEFAULT_DETECTOR, FaceDetector, blazeface, tflite_net
from scancci.faces.detect import blazeface_runner
from scancci.imaging import load_image

# Every real photo available and its number of visible faces (BWPictureHuman: the grey,
# open-mouthed three-quarter face MTCNN misses; 45-m7: a 45-degree profile).
PHOTOS = {"0-f1-su-ph.jpg": 1, "0-f15-hao-ph.jpg": 1, "15-f13-anc-ph.jpg": 1,
          "45-m7-di-ph.jpg": 1, "single_face.jpg": 1, "multi_face.jpg": 5,
          "BWPictureHuman.jpg": 1, "Image_with_alpha.png": 1, "free-mountain-vector-01.jpg": 0}


@pytest.fixture(scope="module")
def blaze() -> FaceDetector:
    return FaceDetector("blazeface")


def test_blazeface_is_the_default() -> None:
    assert DEFAULT_DETECTOR == "blazeface" and FaceDetector().backend == "blazeface"


def test_port_and_its_onnx_conversion_match_the_tflite_runtime(photos_dir) -> None:
    from ai_edge_litert.interpreter import Interpreter

    net = tflite_net.build_tflite_net(blazeface.read_model_bytes())
    onnx = blazeface_runner("cpu")
    assert isinstance(onnx, blazeface.OnnxBlazeFace)
    interpreter = Interpreter(model_path=str(blazeface.model_path()))
    interpreter.allocate_tensors()
    for name in ("multi_face.jpg", "45-m7-di-ph.jpg"):
        image, _, _ = blazeface.letterbox(np.asarray(load_image(photos_dir / name)))
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image[None])
        interpreter.invoke()
        expected = [interpreter.get_tensor(o["index"]) for o in interpreter.get_output_details()]
        batch = np.ascontiguousarray(image.transpose(2, 0, 1)[None])
        with torch.inference_mode():
            ported = [t.numpy() for t in net(torch.from_numpy(batch))]
        for got in (ported, onnx(batch)):
            for want, have in zip(expected, got, strict=True):
                assert want.shape == have.shape
                np.testing.assert_allclose(have, want, atol=2e-3, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_every_face_of_every_real_photo(blaze, photos_dir, name) -> None:
    faces = blaze.detect(photos_dir / name)
    assert len(faces) == PHOTOS[name]
    for face in faces:
        x1, y1, x2, y2 = face.box
        left_eye, right_eye, nose, left_mouth, right_mouth = face.landmarks
        assert left_eye[0] < right_eye[0] and left_mouth[0] < right_mouth[0]
        assert max(left_eye[1], right_eye[1]) < min(left_mouth[1], right_mouth[1])
        assert x1 <= nose[0] <= x2 and y1 <= nose[1] <= y2


def test_eyes_and_nose_agree_with_mtcnn(blaze, mtcnn, photos_dir) -> None:
    errors = []
    for name in ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "multi_face.jpg"):
        ours, theirs = blaze.detect(photos_dir / name), mtcnn.detect(photos_dir / name)
        for face in theirs:
            centre = np.mean(np.reshape(face.box, (2, 2)), axis=0)
            match = min(ours, key=lambda f: np.linalg.norm(np.mean(np.reshape(f.box, (2, 2)),
                                                                   axis=0) - centre))
            eye_distance = np.linalg.norm(face.landmarks[1] - face.landmarks[0])
            errors.append(np.linalg.norm(match.landmarks[:3] - face.landmarks[:3], axis=1)
                          / eye_distance)
    assert len(errors) == 8
    assert np.mean(errors) < 0.12 and np.max(errors) < 0.3


def test_batch_equals_one_by_one_and_huge_frames_map_back(blaze, photos_dir) -> None:
    small = load_image(photos_dir / "single_face.jpg")
    alone = blaze.detect(small)[0]
    both = blaze.detect_batch([small, small])
    np.testing.assert_allclose(both[1][0].box, alone.box, atol=1.0)
    big = np.zeros((2160, 3840, 3), np.uint8)  # a 4K frame with the photo 3.5 x larger in it
    scaled = np.asarray(small.resize((round(small.width * 3.5), round(small.height * 3.5))))
    big[100:100 + scaled.shape[0], 900:900 + scaled.shape[1]] = scaled
    (found,) = blaze.detect(big)
    mapped = (np.array(found.box) - [900, 100, 900, 100]) / 3.5
    np.testing.assert_allclose(mapped, alone.box, atol=0.05 * small.width)


def test_blank_and_tiny_images_give_no_face(blaze) -> None:
    assert blaze.detect(np.zeros((8, 8, 3), np.uint8)) == []
    assert blaze.detect(np.full((200, 300, 3), 128, np.uint8)) == []


def test_a_changed_model_file_is_refused(tmp_path) -> None:
    wrong = tmp_path / "face_detection_full_range.tflite"
    data = bytearray(blazeface.model_path().read_bytes())
    data[len(data) // 2] ^= 0xFF
    wrong.write_bytes(bytes(data))
    with pytest.raises(ScanCCIError, match="sha256"):
        blazeface.read_model_bytes(wrong)


def test_thirty_small_faces_of_a_large_group_picture(blaze, photos_dir) -> None:
    """Six copies of the group photo (3000 x 1334, 30 faces): tiles find the small faces, and
    a face is reported once even where tiles overlap."""
    group = np.asarray(load_image(photos_dir / "multi_face.jpg"))
    crowd = np.concatenate([np.concatenate([group] * 3, axis=1)] * 2, axis=0)
    faces = blaze.detect(crowd)
    assert len(faces) == 30
    centres = np.array([np.mean(np.reshape(f.box, (2, 2)), axis=0) for f in faces])
    tile = np.floor(centres / [group.shape[1], group.shape[0]])  # which copy each face is in
    assert sorted(map(tuple, tile)) == sorted((x, y) for x in range(3) for y in range(2)
                                              for _ in range(5))


def test_face_cut_by_the_image_border(blaze, photos_dir) -> None:
    image = np.asarray(load_image(photos_dir / "0-f15-hao-ph.jpg"))
    (whole,) = blaze.detect(image)
    cut = int(whole.box[0] + 0.25 * (whole.box[2] - whole.box[0]))  # a quarter of the face off
    (face,) = blaze.detect(image[:, cut:])
    assert face.box[0] >= 0 and face.box[2] <= image.shape[1] - cut
    assert abs((face.box[2] + cut) - whole.box[2]) < 0.1 * (whole.box[2] - whole.box[0])
