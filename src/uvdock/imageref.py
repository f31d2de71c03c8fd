"""Image references: ``[HOST[:PORT]/]PATH[:TAG][@DIGEST]``, parsed in one place.

go-containerregistry's ``pkg/name`` is the model, distribution/reference's
grammar (``regexp.go``) the rule. Two parses, for two kinds of callers:

- :func:`parse_reference` is strict: it checks every part against the grammar,
  normalises the way Docker does (no host is Docker Hub, ``docker.io``, whose
  single-name repositories live under ``library/``; no tag is ``latest``) and
  raises a :class:`~uvdock.errors.UvdockError` that says what is wrong. The
  daemonless engine talks to registries with what it returns.
- :func:`split_reference` is lenient: it never raises and keeps every part as
  written, for values that are not (yet) references: a Dockerfile's
  ``FROM ${REG}/python:${TAG}``, ``scratch``, a stage's name, a setting before
  its check. A tag is only a tag when it is one (``:${TAG}`` and a registry's
  ``:5000`` stay in the name), and nothing is normalised (``index.docker.io``
  stays itself: the caller decides whether the spelling matters).

Both find the registry host the same way: the first ``/``-separated component
is a host when it holds a ``.`` or a ``:`` or is ``localhost``
(``registry:5000/x`` is a host with a port, not a tag). The strict parse also
takes distribution's last rule, a component with capitals (``Registry/x``), for
a repository path is lowercase anyway.

Pure: no I/O. The digests this code can verify are sha256, sha384 and sha512
in lowercase hex (:func:`is_supported_digest`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import NamedTuple

from uvdock.errors import UvdockError

__all__ = [
    "DIGEST",
    "DOCKER_HUB",
    "DOMAIN",
    "IMAGE_REFERENCE",
    "PATH_COMPONENT",
    "TAG",
    "ImageName",
    "ImageReference",
    "is_docker_hub",
    "is_supported_digest",
    "parse_reference",
    "split_reference",
]

# distribution/reference's grammar (regexp.go), as patterns to build others from.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
"""A registry host, with an optional port: ``ghcr.io``, ``localhost:5000``, ``[::1]:5000``."""
PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
"""One ``/``-separated component of a repository path (lowercase)."""
TAG = r"[\w][\w.-]{0,127}"
DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = re.compile(
    rf"(?:{DOMAIN}/)?{PATH_COMPONENT}(?:/{PATH_COMPONENT})*(?::{TAG})?(?:@{DIGEST})?"
)
"""A whole reference, as the settings' grammar checks it (:mod:`uvdock.grammar`)."""

DOCKER_HUB = "docker.io"
"""The canonical name of Docker Hub, as image references spell it."""
# Docker Hub's other names (docker/cli's ConvertToHostname; uvdock.oci.auth has the same).
_DOCKER_HUB_HOSTS = frozenset({
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
})  # fmt: skip
_NAME_TOTAL_LENGTH_MAX = 255  # distribution's NameTotalLengthMax
_HASH_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}

_DOMAIN_RE = re.compile(DOMAIN)
_PATH_COMPONENT_RE = re.compile(PATH_COMPONENT)
_TAG_RE = re.compile(TAG)
_DIGEST_RE = re.compile(DIGEST)
_LOWER_HEX = re.compile(r"[0-9a-f]+")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageName:
    """A reference split as written (:func:`split_reference`): nothing checked or normalised."""

    registry: str | None
    """The host as written (``ghcr.io``, ``localhost:5000``), None when the name has none."""
    path: str
    """The repository path as written (``python``, ``astral-sh/uv``)."""
    tag: str | None
    """The tag, None when there is none (or what follows the ``:`` is not one)."""
    digest: str | None
    """What follows the first ``@`` (not checked), None when there is no ``@``."""

    @property
    def name(self) -> str:
        """``[registry/]path``: the reference without its tag and digest."""
        return f"{self.registry}/{self.path}" if self.registry is not None else self.path

    @property
    def suffix(self) -> str:
        """``:tag``, ``@digest`` or both, as written; empty without either."""
        tag = "" if self.tag is None else f":{self.tag}"
        return tag + ("" if self.digest is None else f"@{self.digest}")

    @property
    def registry_or_hub(self) -> str:
        """The registry as written, or ``docker.io`` for a name without one."""
        return DOCKER_HUB if self.registry is None else self.registry

    @property
    def on_docker_hub(self) -> bool:
        """Whether the image is Docker Hub's (no registry, or any of Hub's names)."""
        return self.registry is None or is_docker_hub(self.registry)

    def __str__(self) -> str:
        return self.name + self.suffix


class ImageReference(NamedTuple):
    """A normalised image reference: ``(host, repository, tag or digest)``."""

    host: str
    repository: str
    reference: str

    @property
    def is_digest(self) -> bool:
        return ":" in self.reference

    def __str__(self) -> str:
        separator = "@" if self.is_digest else ":"
        return f"{self.host}/{self.repository}{separator}{self.reference}"


def is_docker_hub(host: str) -> bool:
    """Whether ``host`` is one of Docker Hub's names (``docker.io``, ``index.docker.io``, ...)."""
    return host.lower() in _DOCKER_HUB_HOSTS


def _is_host(first: str, *, capitals: bool) -> bool:
    """Whether a reference's first component names a registry host (see the module doc)."""
    if "." in first or ":" in first or first == "localhost":
        return True
    return capitals and first != first.lower()


def _split(text: str, *, any_tag: bool, capitals: bool) -> ImageName:
    """The parts of ``text``: the digest after the first ``@``; the tag after the last ``:``
    of the last component (``any_tag``: whatever it is; else only a valid tag); the host."""
    name, at, digest = text.partition("@")
    head, colon, tag = name.rpartition(":")
    if colon and "/" not in tag and (any_tag or _TAG_RE.fullmatch(tag)):
        name = head
    else:
        colon = ""
    first, slash, rest = name.partition("/")
    registry = first if slash and _is_host(first, capitals=capitals) else None
    return ImageName(
        registry=registry,
        path=rest if registry is not None else name,
        tag=tag if colon else None,
        digest=digest if at else None,
    )


def split_reference(text: str, *, any_tag: bool = False) -> ImageName:
    """``text`` split into registry, path, tag and digest, as written; never raises.

    For values that may not be references (a Dockerfile's ``FROM ${BASE}``,
    ``scratch``, a stage's name): what cannot be a tag (``:${TAG}``, a port's
    ``:5000/``) stays in the path, what follows ``@`` is the digest unchecked,
    and a first component is a host only by its ``.``, ``:`` or ``localhost``
    (``${REG}/python`` has no registry). Surrounding whitespace is ignored.

    ``any_tag`` takes whatever follows the last ``:`` of the last component as
    the tag (``oci:DIR:REF``, whose ``REF`` follows the OCI layout's grammar,
    not distribution's): for values whose grammar was checked where they entered.
    """
    return _split(text.strip(), any_tag=any_tag, capitals=False)


def _bad_reference(text: str, why: str) -> UvdockError:
    return UvdockError(
        f"invalid image reference {text!r}: {why}",
        hint="write it as [HOST[:PORT]/]NAME[:TAG][@sha256:DIGEST], e.g. ghcr.io/team/app:1.0",
    )


def parse_reference(text: str) -> ImageReference:
    """Parse an image reference the way Docker normalises it, or raise why it is not one.

    No host means Docker Hub (``docker.io``), whose single-name repositories
    live under ``library/``; no tag means ``latest``; with both a tag and a
    digest, the digest wins. ``parse_reference("python:3.13")`` is
    ``("docker.io", "library/python", "3.13")``.
    """
    rest = text.strip()
    if not rest:
        raise _bad_reference(text, "it is empty")
    parts = _split(rest, any_tag=True, capitals=True)
    if parts.digest is not None and not is_supported_digest(parts.digest):
        raise _bad_reference(text, f"{parts.digest!r} is not a supported digest")
    if parts.tag is not None and not _TAG_RE.fullmatch(parts.tag):
        raise _bad_reference(text, f"{parts.tag!r} is not a valid tag")
    host, path = parts.registry, parts.path
    if host is not None and not _DOMAIN_RE.fullmatch(host):
        raise _bad_reference(text, f"{host!r} is not a valid registry host")
    if host is None or is_docker_hub(host):
        host = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    for component in path.split("/"):
        if not _PATH_COMPONENT_RE.fullmatch(component):
            why = (
                "repository names must be lowercase"
                if component != component.lower()
                and _PATH_COMPONENT_RE.fullmatch(component.lower())
                else f"{component!r} is not a valid repository name component"
            )
            raise _bad_reference(text, why)
    if len(host) + 1 + len(path) > _NAME_TOTAL_LENGTH_MAX:
        raise _bad_reference(text, "the name is longer than 255 characters")
    return ImageReference(host, path, parts.digest or parts.tag or "latest")


def is_supported_digest(digest: str) -> bool:
    """Whether this code can verify ``digest`` (sha256/384/512, lowercase hex)."""
    algorithm, _, hexdigest = digest.partition(":")
    return (
        _DIGEST_RE.fullmatch(digest) is not None
        and _HASH_LENGTHS.get(algorithm) == len(hexdigest)
        and _LOWER_HEX.fullmatch(hexdigest) is not None
    )
