"""Which Python and which uv the image gets, and why (a step of the planner).

The Python: an explicit setting, else ``.python-version``, else the highest
supported version ``requires-python`` allows for which the lock has wheels; the
uv: an explicit setting, else ``[tool.uv] required-version`` when it names one
version, else uvdock's default.
"""

from __future__ import annotations

from collections.abc import Callable

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from uvdock.config import DEFAULT_PYTHON, DEFAULT_UV_VERSION, SUPPORTED_PYTHONS, Settings
from uvdock.plan.model import NativeBuild, Problem
from uvdock.plan.wheels import choose_python
from uvdock.project.model import ProjectInfo, Sourced


def _allows(spec: str, minor: str) -> bool | None:
    try:
        specifier = SpecifierSet(spec)
    except InvalidSpecifier:
        return None
    return any(specifier.contains(f"{minor}.{patch}", prereleases=True) for patch in range(40))


def allowed_pythons(project: ProjectInfo) -> list[str]:
    """The supported Pythons that requires-python allows, lowest first."""
    requires = project.requires_python
    if requires is None:
        return []
    return [m for m in SUPPORTED_PYTHONS if _allows(requires.value, m)]


def choose_python_version(
    project: ProjectInfo,
    settings: Settings,
    problems: list[Problem],
    *,
    allowed: list[str],
    gaps_of: Callable[[str], list[NativeBuild]],
) -> tuple[Sourced[str], bool]:
    """The image's Python, and whether uvdock chose it (rather than a setting or a pin)."""
    explicit = settings.sourced("python")
    pin, requires = project.python_pin, project.requires_python
    if explicit.value is not None:
        chosen = Sourced(str(explicit.value), explicit.source)
        if pin is not None and pin.value != chosen.value:
            problems.append(
                Problem(
                    severity="error",
                    message=f"Python {chosen.value} ({chosen.source}) contradicts .python-version "
                    f"({pin.value}, {pin.source})",
                    hint=f"use Python {pin.value} or change .python-version",
                )
            )
    elif pin is not None:
        chosen = pin
    else:
        chosen = _choose(project, problems, allowed=allowed, gaps_of=gaps_of)
        theirs = project.dockerfile_python
        if theirs is not None and theirs.value != chosen.value:
            problems.append(
                Problem(
                    severity="note",
                    message=f"the project's own {theirs.source} runs Python {theirs.value}; the "
                    f"image gets {chosen.value} ({chosen.source.split(';', 1)[0]})",
                    hint=f"pass --python {theirs.value} (or write .python-version) to keep "
                    f"{theirs.value}",
                )
            )
    if requires is not None and _allows(requires.value, chosen.value) is False:
        problems.append(
            Problem(
                severity="error",
                message=f"Python {chosen.value} ({chosen.source}) is not allowed by "
                f"requires-python {requires.value!r} ({requires.source})",
                hint="pick a Python that requires-python allows (.python-version or --python)",
            )
        )
    return chosen, explicit.value is None and pin is None


def _choose(
    project: ProjectInfo,
    problems: list[Problem],
    *,
    allowed: list[str],
    gaps_of: Callable[[str], list[NativeBuild]],
) -> Sourced[str]:
    """With nothing set: the highest allowed Python the lock has wheels for."""
    requires = project.requires_python
    if requires is None:
        return Sourced(DEFAULT_PYTHON, "default")
    if not allowed:
        problems.append(
            Problem(
                severity="error",
                message=f"requires-python {requires.value!r} ({requires.source}) allows none "
                f"of the supported Pythons ({', '.join(SUPPORTED_PYTHONS)})",
                hint="widen requires-python or set --python",
            )
        )
        return Sourced(DEFAULT_PYTHON, "default")
    choice = choose_python(allowed, {p: gaps_of(p) for p in allowed})
    why = f"highest supported Python that requires-python {requires.value!r} allows"
    if project.lock is not None:
        why += " and uv.lock has wheels for"
    why += f" ({requires.source})"
    if choice.skipped:
        why += f"; {choice.why()}"
    return Sourced(choice.python, why)


def choose_uv_version(
    project: ProjectInfo, settings: Settings, problems: list[Problem]
) -> Sourced[str]:
    explicit = settings.sourced("uv_version")
    if explicit.value is not None:
        return Sourced(str(explicit.value), explicit.source)
    required = project.uv_required_version
    if required is None:
        return Sourced(DEFAULT_UV_VERSION, "default")
    text = required.value.strip()
    exact = text.removeprefix("==")
    try:
        Version(exact)
    except InvalidVersion:
        pass
    else:
        return Sourced(exact, f"[tool.uv] required-version ({required.source})")
    allowed = _allows_version(text, DEFAULT_UV_VERSION)
    if allowed is False:
        problems.append(
            Problem(
                severity="error",
                message=f"[tool.uv] required-version {text!r} ({required.source}) excludes "
                f"uvdock's default uv {DEFAULT_UV_VERSION}",
                hint="set [tool.uvdock] uv-version to a version it allows",
            )
        )
    return Sourced(DEFAULT_UV_VERSION, f"default, within required-version {text!r}")


def _allows_version(spec: str, version: str) -> bool | None:
    try:
        return SpecifierSet(spec).contains(version, prereleases=True)
    except InvalidSpecifier:
        return None
