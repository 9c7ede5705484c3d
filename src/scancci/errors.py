"""Errors that mean "the user gave us something wrong": the CLI prints them without a traceback.

Every message names the value received, what was expected and, where possible, the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


class ScanCCIError(Exception):
    """Base class of every user-facing error raised by scancci."""


class InvalidInputError(ScanCCIError, ValueError):
    """A tensor, image or argument that cannot be used as given (shape, dtype, NaNs, range)."""


class UnknownNameError(ScanCCIError, KeyError):
    """A model, dataset, recipe or option name that does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class CheckpointError(ScanCCIError):
    """A weights file that is missing, corrupted, unsafe or of another architecture."""


class DatasetError(ScanCCIError):
    """A dataset folder or file that is missing or not in the layout its owners ship."""


class MissingDependencyError(ScanCCIError):
    """An optional package (an extra, detector weights, a pretrained model) is not installed;
    the message names the command that installs it."""


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> UnknownNameError:
    """Build an UnknownNameError listing the valid names and the closest matches."""
    valid = sorted(valid)
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return UnknownNameError(f"unknown {kind} {name!r}.{hint} Valid: {', '.join(valid)}.")


_OBJECT_REPR = re.compile(r"<([\w.]+) object at 0x[0-9a-fA-F]+>")
MAX_DETAIL = 200


def error_detail(err: BaseException) -> str:
    """A library's exception as a short clause for our own messages: its first line, object
    reprs reduced to their type, and PyTorch's advice to load untrusted files unsafely dropped."""
    text = str(err).strip() or type(err).__name__
    if "Weights only load failed" in text or "weights_only" in text:
        return "the file pickles Python objects other than tensors, which scancci refuses to load"
    line = _OBJECT_REPR.sub(lambda m: f"<{m.group(1).rsplit('.', 1)[-1]}>", text.splitlines()[0])
    return line if len(line) <= MAX_DETAIL else line[: MAX_DETAIL - 3] + "..."


def one_line(message: str) -> str:
    """A user-facing message on one line (the CLI prints every error so)."""
    return "; ".join(part.strip() for part in str(message).splitlines() if part.strip())
