"""What every rule of the freshness check shares: the two ways a check ends early, and
uv's name normalization."""

from __future__ import annotations

from packaging.utils import canonicalize_name

__all__ = ["StaleError", "UndecidableError", "normalize"]


class StaleError(Exception):
    """A check uv makes fails for certain."""


class UndecidableError(Exception):
    """This check cannot be decided from the files (or uv would stop with an error)."""


def normalize(name: str) -> str:
    """A package, extra or group name as uv normalizes it (PEP 503)."""
    return str(canonicalize_name(name))
