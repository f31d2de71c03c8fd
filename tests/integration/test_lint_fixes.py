"""Property, on the real engine: a Dockerfile that builds still builds after ``--fix``.

Each real shape (:mod:`tests.support.lint_shapes`) is built against a copy of
the FastAPI example (a uv project with a ``dev`` group and a real lock), then
fixed with ``uvdock lint --fix`` as a user runs it, and built again. The
machine's CA reaches every ``RUN`` as a BuildKit secret: the test adds that
mount to both versions, the fixes are computed on the file as written.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.docker import IMAGE_PREFIX, build, ca_secret, docker, remove_image
from tests.support import lint_shapes
from tests.support.paths import EXAMPLES_DIR

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("engine")]

PYTHON = f"{IMAGE_PREFIX}/library/python:3.13-slim-trixie"
UV = f"{IMAGE_PREFIX}/astral-sh/uv:0.13.9"
CA_TARGET = "/run/secrets/uvdock-ca.pem"


def with_ca(text: str) -> str:
    """Every RUN gets the CA as a secret file, and uv is told where it is."""
    text = re.sub(
        r"^RUN ",
        f"RUN --mount=type=secret,id=ca_bundle,target={CA_TARGET} ",
        text,
        flags=re.MULTILINE,
    )
    return re.sub(r"^(FROM .*)$", rf"\1\nENV SSL_CERT_FILE={CA_TARGET}", text, flags=re.MULTILINE)


def built(context: Path, text: str, tag: str) -> str | None:
    """None when ``text`` builds, else the end of the build log."""
    (context / "Dockerfile.check").write_text(with_ca(text))
    try:
        build(context, tag=tag, dockerfile="Dockerfile.check", secrets=[ca_secret()])
    except AssertionError as failure:
        return str(failure)
    finally:
        (context / "Dockerfile.check").unlink()
    return None


@pytest.mark.parametrize("shape", sorted(lint_shapes.SHAPES))
def test_a_fixed_dockerfile_still_builds(shape: str, tmp_path: Path) -> None:
    context = tmp_path / "app"
    shutil.copytree(EXAMPLES_DIR / "fastapi-app", context,
                    ignore=shutil.ignore_patterns(".venv", "__pycache__"))  # fmt: skip
    original = lint_shapes.render(shape, python=PYTHON, uv=UV)
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(original)
    done = subprocess.run(
        [sys.executable, "-m", "uvdock", "lint", str(dockerfile), "--fix", "--fail-level", "error"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    fixed = dockerfile.read_text()
    tag = f"uvdock-lint-fix/{shape}"
    try:
        failure = built(context, original, tag + ":before")
        assert failure is None, f"{shape} must build as written:\n{failure}"
        if fixed == original:
            return
        failure = built(context, fixed, tag + ":after")
        assert failure is None, f"the fixes broke {shape}:\n{fixed}\n{failure}"
        if "uv sync" in fixed and "--no-dev" in fixed and "/app/.venv" in fixed:
            listing = docker("run", "--rm", "--entrypoint", "/app/.venv/bin/python",
                             tag + ":after", "-c",
                             "import importlib.util as u; print(u.find_spec('pytest') is None)",
                             check=False)  # fmt: skip
            if listing.returncode == 0:
                assert listing.stdout.strip() == "True", "--no-dev left pytest in the image"
    finally:
        remove_image(tag + ":before")
        remove_image(tag + ":after")


def test_the_shapes_get_fixes(tmp_path: Path) -> None:
    """Guards the property: most shapes are changed by --fix (else it tests nothing)."""
    from tests.unit.lint.test_fix_safety import _fixed  # noqa: PLC0415

    root = lint_shapes.write_context(tmp_path / "context")
    changed = [s for s in lint_shapes.SHAPES
               if _fixed(lint_shapes.render(s), root) != lint_shapes.render(s)]  # fmt: skip
    assert len(changed) >= len(lint_shapes.SHAPES) // 2
