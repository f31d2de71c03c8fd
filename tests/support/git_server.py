"""Bare git repositories for tests, served over git's "dumb" HTTP protocol.

``create_greeting_git_repo`` commits the files under
``tests/fixtures/packages/greeting-git/`` into a fresh bare repository with a
fixed author, committer, dates and message, so the commit hash is always
:data:`GREETING_GIT_COMMIT`: ``uv.lock`` of the ``git-dependency`` fixture
records that hash. The repository gets ``git update-server-info``, so a plain
static file server is enough for ``git clone``/``git fetch`` (and for uv).

As a library::

    with tempfile.TemporaryDirectory() as repos:
        create_greeting_git_repo(Path(repos))
        with GitHTTPServer(Path(repos)) as server:
            server.url(GREETING_GIT_REPO)   # "http://127.0.0.1:5012/greeting-git.git"

As a script (creates the repository in a temporary directory unless told where)::

    python -m tests.support.git_server --port 5012
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import tempfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support._serve import BackgroundServer, wait_for_shutdown_signal
from tests.support.paths import PACKAGES_DIR

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "GREETING_GIT_COMMIT",
    "GREETING_GIT_REPO",
    "GREETING_GIT_SOURCE",
    "GREETING_GIT_TAG",
    "GitHTTPServer",
    "GitRepoError",
    "create_greeting_git_repo",
    "create_repo_from_tree",
    "main",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5012

GREETING_GIT_SOURCE = PACKAGES_DIR / "greeting-git"
GREETING_GIT_REPO = "greeting-git.git"
GREETING_GIT_TAG = "v0.1.0"
#: The commit ``create_greeting_git_repo`` makes; uv.lock of the git-dependency
#: fixture pins it. It changes only if the package's files change (then re-lock).
GREETING_GIT_COMMIT = "5baa17df340f57abbb767e0d8ceda9646ecbf1f5"

_IDENTITY = {
    "GIT_AUTHOR_NAME": "uvdock fixtures",
    "GIT_AUTHOR_EMAIL": "fixtures@uvdock.invalid",
    "GIT_AUTHOR_DATE": "2025-01-01T00:00:00+00:00",
    "GIT_COMMITTER_NAME": "uvdock fixtures",
    "GIT_COMMITTER_EMAIL": "fixtures@uvdock.invalid",
    "GIT_COMMITTER_DATE": "2025-01-01T00:00:00+00:00",
}
# No template (no sample hooks); SHA-1 object names even where git defaults to SHA-256.
_INIT_OPTIONS = ("--initial-branch=main", "--template=", "--object-format=sha1")
# Files that are build or editor by-products, never part of the package source.
_IGNORED = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".venv", ".git", ".*_cache"
)


class GitRepoError(RuntimeError):
    """Creating a fixture repository failed or gave an unexpected commit."""


def _git_env() -> dict[str, str]:
    """An environment that makes git ignore every user and system setting.

    Global config could turn on commit signing, CRLF conversion, hooks or an
    encoding header, any of which would change the commit hash.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_IDENTITY)
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            "TZ": "UTC",
        }
    )
    return env


def _git(*args: str, cwd: Path, env: Mapping[str, str]) -> str:
    try:
        completed = subprocess.run(
            ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
        )
    except FileNotFoundError as err:
        msg = "git is not installed (needed to create the fixture repositories)"
        raise GitRepoError(msg) from err
    except subprocess.CalledProcessError as err:
        msg = f"git {' '.join(args)} failed in {cwd}: {err.stderr.strip()}"
        raise GitRepoError(msg) from err
    return completed.stdout.strip()


def create_repo_from_tree(
    source: Path,
    bare_repo: Path,
    *,
    tag: str,
    message: str,
    expected_commit: str | None = None,
) -> str:
    """Make ``bare_repo`` hold one commit of ``source``'s files on ``main``, tagged ``tag``.

    An existing ``bare_repo`` is replaced. Returns the commit hash; raises
    :class:`GitRepoError` if ``expected_commit`` is given and differs.
    """
    env = _git_env()
    with tempfile.TemporaryDirectory(prefix="uvdock-git-") as tmp:
        work = Path(tmp) / "work"
        shutil.copytree(source, work, ignore=_IGNORED)
        # Git records only "executable or not"; make that independent of the checkout.
        for path in work.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        _git("init", "--quiet", *_INIT_OPTIONS, ".", cwd=work, env=env)
        _git("add", "--all", cwd=work, env=env)
        _git("-c", "commit.gpgSign=false", "commit", "--quiet", "-m", message, cwd=work, env=env)
        _git("-c", "tag.gpgSign=false", "tag", tag, cwd=work, env=env)  # lightweight tag
        commit = _git("rev-parse", "HEAD", cwd=work, env=env)

        if bare_repo.exists():
            shutil.rmtree(bare_repo)
        bare_repo.parent.mkdir(parents=True, exist_ok=True)
        _git("init", "--quiet", "--bare", *_INIT_OPTIONS, str(bare_repo), cwd=work, env=env)
        _git("push", "--quiet", str(bare_repo), "main", f"refs/tags/{tag}", cwd=work, env=env)
    # Writes info/refs and objects/info/packs, which dumb-HTTP clients read.
    _git("update-server-info", cwd=bare_repo, env=env)
    if expected_commit is not None and commit != expected_commit:
        msg = (
            f"{bare_repo.name}: commit is {commit}, expected {expected_commit}; the sources in "
            f"{source} changed: update the expected hash and re-lock the fixtures that use it"
        )
        raise GitRepoError(msg)
    return commit


def create_greeting_git_repo(
    repos_dir: Path,
    *,
    source: Path = GREETING_GIT_SOURCE,
    expected_commit: str | None = GREETING_GIT_COMMIT,
) -> str:
    """(Re)create ``repos_dir/greeting-git.git``; returns its (deterministic) commit hash."""
    return create_repo_from_tree(
        source,
        repos_dir / GREETING_GIT_REPO,
        tag=GREETING_GIT_TAG,
        message="greeting-git 0.1.0",
        expected_commit=expected_commit,
    )


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base-class signature
        """Silence the default per-request stderr line."""

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        """No directory listings: git never asks for one."""
        del path
        self.send_error(404, "not found")


class GitHTTPServer(BackgroundServer[ThreadingHTTPServer]):
    """Serves a directory of bare repositories read-only over HTTP (dumb protocol)."""

    _label = "the git server"
    _thread_name = "uvdock-git-server"

    def __init__(
        self, repos_dir: Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
    ) -> None:
        super().__init__(host=host, port=port)
        self._repos_dir = repos_dir

    def url(self, repo: str = GREETING_GIT_REPO) -> str:
        return f"http://{self._host}:{self.port}/{repo}"

    def _create_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        handler = functools.partial(_Handler, directory=str(self._repos_dir))
        return ThreadingHTTPServer(address, handler)  # daemon_threads is True by default


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.git_server",
        description="Create the greeting-git bare repository and serve it over dumb HTTP.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--repos-dir",
        type=Path,
        help="where to (re)create the bare repositories (default: a temporary directory)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="uvdock-git-repos-") as tmp:
        repos_dir: Path = args.repos_dir or Path(tmp)
        commit = create_greeting_git_repo(repos_dir)
        with GitHTTPServer(repos_dir, host=args.host, port=args.port) as server:
            print(f"git: {server.url()} (tag {GREETING_GIT_TAG} = {commit})", flush=True)
            wait_for_shutdown_signal()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
