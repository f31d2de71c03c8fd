"""uvdock's diffs apply with git: last lines without a newline, absolute paths, new files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from uvdock._diff import unified_diff


def _git_apply(root: Path, patch: str) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    done = subprocess.run(
        ["git", "apply", "--check", "--verbose", "-"],
        input=patch,
        text=True,
        capture_output=True,
        cwd=root,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("FROM a\nRUN x", "FROM a\nRUN y"),  # no newline at the end, before and after
        ("FROM a\nRUN x", "FROM a\nRUN y\n"),
        ("FROM a\nRUN x\n", "FROM a\nRUN y"),
        ("FROM a\r\nRUN x\r\n", "FROM a\r\nRUN y\r\n"),
    ],
)
def test_a_diff_applies_to_the_file_it_describes(before: str, after: str, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(before.encode())
    patch = unified_diff(before, after, "Dockerfile")
    assert "-RUN x+RUN y" not in patch  # the old last line ran into the new one
    _git_apply(tmp_path, patch)


def test_absolute_names_and_new_files(tmp_path: Path) -> None:
    patch = unified_diff("a\n", "b\n", "/abs/Dockerfile")
    assert patch.startswith("--- a/abs/Dockerfile\n+++ b/abs/Dockerfile\n")
    created = unified_diff(None, "FROM a\n", "Dockerfile")
    assert created.startswith("--- /dev/null\n+++ b/Dockerfile\n")
    _git_apply(tmp_path, created)
