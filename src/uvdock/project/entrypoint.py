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

import dataclasses
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from uvdock.errors import ProjectError
from uvdock.project.appobjects import AppObject, find_app_objects
from uvdock.project.appserving import inferred
from uvdock.project.declared import from_declared, from_readme, uwsgi_ini
from uvdock.project.entrysearch import HTTP_SERVERS, Detection, SearchContext, SearchState
from uvdock.project.model import Entrypoint, Sourced
from uvdock.project.pysource import python_files, unparsable, unreadable
from uvdock.project.runscripts import main_package, main_scripts, project_scripts

__all__ = [
    "HTTP_SERVERS",
    "AppObject",
    "Detection",
    "detect_entrypoint",
    "find_app_objects",
    "find_entrypoint",
    "python_files",
]


_Step = Callable[[SearchContext, SearchState], "Detection | None"]
_STEPS: tuple[_Step, ...] = (
    from_declared,
    uwsgi_ini,
    inferred,
    from_readme,
    project_scripts,
    main_package,
    main_scripts,
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
    ctx = SearchContext(
        root=root,
        port=port,
        deps=deps,
        packaged=packaged,
        http_override=http_override,
        scripts=scripts,
        workdir_path=workdir_path,
    )
    state = SearchState()
    steps = _STEPS if guess_scripts else tuple(s for s in _STEPS if s is not main_scripts)
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
