"""Step 4's second half: the app found in the code (an application object or Django), served
by an installed server."""

from __future__ import annotations

import dataclasses

from uvdock.project.appobjects import AppObject, find_app_objects
from uvdock.project.django_project import DjangoApp, find_django, find_manage_py
from uvdock.project.entrysearch import (
    CHOOSE,
    MAX_LISTED,
    Detection,
    SearchContext,
    SearchState,
    as_number,
    dev_command_argv,
    found_text,
)
from uvdock.project.model import Entrypoint, EntrypointKind, Sourced
from uvdock.project.serverconf import GunicornConfig, find_gunicorn_config
from uvdock.project.servers import (
    ANY,
    ASGI_SERVERS,
    WSGI_SERVERS,
    ServeCommand,
    command_facts,
    serve_command,
    shell_join,
)
from uvdock.project.startcmd import FoundCommand

__all__ = ["inferred"]


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


def _choose_server(app: _App, ctx: SearchContext) -> tuple[str, str, str] | None:
    """(server, interface, target): a server with a config file here first, then by preference."""
    configured = {"gunicorn"} if find_gunicorn_config(ctx.root) else set()
    for interface, target in app.targets:
        servers = ASGI_SERVERS if interface == "asgi" else WSGI_SERVERS
        ordered = sorted(servers, key=lambda s: (s not in configured, servers.index(s)))
        for server in ordered:
            if server in ctx.deps:
                return server, interface, target
    return None


def _serve_command(app: _App, ctx: SearchContext, choice: tuple[str, str, str]) -> ServeCommand:
    """The command with which a server serves the app: ``choice`` is (server, interface, target)."""
    server, interface, target = choice
    return serve_command(
        server,
        interface=interface,
        target=target,
        port=ctx.port,
        app_dir=ctx.import_dir(app.import_root),
    )


def _serve(app: _App, ctx: SearchContext, state: SearchState) -> Detection:
    choice = _choose_server(app, ctx)
    if choice is None:
        dev = state.dev or state.readme_dev
        return Detection(entrypoint=None, problem=_no_server(app, ctx, dev))
    server, _, target = choice
    command = _serve_command(app, ctx, choice)
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
        dev_argv = dev_command_argv(dev)
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


def _dev_for(server: str, state: SearchState) -> FoundCommand | None:
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
    ctx: SearchContext,
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
        port = as_number(bind.rpartition(":")[2]) if bind else None
        if bind is None:
            notes.append(f"{config.path}:{config.line} computes `bind`: the port is not known")
    return (argv[0], *flag, *argv[1:]), (dev_argv[0], *flag, *dev_argv[1:]), port


def _drop_bind(argv: tuple[str, ...]) -> tuple[str, ...]:
    index = argv.index("--bind")
    return (*argv[:index], *argv[index + 2 :])


def _is_loopback(bind: str) -> bool:
    return bind.rpartition(":")[0] in {"127.0.0.1", "localhost", "::1", "[::1]"}


def _no_server(app: _App, ctx: SearchContext, dev: FoundCommand | None) -> str:
    interface, target = app.targets[0]
    servers = ASGI_SERVERS if interface == "asgi" else WSGI_SERVERS
    server = "uvicorn" if interface == "asgi" else "gunicorn"
    command = _serve_command(app, ctx, (server, interface, target))
    if dev is not None:
        reason = command_facts(dev.words).dev
        found = f"{found_text(dev)} is {reason}, for development only; {app.what}"
    else:
        found = f"found {app.what}"
    return (
        f"{found}, but no {interface.upper()} server ({', '.join(servers)}) among the "
        f"dependencies: `uv add {server}`, then the command is `{shell_join(command.argv)}` "
        f"(or {CHOOSE})"
    )


def _app_from_object(app: AppObject, ctx: SearchContext) -> _App:
    del ctx
    return _App(
        targets=((app.interface, f"{app.module}:{app.attribute}"),),
        what=f"`{app.attribute} = {app.framework}(...)` in {app.file}:{app.line}",
        source=f"{app.file}:{app.line}",
        kind="asgi" if app.interface == "asgi" else "wsgi",
        import_root=app.import_root,
        health_path=app.health_path,
    )


def _app_from_django(django: DjangoApp, ctx: SearchContext) -> _App:
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


def _several_apps(apps: list[AppObject], ctx: SearchContext) -> Detection:
    listed = [f"{a.module}:{a.attribute} ({a.file}:{a.line})" for a in apps]
    first = _serve(_app_from_object(apps[0], ctx), ctx, SearchState())
    example = ""
    if first.entrypoint is not None:
        example = f' = "{shell_join(first.entrypoint.value.argv)}" (or another)'
    return Detection(
        entrypoint=None,
        problem=f"found several application objects ({', '.join(listed[:MAX_LISTED])}); "
        f"{CHOOSE}{example} to the one to run",
        candidates=tuple(listed),
    )


def inferred(ctx: SearchContext, state: SearchState) -> Detection | None:
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
        listed = ", ".join(m.relative_to(ctx.root).as_posix() for m in manages[:MAX_LISTED])
        return Detection(
            entrypoint=None,
            problem=f"found several Django manage.py ({listed}); {CHOOSE}",
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
