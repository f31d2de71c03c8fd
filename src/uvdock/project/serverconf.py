"""Server config files a project keeps: uWSGI's ini file and gunicorn's Python config.

Read, never run: the ini file with ``configparser`` and ``gunicorn.conf.py``
with ``ast`` (a ``bind`` computed at run time is reported as unknown).
"""

from __future__ import annotations

import ast
import configparser
import dataclasses
from pathlib import Path

from uvdock.project.readfile import SMALL_LIMIT, UnreadableFileError, read_bytes, read_text

__all__ = [
    "GunicornConfig",
    "UwsgiIni",
    "find_gunicorn_config",
    "find_uwsgi_ini",
    "read_uwsgi_ini",
]

# gunicorn reads ./gunicorn.conf.py by itself; the others need `-c`.
GUNICORN_DEFAULT_CONFIG = "gunicorn.conf.py"
_GUNICORN_NAMES = (
    GUNICORN_DEFAULT_CONFIG,
    "gunicorn_config.py",
    "gunicorn_conf.py",
    "gunicorn.config.py",
    "config/gunicorn.py",
    "deploy/gunicorn.conf.py",
)
_UWSGI_DIRS = ("", "deploy", "config", "docker", "conf", "etc")
_UWSGI_SKIP = frozenset({"tox.ini", "pytest.ini", "mypy.ini", "alembic.ini", "setup.cfg"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_MAX_BYTES = 200_000


@dataclasses.dataclass(frozen=True, kw_only=True)
class UwsgiIni:
    """What a ``[uwsgi]`` section says about serving the app."""

    path: str  # relative to the project root
    app: str | None  # module = ..., wsgi-file = ..., mount = ...
    http: str | None  # http / http-socket / https: speaks HTTP
    socket: str | None  # socket / uwsgi-socket: the uwsgi protocol, for a proxy (nginx)
    die_on_term: bool
    lines: dict[str, int]  # key -> line, for messages
    machine_paths: tuple[str, ...]  # keys naming paths of the machine it was written on

    @property
    def port(self) -> int | None:
        bind = self.http or self.socket
        port = (bind or "").rpartition(":")[2]
        return int(port) if port.isdigit() else None

    @property
    def loopback(self) -> bool:
        bind = self.http or self.socket or ""
        return bind.rpartition(":")[0] in _LOOPBACK


def find_uwsgi_ini(root: Path) -> list[str]:
    """Ini files with a ``[uwsgi]`` section, in the root and the usual config directories."""
    found: list[str] = []
    for directory in _UWSGI_DIRS:
        base = root / directory if directory else root
        if not base.is_dir():
            continue
        for path in sorted(base.glob("*.ini"), key=lambda p: (p.name != "uwsgi.ini", p.name)):
            if path.name not in _UWSGI_SKIP and read_uwsgi_ini(root, path) is not None:
                found.append(path.relative_to(root).as_posix())
    return found


def read_uwsgi_ini(root: Path, path: Path) -> UwsgiIni | None:
    """The ``[uwsgi]`` section of ``path``, or None when it has none or cannot be read."""
    # uWSGI allows repeated keys (several `env =`); the last one wins here.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        text = read_text(path, limit=_MAX_BYTES)
        parser.read_string(text, source=str(path))
    except (UnreadableFileError, configparser.Error):
        return None
    if not parser.has_section("uwsgi"):
        return None
    section = parser["uwsgi"]
    machine = tuple(
        key
        for key in ("home", "virtualenv", "venv", "pyhome", "chdir")
        if section.get(key, "").startswith(("/home/", "/Users/", "/srv/", "/var/www/", "/opt/"))
    )
    return UwsgiIni(
        path=path.relative_to(root).as_posix(),
        app=section.get("module") or section.get("wsgi-file") or section.get("mount"),
        http=section.get("http") or section.get("http-socket") or section.get("https"),
        socket=section.get("socket") or section.get("uwsgi-socket"),
        die_on_term="die-on-term" in section
        and section["die-on-term"].strip().lower() in {"", "true", "1", "yes", "on"},
        lines=_key_lines(text),
        machine_paths=machine,
    )


def _key_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        key, equals, _ = line.partition("=")
        if equals and not line.lstrip().startswith((";", "#")):
            lines.setdefault(key.strip(), number)
    return lines


@dataclasses.dataclass(frozen=True, kw_only=True)
class GunicornConfig:
    """A gunicorn config file and the ``bind`` it sets, as far as ``ast`` can tell."""

    path: str  # relative to the project root
    bind: str | None  # the first address it binds, when it is a literal
    sets_bind: bool  # False: no `bind` at all (gunicorn's default applies)
    line: int | None

    @property
    def read_by_default(self) -> bool:
        return self.path == GUNICORN_DEFAULT_CONFIG


def find_gunicorn_config(root: Path, named: str | None = None) -> GunicornConfig | None:
    """``named`` (a ``-c`` argument), else the first of the usual config file names."""
    for name in (named,) if named else _GUNICORN_NAMES:
        path = root / name
        if path.is_file():
            return read_gunicorn_config(root, path)
    return None


def read_gunicorn_config(root: Path, path: Path) -> GunicornConfig:
    relative = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    try:
        tree = ast.parse(read_bytes(path, limit=SMALL_LIMIT), filename=str(path))
    except (SyntaxError, ValueError, UnreadableFileError):
        return GunicornConfig(path=relative, bind=None, sets_bind=True, line=None)
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        if not any(isinstance(t, ast.Name) and t.id == "bind" for t in node.targets):
            continue
        value = node.value
        if isinstance(value, (ast.List, ast.Tuple)) and value.elts:
            value = value.elts[0]
        literal = value.value if isinstance(value, ast.Constant) else None
        bind = literal if isinstance(literal, str) else None
        return GunicornConfig(path=relative, bind=bind, sets_bind=True, line=node.lineno)
    return GunicornConfig(path=relative, bind=None, sets_bind=False, line=None)


def is_loopback(bind: str) -> bool:
    return bind.rpartition(":")[0] in _LOOPBACK
