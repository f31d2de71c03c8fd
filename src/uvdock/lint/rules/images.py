"""Rules about the images a Dockerfile starts from or copies from: pins and Python versions."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from uvdock.dockerfile import expand
from uvdock.dockerfile.syntax import Instruction, Span, Stage
from uvdock.imageref import split_reference
from uvdock.lint.findings import Edit
from uvdock.lint.rules.base import Analysis, Hit, rule
from uvdock.lint.rules.build_context import uses_project
from uvdock.lint.rules.words import copy_sources

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

UV_IMAGE = "ghcr.io/astral-sh/uv"
# uv's images under every name they are published as (ghcr.io, and Docker Hub's astral/uv).
UV_IMAGES = frozenset({UV_IMAGE, "astral/uv", "docker.io/astral/uv"})
# Tags that move with every release: an image is pinned by a version-like tag or a digest.
VERSION_TAG = re.compile(r"^v?\d+(\.\d+)+")


def split_image(ref: str) -> tuple[str, str | None, str | None]:
    """``(name, tag, digest)`` of an image as a Dockerfile writes it (lenient: ``${TAG}`` and
    a registry's port are no tag; :func:`uvdock.imageref.split_reference`)."""
    parts = split_reference(ref)
    return parts.name, parts.tag, parts.digest


# Distroless Python images name the Debian release, whose python3 they ship.
DISTROLESS_PYTHON = {"debian11": "3.9", "debian12": "3.11", "debian13": "3.13"}
# A tag word that names a Python: python3.12, py3.11, py311 (not a bare py3).
TAG_PYTHON = re.compile(r"(?:^|[-_.])(?:python|py)(3)\.?(\d{1,2})(?=$|[-_.])")
MUSL_WORDS = frozenset({"alpine", "musl"})
GLIBC_WORDS = frozenset({"debian", "bookworm", "bullseye", "buster", "trixie", "slim",
                         "distroless", "ubuntu", "jammy", "noble", "focal", "chainguard",
                         "wolfi"})  # fmt: skip


def image_python(ref: str) -> str | None:
    """The Python ``X.Y`` an image name promises, or None when the name does not say.

    ``python:3.13-slim``, ``uv:python3.12-bookworm-slim``, ``cgr.dev/chainguard/python:3.12``,
    ``*:py3.11-*``/``*:py311``, ``gcr.io/distroless/python3-debian12`` (Debian's 3.11).
    """
    repo, tag, _ = split_image(ref)
    name = repo.rsplit("/", 1)[-1].lower()
    distroless = re.fullmatch(r"python3-(debian\d+)", name)
    if distroless and "distroless" in repo:
        return DISTROLESS_PYTHON.get(distroless.group(1))
    if tag is None:
        return None
    if name == "python":
        match = re.match(r"(3\.\d+)", tag)
        return match.group(1) if match else None
    for match in TAG_PYTHON.finditer(tag.lower()):
        minor = int(match.group(2))
        if 6 <= minor <= 30:  # noqa: PLR2004 - py3/py31 are not versions anyone ships
            return f"3.{minor}"
    return None


def image_libc(ref: str) -> str | None:
    """``"musl"`` (Alpine) or ``"glibc"`` for an image whose name says which, else None."""
    repo, tag, _ = split_image(ref)
    name = repo.rsplit("/", 1)[-1].lower()
    words = set(re.split(r"[/:._-]+", f"{repo}:{tag or ''}".lower()))
    if words & MUSL_WORDS or any(w.startswith("alpine") for w in words):  # alpine3.20
        return "musl"
    if (
        words & GLIBC_WORDS
        or any(w.startswith(("debian", "ubuntu")) for w in words)  # debian12, ubuntu22
        or repo.lower().startswith("cgr.dev/")
    ):
        return "glibc"
    if name == "python" and tag and re.fullmatch(r"3(\.\d+)*", tag):
        return "glibc"  # python:3.13 is the Debian variant
    return None


def _image_refs(analysis: Analysis) -> Iterator[tuple[Instruction, str, str]]:
    """(instruction, reference as written, reference with ARGs resolved) of every image used."""
    for stage in analysis.stages:
        item = stage.from_instruction
        if stage.base_stage is None and stage.base.lower() != "scratch":
            yield item, stage.base, stage.base_resolved
        for copy in stage.instructions:
            source = copy.flag("from")
            if copy.keyword not in ("COPY", "ADD") or source is None or not source.value:
                continue
            if analysis.dockerfile.stage_named(source.value) is None:
                resolved = source.value
                if "$" in resolved:
                    resolved = expand(resolved, analysis.env_before(stage, copy))
                yield copy, source.value, resolved


def _ref_span(analysis: Analysis, item: Instruction, written: str) -> Span:
    return analysis.find_in(item, written) or analysis.keyword_span(item)


# Debian releases whose uv image variants are no longer published (uv 0.10.0 moved to trixie).
RETIRED_VARIANTS = {"bookworm": (0, 10, 0), "bullseye": (0, 10, 0)}


def _retired_variant(tag: str | None, version: str) -> str | None:
    """The distribution of ``tag`` when uv ``version`` publishes no image for it (a pin that
    adds ``version-`` in front would name a tag that does not exist)."""
    try:
        numbers = tuple(int(n) for n in version.split(".")[:3])
    except ValueError:
        return None
    for name, since in RETIRED_VARIANTS.items():
        if tag and name in tag.split("-") and numbers >= since:
            return name
    return None


def _uv_version_for_fix(analysis: Analysis) -> tuple[str, str]:
    """(uv version to pin, where it comes from): the project's pin, else uvdock's default."""
    required = (analysis.context.pyproject or {}).get("tool", {}).get("uv", {})
    value = required.get("required-version") if isinstance(required, dict) else None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*==\s*(\d+\.\d+\.\d+)\s*", value)
        if match:
            return match.group(1), "the project's [tool.uv] required-version"
    from uvdock.config import DEFAULT_UV_VERSION  # noqa: PLC0415 - lint needs config only here

    return DEFAULT_UV_VERSION, "uvdock's default; use the uv version you develop with"


# uv's installer: https://astral.sh/uv/[X.Y.Z/]install.sh, or the release asset on GitHub.
INSTALLER_URL = re.compile(
    r"https?://(?:astral\.sh/uv/(?:(?P<short>[^/\s\"']+)/)?install\.sh"
    r"|github\.com/astral-sh/uv/releases/(?:latest/download|download/(?P<release>[^/\s\"']+))"
    r"/uv-installer\.sh)"
)
UNKNOWN = "?"


@dataclasses.dataclass(frozen=True, kw_only=True)
class UvInstaller:
    """A RUN or ADD that fetches uv's installer script."""

    stage: Stage
    instruction: Instruction
    url: str  # as written
    version: str | None  # "X.Y.Z"; None: unversioned (the newest uv); "?": an unresolved ARG


def uv_installers(analysis: Analysis) -> Iterator[UvInstaller]:
    for stage in analysis.stages:
        for item in stage.instructions:
            if item.keyword == "RUN":
                text = item.args + "".join(h.content for h in item.heredocs)
            elif item.keyword == "ADD":
                text = " ".join(copy_sources(item))
            else:
                continue
            match = INSTALLER_URL.search(text)
            if match is None:
                continue
            written = match["short"] or match["release"]
            version: str | None = None
            if written is not None:
                resolved = expand(written, analysis.env_before(stage, item))
                if re.fullmatch(r"v?\d+\.\d+\.\d+", resolved):
                    version = resolved.lstrip("v")
                elif resolved != "latest":
                    version = UNKNOWN
            yield UvInstaller(stage=stage, instruction=item, url=match.group(0), version=version)


@rule(
    "UV101",
    "uv-image-unpinned",
    "warning",
    summary="uv's image (or installer) used without a version",
    why="""
`ghcr.io/astral-sh/uv:latest`, an untagged uv image, or a tag that names only the Python
(`python3.13-bookworm-slim`) moves with every uv release: the same Dockerfile builds with
a different uv tomorrow, which may resolve, install or even lock differently. Pin uv's
version (`ghcr.io/astral-sh/uv:0.13.9`, or add the digest), the same one the project
uses (`[tool.uv] required-version`).
""",
    bad="COPY --from=ghcr.io/astral-sh/uv:latest /uv /uvx /bin/",
    good="COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/",
    source='uv\'s Docker guide ("Installing uv": "pin a specific version")',
    fixable=True,
)
def uv_image_unpinned(analysis: Analysis) -> Iterator[Hit]:
    for item, written, resolved in _image_refs(analysis):
        repo, tag, digest = split_image(resolved)
        if repo not in UV_IMAGES or digest or (tag and VERSION_TAG.match(tag)):
            continue
        span = _ref_span(analysis, item, written)
        fix: tuple[Edit, ...] = ()
        version, origin = _uv_version_for_fix(analysis)
        retired = _retired_variant(tag, version)
        if written == resolved and retired is None:  # an ARG-built reference is fixed at the ARG
            new_tag = version if tag in (None, "latest") else f"{version}-{tag}"
            fix = (Edit(span=span, text=f"{repo}:{new_tag}"),) if span != item.span else ()
        if retired is not None:
            yield Hit(
                span=span,
                message=f"{written} names no uv version (its {retired} tags stopped at uv 0.9, "
                f"astral-sh/uv#17755); pin a published one: {UV_IMAGE}:{version}-"
                f"{(tag or '').replace(retired, 'trixie')}, or FROM python:X.Y-slim-{retired} "
                f"with COPY --from={UV_IMAGE}:{version} /uv /uvx /bin/",
            )
            continue
        yield Hit(
            span=span,
            message=f"{written} is not pinned to a uv version; use {repo}:{version} ({origin})",
            fix=fix,
        )
    for installer in uv_installers(analysis):
        if installer.version is None:
            yield Hit(
                span=analysis.find_in(installer.instruction, installer.url)
                or analysis.keyword_span(installer.instruction),
                message="uv's installer without a version installs the newest uv; use "
                "https://astral.sh/uv/X.Y.Z/install.sh or COPY --from=ghcr.io/astral-sh/uv:X.Y.Z",
            )
    for _, command in analysis.commands:
        argv = command.argv
        if argv[:1] and argv[0].rsplit("/", 1)[-1] in ("pip", "pip3") and "uv" in argv[2:]:
            yield Hit(
                span=analysis.keyword_span(command.instruction),
                message="`pip install uv` without a version installs the newest uv; "
                "pin it (uv==X.Y.Z) or COPY it from ghcr.io/astral-sh/uv:X.Y.Z",
            )


@rule(
    "PY209",
    "image-unpinned",
    "warning",
    summary="a base image without a tag, or with `:latest`",
    why="""
An image without a tag means `:latest`, which changes whenever its maintainers push:
the next build can get another Python, another Debian, another everything. Use a tag
that names the versions you depend on (`python:3.13-slim-trixie`), and pin the digest
where you want bit-for-bit rebuilds. ARG defaults are resolved first, so
`FROM python:${PY}` with `ARG PY=latest` is found too.
""",
    bad="FROM python",
    good="FROM python:3.13-slim-trixie",
    source="hadolint DL3006, DL3007",
    aliases=("DL3006", "DL3007"),
)
def image_unpinned(analysis: Analysis) -> Iterator[Hit]:
    for item, written, resolved in _image_refs(analysis):
        repo, tag, digest = split_image(resolved)
        if repo in UV_IMAGES or digest or "$" in resolved:
            continue  # uv's image has its own rule; an unresolved ARG is unknown
        if tag is None or tag == "latest":
            yield Hit(
                span=_ref_span(analysis, item, written),
                message=f"{resolved} is "
                + ("untagged (:latest)" if tag is None else "tagged :latest")
                + ": it changes under you; use a version tag (and a digest to pin it)",
            )


def _pin_reaches_the_build(analysis: Analysis) -> bool:
    """Whether uv in the build sees ``.python-version``: the Dockerfile sends it and the
    ``.dockerignore`` lets it through. Otherwise only ``requires-python`` speaks."""
    from uvdock.lint.rules.build_context import sends  # noqa: PLC0415

    return sends(analysis, ".python-version") is not None and (
        analysis.context.ignored(".python-version") is None
    )


def _python_requirement(analysis: Analysis) -> tuple[str, str] | None:
    """(X.Y the project wants, where that comes from), from .python-version or requires-python."""
    pin = analysis.context.python_version_pin
    if pin and _pin_reaches_the_build(analysis):
        match = re.match(r"(?:cpython-)?(3\.\d+)", pin)
        if match:
            return match.group(1), ".python-version"
    return None


@rule(
    "UV116",
    "python-version-mismatch",
    "warning",
    summary="the base image's Python contradicts `.python-version` or `requires-python`",
    why="""
The project says which Python it runs on: `.python-version` for uv and for developers,
`requires-python` for installers. An image whose Python differs runs code on a version
nobody tested, or fails at `uv sync` ("the requested interpreter does not satisfy
requires-python"). Take the base image's Python from the project. The rule compares only
when the image uses the project (copies `pyproject.toml` or the whole context, or runs
`uv sync`, `uv run`, `uv pip install .`): an image that installs a package from PyPI
has nothing to do with the context's `.python-version`.
""",
    bad="""
FROM python:3.11-slim   # .python-version says 3.13
COPY . /app
""",
    good="""
FROM python:3.13-slim
COPY . /app
""",
    source='uv docs, "Python versions" (.python-version, requires-python)',
)
def python_version_mismatch(analysis: Analysis) -> Iterator[Hit]:
    wanted = _python_requirement(analysis)
    allowed = _requires_python(analysis)
    if (wanted is None and allowed is None) or not uses_project(analysis):
        return  # an image that installs a package from PyPI never runs the context's project
    for stage in analysis.stages:
        if stage.base_stage is not None:
            continue  # FROM an earlier stage: that stage's own FROM is checked, once
        image = stage.base_resolved
        runs = image_python(image)
        if runs is None:
            continue
        span = analysis.keyword_span(stage.from_instruction)
        if wanted is not None and wanted[0] != runs:
            yield Hit(
                span=span,
                message=f"{image} runs Python {runs}, but {wanted[1]} says {wanted[0]}; "
                f"use an image with Python {wanted[0]}",
            )
        elif allowed is not None and not any(
            allowed.contains(f"{runs}.{patch}", prereleases=True) for patch in (0, 99)
        ):
            yield Hit(
                span=span,
                message=f"{image} runs Python {runs}, outside requires-python "
                f"{analysis.context.requires_python!r} in pyproject.toml; use an image with a "
                "Python it allows",
            )


def _requires_python(analysis: Analysis) -> SpecifierSet | None:
    requires = analysis.context.requires_python
    if not requires:
        return None
    # Imported here: packaging costs ~30 ms, and most Dockerfiles never get here.
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415

    try:
        return SpecifierSet(requires)
    except InvalidSpecifier:
        return None


def _python_of(analysis: Analysis, stage: Stage) -> tuple[str | None, str | None]:
    image = analysis.root_image(stage)
    return image_python(image), image_libc(image)


@rule(
    "UV110",
    "venv-python-mismatch",
    "warning",
    summary="a virtual environment copied into a stage whose Python differs from the builder's",
    why="""
A virtual environment is tied to the interpreter it was created with: `bin/python` is a
symlink to it, and compiled extensions are built for its version and C library. Copied
into a stage whose base image has another Python version (or musl instead of glibc),
the venv's `python` points nowhere or its extensions fail to import. Build both stages
FROM the same Python image.
""",
    bad="""
FROM python:3.12-slim AS builder
RUN uv sync --locked
FROM python:3.13-slim
COPY --from=builder /app/.venv /app/.venv
""",
    good="""
FROM python:3.13-slim AS builder
RUN uv sync --locked
FROM python:3.13-slim
COPY --from=builder /app/.venv /app/.venv
""",
    source="uv's Docker guide, https://docs.astral.sh/uv/guides/integration/docker/ "
    "(multistage example); astral-sh/uv#9414",
)
def venv_python_mismatch(analysis: Analysis) -> Iterator[Hit]:
    for stage in analysis.stages:
        for item in stage.instructions:
            source_flag = item.flag("from")
            if item.keyword != "COPY" or source_flag is None or not source_flag.value:
                continue
            if not any(s.rstrip("/").endswith(("venv", ".venv")) for s in copy_sources(item)):
                continue
            builder = analysis.dockerfile.stage_named(source_flag.value)
            if builder is None:
                continue
            built, built_libc = _python_of(analysis, builder)
            runs, runs_libc = _python_of(analysis, stage)
            python_differs = built is not None and runs is not None and built != runs
            libc_differs = (
                built_libc is not None and runs_libc is not None and built_libc != runs_libc
            )
            if python_differs or libc_differs:
                yield Hit(
                    span=analysis.keyword_span(item),
                    message=f"the venv was built on {analysis.root_image(builder)} and runs on "
                    f"{analysis.root_image(stage)}: its interpreter and extensions will not "
                    "match; build both stages FROM the same Python image",
                )


def registry_of(ref: str) -> str:
    """The registry host of an image reference as written (none is ``docker.io``)."""
    return split_reference(ref).registry_or_hub


@rule(
    "PY217",
    "untrusted-registry",
    "warning",
    summary="an image from a registry that `[tool.uvdock.lint] trusted-registries` does not list",
    why="""
Organisations often allow images only from registries they control or mirror (for
licensing, scanning, availability or rate limits). With `trusted-registries` set, every
`FROM` and `COPY --from=` image must come from one of them; Docker Hub images count as
`docker.io`. Without the setting, this rule says nothing.
""",
    bad="""
# [tool.uvdock.lint] trusted-registries = ["registry.example.com"]
FROM python:3.13-slim
""",
    good="""
# [tool.uvdock.lint] trusted-registries = ["registry.example.com"]
FROM registry.example.com/library/python:3.13-slim
""",
    source="hadolint DL3026 (--trusted-registry)",
    aliases=("DL3026",),
)
def untrusted_registry(analysis: Analysis) -> Iterator[Hit]:
    trusted = analysis.trusted_registries
    if not trusted:
        return
    for item, written, resolved in _image_refs(analysis):
        registry = registry_of(resolved)
        if registry not in trusted and not (
            registry == "docker.io" and "hub.docker.com" in trusted
        ):
            yield Hit(
                span=_ref_span(analysis, item, written),
                message=f"{resolved} comes from {registry}, which is not in trusted-registries "
                f"({', '.join(trusted)}); use a mirror in one of them",
            )
