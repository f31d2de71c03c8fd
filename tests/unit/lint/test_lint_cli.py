"""`uvdock lint` from the command line, and the engine's suppressions, config and fixes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from uvdock.cli.main import main
from uvdock.dockerfile.syntax import Span
from uvdock.lint.engine import LintConfig, apply_fixes, lint_text
from uvdock.lint.findings import Edit, Finding
from uvdock.lint.rules import RULES

CopyProject = Callable[[str], Path]

GUIDE_LIKE = """\
FROM ghcr.io/astral-sh/uv:latest AS uv
FROM python:3.13-slim-trixie
COPY --from=uv /uv /bin/
WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/uv \\
    --mount=type=bind,source=uv.lock,target=uv.lock \\
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\
    uv sync --no-install-project
RUN apt-get update && apt-get install -y libpq5 && rm -rf /var/lib/apt/lists/*
USER 10001
ENV PYTHONUNBUFFERED=1
CMD uvicorn app.main:app --host 0.0.0.0
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    out, err = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 1), out, err


def write(tmp_path: Path, text: str = GUIDE_LIKE) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return path


def test_text_output_points_at_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path)
    code, out, _ = run(["lint", str(path)], capsys)
    assert code == 1
    assert f"{path}:8:5: UV102 [warning]" in out  # `uv sync` without --locked
    assert "^" in out
    assert "fix available" in out


def test_clean_file_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GUIDE_LIKE.replace("uv:latest", "uv:0.13.9").replace(
        "uv sync --no-install-project", "uv sync --locked --no-install-project --no-dev"
    )
    text = text.replace("install -y libpq5", "install -y --no-install-recommends libpq5")
    text = text.replace(
        "CMD uvicorn app.main:app --host 0.0.0.0", 'CMD ["uvicorn", "app.main:app"]'
    )
    text = text.replace(
        "COPY --from=uv /uv /bin/", "COPY --from=uv /uv /bin/\nENV UV_LINK_MODE=copy"
    )
    code, out, _ = run(["lint", str(write(tmp_path, text))], capsys)
    assert (code, out.strip().splitlines()[-1]) == (0, "no problems in 1 file")


def test_fail_level(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "FROM python:3.13-slim\nUSER 10001\nRUN apt-get update && rm -rf /var/lib/apt/lists/*\n"
    path = write(tmp_path, text + "RUN apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n")
    assert run(["lint", str(path)], capsys)[0] == 0  # only PY211, an info
    assert run(["lint", str(path), "--fail-level", "info"], capsys)[0] == 1


def test_json_envelope(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["lint", str(write(tmp_path)), "--format", "json"], capsys)
    envelope = json.loads(out)
    assert code == 1
    assert envelope["command"] == "lint"
    assert envelope["status"] == "error"
    found = {(f["code"], f["line"]) for f in envelope["data"]["findings"]}
    assert {("UV101", 1), ("UV102", 8), ("PY201", 12), ("PY211", 9)} <= found


def test_sarif_and_github(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["lint", str(write(tmp_path)), "--format", "sarif"], capsys)
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"UV101", "UV102"}
    _, out, _ = run(["lint", str(write(tmp_path)), "--format", "github"], capsys)
    assert "::warning file=" in out
    assert "title=UV102" in out


def test_select_and_ignore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path)
    _, out, _ = run(["lint", str(path), "--format", "json", "--select", "UV1"], capsys)
    codes = {f["code"] for f in json.loads(out)["data"]["findings"]}
    assert codes
    assert all(c.startswith("UV1") for c in codes)
    _, out, _ = run(["lint", str(path), "--format", "json", "--ignore", "UV102,PY2"], capsys)
    codes = {f["code"] for f in json.loads(out)["data"]["findings"]}
    assert "UV102" not in codes
    assert not any(c.startswith("PY2") for c in codes)


def test_config_in_pyproject(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "1"\n\n'
        '[tool.uvdock.lint]\nignore = ["UV101"]\nseverity = {PY211 = "error"}\n'
        'trusted-registries = ["registry.example.com"]\n'
    )
    _, out, _ = run(["lint", str(path), "--format", "json"], capsys)
    found = {f["code"]: f["severity"] for f in json.loads(out)["data"]["findings"]}
    assert "UV101" not in found
    assert found["PY211"] == "error"
    assert found["PY217"] == "warning"  # ghcr.io and docker.io are not trusted
    (tmp_path / "pyproject.toml").write_text('[tool.uvdock.lint]\nseverity = {UV999 = "error"}\n')
    code, _, err = run(["lint", str(path)], capsys)
    assert code == 2
    assert "pyproject.toml:1" in err
    assert "UV999" in err


def test_suppressions() -> None:
    text = GUIDE_LIKE.replace(
        "RUN apt-get update", "# uvdock: ignore=PY211 libpq5 has no recommends\nRUN apt-get update"
    )
    text = text.replace("CMD uvicorn", "# hadolint ignore=DL3025\nCMD uvicorn")
    codes = {f.code for f in lint_text(text)}
    assert "PY211" not in codes
    assert "PY201" not in codes
    assert "UV102" in codes
    everything = "# check=skip=all\n" + GUIDE_LIKE
    assert lint_text(everything) == []
    file_wide = GUIDE_LIKE + "# uvdock: global ignore=UV101\n"
    assert "UV101" not in {f.code for f in lint_text(file_wide)}


def test_fix_is_exact_and_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GUIDE_LIKE.replace("\n", "\r\n"))
    # The context the fixes rely on: a uv.lock (--locked) and a dev group (--no-dev).
    (tmp_path / "uv.lock").write_text("version = 1\n")
    (tmp_path / "pyproject.toml").write_text('[dependency-groups]\ndev = ["pytest"]\n')
    before = path.read_bytes()
    code, out, _ = run(["lint", str(path), "--fix", "--diff"], capsys)
    assert code == 0
    assert path.read_bytes() == before  # --diff writes nothing
    assert "+    uv sync --locked --link-mode=copy --no-dev --no-install-project" in out
    run(["lint", str(path), "--fix"], capsys)
    fixed = path.read_bytes()
    assert b"\r\n" in fixed
    assert b"FROM ghcr.io/astral-sh/uv:0.13.9 AS uv" in fixed
    assert b'CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0"]' in fixed
    assert b"apt-get install --no-install-recommends -y libpq5" in fixed
    # Only the fixed spans changed: every other line is byte-identical.
    changed = [
        a for a, b in zip(before.split(b"\r\n"), fixed.split(b"\r\n"), strict=True) if a != b
    ]
    assert len(changed) == 4  # the uv image, uv sync, apt-get and CMD lines
    run(["lint", str(path), "--fix"], capsys)
    assert path.read_bytes() == fixed  # idempotent
    remaining = {f.code for f in lint_text(fixed.decode())}
    assert not remaining & {"UV101", "UV102", "UV105", "PY201", "PY211"}


def test_insertions_at_one_point_merge_in_rule_order() -> None:
    text = (
        "FROM python:3.13-slim\nCOPY pyproject.toml uv.lock ./\n"
        "RUN --mount=type=cache,target=/root/.cache/uv uv sync\n"
    )
    findings = lint_text(text, config=LintConfig(select=("UV102", "UV105", "UV107")))
    fixed, applied = apply_fixes(text, findings)
    assert applied == 1
    assert fixed.endswith("uv sync --locked --link-mode=copy --no-dev\n")


def test_overlapping_edits_wait_for_the_next_pass() -> None:
    info = RULES[0].info
    span = Span(start_line=1, start_col=1, end_line=1, end_col=5)
    inner = Span(start_line=1, start_col=3, end_line=1, end_col=4)
    findings = [
        Finding(rule=info, severity="info", message="a", path="D", span=span,
                fix=(Edit(span=span, text="WXYZ"),)),
        Finding(rule=info, severity="info", message="b", path="D", span=inner,
                fix=(Edit(span=inner, text="q"),)),
    ]  # fmt: skip
    fixed, applied = apply_fixes("abcdef\n", findings)
    assert applied == 1
    assert fixed in ("WXYZef\n", "abqdef\n")


def test_explain_and_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["lint", "--explain", "uv102"], capsys)
    assert code == 0
    assert out.startswith("# UV102 `sync-without-lock`")
    assert "## Why" in out
    code, out, _ = run(["lint", "--explain", "DL3025"], capsys)  # an alias finds the rule
    assert out.startswith("# PY201")
    code, out, _ = run(["lint", "--list-rules"], capsys)
    assert "UV102  sync-without-lock" in out
    code, _, err = run(["lint", "--explain", "NOPE1"], capsys)
    assert code == 2
    assert "no rule 'NOPE1'" in err


def test_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["lint"], capsys)
    assert code == 2
    assert "no Dockerfile here" in err
    code, _, err = run(["lint", "missing/Dockerfile"], capsys)
    assert code == 2
    assert "missing/Dockerfile: no such file" in err
    code, _, err = run(["lint", "--diff"], capsys)
    assert code == 2


def test_no_files_lints_the_project(
    project_copy: CopyProject, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project_copy("fastapi-app")
    monkeypatch.chdir(root)
    code, out, _ = run(["lint"], capsys)
    assert (code, out.strip().splitlines()[-1]) == (0, "no problems in 3 files")


def test_binary_and_broken_input_do_not_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"\x00\x01FROM \xff\xfe python\nRUN <<EOF\necho unterminated\n")
    code, out, err = run(["lint", str(path)], capsys)
    assert code == 1
    assert "UV000" in out
    assert "Traceback" not in err


def test_pre_commit_hook_definition() -> None:
    import re  # noqa: PLC0415

    import yaml  # noqa: PLC0415

    from tests.support.paths import REPO_ROOT  # noqa: PLC0415

    [hook] = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "uvdock-lint"
    assert hook["entry"] == "uvdock lint"
    assert hook["language"] == "python"
    pattern = re.compile(hook["files"])
    for name in ("Dockerfile", "docker/Dockerfile.prod", "api.Dockerfile", "x/web.dockerfile"):
        assert pattern.search(name), name
    for name in ("Dockerfile.py/x.txt", "README.md", "dockerfiles/notes.txt"):
        assert not pattern.search(name), name


def test_fix_keeps_mixed_line_endings_byte_for_byte() -> None:
    """Only the fixed span changes: a file mixing LF and CRLF keeps each line's ending."""
    text = "FROM python:3.13-slim\r\nWORKDIR /app\nRUN apt-get install -y curl\r\nUSER 1\n"
    findings = lint_text(text, config=LintConfig(select=("PY211",)))
    fixed, applied = apply_fixes(text, findings)
    assert applied == 1
    assert fixed == text.replace("install -y", "install --no-install-recommends -y")


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_an_unknown_rule_code_is_a_usage_error(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--select UV1O2` used to turn every rule off and report a clean file."""
    path = write(tmp_path)
    code, _, err = run(["lint", str(path), option, "UV1O2"], capsys)
    assert code == 2
    assert "names no rule: 'UV1O2'" in err
    assert run(["lint", str(path), option, "UV1,PY2,DL3042,sync-without-lock"], capsys)[0] != 2


def test_an_unknown_rule_code_in_pyproject_is_a_config_error() -> None:
    from uvdock.errors import ConfigError  # noqa: PLC0415
    from uvdock.lint.engine import config_from_table  # noqa: PLC0415

    with pytest.raises(ConfigError, match="select names no rule: 'UV9999'"):
        config_from_table({"select": ["UV9999"]}, where="pyproject.toml")


def test_a_fifo_or_a_device_is_refused_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A FIFO would block the read forever and /dev/zero would fill the memory."""
    fifo = tmp_path / "Dockerfile"
    os.mkfifo(fifo)
    code, _, err = run(["lint", str(fifo)], capsys)
    assert code == 2
    assert "not a regular file" in err
    zero = tmp_path / "zero.Dockerfile"
    zero.symlink_to("/dev/zero")
    code, _, err = run(["lint", str(zero)], capsys)
    assert code == 2
    assert "not a regular file" in err


def test_project_files_that_are_fifos_are_skipped(tmp_path: Path) -> None:
    """The rules read context files (a member's pyproject.toml, scripts, requirements):
    a FIFO among them is skipped, never read (the lint would hang)."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    (tmp_path / "uv.lock").write_text("version = 1\n")
    (tmp_path / "member").mkdir()
    os.mkfifo(tmp_path / "member" / "pyproject.toml")
    os.mkfifo(tmp_path / "requirements.txt")
    os.mkfifo(tmp_path / "run.sh")
    text = (
        "FROM python:3.13-slim\nCOPY . /app\nRUN uv sync --locked --package member\n"
        'RUN uv pip install --system -r requirements.txt\nCMD ["./run.sh"]\n'
    )
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "uvdock", "lint", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr


def test_fix_refuses_what_it_cannot_write_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Dockerfile that is a symlink would become a file, latin-1 bytes would become
    U+FFFD: --fix refuses before writing anything, and every file stays as it was."""
    target = tmp_path / "docker" / "Dockerfile"
    target.parent.mkdir()
    target.write_text(GUIDE_LIKE)
    link = tmp_path / "Dockerfile"
    link.symlink_to(target)
    latin = tmp_path / "latin.Dockerfile"
    latin.write_bytes(b"# caf\xe9\n" + GUIDE_LIKE.encode())
    before = {p: p.read_bytes() for p in (target, latin)}
    for path in (link, latin):
        code, _, err = run(["lint", str(path), "--fix"], capsys)
        assert code == 2
        assert "symbolic link" in err or "not UTF-8" in err
    assert link.is_symlink()
    assert {p: p.read_bytes() for p in (target, latin)} == before
    code, out, _ = run(["lint", str(latin), "--fix", "--diff"], capsys)
    assert "--no-install-recommends" in out  # the diff still shows what --fix would do
