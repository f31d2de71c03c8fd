"""Running uv and finding host interpreters, for the fixture scripts."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.paths import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["UvError", "find_python", "run_uv", "uv_executable"]


class UvError(RuntimeError):
    """A uv command failed, or no suitable interpreter exists."""


def uv_executable() -> str:
    """``$UV`` or ``uv`` from PATH."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        msg = "uv not found: install it or point $UV at it"
        raise UvError(msg)
    return uv


def run_uv(
    args: Sequence[str], *, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``uv <args>`` from the repository root; raise UvError on failure.

    The working directory is the repository root on purpose: a pyenv ``uv``
    shim picks its Python from the working directory's ``.python-version``
    and fails inside fixtures that pin 3.13. Use ``--directory`` instead.
    """
    full_env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", **(env or {})}
    argv = [uv_executable(), *args]
    completed = subprocess.run(
        argv, cwd=REPO_ROOT, env=full_env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        msg = f"{' '.join(argv)} failed ({completed.returncode}):\n{completed.stderr.strip()}"
        raise UvError(msg)
    return completed


def _real_executable(python: str) -> str | None:
    """``sys.executable`` of ``python``, resolving shims; None if it does not run."""
    try:
        completed = subprocess.run(
            [python, "-c", "import sys; print(sys.executable)"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() or None


def find_python(versions: Sequence[str]) -> str:
    """An interpreter for the first of ``versions`` (e.g. ``"3.13"``) found on this host.

    Tries uv's own discovery (system interpreters only, never a virtualenv such as
    the repository's .venv), then ``pythonX.Y`` on PATH, then pyenv's
    versions directory (pyenv shims only work where pyenv selects that version).
    """
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for version in versions:
        try:
            found = run_uv(["python", "find", "--system", "--no-project", version]).stdout.strip()
        except UvError:
            found = ""
        candidates = [found, shutil.which(f"python{version}") or ""]
        candidates += [
            str(path)
            for path in sorted(
                (pyenv_root / "versions").glob(f"{version}.*/bin/python{version}"), reverse=True
            )
        ]
        for candidate in filter(None, candidates):
            executable = _real_executable(candidate)
            if executable:
                return executable
    msg = f"no Python {' or '.join(versions)} interpreter found on this host"
    raise UvError(msg)
