"""Parity of an exported model with PyTorch: worst differences on real and random inputs.

An export is only written if it computes what the PyTorch model computes: `enforce` deletes
the file and raises when the worst difference is above tolerance, so a broken export never
lingers on disk looking usable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from scancci.errors import ScanCCIError
from scancci.runtime.batches import softmax

# batch (N x 3 x S x S float32) -> (logits N x C, attention N x h x w or None)
RunFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]


class ExportParityError(ScanCCIError):
    """An exported model whose outputs differ from PyTorch's by more than the tolerance."""


@dataclass(frozen=True)
class BatchParity:
    """Differences between reference and candidate on one named batch."""

    name: str
    count: int
    max_logit_diff: float
    max_prob_diff: float
    top1_agreement: float
    max_attention_diff: float | None

    def line(self) -> str:
        att = "-" if self.max_attention_diff is None else f"{self.max_attention_diff:.2e}"
        return (f"  {self.name:<8} n={self.count:<4} max|dlogit|={self.max_logit_diff:.2e}  "
                f"max|dprob|={self.max_prob_diff:.2e}  top-1 agree={self.top1_agreement:.1%}  "
                f"max|dattention|={att}")


@dataclass(frozen=True)
class ParityReport:
    """Worst differences over every batch, and whether they are within tolerance."""

    candidate: str
    metric: str  # "logits" (exact exports) or "probabilities" (quantised ones)
    tolerance: float
    batches: tuple[BatchParity, ...] = field(default_factory=tuple)
    reference: str = "PyTorch"
    checked: tuple[str, ...] | None = None  # batches the tolerance applies to (None: all)

    @property
    def worst(self) -> float:
        """The worst difference of the checked metric (attention included for "logits")."""
        batches = [b for b in self.batches if self.checked is None or b.name in self.checked]
        if self.metric == "probabilities":
            return max(b.max_prob_diff for b in batches)
        att = [b.max_attention_diff for b in batches if b.max_attention_diff is not None]
        return max([b.max_logit_diff for b in batches] + att)

    @property
    def passed(self) -> bool:
        return self.worst <= self.tolerance

    def __str__(self) -> str:
        verdict = "OK" if self.passed else "REFUSED"
        head = (f"{self.candidate} vs {self.reference}: worst {self.metric} difference {self.worst:.2e} "
                f"(tolerance {self.tolerance:.1e}) {verdict}")
        lines = [b.line() + ("" if self.checked is None or b.name in self.checked
                             else "  (shown, not checked)") for b in self.batches]
        return "\n".join([head, *lines])


def torch_runner(model: nn.Module) -> RunFn:
    """The PyTorch reference: logits and (when the model has one) the global attention map."""

    def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        with torch.inference_mode():
            out = model(torch.from_numpy(batch), return_attention=True)
        attention = out.attention["global"].float().numpy() if out.attention else None
        return out.logits.float().numpy(), attention

    return run


def compare(reference: RunFn, candidate: RunFn, batches: Mapping[str, np.ndarray], *,
            name: str, tolerance: float, metric: str = "logits",
            temperature: float = 1.0, reference_name: str = "PyTorch",
            checked: tuple[str, ...] | None = None) -> ParityReport:
    """Run both on every batch and collect the worst differences (tolerance on `checked`)."""
    results = []
    for label, batch in batches.items():
        ref_logits, ref_att = reference(batch)
        got_logits, got_att = candidate(batch)
        att_diff = None
        if ref_att is not None and got_att is not None:
            att_diff = float(np.abs(ref_att - got_att).max())
        results.append(BatchParity(
            name=label,
            count=len(batch),
            max_logit_diff=float(np.abs(ref_logits - got_logits).max()),
            max_prob_diff=float(np.abs(softmax(ref_logits, temperature)
                                       - softmax(got_logits, temperature)).max()),
            top1_agreement=float((ref_logits.argmax(1) == got_logits.argmax(1)).mean()),
            max_attention_diff=att_diff,
        ))
    return ParityReport(candidate=name, metric=metric, tolerance=tolerance,
                        batches=tuple(results), reference=reference_name, checked=checked)


def enforce(report: ParityReport, path: str | Path) -> ParityReport:
    """Delete the exported file and raise when the report is above tolerance."""
    if report.passed:
        return report
    Path(path).unlink(missing_ok=True)
    raise ExportParityError(
        f"{path} was deleted: it does not match {report.reference}.\n{report}\n"
        "Raise the tolerance only if you accept these differences; otherwise report the model "
        "and the export format."
    )
