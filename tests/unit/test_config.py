"""Settings precedence (flags > env > [tool.uvdock] > defaults) and config errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from uvdock.config import DEFAULT_UID, load_settings
from uvdock.errors import ConfigError, UsageError

PYPROJECT = """\
[project]
name = "demo"

[tool.uvdock]
port = 9000
approach = "official"
build-packages = ["libfoo-dev"]
"""


def test_defaults_and_pyproject_with_lines() -> None:
    resolved = load_settings(
        cli={},
        environ={},
        table={"port": 9000, "approach": "official", "build-packages": ["libfoo-dev"]},
        pyproject_path=Path("pyproject.toml"),
        pyproject_text=PYPROJECT,
    )
    assert resolved.sourced("port").value == 9000
    assert resolved.sourced("port").source == "pyproject.toml:5"
    assert resolved.sourced("approach").source == "pyproject.toml:6"
    assert resolved.get("build_packages") == ("libfoo-dev",)
    assert resolved.sourced("uid").value == DEFAULT_UID
    assert resolved.sourced("uid").source == "default"


def test_env_beats_pyproject_and_flag_beats_env() -> None:
    resolved = load_settings(
        cli={},
        environ={"UVDOCK_PORT": "7000", "UVDOCK_DEV": "false"},
        table={"port": 9000},
        pyproject_text=PYPROJECT,
    )
    assert resolved.sourced("port").value == 7000
    assert resolved.sourced("port").source == "UVDOCK_PORT"
    assert resolved.get("dev") is False
    flagged = load_settings(
        cli={"port": 6000}, environ={"UVDOCK_PORT": "7000"}, table={"port": 9000}
    )
    assert flagged.sourced("port").value == 6000
    assert flagged.sourced("port").source == "--port"


def test_unknown_key_names_its_line_and_suggests() -> None:
    text = '[project]\nname = "x"\n\n[tool.uvdock]\nbase-imag = "python:3.13"\n'
    with pytest.raises(ConfigError) as caught:
        load_settings(
            cli={}, environ={}, table={"base-imag": "python:3.13"},
            pyproject_path=Path("pyproject.toml"), pyproject_text=text,
        )  # fmt: skip
    message = caught.value.one_line()
    assert message.startswith("pyproject.toml:5: unknown setting [tool.uvdock] base-imag")
    assert "did you mean 'base-image'" in message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ({"port": "80"}, "port must be a int"),
        ({"port": 70000}, "port must be between 1 and 65535"),
        ({"uid": 0}, "uid must be a positive number"),
        ({"approach": "fancy"}, "approach must be one of custom, official"),
        ({"command": []}, "command must be a string or a non-empty list"),
        ({"system-packages": "libpq5"}, "system-packages must be a list of strings"),
    ],
)
def test_bad_values_are_config_errors(table: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_settings(cli={}, environ={}, table=table, pyproject_path=Path("pyproject.toml"))


def test_bad_environment_value_is_usage_error() -> None:
    with pytest.raises(UsageError, match="UVDOCK_PORT: expected a whole number"):
        load_settings(cli={}, environ={"UVDOCK_PORT": "eighty"}, table={})
