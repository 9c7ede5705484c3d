"""Every input of issue 21 that once ended in a traceback, a hang or nonsense now ends in one line
`scancci CMD: error: ...` (exit 2) naming the flag the user typed, or in a row with a reason."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scancci.cli import main
from scancci.models import create_model, save_model


def error_line(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith(f"scancci {argv[0]}: error: "), err
    assert not any("Traceback" in line for line in err), err
    return err[-1]


def test_every_zero_names_the_flag(capsys, photos_dir, tmp_path) -> None:
    line = error_line(capsys, "predict", str(photos_dir / "single_face.mp4"), "--every", "0",
                      "--output", str(tmp_path / "x.csv"))
    assert "--every must be at least 1" in line


@pytest.mark.parametrize("flag, value, says", [
    ("--every", "0", "--every must be at least 1"),
    ("--max-frames", "0", "--max-frames must be at least 1"),
    ("--smoothing", "1.5", "--smoothing must be in [0, 1)"),
    ("--detect-every", "0", "--detect-every must be at least 1"),
])
def test_frame_flags_are_checked_for_a_photo_too_before_a_model_loads(
        capsys, photos_dir, flag, value, says) -> None:
    assert main(["predict", str(photos_dir / "single_face.jpg"), flag, value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[-1]] and says in err[-1]  # one line: no "model: ..." line first


@pytest.mark.parametrize("name", ["out.xyz", "out"])
def test_mask_output_of_unknown_type(capsys, photos_dir, tmp_path, name) -> None:
    line = error_line(capsys, "mask", str(photos_dir / "single_face.jpg"), str(tmp_path / name))
    assert "name the output .jpg, .png" in line


def test_serve_port_out_of_range_or_taken(capsys) -> None:
    assert "--port must be between 1 and 65535, got 99999" in error_line(
        capsys, "serve", "--port", "99999")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = error_line(capsys, "serve", "--port", str(port))
    assert f"--port {port} is already in use" in line


def test_serve_limits_name_their_flags(capsys) -> None:
    line = error_line(capsys, "serve", "--max-upload-bytes", "0")
    assert "--max-upload-bytes must be more than 0" in line


def test_thin_images_are_rows_with_no_face(capsys, tmp_path) -> None:
    folder = tmp_path / "thin"
    folder.mkdir()
    for name, shape in (("a.png", (3, 3000)), ("b.png", (40000, 1)), ("c.png", (3000, 3))):
        Image.fromarray(np.full((*shape, 3), 90, np.uint8)).save(folder / name)
    out = tmp_path / "rows.jsonl"
    assert main(["predict", str(folder), "--output", str(out), "--quiet"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["status"] for r in rows) == ["no_face"] * 3
    assert main(["predict", str(folder / "a.png")]) == 0
    assert "0 face(s)" in capsys.readouterr().out


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    return save_model(create_model("scancci_mobilenetv2", input_size=64), path)


@pytest.mark.parametrize(("key", "value", "words"), [
    ("num_classes", 10**9, "num_classes must be an integer from 2 to 10,000"),
    ("input_size", "64; rm -rf /", "input_size must be an integer from 16 to 2048"),
    ("input_size", 10**6, "input_size must be an integer from 16 to 2048"),
    ("temperature", float("nan"), "temperature must be a finite number above 0"),
    ("mean", [0.5, "x", 0.5], "mean must be 3 finite numbers"),
])
def test_absurd_model_json_values(capsys, photos_dir, saved, tmp_path, key, value,
                                  words) -> None:
    model = tmp_path / "model.safetensors"
    model.write_bytes(saved.read_bytes())
    config = json.loads(saved.with_suffix(".json").read_text())
    config[key] = value
    model.with_suffix(".json").write_text(json.dumps(config))
    line = error_line(capsys, "predict", str(photos_dir / "single_face.jpg"), "--model",
                      str(model))
    assert words in line


def test_options_that_cannot_work_say_why(capsys, photos_dir) -> None:
    photo = str(photos_dir / "single_face.jpg")
    assert "--attention: the model fer_mini_xception has no attention maps" in error_line(
        capsys, "predict", photo, "--attention")
    assert "--precision int8 runs on onnxruntime" in error_line(
        capsys, "predict", photo, "--precision", "int8", "--backend", "torch")
    assert "--min-score must be between 0 and 1" in error_line(
        capsys, "predict", photo, "--min-score", "3")
    assert "--rotation must be auto or one of 0, 90, 180, 270" in error_line(
        capsys, "predict", photo, "--rotation", "45")


def test_detector_none_reads_a_small_crop(capsys, photos_dir, tmp_path) -> None:
    crop = tmp_path / "crop.png"
    Image.open(photos_dir / "0-f15-hao-ph.jpg").crop((96, 110, 416, 430)).resize(
        (40, 40)).save(crop)
    assert main(["predict", str(crop)]) == 0
    assert "0 face(s)" in capsys.readouterr().out
    assert main(["predict", str(crop), "--detector", "none"]) == 0
    out = capsys.readouterr().out
    assert "1 face(s)" in out and "box (0, 0, 40, 40) -> happy" in out


@pytest.mark.slow
def test_int8_on_the_default_model_runs_on_onnxruntime(capsys, photos_dir) -> None:
    """--precision int8 without --backend: the default baseline exported and quantised for
    onnxruntime on the fly (it once blamed "the torch backend")."""
    assert main(["predict", str(photos_dir / "0-f15-hao-ph.jpg"), "--precision", "int8"]) == 0
    assert "1 face(s)" in capsys.readouterr().out
