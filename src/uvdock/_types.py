"""Small types shared by every layer (the bottom of the import graph)."""

from __future__ import annotations

import dataclasses
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Sourced(Generic[T]):
    """A value and where it came from (``"pyproject.toml:12"``, ``"--python"``, ``"default"``)."""

    value: T
    source: str
