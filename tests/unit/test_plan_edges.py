"""Planning edge cases on small synthetic projects: system libraries, ssh, atomic writes."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support.corpus import CORPUS_DIR
from uvdock import __version__
from uvdock.api import init_project, plan_project
from uvdock.errors import UvdockError

PYPROJECT = """\
[project]
name = "svc"
version = "1.0.0"
requires-python = ">=3.12"
dependencies = [{deps}]

[tool.uvdock]
command = "python -m svc"
"""


def _metadata(deps: str) -> str:
    """``requires-dist`` entries as uv writes them, so the lock reads as fresh."""
    entries = []
    for text in re.findall(r'"([^"]*)"', deps):
        req = Requirement(text)
        parts = [f'name = "{req.name}"']
        if req.extras:
            parts.append("extras = [" + ", ".join(f'"{e}"' for e in sorted(req.extras)) + "]")
        if req.marker:
            marker = str(req.marker).replace('"', "'")  # uv writes markers with single quotes
            parts.append(f'marker = "{marker}"')
        parts.append(f'specifier = "{req.specifier}"')
        entries.append("{ " + ", ".join(parts) + " }")
    return ", ".join(entries)


def locked_project(root: Path, packages: str, deps: str, root_deps: str) -> Path:
    (root / "pyproject.toml").write_text(PYPROJECT.format(deps=deps))
    (root / "uv.lock").write_text(
        'version = 1\nrevision = 3\nrequires-python = ">=3.12"\n\n'
        '[[package]]\nname = "svc"\nversion = "1.0.0"\nsource = { virtual = "." }\n'
        f"dependencies = [{root_deps}]\n\n"
        f"[package.metadata]\nrequires-dist = [{_metadata(deps)}]\n" + packages
    )
    return root


WHEEL = (
    'wheels = [{{ url = "https://files.example/{name}-1.0-py3-none-any.whl", '
    'hash = "sha256:00" }}]\n'
)


def registry_package(name: str, *, wheel: bool = True, deps: str = "") -> str:
    text = (
        f'\n[[package]]\nname = "{name}"\nversion = "1.0"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        f'sdist = {{ url = "https://files.example/{name}-1.0.tar.gz", hash = "sha256:00" }}\n'
    )
    if deps:
        text += f"dependencies = [{deps}]\n"
    if wheel:
        text += WHEEL.format(name=name)
    return text


def test_pure_psycopg_needs_libpq_at_run_time_only(tmp_path: Path) -> None:
    root = locked_project(
        tmp_path,
        registry_package("psycopg"),
        deps='"psycopg"',
        root_deps='{ name = "psycopg" }',
    )
    plan = plan_project(root, options={}, environ={})
    assert plan.errors == ()
    assert [p.value for p in plan.runtime_packages] == ["libpq5"]
    assert plan.build_packages == ()


def test_psycopg_binary_brings_its_own_libpq(tmp_path: Path) -> None:
    root = locked_project(
        tmp_path,
        registry_package("psycopg", deps='{ name = "psycopg-binary" }')
        + registry_package("psycopg-binary"),
        deps='"psycopg[binary]"',
        root_deps='{ name = "psycopg" }',
    )
    plan = plan_project(root, options={}, environ={})
    assert plan.runtime_packages == ()


def test_sdist_only_psycopg2_gets_headers_in_builder_and_lib_at_run_time(
    tmp_path: Path,
) -> None:
    root = locked_project(
        tmp_path,
        registry_package("psycopg2", wheel=False),
        deps='"psycopg2"',
        root_deps='{ name = "psycopg2" }',
    )
    plan = plan_project(root, options={}, environ={})
    assert {p.value for p in plan.build_packages} == {"build-essential", "libpq-dev"}
    assert [p.value for p in plan.runtime_packages] == ["libpq5"]
    dockerfile = init_project(root, options={}, regenerate="x", write=False).changes[0].content
    builder, final = dockerfile.split("# Final stage")
    assert "build-essential libpq-dev" in builder
    assert "libpq5" in final
    assert "build-essential" not in final


def test_windows_only_dependency_is_not_built(tmp_path: Path) -> None:
    root = locked_project(
        tmp_path,
        registry_package("pywin32", wheel=False),
        deps="\"pywin32; sys_platform == 'win32'\"",
        root_deps='{ name = "pywin32", marker = "sys_platform == \'win32\'" }',
    )
    plan = plan_project(root, options={}, environ={})
    assert plan.native_builds == ()
    assert plan.build_packages == ()


def test_git_ssh_dependency_forwards_the_agent(tmp_path: Path) -> None:
    root = locked_project(
        tmp_path,
        '\n[[package]]\nname = "private-lib"\nversion = "0.1"\n'
        'source = { git = "ssh://git@git.example.com/org/private-lib.git?rev=v0.1#abc" }\n',
        deps='"private-lib"',
        root_deps='{ name = "private-lib" }',
    )
    plan = plan_project(root, options={}, environ={})
    assert plan.ssh
    assert {"git", "openssh-client"} <= {p.value for p in plan.build_packages}
    content = init_project(root, options={}, regenerate="x", write=False).changes[0].content
    assert "--mount=type=ssh" in content
    assert "StrictHostKeyChecking=accept-new" in content
    # No secret through ARG: the only build argument is the reproducibility timestamp.
    args = [line for line in content.splitlines() if line.startswith("ARG ")]
    assert set(args) == {"ARG SOURCE_DATE_EPOCH"}
    assert content.splitlines()[1] == "# Build: docker buildx build --ssh default -t svc ."


def test_every_generated_file_names_version_and_command(tmp_path: Path) -> None:
    root = locked_project(tmp_path, "", deps="", root_deps="")
    result = init_project(root, options={}, regenerate="uvdock init --force", write=False)
    for change in result.changes:
        first = change.content.splitlines()[0]
        assert first == (
            f"# Generated by uvdock {__version__}; regenerate with: uvdock init --force"
        ), change.name


def test_a_failed_write_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk error part-way (injected: real disks do not fail on demand) leaves all as it was."""
    root = locked_project(tmp_path, "", deps="", root_deps="")
    (root / ".dockerignore").write_text("keep me\n")
    before = {p.name: p.read_bytes() for p in root.iterdir()}
    calls = {"n": 0}
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr("uvdock.fileio.os.fsync", failing_fsync)
    with pytest.raises(UvdockError, match=r"No space left on device.*no file was changed"):
        init_project(root, options={}, regenerate="x", force=True)
    assert {p.name: p.read_bytes() for p in root.iterdir()} == before


def test_public_wheel_indexes_need_no_secret(tmp_path: Path) -> None:
    """download.pytorch.org and friends are named indexes that never ask for credentials."""
    root = locked_project(tmp_path, registry_package("six"), '"six"', '{ name = "six" }')
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(
        text + '\n[[tool.uv.index]]\nname = "pytorch-cpu"\n'
        'url = "https://download.pytorch.org/whl/cpu"\nexplicit = true\n'
        '\n[[tool.uv.index]]\nname = "corp"\nurl = "https://pypi.corp.example/simple"\n'
    )
    plan = plan_project(root, options={}, environ={})
    assert [s.id for s in plan.secrets] == ["UV_INDEX_CORP_USERNAME", "UV_INDEX_CORP_PASSWORD"]


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("extras", "declares no extra 'nope' (it has: server, test)"),
        ("groups", "declares no dependency group 'nope' (it has: dev, lint, prod)"),
    ],
)
def test_an_unknown_extra_or_group_is_a_usage_error(flag: str, message: str) -> None:
    shape = "extras-server" if flag == "extras" else "groups-server"
    with pytest.raises(UvdockError) as raised:
        plan_project(CORPUS_DIR / shape, options={flag: ("nope",)}, environ={})
    assert raised.value.exit_code == 2
    assert message in str(raised.value)
