"""Steps 6 to 8: ``[project.scripts]``, ``python -m <package>`` and a script with a
``__main__`` guard."""

from __future__ import annotations

import ast
import shlex
from pathlib import Path

from uvdock.project.appobjects import module_name
from uvdock.project.entrysearch import CHOOSE, MAX_LISTED, Detection, SearchContext, SearchState
from uvdock.project.model import Entrypoint, Sourced
from uvdock.project.pysource import (
    SKIP_DIRS,
    has_main_guard,
    import_aliases,
    parse,
    python_files,
    qualified,
)
from uvdock.project.servers import ANY

__all__ = ["main_package", "main_scripts", "project_scripts"]

DEFAULT_PORT = 8000
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


def project_scripts(ctx: SearchContext, state: SearchState) -> Detection | None:
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


def main_package(ctx: SearchContext, state: SearchState) -> Detection | None:
    del state
    packages = _main_packages(ctx.root)
    if len(packages) > 1:
        return Detection(
            entrypoint=None,
            problem=f"several packages have a __main__.py ({', '.join(packages)}); {CHOOSE}",
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


def main_scripts(ctx: SearchContext, state: SearchState) -> Detection | None:
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
        listed = ", ".join(p.relative_to(ctx.root).as_posix() for p, _ in scripts[:MAX_LISTED])
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


def _script_argv(path: Path, ctx: SearchContext) -> tuple[str, ...]:
    """``python -m pkg.run`` for a module of an installed package, else ``python path``."""
    relative = path.relative_to(ctx.root)
    module, import_root = module_name(path, ctx.root)
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
