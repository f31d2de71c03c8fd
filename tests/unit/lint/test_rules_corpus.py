"""False positives and wrong fixes found on 60 real Dockerfiles, as minimal cases.

Each class (UV113, PY211, PY226, PY202, PY201, UV116) has a case the rule used to get
wrong and a case it must still flag. The Dockerfiles and contexts are written from
scratch; no project's file is copied.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from uvdock.lint.engine import LintConfig, apply_fixes, lint_text
from uvdock.lint.findings import Finding

SLIM = "FROM python:3.12-slim\nWORKDIR /app\n"
UV = "COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/\n"


def findings(text: str, code: str, *, context: Path | None = None) -> list[Finding]:
    config = LintConfig(select=(code,))
    return [f for f in lint_text(text, context_dir=context, config=config) if f.code == code]


def fixed(text: str, code: str, *, context: Path | None = None) -> str:
    result, _ = apply_fixes(text, findings(text, code, context=context))
    return result


def project(
    root: Path,
    *,
    ignore: str,
    requires: str = ">=3.12",
    pin: str | None = "3.12",
    readme: bool = False,
) -> Path:
    """A uv project with a .dockerignore (.venv, .git, .env and ``ignore``)."""
    text = f'[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = "{requires}"\n'
    if readme:
        text += 'readme = "README.md"\n[build-system]\nrequires = ["hatchling"]\n'
        text += 'build-backend = "hatchling.build"\n'
        (root / "README.md").write_text("# app\n")
    (root / "pyproject.toml").write_text(text)
    (root / "uv.lock").write_text("version = 1\n")
    if pin is not None:
        (root / ".python-version").write_text(pin + "\n")
    (root / ".dockerignore").write_text(".venv\n.git\n.env\n" + ignore)
    return root


def excluded(text: str, root: Path) -> list[str]:
    """The files UV113 says the .dockerignore wrongly excludes."""
    return [
        f.message.split(" excludes ")[1].split(",")[0]
        for f in findings(text, "UV113", context=root)
    ]


# --- UV113: only files the Dockerfile really needs ------------------------------------------

BIND_SYNC = (
    "RUN --mount=type=bind,source=uv.lock,target=uv.lock \\\n"
    "    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\\n"
    "    uv sync --locked --no-install-project\n"
    "COPY app /app/app\n"
)


def test_python_version_never_copied_or_mounted(tmp_path: Path) -> None:
    root = project(tmp_path, ignore=".python-version\n")
    assert excluded(SLIM + UV + BIND_SYNC, root) == []


def test_python_version_copied_by_name_is_needed(tmp_path: Path) -> None:
    root = project(tmp_path, ignore=".python-version\n")
    text = SLIM + UV + "COPY pyproject.toml uv.lock .python-version ./\nRUN uv sync --locked\n"
    assert excluded(text, root) == [".python-version"]  # the COPY itself fails


def test_python_version_that_says_nothing_more_than_requires_python(tmp_path: Path) -> None:
    root = project(tmp_path, ignore="*\n!pyproject.toml\n!uv.lock\n!src\n", requires="==3.12.*")
    text = SLIM + UV + "COPY . .\nRUN uv sync --locked --no-dev\n"
    assert excluded(text, root) == []


def test_python_version_left_out_of_a_broad_copy_is_a_choice(tmp_path: Path) -> None:
    """Excluded from `COPY .`, .python-version only stops uv from looking for that Python
    (the image's interpreter is used): often deliberate, never a broken build. Named in a
    COPY, the COPY fails without it."""
    root = project(tmp_path, ignore="*\n!pyproject.toml\n!uv.lock\n!src\n", requires=">=3.11")
    text = SLIM + UV + "COPY . .\nRUN uv sync --locked --no-dev\n"
    assert excluded(text, root) == []
    named = SLIM + UV + "COPY pyproject.toml uv.lock .python-version ./\nRUN uv sync --locked\n"
    assert excluded(named, root) == [".python-version"]


def test_readme_excluded_while_the_project_is_never_built(tmp_path: Path) -> None:
    root = project(tmp_path, ignore="*.md\n", readme=True)
    deps_only = "COPY pyproject.toml uv.lock ./\nRUN uv sync --frozen --no-install-project\n"
    assert excluded(SLIM + UV + deps_only, root) == []
    whole = "COPY . .\nRUN uv sync --frozen --no-install-project --no-dev\n"
    assert excluded(SLIM + UV + whole, root) == []


def test_readme_excluded_while_the_project_is_built(tmp_path: Path) -> None:
    root = project(tmp_path, ignore="*.md\n", readme=True)
    text = SLIM + UV + "COPY . .\nRUN uv sync --locked --no-dev\n"
    assert excluded(text, root) == ["README.md"]
    two_steps = (
        "COPY pyproject.toml uv.lock ./\nRUN uv sync --locked --no-install-project\n"
        "COPY . .\nRUN uv sync --locked\n"
    )
    assert excluded(SLIM + UV + two_steps, root) == ["README.md"]


def test_lock_excluded_while_the_whole_context_is_synced(tmp_path: Path) -> None:
    root = project(tmp_path, ignore="uv.lock\n")
    text = SLIM + UV + "COPY . .\nRUN uv sync --locked\n"
    assert excluded(text, root) == ["uv.lock"]
    # The lock is never sent to the build (and nothing named it): not the .dockerignore's doing
    assert excluded(SLIM + UV + "COPY pyproject.toml ./\nRUN uv sync\n", root) == []


# --- PY211: apt-get install without --no-install-recommends --------------------------------


@pytest.mark.parametrize(
    "setting",
    [
        "RUN echo 'APT::Install-Recommends \"0\";' > /etc/apt/apt.conf.d/99no-recommends\n",
        "RUN printf 'APT::Install-Recommends \"false\";\\n' >> /etc/apt/apt.conf.d/norec\n",
    ],
)
def test_recommends_turned_off_in_apt_configuration(setting: str) -> None:
    install = "RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n"
    assert findings(SLIM + setting + install, "PY211") == []
    # in a parent stage too
    parent = "FROM python:3.12-slim AS base\n" + setting + "FROM base\n" + install
    assert findings(parent, "PY211") == []


def test_recommends_still_on() -> None:
    install = "RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n"
    assert len(findings(SLIM + install, "PY211")) == 1
    # written after the install, or "1": still installs the recommends
    later = install + "RUN echo 'APT::Install-Recommends \"0\";' > /etc/apt/apt.conf.d/99x\n"
    assert len(findings(SLIM + later, "PY211")) == 1
    one = "RUN echo 'APT::Install-Recommends \"1\";' > /etc/apt/apt.conf.d/99x\n" + install
    assert len(findings(SLIM + one, "PY211")) == 1


def test_one_fix_per_install_command() -> None:
    text = (
        SLIM + "RUN apt-get update && apt-get install -y curl gnupg \\\n"
        "    && apt-get install -y git \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n"
        "RUN apt-get update && apt-get -y install jq && rm -rf /var/lib/apt/lists/*\n"
    )
    found = findings(text, "PY211")
    assert [f.span.start_line for f in found] == [3, 4, 6]
    assert all(f.fix for f in found)
    assert fixed(text, "PY211") == (
        SLIM + "RUN apt-get update && apt-get install --no-install-recommends -y curl gnupg \\\n"
        "    && apt-get install --no-install-recommends -y git \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n"
        "RUN apt-get update && apt-get -y install --no-install-recommends jq"
        " && rm -rf /var/lib/apt/lists/*\n"
    )


def test_no_fix_where_the_install_cannot_be_edited_in_place() -> None:
    text = SLIM + "RUN sh -c 'apt-get update && apt-get install -y curl'\n"
    [finding] = findings(text, "PY211")
    assert finding.fix == ()


def test_an_option_value_is_not_the_subcommand() -> None:
    text = SLIM + "RUN apt-get -o Dpkg::Options::=--force-confold install -y curl\n"
    assert fixed(text, "PY211").endswith(
        "apt-get -o Dpkg::Options::=--force-confold install --no-install-recommends -y curl\n"
    )


# --- PY226: apk update keeps the index ------------------------------------------------------

ALPINE = "FROM python:3.12-alpine\n"


@pytest.mark.parametrize("add", ["apk add curl", "apk add --no-cache curl"])
def test_apk_update_keeps_the_index(add: str) -> None:
    text = ALPINE + f"RUN apk update && {add}\n"
    [finding] = findings(text, "PY226")
    assert "apk update" in finding.message
    assert finding.fix == ()  # --no-cache on the add alone would leave update's index
    assert (finding.span.start_line, finding.span.start_col) == (2, 5)


def test_apk_update_with_its_index_removed() -> None:
    text = ALPINE + "RUN apk update && apk add curl && rm -rf /var/cache/apk/*\n"
    assert findings(text, "PY226") == []
    assert findings(ALPINE + "RUN apk add --no-cache curl\n", "PY226") == []


def test_apk_add_alone_keeps_its_one_word_fix() -> None:
    text = ALPINE + "RUN apk add curl\n"
    assert fixed(text, "PY226") == ALPINE + "RUN apk add --no-cache curl\n"


# --- PY202: an unknown base image may set PYTHONUNBUFFERED ---------------------------------


def test_output_buffering_on_an_unknown_base() -> None:
    start = 'CMD ["python", "-m", "http.server"]\n'
    assert findings("FROM quay.io/sclorg/python-312-c9s:c9s\n" + start, "PY202") == []
    assert findings("FROM registry.example.com/team/python:3.12\n" + start, "PY202") == []
    assert len(findings("FROM python:3.12-slim\n" + start, "PY202")) == 1
    parent = "FROM python:3.12-slim AS base\nFROM base\n" + start
    assert len(findings(parent, "PY202")) == 1  # the root image is what counts


# --- PY201: a shell form that ends with exec ------------------------------------------------


@pytest.mark.parametrize(
    "start",
    [
        "CMD [ -d alembic ] && alembic upgrade head; exec uvicorn app:app --host 0.0.0.0",
        "CMD alembic upgrade head && exec gunicorn app:app",
        "ENTRYPOINT if [ -f x ]; then exec app --x; else exec app; fi",
    ],
)
def test_shell_form_that_execs_the_server(start: str) -> None:
    assert findings(SLIM + start + "\n", "PY201") == []


@pytest.mark.parametrize(
    "start",
    [
        "CMD alembic upgrade head; uvicorn app:app",
        "CMD exec uvicorn app:app; echo stopped",  # exec is not the last command
        "CMD uvicorn app:app | exec tee /tmp/log",  # exec in a pipeline: a child of the shell
        "CMD (exec uvicorn app:app)",  # in a subshell
        "CMD exec uvicorn app:app &",  # in the background
        "CMD exec >/tmp/log 2>&1",  # exec without a program only redirects
    ],
)
def test_shell_form_that_keeps_the_shell(start: str) -> None:
    assert len(findings(SLIM + start + "\n", "PY201")) == 1


# --- UV116: only for an image that uses the context's project -------------------------------


def test_python_version_of_an_image_that_installs_a_pypi_package(tmp_path: Path) -> None:
    root = project(tmp_path, ignore="", pin="3.10", requires=">=3.10")
    text = (
        "FROM python:3.11-slim\n"
        "RUN pip install --no-cache-dir uv==0.13.9 && uv pip install --system mcp-server==0.8.0\n"
        'CMD ["mcp-server"]\n'
    )
    assert findings(text, "UV116", context=root) == []


@pytest.mark.parametrize(
    "use",
    [
        "COPY . /app\n",
        "RUN uv sync --locked\n",
        "RUN uv run python -c pass\n",
        "RUN uv pip install --system .\n",
        "RUN uv pip install --system -e .\n",
        "RUN uv pip install --system -r pyproject.toml\n",
    ],
)
def test_python_version_of_an_image_that_uses_the_project(tmp_path: Path, use: str) -> None:
    root = project(tmp_path, ignore="", pin="3.10", requires=">=3.10")
    text = "FROM python:3.11-slim\nWORKDIR /app\n" + use
    assert [f.span.start_line for f in findings(text, "UV116", context=root)] == [1]


@pytest.mark.parametrize(
    "use",
    [
        "COPY pyproject.toml uv.lock ./\n",
        "RUN --mount=type=bind,source=pyproject.toml,target=pyproject.toml uv pip list\n",
    ],
)
def test_a_python_version_the_build_never_sees(tmp_path: Path, use: str) -> None:
    """Only pyproject.toml and uv.lock reach the build: uv never reads .python-version
    there, so only requires-python (which 3.11 satisfies) speaks."""
    root = project(tmp_path, ignore="", pin="3.10", requires=">=3.10")
    text = "FROM python:3.11-slim\nWORKDIR /app\n" + use
    assert findings(text, "UV116", context=root) == []
    (tmp_path / "strict").mkdir()
    outside = project(tmp_path / "strict", ignore="", pin="3.10", requires="<3.11")
    assert [f.span.start_line for f in findings(text, "UV116", context=outside)] == [1]
