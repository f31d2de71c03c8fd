"""Steps 2, 3 and 5: the commands the project declares (Procfile, Dockerfile, compose, README)
and its uWSGI ini file, judged and turned into a production command."""

from __future__ import annotations

import dataclasses
import re
import shlex

from uvdock.project.appobjects import find_app_objects
from uvdock.project.entrysearch import (
    CHOOSE,
    HTTP_SERVERS,
    KNOWN_PROGRAMS,
    SERVER_DISTRIBUTIONS,
    Detection,
    SearchContext,
    SearchState,
    as_number,
    command_argv,
    dev_command_argv,
    found_text,
)
from uvdock.project.fastapi_cli import fastapi_target, uvicorn_equivalent
from uvdock.project.listening import listen_on_all_interfaces
from uvdock.project.model import Entrypoint, EntrypointKind, Sourced
from uvdock.project.serverconf import (
    GunicornConfig,
    UwsgiIni,
    find_gunicorn_config,
    find_uwsgi_ini,
    read_uwsgi_ini,
)
from uvdock.project.servers import ANY, CommandFacts, command_facts, shell_join
from uvdock.project.startcmd import (
    FoundCommand,
    compose_commands,
    dockerfile_commands,
    procfile_command,
    readme_commands,
    without_entrypoint,
)

__all__ = ["from_declared", "from_readme", "uwsgi_ini"]

_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


# --- commands the project declares ------------------------------------------------------------


def _runs_known(words: tuple[str, ...], ctx: SearchContext) -> bool:
    """Whether the image uvdock builds can run ``words``: a known or installed program, a file."""
    facts = command_facts(words)
    if not facts.words:
        return False
    program = facts.program
    if program == "python":
        return _python_runs_known(facts.words, ctx)
    if program in KNOWN_PROGRAMS or program in ctx.deps:
        return True
    if _project_file(facts.words[0], ctx) is not None:
        return True  # a script of the project's own (`./run.sh`), kept as the project runs it
    return ctx.scripts is not None and facts.words[0] in ctx.scripts.value


def _python_runs_known(words: tuple[str, ...], ctx: SearchContext) -> bool:
    if len(words) < 2:  # noqa: PLR2004 - a bare `python` is an interpreter prompt
        return False
    return words[1] in {"-m", "-c"} or _project_file(words[1], ctx) is not None


def _project_file(word: str, ctx: SearchContext) -> str | None:
    """The project file a command names (``./run.sh``, ``/app/main.py``), relative to the root."""
    relative = word.removeprefix("/app/").removeprefix("./")
    if not relative or relative.startswith(("/", "-", "$", "../")):
        return None
    return relative if (ctx.root / relative).is_file() else None


def _files_of(words: tuple[str, ...], ctx: SearchContext) -> tuple[str, ...]:
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


def _usable(found: FoundCommand, ctx: SearchContext, state: SearchState) -> FoundCommand | None:
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


def _declared_commands(ctx: SearchContext, state: SearchState) -> list[FoundCommand]:
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


def _from_commands(
    commands: list[FoundCommand], ctx: SearchContext, state: SearchState
) -> Detection | None:
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


def from_declared(ctx: SearchContext, state: SearchState) -> Detection | None:
    found = _from_commands(_declared_commands(ctx, state), ctx, state)
    if found is None and state.dev is None:
        state.readme_dev = next(
            (c for c in _readme_commands(ctx) if command_facts(c.words).dev), None
        )
    return found


def _readme_commands(ctx: SearchContext) -> list[FoundCommand]:
    return [c for c in readme_commands(ctx.root) if _runs_known(c.words, ctx)]


def from_readme(ctx: SearchContext, state: SearchState) -> Detection | None:
    detection = _from_commands(_readme_commands(ctx), ctx, state)
    dev = state.dev or state.readme_dev
    if detection is None and dev is not None:
        return Detection(entrypoint=None, problem=_dev_only(dev, ctx))
    return detection


def _dev_only(dev: FoundCommand, ctx: SearchContext) -> str:
    reason = command_facts(dev.words).dev
    del ctx
    return (
        f"{found_text(dev)} is {reason}, for development "
        "only, and uvdock found no app object or Django project to serve in production: "
        f"{CHOOSE} to the production command (e.g. `gunicorn --bind {ANY}:8000 module:app`)"
    )


def _missing_server(facts: CommandFacts, found: FoundCommand, ctx: SearchContext) -> str | None:
    program = facts.program
    if program not in SERVER_DISTRIBUTIONS or not ctx.deps or program in ctx.deps:
        return None
    package = '"fastapi[standard]"' if program == "fastapi-cli" else program
    return (
        f"{found.where}: {found.what} runs `{shell_join(facts.words)}`, but {program} is not "
        f"among the dependencies: `uv add {package}` (or {CHOOSE})"
    )


def _from_found(
    found: FoundCommand, ctx: SearchContext, *, dev: FoundCommand | None, reason: str | None = None
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
    dev_words = (
        dev_command_argv(dev) if dev is not None else _reload_variant(words, facts.program, ctx)
    )
    how = f"{found.what}: `{shell_join(facts.words)}`"
    if reason is not None:
        how += f" ({reason}: the production command drops it)"
    elif dev is not None and dev is not found:
        how += f"; {dev.what} ({dev.where}) is the dev setup's command"
    kind: EntrypointKind = "procfile" if procfile else "command"
    entry = Entrypoint(
        kind=kind,
        argv=command_argv(words, shell=found.shell),
        dev_argv=command_argv(dev_words, shell=found.shell),
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


def _fastapi_as_uvicorn(facts: CommandFacts, ctx: SearchContext, notes: list[str]) -> CommandFacts:
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
            f"the image of an installed package; {CHOOSE} to `uvicorn module:app ...`"
        )
        return facts
    target, how = found
    notes.append(
        f"`{command}` serves {target} (from {how}) from the source tree; the package is "
        "installed, so uvicorn serves it"
    )
    return command_facts(uvicorn_equivalent(words[index + 1 :], target))


def _served_words(
    facts: CommandFacts, ctx: SearchContext, *, procfile: bool, notes: list[str]
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


def _port(value: str | None, ctx: SearchContext) -> int | None:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    if value in {"$PORT", "${PORT}"} or value.startswith("${PORT:"):
        return ctx.port
    return None


def _gunicorn_config_of(words: tuple[str, ...], ctx: SearchContext) -> GunicornConfig | None:
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


def _reload_variant(words: tuple[str, ...], program: str, ctx: SearchContext) -> tuple[str, ...]:
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
    words: tuple[str, ...], ctx: SearchContext, notes: list[str]
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
    return words, as_number(bind.rpartition(":")[2]), http is not None or not socket, ()


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


def uwsgi_ini(ctx: SearchContext, state: SearchState) -> Detection | None:
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
