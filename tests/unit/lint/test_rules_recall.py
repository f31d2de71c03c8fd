"""Recall gaps found on real Dockerfiles: each test fails without its rule change."""

from __future__ import annotations

from pathlib import Path

import pytest

from uvdock.lint.engine import LintConfig, lint_text
from uvdock.lint.findings import Finding
from uvdock.lint.rules.images import image_libc, image_python


def findings(text: str, code: str, *, context: Path | None = None) -> list[Finding]:
    return [
        f
        for f in lint_text(text, context_dir=context, config=LintConfig(select=(code,)))
        if f.code == code
    ]


def lines(text: str, code: str, *, context: Path | None = None) -> list[int]:
    return [f.span.start_line for f in findings(text, code, context=context)]


def _project(root: Path, *, python: str | None = "3.13", requires: str = ">=3.11") -> Path:
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = "{requires}"\n'
    )
    (root / "uv.lock").write_text("version = 1\n")
    if python:
        (root / ".python-version").write_text(python + "\n")
    return root


# --- 1. UV116 / UV110: every stage, more image names, the C library ----------------------


@pytest.mark.parametrize(
    ("ref", "python", "libc"),
    [
        ("python:3.12-slim", "3.12", "glibc"),
        ("python:3.12", "3.12", "glibc"),
        ("python:3.12-alpine3.20", "3.12", "musl"),
        ("tiangolo/uvicorn-gunicorn:python3.12-alpine", "3.12", "musl"),
        ("ghcr.io/astral-sh/uv:python3.12-bookworm-slim", "3.12", "glibc"),
        ("ghcr.io/astral-sh/uv:0.9.5-python3.11-alpine", "3.11", "musl"),
        ("cgr.dev/chainguard/python:3.12", "3.12", "glibc"),
        ("cgr.dev/chainguard/python:latest-dev", None, "glibc"),
        ("gcr.io/distroless/python3-debian12", "3.11", "glibc"),
        ("gcr.io/distroless/python3-debian13:nonroot", "3.13", "glibc"),
        ("gcr.io/distroless/python3-debian11", "3.9", "glibc"),
        ("rayproject/ray:2.9.0-py311", "3.11", None),
        ("example/torch:2.3-py3.11-cuda12", "3.11", None),
        ("nvcr.io/nvidia/pytorch:24.01-py3", None, None),  # no minor version: unknown
        ("nvidia/cuda:12.1.0-runtime-ubuntu22.04", None, "glibc"),
        ("ghcr.io/astral-sh/uv:0.9.5", None, None),
        ("example/app:1.2", None, None),
    ],
)
def test_image_python_and_libc(ref: str, python: str | None, libc: str | None) -> None:
    assert (image_python(ref), image_libc(ref)) == (python, libc)


def test_python_version_mismatch_in_a_builder_stage(tmp_path: Path) -> None:
    root = _project(tmp_path)  # .python-version: 3.13
    text = (
        "FROM python:3.12-slim AS builder\nRUN uv sync --locked\n"
        "FROM builder AS tests\n"  # FROM an earlier stage: reported once, at its FROM
        "FROM python:3.13-slim\nCOPY --from=builder /app/.venv /app/.venv\n"
    )
    assert lines(text, "UV116", context=root) == [1]
    fixed = text.replace("python:3.12-slim", "python:3.13-slim")
    assert lines(fixed, "UV116", context=root) == []


def test_python_version_from_more_image_names(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert lines("FROM gcr.io/distroless/python3-debian12\n", "UV116", context=root) == [1]
    assert lines("FROM gcr.io/distroless/python3-debian13\n", "UV116", context=root) == []
    assert lines("FROM cgr.dev/chainguard/python:3.12\n", "UV116", context=root) == [1]
    assert lines("FROM example/app:py3.11-cuda\n", "UV116", context=root) == [1]
    assert lines("FROM example/app:1.0\n", "UV116", context=root) == []  # unknown: quiet


def test_requires_python_checked_in_every_stage(tmp_path: Path) -> None:
    root = _project(tmp_path, python=None, requires=">=3.12")
    text = "FROM python:3.11-slim AS builder\nFROM python:3.12-slim\n"
    assert lines(text, "UV116", context=root) == [1]


def test_venv_from_musl_onto_glibc() -> None:
    text = (
        "FROM python:3.13-alpine AS builder\nRUN uv sync --locked\n"
        "FROM python:3.13-slim\nCOPY --from=builder /app/.venv /app/.venv\n"
    )
    assert lines(text, "UV110") == [4]
    back = text.replace("python:3.13-alpine", "X").replace("python:3.13-slim", "python:3.13-alpine")
    assert lines(back.replace("X", "ghcr.io/astral-sh/uv:python3.13-bookworm-slim"), "UV110") == [4]
    same = text.replace("python:3.13-slim", "python:3.13-alpine3.20")
    assert lines(same, "UV110") == []
    unknown = text.replace("python:3.13-slim", "example/runtime:1.0")
    assert lines(unknown, "UV110") == []


RELEASES = "https://github.com/astral-sh/uv/releases"


# --- 2. UV101: the installer script without a version ------------------------------------


@pytest.mark.parametrize(
    "step",
    [
        "ADD https://astral.sh/uv/install.sh /install.sh",
        "RUN curl -LsSf https://astral.sh/uv/install.sh | sh",
        "RUN wget -qO- https://astral.sh/uv/install.sh | sh",
        f"RUN curl -LsSf {RELEASES}/latest/download/uv-installer.sh | sh",
    ],
)
def test_unversioned_installer(step: str) -> None:
    assert lines(f"FROM python:3.13-slim\n{step}\n", "UV101") == [2]


@pytest.mark.parametrize(
    "step",
    [
        "ADD https://astral.sh/uv/0.9.5/install.sh /install.sh",
        "RUN curl -LsSf https://astral.sh/uv/0.9.5/install.sh | sh",
        f"RUN curl -LsSf {RELEASES}/download/0.9.5/uv-installer.sh | sh",
        "ARG UV_VERSION=0.9.5\nRUN curl -LsSf https://astral.sh/uv/${UV_VERSION}/install.sh | sh",
    ],
)
def test_versioned_installer(step: str) -> None:
    assert lines(f"FROM python:3.13-slim\n{step}\n", "UV101") == []
