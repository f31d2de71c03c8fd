"""Settings: command-line flags > ``UVDOCK_*`` environment > ``[tool.uvdock]`` > defaults.

Each resolved setting remembers where it came from, so ``uvdock plan`` can
say why a value is what it is. The option table below is the single source
for the flags' names, the environment variables, the config keys and the
README's configuration reference.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from uvdock._types import Sourced
from uvdock.errors import ConfigError, UsageError
from uvdock.grammar import (
    BASE_IMAGE,
    DEBIAN_PACKAGE,
    IMAGE_PREFIX,
    IMAGE_REFERENCE,
    IMAGE_TAG,
    PEP508_NAME,
    PYTHON_VERSION,
    URL_PATH,
    grammar_error,
)

Approach = Literal["custom", "official"]
APPROACHES: tuple[Approach, ...] = ("custom", "official")
SOURCES = ("uv", "requirements", "pyproject")
COMPILER_MODES = ("auto", "always", "never")

DEFAULT_UV_VERSION = "0.13.9"
DEFAULT_PYTHON = "3.13"
# Minor versions with official python and uv images (uv's images list 3.9..3.14).
SUPPORTED_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
DEFAULT_UID = 10001


@dataclasses.dataclass(frozen=True, kw_only=True)
class OptionSpec:
    name: str  # python name; flag is --name-with-dashes, key is name-with-dashes
    kind: Literal["str", "int", "bool", "list", "command", "bool-or-str"]
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    singular: str | None = None  # the flag of one item of a list (--extra for extras)

    @property
    def key(self) -> str:
        return self.name.replace("_", "-")

    @property
    def flag(self) -> str:
        return f"--{self.singular or self.key}"

    @property
    def env(self) -> str:
        return f"UVDOCK_{self.name.upper()}"


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        name="approach", kind="str", default="custom", choices=APPROACHES,
        help="custom: multi-stage build, only the virtual environment in the final image; "
        "official: one stage on uv's image with Python",
    ),
    OptionSpec(
        name="source", kind="str", default=None, choices=SOURCES,
        help="dependency source when several are present: uv (uv.lock), requirements, pyproject",
    ),
    OptionSpec(
        name="python", kind="str", default=None,
        help="Python minor version for the image (default: .python-version, then the highest "
        "supported version requires-python allows, then " + DEFAULT_PYTHON + ")",
    ),
    OptionSpec(
        name="base_image", kind="str", default=None,
        help="runtime base image (default: python:<python>-slim-trixie; official approach: "
        "ghcr.io/astral-sh/uv:<uv>-python<python>-trixie-slim)",
    ),
    OptionSpec(
        name="uv_version", kind="str", default=None,
        help="uv version for the build (default: [tool.uv] required-version when it names one "
        "version, else " + DEFAULT_UV_VERSION + ")",
    ),
    OptionSpec(
        name="uv_image", kind="str", default=None,
        help="image uv is copied from (default: ghcr.io/astral-sh/uv:<uv-version>)",
    ),
    OptionSpec(
        name="image_prefix", kind="str", default=None,
        help="registry mirror prefix for every image, e.g. registry.example.com/mirror: "
        "python:3.13-slim-trixie becomes <prefix>/library/python:3.13-slim-trixie",
    ),
    OptionSpec(
        name="ca_bundle", kind="str", default=None,
        help="PEM file of extra CA certificates (TLS-intercepting proxy) passed to the build as "
        "the secret 'ca_bundle'; never stored in the image",
    ),
    OptionSpec(
        name="ssh", kind="bool", default=None,
        help="forward the SSH agent to the dependency install (default: on when a git+ssh "
        "dependency is locked)",
    ),
    OptionSpec(
        name="command", kind="command", default=None,
        help="the command the container runs (string or list); overrides detection",
    ),
    OptionSpec(name="port", kind="int", default=8000, help="port an HTTP app listens on"),
    OptionSpec(
        name="http", kind="bool", default=None,
        help="whether the app serves HTTP (default: detected)",
    ),
    OptionSpec(
        name="healthcheck", kind="bool-or-str", default=None,
        help="HTTP path for the HEALTHCHECK (default: a detected /health route, else a TCP "
        "check); false disables it",
    ),
    OptionSpec(name="uid", kind="int", default=DEFAULT_UID, help="numeric non-root user id"),
    OptionSpec(
        name="compiler", kind="str", default="auto", choices=COMPILER_MODES,
        help="install a C compiler in the builder stage: auto (when a locked package has no "
        "wheel for the target), always, never",
    ),
    OptionSpec(
        name="build_packages", kind="list", default=(),
        help="extra Debian packages for the builder stage only",
    ),
    OptionSpec(
        name="system_packages", kind="list", default=(),
        help="extra Debian packages the app needs at run time (final stage)",
    ),
    OptionSpec(
        name="package", kind="str", default=None,
        help="the workspace member to build (uv sync --package NAME); default: the member "
        "whose directory PATH is, else the root project, else the one member with an app",
    ),
    OptionSpec(
        name="extras", kind="list", default=(),
        help="optional dependencies ([project.optional-dependencies]) to install: "
        "uv sync --extra NAME for each", singular="extra",
    ),
    OptionSpec(
        name="groups", kind="list", default=None,
        help="dependency groups to install in the image (uv sync --no-default-groups --group "
        "NAME for each; default: the project's default-groups other than dev, test, lint, docs "
        "and the like)", singular="group",
    ),
    OptionSpec(
        name="offline", kind="bool", default=False,
        help="read nothing from the network while planning (the sdists of packages that must "
        "be built from source are then not read; uvdock's table of known build backends is "
        "used)",
    ),
    OptionSpec(
        name="dev", kind="bool", default=True,
        help="write the dev setup (Dockerfile.dev and compose.yaml) too",
    ),
)  # fmt: skip
OPTION_BY_NAME = {spec.name: spec for spec in OPTIONS}
OPTION_BY_KEY = {spec.key: spec for spec in OPTIONS}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Resolved settings; ``values[name]`` is a Sourced value for every option."""

    values: Mapping[str, Sourced[Any]]

    def get(self, name: str) -> Any:
        return self.values[name].value

    def sourced(self, name: str) -> Sourced[Any]:
        return self.values[name]


def _truthy(text: str, *, where: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise UsageError(f"{where}: expected true or false, got {text!r}")


def _coerce_text(spec: OptionSpec, text: str, *, where: str) -> Any:
    """Convert a flag or environment string to the option's type."""
    if spec.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"{where}: expected a whole number, got {text!r}") from None
    if spec.kind == "bool":
        return _truthy(text, where=where)
    if spec.kind == "bool-or-str":
        lowered = text.strip().lower()
        if lowered in {"0", "false", "no", "off"}:
            return False
        return text
    if spec.kind == "list":
        return tuple(part for part in text.replace(",", " ").split() if part)
    return text


def _validate(spec: OptionSpec, value: Any, fail: Callable[[str], Exception]) -> Any:
    expected = {
        "str": str,
        "int": int,
        "bool": bool,
    }
    if (spec.kind in expected and not isinstance(value, expected[spec.kind])) or (
        spec.kind == "int" and isinstance(value, bool)
    ):
        raise fail(f"{spec.key} must be a {spec.kind}, not {type(value).__name__}")
    if spec.kind == "list":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise fail(f"{spec.key} must be a list of strings")
        value = tuple(value)
    if spec.kind == "command" and not (
        isinstance(value, str)
        or (isinstance(value, list) and value and all(isinstance(v, str) for v in value))
    ):
        raise fail(f"{spec.key} must be a string or a non-empty list of strings")
    if spec.kind == "bool-or-str" and not isinstance(value, bool | str):
        raise fail(f"{spec.key} must be a path string or false")
    if spec.choices and value is not None and value not in spec.choices:
        raise fail(f"{spec.key} must be one of {', '.join(spec.choices)}, not {value!r}")
    error = _grammar_error(spec, value)
    if error is not None:
        raise fail(f"{spec.key}: {error}")
    if spec.name == "port" and not 1 <= value <= 65535:  # noqa: PLR2004
        raise fail("port must be between 1 and 65535")
    if spec.name == "uid" and not 1 <= value < 2**31:
        raise fail("uid must be a positive number (0 would be root)")
    return value


def _grammar_error(spec: OptionSpec, value: Any) -> str | None:
    """Why a setting's value is outside its grammar (these values reach generated files)."""
    pattern, what = _GRAMMARS.get(spec.name, (_ANY_TEXT, "value"))
    for item in value if isinstance(value, list | tuple) else (value,):
        if not isinstance(item, str):
            continue
        if spec.name == "healthcheck" and not item.startswith("/"):
            item = f"/{item}"  # noqa: PLW2901 - the planner adds the slash too
        error = grammar_error(item, pattern, what)
        if error is not None:
            return error
    if spec.kind == "command" and isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError as err:
            return f"cannot split {json.dumps(value)} into words ({err}); check its quotes"
        if not words:
            return "the command is empty"
    return None


_ANY_TEXT = re.compile(r".*", re.DOTALL)  # any text without control characters
_GRAMMARS: dict[str, tuple[re.Pattern[str], str]] = {
    "python": (PYTHON_VERSION, "Python version (like 3.13)"),
    "base_image": (BASE_IMAGE, "image reference (or oci:DIR[:TAG], docker-daemon:IMAGE)"),
    "uv_image": (IMAGE_REFERENCE, "image reference"),
    "uv_version": (IMAGE_TAG, "uv version"),
    "image_prefix": (IMAGE_PREFIX, "registry prefix (like registry.example.com/mirror)"),
    "healthcheck": (URL_PATH, "URL path (like /health)"),
    "build_packages": (DEBIAN_PACKAGE, "Debian package name"),
    "system_packages": (DEBIAN_PACKAGE, "Debian package name"),
    "package": (PEP508_NAME, "package name"),
    "extras": (PEP508_NAME, "extra name"),
    "groups": (PEP508_NAME, "dependency group name"),
}


def _usage_error(where: str) -> Callable[[str], Exception]:
    def make(message: str) -> Exception:
        return UsageError(f"{where}: {message}")

    return make


def load_settings(
    *,
    cli: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    table: Mapping[str, Any] | None = None,
    pyproject_path: Path | None = None,
    pyproject_text: str | None = None,
) -> Settings:
    """Merge the four layers; ``cli`` holds only the flags the user gave."""
    # Imported here: `uvdock lint` reads DEFAULT_UV_VERSION from this module and
    # should not pay for tomllib or difflib.
    import difflib  # noqa: PLC0415

    from uvdock._toml import line_of_key  # noqa: PLC0415

    environ = os.environ if environ is None else environ
    table = table or {}
    values: dict[str, Sourced[Any]] = {}

    for key in table:
        if key not in OPTION_BY_KEY and key != "lint":
            close = difflib.get_close_matches(str(key), list(OPTION_BY_KEY), n=1)
            line = line_of_key(pyproject_text or "", "tool.uvdock", str(key))
            raise ConfigError(
                f"unknown setting [tool.uvdock] {key}",
                path=pyproject_path,
                line=line,
                hint=f"did you mean {close[0]!r}?" if close else "see `uvdock init --help`",
            )

    for spec in OPTIONS:
        if spec.name in cli and cli[spec.name] is not None:
            flag = spec.flag
            value = _validate(spec, cli[spec.name], _usage_error(flag))
            values[spec.name] = Sourced(value, flag)
            continue
        if environ.get(spec.env, "") != "":
            where = spec.env
            value = _coerce_text(spec, environ[spec.env], where=where)
            value = _validate(spec, value, _usage_error(where))
            values[spec.name] = Sourced(value, where)
            continue
        if spec.key in table:
            line = line_of_key(pyproject_text or "", "tool.uvdock", spec.key)
            where = f"pyproject.toml:{line}" if line else "pyproject.toml"

            def fail(message: str, line: int | None = line) -> ConfigError:
                return ConfigError(
                    f"[tool.uvdock] {message}",
                    path=pyproject_path,
                    line=line,
                    hint="fix the value in pyproject.toml",
                )

            values[spec.name] = Sourced(_validate(spec, table[spec.key], fail), where)
            continue
        values[spec.name] = Sourced(spec.default, "default")
    return Settings(values)
