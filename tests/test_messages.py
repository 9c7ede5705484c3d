"""User mistakes end in at most two lines `scancci CMD: error: ...` and exit code 2: the line
names the value and the fix, never an object repr, never advice to load files unsafely."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest
import torch

from scancci.cli import main
from scancci.errors import error_detail, one_line
from scancci.inference import Recognizer
from scancci.models import create_model, save_model


class _Payload:
    """A pickle that would run code if it were unpickled."""

    def __reduce__(self):  # noqa: ANN204 - pickle protocol
        return (print, ("this should never run",))


def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) <= 2, err
    assert err.startswith(f"scancci {argv[0]}: error: "), err
    assert " object at 0x" not in err and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    return save_model(create_model("scancci_mobilenetv2", input_size=64), path)


def test_a_pickled_object_is_refused_without_unsafe_advice(capsys, tmp_path) -> None:
    evil = tmp_path / "evil.pth"
    torch.save({"base_state_dict": _Payload()}, evil)
    err = _error(capsys, "models", str(evil))
    assert "weights_only=False" not in err and "this should never run" not in err
    assert "pickles Python objects other than tensors" in err


def test_a_missing_gpu_is_named(capsys, small_model, photos_dir) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal cannot happen here")
    err = _error(capsys, "predict", str(photos_dir / "single_face.jpg"), "--model",
                 str(small_model), "--device", "cuda")
    assert "no CUDA GPU is visible" in err and "--device cpu" in err
    err = _error(capsys, "evaluate", "--model", str(small_model), "--data", str(photos_dir),
                 "--dataset", "folder", "--device", "cuda:3")
    assert "cuda:3" in err


def test_unknown_devices_and_names(capsys, small_model, photos_dir) -> None:
    err = _error(capsys, "predict", str(photos_dir / "single_face.jpg"), "--model",
                 str(small_model), "--device", "tpu")
    assert "'tpu'" in err and "cpu, cuda" in err
    assert "Did you mean 'predict'" in _error(capsys, "predcit")


def test_unreadable_bytes_say_what_they_are() -> None:
    recognizer = Recognizer(create_model("scancci_mobilenetv2", input_size=64), detector="opencv")
    prediction = recognizer.predict(b"not an image at all")
    assert prediction.error and "object at 0x" not in prediction.error
    assert prediction.error.startswith("<bytes>: not a readable image")


def test_error_detail_and_one_line() -> None:
    err = OSError("cannot identify image file <_io.BytesIO object at 0x7f3a2b1c0d90>\nmore")
    assert error_detail(err) == "cannot identify image file <BytesIO>"
    try:
        torch.load(io.BytesIO(pickle.dumps(_Payload())), weights_only=True)
    except pickle.UnpicklingError as unsafe:
        assert "weights_only" not in error_detail(unsafe)
    assert one_line("first\n  second\n\nthird") == "first; second; third"


@pytest.mark.parametrize("argv, names", [
    (("predict", "x.jpg", "--min-score", "abc"), "--min-score: invalid float value: 'abc'"),
    (("predict", "x.jpg", "--detector", "foo"), "invalid choice: 'foo'"),
    (("predict",), "the following arguments are required: input"),
    (("data", "nope"), "invalid choice: 'nope'"),
])
def test_argument_mistakes_are_one_line_that_points_to_help(capsys, argv, names) -> None:
    err = _error(capsys, *argv)
    assert len(err.splitlines()) == 1 and "usage:" not in err
    assert names in err and f"`scancci {argv[0]}" in err and "--help` lists the options" in err


def test_an_empty_or_non_image_file_says_so_in_words(capsys, tmp_path, small_model) -> None:
    empty, text = tmp_path / "empty.jpg", tmp_path / "notes.jpg"
    empty.write_bytes(b"")
    text.write_text("not a picture")
    said = []
    for path in (empty, text):
        assert main(["predict", str(path), "--model", str(small_model)]) == 2
        said.append(capsys.readouterr().err.strip().splitlines()[-1])  # (after one-time notes)
    assert said[0] == f"scancci predict: error: {empty}: an empty file, not an image"
    assert "no image format Pillow reads" in said[1] and "BufferedReader" not in said[1]
