from __future__ import annotations

import pytest

from uvdock.plan import images


@pytest.mark.parametrize(
    ("reference", "prefix", "expected"),
    [
        ("python:3.13-slim-trixie", "localhost:5000/standin",
         "localhost:5000/standin/library/python:3.13-slim-trixie"),
        ("ghcr.io/astral-sh/uv:0.13.9", "localhost:5000/standin",
         "localhost:5000/standin/astral-sh/uv:0.13.9"),
        ("docker.io/library/python:3.13@sha256:" + "a" * 64, "mirror.example/hub/",
         "mirror.example/hub/library/python:3.13@sha256:" + "a" * 64),
        ("python:3.13", None, "python:3.13"),
    ],
)  # fmt: skip
def test_with_prefix(reference: str, prefix: str | None, expected: str) -> None:
    assert images.with_prefix(reference, prefix) == expected


@pytest.mark.parametrize(
    ("reference", "python"),
    [
        ("python:3.12-slim-bookworm", "3.12"),
        ("localhost:5000/x/library/python:3.13.5-slim-trixie", "3.13"),
        ("ghcr.io/astral-sh/uv:0.13.9-python3.11-trixie-slim", "3.11"),
        ("ghcr.io/astral-sh/uv:0.13.9", None),
        ("debian:trixie-slim", None),
    ],
)
def test_python_of_image(reference: str, python: str | None) -> None:
    assert images.python_of_image(reference) == python


def test_pinning() -> None:
    assert images.is_pinned("python:3.13-slim")
    assert not images.is_pinned("python")
    assert not images.is_pinned("ghcr.io/astral-sh/uv:latest")
    assert images.is_pinned("ghcr.io/astral-sh/uv@sha256:" + "b" * 64)
    assert images.glibc_minor_of_image("python:3.13-slim-trixie") == 41
    assert images.glibc_minor_of_image("python:3.13-alpine") is None
