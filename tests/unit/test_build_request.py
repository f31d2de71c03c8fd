"""One BuildRequest for both engines: the output parsed once, engine options checked."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.support.paths import PROJECTS_DIR
from uvdock.api import build_project
from uvdock.builders.request import (
    BuildRequest,
    DockerArchive,
    Load,
    OciLayout,
    Passthrough,
    Push,
    parse_output,
)
from uvdock.errors import UsageError
from uvdock.plan.model import BuildPlan


@pytest.mark.parametrize(
    ("push", "load", "spec", "expected"),
    [
        (False, False, None, Load()),
        (False, True, None, Load()),
        (True, False, None, Push()),
        (False, False, "type=oci,dest=out", OciLayout(Path("out"), "type=oci,dest=out")),
        (
            False,
            False,
            "type=docker,dest=a.tar,name=x",
            DockerArchive(Path("a.tar"), "type=docker,dest=a.tar,name=x"),
        ),
        (False, False, "type=local,dest=dir", Passthrough("type=local,dest=dir")),
        (False, False, "type=oci", Passthrough("type=oci")),
    ],
)
def test_the_output_is_parsed_once_into_what_it_means(
    push: bool,
    load: bool,
    spec: str | None,
    expected: object,
) -> None:
    assert parse_output(push=push, load=load, spec=spec) == expected


def test_push_load_and_output_exclude_each_other() -> None:
    with pytest.raises(UsageError, match="exclude each other"):
        parse_output(push=True, load=False, spec="type=oci,dest=x")


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (BuildRequest(tag="t", bytecode=False), "--no-bytecode is for --engine oci"),
        (
            BuildRequest(tag="t", engine="oci", output=Passthrough("type=local,dest=d")),
            "--engine oci writes --output type=oci,dest=DIR",
        ),
    ],
)
def test_an_option_the_engine_does_not_understand_is_refused(
    request_: BuildRequest, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        request_.check()


@dataclasses.dataclass(frozen=True)
class _Built:
    tag: str
    seconds: float
    digest: str | None

    def to_data(self) -> dict[str, object]:
        return {"tag": self.tag}


class _RecordingBuilder:
    """A Builder of our own protocol: records what build_project hands it."""

    def __init__(self) -> None:
        self.seen: list[tuple[BuildPlan, BuildRequest]] = []

    def build(self, plan: BuildPlan, request: BuildRequest) -> _Built:
        self.seen.append((plan, request))
        return _Built(tag=request.tag, seconds=0.0, digest=None)


def test_build_project_plans_then_hands_one_request_to_the_builder() -> None:
    builder = _RecordingBuilder()
    result = build_project(
        PROJECTS_DIR / "flask-app",
        BuildRequest(tag="app:1"),
        builder=builder,
        options={},
        environ={"SOURCE_DATE_EPOCH": "1700000000"},
    )
    assert result.tag == "app:1"
    ((plan, request),) = builder.seen
    assert plan.project.name == "flask-app"
    assert request.source_date_epoch == 1700000000  # the environment's, when none is given


def test_reproducible_needs_a_timestamp(tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1"\n')
    (project / "main.py").write_text("print('hi')\n")
    with pytest.raises(UsageError, match="--reproducible needs --source-date-epoch"):
        build_project(
            project,
            BuildRequest(tag="app:1", reproducible=True),
            builder=_RecordingBuilder(),
            options={"command": "python main.py"},
            environ={},
        )
