"""The servers uvdock knows: how each one serves an app, what its development mode is.

Nothing here reads project files. ``entrypoint.py`` finds the app and the start
commands a project already has (``startcmd.py``); this module knows the
servers' command lines: the production command for an app, whether a command
found in a project is a development server (reload, debug, ``runserver``,
``flask run``, ``fastapi dev``) and its production equivalent when the command
alone makes that exact. Where a command listens is ``listening.py``.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Callable, Iterable, Sequence

from packaging.markers import UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

__all__ = [
    "ANY",
    "ASGI_SERVERS",
    "WSGI_SERVERS",
    "CommandFacts",
    "ServeCommand",
    "command_facts",
    "distributions_from_requirements",
    "serve_command",
    "shell_join",
    "split_program",
]

# Preference order when several are installed (a config file in the project
# overrides it: see entrypoint.py).
ASGI_SERVERS = ("uvicorn", "hypercorn", "granian", "daphne")
WSGI_SERVERS = ("gunicorn", "uwsgi", "granian", "waitress")
# Console script of a distribution, where it differs from the distribution's name.
PROGRAM_OF = {"waitress": "waitress-serve", "fastapi-cli": "fastapi", "django": "django-admin"}
DISTRIBUTION_OF = {program: name for name, program in PROGRAM_OF.items()}
ANY = "0.0.0.0"  # noqa: S104 - a container's server must listen on every interface

# What a requirement brings in, for a project without uv.lock (with a lock,
# uv's resolution is read instead). Curated on purpose: uvdock only reads
# files (no resolver, no network), and only what decides how an app starts
# matters here: the servers a framework's extra installs (`fastapi[standard]`
# brings uvicorn through fastapi-cli) and what their reload or loop modes need.
# From each project's own pyproject.toml: fastapi, fastapi-cli, uvicorn,
# granian, hypercorn, gunicorn, channels, litestar, uvicorn-worker. The key's
# extra "" is the package's own (server-related) dependencies. Entries are
# requirements, so `uvicorn[standard]` is expanded in turn.
_UVICORN_STANDARD = ("httptools", "python-dotenv", "pyyaml", "uvloop", "watchfiles", "websockets")
_FASTAPI_STANDARD = (
    "fastapi-cli[standard]",
    "uvicorn[standard]",
    "httpx",
    "jinja2",
    "python-multipart",
    "email-validator",
    "pydantic-settings",
    "pydantic-extra-types",
)
_BRINGS: dict[tuple[str, str], tuple[str, ...]] = {
    ("fastapi", "standard"): _FASTAPI_STANDARD,
    ("fastapi", "standard-no-fastapi-cloud-cli"): (
        "fastapi-cli[standard-no-fastapi-cloud-cli]",
        *_FASTAPI_STANDARD[1:],
    ),
    ("fastapi", "all"): (*_FASTAPI_STANDARD, "itsdangerous", "pyyaml"),
    ("fastapi-cli", ""): ("typer", "uvicorn[standard]", "rich-toolkit"),
    ("fastapi-cli", "standard"): ("uvicorn[standard]", "fastapi-cloud-cli"),
    ("fastapi-cli", "standard-no-fastapi-cloud-cli"): ("uvicorn[standard]",),
    ("uvicorn", "standard"): _UVICORN_STANDARD,
    ("uvicorn-worker", ""): ("uvicorn", "gunicorn"),
    ("granian", "reload"): ("watchfiles",),
    ("granian", "pname"): ("setproctitle",),
    ("granian", "dotenv"): ("python-dotenv",),
    ("granian", "uvloop"): ("uvloop",),
    ("granian", "rloop"): ("rloop",),
    ("granian", "all"): ("granian[dotenv,pname,reload]",),
    ("hypercorn", "uvloop"): ("uvloop",),
    ("hypercorn", "trio"): ("trio",),
    ("gunicorn", "gevent"): ("gevent",),
    ("gunicorn", "eventlet"): ("eventlet",),
    ("gunicorn", "tornado"): ("tornado",),
    ("gunicorn", "setproctitle"): ("setproctitle",),
    ("channels", "daphne"): ("daphne",),
    ("litestar", "standard"): ("uvicorn[standard]", "jinja2"),
}
# Markers are judged for the image: Linux, CPython (the Python version is the
# running one's, which only matters for markers no server entry uses).
_LINUX = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
          "platform_python_implementation": "CPython", "implementation_name": "cpython",
          "extra": ""}  # fmt: skip


def distributions_from_requirements(requirements: Iterable[str]) -> frozenset[str]:
    """The distributions ``[project] dependencies`` bring in, as far as the curated table knows.

    ``["fastapi[standard]>=0.115"]`` gives fastapi, fastapi-cli, uvicorn,
    uvloop, watchfiles, ... (canonical names). Requirements that do not parse
    or whose marker excludes Linux are skipped.
    """
    found: set[str] = set()
    expanded: set[tuple[str, str]] = set()
    queue = list(requirements)
    while queue:
        try:
            requirement = Requirement(str(queue.pop()))
        except InvalidRequirement:
            continue
        if requirement.marker is not None and not _applies_on_linux(requirement):
            continue
        name = canonicalize_name(requirement.name)
        found.add(name)
        for extra in ("", *(canonicalize_name(e) for e in requirement.extras)):
            if (name, extra) not in expanded:
                expanded.add((name, extra))
                queue.extend(_BRINGS.get((name, extra), ()))
    return frozenset(found)


def _applies_on_linux(requirement: Requirement) -> bool:
    assert requirement.marker is not None  # noqa: S101 - the caller checked
    try:
        return requirement.marker.evaluate(_LINUX)
    except UndefinedEnvironmentName:
        return True


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServeCommand:
    """How ``server`` serves an app: production ``argv``, ``dev_argv`` (reload), ``env``."""

    server: str
    argv: tuple[str, ...]
    dev_argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()


def serve_command(
    server: str, *, interface: str, target: str, port: int, app_dir: str = ""
) -> ServeCommand:
    """The command with which ``server`` serves ``target`` (``module:attribute``) on ``port``.

    ``app_dir`` is a directory (relative to the working directory) that must be
    on the import path (``src`` for a project that is not installed); servers
    with a flag for it get the flag, the others ``PYTHONPATH``.
    """
    return _SERVE[server](interface=interface, target=target, port=port, app_dir=app_dir)


def _uvicorn(*, interface: str, target: str, port: int, app_dir: str) -> ServeCommand:
    del interface  # uvicorn serves ASGI only
    extra = ("--app-dir", app_dir) if app_dir else ()
    argv = ("uvicorn", target, "--host", ANY, "--port", str(port), *extra)
    return ServeCommand(server="uvicorn", argv=argv, dev_argv=(*argv, "--reload"))


def _hypercorn(*, interface: str, target: str, port: int, app_dir: str) -> ServeCommand:
    del interface
    bind = f"{ANY}:{port}"
    return ServeCommand(
        server="hypercorn",
        argv=("hypercorn", "--bind", bind, target),
        dev_argv=("hypercorn", "--reload", "--bind", bind, target),
        env=_pythonpath(app_dir),
    )


def _granian(*, interface: str, target: str, port: int, app_dir: str) -> ServeCommand:
    # granian's default interface is RSGI, so the interface is always named.
    extra = ("--working-dir", app_dir) if app_dir else ()
    head = ("granian", "--interface", interface, "--host", ANY, "--port", str(port), *extra)
    return ServeCommand(
        server="granian", argv=(*head, target), dev_argv=(*head, "--reload", target)
    )


def _daphne(*, interface: str, target: str, port: int, app_dir: str) -> ServeCommand:
    del interface
    argv = ("daphne", "-b", ANY, "-p", str(port), target)
    return ServeCommand(server="daphne", argv=argv, dev_argv=argv, env=_pythonpath(app_dir))


def _gunicorn(*, interface: str, target: str, port: int, app_dir: str) -> ServeCommand:
    del interface
    bind = f"{ANY}:{port}"
    extra = ("--chdir", app_dir) if app_dir else ()
    return ServeCommand(
        server="gunicorn",
        argv=("gunicorn", "--bind", bind, *extra, target),
        dev_argv=("gunicorn", "--reload", "--bind", bind, *extra, target),
    )


def _uwsgi(*, interface: str, target: str, port: int, app_dir: str) -> ServeCommand:
    del interface
    # uWSGI 2.0 takes SIGTERM (what `docker stop` sends) as "reload"; --die-on-term
    # makes it exit. --need-app: fail at start instead of serving without an app.
    extra = ("--chdir", app_dir) if app_dir else ()
    argv = (
        "uwsgi",
        "--http",
        f"{ANY}:{port}",
        *extra,
        "--module",
        target,
        "--master",
        "--die-on-term",
        "--need-app",
    )
    return ServeCommand(server="uwsgi", argv=argv, dev_argv=(*argv, "--py-autoreload", "1"))


def _waitress(*, interface: str, target: str, port: int, app_dir: str) -> ServeCommand:
    del interface
    argv = ("waitress-serve", f"--listen={ANY}:{port}", target)
    return ServeCommand(server="waitress", argv=argv, dev_argv=argv, env=_pythonpath(app_dir))


def _pythonpath(app_dir: str) -> tuple[tuple[str, str], ...]:
    return (("PYTHONPATH", app_dir),) if app_dir else ()


_SERVE: dict[str, Callable[..., ServeCommand]] = {
    "uvicorn": _uvicorn,
    "hypercorn": _hypercorn,
    "granian": _granian,
    "daphne": _daphne,
    "gunicorn": _gunicorn,
    "uwsgi": _uwsgi,
    "waitress": _waitress,
}


# --- commands found in a project -------------------------------------------------------------

# `uv run` options that take a value (the rest are flags); what follows them is the command.
_UV_RUN_VALUE_OPTIONS = frozenset(
    {
        "--with",
        "--with-editable",
        "--with-requirements",
        "--python",
        "-p",
        "--package",
        "--env-file",
        "--project",
        "--directory",
        "--group",
        "--extra",
        "--only-group",
        "--no-group",
        "--index",
        "--default-index",
        "--index-url",
        "--extra-index-url",
        "--config-file",
        "--cache-dir",
        "--color",
        "--python-platform",
        "-w",
    }
)
_RUNNERS = frozenset({"uv", "poetry", "pipenv", "pdm", "hatch", "rye"})
_INIT_WRAPPERS = frozenset({"tini", "dumb-init"})
_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
# Reload options per server: flags, and options that take a value.
_RELOAD_FLAGS = frozenset({"--reload", "--debug", "--reload-engine-poll"})
_RELOAD_VALUES = frozenset(
    {
        "--reload-dir",
        "--reload-include",
        "--reload-exclude",
        "--reload-delay",  # uvicorn
        "--reload-paths",
        "--reload-ignore-dirs",
        "--reload-ignore-patterns",  # granian
        "--reload-ignore-paths",
        "--reload-filter",
        "--reload-tick",
        "--reload-engine",
        "--reload-extra-file",  # gunicorn
        "--py-autoreload",  # uwsgi
    }
)
_RELOADING = frozenset({"uvicorn", "hypercorn", "granian", "gunicorn", "uwsgi", "litestar"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class CommandFacts:
    """What a start command found in a project (Procfile, Dockerfile, ...) does.

    ``words`` is the command with the launcher stripped (``exec``, ``uv run``,
    a venv's ``bin/`` path, ``tini --``). ``program`` is the server or tool it
    runs (``python -m uvicorn`` is uvicorn; ``python manage.py`` is django).
    ``dev`` says why it is a development server, if it is one. ``production``
    is its exact production equivalent when the command alone gives it (drop
    ``--reload``; ``fastapi dev`` is ``fastapi run``), else None. ``target`` is
    the ``module:attribute`` it serves, when it names one.
    """

    words: tuple[str, ...]
    program: str
    dev: str | None
    production: tuple[str, ...] | None
    target: str | None


def command_facts(words: Sequence[str]) -> CommandFacts:
    """Read a command (split into words, not expanded) as :class:`CommandFacts`."""
    stripped = strip_launcher(words)
    prefix, program, args = split_program(stripped)
    dev = _dev_reason(program, args)
    production: tuple[str, ...] | None = stripped
    if dev is not None:
        converted = _production_args(program, args)
        production = None if converted is None else (*prefix, *converted)
    return CommandFacts(
        words=stripped, program=program, dev=dev, production=production, target=_target(args)
    )


def strip_launcher(words: Sequence[str]) -> tuple[str, ...]:
    """``exec uv run --frozen /app/.venv/bin/uvicorn ...`` -> ``uvicorn ...``."""
    rest = list(words)
    while rest:
        head = rest[0].rsplit("/", 1)[-1] if rest[0].count("/") and "/bin/" in rest[0] else rest[0]
        if head == "exec":
            rest = rest[1:]
        elif head in _INIT_WRAPPERS:
            rest = _after_options(rest[1:], frozenset({"-s", "-p", "-e"}), stop_at_dashes=True)
        elif head in _RUNNERS and len(rest) > 1 and rest[1] == "run":
            rest = _after_options(rest[2:], _UV_RUN_VALUE_OPTIONS, stop_at_dashes=True)
        elif head != rest[0]:
            rest = [head, *rest[1:]]
        else:
            break
    return tuple(rest)


def _after_options(
    words: list[str], value_options: frozenset[str], *, stop_at_dashes: bool
) -> list[str]:
    index = 0
    while index < len(words) and words[index].startswith("-"):
        word = words[index]
        index += 1
        if word == "--" and stop_at_dashes:
            break
        if word in value_options:
            index += 1
    return words[index:]


def split_program(words: tuple[str, ...]) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """(prefix kept as written, program, its arguments): ``python -m uvicorn x`` is uvicorn."""
    if not words:
        return (), "", ()
    first = words[0]
    if _PYTHON.match(first) and len(words) > 2 and words[1] == "-m":  # noqa: PLR2004
        return words[:3], DISTRIBUTION_OF.get(words[2], words[2]), words[3:]
    if _PYTHON.match(first) and len(words) > 1 and words[1].endswith("manage.py"):
        return words[:2], "django", words[2:]
    if first == "django-admin":
        return words[:1], "django", words[1:]
    return words[:1], DISTRIBUTION_OF.get(first, first), words[1:]


def _dev_reason(program: str, args: tuple[str, ...]) -> str | None:
    if program == "django" and "runserver" in args:
        return "Django's development server (`runserver`)"
    if program == "flask" and "run" in args:
        return "Flask's development server (`flask run`)"
    if program == "fastapi-cli" and args[:1] == ("dev",):
        return "FastAPI's development mode (`fastapi dev`)"
    if program in _RELOADING or program == "fastapi-cli":
        for word in args:
            option = word.split("=", 1)[0]
            if option in _RELOAD_FLAGS or option in _RELOAD_VALUES or word in {"-r", "-d"}:
                if word in {"-r", "-d"} and program != "litestar":
                    continue
                return f"{program} in reload/debug mode (`{option}`)"
    return None


def _production_args(program: str, args: tuple[str, ...]) -> tuple[str, ...] | None:
    if program in {"django", "flask"}:
        return None  # the production server must be chosen: see entrypoint.py
    if program == "fastapi-cli" and args[:1] == ("dev",):
        args = ("run", *args[1:])
    kept: list[str] = []
    skip = False
    for word in args:
        option = word.split("=", 1)[0]
        if skip:
            skip = False
        elif option in _RELOAD_FLAGS or (program == "litestar" and word in {"-r", "-d"}):
            continue
        elif option in _RELOAD_VALUES:
            skip = "=" not in word
        else:
            kept.append(word)
    return tuple(kept)


_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(\(.*\))?$")
_BIND_OPTIONS = frozenset({"-b", "--bind", "--listen", "--http", "--http-socket", "--socket"})


def _target(args: tuple[str, ...]) -> str | None:
    previous = ""
    for word in args:
        if previous not in _BIND_OPTIONS and _TARGET.match(word):
            return word
        previous = word
    return None


_SHELL_SAFE = re.compile(r"^[\w@%+=:,./${}-]+$")


def shell_join(words: Iterable[str]) -> str:
    """Join words for ``sh -c``, leaving ``$PORT`` and ``${PORT:-8000}`` to the shell."""
    return " ".join(w if _SHELL_SAFE.match(w) else shlex.quote(w) for w in words)
