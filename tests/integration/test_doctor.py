"""`uvdock doctor` on the real engine: this machine, a uvdock-built image, one without Python."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.docker import IMAGE_PREFIX, docker
from tests.integration.test_build import bare_example, uvdock
from tests.support.paths import EXAMPLES_DIR

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("engine")]
TAG = "uvdock-test/doctor:x"


def checks_by_name(stdout: str) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in json.loads(stdout)["data"]["checks"]}


def test_doctor_on_this_machine(tmp_path: Path) -> None:
    engine = docker("version", "--format", "{{.Server.Version}}").stdout.strip()
    done = uvdock("doctor", "--project", str(tmp_path), "--registry", "localhost:5000",
                  "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    envelope = json.loads(done.stdout)
    assert envelope["command"] == "doctor"
    found = checks_by_name(done.stdout)
    assert found["docker engine"] == {"name": "docker engine", "status": "ok",
                                      "detail": engine, "fix": ""}  # fmt: skip
    assert found["builder default"]["status"] == "ok"
    assert "linux/arm64" in found["builder default"]["detail"]
    assert found["compose"]["status"] == "ok"
    assert found["emulation"]["status"] == "ok"  # the test bed registers qemu-aarch64
    assert found["disk"]["status"] in {"ok", "warning"}
    assert found["project"]["status"] == "note"
    text = uvdock("doctor", "--project", str(tmp_path), env={"NO_COLOR": "1"})
    assert text.returncode == 0, text.stderr
    assert engine in text.stdout
    assert "\x1b[" not in text.stdout


@pytest.fixture(scope="module")
def built_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    def copy(name: str) -> Path:
        target = tmp_path_factory.mktemp("doctor") / name
        shutil.copytree(EXAMPLES_DIR / name, target,
                        ignore=shutil.ignore_patterns(".venv", "__pycache__"))  # fmt: skip
        return target

    root = bare_example(copy)
    done = uvdock("build", str(root), "-t", TAG, "--network", "host", "--progress", "quiet")
    assert done.returncode == 0, done.stderr
    try:
        yield TAG
    finally:
        docker("rmi", "-f", TAG, check=False)


def test_doctor_on_a_uvdock_image(built_image: str) -> None:
    done = uvdock("doctor", built_image, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)["data"]
    assert data["python"]["version"].startswith("3.13.")
    assert data["python"]["executable"] == "/app/.venv/bin/python"
    assert data["user"]["uid"] == 10001
    assert data["user"]["gid"] == 10001
    assert "fastapi" in {d["name"] for d in data["distributions"]}
    assert "/app/.venv/lib/python3.13/site-packages" in data["sys_path"]
    assert data["entrypoint"]["module"] == "app.main"
    assert data["entrypoint"]["ok"] is True
    assert data["paths"]["prefix"] == {"path": "/app/.venv", "exists": True, "writable": False}
    found = {c["name"]: c for c in data["checks"]}
    assert found["user"]["status"] == "ok"
    assert "non-root" in found["user"]["detail"]
    assert found["entrypoint"]["status"] == "ok"
    assert found["writable prefix"]["status"] == "ok"
    assert "read-only" in found["writable prefix"]["detail"]
    text = uvdock("doctor", built_image, env={"NO_COLOR": "1"})
    assert text.returncode == 0, text.stderr
    assert "app.main imports" in text.stdout
    assert "fastapi" in text.stdout


def test_doctor_on_an_image_without_python() -> None:
    image = f"{IMAGE_PREFIX}/astral-sh/uv:0.13.9"
    done = uvdock("doctor", image)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"uvdock: error: {image} has no `python`")
