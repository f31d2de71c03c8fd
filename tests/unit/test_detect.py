"""Detection and planning on the fixture projects (files only, nothing runs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.paths import EXAMPLES_DIR, PROJECTS_DIR
from uvdock.api import plan_project
from uvdock.errors import ProjectError

CopyProject = Callable[[str], Path]


def plan(path: Path, **options: object) -> object:
    return plan_project(path, options=options, environ={})


def test_example_fastapi_app() -> None:
    result = plan_project(EXAMPLES_DIR / "fastapi-app", options={}, environ={})
    assert result.errors == ()
    assert result.project.dependency_source.value == "uv"
    assert result.project.packaged
    assert result.python.value == "3.13"
    assert result.python.source == ".python-version:1"
    assert result.entrypoint is not None
    entry = result.entrypoint.value
    assert entry.argv == ("uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000")
    assert entry.kind == "asgi"
    assert entry.how.startswith("`app = FastAPI(...)` in app/main.py:")
    assert result.healthcheck is not None
    assert result.healthcheck.path == "/health"
    assert result.base_image.value == "python:3.13-slim-trixie"
    assert result.uv_image.value == "ghcr.io/astral-sh/uv:0.13.9"


@pytest.mark.parametrize(
    ("fixture", "argv", "kind"),
    [
        ("fastapi-virtual", ("uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"), "asgi"),
        ("flask-app", ("gunicorn", "--bind", "0.0.0.0:8000", "app:app"), "wsgi"),
        ("django-site", ("gunicorn", "--bind", "0.0.0.0:8000", "mysite.wsgi:application"),
         "django"),
        ("cli-tool", ("hello-cli",), "script"),
        ("uv-workspace", ("python", "-m", "ws_app"), "module"),
        ("requirements-only", ("uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000"),
         "asgi"),
    ],
)  # fmt: skip
def test_entrypoints(fixture: str, argv: tuple[str, ...], kind: str) -> None:
    result = plan_project(PROJECTS_DIR / fixture, options={}, environ={})
    assert result.entrypoint is not None, result.problems
    assert result.entrypoint.value.argv == argv
    assert result.entrypoint.value.kind == kind


def test_django_sets_settings_module_and_finds_health() -> None:
    result = plan_project(PROJECTS_DIR / "django-site", options={}, environ={})
    assert result.entrypoint is not None
    assert dict(result.entrypoint.value.env) == {"DJANGO_SETTINGS_MODULE": "mysite.settings"}
    assert result.entrypoint.value.dev_argv[:3] == ("python", "manage.py", "runserver")


def test_python_from_requires_python() -> None:
    result = plan_project(PROJECTS_DIR / "flask-app", options={}, environ={})
    assert result.python.value == "3.13"
    assert "requires-python '>=3.12,<3.14'" in result.python.source


def test_workspace_members() -> None:
    result = plan_project(PROJECTS_DIR / "uv-workspace", options={}, environ={})
    names = sorted(m.name for m in result.project.workspace_members)
    assert names == ["ws-core", "ws-greet"]


def test_build_requires_collects_the_members_once() -> None:
    result = plan_project(PROJECTS_DIR / "uv-workspace", options={}, environ={})
    assert result.project.build_requires == ("hatchling",)
    cli = plan_project(PROJECTS_DIR / "cli-tool", options={}, environ={})
    assert cli.project.build_requires == ("uv_build>=0.9,<0.14",)


def test_virtual_project_has_no_build_requires() -> None:
    result = plan_project(PROJECTS_DIR / "flask-app", options={}, environ={})
    assert not result.project.packaged
    assert result.project.build_requires == ()


def test_package_without_build_system_builds_with_setuptools(project_copy: CopyProject) -> None:
    # uv (like pip) builds a package that declares no [build-system] with
    # setuptools' legacy backend; the build step must install that.
    root = project_copy("flask-app")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.uv]\npackage = true\n")
    result = plan_project(root, options={}, environ={})
    assert result.project.packaged
    assert result.project.build_requires == ("setuptools>=40.8.0",)


def test_requirements_only() -> None:
    result = plan_project(PROJECTS_DIR / "requirements-only", options={}, environ={})
    assert result.project.dependency_source.value == "requirements"
    assert result.project.requirements_hashed
    assert not result.project.packaged


def test_private_index_secrets_never_args() -> None:
    result = plan_project(PROJECTS_DIR / "private-index", options={}, environ={})
    ids = {s.id for s in result.secrets}
    assert ids == {"UV_INDEX_PRIVATE_USERNAME", "UV_INDEX_PRIVATE_PASSWORD"}
    assert all(s.build_flag.startswith("--secret id=") for s in result.secrets)


def test_git_dependency_needs_git_in_builder() -> None:
    result = plan_project(PROJECTS_DIR / "git-dependency", options={}, environ={})
    assert [g.scheme for g in result.project.git_sources] == ["http"]
    assert "git" in [p.value for p in result.build_packages]


def test_sdist_only_dependency_needs_compiler() -> None:
    result = plan_project(PROJECTS_DIR / "native-sdist", options={}, environ={})
    assert [n.package for n in result.native_builds] == ["uvdock-native-demo"]
    assert "build-essential" in [p.value for p in result.build_packages]
    assert result.runtime_packages == ()


def test_wheels_only_project_needs_no_compiler() -> None:
    result = plan_project(EXAMPLES_DIR / "fastapi-app", options={}, environ={})
    assert result.native_builds == ()
    assert result.build_packages == ()


def test_ca_bundle_is_a_secret() -> None:
    result = plan_project(
        EXAMPLES_DIR / "fastapi-app", options={"ca_bundle": "/etc/ssl/ca.pem"}, environ={}
    )
    (secret,) = result.secrets
    assert secret.id == "ca_bundle"
    assert secret.build_flag == "--secret id=ca_bundle,src=/etc/ssl/ca.pem"


def test_image_prefix_applies_to_every_image() -> None:
    result = plan_project(
        EXAMPLES_DIR / "fastapi-app",
        options={"image_prefix": "localhost:5000/standin", "approach": "official"},
        environ={},
    )
    assert result.base_image.value == (
        "localhost:5000/standin/astral-sh/uv:0.13.9-python3.13-trixie-slim"
    )
    assert result.python_image.value == "localhost:5000/standin/library/python:3.13-slim-trixie"
    assert result.uv_image.value == "localhost:5000/standin/astral-sh/uv:0.13.9"


def test_base_image_python_contradiction_is_error() -> None:
    result = plan_project(
        EXAMPLES_DIR / "fastapi-app", options={"base_image": "python:3.11-slim"}, environ={}
    )
    (error,) = result.errors
    assert "has Python 3.11 but the project needs Python 3.13" in error.message


def test_python_flag_contradicting_pin_is_error() -> None:
    result = plan_project(EXAMPLES_DIR / "fastapi-app", options={"python": "3.12"}, environ={})
    assert any("contradicts .python-version" in e.message for e in result.errors)


def test_poetry_is_not_supported_yet(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.poetry]\nname = "x"\n')
    (tmp_path / "poetry.lock").write_text("")
    with pytest.raises(ProjectError, match="Poetry projects are not supported yet") as caught:
        plan_project(tmp_path, options={}, environ={})
    assert "migrate-to-uv" in caught.value.one_line()


def test_several_sources_ask_for_source(project_copy: CopyProject) -> None:
    root = project_copy("flask-app")
    (root / "requirements.txt").write_text("flask==3.0.0\n")
    with pytest.raises(ProjectError, match="several dependency sources") as caught:
        plan_project(root, options={}, environ={})
    assert "--source uv or --source requirements" in caught.value.one_line()
    chosen = plan_project(root, options={"source": "uv"}, environ={})
    assert chosen.project.dependency_source.source == "--source"


def test_pyproject_without_lock_is_an_error(project_copy: CopyProject) -> None:
    """`uv sync --locked` needs a lock: no Dockerfile known not to build is written."""
    root = project_copy("flask-app")
    (root / "uv.lock").unlink()
    result = plan_project(root, options={}, environ={})
    assert result.project.dependency_source.value == "pyproject"
    assert any("has no uv.lock" in p.message for p in result.errors)


def test_stale_lock_is_error(project_copy: CopyProject) -> None:
    root = project_copy("flask-app")
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(
        text.replace('    "flask",', '    "requests",\n    "flask",')
    )
    result = plan_project(root, options={}, environ={})
    (error,) = result.errors
    assert "uv.lock is out of date" in error.message
    assert "+requests" in error.message


def test_version_bump_without_relock_is_stale(project_copy: CopyProject) -> None:
    root = project_copy("cli-tool")
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(text.replace('version = "0.1.0"', 'version = "0.2.0"'))
    result = plan_project(root, options={}, environ={})
    stale = "is 0.2.0 in pyproject.toml but 0.1.0 in uv.lock"
    assert any(stale in e.message for e in result.errors)


def test_no_entrypoint_asks_for_command(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    (tmp_path / "lib.py").write_text("X = 1\n")
    result = plan_project(tmp_path, options={}, environ={})
    (error,) = result.errors
    assert "[tool.uvdock] command" in error.message


def test_several_scripts_ask_for_command(project_copy: CopyProject) -> None:
    root = project_copy("cli-tool")
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(
        text.replace("[project.scripts]\n", '[project.scripts]\nzz = "hello_cli:main"\n')
    )
    result = plan_project(root, options={}, environ={})
    assert any("several scripts (hello-cli, zz)" in e.message for e in result.errors)


def test_app_object_detection_resolves_imports(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("fastapi==0.115.0\nuvicorn==0.30.0\n")
    pkg = tmp_path / "src" / "svc"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "web.py").write_text(
        "import fastapi as fa\n"
        "from flask import Flask as NotUsed\n"
        "application: fa.FastAPI = fa.FastAPI(title='x')\n"
        "@application.get('/healthz')\n"
        "def h() -> dict: return {}\n"
    )
    # A name that merely looks like FastAPI but is not imported from fastapi is ignored.
    (tmp_path / "decoy.py").write_text("def FastAPI(): ...\napp = FastAPI()\n")
    result = plan_project(tmp_path, options={}, environ={})
    assert result.entrypoint is not None
    assert result.entrypoint.value.target == "svc.web:application"
    assert result.entrypoint.value.argv[-2:] == ("--app-dir", "src")
    assert result.healthcheck is not None
    assert result.healthcheck.path == "/healthz"


def test_procfile_beats_detection(project_copy: CopyProject) -> None:
    root = project_copy("flask-app")
    (root / "Procfile").write_text("web: gunicorn app:app --bind 0.0.0.0:$PORT\n")
    result = plan_project(root, options={}, environ={})
    assert result.entrypoint is not None
    assert result.entrypoint.source == "Procfile:1"
    assert result.entrypoint.value.argv == (
        "sh", "-c", "exec gunicorn app:app --bind 0.0.0.0:$PORT",
    )  # fmt: skip
    assert dict(result.entrypoint.value.env) == {"PORT": "8000"}


def test_configured_command_beats_everything(project_copy: CopyProject) -> None:
    root = project_copy("flask-app")
    with (root / "pyproject.toml").open("a") as stream:
        stream.write('\n[tool.uvdock]\ncommand = ["gunicorn", "-w", "4", "app:app"]\n')
    result = plan_project(root, options={}, environ={})
    assert result.entrypoint is not None
    assert result.entrypoint.value.argv == ("gunicorn", "-w", "4", "app:app")
    assert result.entrypoint.source.startswith("pyproject.toml:")
