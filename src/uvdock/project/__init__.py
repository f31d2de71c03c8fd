"""Project detection: read a project's files (never run its code) into facts.

Every fact records where it came from, so ``uvdock plan`` can explain itself.
The names below load on first use: ``uvdock lint`` imports the small modules
here (:mod:`.readfile`, :mod:`.facts`) without paying for the detectors.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uvdock.project.detect import detect_project
    from uvdock.project.model import Entrypoint, ProjectInfo, Sourced

__all__ = ["Entrypoint", "ProjectInfo", "Sourced", "detect_project"]
_HOME = {
    "detect_project": "uvdock.project.detect",
    "Entrypoint": "uvdock.project.model",
    "ProjectInfo": "uvdock.project.model",
    "Sourced": "uvdock.project.model",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
