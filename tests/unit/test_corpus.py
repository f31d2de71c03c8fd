"""The plan of every corpus case (issue 10): its facts, and its text kept as a golden file.

Plans read files only, so these run without Docker; the builds are in
``tests/integration/test_corpus.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.corpus import CASES, CORPUS_DIR, Case
from tests.support.paths import REPO_ROOT
from uvdock.api import init_project
from uvdock.lint.api import lint_paths

GOLDEN = REPO_ROOT / "tests" / "golden" / "corpus"


def uvdock_plan(case: Case, *extra: str, cache: Path) -> tuple[int, str, str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
    env = {k: v for k, v in env.items() if not k.startswith("UVDOCK_")}
    env["XDG_CACHE_HOME"] = str(cache)  # a fresh cache: sdists are read, not remembered
    if not case.online:
        env["UVDOCK_OFFLINE"] = "1"  # unit tests read no sdist from PyPI
    done = subprocess.run(
        [sys.executable, "-m", "uvdock", "plan", case.target, *case.options, *extra],
        cwd=CORPUS_DIR / case.shape,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return (
        done.returncode,
        done.stdout.replace(str(REPO_ROOT), "<repo>"),
        done.stderr.replace(str(REPO_ROOT), "<repo>"),
    )


@pytest.fixture
def servers_if_online(request: pytest.FixtureRequest) -> None:
    case: Case = request.getfixturevalue("case")
    if case.online:
        request.getfixturevalue("fixture_servers")  # the local index serves its sdist


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.usefixtures("servers_if_online")
def test_plan(case: Case, tmp_path: Path) -> None:
    code, out, _ = uvdock_plan(case, "--format", "json", cache=tmp_path)
    envelope = json.loads(out)
    data: dict[str, Any] | None = envelope["data"]
    if data is None:  # refused before a plan could be made: one error line
        assert code == 2
        assert case.plan_error is not None, envelope["errors"]
        assert case.plan_error in envelope["errors"][0]["message"]
        return
    errors = [p for p in data["problems"] if p["severity"] == "error"]
    assert data["python"]["value"] == case.python
    if case.plan_error is not None:
        assert code == 2
        assert errors, data["problems"]
        assert case.plan_error in errors[0]["message"], errors[0]
        if case.argv is not None:  # what was found still shows, for the user to see
            assert tuple(data["entrypoint"]["argv"]) == case.argv
        return
    assert code == 0, errors
    lock = data["project"]["lock"]
    assert (lock["state"] if lock else "none") == case.lock_state
    assert data["platforms"] == list(case.platforms)
    if case.argv is not None:
        assert tuple(data["entrypoint"]["argv"]) == case.argv
    if case.sync is not None:
        assert tuple(data["sync"]) == case.sync
    notes = " | ".join(data["project"]["notes"])
    for note in case.notes:
        assert note in notes


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.usefixtures("servers_if_online")
def test_plan_text(case: Case, update_golden: bool, tmp_path: Path) -> None:
    _, out, err = uvdock_plan(case, cache=tmp_path)
    out = out + err  # a refused plan is one line on stderr
    path = GOLDEN / f"{case.name}.txt"
    if update_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(out)
    assert out == path.read_text(), f"{path.name} differs; --update-golden"


LINTED = [c for c in CASES if c.plan_error is None and c.lock_state != "none"]


@pytest.mark.parametrize("case", LINTED, ids=lambda c: c.id)
@pytest.mark.parametrize("approach", ["custom", "official"])
def test_generated_files_lint_clean(case: Case, approach: str, tmp_path: Path) -> None:
    """What `uvdock init` writes for each shape gets no finding from uvdock lint (with the
    build context and the ignore file BuildKit would use) nor from hadolint."""
    root = tmp_path / case.shape
    shutil.copytree(CORPUS_DIR / case.shape, root)
    target = root / case.target
    options = dict(_options(case.options), approach=approach, offline=True)
    result = init_project(target, options=options, regenerate="uvdock init", force=True)
    context = result.plan.project.context
    for name in ("Dockerfile", "Dockerfile.dev"):
        results = lint_paths([target / name], context_dir=context)
        findings = [f"{f.code} {f.span}: {f.message}" for r in results for f in r.findings]
        assert findings == [], (name, findings)
        executable = shutil.which("hadolint")
        assert executable is not None
        done = subprocess.run([executable, "--no-fail", "--format", "json", str(target / name)],
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert json.loads(done.stdout or "[]") == [], (name, done.stdout)


def _options(flags: tuple[str, ...]) -> dict[str, str]:
    """``("--package", "x")`` as the settings they set (the corpus uses only valued flags)."""
    return {flags[i].removeprefix("--").replace("-", "_"): flags[i + 1]
            for i in range(0, len(flags), 2)}  # fmt: skip
