"""The training step never waits for the device: no .item(), bool(), int() or float() of a
tensor between a batch's start and end, except on the every-N-steps check."""

from __future__ import annotations

import lightning as L
import torch

from scancci.train import fit

CONVERSIONS = ("item", "__bool__", "__int__", "__float__", "tolist")


class _CountSyncs(L.Callback):
    """Counts tensor -> Python conversions inside each training batch (hooks wrap the step)."""

    def __init__(self) -> None:
        self.per_batch: list[int] = []
        self.originals = {name: getattr(torch.Tensor, name) for name in CONVERSIONS}
        self.count = 0

    def _wrap(self, name: str):
        original = self.originals[name]

        def counted(tensor, *args, **kwargs):
            self.count += 1
            return original(tensor, *args, **kwargs)

        return counted

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.count = 0
        for name in CONVERSIONS:
            setattr(torch.Tensor, name, self._wrap(name))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        for name, original in self.originals.items():
            setattr(torch.Tensor, name, original)
        self.per_batch.append(self.count)


def test_training_steps_make_no_host_syncs(tiny_config, monkeypatch) -> None:
    counter = _CountSyncs()
    real = L.Trainer.__init__

    def with_counter(self, *args, **kwargs):
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), counter]
        real(self, *args, **kwargs)

    monkeypatch.setattr(L.Trainer, "__init__", with_counter)
    quick = ("trainer.epochs=1", "data.batch_size=8", "data.subsets=[]",
             "evaluation.calibrate=false")
    fit(tiny_config(*quick, "trainer.log_every_n_steps=50", run="quiet"))
    for name, original in counter.originals.items():
        assert getattr(torch.Tensor, name) is original
    assert len(counter.per_batch) == 7 and counter.per_batch == [0] * 7, counter.per_batch
    counter.per_batch.clear()  # the counter does see syncs: the check (and logging) every step
    fit(tiny_config(*quick, "trainer.log_every_n_steps=1", run="checked"))
    assert all(count > 0 for count in counter.per_batch), counter.per_batch
