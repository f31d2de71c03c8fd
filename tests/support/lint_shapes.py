"""Dockerfile shapes seen on real projects, written from scratch for the fix property tests.

Each shape is the part of a real Dockerfile that tripped a rule or a fix:
several commands in one ``RUN``, heredocs, ``sh -c``, options held in
variables, ``--frozen`` from the environment, workspaces. ``{python}`` and
``{uv}`` stand for the Python and uv images (the stand-ins in the container
tests). They are linted against a context that holds a uv project with a
``dev`` group and a ``uv.lock`` (see :func:`write_context`).
"""

from __future__ import annotations

from pathlib import Path

PYTHON = "python:3.13-slim-trixie"
UV = "ghcr.io/astral-sh/uv:0.13.9"

SHAPES: dict[str, str] = {
    "several-commands-in-one-run": """\
FROM {python}
COPY --from={uv} /uv /uvx /bin/
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv venv && uv pip sync --help > /dev/null && uv sync --no-install-project
COPY . .
RUN uv sync
CMD ["/app/.venv/bin/python", "-m", "app"]
""",
    "heredoc-script": """\
FROM {python}
COPY --from={uv} /uv /uvx /bin/
WORKDIR /app
COPY . .
RUN <<EOF
set -eu
uv pip sync --help > /dev/null
uv sync --no-install-project
uv sync
EOF
CMD ["/app/.venv/bin/python", "-m", "app"]
""",
    "sh-c-wrapper": """\
FROM {python}
COPY --from={uv} /uv /uvx /bin/
WORKDIR /app
COPY . .
RUN sh -c 'uv sync && echo synced'
CMD ["/app/.venv/bin/python", "-m", "app"]
""",
    "frozen-from-env": """\
FROM {python}
COPY --from={uv} /uv /uvx /bin/
ENV UV_FROZEN=1 UV_NO_DEV=1
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv uv sync
CMD ["/app/.venv/bin/python", "-m", "app"]
""",
    "options-in-a-variable": """\
FROM {python}
COPY --from={uv} /uv /uvx /bin/
WORKDIR /app
COPY . .
RUN SYNC_ARGS="--frozen --no-dev"; uv sync $SYNC_ARGS
CMD ["/app/.venv/bin/python", "-m", "app"]
""",
    "cache-mount-and-env-prefix": """\
FROM {python}
COPY --from={uv} /uv /uvx /bin/
WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/uv \\
    --mount=type=bind,source=uv.lock,target=uv.lock \\
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\
    UV_COMPILE_BYTECODE=1 uv sync --no-install-project
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv UV_COMPILE_BYTECODE=1 uv sync
CMD /app/.venv/bin/python -m app
""",
    "global-option-before-subcommand": """\
FROM {python}
COPY --from={uv} /uv /uvx /bin/
WORKDIR /app
COPY . .
RUN uv --no-progress sync --no-editable && uv --quiet run --no-sync python -c 'print(1)'
CMD ["/app/.venv/bin/python", "-m", "app"]
""",
    "run-in-the-build": """\
FROM {python}
COPY --from={uv} /uv /uvx /bin/
WORKDIR /app
COPY . .
RUN uv sync --locked --no-dev && uv run python -c 'import app'
CMD ["/app/.venv/bin/python", "-m", "app"]
""",
    "no-lock-copied": """\
FROM {python}
COPY --from={uv} /uv /uvx /bin/
WORKDIR /app
COPY pyproject.toml ./
RUN uv sync --no-install-project
CMD ["python"]
""",
    "multistage-venv": """\
FROM {python} AS builder
COPY --from={uv} /uv /uvx /bin/
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache uv sync --no-install-project --no-editable
COPY . .
RUN --mount=type=cache,target=/root/.cache uv sync --no-editable

FROM {python}
COPY --from=builder /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH
CMD python -m app
""",
    "one-cache-mount-two-commands": """\
FROM {python}
COPY --from={uv} /uv /uvx /bin/
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \\
    uv sync --locked && uv pip install --python .venv idna==3.10
CMD ["/app/.venv/bin/python", "-m", "app"]
""",
    "pip-install-then-sync-same-line": """\
FROM {python}
COPY --from={uv} /uv /uvx /bin/
WORKDIR /app
COPY . .
RUN uv pip install --system --no-cache-dir setuptools==75.0.0 && uv sync
CMD ["/app/.venv/bin/python", "-m", "app"]
""",
}

PYPROJECT = """\
[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.12"
dependencies = []

[dependency-groups]
dev = ["pytest"]
"""


def render(shape: str, *, python: str = PYTHON, uv: str = UV) -> str:
    return SHAPES[shape].format(python=python, uv=uv)


def write_context(root: Path) -> Path:
    """A uv project with a dev group and a lock: what the shapes' fixes rely on."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "uv.lock").write_text("version = 1\n")
    return root
