"""The README documents every setting and the test command CI runs; uvx works from source."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.support.paths import REPO_ROOT
from uvdock.config import OPTIONS

README = (REPO_ROOT / "README.md").read_text()


@pytest.mark.parametrize("spec", OPTIONS, ids=lambda spec: spec.name)
def test_readme_documents_setting(spec: object) -> None:
    key, env, flag = spec.key, spec.env, spec.flag  # type: ignore[attr-defined]
    row = next((line for line in README.splitlines() if line.startswith(f"| `{key}` |")), None)
    assert row is not None, f"README configuration table lacks {key}"
    assert f"`{flag}" in row
    assert f"`{env}`" in row


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci
    assert "scripts/test.sh        # all the tests" in README


def test_uvx_from_source() -> None:
    uvx = shutil.which("uvx")
    assert uvx, "uvx not found (it ships with uv)"
    done = subprocess.run(
        [uvx, "--from", str(REPO_ROOT), "uvdock", "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("uvdock, version ")
