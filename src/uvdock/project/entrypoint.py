"""Finding how a project starts, by reading its files (``ast``, never importing them).

Order (first match wins), as ``uvdock plan`` explains it:

1. ``[tool.uvdock] command``
2. the start command the project already declares: ``Procfile`` ``web:``,
   its own ``Dockerfile`` (``CMD``/``ENTRYPOINT`` of the final stage), a
   compose service built from it (``startcmd.py``). A development server
   there (``--reload``, ``runserver``, ``flask run``, ``fastapi dev``,
   ``--debug``) becomes the dev setup's command; production gets its exact
   equivalent (``--reload`` dropped, ``fastapi run``), or the production
   server that step 4 finds, or a message saying which server to add.
3. a uWSGI ini file (``[uwsgi]``), when uwsgi is installed
4. an ASGI/WSGI application object assigned at module level
   (``app = FastAPI(...)``, ``Starlette``, ``Litestar``, ``Flask``); Django
   (``manage.py`` wherever it is, its settings' ``WSGI_APPLICATION``/
   ``ASGI_APPLICATION``), served by an installed server (``servers.py``)
5. a README command line that starts a server
6. ``[project.scripts]`` with exactly one script
7. ``python -m <package>`` for a package with ``__main__.py``
8. a script file with an ``if __name__ == "__main__":`` guard
"""

from __future__ import annotations

import ast
import dataclasses
import posixpath
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from uvdock.errors import ConfigError, ProjectError
from uvdock.project.django_project import DjangoApp, find_django, find_manage_py
from uvdock.project.documents import read_pyproject
from uvdock.project.fastapi_cli import fastapi_target, uvicorn_equivalent
from uvdock.project.model import Entrypoint, EntrypointKind, Sourced
from uvdock.project.pysource import (
    SKIP_DIRS,
    has_main_guard,
    import_aliases,
    parse,
    python_files,
    qualified,
    unparsable,
    unreadable,
)
from uvdock.project.serverconf import (
    GunicornConfig,
    UwsgiIni,
    find_gunicorn_config,
    find_uwsgi_ini,
    read_uwsgi_ini,
)
from uvdock.project.servers import (
    ANY,
    ASGI_SERVERS,
    WSGI_SERVERS,
    CommandFacts,
    command_facts,
    listen_on_all_interfaces,
    serve_command,
    shell_join,
)
from uvdock.project.startcmd import (
    FoundCommand,
    compose_commands,
    dockerfile_commands,
    procfile_command,
    readme_commands,
    without_entrypoint,
)

__all__ = [
    "HTTP_SERVERS",
    "AppObject",
    "Detection",
    "detect_entrypoint",
    "find_app_objects",
    "find_entrypoint",
    "python_files",
]

DEFAULT_PORT = 8000

# Fully qualified constructor -> (framework, interface)
_APP_CONSTRUCTORS = {
    "fastapi.FastAPI": ("FastAPI", "asgi"),
    "fastapi.applications.FastAPI": ("FastAPI", "asgi"),
    "starlette.applications.Starlette": ("Starlette", "asgi"),
    "litestar.Litestar": ("Litestar", "asgi"),
    "litestar.app.Litestar": ("Litestar", "asgi"),
    "flask.Flask": ("Flask", "wsgi"),
    "flask.app.Flask": ("Flask", "wsgi"),
}
_HEALTH_PATHS = ("/health", "/healthz", "/health/", "/healthz/", "/healthcheck", "/ping", "/livez")
# Distributions whose command serves HTTP (and their console scripts, which
# detect.py's workspace probe passes as "installed").
_SERVER_DISTRIBUTIONS = frozenset({*ASGI_SERVERS, *WSGI_SERVERS, "fastapi-cli"})
HTTP_SERVERS = frozenset(
    {
        *_SERVER_DISTRIBUTIONS,
        "waitress-serve",
        "fastapi",
        "flask",
        "django",
        "django-admin",
        "litestar",
        "streamlit",
    }
)
# Programs a found command may run besides the installed distributions.
_KNOWN_PROGRAMS = frozenset({*HTTP_SERVERS, "python"})
_NOT_SCRIPTS = frozenset(
    {"setup.py", "manage.py", "conftest.py", "noxfile.py", "fabfile.py", "__main__.py", "tasks.py"}
)
# Calls that start a server from a script: uvicorn.run(app, host=..., port=...).
_SERVER_CALLS = frozenset(
    {
        "uvicorn.run",
        "hypercorn.asyncio.serve",
        "hypercorn.trio.serve",
        "waitress.serve",
        "aiohttp.web.run_app",
        "granian.Granian",
        "granian.server.Server",
        "bjoern.run",
    }
)
_CHOOSE = "set [tool.uvdock] command"
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_MAX_LISTED = 8


@dataclasses.dataclass(frozen=True, kw_only=True)
class AppObject:
    module: str
    attribute: str
    framework: str
    interface: str  # asgi | wsgi
    file: str
    line: int
    import_root: str  # "" or "src"
    health_path: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Detection:
    """What :func:`find_entrypoint` learned: the entrypoint, or why there is none.

    ``port`` is the port the command listens on when the command (or its
    config file) fixes one; ``protocol`` is ``"uwsgi"`` for a uWSGI ``socket``,
    which only a proxy speaking the uwsgi protocol (or a TCP check) can reach.
    ``files`` are project files the command reads at run time (``uwsgi.ini``,
    ``gunicorn.conf.py``, a script), relative to the searched root: an
    installed package's image must copy them. ``candidates`` lists the
    commands to choose from when several were found. ``notes`` are one-line
    facts the plan should show (a declared command that was skipped, a bind
    that was widened, steps run before the server).
    """

    entrypoint: Sourced[Entrypoint] | None
    problem: str | None = None
    port: int | None = None
    protocol: str = "http"
    files: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Context:
    root: Path
    port: int
    deps: frozenset[str]
    packaged: bool
    http_override: bool | None
    scripts: Sourced[dict[str, str]] | None
    workdir_path: str

    def path(self, relative: str) -> str:
        """A project path as a command in the image sees it (from the working directory)."""
        if not self.workdir_path:
            return relative
        return posixpath.normpath(posixpath.join(self.workdir_path, relative))

    def import_dir(self, relative: str) -> str:
        """The directory to put on the import path for code under ``relative`` ("" if none)."""
        if self.packaged:
            return ""  # installed: imported from site-packages
        return self.path(relative) if relative else self.workdir_path

    def http(self, *, default: bool) -> bool:
        return self.http_override if self.http_override is not None else default


@dataclasses.dataclass(kw_only=True)
class _State:
    """What earlier steps learned that later ones need."""

    notes: list[str] = dataclasses.field(default_factory=list)
    dev: FoundCommand | None = None  # a declared development-server command
    # The README's: weaker than a declared one (a README is documentation).
    readme_dev: FoundCommand | None = None


# --- application objects ----------------------------------------------------------------------


def _health_path(tree: ast.Module) -> str | None:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and first.value in _HEALTH_PATHS:
            return str(first.value)
    return None


def import_roots(root: Path) -> tuple[str, ...]:
    """The directories, relative to ``root``, that the build backend installs packages from.

    ``src`` always (the usual layout); plus what ``pyproject.toml`` declares:
    setuptools' ``package-dir`` (``{"" = "api/src"}``) and ``packages.find.where``,
    hatchling's ``packages = ["lib/pkg"]`` and ``sources``, uv_build's ``module-root``,
    pdm's ``package-dir``, poetry's ``packages`` ``from``. A module under one of them
    is imported by its path below it (``api/src/main.py`` is ``main``).
    """
    try:
        data, _ = read_pyproject(root / "pyproject.toml")
    except ConfigError:  # missing or broken: detection reports a broken one where it reads it
        data = {}
    tool = data.get("tool", {})
    found: list[str] = ["src"]
    setuptools = tool.get("setuptools", {})
    package_dir = setuptools.get("package-dir", {})
    if isinstance(package_dir, dict) and isinstance(package_dir.get(""), str):
        found.append(package_dir[""])
    where = setuptools.get("packages", {})
    if isinstance(where, dict):
        found += [w for w in where.get("find", {}).get("where", ()) if isinstance(w, str)]
    wheel = tool.get("hatch", {}).get("build", {}).get("targets", {}).get("wheel", {})
    found += [str(PurePosixPath(p).parent) for p in wheel.get("packages", ()) if isinstance(p, str)]
    sources = wheel.get("sources", ())
    found += [
        k for k in (sources if isinstance(sources, (list, dict)) else ()) if isinstance(k, str)
    ]
    module_root = tool.get("uv", {}).get("build-backend", {}).get("module-root")
    if isinstance(module_root, str):
        found.append(module_root)
    pdm_dir = tool.get("pdm", {}).get("build", {}).get("package-dir")
    if isinstance(pdm_dir, str):
        found.append(pdm_dir)
    for entry in tool.get("poetry", {}).get("packages", ()):
        if isinstance(entry, dict) and isinstance(entry.get("from"), str):
            found.append(entry["from"])
    cleaned = (PurePosixPath(f).as_posix().strip("/") for f in found)
    return tuple(sorted({c for c in cleaned if c not in ("", ".")}, key=len, reverse=True))


def _module_name(path: Path, root: Path) -> tuple[str, str]:
    """``(module, import root)`` of a file: its dotted path below the import root it is in."""
    relative = PurePosixPath(path.relative_to(root).with_suffix("").as_posix())
    parts = list(relative.parts)
    import_root = ""
    for candidate in import_roots(root):
        prefix = PurePosixPath(candidate).parts
        if tuple(parts[: len(prefix)]) == prefix and len(parts) > len(prefix):
            import_root = candidate
            parts = parts[len(prefix) :]
            break
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts), import_root


def _assignments(tree: ast.Module) -> list[tuple[list[ast.expr], ast.expr, int]]:
    found: list[tuple[list[ast.expr], ast.expr, int]] = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            found.append((node.targets, node.value, node.lineno))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            found.append(([node.target], node.value, node.lineno))
    return found


def find_app_objects(root: Path) -> list[AppObject]:
    found: list[AppObject] = []
    for path in python_files(root):
        tree = parse(path)
        aliases = import_aliases(tree) if tree is not None else {}
        if tree is None or not aliases:
            continue
        for targets, value, line in _assignments(tree):
            name = _qualified_call(value, aliases)
            if name not in _APP_CONSTRUCTORS:
                continue
            framework, interface = _APP_CONSTRUCTORS[name]
            module, import_root = _module_name(path, root)
            found.extend(
                AppObject(
                    module=module,
                    attribute=target.id,
                    framework=framework,
                    interface=interface,
                    file=path.relative_to(root).as_posix(),
                    line=line,
                    import_root=import_root,
                    health_path=_health_path(tree),
                )
                for target in targets
                if isinstance(target, ast.Name)
            )
    return found


def _qualified_call(value: ast.expr, aliases: dict[str, str]) -> str | None:
    return qualified(value.func, aliases) if isinstance(value, ast.Call) else None


# --- the app, served by an installed server ---------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class _App:
    """An app to serve, found in the code, with its targets in order of preference."""

    targets: tuple[tuple[str, str], ...]  # (interface, "module:attribute")
    what: str  # "`app = FastAPI(...)` in main.py:3"
    source: str
    kind: EntrypointKind
    import_root: str  # relative to the root: "" or "src" or "backend"
    health_path: str | None
    env: tuple[tuple[str, str], ...] = ()
    dev_argv: tuple[str, ...] | None = None


def _choose_server(app: _App, ctx: _Context) -> tuple[str, str, str] | None:
    """(server, interface, target): a server with a config file here first, then by preference."""
    configured = {"gunicorn"} if find_gunicorn_config(ctx.root) else set()
    for interface, target in app.targets:
        servers = ASGI_SERVERS if interface == "asgi" else WSGI_SERVERS
        ordered = sorted(servers, key=lambda s: (s not in configured, servers.index(s)))
        for server in ordered:
            if server in ctx.deps:
                return server, interface, target
    return None


def _serve(app: _App, ctx: _Context, state: _State) -> Detection:
    choice = _choose_server(app, ctx)
    if choice is None:
        dev = state.dev or state.readme_dev
        return Detection(entrypoint=None, problem=_no_server(app, ctx, dev))
    server, interface, target = choice
    command = serve_command(
        server,
        interface=interface,
        target=target,
        port=ctx.port,
        app_dir=ctx.import_dir(app.import_root),
    )
    argv, dev_argv = command.argv, app.dev_argv or command.dev_argv
    port: int | None = ctx.port
    files: tuple[str, ...] = ()
    notes: list[str] = []
    config = find_gunicorn_config(ctx.root) if server == "gunicorn" else None
    if config is not None:
        argv, dev_argv, port = _with_gunicorn_config(argv, dev_argv, config, ctx, notes)
        files = (config.path,)
    how = f"{app.what}, served by {server}"
    dev = _dev_for(server, state)
    if dev is not None:
        dev_argv = _dev_argv(dev)
        how += f"; {dev.what} ({dev.where}) is the dev setup's command"
    entry = Entrypoint(
        kind=app.kind,
        argv=argv,
        dev_argv=dev_argv,
        http=ctx.http(default=True),
        target=target,
        health_path=app.health_path,
        env=(*app.env, *command.env),
        how=how,
    )
    return Detection(
        entrypoint=Sourced(entry, app.source), port=port, files=files, notes=tuple(notes)
    )


def _dev_for(server: str, state: _State) -> FoundCommand | None:
    """The declared dev command; the README's only when it runs another server
    (`flask run`, `runserver`): the same server with --reload is what uvdock derives anyway."""
    if state.dev is not None:
        return state.dev
    readme = state.readme_dev
    if readme is not None and command_facts(readme.words).program != server:
        return readme
    return None


def _with_gunicorn_config(
    argv: tuple[str, ...],
    dev_argv: tuple[str, ...],
    config: GunicornConfig,
    ctx: _Context,
    notes: list[str],
) -> tuple[tuple[str, ...], tuple[str, ...], int | None]:
    """Serve with the project's gunicorn config; its usable ``bind`` replaces uvdock's."""
    flag = ("-c", ctx.path(config.path))
    bind = config.bind
    port: int | None = ctx.port
    keep_bind = not config.sets_bind or (bind is not None and _is_loopback(bind))
    if bind is not None and _is_loopback(bind):
        notes.append(
            f"{config.path}:{config.line} binds {bind}, unreachable from outside the container; "
            f"--bind {ANY}:{ctx.port} overrides it"
        )
    if not keep_bind:
        argv, dev_argv = _drop_bind(argv), _drop_bind(dev_argv)
        port = _number(bind.rpartition(":")[2]) if bind else None
        if bind is None:
            notes.append(f"{config.path}:{config.line} computes `bind`: the port is not known")
    return (argv[0], *flag, *argv[1:]), (dev_argv[0], *flag, *dev_argv[1:]), port


def _drop_bind(argv: tuple[str, ...]) -> tuple[str, ...]:
    index = argv.index("--bind")
    return (*argv[:index], *argv[index + 2 :])


def _is_loopback(bind: str) -> bool:
    return bind.rpartition(":")[0] in {"127.0.0.1", "localhost", "::1", "[::1]"}


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _no_server(app: _App, ctx: _Context, dev: FoundCommand | None) -> str:
    interface, target = app.targets[0]
    servers = ASGI_SERVERS if interface == "asgi" else WSGI_SERVERS
    server = "uvicorn" if interface == "asgi" else "gunicorn"
    command = serve_command(
        server,
        interface=interface,
        target=target,
        port=ctx.port,
        app_dir=ctx.import_dir(app.import_root),
    )
    if dev is not None:
        reason = command_facts(dev.words).dev
        found = f"{_found_text(dev)} is {reason}, for development only; {app.what}"
    else:
        found = f"found {app.what}"
    return (
        f"{found}, but no {interface.upper()} server ({', '.join(servers)}) among the "
        f"dependencies: `uv add {server}`, then the command is `{shell_join(command.argv)}` "
        f"(or {_CHOOSE})"
    )


def _found_text(found: FoundCommand) -> str:
    """``Procfile:1: `flask run` (Procfile web process)``: where, what, and what kind of file."""
    text = f"{found.where}: `{shell_join(found.words)}`"
    return text if found.where.startswith(f"{found.what}:") else f"{text} ({found.what})"


def _app_from_object(app: AppObject, ctx: _Context) -> _App:
    del ctx
    return _App(
        targets=((app.interface, f"{app.module}:{app.attribute}"),),
        what=f"`{app.attribute} = {app.framework}(...)` in {app.file}:{app.line}",
        source=f"{app.file}:{app.line}",
        kind="asgi" if app.interface == "asgi" else "wsgi",
        import_root=app.import_root,
        health_path=app.health_path,
    )


def _app_from_django(django: DjangoApp, ctx: _Context) -> _App:
    setting = django.targets[0][2]
    manage = ctx.path(django.manage)
    return _App(
        targets=tuple((i, t) for i, t, _ in django.targets),
        what=f"Django: {django.manage} -> {django.settings}, {setting}",
        source=django.manage,
        kind="django",
        import_root=django.base,
        health_path=django.health_path,
        env=django.env,
        dev_argv=("python", manage, "runserver", f"{ANY}:{ctx.port}"),
    )


def _several_apps(apps: list[AppObject], ctx: _Context) -> Detection:
    listed = [f"{a.module}:{a.attribute} ({a.file}:{a.line})" for a in apps]
    first = _serve(_app_from_object(apps[0], ctx), ctx, _State())
    example = ""
    if first.entrypoint is not None:
        example = f' = "{shell_join(first.entrypoint.value.argv)}" (or another)'
    return Detection(
        entrypoint=None,
        problem=f"found several application objects ({', '.join(listed[:_MAX_LISTED])}); "
        f"{_CHOOSE}{example} to the one to run",
        candidates=tuple(listed),
    )


def _inferred(ctx: _Context, state: _State) -> Detection | None:
    problems: list[str] = []
    apps = find_app_objects(ctx.root)
    if len(apps) > 1:
        return _several_apps(apps, ctx)
    if apps:
        served = _serve(_app_from_object(apps[0], ctx), ctx, state)
        if served.entrypoint is not None:
            return served
        problems.append(served.problem or "")
    # A manage.py is Django's only when Django is installed (Litestar, Flask-Script and
    # others have one too).
    manages = find_manage_py(ctx.root) if "django" in ctx.deps else []
    if len(manages) > 1:
        listed = ", ".join(m.relative_to(ctx.root).as_posix() for m in manages[:_MAX_LISTED])
        return Detection(
            entrypoint=None,
            problem=f"found several Django manage.py ({listed}); {_CHOOSE}",
            candidates=tuple(m.relative_to(ctx.root).as_posix() for m in manages),
        )
    if manages:
        django = find_django(ctx.root, manages[0])
        if isinstance(django, str):
            problems.append(django)
        else:
            served = _serve(_app_from_django(django, ctx), ctx, state)
            if served.entrypoint is not None:
                return served
            problems.append(served.problem or "")
    if problems:
        return Detection(entrypoint=None, problem=problems[0])
    return None


# --- commands the project declares ------------------------------------------------------------


def _runs_known(words: tuple[str, ...], ctx: _Context) -> bool:
    """Whether the image uvdock builds can run ``words``: a known or installed program, a file."""
    facts = command_facts(words)
    if not facts.words:
        return False
    program = facts.program
    if program == "python":
        return _python_runs_known(facts.words, ctx)
    if program in _KNOWN_PROGRAMS or program in ctx.deps:
        return True
    if _project_file(facts.words[0], ctx) is not None:
        return True  # a script of the project's own (`./run.sh`), kept as the project runs it
    return ctx.scripts is not None and facts.words[0] in ctx.scripts.value


def _python_runs_known(words: tuple[str, ...], ctx: _Context) -> bool:
    if len(words) < 2:  # noqa: PLR2004 - a bare `python` is an interpreter prompt
        return False
    return words[1] in {"-m", "-c"} or _project_file(words[1], ctx) is not None


def _project_file(word: str, ctx: _Context) -> str | None:
    """The project file a command names (``./run.sh``, ``/app/main.py``), relative to the root."""
    relative = word.removeprefix("/app/").removeprefix("./")
    if not relative or relative.startswith(("/", "-", "$", "../")):
        return None
    return relative if (ctx.root / relative).is_file() else None


def _files_of(words: tuple[str, ...], ctx: _Context) -> tuple[str, ...]:
    """Project files a command runs (its program, or python's script)."""
    candidates = words[:2] if words and words[0] == "python" else words[:1]
    return tuple(f for w in candidates if (f := _project_file(w, ctx)) is not None)


def _unset_variables(found: FoundCommand, words: tuple[str, ...]) -> list[str]:
    names = sorted(set(_VARIABLE.findall(" ".join(words))) - {"PORT"}) if found.shell else []
    return [
        f"{found.where}: the command uses ${name}, which the image does not set; pass it at run "
        "time (`docker run -e`) or set [tool.uvdock] command"
        for name in names
    ]


def _usable(found: FoundCommand, ctx: _Context, state: _State) -> FoundCommand | None:
    if _runs_known(found.words, ctx):
        return found
    rest = without_entrypoint(found)
    if rest is not None and _runs_known(rest.words, ctx):
        state.notes.append(
            f"{found.where}: ENTRYPOINT `{shlex.join(found.entrypoint)}` is not carried over; "
            "the image runs the command after it directly"
        )
        return rest
    state.notes.append(
        f"{found.where}: {found.what} runs `{shlex.join(found.words)}`, which is neither a "
        "server uvdock knows nor a file of the project; not used"
    )
    return None


def _declared_commands(ctx: _Context, state: _State) -> list[FoundCommand]:
    found: list[FoundCommand] = []
    procfile = procfile_command(ctx.root)
    if procfile is not None:
        found.append(procfile)
    found.extend(dockerfile_commands(ctx.root))
    compose, notes = compose_commands(ctx.root)
    state.notes.extend(notes)
    seen = {(c.where, c.words) for c in found}
    found.extend(c for c in compose if (c.where, c.words) not in seen)
    usable = [u for c in found if (u := _usable(c, ctx, state)) is not None]
    # HTTP servers first: a compose file's `web` service, not its `worker`.
    return sorted(usable, key=lambda c: command_facts(c.words).program not in HTTP_SERVERS)


def _from_commands(commands: list[FoundCommand], ctx: _Context, state: _State) -> Detection | None:
    facts = [(c, command_facts(c.words)) for c in commands]
    production = next((c for c, f in facts if f.dev is None), None)
    dev = next(((c, f) for c, f in facts if f.dev is not None), None)
    if dev is not None and state.dev is None:
        state.dev = dev[0]
    if production is not None:
        return _from_found(production, ctx, dev=state.dev)
    if dev is None:
        return None
    found, dev_facts = dev
    if dev_facts.production is None:
        return None  # runserver, flask run: the production server is found from the code
    converted = dataclasses.replace(found, words=dev_facts.production)
    return _from_found(converted, ctx, dev=found, reason=dev_facts.dev)


def _declared(ctx: _Context, state: _State) -> Detection | None:
    found = _from_commands(_declared_commands(ctx, state), ctx, state)
    if found is None and state.dev is None:
        state.readme_dev = next(
            (c for c in _readme_commands(ctx) if command_facts(c.words).dev), None
        )
    return found


def _readme_commands(ctx: _Context) -> list[FoundCommand]:
    return [c for c in readme_commands(ctx.root) if _runs_known(c.words, ctx)]


def _readme(ctx: _Context, state: _State) -> Detection | None:
    detection = _from_commands(_readme_commands(ctx), ctx, state)
    dev = state.dev or state.readme_dev
    if detection is None and dev is not None:
        return Detection(entrypoint=None, problem=_dev_only(dev, ctx))
    return detection


def _dev_only(dev: FoundCommand, ctx: _Context) -> str:
    reason = command_facts(dev.words).dev
    del ctx
    return (
        f"{_found_text(dev)} is {reason}, for development "
        "only, and uvdock found no app object or Django project to serve in production: "
        f"{_CHOOSE} to the production command (e.g. `gunicorn --bind {ANY}:8000 module:app`)"
    )


def _missing_server(facts: CommandFacts, found: FoundCommand, ctx: _Context) -> str | None:
    program = facts.program
    if program not in _SERVER_DISTRIBUTIONS or not ctx.deps or program in ctx.deps:
        return None
    package = '"fastapi[standard]"' if program == "fastapi-cli" else program
    return (
        f"{found.where}: {found.what} runs `{shell_join(facts.words)}`, but {program} is not "
        f"among the dependencies: `uv add {package}` (or {_CHOOSE})"
    )


def _from_found(
    found: FoundCommand, ctx: _Context, *, dev: FoundCommand | None, reason: str | None = None
) -> Detection:
    """The entrypoint for a declared production command (``reason``: it was converted)."""
    facts = command_facts(found.words)
    missing = _missing_server(facts, found, ctx)
    if missing is not None:
        return Detection(entrypoint=None, problem=missing)
    notes = [
        f"{found.where}: {found.what} also runs `{step}` before the server; the image does not "
        "(run it as a release step)"
        for step in found.before
    ]
    if facts.program == "fastapi-cli" and ctx.packaged:
        facts = _fastapi_as_uvicorn(facts, ctx, notes)
    procfile = found.where.startswith("Procfile")
    served = _served_words(facts, ctx, procfile=procfile, notes=notes)
    words, port, http, files = served
    files = (*files, *_files_of(words, ctx))
    notes.extend(_unset_variables(found, words))
    env = (("PORT", str(ctx.port)),) if procfile or "PORT" in " ".join(words) else ()
    dev_words = _dev_argv(dev) if dev is not None else _reload_variant(words, facts.program, ctx)
    how = f"{found.what}: `{shell_join(facts.words)}`"
    if reason is not None:
        how += f" ({reason}: the production command drops it)"
    elif dev is not None and dev is not found:
        how += f"; {dev.what} ({dev.where}) is the dev setup's command"
    kind: EntrypointKind = "procfile" if procfile else "command"
    entry = Entrypoint(
        kind=kind,
        argv=_argv(words, shell=found.shell),
        dev_argv=_argv(dev_words, shell=found.shell),
        http=ctx.http(default=http or procfile),
        target=facts.target,
        env=env,
        how=how,
    )
    return Detection(
        entrypoint=Sourced(entry, found.where),
        port=port,
        protocol="uwsgi" if facts.program == "uwsgi" and not http else "http",
        files=files,
        notes=tuple(notes),
    )


def _fastapi_as_uvicorn(facts: CommandFacts, ctx: _Context, notes: list[str]) -> CommandFacts:
    """``fastapi run`` finds the app in the source tree, which an installed package's image
    does not have in its working directory: uvicorn serves the same app there."""
    words = facts.words
    index = next((i for i, w in enumerate(words) if w in {"run", "dev"}), None)
    if index is None:
        return facts
    apps = [(a.module, a.attribute) for a in find_app_objects(ctx.root) if a.framework == "FastAPI"]
    found = fastapi_target(words[index + 1 :], ctx.root, apps)
    command = shell_join(words)
    if found is None:
        notes.append(
            f"`{command}` looks for the app in the working directory, which has no source in "
            f"the image of an installed package; {_CHOOSE} to `uvicorn module:app ...`"
        )
        return facts
    target, how = found
    notes.append(
        f"`{command}` serves {target} (from {how}) from the source tree; the package is "
        "installed, so uvicorn serves it"
    )
    return command_facts(uvicorn_equivalent(words[index + 1 :], target))


def _served_words(
    facts: CommandFacts, ctx: _Context, *, procfile: bool, notes: list[str]
) -> tuple[tuple[str, ...], int | None, bool, tuple[str, ...]]:
    """(words listening on every interface, port, speaks HTTP, files it reads)."""
    words = facts.words
    if facts.program == "uwsgi":
        return _uwsgi_words(words, ctx, notes)
    default_bind = None
    files: tuple[str, ...] = ()
    if facts.program == "gunicorn":
        config = _gunicorn_config_of(words, ctx)
        if config is not None:
            files = (config.path,)
            default_bind = config.bind if config.sets_bind else None
            if config.sets_bind and config.bind is None:
                default_bind = ""  # computed at run time: trust it
        if default_bind is None and procfile:
            default_bind = f"{ANY}:$PORT"  # gunicorn's default when PORT is set
    listening = listen_on_all_interfaces(words, default_bind=default_bind)
    if listening.changed is not None:
        notes.append(f"listens on every interface in the container: {listening.changed}")
    port = _port(listening.port, ctx)
    return listening.words, port, facts.program in HTTP_SERVERS, files


def _port(value: str | None, ctx: _Context) -> int | None:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    if value in {"$PORT", "${PORT}"} or value.startswith("${PORT:"):
        return ctx.port
    return None


def _gunicorn_config_of(words: tuple[str, ...], ctx: _Context) -> GunicornConfig | None:
    named = None
    for index, word in enumerate(words):
        if word in {"-c", "--config"} and index + 1 < len(words):
            named = words[index + 1]
        elif word.startswith("--config="):
            named = word.partition("=")[2]
    if named is not None and not named.startswith("python:"):
        return find_gunicorn_config(ctx.root, named.removeprefix("/app/"))
    # gunicorn reads ./gunicorn.conf.py by itself when it runs in the directory that has it.
    config = find_gunicorn_config(ctx.root)
    if config is not None and config.read_by_default and not ctx.workdir_path:
        return config
    return None


def _dev_argv(dev: FoundCommand) -> tuple[str, ...]:
    words = listen_on_all_interfaces(command_facts(dev.words).words).words
    return _argv(words, shell=dev.shell)


def _argv(words: tuple[str, ...], *, shell: bool) -> tuple[str, ...]:
    # `exec` replaces the shell with the server: it is PID 1 and receives SIGTERM.
    return ("sh", "-c", f"exec {shell_join(words)}") if shell else words


def _reload_variant(words: tuple[str, ...], program: str, ctx: _Context) -> tuple[str, ...]:
    """The dev setup's command for a production command: the same with the server's reload."""
    if program in {"uvicorn", "fastapi-cli"}:
        return (*_without_option(words, "--workers"), "--reload")
    if program in {"gunicorn", "hypercorn"}:
        return (*words, "--reload")
    if program == "granian" and "watchfiles" in ctx.deps:  # granian[reload]
        return (*words, "--reload")
    if program == "uwsgi":
        return (*words, "--py-autoreload", "1")
    return words


def _without_option(words: tuple[str, ...], option: str) -> tuple[str, ...]:
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word == option:
            skip = True
        elif not word.startswith(f"{option}="):
            kept.append(word)
    return tuple(kept)


# --- uWSGI ------------------------------------------------------------------------------------


def _uwsgi_words(
    words: tuple[str, ...], ctx: _Context, notes: list[str]
) -> tuple[tuple[str, ...], int | None, bool, tuple[str, ...]]:
    """uWSGI's command, its port and protocol from its ini file or flags."""
    ini_name = _uwsgi_ini_name(words)
    ini = read_uwsgi_ini(ctx.root, ctx.root / ini_name) if ini_name else None
    die = ini is not None and ini.die_on_term
    if not die and "--die-on-term" not in words:
        # uWSGI 2.0 takes SIGTERM (`docker stop`) as "reload"; this makes it exit.
        words = (*words, "--die-on-term")
    flag_bind = _flag_value(words, ("--http", "--http-socket", "--https", "--socket", "-s"))
    if ini is not None and ini.http is None and ini.socket is None and flag_bind is None:
        # The ini leaves the socket to the command line (a start script's `--http`): the
        # image must bind one, or uWSGI starts, finds no socket, and exits.
        notes.append(
            f"{ini.path} binds no socket (http, http-socket or socket): the image adds "
            f"`--http 0.0.0.0:{ctx.port}`"
        )
        return (*words, "--http", f"0.0.0.0:{ctx.port}"), ctx.port, True, (ini.path,)
    if ini is not None:
        notes.extend(_uwsgi_notes(ini))
        return words, ini.port, ini.http is not None, (ini.path,)
    http = _flag_value(words, ("--http", "--http-socket", "--https"))
    socket = _flag_value(words, ("--socket", "-s", "--uwsgi-socket"))
    bind = http or socket or ""
    return words, _number(bind.rpartition(":")[2]), http is not None or not socket, ()


def _uwsgi_ini_name(words: tuple[str, ...]) -> str | None:
    name = _flag_value(words, ("--ini",))
    if name is None:
        name = next((w for w in words[1:] if w.endswith(".ini") and not w.startswith("-")), None)
    return name.removeprefix("/app/") if name else None


def _flag_value(words: tuple[str, ...], names: tuple[str, ...]) -> str | None:
    value = None
    for index, word in enumerate(words):
        option, equals, rest = word.partition("=")
        if equals and option in names:
            value = rest
        elif word in names and index + 1 < len(words):
            value = words[index + 1]
    return value


def _uwsgi_notes(ini: UwsgiIni) -> list[str]:
    notes: list[str] = []
    if ini.http is None and ini.socket is not None:
        line = ini.lines.get("socket") or ini.lines.get("uwsgi-socket")
        notes.append(
            f"{ini.path}:{line}: `socket = {ini.socket}` speaks the uwsgi protocol (for a proxy "
            "such as nginx), not HTTP, so the health check cannot be an HTTP request; use "
            f"`http-socket = {ini.socket}` to serve HTTP"
        )
    if ini.http is None and ini.socket is None:
        notes.append(f"{ini.path}: binds no socket (http, http-socket or socket)")
    if ini.loopback:
        notes.append(
            f"{ini.path}: binds {ini.http or ini.socket}, unreachable from outside the "
            f"container; bind `:{ini.port}` instead"
        )
    notes.extend(
        f"{ini.path}:{ini.lines.get(key)}: `{key}` names a path of the machine it was written "
        "on; remove it (the image has its own venv and working directory)"
        for key in ini.machine_paths
    )
    return notes


def _uwsgi_ini(ctx: _Context, state: _State) -> Detection | None:
    if "uwsgi" not in ctx.deps:
        return None
    names = find_uwsgi_ini(ctx.root)
    if not names:
        return None
    ini_path = ctx.path(names[0])
    found = FoundCommand(
        words=("uwsgi", "--ini", ini_path), where=names[0], what=f"uWSGI config {names[0]}"
    )
    detection = _from_found(found, ctx, dev=state.dev)
    if detection.entrypoint is None:
        return detection
    entry = dataclasses.replace(
        detection.entrypoint.value,
        kind="wsgi",
        how=f"{names[0]} ([uwsgi] section), served by uwsgi",
    )
    return dataclasses.replace(detection, entrypoint=Sourced(entry, names[0]))


# --- scripts ----------------------------------------------------------------------------------


def _project_scripts(ctx: _Context, state: _State) -> Detection | None:
    del state
    if ctx.scripts is None or not ctx.scripts.value:
        return None
    names = sorted(ctx.scripts.value)
    if len(names) > 1:
        return Detection(
            entrypoint=None,
            problem=f"[project.scripts] has several scripts ({', '.join(names)}); set "
            f'[tool.uvdock] command = "{names[0]}" (or another)',
            candidates=tuple(names),
        )
    entry = Entrypoint(
        kind="script",
        argv=(names[0],),
        dev_argv=(names[0],),
        http=ctx.http(default=False),
        how=f"the one [project.scripts] entry {names[0]} = {ctx.scripts.value[names[0]]!r}",
    )
    return Detection(entrypoint=Sourced(entry, ctx.scripts.source))


def _main_packages(root: Path) -> list[str]:
    found = []
    for base in (root, root / "src"):
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if child.name in SKIP_DIRS or child.name.startswith("."):
                continue
            if (child / "__main__.py").is_file() and child.name.isidentifier():
                found.append(child.name)
    return found


def _main_package(ctx: _Context, state: _State) -> Detection | None:
    del state
    packages = _main_packages(ctx.root)
    if len(packages) > 1:
        return Detection(
            entrypoint=None,
            problem=f"several packages have a __main__.py ({', '.join(packages)}); {_CHOOSE}",
            candidates=tuple(f"python -m {p}" for p in packages),
        )
    if not packages:
        return None
    argv = ("python", "-m", packages[0])
    entry = Entrypoint(
        kind="module",
        argv=argv,
        dev_argv=argv,
        http=ctx.http(default=False),
        how=f"package {packages[0]} has a __main__.py",
    )
    return Detection(entrypoint=Sourced(entry, f"{packages[0]}/__main__.py"))


def _main_scripts(ctx: _Context, state: _State) -> Detection | None:
    del state
    scripts = [
        (path, tree)
        for path in python_files(ctx.root)
        if path.name not in _NOT_SCRIPTS
        and (tree := parse(path)) is not None
        and has_main_guard(tree)
    ]
    if not scripts:
        return None
    commands = [_script_argv(path, ctx) for path, _ in scripts]
    if len(scripts) > 1:
        listed = ", ".join(p.relative_to(ctx.root).as_posix() for p, _ in scripts[:_MAX_LISTED])
        return Detection(
            entrypoint=None,
            problem=f'several scripts run under `if __name__ == "__main__":` ({listed}); set '
            f'[tool.uvdock] command = "{shlex.join(commands[0])}" (or another)',
            candidates=tuple(shlex.join(c) for c in commands),
        )
    path, tree = scripts[0]
    relative = path.relative_to(ctx.root).as_posix()
    server, port, notes = _script_server(tree, relative)
    argv = commands[0]
    entry = Entrypoint(
        kind="module" if argv[1] == "-m" else "script",
        argv=argv,
        dev_argv=argv,
        http=ctx.http(default=server is not None),
        how=f'{relative} runs under `if __name__ == "__main__":`'
        + (f", starting {server}" if server else ""),
    )
    return Detection(
        entrypoint=Sourced(entry, relative),
        port=port if server else None,
        files=() if argv[1] == "-m" else (relative,),
        notes=tuple(notes),
    )


def _script_argv(path: Path, ctx: _Context) -> tuple[str, ...]:
    """``python -m pkg.run`` for a module of an installed package, else ``python path``."""
    relative = path.relative_to(ctx.root)
    module, import_root = _module_name(path, ctx.root)
    package_dir = ctx.root / import_root if import_root else ctx.root
    parents = path.parent.relative_to(package_dir).parts if path.is_relative_to(package_dir) else ()
    # Every directory a package: regular ones (__init__.py), or namespace packages
    # (identifiers, as hatchling's `packages = ["pkg"]` ships them) when installed.
    in_package = bool(parents) and all(
        (package_dir.joinpath(*parents[: i + 1]) / "__init__.py").is_file()
        or (ctx.packaged and parents[i].isidentifier())
        for i in range(len(parents))
    )
    if ctx.packaged and in_package:
        return ("python", "-m", module)
    return ("python", ctx.path(relative.as_posix()))


def _script_server(tree: ast.Module, relative: str) -> tuple[str | None, int | None, list[str]]:
    """The server a script starts (``uvicorn.run(...)``), its port, and notes on its bind."""
    aliases = import_aliases(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = qualified(node.func, aliases)
        if name not in _SERVER_CALLS:
            continue
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        port = keywords.get("port")
        port_value = port.value if isinstance(port, ast.Constant) else None
        notes = []
        if name == "uvicorn.run":
            host = keywords.get("host")
            host_value = host.value if isinstance(host, ast.Constant) else "127.0.0.1"
            if host_value in {"127.0.0.1", "localhost"}:
                notes.append(
                    f"{relative}:{node.lineno}: uvicorn.run binds {host_value}, unreachable from "
                    f'outside the container: pass host="{ANY}"'
                )
            port_value = port_value if port is not None else DEFAULT_PORT
        return name, port_value if isinstance(port_value, int) else None, notes
    return None, None, []


# --- the whole search -------------------------------------------------------------------------

_Step = Callable[[_Context, _State], "Detection | None"]
_STEPS: tuple[_Step, ...] = (
    _declared,
    _uwsgi_ini,
    _inferred,
    _readme,
    _project_scripts,
    _main_package,
    _main_scripts,
)
_NOTHING = (
    "no entrypoint found (no [tool.uvdock] command, Procfile web process, Dockerfile CMD, "
    "compose command, uwsgi.ini, ASGI/WSGI app object, Django manage.py, [project.scripts] "
    'entry, __main__.py or script with a main guard); set [tool.uvdock] command = "..." in '
    "pyproject.toml"
)


def _configured(command: Sourced[str | list[str]], *, http_override: bool | None) -> Detection:
    raw = command.value
    argv = tuple(shlex.split(raw)) if isinstance(raw, str) else tuple(raw)
    if not argv:
        raise ProjectError(f"{command.source}: command is empty", hint="set a command to run")
    http = http_override if http_override is not None else Path(argv[0]).name in HTTP_SERVERS
    entry = Entrypoint(
        kind="command", argv=argv, dev_argv=argv, http=http, how="configured command"
    )
    return Detection(entrypoint=Sourced(entry, command.source))


def find_entrypoint(
    *,
    root: Path,
    command: Sourced[str | list[str]] | None,
    port: int,
    scripts: Sourced[dict[str, str]] | None,
    deps: frozenset[str],
    packaged: bool,
    http_override: bool | None,
    workdir_path: str = "",
    guess_scripts: bool = True,
) -> Detection:
    """How the project in ``root`` starts, with what else was learned on the way.

    ``deps`` are the distributions installed in the image (from uv.lock, or
    :func:`uvdock.project.servers.distributions_from_requirements`).
    ``workdir_path`` is ``root``'s path relative to the image's working
    directory, where code that is not installed is copied ("" when ``root``
    is the build context). ``guess_scripts=False`` leaves out the last guess,
    a script with a main guard (many libraries have one).
    """
    if command is not None:
        return _configured(command, http_override=http_override)
    ctx = _Context(
        root=root,
        port=port,
        deps=deps,
        packaged=packaged,
        http_override=http_override,
        scripts=scripts,
        workdir_path=workdir_path,
    )
    state = _State()
    steps = _STEPS if guess_scripts else tuple(s for s in _STEPS if s is not _main_scripts)
    for step in steps:
        found = step(ctx, state)
        if found is not None:
            found = _with_health_route(found, root)
            return dataclasses.replace(found, notes=(*state.notes, *found.notes))
    return Detection(entrypoint=None, problem=_nothing(root), notes=tuple(state.notes))


def _with_health_route(found: Detection, root: Path) -> Detection:
    """A command read from a file (Dockerfile, compose, Procfile) still gets the health route
    of the app it serves, when the code has one app object and it defines one."""
    entry = found.entrypoint
    if entry is None or not entry.value.http or entry.value.health_path is not None:
        return found
    apps = [a for a in find_app_objects(root) if a.health_path]
    targets = {f"{a.module}:{a.attribute}" for a in apps}
    served = [a for a in apps if f"{a.module}:{a.attribute}" in " ".join(entry.value.argv)]
    chosen = served or (apps if len(targets) == 1 else [])
    if not chosen:
        return found
    value = dataclasses.replace(entry.value, health_path=chosen[0].health_path)
    return dataclasses.replace(found, entrypoint=Sourced(value, entry.source))


def _nothing(root: Path) -> str:
    """Nothing found; and if some files could not be read, which and how to read them."""
    message = _NOTHING
    unread = unreadable(root)
    if unread:
        message += f"; note: these files were skipped: {', '.join(unread)}"
    skipped = unparsable(root)
    if not skipped:
        return message
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    return (
        f"{message}; note: this Python ({running}) cannot parse {', '.join(skipped)}, "
        "so what they define was not seen: run uvdock on a newer Python "
        "(`uvx --python 3.13 uvdock`)"
    )


def detect_entrypoint(
    *,
    root: Path,
    command: Sourced[str | list[str]] | None,
    port: int,
    scripts: Sourced[dict[str, str]] | None,
    deps: frozenset[str],
    packaged: bool,
    http_override: bool | None,
    workdir_path: str = "",
    guess_scripts: bool = True,
) -> tuple[Sourced[Entrypoint] | None, str | None]:
    """The entrypoint and where it came from, or ``(None, why-not)``: see find_entrypoint."""
    found = find_entrypoint(
        root=root,
        command=command,
        port=port,
        scripts=scripts,
        deps=deps,
        packaged=packaged,
        http_override=http_override,
        workdir_path=workdir_path,
        guess_scripts=guess_scripts,
    )
    return found.entrypoint, found.problem
