"""Both fixture servers at once: the local index (5011) and the git server (5012).

As a library::

    with FixtureServers() as servers:
        env = {**os.environ, **servers.uv_env()}   # adds the private index credentials

As a script (from the repository root; stops on Ctrl-C or SIGTERM)::

    python -m tests.support.servers
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support import git_server, local_index
from tests.support._serve import Service, wait_for_shutdown_signal
from tests.support.paths import DISTS_DIR

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["FixtureServers", "main", "private_index_env"]


def private_index_env(
    username: str = local_index.PRIVATE_USERNAME, password: str = local_index.PRIVATE_PASSWORD
) -> dict[str, str]:
    """uv's environment variables for the credentials of the index named ``private``."""
    return {"UV_INDEX_PRIVATE_USERNAME": username, "UV_INDEX_PRIVATE_PASSWORD": password}


class FixtureServers(Service):
    """Starts the local index and the git server (with a fresh greeting-git repo)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        index_port: int = local_index.DEFAULT_PORT,
        git_port: int = git_server.DEFAULT_PORT,
        dists_dir: Path = DISTS_DIR,
        repos_dir: Path | None = None,
    ) -> None:
        self.index = local_index.LocalIndex.from_dists_dir(dists_dir, host=host, port=index_port)
        self._host = host
        self._git_port = git_port
        self._repos_dir = repos_dir
        self._stack = ExitStack()
        self.git: git_server.GitHTTPServer | None = None
        self.greeting_git_commit: str | None = None

    def uv_env(self) -> dict[str, str]:
        return private_index_env()

    def start(self) -> None:
        with ExitStack() as stack:
            repos_dir = self._repos_dir or Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="uvdock-git-repos-"))
            )
            self.greeting_git_commit = git_server.create_greeting_git_repo(repos_dir)
            self.git = stack.enter_context(
                git_server.GitHTTPServer(repos_dir, host=self._host, port=self._git_port)
            )
            stack.enter_context(self.index)
            self._stack = stack.pop_all()

    def stop(self) -> None:
        self._stack.close()
        self.git = None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.servers",
        description="Run the local package index and the git server until interrupted.",
    )
    parser.add_argument("--index-port", type=int, default=local_index.DEFAULT_PORT)
    parser.add_argument("--git-port", type=int, default=git_server.DEFAULT_PORT)
    args = parser.parse_args(argv)
    with FixtureServers(index_port=args.index_port, git_port=args.git_port) as servers:
        assert servers.git is not None  # set by start()
        print(f"public index:  {servers.index.url('public')}", flush=True)
        print(f"private index: {servers.index.url('private')}", flush=True)
        print(f"git:           {servers.git.url()} ({servers.greeting_git_commit})", flush=True)
        for name, value in servers.uv_env().items():
            print(f"export {name}={value}", flush=True)
        wait_for_shutdown_signal()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
