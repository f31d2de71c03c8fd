"""Reading requirements and their sources: as ``uv.lock`` records them, and from a PEP 508
direct reference."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

from packaging.requirements import Requirement

from uvdock.project.freshness.base import UndecidableError, normalize
from uvdock.project.freshness.markers import parse_marker
from uvdock.project.freshness.ranges import parse_specifiers
from uvdock.project.freshness.requirements import Directory, File, Git, Registry, Req, Source, Url

__all__ = [
    "ARCHIVE_SUFFIXES",
    "direct_source",
    "git_repository",
    "index_location",
    "join",
    "lock_reqs",
    "tree_path",
]

ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar")


def join(base: str, path: str) -> str:
    if path.startswith("/"):
        return posixpath.normpath(path)
    return posixpath.normpath(posixpath.join(base, path))


def git_repository(url: str) -> str:
    url = url.removeprefix("git+")
    url = url.split("#", 1)[0].split("?", 1)[0]
    return re.sub(r"^([a-z+]+://)[^@/]*@", r"\1", url)


def _lock_git(text: str) -> Git:
    query = text.split("#", 1)[0].partition("?")[2]
    pairs = dict(p.partition("=")[::2] for p in query.split("&") if p)
    reference = next(((k, pairs[k]) for k in ("tag", "branch", "rev") if k in pairs), None)
    if "path" in pairs or pairs.get("lfs", "false").lower() == "true":
        raise UndecidableError("a git source with `path` or `lfs`")
    return Git(git_repository(text), reference, pairs.get("subdirectory"))


_LOCK_REQUIREMENT_KEYS = frozenset(
    {
        "name",
        "extras",
        "marker",
        "specifier",
        "index",
        "editable",
        "directory",
        "virtual",
        "path",
        "git",
        "url",
        "subdirectory",
    }
)


def _lock_req(entry: object) -> Req:
    """A requirement as ``uv.lock`` records it (``[package.metadata]``, ``[manifest]``)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise UndecidableError("uv.lock has a requirement it does not understand")
    if not set(entry) <= _LOCK_REQUIREMENT_KEYS:
        unknown = sorted(set(entry) - _LOCK_REQUIREMENT_KEYS)
        raise UndecidableError(f"a requirement in uv.lock with {', '.join(unknown)}")
    source: Source
    if "editable" in entry:
        source = Directory(join(".", str(entry["editable"])), editable=True, virtual=False)
    elif "directory" in entry:
        source = Directory(join(".", str(entry["directory"])), editable=False, virtual=False)
    elif "virtual" in entry:
        source = Directory(join(".", str(entry["virtual"])), editable=False, virtual=True)
    elif "path" in entry:
        source = File(join(".", str(entry["path"])))
    elif "git" in entry:
        source = _lock_git(str(entry["git"]))
    elif "url" in entry:
        source = Url(str(entry["url"]).split("#", 1)[0], entry.get("subdirectory"))
    else:
        specs = parse_specifiers(str(entry.get("specifier", "")))
        index = entry.get("index")
        source = Registry(
            tuple(sorted((s.operator, s.version) for s in specs)),
            str(index) if index is not None else None,
        )
    marker = entry.get("marker")
    return Req(
        name=normalize(entry["name"]),
        extras=tuple(sorted({normalize(str(e)) for e in entry.get("extras", ())})),
        marker=parse_marker(str(marker)) if marker else None,
        source=source,
    )


def lock_reqs(entries: object) -> list[Req]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise UndecidableError("uv.lock has a requirement list it does not understand")
    return [_lock_req(entry) for entry in entries]


def index_location(url: str) -> str:
    """An index as the lock's ``registry`` names it: a URL, or a path from the root."""
    return url.rstrip("/") if "://" in url else join(".", url)


def _direct_git(url: str) -> Git:
    """``name @ git+https://host/repo.git@ref#subdirectory=dir`` as uv lowers it."""
    url, _, fragment = url.removeprefix("git+").partition("#")
    fragments = dict(p.partition("=")[::2] for p in fragment.split("&") if p)
    if set(fragments) - {"subdirectory", "egg"}:
        raise UndecidableError(f"the direct git reference {url!r} with #{fragment}")
    scheme, _, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    path, _, ref = path.partition("@")
    subdirectory = fragments.get("subdirectory")
    return Git(
        git_repository(f"{scheme}://{netloc}{slash}{path}"),
        ("rev", ref) if ref else None,
        subdirectory or None,
    )


def direct_source(parsed: Requirement) -> Source:
    """A requirement without a ``[tool.uv.sources]`` entry: registry, or its own URL."""
    if not parsed.url:
        return Registry(tuple(sorted((s.operator, s.version) for s in parsed.specifier)))
    if parsed.url.startswith("git+"):
        return _direct_git(parsed.url)
    if parsed.url.startswith(("https://", "http://")) and "#" not in parsed.url:
        return Url(parsed.url, None)
    raise UndecidableError(f"the direct reference {parsed.url!r}")


def tree_path(package: Mapping[str, Any]) -> str | None:
    source = package.get("source", {})
    for key in ("editable", "directory", "virtual"):
        if isinstance(source, dict) and key in source:
            return join(".", str(source[key]))
    return None
