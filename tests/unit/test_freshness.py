"""uvdock's uv.lock freshness check against uv's own ``uv lock --check``.

Every directory under ``tests/fixtures/locks/`` (written by
``tests/support/make_lock_cases.py``) is a project and a lock; ``CASES`` below
says what uv answers and what uvdock answers. uvdock must answer the same as
uv, except that it may say "unknown" (never for more than ``MAX_UNKNOWN``
cases). The uv on this machine is run for real, offline, on a copy of each
case; only the git case that needs a fetch talks to a server (the local git
server, on a free port of 127.0.0.1), and any other address is behind a dead
proxy.
"""

from __future__ import annotations

import functools
import importlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from tests.support._uv import find_python
from tests.support.git_server import GitHTTPServer, create_greeting_git_repo
from tests.support.make_lock_cases import CASES as DEFINITIONS
from tests.support.make_lock_cases import LOCKS_DIR
from uvdock.project.freshness import Freshness, check_freshness, check_workspace_freshness

UvVerdict = Literal["fresh", "stale"]

#: case -> (uv 0.13.9's verdict, uvdock's verdict)
CASES: dict[str, tuple[UvVerdict, Literal["fresh", "stale", "unknown"]]] = {
    "rp-range-locked-as-eq-star": ("fresh", "fresh"),
    "rp-eq-star-rewritten-as-range": ("fresh", "fresh"),
    "rp-lower-bound-raised": ("stale", "stale"),
    "rp-compatible-release": ("fresh", "fresh"),
    "rp-compatible-release-dropped": ("stale", "stale"),
    "rp-compatible-patch-as-range": ("fresh", "fresh"),
    "rp-exclusion-added": ("fresh", "fresh"),
    "rp-greater-than": ("fresh", "fresh"),
    "rp-greater-than-to-ge": ("stale", "stale"),
    "rp-trailing-zero": ("fresh", "fresh"),
    "rp-patch-lower-bound-raised": ("stale", "stale"),
    "rp-exact-patch": ("fresh", "fresh"),
    "rp-patch-upper-bound-changed": ("stale", "stale"),
    "rp-upper-bound-added": ("stale", "stale"),
    "rp-le-is-not-lt-next": ("stale", "stale"),
    "rp-workspace-intersection": ("fresh", "fresh"),
    "rp-workspace-member-lowered": ("stale", "stale"),
    "dep-added": ("stale", "stale"),
    "dep-removed": ("stale", "stale"),
    "dep-specifier-equivalent": ("fresh", "fresh"),
    "dep-specifier-changed": ("stale", "stale"),
    "dep-marker-added": ("stale", "stale"),
    "dep-marker-implied-by-requires-python": ("fresh", "fresh"),
    "dep-marker-respelled": ("fresh", "fresh"),
    "dep-path-specifier-ignored": ("fresh", "fresh"),
    "extra-added": ("stale", "stale"),
    "extra-removed": ("stale", "stale"),
    "extra-empty-added": ("stale", "stale"),
    "extra-empty-added-lock-v1": ("fresh", "fresh"),
    "group-changed": ("stale", "stale"),
    "group-include-inlined": ("fresh", "fresh"),
    "group-included-changed": ("stale", "stale"),
    "legacy-dev-dependencies-moved": ("fresh", "fresh"),
    "legacy-dev-dependencies-changed": ("stale", "stale"),
    "default-groups-changed": ("stale", "stale"),
    "default-groups-changed-lock-rev3": ("fresh", "fresh"),
    "source-path-made-editable": ("stale", "stale"),
    "source-path-moved": ("stale", "stale"),
    "source-path-added": ("stale", "stale"),
    "source-index-added": ("stale", "stale"),
    "source-git-unchanged": ("fresh", "fresh"),
    "source-git-tag-to-branch": ("stale", "stale"),
    "workspace-unchanged": ("fresh", "fresh"),
    "workspace-member-added": ("stale", "stale"),
    "workspace-member-removed": ("stale", "stale"),
    "workspace-member-dependency-changed": ("stale", "stale"),
    "workspace-virtual-root": ("fresh", "fresh"),
    "workspace-virtual-root-group-changed": ("stale", "stale"),
    "dynamic-version-bumped": ("fresh", "fresh"),
    "dynamic-version-made-static": ("stale", "stale"),
    "static-version-made-dynamic": ("stale", "stale"),
    "dynamic-dependencies": ("fresh", "unknown"),
    "static-version-bumped": ("stale", "stale"),
    "static-version-trailing-zero": ("fresh", "fresh"),
    "lock-v1-no-revision": ("fresh", "fresh"),
    "lock-revision-1": ("fresh", "fresh"),
    "lock-revision-2": ("fresh", "fresh"),
    "lock-revision-2-dependency-added": ("stale", "stale"),
    "lock-revision-3": ("fresh", "fresh"),
    "project-renamed": ("stale", "stale"),
    "build-system-removed": ("stale", "stale"),
    "constraint-added": ("stale", "stale"),
    "constraint-on-unlocked-package": ("fresh", "fresh"),
    "conflicts-unchanged": ("fresh", "fresh"),
    "conflicts-changed": ("stale", "stale"),
    "exclude-newer-moved-later": ("fresh", "fresh"),
    "exclude-newer-moved-earlier": ("stale", "stale"),
    "package-false": ("stale", "stale"),
    "workspace-member-not-editable": ("stale", "stale"),
    "dep-marker-clauses-swapped": ("fresh", "fresh"),
    "lock-v1-workspace": ("fresh", "fresh"),
    "path-package-dependency-changed": ("stale", "stale"),
    "path-package-version-bumped": ("stale", "stale"),
    "source-for-unused-package": ("fresh", "fresh"),
    "metadata-only-change": ("fresh", "fresh"),
    "environments-added": ("stale", "stale"),
}

#: What uvdock says about some stale cases: one line naming what differs.
REASONS = {
    "workspace-member-dependency-changed": (
        "dependencies of 'api' changed since uv.lock was written (+shout)"
    ),
    "rp-le-is-not-lt-next": (
        "requires-python is '>=3.10,<=3.12' in pyproject.toml but '>=3.10, <3.13' in uv.lock"
    ),
    "path-package-version-bumped": (
        "the version of lib is 1.1.0 in pyproject.toml but 1.0.0 in uv.lock"
    ),
    "workspace-member-added": "workspace members changed since uv.lock was written (+worker)",
    "extra-added": "extras of 'app' changed since uv.lock was written (+loud)",
    "group-included-changed": (
        "dependency group 'lint' of 'app' changed since uv.lock was written (+greet>=1.1, -greet)"
    ),
    "dynamic-dependencies": (
        "cannot tell whether uv.lock is current: "
        "the dependencies of 'app' are dynamic; uv builds the project to know"
    ),
}

#: At most this many cases may be "unknown" to uvdock.
MAX_UNKNOWN = 3

DEFINED = {case.name: case for case in DEFINITIONS}


@functools.cache
def _python(version: str) -> str:
    return find_python([version])


def _uv() -> str:
    """uv from the ``uv`` Python package, else ``$UV`` or PATH; the test fails without it."""
    try:
        return str(importlib.import_module("uv").find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        pytest.fail("uv is not installed: the freshness cases are checked against uv itself")
    return found


def _uv_check(project: Path, *, python: str, online: bool) -> tuple[str, str]:
    """Run ``uv lock --check``: ("fresh" | "stale" | "error", its output)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
        dead = "http://127.0.0.1:9"  # anything not on loopback fails
        env.update(
            UV_CACHE_DIR=cache,
            UV_PYTHON_DOWNLOADS="never",
            XDG_CONFIG_HOME=str(Path(cache) / "config"),  # no user uv.toml
            HTTP_PROXY=dead,
            HTTPS_PROXY=dead,
            ALL_PROXY=dead,
            http_proxy=dead,
            https_proxy=dead,
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        argv = [_uv(), "lock", "--check", "--python", python]
        argv += [] if online else ["--offline"]
        done = subprocess.run(
            argv, cwd=project, env=env, capture_output=True, text=True, check=False, timeout=300
        )
    output = done.stdout + done.stderr
    if done.returncode == 0:
        return "fresh", output
    if "needs to be updated" in output:
        return "stale", output
    return "error", output


@pytest.fixture(scope="module")
def git_server() -> Iterator[int]:
    """The greeting-git repository served on a free port; yields the port."""
    with tempfile.TemporaryDirectory() as repos:
        create_greeting_git_repo(Path(repos))
        with GitHTTPServer(Path(repos), port=0) as server:
            yield server.port


def test_the_table_lists_every_case() -> None:
    on_disk = {p.name for p in LOCKS_DIR.iterdir() if p.is_dir()}
    assert set(CASES) == on_disk == set(DEFINED)
    for name in on_disk:
        assert (LOCKS_DIR / name / "uv.lock").is_file()
        assert (LOCKS_DIR / name / "CASE.md").read_text(encoding="utf-8").strip()


def test_the_table_has_both_verdicts_and_few_unknowns() -> None:
    uv_verdicts = [uv for uv, _ in CASES.values()]
    assert uv_verdicts.count("fresh") >= 10
    assert uv_verdicts.count("stale") >= 10
    unknown = [name for name, (_, mine) in CASES.items() if mine == "unknown"]
    assert len(unknown) <= MAX_UNKNOWN, unknown
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", sorted(CASES))
def test_uvdock_verdict(name: str) -> None:
    verdict = check_workspace_freshness(LOCKS_DIR / name)
    assert verdict.state == CASES[name][1], verdict.reason
    if verdict.state == "fresh":
        assert verdict.reason is None
    else:
        assert verdict.reason
        assert "\n" not in verdict.reason
    if name in REASONS:
        assert verdict.reason == REASONS[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_uv_agrees(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    case = DEFINED[name]
    project = tmp_path / name
    shutil.copytree(LOCKS_DIR / name, project)
    expected_uv, expected_mine = CASES[name]
    online = case.git and expected_uv == "stale"  # uv re-resolves, which fetches the repository
    if online:
        # The case was locked against 127.0.0.1:5012; serve it on a free port instead.
        port = request.getfixturevalue("git_server")
        for file in (project / "pyproject.toml", project / "uv.lock"):
            text = file.read_text(encoding="utf-8")
            file.write_text(text.replace("127.0.0.1:5012", f"127.0.0.1:{port}"), encoding="utf-8")
    uv_says, output = _uv_check(project, python=_python(case.python), online=online)
    assert uv_says == expected_uv, f"uv changed its verdict on {name}:\n{output}"
    mine = check_workspace_freshness(project)
    assert mine.state == expected_mine, mine.reason
    assert mine.state in (uv_says, "unknown"), f"uvdock: {mine}; uv: {output}"


# --- the pure function, without files ------------------------------------------------------


def _lock(requires_python: str, requires_dist: str = "[]", revision: int = 5) -> dict[str, object]:
    import tomllib  # noqa: PLC0415

    return tomllib.loads(
        f'version = 1\nrevision = {revision}\nrequires-python = "{requires_python}"\n\n'
        '[[package]]\nname = "app"\nversion = "0.1.0"\nsource = { virtual = "." }\n\n'
        f"[package.metadata]\nrequires-dist = {requires_dist}\n"
    )


def _pyproject(requires_python: str, dependencies: tuple[str, ...] = ()) -> dict[str, object]:
    return {
        "project": {
            "name": "app",
            "version": "0.1.0",
            "requires-python": requires_python,
            "dependencies": list(dependencies),
        }
    }


@pytest.mark.parametrize(
    ("declared", "locked", "state"),
    [
        (">=3.12,<3.13", "==3.12.*", "fresh"),  # the issue: uv's simplified form
        ("==3.12.*", ">=3.12, <3.13", "fresh"),
        ("~=3.11", ">=3.11, <4", "fresh"),
        ("~=3.11.0", "==3.11.*", "fresh"),
        (">=3.10,!=3.11.*", ">=3.10", "fresh"),  # only the bounding range counts
        (">=3.9.0", ">=3.9", "fresh"),
        (">3.9", ">3.9", "fresh"),
        ("==3.12", "==3.12.0", "fresh"),
        (">3.9", ">=3.10", "stale"),
        (">=3.9.1", ">=3.9", "stale"),
        (">=3.10,<=3.12", ">=3.10, <3.13", "stale"),
        (">=3.10,<3.12.5", ">=3.10, <3.12.6", "stale"),
        (">=3.11", ">=3.11, <4", "stale"),
        (">=3.12", ">=3.11", "stale"),
    ],
)
def test_requires_python_forms(declared: str, locked: str, state: str) -> None:
    verdict = check_freshness(lock_data=_lock(locked), pyproject=_pyproject(declared))
    assert verdict.state == state, verdict.reason
    if state == "stale":
        assert verdict.reason == (
            f"requires-python is {declared!r} in pyproject.toml but {locked!r} in uv.lock"
        )


@pytest.mark.parametrize(
    ("declared", "recorded", "state"),
    [
        ("httpx>=0.27,<1", '[{ name = "httpx", specifier = "<1.0,>=0.27.0" }]', "fresh"),
        ("httpx>=0.27", '[{ name = "httpx", specifier = ">=0.27,>=0.20" }]', "fresh"),
        ("httpx==0.27", '[{ name = "httpx", specifier = ">=0.27,<=0.27" }]', "stale"),  # a pin
        ("httpx>=0.27", '[{ name = "httpx", specifier = ">0.27" }]', "stale"),
        ("httpx~=0.27", '[{ name = "httpx", specifier = ">=0.27,==0.*" }]', "fresh"),
        (
            'httpx; os_name == "nt"',
            '[{ name = "httpx", marker = "sys_platform == \'win32\'" }]',
            "stale",
        ),
        (
            'httpx; platform_system == "Windows"',
            '[{ name = "httpx", marker = "sys_platform == \'win32\'" }]',
            "fresh",
        ),
        (
            'httpx; python_version < "3.13" and python_version >= "3.10"',
            '[{ name = "httpx", marker = "python_full_version < \'3.13\'" }]',
            "fresh",
        ),
        ("httpx[http2,brotli]", '[{ name = "httpx", extras = ["brotli", "http2"] }]', "fresh"),
        ("HTTPX[HTTP2]", '[{ name = "httpx", extras = ["http2"] }]', "fresh"),
        ("httpx[http2]", '[{ name = "httpx" }]', "stale"),
    ],
)
def test_requirements_compared_like_uv(declared: str, recorded: str, state: str) -> None:
    verdict = check_freshness(
        lock_data=_lock(">=3.10", recorded), pyproject=_pyproject(">=3.10", (declared,))
    )
    assert verdict.state == state, verdict.reason


def test_a_changed_dependency_is_named_in_one_line() -> None:
    verdict = check_freshness(
        lock_data=_lock(">=3.10", '[{ name = "fastapi" }]'),
        pyproject=_pyproject(">=3.10", ("fastapi", "httpx>=0.27")),
    )
    assert verdict == Freshness(
        state="stale",
        reason="dependencies of 'app' changed since uv.lock was written (+httpx>=0.27)",
    )


def test_what_is_not_modelled_is_unknown_not_stale() -> None:
    verdict = check_freshness(
        lock_data=_lock(">=3.10", '[{ name = "httpx", specifier = ">=1.0rc1" }]'),
        pyproject=_pyproject(">=3.10", ("httpx>=1.0rc2",)),
    )
    assert verdict.state == "unknown"
    assert verdict.reason
    assert verdict.reason.startswith("cannot tell whether uv.lock is current: ")


def test_an_unsupported_lock_version_is_unknown() -> None:
    lock = _lock(">=3.10")
    lock["version"] = 2
    verdict = check_freshness(lock_data=lock, pyproject=_pyproject(">=3.10"))
    assert verdict.state == "unknown"


def test_settings_uv_toml_may_set_are_unknown_not_stale() -> None:
    lock = _lock(">=3.10")
    lock["options"] = {"resolution-mode": "lowest"}
    alone = check_freshness(lock_data=lock, pyproject=_pyproject(">=3.10"))
    assert alone == Freshness(
        state="stale", reason="resolution is 'highest' in pyproject.toml but 'lowest' in uv.lock"
    )
    with_uv_toml = check_freshness(
        lock_data=lock, pyproject=_pyproject(">=3.10"), uv_toml={"resolution": "lowest"}
    )
    assert with_uv_toml.state == "unknown"


def test_an_index_source_keeps_the_requirements_version(tmp_path: Path) -> None:
    """`six>=1.16 ; marker` with `[tool.uv.sources] six = { index = ... }`: uv records the
    specifier next to the index, so a fresh lock must compare fresh (real uv agrees)."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        "dependencies = [\"six>=1.16.0 ; sys_platform == 'linux'\"]\n\n"
        '[tool.uv.sources]\nsix = { index = "pypi-explicit" }\n\n'
        '[[tool.uv.index]]\nname = "pypi-explicit"\nurl = "https://pypi.org/simple"\n'
        "explicit = true\n"
    )
    wheel = "six-1.17.0-py2.py3-none-any.whl"
    (tmp_path / "uv.lock").write_text(
        'version = 1\nrevision = 3\nrequires-python = ">=3.11"\n\n'
        '[[package]]\nname = "demo"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
        'dependencies = [\n    { name = "six", marker = "sys_platform == \'linux\'" },\n]\n\n'
        '[package.metadata]\nrequires-dist = [{ name = "six", marker = "sys_platform == '
        '\'linux\'", specifier = ">=1.16.0", index = "https://pypi.org/simple" }]\n\n'
        '[[package]]\nname = "six"\nversion = "1.17.0"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        f'wheels = [\n    {{ url = "https://files.pythonhosted.org/packages/b7/ce/{wheel}", '
        'hash = "sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274" },\n]\n'
    )
    assert check_workspace_freshness(tmp_path).state == "fresh"
    uv = shutil.which("uv")
    assert uv is not None
    done = subprocess.run(
        [uv, "lock", "--check", "--offline", "--directory", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    assert done.returncode == 0, done.stderr
