"""The service's limits, declared once: enforced by the app, reported by GET /info, quoted the
same way in every refusal, and set by the `scancci serve` flag named in each field's metadata."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from math import isfinite
from typing import Any

from scancci.errors import InvalidInputError


def _limit(default: float, flag: str, *, zero: bool = False) -> Any:
    return field(default=default, metadata={"flag": flag, "zero": zero})


@dataclass(frozen=True)
class ServeLimits:
    """What one request may cost. Beyond these the service answers 408, 413, 503 or 504.

    The upload is read (each read within `read_timeout_s`, all of it within `upload_timeout_s`,
    at most `max_upload_bytes`) before the request waits for one of the `max_concurrency` model
    slots, so a slow client holds a connection, never a slot; `timeout_s` then covers the wait
    for a slot and the inference.
    """

    max_upload_bytes: int = _limit(10 * 1024 * 1024, "--max-upload-bytes")  # the image file
    max_pixels: int = _limit(40_000_000, "--max-pixels")  # width x height, decoded (413 above)
    max_concurrency: int = _limit(4, "--max-concurrency")  # requests inferring at once
    max_queue: int = _limit(16, "--max-queue", zero=True)  # waiting for a slot; more get 503
    timeout_s: float = _limit(30.0, "--timeout")  # slot wait + inference (504 above)
    read_timeout_s: float = _limit(10.0, "--read-timeout")  # silence while uploading (408)
    upload_timeout_s: float = _limit(60.0, "--upload-timeout")  # the whole upload (408)
    max_faces: int = _limit(64, "--max-faces")  # faces returned per image (best scores first)

    def __post_init__(self) -> None:
        for spec in fields(self):
            value, flag = getattr(self, spec.name), spec.metadata["flag"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not isfinite(value):
                raise InvalidInputError(f"{flag} must be a number, got {value!r}")
            if value < 0 or (value == 0 and not spec.metadata["zero"]):
                least = "0 or more" if spec.metadata["zero"] else "more than 0"
                raise InvalidInputError(f"{flag} must be {least}, got {value:g}")

    def to_dict(self) -> dict[str, Any]:
        """The limits as /info reports them."""
        return asdict(self)

    @staticmethod
    def flag(name: str) -> str:
        """The `scancci serve` flag that sets limit `name`."""
        return next(f.metadata["flag"] for f in fields(ServeLimits) if f.name == name)
