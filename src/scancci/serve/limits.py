"""The service's limits, declared once: enforced by the app and reported by GET /info."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from scancci.errors import InvalidInputError


@dataclass(frozen=True)
class ServeLimits:
    """What one request may cost. Beyond these the service answers 413, 503 or 504."""

    max_upload_bytes: int = 10 * 1024 * 1024  # encoded image size (413 above)
    max_pixels: int = 40_000_000  # width x height of the decoded image (413 above)
    max_concurrency: int = 4  # requests handled at once
    max_queue: int = 16  # requests waiting for a free slot (within timeout_s); more get 503 at once
    timeout_s: float = 30.0  # per request, upload included (504 above)
    max_faces: int = 64  # faces returned per image (largest detection score first)

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value < 0 or (value == 0 and name != "max_queue"):
                raise InvalidInputError(f"serve limit {name} must be positive, got {value}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
