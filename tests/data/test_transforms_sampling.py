"""Transforms (original recipe + options), class balance and the stratified carve."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision.transforms import v2

from scancci.data import (
    balanced_sampler,
    build_transforms,
    class_balanced_weights,
    open_dataset,
    stratified_split,
)
from scancci.errors import InvalidInputError, UnknownNameError


def _image(size=(60, 40)) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def test_eval_transform_is_resize_and_half_normalisation() -> None:
    image = _image()
    x = build_transforms(train=False, input_size=24)(image)
    expected = np.asarray(image.resize((24, 24), Image.BILINEAR), np.float32) / 255
    assert x.shape == (3, 24, 24) and x.dtype == torch.float32
    assert torch.allclose(x, torch.from_numpy((expected - 0.5) / 0.5).permute(2, 0, 1),
                          atol=0.02)
    assert build_transforms(train=False, input_size=24)(image).equal(x)  # deterministic


def test_train_transform_is_the_original_recipe_plus_options() -> None:
    kinds = [type(t) for t in build_transforms(train=True, input_size=32).transforms]
    assert kinds[:3] == [v2.Resize, v2.RandomHorizontalFlip, v2.ColorJitter]
    jitter = build_transforms(train=True, input_size=32).transforms[2]
    assert jitter.brightness == (0.6, 1.4) and jitter.hue == (-0.05, 0.05)
    full = build_transforms(train=True, input_size=32, randaugment=True, random_erasing=0.5,
                            rotation=10, crop_scale=(0.8, 1.0))
    kinds = [type(t) for t in full.transforms]
    assert v2.RandAugment in kinds and v2.RandomResizedCrop in kinds
    assert kinds[-1] is v2.RandomErasing
    x = full(_image())
    assert x.shape == (3, 32, 32)
    flip_only = build_transforms(train=True, input_size=32, color_jitter=False)
    assert v2.ColorJitter not in [type(t) for t in flip_only.transforms]


def test_unknown_augmentation_option_suggests_the_name() -> None:
    with pytest.raises(UnknownNameError, match="random_erasing"):
        build_transforms(train=True, input_size=32, random_erase=0.5)
    with pytest.raises(InvalidInputError, match="input_size"):
        build_transforms(train=False, input_size=0)


def test_balanced_sampler_draws_classes_equally() -> None:
    targets = [0] * 900 + [1] * 90 + [2] * 10
    sampler = balanced_sampler(targets, seed=0)
    drawn = [targets[i] for i in sampler]
    assert len(drawn) == 1000  # one dataset length per epoch
    counts = Counter(drawn)
    assert all(250 < counts[c] < 420 for c in range(3)), counts
    assert list(balanced_sampler(targets, seed=0)) == list(balanced_sampler(targets, seed=0))


def test_class_balanced_weights_formula_and_normalisation() -> None:
    counts = [1000, 100, 10]
    weights = class_balanced_weights(counts, beta=0.9999)
    raw = np.array([(1 - 0.9999) / (1 - 0.9999**n) for n in counts])
    assert torch.allclose(weights, torch.tensor(raw * 3 / raw.sum(), dtype=torch.float32))
    assert weights.sum().item() == pytest.approx(3.0)
    assert weights[2] > weights[1] > weights[0]
    assert torch.allclose(class_balanced_weights([5, 5, 5]), torch.ones(3))
    with_empty = class_balanced_weights([10, 0, 10])
    assert with_empty[1] == 0 and with_empty.sum().item() == pytest.approx(3.0)
    with pytest.raises(InvalidInputError):
        class_balanced_weights([-1, 3])


def test_stratified_split_keeps_class_shares_and_is_seeded() -> None:
    targets = [0] * 50 + [1] * 20 + [2] * 3 + [3]
    train, val = stratified_split(targets, val_fraction=0.2, seed=1)
    assert sorted(train + val) == list(range(len(targets))) and not set(train) & set(val)
    val_counts = Counter(targets[i] for i in val)
    assert val_counts == {0: 10, 1: 4, 2: 1}  # the single item of class 3 stays in train
    assert stratified_split(targets, 0.2, seed=1) == (train, val)
    assert stratified_split(targets, 0.2, seed=2) != (train, val)
    with pytest.raises(InvalidInputError):
        stratified_split(targets, val_fraction=1.5)


def test_demo_set_through_a_dataloader(demo_small) -> None:
    transform = build_transforms(train=True, input_size=64)
    ds = open_dataset("rafdb", demo_small["clean"], split="train", transform=transform)
    train_idx, val_idx = stratified_split(ds.targets, 0.1, seed=0)
    train = ds.subset(train_idx)
    loader = DataLoader(train, batch_size=16, num_workers=0,
                        sampler=balanced_sampler(train.targets, seed=0))
    x, y = next(iter(loader))
    assert x.shape == (16, 3, 64, 64) and y.dtype == torch.int64
    assert len(train) + len(ds.subset(val_idx)) == len(ds)
