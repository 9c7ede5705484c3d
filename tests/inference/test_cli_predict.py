"""`scancci predict` end to end, in-process: an image, a folder with a corrupt file, a video."""

from __future__ import annotations

import csv
import json
import shutil

from PIL import Image

from scancci.cli import main


def test_predict_one_image_with_annotation(model_path, photos_dir, tmp_path, capsys) -> None:
    out, pictures = tmp_path / "one.jsonl", tmp_path / "pictures"
    code = main(["predict", str(photos_dir / "multi_face.jpg"), "--model", str(model_path),
                 "--output", str(out), "--annotate", str(pictures), "--attention",
                 "--batch-size", "2", "--detector", "mtcnn", "--device", "cpu"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "5 face(s)" in printed and printed.count("face ") >= 5
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 5 and all(r["status"] == "face" for r in records)
    assert (pictures / "multi_face.jpg").is_file()


def test_predict_folder_with_a_corrupt_file(model_path, photos_dir, tmp_path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(photos_dir / "0-f15-hao-ph.jpg", folder)
    shutil.copy(photos_dir / "free-mountain-vector-01.jpg", folder)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    out = tmp_path / "rows.csv"
    assert main(["predict", str(folder), "--model", str(model_path), "--output", str(out),
                 "--quiet"]) == 0
    assert "3 images, 1 faces, 1 without a face, 1 unreadable" in capsys.readouterr().out
    with out.open() as handle:
        status = {row["source"]: row["status"] for row in csv.DictReader(handle)}
    assert status == {"0-f15-hao-ph.jpg": "face", "corrupt.png": "error",
                      "free-mountain-vector-01.jpg": "no_face"}


def test_predict_short_video(model_path, photos_dir, tmp_path, capsys) -> None:
    out = tmp_path / "video.csv"
    assert main(["predict", str(photos_dir / "single_face.mp4"), "--model", str(model_path),
                 "--output", str(out), "--every", "10", "--max-frames", "3", "--smoothing",
                 "0.3", "--annotate", str(tmp_path / "v"), "--quiet"]) == 0
    assert "3 frames, 3 faces in 1 tracks" in capsys.readouterr().out
    assert (tmp_path / "v" / "single_face.annotated.mp4").is_file()


def test_predict_user_mistakes_exit_2_with_a_message(model_path, photos_dir, tmp_path,
                                                     capsys) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"GIF89a nonsense")
    assert main(["predict", str(broken), "--model", str(model_path)]) == 2
    assert "not a readable image" in capsys.readouterr().err
    assert main(["predict", str(photos_dir), "--model", str(model_path)]) == 2
    assert "--output" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "nope"), "--model", str(model_path)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["predict", "7", "--model", str(model_path), "--output",
                 str(tmp_path / "w.csv")]) == 2
    assert "no webcam at index 7" in capsys.readouterr().err


def test_a_small_face_is_not_read_and_the_message_says_which_flag_reads_it(
        model_path, photos_dir, tmp_path, capsys) -> None:
    """A 55 px face is under the default --min-face-size (72): 0 faces, and the line says so."""
    photo = Image.open(photos_dir / "single_face.jpg")
    small = tmp_path / "small.jpg"
    photo.resize((photo.width // 4, photo.height // 4)).save(small)
    assert main(["predict", str(small), "--model", str(model_path)]) == 0
    printed = capsys.readouterr().out
    assert "0 face(s)" in printed and "--min-face-size 72 px are not read" in printed
    assert main(["predict", str(small), "--model", str(model_path), "--min-face-size", "20"]) == 0
    printed = capsys.readouterr().out
    assert "1 face(s)" in printed and "not read" not in printed


def test_a_single_file_is_added_to_an_existing_output_never_wiping_it(
        model_path, photos_dir, tmp_path, capsys) -> None:
    """A photo, then a video, then the photo again into one CSV: rows kept, the rerun skipped;
    --no-resume overwrites."""
    out = tmp_path / "rows.csv"
    photo, video = photos_dir / "multi_face.jpg", photos_dir / "single_face.mp4"
    model = ["--model", str(model_path), "--quiet"]
    assert main(["predict", str(photo), "--output", str(out), *model]) == 0

    def sources() -> list[str]:
        with out.open() as handle:
            return [row["source"] for row in csv.DictReader(handle)]

    assert sources() == [str(photo)] * 5
    assert main(["predict", str(video), "--output", str(out), "--max-frames", "3", *model]) == 0
    assert sources() == [str(photo)] * 5 + [str(video)] * 3
    capsys.readouterr()
    assert main(["predict", str(photo), "--output", str(out), *model]) == 0
    assert "1 already in the output (skipped)" in capsys.readouterr().out
    assert len(sources()) == 8
    assert main(["predict", str(photo), "--output", str(out), "--no-resume", *model]) == 0
    assert sources() == [str(photo)] * 5


def test_an_output_or_annotate_path_blocked_by_a_file_is_one_line(model_path, photos_dir,
                                                                  tmp_path, capsys) -> None:
    in_the_way = tmp_path / "x.csv"
    in_the_way.write_text("")
    photo = str(photos_dir / "single_face.jpg")
    for flags in (["--output", str(in_the_way / "y.csv")], ["--annotate", str(in_the_way)],
                  ["--annotate", str(in_the_way / "sub")]):
        assert main(["predict", photo, "--model", str(model_path), *flags]) == 2
        err = capsys.readouterr().err.strip()  # (a first run also says it converts BlazeFace)
        last = err.splitlines()[-1]
        assert "Traceback" not in err and last.startswith("scancci predict: error: ")
        assert "a file is there, where a folder is needed" in last
