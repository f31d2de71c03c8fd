"""``uvdock doctor``: what is wrong with the build environment, or with a built image.

``checks`` owns the environment checks (Docker, buildx, compose, emulation,
credentials, disk, the project's plan); ``image`` owns the checks run inside
an image with its own Python. Both return ``Check`` values (ok / note /
warning / error, each with a one-line fix); the CLI prints them.
"""

from __future__ import annotations

from uvdock.doctor.checks import Check, environment_checks, has_errors
from uvdock.doctor.image import ImageCheckError, ImageReport, entry_target, inspect_image

__all__ = [
    "Check",
    "ImageCheckError",
    "ImageReport",
    "entry_target",
    "environment_checks",
    "has_errors",
    "inspect_image",
]
