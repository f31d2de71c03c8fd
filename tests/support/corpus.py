"""The corpus of real shapes: synthetic projects that mirror what public uv projects look like.

Each directory under ``tests/fixtures/corpus/`` is one shape (its ``SHAPE.md`` says
which real projects have it and what uvdock must do). A ``Case`` is one way of
pointing uvdock at it: the directory (``target``, e.g. a workspace member), the
settings, and what must come out: the plan's command, Python and sync flags, or
the plan error; then, for cases that build, what the running image answers.

``tests/unit/test_corpus.py`` checks every plan (and keeps its text as a golden
file); ``tests/integration/test_corpus.py`` runs ``uvdock init``, builds the
generated Dockerfile with the real engine, runs it, probes it, and builds it
again with the daemonless engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.support.paths import REPO_ROOT

CORPUS_DIR = REPO_ROOT / "tests" / "fixtures" / "corpus"

__all__ = ["CASES", "CORPUS_DIR", "Case", "Probe"]


@dataclass(frozen=True, kw_only=True)
class Probe:
    path: str
    status: int = 200
    json: object = None  # the body, or None to check the status only


@dataclass(frozen=True, kw_only=True)
class Case:
    name: str  # unique id, also the golden file's name
    shape: str  # directory under tests/fixtures/corpus
    target: str = "."  # where uvdock is pointed, relative to the shape's directory
    options: tuple[str, ...] = ()  # uvdock settings flags
    # What the plan must say.
    argv: tuple[str, ...] | None = None
    python: str = "3.13"
    sync: tuple[str, ...] | None = None
    platforms: tuple[str, ...] = ("linux/amd64", "linux/arm64")
    plan_error: str | None = None  # a substring of the first plan error (then nothing is built)
    lock_state: str = "fresh"
    # What the image must do.
    build: bool = True
    probes: tuple[Probe, ...] = ()
    port: int = 8000
    stdout: str | None = None  # a command-line app: what `docker run IMAGE` prints
    absent: tuple[str, ...] = ()  # paths or distributions that must not be in the image
    oci: bool = True  # the daemonless engine builds it too (binary wheels only)
    needs_local_index: bool = False
    needs_git_server: bool = False
    needs_credentials: bool = False
    extra_build_time: bool = False  # compiles something from source (slow on arm64)
    online: bool = False  # the plan reads an sdist (from the local index)
    notes: tuple[str, ...] = field(default=())  # substrings the plan's notes must contain

    @property
    def id(self) -> str:
        return self.name


def _health(app: str) -> tuple[Probe, ...]:
    return (Probe(path="/health", json={"status": "ok", "app": app}),)


CASES: tuple[Case, ...] = (
    Case(
        name="workspace-template-from-member",
        shape="workspace-template",
        target="backend",
        argv=("uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"),
        sync=("--package", "app", "--no-dev"),
        probes=(
            Probe(path="/", json={"app": "workspace-template", "version": "0.1.0"}),
            Probe(path="/api/v1/utils/health-check/", json=True),
        ),
        absent=("/app/frontend", "/app/backend"),
        notes=("workspace member app (backend) is the app",),
    ),
    Case(
        name="workspace-template-from-root",
        shape="workspace-template",
        argv=("uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"),
        sync=("--package", "app", "--no-dev"),
        build=False,  # the same image as from the member; the plan is what differs
        notes=("the only member with a way to start",),
    ),
    Case(
        name="old-lock-uv-example",
        shape="old-lock-uv-example",
        argv=("uvicorn", "uv_docker_example:app", "--host", "0.0.0.0", "--port", "8000"),
        sync=("--no-dev",),
        probes=(Probe(path="/", json={"app": "uv-docker-example", "version": "0.1.0"}),),
    ),
    Case(
        name="old-lock-uv-example-on-3.14",
        shape="old-lock-uv-example",
        options=("--python", "3.14"),
        python="3.14",
        plan_error="pydantic-core 2.33.2 (and watchfiles) must be built from source",
        build=False,
    ),
    Case(
        name="python-upper-bound",
        shape="python-upper-bound",
        argv=("gunicorn", "--bind", "0.0.0.0:8000", "app:app"),
        probes=_health("python-upper-bound"),
    ),
    Case(
        name="package-false-src",
        shape="package-false-src",
        argv=("gunicorn", "--bind", "0.0.0.0:8000", "--chdir", "src", "service.app:app"),
        probes=_health("package-false-src"),
    ),
    Case(
        name="groups-server",
        shape="groups-server",
        argv=("gunicorn", "--bind", "0.0.0.0:8000", "wsgi:application"),
        sync=("--no-default-groups", "--group", "prod"),
        probes=_health("groups-server"),
        absent=("pytest", "ruff"),
    ),
    Case(
        name="environments-amd64",
        shape="environments-amd64",
        argv=("gunicorn", "--bind", "0.0.0.0:8000", "app:app"),
        platforms=("linux/amd64",),
        probes=_health("environments-amd64"),
    ),
    Case(
        name="extras-server",
        shape="extras-server",
        argv=("uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"),
        sync=("--extra", "server", "--no-dev"),
        probes=_health("extras-server"),
        absent=("httpx",),
    ),
    Case(
        name="django-uwsgi",
        shape="django-uwsgi",
        argv=("uwsgi", "--ini", "uwsgi.ini", "--die-on-term"),
        probes=(Probe(path="/health/", json={"status": "ok", "app": "django-uwsgi"}),),
        oci=False,  # uWSGI publishes no wheel: only a Docker build compiles it
        extra_build_time=True,
    ),
    Case(
        name="django-granian-src",
        shape="django-granian-src",
        argv=(
            "granian",
            "--interface",
            "wsgi",
            "--host",
            "0.0.0.0",
            "--port",
            "8000",
            "--working-dir",
            "src",
            "mysite.wsgi:application",
        ),
        probes=(Probe(path="/health/", json={"status": "ok", "app": "django-granian-src"}),),
    ),
    Case(
        name="procfile-runserver",
        shape="procfile-runserver",
        plan_error="is Django's development server (`runserver`), for development only",
        build=False,
    ),
    Case(
        name="workspace-apps-libs",
        shape="workspace-apps-libs",
        argv=("python", "-m", "pkg.server.run"),
        sync=("--package", "shapes-server", "--no-dev"),
        probes=(
            Probe(
                path="/health",
                json={"status": "ok", "app": "hello from shapes-server", "version": "0.1.0"},
            ),
        ),
        absent=("pytest", "/app/apps", "/app/libs"),
    ),
    Case(
        name="workspace-two-apps",
        shape="workspace-two-apps",
        plan_error="several workspace members could be the app",
        build=False,
    ),
    Case(
        name="workspace-two-apps-worker",
        shape="workspace-two-apps",
        options=("--package", "two-worker"),
        argv=("two-worker",),
        sync=("--package", "two-worker", "--no-dev"),
        stdout="two-worker 0.1.0: nothing to do\n",
        absent=("fastapi", "two-api"),
    ),
    Case(
        name="compose-reload",
        shape="compose-reload",
        argv=("uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8080"),
        port=8080,
        probes=(*_health("compose-reload"), Probe(path="/port", json={"port": 8080})),
    ),
    Case(
        name="fastapi-standard-no-lock",
        shape="fastapi-standard-no-lock",
        python="3.14",
        argv=("uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"),
        lock_state="none",
        plan_error="pyproject.toml has no uv.lock",  # `uv sync --locked` could not build it
        build=False,
    ),
    Case(
        name="stub-lock",
        shape="stub-lock",
        python="3.14",
        plan_error="uv.lock has no entry for the project 'stub-lock'",
        build=False,
    ),
    Case(
        name="old-uv-lock-v1",
        shape="old-uv-lock-v1",
        argv=("gunicorn", "--bind", "0.0.0.0:8000", "app:app"),
        probes=_health("old-uv-lock-v1"),
    ),
    Case(
        name="old-uv-lock-rev1",
        shape="old-uv-lock-rev1",
        argv=("gunicorn", "--bind", "0.0.0.0:8000", "app:app"),
        probes=_health("old-uv-lock-rev1"),
    ),
    Case(
        name="old-uv-lock-rev2",
        shape="old-uv-lock-rev2",
        argv=("gunicorn", "--bind", "0.0.0.0:8000", "app:app"),
        probes=_health("old-uv-lock-rev2"),
    ),
    Case(
        name="old-uv-lock-rev3",
        shape="old-uv-lock-rev3",
        argv=("gunicorn", "--bind", "0.0.0.0:8000", "app:app"),
        probes=_health("old-uv-lock-rev3"),
    ),
    Case(
        name="sources-path-git-index",
        shape="sources-path-git-index",
        argv=("python", "main.py"),
        stdout=("SOURCES: hello from a git repository; hello from the private index; util 0.2.0\n"),
        needs_local_index=True,
        needs_git_server=True,
        needs_credentials=True,
        oci=False,  # a git dependency is built from source: binary wheels only there
    ),
    Case(
        name="rust-sdist-only",
        shape="rust-sdist-only",
        online=True,
        plan_error="uvdock-rusty-demo 0.1.0 must be built from source (only an sdist",
        build=False,
    ),
    Case(
        name="workspace-two-apps-command",
        shape="workspace-two-apps",
        options=("--command", "two-worker"),
        argv=("two-worker",),
        sync=("--no-dev",),
        stdout="two-worker 0.1.0: nothing to do\n",
    ),
    Case(
        name="server-in-group",
        shape="server-in-group",
        argv=("gunicorn", "--bind", "0.0.0.0:8000", "app:app"),
        sync=("--no-default-groups", "--group", "deploy"),
        probes=_health("server-in-group"),
        absent=("pytest",),
    ),
)
