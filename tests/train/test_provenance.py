"""A run's provenance travels with its model, and every later command reads it: evaluate,
calibrate, report, --resume. Explicit flags win and say so; calibration never fits on
training items."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from scancci.cli import main
from scancci.errors import InvalidInputError
from scancci.train import fit

sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
import fakes  # noqa: E402 - the native-layout builders

QUICK = ("trainer.epochs=1", "data.subsets=[]")


def test_a_run_records_its_provenance_in_the_folder_the_model_and_the_results(
        tiny_config, tiny_faces) -> None:
    result = fit(tiny_config(*QUICK, "trainer.seed=3", "optim.head_lr=0.03"))
    run = result.run_dir
    stored = json.loads((run / "provenance.json").read_text())
    assert json.loads((run / "model.json").read_text())["provenance"] == stored
    assert json.loads((run / "eval/results.json").read_text())["provenance"] == stored
    assert stored["recipe"] == "demo" and stored["protocol"] == "honest"
    assert stored["seed"] == 3 and stored["optim"]["head_lr"] == pytest.approx(0.03)
    assert stored["trunk_init"] == "imagenet" and stored["precision"] in ("32-true", "bf16-mixed")
    assert stored["batch_size"] == 14 and stored["epochs"] == 1 and stored["tta_flip"] is False
    assert stored["scancci_version"] and stored["init_from"] is None
    train = next(d for d in stored["data"] if d["role"] == "train")
    label_file = Path(tiny_faces["clean"]) / "EmoLabel/list_patition_label.txt"
    assert train["files"][0]["path"] == str(label_file) and len(train["files"][0]["sha256"]) == 64
    assert train["root"] == str(Path(tiny_faces["clean"]).resolve()) and train["items"] == 70
    assert "carve of the training data (seed 3): 14 items" in stored["validation"]
    hparams = yaml.safe_load((run / "tensorboard/version_0/hparams.yaml").read_text())
    assert hparams["recipe"] == "demo" and hparams["global_batch"] == 14
    events = EventAccumulator(str(run / "tensorboard/version_0"))
    events.Reload()  # the HPARAMS tab: the hyperparameters and the selected epoch's score
    assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")
    assert events.Scalars("hp_metric")[-1].value == pytest.approx(result.best_score)
    report = (run / "report.md").read_text()
    assert "- train data `rafdb`: rafdb (train), 70 items" in report and "sha256" in report


def test_calibrate_refits_the_runs_own_temperature_on_its_own_validation(
        tiny_config, tmp_path, capsys) -> None:
    result = fit(tiny_config(*QUICK))
    capsys.readouterr()
    out = tmp_path / "calibrated"
    assert main(["calibrate", "--model", str(result.run_dir), "--output", str(out),
                 "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "carve of the training data" in printed
    again = json.loads((out / "model.json").read_text())["temperature"]
    assert again == pytest.approx(result.calibration["temperature"], rel=1e-4)
    for flags in (["--seed", "5"], ["--val-fraction", "0.3"], ["--dataset", "rafdb", "--split",
                                                               "train"]):
        assert main(["calibrate", "--model", str(result.run_dir), "--output",
                     str(tmp_path / "x"), "--quiet", *flags]) == 2
        err = capsys.readouterr().err
        assert "trained on" in err and len(err.strip().splitlines()) == 1


def test_evaluate_an_affectnet_run_with_only_model_and_data(tmp_path, capsys, caplog) -> None:
    data = fakes.affectnet(tmp_path / "AffectNet", train_per_class=5, val_per_class=2)
    run = tmp_path / "affectnet8"
    assert main(["train", "--recipe", "affectnet8", "--data", str(data), "--output", str(run),
                 "--model", "scancci_mobilenetv2", "--input-size", "64", "--epochs", "1",
                 "--batch-size", "8", "--backbone-weights", "imagenet", "--quiet",
                 "--set", "evaluation.calibrate=false"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(run), "--data", str(data), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "| val | val | 16 |" in out  # AffectNet's validation set, 2 per class, 8 classes
    assert "`scancci_mobilenetv2`, recipe affectnet8, protocol honest" in out
    assert "overrode" not in out
    assert main(["evaluate", "--model", str(run), "--quiet", "--split", "train"]) == 0
    out = capsys.readouterr().out
    assert "| train | train | 40 |" in out  # the folder too came from the run
    assert "--split train overrode the run's test split (val)" in out


def test_the_run_folder_report_names_what_was_skipped_dropped_or_random(
        tiny_config, tmp_path, caplog) -> None:
    data = fakes.rafdb(tmp_path / "raf", train_per_class=4, test_per_class=2,
                       broken_test_lines=2)
    config = tiny_config("trainer.epochs=1", f"data.root={data}", "model.backbone_weights=null",
                         "data.subsets=[{name: occlusion, dataset: rafdb_occlusion, "
                         "split: test, optional: true}]", "evaluation.calibrate=false")
    result = fit(config)
    report = (result.run_dir / "report.md").read_text()
    console = caplog.text
    for text in ("subset occlusion:", "test clean (rafdb, test): 2 unusable entries dropped",
                 "trunk started from RANDOM weights"):
        assert text in report and text in console, text
    assert result.results["clean"].num_samples == 14  # 16 lines, 2 without an image


def test_a_baseline_runs_the_papers_recipe_and_reproduce_lists_every_deviation(
        tiny_faces, tmp_path, capsys, caplog) -> None:
    paper = tmp_path / "paper.yaml"
    paper.write_text("rafdb: {test: 88.1}\n")
    run = tmp_path / "baseline"
    assert main(["reproduce", "rafdb", "--data", str(tiny_faces["clean"]), "--output", str(run),
                 "--model", "plain_mobilenetv2", "--input-size", "64", "--epochs", "1",
                 "--batch-size", "14", "--backbone-weights", "imagenet", "--quiet",
                 "--paper-results", str(paper)]) == 0
    assert "plain_mobilenetv2 has no option local_scan" in caplog.text
    text = (run / "reproduce.md").read_text()
    assert "| paper acc. |" in text and "| 88.10 |" in text and "n/a |" not in text
    assert f"from {paper} (your file)" in text
    for deviation in ("model.name: 'plain_mobilenetv2' (the recipe: 'scancci_resnet50')",
                      "model.input_size: 64 (the recipe: 224)", "trainer.epochs: 1 (the recipe: 60)",
                      "data.batch_size: 14 (the recipe: 64)", "model options local_scan dropped",
                      "trunk weights: imagenet (the paper: VGGFace2 ResNet-50)"):
        assert deviation in text, deviation
    assert "Protocol: honest" in text and "--protocol original" in text
    from scancci.evaluate import read_run
    from scancci.evaluate.report import reproduce_report
    from scancci.train.reproduce import paper_cells, recipe_deviations

    record = read_run(run)
    unfilled = reproduce_report(record, deviations=recipe_deviations(record.provenance),
                                paper=paper_cells(record, None), paper_source=None)
    assert "see the paper's RAF-DB table" in unfilled and "read each figure" in unfilled


def test_resume_alone_continues_from_the_runs_own_config(tiny_cli, tmp_path, capsys,
                                                         caplog) -> None:
    run = tmp_path / "run"
    assert main(["train", "--recipe", "demo", *tiny_cli(run, *QUICK), "--quiet"]) == 0
    assert main(["train", "--resume", "--output", str(run), "--epochs", "2", "--quiet"]) == 0
    assert "trainer.epochs 2 overrides the run's 1" in caplog.text
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) == 3  # header + 2 epochs
    assert not (run / "tensorboard/version_1").exists() and not (run / "logs/version_1").exists()
    assert main(["train", "--output", str(run)]) == 2
    assert "--recipe NAME or --config FILE" in capsys.readouterr().err


def test_seeds_run_in_turn_and_report_mean_and_std(tiny_cli, tmp_path) -> None:
    out = tmp_path / "seeds"
    assert main(["train", "--recipe", "demo", *tiny_cli(out, *QUICK, "evaluation.calibrate=false"),
                 "--seeds", "0,1", "--quiet"]) == 0
    report = (out / "report.md").read_text()
    assert (out / "seed_0/model.safetensors").is_file() and (out / "seed_1/model.json").is_file()
    assert "Mean ± std over 2 runs" in report and "differs between these runs: seed 0, 1" in report
    assert main(["train", "--recipe", "demo", "--seeds", "1,1", "--output", str(out)]) == 2


def test_own_class_names_train_evaluate_and_fine_tune(tiny_config, tmp_path, capsys) -> None:
    names = ("no_pain", "mild_pain", "severe_pain")
    data = fakes.own_classes(tmp_path / "pain", names, train_per_class=8, test_per_class=3)
    own = ("data.train=[{dataset: folder, split: train}]",
           "data.test={name: test, dataset: folder, split: test}", "data.subsets=[]",
           f"data.root={data}", f"model.class_names=[{', '.join(names)}]",
           "model.num_classes=3", "trainer.epochs=1", "evaluation.calibrate=false")
    base = fit(tiny_config(*own, run="base"))
    assert base.results["test"].class_names == names and base.results["test"].num_samples == 9
    assert main(["evaluate", "--model", str(base.run_dir), "--quiet"]) == 0
    assert "| test | test | 9 |" in capsys.readouterr().out
    child = fit(tiny_config(*own, f"model.init_from={base.run_dir}", run="child"))
    assert child.provenance.init_from == str(base.run_dir)
    first = (child.run_dir / "report.md").read_text().splitlines()[0]
    assert first.startswith(f"# demo, fine-tuned from {base.run_dir}")


def test_sync_batchnorm_on_cpu_processes_is_refused_before_the_folder(tiny_config) -> None:
    config = tiny_config("trainer.sync_batchnorm=true")
    with pytest.raises(InvalidInputError, match="SyncBatchNorm does not run on CPU"):
        fit(config)
    assert not Path(config.run_dir).exists()


def test_lr_scaling_rules(tiny_config) -> None:
    from scancci.train.fitting import lr_scale

    config = tiny_config("optim.reference_batch=56")  # batch 14 per process
    assert lr_scale(config, 4) == 1.0  # "none": the recipe's lrs as they are
    assert lr_scale(config.with_overrides(["optim.lr_scaling=linear"]), 8) == 2.0
    assert lr_scale(config.with_overrides(["optim.lr_scaling=sqrt"]), 16) == 2.0
    with pytest.raises(Exception, match="lr_scaling"):
        config.with_overrides(["optim.lr_scaling=cubic"])


def test_report_groups_runs_and_never_pools_across_groups(tiny_config, tmp_path,
                                                          capsys) -> None:
    quick = (*QUICK, "evaluation.calibrate=false")
    scan = fit(tiny_config(*quick, run="scan"))
    plain = fit(tiny_config(*quick, "model.name=plain_mobilenetv2", "optim.head_lr=0.01",
                            run="plain"))
    assert main(["report", str(scan.run_dir), str(plain.run_dir), str(scan.run_dir)]) == 0
    text = capsys.readouterr().out
    assert "3 runs in 2 groups" in text and "no number pools them" in text
    assert "## Group 1: `scancci_mobilenetv2`" in text and "## Group 2: `plain_mobilenetv2`" in text
    assert "Mean ± std over 2 runs (group 1)" in text and "over 3 runs" not in text
    assert main(["evaluate", "--model", str(scan.run_dir), "--model", str(plain.run_dir),
                 "--model", str(scan.run_dir), "--quiet"]) == 0  # several models: the same rule
    text = capsys.readouterr().out
    assert "3 runs in 2 groups" in text and "over 3 runs" not in text
    assert "## Group 1: `scancci_mobilenetv2`" in text and "## Group 2: `plain_mobilenetv2`" in text
