"""Test options and shared fixtures.

``--run-docker`` enables the tests that need the real Docker Engine, buildx,
compose and the registry on 127.0.0.1:5000 (set up by ``scripts/testbed.sh
up``). With the flag, a missing engine is a failure, not a skip.
``--update-golden`` rewrites the golden files from the current renderer.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.paths import EXAMPLES_DIR, PROJECTS_DIR
from tests.support.servers import FixtureServers


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-docker", action="store_true", help="run tests against real Docker")
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-docker"):
        return
    skip = pytest.mark.skip(reason="needs --run-docker (the README's test command passes it)")
    for item in items:
        if "docker" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def fixture_servers() -> Iterator[FixtureServers]:
    """The local package index (127.0.0.1:5011) and git server (127.0.0.1:5012), once a session.

    Here rather than in the integration tests' conftest, so unit tests that read
    from the index (a plan that inspects an sdist) share the same servers.
    """
    with FixtureServers() as servers:
        yield servers


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def project_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a fixture project (or the example) into a temp dir: ``project_copy("flask-app")``."""

    def make(name: str) -> Path:
        source = EXAMPLES_DIR / name if (EXAMPLES_DIR / name).is_dir() else PROJECTS_DIR / name
        target = tmp_path / name
        shutil.copytree(
            source,
            target,
            ignore=shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache"),
        )
        return target

    return make


@pytest.fixture(autouse=True)
def _clean_uvdock_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the UVDOCK_* variables they set themselves."""
    for name in list(os.environ):
        if name.startswith("UVDOCK_"):
            monkeypatch.delenv(name)
