"""uvdock: container images for uv-managed Python projects.

The public API is small on purpose: detect a project, plan what to build,
render the files that build it. The command line (``uvdock.cli``) is a thin
layer over these functions; nothing here prints or exits.
"""

from __future__ import annotations

import functools

__all__ = ["__version__"]


@functools.cache
def _version() -> str:
    # importlib.metadata takes 30 ms to import and look up: only when asked.
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("uvdock")
    except PackageNotFoundError:  # pragma: no cover - a source tree without install
        return "0.0.0+unknown"


def __getattr__(name: str) -> str:
    """``uvdock.__version__``, looked up on first use (PEP 562)."""
    if name == "__version__":
        return _version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
