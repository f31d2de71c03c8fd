"""A local PEP 503 "simple" package index with an anonymous and a basic-auth root.

URLs served (``127.0.0.1:5011`` by default)::

    /public/simple/                      project list, anonymous
    /public/simple/<project>/            links to the project's files, with #sha256= fragments
    /public/simple/<project>/<file>      the distribution file itself
    /private/simple/...                  the same, but every request needs HTTP basic auth

Each root serves one flat directory of built distributions (by default
``tests/fixtures/dists/public`` and ``tests/fixtures/dists/private``); the
project a file belongs to comes from its file name. Files are linked relative
to the project page, so they live *under* the index URL: uv sends an index's
credentials only to URLs below that index's URL.

As a library::

    with LocalIndex.from_dists_dir() as index:
        index.url("private")   # "http://127.0.0.1:5011/private/simple/"

As a script (from the repository root)::

    python -m tests.support.local_index --port 5011
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import html
import re
import tarfile
import threading
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Self
from urllib.parse import quote, unquote, urlsplit

from tests.support._serve import BackgroundServer, wait_for_shutdown_signal
from tests.support.paths import DISTS_DIR

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "PRIVATE_PASSWORD",
    "PRIVATE_USERNAME",
    "Credentials",
    "Distribution",
    "IndexRoot",
    "LocalIndex",
    "LoggedRequest",
    "main",
    "normalize_name",
    "scan_distributions",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5011
#: Credentials of the ``private`` root. Fixture projects never contain them:
#: tests pass them to uv as UV_INDEX_PRIVATE_USERNAME / UV_INDEX_PRIVATE_PASSWORD.
PRIVATE_USERNAME = "uvdock"
PRIVATE_PASSWORD = "fixture-secret-3f9a"

_REALM = "uvdock local index"
_HTML_TYPE = "text/html; charset=utf-8"
_SDIST_SUFFIXES = (".tar.gz", ".zip")


@dataclass(frozen=True, kw_only=True)
class Credentials:
    username: str
    password: str

    def accepts(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries exactly these credentials."""
        if authorization is None:
            return False
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, sep, password = decoded.partition(":")
        # Compare both parts, always, in constant time.
        return (
            bool(sep)
            & hmac.compare_digest(username, self.username)
            & hmac.compare_digest(password, self.password)
        )


@dataclass(frozen=True, kw_only=True)
class IndexRoot:
    """One index: served at ``/<name>/simple/`` from the files in ``directory``."""

    name: str
    directory: Path
    credentials: Credentials | None = None


@dataclass(frozen=True, kw_only=True)
class Distribution:
    path: Path
    project: str  # normalized (PEP 503)
    sha256: str
    requires_python: str | None

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True, kw_only=True)
class LoggedRequest:
    method: str
    path: str
    status: int
    authenticated: bool


def normalize_name(name: str) -> str:
    """PEP 503 name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _project_of(filename: str) -> str | None:
    if filename.endswith(".whl"):
        return normalize_name(filename.split("-", 1)[0])
    for suffix in _SDIST_SUFFIXES:
        if filename.endswith(suffix):
            name, sep, _version = filename.removesuffix(suffix).rpartition("-")
            return normalize_name(name) if sep else None
    return None


def _requires_python(path: Path) -> str | None:
    """The ``Requires-Python`` of a wheel's METADATA or an sdist's PKG-INFO, if any."""
    metadata: bytes | None = None
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as archive:
                member = next(
                    (n for n in archive.namelist() if n.endswith(".dist-info/METADATA")), None
                )
                metadata = archive.read(member) if member else None
        elif path.name.endswith(".tar.gz"):
            with tarfile.open(path) as archive:
                info = next(
                    (
                        m
                        for m in archive.getmembers()
                        if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
                    ),
                    None,
                )
                extracted = archive.extractfile(info) if info else None
                metadata = extracted.read() if extracted else None
    except (OSError, zipfile.BadZipFile, tarfile.TarError):
        return None
    if metadata is None:
        return None
    value = HeaderParser().parsestr(metadata.decode("utf-8", "replace")).get("Requires-Python")
    return str(value).strip() if value else None


_cache: dict[tuple[Path, int, int], Distribution] = {}
_cache_lock = threading.Lock()


def _distribution(path: Path, project: str) -> Distribution:
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    dist = Distribution(
        path=path,
        project=project,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        requires_python=_requires_python(path),
    )
    with _cache_lock:
        _cache[key] = dist
    return dist


def scan_distributions(directory: Path) -> dict[str, list[Distribution]]:
    """Distributions in ``directory`` by normalized project name (read on every call)."""
    projects: dict[str, list[Distribution]] = {}
    if not directory.is_dir():
        return projects
    for path in sorted(directory.iterdir()):
        project = _project_of(path.name) if path.is_file() else None
        if project is not None:
            projects.setdefault(project, []).append(_distribution(path, project))
    return projects


def _page(title: str, links: Iterable[str]) -> bytes:
    body = "\n".join(f"    {link}<br>" for link in links)
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.0">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{html.escape(title)}</h1>\n{body}\n  </body>\n</html>\n"
    ).encode()


def _file_link(dist: Distribution) -> str:
    href = f"{quote(dist.filename)}#sha256={dist.sha256}"
    attrs = f'href="{html.escape(href)}"'
    if dist.requires_python:
        attrs += f' data-requires-python="{html.escape(dist.requires_python)}"'
    return f"<a {attrs}>{html.escape(dist.filename)}</a>"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], roots: Sequence[IndexRoot]) -> None:
        super().__init__(address, _Handler)
        self.roots = {root.name: root for root in roots}
        self.log: list[LoggedRequest] = []
        self.log_lock = threading.Lock()


@dataclass(frozen=True, kw_only=True)
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    file: Path | None = None  # sent instead of ``body`` when set

    @classmethod
    def html(cls, body: bytes) -> _Response:
        headers = {"Content-Type": _HTML_TYPE, "Content-Length": str(len(body))}
        return cls(status=HTTPStatus.OK, headers=headers, body=body)

    @classmethod
    def redirect(cls, location: str) -> _Response:
        headers = {"Location": location, "Content-Length": "0"}
        return cls(status=HTTPStatus.MOVED_PERMANENTLY, headers=headers)

    @classmethod
    def text(cls, status: int, text: str, **extra_headers: str) -> _Response:
        body = text.encode()
        headers = {"Content-Type": "text/plain", "Content-Length": str(len(body)), **extra_headers}
        return cls(status=status, headers=headers, body=body)

    @classmethod
    def not_found(cls) -> _Response:
        return cls.text(HTTPStatus.NOT_FOUND, "not found\n")

    @classmethod
    def unauthorized(cls) -> _Response:
        return cls.text(
            HTTPStatus.UNAUTHORIZED,
            "authentication required\n",
            **{"WWW-Authenticate": f'Basic realm="{_REALM}"'},
        )

    @classmethod
    def distribution(cls, dist: Distribution) -> _Response:
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(dist.path.stat().st_size),
        }
        return cls(status=HTTPStatus.OK, headers=headers, file=dist.path)


def _index_page(path: str, projects: dict[str, list[Distribution]]) -> _Response:
    if not path.endswith("/"):
        return _Response.redirect(f"{path}/")
    links = (f'<a href="{quote(name)}/">{html.escape(name)}</a>' for name in sorted(projects))
    return _Response.html(_page("Simple index", links))


def _project_page(
    root: IndexRoot, path: str, name: str, projects: dict[str, list[Distribution]]
) -> _Response:
    canonical = normalize_name(name)
    if name != canonical or not path.endswith("/"):
        return _Response.redirect(f"/{root.name}/simple/{quote(canonical)}/")
    if canonical not in projects:
        return _Response.not_found()
    links = (_file_link(dist) for dist in projects[canonical])
    return _Response.html(_page(f"Links for {canonical}", links))


def _route(root: IndexRoot, path: str, rest: list[str]) -> _Response:
    """Answer a request below ``/<root>/simple/``; ``rest`` is the path after it, split."""
    projects = scan_distributions(root.directory)
    if rest in ([], [""]):
        return _index_page(path, projects)
    name, *tail = rest
    if tail in ([], [""]):  # /<project>/
        return _project_page(root, path, name, projects)
    if len(tail) == 1:  # /<project>/<file>
        for dist in projects.get(normalize_name(name), []):
            if dist.filename == tail[0]:
                return _Response.distribution(dist)
    return _Response.not_found()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "uvdock-local-index/1"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base-class signature
        """Silence the default per-request stderr line; requests go to ``server.log``."""

    def _respond(self, *, send_body: bool) -> None:
        path = urlsplit(self.path).path
        segments = [unquote(s) for s in path.split("/")[1:]]
        root = self.server.roots.get(segments[0]) if segments else None
        authenticated = False
        if root is None or segments[1:2] != ["simple"]:
            response = _Response.not_found()
        elif root.credentials is not None and not root.credentials.accepts(
            self.headers.get("Authorization")
        ):
            response = _Response.unauthorized()
        else:
            authenticated = root.credentials is not None
            response = _route(root, path, segments[2:])
        with self.server.log_lock:
            self.server.log.append(
                LoggedRequest(
                    method=self.command,
                    path=path,
                    status=int(response.status),
                    authenticated=authenticated,
                )
            )
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(response.file.read_bytes() if response.file else response.body)


class LocalIndex(BackgroundServer[_Server]):
    """The index server; a context manager that serves from a background thread."""

    _label = "the local index"
    _thread_name = "uvdock-local-index"

    def __init__(
        self,
        *,
        roots: Sequence[IndexRoot],
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
    ) -> None:
        super().__init__(host=host, port=port)
        self._roots = tuple(roots)

    @classmethod
    def from_dists_dir(
        cls,
        dists_dir: Path = DISTS_DIR,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        username: str = PRIVATE_USERNAME,
        password: str = PRIVATE_PASSWORD,
    ) -> Self:
        """Serve ``dists_dir/public`` anonymously and ``dists_dir/private`` with basic auth."""
        return cls(
            roots=(
                IndexRoot(name="public", directory=dists_dir / "public"),
                IndexRoot(
                    name="private",
                    directory=dists_dir / "private",
                    credentials=Credentials(username=username, password=password),
                ),
            ),
            host=host,
            port=port,
        )

    @property
    def host(self) -> str:
        return self._host

    def url(self, root: str) -> str:
        """The index URL of a root, e.g. ``http://127.0.0.1:5011/private/simple/``."""
        if root not in {r.name for r in self._roots}:
            msg = f"no index root named {root!r}"
            raise KeyError(msg)
        return f"http://{self._host}:{self.port}/{root}/simple/"

    @property
    def requests(self) -> tuple[LoggedRequest, ...]:
        """Every request served so far, oldest first."""
        if self._server is None:
            return ()
        with self._server.log_lock:
            return tuple(self._server.log)

    def _create_server(self, address: tuple[str, int]) -> _Server:
        return _Server(address, self._roots)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.local_index",
        description="Serve tests/fixtures/dists as a PEP 503 index (public; private: basic auth).",
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--dists-dir",
        type=Path,
        default=DISTS_DIR,
        help="directory holding public/ and private/ (default: %(default)s)",
    )
    parser.add_argument("--username", default=PRIVATE_USERNAME)
    parser.add_argument("--password", default=PRIVATE_PASSWORD)
    args = parser.parse_args(argv)
    index = LocalIndex.from_dists_dir(
        args.dists_dir,
        host=args.host,
        port=args.port,
        username=args.username,
        password=args.password,
    )
    with index:
        print(f"public index:  {index.url('public')}", flush=True)
        print(f"private index: {index.url('private')} (basic auth: {args.username})", flush=True)
        wait_for_shutdown_signal()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
