"""Recipes load over the shared defaults, and bad names and keys get clear errors."""

from __future__ import annotations

import pytest

from scancci.errors import InvalidInputError, UnknownNameError
from scancci.train import TrainConfig, list_recipes, load_recipe

TABLE = {  # spec section 2: classes, head lr, weight decay
    "rafdb": (7, 1e-2, 1e-3), "ferplus": (8, 1e-2, 1e-3), "affectnet8": (8, 1e-3, 1e-3),
    "affectnet7": (7, 1e-3, 1e-3), "affectnet_rafdb": (7, 1e-3, 1e-3),
    "sfew": (7, 1e-3, 1e-4), "ckplus": (8, 1e-5, 1e-3), "oulu": (7, 1e-5, 1e-3),
}


def test_every_row_of_the_paper_table_has_a_recipe() -> None:
    assert set(TABLE) | {"demo"} <= set(list_recipes())
    for name, (classes, head_lr, wd) in TABLE.items():
        config = load_recipe(name)
        assert config.name == name
        assert (config.model.num_classes, config.optim.head_lr, config.optim.weight_decay) == (
            classes, head_lr, wd), name
        assert config.optim.momentum == 0.9 and not config.optim.nesterov
        assert config.protocol == "honest" and config.original.script, name


def test_recipe_details_follow_the_spec() -> None:
    rafdb = load_recipe("rafdb")
    assert rafdb.model.options["local_scan"] == "shared"
    assert (rafdb.data.batch_size, rafdb.trainer.epochs, rafdb.optim.lr_decay) == (64, 60, 0.95)
    assert rafdb.optim.trunk_lr == 1e-4 and rafdb.data.balance == "resample"
    assert load_recipe("ferplus").model.options["local_scan"] == "independent"
    assert load_recipe("ferplus").data.train[0].split == "train+val"
    assert load_recipe("affectnet8").data.train[0].options["max_per_class"] == 20000
    mixed = load_recipe("affectnet_rafdb")
    assert [s.dataset for s in mixed.data.train] == ["affectnet", "rafdb"]
    assert mixed.data.train[0].options["max_per_class"] == 5000
    assert mixed.data.test.dataset == "fedro"
    sfew = load_recipe("sfew")
    assert sfew.data.balance == "reweight" and sfew.model.init_required
    assert sfew.data.augment == {"flip": True, "color_jitter": False}
    ck = load_recipe("ckplus")
    assert (ck.data.batch_size, ck.trainer.epochs, ck.optim.lr_decay, ck.data.folds) == (
        48, 40, 1.0, 10)
    assert ck.optim.trunk_lr == 1e-5


def test_base_inheritance_and_overrides(tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("base: rafdb\noptim: {head_lr: 0.005}\ntrainer: {epochs: 3}\n")
    config = load_recipe(path, overrides=["data.batch_size=16", "protocol=original",
                                          "model.options.patch_layout=reference"])
    assert config.name == "mine" and config.optim.head_lr == 0.005
    assert config.optim.weight_decay == 1e-3  # inherited
    assert config.trainer.epochs == 3 and config.data.batch_size == 16
    assert config.protocol == "original" and config.original.script == "main_rafdb.py"
    assert config.model.options == {"local_scan": "shared", "patch_layout": "reference"}
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_unknown_names_and_keys_are_clear_errors(tmp_path) -> None:
    with pytest.raises(UnknownNameError, match="rafdb"):
        load_recipe("rafbd")
    with pytest.raises(UnknownNameError, match="head_lr"):
        load_recipe("rafdb", overrides=["optim.head_rl=0.1"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer: {epochs: many}\n")
    with pytest.raises(InvalidInputError, match="trainer.epochs"):
        load_recipe(bad)
    with pytest.raises(InvalidInputError, match="KEY=VALUE"):
        load_recipe("rafdb", overrides=["epochs"])
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_recipe(tmp_path / "missing.yaml")
