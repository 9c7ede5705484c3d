"""`scancci evaluate`, `calibrate` and `report` on a saved model and generated faces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scancci.cli import main
from scancci.data import generate_demo_dataset


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_demo_dataset(tmp_path_factory.mktemp("faces"), seed=4,
                                 num_train_per_class=5, num_test_per_class=2, image_size=48)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scancci.models import create_model, save_model

    folder = tmp_path_factory.mktemp("model")
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=64)
    save_model(model, folder / "model.safetensors")
    return folder


def test_evaluate_writes_one_table_with_the_masked_row(faces, saved_model, tmp_path,
                                                       capsys) -> None:
    out = tmp_path / "eval"
    code = main(["evaluate", "--model", str(saved_model), "--data", str(faces["clean"]),
                 "--dataset", "rafdb", "--masked", str(faces["masked"]), "--tta", "--output",
                 str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| test | test | 14 |" in printed and "| masked | test | 14 |" in printed
    assert "skipped occlusion" in printed  # no list file: said so, not silently dropped
    data = json.loads((out / "results.json").read_text())
    assert set(data["sets"]) == {"test", "masked"} and data["tta_flip"] is True
    assert (out / "confusion_masked.png").is_file()
    code = main(["report", str(out), str(out), "--output", str(tmp_path / "r.md")])
    assert code == 0 and "Mean ± std over 2 runs" in (tmp_path / "r.md").read_text()


def test_api_and_cli_share_the_registry_evaluation_split(faces, saved_model, tmp_path,
                                                        capsys) -> None:
    """split=None reads the dataset's evaluation split (RAF-DB: test, 14 faces), never the
    reader's default (train, 35 faces), and every row says which split it read."""
    from scancci.data import list_datasets
    from scancci.data.registry import dataset_info, evaluation_split
    from scancci.evaluate.session import evaluate_models

    assert evaluation_split("rafdb") == "test"
    assert evaluation_split("affectnet") == evaluation_split("sfew") == "val"
    assert all(dataset_info(n).eval_split in dataset_info(n).splits for n in list_datasets())
    session = evaluate_models([saved_model], "rafdb", faces["clean"], subsets=[],
                              masked=faces["masked"], progress=False, out=tmp_path / "api")
    rows = session.metrics[0]
    assert list(rows) == ["test", "masked"]
    assert {r.split for r in rows.values()} == {"test"}
    assert rows["test"].num_samples == 14
    assert main(["evaluate", "--model", str(saved_model), "--data", str(faces["clean"]),
                 "--dataset", "rafdb", "--subsets", "none", "--quiet", "--out",
                 str(tmp_path / "cli")]) == 0
    assert "| test | test | 14 |" in capsys.readouterr().out
    cli = json.loads((tmp_path / "cli" / "results.json").read_text())["sets"]["test"]
    api = json.loads((tmp_path / "api" / "results.json").read_text())["sets"]["test"]
    assert cli["split"] == api["split"] == "test" and cli["confusion"] == api["confusion"]
    train = evaluate_models([saved_model], "rafdb", faces["clean"], split="train", subsets=[],
                            progress=False).metrics[0]
    assert list(train) == ["train"] and train["train"].split == "train"  # labelled as read


def test_calibrate_stores_the_temperature_in_a_new_model(faces, saved_model, tmp_path,
                                                         capsys) -> None:
    from scancci.models import load_network

    out = tmp_path / "calibrated"
    assert main(["calibrate", "--model", str(saved_model), "--data", str(faces["clean"]),
                 "--dataset", "rafdb", "--val-fraction", "0.4", "--output", str(out),
                 "--quiet"]) == 0
    assert "ECE" in capsys.readouterr().out
    calibrated = load_network(out)
    assert calibrated.config.temperature != 1.0
    assert load_network(saved_model).config.temperature == 1.0  # the original is untouched
    assert (out / "reliability.png").is_file()
    assert main(["calibrate", "--model", str(saved_model), "--data", str(faces["clean"]),
                 "--dataset", "rafdb", "--output", str(out), "--quiet"]) == 2  # never overwrites


def test_user_mistakes_are_one_line_errors(faces, saved_model, tmp_path, capsys) -> None:
    assert main(["evaluate", "--model", str(saved_model), "--data",
                 str(tmp_path / "missing"), "--dataset", "rafdb"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(saved_model), "--data", str(faces["clean"])]) == 2
    assert "--dataset" in capsys.readouterr().err  # no provenance: the reader must be named
    assert main(["train", "--recipe", "rafbd", "--data", str(faces["clean"])]) == 2
    assert "rafdb" in capsys.readouterr().err
    assert main(["train", "--recipe", "rafdb"]) == 2
    assert "--data" in capsys.readouterr().err
