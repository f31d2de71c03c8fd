"""Recall gaps found on real Dockerfiles: each test fails without its rule change."""

from __future__ import annotations

from pathlib import Path

import pytest

from uvdock.lint.engine import LintConfig, apply_fixes, lint_text
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
    uses = "COPY . /app\n"  # the image uses the project (UV116 compares only then)
    assert lines(f"FROM gcr.io/distroless/python3-debian12\n{uses}", "UV116", context=root) == [1]
    assert lines(f"FROM gcr.io/distroless/python3-debian13\n{uses}", "UV116", context=root) == []
    assert lines(f"FROM cgr.dev/chainguard/python:3.12\n{uses}", "UV116", context=root) == [1]
    assert lines(f"FROM example/app:py3.11-cuda\n{uses}", "UV116", context=root) == [1]
    assert lines(f"FROM example/app:1.0\n{uses}", "UV116", context=root) == []  # unknown: quiet


def test_requires_python_checked_in_every_stage(tmp_path: Path) -> None:
    root = _project(tmp_path, python=None, requires=">=3.12")
    text = "FROM python:3.11-slim AS builder\nRUN uv sync --locked\nFROM python:3.12-slim\n"
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


# --- 2b. UV119: PATH at ~/.cargo/bin for the 0.5+ installer ------------------------------

INSTALL = "RUN curl -LsSf https://astral.sh/uv/install.sh | sh\n"
CARGO_PATH = 'ENV PATH="/root/.cargo/bin:$PATH"\n'


def test_cargo_bin_on_path_for_the_new_installer() -> None:
    text = f"FROM python:3.13-slim\n{INSTALL}{CARGO_PATH}RUN uv sync --locked\n"
    [finding] = findings(text, "UV119")
    assert finding.span.start_line == 3
    assert ".local/bin" in finding.message
    pinned_new = text.replace("astral.sh/uv/", "astral.sh/uv/0.5.4/")
    assert lines(pinned_new, "UV119") == [3]


OLD_INSTALL = INSTALL.replace("uv/", "uv/0.4.30/")
CHOSEN_DIR = INSTALL.replace("| sh", "| env UV_INSTALL_DIR=/root/.cargo/bin sh")
BOTH_PATHS = 'ENV PATH="/root/.cargo/bin:/root/.local/bin:$PATH"\n'
UV_IMAGE_COPY = "COPY --from=ghcr.io/astral-sh/uv:0.9.5 /uv /bin/\n"


@pytest.mark.parametrize(
    "steps",
    [
        f"{OLD_INSTALL}{CARGO_PATH}RUN uv sync\n",  # before 0.5 it did write to ~/.cargo/bin
        f"{INSTALL}{BOTH_PATHS}RUN uv sync\n",  # .local/bin is on PATH too
        f"{CHOSEN_DIR}{CARGO_PATH}RUN uv sync\n",  # the install directory is chosen
        f"{INSTALL}{CARGO_PATH}",  # uv is never called by name after it
        f"{INSTALL}{CARGO_PATH}{UV_IMAGE_COPY}RUN uv sync\n",  # uv also comes from its image
    ],
)
def test_cargo_bin_quiet_when_not_certain(steps: str) -> None:
    assert lines(f"FROM python:3.13-slim\n{steps}", "UV119") == []


def test_cargo_bin_uv_path_after_the_new_installer() -> None:
    text = (
        "FROM python:3.13-slim\nADD https://astral.sh/uv/0.5.4/install.sh /install.sh\n"
        "RUN sh /install.sh && mv /root/.cargo/bin/uv /usr/local/bin/\n"
    )
    assert lines(text, "UV119") == [3]
    assert lines(text.replace("/root/.cargo/bin/uv", "/root/.local/bin/uv"), "UV119") == []


# --- 5. UV118: the lock thrown away ------------------------------------------------------


def test_lock_deleted_or_relocked_before_an_install(tmp_path: Path) -> None:
    assert lines("FROM python:3.13-slim\nCOPY . /app\nRUN rm -f uv.lock && uv sync\n", "UV118") == [
        3
    ]
    relock = "FROM python:3.13-slim\nCOPY . /app\nRUN uv lock --upgrade\nRUN uv sync --frozen\n"
    assert lines(relock, "UV118") == []  # no context: whether there is a lock is unknown
    assert lines(relock, "UV118", context=_project(tmp_path)) == [3]
    explicit = relock.replace("COPY . /app", "COPY pyproject.toml uv.lock ./")
    assert lines(explicit, "UV118") == [3]


@pytest.mark.parametrize(
    "steps",
    [
        "RUN uv lock --check && uv sync --locked",
        "RUN uv lock --locked && uv sync --locked",
        "RUN uv sync --locked && rm uv.lock",  # cleaned up after the install
        "RUN rm -f uv.lock && uv sync --locked",  # fails loudly without a lock: not silent
    ],
)
def test_lock_kept(steps: str, tmp_path: Path) -> None:
    text = f"FROM python:3.13-slim\nCOPY . /app\n{steps}\n"
    assert lines(text, "UV118", context=_project(tmp_path)) == []


def test_lock_thrown_away_in_a_stage_that_never_reaches_the_image(tmp_path: Path) -> None:
    text = (
        "FROM python:3.13-slim AS upgrade-check\nCOPY . /app\nRUN uv lock --upgrade && uv sync\n"
        "FROM python:3.13-slim\nCOPY . /app\nRUN uv sync --locked\n"
    )
    assert lines(text, "UV118", context=_project(tmp_path)) == []


# --- 5. PY224: || true after an install ---------------------------------------------------


def test_install_failure_hidden() -> None:
    text = (
        "FROM python:3.13-slim\n"
        "RUN uv sync --locked || true\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends curl || true\n"
        "RUN (uv pip install foo) || :\n"
        "RUN pip install -r requirements.txt || exit 0\n"
        "RUN rm -rf /tmp/x || true\n"
        "RUN grep -q foo bar || true\n"
        "RUN uv sync --locked || uv sync --locked --offline\n"
        "RUN apt-get install -y curl || true; uv sync --locked\n"
    )
    assert lines(text, "PY224") == [2, 3, 4, 5, 9]


def test_install_failure_hidden_in_a_heredoc() -> None:
    text = "FROM python:3.13-slim\nRUN <<EOF\nset -e\npip install foo || true\nEOF\n"
    assert lines(text, "PY224") == [4]


# --- 3. PY227: --chown to a user the stage does not have --------------------------------


def test_chown_before_the_user_exists() -> None:
    text = "FROM python:3.13-slim\nCOPY --chown=app:app . /app\nRUN useradd --system app\n"
    [finding] = findings(text, "PY227")
    assert (finding.span.start_line, finding.span.start_col) == (2, 6)
    assert "root" in finding.message
    fixed = "FROM python:3.13-slim\nRUN useradd --system app\nCOPY --chown=app:app . /app\n"
    assert lines(fixed, "PY227") == []


def test_chown_user_made_in_an_unrelated_stage() -> None:
    text = (
        "FROM python:3.13-slim AS other\nRUN useradd app\n"
        "FROM python:3.13-slim\nCOPY --chown=app . /app\n"
    )
    assert lines(text, "PY227") == [4]
    inherited = text.replace("FROM python:3.13-slim\nCOPY", "FROM other\nCOPY")
    assert lines(inherited, "PY227") == []


def test_chown_unknown_group() -> None:
    text = "FROM python:3.13-slim\nRUN useradd --uid 10001 app\nCOPY --chown=app:web . /app\n"
    assert lines(text, "PY227") == [3]


@pytest.mark.parametrize(
    "text",
    [
        "FROM python:3.13-slim\nCOPY --chown=10001:10001 . /app\n",
        "FROM python:3.13-slim\nCOPY --chown=www-data:www-data . /app\n",
        "FROM python:3.13-alpine\nCOPY --chown=nobody:nogroup . /app\n",
        "FROM gcr.io/distroless/python3-debian12\nCOPY --chown=nonroot:nonroot . /app\n",
        "FROM node:20\nCOPY --chown=app . /app\n",  # an image whose users are unknown
        "FROM python:3.13-alpine\nRUN apk add --no-cache postgresql\nCOPY --chown=postgres . /a\n",
        "FROM python:3.13-slim\nARG U=app\nRUN useradd $U\nCOPY --chown=$U . /app\n",
        "FROM python:3.13-slim\nRUN ./create-user.sh\nCOPY --chown=app . /app\n",
        "FROM python:3.13-slim\nCOPY --from=b /etc/passwd /etc/passwd\nCOPY --chown=app . /app\n",
        "FROM python:3.13-slim\nARG UID\nCOPY --chown=$UID . /app\n",
    ],
)
def test_chown_known_or_unknowable(text: str) -> None:
    assert lines(text, "PY227") == []


# --- 5. PY223: a development server as the start command ---------------------------------


@pytest.mark.parametrize(
    "start",
    [
        'CMD ["python", "manage.py", "runserver", "0.0.0.0:8000"]',
        "CMD python manage.py migrate && python manage.py runserver 0.0.0.0:8000",
        'CMD ["uv", "run", "--no-dev", "fastapi", "dev", "app/main.py"]',
        'CMD ["python", "-m", "flask", "--app", "app", "run", "--host", "0.0.0.0"]',
        'CMD ["flask", "run"]',
        'ENTRYPOINT ["uvicorn"]\nCMD ["app:app", "--host", "0.0.0.0", "--reload"]',
        'CMD ["gunicorn", "--reload", "app:app"]',
        'CMD ["/opt/venv/bin/uvicorn", "app:app", "--reload"]',
    ],
)
def test_development_server(start: str) -> None:
    assert lines(f"FROM python:3.13-slim\n{start}\n", "PY223") != []


@pytest.mark.parametrize(
    "start",
    [
        'CMD ["uv", "run", "fastapi", "run", "app/main.py"]',
        'CMD ["flask", "--app", "app", "routes"]',
        'CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]',
        'CMD ["python", "manage.py", "migrate"]',
        # an ENTRYPOINT resets the CMD inherited from the base stage
        'CMD ["gunicorn", "--reload", "app:app"]\nFROM base\nENTRYPOINT ["/entrypoint.sh"]',
    ],
)
def test_production_server(start: str) -> None:
    assert lines(f"FROM python:3.13-slim AS base\n{start}\n", "PY223") == []


def test_development_images_may_run_development_servers() -> None:
    text = 'FROM python:3.13-slim AS dev\nCMD ["python", "manage.py", "runserver"]\n'
    assert lines(text, "PY223") == []
    prod = text.replace(" AS dev", "")
    for name in ("Dockerfile.dev", "dev.Dockerfile", "Dockerfile.local"):
        found = lint_text(prod, path=name, config=LintConfig(select=("PY223",)))
        assert found == [], name
    assert lines(prod, "PY223") == [2]


# --- 7. PY202: only when the container starts Python -------------------------------------


@pytest.mark.parametrize(
    "start",
    [
        'CMD ["/app/start.sh"]',
        'CMD ["/bin/server"]',
        'CMD ["nginx", "-g", "daemon off;"]',
        'CMD ["python", "-u", "-m", "app"]',
    ],
)
def test_output_buffering_needs_a_python_start(start: str) -> None:
    assert lines(f"FROM python:3.13-slim\n{start}\n", "PY202") == []


@pytest.mark.parametrize(
    "start",
    [
        'CMD ["python", "-m", "app"]',
        'CMD ["uv", "run", "myapp"]',
        'CMD ["/app/.venv/bin/myapp"]',
        "CMD exec gunicorn app:app",
        'CMD ["gunicorn", "-u", "app", "site.wsgi"]',  # gunicorn's -u is --user
        'CMD ["fastapi", "run"]',
    ],
)
def test_output_buffering_of_a_python_start(start: str) -> None:
    assert lines(f"FROM python:3.13-slim\n{start}\n", "PY202") == [2]


def test_output_buffering_of_a_project_script(tmp_path: Path) -> None:
    root = _project(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '[project.scripts]\nserve = "app:main"\n')
    text = 'FROM python:3.13-slim\nCMD ["serve"]\n'
    assert lines(text, "PY202") == []  # unknown program without the project
    assert lines(text, "PY202", context=root) == [2]


# --- 7. PY204: curl installed through a variable, or pinned ------------------------------

APT = "RUN apt-get update && apt-get install -y --no-install-recommends"
HEALTH = "HEALTHCHECK CMD curl -f http://localhost:8000/health || exit 1\n"


@pytest.mark.parametrize(
    "install",
    [
        f'ARG PACKAGES="curl git"\n{APT} $PACKAGES\n',
        f"ENV PKGS=curl\n{APT} ${{PKGS}}\n",
        f"{APT} curl=7.88.1-10+deb12u5\n",
    ],
)
def test_healthcheck_tool_installed(install: str) -> None:
    assert lines(f"FROM python:3.13-slim\n{install}{HEALTH}", "PY204") == []


def test_healthcheck_tool_not_installed() -> None:
    install = "ENV PKGS=git\nRUN apt-get install -y --no-install-recommends $PKGS curl-dev\n"
    assert lines(f"FROM python:3.13-slim\n{install}{HEALTH}", "PY204") == [4]


# --- 6. PY210: every branch of the entrypoint script -------------------------------------

WRAPPED = 'COPY docker/entrypoint.sh /usr/local/bin/\nENTRYPOINT ["/usr/local/bin/entrypoint.sh"]\n'


def _wrapper(tmp_path: Path, script: str, where: str = "docker/entrypoint.sh") -> list[int]:
    path = tmp_path / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    return lines(f"FROM python:3.13-slim\n{WRAPPED}", "PY210", context=tmp_path)


def test_wrapper_server_in_a_branch_without_exec(tmp_path: Path) -> None:
    script = (
        '#!/bin/sh\nset -e\nif [ "$1" = "worker" ]; then\n  celery -A app worker\n'
        "else\n  exec gunicorn app:app\nfi\n"
    )
    assert _wrapper(tmp_path, script) == [3]
    assert _wrapper(tmp_path, script.replace("  celery", "  exec celery")) == []


def test_wrapper_case_branches(tmp_path: Path) -> None:
    script = (
        '#!/bin/sh\ncase "$1" in\n  web) exec gunicorn app:app ;;\n'
        '  worker) celery -A app worker ;;\n  *) exec "$@" ;;\nesac\n'
    )
    assert _wrapper(tmp_path, script) == [3]
    assert _wrapper(tmp_path, script.replace(") celery", ") exec celery")) == []


def test_wrapper_server_after_an_if(tmp_path: Path) -> None:
    script = (
        '#!/bin/sh\nif [ "$MIGRATE" = 1 ]; then\n  python manage.py migrate\nfi\n'
        "uvicorn app:app --host 0.0.0.0\n"
    )
    assert _wrapper(tmp_path, script) == [3]
    fine = script.replace("uvicorn", "exec uvicorn")
    assert _wrapper(tmp_path, fine) == []  # the migrate branch is a one-off, not the server


def test_wrapper_found_through_its_copy(tmp_path: Path) -> None:
    # The script is copied from docker/, not from the context root: the old rule missed it.
    script = "#!/bin/sh\ngunicorn app:app\n"
    assert _wrapper(tmp_path, script) == [3]


# --- 5. PY225: misspelled Python and uv variables ----------------------------------------


def test_misspelled_variables_are_renamed() -> None:
    text = (
        "FROM python:3.13-slim\n"
        "ENV PYTHONBUFFERED=1 PYTHONDONTWRITEBYCODE=1\n"
        "ENV PYTHONDONOTWRITEBYTECODE=1\n"
        "ARG UV_COMPILE_BYTE_CODE=1\n"
    )
    found = findings(text, "PY225")
    assert [(f.span.start_line, f.fix[0].text) for f in found] == [
        (2, "PYTHONUNBUFFERED"),
        (2, "PYTHONDONTWRITEBYTECODE"),
        (3, "PYTHONDONTWRITEBYTECODE"),
        (4, "UV_COMPILE_BYTECODE"),
    ]
    fixed, applied = apply_fixes(text, found)
    assert applied == 4
    assert findings(fixed, "PY225") == []
    assert "ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1\n" in fixed


@pytest.mark.parametrize(
    "line",
    [
        "ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 UV_LINK_MODE=copy",
        "ENV PYTHON_VERSION=3.13 UV_VERSION=0.9.5",  # the image's own, and build arguments
        "ARG PYTHON_VERSIONS='3.12 3.13'",
        "ENV UV_INDEX_INTERNAL_USERNAME=ci",  # a named index's credentials
        "ENV UV_DEV_X=1",  # short names need an exact one-letter slip
        "ARG PYTHON_VERSON=3.13\nRUN echo ${PYTHON_VERSON}",  # the Dockerfile's own variable
    ],
)
def test_real_or_own_variables(line: str) -> None:
    assert findings(f"FROM python:3.13-slim\n{line}\n", "PY225") == []


# --- 5. PY226: apk add without --no-cache ------------------------------------------------


def test_apk_add_without_no_cache() -> None:
    text = (
        "FROM python:3.13-alpine\n"
        "RUN apk add libpq && apk add --no-cache curl\n"
        "RUN apk --no-cache add git\n"
        "RUN --mount=type=cache,target=/var/cache/apk apk add gcc\n"
        "RUN apk add --update bash && rm -rf /var/cache/apk/*\n"
    )
    [finding] = findings(text, "PY226")
    assert finding.span.start_line == 2
    fixed, _ = apply_fixes(text, [finding])
    assert "RUN apk add --no-cache libpq && apk add --no-cache curl\n" in fixed
    builder = "FROM python:3.13-alpine AS b\nRUN apk add gcc\nFROM python:3.13-alpine\n"
    assert findings(builder, "PY226") == []  # the builder's layers are not shipped


# --- 4. UV111: a uv project's .dockerignore excludes .venv, present or not ----------------


def test_dockerignore_of_a_uv_project_excludes_venv_not_yet_created(tmp_path: Path) -> None:
    root = _project(tmp_path)  # pyproject.toml and uv.lock; no .venv
    (root / ".dockerignore").write_text(".git\n.env\n")
    text = "FROM python:3.13-slim\nCOPY . /app\n"
    [finding] = findings(text, "UV111", context=root)
    assert ".venv" in finding.message
    (root / ".dockerignore").write_text(".venv\n.git\n.env\n")
    assert findings(text, "UV111", context=root) == []


def test_dockerignore_without_uv_lock_needs_only_what_is_there(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "uv.lock").unlink()  # not (yet) a locked uv project: .venv may never exist
    (root / ".dockerignore").write_text(".git\n.env\n")
    assert findings("FROM python:3.13-slim\nCOPY . /app\n", "UV111", context=root) == []


def test_wrapper_exec_goes_after_assignments(tmp_path: Path) -> None:
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker/entrypoint.sh").write_text(
        "#!/bin/sh\nFORWARDED_ALLOW_IPS=* uvicorn app:app\n"
    )
    text = f"FROM python:3.13-slim\n{WRAPPED}"
    [finding] = findings(text, "PY210", context=tmp_path)
    assert "`FORWARDED_ALLOW_IPS=* exec uvicorn app:app`" in finding.message
