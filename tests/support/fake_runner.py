"""A stand-in for ``uvdock._proc.run`` in unit tests of error paths real tools cannot produce."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from uvdock._proc import ProcessResult

__all__ = ["Answers", "FakeRunner"]

Answers = Mapping[tuple[str, ...], tuple[int, str, str]]


class FakeRunner:
    """Answers docker commands by their leading arguments; records every call."""

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.calls: list[tuple[str, ...]] = []

    def __call__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> ProcessResult:
        del env, cwd, timeout, on_line
        args = tuple(argv[1:])
        self.calls.append(args)
        for prefix, (code, out, err) in self.answers.items():
            if args[: len(prefix)] == prefix:
                return ProcessResult(argv=tuple(argv), returncode=code, stdout=out, stderr=err)
        return ProcessResult(argv=tuple(argv), returncode=1, stdout="", stderr="unknown command")
