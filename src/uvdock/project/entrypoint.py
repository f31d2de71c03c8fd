"""Finding how a project starts, by reading its files (``ast``, never importing them).

Order (first match wins), as ``uvdock plan`` explains it:

1. ``[tool.uvdock] command``
2. ``Procfile`` ``web:`` process
3. an ASGI/WSGI application object assigned at module level
   (``app = FastAPI(...)``, ``Starlette``, ``Litestar``, ``Flask``)
4. Django: ``manage.py`` and the settings' ``WSGI_APPLICATION``/``ASGI_APPLICATION``
5. ``[project.scripts]`` with exactly one script
6. ``python -m <package>`` for a package with ``__main__.py``
"""

from __future__ import annotations

import ast
import dataclasses
import os
import shlex
from collections.abc import Iterator
from pathlib import Path

from uvdock.errors import ProjectError
from uvdock.project.model import Entrypoint, Sourced

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
_ASGI_SERVERS = ("uvicorn", "hypercorn", "granian", "daphne")
_WSGI_SERVERS = ("gunicorn", "waitress")
_HEALTH_PATHS = ("/health", "/healthz", "/health/", "/healthz/", "/healthcheck", "/ping", "/livez")
_SKIP_DIRS = {
    ".venv", "venv", ".git", "node_modules", "tests", "test", "build", "dist", "__pycache__",
    ".tox", ".nox", "migrations", "site-packages", "docs", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", "examples",
}  # fmt: skip
_MAX_FILES = 3000
_MAX_FILE_BYTES = 1_000_000
HTTP_SERVERS = frozenset(
    {*_ASGI_SERVERS, *_WSGI_SERVERS, "uwsgi", "fastapi", "flask", "django-admin", "streamlit"}
)


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


def python_files(root: Path) -> Iterator[Path]:
    count = 0
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for filename in sorted(filenames):
            if filename.endswith(".py"):
                count += 1
                if count > _MAX_FILES:
                    return
                yield Path(directory, filename)


def _parse(path: Path) -> ast.Module | None:
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            return None
        return ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return None


def _import_aliases(tree: ast.Module) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _qualified(func: ast.expr, aliases: dict[str, str]) -> str | None:
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in aliases:
        return None
    return ".".join([aliases[func.id], *reversed(parts)])


def _health_path(tree: ast.Module) -> str | None:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and first.value in _HEALTH_PATHS:
            return str(first.value)
    return None


def _module_name(path: Path, root: Path) -> tuple[str, str]:
    relative = path.relative_to(root)
    parts = list(relative.with_suffix("").parts)
    import_root = ""
    if parts and parts[0] == "src" and len(parts) > 1:
        import_root = "src"
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts), import_root


def find_app_objects(root: Path) -> list[AppObject]:
    found: list[AppObject] = []
    for path in python_files(root):
        tree = _parse(path)
        if tree is None:
            continue
        aliases = _import_aliases(tree)
        if not aliases:
            continue
        for node in tree.body:
            targets: list[ast.expr]
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            else:
                continue
            if not isinstance(value, ast.Call):
                continue
            qualified = _qualified(value.func, aliases)
            if qualified not in _APP_CONSTRUCTORS:
                continue
            framework, interface = _APP_CONSTRUCTORS[qualified]
            module, import_root = _module_name(path, root)
            found.extend(
                AppObject(
                    module=module,
                    attribute=target.id,
                    framework=framework,
                    interface=interface,
                    file=path.relative_to(root).as_posix(),
                    line=node.lineno,
                    import_root=import_root,
                    health_path=_health_path(tree),
                )
                for target in targets
                if isinstance(target, ast.Name)
            )
    return found


def _server_command(
    *, interface: str, target: str, port: int, deps: frozenset[str], app_dir: str
) -> tuple[tuple[str, ...], tuple[str, ...], str] | None:
    servers = _ASGI_SERVERS if interface == "asgi" else _WSGI_SERVERS
    server = next((s for s in servers if s in deps), None)
    bind = f"0.0.0.0:{port}"
    if server == "uvicorn":
        extra = ("--app-dir", app_dir) if app_dir else ()
        argv = ("uvicorn", target, "--host", "0.0.0.0", "--port", str(port), *extra)  # noqa: S104
        return argv, (*argv, "--reload"), server
    if server == "hypercorn":
        argv = ("hypercorn", "--bind", bind, target)
        return argv, ("hypercorn", "--reload", "--bind", bind, target), server
    if server == "granian":
        argv = ("granian", "--interface", "asgi", "--host", "0.0.0.0", "--port", str(port), target)  # noqa: S104
        return argv, (*argv[:-1], "--reload", target), server
    if server == "daphne":
        argv = ("daphne", "-b", "0.0.0.0", "-p", str(port), target)  # noqa: S104
        return argv, argv, server
    if server == "gunicorn":
        extra = ("--chdir", app_dir) if app_dir else ()
        argv = ("gunicorn", "--bind", bind, *extra, target)
        return argv, ("gunicorn", "--reload", "--bind", bind, *extra, target), server
    if server == "waitress":
        argv = ("waitress-serve", f"--listen={bind}", target)
        return argv, argv, server
    return None


def _from_app(
    app: AppObject, *, port: int, deps: frozenset[str], packaged: bool
) -> tuple[Entrypoint | None, str | None]:
    target = f"{app.module}:{app.attribute}"
    # An installed (non-editable) package imports from site-packages; a virtual
    # project's code is copied into the image and imported from the work dir.
    app_dir = "" if packaged else app.import_root
    command = _server_command(
        interface=app.interface, target=target, port=port, deps=deps, app_dir=app_dir
    )
    what = f"`{app.attribute} = {app.framework}(...)` in {app.file}:{app.line}"
    if command is None:
        wanted = " or ".join(_ASGI_SERVERS if app.interface == "asgi" else _WSGI_SERVERS)
        return None, (
            f"found {what}, an {app.interface.upper()} app, but no {app.interface.upper()} "
            f"server ({wanted}) among the dependencies; add one (`uv add "
            f"{'uvicorn' if app.interface == 'asgi' else 'gunicorn'}`) or set "
            "[tool.uvdock] command"
        )
    argv, dev_argv, server = command
    return (
        Entrypoint(
            kind="asgi" if app.interface == "asgi" else "wsgi",
            argv=argv,
            dev_argv=dev_argv,
            http=True,
            target=target,
            health_path=app.health_path,
            how=f"{what}, served by {server}",
        ),
        None,
    )


def _string_assignments(tree: ast.Module) -> dict[str, str]:
    values: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    values[target.id] = node.value.value
    return values


def _django_settings_module(manage: Path) -> str | None:
    tree = _parse(manage)
    if tree is None:
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and len(node.args) == 2  # noqa: PLR2004
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "DJANGO_SETTINGS_MODULE"
            and isinstance(node.args[1], ast.Constant)
        ):
            return str(node.args[1].value)
    return None


def _module_file(root: Path, module: str) -> Path | None:
    for base in (root, root / "src"):
        candidate = base.joinpath(*module.split("."))
        for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
            if path.is_file():
                return path
    return None


def _django(root: Path, *, port: int, deps: frozenset[str]) -> tuple[Entrypoint | None, str | None]:
    manage = root / "manage.py"
    settings_module = _django_settings_module(manage)
    if settings_module is None:
        return None, "found manage.py but no DJANGO_SETTINGS_MODULE default in it"
    settings_file = _module_file(root, settings_module)
    if settings_file is None:
        return None, f"manage.py names settings {settings_module!r} but that module is not here"
    tree = _parse(settings_file)
    values = _string_assignments(tree) if tree else {}
    asgi, wsgi = values.get("ASGI_APPLICATION"), values.get("WSGI_APPLICATION")
    env = (("DJANGO_SETTINGS_MODULE", settings_module),)
    health = None
    urls = values.get("ROOT_URLCONF")
    urls_file = _module_file(root, urls) if urls else None
    urls_tree = _parse(urls_file) if urls_file else None
    if urls_tree is not None:
        for node in ast.walk(urls_tree):
            if (
                isinstance(node, ast.Call)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and f"/{node.args[0].value}" in _HEALTH_PATHS
            ):
                health = f"/{node.args[0].value}"
                break
    rel = settings_file.relative_to(root).as_posix()
    dev = ("python", "manage.py", "runserver", f"0.0.0.0:{port}")
    for setting, interface, value in (
        ("WSGI_APPLICATION", "wsgi", wsgi),
        ("ASGI_APPLICATION", "asgi", asgi),
    ):
        if not value or "." not in value:
            continue
        module, attribute = value.rsplit(".", 1)
        command = _server_command(
            interface=interface, target=f"{module}:{attribute}", port=port, deps=deps, app_dir=""
        )
        if command is None:
            continue
        argv, _, server = command
        return (
            Entrypoint(
                kind="django",
                argv=argv,
                dev_argv=dev,
                http=True,
                target=f"{module}:{attribute}",
                health_path=health,
                env=env,
                how=f"Django: manage.py -> {settings_module}, {setting} = {value!r} in {rel}, "
                f"served by {server}",
            ),
            None,
        )
    return None, (
        f"Django project ({settings_module}) but no WSGI server (gunicorn, waitress) or ASGI "
        "server (uvicorn, ...) among the dependencies; `uv add gunicorn` or set "
        "[tool.uvdock] command"
    )


def _procfile(root: Path, port: int) -> Sourced[Entrypoint] | None:
    path = root / "Procfile"
    if not path.is_file():
        return None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        name, _, command = line.partition(":")
        if name.strip() != "web" or not command.strip():
            continue
        command = command.strip()
        # Heroku-style $PORT needs a shell; `exec` replaces it with the server,
        # so the server is PID 1 and receives SIGTERM.
        argv = ("sh", "-c", f"exec {command}") if "$" in command else tuple(shlex.split(command))
        return Sourced(
            Entrypoint(
                kind="procfile",
                argv=argv,
                dev_argv=argv,
                http=True,
                env=(("PORT", str(port)),),
                how=f"Procfile web process: {command}",
            ),
            f"Procfile:{number}",
        )
    return None


def _main_packages(root: Path) -> list[str]:
    found = []
    for base in (root, root / "src"):
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if child.name in _SKIP_DIRS or child.name.startswith("."):
                continue
            if (child / "__main__.py").is_file() and child.name.isidentifier():
                found.append(child.name)
    return found


def detect_entrypoint(
    *,
    root: Path,
    command: Sourced[str | list[str]] | None,
    port: int,
    scripts: Sourced[dict[str, str]] | None,
    deps: frozenset[str],
    packaged: bool,
    http_override: bool | None,
) -> tuple[Sourced[Entrypoint] | None, str | None]:
    """The entrypoint and where it came from, or ``(None, why-not)``."""
    if command is not None:
        raw = command.value
        argv = tuple(shlex.split(raw)) if isinstance(raw, str) else tuple(raw)
        if not argv:
            raise ProjectError(f"{command.source}: command is empty", hint="set a command to run")
        http = http_override if http_override is not None else Path(argv[0]).name in HTTP_SERVERS
        entry = Entrypoint(
            kind="command", argv=argv, dev_argv=argv, http=http, how="configured command"
        )
        return Sourced(entry, command.source), None
    procfile = _procfile(root, port)
    if procfile is not None:
        return procfile, None
    problems: list[str] = []
    apps = find_app_objects(root)
    if len(apps) > 1:
        listed = ", ".join(f"{a.module}:{a.attribute} ({a.file}:{a.line})" for a in apps)
        return None, (
            f"found several application objects ({listed}); set [tool.uvdock] command to the "
            "one to run"
        )
    if apps:
        found, problem = _from_app(apps[0], port=port, deps=deps, packaged=packaged)
        if found is not None:
            return Sourced(found, f"{apps[0].file}:{apps[0].line}"), None
        problems.append(problem or "")
    if (root / "manage.py").is_file():
        found, problem = _django(root, port=port, deps=deps)
        if found is not None:
            return Sourced(found, "manage.py"), None
        problems.append(problem or "")
    if problems:
        return None, problems[0]
    if scripts is not None and scripts.value:
        names = sorted(scripts.value)
        if len(names) > 1:
            return None, (
                f"[project.scripts] has several scripts ({', '.join(names)}); set "
                f'[tool.uvdock] command = "{names[0]}" (or another)'
            )
        entry = Entrypoint(
            kind="script",
            argv=(names[0],),
            dev_argv=(names[0],),
            http=bool(http_override),
            how=f"the one [project.scripts] entry {names[0]} = {scripts.value[names[0]]!r}",
        )
        return Sourced(entry, scripts.source), None
    packages = _main_packages(root)
    if len(packages) == 1:
        entry = Entrypoint(
            kind="module",
            argv=("python", "-m", packages[0]),
            dev_argv=("python", "-m", packages[0]),
            http=bool(http_override),
            how=f"package {packages[0]} has a __main__.py",
        )
        return Sourced(entry, f"{packages[0]}/__main__.py"), None
    if len(packages) > 1:
        return None, (
            f"several packages have a __main__.py ({', '.join(packages)}); set "
            "[tool.uvdock] command"
        )
    return None, (
        "no entrypoint found (no [tool.uvdock] command, Procfile web process, ASGI/WSGI app "
        "object, Django manage.py, [project.scripts] entry or __main__.py); set "
        '[tool.uvdock] command = "..." in pyproject.toml'
    )
