"""uvdock: container images for uv-managed Python projects.

The public API is small on purpose: detect a project, plan what to build,
render the files that build it. The command line (``uvdock.cli``) is a thin
layer over these functions; nothing here prints or exits.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("uvdock")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
