"""`protocol: original`: each item of the authors' protocol, and the bad inputs around it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from scancci.cli import main
from scancci.data.readers._sequences import fold_of_subjects
from scancci.errors import DatasetError
from scancci.train import fit, load_recipe

sys.path.insert(0, str(Path(__file__).parents[1] / "models"))
from original_impl import OriginalModel, randomize  # noqa: E402 - the test transcription

ORIGINAL = ("protocol=original", "original.script=main_rafdb.py")  # the demo posing as RAF-DB


def test_recipes_carry_their_original_settings_and_the_user_wins() -> None:
    oulu = load_recipe("oulu", overrides=["protocol=original"])
    assert oulu.optim.lr_decay == 1.0 and oulu.data.fold_scheme == "contiguous"
    assert oulu.original.carry_optimizer and load_recipe("oulu").optim.lr_decay == 0.95
    fedro = load_recipe("affectnet_rafdb", overrides=["model.backbone_weights=/w.pkl",
                                                      "protocol=original"])
    assert fedro.model.backbone_weights == "/w.pkl"  # what the user asked for wins
    assert load_recipe("affectnet_rafdb", overrides=["protocol=original"]
                       ).model.backbone_weights is None  # the original's trunk is random
    assert load_recipe("sfew", overrides=["protocol=original"]).original.carry_optimizer
    assert load_recipe("ckplus", overrides=["protocol=original"]).original.carry_optimizer
    assert not load_recipe("rafdb", overrides=["protocol=original"]).original.carry_optimizer


def test_bad_protocol_inputs_are_one_line_errors(tiny_faces, tmp_path, capsys) -> None:
    base = ["train", "--data", str(tiny_faces["clean"]), "--out", str(tmp_path / "r")]
    assert main([*base, "--recipe", "rafdb", "--protocol", "orignal"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'original'" in err and "honest" in err
    assert main([*base, "--recipe", "demo", "--protocol", "original"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no counterpart" in err and "demo" in err
    assert main([*base, "--recipe", "rafdb", "--set", "protocol.select_on_test=true"]) == 2
    assert "protocol=original" in capsys.readouterr().err  # the old flags point to the switch
    assert not (tmp_path / "r").exists()


def test_contiguous_folds_are_blocks_of_eight_of_eighty_subjects() -> None:
    subjects = [f"P{i:03d}" for i in range(1, 81)]
    folds = fold_of_subjects(subjects, 10, "contiguous")
    for k in range(10):  # dataset/oulucasia_dataset_cv.py:77: identities 8k .. 8k+7
        assert [s for s in subjects if folds[s] == k] == subjects[8 * k: 8 * k + 8]
    assert fold_of_subjects(subjects, 10)["P002"] == 1  # round robin stays the honest default


def _ck_folder(root: Path) -> Path:
    """Two CK+ subjects, one sequence each, 5 frames, with emotion files (3 = disgust)."""
    for subject, code in (("S005", 3), ("S010", 5)):
        seq = root / "cohn-kanade-images" / subject / "001"
        seq.mkdir(parents=True)
        for frame in range(1, 6):
            Image.new("RGB", (8, 8), (frame * 40, 0, 0)).save(seq / f"{subject}_001_{frame:08d}.png")
        emotion = root / "Emotion" / subject / "001"
        emotion.mkdir(parents=True)
        (emotion / f"{subject}_001_00000005_emotion.txt").write_text(f"   {code}.0000000e+00\n")
    return root


def test_ckplus_reads_the_originals_fold_files(tmp_path) -> None:
    from scancci.data import open_dataset

    root = _ck_folder(tmp_path / "ck")
    lists = tmp_path / "cv"
    lists.mkdir()
    (lists / "train_ids_0.csv").write_text("S005_001_00000004.png\nS005_001_00000005.png\n")
    (lists / "test_ids_0.csv").write_text("S010_001_00000005.png\n")
    train = open_dataset("ckplus", root, split="train", fold=0, fold_lists=lists)
    names = sorted(Path(p).name for p, _ in train.samples)
    assert names == ["S005_001_00000001.png", "S005_001_00000004.png", "S005_001_00000005.png"]
    assert sorted(train.targets) == [0, 5, 5]  # neutral onset + 2 x disgust (canonical 5)
    test = open_dataset("ckplus", root, split="test", fold=0, fold_lists=lists)
    assert len(test) == 2 and sorted(test.targets) == [0, 1]  # neutral + happy
    (lists / "test_ids_1.csv").write_text("S077_002_00000009.png\n")
    with pytest.raises(DatasetError, match="1 entries name frames missing.*S077_002"):
        open_dataset("ckplus", root, split="test", fold=1, fold_lists=lists)


def test_carried_optimizer_state_is_the_parents(tmp_path) -> None:
    """An original .pth's groups (decayed lrs, its weight decay) and momentum buffers land on
    the matching scancci parameters (main_sfew.py:214)."""
    from scancci.models import load_original_checkpoint
    from scancci.train.carry import parent_optimizer
    from scancci.train.module import ScanCCIModule

    original = randomize(OriginalModel(num_classes=7, shared=True), seed=2)
    groups = [original.base, original.attention, original.region]
    optimizer = torch.optim.SGD([{"params": g.parameters(), "lr": lr, "momentum": 0.9,
                                  "weight_decay": 1e-3}
                                 for g, lr in zip(groups, (1e-4 * 0.95**7, 1e-2 * 0.95**7,
                                                           1e-2 * 0.95**7), strict=True)])
    for group in optimizer.param_groups:
        for p in group["params"]:
            optimizer.state[p]["momentum_buffer"] = torch.randn_like(p)
    path = tmp_path / "parent.pth.tar"
    torch.save({"epoch": 8, "best_prec1": 50.0, "optimizer": optimizer.state_dict(),
                **{f"{part}_state_dict": {f"module.{k}": v for k, v in g.state_dict().items()}
                   for part, g in zip(("base", "attention", "region"), groups, strict=True)}},
               path)
    config = load_recipe("sfew", overrides=["protocol=original", f"model.init_from={path}",
                                            "model.options.local_scan=shared"])
    model = load_original_checkpoint(path)
    module = ScanCCIModule(model, config, parent_optimizer=parent_optimizer(config, model))
    ours = module.configure_optimizers()["optimizer"]
    assert [g["lr"] for g in ours.param_groups] == pytest.approx(
        [1e-4 * 0.95**7, 1e-2 * 0.95**7, 1e-2 * 0.95**7])  # not sfew's nominal 1e-4 / 1e-3
    assert {g["weight_decay"] for g in ours.param_groups} == {1e-3}  # not sfew's 1e-4
    params = dict(model.named_parameters())
    pairs = {"trunk.conv1.weight": original.base.conv1.weight,
             "attention.fc.weight": original.attention.fc.weight,
             "attention.local_scan.block.attention.0.weight":
                 original.attention.local_attention_masks.attention[0].weight,
             "cci.region_net.2.bias": original.region.region_net[2].bias}
    for name, theirs in pairs.items():
        assert torch.equal(ours.state[params[name]]["momentum_buffer"],
                           optimizer.state[theirs]["momentum_buffer"]), name


def test_reports_state_the_protocol_in_their_first_line(tiny_config) -> None:
    quick = ("trainer.epochs=1", "data.subsets=[]")
    original = fit(tiny_config(*quick, *ORIGINAL, run="original"))
    lines = (original.run_dir / "report.md").read_text().splitlines()
    assert "protocol: original, as main_rafdb.py" in lines[0] and "TEST" in lines[0]
    assert "Temperature fitted on the TEST split" in "\n".join(lines)
    assert original.results["clean"].split == "test"
    assert "Test (the split the epoch was selected on" in "\n".join(lines)
    history = (original.run_dir / "history.csv").read_text().splitlines()[0].split(",")
    assert "test/acc" in history and not [c for c in history if c.startswith("val/")]
    assert original.record.monitor == "test/acc"
    from dataclasses import replace

    from scancci.evaluate.report import run_report

    honest = replace(original.record, provenance=replace(original.provenance, protocol="honest"))
    assert "protocol: honest" in run_report(honest).splitlines()[0]  # same results, honest
    from scancci.evaluate.session import evaluate_models

    evaluated = evaluate_models([original.run_dir], subsets=[], progress=False).markdown()
    assert "protocol original" in evaluated and "(epoch selected on the TEST split)" in evaluated


def test_carried_optimizer_state_from_a_scancci_run_folder(tiny_config, tmp_path) -> None:
    """A scancci parent: the SGD state of its selected epoch (checkpoints/best.ckpt)."""
    from scancci.train.build import model_for_training
    from scancci.train.carry import parent_optimizer
    from scancci.train.module import ScanCCIModule

    parent = fit(tiny_config("trainer.epochs=1", "data.subsets=[]", "evaluation.calibrate=false",
                             run="parent"))
    saved = torch.load(parent.run_dir / "checkpoints" / "best.ckpt", map_location="cpu",
                       weights_only=True)["optimizer_states"][0]
    config = tiny_config(*ORIGINAL, "original.carry_optimizer=true",
                         f"model.init_from={parent.run_dir}", "optim.head_lr=0.5", run="child")
    model = model_for_training(config)
    ours = ScanCCIModule(model, config, parent_optimizer=parent_optimizer(config, model)
                         ).configure_optimizers()["optimizer"]
    assert [g["lr"] for g in ours.param_groups] == [g["lr"] for g in saved["param_groups"]]
    first = ours.param_groups[0]["params"][0]
    assert torch.equal(ours.state[first]["momentum_buffer"], saved["state"][0]["momentum_buffer"])
    with pytest.raises(Exception, match="no optimizer state to carry"):
        parent_optimizer(tiny_config(*ORIGINAL, "original.carry_optimizer=true",
                                     f"model.init_from={parent.model_path}", run="bare"), model)
