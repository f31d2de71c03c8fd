"""How a project starts: servers through extras, uWSGI, granian, Django anywhere, scripts,
start commands from the project's own Dockerfile/compose/Procfile/README, and development
servers that never become the production command (issue 10, classes 5 and 6)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from uvdock.api import plan_project
from uvdock.project.entrypoint import Detection, detect_entrypoint, find_entrypoint
from uvdock.project.model import Sourced
from uvdock.project.servers import command_facts, distributions_from_requirements

DJANGO_WSGI = """\
import os
from django.core.wsgi import get_wsgi_application
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
application = get_wsgi_application()
"""
MANAGE = """\
import os, sys
def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{settings}")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
if __name__ == "__main__":
    main()
"""
SETTINGS = 'ROOT_URLCONF = "mysite.urls"\nWSGI_APPLICATION = "mysite.wsgi.application"\n'
FASTAPI_MAIN = "from fastapi import FastAPI\napp = FastAPI()\n"
FLASK_APP = "from flask import Flask\napp = Flask(__name__)\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def django_site(root: Path, *, base: str = "", settings: str = "mysite.settings") -> Path:
    prefix = f"{base}/" if base else ""
    return write(
        root,
        {
            f"{prefix}manage.py": MANAGE.format(settings=settings),
            f"{prefix}mysite/__init__.py": "",
            f"{prefix}mysite/settings.py": SETTINGS,
            f"{prefix}mysite/urls.py": "urlpatterns = []\n",
            f"{prefix}mysite/wsgi.py": DJANGO_WSGI,
        },
    )


def find(
    root: Path,
    *deps: str,
    packaged: bool = False,
    scripts: dict[str, str] | None = None,
    workdir_path: str = "",
) -> Detection:
    return find_entrypoint(
        root=root,
        command=None,
        port=8000,
        scripts=Sourced(scripts, "pyproject.toml:7") if scripts else None,
        deps=frozenset(deps),
        packaged=packaged,
        http_override=None,
        workdir_path=workdir_path,
    )


def argv(found: Detection) -> tuple[str, ...]:
    assert found.entrypoint is not None, found.problem
    return found.entrypoint.value.argv


# --- 5: servers through extras ----------------------------------------------------------------


def test_fastapi_standard_brings_uvicorn_through_fastapi_cli() -> None:
    names = distributions_from_requirements(["fastapi[standard]>=0.115", "sqlmodel"])
    assert {"fastapi", "fastapi-cli", "uvicorn", "uvloop", "watchfiles", "sqlmodel"} <= names


def test_extras_of_servers_and_bad_requirements() -> None:
    names = distributions_from_requirements(
        [
            "granian[all]",
            "uvicorn[standard]",
            "not a requirement ???",
            "pywin32; sys_platform == 'win32'",
        ]
    )
    assert {"granian", "watchfiles", "setproctitle", "python-dotenv", "httptools"} <= names
    assert "pywin32" not in names
    assert distributions_from_requirements(["channels[daphne]"]) == {"channels", "daphne"}


def test_no_lock_fastapi_standard_is_served_by_uvicorn(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": FASTAPI_MAIN})
    deps = distributions_from_requirements(["fastapi[standard]"])
    found = find(tmp_path, *deps)
    assert argv(found) == ("uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000")
    # Without the extra's contents, the same project has no server.
    assert find(tmp_path, "fastapi").entrypoint is None


# --- 5: uWSGI ---------------------------------------------------------------------------------


def test_django_with_uwsgi_ini(tmp_path: Path) -> None:
    django_site(tmp_path)
    write(tmp_path, {"uwsgi.ini": "[uwsgi]\nmodule = mysite.wsgi:application\nhttp = :8080\n"})
    found = find(tmp_path, "django", "uwsgi")
    assert argv(found) == ("uwsgi", "--ini", "uwsgi.ini", "--die-on-term")
    assert found.entrypoint is not None
    assert found.entrypoint.value.http
    assert found.entrypoint.value.kind == "wsgi"
    assert found.port == 8080
    assert found.files == ("uwsgi.ini",)
    assert found.entrypoint.value.dev_argv[-2:] == ("--py-autoreload", "1")


def test_uwsgi_socket_is_not_http(tmp_path: Path) -> None:
    django_site(tmp_path)
    write(
        tmp_path,
        {"deploy/uwsgi.ini": "[uwsgi]\nmodule = mysite.wsgi\nsocket = :3031\ndie-on-term = true\n"},
    )
    found = find(tmp_path, "django", "uwsgi")
    assert argv(found) == ("uwsgi", "--ini", "deploy/uwsgi.ini")
    assert found.entrypoint is not None
    assert not found.entrypoint.value.http
    assert found.protocol == "uwsgi"
    assert found.port == 3031
    assert any("deploy/uwsgi.ini:3" in n and "uwsgi protocol" in n for n in found.notes)


def test_uwsgi_ini_paths_of_the_authors_machine_are_reported(tmp_path: Path) -> None:
    django_site(tmp_path)
    write(
        tmp_path,
        {
            "uwsgi.ini": "[uwsgi]\nhome = /home/me/venv\nmodule = mysite.wsgi\n"
            "http = 127.0.0.1:8000\n"
        },
    )
    found = find(tmp_path, "django", "uwsgi")
    assert any("uwsgi.ini:2: `home`" in n for n in found.notes)
    assert any("unreachable from outside the container" in n for n in found.notes)


def test_uwsgi_without_ini_serves_django(tmp_path: Path) -> None:
    django_site(tmp_path)
    found = find(tmp_path, "django", "uwsgi")
    assert argv(found) == (
        "uwsgi", "--http", "0.0.0.0:8000", "--module", "mysite.wsgi:application",
        "--master", "--die-on-term", "--need-app",
    )  # fmt: skip


def test_uwsgi_named_in_a_dockerfile(tmp_path: Path) -> None:
    django_site(tmp_path)
    write(
        tmp_path,
        {
            "conf/site.ini": "[uwsgi]\nmodule = mysite.wsgi\nhttp-socket = :9000\n",
            "Dockerfile": 'FROM python:3.13\nCMD ["uwsgi", "--ini", "/app/conf/site.ini"]\n',
        },
    )
    found = find(tmp_path, "django", "uwsgi")
    assert argv(found) == ("uwsgi", "--ini", "/app/conf/site.ini", "--die-on-term")
    assert found.port == 9000
    assert found.entrypoint is not None
    assert found.entrypoint.source == "Dockerfile:2"


# --- 5: granian, gunicorn config, other servers -----------------------------------------------


def test_granian_django_with_manage_py_under_src(tmp_path: Path) -> None:
    django_site(tmp_path, base="src")
    found = find(tmp_path, "django", "granian")
    assert argv(found) == (
        "granian", "--interface", "wsgi", "--host", "0.0.0.0", "--port", "8000",
        "--working-dir", "src", "mysite.wsgi:application",
    )  # fmt: skip
    assert found.entrypoint is not None
    assert found.entrypoint.value.dev_argv == (
        "python", "src/manage.py", "runserver", "0.0.0.0:8000",
    )  # fmt: skip
    installed = find(tmp_path, "django", "granian", packaged=True)
    assert "--working-dir" not in argv(installed)


def test_django_in_a_subdirectory_with_split_settings(tmp_path: Path) -> None:
    # cookiecutter-django's layout: manage.py defaults to local settings, wsgi.py to production.
    write(
        tmp_path,
        {
            "backend/manage.py": MANAGE.format(settings="config.settings.local"),
            "backend/config/__init__.py": "",
            "backend/config/settings/__init__.py": "",
            "backend/config/settings/base.py": 'WSGI_APPLICATION = "config.wsgi.application"\n',
            "backend/config/settings/local.py": "from .base import *  # noqa\nDEBUG = True\n",
            "backend/config/settings/production.py": "from .base import *  # noqa\n",
            "backend/config/wsgi.py": DJANGO_WSGI.replace(
                "mysite.settings", "config.settings.production"
            ),
        },
    )
    found = find(tmp_path, "django", "gunicorn")
    assert argv(found) == (
        "gunicorn", "--bind", "0.0.0.0:8000", "--chdir", "backend", "config.wsgi:application",
    )  # fmt: skip
    assert found.entrypoint is not None
    assert dict(found.entrypoint.value.env) == {
        "DJANGO_SETTINGS_MODULE": "config.settings.production"
    }
    assert "base.py:1" in found.entrypoint.value.how


def test_django_asgi_application_prefers_an_asgi_server(tmp_path: Path) -> None:
    django_site(tmp_path)
    settings = tmp_path / "mysite/settings.py"
    settings.write_text(SETTINGS + 'ASGI_APPLICATION = "mysite.asgi.application"\n')
    assert argv(find(tmp_path, "django", "daphne", "gunicorn"))[0] == "daphne"
    assert argv(find(tmp_path, "django", "gunicorn"))[0] == "gunicorn"


def test_several_manage_py_are_listed(tmp_path: Path) -> None:
    django_site(tmp_path, base="one")
    django_site(tmp_path, base="two")
    found = find(tmp_path, "django", "gunicorn")
    assert found.entrypoint is None
    assert found.problem is not None
    assert "one/manage.py, two/manage.py" in found.problem
    assert found.candidates == ("one/manage.py", "two/manage.py")


def test_gunicorn_config_file_and_its_bind(tmp_path: Path) -> None:
    write(
        tmp_path, {"app.py": FLASK_APP, "gunicorn.conf.py": 'bind = "0.0.0.0:5000"\nworkers = 2\n'}
    )
    found = find(tmp_path, "flask", "gunicorn")
    assert argv(found) == ("gunicorn", "-c", "gunicorn.conf.py", "app:app")
    assert found.port == 5000
    assert found.files == ("gunicorn.conf.py",)
    assert found.entrypoint is not None
    assert found.entrypoint.value.dev_argv == (
        "gunicorn", "-c", "gunicorn.conf.py", "--reload", "app:app",
    )  # fmt: skip


def test_gunicorn_config_on_loopback_is_overridden(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": FLASK_APP, "gunicorn_config.py": "bind = ['127.0.0.1:8000']\n"})
    found = find(tmp_path, "flask", "gunicorn")
    assert argv(found) == (
        "gunicorn", "-c", "gunicorn_config.py", "--bind", "0.0.0.0:8000", "app:app",
    )  # fmt: skip
    assert any("gunicorn_config.py:1 binds 127.0.0.1:8000" in n for n in found.notes)


def test_gunicorn_config_selects_gunicorn_over_others(tmp_path: Path) -> None:
    write(
        tmp_path, {"app.py": FLASK_APP, "gunicorn.conf.py": "import os\nbind = os.environ['B']\n"}
    )
    found = find(tmp_path, "flask", "waitress", "gunicorn", "uwsgi")
    assert argv(found) == ("gunicorn", "-c", "gunicorn.conf.py", "app:app")
    assert found.port is None
    assert any("computes `bind`" in n for n in found.notes)


def test_src_layout_without_a_flag_gets_pythonpath(tmp_path: Path) -> None:
    write(tmp_path, {"src/svc/__init__.py": "", "src/svc/web.py": FASTAPI_MAIN})
    found = find(tmp_path, "fastapi", "hypercorn")
    assert found.entrypoint is not None
    assert dict(found.entrypoint.value.env) == {"PYTHONPATH": "src"}


def test_no_server_says_exactly_what_to_add(tmp_path: Path) -> None:
    write(tmp_path, {"web/main.py": FASTAPI_MAIN, "web/__init__.py": ""})
    found = find(tmp_path, "fastapi")
    assert found.problem == (
        "found `app = FastAPI(...)` in web/main.py:2, but no ASGI server (uvicorn, hypercorn, "
        "granian, daphne) among the dependencies: `uv add uvicorn`, then the command is "
        "`uvicorn web.main:app --host 0.0.0.0 --port 8000` (or set [tool.uvdock] command)"
    )


def test_several_apps_say_how_to_choose(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": FASTAPI_MAIN, "b.py": FASTAPI_MAIN})
    found = find(tmp_path, "fastapi", "uvicorn")
    assert found.problem is not None
    assert "a:app (a.py:2), b:app (b.py:2)" in found.problem
    assert 'set [tool.uvdock] command = "uvicorn a:app --host 0.0.0.0 --port 8000"' in found.problem
    assert found.candidates == ("a:app (a.py:2)", "b:app (b.py:2)")


# --- 5: scripts with a main guard -------------------------------------------------------------


def test_workspace_app_started_as_a_script_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "apps/server/pkg/server/__init__.py": "",
            "apps/server/pkg/__init__.py": "",
            "apps/server/pkg/server/run.py": """\
                import uvicorn
                from pkg.server.app import make
                if __name__ == "__main__":
                    uvicorn.run(make(), host="0.0.0.0", port=9000)
            """,
            "apps/server/pkg/server/app.py": "def make(): ...\n",
            "libs/util/util.py": "X = 1\n",
        },
    )
    found = find(tmp_path)
    assert argv(found) == ("python", "apps/server/pkg/server/run.py")
    assert found.entrypoint is not None
    assert found.entrypoint.value.http
    assert found.port == 9000
    # The member's own directory searched, the image working in the workspace root:
    member = find(tmp_path / "apps/server", workdir_path="apps/server")
    assert argv(member) == ("python", "apps/server/pkg/server/run.py")
    # ... and an installed member runs it as a module of its package.
    installed = find(tmp_path / "apps/server", packaged=True)
    assert argv(installed) == ("python", "-m", "pkg.server.run")


def test_script_binding_loopback_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"serve.py": "import uvicorn\nif __name__ == '__main__':\n    uvicorn.run('x:app')\n"},
    )
    found = find(tmp_path, "uvicorn")
    assert any("serve.py:3: uvicorn.run binds 127.0.0.1" in n for n in found.notes)


def test_several_scripts_are_listed(tmp_path: Path) -> None:
    guard = "if __name__ == '__main__':\n    print(1)\n"
    write(tmp_path, {"tools/a.py": guard, "b.py": guard, "setup.py": guard})
    found = find(tmp_path)
    assert found.problem is not None
    assert "(b.py, tools/a.py)" in found.problem
    assert 'command = "python b.py" (or another)' in found.problem
    assert found.candidates == ("python b.py", "python tools/a.py")


# --- 5: the project's own Dockerfile, compose file, Procfile ----------------------------------


def test_dockerfile_cmd_is_the_start_command(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/main.py": FASTAPI_MAIN,
            "Dockerfile": """\
                FROM python:3.13-slim AS base
                WORKDIR /app
                CMD ["uv", "run", "--no-sync", "uvicorn", "app.main:app", "--host", "0.0.0.0", \\
                     "--port", "80", "--workers", "2"]
                FROM base AS final
                COPY . .
            """,
        },
    )
    found = find(tmp_path, "fastapi", "uvicorn")
    expected = ("uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "80", "--workers", "2")
    assert argv(found) == expected
    assert found.entrypoint is not None
    assert found.entrypoint.source == "Dockerfile:3"
    assert found.entrypoint.value.how.startswith("Dockerfile CMD: `uvicorn app.main:app")
    assert found.entrypoint.value.dev_argv == (*expected[:-2], "--reload")
    assert found.port == 80


def test_generated_dockerfile_is_not_the_projects(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.py": FASTAPI_MAIN,
            "Dockerfile": "# Generated by uvdock 0.1.0; regenerate with: uvdock init\n"
            'FROM python:3.13\nCMD ["uvicorn", "other:app"]\n',
        },
    )
    found = find(tmp_path, "fastapi", "uvicorn")
    assert found.entrypoint is not None
    assert found.entrypoint.source == "main.py:2"


def test_dockerfile_chain_and_entrypoint_script(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app.py": FLASK_APP,
            "Dockerfile": """\
                FROM python:3.13
                ENTRYPOINT ["/docker-entrypoint.sh"]
                CMD ["sh", "-c", "python manage.py migrate && exec gunicorn -w 3 app:app"]
            """,
        },
    )
    found = find(tmp_path, "flask", "gunicorn")
    assert argv(found) == ("gunicorn", "-w", "3", "app:app", "--bind", "0.0.0.0:8000")
    assert any("ENTRYPOINT `/docker-entrypoint.sh` is not carried over" in n for n in found.notes)
    assert any("also runs `python manage.py migrate`" in n for n in found.notes)
    assert any("added `--bind 0.0.0.0:8000`" in n for n in found.notes)


def test_unusable_dockerfile_command_falls_back_to_the_code(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": FLASK_APP, "Dockerfile": 'FROM python:3.13\nCMD ["/start"]\n'})
    found = find(tmp_path, "flask", "gunicorn")
    assert argv(found) == ("gunicorn", "--bind", "0.0.0.0:8000", "app:app")
    assert any("Dockerfile:2" in n and "`/start`" in n for n in found.notes)


def test_dockerfile_server_that_is_not_installed(tmp_path: Path) -> None:
    # The Dockerfile pip-installs gunicorn itself; the image uvdock builds would not have it.
    write(tmp_path, {"app.py": FLASK_APP, "Dockerfile": "FROM python:3.13\nCMD gunicorn app:app\n"})
    found = find(tmp_path, "flask", "waitress")
    assert found.problem == (
        "Dockerfile:2: Dockerfile CMD runs `gunicorn app:app`, but gunicorn is not among the "
        "dependencies: `uv add gunicorn` (or set [tool.uvdock] command)"
    )


def test_shell_variables_need_a_shell(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Dockerfile": "FROM python:3.13\n"
            "CMD uvicorn app:app --host 0.0.0.0 --port ${PORT:-8000}\n"
        },
    )
    found = find(tmp_path, "uvicorn")
    assert argv(found) == ("sh", "-c", "exec uvicorn app:app --host 0.0.0.0 --port ${PORT:-8000}")
    assert found.entrypoint is not None
    assert dict(found.entrypoint.value.env) == {"PORT": "8000"}
    assert found.port == 8000


def test_compose_web_service_not_the_worker(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": """\
                services:
                  worker:
                    build: .
                    command: celery -A proj worker
                  db:
                    image: postgres
                    command: postgres -c fsync=off
                  web:
                    build:
                      context: .
                    command: ["gunicorn", "--bind", "0.0.0.0:8000", "proj.wsgi"]
            """,
        },
    )
    found = find(tmp_path, "celery", "gunicorn")
    assert argv(found) == ("gunicorn", "--bind", "0.0.0.0:8000", "proj.wsgi")
    assert found.entrypoint is not None
    assert found.entrypoint.source == "compose.yaml:11"
    assert "compose.yaml service `web`" in found.entrypoint.value.how


def test_compose_service_without_command_uses_its_dockerfile(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "compose.yml": "services:\n  api:\n    build:\n      context: .\n"
            "      dockerfile: docker/api.Dockerfile\n",
            "docker/api.Dockerfile": "FROM python:3.13\n"
            'CMD ["hypercorn", "-b", "0.0.0.0:7000", "a:app"]\n',
        },
    )
    found = find(tmp_path, "hypercorn")
    assert argv(found) == ("hypercorn", "-b", "0.0.0.0:7000", "a:app")
    assert found.port == 7000


def test_procfile_production_with_port_variable(tmp_path: Path) -> None:
    write(tmp_path, {"Procfile": "release: python manage.py migrate\nweb: gunicorn config.wsgi\n"})
    found = find(tmp_path, "gunicorn")
    # Without --bind, gunicorn listens on 0.0.0.0:$PORT, and uvdock sets PORT.
    assert argv(found) == ("gunicorn", "config.wsgi")
    assert found.entrypoint is not None
    assert found.entrypoint.source == "Procfile:2"
    assert dict(found.entrypoint.value.env) == {"PORT": "8000"}
    assert found.port == 8000


# --- 6: development servers never become the production command -------------------------------


def test_uvicorn_reload_in_compose_becomes_the_dev_command(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.py": FASTAPI_MAIN,
            "compose.override.yaml": """\
                services:
                  app:
                    build: .
                    command: uv run uvicorn main:app --reload --reload-dir src --port 8001
            """,
        },
    )
    found = find(tmp_path, "fastapi", "uvicorn")
    assert argv(found) == ("uvicorn", "main:app", "--port", "8001", "--host", "0.0.0.0")
    assert found.entrypoint is not None
    assert found.entrypoint.value.dev_argv == (
        "uvicorn", "main:app", "--reload", "--reload-dir", "src", "--port", "8001",
        "--host", "0.0.0.0",
    )  # fmt: skip
    assert "reload/debug mode (`--reload`)" in found.entrypoint.value.how
    assert found.port == 8001


def test_fastapi_dev_becomes_fastapi_run(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/main.py": FASTAPI_MAIN,
            "compose.yaml": "services:\n  api:\n    build: .\n"
            "    command: fastapi dev app/main.py\n",
        },
    )
    deps = distributions_from_requirements(["fastapi[standard]"])
    found = find(tmp_path, *deps)
    assert argv(found) == ("fastapi", "run", "app/main.py")
    assert found.entrypoint is not None
    assert found.entrypoint.value.dev_argv == ("fastapi", "dev", "app/main.py", "--host", "0.0.0.0")
    without_cli = find(tmp_path, "fastapi", "uvicorn")
    assert without_cli.problem is not None
    assert '`uv add "fastapi[standard]"`' in without_cli.problem


def test_dockerfile_production_and_compose_dev_side_by_side(tmp_path: Path) -> None:
    # full-stack-fastapi-template's shape: `fastapi run` in the Dockerfile, `fastapi dev` in
    # compose.override.yml.
    write(
        tmp_path,
        {
            "app/main.py": FASTAPI_MAIN,
            "Dockerfile": 'FROM python:3.13\nCMD ["fastapi", "run", "--workers", "4"]\n',
            "compose.override.yml": """\
                services:
                  backend:
                    build:
                      context: .
                    command:
                      - fastapi
                      - dev
                      - --host
                      - "0.0.0.0"
            """,
        },
    )
    found = find(tmp_path, "fastapi", "fastapi-cli", "uvicorn")
    assert argv(found) == ("fastapi", "run", "--workers", "4")
    assert found.entrypoint is not None
    assert found.entrypoint.value.dev_argv == ("fastapi", "dev", "--host", "0.0.0.0")
    assert "compose.override.yml service `backend` (compose.override.yml:5)" in (
        found.entrypoint.value.how
    )


def test_runserver_in_procfile_with_gunicorn_installed(tmp_path: Path) -> None:
    django_site(tmp_path)
    write(tmp_path, {"Procfile": "web: python manage.py runserver 0.0.0.0:$PORT\n"})
    found = find(tmp_path, "django", "gunicorn")
    assert argv(found) == ("gunicorn", "--bind", "0.0.0.0:8000", "mysite.wsgi:application")
    assert found.entrypoint is not None
    assert found.entrypoint.value.dev_argv == (
        "sh", "-c", "exec python manage.py runserver 0.0.0.0:$PORT",
    )  # fmt: skip


def test_runserver_without_a_production_server(tmp_path: Path) -> None:
    django_site(tmp_path)
    write(tmp_path, {"Procfile": "web: python manage.py runserver 0.0.0.0:$PORT\n"})
    found = find(tmp_path, "django")
    assert found.entrypoint is None
    assert found.problem == (
        "Procfile:1: `python manage.py runserver 0.0.0.0:$PORT` (Procfile web process) is "
        "Django's development server (`runserver`), for development only; Django: manage.py -> "
        "mysite.settings, WSGI_APPLICATION in mysite/settings.py:2, but no WSGI server (gunicorn, "
        "uwsgi, granian, waitress) among the dependencies: `uv add gunicorn`, then the command is "
        "`gunicorn --bind 0.0.0.0:8000 mysite.wsgi:application` (or set [tool.uvdock] command)"
    )


def test_flask_run_in_readme(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "hello.py": FLASK_APP,
            "README.md": "# Hello\n\n```sh\n$ uv run flask --app hello run --debug\n```\n",
        },
    )
    found = find(tmp_path, "flask")
    assert found.problem is not None
    assert found.problem.startswith("README.md:4: `uv run flask --app hello run --debug` is ")
    assert "`uv add gunicorn`, then the command is `gunicorn --bind 0.0.0.0:8000 hello:app`" in (
        found.problem
    )
    served = find(tmp_path, "flask", "waitress")
    assert argv(served) == ("waitress-serve", "--listen=0.0.0.0:8000", "hello:app")
    assert served.entrypoint is not None
    assert served.entrypoint.value.dev_argv == (
        "flask", "--app", "hello", "run", "--debug", "--host", "0.0.0.0",
    )  # fmt: skip


def test_readme_command_for_an_app_uvdock_cannot_see(tmp_path: Path) -> None:
    # A factory app (no `app = FastAPI()` to find): the README says how it starts.
    write(
        tmp_path,
        {
            "svc/factory.py": "def create_app(): ...\n",
            "README.md": "Run it:\n\n```\nuvicorn svc.factory:create_app --factory --reload\n```\n",
        },
    )
    found = find(tmp_path, "uvicorn")
    assert argv(found) == (
        "uvicorn", "svc.factory:create_app", "--factory", "--host", "0.0.0.0",
    )  # fmt: skip
    assert found.entrypoint is not None
    assert found.entrypoint.source == "README.md:4"


def test_dev_command_alone_without_an_app(tmp_path: Path) -> None:
    write(tmp_path, {"Procfile": "web: flask run\n"})
    found = find(tmp_path, "flask")
    assert found.problem is not None
    assert found.problem.startswith(
        "Procfile:1: `flask run` (Procfile web process) is Flask's development server"
    )
    assert "set [tool.uvdock] command" in found.problem


@pytest.mark.parametrize(
    ("command", "dev", "production"),
    [
        ("exec uv run --frozen /app/.venv/bin/uvicorn a:app --reload",
         "uvicorn in reload/debug mode (`--reload`)", ("uvicorn", "a:app")),
        ("python -m gunicorn --reload --reload-extra-file x.html a:app",
         "gunicorn in reload/debug mode (`--reload`)", ("python", "-m", "gunicorn", "a:app")),
        ("granian --interface wsgi --reload a:app", "granian in reload/debug mode (`--reload`)",
         ("granian", "--interface", "wsgi", "a:app")),
        ("hypercorn --debug a:app", "hypercorn in reload/debug mode (`--debug`)",
         ("hypercorn", "a:app")),
        ("litestar run -r -d", "litestar in reload/debug mode (`-r`)", ("litestar", "run")),
        ("django-admin runserver", "Django's development server (`runserver`)", None),
        ("tini -- gunicorn a:app", None, ("gunicorn", "a:app")),
    ],
)  # fmt: skip
def test_command_facts(command: str, dev: str | None, production: tuple[str, ...] | None) -> None:
    facts = command_facts(command.split())
    assert facts.dev == dev
    assert facts.production == production


# --- through the whole pipeline ---------------------------------------------------------------


def test_plan_reads_the_projects_dockerfile(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements.txt": "flask==3.0.0\ngunicorn==23.0.0\n",
            "app.py": FLASK_APP,
            "Dockerfile": "FROM python:3.12\n"
            'CMD ["gunicorn", "-b", "0.0.0.0:8000", "-w", "4", "app:app"]\n',
        },
    )
    result = plan_project(tmp_path, options={}, environ={})
    assert result.entrypoint is not None
    assert result.entrypoint.source == "Dockerfile:2"
    assert result.entrypoint.value.argv == ("gunicorn", "-b", "0.0.0.0:8000", "-w", "4", "app:app")


def test_detect_entrypoint_keeps_its_tuple(tmp_path: Path) -> None:
    write(tmp_path, {"main.py": FASTAPI_MAIN})
    entry, problem = detect_entrypoint(
        root=tmp_path, command=None, port=8000, scripts=None, deps=frozenset({"uvicorn"}),
        packaged=False, http_override=None,
    )  # fmt: skip
    assert problem is None
    assert entry is not None
    assert entry.value.target == "main:app"


def test_fastapi_run_of_an_installed_package_is_served_by_uvicorn(tmp_path: Path) -> None:
    # fastapi run finds app/main.py in the working directory; an installed package's
    # image has no source there (full-stack-fastapi-template's backend is such a package).
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "app"\n'
            '[tool.fastapi]\nentrypoint = "app.main:app"\n',
            "app/__init__.py": "",
            "app/main.py": FASTAPI_MAIN,
            "Dockerfile": 'FROM python:3.13\nCMD ["fastapi", "run", "--workers", "4"]\n',
        },
    )
    deps = ("fastapi", "fastapi-cli", "uvicorn")
    found = find(tmp_path, *deps, packaged=True)
    assert argv(found) == (
        "uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "4",
    )  # fmt: skip
    assert any("[tool.fastapi] entrypoint" in n for n in found.notes)
    assert argv(find(tmp_path, *deps)) == ("fastapi", "run", "--workers", "4")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')
    (tmp_path / "Dockerfile").write_text(
        'FROM python:3.13\nCMD ["fastapi", "run", "app/main.py"]\n'
    )
    assert argv(find(tmp_path, *deps, packaged=True))[:2] == ("uvicorn", "app.main:app")


def test_main_guard_guess_can_be_left_out(tmp_path: Path) -> None:
    write(tmp_path, {"lib/tool.py": "if __name__ == '__main__':\n    print(1)\n"})
    assert argv(find(tmp_path)) == ("python", "lib/tool.py")
    entry, problem = detect_entrypoint(
        root=tmp_path, command=None, port=8000, scripts=None, deps=frozenset(),
        packaged=False, http_override=None, guess_scripts=False,
    )  # fmt: skip
    assert entry is None
    assert problem is not None


def test_procfile_running_a_project_script(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"bin/web.sh": "exec gunicorn app:app\n", "Procfile": "web: bin/web.sh $WORKERS\n"},
    )
    found = find(tmp_path, "gunicorn")
    assert argv(found) == ("sh", "-c", "exec bin/web.sh $WORKERS")
    assert found.files == ("bin/web.sh",)
    assert any("uses $WORKERS, which the image does not set" in n for n in found.notes)


def test_a_uwsgi_ini_without_a_socket_gets_one_on_the_port(tmp_path: Path) -> None:
    """An ini that leaves the socket to a start script's flags: uWSGI exits without one."""
    (tmp_path / "uwsgi.ini").write_text(
        "[uwsgi]\nmodule = mysite.wsgi:application\nmaster = true\n"
    )
    found = find_entrypoint(
        root=tmp_path, command=None, port=9090, scripts=None,
        deps=frozenset({"uwsgi", "django"}), packaged=False, http_override=None,
    )  # fmt: skip
    assert found.entrypoint is not None
    assert found.entrypoint.value.argv == (
        "uwsgi", "--ini", "uwsgi.ini", "--die-on-term", "--http", "0.0.0.0:9090",
    )  # fmt: skip
    assert found.port == 9090
    assert found.entrypoint.value.http
    assert any("binds no socket" in note for note in found.notes)


def test_a_manage_py_without_django_is_not_django(tmp_path: Path) -> None:
    """Litestar's and others' manage.py wrappers are not Django's: no Django message."""
    (tmp_path / "manage.py").write_text(
        "from litestar.cli.main import litestar_group\n\nif __name__ == '__main__':\n"
        "    litestar_group()\n"
    )
    (tmp_path / "app.py").write_text(
        "from litestar import Litestar\n\n\ndef create_app() -> Litestar:\n"
        "    return Litestar([])\n"
    )
    found = find_entrypoint(
        root=tmp_path, command=None, port=8000, scripts=None,
        deps=frozenset({"litestar", "uvicorn"}), packaged=False, http_override=None,
    )  # fmt: skip
    assert found.problem is not None
    assert found.problem.startswith("no entrypoint found"), found.problem


@pytest.mark.parametrize(
    ("config", "module"),
    [
        ('[tool.setuptools]\npackage-dir = {"" = "api/src"}\n', "service.main"),
        ('[tool.hatch.build.targets.wheel]\npackages = ["api/src/service"]\n', "service.main"),
        ('[tool.uv.build-backend]\nmodule-root = "api/src"\n', "service.main"),
        ("", "api.src.service.main"),
    ],
)
def test_modules_are_named_below_the_declared_package_root(
    tmp_path: Path, config: str, module: str
) -> None:
    """An installed package imports by its path below the directory the backend packs from."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "svc"\nversion = "1"\n\n' + config)
    code = tmp_path / "api" / "src" / "service"
    code.mkdir(parents=True)
    for directory in (tmp_path / "api", tmp_path / "api" / "src", code):
        (directory / "__init__.py").write_text("")
    (code / "main.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n")
    found = find_entrypoint(
        root=tmp_path, command=None, port=8000, scripts=None,
        deps=frozenset({"fastapi", "uvicorn"}), packaged=True, http_override=None,
    )  # fmt: skip
    assert found.entrypoint is not None, found.problem
    assert found.entrypoint.value.argv[1] == f"{module}:app"


def test_files_this_python_cannot_parse_are_named_when_nothing_is_found(tmp_path: Path) -> None:
    """Newer syntax than uvdock's own Python (here, invalid for every Python): not silent."""
    (tmp_path / "main.py").write_text("from fastapi import FastAPI\n\napp = FastAPI(\n")
    found = find_entrypoint(
        root=tmp_path, command=None, port=8000, scripts=None,
        deps=frozenset({"fastapi", "uvicorn"}), packaged=False, http_override=None,
    )  # fmt: skip
    assert found.entrypoint is None
    assert found.problem is not None
    assert "cannot parse main.py:3" in found.problem
    assert "uvx --python 3.13 uvdock" in found.problem
