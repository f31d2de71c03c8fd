"""fastapi-app: the uvdock example service (an in-memory items API)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["DIST_NAME", "__version__"]

DIST_NAME = "fastapi-app"

try:
    # Read from the installed distribution's metadata, not from a constant:
    # a working /version endpoint proves the project itself was installed
    # into the environment (e.g. by `uv sync --no-editable` in the image).
    __version__ = version(DIST_NAME)
except PackageNotFoundError:  # pragma: no cover - only when run from a bare checkout
    __version__ = "0+unknown"
