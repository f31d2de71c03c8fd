"""How `uvdock lint` time grows with the input: 1x, 10x and 100x of three shapes.

A linter that is linear takes about 10 times as long for 10 times the input; a
quadratic one takes 100 times as long. The shapes are the ones that were
super-linear (issue 12): a long chain of stages built FROM each other (every
rule that walks a stage's lineage), many RUN lines in one stage (rules that
looked back over earlier RUNs for each one), and a file where every line gets
a fix (`--fix`). Times are in-process (parse, analyse, fix), medians of 3.

    uv run --project . python benchmarks/lint_growth.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from uvdock.lint.engine import LintConfig, apply_fixes, lint_text


def chain(n: int) -> str:
    lines = ["FROM python:3.13-slim AS s0"]
    for i in range(1, n):
        lines += [f"FROM s{i - 1} AS s{i}", f"ENV V{i}={i}", f"RUN uv pip install --system x=={i}"]
    return "\n".join(lines) + "\n"


def runs(n: int) -> str:
    body = [f"RUN echo {i} && apt-get install -y pkg{i}" for i in range(n)]
    return "\n".join(["FROM python:3.13-slim", *body]) + "\n"


def fixes(n: int) -> str:
    body = [f"RUN apt-get install -y pkg{i} && uv sync" for i in range(n)]
    return "\n".join(["FROM python:3.13-slim", "COPY uv.lock pyproject.toml ./", *body]) + "\n"


def lint(text: str) -> None:
    lint_text(text, config=LintConfig())


def lint_and_fix(text: str) -> None:
    apply_fixes(text, lint_text(text, config=LintConfig()))


def median_seconds(action: Callable[[str], None], text: str) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        action(text)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    cases = [("stage chain", chain, 40, lint), ("RUN lines", runs, 30, lint),
             ("--fix on every line", fixes, 30, lint_and_fix)]  # fmt: skip
    print(f"{'shape':<22}{'1x':>10}{'10x':>10}{'100x':>10}  growth per 10x")
    for name, make, base, action in cases:
        seconds = [median_seconds(action, make(base * factor)) for factor in (1, 10, 100)]
        growth = (seconds[1] / seconds[0], seconds[2] / seconds[1])
        print(
            f"{name:<22}" + "".join(f"{s:>9.3f}s" for s in seconds)
            + f"  {growth[0]:.1f}x, {growth[1]:.1f}x"
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
