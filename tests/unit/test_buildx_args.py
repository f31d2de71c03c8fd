"""How a BuildRequest becomes buildx arguments (pure parts of the builder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.paths import EXAMPLES_DIR, PROJECTS_DIR
from uvdock.api import plan_project
from uvdock.builders.buildx import BuildxOptions as BuildRequest
from uvdock.builders.buildx import (
    _common_args,
    _oci_digest,
    _output_args,
    _platform_tag,
    secret_args,
)
from uvdock.builders.request import source_date_epoch
from uvdock.errors import ConfigError, UsageError


@pytest.mark.parametrize(
    ("tag", "platform", "expected"),
    [
        ("localhost:5000/team/app:1.0", "linux/arm64", "localhost:5000/team/app:1.0-linux-arm64"),
        ("app", "linux/amd64", "app:latest-linux-amd64"),
        ("reg.example/app:1@sha256:" + "a" * 64, "linux/amd64", "reg.example/app:1-linux-amd64"),
    ],
)
def test_platform_tags(tag: str, platform: str, expected: str) -> None:
    assert _platform_tag(tag, platform) == expected


def test_output_args() -> None:
    assert _output_args(BuildRequest(tag="t"), multi=False) == ["--load"]
    assert _output_args(BuildRequest(tag="t", output="push"), multi=True) == ["--push"]
    reproducible = BuildRequest(
        tag="t", output="custom", output_spec="type=oci,dest=x.tar", reproducible=True
    )
    assert _output_args(reproducible, multi=False) == [
        "--output", "type=oci,dest=x.tar,rewrite-timestamp=true", "--provenance=false",
    ]  # fmt: skip
    pushed = BuildRequest(tag="t", output="push", reproducible=True)
    assert _output_args(pushed, multi=False)[:2] == [
        "--output", "type=registry,rewrite-timestamp=true",
    ]  # fmt: skip


def test_secret_args_come_from_the_environment_only() -> None:
    plan = plan_project(PROJECTS_DIR / "private-index", options={}, environ={})
    env = {"UV_INDEX_PRIVATE_USERNAME": "u", "UV_INDEX_PRIVATE_PASSWORD": "p-secret"}
    args = secret_args(plan, env)
    assert args == [
        "--secret", "id=UV_INDEX_PRIVATE_USERNAME,env=UV_INDEX_PRIVATE_USERNAME",
        "--secret", "id=UV_INDEX_PRIVATE_PASSWORD,env=UV_INDEX_PRIVATE_PASSWORD",
    ]  # fmt: skip
    assert "p-secret" not in " ".join(args)  # the value never goes on a command line
    with pytest.raises(UsageError, match="UV_INDEX_PRIVATE_USERNAME"):
        secret_args(plan, {})


def test_ca_bundle_must_exist(tmp_path: Path) -> None:
    plan = plan_project(
        EXAMPLES_DIR / "fastapi-app", options={"ca_bundle": str(tmp_path / "nope.pem")}, environ={}
    )
    with pytest.raises(ConfigError, match="is not a file"):
        secret_args(plan, {})


def test_source_date_epoch_defaults(tmp_path: Path) -> None:
    assert source_date_epoch(tmp_path, {"SOURCE_DATE_EPOCH": "1700000000"}) == 1700000000
    assert source_date_epoch(tmp_path, {}) is None  # not a git checkout
    assert isinstance(source_date_epoch(Path(__file__).parent, {}), int)  # this repository


def test_oci_digest_of_missing_file() -> None:
    assert _oci_digest("type=oci,dest=/nonexistent/x.tar") is None
    assert _oci_digest("type=local,dest=/tmp/x") is None


def test_pull_and_no_cache_reach_buildx(tmp_path: Path) -> None:
    def args(request: BuildRequest) -> list[str]:
        return _common_args(request, dockerfile=tmp_path / "D", secrets=[], streaming=True)

    assert "--pull" not in args(BuildRequest(tag="t"))
    assert "--no-cache" not in args(BuildRequest(tag="t"))
    both = args(BuildRequest(tag="t", pull=True, no_cache=True))
    assert "--pull" in both
    assert "--no-cache" in both
