"""Step 4's first half: ASGI/WSGI application objects assigned at module level, found with
``ast``, and the import roots a module is imported from."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path, PurePosixPath

from uvdock.errors import ConfigError
from uvdock.project.documents import read_pyproject
from uvdock.project.pysource import import_aliases, parse, python_files, qualified

__all__ = ["AppObject", "find_app_objects", "module_name"]

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


def module_name(path: Path, root: Path) -> tuple[str, str]:
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
            module, import_root = module_name(path, root)
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
