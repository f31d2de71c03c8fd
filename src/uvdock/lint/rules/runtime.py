"""Rules about how the container starts and runs: signals, health checks, logs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from uvdock.lint.findings import Edit
from uvdock.lint.rules.base import Analysis, Hit, program, rule
from uvdock.lint.syntax import Instruction, Stage

SHELL_SYNTAX = re.compile(r"[$&|;<>`*?'\"\\(){}~]")
SERVERS = ("python", "python3", "gunicorn", "uvicorn", "hypercorn", "granian", "celery",
           "daphne", "uv", "flask", "fastapi", "django-admin")  # fmt: skip


@rule(
    "PY201",
    "shell-form-start",
    "warning",
    summary="`CMD`/`ENTRYPOINT` in shell form",
    why="""
In shell form, Docker runs the command as `/bin/sh -c "..."`: the shell is PID 1 and
does not pass `SIGTERM` on, so `docker stop` waits its 10 seconds and kills the app
without a graceful shutdown (open requests are cut, nothing is flushed). The exec
(JSON) form runs the program itself as PID 1.
""",
    bad="CMD uvicorn app.main:app --host 0.0.0.0",
    good='CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0"]',
    source='Docker docs, "CMD" and "ENTRYPOINT"; BuildKit check JSONArgsRecommended; '
    "hadolint DL3025",
    aliases=("DL3025", "JSONArgsRecommended"),
    fixable=True,
)
def shell_form_start(analysis: Analysis) -> Iterator[Hit]:
    for stage in analysis.stages:
        for item in stage.instructions:
            if item.keyword not in ("CMD", "ENTRYPOINT") or item.exec_form is not None:
                continue
            if not item.args.strip():
                continue
            fix: tuple[Edit, ...] = ()
            single_line = item.args_span.start_line == item.args_span.end_line
            if single_line and not SHELL_SYNTAX.search(item.args):
                fix = (Edit(span=item.args_span, text=json.dumps(item.args.split())),)
            yield Hit(
                span=analysis.keyword_span(item),
                message=f"{item.keyword} in shell form runs under /bin/sh, which does not pass "
                "SIGTERM on; use the exec form "
                + (json.dumps(item.args.split()) if fix else '["program", "arg", ...]'),
                fix=fix,
            )


def _start_instruction(stage: Stage) -> Instruction | None:
    for keyword in ("ENTRYPOINT", "CMD"):
        found = next((i for i in reversed(stage.instructions) if i.keyword == keyword), None)
        if found is not None:
            return found
    return None


@rule(
    "PY210",
    "wrapper-without-exec",
    "warning",
    summary="an entrypoint script starts the server without `exec`",
    why="""
A wrapper script (`entrypoint.sh`) that ends with `gunicorn ...` instead of
`exec gunicorn ...` keeps the shell as PID 1 and the server as its child: `SIGTERM`
from `docker stop` never reaches the server, which is killed 10 seconds later without a
graceful shutdown. `exec` replaces the shell with the server.
""",
    bad="""
#!/bin/sh
alembic upgrade head
gunicorn app:app
""",
    good="""
#!/bin/sh
set -e
alembic upgrade head
exec gunicorn app:app
""",
    source='Docker docs, "ENTRYPOINT" (exec form and scripts); uvicorn#1215',
)
def wrapper_without_exec(analysis: Analysis) -> Iterator[Hit]:
    final = analysis.final
    root = analysis.context.root
    if final is None or root is None:
        return
    start = _start_instruction(final)
    if start is None or start.exec_form is None:
        return
    scripts = [w for w in start.exec_form if w.endswith(".sh")]
    for script in scripts[:1]:
        name = script.rsplit("/", 1)[-1]
        for candidate in (root / script.lstrip("/"), root / name):
            if not candidate.is_file():
                continue
            try:
                lines = candidate.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                return
            code = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
            if not code:
                return
            last = code[-1]
            words = last.split()
            if (
                words
                and words[0] not in ("exec", "wait")
                and words[0].rsplit("/", 1)[-1] in SERVERS
            ):
                yield Hit(
                    span=analysis.keyword_span(start),
                    message=f"{name} starts `{words[0]}` without exec, so SIGTERM stops at the "
                    f"shell; write `exec {last}`",
                )
            return


def _installs(analysis: Analysis, stage: Stage, tool: str) -> bool:
    for member in analysis.lineage(stage):
        for command in analysis.stage_commands(member):
            argv = command.argv
            if (
                program(argv) in ("apt-get", "apt", "apk", "dnf", "yum", "microdnf")
                and tool in argv
            ):
                return True
        for item in member.instructions:
            if item.keyword in ("COPY", "ADD") and tool in item.args:
                return True
    return False


def _has_tool(image: str, tool: str) -> bool | None:
    """Whether a base image has curl/wget: True, False, or None when unknown."""
    name = image.lower()
    if "distroless" in name or "chainguard" in name:
        return False
    if "alpine" in name:
        return tool == "wget"  # busybox wget; no curl
    if "slim" in name or name.startswith("ghcr.io/astral-sh/uv:"):
        return False
    if re.match(r"^(docker\.io/)?(library/)?python:\d", name):
        return True  # the full python image is buildpack-deps: curl and wget are there
    return None


@rule(
    "PY204",
    "healthcheck-tool-missing",
    "warning",
    summary="`HEALTHCHECK` calls curl or wget, which the final image does not have",
    why="""
Slim, distroless and uv's images have neither curl nor wget (Alpine has only busybox
`wget`). A health check that calls one fails every time: the container is reported
unhealthy and orchestrators restart it in a loop. Probe with the Python that is in the
image, or install the tool in the final stage.
""",
    bad="HEALTHCHECK CMD curl -f http://localhost:8000/health || exit 1",
    good="""
HEALTHCHECK CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health')"]
""",
    source='Docker docs, "HEALTHCHECK"; python:slim image contents',
)
def healthcheck_tool_missing(analysis: Analysis) -> Iterator[Hit]:
    final = analysis.final
    if final is None:
        return
    check = next((i for i in reversed(final.instructions) if i.keyword == "HEALTHCHECK"), None)
    if check is None:
        return
    words = list(check.exec_form) if check.exec_form is not None else check.args.split()
    for tool in ("curl", "wget"):
        if not any(w.rsplit("/", 1)[-1] == tool for w in words):
            continue
        image = analysis.root_image(final)
        if _has_tool(image, tool) is False and not _installs(analysis, final, tool):
            yield Hit(
                span=analysis.keyword_span(check),
                message=f"HEALTHCHECK calls {tool}, which {image} does not have: the container "
                "will always be unhealthy; probe with python -c 'import urllib.request; ...'",
            )


def _python_image(image: str) -> bool:
    name = image.lower()
    return "python" in name or name.startswith("ghcr.io/astral-sh/uv")


@rule(
    "PY202",
    "python-output-buffered",
    "info",
    summary="the final stage of a Python image does not set `PYTHONUNBUFFERED=1`",
    why="""
When its output is not a terminal, Python buffers `stdout`: log lines reach
`docker logs` late, in bursts, and the last ones before a crash are lost. Setting
`PYTHONUNBUFFERED=1` (or running `python -u`) writes them as they happen.
""",
    bad='CMD ["python", "-m", "app"]',
    good="""
ENV PYTHONUNBUFFERED=1
CMD ["python", "-m", "app"]
""",
    source='docker init\'s Python template; Python docs, "-u" and PYTHONUNBUFFERED',
)
def python_output_buffered(analysis: Analysis) -> Iterator[Hit]:
    final = analysis.final
    if final is None or not _python_image(analysis.root_image(final)):
        return
    start = _start_instruction(final)
    if start is None:
        return
    env = analysis.env_before(final, None)
    if env.get("PYTHONUNBUFFERED", "") not in ("", "0"):
        return
    words = start.exec_form if start.exec_form is not None else tuple(start.args.split())
    if "-u" in words:
        return
    yield Hit(
        span=analysis.keyword_span(start),
        message="Python buffers its output here, so logs arrive late and the last lines "
        "before a crash are lost; add ENV PYTHONUNBUFFERED=1",
    )


@rule(
    "PY216",
    "several-start-instructions",
    "warning",
    summary="several `CMD`, `ENTRYPOINT` or `HEALTHCHECK` in one stage (only the last counts)",
    why="""
Only the last `CMD`, `ENTRYPOINT` and `HEALTHCHECK` of a stage take effect; the earlier
ones are silently ignored, which usually means the Dockerfile does not do what its
reader thinks.
""",
    bad="""
CMD ["python", "manage.py", "migrate"]
CMD ["gunicorn", "site.wsgi"]
""",
    good='CMD ["gunicorn", "site.wsgi"]',
    source="BuildKit check MultipleInstructionsDisallowed; hadolint DL4003, DL4004",
    aliases=("MultipleInstructionsDisallowed", "DL4003", "DL4004"),
)
def several_start_instructions(analysis: Analysis) -> Iterator[Hit]:
    for stage in analysis.stages:
        for keyword in ("CMD", "ENTRYPOINT", "HEALTHCHECK"):
            found = [i for i in stage.instructions if i.keyword == keyword]
            for item in found[:-1]:
                yield Hit(
                    span=analysis.keyword_span(item),
                    message=f"this {keyword} is ignored: a later {keyword} on line "
                    f"{found[-1].span.start_line} replaces it; remove one",
                )
