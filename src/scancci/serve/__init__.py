"""The HTTP service: `create_app(model, ...)` builds a FastAPI app with a web page."""

from scancci.serve.app import create_app
from scancci.serve.limits import ServeLimits

__all__ = ["ServeLimits", "create_app"]
