"""Property: ``uvdock lint --fix`` never breaks a Dockerfile.

For every Dockerfile of the repository's corpora (each rule's examples, the
guide's Dockerfiles, the examples, fixtures and generated goldens, the
benchmark contenders, and the real shapes of :mod:`tests.support.lint_shapes`),
with every rule's fixes applied:

- the result parses with no diagnostic the original did not have;
- every ``uv`` command line a fix changed is accepted by the real uv's own
  argument parser (``uv --directory <missing> ARGS``: uv checks the arguments,
  conflicts such as ``--locked`` with ``--frozen`` included, before it fails to
  enter the directory);
- fixing the result again changes nothing.

That a fixture which built still builds after the fixes is checked on the real
engine in ``tests/integration/test_lint_fixes.py``.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import lint_shapes
from tests.support.paths import GUIDE, REPO_ROOT
from uvdock.dockerfile import parse_dockerfile
from uvdock.lint.context import load_context
from uvdock.lint.engine import LintConfig, apply_fixes, lint_dockerfile
from uvdock.lint.rules import RULES
from uvdock.lint.rules.base import Analysis
from uvdock.lint.rules.words import program, uv_subcommand

PREFIX = "FROM python:3.13-slim-trixie\nWORKDIR /app\n"
DOCKERFILE_NAMES = re.compile(r"(^|/)(Dockerfile(\.[\w.-]+)?|[\w.-]+\.Dockerfile)$")


def _as_dockerfile(fragment: str) -> str:
    return fragment + "\n" if re.search(r"^FROM ", fragment, re.MULTILINE) else PREFIX + fragment


def _files() -> list[tuple[str, str, Path | None]]:
    found: list[tuple[str, str, Path | None]] = []
    for folder in ("examples", "tests/fixtures", "tests/golden", "benchmarks"):
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            if path.is_file() and DOCKERFILE_NAMES.search(relative) and ".venv" not in relative:
                if path.name.endswith(".dockerignore"):
                    continue
                found.append((relative, path.read_text(encoding="utf-8"), path.parent))
    return found


def _guide() -> list[tuple[str, str, Path | None]]:
    if not GUIDE.is_file():
        return []
    text = GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"```dockerfile\n(.*?)```", text, re.DOTALL)
    return [
        (f"guide[{i}]", _as_dockerfile("\n".join(x.strip(" ") for x in b.splitlines())), None)
        for i, b in enumerate(blocks)
    ]


def _examples() -> list[tuple[str, str, Path | None]]:
    return [
        (f"{r.info.code}.{kind}", _as_dockerfile(getattr(r.info, kind)), None)
        for r in RULES
        for kind in ("bad", "good")
    ]


SHAPES_CONTEXT = "shapes"  # marker: lint the shapes against a written uv project


def _shapes() -> list[tuple[str, str, Path | None]]:
    return [
        (f"shape:{name}", lint_shapes.render(name), Path(SHAPES_CONTEXT))
        for name in lint_shapes.SHAPES
    ]


CORPUS = _files() + _guide() + _examples() + _shapes()


@functools.cache
def _uv() -> str:
    found = shutil.which("uv")
    if found is None:
        pytest.fail("uv is not on PATH: scripts/test.sh puts the pinned uv there")
    return found


def _uv_lines(text: str) -> set[tuple[tuple[str, ...], tuple[tuple[str, str], ...]]]:
    """Every uv command line of ``text`` the linter can read fully: (argv, UV_* environment)."""
    dockerfile = parse_dockerfile(text)
    analysis = Analysis(dockerfile, load_context(None))
    lines = set()
    for _, command in analysis.commands:
        words = command.words
        if program(words) != "uv" or uv_subcommand(words) is None or command.opaque:
            continue
        env = tuple(sorted((k, v) for k, v in command.env.items() if k.startswith("UV_")))
        lines.add((words[1:], env))
    return lines


@functools.cache
def _uv_accepts(args: tuple[str, ...], env: tuple[tuple[str, str], ...]) -> bool:
    missing = "/nonexistent/uvdock-lint-check"
    done = subprocess.run(
        [_uv(), "--directory", missing, *args],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent", **dict(env)},
        timeout=30,
    )
    # clap's usage errors end with this line; anything else is uv failing later.
    return "For more information, try '--help'." not in done.stderr


def _fixed(text: str, context: Path | None) -> str:
    dockerfile = parse_dockerfile(text)
    findings = lint_dockerfile(dockerfile, load_context(context), LintConfig())
    result, _ = apply_fixes(text, findings)
    return result


@pytest.mark.parametrize(("name", "text", "context"), CORPUS, ids=[c[0] for c in CORPUS])
def test_fixes_keep_the_dockerfile_valid(
    name: str, text: str, context: Path | None, tmp_path: Path
) -> None:
    if context == Path(SHAPES_CONTEXT):
        context = lint_shapes.write_context(tmp_path / "context")
    findings = lint_dockerfile(parse_dockerfile(text), load_context(context), LintConfig())
    assert "UV999" not in {f.code for f in findings}, [f.message for f in findings]
    result = _fixed(text, context)
    if result == text:
        return
    before = {d.message for d in parse_dockerfile(text).diagnostics}
    after = {d.message for d in parse_dockerfile(result).diagnostics}
    assert after <= before, f"{name}: the fix added parse errors {sorted(after - before)}"
    for args, env in sorted(_uv_lines(result) - _uv_lines(text)):
        assert _uv_accepts(args, env), f"{name}: uv rejects the fixed `uv {' '.join(args)}`"
    assert _fixed(result, context) == result, f"{name}: a second --fix changes more"


def test_the_corpus_is_large_and_fixes_happen(tmp_path: Path) -> None:
    """Guards the property test itself: the corpus is there and many fixes apply."""
    context = lint_shapes.write_context(tmp_path / "context")
    changed = 0
    for _, text, where in CORPUS:
        changed += _fixed(text, context if where == Path(SHAPES_CONTEXT) else where) != text
    assert len(CORPUS) >= 100
    assert changed >= 30


def test_the_uv_check_rejects_what_uv_rejects() -> None:
    assert _uv_accepts(("sync", "--locked", "--no-dev"), ())
    assert not _uv_accepts(("sync", "--locked", "--frozen"), ())
    assert not _uv_accepts(("sync", "--no-such-option"), ())


def test_the_option_table_is_uvs() -> None:
    """``src/uvdock/lint/options.py`` lists every uv option that takes a value, as the
    uv on PATH prints them (regenerate with scripts/gen_uv_options.py)."""
    from uvdock.lint.options import UV_OPTIONS_WITH_VALUE  # noqa: PLC0415

    version = subprocess.run([_uv(), "--version"], capture_output=True, text=True, check=True)
    table = (REPO_ROOT / "src" / "uvdock" / "lint" / "options.py").read_text(encoding="utf-8")
    assert version.stdout.split("(")[0].strip() in table, "run scripts/gen_uv_options.py"
    for option in ("--index-strategy", "--requirements", "--python", "--with", "--extra"):
        assert option in UV_OPTIONS_WITH_VALUE
    for flag in ("--system", "--locked", "--no-dev", "--no-cache"):
        assert flag not in UV_OPTIONS_WITH_VALUE


# Words real RUN lines are made of, for the rules' fuzz test below.
_RUN_WORDS = [
    "uv", "pip", "install", "sync", "run", "lock", "export", "venv", "tool", "uvx", "python",
    "-m", "--system", "-r", "--requirements", "--requirement", "--requirement=r.txt",
    "requirements.txt", "pyproject.toml", "-e", ".", "--frozen", "--locked", "--no-dev",
    "--package", "--group", "--no-group", "dev", "--only-group", "--index-strategy",
    "--no-cache", "--no-cache-dir", "--link-mode=copy", "--python", "3.12", "flask",
    "flask==3.0.0", "git+https://github.com/o/r@main", "$ARGS", "${FLAGS}", "ARGS=--frozen",
    "&&", "||", ";", "|", "true", "sh", "-c", "'uv", "sync'", "export", "UV_FROZEN=1",
    "apt-get", "apk", "add", "--no-cache", "-y", "curl", "rm", "-rf", "uv.lock", "/root/.cache",
    "chmod", "1777", "777", "/tmp", "gosu", "exec", ">", "/dev/null", "\\\n", "<<EOF",
]  # fmt: skip
_PROGRAMS = [
    "uv sync", "uv pip install", "uv pip sync", "uv run", "uv lock", "uv export", "uv venv",
    "uv tool install", "uvx", "pip install", "python -m pip install", "apt-get install",
    "apk add", "chmod", "rm -rf", "sh -c", "export", "ARGS=--frozen", "uv --no-cache sync",
]  # fmt: skip
_INSTRUCTIONS = [
    "FROM python:3.13-slim AS a", "FROM a", "FROM ghcr.io/astral-sh/uv:python3.12-alpine",
    "WORKDIR /app", "USER 10001", "USER root", "ENV UV_NO_DEV=1", "ARG FLAGS", "ARG TOKEN",
    "COPY . .", "COPY pyproject.toml uv.lock* ./", "COPY --from=a /app/.venv /app/.venv",
    "COPY --from=a /usr/local/lib/python3.13/site-packages /s", "CMD python -m app",
    'CMD ["uv", "run", "app"]', "ENTRYPOINT ./entrypoint.sh", "ENV PYTHONBUFFERED=1",
    "RUN --mount=type=cache,target=/root/.cache uv sync",
    "RUN --mount=type=bind,source=uv.lock,target=uv.lock uv sync --no-install-project",
]  # fmt: skip


@st.composite
def _dockerfiles(draw: st.DrawFn) -> str:
    lines = ["FROM python:3.13-slim"]
    for _ in range(draw(st.integers(1, 10))):
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(_INSTRUCTIONS)))
        else:
            commands = []
            for _ in range(draw(st.integers(1, 3))):
                head = draw(st.sampled_from(_PROGRAMS))
                words = draw(st.lists(st.sampled_from(_RUN_WORDS), max_size=8))
                commands.append(" ".join([head, *words]))
            separator = draw(st.sampled_from([" && ", "; ", " || ", " | "]))
            lines.append("RUN " + separator.join(commands))
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_dockerfiles())
def test_no_rule_fails_on_real_words_in_any_order(text: str) -> None:
    """Every rule reads any mix of real Dockerfile words without an error (UV999), and its
    fixes keep the file parsable, against a uv project context."""
    context = _FUZZ_CONTEXT
    findings = lint_dockerfile(parse_dockerfile(text), load_context(context), LintConfig())
    failed = [f.message for f in findings if f.code == "UV999"]
    assert not failed, failed
    result, _ = apply_fixes(text, findings)
    assert len(parse_dockerfile(result).diagnostics) <= len(parse_dockerfile(text).diagnostics)


_FUZZ_CONTEXT = lint_shapes.write_context(
    Path(__import__("tempfile").mkdtemp(prefix="uvdock-lint-fuzz-")) / "context"
)
(_FUZZ_CONTEXT / "requirements.txt").write_text("flask==3.0.0\n")
(_FUZZ_CONTEXT / "entrypoint.sh").write_text("#!/bin/sh\nuvicorn app:app\n")


def test_a_failing_rule_is_one_finding_and_the_others_still_run() -> None:
    """A bug in one rule (a fake rule here: real rules must not fail) costs its own check,
    not the file: the user sees UV999 and every other finding."""
    from uvdock.lint.findings import RuleInfo  # noqa: PLC0415
    from uvdock.lint.rules.base import Rule  # noqa: PLC0415

    def broken(_: Analysis) -> list[object]:
        raise IndexError("list index out of range")

    info = RuleInfo(code="UV998", slug="broken", severity="warning", summary="s", why="w",
                    bad="b", good="g", source="test")  # fmt: skip
    rules = [Rule(info=info, check=broken), *RULES]  # type: ignore[arg-type]
    text = PREFIX + "RUN uv sync\n"
    found = lint_dockerfile(parse_dockerfile(text), load_context(None), LintConfig(), rules=rules)
    codes = {f.code for f in found}
    assert "UV999" in codes
    assert "UV102" in codes
