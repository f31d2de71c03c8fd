"""The fixture projects, what each needs, and how to check that it runs.

This is the machine-readable form of each ``FIXTURE.md``: tests that build a
fixture into an image look up the command to run and the output to expect
here instead of repeating them.

``CommandCheck`` runs a command and compares its stdout exactly.
``HttpCheck`` starts a server (``{host}``/``{port}`` in its argv are filled
in), then GETs each probe and compares the JSON body (a ``partial`` probe
only requires the listed keys). Commands are meant to run with the
environment's ``bin/`` first on ``PATH`` and the project directory as the
working directory (the image's ``WORKDIR``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias

from tests.support.paths import EXAMPLES_DIR, PROJECTS_DIR

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "ALL",
    "EXAMPLE",
    "FIXTURES",
    "CommandCheck",
    "Fixture",
    "HttpCheck",
    "HttpProbe",
    "JSONValue",
    "json_matches",
]

# A TypeAlias, not a `type` statement: these modules must run on Python 3.11.
JSONValue: TypeAlias = str | int | float | bool | list["JSONValue"] | dict[str, "JSONValue"] | None


@dataclass(frozen=True, kw_only=True)
class CommandCheck:
    argv: tuple[str, ...]
    stdout: str  # exact, including the final newline


@dataclass(frozen=True, kw_only=True)
class HttpProbe:
    path: str
    json: JSONValue
    status: int = 200
    partial: bool = False  # only the keys listed in ``json`` (an object) must match


@dataclass(frozen=True, kw_only=True)
class HttpCheck:
    serve: tuple[str, ...]  # "{host}" and "{port}" are substituted
    probes: tuple[HttpProbe, ...]

    def serve_argv(self, *, host: str, port: int) -> tuple[str, ...]:
        return tuple(arg.format(host=host, port=port) for arg in self.serve)


@dataclass(frozen=True, kw_only=True)
class Fixture:
    name: str
    path: Path
    check: CommandCheck | HttpCheck
    #: Python the image should get (from .python-version or requires-python).
    image_python: str = "3.13"
    #: Interpreter versions to run it with on the host, in order of preference.
    host_pythons: tuple[str, ...] = ("3.11",)
    #: "sync": ``uv sync --locked`` from uv.lock; "requirements": ``uv pip sync requirements.txt``.
    install: Literal["sync", "requirements"] = "sync"
    #: Whether the project itself is installed (it has a [build-system]).
    packaged: bool = False
    needs_local_index: bool = False
    needs_git_server: bool = False
    #: Needs UV_INDEX_PRIVATE_USERNAME / UV_INDEX_PRIVATE_PASSWORD.
    needs_credentials: bool = False
    #: Building a dependency compiles C code (compiler and Python headers).
    needs_compiler: bool = False
    #: Packages that only the local servers provide.
    local_packages: tuple[str, ...] = field(default=())


def json_matches(expected: JSONValue, actual: JSONValue, *, partial: bool = False) -> bool:
    if partial and isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and actual[key] == value for key, value in expected.items()
        )
    return expected == actual


def _health(app: str) -> tuple[HttpProbe, ...]:
    return (HttpProbe(path="/health", json={"status": "ok", "app": app}),)


def _uvicorn(target: str) -> tuple[str, ...]:
    return ("uvicorn", target, "--host", "{host}", "--port", "{port}")


def _gunicorn(target: str) -> tuple[str, ...]:
    return ("gunicorn", target, "--bind", "{host}:{port}", "--workers", "1")


EXAMPLE = Fixture(
    name="fastapi-app",
    path=EXAMPLES_DIR / "fastapi-app",
    packaged=True,
    check=HttpCheck(
        serve=_uvicorn("app.main:app"),
        probes=(
            HttpProbe(path="/health", json={"status": "ok"}),
            HttpProbe(path="/", json={"name": "fastapi-app", "version": "0.1.0"}),
            HttpProbe(
                path="/version", json={"name": "fastapi-app", "version": "0.1.0"}, partial=True
            ),
            HttpProbe(path="/items", json=[]),
            HttpProbe(path="/items/1", json={"detail": "item 1 not found"}, status=404),
        ),
    ),
)

FIXTURES: dict[str, Fixture] = {
    f.name: f
    for f in (
        Fixture(
            name="fastapi-virtual",
            path=PROJECTS_DIR / "fastapi-virtual",
            check=HttpCheck(serve=_uvicorn("main:app"), probes=_health("fastapi-virtual")),
        ),
        Fixture(
            name="django-site",
            path=PROJECTS_DIR / "django-site",
            check=HttpCheck(
                serve=_gunicorn("mysite.wsgi:application"),
                probes=(HttpProbe(path="/health/", json={"status": "ok", "app": "django-site"}),),
            ),
        ),
        Fixture(
            name="flask-app",
            path=PROJECTS_DIR / "flask-app",
            host_pythons=("3.13", "3.12"),
            check=HttpCheck(serve=_gunicorn("app:app"), probes=_health("flask-app")),
        ),
        Fixture(
            name="cli-tool",
            path=PROJECTS_DIR / "cli-tool",
            packaged=True,
            check=CommandCheck(
                argv=("hello-cli",), stdout="hello-cli 0.1.0: hello from a container\n"
            ),
        ),
        Fixture(
            name="uv-workspace",
            path=PROJECTS_DIR / "uv-workspace",
            packaged=True,
            check=CommandCheck(
                argv=("python", "-m", "ws_app"),
                stdout="ws-app: [hello, workspace] (ws-core 0.1.0, ws-greet 0.1.0)\n",
            ),
        ),
        Fixture(
            name="requirements-only",
            path=PROJECTS_DIR / "requirements-only",
            install="requirements",
            check=HttpCheck(serve=_uvicorn("app:app"), probes=_health("requirements-only")),
        ),
        Fixture(
            name="private-index",
            path=PROJECTS_DIR / "private-index",
            needs_local_index=True,
            needs_credentials=True,
            local_packages=("uvdock-private-greeting",),
            check=CommandCheck(
                argv=("python", "main.py"),
                stdout=(
                    "private-index: hello from the private index (uvdock-private-greeting 0.1.0)\n"
                ),
            ),
        ),
        Fixture(
            name="git-dependency",
            path=PROJECTS_DIR / "git-dependency",
            needs_git_server=True,
            local_packages=("greeting-git",),
            check=CommandCheck(
                argv=("python", "main.py"),
                stdout="git-dependency: hello from a git repository (greeting-git 0.1.0)\n",
            ),
        ),
        Fixture(
            name="native-sdist",
            path=PROJECTS_DIR / "native-sdist",
            needs_local_index=True,
            needs_compiler=True,
            local_packages=("uvdock-native-demo",),
            check=CommandCheck(
                argv=("python", "main.py"),
                stdout="native-sdist: fast_add(40, 2) = 42 (compiled C extension)\n",
            ),
        ),
    )
}

#: The fixtures plus the example application.
ALL: dict[str, Fixture] = {EXAMPLE.name: EXAMPLE, **FIXTURES}
