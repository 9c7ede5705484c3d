"""Validation is a stratified, seeded carve of train; the test split stays apart."""

from __future__ import annotations

from collections import Counter

import torch

from scancci.train.datamodule import FERDataModule, TransformedSubset
from scancci.train.sampling import EpochSampler


def _module(config) -> FERDataModule:
    return FERDataModule(config, input_size=32, mean=(0.5,) * 3, std=(0.5,) * 3)


def test_validation_is_a_stratified_seeded_carve_of_train(tiny_config) -> None:
    splits = _module(tiny_config()).prepare()
    train, val = splits.train, splits.val
    assert not set(train.indices) & set(val.indices)
    assert len(train) + len(val) == 70
    assert Counter(val.targets) == dict.fromkeys(range(7), 2)  # 20 % of 10 per class
    assert splits.test is not None and len(splits.test) == 21
    again = _module(tiny_config()).prepare()
    assert again.val.indices == val.indices
    other = _module(tiny_config("trainer.seed=5")).prepare()
    assert other.val.indices != val.indices
    image, label = train[(0, 123)]  # (index, seed) from the sampler: seeded augmentation
    assert tuple(image.shape) == (3, 32, 32) and 0 <= label < 7
    assert torch.equal(train[(0, 123)][0], image)


ORIGINAL = ("protocol=original", "original.script=main_rafdb.py")  # the demo posing as RAF-DB


def test_original_protocol_trains_on_everything_and_validates_on_test(tiny_config) -> None:
    honest = _module(tiny_config("data.batch_size=16"))
    original = _module(tiny_config("data.batch_size=16", *ORIGINAL))
    splits = original.prepare()
    assert splits.val is splits.test and len(splits.train) == 70  # no carve (main_rafdb.py:222)
    assert len(honest.prepare().train) == 56
    # 70 = 4 x 16 + 6: the original keeps the partial batch, the honest default drops it
    assert len(original.train_dataloader()) == 5 and len(honest.train_dataloader()) == 3
    steps = [type(t).__name__ for t in original.transforms(True).transforms]
    assert steps[:3] == ["RandomHorizontalFlip", "ColorJitter", "Resize"]  # native size first
    assert [type(t).__name__ for t in honest.transforms(True).transforms][0] == "Resize"


def test_sampler_depends_only_on_seed_and_epoch_and_splits_across_processes() -> None:
    targets = [0] * 30 + [1] * 10
    a = EpochSampler(list(range(40)), targets, balanced=True, seed=3)
    b = EpochSampler(list(range(40)), targets, balanced=True, seed=3)
    a.set_epoch(2)
    b.set_epoch(2)
    assert list(a) == list(b)
    b.set_epoch(3)
    assert list(a) != list(b)
    drawn = Counter(targets[i] for i, _ in EpochSampler(list(range(40)), targets, balanced=True))
    assert abs(drawn[0] - drawn[1]) < 15  # 1/count weights: classes drawn about equally
    halves = []
    for rank in range(2):
        s = EpochSampler(list(range(40)), targets, balanced=False, seed=1)
        s.num_replicas, s.rank = 2, rank
        s.total_size, s.num_samples = 40, 20
        halves.append([i for i, _ in s])
    assert sorted(halves[0] + halves[1]) == list(range(40))


class _SoftLabels(torch.utils.data.Dataset):
    """Two items whose label is drawn from a distribution on every read (FERPlus probability
    mode); the image is a constant."""

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int):
        probs = torch.full((7,), 1 / 7)
        return torch.zeros(1), int(torch.multinomial(probs, 1).item())


def test_seeded_items_draw_the_same_soft_label_whatever_the_global_rng() -> None:
    subset = TransformedSubset(_SoftLabels(), [0, 1], lambda x: x, [0, 0])
    draws = []
    for global_seed in range(6):
        torch.manual_seed(global_seed)
        draws.append(subset[(1, 1234)][1])
    assert len(set(draws)) == 1
