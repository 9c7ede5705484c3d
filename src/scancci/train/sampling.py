"""A training sampler whose order depends only on (seed, epoch): exact resume, DDP-aware.

Lightning calls `set_epoch` on it every epoch and leaves it in place under DDP (it is a
DistributedSampler), so a resumed run draws exactly the batches an uninterrupted run draws,
and each process takes its own share of one global draw. With class weights it draws with
replacement (the original "resample": weight 1/class_count, one dataset length per epoch).

It yields (index, seed) pairs: `TransformedSubset` seeds the augmentation of each item with
that seed, so augmentations too depend only on (seed, epoch, position), whatever the number of
loader workers and whether the run was resumed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
import torch.distributed as dist
from torch.utils.data import Dataset, DistributedSampler

from scancci.data.sampling import inverse_frequency_weights


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


class EpochSampler(DistributedSampler):
    """Shuffle (or 1/count resampling when `balanced`) seeded by seed + epoch."""

    def __init__(self, dataset: Dataset, targets: Sequence[int], *, balanced: bool,
                 seed: int = 0) -> None:
        replicas, rank = _world()
        super().__init__(dataset, num_replicas=replicas, rank=rank, shuffle=True, seed=seed,
                         drop_last=False)
        self.weights = inverse_frequency_weights(targets) if balanced else None
        self.num_items = len(targets)  # one target per item of `dataset`
        self.total_size = math.ceil(self.num_items / replicas) * replicas
        self.num_samples = self.total_size // replicas

    def global_order(self) -> list[int]:
        """The draw of the whole epoch, before it is dealt to the processes."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        n = self.num_items
        if self.weights is not None:
            order = torch.multinomial(self.weights, self.total_size, replacement=True,
                                      generator=generator).tolist()
        else:
            order = torch.randperm(n, generator=generator).tolist()
            order += order[: self.total_size - n]  # pad so every process gets as many
        return order

    def __iter__(self) -> Iterator[tuple[int, int]]:
        base = (self.seed * 1_000_003 + self.epoch) * 10_000_019
        positions = range(self.rank, self.total_size, self.num_replicas)
        order = self.global_order()
        return iter([(order[p], (base + p) % 2**62) for p in positions])

    def __len__(self) -> int:
        return self.num_samples
