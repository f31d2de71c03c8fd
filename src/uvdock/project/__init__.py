"""Project detection: read a project's files (never run its code) into facts.

Every fact records where it came from, so ``uvdock plan`` can explain itself.
"""

from __future__ import annotations

from uvdock.project.detect import detect_project
from uvdock.project.model import Entrypoint, ProjectInfo, Sourced

__all__ = ["Entrypoint", "ProjectInfo", "Sourced", "detect_project"]
