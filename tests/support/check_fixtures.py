"""Install each fixture on the host from its lock and run its check.

For every fixture (and the example app): ``uv sync --locked --no-editable
--no-dev`` into a temporary environment (``UV_PROJECT_ENVIRONMENT``), or
``uv pip sync requirements.txt`` for the requirements-only fixture, then the
check from :mod:`tests.support.fixtures`. Nothing is written into the
fixture directories.

Usage, from the repository root (starts the local servers unless
``--external-servers`` says they already run)::

    python -m tests.support.check_fixtures [NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support._cli import parse_fixture_args
from tests.support._uv import UvError, find_python, run_uv
from tests.support.fixtures import CommandCheck, Fixture, HttpCheck, json_matches
from tests.support.servers import FixtureServers, private_index_env

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["CheckFailedError", "check_fixture", "install_fixture", "main", "run_check"]

_HOST = "127.0.0.1"
_STARTUP_TIMEOUT = 30.0


class CheckFailedError(AssertionError):
    """A fixture's check did not produce the expected output."""


@dataclass(frozen=True, kw_only=True)
class Environment:
    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def process_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "VIRTUAL_ENV": str(self.root),
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def resolve(self, argv: Sequence[str]) -> list[str]:
        program = shutil.which(argv[0], path=str(self.bin)) or argv[0]
        return [program, *argv[1:]]


def install_fixture(fixture: Fixture, env_dir: Path, *, python: str) -> Environment:
    """Install ``fixture`` from its lock (or requirements.txt) into ``env_dir``."""
    uv_env = private_index_env() if fixture.needs_credentials else {}
    if fixture.install == "requirements":
        run_uv(["venv", "--quiet", "--no-project", "--python", python, str(env_dir)])
        run_uv(
            [
                "pip",
                "sync",
                "--python",
                str(env_dir / "bin" / "python"),
                str(fixture.path / "requirements.txt"),
            ],
            env=uv_env,
        )
    else:
        run_uv(
            [
                "sync",
                "--directory",
                str(fixture.path),
                "--python",
                python,
                "--locked",
                "--no-editable",
                "--no-dev",
            ],
            env={**uv_env, "UV_PROJECT_ENVIRONMENT": str(env_dir)},
        )
    return Environment(root=env_dir)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - http://127.0.0.1 only
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _run_command(check: CommandCheck, env: Environment, cwd: Path) -> None:
    completed = subprocess.run(
        env.resolve(check.argv),
        cwd=cwd,
        env=env.process_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if completed.returncode != 0 or completed.stdout != check.stdout:
        msg = (
            f"{' '.join(check.argv)}: exit {completed.returncode}, stdout {completed.stdout!r}, "
            f"expected exit 0 and {check.stdout!r}; stderr: {completed.stderr.strip()}"
        )
        raise CheckFailedError(msg)


def _wait_until_serving(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"the server exited with {process.returncode} before answering {url}"
            raise CheckFailedError(msg)
        try:
            _get(url)
        except OSError:
            time.sleep(0.2)
        else:
            return
    msg = f"no answer from {url} within {_STARTUP_TIMEOUT:.0f}s"
    raise CheckFailedError(msg)


def _probe(check: HttpCheck, base: str) -> None:
    for probe in check.probes:
        status, body = _get(base + probe.path)
        actual = json.loads(body) if body else None
        if status != probe.status or not json_matches(probe.json, actual, partial=probe.partial):
            msg = f"GET {probe.path}: {status} {actual!r}, expected {probe.status} {probe.json!r}"
            raise CheckFailedError(msg)


def _run_http(check: HttpCheck, env: Environment, cwd: Path) -> None:
    port = _free_port()
    argv = env.resolve(check.serve_argv(host=_HOST, port=port))
    base = f"http://{_HOST}:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            argv, cwd=cwd, env=env.process_env(), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_serving(process, base + check.probes[0].path)
            _probe(check, base)
        except CheckFailedError as err:
            log.seek(0)
            err.add_note("server output:\n" + log.read().decode(errors="replace").strip())
            raise
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_check(fixture: Fixture, env: Environment) -> None:
    """Run the fixture's check with ``env``; raises CheckFailedError."""
    if isinstance(fixture.check, CommandCheck):
        _run_command(fixture.check, env, fixture.path)
    else:
        _run_http(fixture.check, env, fixture.path)


def check_fixture(fixture: Fixture, *, python: str | None = None) -> str:
    """Install and check one fixture in a throwaway environment; returns the Python used."""
    interpreter = python or find_python(fixture.host_pythons)
    with tempfile.TemporaryDirectory(prefix=f"uvdock-{fixture.name}-") as tmp:
        env = install_fixture(fixture, Path(tmp) / "venv", python=interpreter)
        run_check(fixture, env)
    return interpreter


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.check_fixtures",
        description="uv sync --locked each fixture into a temporary environment and check it runs.",
    )
    parser.add_argument(
        "--python",
        help="interpreter for every fixture (default: the first of each one's host_pythons found)",
    )
    args, selected = parse_fixture_args(parser, argv)
    failures = 0
    with ExitStack() as stack:
        if not args.external_servers and any(
            f.needs_local_index or f.needs_git_server for f in selected.values()
        ):
            stack.enter_context(FixtureServers())
        for name, fixture in selected.items():
            started = time.monotonic()
            try:
                python = check_fixture(fixture, python=args.python)
            except (UvError, CheckFailedError, subprocess.SubprocessError) as err:
                failures += 1
                print(f"FAIL  {name}: {err}", file=sys.stderr)
                for note in getattr(err, "__notes__", []):
                    print(note, file=sys.stderr)
            else:
                elapsed = time.monotonic() - started
                print(f"ok    {name} ({python}, {elapsed:.1f}s)", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
