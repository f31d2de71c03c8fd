"""Fixtures for the tests that use the real Docker Engine and registry."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from tests.integration.docker import IMAGE_PREFIX, docker, http_get
from tests.integration.fault_proxy import Fault, FaultProxy


@pytest.fixture(scope="session")
def engine() -> None:
    """Fail (not skip) when --run-docker is given but the test bed is not up."""
    version = docker("version", "--format", "{{.Server.Version}}", check=False)
    assert version.returncode == 0, "no Docker Engine: run scripts/testbed.sh up\n" + version.stderr
    status, _ = http_get("http://127.0.0.1:5000/v2/", timeout=10)
    assert status == 200, "registry on 127.0.0.1:5000 is not up: run scripts/testbed.sh up"
    for image in ("library/python:3.13-slim-trixie", "astral-sh/uv:0.13.9",
                  "astral-sh/uv:0.13.9-python3.13-trixie-slim"):  # fmt: skip
        inspect = docker("buildx", "imagetools", "inspect", f"{IMAGE_PREFIX}/{image}", check=False)
        assert inspect.returncode == 0, f"stand-in {image} missing: run scripts/testbed.sh up"


@pytest.fixture
def proxy() -> Iterator[Callable[[Fault], FaultProxy]]:
    """Fault proxies in front of the real registry; stopped after the test."""
    started: list[FaultProxy] = []

    def start(fault: Fault) -> FaultProxy:
        server = FaultProxy(fault)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()
