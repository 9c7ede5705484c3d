"""Tiny generated fixtures for the training tests: a few synthetic faces per class."""

from __future__ import annotations

from pathlib import Path

import pytest

from scancci.data import generate_demo_dataset
from scancci.train import TrainConfig, load_recipe

TINY_MODEL = "scancci_mobilenetv2"
TINY_SIZE = 64


@pytest.fixture(scope="session")
def tiny_faces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """10 training and 3 test faces per class, 48 px, with occluded and masked copies."""
    return generate_demo_dataset(tmp_path_factory.mktemp("faces"), seed=11,
                                 num_train_per_class=10, num_test_per_class=3, image_size=48)


def tiny_overrides(faces: dict[str, Path], run_dir: Path, *extra: str) -> list[str]:
    """Overrides turning the demo recipe into a seconds-long CPU run."""
    return [
        f"model.name={TINY_MODEL}", f"model.input_size={TINY_SIZE}",
        "model.backbone_weights=imagenet",
        f"data.root={faces['clean']}", f"data.roots.occluded={faces['occluded']}",
        f"data.roots.masked={faces['masked']}", "data.batch_size=14", "data.val_fraction=0.2",
        "trainer.epochs=2", "trainer.progress=false",
        "trainer.log_every_n_steps=1", f"run_dir={run_dir}", *extra,
    ]


@pytest.fixture
def tiny_config(tiny_faces: dict[str, Path], tmp_path: Path):
    """`tiny_config(*overrides, run="run")` -> TrainConfig writing under tmp_path/run."""

    def make(*extra: str, run: str = "run") -> TrainConfig:
        return load_recipe("demo", overrides=tiny_overrides(tiny_faces, tmp_path / run, *extra))

    return make


@pytest.fixture
def tiny_cli(tiny_faces: dict[str, Path]):
    """`tiny_cli(run_dir, *overrides)` -> the same seconds-long run as `scancci train` flags
    (`--set KEY=VALUE` for each override; the recipe is given separately)."""

    def make(run_dir: Path, *extra: str) -> list[str]:
        return [arg for item in tiny_overrides(tiny_faces, run_dir, *extra)
                for arg in ("--set", item)]

    return make


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: these tiny batches gain nothing from two, and a shared, busy CPU
    stalls multi-threaded kernels; restored afterwards for the other areas' tests."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
