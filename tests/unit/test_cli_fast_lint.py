"""`uvdock lint` without click: the plain command lines give what click gives, byte for byte.

``uvdock.cli.lint_run.plain_lint_args`` reads the common `uvdock lint` lines itself
so that one-file runs (editors, pre-commit) skip importing click; everything else
goes through click. Each line here runs both ways and must print, write and exit
the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from uvdock.cli import main as cli_main
from uvdock.cli.lint_run import plain_lint_args

DOCKERFILE = """\
FROM python:3.13-slim
COPY --from=ghcr.io/astral-sh/uv:latest /uv /bin/
WORKDIR /app
RUN uv sync --no-install-project
RUN apt-get update && apt-get install -y libpq5
CMD uvicorn app.main:app --host 0.0.0.0
"""

# {file} is a Dockerfile with findings of every severity, {dir} its directory,
# {missing} a path that is not there.
PLAIN = [
    ["lint", "{file}"],
    ["lint", "{file}", "--fail-level", "error"],
    ["lint", "--fail-level=info", "{file}"],
    ["lint", "{file}", "{file}"],
    ["lint", "--format", "json", "{file}"],
    ["lint", "--format=sarif", "{file}"],
    ["lint", "--format", "github", "{file}"],
    ["lint", "--select", "UV1", "--select=PY", "--ignore", "UV102,UV104", "{file}"],
    ["lint", "--select", "", "{file}"],
    ["lint", "--context", "{dir}", "{file}"],
    ["lint", "--context", "{missing}", "{file}"],
    ["lint", "--fix", "--diff", "{file}"],
    ["lint", "--diff", "--fix", "--fix", "{file}"],
    ["lint", "--fix", "{file}"],
    ["lint", "--diff", "{file}"],  # a usage error of uvdock's: exit 2
    ["lint", "{missing}"],
    ["lint", "{dir}"],
    ["lint", "--format", "json", "{missing}"],
    ["lint", "--select", "NOPE", "{file}"],
    ["lint", ""],
    ["lint"],  # the Dockerfiles of the current directory
]
# Lines that click must read: help, other options, bad or missing values, odd paths.
CLICK = [
    ["lint", "--help"],
    ["lint", "-h", "{file}"],
    ["lint", "--explain", "UV102"],
    ["lint", "--list-rules"],
    ["lint", "--format", "xml", "{file}"],
    ["lint", "--format", "JSON", "{file}"],
    ["lint", "--fail-level", "{file}"],
    ["lint", "{file}", "--fail-level"],
    ["lint", "--select", "--fix", "{file}"],
    ["lint", "--format", "json", "--format", "text", "{file}"],
    ["lint", "--context", "{file}", "{file}"],
    ["lint", "--fix=yes", "{file}"],
    ["lint", "--no-such-flag", "{file}"],
    ["lint", "--debug", "{file}"],
    ["lint", "--", "{file}"],
    ["lint", "-", "{file}"],
    ["lint", "-x"],
    ["--debug", "lint", "{file}"],
    ["plan", "--help"],
    ["--version"],
    [],
]


def _fill(argv: list[str], tmp_path: Path) -> list[str]:
    values = {
        "{file}": str(tmp_path / "Dockerfile"),
        "{dir}": str(tmp_path),
        "{missing}": str(tmp_path / "missing"),
    }
    return [values.get(a, a) for a in argv]


def _run(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[object, str, str, str]:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    with pytest.raises(SystemExit) as done:
        cli_main.main(_fill(argv, tmp_path))
    out, err = capsys.readouterr()
    return done.value.code, out, err, (tmp_path / "Dockerfile").read_text()


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_plain_lines_run_without_click_and_as_click_runs_them(
    argv: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert plain_lint_args(_fill(argv, tmp_path)) is not None
    plain = _run(argv, tmp_path, capsys)
    monkeypatch.setattr(cli_main, "plain_lint_args", lambda _args: None)
    assert plain == _run(argv, tmp_path, capsys)


@pytest.mark.parametrize("argv", CLICK, ids=" ".join)
def test_other_lines_go_through_click(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    assert plain_lint_args(_fill(argv, tmp_path)) is None


def test_shell_completion_goes_through_click(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_UVDOCK_COMPLETE", "bash_complete")
    assert plain_lint_args(["lint", str(tmp_path / "Dockerfile")]) is None


def test_unreadable_file_goes_through_click(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(DOCKERFILE)
    path.chmod(0)
    try:
        readable = os.access(path, os.R_OK)  # root reads anything
        assert (plain_lint_args(["lint", str(path)]) is None) == (not readable)
    finally:
        path.chmod(0o644)


def test_values_are_what_click_passes(tmp_path: Path) -> None:
    params = plain_lint_args(
        ["lint", "a", "--select", "UV1", "--context", str(tmp_path), "b", "--fix"]
    )
    assert params == {
        "files": (Path("a"), Path("b")),
        "context_dir": tmp_path,
        "output_format": "text",
        "fail_level": "warning",
        "select": ("UV1",),
        "ignore": (),
        "fix": True,
        "show_diff": False,
    }


def test_one_file_run_imports_neither_click_nor_rich(tmp_path: Path) -> None:
    """What keeps `uvdock lint FILE` quick: the heavy imports stay out of the plain run."""
    path = tmp_path / "Dockerfile"
    path.write_text(DOCKERFILE)
    code = (
        "import json, sys\n"
        "from uvdock.cli.main import main\n"
        "try:\n"
        "    main(['lint', sys.argv[1]])\n"
        "except SystemExit as done:\n"
        "    sys.stderr.write(json.dumps([done.code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    exit_code, modules = json.loads(done.stderr)
    assert exit_code == 1
    assert "UV102" in done.stdout
    heavy = {"click", "rich", "importlib.metadata", "uvdock.fileio", "traceback", "uvdock.plan"}
    assert heavy.isdisjoint(modules)


@pytest.mark.parametrize(
    "argv", [["lint", "{file}"], ["lint", "{file}", "--fail-level", "error", "--format", "json"]]
)
def test_a_process_ends_with_the_same_output_and_code(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m uvdock lint FILE` skips the interpreter's teardown: nothing is lost."""
    expected = _run(argv, tmp_path, capsys)[:3]
    done = subprocess.run(
        [sys.executable, "-m", "uvdock", *_fill(argv, tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == expected


def test_atexit_callbacks_still_run(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(DOCKERFILE)
    code = (
        "import atexit, sys\n"
        "from uvdock.cli.main import main\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        "sys.argv[1:] = ['lint', '--fail-level', 'error', sys.argv[1]]\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.endswith("atexit ran\n")
