"""Re-lock every fixture project and the example app against the local servers.

How the committed locks were made (``tests/support/regenerate_locks.sh`` runs this):

1. start the local index on 127.0.0.1:5011 (serving the committed
   ``tests/fixtures/dists``) and the git server on 127.0.0.1:5012 (with the
   deterministic ``greeting-git.git``);
2. for each project with a ``pyproject.toml``: ``uv lock`` with
   ``--directory <project>`` and ``--python <interpreter>``, where the
   interpreter is the host's 3.11 (any interpreter allowed by
   ``requires-python`` gives the same universal lock; ``flask-app`` requires
   >=3.12 so it uses 3.13 or 3.12), with the private index credentials in
   ``UV_INDEX_PRIVATE_USERNAME``/``UV_INDEX_PRIVATE_PASSWORD`` (uv never writes
   them into ``uv.lock``), and ``--refresh-package`` for the locally served
   packages so uv's cache cannot hide a rebuilt distribution;
3. for ``requirements-only``: ``uv pip compile requirements.in --universal
   --python-version 3.11 --generate-hashes -o requirements.txt``.

``uv lock`` keeps existing pins unless ``--upgrade`` is given. ``--check``
only verifies that every lock is up to date (``uv lock --check``).

Usage, from the repository root::

    python -m tests.support.regenerate_locks [--check | --upgrade] [NAME ...]
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from typing import TYPE_CHECKING

from tests.support._cli import parse_fixture_args
from tests.support._uv import UvError, find_python, run_uv
from tests.support.fixtures import ALL, Fixture
from tests.support.servers import FixtureServers, private_index_env

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["lock_fixture", "main"]

#: The requirements.txt header records this command; keep them in sync.
REQUIREMENTS_COMPILE = (
    "pip",
    "compile",
    "requirements.in",
    "--universal",
    "--python-version",
    "3.11",
    "--generate-hashes",
    "-o",
    "requirements.txt",
)
_LOCAL_PACKAGES = sorted({p for f in ALL.values() for p in f.local_packages})


def _without_header(requirements: str) -> list[str]:
    return [line for line in requirements.splitlines() if not line.startswith("#")]


def lock_fixture(fixture: Fixture, *, check: bool = False, upgrade: bool = False) -> str:
    """Lock (or check the lock of) one fixture; returns uv's summary line."""
    env = private_index_env() if fixture.needs_credentials else {}
    refresh = [arg for pkg in _LOCAL_PACKAGES for arg in ("--refresh-package", pkg)]
    if fixture.install == "requirements":
        args = [
            "--directory",
            str(fixture.path),
            *REQUIREMENTS_COMPILE,
            # Record the canonical command, not this script's --directory.
            "--custom-compile-command",
            " ".join(("uv", *REQUIREMENTS_COMPILE)),
        ]
        if check:
            # `uv pip compile` has no --check: compile to stdout and compare,
            # ignoring the header (the only lines starting with "#" in column 0).
            without_output = [a for a in args if a not in {"-o", "requirements.txt"}]
            compiled = run_uv([*without_output, "--quiet"], env=env).stdout  # to stdout
            committed = (fixture.path / "requirements.txt").read_text()
            if _without_header(compiled) != _without_header(committed):
                msg = f"{fixture.name}: requirements.txt is out of date with requirements.in"
                raise UvError(msg)
            return "requirements.txt is up to date"
        if upgrade:
            args.append("--upgrade")
        completed = run_uv(args, env=env)
    else:
        python = find_python(fixture.host_pythons)
        args = ["lock", "--directory", str(fixture.path), "--python", python]
        if check:
            args.append("--check")
        elif upgrade:
            args.append("--upgrade")
        completed = run_uv([*args, *refresh], env=env)
    lines = completed.stderr.strip().splitlines()
    return lines[-1] if lines else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.regenerate_locks",
        description="Re-lock the fixture projects and the example app against the local servers.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only verify the locks are current")
    mode.add_argument("--upgrade", action="store_true", help="allow newer versions")
    args, selected = parse_fixture_args(parser, argv)
    failures = 0
    with ExitStack() as stack:
        if not args.external_servers:
            stack.enter_context(FixtureServers())
        for fixture in selected.values():
            try:
                summary = lock_fixture(fixture, check=args.check, upgrade=args.upgrade)
            except UvError as err:
                failures += 1
                print(f"FAIL  {fixture.name}: {err}", file=sys.stderr)
            else:
                print(f"ok    {fixture.name}: {summary}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
