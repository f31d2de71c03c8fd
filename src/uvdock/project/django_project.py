"""A Django project, wherever it keeps ``manage.py`` and its settings.

``manage.py`` may sit in the root, in ``src/`` or in a subdirectory
(``backend/manage.py``); its ``DJANGO_SETTINGS_MODULE`` default names the
settings, imported from ``manage.py``'s directory. Settings split into a
package (``config/settings/base.py`` + ``local.py`` + ``production.py``, as
cookiecutter-django lays them out) are followed through their star imports.
The production settings are the WSGI (or ASGI) module's own default when it
has one: cookiecutter-django's ``manage.py`` defaults to ``config.settings.local``
but its ``config/wsgi.py`` to ``config.settings.production``.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from pathlib import Path

from uvdock.project.pysource import SKIP_DIRS, module_file, parse, string_assignments

__all__ = ["DjangoApp", "find_django", "find_manage_py"]

_HEALTH_PATHS = ("/health", "/healthz", "/health/", "/healthz/", "/healthcheck", "/ping", "/livez")
_MAX_DEPTH = 3
_MAX_STAR_IMPORTS = 5


@dataclasses.dataclass(frozen=True, kw_only=True)
class DjangoApp:
    """How a Django project is served: its targets in order of preference."""

    manage: str  # manage.py, relative to the project root
    base: str  # manage.py's directory, relative to the root ("" for the root itself)
    settings: str  # the settings module production uses
    targets: tuple[tuple[str, str, str], ...]  # (interface, "module:attr", "SETTING in file:line")
    health_path: str | None

    @property
    def env(self) -> tuple[tuple[str, str], ...]:
        return (("DJANGO_SETTINGS_MODULE", self.settings),)


def find_manage_py(root: Path) -> list[Path]:
    """``manage.py`` in the root or ``src/``, else anywhere up to three levels down."""
    direct = [p for p in (root / "manage.py", root / "src" / "manage.py") if p.is_file()]
    if direct:
        return direct[:1]
    found: list[Path] = []
    _walk(root, 0, found)
    return found


def _walk(directory: Path, depth: int, found: list[Path]) -> None:
    try:
        children = sorted(directory.iterdir())
    except OSError:
        return
    for child in children:
        if child.name == "manage.py" and child.is_file():
            found.append(child)
        elif (
            depth < _MAX_DEPTH
            and child.is_dir()
            and child.name not in SKIP_DIRS
            and not child.name.startswith(".")
        ):
            _walk(child, depth + 1, found)


def _calls(path: Path | None) -> Iterator[ast.Call]:
    """The calls in a Python file; none when there is no file or it does not parse."""
    tree = parse(path) if path else None
    if tree is not None:
        yield from (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def _settings_default(path: Path | None) -> str | None:
    """The ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)`` value in a file."""
    for call in _calls(path):
        if (
            isinstance(call.func, ast.Attribute)
            and call.func.attr == "setdefault"
            and len(call.args) == 2  # noqa: PLR2004
            and isinstance(call.args[0], ast.Constant)
            and call.args[0].value == "DJANGO_SETTINGS_MODULE"
            and isinstance(call.args[1], ast.Constant)
        ):
            return str(call.args[1].value)
    return None


def _star_imports(tree: ast.Module, module: str, *, package: bool) -> list[str]:
    """Modules a settings module star-imports (``from .base import *``), absolute."""
    found: list[str] = []
    parts = module.split(".") if package else module.split(".")[:-1]
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom) or not any(a.name == "*" for a in node.names):
            continue
        if node.level == 0 and node.module:
            found.append(node.module)
        elif node.level > 0:
            anchor = parts[: len(parts) - node.level + 1]
            found.append(".".join([*anchor, *([node.module] if node.module else [])]))
    return found


def _settings_values(base: Path, module: str) -> dict[str, tuple[str, str]]:
    """String settings -> (value, "file:line"), following star imports (theirs first)."""
    values: dict[str, tuple[str, str]] = {}
    queue = [module]
    order: list[tuple[str, Path, ast.Module]] = []
    while queue and len(order) <= _MAX_STAR_IMPORTS:
        name = queue.pop(0)
        path = module_file(base, name)
        tree = parse(path) if path else None
        if path is None or tree is None or any(p == path for _, p, _ in order):
            continue
        order.append((name, path, tree))
        queue.extend(_star_imports(tree, name, package=path.name == "__init__.py"))
    # The importing module's own assignments override what it imported.
    for _, path, tree in reversed(order):
        relative = path.relative_to(base).as_posix()
        for key, (value, line) in string_assignments(tree).items():
            values[key] = (value, f"{relative}:{line}")
    return values


def _health(base: Path, urls: str | None) -> str | None:
    for call in _calls(module_file(base, urls) if urls else None):
        if (
            call.args
            and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)
            and f"/{call.args[0].value}" in _HEALTH_PATHS
        ):
            return f"/{call.args[0].value}"
    return None


def find_django(root: Path, manage: Path) -> DjangoApp | str:
    """The Django project of ``manage``, or why it cannot be served (one line)."""
    base = manage.parent
    relative = manage.relative_to(root).as_posix()
    settings = _settings_default(manage)
    if settings is None:
        return f"found {relative} but no DJANGO_SETTINGS_MODULE default in it"
    if module_file(base, settings) is None:
        return f"{relative} names settings {settings!r} but that module is not here"
    values = _settings_values(base, settings)
    targets: list[tuple[str, str, str]] = []
    # An ASGI_APPLICATION is set on purpose (Channels, async views): serve it first.
    for setting, interface in (("ASGI_APPLICATION", "asgi"), ("WSGI_APPLICATION", "wsgi")):
        value, where = values.get(setting, ("", ""))
        if "." in value:
            module, attribute = value.rsplit(".", 1)
            targets.append((interface, f"{module}:{attribute}", f"{setting} in {where}"))
    if not targets:
        return (
            f"{relative}: settings {settings!r} set neither WSGI_APPLICATION nor ASGI_APPLICATION"
        )
    app_module = targets[0][1].split(":")[0]
    production = _settings_default(module_file(base, app_module)) or settings
    urls = values.get("ROOT_URLCONF", ("", ""))[0] or None
    return DjangoApp(
        manage=relative,
        base="" if base == root else base.relative_to(root).as_posix(),
        settings=production,
        targets=tuple(targets),
        health_path=_health(base, urls),
    )
