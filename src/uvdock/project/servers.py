"""The servers uvdock knows: how each one serves an app, what its development mode is.

Nothing here reads project files. ``entrypoint.py`` finds the app and the start
commands a project already has (``startcmd.py``); this module knows the
servers' command lines: the production command for an app, whether a command
found in a project is a development server (reload, debug, ``runserver``,
``flask run``, ``fastapi dev``), its production equivalent when the command
alone makes that exact, and where it listens (a server bound to 127.0.0.1
inside a container cannot be reached from outside it).
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
    "ASGI_SERVERS",
    "WSGI_SERVERS",
    "CommandFacts",
    "ServeCommand",
    "command_facts",
    "distributions_from_requirements",
    "serve_command",
    "shell_join",
]

# Preference order when several are installed (a config file in the project
# overrides it: see entrypoint.py).
ASGI_SERVERS = ("uvicorn", "hypercorn", "granian", "daphne")
WSGI_SERVERS = ("gunicorn", "uwsgi", "granian", "waitress")
# Console script of a distribution, where it differs from the distribution's name.
PROGRAM_OF = {"waitress": "waitress-serve", "fastapi-cli": "fastapi", "django": "django-admin"}
DISTRIBUTION_OF = {program: name for name, program in PROGRAM_OF.items()}
ANY = "0.0.0.0"  # noqa: S104 - a container's server must listen on every interface
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

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
    prefix, program, args = _program(stripped)
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


def _program(words: tuple[str, ...]) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
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


# --- where a command listens ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class Listening:
    """Where a command listens, after making it listen on every interface."""

    words: tuple[str, ...]
    port: str | None  # as written: "8000", "$PORT"; None when not known
    changed: str | None  # what was changed to listen on every interface, if anything


def listen_on_all_interfaces(
    words: tuple[str, ...], *, default_bind: str | None = None
) -> Listening:
    """Make a server command listen on 0.0.0.0 (a container's loopback is unreachable).

    ``default_bind`` is the bind a config file gives gunicorn (``gunicorn.conf.py``
    ``bind``), which a command without ``--bind`` uses.
    """
    prefix, program, args = _program(words)
    handler = _LISTEN.get(program)
    if handler is None:
        return Listening(words=words, port=None, changed=None)
    new_args, port, changed = handler(args, default_bind)
    return Listening(words=(*prefix, *new_args), port=port, changed=changed)


_ListenResult = tuple[tuple[str, ...], str | None, str | None]


def _option_value(args: Sequence[str], names: Iterable[str]) -> tuple[int, str] | None:
    """(index of the value, value) of the last ``--name value`` / ``--name=value``."""
    found = None
    names = frozenset(names)
    for index, word in enumerate(args):
        option, equals, value = word.partition("=")
        if equals and option in names:
            found = (index, value)
        elif word in names and index + 1 < len(args):
            found = (index + 1, args[index + 1])
    return found


def _set_value(args: tuple[str, ...], index: int, value: str) -> tuple[str, ...]:
    word = args[index]
    option, equals, _ = word.partition("=")
    replaced = f"{option}={value}" if equals and option.startswith("-") else value
    return (*args[:index], replaced, *args[index + 1 :])


def _host_port(
    args: tuple[str, ...],
    *,
    hosts: tuple[str, ...],
    ports: tuple[str, ...],
    default_host: str,
    default_port: str,
) -> _ListenResult:
    """Servers with separate host and port options (uvicorn, granian, flask, fastapi, daphne)."""
    if _option_value(args, ("--uds", "--fd", "-u", "--unix-socket")) is not None:
        return args, None, None
    port_value = _option_value(args, ports)
    port = port_value[1] if port_value else default_port
    host = _option_value(args, hosts)
    if host is None:
        if default_host == ANY:
            return args, port, None
        return (*args, hosts[0], ANY), port, f"added `{hosts[0]} {ANY}`"
    if host[1] in _LOOPBACK:
        return _set_value(args, host[0], ANY), port, f"`{host[1]}` replaced by `{ANY}`"
    return args, port, None


def _binds(args: tuple[str, ...], default_bind: str | None, default: str) -> _ListenResult:
    """Servers with ``--bind HOST:PORT`` (gunicorn, hypercorn)."""
    bind = _option_value(args, ("-b", "--bind"))
    if bind is None:
        if default_bind is not None:
            return args, _port_of(default_bind), None
        host, _, port = default.rpartition(":")
        if host == ANY:
            return args, port, None
        return (*args, "--bind", f"{ANY}:{port}"), port, f"added `--bind {ANY}:{port}`"
    host, _, port = bind[1].rpartition(":")
    if host in _LOOPBACK or not host:
        new = f"{ANY}:{port}"
        return _set_value(args, bind[0], new), port, f"`{bind[1]}` replaced by `{new}`"
    return args, port or None, None


def _port_of(bind: str) -> str | None:
    if bind.startswith(("unix:", "fd://")):
        return None
    return bind.rpartition(":")[2] or None


def _listen_uvicorn(args: tuple[str, ...], _: str | None) -> _ListenResult:
    return _host_port(
        args, hosts=("--host",), ports=("--port",), default_host="127.0.0.1", default_port="8000"
    )


def _listen_granian(args: tuple[str, ...], _: str | None) -> _ListenResult:
    return _listen_uvicorn(args, None)


def _listen_daphne(args: tuple[str, ...], _: str | None) -> _ListenResult:
    if _option_value(args, ("-e", "--endpoint")) is not None:
        return args, None, None
    return _host_port(
        args,
        hosts=("-b", "--bind"),
        ports=("-p", "--port"),
        default_host="127.0.0.1",
        default_port="8000",
    )


def _listen_fastapi(args: tuple[str, ...], _: str | None) -> _ListenResult:
    default_host = "127.0.0.1" if args[:1] == ("dev",) else ANY
    return _host_port(
        args, hosts=("--host",), ports=("--port",), default_host=default_host, default_port="8000"
    )


def _listen_flask(args: tuple[str, ...], _: str | None) -> _ListenResult:
    return _host_port(
        args,
        hosts=("--host", "-h"),
        ports=("--port", "-p"),
        default_host="127.0.0.1",
        default_port="5000",
    )


def _listen_waitress(args: tuple[str, ...], _: str | None) -> _ListenResult:
    listen = _option_value(args, ("--listen",))
    if listen is None:
        return _host_port(
            args, hosts=("--host",), ports=("--port",), default_host=ANY, default_port="8080"
        )
    host, _, port = listen[1].rpartition(":")
    if host in _LOOPBACK:
        new = f"{ANY}:{port}"
        return _set_value(args, listen[0], new), port, f"`{listen[1]}` replaced by `{new}`"
    return args, port, None


def _listen_gunicorn(args: tuple[str, ...], default_bind: str | None) -> _ListenResult:
    # Without --bind, gunicorn listens on 0.0.0.0:$PORT when PORT is set (Heroku's
    # convention, and uvdock sets PORT for such commands), else on 127.0.0.1:8000.
    return _binds(args, default_bind, "127.0.0.1:8000")


def _listen_hypercorn(args: tuple[str, ...], default_bind: str | None) -> _ListenResult:
    return _binds(args, default_bind, "127.0.0.1:8000")


def _listen_django(args: tuple[str, ...], _: str | None) -> _ListenResult:
    if "runserver" not in args:
        return args, None, None
    index = args.index("runserver")
    address = next((a for a in args[index + 1 :] if not a.startswith("-")), None)
    if address is None:
        return (*args, f"{ANY}:8000"), "8000", f"added `{ANY}:8000`"
    host, _, port = address.rpartition(":")
    if host in _LOOPBACK or not host:
        position = args.index(address, index)
        new = f"{ANY}:{port}"
        return _set_value(args, position, new), port, f"`{address}` replaced by `{new}`"
    return args, port, None


_LISTEN: dict[str, Callable[[tuple[str, ...], str | None], _ListenResult]] = {
    "uvicorn": _listen_uvicorn,
    "granian": _listen_granian,
    "daphne": _listen_daphne,
    "fastapi-cli": _listen_fastapi,
    "flask": _listen_flask,
    "waitress": _listen_waitress,
    "gunicorn": _listen_gunicorn,
    "hypercorn": _listen_hypercorn,
    "django": _listen_django,
}

_SHELL_SAFE = re.compile(r"^[\w@%+=:,./${}-]+$")


def shell_join(words: Iterable[str]) -> str:
    """Join words for ``sh -c``, leaving ``$PORT`` and ``${PORT:-8000}`` to the shell."""
    return " ".join(w if _SHELL_SAFE.match(w) else shlex.quote(w) for w in words)
