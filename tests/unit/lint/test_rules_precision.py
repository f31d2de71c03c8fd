"""False positives and unsafe fixes found on real Dockerfiles, each as a minimal case.

Every class here was seen on public projects (issue 11): the rule claimed a
defect the file does not have, reported one defect twice, or offered a fix
that breaks the build. The cases are written from scratch; no project's file
is copied.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from uvdock.lint.engine import LintConfig, apply_fixes, lint_text

BASE = "FROM python:3.13-slim-trixie\nWORKDIR /app\n"
LOCKED_COPY = "COPY pyproject.toml uv.lock ./\n"


def codes(text: str, *, context: Path | None = None, only: str | None = None) -> list[str]:
    config = LintConfig(select=(only,)) if only else LintConfig()
    return [f.code for f in lint_text(text, context_dir=context, config=config)]


def fixed(text: str, *, context: Path | None = None, only: tuple[str, ...] = ()) -> str:
    config = LintConfig(select=only) if only else LintConfig()
    result, _ = apply_fixes(text, lint_text(text, context_dir=context, config=config))
    return result


def project(tmp_path: Path, pyproject: str = "", *, lock: bool = True) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1"\n' + pyproject)
    if lock:
        (tmp_path / "uv.lock").write_text("version = 1\n")
    return tmp_path


DEV_GROUP = '[dependency-groups]\ndev = ["pytest"]\n'


# --- UV104 / UV105: uv's cache -------------------------------------------------------------


def test_no_cache_dir_is_uvs_alias_of_no_cache() -> None:
    text = BASE + LOCKED_COPY + "RUN uv pip install --system --no-cache-dir -r requirements.txt\n"
    assert "UV104" not in codes(text, only="UV104")


def test_a_cache_mount_on_the_parent_directory_covers_uvs_cache() -> None:
    text = (
        BASE
        + LOCKED_COPY
        + ("RUN --mount=type=cache,target=/root/.cache uv sync --locked --no-dev\n")
    )
    assert "UV104" not in codes(text, only="UV104")
    assert "UV105" in codes(text, only="UV105")  # the mount is still used: link mode matters


def test_a_cache_mount_that_misses_uv_cache_dir_does_not_count() -> None:
    text = (
        BASE
        + "ENV UV_CACHE_DIR=/opt/uv-cache\n"
        + LOCKED_COPY
        + ("RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev\n")
    )
    assert "UV104" in codes(text, only="UV104")
    ok = text.replace("target=/root/.cache/uv", "target=/opt/uv-cache")
    assert "UV104" not in codes(ok, only="UV104")


def test_removing_the_cache_in_the_same_run_keeps_it_out() -> None:
    text = BASE + LOCKED_COPY + "RUN uv sync --locked --no-dev && rm -rf /tmp/x /root/.cache\n"
    assert "UV104" not in codes(text, only="UV104")
    kept = BASE + LOCKED_COPY + "RUN uv sync --locked --no-dev && rm -rf /root/.cache/pip\n"
    assert "UV104" in codes(kept, only="UV104")


def test_a_run_that_passes_no_cache_never_uses_the_mount() -> None:
    text = (
        BASE
        + LOCKED_COPY
        + ("RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-cache\n")
    )
    assert "UV105" not in codes(text, only="UV105")
    env = (
        BASE
        + "ENV UV_NO_CACHE=1\n"
        + LOCKED_COPY
        + ("RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked\n")
    )
    assert "UV105" not in codes(env, only="UV105")


# --- UV102 / UV107: options from variables and the environment ----------------------------


@pytest.mark.parametrize(
    "run",
    [
        'ARGS="--frozen --no-dev"; uv sync $ARGS',
        "export UV_FROZEN=1 UV_NO_DEV=1 && uv sync",
        'FLAGS="--locked --no-dev" && uv sync ${FLAGS}',
    ],
)
def test_options_from_a_shell_variable_of_the_same_run(run: str) -> None:
    text = BASE + LOCKED_COPY + f"RUN {run}\n"
    found = codes(text)
    assert "UV102" not in found
    assert "UV107" not in found


def test_a_plain_shell_variable_is_not_in_uvs_environment() -> None:
    text = BASE + LOCKED_COPY + "RUN UV_FROZEN_X=1; UV_FROZEN=1; uv sync --no-dev\n"
    assert "UV102" in codes(text, only="UV102")  # not exported: uv does not see it


@pytest.mark.parametrize("setting", ["ENV UV_FROZEN=1", "ARG UV_LOCKED=1", "ENV UV_LOCKED=true"])
def test_uv_settings_from_env_or_arg(setting: str) -> None:
    text = BASE + setting + "\n" + LOCKED_COPY + "RUN uv sync --no-dev\n"
    assert "UV102" not in codes(text, only="UV102")


def test_options_from_a_build_argument_without_a_default_are_unknown() -> None:
    text = BASE + "ARG SYNC_FLAGS\n" + LOCKED_COPY + "RUN uv sync $SYNC_FLAGS\n"
    assert not {"UV102", "UV107"} & set(codes(text))


def test_uv_no_dev_from_env() -> None:
    text = BASE + "ENV UV_NO_DEV=1\n" + LOCKED_COPY + "RUN uv sync --locked\n"
    assert "UV107" not in codes(text, only="UV107")


# --- UV107: the project's own groups -------------------------------------------------------


SYNC = BASE + "COPY . .\nRUN uv sync --locked\n"


def test_no_dev_group_in_the_project(tmp_path: Path) -> None:
    root = project(tmp_path, '[dependency-groups]\ntest = ["pytest"]\n')
    assert "UV107" not in codes(SYNC, context=root, only="UV107")


def test_dev_as_an_optional_extra_is_not_a_group(tmp_path: Path) -> None:
    root = project(tmp_path, '[project.optional-dependencies]\ndev = ["pytest"]\n')
    assert "UV107" not in codes(SYNC, context=root, only="UV107")


def test_a_dev_group_is_reported(tmp_path: Path) -> None:
    root = project(tmp_path, DEV_GROUP)
    assert "UV107" in codes(SYNC, context=root, only="UV107")
    legacy = project(tmp_path, '[tool.uv]\ndev-dependencies = ["pytest"]\n')
    assert "UV107" in codes(SYNC, context=legacy, only="UV107")


def test_default_groups_without_dev(tmp_path: Path) -> None:
    root = project(tmp_path, DEV_GROUP + '[tool.uv]\ndefault-groups = ["prod"]\n')
    assert "UV107" not in codes(SYNC, context=root, only="UV107")
    every = project(tmp_path, DEV_GROUP + '[tool.uv]\ndefault-groups = "all"\n')
    assert "UV107" in codes(SYNC, context=every, only="UV107")


def test_the_workspace_member_being_synced(tmp_path: Path) -> None:
    root = project(tmp_path, DEV_GROUP + '[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    member = root / "packages" / "api"
    member.mkdir(parents=True)
    (member / "pyproject.toml").write_text(
        '[project]\nname = "api"\nversion = "1"\n[dependency-groups]\nlint = ["ruff"]\n'
    )
    text = BASE + "COPY . .\nRUN uv sync --locked --package api\n"
    assert "UV107" not in codes(text, context=root, only="UV107")
    (member / "pyproject.toml").write_text('[project]\nname = "api"\nversion = "1"\n' + DEV_GROUP)
    assert "UV107" in codes(text, context=root, only="UV107")


# --- UV112: what is a package ---------------------------------------------------------------


@pytest.mark.parametrize(
    "install",
    [
        "uv pip install --system --index-strategy unsafe-best-match flask==3.0.0",
        "uv pip install --python-preference system --system flask==3.0.0",
        "uv pip install --system --extra-index-url https://example.org/simple torch==2.5.1",
        "uv pip install --system -r requirements.txt",
        "uv pip install --system libs/pkg[extra] ./other",
        "uv pip install --system -e ./libs/core",
        "uv pip install --system 'git+https://github.com/org/repo@4f2a9c1'",
        "uv pip install --system 'pkg @ git+https://github.com/org/repo@v1.2.0'",
        "uv tool install ruff==0.8.4 --python 3.12",
    ],
)
def test_option_values_and_paths_are_not_unpinned_packages(install: str) -> None:
    text = BASE + f"RUN {install}\n"
    assert "UV112" not in codes(text, only="UV112")


@pytest.mark.parametrize(
    ("install", "loose"),
    [
        ("uv pip install --system -r requirements.txt gunicorn", "gunicorn"),
        ("uv pip install --system 'git+https://github.com/org/repo@main'", "repo@main"),
        ("uv pip install --system git+https://github.com/org/repo", "github.com/org/repo"),
        ("pip install --no-cache-dir -i https://pypi.example/simple flask", "flask"),
    ],
)
def test_unpinned_packages_still_found(install: str, loose: str) -> None:
    [finding] = [f for f in lint_text(BASE + f"RUN {install}\n") if f.code == "UV112"]
    assert loose in finding.message


def test_pip_install_uv_is_reported_once() -> None:
    found = codes(BASE + "RUN pip install uv\n")
    assert "UV101" in found
    assert "UV112" not in found


# --- UV109: site-packages between stages ----------------------------------------------------


TWO_STAGES = (
    "FROM python:3.13-slim AS builder\n"
    "RUN pip install --no-cache-dir --prefix=/install gunicorn==23.0.0\n"
    "FROM python:3.13-slim\n"
)


def test_site_packages_with_its_scripts_from_the_same_image() -> None:
    text = TWO_STAGES + (
        "COPY --from=builder /usr/local/lib/python3.13/site-packages "
        "/usr/local/lib/python3.13/site-packages\n"
        "COPY --from=builder /usr/local/bin /usr/local/bin\n"
        'CMD ["gunicorn", "app:app"]\n'
    )
    assert "UV109" not in codes(text, only="UV109")
    other_base = text.replace("FROM python:3.13-slim AS builder", "FROM python:3.12 AS builder")
    assert "UV109" in codes(other_base, only="UV109")
    no_scripts = text.replace("COPY --from=builder /usr/local/bin /usr/local/bin\n", "")
    assert "UV109" in codes(no_scripts, only="UV109")


# --- UV117: a venv or a system install ------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        BASE + "RUN uv venv /opt/venv && uv pip install -r requirements.txt\n",
        BASE + "RUN uv venv && . .venv/bin/activate && uv pip install -r requirements.txt\n",
        BASE + "ENV VIRTUAL_ENV=/opt/venv\nRUN uv pip install -r requirements.txt\n",
        BASE + "ENV UV_SYSTEM_PYTHON=1\nRUN uv pip install -r requirements.txt\n",
        BASE + "RUN python -m venv /v && uv pip install --python /v/bin/python flask==3.0.0\n",
        "FROM registry.example.com/team/python-base:3\nRUN uv pip install -r requirements.txt\n",
    ],
)
def test_pip_install_with_an_environment(text: str) -> None:
    assert "UV117" not in codes(text, only="UV117")


def test_pip_install_before_the_venv_in_the_same_run() -> None:
    text = BASE + "RUN uv pip install -r requirements.txt && uv venv\n"
    assert "UV117" in codes(text, only="UV117")


# --- UV115: an exported lock is the lock -----------------------------------------------------


def test_a_hashed_export_of_the_lock_is_lock_exact(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = BASE + (
        "COPY requirements.txt .\n"
        "RUN uv pip install --system --require-hashes --no-deps -r requirements.txt\n"
    )
    assert "UV115" not in codes(text, context=root, only="UV115")
    plain = text.replace("--require-hashes --no-deps ", "")
    assert "UV115" in codes(plain, context=root, only="UV115")


def test_requirements_exported_in_the_build(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = (
        BASE
        + LOCKED_COPY
        + (
            "RUN uv export --frozen --no-dev -o requirements.txt\n"
            "RUN uv pip install --system -r requirements.txt\n"
        )
    )
    assert "UV115" not in codes(text, context=root, only="UV115")


def test_requirements_committed_as_uv_export_wrote_them(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "requirements.txt").write_text(
        "# This file was autogenerated by uv via the following command:\n"
        "#    uv export --frozen --no-dev -o requirements.txt\nflask==3.0.0\n"
    )
    text = BASE + "COPY requirements.txt .\nRUN uv pip install --system -r requirements.txt\n"
    assert "UV115" not in codes(text, context=root, only="UV115")


# --- PY208 / PY220 / PY222 ------------------------------------------------------------------


@pytest.mark.parametrize(
    "declaration",
    [
        "ENV APT_KEY_DONT_WARN_ON_DANGEROUS_USAGE=1",
        "ENV DJANGO_SECRET_KEY=",
        "ARG USE_AUTH=no",
        "ENV AUTH_TYPE=oauth",
        "ENV SECRET_KEY_FILE=/run/secrets/key",
    ],
)
def test_settings_and_placeholders_are_not_secrets(declaration: str) -> None:
    assert "PY208" not in codes(BASE + declaration + "\n", only="PY208")


def test_public_client_keys_in_a_builder_stage() -> None:
    text = (
        "FROM node:22-slim AS web\nARG VITE_MAPS_API_KEY\nRUN npm run build\n"
        "FROM python:3.13-slim\nCOPY --from=web /dist /app/static\n"
    )
    assert "PY208" not in codes(text, only="PY208")
    real = text.replace("VITE_MAPS_API_KEY", "MAPS_API_KEY")
    assert "PY208" in codes(real, only="PY208")


def test_a_secret_argument_without_default_is_still_reported() -> None:
    assert "PY208" in codes(BASE + "ARG GITHUB_TOKEN\n", only="PY208")
    assert "PY208" in codes(BASE + 'ARG GITHUB_TOKEN=""\n', only="PY208")
    assert "PY208" in codes(BASE + "ENV API_KEY=s3cr3tvalue\n", only="PY208")


@pytest.mark.parametrize("mode", ["1777", "a+rwxt", "+t"])
def test_sticky_scratch_directories(mode: str) -> None:
    assert "PY222" not in codes(BASE + f"RUN mkdir -p /tmp/x && chmod {mode} /tmp/x\n")
    assert "PY222" in codes(BASE + "RUN chmod 0777 /tmp/x\n")


# --- fixes that must not break the build -----------------------------------------------------


def test_no_locked_where_the_context_has_no_lock(tmp_path: Path) -> None:
    root = project(tmp_path, lock=False)
    text = BASE + "COPY . .\nRUN uv sync --no-dev\n"
    [finding] = [f for f in lint_text(text, context_dir=root) if f.code == "UV102"]
    assert "no uv.lock" in finding.message
    assert finding.fix == ()


def test_no_locked_where_the_lock_is_not_in_the_stage(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = BASE + "COPY pyproject.toml .\nRUN uv sync --no-dev\n"
    [finding] = [f for f in lint_text(text, context_dir=root) if f.code == "UV102"]
    assert "not copied" in finding.message
    assert finding.fix == ()
    mounted = BASE + (
        "RUN --mount=type=bind,source=uv.lock,target=uv.lock "
        "--mount=type=bind,source=pyproject.toml,target=pyproject.toml uv sync --no-dev\n"
    )
    assert "--locked" in fixed(mounted, context=root, only=("UV102",))


def test_a_lock_in_a_copied_subdirectory(tmp_path: Path) -> None:
    (tmp_path / "backend").mkdir()
    project(tmp_path / "backend")
    text = BASE + "COPY backend/ /app/\nRUN uv sync --no-dev\n"
    assert "uv sync --locked --no-dev" in fixed(text, context=tmp_path, only=("UV102",))


@pytest.mark.parametrize(
    "run",
    [
        "uv pip sync requirements.txt && uv sync --no-dev",
        "uv sync --locked --no-dev --package a && uv sync --no-dev --package b",
        "echo sync && uv run --no-dev python -m app.check && uv sync --no-dev",
    ],
)
def test_a_fix_lands_on_its_own_command(run: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    text = BASE + LOCKED_COPY + f"RUN {run}\n"
    result = fixed(text, context=root, only=("UV102",))
    last = result.splitlines()[-1]
    assert last.endswith("uv sync --locked --no-dev" + last.split("uv sync --locked --no-dev")[-1])
    assert last.count("--locked") == run.count("--locked") + run.count("uv run") + 1


def test_a_fix_inside_a_heredoc_lands_on_its_line(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = (
        BASE
        + LOCKED_COPY
        + ("RUN <<EOF\nset -e\nuv pip sync requirements.txt\nuv sync --no-dev\nEOF\n")
    )
    result = fixed(text, context=root, only=("UV102",))
    assert "uv sync --locked --no-dev\n" in result
    assert "uv pip sync requirements.txt\n" in result


def test_no_fix_inside_sh_c(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = BASE + LOCKED_COPY + "RUN sh -c 'uv sync --no-dev'\n"
    [finding] = [f for f in lint_text(text, context_dir=root) if f.code == "UV102"]
    assert finding.fix == ()


def test_no_locked_when_frozen_is_in_force(tmp_path: Path) -> None:
    root = project(tmp_path)
    for text in (
        BASE + "ENV UV_FROZEN=1\n" + LOCKED_COPY + "RUN uv sync --no-dev\n",
        BASE + LOCKED_COPY + 'RUN OPTS="--frozen" && uv sync $OPTS --no-dev\n',
    ):
        assert "--locked" not in fixed(text, context=root)


# --- PY201: shell form to exec form only when it is the same command ------------------------


@pytest.mark.parametrize(
    "start",
    [
        "CMD source /app/.venv/bin/activate && exec app",
        "CMD exec gunicorn app:app",
        "CMD cd /srv && python -m app",
        "CMD PORT=8000 python -m app",
        "CMD python -m app > /proc/1/fd/1",
        "CMD python -m app --workers $WORKERS",
        "CMD python manage.py *.json",
    ],
)
def test_no_exec_form_fix_for_shell_commands(start: str) -> None:
    # A start that ends in `exec server` has no finding at all (the server is PID 1).
    found = [f for f in lint_text(BASE + start + "\n") if f.code == "PY201"]
    assert all(finding.fix == () for finding in found)
    assert found or "exec" in start


def test_no_exec_form_fix_that_changes_how_entrypoint_and_cmd_combine() -> None:
    text = BASE + 'ENTRYPOINT python -m app\nCMD ["--debug"]\n'
    [finding] = [f for f in lint_text(text) if f.code == "PY201"]
    assert finding.fix == ()  # exec form would append --debug, which the shell ignored
    text = BASE + 'ENTRYPOINT ["/entrypoint.sh"]\nCMD python -m app\n'
    [finding] = [f for f in lint_text(text) if f.code == "PY201"]
    assert finding.fix == ()
    alone = BASE + "CMD python -m app\n"
    assert 'CMD ["python", "-m", "app"]' in fixed(alone)


# --- classes found on the real corpus (benchmarks/README.md, "lint precision") --------------


def test_requirements_option_spelled_out_with_a_separate_value(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = BASE + "RUN uv pip install --system --requirements requirements.txt\n"
    assert "UV115" in codes(text, context=root, only="UV115")  # was an IndexError


def test_dependencies_installed_in_a_parent_stage() -> None:
    text = (
        "FROM python:3.12-slim AS base\nWORKDIR /app\n" + LOCKED_COPY
        + "RUN uv sync --locked --no-install-project --no-dev\n"
        "FROM base AS app\nCOPY . ./\nRUN uv sync --locked --no-dev\n"
    )  # fmt: skip
    assert "UV103" not in codes(text, only="UV103")


def test_dependencies_from_another_stages_venv() -> None:
    text = BASE + (
        "COPY . .\nCOPY --from=builder /app/.venv .venv\nRUN uv sync --locked --no-dev\n"
    )
    assert "UV103" not in codes(text, only="UV103")
    assert "UV103" in codes(BASE + "COPY . .\nRUN uv sync --locked --no-dev\n", only="UV103")


def test_installing_uv_itself_is_not_installing_dependencies() -> None:
    text = BASE + "COPY . .\nRUN pip install --no-cache-dir uv==0.13.9\nRUN uv sync --locked\n"
    [finding] = [f for f in lint_text(text) if f.code == "UV103"]
    assert "(line 5)" in finding.message  # the uv sync, not the pip install of uv


def test_a_custom_base_image_may_hold_the_dependencies() -> None:
    text = "FROM registry.example.com/team/app-base:2\nCOPY . .\nRUN uv sync --locked\n"
    assert "UV103" not in codes(text, only="UV103")


def test_a_test_stage_wants_its_dev_dependencies(tmp_path: Path) -> None:
    root = project(tmp_path, DEV_GROUP)
    text = (
        "FROM python:3.12-slim AS base\nWORKDIR /app\nCOPY . .\nRUN uv sync --locked --no-dev\n"
        "FROM base AS testing\nRUN uv sync --locked\n"
    )
    assert "UV107" not in codes(text, context=root, only="UV107")
    shipped = text.replace("AS testing", "AS runtime")
    assert "UV107" in codes(shipped, context=root, only="UV107")


def test_the_lock_made_in_the_build_is_not_stale(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = BASE + "COPY . .\nRUN rm -f uv.lock && uv lock\nRUN uv sync --no-dev\n"
    assert "UV102" not in codes(text, context=root, only="UV102")


def test_an_optional_lock_glob_with_no_lock_in_the_context(tmp_path: Path) -> None:
    root = project(tmp_path, lock=False)
    text = BASE + "COPY pyproject.toml uv.lock* ./\nRUN uv sync --no-dev\n"
    [finding] = [f for f in lint_text(text, context_dir=root) if f.code == "UV102"]
    assert "no uv.lock" in finding.message
    assert finding.fix == ()
    with_lock = project(tmp_path / "with", lock=True)
    assert "--locked" in fixed(text, context=with_lock, only=("UV102",))


def test_uv_run_after_a_frozen_sync_can_still_relock(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = (
        BASE
        + LOCKED_COPY
        + ("RUN uv sync --frozen --no-dev\nCOPY . .\nRUN uv run python -m app.build\n")
    )
    assert "UV102" in codes(text, context=root, only="UV102")
    locked = text.replace("--frozen", "--locked")
    assert "UV102" not in codes(locked, context=root, only="UV102")


def test_site_packages_between_full_and_slim_images_of_one_python() -> None:
    text = (
        "FROM python:3.12 AS build\nRUN pip install --prefix=/usr/local gunicorn==23.0.0\n"
        "FROM python:3.12-slim\n"
        "COPY --from=build /usr/local/lib/python3.12/site-packages/ "
        "/usr/local/lib/python3.12/site-packages/\n"
        "COPY --from=build /usr/local/bin/gunicorn /usr/local/bin/gunicorn\n"
        'CMD ["gunicorn", "app:app"]\n'
    )
    assert "UV109" not in codes(text, only="UV109")
    alpine = text.replace("FROM python:3.12-slim\n", "FROM python:3.12-alpine\n")
    assert "UV109" in codes(alpine, only="UV109")


def test_link_mode_from_an_unknown_base_image() -> None:
    text = (
        "FROM prefecthq/prefect:3-python3.12\n"
        + LOCKED_COPY
        + ("RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked\n")
    )
    assert "UV105" not in codes(text, only="UV105")


def test_cache_advice_for_a_non_root_user() -> None:
    text = BASE + "USER 1000\n" + LOCKED_COPY + "RUN uv sync --locked --no-dev\n"
    [finding] = [f for f in lint_text(text) if f.code == "UV104"]
    assert "/root/.cache/uv" not in finding.message
    assert "UV_CACHE_DIR" in finding.message


def test_a_range_is_not_a_pin_and_the_message_says_so() -> None:
    [finding] = [f for f in lint_text(BASE + "RUN pip install 'ldap3>=2.9'\n") if f.code == "UV112"]
    assert "without a pinned version" in finding.message


ROOT_START = "FROM python:3.13-slim\nWORKDIR /app\nCOPY . .\n"


@pytest.mark.parametrize(
    ("files", "start"),
    [
        ({"entrypoint.sh": '#!/bin/sh\nchown -R app /data\nexec gosu app "$@"\n'},
         'ENTRYPOINT ["/app/entrypoint.sh"]\nCMD ["python", "-m", "app"]\n'),
        ({"run.sh": "#!/bin/sh\nexec su-exec app:app uvicorn app:app\n"}, 'CMD ["./run.sh"]\n'),
        ({"boot.sh": "#!/bin/sh\nexec uwsgi --http :8000 uwsgi.ini\n",
          "uwsgi.ini": "[uwsgi]\nmodule = app.wsgi\nuid = www-data\n"}, 'CMD ["./boot.sh"]\n'),
        ({}, 'CMD ["gosu", "app", "python", "-m", "app"]\n'),
        ({"rootfs/etc/s6-overlay/s6-rc.d/web/run":
          "#!/command/execlineb -P\ns6-setuidgid app uvicorn app:app\n"},
         'COPY rootfs/ /\nENTRYPOINT ["/init"]\n'),
    ],
)  # fmt: skip
def test_starting_as_root_to_hand_over_to_a_user(
    files: dict[str, str], start: str, tmp_path: Path
) -> None:
    root = project(tmp_path)
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(body)
    assert "PY203" not in codes(ROOT_START + start, context=root, only="PY203")
    assert "PY203" in codes(ROOT_START + 'CMD ["python", "-m", "app"]\n', context=root,
                            only="PY203")  # fmt: skip


def test_a_hand_over_script_found_by_its_path_when_the_copy_is_unresolved(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "bin").mkdir()
    (root / "bin" / "docker_entrypoint.sh").write_text('#!/bin/bash\nexec gosu "$PUID" "$@"\n')
    text = (
        'FROM python:3.13-slim\nARG CODE_DIR=/app\nCOPY . "$CODE_DIR/"\n'
        'ENTRYPOINT ["dumb-init", "--", "/app/bin/docker_entrypoint.sh"]\nCMD ["app"]\n'
    )
    assert "PY203" not in codes(text, context=root, only="PY203")


# --- recall gaps of the real corpus ------------------------------------------------------------


def test_python_m_pip_is_pip(tmp_path: Path) -> None:
    assert "UV112" in codes(BASE + "RUN python -m pip install fastmcp\n", only="UV112")
    root = project(tmp_path)
    text = BASE + "COPY . .\nRUN python3 -m pip install --no-cache-dir .\n"
    assert "UV115" in codes(text, context=root, only="UV115")


def test_an_unpinned_tool_run_at_container_start() -> None:
    for start in ("CMD uvx mcp-server-qdrant --transport sse",
                  'ENTRYPOINT ["uv", "tool", "run", "ruff"]'):  # fmt: skip
        assert "UV112" in codes(BASE + start + "\n", only="UV112")
    pinned = BASE + 'CMD ["uvx", "mcp-server-qdrant@0.8.0"]\n'
    assert "UV112" not in codes(pinned, only="UV112")


@pytest.mark.parametrize(
    "text",
    [
        BASE + "RUN pip install --no-cache-dir gunicorn==23.0.0\n",
        BASE + "ENV PIP_NO_CACHE_DIR=1\nRUN pip install gunicorn==23.0.0\n",
        BASE + "RUN --mount=type=cache,target=/root/.cache pip install gunicorn==23.0.0\n",
        BASE + "RUN pip install gunicorn==23.0.0 && pip cache purge\n",
        (
            "FROM python:3.13 AS build\nRUN pip wheel -w /w x==1 && pip install x==1\n"
            "FROM python:3.13-slim\nCOPY --from=build /w /w\n"
        ),
    ],
)
def test_pip_cache_kept_out(text: str) -> None:
    assert "PY228" not in codes(text, only="PY228")


def test_pip_cache_in_the_final_image_is_fixed() -> None:
    text = BASE + "RUN apt-get update && python -m pip install gunicorn==23.0.0\n"
    assert "PY228" in codes(text, only="PY228")
    assert "python -m pip install --no-cache-dir gunicorn" in fixed(text, only=("PY228",))


# --- classes found on the held-out corpus ------------------------------------------------------


def test_a_relock_undone_by_mounting_the_committed_lock(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = BASE + (
        "RUN --mount=type=bind,source=pyproject.toml,target=pyproject.toml uv lock\n"
        "RUN --mount=type=bind,source=pyproject.toml,target=pyproject.toml "
        "--mount=type=bind,source=uv.lock,target=uv.lock uv sync --frozen --no-dev\n"
    )
    assert "UV118" not in codes(text, context=root, only="UV118")
    copied = BASE + "COPY . .\nRUN uv lock\nCOPY uv.lock .\nRUN uv sync --frozen\n"
    assert "UV118" not in codes(copied, context=root, only="UV118")
    kept = BASE + "COPY . .\nRUN uv lock\nRUN uv sync --frozen\n"
    assert "UV118" in codes(kept, context=root, only="UV118")


def test_bookworm_uv_images_are_not_pinned_to_a_tag_that_does_not_exist() -> None:
    text = "FROM ghcr.io/astral-sh/uv:python3.12-bookworm-slim\nWORKDIR /app\n"
    [finding] = [f for f in lint_text(text) if f.code == "UV101"]
    assert finding.fix == ()
    assert "0.13.9-python3.12-trixie-slim" in finding.message
    alpine = "FROM ghcr.io/astral-sh/uv:python3.12-alpine\n"
    assert "ghcr.io/astral-sh/uv:0.13.9-python3.12-alpine" in fixed(alpine, only=("UV101",))


def test_a_hand_over_script_under_a_workdir_from_env(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "docker").mkdir()
    (root / "docker" / "docker-entrypoint.sh").write_text('#!/bin/sh\nexec gosu app "$@"\n')
    text = (
        "FROM python:3.13-slim\nENV SRC=/opt/app\nWORKDIR ${SRC}\n"
        "COPY docker/docker-entrypoint.sh ./\n"
        'ENTRYPOINT ["/opt/app/docker-entrypoint.sh"]\nCMD ["serve"]\n'
    )
    assert "PY203" not in codes(text, context=root, only="PY203")


@pytest.mark.parametrize("name", ["builder.dockerfile", "Dockerfile.base"])
def test_build_only_images_run_nothing(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text("FROM python:3.13-slim\nRUN pip install --no-cache-dir uv==0.13.9\n")
    from uvdock.lint.api import lint_paths  # noqa: PLC0415

    [result] = lint_paths([path], context_dir=tmp_path)
    assert "PY203" not in {f.code for f in result.findings}
    stage = "FROM python:3.13-slim AS builder\nRUN pip install --no-cache-dir uv==0.13.9\n"
    assert "PY203" not in codes(stage, only="PY203")


def test_a_github_docker_action_runs_as_root(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "action.yml").write_text("name: x\nruns:\n  using: 'docker'\n  image: Dockerfile\n")
    text = 'FROM python:3.13-slim\nCOPY . /app\nENTRYPOINT ["/app/entrypoint.sh"]\n'
    assert "PY203" not in codes(text, context=root, only="PY203")
    (root / "action.yml").write_text("name: x\nruns:\n  using: node20\n  main: i.js\n")
    assert "PY203" in codes(text, context=root, only="PY203")


def test_a_relative_copy_on_an_unknown_base_may_rely_on_its_workdir() -> None:
    text = "FROM docker.io/searxng/base:builder AS b\nCOPY ./requirements.txt ./\n"
    assert "PY215" not in codes(text, only="PY215")
    assert "PY215" in codes("FROM python:3.13-slim\nCOPY a.txt ./\n", only="PY215")


def test_one_extension_into_a_venv_copied_whole() -> None:
    text = (
        "FROM ubuntu:24.04 AS py\nRUN uv venv /v\nFROM ubuntu:24.04\n"
        "COPY --from=py /v /v\n"
        "COPY --from=py /v/lib/python3.12/site-packages/ext.cpython-312-x86_64-linux-gnu.so "
        "/v/lib/python3.12/site-packages\n"
    )
    assert "UV109" not in codes(text, only="UV109")


def test_uv_run_after_a_reported_sync_is_the_same_defect(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = (
        BASE
        + LOCKED_COPY
        + ("RUN uv sync --no-dev\nCOPY . .\nRUN uv run --no-dev manage.py collectstatic\n")
    )
    found = [f for f in lint_text(text, context_dir=root) if f.code == "UV102"]
    assert [f.span.start_line for f in found] == [4]


def test_a_sourced_start_script_is_one_finding(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "entrypoint.sh").write_text("#!/bin/sh\npython hello.py\n")
    text = BASE + "COPY . .\nENTRYPOINT source entrypoint.sh\n"
    found = codes(text, context=root)
    assert "PY210" in found
    assert "PY201" not in found


def test_no_dev_fix_where_uv_run_starts_the_container(tmp_path: Path) -> None:
    root = project(tmp_path, DEV_GROUP)
    text = BASE + LOCKED_COPY + 'RUN uv sync --locked\nCMD ["uv", "run", "python", "-m", "app"]\n'
    [finding] = [f for f in lint_text(text, context_dir=root) if f.code == "UV107"]
    assert finding.fix == ()
    assert "UV_NO_DEV=1" in finding.message


def test_pip_install_uv_is_not_the_dependencies() -> None:
    text = BASE + "RUN pip install uv\nCOPY . .\nRUN uv sync --locked\n"
    assert "UV103" in codes(text, only="UV103")


def test_mirrors_of_the_official_python_image_are_known() -> None:
    for image in ("public.ecr.aws/docker/library/python:3.13", "mirror.gcr.io/library/python:3"):
        assert "UV103" in codes(f"FROM {image}\nCOPY . .\nRUN uv sync --locked\n", only="UV103")


def test_copying_the_parent_of_the_context_is_the_whole_context(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = BASE + "COPY ../.. /app\nRUN uv sync --locked --no-dev\n"
    assert "UV111" in codes(text, context=root, only="UV111")


def test_uv_pip_install_of_the_source_ignores_the_lock(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = BASE + "COPY . .\nRUN uv pip install --system .\n"
    assert "UV115" in codes(text, context=root, only="UV115")


def test_pip_cache_on_an_unknown_base_may_be_off() -> None:
    text = "FROM registry.access.redhat.com/ubi9/python-312\nRUN pip install uv==0.13.9\n"
    assert "PY228" not in codes(text, only="PY228")


# --- classes found on the second held-out corpus ------------------------------------------------


def test_extra_requirements_after_the_locked_sync(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = (
        BASE
        + "COPY . .\n"
        + (
            "RUN uv sync --locked --no-dev && "
            "opentelemetry-bootstrap -a requirements | uv pip install --requirement -\n"
        )
    )
    assert "UV115" not in codes(text, context=root, only="UV115")
    later = (
        BASE
        + LOCKED_COPY
        + ("RUN uv sync --locked --no-dev\nCOPY . .\nRUN uv pip install -r extra.txt\n")
    )
    assert "UV115" not in codes(later, context=root, only="UV115")


def test_a_requirements_install_guarded_by_a_file_the_context_lacks(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = (
        BASE
        + "COPY . .\n"
        + ("RUN if [ -f requirements.txt ]; then uv pip install --system -r requirements.txt; fi\n")
    )
    found = codes(text, context=root)
    assert "UV104" not in found
    assert "UV115" not in found
    (root / "requirements.txt").write_text("flask==3.0.0\n")
    assert "UV104" in codes(text, context=root, only="UV104")


def test_a_dev_group_that_holds_only_runtime_dependencies(tmp_path: Path) -> None:
    root = project(tmp_path, '[dependency-groups]\ndev = ["coverage>=7"]\n')
    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml")
        .read_text()
        .replace('version = "1"\n', 'version = "1"\ndependencies = ["coverage==7.6.1"]\n')
    )
    assert "UV107" not in codes(SYNC, context=root, only="UV107")


def test_dev_asked_for_outright(tmp_path: Path) -> None:
    root = project(tmp_path, DEV_GROUP)
    text = BASE + "COPY . .\nRUN uv sync --frozen --dev\n"
    assert "UV107" not in codes(text, context=root, only="UV107")
    assert "--no-dev --frozen --dev" not in fixed(text, context=root)


def test_group_adds_to_the_default_groups(tmp_path: Path) -> None:
    root = project(tmp_path, DEV_GROUP + 'deploy = ["gunicorn"]\n')
    text = BASE + "COPY . .\nRUN uv sync --locked --group deploy\n"
    assert "UV107" in codes(text, context=root, only="UV107")


def test_only_the_last_sync_of_an_environment_counts(tmp_path: Path) -> None:
    root = project(tmp_path, DEV_GROUP)
    text = (
        BASE
        + LOCKED_COPY
        + ("RUN uv sync --locked --no-install-project\nCOPY . .\nRUN uv sync --locked\n")
    )
    assert [f.span.start_line for f in lint_text(text, context_dir=root) if f.code == "UV107"] == [
        6
    ]
    last_excludes = text.replace("RUN uv sync --locked\n", "RUN uv sync --locked --no-dev\n")
    assert "UV107" not in codes(last_excludes, context=root, only="UV107")


def test_uv_run_at_start_without_a_project(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text("print('hi')\n")
    text = BASE + 'COPY server.py .\nCMD ["uv", "run", "server.py"]\n'
    assert "UV108" not in codes(text, context=tmp_path, only="UV108")
    (tmp_path / "server.py").write_text('# /// script\n# dependencies = ["httpx"]\n# ///\n')
    assert "UV108" in codes(text, context=tmp_path, only="UV108")


def test_a_test_image_runs_no_service(tmp_path: Path) -> None:
    from uvdock.lint.api import lint_paths  # noqa: PLC0415

    path = tmp_path / "Dockerfile.test"
    path.write_text("FROM python:3.13-slim\nRUN pytest\n")
    [result] = lint_paths([path], context_dir=tmp_path)
    assert "PY203" not in {f.code for f in result.findings}


def test_one_link_mode_finding_per_cache_mount() -> None:
    text = (
        BASE
        + LOCKED_COPY
        + (
            "RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev "
            "&& uv pip install --system flask==3.0.0\n"
        )
    )
    assert codes(text, only="UV105") == ["UV105"]
    assert fixed(text, only=("UV105",)).count("--link-mode=copy") == 2  # one pass fixes both


def test_uv_from_docker_hub_is_uv() -> None:
    text = "FROM astral/uv:python3.12-trixie-slim\nWORKDIR /app\n"
    assert "astral/uv:0.13.9-python3.12-trixie-slim" in fixed(text, only=("UV101",))


def test_no_locked_fix_on_a_stale_lock(tmp_path: Path) -> None:
    root = tmp_path
    (root / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.0.7"\nrequires-python = ">=3.12"\n'
        "dependencies = []\n"
    )
    (root / "uv.lock").write_text(
        'version = 1\nrevision = 3\nrequires-python = ">=3.12"\n\n'
        '[[package]]\nname = "app"\nversion = "0.0.5"\nsource = { virtual = "." }\n'
    )
    text = BASE + "COPY . .\nRUN uv sync --no-dev\n"
    [finding] = [f for f in lint_text(text, context_dir=root) if f.code == "UV102"]
    assert "out of date" in finding.message
    assert finding.fix == ()


def test_exec_advice_keeps_an_assignment_with_spaces() -> None:
    from uvdock.lint.rules.runtime import _with_exec  # noqa: PLC0415
    from uvdock.lint.shell import commands  # noqa: PLC0415

    [command] = commands("W=$(nproc --all) gunicorn -w $W app:app")
    assert _with_exec(command) == "W=$(nproc --all) exec gunicorn -w $W app:app"


def test_a_stage_named_base_that_starts_a_server_is_a_runtime_image() -> None:
    text = 'FROM python:3.13-slim AS base\nCMD ["python", "-m", "app"]\n'
    assert "PY203" in codes(text, only="PY203")


def test_one_pip_cache_finding_per_run_with_every_fix() -> None:
    text = BASE + "RUN pip install --upgrade pip && pip install uv==0.13.9\n"
    [finding] = [f for f in lint_text(text) if f.code == "PY228"]
    assert len(finding.fix) == 2
    result = fixed(text, only=("PY228",))
    assert result.count("--no-cache-dir") == 2


@pytest.mark.parametrize(
    "start",
    [
        'CMD ["sh", "-c", "uv run app --port $PORT"]',
        "CMD exec uv run app",
        'ENTRYPOINT ["tini", "--", "uv", "run", "app"]',
    ],
)
def test_uv_run_at_start_behind_a_shell_or_a_wrapper(start: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    assert "UV108" in codes(BASE + "COPY . .\n" + start + "\n", context=root, only="UV108")


# --- classes found on the third held-out corpus -------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "flagged"),
    [("setuptools.build_meta", False), ("hatchling.build", True), ("uv_build", True)],
)
def test_a_readme_left_out_breaks_only_strict_backends(
    backend: str, flagged: bool, tmp_path: Path
) -> None:
    """hatchling and uv_build stop without the readme pyproject.toml names; setuptools only
    warns ("SetuptoolsWarning: File ... cannot be found") and builds the wheel."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1"\nreadme = "README.md"\n'
        f'[build-system]\nrequires = ["x"]\nbuild-backend = "{backend}"\n'
    )
    (tmp_path / "uv.lock").write_text("version = 1\n")
    (tmp_path / "README.md").write_text("# app\n")
    (tmp_path / ".dockerignore").write_text("*.md\n.venv\n.git\n.env\n")
    dockerfile = BASE + "COPY . .\nRUN uv sync --locked --no-dev\n"
    assert ("UV113" in codes(dockerfile, context=tmp_path, only="UV113")) is flagged


def test_installing_from_pyproject_with_no_uv_lock(tmp_path: Path) -> None:
    root = project(tmp_path, lock=False)
    text = BASE + "COPY . .\nRUN uv pip install --system -r pyproject.toml\n"
    assert "UV115" not in codes(text, context=root, only="UV115")
    assert "UV115" in codes(text, only="UV115")  # no context: the usual case, a lock


def test_a_development_image_keeps_its_dev_group(tmp_path: Path) -> None:
    root = project(tmp_path, DEV_GROUP)
    text = BASE + 'COPY . .\nRUN uv sync --locked\nCMD ["python", "manage.py", "runserver"]\n'
    found = codes(text, context=root)
    assert "UV107" not in found
    assert "PY223" in found  # said once: a development server in the image
