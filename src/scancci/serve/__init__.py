"""The HTTP service: `create_app(model, ...)` builds a FastAPI app with a web page.

Names are imported on first use, so `scancci serve --help` does not load FastAPI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scancci._lazy import lazy_exports

if TYPE_CHECKING:  # the public names, as type checkers see them; imported on first use
    from scancci.serve.app import create_app as create_app
    from scancci.serve.limits import ServeLimits as ServeLimits

__getattr__, __dir__, __all__ = lazy_exports(globals())
