"""Which installed distributions get a layer of their own.

Jib's and apko's lesson: put what is large and changes rarely in layers of its
own, ordered stable to volatile, so a lock change that touches one small
package does not re-upload (or re-pull) numpy. Here every distribution whose
installed files weigh at least ``threshold`` bytes gets its own layer, the
largest ``budget`` of them at most; everything else in the venv (small
distributions, ``bin/``, ``pyvenv.cfg``) shares one layer. A distribution is
the top-level names its RECORD lists (``numpy/``, ``numpy.libs/``,
``numpy-2.1.0.dist-info/``), with their ``__pycache__`` directories.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Iterator
from pathlib import Path

from uvdock.oci.tarlayer import (
    Entry,
    FileEntry,
    SymlinkEntry,
    entries_from_directory,
)

DEFAULT_THRESHOLD = 10_000_000
DEFAULT_BUDGET = 6


@dataclasses.dataclass(frozen=True, kw_only=True)
class Distribution:
    name: str  # normalised
    version: str
    tops: tuple[str, ...]  # top-level entries in site-packages
    size: int


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions(site: Path) -> list[Distribution]:
    """The distributions installed in ``site`` (a site-packages directory), from their RECORDs."""
    found = []
    for info in sorted(site.glob("*.dist-info")):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        record = info / "RECORD"
        tops: set[str] = {info.name}
        if record.is_file():
            for row in csv.reader(
                io.StringIO(record.read_text(encoding="utf-8", errors="replace"))
            ):
                if not row or row[0].startswith(("..", "/")):
                    continue
                top = row[0].split("/", 1)[0]
                if top not in ("bin", "__pycache__") and (site / top).exists():
                    tops.add(top)
        size = sum(_size(site / top) for top in tops)
        found.append(
            Distribution(
                name=_normalise(name), version=version, tops=tuple(sorted(tops)), size=size
            )
        )
    return found


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def split(
    site: Path, *, threshold: int = DEFAULT_THRESHOLD, budget: int = DEFAULT_BUDGET
) -> list[Distribution]:
    """The distributions that get their own layer, largest first (at most ``budget``)."""
    large = [d for d in distributions(site) if d.size >= threshold]
    chosen = sorted(large, key=lambda d: (-d.size, d.name))[:budget]
    return sorted(chosen, key=lambda d: d.name)  # a stable order, whatever the sizes do


def entries_for(site: Path, site_in_image: str, tops: tuple[str, ...]) -> list[Entry]:
    """Layer entries for the given top-level names of ``site``."""
    entries: list[Entry] = []
    for top in tops:
        path = site / top
        inside = f"{site_in_image}/{top}"
        if path.is_symlink():
            entries.append(SymlinkEntry(path=inside, target=str(path.readlink())))
        elif path.is_dir():
            entries.extend(entries_from_directory(path, prefix=inside))
        elif path.is_file():
            entries.append(FileEntry(path=inside, source=path))
    return entries


def rest_entries(tree: Path, site_in_image: str, taken: set[str]) -> Iterator[Entry]:
    """Everything in ``tree`` (the staged venv, at image paths) but the ``taken`` tops."""
    taken_paths = {f"{site_in_image}/{top}".lstrip("/") for top in taken}
    for entry in entries_from_directory(tree, prefix="/"):
        path = entry.path.lstrip("/")
        if any(path == t or path.startswith(t + "/") for t in taken_paths):
            continue
        yield entry
