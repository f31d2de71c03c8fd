"""The only module that runs external processes.

Everything else asks a ``Runner`` (injectable, so unit tests can replace it)
and gets ``ProcessResult`` values or uvdock errors back, never
``subprocess`` exceptions.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from uvdock.errors import ProcessFailedError, ToolNotFoundError


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProcessResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 30) -> str:
        """The last lines of the combined output, for error messages."""
        combined = self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr
        return "\n".join(combined.strip().splitlines()[-lines:])


class Runner(Protocol):
    def __call__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> ProcessResult: ...


def which(name: str) -> str | None:
    return shutil.which(name)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
) -> ProcessResult:
    """Run ``argv``; stream stderr lines to ``on_line`` when given (build progress)."""
    full_env = {**os.environ, **(env or {})}
    try:
        if on_line is None:
            done = subprocess.run(
                list(argv),
                capture_output=True,
                text=True,
                env=full_env,
                cwd=cwd,
                timeout=timeout,
                check=False,
            )
            return ProcessResult(
                argv=tuple(argv), returncode=done.returncode, stdout=done.stdout, stderr=done.stderr
            )
        with subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
            cwd=cwd,
        ) as process:
            assert process.stderr is not None  # noqa: S101 - PIPE was requested
            lines = []
            for line in process.stderr:
                lines.append(line)
                on_line(line.rstrip("\n"))
            stdout = process.stdout.read() if process.stdout else ""
            returncode = process.wait(timeout=timeout)
        return ProcessResult(
            argv=tuple(argv), returncode=returncode, stdout=stdout, stderr="".join(lines)
        )
    except FileNotFoundError as err:
        raise ToolNotFoundError(
            f"{argv[0]} not found", hint=f"install {Path(argv[0]).name} or put it on PATH"
        ) from err
    except subprocess.TimeoutExpired as err:
        raise ProcessFailedError(
            f"{' '.join(argv[:3])} ... did not finish within {timeout:.0f}s"
        ) from err


default_runner: Runner = run
